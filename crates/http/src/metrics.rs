//! Vigil's own metrics for the API layer. Label values are bounded: protocols come from
//! `Protocol::name`, reasons from `RejectReason::as_str` or a fixed list here, query kinds and
//! outcomes from fixed strings (`instant`/`range`, `success` or an `errorType`), alert
//! statuses `firing`/`resolved`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtocolLabels {
    pub protocol: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    pub protocol: &'static str,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub protocol: &'static str,
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertStatusLabels {
    /// `firing` or `resolved`.
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueryLabels {
    pub kind: &'static str,
    pub outcome: &'static str,
}

/// Labels of `vigil_ml_events_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MlEventLabels {
    /// `predictions`, `labels` or `otlp_logs`.
    pub api: &'static str,
    /// `accepted`, `rejected` or `ignored` (OTLP log records that are not ML events).
    pub outcome: &'static str,
}

/// Ingest and query counters, shared by the handlers.
#[derive(Clone, Debug, Default)]
pub struct HttpMetrics {
    /// `vigil_samples_ingested_total{protocol}`
    pub samples_ingested: Family<ProtocolLabels, Counter>,
    /// `vigil_samples_rejected_total{protocol,reason}`
    pub samples_rejected: Family<RejectLabels, Counter>,
    /// `vigil_ingest_requests_total{protocol,code}`
    pub requests: Family<RequestLabels, Counter>,
    /// `vigil_queries_total{kind,outcome}`: PromQL queries answered.
    pub queries: Family<QueryLabels, Counter>,
    /// `vigil_alerts_received_total{status}`: alerts posted to `/api/v2/alerts`.
    pub alerts_received: Family<AlertStatusLabels, Counter>,
    /// `vigil_ml_events_total{api, outcome}`: ML events received, by what became of them.
    pub ml_events: Family<MlEventLabels, Counter>,
}

impl HttpMetrics {
    /// Creates the metrics and registers them.
    pub fn new(registry: &mut Registry) -> Self {
        let m = HttpMetrics::default();
        registry.register(
            "vigil_samples_ingested",
            "Samples accepted into the metric store, by ingest protocol",
            m.samples_ingested.clone(),
        );
        registry.register(
            "vigil_samples_rejected",
            "Samples refused at ingest, by protocol and reason",
            m.samples_rejected.clone(),
        );
        registry.register(
            "vigil_ingest_requests",
            "Push requests answered, by protocol and status code",
            m.requests.clone(),
        );
        registry.register(
            "vigil_queries",
            "PromQL queries answered, by kind (instant, range) and outcome (success or the error type)",
            m.queries.clone(),
        );
        registry.register(
            "vigil_alerts_received",
            "Alerts posted to the Alertmanager API, valid or not, by status (firing, resolved)",
            m.alerts_received.clone(),
        );
        registry.register(
            "vigil_ml_events",
            "ML prediction and label events received, by API (predictions, labels, otlp_logs) and outcome (accepted, rejected, ignored)",
            m.ml_events.clone(),
        );
        m
    }
}
