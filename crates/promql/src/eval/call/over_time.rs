//! Functions of a range vector: the `rate` family, `*_over_time`, `changes`, `resets`,
//! `deriv`, `predict_linear` and `double_exponential_smoothing`.
//!
//! Each series' samples are read once; a cursor slides each step's window `(end - range, end]`
//! over them. A step whose window is empty yields no point (Prometheus does not call the
//! function then), and a series without any point is left out. All of them drop the metric
//! name except `last_over_time` and `first_over_time`, which act like an offset.

use std::collections::BTreeSet;

use vigil_model::Sample;

use super::{map_series, Args, FnCtx, RangeArg};
use crate::eval::aggregate::quantile_warning;
use crate::eval::Evaluated;
use crate::math::{rate, stats};
use crate::value::StepSeries;
use crate::PromqlError;

/// One step's window of one series.
pub(super) struct Window<'s> {
    /// Step index on the grid.
    pub step: usize,
    pub samples: &'s [Sample],
    /// Exclusive start and inclusive end, in milliseconds.
    pub start: i64,
    pub end: i64,
}

/// Dispatches the range-vector functions; `None` for other names.
pub(super) fn call(
    f: &FnCtx<'_, '_>,
    name: &str,
    args: &mut Args,
) -> Result<Option<Evaluated>, PromqlError> {
    let out = match name {
        "rate" => rate_family(f, args.range(0)?, true, true)?,
        "increase" => rate_family(f, args.range(0)?, true, false)?,
        "delta" => rate_family(f, args.range(0)?, false, false)?,
        "irate" => over_windows(f, args.range(0)?, false, |w| {
            rate::instant_value(w.samples, true)
        })?,
        "idelta" => over_windows(f, args.range(0)?, false, |w| {
            rate::instant_value(w.samples, false)
        })?,
        "sum_over_time" => simple(f, args, |w| Some(stats::sum(w)))?,
        "avg_over_time" => simple(f, args, |w| Some(stats::avg(w)))?,
        "count_over_time" => simple(f, args, |w| Some(w.len() as f64))?,
        "present_over_time" => simple(f, args, |_| Some(1.0))?,
        "min_over_time" => simple(f, args, |w| stats::extreme(w, |c, b| c < b).map(|e| e.0))?,
        "max_over_time" => simple(f, args, |w| stats::extreme(w, |c, b| c > b).map(|e| e.0))?,
        "ts_of_min_over_time" => simple(f, args, |w| {
            stats::extreme(w, |c, b| c <= b).map(|e| e.1 as f64 / 1000.0)
        })?,
        "ts_of_max_over_time" => simple(f, args, |w| {
            stats::extreme(w, |c, b| c >= b).map(|e| e.1 as f64 / 1000.0)
        })?,
        "ts_of_first_over_time" => simple(f, args, |w| w.first().map(|s| s.t as f64 / 1000.0))?,
        "ts_of_last_over_time" => simple(f, args, |w| w.last().map(|s| s.t as f64 / 1000.0))?,
        "last_over_time" => {
            over_windows(f, args.range(0)?, true, |w| w.samples.last().map(|s| s.v))?
        }
        "first_over_time" => {
            over_windows(f, args.range(0)?, true, |w| w.samples.first().map(|s| s.v))?
        }
        "stddev_over_time" => simple(f, args, |w| Some(stats::variance(w).sqrt()))?,
        "stdvar_over_time" => simple(f, args, |w| Some(stats::variance(w)))?,
        "mad_over_time" => simple(f, args, |w| Some(stats::mad(w)))?,
        "changes" => simple(f, args, |w| Some(stats::changes(w)))?,
        "resets" => simple(f, args, |w| Some(stats::resets(w)))?,
        "deriv" => simple(f, args, |w| {
            let first = w.first()?;
            (w.len() >= 2).then(|| stats::linear_regression(w, first.t).0)
        })?,
        "quantile_over_time" => quantile_over_time(f, args)?,
        "predict_linear" => predict_linear(f, args)?,
        "double_exponential_smoothing" | "holt_winters" => smoothing(f, args)?,
        _ => return Ok(None),
    };
    Ok(Some(Evaluated::Vector(out)))
}

/// A function of the window's samples alone, dropping the name.
fn simple(
    f: &FnCtx<'_, '_>,
    args: &mut Args,
    kernel: impl Fn(&[Sample]) -> Option<f64> + Sync,
) -> Result<Vec<StepSeries>, PromqlError> {
    over_windows(f, args.range(0)?, false, |w| kernel(w.samples))
}

/// Applies `kernel` to every non-empty window of every series of `range`.
pub(super) fn over_windows<K>(
    f: &FnCtx<'_, '_>,
    range: RangeArg,
    keep_name: bool,
    kernel: K,
) -> Result<Vec<StepSeries>, PromqlError>
where
    K: Fn(&Window<'_>) -> Option<f64> + Sync,
{
    let ctx = f.ctx;
    let steps = ctx.steps;
    let RangeArg {
        series,
        range_ms,
        ends,
    } = range;
    let results = map_series(series, |s| {
        ctx.check_deadline()?;
        let mut points = Vec::new();
        for_each_window(&s.samples, &ends, range_ms, |w| {
            if let Some(v) = kernel(&w) {
                points.push(Sample::new(steps.ts(w.step), v));
            }
        });
        Ok::<_, PromqlError>((!points.is_empty()).then_some(StepSeries {
            labels: s.labels,
            drop_name: !keep_name,
            points,
        }))
    });
    let mut out = Vec::with_capacity(results.len());
    let mut total = 0usize;
    for r in results {
        if let Some(s) = r? {
            total += s.points.len();
            out.push(s);
        }
    }
    ctx.add_samples(total)?;
    Ok(out)
}

/// Calls `visit` with each non-empty window of `samples` (ascending) for the window ends
/// `ends`, sliding two cursors while the ends ascend.
pub(super) fn for_each_window<'s>(
    samples: &'s [Sample],
    ends: &[i64],
    range_ms: i64,
    mut visit: impl FnMut(Window<'s>),
) {
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut prev_end: Option<i64> = None;
    for (step, &end) in ends.iter().enumerate() {
        let start = end.saturating_sub(range_ms);
        if prev_end.is_some_and(|p| end < p) {
            lo = samples.partition_point(|s| s.t <= start);
            hi = samples.partition_point(|s| s.t <= end);
        } else {
            while samples.get(hi).is_some_and(|s| s.t <= end) {
                hi += 1;
            }
            while lo < hi && samples.get(lo).is_some_and(|s| s.t <= start) {
                lo += 1;
            }
        }
        prev_end = Some(end);
        if let Some(window) = samples.get(lo..hi).filter(|w| !w.is_empty()) {
            visit(Window {
                step,
                samples: window,
                start,
                end,
            });
        }
    }
}

/// `rate`, `increase` (`is_counter`) and `delta`; the first two also flag series whose name
/// does not look like a counter's.
fn rate_family(
    f: &FnCtx<'_, '_>,
    range: RangeArg,
    is_counter: bool,
    is_rate: bool,
) -> Result<Vec<StepSeries>, PromqlError> {
    let range_ms = range.range_ms;
    let out = over_windows(f, range, false, |w| {
        rate::extrapolated_rate(w.samples, w.start, w.end, range_ms, is_counter, is_rate)
    })?;
    if is_counter {
        let mut named: BTreeSet<&str> = BTreeSet::new();
        for s in &out {
            if let Some(name) = s.labels.metric_name() {
                if !["_total", "_sum", "_count", "_bucket"]
                    .iter()
                    .any(|suffix| name.ends_with(suffix))
                {
                    named.insert(name);
                }
            }
        }
        for name in named {
            f.ctx.info(f.at_arg(
                format!(
                    "PromQL info: metric might not be a counter, name does not end in \
                     _total/_sum/_count/_bucket: {name:?}"
                ),
                0,
            ));
        }
    }
    Ok(out)
}

/// Steps at which at least one series has a point.
fn steps_with_points(out: &[StepSeries], f: &FnCtx<'_, '_>) -> BTreeSet<usize> {
    out.iter()
        .flat_map(|s| s.points.iter())
        .filter_map(|p| f.step_of(p.t))
        .collect()
}

fn quantile_over_time(f: &FnCtx<'_, '_>, args: &mut Args) -> Result<Vec<StepSeries>, PromqlError> {
    let range = args.range(1)?;
    let q = args.scalar(0)?;
    let out = over_windows(f, range, false, |w| {
        let q = q.get(w.step).copied().unwrap_or(f64::NAN);
        let mut values: Vec<f64> = w.samples.iter().map(|s| s.v).collect();
        Some(stats::quantile(q, &mut values))
    })?;
    let mut warned: BTreeSet<u64> = BTreeSet::new();
    for step in steps_with_points(&out, f) {
        let q = q.get(step).copied().unwrap_or(f64::NAN);
        if (q.is_nan() || !(0.0..=1.0).contains(&q)) && warned.insert(q.to_bits()) {
            f.ctx.warn(invalid_quantile(f, q, 0));
        }
    }
    Ok(out)
}

/// Upstream's invalid-quantile warning for the value of argument `arg`.
pub(super) fn invalid_quantile(f: &FnCtx<'_, '_>, q: f64, arg: usize) -> String {
    f.at_arg(quantile_warning(q), arg)
}

fn predict_linear(f: &FnCtx<'_, '_>, args: &mut Args) -> Result<Vec<StepSeries>, PromqlError> {
    let range = args.range(0)?;
    let duration = args.scalar(1)?;
    let steps = f.ctx.steps;
    over_windows(f, range, false, |w| {
        if w.samples.len() < 2 {
            return None;
        }
        let d = duration.get(w.step).copied().unwrap_or(f64::NAN);
        let (slope, intercept) = stats::linear_regression(w.samples, steps.ts(w.step));
        Some(slope * d + intercept)
    })
}

fn smoothing(f: &FnCtx<'_, '_>, args: &mut Args) -> Result<Vec<StepSeries>, PromqlError> {
    let range = args.range(0)?;
    let sf = args.scalar(1)?;
    let tf = args.scalar(2)?;
    let invalid = |x: f64| !(x > 0.0 && x < 1.0);
    // Prometheus fails on the first evaluation (series by series, step by step) that sees an
    // out-of-range factor; a step whose windows are all empty never evaluates.
    if sf.iter().chain(tf.iter()).any(|&x| invalid(x)) {
        for s in &range.series {
            let mut err = None;
            for_each_window(&s.samples, &range.ends, range.range_ms, |w| {
                if err.is_some() {
                    return;
                }
                let (a, b) = (
                    sf.get(w.step).copied().unwrap_or(f64::NAN),
                    tf.get(w.step).copied().unwrap_or(f64::NAN),
                );
                if invalid(a) {
                    err = Some(format!(
                        "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
                        go_fixed6(a)
                    ));
                } else if invalid(b) {
                    err = Some(format!(
                        "invalid trend factor. Expected: 0 < tf < 1, got: {}",
                        go_fixed6(b)
                    ));
                }
            });
            if let Some(e) = err {
                return Err(PromqlError::Execution(e));
            }
        }
    }
    over_windows(f, range, false, |w| {
        let a = sf.get(w.step).copied().unwrap_or(f64::NAN);
        let b = tf.get(w.step).copied().unwrap_or(f64::NAN);
        stats::double_exponential_smoothing(w.samples, a, b)
    })
}

/// Go's `%f`.
fn go_fixed6(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{x:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(samples: &[Sample], ends: &[i64], range: i64) -> Vec<(usize, Vec<i64>)> {
        let mut out = Vec::new();
        for_each_window(samples, ends, range, |w| {
            out.push((w.step, w.samples.iter().map(|s| s.t).collect()));
        });
        out
    }

    #[test]
    fn windows_are_left_open_and_skip_empty() {
        let s: Vec<Sample> = (0..5).map(|i| Sample::new(i * 10, i as f64)).collect();
        let got = collect(&s, &[0, 10, 25, 100], 10);
        assert_eq!(got, vec![(0, vec![0]), (1, vec![10]), (2, vec![20])]);
    }

    #[test]
    fn windows_handle_descending_and_constant_ends() {
        let s: Vec<Sample> = (0..5).map(|i| Sample::new(i * 10, i as f64)).collect();
        let got = collect(&s, &[40, 20, 20, 40], 15);
        assert_eq!(
            got,
            vec![
                (0, vec![30, 40]),
                (1, vec![10, 20]),
                (2, vec![10, 20]),
                (3, vec![30, 40])
            ]
        );
    }
}
