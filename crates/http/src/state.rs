use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use prometheus_client::registry::Registry;
use vigil_codec::DecodeLimits;
use vigil_model::{Clock, SeriesLimits};
use vigil_storage::MetricStore;

use crate::HttpMetrics;

/// Scrape target status, provided by the server from its scrape manager. Values are already in
/// the JSON shape of Prometheus's `/api/v1/targets` entries.
pub trait TargetSource: Send + Sync {
    /// Active and dropped targets, from one snapshot.
    fn targets(&self) -> (Vec<serde_json::Value>, Vec<serde_json::Value>);
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
