//! ML monitoring in the server: the event store opened under `<data-dir>/ml`, each model
//! evaluated on its own `interval` off the async threads, every derived series appended to the
//! metric store, and the store checkpointed now and then so that restarts replay little.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigil_ml::MlStore;
use vigil_model::Clock;
use vigil_storage::MetricAppend;

/// How often the evaluator looks for models whose interval has elapsed.
const TICK: Duration = Duration::from_secs(1);

/// How often the store's state is checkpointed, bounding the WAL replayed at start.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(300);

/// `reason` of `vigil_ml_samples_rejected_total`: [`vigil_storage::RejectReason::as_str`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectLabels {
    reason: &'static str,
}

/// The evaluator's own series.
#[derive(Clone, Default)]
pub struct MlMetrics {
    evaluations: Counter,
    failures: Counter,
    duration_ms: Gauge,
    samples_written: Counter,
    samples_rejected: Family<RejectLabels, Counter>,
}

impl MlMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = MlMetrics::default();
        registry.register(
            "vigil_ml_evaluations",
            "ML monitor evaluations run (one covers every model that was due)",
            m.evaluations.clone(),
        );
        registry.register(
            "vigil_ml_evaluation_failures",
            "ML monitor evaluations whose series could not be stored",
            m.failures.clone(),
        );
        registry.register(
            "vigil_ml_last_evaluation_duration_milliseconds",
            "How long the last ML monitor evaluation took, drift statistics included",
            m.duration_ms.clone(),
        );
        registry.register(
            "vigil_ml_samples_written",
            "Samples of derived ML series (drift, quality, performance) stored",
            m.samples_written.clone(),
        );
        registry.register(
            "vigil_ml_samples_rejected",
            "Samples of derived ML series the metric store refused, by reason (too_old: a delayed-label metric for a window older than storage.out_of_order_window)",
            m.samples_rejected.clone(),
        );
        m
    }
}

/// When each model was last evaluated, so that each gets its own `interval`.
#[derive(Default)]
struct Schedule {
    last: HashMap<String, i64>,
}

impl Schedule {
    fn due(&mut self, name: &str, interval_ms: i64, now_ms: i64) -> bool {
        match self.last.get_mut(name) {
            Some(t) if now_ms.saturating_sub(*t) < interval_ms => false,
            Some(t) => {
                *t = now_ms;
                true
            }
            None => {
                self.last.insert(name.to_owned(), now_ms);
                true
            }
        }
    }
}

/// One pass: the due models evaluated and their series appended.
fn evaluate(
    store: &MlStore,
    sink: &dyn MetricAppend,
    schedule: &mut Schedule,
    metrics: &MlMetrics,
    now_ms: i64,
) {
    let started = Instant::now();
    let mut any = false;
    let batch = store.evaluate_models(now_ms, |name, cfg| {
        let due = schedule.due(name, cfg.interval_ms, now_ms);
        any |= due;
        due
    });
    if !any {
        return;
    }
    metrics.evaluations.inc();
    if !batch.series.is_empty() {
        match sink.append(&batch) {
            Ok(out) => {
                metrics
                    .samples_written
                    .inc_by(u64::try_from(out.accepted).unwrap_or(u64::MAX));
                for (reason, n) in &out.rejected {
                    metrics
                        .samples_rejected
                        .get_or_create(&RejectLabels {
                            reason: reason.as_str(),
                        })
                        .inc_by(u64::try_from(*n).unwrap_or(u64::MAX));
                }
                if let Some(first) = &out.first_rejection {
                    tracing::debug!(first = %first, "ML series refused by the metric store");
                }
            }
            Err(e) => {
                metrics.failures.inc();
                tracing::error!(error = %e, "ML series could not be stored");
            }
        }
    }
    metrics
        .duration_ms
        .set(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX));
}

/// Runs the monitors until `stop`: every second, the models whose `interval` has elapsed are
/// evaluated on the blocking pool (one evaluation at a time); every five minutes the store is
/// checkpointed.
pub fn spawn_evaluator(
    store: Arc<MlStore>,
    sink: Arc<dyn MetricAppend>,
    clock: Arc<dyn Clock>,
    metrics: MlMetrics,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let schedule = Arc::new(parking_lot::Mutex::new(Schedule::default()));
        let mut last_checkpoint = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let (store, sink, clock, metrics, schedule) = (
                store.clone(),
                sink.clone(),
                clock.clone(),
                metrics.clone(),
                schedule.clone(),
            );
            let checkpoint = last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL;
            if checkpoint {
                last_checkpoint = Instant::now();
            }
            let res = tokio::task::spawn_blocking(move || {
                evaluate(
                    &store,
                    sink.as_ref(),
                    &mut schedule.lock(),
                    &metrics,
                    clock.now_ms(),
                );
                if checkpoint {
                    match store.checkpoint(clock.now_ms()) {
                        Ok(c) => tracing::debug!(
                            bytes = c.bytes,
                            segments_removed = c.segments_removed,
                            lock_ms = c.lock_held.as_millis(),
                            "ML store checkpointed"
                        ),
                        Err(e) => tracing::error!(error = %e, "ML store checkpoint failed"),
                    }
                }
            })
            .await;
            if let Err(e) = res {
                tracing::error!(error = %e, "ML evaluation task failed");
            }
        }
    })
}

/// The ML limits the decoders apply, from the `ml.limits` section.
pub fn decode_limits(cfg: &vigil_ml::MlConfig) -> vigil_codec::ml::MlDecodeLimits {
    vigil_codec::ml::MlDecodeLimits {
        max_features_per_event: cfg.limits.max_features_per_event,
        ..vigil_codec::ml::MlDecodeLimits::default()
    }
}

/// Warns when delayed-label metrics of some model cannot all land in their prediction-time
/// window: the metric store refuses samples older than its out-of-order window.
pub fn warn_on_label_horizon(cfg: &vigil_ml::MlConfig, ooo_window: Duration) {
    let ooo_ms = i64::try_from(ooo_window.as_millis()).unwrap_or(i64::MAX);
    let widest = std::iter::once(&cfg.defaults)
        .chain(cfg.models.values())
        .map(|m| m.label_horizon_ms)
        .max()
        .unwrap_or(0);
    if widest > ooo_ms {
        tracing::info!(
            label_horizon = %vigil_model::format_duration_ms(widest.unsigned_abs()),
            out_of_order_window = %vigil_model::format_duration_ms(ooo_ms.unsigned_abs()),
            "labels arriving later than storage.out_of_order_window after their predictions \
             update /api/v1/ml but not the stored performance series of their window \
             (counted in vigil_ml_samples_rejected_total{{reason=\"too_old\"}})"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_model_keeps_its_own_interval() {
        let mut s = Schedule::default();
        assert!(s.due("a", 60_000, 0));
        assert!(s.due("b", 10_000, 5_000));
        assert!(!s.due("a", 60_000, 30_000));
        assert!(s.due("b", 10_000, 15_000));
        assert!(s.due("a", 60_000, 60_000));
        assert!(!s.due("b", 10_000, 20_000));
    }
}
