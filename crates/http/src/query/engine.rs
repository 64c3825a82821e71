//! The query engine as the API runs it: PromQL evaluation on tokio's blocking pool, at most
//! `max_concurrency` queries at once (the others wait in a FIFO queue, never refused), each
//! under the configured limits and a deadline that counts its time in the queue, as
//! Prometheus's does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use tokio::sync::Semaphore;
use vigil_promql::{Engine, EngineOptions, PromqlError};
use vigil_storage::MetricSelect;

use crate::ApiError;

/// Limits of query evaluation; replaced as a whole on reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Most samples one query may load (`--query.max-samples`).
    pub max_samples: usize,
    /// Longest a query may take, queue included (`--query.timeout`); a request's `timeout`
    /// parameter can only shorten it.
    pub timeout: Duration,
    /// Queries evaluated at once (`--query.max-concurrency`); more wait for a slot.
    pub max_concurrency: usize,
    /// How far back an instant selector looks (`--query.lookback-delta`); also the window of
    /// `/federate`.
    pub lookback_delta: Duration,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            max_concurrency: 20,
            lookback_delta: Duration::from_secs(300),
        }
    }
}

/// What one request asks of the engine beyond the query itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryOptions {
    /// The request's `timeout`, in nanoseconds (capped by the configured timeout).
    pub timeout_ns: Option<i64>,
    /// The request's `lookback_delta`, in nanoseconds (`None` or 0: the configured one).
    pub lookback_ns: Option<i64>,
}

/// Where a query's time went, for the `stats` of the response.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryTimings {
    pub queue: Duration,
    pub eval: Duration,
}

/// PromQL evaluation shared by the query endpoints.
pub struct QueryEngine {
    store: Arc<dyn MetricSelect>,
    limits: RwLock<QueryLimits>,
    /// Replaced (not resized) when `max_concurrency` changes: queries already holding or
    /// waiting for a slot of the old queue finish under it.
    slots: RwLock<Arc<Semaphore>>,
}

/// Slack after the deadline before the API stops waiting for the engine to notice it; the
/// engine's own timeout error normally arrives first.
const DEADLINE_GRACE: Duration = Duration::from_millis(250);

impl QueryEngine {
    pub fn new(store: Arc<dyn MetricSelect>, limits: QueryLimits) -> Self {
        QueryEngine {
            store,
            slots: RwLock::new(Arc::new(Semaphore::new(limits.max_concurrency.max(1)))),
            limits: RwLock::new(limits),
        }
    }

    pub fn limits(&self) -> QueryLimits {
        *self.limits.read()
    }

    /// Applies reloaded limits to queries that start from now on.
    pub fn set_limits(&self, limits: QueryLimits) {
        let mut cur = self.limits.write();
        if cur.max_concurrency != limits.max_concurrency {
            *self.slots.write() = Arc::new(Semaphore::new(limits.max_concurrency.max(1)));
        }
        *cur = limits;
    }

    /// Waits for a slot, then runs `f` on the blocking pool with an engine set up for this
    /// request.
    ///
    /// # Errors
    /// `f`'s error as the query API reports it; a timeout (503) when the deadline passes in
    /// the queue or during evaluation.
    pub async fn run<T: Send + 'static>(
        &self,
        opts: QueryOptions,
        f: impl FnOnce(&Engine) -> Result<T, PromqlError> + Send + 'static,
    ) -> Result<(T, QueryTimings), ApiError> {
        let started = Instant::now();
        let limits = self.limits();
        let timeout = match opts.timeout_ns {
            None => limits.timeout,
            Some(ns) => Duration::from_nanos(u64::try_from(ns).unwrap_or(0)).min(limits.timeout),
        };
        let lookback_delta = match opts.lookback_ns {
            Some(ns) if ns > 0 => Duration::from_nanos(u64::try_from(ns).unwrap_or(0)),
            _ => limits.lookback_delta,
        };
        let slots = self.slots.read().clone();
        // The semaphore is never closed; a closed one would be a bug, reported as internal.
        let permit = match tokio::time::timeout(timeout, slots.acquire_owned()).await {
            Err(_) => return Err(ApiError::timeout("query timed out in query queue")),
            Ok(Err(_)) => return Err(ApiError::internal("query queue closed")),
            Ok(Ok(p)) => p,
        };
        let queue = started.elapsed();
        let remaining = timeout.saturating_sub(queue);
        if remaining.is_zero() {
            return Err(ApiError::timeout("query timed out in query queue"));
        }
        let engine = Engine::new(
            self.store.clone(),
            EngineOptions {
                lookback_delta,
                max_samples: limits.max_samples,
                timeout: remaining,
            },
        );
        let task = tokio::task::spawn_blocking(move || {
            // The slot is held until evaluation ends, even if the client has gone.
            let _permit = permit;
            let t0 = Instant::now();
            let r = f(&engine);
            (r, t0.elapsed())
        });
        match tokio::time::timeout(remaining + DEADLINE_GRACE, task).await {
            Err(_) => Err(ApiError::timeout(
                "query timed out in expression evaluation",
            )),
            Ok(Err(join)) => Err(join.into()),
            Ok(Ok((Err(e), _))) => Err(ApiError::from_query(e)),
            Ok(Ok((Ok(v), eval))) => Ok((v, QueryTimings { queue, eval })),
        }
    }
}
