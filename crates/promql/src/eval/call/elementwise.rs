//! Functions applied to each sample on its own (`abs`, `round`, `clamp`, the trigonometric and
//! date functions, `timestamp`), conversions between scalars and vectors (`vector`, `scalar`),
//! and the scalar functions (`time`, `pi`, `min_of`, `max_of`, `start`, `end`, `range`,
//! `step`). The per-sample functions drop the metric name; `vector` and the argument-less date
//! functions produce one series without labels.

use vigil_model::{Labels, Sample};

use super::{map_series, Args, FnCtx};
use crate::eval::Evaluated;
use crate::math::date::{go_float_to_i64, Civil};
use crate::math::kahan::{go_max, go_min};
use crate::value::StepSeries;
use crate::PromqlError;

/// Dispatches the element-wise and scalar functions; `None` for other names.
pub(super) fn call(
    f: &FnCtx<'_, '_>,
    name: &str,
    args: &mut Args,
) -> Result<Option<Evaluated>, PromqlError> {
    if let Some(op) = unary(name) {
        return Ok(Some(Evaluated::Vector(map_values(args.vector(0)?, op))));
    }
    if let Some(field) = date_field(name) {
        return Ok(Some(Evaluated::Vector(date(f, args, field)?)));
    }
    let steps = f.ctx.steps;
    let out = match name {
        "round" => {
            let v = args.vector(0)?;
            let to_nearest = if args.len() >= 2 {
                Some(args.scalar(1)?)
            } else {
                None
            };
            Evaluated::Vector(map_points(f, v, |step, x| {
                let n = to_nearest.map_or(1.0, |s| s.get(step).copied().unwrap_or(f64::NAN));
                // Multiplying by the inverse rounds more predictably than dividing.
                let inverse = 1.0 / n;
                Some((x * inverse + 0.5).floor() / inverse)
            }))
        }
        "clamp" => {
            let v = args.vector(0)?;
            let (lo, hi) = (args.scalar(1)?, args.scalar(2)?);
            Evaluated::Vector(clamp(f, v, |i| at(lo, i), |i| at(hi, i)))
        }
        "clamp_min" => {
            let v = args.vector(0)?;
            let lo = args.scalar(1)?;
            Evaluated::Vector(clamp(f, v, |i| at(lo, i), |_| f64::INFINITY))
        }
        "clamp_max" => {
            let v = args.vector(0)?;
            let hi = args.scalar(1)?;
            Evaluated::Vector(clamp(f, v, |_| f64::NEG_INFINITY, |i| at(hi, i)))
        }
        "timestamp" => {
            // `timestamp(selector)` is answered by the selector itself; any other argument's
            // samples carry the step time.
            let v = args.vector(0)?;
            Evaluated::Vector(map_series(v, |mut s| {
                s.drop_name = true;
                for p in &mut s.points {
                    p.v = p.t as f64 / 1000.0;
                }
                s
            }))
        }
        "vector" => {
            let v = args.scalar(0)?;
            let points = steps
                .iter()
                .zip(v.iter())
                .map(|(t, &v)| Sample::new(t, v))
                .collect();
            Evaluated::Vector(vec![StepSeries {
                labels: Labels::empty(),
                drop_name: false,
                points,
            }])
        }
        "scalar" => Evaluated::Scalar(scalar(f, &args.vector(0)?)),
        "time" => Evaluated::Scalar(steps.iter().map(|t| t as f64 / 1000.0).collect()),
        "pi" => Evaluated::Scalar(vec![std::f64::consts::PI; steps.len()]),
        "min_of" | "max_of" => {
            let (a, b) = (args.scalar(0)?, args.scalar(1)?);
            let op = if name == "min_of" { go_min } else { go_max };
            Evaluated::Scalar(a.iter().zip(b.iter()).map(|(&x, &y)| op(x, y)).collect())
        }
        "start" | "end" | "range" | "step" => {
            let q = f.ctx.query.query_steps;
            let v = match name {
                "start" => q.start as f64 / 1000.0,
                "end" => q.end as f64 / 1000.0,
                "range" => (q.end - q.start) as f64 / 1000.0,
                _ if q.start == q.end => 0.0,
                _ => q.step as f64 / 1000.0,
            };
            Evaluated::Scalar(vec![v; steps.len()])
        }
        // Functions of native histograms or of start timestamps, neither of which float
        // samples have: Prometheus returns nothing for float input.
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" | "start_timestamp" => {
            args.vector(0)?;
            Evaluated::Vector(Vec::new())
        }
        _ => return Ok(None),
    };
    Ok(Some(out))
}

fn at(v: &[f64], i: usize) -> f64 {
    v.get(i).copied().unwrap_or(f64::NAN)
}

/// The plain per-value functions.
fn unary(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "sgn" => |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        _ => return None,
    })
}

/// Applies `op(step, value)` to every point, dropping the name, the point where `op` returns
/// `None`, and series left without points.
fn map_points(
    f: &FnCtx<'_, '_>,
    v: Vec<StepSeries>,
    op: impl Fn(usize, f64) -> Option<f64> + Sync,
) -> Vec<StepSeries> {
    map_series(v, |mut s| {
        s.drop_name = true;
        s.points.retain_mut(|p| {
            let Some(step) = f.step_of(p.t) else {
                return false;
            };
            match op(step, p.v) {
                Some(v) => {
                    p.v = v;
                    true
                }
                None => false,
            }
        });
        s
    })
    .into_iter()
    .filter(|s| !s.points.is_empty())
    .collect()
}

/// `clamp` with per-step bounds; a step whose upper bound is below its lower bound has no
/// output.
fn clamp(
    f: &FnCtx<'_, '_>,
    v: Vec<StepSeries>,
    lo: impl Fn(usize) -> f64 + Sync,
    hi: impl Fn(usize) -> f64 + Sync,
) -> Vec<StepSeries> {
    map_points(f, v, |step, x| {
        let (lo, hi) = (lo(step), hi(step));
        (hi >= lo || lo.is_nan() || hi.is_nan()).then(|| go_max(lo, go_min(hi, x)))
    })
}

/// `scalar`: the single series' value at each step, NaN where there is not exactly one.
fn scalar(f: &FnCtx<'_, '_>, v: &[StepSeries]) -> Vec<f64> {
    let n = f.ctx.steps.len();
    let mut count = vec![0u32; n];
    let mut value = vec![f64::NAN; n];
    for s in v {
        for p in &s.points {
            if let Some(i) = f.step_of(p.t) {
                if let (Some(c), Some(x)) = (count.get_mut(i), value.get_mut(i)) {
                    *c += 1;
                    *x = p.v;
                }
            }
        }
    }
    count
        .iter()
        .zip(value)
        .map(|(&c, v)| if c == 1 { v } else { f64::NAN })
        .collect()
}

type DateField = fn(&Civil) -> f64;

fn date_field(name: &str) -> Option<DateField> {
    Some(match name {
        "year" => |c| c.year as f64,
        "month" => |c| f64::from(c.month),
        "day_of_month" => |c| f64::from(c.day),
        "day_of_year" => |c| f64::from(c.day_of_year),
        "day_of_week" => |c| f64::from(c.weekday),
        "days_in_month" => |c| f64::from(c.days_in_month()),
        "hour" => |c| f64::from(c.hour),
        "minute" => |c| f64::from(c.minute),
        _ => return None,
    })
}

/// A date function: of the step time without an argument (one series without labels), else of
/// each value read as Unix seconds (name dropped).
fn date(
    f: &FnCtx<'_, '_>,
    args: &mut Args,
    field: DateField,
) -> Result<Vec<StepSeries>, PromqlError> {
    if args.len() == 0 {
        let points = f
            .ctx
            .steps
            .iter()
            .map(|t| Sample::new(t, field(&Civil::from_unix(t / 1000))))
            .collect();
        return Ok(vec![StepSeries {
            labels: Labels::empty(),
            drop_name: false,
            points,
        }]);
    }
    Ok(map_values(args.vector(0)?, move |v| {
        field(&Civil::from_unix(go_float_to_i64(v)))
    }))
}

/// Applies `op` to every value, dropping the name.
fn map_values(v: Vec<StepSeries>, op: impl Fn(f64) -> f64 + Sync) -> Vec<StepSeries> {
    map_series(v, |mut s| {
        s.drop_name = true;
        for p in &mut s.points {
            p.v = op(p.v);
        }
        s
    })
}
