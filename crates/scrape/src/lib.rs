//! Prometheus-compatible scraping: the `global` and `scrape_configs` sections of
//! `prometheus.yml`, target discovery (static and file-based), relabelling, and one scrape loop
//! per target that appends samples, staleness markers and report series (`up`,
//! `scrape_duration_seconds` …) to a [`vigil_storage::MetricAppend`].
//!
//! Owns: config types and their validation ([`RawScrapeConfig`] → [`validate`] →
//! [`ScrapeSettings`], errors located by path), Prometheus duration syntax, relabelling with
//! Prometheus's exact semantics ([`relabel`]), file_sd, the HTTP scrape (headers, auth, TLS,
//! gzip, limits), staleness, and the [`ScrapeManager`] that reconciles running loops with a
//! reloaded config and reports target status in the shape of `/api/v1/targets`.
//!
//! Does not own: reading the config file or mapping error paths to lines (server), parsing
//! exposition bodies (`vigil_codec::exposition`), storage, or HTTP APIs (http crate, which
//! serializes [`TargetsStatus`]). Other service discoveries (Kubernetes, Consul …) are
//! recognised in the config and rejected as unsupported rather than silently ignored.
//!
//! Shape: validation is synchronous and pure; processing a scrape (labels, limits, staleness)
//! is a synchronous function of the loop's state and the parsed body, so Prometheus's rules are
//! unit-tested without a network; only fetching, scheduling and discovery are async. Time for
//! timestamps and offsets comes from the injected [`vigil_model::Clock`].

pub mod config;
mod discovery;
mod duration;
mod error;
mod http_client;
mod manager;
mod metrics;
mod pool;
mod process;
pub mod relabel;
mod scrape_loop;
mod status;
mod target;

pub use config::{
    validate, validate_in_dir, FileSdSettings, GlobalConfig, GlobalSettings, HttpSettings,
    RawScrapeConfig, ScrapeConfig, ScrapePoolSettings, ScrapeSettings,
};
pub use discovery::FILEPATH_LABEL;
pub use duration::{ByteSize, PromDuration};
pub use error::{ConfigError, ScrapeError};
pub use http_client::USER_AGENT;
pub use manager::{ManagerOptions, ScrapeManager};
pub use metrics::ScrapeMetrics;
pub use relabel::{RelabelAction, RelabelConfig, RelabelRule};
pub use status::{ActiveTarget, DroppedTarget, TargetHealth, TargetMetadata, TargetsStatus};
pub use target::TargetGroup;
