//! The evaluator: walks a parsed expression and computes it for every step of the grid at once.
//!
//! Each node returns an [`Evaluated`]: scalars as one value per step, instant vectors as
//! [`StepSeries`] (labels once, a point per step where present), range vectors as raw samples
//! per series. Selectors read storage once for the whole query range and then slide over the
//! steps; operators and aggregations work on whole series, so labels are hashed once per series
//! instead of once per step.

pub(crate) mod aggregate;
pub(crate) mod binary;
pub(crate) mod call;
pub(crate) mod positions;
pub(crate) mod select;

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use promql_parser::parser::value::ValueType;
use promql_parser::parser::{Call, Expr, SubqueryExpr};
use vigil_model::{Labels, Sample};
use vigil_storage::MetricSelect;

use self::binary::signature::{hash_all, IdMap, LabelFilter};
use self::call::{Arg, RangeArg};
use crate::value::{InstantSample, Series, StepSeries, Steps, Value};
use crate::PromqlError;

/// A node's value over the step grid.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Evaluated {
    /// One value per step (`len() == steps.len()`).
    Scalar(Vec<f64>),
    String(String),
    Vector(Vec<StepSeries>),
}

/// Raw samples of one series for a range argument, covering every step's window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RangeSeries {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// Warnings and infos collected while evaluating, as Prometheus's API reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    pub warnings: BTreeSet<String>,
    pub infos: BTreeSet<String>,
}

/// State of one query shared by all its nodes (and threads).
pub(crate) struct QueryState<'a> {
    pub store: &'a dyn MetricSelect,
    /// The query's own grid: `@ start()` and `@ end()` refer to it even inside subqueries.
    pub query_steps: Steps,
    pub lookback_ms: i64,
    pub max_samples: usize,
    pub deadline: Instant,
    /// Samples held, checked against `max_samples` (Prometheus counts the samples in memory at
    /// once; we count every sample a query produces or loads, which is stricter, never looser).
    pub samples: AtomicUsize,
    /// Samples read from storage, for query statistics.
    pub loaded: AtomicUsize,
    pub annotations: Mutex<Annotations>,
    /// The query text and its tree, from which [`QueryState::positions`] are computed (`None`
    /// in tests that evaluate hand-built nodes).
    pub source: Option<(&'a str, &'a Expr)>,
    /// Source positions of calls and aggregations, for annotation texts; computed on first use,
    /// as most queries raise no annotation.
    pub positions: OnceLock<positions::ArgPositions>,
}

impl QueryState<'_> {
    /// Source positions of the query's calls and aggregations.
    pub fn positions(&self) -> Option<&positions::ArgPositions> {
        let (query, expr) = self.source?;
        Some(
            self.positions
                .get_or_init(|| positions::ArgPositions::new(query, expr)),
        )
    }
}

/// Evaluation context of one node: the step grid it is evaluated on (the query's, or a
/// subquery's) and the query's shared state.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub steps: Steps,
    pub query: &'a QueryState<'a>,
}

impl<'a> Ctx<'a> {
    /// The same query on another grid (a subquery's).
    pub fn with_steps(&self, steps: Steps) -> Ctx<'a> {
        Ctx {
            steps,
            query: self.query,
        }
    }

    /// Fails with [`PromqlError::Timeout`] once the query's deadline has passed. Called in every
    /// loop that can run long.
    pub fn check_deadline(&self) -> Result<(), PromqlError> {
        if Instant::now() > self.query.deadline {
            return Err(PromqlError::Timeout(
                "query timed out in expression evaluation".to_owned(),
            ));
        }
        Ok(())
    }

    /// Accounts `n` more samples held by the query; fails once over the limit.
    pub fn add_samples(&self, n: usize) -> Result<(), PromqlError> {
        let total = self
            .query
            .samples
            .fetch_add(n, Ordering::Relaxed)
            .saturating_add(n);
        if total > self.query.max_samples {
            return Err(too_many_samples());
        }
        Ok(())
    }

    /// Accounts the points of `series`, as [`Ctx::add_samples`].
    pub fn add_points(&self, series: &[StepSeries]) -> Result<(), PromqlError> {
        self.add_samples(series.iter().map(|s| s.points.len()).sum())
    }

    pub fn warn(&self, msg: impl Into<String>) {
        if let Ok(mut a) = self.query.annotations.lock() {
            a.warnings.insert(msg.into());
        }
    }

    pub fn info(&self, msg: impl Into<String>) {
        if let Ok(mut a) = self.query.annotations.lock() {
            a.infos.insert(msg.into());
        }
    }
}

/// Evaluates a whole query and shapes the result as the API returns it: for an instant query
/// a scalar, string, vector or (for a range expression) matrix; for a range query a matrix.
///
/// # Errors
/// See [`PromqlError`].
pub(crate) fn evaluate_query(
    ctx: Ctx<'_>,
    expr: &Expr,
    instant: bool,
) -> Result<Value, PromqlError> {
    let t = ctx.steps.start;
    if instant {
        match expr.value_type() {
            ValueType::Matrix => {
                let arg = eval_range(&ctx, expr)?;
                let end = arg.ends.first().copied().unwrap_or(t);
                let mut out = Vec::with_capacity(arg.series.len());
                for s in arg.series {
                    let points = select::window(&s.samples, end, arg.range_ms).to_vec();
                    if !points.is_empty() {
                        out.push(Series {
                            labels: s.labels,
                            points,
                        });
                    }
                }
                return Ok(Value::Matrix(out));
            }
            _ => {
                return Ok(match eval(&ctx, expr)? {
                    Evaluated::Scalar(v) => Value::Scalar {
                        t,
                        v: v.first().copied().unwrap_or(f64::NAN),
                    },
                    Evaluated::String(s) => Value::String { t, s },
                    Evaluated::Vector(series) => {
                        let mut out = Vec::with_capacity(series.len());
                        for s in series {
                            // The grid has one step, so a series has at most one point.
                            let Some(p) = s.points.first() else {
                                continue;
                            };
                            out.push(InstantSample {
                                labels: output_labels(s.labels, s.drop_name),
                                t,
                                v: p.v,
                            });
                        }
                        let mut seen: HashSet<&Labels> = HashSet::with_capacity(out.len());
                        if !out.iter().all(|s| seen.insert(&s.labels)) {
                            return Err(duplicate_labelset());
                        }
                        Value::Vector(out)
                    }
                });
            }
        }
    }
    match eval(&ctx, expr)? {
        Evaluated::Scalar(v) => Ok(Value::Matrix(vec![Series {
            labels: Labels::empty(),
            points: ctx
                .steps
                .iter()
                .zip(v)
                .map(|(t, v)| Sample { t, v })
                .collect(),
        }])),
        Evaluated::Vector(series) => Ok(Value::Matrix(into_matrix(series)?)),
        Evaluated::String(_) => Err(PromqlError::Invalid(
            "invalid expression type for range query, must be Scalar or instant Vector".to_owned(),
        )),
    }
}

fn too_many_samples() -> PromqlError {
    PromqlError::Execution(
        "query processing would load too many samples into memory in query execution".to_owned(),
    )
}

pub(crate) fn duplicate_labelset() -> PromqlError {
    PromqlError::Execution("vector cannot contain metrics with the same labelset".to_owned())
}

/// The labels a series leaves the engine with: without the metric name if it was flagged for
/// dropping (see [`StepSeries::drop_name`]).
fn output_labels(labels: Labels, drop_name: bool) -> Labels {
    if drop_name {
        select::drop_metric_name(labels)
    } else {
        labels
    }
}

/// Series with equal labels merged into the first of them, in order of first appearance, as
/// Prometheus assembles results by labels; two of them with a point at the same step are an
/// error.
pub(crate) fn merge_same_labels(pieces: Vec<StepSeries>) -> Result<Vec<StepSeries>, PromqlError> {
    if pieces.len() <= 1 {
        return Ok(pieces);
    }
    let filter = LabelFilter::Ignoring(Vec::new());
    let hashes = hash_all(&filter, pieces.iter().map(|p| &p.labels));
    let mut first: IdMap<usize> = IdMap::with_capacity_and_hasher(pieces.len(), Default::default());
    let mut any_dup = false;
    for (i, h) in hashes.iter().enumerate() {
        if first.insert(*h, i).is_some() {
            any_dup = true;
        }
    }
    if !any_dup {
        return Ok(pieces);
    }
    let mut out: Vec<StepSeries> = Vec::with_capacity(pieces.len());
    let mut by_hash: IdMap<Vec<usize>> = IdMap::default();
    let mut merged = Vec::new();
    for (piece, h) in pieces.into_iter().zip(hashes) {
        let slots = by_hash.entry(h).or_default();
        let existing = slots.iter().copied().find(|&o| {
            out.get(o)
                .is_some_and(|s: &StepSeries| s.labels == piece.labels)
        });
        match existing.and_then(|o| out.get_mut(o).map(|s| (o, s))) {
            Some((o, s)) => {
                s.points.extend(piece.points);
                merged.push(o);
            }
            None => {
                slots.push(out.len());
                out.push(piece);
            }
        }
    }
    merged.sort_unstable();
    merged.dedup();
    for o in merged {
        if let Some(s) = out.get_mut(o) {
            s.points.sort_by_key(|p| p.t);
            if s.points
                .windows(2)
                .any(|w| w.first().map(|p| p.t) == w.get(1).map(|p| p.t))
            {
                return Err(duplicate_labelset());
            }
        }
    }
    Ok(out)
}

/// A range query's series: names dropped where flagged, series that end up with the same labels
/// merged (an error if both have a point at the same step), sorted by labels.
fn into_matrix(series: Vec<StepSeries>) -> Result<Vec<Series>, PromqlError> {
    let named: Vec<StepSeries> = series
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .map(|s| StepSeries::new(output_labels(s.labels, s.drop_name), s.points))
        .collect();
    let mut out: Vec<Series> = merge_same_labels(named)?
        .into_iter()
        .map(|s| Series {
            labels: s.labels,
            points: s.points,
        })
        .collect();
    out.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
    Ok(out)
}

/// Evaluates an expression of scalar, string or instant-vector type over `ctx`'s grid.
pub(crate) fn eval(ctx: &Ctx<'_>, expr: &Expr) -> Result<Evaluated, PromqlError> {
    ctx.check_deadline()?;
    match expr {
        Expr::NumberLiteral(n) => Ok(Evaluated::Scalar(vec![n.val; ctx.steps.len()])),
        Expr::StringLiteral(s) => Ok(Evaluated::String(s.val.clone())),
        Expr::Paren(p) => eval(ctx, &p.expr),
        Expr::Unary(u) => match eval(ctx, &u.expr)? {
            Evaluated::Scalar(v) => Ok(Evaluated::Scalar(v.into_iter().map(|x| -x).collect())),
            Evaluated::Vector(mut series) => {
                for s in &mut series {
                    s.drop_name = true;
                    for p in &mut s.points {
                        p.v = -p.v;
                    }
                }
                Ok(Evaluated::Vector(series))
            }
            other => Ok(other),
        },
        Expr::Binary(b) => {
            let (lhs, rhs) = if is_cheap(&b.lhs) || is_cheap(&b.rhs) {
                (eval(ctx, &b.lhs)?, eval(ctx, &b.rhs)?)
            } else {
                let (l, r) = rayon::join(|| eval(ctx, &b.lhs), || eval(ctx, &b.rhs));
                (l?, r?)
            };
            binary::binary(ctx, b, lhs, rhs)
        }
        Expr::Aggregate(a) => {
            let param = match &a.param {
                Some(p) => Some(eval(ctx, p)?),
                None => None,
            };
            let input = match eval(ctx, &a.expr)? {
                Evaluated::Vector(v) => v,
                _ => {
                    return Err(PromqlError::Execution(
                        "aggregation over a non-vector expression".to_owned(),
                    ))
                }
            };
            Ok(Evaluated::Vector(aggregate::aggregate(
                ctx, a, param, input,
            )?))
        }
        Expr::Call(c) => eval_call(ctx, c),
        Expr::VectorSelector(vs) => Ok(Evaluated::Vector(select::select_vector(ctx, vs, false)?)),
        Expr::MatrixSelector(_) | Expr::Subquery(_) => Err(PromqlError::Execution(
            "a range vector is only allowed as a function argument or a whole instant query"
                .to_owned(),
        )),
        Expr::Extension(_) => Err(PromqlError::Execution(
            "unsupported expression extension".to_owned(),
        )),
    }
}

/// Whether evaluating `expr` is trivial (not worth a parallel task).
fn is_cheap(expr: &Expr) -> bool {
    match expr {
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => true,
        Expr::Paren(p) => is_cheap(&p.expr),
        Expr::Unary(u) => is_cheap(&u.expr),
        _ => false,
    }
}

fn eval_call(ctx: &Ctx<'_>, call: &Call) -> Result<Evaluated, PromqlError> {
    // `timestamp(selector)` returns the timestamps of the selected samples, not the step times.
    if call.func.name == "timestamp" {
        if let Some(Expr::VectorSelector(vs)) = call.args.args.first().map(|a| unwrap_parens(a)) {
            return Ok(Evaluated::Vector(select::select_vector(ctx, vs, true)?));
        }
    }
    let mut args = Vec::with_capacity(call.args.args.len());
    for (i, a) in call.args.args.iter().enumerate() {
        if call.func.name == "info" && i == 1 {
            // `info` reads its second argument as a list of matchers, never its value; selecting
            // it (`{data=~".+"}` matches nearly every series) would be wasted work.
            args.push(Arg::Value(Evaluated::Vector(Vec::new())));
        } else if a.value_type() == ValueType::Matrix {
            args.push(Arg::Range(eval_range(ctx, a)?));
        } else {
            args.push(Arg::Value(eval(ctx, a)?));
        }
    }
    call::call_function(ctx, call, args)
}

pub(crate) fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// Evaluates a range-vector expression (range selector or subquery) for every step's window.
pub(crate) fn eval_range(ctx: &Ctx<'_>, expr: &Expr) -> Result<RangeArg, PromqlError> {
    match expr {
        Expr::Paren(p) => eval_range(ctx, &p.expr),
        Expr::MatrixSelector(ms) => select::select_range(ctx, &ms.vs, &ms.range),
        Expr::Subquery(sq) => eval_subquery(ctx, sq),
        _ => Err(PromqlError::Execution(format!(
            "expected a range vector, got {}",
            expr.value_type()
        ))),
    }
}

/// A subquery: the inner expression evaluated on its own grid, aligned to multiples of its step,
/// covering every outer step's window.
fn eval_subquery(ctx: &Ctx<'_>, sq: &SubqueryExpr) -> Result<RangeArg, PromqlError> {
    let range_ms = select::duration_ms(&sq.range);
    let ends = select::eval_times(ctx, sq.at.as_ref(), sq.offset.as_ref());
    let (Some(&first), Some(&last)) = (ends.iter().min(), ends.iter().max()) else {
        return Ok(RangeArg {
            series: Vec::new(),
            range_ms,
            ends,
        });
    };
    let step = match &sq.step {
        Some(d) if !d.is_zero() => select::duration_ms(d),
        _ => DEFAULT_SUBQUERY_STEP_MS,
    }
    .max(1);
    let lower = first.saturating_sub(range_ms);
    // The first multiple of the step after `lower`; past `i64::MAX`, the grid is empty.
    let start = lower
        .div_euclid(step)
        .checked_add(1)
        .and_then(|k| k.checked_mul(step))
        .unwrap_or(i64::MAX);
    let inner = ctx.with_steps(Steps {
        start,
        end: last,
        step,
    });
    // Every node allocates per step of its grid; a grid with more steps than the query may
    // hold samples (`x[1y:1ms]`) is refused before anything is allocated for it.
    if inner.steps.len() > ctx.query.max_samples {
        return Err(too_many_samples());
    }
    let series = if inner.steps.is_empty() {
        Vec::new()
    } else {
        match eval(&inner, &sq.expr)? {
            Evaluated::Vector(v) => v
                .into_iter()
                .filter(|s| !s.points.is_empty())
                .map(|s| RangeSeries {
                    labels: output_labels(s.labels, s.drop_name),
                    samples: s.points,
                })
                .collect(),
            Evaluated::Scalar(v) => vec![RangeSeries {
                labels: Labels::empty(),
                samples: inner
                    .steps
                    .iter()
                    .zip(v)
                    .map(|(t, v)| Sample { t, v })
                    .collect(),
            }],
            _ => {
                return Err(PromqlError::Execution(
                    "subquery over an expression that is not a scalar or instant vector".to_owned(),
                ))
            }
        }
    };
    Ok(RangeArg {
        series,
        range_ms,
        ends,
    })
}

/// Step of a subquery written without one (`x[5m:]`): Prometheus uses the global evaluation
/// interval, 1m by default.
pub(crate) const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;
