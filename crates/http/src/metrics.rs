//! Vigil's own metrics for the API layer. Label values are bounded: protocols come from
//! `Protocol::name`, reasons from `RejectReason::as_str` or a fixed list here.

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

/// Ingest counters, shared by every push handler.
#[derive(Clone, Debug, Default)]
pub struct HttpMetrics {
    /// `vigil_samples_ingested_total{protocol}`
    pub samples_ingested: Family<ProtocolLabels, Counter>,
    /// `vigil_samples_rejected_total{protocol,reason}`
    pub samples_rejected: Family<RejectLabels, Counter>,
    /// `vigil_ingest_requests_total{protocol,code}`
    pub requests: Family<RequestLabels, Counter>,
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
        m
    }
}
