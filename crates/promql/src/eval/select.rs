//! Selectors: reading storage once for the whole query span and sliding over the steps.

use std::time::{Duration, SystemTime};

use promql_parser::label::Matcher as PMatcher;
use promql_parser::parser::{AtModifier, Offset, VectorSelector};
use rayon::prelude::*;
use vigil_model::{is_stale_nan, Labels, Matcher, Sample, METRIC_NAME_LABEL};
use vigil_storage::{SeriesData, TimeRange};

use super::call::RangeArg;
use super::{Ctx, RangeSeries};
use crate::selector::storage_matchers;
use crate::value::StepSeries;
use crate::PromqlError;

/// Milliseconds of a parser duration, saturating.
pub(crate) fn duration_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Signed milliseconds of an `offset` modifier (0 when absent).
pub(crate) fn offset_ms(offset: Option<&Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => -duration_ms(d),
    }
}

/// The fixed evaluation time an `@` modifier pins, in milliseconds.
pub(crate) fn at_ms(ctx: &Ctx<'_>, at: Option<&AtModifier>) -> Option<i64> {
    let q = ctx.query.query_steps;
    match at? {
        AtModifier::Start => Some(q.start),
        AtModifier::End => Some(q.end),
        AtModifier::At(t) => Some(system_time_ms(*t)),
    }
}

fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => duration_ms(&d),
        Err(e) => -duration_ms(&e.duration()),
    }
}

/// The time each step of the grid reads at: the step time (or the `@` time) minus the offset.
pub(crate) fn eval_times(
    ctx: &Ctx<'_>,
    at: Option<&AtModifier>,
    offset: Option<&Offset>,
) -> Vec<i64> {
    let off = offset_ms(offset);
    let at = at_ms(ctx, at);
    ctx.steps
        .iter()
        .map(|t| at.unwrap_or(t).saturating_sub(off))
        .collect()
}

/// The selector's matchers as storage matchers: one list per `or` alternative.
fn matcher_sets(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, PromqlError> {
    let convert = |list: &[PMatcher]| {
        storage_matchers(vs.name.as_ref(), list).map_err(|e| PromqlError::Parse(e.to_string()))
    };
    if vs.matchers.or_matchers.is_empty() {
        Ok(vec![convert(&vs.matchers.matchers)?])
    } else {
        vs.matchers
            .or_matchers
            .iter()
            .map(|alt| convert(alt))
            .collect()
    }
}

/// Below this many candidate series a selector reads storage on the calling thread.
const PARALLEL_SERIES: usize = 512;

/// Reads the matching series with their samples in `[start, end]`, sorted by labels.
fn fetch(
    ctx: &Ctx<'_>,
    vs: &VectorSelector,
    start: i64,
    end: i64,
) -> Result<Vec<SeriesData>, PromqlError> {
    if start > end {
        // Possible at the edges of time, where offsets and ranges saturate.
        return Ok(Vec::new());
    }
    let sets = matcher_sets(vs)?;
    let range = TimeRange::new(start, end);
    let mut out: Vec<SeriesData> = Vec::new();
    for matchers in &sets {
        // Decoding is most of a selector's cost: read the store's parts on all cores, in order.
        let parts = ctx
            .query
            .store
            .select_parts(matchers, range, rayon::current_num_threads())?;
        let candidates: usize = parts
            .iter()
            .map(|p| p.size_hint().1.unwrap_or(usize::MAX))
            .fold(0, usize::saturating_add);
        let read_part = |part: vigil_storage::SeriesSet<'_>| {
            let mut got = Vec::new();
            for (i, series) in part.enumerate() {
                if i % 1024 == 1023 {
                    ctx.check_deadline()?;
                }
                got.push(series?);
            }
            Ok::<_, PromqlError>(got)
        };
        // Handing a few series to other threads costs more than reading them here.
        let read: Vec<Result<Vec<SeriesData>, PromqlError>> = if candidates < PARALLEL_SERIES {
            parts.into_iter().map(read_part).collect()
        } else {
            parts.into_par_iter().map(read_part).collect()
        };
        for part in read {
            for series in part? {
                ctx.query
                    .loaded
                    .fetch_add(series.samples.len(), std::sync::atomic::Ordering::Relaxed);
                out.push(series);
            }
        }
        ctx.check_deadline()?;
    }
    if sets.len() > 1 {
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out.dedup_by(|a, b| a.labels == b.labels);
    }
    Ok(out)
}

/// An instant-vector selector over the grid: at each step, the newest sample in
/// `(t - lookback, t]` unless it is a staleness marker. With `timestamps`, the value is the
/// sample's own timestamp in seconds (what `timestamp(selector)` returns).
pub(crate) fn select_vector(
    ctx: &Ctx<'_>,
    vs: &VectorSelector,
    timestamps: bool,
) -> Result<Vec<StepSeries>, PromqlError> {
    let times = eval_times(ctx, vs.at.as_ref(), vs.offset.as_ref());
    let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
        return Ok(Vec::new());
    };
    let lookback = ctx.query.lookback_ms;
    let data = fetch(
        ctx,
        vs,
        first.saturating_sub(lookback).saturating_add(1),
        last,
    )?;
    let mut out = Vec::with_capacity(data.len());
    for (n, series) in data.into_iter().enumerate() {
        if n % 1024 == 1023 {
            ctx.check_deadline()?;
        }
        let samples = &series.samples;
        let mut points = Vec::new();
        let mut j = 0usize; // samples[..j] have t <= the current eval time
        for (i, &te) in times.iter().enumerate() {
            if i > 0 && times.get(i - 1).is_some_and(|&prev| te < prev) {
                j = 0;
            }
            while samples.get(j).is_some_and(|s| s.t <= te) {
                j += 1;
            }
            let Some(s) = j.checked_sub(1).and_then(|k| samples.get(k)) else {
                continue;
            };
            if s.t <= te.saturating_sub(lookback) || is_stale_nan(s.v) {
                continue;
            }
            let v = if timestamps { s.t as f64 / 1000.0 } else { s.v };
            points.push(Sample {
                t: ctx.steps.ts(i),
                v,
            });
        }
        if points.is_empty() {
            continue;
        }
        ctx.add_samples(points.len())?;
        out.push(StepSeries {
            labels: series.labels,
            drop_name: timestamps,
            points,
        });
    }
    Ok(out)
}

/// A range selector `sel[range]` over the grid.
pub(crate) fn select_range(
    ctx: &Ctx<'_>,
    vs: &VectorSelector,
    range: &Duration,
) -> Result<RangeArg, PromqlError> {
    let range_ms = duration_ms(range);
    let ends = eval_times(ctx, vs.at.as_ref(), vs.offset.as_ref());
    let (Some(&first), Some(&last)) = (ends.iter().min(), ends.iter().max()) else {
        return Ok(RangeArg {
            series: Vec::new(),
            range_ms,
            ends,
        });
    };
    let data = fetch(
        ctx,
        vs,
        first.saturating_sub(range_ms).saturating_add(1),
        last,
    )?;
    let mut series = Vec::with_capacity(data.len());
    for s in data {
        let samples: Vec<Sample> = s
            .samples
            .into_iter()
            .filter(|s| !is_stale_nan(s.v))
            .collect();
        if samples.is_empty() {
            continue;
        }
        ctx.add_samples(samples.len())?;
        series.push(RangeSeries {
            labels: s.labels,
            samples,
        });
    }
    Ok(RangeArg {
        series,
        range_ms,
        ends,
    })
}

/// The samples of `samples` in the window ending at `end` (inclusive) of length `range_ms`
/// (exclusive start), as a sub-slice.
pub(crate) fn window(samples: &[Sample], end: i64, range_ms: i64) -> &[Sample] {
    let start = end.saturating_sub(range_ms);
    let lo = samples.partition_point(|s| s.t <= start);
    let hi = samples.partition_point(|s| s.t <= end);
    samples.get(lo..hi.max(lo)).unwrap_or(&[])
}

/// The metric name and the metadata labels Prometheus derives from it (`__type__`, `__unit__`),
/// which go wherever the name goes.
pub(crate) fn is_metadata_label(name: &str) -> bool {
    matches!(name, METRIC_NAME_LABEL | "__type__" | "__unit__")
}

/// Labels with the metric name removed, and with it the other metadata labels.
pub(crate) fn drop_metric_name(labels: Labels) -> Labels {
    if !labels.iter().any(|l| is_metadata_label(&l.name)) {
        return labels;
    }
    let kept = labels
        .into_vec()
        .into_iter()
        .filter(|l| !is_metadata_label(&l.name))
        .collect();
    Labels::from_sorted_unchecked(kept)
}
