//! Aggregations that fold each group into one value per step: sum, avg, min, max, count,
//! group, stddev, stdvar, quantile.
//!
//! A unit (one group, a range of steps) keeps one accumulator per step in scratch memory and
//! feeds it the group's members in input order, point by point; only the steps actually touched
//! are finalised and reset, so sparse groups cost their points, not the grid.

use crate::math::kahan::kahan_inc;
use crate::math::stats::quantile;
use rayon::prelude::*;
use vigil_model::Sample;

use super::{plan, points_in, Grouping, Unit};
use crate::eval::binary::signature::LabelFilter;
use crate::eval::binary::StepIndexer;
use crate::eval::Ctx;
use crate::value::StepSeries;
use crate::PromqlError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FoldOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
    Stddev,
    Stdvar,
    Quantile,
}

/// State of one group at one step.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    seen: bool,
    /// Some member at this step had its name marked for dropping.
    drop: bool,
    /// `avg` switched to the incremental mean because the plain sum would overflow.
    incremental: bool,
    value: f64,
    /// Kahan compensation.
    c: f64,
    mean: f64,
    count: f64,
}

impl Acc {
    fn first(op: FoldOp, f: f64, drop: bool) -> Acc {
        let value = match op {
            FoldOp::Stddev | FoldOp::Stdvar if f.is_nan() || f.is_infinite() => f64::NAN,
            FoldOp::Stddev | FoldOp::Stdvar => 0.0,
            FoldOp::Group => 1.0,
            _ => f,
        };
        Acc {
            seen: true,
            drop,
            incremental: false,
            value,
            c: 0.0,
            mean: f,
            count: 1.0,
        }
    }

    #[inline]
    fn add(&mut self, op: FoldOp, f: f64, drop: bool) {
        self.drop |= drop;
        match op {
            FoldOp::Sum => (self.value, self.c) = kahan_inc(f, self.value, self.c),
            FoldOp::Avg => {
                self.count += 1.0;
                if !self.incremental {
                    let (v, c) = kahan_inc(f, self.value, self.c);
                    if !v.is_infinite() {
                        self.value = v;
                        self.c = c;
                        return;
                    }
                    // The sum would overflow: continue with the incremental mean.
                    self.incremental = true;
                    self.mean = self.value / (self.count - 1.0);
                    self.c /= self.count - 1.0;
                }
                let q = (self.count - 1.0) / self.count;
                (self.mean, self.c) = kahan_inc(f / self.count, q * self.mean, q * self.c);
            }
            FoldOp::Max => {
                if self.value < f || self.value.is_nan() {
                    self.value = f;
                }
            }
            FoldOp::Min => {
                if self.value > f || self.value.is_nan() {
                    self.value = f;
                }
            }
            FoldOp::Count => self.count += 1.0,
            FoldOp::Stddev | FoldOp::Stdvar => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
            FoldOp::Group | FoldOp::Quantile => {}
        }
    }

    fn result(&self, op: FoldOp) -> f64 {
        match op {
            FoldOp::Sum => self.value + self.c,
            FoldOp::Avg if self.incremental => self.mean + self.c,
            FoldOp::Avg => self.value / self.count + self.c / self.count,
            FoldOp::Count => self.count,
            FoldOp::Stdvar => self.value / self.count,
            FoldOp::Stddev => (self.value / self.count).sqrt(),
            _ => self.value,
        }
    }
}

#[derive(Default)]
struct Scratch {
    acc: Vec<Acc>,
    values: Vec<Vec<f64>>,
    touched: Vec<usize>,
}

struct UnitOut {
    points: Vec<Sample>,
    /// Name-drop flag at the unit's last output step.
    last_drop: bool,
}

fn run_unit(
    ctx: &Ctx<'_>,
    op: FoldOp,
    grouping: &Grouping,
    input: &[StepSeries],
    q: &[f64],
    unit: Unit,
    sc: &mut Scratch,
) -> Result<UnitOut, PromqlError> {
    let len = unit.k1 - unit.k0;
    if sc.acc.len() < len {
        sc.acc.resize(len, Acc::default());
    }
    if op == FoldOp::Quantile && sc.values.len() < len {
        sc.values.resize_with(len, Vec::new);
    }
    sc.touched.clear();
    let steps = ctx.steps;
    for &m in grouping.groups.members(unit.group) {
        let Some(s) = usize::try_from(m).ok().and_then(|m| input.get(m)) else {
            continue;
        };
        ctx.check_deadline()?;
        let mut ix = StepIndexer::new(steps);
        for p in points_in(ctx, s, unit.k0, unit.k1) {
            let Some(local) = ix.index(p.t).and_then(|k| k.checked_sub(unit.k0)) else {
                continue;
            };
            let Some(acc) = sc.acc.get_mut(local) else {
                continue;
            };
            if acc.seen {
                acc.add(op, p.v, s.drop_name);
            } else {
                *acc = Acc::first(op, p.v, s.drop_name);
                sc.touched.push(local);
                if op == FoldOp::Quantile {
                    if let Some(v) = sc.values.get_mut(local) {
                        v.clear();
                    }
                }
            }
            if op == FoldOp::Quantile {
                if let Some(v) = sc.values.get_mut(local) {
                    v.push(p.v);
                }
            }
        }
    }
    if !sc.touched.is_sorted() {
        sc.touched.sort_unstable();
    }
    let mut points = Vec::with_capacity(sc.touched.len());
    let mut last_drop = false;
    for &local in &sc.touched {
        let Some(acc) = sc.acc.get_mut(local) else {
            continue;
        };
        acc.seen = false;
        let k = unit.k0 + local;
        let v = if op == FoldOp::Quantile {
            let qk = q.get(k).copied().unwrap_or(f64::NAN);
            sc.values
                .get_mut(local)
                .map_or(f64::NAN, |vals| quantile(qk, vals))
        } else {
            acc.result(op)
        };
        points.push(Sample::new(steps.ts(k), v));
        last_drop = acc.drop;
    }
    Ok(UnitOut { points, last_drop })
}

/// Folds every group; output series in order of their groups' first appearance, groups
/// without any point left out.
pub(super) fn fold(
    ctx: &Ctx<'_>,
    op: FoldOp,
    grouping: &Grouping,
    filter: &LabelFilter,
    input: &[StepSeries],
    q: &[f64],
) -> Result<Vec<StepSeries>, PromqlError> {
    let (units, parallel) = plan(ctx, grouping, input);
    let outs: Vec<UnitOut> = if parallel {
        units
            .par_iter()
            .map_init(Scratch::default, |sc, u| {
                run_unit(ctx, op, grouping, input, q, *u, sc)
            })
            .collect::<Result<_, _>>()?
    } else {
        let mut sc = Scratch::default();
        units
            .iter()
            .map(|u| run_unit(ctx, op, grouping, input, q, *u, &mut sc))
            .collect::<Result<_, _>>()?
    };
    let mut result: Vec<StepSeries> = Vec::new();
    let mut flush = |g: u32, points: Vec<Sample>, drop_name: bool| {
        if !points.is_empty() {
            result.push(StepSeries {
                labels: grouping.labels(g, filter, input),
                drop_name,
                points,
            });
        }
    };
    let mut current: Option<(u32, Vec<Sample>, bool)> = None;
    for (unit, out) in units.iter().zip(outs) {
        match current.as_mut() {
            Some((g, points, drop)) if *g == unit.group => {
                if !out.points.is_empty() {
                    *drop = out.last_drop;
                    points.extend(out.points);
                }
            }
            _ => {
                if let Some((g, points, drop)) = current.take() {
                    flush(g, points, drop);
                }
                current = Some((unit.group, out.points, out.last_drop));
            }
        }
    }
    if let Some((g, points, drop)) = current.take() {
        flush(g, points, drop);
    }
    ctx.add_points(&result)?;
    Ok(result)
}
