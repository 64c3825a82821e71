//! OTLP log records → ML prediction events.
//!
//! Owns: which log records are ML prediction events, the mapping of their `ml.*` attributes
//! onto [`PredictionEvent`], and the protobuf and OTLP/JSON entry points for a logs export
//! request. SDKs that already emit one log record per prediction (the common way to log
//! predictions from a Python service) reach Vigil without a second client.
//!
//! Records without `ml.model` are other logs: they are counted in [`MlDecoded::ignored`], not
//! rejected, so that one OTLP pipeline can carry both.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as AV, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use vigil_model::ml::{FeatureValue, Outcome, PredictionEvent};

use super::event::first_duplicate;
use super::{otlp_json, quote_short, Collector, Invalid, MlDecodeLimits, MlDecoded};
use crate::{wire_budget, CodecError};

/// The protocol name in errors.
const PROTOCOL: &str = "otlp_logs";

const MODEL: &str = "ml.model";
const VERSION: &str = "ml.version";
const PREDICTION_ID: &str = "ml.prediction_id";
const PREDICTION: &str = "ml.prediction";
const SCORE: &str = "ml.score";
const LABEL: &str = "ml.label";
const PROBABILITY: &str = "ml.probability.";
const FEATURE: &str = "ml.feature.";

/// Decodes an OTLP logs export request and picks out its ML prediction events
/// ([`decode_otlp_log_events`]).
///
/// `body` is the decompressed request body; `json` selects OTLP/JSON over binary protobuf
/// (gRPC hands over the protobuf message bytes, so `json = false` serves it too).
///
/// # Errors
/// [`CodecError::Decode`] when the body is not a valid request in the chosen encoding (for
/// OTLP/JSON the message names the JSON path); [`CodecError::TooLarge`] when a protobuf body
/// would decode into more than 16× its size plus 64 MiB of memory (estimated on the wire before
/// prost decodes it, as for OTLP metrics). Invalid ML events are not errors here: they are
/// reported in [`MlDecoded::errors`].
pub fn decode_otlp_logs(
    body: &[u8],
    json: bool,
    limits: &MlDecodeLimits,
) -> Result<MlDecoded<PredictionEvent>, CodecError> {
    let invalid = |reason: String| CodecError::Decode {
        protocol: PROTOCOL,
        reason,
    };
    let req = if json {
        otlp_json::parse(body).map_err(|e| invalid(e.to_string()))?
    } else {
        wire_budget::check(
            &wire_budget::EXPORT_LOGS_SERVICE_REQUEST,
            body,
            "decoded OTLP logs protobuf request (estimated from the wire, counting stopped past \
             the limit)",
        )?;
        ExportLogsServiceRequest::decode(body).map_err(|e| invalid(e.to_string()))?
    };
    Ok(decode_otlp_log_events(&req, limits))
}

/// The ML prediction events in an OTLP logs export request.
///
/// A log record is an ML prediction event when it carries the attribute `ml.model`, or its
/// resource does. Its attributes map as follows (record attributes; `ml.model` and
/// `ml.version` fall back to the resource's):
///
/// | attribute | value | becomes |
/// | --- | --- | --- |
/// | `ml.model` | non-empty string | `model` |
/// | `ml.version` | string | `version` (`""` when absent) |
/// | `ml.prediction_id` | string or int | `id` |
/// | `ml.prediction` | int, double, string or bool; required | `prediction` |
/// | `ml.score` | double or int | `score` |
/// | `ml.label` | int, double, string or bool | `label` |
/// | `ml.probability.<class>` | double or int | `probabilities` |
/// | `ml.feature.<name>` | int, double, string, bool, or empty | `features` (empty, NaN, ±Inf → missing) |
///
/// The time is `time_unix_nano`, else `observed_time_unix_nano`, else none (the receive time).
/// Other attributes, the body and other `ml.*` keys are ignored; a key that appears twice in a
/// record is an error. The same limits apply as for JSON events. Records that are not ML events
/// are counted in [`MlDecoded::ignored`]; errors name the record
/// (`resource_logs[0].scope_logs[1].log_records[2]`) and have line 0.
pub fn decode_otlp_log_events(
    req: &ExportLogsServiceRequest,
    limits: &MlDecodeLimits,
) -> MlDecoded<PredictionEvent> {
    let mut c = Collector::new(limits);
    let mut index = 0usize;
    let mut ml_events = 0usize;
    for (i, rl) in req.resource_logs.iter().enumerate() {
        let resource = rl.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
        let fallback = Fallback {
            model: resource.iter().find(|kv| kv.key == MODEL),
            version: resource.iter().find(|kv| kv.key == VERSION),
        };
        for (j, sl) in rl.scope_logs.iter().enumerate() {
            for (k, record) in sl.log_records.iter().enumerate() {
                index += 1;
                let at = || format!("resource_logs[{i}].scope_logs[{j}].log_records[{k}]");
                let Some(event) = convert(record, &fallback, limits) else {
                    c.out.ignored += 1;
                    continue;
                };
                ml_events += 1;
                if ml_events > limits.max_events_per_body {
                    let message = format!(
                        "{}: more than {} ML events in one request; this record and the rest \
                         were not read",
                        at(),
                        limits.max_events_per_body
                    );
                    c.error(0, index, Invalid::event(message));
                    return c.out;
                }
                let event = event.map_err(|e| {
                    let message = match &e.field {
                        Some(f) => format!("{}: attribute {f:?}: {}", at(), e.message),
                        None => format!("{}: {}", at(), e.message),
                    };
                    Invalid {
                        field: e.field,
                        message,
                    }
                });
                c.push(0, index, event);
            }
        }
    }
    c.out
}

/// `ml.model` and `ml.version` from the resource, for records that do not set them.
struct Fallback<'a> {
    model: Option<&'a KeyValue>,
    version: Option<&'a KeyValue>,
}

/// The record's `ml.*` attributes, found in one pass.
#[derive(Default)]
struct MlAttributes<'a> {
    model: Option<&'a KeyValue>,
    version: Option<&'a KeyValue>,
    id: Option<&'a KeyValue>,
    prediction: Option<&'a KeyValue>,
    score: Option<&'a KeyValue>,
    label: Option<&'a KeyValue>,
    probabilities: Vec<(&'a str, &'a KeyValue)>,
    features: Vec<(&'a str, &'a KeyValue)>,
    /// The first known key seen twice.
    duplicate: Option<&'a str>,
}

impl<'a> MlAttributes<'a> {
    fn of(record: &'a LogRecord) -> Self {
        let mut a = MlAttributes::default();
        for kv in &record.attributes {
            if !kv.key.starts_with("ml.") {
                continue;
            }
            let slot = match kv.key.as_str() {
                MODEL => &mut a.model,
                VERSION => &mut a.version,
                PREDICTION_ID => &mut a.id,
                PREDICTION => &mut a.prediction,
                SCORE => &mut a.score,
                LABEL => &mut a.label,
                _ => {
                    if let Some(class) = kv.key.strip_prefix(PROBABILITY) {
                        a.probabilities.push((class, kv));
                    } else if let Some(name) = kv.key.strip_prefix(FEATURE) {
                        a.features.push((name, kv));
                    }
                    continue;
                }
            };
            if slot.is_some() && a.duplicate.is_none() {
                a.duplicate = Some(&kv.key);
            }
            *slot = Some(kv);
        }
        a
    }
}

/// An attribute's value; `None` when empty. A `string_value_strindex` belongs to the profiling
/// signal, and other signals must treat it as absent (its field comment in `common.proto`).
fn value(kv: &KeyValue) -> Option<&AV> {
    kv.value
        .as_ref()
        .and_then(|v| v.value.as_ref())
        .filter(|v| !matches!(v, AV::StringValueStrindex(_)))
}

/// A value as a message shows it.
fn describe(v: Option<&AV>) -> String {
    match v {
        None | Some(AV::StringValueStrindex(_)) => "no value".into(),
        Some(AV::StringValue(s)) => quote_short(s),
        Some(AV::BoolValue(b)) => b.to_string(),
        Some(AV::IntValue(n)) => n.to_string(),
        Some(AV::DoubleValue(d)) => format!("{d:?}"),
        Some(AV::ArrayValue(_)) => "an array".into(),
        Some(AV::KvlistValue(_)) => "a key-value list".into(),
        Some(AV::BytesValue(_)) => "bytes".into(),
    }
}

fn wrong(kv: &KeyValue, expected: &str) -> Invalid {
    Invalid::field(
        kv.key.clone(),
        format!("{expected}, got {}", describe(value(kv))),
    )
}

fn too_long(kv: &KeyValue, len: usize, max: usize) -> Invalid {
    Invalid::field(
        kv.key.clone(),
        format!("is {len} bytes, over the limit of {max}"),
    )
}

/// The event of one record: `None` when it is not an ML event.
fn convert(
    record: &LogRecord,
    fallback: &Fallback<'_>,
    limits: &MlDecodeLimits,
) -> Option<Result<PredictionEvent, Invalid>> {
    let a = MlAttributes::of(record);
    let model_kv = a.model.or(fallback.model)?;
    Some(event(record, &a, model_kv, fallback, limits))
}

fn event(
    record: &LogRecord,
    a: &MlAttributes<'_>,
    model_kv: &KeyValue,
    fallback: &Fallback<'_>,
    limits: &MlDecodeLimits,
) -> Result<PredictionEvent, Invalid> {
    if let Some(key) = a.duplicate {
        return Err(Invalid::field(key, "appears more than once"));
    }
    let model = match value(model_kv) {
        Some(AV::StringValue(s)) if !s.is_empty() => {
            if s.len() > limits.max_name_bytes {
                return Err(too_long(model_kv, s.len(), limits.max_name_bytes));
            }
            s.clone()
        }
        _ => return Err(wrong(model_kv, "must be a non-empty string")),
    };
    let version = match a.version.or(fallback.version) {
        None => String::new(),
        Some(kv) => match value(kv) {
            None => String::new(),
            Some(AV::StringValue(s)) if s.len() > limits.max_string_bytes => {
                return Err(too_long(kv, s.len(), limits.max_string_bytes))
            }
            Some(AV::StringValue(s)) => s.clone(),
            Some(_) => return Err(wrong(kv, "must be a string")),
        },
    };
    let id = match a.id {
        None => None,
        Some(kv) => match value(kv) {
            Some(AV::StringValue(s)) if s.len() > limits.max_string_bytes => {
                return Err(too_long(kv, s.len(), limits.max_string_bytes))
            }
            Some(AV::StringValue(s)) if !s.is_empty() => Some(s.clone()),
            Some(AV::IntValue(n)) => Some(n.to_string()),
            _ => return Err(wrong(kv, "must be a non-empty string or an int")),
        },
    };
    let prediction = match a.prediction {
        None => return Err(Invalid::field(PREDICTION, "is required")),
        Some(kv) => outcome(kv, limits)?.ok_or_else(|| wrong(kv, OUTCOME_TYPES))?,
    };
    let label = match a.label {
        None => None,
        Some(kv) => outcome(kv, limits)?,
    };
    let score = match a.score {
        None => None,
        Some(kv) => Some(finite(kv)?),
    };
    for (field, n) in [
        ("ml.feature.*", a.features.len()),
        ("ml.probability.*", a.probabilities.len()),
    ] {
        if n > limits.max_features_per_event {
            return Err(Invalid::field(
                field,
                format!(
                    "{n} attributes, over the limit of {} per event",
                    limits.max_features_per_event
                ),
            ));
        }
    }
    let mut probabilities = Vec::with_capacity(a.probabilities.len());
    for &(class, kv) in &a.probabilities {
        check_name(kv, class, limits)?;
        probabilities.push((class.to_owned(), finite(kv)?));
    }
    let mut features = Vec::with_capacity(a.features.len());
    for &(name, kv) in &a.features {
        check_name(kv, name, limits)?;
        features.push((name.to_owned(), feature(kv, limits)?));
    }
    if let Some(dup) = first_duplicate(&probabilities) {
        return Err(Invalid::field(
            format!("{PROBABILITY}{dup}"),
            "appears more than once",
        ));
    }
    if let Some(dup) = first_duplicate(&features) {
        return Err(Invalid::field(
            format!("{FEATURE}{dup}"),
            "appears more than once",
        ));
    }
    let time_ns = match record.time_unix_nano {
        0 => record.observed_time_unix_nano,
        t => t,
    };
    Ok(PredictionEvent {
        model,
        version,
        id,
        // u64 nanoseconds / 10^6 always fits in i64.
        timestamp_ms: match time_ns {
            0 => None,
            t => i64::try_from(t / 1_000_000).ok(),
        },
        features,
        prediction,
        score,
        probabilities,
        label,
    })
}

const OUTCOME_TYPES: &str = "must be an int, double, string or bool";

/// A prediction or label; `None` for an empty value.
fn outcome(kv: &KeyValue, limits: &MlDecodeLimits) -> Result<Option<Outcome>, Invalid> {
    Ok(match value(kv) {
        None => None,
        Some(AV::IntValue(n)) => Some(Outcome::Number(*n as f64)),
        Some(AV::DoubleValue(d)) if d.is_finite() => Some(Outcome::Number(*d)),
        Some(AV::StringValue(s)) if s.len() > limits.max_string_bytes => {
            return Err(too_long(kv, s.len(), limits.max_string_bytes))
        }
        Some(AV::StringValue(s)) => Some(Outcome::Class(s.clone())),
        Some(AV::BoolValue(b)) => Some(Outcome::Class(b.to_string())),
        Some(_) => return Err(wrong(kv, &format!("{OUTCOME_TYPES} (finite)"))),
    })
}

/// A finite number (`ml.score`, a probability).
fn finite(kv: &KeyValue) -> Result<f64, Invalid> {
    match value(kv) {
        Some(AV::IntValue(n)) => Ok(*n as f64),
        Some(AV::DoubleValue(d)) if d.is_finite() => Ok(*d),
        _ => Err(wrong(kv, "must be a finite double or an int")),
    }
}

fn feature(kv: &KeyValue, limits: &MlDecodeLimits) -> Result<FeatureValue, Invalid> {
    Ok(match value(kv) {
        None => FeatureValue::Missing,
        Some(AV::IntValue(n)) => FeatureValue::Number(*n as f64),
        Some(AV::DoubleValue(d)) if d.is_finite() => FeatureValue::Number(*d),
        // Statistics cannot use NaN or ±Inf; they count as a missing value.
        Some(AV::DoubleValue(_)) => FeatureValue::Missing,
        Some(AV::BoolValue(b)) => FeatureValue::Bool(*b),
        Some(AV::StringValue(s)) if s.len() > limits.max_string_bytes => {
            return Err(too_long(kv, s.len(), limits.max_string_bytes))
        }
        Some(AV::StringValue(s)) => FeatureValue::Text(s.clone()),
        Some(_) => return Err(wrong(kv, "must be an int, double, string, bool or empty")),
    })
}

/// A feature or class name taken from an attribute key.
fn check_name(kv: &KeyValue, name: &str, limits: &MlDecodeLimits) -> Result<(), Invalid> {
    if name.is_empty() {
        return Err(Invalid::field(
            kv.key.clone(),
            "has an empty name after the prefix",
        ));
    }
    if name.len() > limits.max_name_bytes {
        return Err(Invalid::field(
            kv.key.chars().take(60).collect::<String>(),
            format!(
                "name is {} bytes, over the limit of {}",
                name.len(),
                limits.max_name_bytes
            ),
        ));
    }
    Ok(())
}
