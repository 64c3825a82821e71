use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use prometheus_client::registry::Registry;
use vigil_alertmanager::Alertmanager;
use vigil_codec::ml::MlDecodeLimits;
use vigil_codec::DecodeLimits;
use vigil_model::{Clock, MetricMetadata, SeriesLimits};
use vigil_storage::MetricStore;

use crate::{HttpMetrics, LoadedConfig, MetadataCatalog, QueryEngine, ServerInfo};

/// Scrape target status, provided by the server from its scrape manager. Values are already in
/// the JSON shape of Prometheus's `/api/v1/targets` entries.
pub trait TargetSource: Send + Sync {
    /// Active and dropped targets, from one snapshot.
    fn targets(&self) -> (Vec<serde_json::Value>, Vec<serde_json::Value>);

    /// HELP/TYPE/UNIT from the last scrape of every active target, one entry per target and
    /// family (duplicates across targets included).
    fn metadata(&self) -> Vec<MetricMetadata>;
}

/// Operations the server performs on request.
pub trait Control: Send + Sync {
    /// Re-reads the configuration file and applies it.
    ///
    /// # Errors
    /// The reason the new configuration was refused; the old one stays in force.
    fn reload(&self) -> Result<(), String>;
}

/// Limits applied on every push request; replaced as a whole on reload.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestLimits {
    pub decode: DecodeLimits,
    pub series: SeriesLimits,
    /// Per-event limits of ML prediction and label events.
    pub ml: MlDecodeLimits,
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn MetricStore>,
    pub clock: Arc<dyn Clock>,
    pub targets: Arc<dyn TargetSource>,
    pub control: Arc<dyn Control>,
    pub limits: Arc<RwLock<IngestLimits>>,
    pub registry: Arc<Registry>,
    pub metrics: HttpMetrics,
    pub ready: Arc<AtomicBool>,
    /// Decode-and-append jobs allowed at once; further pushes wait for a slot. Each job may hold
    /// a body of up to the decompressed limit, so this bounds ingest memory.
    pub ingest_slots: Arc<tokio::sync::Semaphore>,
    /// PromQL evaluation with its limits and queue.
    pub query: Arc<QueryEngine>,
    /// Metric metadata declared by pushes.
    pub metadata: Arc<MetadataCatalog>,
    /// Facts for the status endpoints, fixed at start.
    pub info: Arc<ServerInfo>,
    /// The configuration in force; replaced on reload.
    pub config: Arc<RwLock<LoadedConfig>>,
    /// The embedded Alertmanager behind `/api/v2/` (its configuration is replaced on reload
    /// through its own `apply_config`).
    pub alertmanager: Arc<Alertmanager>,
    /// The rule manager behind `/api/v1/rules` and `/api/v1/alerts`.
    pub rules: crate::RulesHandle,
    /// The ML event store behind `/api/v1/ml/` and OTLP logs (held concretely, as the
    /// Alertmanager is: one implementation, no engine to swap).
    pub ml: Arc<vigil_ml::MlStore>,
}

/// Concurrent ingest jobs: enough to keep every core busy while one job waits on fsync.
pub fn default_ingest_slots() -> Arc<tokio::sync::Semaphore> {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    Arc::new(tokio::sync::Semaphore::new(cores * 4))
}

impl AppState {
    pub fn limits(&self) -> IngestLimits {
        *self.limits.read()
    }
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
