//! One tokio task per target: wait for the target's offset in the interval, then scrape every
//! interval until told to stop.
//!
//! The HTTP exchange runs on the async task and is abandoned at once when a stop arrives;
//! parsing, processing and the append run on the blocking pool (bodies can be large and a
//! store may fsync) and always complete, so a loop's state is never half-updated.
//!
//! A loop is stopped in one of two ways. [`StopMode::Stale`]: the target went away, so its
//! series (and report series) get stale markers. [`StopMode::Handover`]: the target lives on
//! in a new loop (config reload) or the server is shutting down; the loop returns its
//! [`LoopState`] without writing anything, as Prometheus does on shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Client;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use vigil_codec::exposition::{self, Format, Validation};
use vigil_model::{Batch, Clock, Timestamp};
use vigil_storage::MetricAppend;

use crate::http_client::{self, ScrapeRequest};
use crate::metrics::ScrapeMetrics;
use crate::process::{
    add_report, end_of_run, metadata_map, process_scrape, LoopState, ProcessSettings,
};
use crate::status::TargetShared;
use crate::{ScrapeError, ScrapePoolSettings};

/// What every loop of a manager shares.
pub(crate) struct Env {
    pub store: Arc<dyn MetricAppend>,
    pub clock: Arc<dyn Clock>,
    pub metrics: ScrapeMetrics,
    pub jitter_seed: u64,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("clock", &self.clock)
            .field("jitter_seed", &self.jitter_seed)
            .finish_non_exhaustive()
    }
}

/// What every loop of one pool shares: its settings and HTTP client.
#[derive(Debug)]
pub(crate) struct PoolRuntime {
    pub settings: Arc<ScrapePoolSettings>,
    pub client: Result<Client, ScrapeError>,
}

/// How a loop is told to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopMode {
    /// The target is gone: write stale markers.
    Stale,
    /// The target continues elsewhere, or the server stops: write nothing.
    Handover,
}

/// A running loop.
#[derive(Debug)]
pub(crate) struct LoopHandle {
    pub target: Arc<TargetShared>,
    stop: watch::Sender<Option<StopMode>>,
    join: JoinHandle<LoopState>,
}

impl LoopHandle {
    pub(crate) fn spawn(
        env: Arc<Env>,
        pool: Arc<PoolRuntime>,
        target: Arc<TargetShared>,
        state: LoopState,
    ) -> Self {
        let (stop, rx) = watch::channel(None);
        let join = tokio::spawn(run(env, pool, Arc::clone(&target), state, rx));
        LoopHandle { target, stop, join }
    }

    /// Asks the loop to stop; [`LoopHandle::join`] waits for it.
    pub(crate) fn signal(&self, mode: StopMode) {
        self.stop.send_replace(Some(mode));
    }

    /// Waits for the loop to end and returns its state.
    pub(crate) async fn join(self) -> LoopState {
        match self.join.await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(target_url = %self.target.spec.url, error = %e, "scrape loop ended abnormally");
                LoopState::default()
            }
        }
    }
}

async fn wait_stop(rx: &mut watch::Receiver<Option<StopMode>>) -> StopMode {
    loop {
        if let Some(m) = *rx.borrow_and_update() {
            return m;
        }
        if rx.changed().await.is_err() {
            // The manager is gone: behave as on shutdown.
            return StopMode::Handover;
        }
    }
}

/// Time until this target's slot in the interval, as Prometheus's `Target.offset`: a fixed
/// point per target (hash of labels and URL, mixed with the server's seed), pinned to absolute
/// time so that restarts keep the same phase.
pub(crate) fn offset(now_ms: Timestamp, interval: Duration, hash: u64, seed: u64) -> Duration {
    let iv = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
    if iv == 0 {
        return Duration::ZERO;
    }
    let now = u64::try_from(now_ms.rem_euclid(i64::try_from(iv).unwrap_or(i64::MAX))).unwrap_or(0);
    // Prometheus computes `(iv - now) + slot`, minus `iv` when that passes `iv`. Written this
    // way it cannot overflow, which the sum does for an interval over 2^63 ms (a relabelled or
    // file_sd `__scrape_interval__` can be that long).
    let slot = (hash ^ seed) % iv;
    let next = if slot > now {
        slot - now
    } else {
        iv - now + slot
    };
    Duration::from_millis(next)
}

/// The scrape timestamp: the clock's time, snapped to the loop's grid when within 2 ms (or 1%
/// of the interval), as Prometheus does to help compression.
pub(crate) fn scrape_time(state: &mut LoopState, now: Timestamp, interval: Duration) -> Timestamp {
    let iv = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    let tolerance = (iv / 100).min(2);
    let Some(mut aligned) = state.aligned_ts.filter(|a| now >= *a && iv > 0) else {
        state.aligned_ts = Some(now);
        return now;
    };
    let steps = (now - aligned) / iv;
    aligned = aligned.saturating_add(steps.saturating_mul(iv));
    state.aligned_ts = Some(aligned);
    if now - aligned <= tolerance {
        aligned
    } else {
        now
    }
}

async fn run(
    env: Arc<Env>,
    pool: Arc<PoolRuntime>,
    target: Arc<TargetShared>,
    mut state: LoopState,
    mut stop: watch::Receiver<Option<StopMode>>,
) -> LoopState {
    let interval = target.spec.interval;
    let wait = offset(
        env.clock.now_ms(),
        interval,
        target.spec.hash,
        env.jitter_seed,
    );
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        m = wait_stop(&mut stop) => return finish(&env, &target, state, m).await,
    }
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            m = wait_stop(&mut stop) => return finish(&env, &target, state, m).await,
            _ = ticker.tick() => {}
        }
        let start = Instant::now();
        let t = scrape_time(&mut state, env.clock.now_ms(), interval);
        let fetched = tokio::select! {
            biased;
            m = wait_stop(&mut stop) => return finish(&env, &target, state, m).await,
            r = fetch(&pool, &target) => r,
        };
        state = complete(&env, &pool, &target, state, t, start, fetched).await;
    }
}

async fn fetch(
    pool: &PoolRuntime,
    target: &TargetShared,
) -> Result<http_client::ScrapeResponse, ScrapeError> {
    if let Some(e) = target.forced_error.lock().clone() {
        return Err(e);
    }
    let client = pool.client.as_ref().map_err(Clone::clone)?;
    let s = &pool.settings;
    let req = ScrapeRequest {
        url: &target.spec.url,
        timeout: target.spec.timeout,
        accept: &s.accept_header,
        enable_compression: s.enable_compression,
        body_size_limit: s.body_size_limit,
        http: &s.http,
    };
    http_client::scrape(client, &req).await
}

/// Parses, processes and appends one scrape on the blocking pool; returns the loop state.
async fn complete(
    env: &Arc<Env>,
    pool: &Arc<PoolRuntime>,
    target: &Arc<TargetShared>,
    state: LoopState,
    t: Timestamp,
    start: Instant,
    fetched: Result<http_client::ScrapeResponse, ScrapeError>,
) -> LoopState {
    let (env2, pool2, target2) = (Arc::clone(env), Arc::clone(pool), Arc::clone(target));
    let job = tokio::task::spawn_blocking(move || {
        let mut state = state;
        process_and_append(&env2, &pool2, &target2, &mut state, t, start, fetched);
        state
    });
    match job.await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(target_url = %target.spec.url, error = %e, "scrape processing failed");
            LoopState::default()
        }
    }
}

pub(crate) fn process_and_append(
    env: &Env,
    pool: &PoolRuntime,
    target: &TargetShared,
    state: &mut LoopState,
    t: Timestamp,
    start: Instant,
    fetched: Result<http_client::ScrapeResponse, ScrapeError>,
) {
    let s = &pool.settings;
    let parsed = fetched.and_then(|r| {
        // Prometheus-level validation: scrape what Prometheus scrapes, even OpenMetrics bodies
        // that break a MUST of the specification (real exporters do).
        exposition::parse_with(
            &r.body,
            Format::from_content_type(&r.content_type),
            Validation::Prometheus,
        )
        .map_err(|e| ScrapeError::Parse(e.to_string()))
    });
    let settings = ProcessSettings {
        target_labels: &target.public,
        honor_labels: s.honor_labels,
        honor_timestamps: s.honor_timestamps,
        track_timestamps_staleness: s.track_timestamps_staleness,
        metric_relabel: &s.metric_relabel_configs,
        sample_limit: s.sample_limit,
        label_limit: s.label_limit,
        label_name_length_limit: s.label_name_length_limit,
        label_value_length_limit: s.label_value_length_limit,
    };
    let mut p = process_scrape(state, &settings, t, parsed);
    let duration_s = start.elapsed().as_secs_f64();
    let mut batch = std::mem::take(&mut p.batch);
    let scraped_samples = batch.series.len().saturating_sub(p.stale_markers);
    add_report(&mut batch, &target.public, t, &p, duration_s);
    target.report(t, duration_s, p.error.as_ref());

    env.metrics.scrapes.inc();
    if let Some(e) = &p.error {
        env.metrics.failure(e.reason());
        tracing::debug!(target_url = %target.spec.url, error = %e, "scrape failed");
    } else {
        *target.metadata.lock() = metadata_map(std::mem::take(&mut p.metadata));
    }
    env.metrics
        .samples
        .inc_by(u64::try_from(scraped_samples).unwrap_or(0));
    env.metrics
        .stale_markers
        .inc_by(u64::try_from(p.stale_markers).unwrap_or(0));
    if p.skipped > 0 {
        tracing::warn!(target_url = %target.spec.url, skipped = p.skipped, "skipped duplicate or out-of-bounds samples");
    }
    append(env, &batch, &target.spec.url);
}

fn append(env: &Env, batch: &Batch, url: &str) {
    match env.store.append(batch) {
        Ok(outcome) => {
            let rejected = outcome.rejected_total();
            if rejected > 0 {
                env.metrics
                    .rejected
                    .inc_by(u64::try_from(rejected).unwrap_or(0));
                tracing::debug!(
                    target_url = %url,
                    rejected,
                    first = outcome.first_rejection.as_deref().unwrap_or(""),
                    "store rejected scraped samples"
                );
            }
        }
        Err(e) => {
            env.metrics.failure("storage");
            tracing::error!(target_url = %url, error = %e, "appending scraped samples failed");
        }
    }
}

async fn finish(
    env: &Arc<Env>,
    target: &Arc<TargetShared>,
    mut state: LoopState,
    mode: StopMode,
) -> LoopState {
    if mode == StopMode::Handover {
        return state;
    }
    let now = env.clock.now_ms();
    let t = state
        .last_ts
        .map_or(now, |last| now.max(last.saturating_add(1)));
    let batch = end_of_run(&mut state, &target.public, t);
    if batch.series.is_empty() {
        return state;
    }
    env.metrics
        .stale_markers
        .inc_by(u64::try_from(batch.series.len()).unwrap_or(0));
    let (env2, url) = (Arc::clone(env), target.spec.url.clone());
    let done = tokio::task::spawn_blocking(move || append(&env2, &batch, &url)).await;
    if let Err(e) = done {
        tracing::error!(error = %e, "writing stale markers failed");
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_is_within_interval_and_stable() {
        let iv = Duration::from_secs(15);
        for h in [0u64, 1, 7_777, u64::MAX] {
            for now in [0i64, 1_000, 14_999, 1_700_000_000_123] {
                let o = offset(now, iv, h, 0);
                assert!(o <= iv, "{o:?}");
                // The scrape lands on the same phase whatever "now" is.
                let phase = (now + i64::try_from(o.as_millis()).expect("ms")) % 15_000;
                assert_eq!(phase, i64::try_from(h % 15_000).expect("ms") % 15_000);
            }
        }
    }

    #[test]
    fn offset_of_a_huge_interval_does_not_overflow() {
        // `__scrape_interval__: 300000000y` parses to more than 2^63 ms.
        let iv = crate::PromDuration::parse("300000000y")
            .expect("valid duration")
            .as_std();
        for h in [0u64, 7_777, u64::MAX / 2, u64::MAX] {
            assert!(offset(1_700_000_000_123, iv, h, 0) <= iv);
        }
    }

    #[test]
    fn timestamps_align_within_tolerance() {
        let mut st = LoopState::default();
        let iv = Duration::from_secs(15);
        assert_eq!(scrape_time(&mut st, 1_000, iv), 1_000);
        assert_eq!(scrape_time(&mut st, 16_001, iv), 16_000);
        assert_eq!(scrape_time(&mut st, 31_050, iv), 31_050);
        assert_eq!(scrape_time(&mut st, 46_002, iv), 46_000);
        // A clock that went backwards restarts the grid.
        assert_eq!(scrape_time(&mut st, 10, iv), 10);
    }
}
