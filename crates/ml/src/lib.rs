//! ML monitoring for Vigil.
//!
//! Owns: the drift statistics (Evidently's default method choice, KS, χ², Z, PSI, Wasserstein,
//! Jensen-Shannon, KL, Hellinger, Anderson-Darling) computed to match scipy and Evidently
//! ([`stats`], [`drift`]); data-quality ratios ([`quality`]); the
//! [`Column`] type they read, and reading dataset files (CSV, Parquet) into columns
//! ([`read_table`]).
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
pub use store::{IngestReport, MlStore, ModelSummary, ReferenceSummary};
pub use table::{read_table, Format, Location, TableError, TableLimits, TypeOverrides};
