//! Binary operators: arithmetic, comparison (with `bool`), and the set operators, with
//! `on`/`ignoring` matching and `group_left`/`group_right`.
//!
//! Semantics are Prometheus's (`VectorBinop`, `VectorAnd/Or/Unless`, `VectorscalarBinop` in
//! its engine), but the work is organised by series instead of by step: matching signatures
//! are hashed and interned once per series, each output series is built by merging the point
//! arrays of its two operands, and output labels are computed once per output series. Errors
//! that Prometheus raises per step (duplicate series on the "one" side, ambiguous one-to-one
//! matches, colliding group_left results) are detected from point overlaps, and only when the
//! conflicting series actually coexist at a step; the message is then produced by replaying
//! Prometheus's logic at the first such step, so the text (and which pair it names) is the same.
//!
//! Metric names: arithmetic between vectors removes `__name__` (with `__type__`/`__unit__`) at
//! once, because the result labels are built anew; arithmetic with a scalar and `bool`
//! comparisons only set [`StepSeries::drop_name`] so that the name disappears when the value
//! leaves the engine (Prometheus 3's delayed name removal). A vector/vector comparison's result
//! carries the flag only with `bool`, whatever its operands carried (as upstream). `ignoring`
//! signatures never include the name; `on (__name__)` does.

pub(crate) mod ops;
mod set;
pub(crate) mod signature;
mod vector;

use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};
use rayon::prelude::*;
use vigil_model::Labels;

use self::ops::{elem_op, scalar_op, Op};
use self::signature::{LabelFilter, PARALLEL_MIN};
use super::{merge_same_labels, Ctx, Evaluated};
use crate::value::StepSeries;
use crate::PromqlError;

/// Applies the binary operator of `expr` to its evaluated operands.
///
/// # Errors
/// Many-to-many matching where one-to-one or many-to-one is required, colliding output
/// series, the experimental `fill` modifiers, the deadline.
pub(crate) fn binary(
    ctx: &Ctx<'_>,
    expr: &BinaryExpr,
    lhs: Evaluated,
    rhs: Evaluated,
) -> Result<Evaluated, PromqlError> {
    let op = Op::from_token(expr.op).ok_or_else(|| {
        PromqlError::Execution(format!(
            "binary operator {:?} is not supported",
            ops::token_text(expr.op)
        ))
    })?;
    let modifier = expr.modifier.as_ref();
    if let Some(m) = modifier {
        if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
            return Err(PromqlError::Execution(
                "the fill, fill_left and fill_right modifiers are experimental and not supported"
                    .to_owned(),
            ));
        }
    }
    let return_bool = modifier.is_some_and(|m| m.return_bool);
    match (lhs, rhs) {
        (Evaluated::Scalar(l), Evaluated::Scalar(r)) => Ok(Evaluated::Scalar(
            l.iter()
                .zip(&r)
                .map(|(&l, &r)| scalar_op(op, l, r))
                .collect(),
        )),
        (Evaluated::Vector(v), Evaluated::Scalar(s)) => {
            vector_scalar(ctx, op, v, &s, false, return_bool).map(Evaluated::Vector)
        }
        (Evaluated::Scalar(s), Evaluated::Vector(v)) => {
            vector_scalar(ctx, op, v, &s, true, return_bool).map(Evaluated::Vector)
        }
        (Evaluated::Vector(l), Evaluated::Vector(r)) => {
            let matching = Matching::new(modifier, op.is_set());
            let out = if op.is_set() {
                set::set_op(ctx, op, &matching, l, r)?
            } else {
                vector::vector_op(ctx, op, &matching, return_bool, l, r)?
            };
            merge_range_pieces(ctx, out).map(Evaluated::Vector)
        }
        (l, r) => Err(PromqlError::Execution(format!(
            "binary expression must contain only scalar and instant vector types, got {} and {}",
            kind(&l),
            kind(&r)
        ))),
    }
}

fn kind(v: &Evaluated) -> &'static str {
    match v {
        Evaluated::Scalar(_) => "scalar",
        Evaluated::String(_) => "string",
        Evaluated::Vector(_) => "instant vector",
    }
}

/// Which side's series may match several of the other side's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

/// How two vectors are matched, from the `on`/`ignoring` and `group_*` modifiers.
#[derive(Debug, Clone)]
pub(crate) struct Matching {
    /// `on (…)` rather than `ignoring (…)`.
    pub on: bool,
    /// The labels listed in `on`/`ignoring`, as written.
    pub names: Vec<String>,
    /// The labels that form the signature (`ignoring` always leaves out `__name__`).
    pub filter: LabelFilter,
    pub card: Card,
    /// Labels that `group_left`/`group_right` copy from the "one" side.
    pub include: Vec<String>,
}

impl Matching {
    fn new(modifier: Option<&BinModifier>, set_op: bool) -> Self {
        let (on, names): (bool, Vec<String>) = match modifier.and_then(|m| m.matching.as_ref()) {
            Some(LabelModifier::Include(ls)) => (true, ls.labels.clone()),
            Some(LabelModifier::Exclude(ls)) => (false, ls.labels.clone()),
            None => (false, Vec::new()),
        };
        let filter = if on {
            LabelFilter::on(names.iter().map(String::as_str))
        } else {
            LabelFilter::ignoring(names.iter().map(String::as_str))
        };
        let (card, include) = match modifier.map(|m| &m.card) {
            _ if set_op => (Card::ManyToMany, Vec::new()),
            Some(VectorMatchCardinality::ManyToOne(ls)) => (Card::ManyToOne, ls.labels.clone()),
            Some(VectorMatchCardinality::OneToMany(ls)) => (Card::OneToMany, ls.labels.clone()),
            Some(VectorMatchCardinality::ManyToMany) => (Card::ManyToMany, Vec::new()),
            Some(VectorMatchCardinality::OneToOne) | None => (Card::OneToOne, Vec::new()),
        };
        Matching {
            on,
            names,
            filter,
            card,
            include,
        }
    }
}

/// Vector and scalar (`swap`: the scalar is on the left). Labels are kept; arithmetic and
/// `bool` mark the name for dropping. A filtering comparison keeps the vector's value
/// whichever side it is on.
fn vector_scalar(
    ctx: &Ctx<'_>,
    op: Op,
    mut series: Vec<StepSeries>,
    scalar: &[f64],
    swap: bool,
    return_bool: bool,
) -> Result<Vec<StepSeries>, PromqlError> {
    if op.is_set() {
        return Err(PromqlError::Execution(
            "set operators are not allowed between a vector and a scalar".to_owned(),
        ));
    }
    let steps = ctx.steps;
    let drop = op.changes_schema() || return_bool;
    let apply = |s: &mut StepSeries| -> Result<(), PromqlError> {
        ctx.check_deadline()?;
        let mut ix = StepIndexer::new(steps);
        s.points.retain_mut(|p| {
            let Some(sv) = ix.index(p.t).and_then(|k| scalar.get(k)).copied() else {
                return false;
            };
            let (l, r) = if swap { (sv, p.v) } else { (p.v, sv) };
            let (mut v, mut keep) = elem_op(op, l, r);
            if op.is_comparison() {
                v = p.v;
            }
            if return_bool {
                v = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            p.v = v;
            keep
        });
        if drop {
            s.drop_name = true;
        }
        Ok(())
    };
    if series.len() >= PARALLEL_MIN {
        series.par_iter_mut().try_for_each(apply)?;
    } else {
        series.iter_mut().try_for_each(apply)?;
    }
    series.retain(|s| !s.points.is_empty());
    Ok(series)
}

/// Prometheus assembles a range result by output labels: series with equal labels become one,
/// and two of them at the same step are an error. Instant results (one step) are left as they
/// are, as Prometheus does, so that a later aggregation still sees both.
fn merge_range_pieces(
    ctx: &Ctx<'_>,
    pieces: Vec<StepSeries>,
) -> Result<Vec<StepSeries>, PromqlError> {
    if ctx.steps.len() <= 1 {
        return Ok(pieces);
    }
    merge_same_labels(pieces)
}

/// Step indices of one series' ascending point timestamps; divides only when a point does not
/// directly follow the previous one, which for dense series is never.
pub(crate) struct StepIndexer {
    steps: crate::value::Steps,
    len: usize,
    last: Option<(i64, usize)>,
}

impl StepIndexer {
    pub fn new(steps: crate::value::Steps) -> Self {
        StepIndexer {
            steps,
            len: steps.len(),
            last: None,
        }
    }

    #[inline]
    pub fn index(&mut self, t: i64) -> Option<usize> {
        if let Some((lt, lk)) = self.last {
            if lt.checked_add(self.steps.step) == Some(t) {
                let k = lk + 1;
                if k < self.len {
                    self.last = Some((t, k));
                    return Some(k);
                }
                return None;
            }
        }
        let k = self.steps.index(t)?;
        self.last = Some((t, k));
        Some(k)
    }
}

/// Prometheus's `MatchLabels`: the labels a match group is named by in error messages.
fn match_group_labels(m: &Matching, labels: &Labels) -> Labels {
    m.filter.project(labels)
}

#[cfg(test)]
pub(crate) mod test_util {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use vigil_model::{Labels, Sample};
    use vigil_storage::MemStore;

    use crate::eval::{Annotations, Ctx, QueryState};
    use crate::value::{StepSeries, Steps};

    /// Runs `f` with a context on `steps`; returns its result and the annotations it left.
    pub fn with_ctx_annotations<R>(
        steps: Steps,
        f: impl FnOnce(&Ctx<'_>) -> R,
    ) -> (R, Annotations) {
        let store = MemStore::new(0);
        let query = QueryState {
            store: &store,
            query_steps: steps,
            lookback_ms: 300_000,
            max_samples: usize::MAX,
            deadline: Instant::now() + Duration::from_secs(60),
            samples: AtomicUsize::new(0),
            loaded: AtomicUsize::new(0),
            annotations: Mutex::new(Annotations::default()),
            source: None,
            positions: Default::default(),
        };
        let ctx = Ctx {
            steps,
            query: &query,
        };
        let r = f(&ctx);
        let a = query
            .annotations
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default();
        (r, a)
    }

    pub fn with_ctx<R>(steps: Steps, f: impl FnOnce(&Ctx<'_>) -> R) -> R {
        with_ctx_annotations(steps, f).0
    }

    pub fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).expect("labels")
    }

    /// A series with values at steps `0, 1, …` (`None` = absent), on a grid starting at 0 with
    /// step 10.
    pub fn series(pairs: &[(&str, &str)], vals: &[Option<f64>]) -> StepSeries {
        StepSeries::new(
            labels(pairs),
            vals.iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| Sample::new(i as i64 * 10, v)))
                .collect(),
        )
    }

    pub fn grid(n: usize) -> Steps {
        Steps {
            start: 0,
            end: (n as i64 - 1) * 10,
            step: 10,
        }
    }

    pub fn values(s: &StepSeries, n: usize) -> Vec<Option<f64>> {
        (0..n)
            .map(|i| s.points.iter().find(|p| p.t == i as i64 * 10).map(|p| p.v))
            .collect()
    }
}
