//! The two-sample Kolmogorov-Smirnov test, two-sided, as scipy 1.17's `ks_2samp` computes it.
//!
//! The statistic comes from one merge walk over the two sorted samples; the p-value from the
//! exact null distribution (Hodges' lattice-path counts) when `method = Auto` and both samples
//! hold at most 10,000 values, else from the finite-n Kolmogorov distribution
//! `kstwo.sf(D, round(n₁n₂/(n₁+n₂)))`. As in scipy, an exact attempt returns the statistic
//! rounded to the lattice, `round(D·lcm)/lcm`, and falls back to the asymptotic p-value if the
//! exact computation leaves [0, 1].

use std::fmt;

use super::kolmogorov::kstwo_sf;
use super::sample::{sort_f64, UnionRuns};

/// Above this sample size `Auto` uses the asymptotic distribution (scipy's `MAX_AUTO_N`).
const MAX_AUTO_N: usize = 10_000;

/// How `ks_2samp` computes its p-value (scipy's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KsMethod {
    /// Exact when both samples have at most 10,000 values, asymptotic otherwise.
    Auto,
    /// The exact null distribution (asymptotic if lcm(n₁, n₂) exceeds `i32::MAX` or the
    /// computation fails). Costs O(n₁·n₂·D) for unequal sizes (O(n) for equal ones), which
    /// `Auto` bounds by using it only up to 10,000 values per sample: at most about 0.5 s, for
    /// 10,000 against 9,999 values with D = 1 (the `ks_exact_worst` bench). Asked for directly,
    /// coprime sizes near the lcm limit (46,000 each) can take about 10 s.
    Exact,
    /// The finite-n Kolmogorov distribution.
    Asymp,
}

impl fmt::Display for KsMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KsMethod::Auto => "auto",
            KsMethod::Exact => "exact",
            KsMethod::Asymp => "asymp",
        })
    }
}

/// Result of [`ks_2samp`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    /// The statistic D (rounded to the lattice when the exact method was attempted).
    pub statistic: f64,
    /// Two-sided p-value.
    pub pvalue: f64,
    /// The method that produced the p-value: `Exact` or `Asymp`.
    pub method_used: KsMethod,
    /// The value where the ECDFs differ by D (scipy's first arg-extremum over the
    /// concatenation of the sorted first sample and the sorted second sample).
    pub statistic_location: f64,
    /// +1 if the first sample's ECDF is the larger there, −1 otherwise.
    pub statistic_sign: i8,
}

/// `ks_2samp(data1, data2, method=…)` on unsorted finite data; `None` if either is empty.
pub fn ks_2samp(data1: &[f64], data2: &[f64], method: KsMethod) -> Option<KsResult> {
    let mut a = data1.to_vec();
    let mut b = data2.to_vec();
    sort_f64(&mut a);
    sort_f64(&mut b);
    ks_2samp_sorted(&a, &b, method)
}

/// [`ks_2samp`] on samples already sorted ascending (finite, no NaN).
pub fn ks_2samp_sorted(data1: &[f64], data2: &[f64], method: KsMethod) -> Option<KsResult> {
    let (n1, n2) = (data1.len(), data2.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    // cddiffs = searchsorted(data1, all, 'right')/n1 − searchsorted(data2, all, 'right')/n2
    // evaluated at every pooled point; points with equal values share a difference, so one
    // value per distinct point suffices. argmax/argmin return the first index over
    // concat(sorted data1, sorted data2): the smallest data1 value attaining the extremum if
    // any, else the smallest data2 value.
    let mut max1 = (f64::NEG_INFINITY, 0.0);
    let mut max2 = (f64::NEG_INFINITY, 0.0);
    let mut min1 = (f64::INFINITY, 0.0);
    let mut min2 = (f64::INFINITY, 0.0);
    for run in UnionRuns::new(data1, data2) {
        let diff = run.a_le as f64 / n1f - run.b_le as f64 / n2f;
        if run.in_a > 0 {
            if diff > max1.0 {
                max1 = (diff, run.value);
            }
            if diff < min1.0 {
                min1 = (diff, run.value);
            }
        }
        if run.in_b > 0 {
            if diff > max2.0 {
                max2 = (diff, run.value);
            }
            if diff < min2.0 {
                min2 = (diff, run.value);
            }
        }
    }
    let (max_s, loc_max) = if max1.0 >= max2.0 { max1 } else { max2 };
    let (min_diff, loc_min) = if min1.0 <= min2.0 { min1 } else { min2 };
    let min_s = (-min_diff).clamp(0.0, 1.0);
    let (mut d, location, sign) = if min_s > max_s {
        (min_s, loc_min, -1)
    } else {
        (max_s, loc_max, 1)
    };

    let g = gcd(n1 as u64, n2 as u64);
    let mut mode = match method {
        KsMethod::Auto => {
            if n1.max(n2) <= MAX_AUTO_N {
                KsMethod::Exact
            } else {
                KsMethod::Asymp
            }
        }
        KsMethod::Exact => {
            // scipy: switch when lcm(n1, n2) would not fit an int32.
            let (n1g, n2g) = (n1 as u64 / g, n2 as u64 / g);
            if n1g as f64 >= f64::from(i32::MAX) / n2g as f64 {
                KsMethod::Asymp
            } else {
                KsMethod::Exact
            }
        }
        KsMethod::Asymp => KsMethod::Asymp,
    };
    let mut prob = f64::NAN;
    if mode == KsMethod::Exact {
        let (ok, rounded, p) = attempt_exact(n1 as u64, n2 as u64, g, d);
        d = rounded;
        prob = p;
        if !ok {
            mode = KsMethod::Asymp;
        }
    }
    if mode == KsMethod::Asymp {
        let (m, n) = if n1f >= n2f { (n1f, n2f) } else { (n2f, n1f) };
        let en = m * n / (m + n);
        // en ≥ 1/2 and ≤ max(n1, n2): the conversion is exact after rounding.
        let nn = en.round_ties_even() as u64;
        prob = kstwo_sf(nn, d);
    }
    Some(KsResult {
        statistic: d,
        pvalue: if prob.is_nan() {
            prob
        } else {
            prob.clamp(0.0, 1.0)
        },
        method_used: mode,
        statistic_location: location,
        statistic_sign: sign,
    })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_attempt_exact_2kssamp` for the two-sided alternative: (success, rounded D, p).
fn attempt_exact(n1: u64, n2: u64, g: u64, d: f64) -> (bool, f64, f64) {
    let lcm = (n1 / g) * n2;
    let lcmf = lcm as f64;
    // 0 ≤ d ≤ 1, so 0 ≤ h ≤ lcm.
    let h = (d * lcmf).round_ties_even() as u64;
    let d = h as f64 / lcmf;
    if h == 0 {
        return (true, d, 1.0);
    }
    let prob = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside_method(n1, n2, g, h)
    };
    if !(0.0..=1.0).contains(&prob) {
        return (false, d, prob);
    }
    (true, d, prob)
}

/// `Pr(D_{n,n} ≥ h/n)`: `2·Σ_k (−1)^(k+1)·C(2n, n−kh)/C(2n, n)` evaluated Horner-like as
/// `2·A₁(1 − A₂(1 − A₃(…)))` to avoid cancellation (scipy's `_compute_prob_outside_square`).
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = n / h;
    loop {
        let mut p1 = 1.0;
        for j in 0..h {
            let num = n as f64 - (k * h) as f64 - j as f64;
            let den = (n + k * h + j + 1) as f64;
            p1 = num * p1 / den;
        }
        p = p1 * (1.0 - p);
        if k == 0 {
            break;
        }
        k -= 1;
    }
    2.0 * p
}

/// The share of lattice paths from (0,0) to (m,n) that leave the band |x/m − y/n| < h/lcm,
/// computed directly as 1 − share inside (scipy's `_compute_outer_prob_inside_method`, after
/// Hodges and Viehmann's numerically stable recursion).
fn outer_prob_inside_method(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    // Sample sizes are slice lengths: they fit i64.
    let (Ok(m), Ok(n), Ok(g), Ok(h)) = (
        i64::try_from(m),
        i64::try_from(n),
        i64::try_from(g),
        i64::try_from(h),
    ) else {
        return f64::NAN;
    };
    let mg = m / g;
    let ng = n / g;
    let (hf, mgf, ngf) = (h as f64, mg as f64, ng as f64);
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((hf / mgf).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1);
    let mut a = vec![1.0f64; usize::try_from(len_a).unwrap_or(0)];
    for x in a.iter_mut().take(usize::try_from(maxj).unwrap_or(0)) {
        *x = 0.0;
    }
    let idx = |i: i64| usize::try_from(i).ok();
    for i in 1..=m {
        let lastminj = minj;
        let lastlen = curlen;
        let fi = i as f64;
        minj = ((((ngf * fi - hf) / mgf).floor() as i64) + 1).max(0).min(n);
        maxj = (((ngf * fi + hf) / mgf).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let prev = idx(jj + minj - lastminj)
                .and_then(|k| a.get(k))
                .copied()
                .unwrap_or(1.0);
            val = (prev * fi + val * j as f64) / (i + j) as f64;
            if let Some(slot) = idx(jj).and_then(|k| a.get_mut(k)) {
                *slot = val;
            }
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = maxj - minj;
            for k in from..(from + lastlen - curlen) {
                if let Some(slot) = idx(k).and_then(|k| a.get_mut(k)) {
                    *slot = 1.0;
                }
            }
        }
    }
    idx(maxj - minj - 1)
        .and_then(|k| a.get(k))
        .copied()
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_have_p_one() {
        let r = ks_2samp(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0], KsMethod::Auto).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.pvalue, 1.0);
        assert_eq!(r.method_used, KsMethod::Exact);
    }

    #[test]
    fn disjoint_equal_sizes() {
        // D = 1, n = m = 3: p = 2/C(6,3) = 0.1.
        let r = ks_2samp(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], KsMethod::Auto).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert!((r.pvalue - 0.1).abs() < 1e-15);
        assert_eq!(r.statistic_location, 3.0);
        assert_eq!(r.statistic_sign, 1);
    }

    #[test]
    fn disjoint_unequal_sizes() {
        // D = 1, sizes 2 and 3: p = 2/C(5,2) = 0.2.
        let r = ks_2samp(&[10.0, 11.0], &[1.0, 2.0, 3.0], KsMethod::Exact).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert!((r.pvalue - 0.2).abs() < 1e-15);
        assert_eq!(r.statistic_sign, -1);
        assert_eq!(r.statistic_location, 3.0);
    }

    #[test]
    fn empty_is_none() {
        assert!(ks_2samp(&[], &[1.0], KsMethod::Auto).is_none());
    }
}
