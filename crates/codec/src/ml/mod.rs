//! ML prediction and label events: JSON bodies and OTLP log records → [`vigil_model::ml`].
//!
//! Owns: reading the bodies of `POST /api/v1/ml/predictions` and `POST /api/v1/ml/labels`
//! ([`decode_predictions`], [`decode_labels`]) and picking ML prediction events out of OTLP log
//! records ([`decode_otlp_log_events`], [`decode_otlp_logs`]), with per-event validation and
//! per-event errors.
//!
//! Does not own: transport, decompression (the caller undoes `Content-Encoding` with
//! [`crate::decompress`], capped, and checks the body size), filling in the receive time for
//! events without a timestamp, or storing anything.
//!
//! Shape: a body is a batch of independent events, and one bad event must not cost the others,
//! so decoding never fails as a whole: every valid event comes back in [`MlDecoded::events`],
//! every invalid one as an [`EventError`] naming its line, its position and the field. JSON is
//! read with serde visitors straight into the output types (strings borrowed from the body
//! until they are copied into the event, no `serde_json::Value` per event); type errors are
//! recorded while the rest of the event is skipped, so that the framing always knows where the
//! next event starts.
//!
//! # JSON wire format
//!
//! The body is either a JSON array of event objects or JSON lines — one object per line, blank
//! lines skipped, `\r\n` allowed. The first byte that is not JSON whitespace (after an optional
//! UTF-8 byte order mark) decides: `[` means an array. An empty body holds no events.
//!
//! A prediction event (`/api/v1/ml/predictions`):
//!
//! | field | type | |
//! | --- | --- | --- |
//! | `model` | string | required; 1–200 bytes (`max_name_bytes`) |
//! | `version` | string | optional; `""` when absent |
//! | `id` | string or integer | optional; non-empty; an integer is kept as its decimal text |
//! | `timestamp` | number or string | optional: Unix seconds (fraction allowed), or RFC 3339 (`2026-11-24T10:00:00.123Z`, `2026-11-24T11:00:00+01:00`); absent → the receive time |
//! | `features` | object | optional: name → number, string, bool or `null`; names 1–200 bytes and unique |
//! | `prediction` | number, string or bool | required |
//! | `score` | number | optional |
//! | `probabilities` | object | optional: class → number; class names 1–200 bytes and unique |
//! | `label` | number, string or bool | optional: the ground truth, when known at prediction time |
//!
//! A label event (`/api/v1/ml/labels`): `id` (string or integer, required), `label` (number,
//! string or bool, required), `timestamp` (optional, as above), `model` (string, optional).
//!
//! Rules common to both:
//! - Unknown fields are ignored, so that senders can add fields before the server reads them.
//!   A field given twice is an error.
//! - `null` is the same as an absent field for optional fields; for required ones it is an
//!   error.
//! - A boolean outcome (`prediction`, `label`) is the class `"true"` or `"false"`; a string is a
//!   class; a number stays a number (see [`vigil_model::Outcome::class_text`] for comparing
//!   them).
//! - JSON has no NaN or infinity: the strings `"NaN"`, `"inf"` as feature values are text
//!   features, not numbers. A number too large for a 64-bit float (`1e400`) makes the event
//!   invalid JSON.
//! - Timestamps are converted to milliseconds (fractions of a millisecond rounded for numbers,
//!   truncated for RFC 3339 text); numbers outside the years 0000–9999 as Unix seconds are
//!   rejected, which also catches milliseconds sent as seconds.
//! - String values (`version`, `id`, text features, class outcomes) are at most 4096 bytes
//!   (`max_string_bytes`); an event has at most 1000 features and 1000 probabilities
//!   (`max_features_per_event`).
//! - A body holds at most `max_events_per_body` events; the first event past it is reported and
//!   nothing after it is read.
//!
//! In an array, an element whose JSON is broken inside its brackets is reported and skipped; a
//! body whose structure breaks (an unterminated array, object or string) is reported at the
//! element where it breaks, keeping the events before it. In JSON lines each line stands alone.
//!
//! # OTLP log records
//!
//! See [`decode_otlp_log_events`] for which log records are ML prediction events and how their
//! attributes map onto [`vigil_model::ml::PredictionEvent`].

mod event;
mod json;
mod otlp_json;
mod otlp_logs;

#[cfg(test)]
mod tests;

use std::fmt;

pub use json::{decode_labels, decode_predictions};
pub use otlp_logs::{decode_otlp_log_events, decode_otlp_logs};

/// Limits applied to every event while decoding. A limit of 0 means "none allowed", not
/// "unlimited".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MlDecodeLimits {
    /// Most features in one event; also bounds the number of class probabilities.
    pub max_features_per_event: usize,
    /// Most events in one body; the first event past it is reported and the rest are not read.
    pub max_events_per_body: usize,
    /// Longest string value (version, id, text feature, class), in bytes.
    pub max_string_bytes: usize,
    /// Longest name (model, feature name, probability class), in bytes.
    pub max_name_bytes: usize,
    /// Most errors listed in [`MlDecoded::errors`]; later ones are only counted, in
    /// [`MlDecoded::more_errors`].
    pub max_errors_reported: usize,
}

impl Default for MlDecodeLimits {
    fn default() -> Self {
        MlDecodeLimits {
            max_features_per_event: 1000,
            max_events_per_body: 1_000_000,
            max_string_bytes: 4096,
            max_name_bytes: 200,
            max_errors_reported: 100,
        }
    }
}

/// The events of one body, and why the others were rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct MlDecoded<T> {
    /// Every valid event, in body order.
    pub events: Vec<T>,
    /// Where each of `events` was in the body, `(line, index)` as in [`EventError`], so that a
    /// later refusal (by the store) can name it too.
    pub positions: Vec<(usize, usize)>,
    /// The first [`MlDecodeLimits::max_errors_reported`] errors, in body order.
    pub errors: Vec<EventError>,
    /// Errors past those listed in `errors`.
    pub more_errors: u64,
    /// OTLP log records that are not ML events (no `ml.model` attribute); always 0 for JSON.
    pub ignored: u64,
}

impl<T> Default for MlDecoded<T> {
    fn default() -> Self {
        MlDecoded {
            events: Vec::new(),
            positions: Vec::new(),
            errors: Vec::new(),
            more_errors: 0,
            ignored: 0,
        }
    }
}

impl<T> MlDecoded<T> {
    /// How many errors there were, listed or not: the number of rejected events, plus one
    /// when the body's framing broke (which rejects the rest of it).
    pub fn error_count(&self) -> u64 {
        u64::try_from(self.errors.len())
            .unwrap_or(u64::MAX)
            .saturating_add(self.more_errors)
    }
}

/// Why one event (or the rest of a body) was rejected.
///
/// Displayed as `line 3: field "features.amount": must be a number, string, bool or null, got
/// an array`. OTLP errors have line 0 and a message that names the record and the attribute
/// itself (`resource_logs[0].scope_logs[0].log_records[2]: attribute "ml.score": …`), so they
/// display as the message alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// 1-based line of the body where the event starts (for arrays too); 0 for OTLP.
    pub line: usize,
    /// 1-based position of the event in the body (for OTLP: of the log record in the request).
    pub index: usize,
    /// The offending field as a dotted path (`model`, `features.amount`, `timestamp`), when the
    /// error is about one field; the attribute key for OTLP.
    pub field: Option<String>,
    /// What is wrong, without the line and field.
    pub message: String,
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
            if let Some(field) = &self.field {
                write!(f, "field {field:?}: ")?;
            }
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for EventError {}

/// What one event's decoder reports: the field at fault (if any) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invalid {
    field: Option<String>,
    message: String,
}

impl Invalid {
    fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    fn event(message: impl Into<String>) -> Self {
        Invalid {
            field: None,
            message: message.into(),
        }
    }
}

/// Collects events and errors under the limits, so that every decoder counts the same way.
struct Collector<'l, T> {
    limits: &'l MlDecodeLimits,
    out: MlDecoded<T>,
}

impl<'l, T> Collector<'l, T> {
    fn new(limits: &'l MlDecodeLimits) -> Self {
        Collector {
            limits,
            out: MlDecoded::default(),
        }
    }

    fn error(&mut self, line: usize, index: usize, invalid: Invalid) {
        if self.out.errors.len() < self.limits.max_errors_reported {
            self.out.errors.push(EventError {
                line,
                index,
                field: invalid.field,
                message: invalid.message,
            });
        } else {
            self.out.more_errors = self.out.more_errors.saturating_add(1);
        }
    }

    fn push(&mut self, line: usize, index: usize, event: Result<T, Invalid>) {
        match event {
            Ok(e) => {
                self.out.events.push(e);
                self.out.positions.push((line, index));
            }
            Err(invalid) => self.error(line, index, invalid),
        }
    }

    /// Whether event number `index` (1-based) is past the per-body limit; if so, reports it
    /// (at the line `line` finds) as the end of what is read.
    fn over_event_limit(&mut self, line: impl FnOnce() -> usize, index: usize) -> bool {
        if index <= self.limits.max_events_per_body {
            return false;
        }
        let limit = self.limits.max_events_per_body;
        self.error(
            line(),
            index,
            Invalid::event(format!(
                "more than {limit} events in one body; this event and the rest were not read"
            )),
        );
        true
    }
}

/// At most 40 characters of `s`, with `…` when cut: enough to recognise a value in a message.
fn quote_short(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((cut, _)) => format!("{:?}…", s.get(..cut).unwrap_or(s)),
        None => format!("{s:?}"),
    }
}
