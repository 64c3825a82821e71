//! Alerts leaving the rule engine: Prometheus's outgoing alert (`notifier.Alert`) and the
//! [`AlertSink`] the server connects to its notifier.

use std::collections::BTreeMap;

use vigil_model::{Labels, Timestamp};

/// An alert as Prometheus sends it to Alertmanager (`POST /api/v2/alerts`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingAlert {
    /// The alert's labels (`alertname` included), with the external labels added where the
    /// alert does not set them, as Prometheus's notifier does.
    pub labels: Labels,
    /// Expanded annotations; values may be empty.
    pub annotations: BTreeMap<String, String>,
    /// When the alert started firing (ms).
    pub starts_at_ms: Timestamp,
    /// For a firing alert `t + 4 × max(resend_delay, group interval)`, so that Alertmanager
    /// resolves it by itself if Vigil stops sending; for a resolved alert, when it resolved.
    pub ends_at_ms: Timestamp,
    /// `external_url + /graph?g0.expr=…&g0.tab=1`.
    pub generator_url: String,
}

impl OutgoingAlert {
    /// Whether the alert is resolved at `now_ms` (its end lies in the past).
    pub fn is_resolved_at(&self, now_ms: Timestamp) -> bool {
        self.ends_at_ms <= now_ms
    }
}

/// Receives the alerts each alerting-rule evaluation decides to send (new and still-firing
/// alerts every `resend_delay`, resolved ones for 15 minutes). Called on the evaluating thread:
/// implementations queue and return.
pub trait AlertSink: Send + Sync {
    fn send(&self, alerts: Vec<OutgoingAlert>);
}

/// An [`AlertSink`] that keeps everything it is sent, for tests and for `vigil test rules`.
#[derive(Debug, Default)]
pub struct CollectingSink {
    alerts: parking_lot::Mutex<Vec<OutgoingAlert>>,
}

impl CollectingSink {
    pub fn new() -> Self {
        CollectingSink::default()
    }

    /// Takes what was received so far.
    pub fn take(&self) -> Vec<OutgoingAlert> {
        std::mem::take(&mut *self.alerts.lock())
    }
}

impl AlertSink for CollectingSink {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        self.alerts.lock().extend(alerts);
    }
}
