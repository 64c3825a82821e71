//! Distribution distances: PSI, Kullback-Leibler, Jensen-Shannon, Hellinger and Wasserstein
//! (W1 and Evidently's normed score), each as Evidently 0.7 / scipy 1.17 compute it.
//!
//! PSI, KL and JS read bin counts (see [`super::binning`]); Wasserstein and the numerical
//! Hellinger read the sorted samples. Every function returns `None` when a window is empty
//! (Evidently raises there) and otherwise a finite value or +inf, never NaN, for finite inputs.

use super::binning::{fill_zeroes, histogram_sorted, percents, sturges_edges};
use super::sample::{sum, Sum, UnionRuns};

/// Floor of the normalising standard deviation in Evidently's normed Wasserstein distance.
pub const WASSERSTEIN_MIN_STD: f64 = 0.001;

fn totals(reference: &[u64], current: &[u64]) -> Option<(u64, u64)> {
    let r: u64 = reference.iter().sum();
    let c: u64 = current.iter().sum();
    (r > 0 && c > 0).then_some((r, c))
}

/// Both windows' shares per bin with Evidently's zero filling.
fn filled(reference: &[u64], current: &[u64]) -> Option<(Vec<f64>, Vec<f64>)> {
    let (tr, tc) = totals(reference, current)?;
    let mut r = percents(reference, tr);
    let mut c = percents(current, tc);
    fill_zeroes(&mut r);
    fill_zeroes(&mut c);
    Some((r, c))
}

/// scipy's `rel_entr(x, y)`: `x·ln(x/y)`, 0 for `x = 0`, +inf when `y = 0 < x`.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Evidently's population stability index over bin counts: `Σ (r−c)·ln(r/c)` on the
/// zero-filled shares (not renormalised after filling).
pub fn psi(reference: &[u64], current: &[u64]) -> Option<f64> {
    let (r, c) = filled(reference, current)?;
    Some(sum(r.iter().zip(&c).map(|(&r, &c)| (r - c) * (r / c).ln())))
}

/// Evidently's Kullback-Leibler divergence KL(ref‖cur) (scipy's `entropy`): zero-filled
/// shares, renormalised, natural log.
pub fn kl_div(reference: &[u64], current: &[u64]) -> Option<f64> {
    let (r, c) = filled(reference, current)?;
    let (sr, sc) = (sum(r.iter().copied()), sum(c.iter().copied()));
    Some(sum(r
        .iter()
        .zip(&c)
        .map(|(&r, &c)| rel_entr(r / sr, c / sc))))
}

/// Evidently's Jensen-Shannon distance (scipy's `distance.jensenshannon`, natural log, so at
/// most √ln 2): shares without zero filling, `√((KL(p‖m) + KL(q‖m))/2)` with `m = (p+q)/2`.
pub fn jensenshannon(reference: &[u64], current: &[u64]) -> Option<f64> {
    let (tr, tc) = totals(reference, current)?;
    let p = percents(reference, tr);
    let q = percents(current, tc);
    let (sp, sq) = (sum(p.iter().copied()), sum(q.iter().copied()));
    let mut left = Sum::default();
    let mut right = Sum::default();
    for (&p, &q) in p.iter().zip(&q) {
        let (p, q) = (p / sp, q / sq);
        let m = (p + q) / 2.0;
        left.add(rel_entr(p, m));
        right.add(rel_entr(q, m));
    }
    // Rounding can leave a hair below zero for identical distributions.
    Some(((left.value() + right.value()) / 2.0).max(0.0).sqrt())
}

/// Evidently's Hellinger distance for categories: `√(1 − clip(Σ√(p·q), 0, 1))` over the
/// shares of each category.
pub fn hellinger_counts(reference: &[u64], current: &[u64]) -> Option<f64> {
    let (tr, tc) = totals(reference, current)?;
    let p = percents(reference, tr);
    let q = percents(current, tc);
    let bc = sum(p.iter().zip(&q).map(|(&p, &q)| (p * q).sqrt()));
    Some((1.0 - bc.clamp(0.0, 1.0)).sqrt())
}

/// Evidently's Hellinger distance for numbers (sorted, cleaned windows): Sturges edges over the
/// *distinct* values of ref ∪ cur, numpy `density=True` histograms, and
/// `√(1 − clip(Σ√(h₁·h₂)·w, 0, 1))` with `w` the mean bin width.
pub fn hellinger_sorted(reference: &[f64], current: &[f64]) -> Option<f64> {
    if reference.is_empty() || current.is_empty() {
        return None;
    }
    let mut n_keys = 0usize;
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    for run in UnionRuns::new(reference, current) {
        n_keys += 1;
        min = min.min(run.value);
        max = max.max(run.value);
    }
    let edges = sturges_edges(min, max, n_keys);
    let (&first, &last) = (edges.first()?, edges.last()?);
    let h1 = density(reference, &edges);
    let h2 = density(current, &edges);
    let width = (last - first) / (edges.len() - 1) as f64;
    let bc = sum(h1.iter().zip(&h2).map(|(&a, &b)| (a * b).sqrt() * width));
    Some((1.0 - bc.clamp(0.0, 1.0)).sqrt())
}

/// numpy's `histogram(…, density=True)[0]`: `count/width/total`.
fn density(sorted: &[f64], edges: &[f64]) -> Vec<f64> {
    let counts = histogram_sorted(sorted, edges);
    let total = counts.iter().sum::<u64>() as f64;
    counts
        .iter()
        .zip(edges.windows(2))
        .map(|(&c, w)| c as f64 / (w[1] - w[0]) / total)
        .collect()
}

/// scipy's `wasserstein_distance(u, v)` (W1, the area between the ECDFs) for sorted samples.
///
/// One merge of the two samples: the gap between consecutive pooled values is weighted by
/// |F_u − F_v| over it, i.e. by the shares consumed so far. Tied values make zero-width gaps,
/// so going element by element equals scipy's `searchsorted(…, 'right')` per distinct value.
pub fn wasserstein_sorted(u: &[f64], v: &[f64]) -> Option<f64> {
    if u.is_empty() || v.is_empty() {
        return None;
    }
    // |i/nu − j/nv| = |i·nv − j·nu| / (nu·nv): sum the integer numerators times the gaps and
    // divide once at the end (exact numerators, one rounding fewer than scipy's per-term one).
    // The numerators are at most nu·nv: u64 holds them for any realistic sample, and converting
    // a u64 to f64 is one instruction where u128 takes a library call (a tenth of a dataset's
    // drift time); both round the same exact integer the same way.
    let (nu, nv) = (u.len() as u64, v.len() as u64);
    let area = match nu.checked_mul(nv) {
        Some(_) => ecdf_area(u, v, |i, j| (i as u64 * nv).abs_diff(j as u64 * nu) as f64),
        None => {
            let (nu, nv) = (u128::from(nu), u128::from(nv));
            ecdf_area(u, v, |i, j| {
                (i as u128 * nv).abs_diff(j as u128 * nu) as f64
            })
        }
    };
    Some(area / (u128::from(nu) * u128::from(nv)) as f64)
}

/// `Σ numerator(i, j)·gap` over the gaps between consecutive values of the merged sorted
/// samples, `i` and `j` counting the values of `u` and of `v` taken before the gap closes.
fn ecdf_area(u: &[f64], v: &[f64], numerator: impl Fn(usize, usize) -> f64) -> f64 {
    // Terms are summed plainly in blocks of 256 (short dependency chain), the block sums with
    // compensation.
    let mut acc = Sum::default();
    let mut block = 0.0;
    let mut in_block = 0u32;
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev = match (u.first(), v.first()) {
        (Some(&a), Some(&b)) => a.min(b),
        _ => return 0.0,
    };
    let mut step = |i: usize, j: usize, next: f64, prev: &mut f64| {
        let d = numerator(i, j);
        // Skipping d = 0 keeps an overflowed gap (values near ±f64::MAX) from making 0·inf.
        if d != 0.0 {
            block += d * (next - *prev);
        }
        *prev = next;
        in_block += 1;
        if in_block == 256 {
            acc.add(block);
            (block, in_block) = (0.0, 0);
        }
    };
    // Both samples left: take the smaller head without a data-dependent branch (the two
    // samples interleave at random, so a branch would mispredict half the time).
    while let (Some(&a), Some(&b)) = (u.get(i), v.get(j)) {
        let take_u = a <= b;
        step(i, j, if take_u { a } else { b }, &mut prev);
        i += usize::from(take_u);
        j += usize::from(!take_u);
    }
    while let Some(&a) = u.get(i) {
        step(i, j, a, &mut prev);
        i += 1;
    }
    while let Some(&b) = v.get(j) {
        step(i, j, b, &mut prev);
        j += 1;
    }
    acc.add(block);
    acc.value()
}

/// Population standard deviation (numpy's `std`, ddof = 0); `None` for an empty sample.
pub fn std_ddof0(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = sum(values.iter().copied()) / n;
    let ss = sum(values.iter().map(|&x| (x - mean) * (x - mean)));
    Some((ss / n).sqrt())
}

/// Evidently's normed Wasserstein score: `W1(ref, cur) / max(std(ref), 0.001)`.
pub fn wasserstein_norm_sorted(reference: &[f64], current: &[f64]) -> Option<f64> {
    let w = wasserstein_sorted(reference, current)?;
    let sd = std_ddof0(reference)?;
    Some(w / sd.max(WASSERSTEIN_MIN_STD))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasserstein_matches_scipy_examples() {
        // scipy docs: wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.0
        assert_eq!(
            wasserstein_sorted(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]),
            Some(5.0)
        );
        assert_eq!(wasserstein_sorted(&[1.0], &[1.0]), Some(0.0));
        assert_eq!(wasserstein_sorted(&[], &[1.0]), None);
    }

    #[test]
    fn normed_wasserstein_floors_std() {
        // Constant reference: std 0 → divide by 0.001.
        let s = wasserstein_norm_sorted(&[2.0, 2.0], &[3.0]).unwrap();
        assert!((s - 1000.0).abs() < 1e-9);
    }

    #[test]
    fn identical_bins_are_zero() {
        let r = [10, 0, 5];
        assert_eq!(psi(&r, &r), Some(0.0));
        assert_eq!(kl_div(&r, &r), Some(0.0));
        assert_eq!(jensenshannon(&r, &r), Some(0.0));
        assert_eq!(hellinger_counts(&r, &r), Some(0.0));
        assert_eq!(psi(&[], &[]), None);
    }

    #[test]
    fn disjoint_js_is_sqrt_ln2() {
        let js = jensenshannon(&[5, 0], &[0, 7]).unwrap();
        assert!((js - std::f64::consts::LN_2.sqrt()).abs() < 1e-15);
        assert!((hellinger_counts(&[5, 0], &[0, 7]).unwrap() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn numerical_hellinger_by_hand() {
        // Keys 1..7 → 4 Sturges bins [1, 2.5, 4, 5.5, 7]; densities [2,1,1,0]/(1.5·4) and
        // [0,1,2,2]/(1.5·5); 1.5·(√(1/45) + √(4/90)) summed, then √(1 − ·).
        let h = hellinger_sorted(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0, 7.0]).unwrap();
        assert!((h - 0.6783549485580415).abs() < 1e-15, "{h}");
    }

    #[test]
    fn numerical_hellinger_is_bounded() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [10.0, 11.0, 12.0];
        let h = hellinger_sorted(&a, &b).unwrap();
        assert!((0.0..=1.0).contains(&h));
        // Σ√(h·h)·w rounds to within an ulp of 1, so the distance is at most ~1e-8.
        assert!(hellinger_sorted(&a, &a).unwrap() < 1e-7);
        assert!(hellinger_sorted(&[2.0], &[2.0]).unwrap() < 1e-7);
    }

    #[test]
    fn std_matches_numpy() {
        assert_eq!(std_ddof0(&[1.0, 2.0, 3.0, 4.0]), Some(1.25f64.sqrt()));
        assert_eq!(std_ddof0(&[]), None);
    }
}
