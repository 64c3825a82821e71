//! Vigil's network APIs.
//!
//! Owns: the axum routers (one per API family: ingest, Prometheus read and query APIs,
//! federation, status/ops, Alertmanager's API v2), the OTLP gRPC service, request parameter
//! parsing in Prometheus's conventions, Prometheus's JSON and text number formats, the query
//! queue and the in-memory catalogue of pushed metric metadata, and the one function that turns
//! an [`vigil_model::ErrorKind`] into an HTTP status ([`status_for`]).
//!
//! Does not own: decoding (codec), storage (only `vigil_storage` traits), scraping or config,
//! alert semantics (the `vigil_alertmanager` facade, held concretely in [`AppState`]: it is
//! the only implementation and has no engine behind it to swap).
//! What the server knows and this crate must not (scrape targets, config reload) comes in
//! through the small [`TargetSource`] and [`Control`] traits, so this crate never depends on a
//! concrete engine or on the scrape manager.

mod alertmanager;
mod error;
mod federate;
mod grpc;
mod ingest;
mod metadata;
mod metrics;
mod ml;
mod numfmt;
mod ops;
mod params;
mod query;
mod read;
mod router;
mod rules;
mod state;
mod status;

pub use error::{status_for, ApiError, ErrorType};
pub use grpc::{otlp_grpc_logs_service, otlp_grpc_service};
pub use metadata::MetadataCatalog;
pub use metrics::HttpMetrics;
pub use query::engine::{QueryEngine, QueryLimits};
pub use router::{main_router, otlp_http_router};
pub use rules::RulesHandle;
pub use state::{default_ingest_slots, AppState, Control, IngestLimits, TargetSource};
pub use status::{LoadedConfig, ServerInfo, PROMETHEUS_API_VERSION};
