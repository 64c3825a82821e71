//! The query entry point: parse, evaluate over the step grid, shape the result.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use promql_parser::parser;
use vigil_model::Timestamp;
use vigil_storage::MetricSelect;

use crate::eval::positions::ArgPositions;
use crate::eval::{self, Annotations, Ctx, QueryState};
use crate::parse::parse;
use crate::value::{Steps, Value};
use crate::PromqlError;

/// Prometheus refuses range queries with more points per series than this.
pub const MAX_POINTS_PER_SERIES: usize = 11_000;

/// Limits and defaults of query evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus's `--query.lookback-delta`).
    pub lookback_delta: Duration,
    /// Most samples one query may load (Prometheus's `--query.max-samples`).
    pub max_samples: usize,
    /// Per-query deadline (Prometheus's `--query.timeout`).
    pub timeout: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
        }
    }
}

/// What a query returned.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    pub value: Value,
    pub annotations: Annotations,
    /// Samples read from storage.
    pub samples_loaded: usize,
}

/// Evaluates PromQL over a metric store. Cheap to share; every query is independent.
pub struct Engine {
    store: Arc<dyn MetricSelect>,
    opts: EngineOptions,
}

impl Engine {
    pub fn new(store: Arc<dyn MetricSelect>, opts: EngineOptions) -> Self {
        Engine { store, opts }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at `t` (milliseconds).
    ///
    /// # Errors
    /// Parse errors, evaluation errors, limits and the timeout; see [`PromqlError`].
    pub fn instant(&self, query: &str, t: Timestamp) -> Result<QueryOutput, PromqlError> {
        let expr = parse(query)?;
        self.run(query, &expr, Steps::instant(t), true)
    }

    /// Evaluates `query` at every step from `start` to `end` (milliseconds, inclusive).
    ///
    /// # Errors
    /// As [`Engine::instant`]; also a non-positive step, `end` before `start`, more than
    /// [`MAX_POINTS_PER_SERIES`] steps, or an expression that is not a scalar or instant vector.
    pub fn range(
        &self,
        query: &str,
        start: Timestamp,
        end: Timestamp,
        step: i64,
    ) -> Result<QueryOutput, PromqlError> {
        if step <= 0 {
            return Err(PromqlError::Invalid(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".to_owned(),
            ));
        }
        if end < start {
            return Err(PromqlError::Invalid(
                "end timestamp must not be before start time".to_owned(),
            ));
        }
        let steps = Steps { start, end, step };
        // Prometheus's rule: more than 11,000 step intervals (so 11,001 points pass).
        if (end - start) / step > MAX_POINTS_PER_SERIES as i64 {
            return Err(PromqlError::Invalid(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".to_owned(),
            ));
        }
        let expr = parse(query)?;
        match expr.value_type() {
            parser::value::ValueType::Vector | parser::value::ValueType::Scalar => {}
            other => {
                return Err(PromqlError::Invalid(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                type_name(other)
            )))
            }
        }
        self.run(query, &expr, steps, false)
    }

    fn run(
        &self,
        query: &str,
        expr: &parser::Expr,
        steps: Steps,
        instant: bool,
    ) -> Result<QueryOutput, PromqlError> {
        let state = QueryState {
            store: self.store.as_ref(),
            query_steps: steps,
            lookback_ms: i64::try_from(self.opts.lookback_delta.as_millis()).unwrap_or(i64::MAX),
            max_samples: self.opts.max_samples,
            deadline: Instant::now() + self.opts.timeout,
            samples: AtomicUsize::new(0),
            loaded: AtomicUsize::new(0),
            annotations: Mutex::new(Annotations::default()),
            positions: ArgPositions::new(query, expr),
        };
        let ctx = Ctx {
            steps,
            query: &state,
        };
        let value = eval::evaluate_query(ctx, expr, instant)?;
        Ok(QueryOutput {
            value,
            annotations: state.annotations.into_inner().unwrap_or_default(),
            samples_loaded: state.loaded.into_inner(),
        })
    }
}

fn type_name(t: parser::value::ValueType) -> &'static str {
    match t {
        parser::value::ValueType::Vector => "instant vector",
        parser::value::ValueType::Scalar => "scalar",
        parser::value::ValueType::Matrix => "range vector",
        parser::value::ValueType::String => "string",
    }
}
