//! The data model every other Vigil crate speaks.
//!
//! Owns: label sets (sorted, validated), label matchers, samples and timestamps, the staleness
//! marker, ingest batches with metric metadata, the injectable [`Clock`], per-series limits, and
//! [`ErrorKind`], the small vocabulary every crate's error maps onto so that the http crate can
//! choose a status code in one place.
//!
//! Does not own: any I/O, async runtime, wire format or storage. This crate must stay free of
//! tokio, axum and prost so that codecs, storage engines and query engines can all depend on it
//! without pulling each other in.

mod batch;
mod clock;
mod error;
mod labels;
mod limits;
mod matcher;
mod sample;

pub use batch::{Batch, MetricMetadata, MetricType, SeriesSamples};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ErrorKind, ModelError};
pub use labels::{
    is_valid_label_name, is_valid_metric_name, Label, Labels, LabelsBuilder, METRIC_NAME_LABEL,
};
pub use limits::SeriesLimits;
pub use matcher::{MatchOp, Matcher};
pub use sample::{is_stale_nan, Sample, Timestamp, STALE_NAN, STALE_NAN_BITS};
