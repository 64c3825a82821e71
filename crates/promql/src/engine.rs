//! The query entry point: parse, evaluate over the step grid, shape the result.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use promql_parser::parser;
use vigil_model::Timestamp;
use vigil_storage::MetricSelect;

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
        // `abs_diff`: the span may not fit in an i64.
        if end.abs_diff(start) / step.unsigned_abs() > MAX_POINTS_PER_SERIES as u64 {
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
            source: Some((query, expr)),
            positions: OnceLock::new(),
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

#[cfg(test)]
mod tests {
    use vigil_model::Labels;
    use vigil_storage::{MemStore, MetricAppend};

    use super::*;

    fn engine() -> Engine {
        let store = Arc::new(MemStore::new(i64::MAX / 4));
        let up = Labels::from_pairs([("__name__", "up")]).expect("labels");
        let samples = vec![(i64::MIN + 1, 1.0), (0, 2.0), (1_700_000_000_000, 3.0)];
        store
            .append(&vigil_testkit::batch(&[(up, samples)]))
            .expect("append");
        Engine::new(store, EngineOptions::default())
    }

    #[test]
    fn huge_subquery_grid_is_refused_not_allocated() {
        let e = engine();
        for q in [
            "max_over_time(vector(1)[100y:1ms])",
            "count_over_time(up[100y:1ms])",
            "count_over_time(up[1000000y:1s] offset -1000000y)",
        ] {
            let err = e.instant(q, 1_700_000_000_000).expect_err(q);
            assert!(matches!(err, PromqlError::Execution(_)), "{q}: {err}");
        }
    }

    #[test]
    fn extreme_offsets_and_ranges_do_not_overflow() {
        let e = engine();
        for q in [
            "up offset 1000000y",
            "up offset -1000000y",
            "timestamp(up offset 1000000y)",
            "rate(up[1000000y] offset 1000000y)",
            "rate(up[1000000y] offset -1000000y)",
            "max_over_time(vector(1)[1000000y:1000y] offset -1000000y)",
            "max_over_time(up[1000000y:1000y] offset 1000000y)",
            "up @ 9223372036854775.807",
            "up[5m] @ 9223372036854775.807",
            "info(up offset 1000000y)[5m:1m] offset 1000000y",
        ] {
            for t in [i64::MIN, 0, 1_700_000_000_000, i64::MAX] {
                let _ = e.instant(q, t);
            }
        }
        for q in ["up", "time()", "rate(up[5m])", "max_over_time(up[5m:1m])"] {
            let _ = e.range(q, i64::MIN, i64::MAX, i64::MAX);
            let _ = e.range(q, i64::MIN, i64::MAX, 1);
        }
    }
}
