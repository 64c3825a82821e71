//! ML monitoring for Vigil.
//!
//! Owns: the drift statistics (Evidently's default method choice, KS, χ², Z, PSI, Wasserstein,
//! Jensen-Shannon, KL, Hellinger, Anderson-Darling) computed to match scipy and Evidently
//! ([`stats`], [`drift`]); data-quality ratios ([`quality`]); the
//! [`Column`] type they read, and reading dataset files (CSV, Parquet) into columns
//! ([`read_table`]).
//!
//! Also owns the prediction and label event store ([`MlStore`]): per model and version a
//! bounded sample of events, pending predictions and delayed-label performance, in memory or
//! durable in a data directory (WAL, snapshot and reference files, `docs/format/ml.md`).
//!
//! Does not own: HTTP, file formats' transport, or where series are stored.

mod column;
pub mod config;
pub mod drift;
mod error;
mod monitor;
pub mod quality;
pub mod stats;
mod store;
pub mod table;

pub use column::{Column, ColumnKind, Values};
pub use config::{MlConfig, RawMlConfig};
pub use drift::{
    column_drift, dataset_drift, ColumnDrift, DatasetDrift, DatasetSummary, DriftOptions, Method,
};
pub use error::MlError;
pub use monitor::{FeatureQuality, VersionDrift};
pub use quality::{feature_quality, Quality};
pub use store::{
    CheckpointStats, IngestReport, MlStore, ModelSummary, RecoveryReport, ReferenceSummary,
};
pub use table::{
    read_table, read_table_bytes, Format, Location, TableError, TableLimits, TypeOverrides,
};
