//! `rate`, `increase`, `delta`, `irate` and `idelta` over one window.
//!
//! The window's first and last samples rarely sit on the window's edges, so Prometheus
//! extrapolates the observed change towards them: all the way when the gap to an edge is at most
//! 1.1 times the average sample interval, otherwise by half an average interval (the series is
//! assumed to start or end inside the window). A counter is additionally never extrapolated to
//! below zero on the left. Counter resets (a value lower than its predecessor) add the
//! predecessor's value back.

use vigil_model::Sample;

/// Seconds of a millisecond duration as Go's `time.Duration.Seconds` computes them.
pub(crate) fn duration_seconds(ms: i64) -> f64 {
    let secs = ms / 1000;
    let rem_ns = (ms % 1000) * 1_000_000;
    secs as f64 + rem_ns as f64 / 1e9
}

/// The extrapolated change over the window `(range_start, range_end]` holding `window` (at least
/// one sample, ascending). `range_ms` is the selector's range, the divisor of a per-second rate.
/// `None` when there are fewer than two samples.
pub(crate) fn extrapolated_rate(
    window: &[Sample],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let (first, last) = match window {
        [first, .., last] => (first, last),
        _ => return None,
    };
    let samples_minus_one = (window.len() - 1) as f64;
    let mut result = last.v - first.v;
    if is_counter {
        for pair in window.windows(2) {
            if let [prev, cur] = pair {
                if cur.v < prev.v {
                    result += prev.v;
                }
            }
        }
    }

    let mut duration_to_start = first.t.saturating_sub(range_start) as f64 / 1000.0;
    let mut duration_to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled_interval = (last.t - first.t) as f64 / 1000.0;
    let average_between_samples = sampled_interval / samples_minus_one;
    let threshold = average_between_samples * 1.1;

    if duration_to_start >= threshold {
        duration_to_start = average_between_samples / 2.0;
    }
    if is_counter {
        // The counter would have been zero this long before the first sample, given the slope
        // seen; extrapolating further would invent negative values.
        let mut duration_to_zero = duration_to_start;
        if result > 0.0 && first.v >= 0.0 {
            duration_to_zero = sampled_interval * (first.v / result);
        }
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = average_between_samples / 2.0;
    }

    let mut factor = 1.0;
    if sampled_interval != 0.0 {
        factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    }
    if is_rate {
        factor /= duration_seconds(range_ms);
    }
    Some(result * factor)
}

/// `irate` (`is_rate`) and `idelta`: the change between the last two samples of the window, per
/// second for `irate`. For `irate`, a drop counts as a reset and the last value is the increase.
/// `None` with fewer than two samples or two samples at the same time.
pub(crate) fn instant_value(window: &[Sample], is_rate: bool) -> Option<f64> {
    let (prev, last) = match window {
        [.., prev, last] => (prev, last),
        _ => return None,
    };
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    let mut result = last.v;
    if !is_rate || last.v >= prev.v || last.v.is_nan() || prev.v.is_nan() {
        result = last.v - prev.v;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(step_ms: i64, values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample::new(i as i64 * step_ms, v))
            .collect()
    }

    fn window(s: &[Sample], end: i64, range: i64) -> Vec<Sample> {
        s.iter()
            .copied()
            .filter(|x| x.t > end - range && x.t <= end)
            .collect()
    }

    const M5: i64 = 300_000;

    #[test]
    fn increase_with_zero_cutoff() {
        // http_requests_total{path="/dings"} 10+10x10 and "/bumms" 1+10x10, increase over 100m at 50m.
        let dings = series(
            M5,
            &(0..=10).map(|i| 10.0 + 10.0 * i as f64).collect::<Vec<_>>(),
        );
        let w = window(&dings, 50 * 60_000, 100 * 60_000);
        let v = extrapolated_rate(&w, -50 * 60_000, 50 * 60_000, 100 * 60_000, true, false);
        assert!((v.unwrap_or(f64::NAN) - 105.0).abs() < 1e-9);
        let bumms = series(
            M5,
            &(0..=10).map(|i| 1.0 + 10.0 * i as f64).collect::<Vec<_>>(),
        );
        let w = window(&bumms, 50 * 60_000, 100 * 60_000);
        let v = extrapolated_rate(&w, -50 * 60_000, 50 * 60_000, 100 * 60_000, true, false);
        assert!((v.unwrap_or(f64::NAN) - 101.0).abs() < 1e-9);
    }

    #[test]
    fn counter_reset_is_added_back() {
        let s = series(M5, &[0.0, 1.0, 2.0, 3.0, 2.0, 3.0, 4.0]);
        let w = window(&s, 30 * 60_000, 30 * 60_000);
        let v = extrapolated_rate(&w, 0, 30 * 60_000, 30 * 60_000, true, false);
        assert!((v.unwrap_or(f64::NAN) - 7.0).abs() < 1e-9);
    }

    #[test]
    fn rate_is_per_second() {
        let s = series(M5, &(0..=10).map(|i| 80.0 * i as f64).collect::<Vec<_>>());
        let w = window(&s, 50 * 60_000, 50 * 60_000);
        let v = extrapolated_rate(&w, 0, 50 * 60_000, 50 * 60_000, true, true);
        assert!((v.unwrap_or(f64::NAN) - 0.26666666666666666).abs() < 1e-15);
    }

    #[test]
    fn delta_of_gauge() {
        let s = series(M5, &[200.0, 150.0, 100.0, 50.0, 0.0]);
        let w = window(&s, 20 * 60_000, 20 * 60_000);
        let v = extrapolated_rate(&w, 0, 20 * 60_000, 20 * 60_000, false, false);
        assert!((v.unwrap_or(f64::NAN) + 200.0).abs() < 1e-9);
    }

    #[test]
    fn single_sample_has_no_rate() {
        let s = [Sample::new(0, 1.0)];
        assert_eq!(extrapolated_rate(&s, -1, 0, 1, true, true), None);
        assert_eq!(instant_value(&s, true), None);
    }

    #[test]
    fn irate_and_idelta() {
        let s = series(M5, &[0.0, 10.0, 20.0]);
        assert_eq!(instant_value(&s, true), Some(10.0 / 300.0));
        assert_eq!(instant_value(&s, false), Some(10.0));
        let reset = series(M5, &[0.0, 10.0, 5.0]);
        assert_eq!(instant_value(&reset, true), Some(5.0 / 300.0));
        assert_eq!(instant_value(&reset, false), Some(-5.0));
        let nan = series(M5, &[f64::NAN, 5.0]);
        assert!(instant_value(&nan, true).is_some_and(f64::is_nan));
    }

    #[test]
    fn go_duration_seconds() {
        assert_eq!(duration_seconds(901_000), 901.0);
        assert_eq!(duration_seconds(1_500), 1.5);
        assert_eq!(duration_seconds(-1_500), -1.5);
    }
}
