//! `histogram_quantile`, `histogram_quantiles` and `histogram_fraction` over classic
//! histograms: series that differ only in their `le` label form one histogram (the metric name
//! is part of the identity), evaluated at each step from the buckets present at that step.
//! Results drop the name and the `le` label.

use std::collections::{BTreeMap, HashMap};

use vigil_model::Labels;

use super::over_time::invalid_quantile;
use super::{map_series, Args, FnCtx};
use crate::eval::Evaluated;
use crate::math::buckets::{bucket_fraction, bucket_quantile, Bucket, ForcedMonotonicity};
use crate::math::date;
use crate::value::StepSeries;
use crate::PromqlError;

const BUCKET_LABEL: &str = "le";

/// Dispatches the classic-histogram functions; `None` for other names.
pub(super) fn call(
    f: &FnCtx<'_, '_>,
    name: &str,
    args: &mut Args,
) -> Result<Option<Evaluated>, PromqlError> {
    let out = match name {
        "histogram_quantile" => {
            let q = args.scalar(0)?.to_vec();
            warn_invalid_quantiles(f, &q, 0);
            let input = args.vector(1)?;
            quantiles(f, &input, 1, &[(q, None)])?
        }
        "histogram_quantiles" => {
            let label = args.string(1)?.to_owned();
            let mut qs = Vec::new();
            for i in 2..args.len() {
                let q = args.scalar(i)?.to_vec();
                warn_invalid_quantiles(f, &q, i);
                qs.push((q, Some(label.clone())));
            }
            let input = args.vector(0)?;
            quantiles(f, &input, 0, &qs)?
        }
        "histogram_fraction" => {
            let lower = args.scalar(0)?.to_vec();
            let upper = args.scalar(1)?.to_vec();
            let input = args.vector(2)?;
            let groups = group_buckets(f, &input, 2)?;
            let results = map_series(groups, |g| {
                let mut points = Vec::new();
                for_each_step(&g, |step, t, buckets| {
                    let lo = lower.get(step).copied().unwrap_or(f64::NAN);
                    let hi = upper.get(step).copied().unwrap_or(f64::NAN);
                    points.push(vigil_model::Sample::new(
                        t,
                        bucket_fraction(lo, hi, buckets),
                    ));
                });
                StepSeries {
                    labels: g.labels,
                    drop_name: true,
                    points,
                }
            });
            results
                .into_iter()
                .filter(|s| !s.points.is_empty())
                .collect()
        }
        _ => return Ok(None),
    };
    Ok(Some(Evaluated::Vector(out)))
}

fn warn_invalid_quantiles(f: &FnCtx<'_, '_>, q: &[f64], arg: usize) {
    let mut seen = Vec::new();
    for &x in q {
        if (x.is_nan() || !(0.0..=1.0).contains(&x)) && !seen.contains(&x.to_bits()) {
            seen.push(x.to_bits());
            f.ctx.warn(invalid_quantile(f, x, arg));
        }
    }
}

/// One classic histogram: its labels without `le`, and its bucket series' points by step.
struct Group {
    labels: Labels,
    /// `(step, timestamp, upper bound, count)`, ordered by step, then by input order.
    points: Vec<(usize, i64, f64, f64)>,
}

/// Groups the input's series into histograms, warning about series without a usable `le`.
fn group_buckets(
    f: &FnCtx<'_, '_>,
    input: &[StepSeries],
    arg: usize,
) -> Result<Vec<Group>, PromqlError> {
    f.ctx.check_deadline()?;
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for s in input.iter().filter(|s| !s.points.is_empty()) {
        let le = s.labels.get(BUCKET_LABEL).unwrap_or("");
        let Some(upper) = parse_go_float(le) else {
            let mut msg = format!(
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of {le:?}"
            );
            if let Some(name) = s.labels.metric_name() {
                msg.push_str(&format!(" for metric name {name:?}"));
            }
            f.ctx.warn(f.at_arg(msg, arg));
            continue;
        };
        let mut b = s.labels.builder();
        b.del(BUCKET_LABEL);
        let key = b.build();
        let gi = match index.get(&key) {
            Some(&gi) => gi,
            None => {
                index.insert(key.clone(), groups.len());
                groups.push(Group {
                    labels: key,
                    points: Vec::new(),
                });
                groups.len() - 1
            }
        };
        if let Some(g) = groups.get_mut(gi) {
            for p in &s.points {
                if let Some(step) = f.step_of(p.t) {
                    g.points.push((step, p.t, upper, p.v));
                }
            }
        }
    }
    for g in &mut groups {
        g.points.sort_by_key(|p| p.0);
    }
    f.ctx.check_deadline()?;
    Ok(groups)
}

/// Calls `visit(step, timestamp, buckets)` for each step at which the group has buckets.
fn for_each_step(g: &Group, mut visit: impl FnMut(usize, i64, &mut Vec<Bucket>)) {
    let mut buckets: Vec<Bucket> = Vec::new();
    let mut i = 0;
    while let Some(&(step, t, _, _)) = g.points.get(i) {
        buckets.clear();
        while let Some(&(s, _, upper, count)) = g.points.get(i) {
            if s != step {
                break;
            }
            buckets.push(Bucket { upper, count });
            i += 1;
        }
        visit(step, t, &mut buckets);
    }
}

/// Merged "fixed for monotonicity" details of one metric name.
#[derive(Debug, Clone, Copy)]
struct Forced {
    min_ts: i64,
    max_ts: i64,
    fix: ForcedMonotonicity,
    count: usize,
}

impl Forced {
    fn merge(&mut self, t: i64, fix: ForcedMonotonicity) {
        self.min_ts = self.min_ts.min(t);
        self.max_ts = self.max_ts.max(t);
        self.fix.min_bucket = self.fix.min_bucket.min(fix.min_bucket);
        self.fix.max_bucket = self.fix.max_bucket.max(fix.max_bucket);
        self.fix.max_diff = self.fix.max_diff.max(fix.max_diff);
        self.count += 1;
    }
}

/// `histogram_quantile` (one quantile, no label) and `histogram_quantiles` (a label per
/// quantile): `qs` holds each quantile's per-step values and the label to record it in.
fn quantiles(
    f: &FnCtx<'_, '_>,
    input: &[StepSeries],
    arg: usize,
    qs: &[(Vec<f64>, Option<String>)],
) -> Result<Vec<StepSeries>, PromqlError> {
    let groups = group_buckets(f, input, arg)?;
    type GroupResult = (Vec<StepSeries>, Vec<(i64, ForcedMonotonicity)>);
    let results: Vec<GroupResult> = map_series(groups, |g| {
        let mut fixes = Vec::new();
        // Output series of this group, keyed by the quantile label's value.
        let mut series: Vec<StepSeries> = Vec::new();
        let mut by_label: HashMap<Option<String>, usize> = HashMap::new();
        // `bucket_quantile` sorts and levels its input: each quantile gets a fresh copy.
        let mut scratch: Vec<Bucket> = Vec::new();
        for_each_step(&g, |step, t, buckets| {
            for (q, label) in qs {
                let q = q.get(step).copied().unwrap_or(f64::NAN);
                scratch.clear();
                scratch.extend_from_slice(buckets);
                let (v, forced) = bucket_quantile(q, &mut scratch);
                if let Some(fix) = forced {
                    fixes.push((t, fix));
                }
                let value = label
                    .as_ref()
                    .map(|_| vigil_model::go_format_openmetrics(q));
                let idx = *by_label.entry(value.clone()).or_insert_with(|| {
                    let labels = match (label, &value) {
                        (Some(l), Some(v)) => {
                            let mut lb = g.labels.builder();
                            lb.set(l, v);
                            lb.build()
                        }
                        _ => g.labels.clone(),
                    };
                    series.push(StepSeries {
                        labels,
                        drop_name: true,
                        points: Vec::new(),
                    });
                    series.len() - 1
                });
                if let Some(s) = series.get_mut(idx) {
                    s.points.push(vigil_model::Sample::new(t, v));
                }
            }
        });
        (series, fixes)
    });
    // Prometheus lists all groups for the first quantile, then for the next one, ….
    let mut out = Vec::new();
    let mut forced: BTreeMap<String, Forced> = BTreeMap::new();
    let mut per_group: Vec<Vec<StepSeries>> = Vec::with_capacity(results.len());
    for (group_series, fixes) in results {
        if let Some(name) = group_series
            .first()
            .map(|s| s.labels.metric_name().unwrap_or("").to_owned())
        {
            for (t, fix) in fixes {
                forced
                    .entry(name.clone())
                    .and_modify(|e| e.merge(t, fix))
                    .or_insert(Forced {
                        min_ts: t,
                        max_ts: t,
                        fix,
                        count: 1,
                    });
            }
        }
        per_group.push(group_series);
    }
    let width = per_group.iter().map(Vec::len).max().unwrap_or(0);
    for k in 0..width {
        for g in &mut per_group {
            if let Some(s) = g.get_mut(k) {
                out.push(std::mem::replace(
                    s,
                    StepSeries {
                        labels: Labels::empty(),
                        drop_name: true,
                        points: Vec::new(),
                    },
                ));
            }
        }
    }
    for (name, e) in forced {
        let mut msg = "PromQL info: input to histogram_quantile needed to be fixed for monotonicity \
                       (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)"
            .to_owned();
        if !name.is_empty() {
            msg.push_str(&format!(" for metric name {name:?}"));
        }
        msg.push_str(&format!(
            ", from buckets {} to {}, with a max diff of {}, over {} samples from {} to {}",
            vigil_model::go_format_g(e.fix.min_bucket),
            vigil_model::go_format_g(e.fix.max_bucket),
            vigil_model::go_format_g_prec(e.fix.max_diff, Some(2)),
            e.count,
            date::rfc3339(e.min_ts.div_euclid(1000)),
            date::rfc3339(e.max_ts.div_euclid(1000)),
        ));
        f.ctx.info(f.at_arg(msg, arg));
    }
    f.ctx.add_points(&out)?;
    Ok(out.into_iter().filter(|s| !s.points.is_empty()).collect())
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms bucket labels use: decimal and exponent
/// notation, an optional sign, `Inf`/`Infinity`/`NaN` in any case, and hexadecimal floats.
pub(super) fn parse_go_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains(char::is_whitespace) {
        return None;
    }
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    parse_hex_float(s)
}

/// `0x1.8p3`-style literals (Go accepts them; Rust's parser does not).
fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let rest = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let (mantissa, exp) = match rest.find(['p', 'P']) {
        Some(i) => (rest.get(..i)?, rest.get(i + 1..)?.parse::<i32>().ok()?),
        None => return None,
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0.0f64;
    for c in int_part.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_forms() {
        assert_eq!(parse_go_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_float("inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_float(".2"), Some(0.2));
        assert_eq!(parse_go_float("1e3"), Some(1000.0));
        assert_eq!(parse_go_float("0x1p3"), Some(8.0));
        assert!(parse_go_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_go_float(""), None);
        assert_eq!(parse_go_float("Hello World"), None);
        assert_eq!(parse_go_float(" 1"), None);
    }
}
