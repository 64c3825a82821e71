//! Prometheus text format 0.0.4 and OpenMetrics 1.0.0 parsing.
//!
//! Owns: turning a scraped (or pushed) exposition body into samples with full, sorted label
//! sets and per-family metadata. The text format follows what Prometheus 2.42's `promparse`
//! accepts, quirks included (free whitespace, optional commas between labels, a trailing comma,
//! raw newlines inside label values, `#` lines that are not HELP/TYPE are comments). OpenMetrics
//! is parsed by the specification's ABNF and, in [`Validation::Strict`] mode (the default), every
//! MUST of OpenMetrics 1.0 that the upstream parser test-suite exercises: family grouping and
//! clashes, metadata placement, counter/histogram/summary/info/stateset value rules, exemplar
//! placement and size, timestamp ordering, `# EOF`.
//!
//! What is produced matches what Prometheus 2.42 stores for the same body: `_created`,
//! `_gcount`/`_gsum`, `info` and `stateset` samples are ordinary series; exemplars are parsed
//! (and checked) but dropped; NaN is stored as Prometheus's canonical NaN bit pattern;
//! OpenMetrics timestamps (float seconds) become `trunc(seconds * 1000)` milliseconds, as in
//! Prometheus. Labels with empty values are dropped, as Prometheus does.
//!
//! Does not own: relabelling, target labels, sample limits, staleness, deduplication of samples
//! with equal timestamps (the store decides), or choosing a format from HTTP headers beyond
//! [`Format::from_content_type`].
//!
//! Shape: a hand-written byte scanner ([`scan`]) shared by a text-format parser ([`text`]) and an
//! OpenMetrics parser ([`openmetrics`]); the OpenMetrics family rules live apart in
//! [`om_rules`] because they are semantic, not syntactic, and are switched off in
//! [`Validation::Prometheus`] mode. No regular expressions; per sample the only allocations are
//! the label strings themselves.

mod number;
mod om_rules;
mod openmetrics;
mod scan;
mod text;

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

/// How much of the OpenMetrics specification's semantics is enforced. Syntax is always checked
/// by the ABNF; the text format is unaffected by this setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// Every family rule of OpenMetrics 1.0 (grouping, clashing names, metadata placement,
    /// counter/histogram/summary/info/stateset values, exemplar placement and size, timestamp
    /// order). A body that breaks one is rejected whole, as the specification requires.
    #[default]
    Strict,
    /// Accept what Prometheus 2.42 accepts: syntax, label and unit checks only. Real exporters
    /// (e.g. client_golang with negative histogram buckets and a `_sum`) produce bodies that
    /// Prometheus scrapes but the specification forbids.
    Prometheus,
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
    /// One entry per family that had at least one HELP, TYPE or UNIT line, in order of first
    /// appearance. Families known only from their samples have no entry (as in Prometheus's
    /// metadata cache).
    pub metadata: Vec<MetricMetadata>,
}

/// Where and why a body failed to parse. Line and column are 1-based; the column counts
/// characters (Unicode scalar values), not bytes.
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

/// Prometheus's canonical NaN (`value.NormalNaN`): every NaN parsed from text is stored with
/// this bit pattern, which is distinct from the staleness marker.
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// Parses a whole exposition body; OpenMetrics bodies are checked strictly
/// ([`Validation::Strict`]).
///
/// # Errors
/// The first syntax or semantic error, with its line and column.
pub fn parse(body: &[u8], format: Format) -> Result<Exposition, ParseError> {
    parse_with(body, format, Validation::Strict)
}

/// Parses a whole exposition body with the given OpenMetrics validation level.
///
/// # Errors
/// The first syntax or semantic error, with its line and column.
pub fn parse_with(
    body: &[u8],
    format: Format,
    validation: Validation,
) -> Result<Exposition, ParseError> {
    let result = match format {
        Format::PrometheusText => text::parse(body),
        Format::OpenMetrics => openmetrics::parse(body, validation),
    };
    result.map_err(|e| e.locate(body))
}

/// The metadata entry for family `name` in `metadata`, created on first mention; both parsers
/// index entries by name so a later HELP/TYPE/UNIT updates the same entry.
fn family_entry<'a>(
    index: &mut std::collections::HashMap<&'a str, usize>,
    metadata: &mut Vec<MetricMetadata>,
    name: &'a str,
) -> usize {
    if let Some(&i) = index.get(name) {
        return i;
    }
    let i = metadata.len();
    metadata.push(MetricMetadata {
        metric_family: name.to_owned(),
        ..MetricMetadata::default()
    });
    index.insert(name, i);
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_picks_format() {
        assert_eq!(
            Format::from_content_type("application/openmetrics-text; version=1.0.0"),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::from_content_type(" Application/OpenMetrics-Text"),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::from_content_type("text/plain; version=0.0.4"),
            Format::PrometheusText
        );
        assert_eq!(Format::from_content_type(""), Format::PrometheusText);
    }

    #[test]
    fn error_display_has_line_and_column() {
        let e = parse(b"up 1\nfoo{job 1\n", Format::PrometheusText).expect_err("bad");
        assert_eq!(
            e.to_string(),
            r#"line 2, column 9: expected '=' after label name "job""#
        );
        assert_eq!((e.line, e.column), (2, 9));
    }

    #[test]
    fn column_counts_characters() {
        let e = parse("a{x=\"ü\"} 1 z\n".as_bytes(), Format::PrometheusText).expect_err("bad");
        assert_eq!((e.line, e.column), (1, 12), "{e}");
    }
}
