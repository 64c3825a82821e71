//! The data model every other Vigil crate speaks.
//!
//! Owns: label sets (sorted, validated), label matchers, samples and timestamps, the staleness
//! marker, ingest batches with metric metadata, the injectable [`Clock`], per-series limits, the
//! config-path → line map every YAML file's errors use ([`YamlPositions`]), ML prediction and
//! label events ([`ml`]), and [`ErrorKind`], the small vocabulary every crate's error maps onto
//! so that the http crate can choose a status code in one place.
//!
//! Does not own: any I/O, async runtime, wire format or storage. This crate must stay free of
//! tokio, axum and prost so that codecs, storage engines and query engines can all depend on it
//! without pulling each other in.

mod batch;
pub mod civil;
mod clock;
mod duration;
mod error;
mod gofmt;
mod labels;
mod limits;
mod matcher;
pub mod ml;
mod sample;
mod yaml_pos;

pub use batch::{Batch, MetricMetadata, MetricType, SeriesSamples};
pub use clock::{Clock, ManualClock, SystemClock};
pub use duration::{format_duration_ms, parse_duration_ms};
pub use error::{ErrorKind, ModelError};
pub use gofmt::{
    format_e as go_format_e, format_f as go_format_f, format_g as go_format_g,
    format_g_prec as go_format_g_prec, format_openmetrics as go_format_openmetrics,
    query_escape as go_query_escape, quote as go_quote, quote_meta as go_quote_meta,
    write_e as go_write_e, write_f as go_write_f,
};
pub use labels::{
    is_valid_label_name, is_valid_metric_name, Label, Labels, LabelsBuilder, METRIC_NAME_LABEL,
};
pub use limits::SeriesLimits;
pub use matcher::{MatchOp, Matcher};
pub use ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};
pub use sample::{almost_equal, is_stale_nan, Sample, Timestamp, STALE_NAN, STALE_NAN_BITS};
pub use yaml_pos::YamlPositions;
