//! Statistics over one window of samples: the kernels behind `*_over_time`, `deriv`,
//! `predict_linear`, `double_exponential_smoothing`, `changes` and `resets`.
//!
//! Each takes a non-empty, time-ordered window and returns what Prometheus's function returns
//! for it; `None` where Prometheus drops the element (too few samples).

use vigil_model::Sample;

use super::kahan::kahan_inc;

/// `sum_over_time`: compensated sum.
pub(crate) fn sum(window: &[Sample]) -> f64 {
    super::kahan::kahan_sum(window.iter().map(|s| s.v))
}

/// `avg_over_time`: the direct mean with compensated summation while the running sum stays
/// finite; once it would overflow, an incremental mean carries on from there (still
/// compensated), which cannot overflow for finite inputs.
pub(crate) fn avg(window: &[Sample]) -> f64 {
    let Some((first, rest)) = window.split_first() else {
        return f64::NAN;
    };
    let (mut sum, mut count) = (first.v, 1.0);
    let (mut mean, mut c) = (0.0, 0.0);
    let mut incremental = false;
    for (i, s) in rest.iter().enumerate() {
        count = (i + 2) as f64;
        if !incremental {
            let (new_sum, new_c) = kahan_inc(s.v, sum, c);
            if !new_sum.is_infinite() {
                (sum, c) = (new_sum, new_c);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(s.v / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

/// Population variance (`stdvar_over_time`), Welford's method with compensated updates.
pub(crate) fn variance(window: &[Sample]) -> f64 {
    let mut count = 0.0;
    let (mut mean, mut c_mean) = (0.0, 0.0);
    let (mut aux, mut c_aux) = (0.0, 0.0);
    for s in window {
        count += 1.0;
        let delta = s.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (s.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// `min_over_time`/`max_over_time` and their `ts_of_` variants: the first sample's value wins
/// until `better(candidate, current)` says otherwise; a NaN current value is always replaced.
/// Returns the chosen value and its timestamp.
pub(crate) fn extreme(window: &[Sample], better: impl Fn(f64, f64) -> bool) -> Option<(f64, i64)> {
    let first = window.first()?;
    let (mut best, mut ts) = (first.v, first.t);
    for s in window {
        if better(s.v, best) || best.is_nan() {
            best = s.v;
            ts = s.t;
        }
    }
    Some((best, ts))
}

/// Prometheus's `quantile`: sorts `values` (NaN first) and interpolates linearly between the two
/// nearest ranks. NaN for no values or a NaN `q`; ±Inf for `q` outside `[0, 1]`.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    sort_nan_first(values);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    let at = |i: f64| values.get(i as usize).copied().unwrap_or(f64::NAN);
    at(lower) * (1.0 - weight) + at(upper) * weight
}

/// Ascending, NaNs first (Prometheus's `vectorByValueHeap` order).
pub(crate) fn sort_nan_first(values: &mut [f64]) {
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
}

/// `mad_over_time`: median absolute deviation from the median; NaN if any value is NaN.
pub(crate) fn mad(window: &[Sample]) -> f64 {
    if window.iter().any(|s| s.v.is_nan()) {
        return f64::NAN;
    }
    let mut values: Vec<f64> = window.iter().map(|s| s.v).collect();
    let median = quantile(0.5, &mut values);
    for v in &mut values {
        *v = (*v - median).abs();
    }
    quantile(0.5, &mut values)
}

/// Least-squares line through the window, `x` in seconds relative to `intercept_time`
/// (milliseconds): returns the slope and the value at `intercept_time`. A constant series has
/// slope 0 (NaN for a constant infinite one).
pub(crate) fn linear_regression(window: &[Sample], intercept_time: i64) -> (f64, f64) {
    let Some(first) = window.first() else {
        return (f64::NAN, f64::NAN);
    };
    let init_y = first.v;
    let mut const_y = true;
    let mut n = 0.0;
    let (mut sum_x, mut c_x) = (0.0, 0.0);
    let (mut sum_y, mut c_y) = (0.0, 0.0);
    let (mut sum_xy, mut c_xy) = (0.0, 0.0);
    let (mut sum_x2, mut c_x2) = (0.0, 0.0);
    for (i, s) in window.iter().enumerate() {
        #[allow(clippy::float_cmp)]
        if const_y && i > 0 && s.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (s.t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(s.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * s.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `double_exponential_smoothing` (formerly `holt_winters`) with smoothing factor `sf` and trend
/// factor `tf`, both already checked to lie in `(0, 1)`. Needs two samples.
pub(crate) fn double_exponential_smoothing(window: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    let (first, second) = match window {
        [a, b, ..] => (a.v, b.v),
        _ => return None,
    };
    let (mut s0, mut s1) = (0.0, first);
    let mut b = second - first;
    for (i, s) in window.iter().enumerate().skip(1) {
        let x = sf * s.v;
        // The trend at the previous point; the first one is the initial slope itself.
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Some(s1)
}

/// `changes`: how often consecutive values differ (two NaNs count as equal).
pub(crate) fn changes(window: &[Sample]) -> f64 {
    let mut n = 0usize;
    for pair in window.windows(2) {
        if let [a, b] = pair {
            #[allow(clippy::float_cmp)]
            if a.v != b.v && !(a.v.is_nan() && b.v.is_nan()) {
                n += 1;
            }
        }
    }
    n as f64
}

/// `resets`: how often a value is lower than its predecessor.
pub(crate) fn resets(window: &[Sample]) -> f64 {
    window
        .windows(2)
        .filter(|pair| matches!(pair, [a, b] if b.v < a.v))
        .count() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample::new(i as i64 * 10_000, v))
            .collect()
    }

    #[test]
    fn sum_and_avg_keep_small_terms() {
        let w = samples(&[1.0, 1e100, 1.0, -1e100]);
        assert_eq!(sum(&w), 2.0);
        assert_eq!(avg(&w), 0.5);
    }

    #[test]
    #[allow(clippy::excessive_precision)] // The literal of upstream's test.
    fn avg_switches_to_incremental_mean_on_overflow() {
        let big = 9.988_465_674_311_579e307;
        assert_eq!(avg(&samples(&[big, big])), big);
        assert_eq!(avg(&samples(&[-big, -big, -big])), -big);
        assert_eq!(avg(&samples(&[-big, big])), 0.0);
        assert_eq!(
            avg(&samples(&[1.0, 2.0, 3.0, f64::INFINITY])),
            f64::INFINITY
        );
        assert!(avg(&samples(&[1.0, f64::INFINITY, f64::NEG_INFINITY])).is_nan());
        let v = avg(&samples(&[1e10, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6]));
        assert!((v - 1.6666666666666675e9).abs() < 1e-3);
    }

    #[test]
    fn avg_of_constant_is_exact() {
        let w = samples(&[52.0; 13]);
        assert_eq!(avg(&w), 52.0);
    }

    #[test]
    fn variance_matches_upstream() {
        let v = variance(&samples(&[0.0, 8.0, 8.0, 2.0, 3.0]));
        assert!((v - 10.56).abs() < 1e-12);
        let c = 1.5990505637277868;
        assert_eq!(variance(&samples(&[c, c, c])), 0.0);
    }

    #[test]
    fn quantile_interpolates() {
        assert_eq!(quantile(0.5, &mut [0.0, 1.0]), 0.5);
        assert_eq!(quantile(0.75, &mut [4.0, 0.0, 1.0]), 2.5);
        assert_eq!(quantile(0.8, &mut [0.0, 1.0, 2.0]), 1.6);
        assert_eq!(quantile(-1.0, &mut [1.0]), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
        assert!(quantile(f64::NAN, &mut [1.0]).is_nan());
        assert!(quantile(0.5, &mut []).is_nan());
        // NaN sorts first.
        assert!(quantile(0.0, &mut [1.0, f64::NAN]).is_nan());
    }

    #[test]
    fn mad_cases() {
        assert_eq!(mad(&samples(&[4.0, 6.0, 2.0, 1.0, 999.0, 1.0, 2.0])), 1.0);
        assert_eq!(mad(&samples(&[1.0, 2.0, 3.0, 4.0, 5.0])), 1.0);
        assert_eq!(mad(&samples(&[5.0])), 0.0);
        assert!(mad(&samples(&[1.0, f64::NAN])).is_nan());
    }

    #[test]
    fn regression_matches_upstream_example() {
        // testcounter_reset_middle_total 0+10x4 0+10x5 at 5m spacing.
        let values = [
            0.0, 10.0, 20.0, 30.0, 40.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0,
        ];
        let w: Vec<Sample> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample::new(i as i64 * 300_000, v))
            .collect();
        let (slope, _) = linear_regression(&w, 0);
        assert!((slope - 0.010606060606060607).abs() < 1e-15);
        let (slope, intercept) = linear_regression(&w, 3_000_000);
        assert!((slope * 3600.0 + intercept - 76.81818181818181).abs() < 1e-9);
        let inf = samples(&[f64::INFINITY, f64::INFINITY]);
        assert!(linear_regression(&inf, 0).0.is_nan());
    }

    #[test]
    fn smoothing_follows_linear_trend() {
        let w: Vec<Sample> = (0..7)
            .map(|i| Sample::new(i * 10_000, 10.0 * i as f64))
            .collect();
        let v = double_exponential_smoothing(&w, 0.01, 0.1).expect("two samples");
        assert!((v - 60.0).abs() < 1e-9);
        assert_eq!(double_exponential_smoothing(&w[..1], 0.5, 0.5), None);
    }

    #[test]
    fn changes_and_resets() {
        let w = samples(&[1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 0.0, 1.0, 2.0, 0.0]);
        assert_eq!(changes(&w), 8.0);
        assert_eq!(resets(&w), 3.0);
        assert_eq!(changes(&samples(&[f64::NAN, f64::NAN, f64::NAN])), 0.0);
        assert_eq!(changes(&samples(&[0.0, f64::NAN, 0.0])), 2.0);
    }

    #[test]
    fn extremes_prefer_numbers_over_nan() {
        let w = samples(&[f64::NAN, 0.0, 1.0]);
        assert_eq!(extreme(&w, |a, b| a < b), Some((0.0, 10_000)));
        let w = samples(&[2.0, f64::NAN, 1.0]);
        assert_eq!(extreme(&w, |a, b| a < b), Some((1.0, 20_000)));
        let w = samples(&[1.0, 3.0, 3.0]);
        assert_eq!(extreme(&w, |a, b| a >= b), Some((3.0, 20_000)));
    }
}
