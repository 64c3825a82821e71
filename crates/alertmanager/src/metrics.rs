//! Vigil's own metrics about notifying (`vigil_notification*`, `vigil_nflog_*`,
//! `vigil_alertmanager_*`) and about sending alerts to external Alertmanagers
//! (`vigil_alerts_*`), in the server's `prometheus-client` registry.
//!
//! The metrics exist from the start and count whether or not anyone registered them; the caller
//! registers them once ([`crate::Alertmanager::register_metrics`],
//! [`crate::upstream::UpstreamSender::register_metrics`]). Label values are bounded:
//! integrations come from a fixed list, receivers and Alertmanager URLs from the configuration,
//! states from fixed lists.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::alertmanager::Core;
use crate::marker::AlertState;
use crate::silence::SilenceState;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct IntegrationLabels {
    /// `webhook`, `email`, `pagerduty` or `slack`.
    pub integration: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReceiverLabels {
    pub receiver: String,
    pub integration: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StateLabels {
    pub state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct UpstreamLabels {
    /// The Alertmanager's alerts URL, from the configuration.
    pub alertmanager: String,
}

/// The integrations Vigil sends through; their series exist from the start, as in Alertmanager.
pub(crate) const INTEGRATIONS: [&str; 4] = ["email", "pagerduty", "slack", "webhook"];

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0])
}

fn histogram_family<L: Clone + std::hash::Hash + Eq>() -> HistogramFamily<L> {
    Family::new_with_constructor(latency_histogram)
}

/// Metrics of the notification pipeline and the notification log.
#[derive(Debug, Clone)]
pub struct NotifierMetrics {
    /// `vigil_notifications_total{integration}`: notifications attempted (retries excluded).
    pub(crate) notifications: Family<IntegrationLabels, Counter>,
    /// `vigil_notifications_failed_total{receiver, integration}`: notifications given up on.
    pub(crate) notifications_failed: Family<ReceiverLabels, Counter>,
    /// `vigil_notification_requests_total{integration}`: attempts, retries included.
    pub(crate) requests: Family<IntegrationLabels, Counter>,
    /// `vigil_notification_requests_failed_total{integration}`.
    pub(crate) requests_failed: Family<IntegrationLabels, Counter>,
    /// `vigil_notification_latency_seconds{integration}`: one attempt.
    pub(crate) latency: HistogramFamily<IntegrationLabels>,
    /// `vigil_alertmanager_aggregation_groups`.
    pub(crate) aggregation_groups: Gauge,
    /// `vigil_nflog_queries_total`.
    pub(crate) nflog_queries: Counter,
    /// `vigil_nflog_entries`.
    pub(crate) nflog_entries: Gauge,
    /// `vigil_nflog_gc_removed_total`.
    pub(crate) nflog_gc_removed: Counter,
    /// `vigil_nflog_snapshots_total`: successful writes of the file.
    pub(crate) nflog_snapshots: Counter,
    /// `vigil_nflog_snapshot_failures_total`.
    pub(crate) nflog_snapshot_failures: Counter,
    /// `vigil_nflog_snapshot_size_bytes`.
    pub(crate) nflog_snapshot_size: Gauge,
    /// `vigil_nflog_load_failures_total`: the file was damaged at start (0 or 1).
    pub(crate) nflog_load_failures: Counter,
}

impl Default for NotifierMetrics {
    fn default() -> Self {
        let m = NotifierMetrics {
            notifications: Family::default(),
            notifications_failed: Family::default(),
            requests: Family::default(),
            requests_failed: Family::default(),
            latency: histogram_family(),
            aggregation_groups: Gauge::default(),
            nflog_queries: Counter::default(),
            nflog_entries: Gauge::default(),
            nflog_gc_removed: Counter::default(),
            nflog_snapshots: Counter::default(),
            nflog_snapshot_failures: Counter::default(),
            nflog_snapshot_size: Gauge::default(),
            nflog_load_failures: Counter::default(),
        };
        for integration in INTEGRATIONS {
            let l = IntegrationLabels { integration };
            let _ = m.notifications.get_or_create(&l);
            let _ = m.requests.get_or_create(&l);
            let _ = m.requests_failed.get_or_create(&l);
            let _ = m.latency.get_or_create(&l);
        }
        m
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl NotifierMetrics {
    pub(crate) fn notification(&self, integration: &'static str) {
        self.notifications
            .get_or_create(&IntegrationLabels { integration })
            .inc();
    }

    pub(crate) fn failed(&self, receiver: &str, integration: &'static str) {
        self.notifications_failed
            .get_or_create(&ReceiverLabels {
                receiver: receiver.to_owned(),
                integration,
            })
            .inc();
    }

    pub(crate) fn request(&self, integration: &'static str, seconds: f64, ok: bool) {
        let l = IntegrationLabels { integration };
        self.requests.get_or_create(&l).inc();
        self.latency.get_or_create(&l).observe(seconds);
        if !ok {
            self.requests_failed.get_or_create(&l).inc();
        }
    }

    fn known(integration: &str) -> Option<&'static str> {
        INTEGRATIONS.into_iter().find(|i| *i == integration)
    }

    /// `vigil_notifications_total{integration}`.
    pub fn notifications_for(&self, integration: &str) -> u64 {
        Self::known(integration).map_or(0, |integration| {
            self.notifications
                .get_or_create(&IntegrationLabels { integration })
                .get()
        })
    }

    /// `vigil_notification_requests_failed_total{integration}`.
    pub fn requests_failed_for(&self, integration: &str) -> u64 {
        Self::known(integration).map_or(0, |integration| {
            self.requests_failed
                .get_or_create(&IntegrationLabels { integration })
                .get()
        })
    }

    /// `vigil_notifications_failed_total{receiver, integration}`.
    pub fn failed_for(&self, receiver: &str, integration: &str) -> u64 {
        Self::known(integration).map_or(0, |integration| {
            self.notifications_failed
                .get_or_create(&ReceiverLabels {
                    receiver: receiver.to_owned(),
                    integration,
                })
                .get()
        })
    }

    pub(crate) fn set_nflog_entries(&self, n: usize) {
        self.nflog_entries.set(gauge_value(n));
    }

    fn register(&self, registry: &mut Registry) {
        // prometheus-client appends `_total` to counter names.
        registry.register(
            "vigil_notifications",
            "Notifications attempted, by integration (retries not counted)",
            self.notifications.clone(),
        );
        registry.register(
            "vigil_notifications_failed",
            "Notifications given up on (non-retryable error, or retries until the next flush failed)",
            self.notifications_failed.clone(),
        );
        registry.register(
            "vigil_notification_requests",
            "Notification attempts, retries included",
            self.requests.clone(),
        );
        registry.register(
            "vigil_notification_requests_failed",
            "Failed notification attempts",
            self.requests_failed.clone(),
        );
        registry.register(
            "vigil_notification_latency_seconds",
            "Duration of one notification attempt",
            self.latency.clone(),
        );
        registry.register(
            "vigil_alertmanager_aggregation_groups",
            "Aggregation groups of the dispatcher",
            self.aggregation_groups.clone(),
        );
        registry.register(
            "vigil_nflog_queries",
            "Notification log look-ups",
            self.nflog_queries.clone(),
        );
        registry.register(
            "vigil_nflog_entries",
            "Entries in the notification log",
            self.nflog_entries.clone(),
        );
        registry.register(
            "vigil_nflog_gc_removed",
            "Notification log entries removed after expiring",
            self.nflog_gc_removed.clone(),
        );
        registry.register(
            "vigil_nflog_snapshots",
            "Notification log files written",
            self.nflog_snapshots.clone(),
        );
        registry.register(
            "vigil_nflog_snapshot_failures",
            "Failures writing the notification log file",
            self.nflog_snapshot_failures.clone(),
        );
        registry.register(
            "vigil_nflog_snapshot_size_bytes",
            "Size of the last notification log file written",
            self.nflog_snapshot_size.clone(),
        );
        registry.register(
            "vigil_nflog_load_failures",
            "Notification log files found damaged at start (the notifier started empty)",
            self.nflog_load_failures.clone(),
        );
    }
}

/// `vigil_alertmanager_alerts{state}` and `vigil_alertmanager_silences{state}`, computed at
/// scrape time from the store, the marker and the silences.
#[derive(Debug)]
struct StateCollector {
    core: Arc<Core>,
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = self.core.clock.now_ms();
        let alerts: Family<StateLabels, Gauge> = Family::default();
        let mut counts = [0usize; 3];
        for fp in self.core.alerts.unresolved_fingerprints(now) {
            let i = match self.core.marker.status(fp).state {
                AlertState::Active => 0,
                AlertState::Suppressed => 1,
                AlertState::Unprocessed => 2,
            };
            if let Some(c) = counts.get_mut(i) {
                *c += 1;
            }
        }
        for (state, n) in ["active", "suppressed", "unprocessed"]
            .into_iter()
            .zip(counts)
        {
            alerts
                .get_or_create(&StateLabels { state })
                .set(gauge_value(n));
        }
        let e = encoder.encode_descriptor(
            "vigil_alertmanager_alerts",
            "Alerts held by the notifier that have not resolved, by state",
            None,
            alerts.metric_type(),
        )?;
        alerts.encode(e)?;
        let silences: Family<StateLabels, Gauge> = Family::default();
        for state in [
            SilenceState::Active,
            SilenceState::Pending,
            SilenceState::Expired,
        ] {
            silences
                .get_or_create(&StateLabels {
                    state: state.as_str(),
                })
                .set(gauge_value(self.core.silences.count_state(state)));
        }
        let e = encoder.encode_descriptor(
            "vigil_alertmanager_silences",
            "Silences by state",
            None,
            silences.metric_type(),
        )?;
        silences.encode(e)
    }
}

pub(crate) fn register_notifier(core: &Arc<Core>, registry: &mut Registry) {
    core.metrics.register(registry);
    registry.register_collector(Box::new(StateCollector { core: core.clone() }));
}

/// Metrics of the sender to external Alertmanagers ([`crate::upstream`]).
#[derive(Debug, Clone, Default)]
pub struct UpstreamMetrics {
    /// `vigil_alerts_dropped_total`: alerts dropped because the queue was full, or because no
    /// Alertmanager accepted their batch.
    pub(crate) dropped: Counter,
    /// `vigil_alerts_sent_total{alertmanager}`.
    pub(crate) sent: Family<UpstreamLabels, Counter>,
    /// `vigil_alerts_send_failed_total{alertmanager}`: alerts in requests that failed.
    pub(crate) failed: Family<UpstreamLabels, Counter>,
    /// `vigil_alerts_queue_length`.
    pub(crate) queue_length: Gauge,
    /// `vigil_alerts_queue_capacity`.
    pub(crate) queue_capacity: Gauge,
    /// `vigil_alerts_alertmanagers`: Alertmanagers alerts are sent to.
    pub(crate) alertmanagers: Gauge,
}

impl UpstreamMetrics {
    /// `vigil_alerts_sent_total{alertmanager}`.
    pub fn sent_to(&self, url: &str) -> u64 {
        self.sent
            .get_or_create(&UpstreamLabels {
                alertmanager: url.to_owned(),
            })
            .get()
    }

    /// `vigil_alerts_send_failed_total{alertmanager}`.
    pub fn failed_to(&self, url: &str) -> u64 {
        self.failed
            .get_or_create(&UpstreamLabels {
                alertmanager: url.to_owned(),
            })
            .get()
    }

    /// `vigil_alerts_dropped_total`.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    pub(crate) fn sent(&self, url: &str, n: usize) {
        self.sent
            .get_or_create(&UpstreamLabels {
                alertmanager: url.to_owned(),
            })
            .inc_by(n as u64);
    }

    pub(crate) fn failed(&self, url: &str, n: usize) {
        self.failed
            .get_or_create(&UpstreamLabels {
                alertmanager: url.to_owned(),
            })
            .inc_by(n as u64);
    }

    pub(crate) fn set_queue(&self, len: usize) {
        self.queue_length.set(gauge_value(len));
    }

    /// Drops the per-Alertmanager series of targets no longer configured.
    pub(crate) fn forget(&self, url: &str) {
        let l = UpstreamLabels {
            alertmanager: url.to_owned(),
        };
        self.sent.remove(&l);
        self.failed.remove(&l);
    }

    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "vigil_alerts_dropped",
            "Alerts for external Alertmanagers dropped (queue full, or no Alertmanager accepted them)",
            self.dropped.clone(),
        );
        registry.register(
            "vigil_alerts_sent",
            "Alerts sent to an external Alertmanager",
            self.sent.clone(),
        );
        registry.register(
            "vigil_alerts_send_failed",
            "Alerts in requests to an external Alertmanager that failed",
            self.failed.clone(),
        );
        registry.register(
            "vigil_alerts_queue_length",
            "Alerts waiting to be sent to external Alertmanagers",
            self.queue_length.clone(),
        );
        registry.register(
            "vigil_alerts_queue_capacity",
            "Capacity of the queue of alerts for external Alertmanagers",
            self.queue_capacity.clone(),
        );
        registry.register(
            "vigil_alerts_alertmanagers",
            "External Alertmanagers alerts are sent to",
            self.alertmanagers.clone(),
        );
    }
}
