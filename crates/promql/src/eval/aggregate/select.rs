//! `topk`, `bottomk`, `limitk`, `limit_ratio`: at each step, a subset of each group's series
//! passes through unchanged.
//!
//! Per step and group the candidates go through a heap exactly as in Prometheus (members in
//! input order, Go's heap algorithm), which decides which of equal values win. An instant query
//! returns groups in order of first appearance, each sorted (`topk` descending, `bottomk`
//! ascending, the limits in heap order); a range query returns each selected input series with
//! the points at which it was selected.

mod gosort;

use rayon::prelude::*;
use vigil_model::Sample;

use self::gosort::{go_sort, heap_fix, heap_push};
use super::{plan, points_in, Grouping, Unit};
use crate::eval::binary::signature::prometheus_hash;
use crate::eval::Ctx;
use crate::value::StepSeries;
use crate::PromqlError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SelectOp {
    TopK,
    BottomK,
    LimitK,
    LimitRatio,
}

/// A candidate: value and input series index.
type Cand = (f64, u32);

/// Prometheus's `vectorByValueHeap` order: NaN below everything.
fn by_value(a: &Cand, b: &Cand) -> bool {
    a.0.is_nan() || a.0 < b.0
}

/// `vectorByReverseValueHeap`: NaN still first, otherwise descending.
fn by_reverse_value(a: &Cand, b: &Cand) -> bool {
    a.0.is_nan() || a.0 > b.0
}

/// Whether `limit_ratio(r)` keeps a series whose hash-derived offset is `offset`.
fn ratio_keeps(r: f64, offset: f64) -> bool {
    (r >= 0.0 && offset < r) || (r < 0.0 && offset >= 1.0 + r)
}

/// The offset in [0, 1] of a series for `limit_ratio`: its Prometheus hash over 2^64.
fn ratio_offset(s: &StepSeries, buf: &mut Vec<u8>) -> f64 {
    // float64(math.MaxUint64) is 2^64.
    prometheus_hash(&s.labels, buf) as f64 / 18_446_744_073_709_551_616.0
}

/// One selected point: input series, step timestamp, value.
struct Emit {
    m: u32,
    t: i64,
    v: f64,
}

struct Job<'a> {
    ctx: &'a Ctx<'a>,
    op: SelectOp,
    grouping: &'a Grouping,
    input: &'a [StepSeries],
    param: &'a [f64],
    offsets: &'a [f64],
}

impl Job<'_> {
    fn run_unit(&self, unit: Unit) -> Result<Vec<Emit>, PromqlError> {
        self.ctx.check_deadline()?;
        let members = self.grouping.groups.members(unit.group);
        let series: Vec<&[Sample]> = members
            .iter()
            .filter_map(|&m| self.input.get(usize::try_from(m).ok()?))
            .map(|s| points_in(self.ctx, s, unit.k0, unit.k1))
            .collect();
        let mut cursors = vec![0usize; series.len()];
        let mut heap: Vec<Cand> = Vec::new();
        let mut out = Vec::new();
        let n_input = i64::try_from(self.input.len()).unwrap_or(i64::MAX);
        for k in unit.k0..unit.k1 {
            if (k - unit.k0) % 1024 == 1023 {
                self.ctx.check_deadline()?;
            }
            let t = self.ctx.steps.ts(k);
            let p = self.param.get(k).copied().unwrap_or(f64::NAN);
            // Go converts the parameter to int64 by truncation; NaN was rejected up front.
            let limit = (p as i64).min(n_input);
            let ratio = p.clamp(-1.0, 1.0);
            let skip = match self.op {
                SelectOp::LimitRatio => p == 0.0,
                _ => limit < 1,
            };
            let kk = usize::try_from(limit).unwrap_or(0);
            heap.clear();
            for ((pts, cur), &m) in series.iter().zip(cursors.iter_mut()).zip(members) {
                while pts.get(*cur).is_some_and(|s| s.t < t) {
                    *cur += 1;
                }
                let Some(s) = pts.get(*cur).filter(|s| s.t == t) else {
                    continue;
                };
                *cur += 1;
                if skip {
                    continue;
                }
                let c = (s.v, m);
                match self.op {
                    SelectOp::TopK => {
                        if heap.len() < kk {
                            heap_push(&mut heap, c, &by_value);
                        } else if let Some(top) = heap.first_mut() {
                            if top.0 < c.0 || (top.0.is_nan() && !c.0.is_nan()) {
                                *top = c;
                                if kk > 1 {
                                    heap_fix(&mut heap, 0, &by_value);
                                }
                            }
                        }
                    }
                    SelectOp::BottomK => {
                        if heap.len() < kk {
                            heap_push(&mut heap, c, &by_reverse_value);
                        } else if let Some(top) = heap.first_mut() {
                            if top.0 > c.0 || (top.0.is_nan() && !c.0.is_nan()) {
                                *top = c;
                                if kk > 1 {
                                    heap_fix(&mut heap, 0, &by_reverse_value);
                                }
                            }
                        }
                    }
                    SelectOp::LimitK => {
                        if heap.len() < kk {
                            heap_push(&mut heap, c, &by_value);
                        }
                    }
                    SelectOp::LimitRatio => {
                        let offset = usize::try_from(m)
                            .ok()
                            .and_then(|m| self.offsets.get(m))
                            .copied()
                            .unwrap_or(1.0);
                        if ratio_keeps(ratio, offset) {
                            heap_push(&mut heap, c, &by_value);
                        }
                    }
                }
            }
            match self.op {
                SelectOp::TopK => go_sort(&mut heap, |a, b| by_value(b, a)),
                SelectOp::BottomK => go_sort(&mut heap, |a, b| by_reverse_value(b, a)),
                SelectOp::LimitK | SelectOp::LimitRatio => {}
            }
            out.extend(heap.iter().map(|&(v, m)| Emit { m, t, v }));
        }
        Ok(out)
    }
}

pub(super) fn select(
    ctx: &Ctx<'_>,
    op: SelectOp,
    grouping: &Grouping,
    param: &[f64],
    mut input: Vec<StepSeries>,
) -> Result<Vec<StepSeries>, PromqlError> {
    let offsets: Vec<f64> = if op == SelectOp::LimitRatio {
        if input.len() >= super::PARALLEL_MIN {
            input
                .par_iter()
                .map_init(Vec::new, |buf, s| ratio_offset(s, buf))
                .collect()
        } else {
            let mut buf = Vec::new();
            input.iter().map(|s| ratio_offset(s, &mut buf)).collect()
        }
    } else {
        Vec::new()
    };
    let (units, parallel) = plan(ctx, grouping, &input);
    let job = Job {
        ctx,
        op,
        grouping,
        input: &input,
        param,
        offsets: &offsets,
    };
    let emits: Vec<Vec<Emit>> = if parallel {
        units
            .par_iter()
            .map(|u| job.run_unit(*u))
            .collect::<Result<_, _>>()?
    } else {
        units
            .iter()
            .map(|u| job.run_unit(*u))
            .collect::<Result<_, _>>()?
    };

    ctx.add_samples(emits.iter().map(Vec::len).sum())?;
    if ctx.steps.len() == 1 {
        // One step: each input series is selected at most once, so its labels can move.
        return Ok(emits
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let s = input.get_mut(usize::try_from(e.m).ok()?)?;
                Some(StepSeries {
                    labels: std::mem::take(&mut s.labels),
                    drop_name: s.drop_name,
                    points: vec![Sample::new(e.t, e.v)],
                })
            })
            .collect());
    }
    let mut points: Vec<Vec<Sample>> = vec![Vec::new(); input.len()];
    for e in emits.into_iter().flatten() {
        if let Some(p) = usize::try_from(e.m).ok().and_then(|m| points.get_mut(m)) {
            p.push(Sample::new(e.t, e.v));
        }
    }
    Ok(input
        .iter_mut()
        .zip(points)
        .filter(|(_, p)| !p.is_empty())
        .map(|(s, p)| StepSeries {
            labels: std::mem::take(&mut s.labels),
            drop_name: s.drop_name,
            points: p,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_complements() {
        for off in [0.0, 0.19, 0.2, 0.5, 0.79, 0.8, 0.999] {
            assert_ne!(ratio_keeps(0.2, off), ratio_keeps(-0.8, off), "{off}");
        }
        assert!(ratio_keeps(1.0, 0.999));
        assert!(ratio_keeps(-1.0, 0.0));
    }

    #[test]
    fn nan_sorts_away_from_the_top() {
        let mut v: Vec<Cand> = vec![(100.0, 0), (f64::NAN, 1), (200.0, 2)];
        go_sort(&mut v, |a, b| by_value(b, a));
        let order: Vec<u32> = v.iter().map(|c| c.1).collect();
        assert_eq!(order, [2, 0, 1]);
    }
}
