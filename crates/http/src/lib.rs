//! Vigil's network APIs.
//!
//! Owns: the axum routers (one per API family: ingest, Prometheus read API, status/ops), the
//! OTLP gRPC service, request parameter parsing in Prometheus's conventions, and the one
//! function that turns an [`vigil_model::ErrorKind`] into an HTTP status ([`status_for`]).
//!
//! Does not own: decoding (codec), storage (only `vigil_storage` traits), scraping or config.
//! What the server knows and this crate must not (scrape targets, config reload) comes in
//! through the small [`TargetSource`] and [`Control`] traits, so this crate never depends on a
//! concrete engine or on the scrape manager.

mod error;
mod grpc;
mod ingest;
mod metrics;
mod ops;
mod params;
mod read;
mod router;
mod state;

pub use error::{status_for, ApiError};
pub use grpc::otlp_grpc_service;
pub use metrics::HttpMetrics;
pub use router::{main_router, otlp_http_router};
pub use state::{default_ingest_slots, AppState, Control, IngestLimits, TargetSource};
