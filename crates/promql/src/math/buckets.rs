//! Classic histogram buckets (`le`-labelled cumulative counters): `histogram_quantile` and
//! `histogram_fraction` over them.
//!
//! Bucket counts ought to grow with the upper bound, but real data breaks that (scrapes of
//! different moments summed together, float error in federated sums). Like Prometheus, tiny
//! relative differences (below 1e-12) are silently levelled, and real decreases are levelled
//! too but reported, so the caller can emit upstream's "fixed for monotonicity" info.

use vigil_model::almost_equal;

/// One bucket: its upper bound (`le`) and cumulative count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    pub upper: f64,
    pub count: f64,
}

/// Relative difference below which two neighbouring bucket counts are taken as equal.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Go's `sort.Search`: the smallest `i` in `[0, n)` with `f(i)`, assuming `f` flips from false
/// to true once; `n` if it never holds. Reproduced exactly (not `partition_point`) because
/// NaN counts can break the assumption, and then the probe order decides the answer.
pub(crate) fn go_search(n: usize, f: impl Fn(usize) -> bool) -> usize {
    let (mut i, mut j) = (0usize, n);
    while i < j {
        let h = i + (j - i) / 2;
        if f(h) {
            j = h;
        } else {
            i = h + 1;
        }
    }
    i
}

/// What `bucket_quantile` had to fix: the range of upper bounds whose counts were raised, and
/// the largest raise. `None` when nothing was forced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ForcedMonotonicity {
    pub min_bucket: f64,
    pub max_bucket: f64,
    pub max_diff: f64,
}

fn sort_by_upper(buckets: &mut [Bucket]) {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// Merges buckets with equal upper bounds (input sorted), summing their counts.
fn coalesce(buckets: &mut Vec<Bucket>) {
    let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match out.last_mut() {
            #[allow(clippy::float_cmp)]
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => out.push(*b),
        }
    }
    *buckets = out;
}

/// Levels non-monotonic counts in place; see the module docs.
fn ensure_monotonic(buckets: &mut [Bucket]) -> Option<ForcedMonotonicity> {
    let mut forced: Option<ForcedMonotonicity> = None;
    let mut prev = buckets.first()?.count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        #[allow(clippy::float_cmp)]
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            let diff = prev - curr;
            let f = forced.get_or_insert(ForcedMonotonicity {
                min_bucket: f64::INFINITY,
                max_bucket: f64::NEG_INFINITY,
                max_diff: 0.0,
            });
            if b.upper < f.min_bucket {
                f.min_bucket = b.upper;
            }
            if b.upper > f.max_bucket {
                f.max_bucket = b.upper;
            }
            if diff > f.max_diff {
                f.max_diff = diff;
            }
            continue;
        }
        prev = curr;
    }
    forced
}

/// The `q` quantile of a classic histogram, interpolating linearly inside the bucket it falls
/// in (the lowest bucket starts at 0 if its bound is positive; a quantile in the `+Inf` bucket
/// is the second-highest bound). NaN without a `+Inf` bucket, with fewer than two buckets or
/// without observations; ±Inf for `q` outside `[0, 1]`.
pub(crate) fn bucket_quantile(
    q: f64,
    buckets: &mut Vec<Bucket>,
) -> (f64, Option<ForcedMonotonicity>) {
    if q.is_nan() {
        return (f64::NAN, None);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, None);
    }
    if q > 1.0 {
        return (f64::INFINITY, None);
    }
    sort_by_upper(buckets);
    if buckets.last().is_none_or(|b| b.upper != f64::INFINITY) {
        return (f64::NAN, None);
    }
    coalesce(buckets);
    let forced = ensure_monotonic(buckets);
    let n = buckets.len();
    if n < 2 {
        return (f64::NAN, forced);
    }
    let observations = buckets.get(n - 1).map_or(0.0, |b| b.count);
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    // First bucket (among all but the last) whose count reaches the rank.
    let b = go_search(n - 1, |i| buckets.get(i).is_some_and(|x| x.count >= rank));
    let at = |i: usize| {
        buckets.get(i).copied().unwrap_or(Bucket {
            upper: f64::NAN,
            count: f64::NAN,
        })
    };
    let value = if b == n - 1 {
        at(n - 2).upper
    } else if b == 0 && at(0).upper <= 0.0 {
        at(0).upper
    } else {
        let mut bucket_start = 0.0;
        let bucket_end = at(b).upper;
        let mut count = at(b).count;
        if b > 0 {
            let below = at(b - 1);
            bucket_start = below.upper;
            count -= below.count;
            rank -= below.count;
        }
        bucket_start + (bucket_end - bucket_start) * (rank / count)
    };
    (value, forced)
}

/// The fraction of observations between `lower` and `upper`, interpolating linearly inside
/// buckets (no interpolation inside buckets with an infinite bound). NaN without a `+Inf`
/// bucket, without observations, or for a NaN bound.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    sort_by_upper(buckets);
    if buckets.last().is_none_or(|b| b.upper != f64::INFINITY) {
        return f64::NAN;
    }
    coalesce(buckets);
    let count = buckets.last().map_or(0.0, |b| b.count);
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let mut rank = 0.0;
    let (mut lower_rank, mut upper_rank) = (0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut lower_bound = if buckets.first().is_some_and(|b| b.upper <= 0.0) {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (i, b) in buckets.iter().enumerate() {
        if i > 0 {
            if let Some(prev) = buckets.get(i - 1) {
                lower_bound = prev.upper;
            }
        }
        let upper_bound = b.upper;
        let interpolate = |v: f64| -> f64 {
            if lower_bound == f64::NEG_INFINITY {
                return b.count;
            }
            rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    #[test]
    fn quantile_interpolates_within_bucket() {
        let mut b = buckets(&[
            (0.1, 50.0),
            (0.2, 70.0),
            (f64::INFINITY, 100.0),
            (0.05, 10.0),
        ]);
        let (v, forced) = bucket_quantile(0.5, &mut b);
        assert!(forced.is_none());
        assert!((v - 0.1).abs() < 1e-12);
        let mut b = buckets(&[(0.1, 50.0), (0.2, 70.0), (f64::INFINITY, 100.0)]);
        assert!((bucket_quantile(0.6, &mut b).0 - 0.15).abs() < 1e-12);
        // In the +Inf bucket: the highest finite bound.
        let mut b = buckets(&[(0.1, 50.0), (0.2, 70.0), (f64::INFINITY, 100.0)]);
        assert_eq!(bucket_quantile(0.9, &mut b).0, 0.2);
    }

    #[test]
    fn quantile_special_cases() {
        let mut no_inf = buckets(&[(1.0, 1.0), (2.0, 2.0)]);
        assert!(bucket_quantile(0.5, &mut no_inf).0.is_nan());
        let mut only_inf = buckets(&[(f64::INFINITY, 2.0)]);
        assert!(bucket_quantile(0.5, &mut only_inf).0.is_nan());
        let mut empty = buckets(&[(1.0, 0.0), (f64::INFINITY, 0.0)]);
        assert!(bucket_quantile(0.5, &mut empty).0.is_nan());
        let mut b = buckets(&[(1.0, 1.0), (f64::INFINITY, 2.0)]);
        assert_eq!(bucket_quantile(-0.1, &mut b).0, f64::NEG_INFINITY);
        assert_eq!(bucket_quantile(1.1, &mut b).0, f64::INFINITY);
        let mut neg = buckets(&[(-1.0, 5.0), (f64::INFINITY, 10.0)]);
        assert_eq!(bucket_quantile(0.1, &mut neg).0, -1.0);
    }

    #[test]
    fn duplicate_bounds_are_summed() {
        let mut b = buckets(&[(1.0, 1.0), (1.0, 1.0), (f64::INFINITY, 4.0)]);
        assert!((bucket_quantile(0.25, &mut b).0 - 0.5).abs() < 1e-12);
    }

    #[test]
    fn monotonicity_is_forced_and_reported() {
        let mut b = buckets(&[
            (0.1, 10.0),
            (1.0, 20.0),
            (10.0, 15.0),
            (100.0, 25.0),
            (f64::INFINITY, 24.0),
        ]);
        let (_, forced) = bucket_quantile(0.5, &mut b);
        assert_eq!(
            forced,
            Some(ForcedMonotonicity {
                min_bucket: 10.0,
                max_bucket: f64::INFINITY,
                max_diff: 5.0
            })
        );
        // Float noise is levelled silently.
        let mut b = buckets(&[(1.0, 1.0), (2.0, 1.0 - 1e-15), (f64::INFINITY, 1.0)]);
        assert!(bucket_quantile(0.5, &mut b).1.is_none());
    }

    #[test]
    fn fraction_cases() {
        let b = buckets(&[(1.0, 1.0), (2.0, 3.0), (4.0, 4.0), (f64::INFINITY, 4.0)]);
        assert_eq!(bucket_fraction(0.0, 4.0, &mut b.clone()), 1.0);
        assert_eq!(bucket_fraction(0.0, 2.0, &mut b.clone()), 0.75);
        assert!((bucket_fraction(0.0, 1.5, &mut b.clone()) - 0.5).abs() < 1e-12);
        assert_eq!(bucket_fraction(3.0, 2.0, &mut b.clone()), 0.0);
        assert!(bucket_fraction(f64::NAN, 2.0, &mut b.clone()).is_nan());
        assert_eq!(
            bucket_fraction(f64::NEG_INFINITY, f64::INFINITY, &mut b.clone()),
            1.0
        );
        let neg = buckets(&[(-2.0, 1.0), (0.0, 3.0), (f64::INFINITY, 4.0)]);
        assert_eq!(
            bucket_fraction(f64::NEG_INFINITY, -2.0, &mut neg.clone()),
            0.25
        );
    }

    #[test]
    fn almost_equal_semantics() {
        assert!(almost_equal(1.0, 1.0 + 1e-13, 1e-12));
        assert!(!almost_equal(1.0, 1.1, 1e-12));
        assert!(almost_equal(f64::NAN, f64::NAN, 1e-12));
        assert!(!almost_equal(0.0, 1e-300, 1e-12));
    }
}
