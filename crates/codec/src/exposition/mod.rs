//! Prometheus text format 0.0.4 and OpenMetrics 1.0.0. (API contract; implementation in progress.)

use thiserror::Error;
use vigil_model::{Labels, MetricMetadata};

/// Which text format a body is in, from the scrape response's Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4` (and anything unrecognised, as Prometheus falls back).
    PrometheusText,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

/// One parsed sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    /// All labels including `__name__`, sorted.
    pub labels: Labels,
    pub value: f64,
    /// Explicit timestamp in milliseconds, if the line had one.
    pub timestamp_ms: Option<i64>,
}

/// A fully parsed body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    pub samples: Vec<ParsedSample>,
    pub metadata: Vec<MetricMetadata>,
}

/// Where and why a body failed to parse. Line and column are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Format {
    /// Picks the format from a Content-Type header value.
    pub fn from_content_type(content_type: &str) -> Format {
        if content_type
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/openmetrics-text")
        {
            Format::OpenMetrics
        } else {
            Format::PrometheusText
        }
    }
}

/// Parses a whole exposition body.
///
/// # Errors
/// The first syntax or semantic error, with its line and column.
pub fn parse(_body: &[u8], _format: Format) -> Result<Exposition, ParseError> {
    Err(ParseError {
        line: 1,
        column: 1,
        message: "exposition parser not implemented yet".to_owned(),
    })
}
