//! Function calls: `rate(x[5m])`, `abs(x)`, `label_replace(…)`, `histogram_quantile(…)`, ….
//! The evaluator evaluates the arguments; this module applies the function over the step grid.
//!
//! Every float function of Prometheus is here, with upstream's semantics: which functions drop
//! the metric name (flagged on the series, removed when the result leaves the engine), which
//! annotations they raise and with what text, and where an output element is omitted. Native
//! histograms do not exist in Vigil, so the `histogram_*` functions that only read native
//! histograms return nothing, as Prometheus does for float input.
//!
//! Layout: this file dispatches by name and owns the argument plumbing; range-vector functions
//! live in `over_time`, element-wise ones in `elementwise`, label and ordering functions in
//! `labels`, classic-histogram functions in `histograms`, `absent`/`absent_over_time` in
//! `absent`, the experimental `info` in `info`. The numeric kernels are in `crate::math`.

mod absent;
mod elementwise;
mod histograms;
mod info;
mod labels;
mod over_time;
#[cfg(test)]
mod tests;

use promql_parser::parser::{Call, Expr};

use super::{unwrap_parens, Ctx, Evaluated, RangeSeries};
use crate::value::StepSeries;
use crate::PromqlError;

/// An evaluated function argument.
#[derive(Debug)]
pub(crate) enum Arg {
    /// A scalar, instant vector or string argument.
    Value(Evaluated),
    /// A range-vector argument (matrix selector or subquery).
    Range(RangeArg),
}

/// A range-vector argument, evaluated for every step of the grid at once.
#[derive(Debug)]
pub(crate) struct RangeArg {
    /// Each series' samples covering the windows of all steps, ascending, without staleness
    /// markers.
    pub series: Vec<RangeSeries>,
    /// The selector's range in milliseconds.
    pub range_ms: i64,
    /// For step `i`, the end of its window (inclusive), with `offset` and `@` applied. The
    /// window of step `i` holds the samples with `ends[i] - range_ms < t <= ends[i]`.
    pub ends: Vec<i64>,
}

/// Series count from which per-series work is spread over the thread pool.
pub(crate) const PARALLEL_SERIES: usize = 64;

/// Applies `call` to its evaluated arguments.
///
/// # Errors
/// Invalid arguments (e.g. a bad regex in `label_replace`), duplicate output series, limits,
/// the deadline.
pub(crate) fn call_function(
    ctx: &Ctx<'_>,
    call: &Call,
    args: Vec<Arg>,
) -> Result<Evaluated, PromqlError> {
    let f = FnCtx { ctx, call };
    let mut args = Args(args.into_iter().map(Some).collect());
    let name = call.func.name;
    if let Some(out) = over_time::call(&f, name, &mut args)? {
        return Ok(out);
    }
    if let Some(out) = elementwise::call(&f, name, &mut args)? {
        return Ok(out);
    }
    if let Some(out) = labels::call(&f, name, &mut args)? {
        return Ok(out);
    }
    if let Some(out) = histograms::call(&f, name, &mut args)? {
        return Ok(out);
    }
    if let Some(out) = absent::call(&f, name, &mut args)? {
        return Ok(out);
    }
    if let Some(out) = info::call(&f, name, &mut args)? {
        return Ok(out);
    }
    Err(PromqlError::Execution(format!(
        "function {name:?} is not supported"
    )))
}

/// What a function implementation sees besides its arguments: the evaluation context and the
/// call node (for argument expressions and source positions).
pub(crate) struct FnCtx<'c, 'a> {
    pub ctx: &'c Ctx<'a>,
    pub call: &'c Call,
}

impl FnCtx<'_, '_> {
    /// `msg` with the position of argument `arg` appended as Prometheus prints it.
    pub fn at_arg(&self, msg: String, arg: usize) -> String {
        match self
            .ctx
            .query
            .positions()
            .and_then(|p| p.arg(self.call, arg))
        {
            Some(pos) => format!("{msg} ({pos})"),
            None => msg,
        }
    }

    /// `msg` with the position of the call itself appended.
    pub fn at_call(&self, msg: String) -> String {
        match self.ctx.query.positions().and_then(|p| p.call(self.call)) {
            Some(pos) => format!("{msg} ({pos})"),
            None => msg,
        }
    }

    /// The unevaluated argument `i`, parentheses removed.
    pub fn arg_expr(&self, i: usize) -> Option<&Expr> {
        self.call.args.args.get(i).map(|e| unwrap_parens(e))
    }

    /// Step index of a point's timestamp on the grid (points of instant vectors sit on it).
    pub fn step_of(&self, t: i64) -> Option<usize> {
        self.ctx.steps.index(t)
    }
}

/// The evaluated arguments, taken out by position as each function needs them.
pub(crate) struct Args(Vec<Option<Arg>>);

impl Args {
    fn missing(i: usize, what: &str) -> PromqlError {
        PromqlError::Execution(format!("expected {what} as argument {}", i + 1))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Takes instant-vector argument `i`.
    pub fn vector(&mut self, i: usize) -> Result<Vec<StepSeries>, PromqlError> {
        match self.0.get_mut(i).and_then(Option::take) {
            Some(Arg::Value(Evaluated::Vector(v))) => Ok(v),
            _ => Err(Self::missing(i, "an instant vector")),
        }
    }

    /// Takes range-vector argument `i`.
    pub fn range(&mut self, i: usize) -> Result<RangeArg, PromqlError> {
        match self.0.get_mut(i).and_then(Option::take) {
            Some(Arg::Range(r)) => Ok(r),
            _ => Err(Self::missing(i, "a range vector")),
        }
    }

    /// Scalar argument `i`, one value per step.
    pub fn scalar(&self, i: usize) -> Result<&[f64], PromqlError> {
        match self.0.get(i) {
            Some(Some(Arg::Value(Evaluated::Scalar(v)))) => Ok(v),
            _ => Err(Self::missing(i, "a scalar")),
        }
    }

    /// String argument `i`.
    pub fn string(&self, i: usize) -> Result<&str, PromqlError> {
        match self.0.get(i) {
            Some(Some(Arg::Value(Evaluated::String(s)))) => Ok(s),
            _ => Err(Self::missing(i, "a string")),
        }
    }
}

/// Runs `f` over `items`, on the thread pool when there are many, keeping their order.
pub(crate) fn map_series<T, R, F>(items: Vec<T>, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync + Send,
{
    use rayon::prelude::*;
    if items.len() >= PARALLEL_SERIES {
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}
