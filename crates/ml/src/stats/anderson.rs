//! The k-sample Anderson-Darling test for two samples, as Evidently calls it:
//! `scipy.stats.anderson_ksamp([ref, cur])` with scipy 1.17's defaults, i.e. the midrank
//! statistic `A²akN` of Scholz & Stephens (1987, eq. 7), standardised, and the p-value
//! interpolated from their Table 2 critical values (a quadratic fit of ln(significance) on the
//! critical values) and **capped to [0.001, 0.25]** (scipy warns and caps outside the table;
//! no permutation test). Evidently's threshold is 0.1, drift when p < threshold.

use super::sample::{Sum, UnionRuns};

/// Result of [`anderson_ksamp_sorted`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AndersonDarling {
    /// The standardised statistic `(A²akN − (k−1))/σ`.
    pub statistic: f64,
    /// Interpolated p-value, capped to [0.001, 0.25].
    pub pvalue: f64,
}

/// Scholz & Stephens Table 2 interpolation coefficients (b₀, b₁, b₂) per significance level.
const B0: [f64; 7] = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
const B1: [f64; 7] = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
const B2: [f64; 7] = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];
const SIG: [f64; 7] = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];

/// Two-sample Anderson-Darling test of sorted, cleaned samples. `None` where scipy raises:
/// an empty sample, fewer than two distinct values overall, or fewer than 3 values in total.
pub fn anderson_ksamp_sorted(a: &[f64], b: &[f64]) -> Option<AndersonDarling> {
    let (na, nb) = (a.len(), b.len());
    let n_total = na + nb;
    if na == 0 || nb == 0 || n_total < 3 {
        return None;
    }
    let n = n_total as f64;
    let (naf, nbf) = (na as f64, nb as f64);
    let mut distinct = 0usize;
    let mut sum_a = Sum::default();
    let mut sum_b = Sum::default();
    for run in UnionRuns::new(a, b) {
        distinct += 1;
        let lj = (run.in_a + run.in_b) as f64;
        let below = ((run.a_le - run.in_a) + (run.b_le - run.in_b)) as f64;
        let bj = below + lj / 2.0;
        let denom = bj * (n - bj) - n * lj / 4.0;
        let ma = run.a_le as f64 - run.in_a as f64 / 2.0;
        let mb = run.b_le as f64 - run.in_b as f64 / 2.0;
        let da = n * ma - bj * naf;
        let db = n * mb - bj * nbf;
        sum_a.add(lj / n * (da * da) / denom);
        sum_b.add(lj / n * (db * db) / denom);
    }
    if distinct < 2 {
        return None;
    }
    let a2akn = (sum_a.value() / naf + sum_b.value() / nbf) * ((n - 1.0) / n);

    let k = 2.0;
    let h_small = 1.0 / naf + 1.0 / nbf;
    // hs_cs[i] = Σ_{j=N−1−i}^{N−1} 1/j for i = 0..N−3; h = hs_cs[-1] + 1; g = Σ hs_cs[i]/(i+2).
    let mut hs = 0.0;
    let mut g = Sum::default();
    for i in 0..(n_total - 2) {
        hs += 1.0 / (n_total - 1 - i) as f64;
        g.add(hs / (i + 2) as f64);
    }
    let h = hs + 1.0;
    let g = g.value();
    let ca = (4.0 * g - 6.0) * (k - 1.0) + (10.0 - 6.0 * g) * h_small;
    let cb = (2.0 * g - 4.0) * k * k + 8.0 * h * k + (2.0 * g - 14.0 * h - 4.0) * h_small - 8.0 * h
        + 4.0 * g
        - 6.0;
    let cc = (6.0 * h + 2.0 * g - 2.0) * k * k
        + (4.0 * h - 4.0 * g + 6.0) * k
        + (2.0 * h - 6.0) * h_small
        + 4.0 * h;
    let cd = (2.0 * h + 6.0) * k * k - 4.0 * h * k;
    let sigmasq = (ca * n.powi(3) + cb * n * n + cc * n + cd) / ((n - 1.0) * (n - 2.0) * (n - 3.0));
    let m = k - 1.0;
    let statistic = (a2akn - m) / sigmasq.sqrt();
    if statistic.is_nan() {
        return None;
    }
    Some(AndersonDarling {
        statistic,
        pvalue: interpolated_pvalue(statistic, m),
    })
}

/// scipy's capped interpolation of the significance level.
fn interpolated_pvalue(a2: f64, m: f64) -> f64 {
    let critical: Vec<f64> = (0..7)
        .map(|i| B0[i] + B1[i] / m.sqrt() + B2[i] / m)
        .collect();
    let cmin = critical.iter().copied().fold(f64::INFINITY, f64::min);
    let cmax = critical.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if a2 < cmin {
        return 0.25;
    }
    if a2 > cmax {
        return 0.001;
    }
    let ln_sig: Vec<f64> = SIG.iter().map(|s| s.ln()).collect();
    let [c2, c1, c0] = quadratic_fit(&critical, &ln_sig);
    ((c2 * a2 + c1) * a2 + c0).exp()
}

/// Least-squares `y ≈ c₂x² + c₁x + c₀` (numpy's `polyfit(x, y, 2)`), by modified Gram-Schmidt
/// QR of the Vandermonde matrix; returns `[c₂, c₁, c₀]`.
fn quadratic_fit(x: &[f64], y: &[f64]) -> [f64; 3] {
    let mut cols: [Vec<f64>; 3] = [
        x.iter().map(|v| v * v).collect(),
        x.to_vec(),
        vec![1.0; x.len()],
    ];
    let mut r = [[0.0f64; 3]; 3];
    for j in 0..3 {
        for i in 0..j {
            let dot: f64 = cols[i].iter().zip(&cols[j]).map(|(a, b)| a * b).sum();
            r[i][j] = dot;
            let qi = cols[i].clone();
            for (v, q) in cols[j].iter_mut().zip(&qi) {
                *v -= dot * q;
            }
        }
        let norm = cols[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        r[j][j] = norm;
        for v in cols[j].iter_mut() {
            *v /= norm;
        }
    }
    let qty: Vec<f64> = cols
        .iter()
        .map(|q| q.iter().zip(y).map(|(a, b)| a * b).sum())
        .collect();
    let mut c = [0.0f64; 3];
    for i in (0..3).rev() {
        let mut s = qty[i];
        for j in (i + 1)..3 {
            s -= r[i][j] * c[j];
        }
        c[i] = s / r[i][i];
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_parabola() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y: Vec<f64> = x.iter().map(|v| 2.0 * v * v - 3.0 * v + 0.5).collect();
        let c = quadratic_fit(&x, &y);
        assert!((c[0] - 2.0).abs() < 1e-12 && (c[1] + 3.0).abs() < 1e-12);
        assert!((c[2] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn pvalue_is_capped() {
        let same: Vec<f64> = (0..50).map(f64::from).collect();
        let r = anderson_ksamp_sorted(&same, &same).unwrap();
        assert_eq!(r.pvalue, 0.25);
        let far: Vec<f64> = (100..150).map(f64::from).collect();
        let r = anderson_ksamp_sorted(&same, &far).unwrap();
        assert_eq!(r.pvalue, 0.001);
        assert!(anderson_ksamp_sorted(&[1.0, 1.0], &[1.0]).is_none());
        assert!(anderson_ksamp_sorted(&[], &[1.0]).is_none());
    }

    #[test]
    fn matches_scipy_algorithm_in_high_precision() {
        // scipy's anderson_ksamp steps redone in mpmath (50 digits), ties included.
        let mut a = vec![1.2, 3.4, 2.2, 5.1, 0.3, 2.2, 4.4, 3.3];
        let mut b = vec![2.5, 6.1, 4.4, 7.2, 5.5, 3.9];
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let r = anderson_ksamp_sorted(&a, &b).unwrap();
        assert!(
            (r.statistic - 2.563_080_103_327_126_6).abs() < 1e-12,
            "{r:?}"
        );
        assert!((r.pvalue - 0.028_944_197_254_856_13).abs() < 1e-12, "{r:?}");
        let mut a: Vec<f64> = (0..30)
            .map(|i| f64::from(i % 7) + 0.5 * f64::from(i % 3))
            .collect();
        let mut b: Vec<f64> = (0..25).map(|i| f64::from(i % 5) + 1.0).collect();
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let r = anderson_ksamp_sorted(&a, &b).unwrap();
        assert!(
            (r.statistic - 0.424_337_862_509_741_63).abs() < 1e-12,
            "{r:?}"
        );
        assert!((r.pvalue - 0.222_612_611_013_586_83).abs() < 1e-12, "{r:?}");
    }

    #[test]
    fn interpolates_between_caps() {
        // A², at the 5% critical value for k = 2 (1.961), interpolates to about 0.05.
        let p = interpolated_pvalue(1.961, 1.0);
        assert!((p - 0.05).abs() < 0.005, "{p}");
    }
}
