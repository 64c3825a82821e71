//! OTLP/JSON logs → the protobuf request types, for ML events carried in log records.
//!
//! Reads `ExportLogsServiceRequest` in the OTLP "JSON Protobuf Encoding" the same way
//! `crate::otlp`'s metrics walker does, and for the same reason (opentelemetry-proto's serde
//! derives turn an error inside a `oneof` into a missing value, so `"doubleValue": "NaN"` would
//! silently become an empty attribute): lowerCamelCase keys, unknown keys ignored, `null` as the
//! default, 64-bit integers as numbers or decimal strings, doubles as numbers or strings
//! (`"NaN"`, `"Infinity"`, `"-Infinity"`), errors naming the JSON path.
//!
//! Only what ML events use is read: resource attributes, and each record's attributes,
//! `timeUnixNano` and `observedTimeUnixNano`. The body, severity, trace and span ids and the
//! scope are skipped unread, and `bytesValue` attributes are kept empty (no ML attribute takes
//! bytes, so their content is never looked at). The walker is written apart from the metrics
//! one because that one's helpers are private to `crate::otlp`.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{Map, Value};

use super::quote_short;

/// Where in the document something was wrong, and what.
#[derive(Debug)]
pub(super) struct JsonError {
    /// Path segments, innermost first (pushed while unwinding).
    path: Vec<String>,
    reason: String,
}

impl JsonError {
    fn new(reason: impl Into<String>) -> Self {
        JsonError {
            path: Vec::new(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, seg) in self.path.iter().rev().enumerate() {
            if i > 0 && !seg.starts_with('[') {
                f.write_str(".")?;
            }
            f.write_str(seg)?;
        }
        if !self.path.is_empty() {
            f.write_str(": ")?;
        }
        f.write_str(&self.reason)
    }
}

type Result<T> = std::result::Result<T, JsonError>;

/// Adds a path segment to an error on the way out.
fn at<T>(r: Result<T>, seg: impl FnOnce() -> String) -> Result<T> {
    r.map_err(|mut e| {
        e.path.push(seg());
        e
    })
}

/// Parses an OTLP/JSON `ExportLogsServiceRequest`.
pub(super) fn parse(body: &[u8]) -> Result<ExportLogsServiceRequest> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| JsonError::new(format!("invalid JSON: {e}")))?;
    let obj = object(&doc)?;
    Ok(ExportLogsServiceRequest {
        resource_logs: list(obj, "resourceLogs", resource_logs)?,
    })
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => quote_short(s),
        Value::Number(_) | Value::Bool(_) | Value::Null => v.to_string(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn object(v: &Value) -> Result<&Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| JsonError::new(format!("expected an object, got {}", describe(v))))
}

/// A field's value; absent and `null` are the same (proto3 JSON: null is the default value).
fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn field<'a, T>(
    obj: &'a Map<String, Value>,
    key: &'static str,
    f: impl FnOnce(&'a Value) -> Result<T>,
) -> Result<Option<T>> {
    match get(obj, key) {
        None => Ok(None),
        Some(v) => at(f(v).map(Some), || key.to_string()),
    }
}

fn list<'a, T>(
    obj: &'a Map<String, Value>,
    key: &'static str,
    f: impl Fn(&'a Value) -> Result<T>,
) -> Result<Vec<T>> {
    let Some(v) = get(obj, key) else {
        return Ok(Vec::new());
    };
    let items = v
        .as_array()
        .ok_or_else(|| JsonError::new(format!("expected an array, got {}", describe(v))));
    let items = at(items, || key.to_string())?;
    let out = items
        .iter()
        .enumerate()
        .map(|(i, item)| at(f(item), || format!("[{i}]")))
        .collect::<Result<Vec<T>>>();
    at(out, || key.to_string())
}

fn string(v: &Value) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| JsonError::new(format!("expected a string, got {}", describe(v))))
}

/// 2^64 and 2^63 as floats: integral floats below them are exact integers in range.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

fn uint64(v: &Value) -> Result<u64> {
    let n = match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..TWO_POW_64).contains(f))
                // Integral and in range, checked above: the cast is exact.
                .map(|f| f as u64)
        }),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| {
        JsonError::new(format!(
            "expected an unsigned 64-bit integer (number or decimal string), got {}",
            describe(v)
        ))
    })
}

fn int64(v: &Value) -> Result<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(f))
                // Integral and in range, checked above: the cast is exact.
                .map(|f| f as i64)
        }),
        Value::String(s) => s.parse::<i64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| {
        JsonError::new(format!(
            "expected a 64-bit integer (number or decimal string), got {}",
            describe(v)
        ))
    })
}

fn double(v: &Value) -> Result<f64> {
    let d = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse::<f64>().ok().filter(|f| f.is_finite()),
        },
        _ => None,
    };
    d.ok_or_else(|| {
        JsonError::new(format!(
            "expected a number, or \"NaN\", \"Infinity\", \"-Infinity\", got {}",
            describe(v)
        ))
    })
}

fn resource_logs(v: &Value) -> Result<ResourceLogs> {
    let o = object(v)?;
    Ok(ResourceLogs {
        resource: field(o, "resource", resource)?,
        scope_logs: list(o, "scopeLogs", scope_logs)?,
        schema_url: String::new(),
    })
}

fn resource(v: &Value) -> Result<Resource> {
    let o = object(v)?;
    Ok(Resource {
        attributes: list(o, "attributes", key_value)?,
        ..Default::default()
    })
}

fn scope_logs(v: &Value) -> Result<ScopeLogs> {
    let o = object(v)?;
    Ok(ScopeLogs {
        scope: None,
        log_records: list(o, "logRecords", log_record)?,
        schema_url: String::new(),
    })
}

fn log_record(v: &Value) -> Result<LogRecord> {
    let o = object(v)?;
    Ok(LogRecord {
        time_unix_nano: field(o, "timeUnixNano", uint64)?.unwrap_or_default(),
        observed_time_unix_nano: field(o, "observedTimeUnixNano", uint64)?.unwrap_or_default(),
        attributes: list(o, "attributes", key_value)?,
        ..Default::default()
    })
}

fn key_value(v: &Value) -> Result<KeyValue> {
    let o = object(v)?;
    Ok(KeyValue {
        key: field(o, "key", string)?.unwrap_or_default(),
        value: field(o, "value", any_value)?,
        ..Default::default()
    })
}

const ANY_VALUE_MEMBERS: [&str; 7] = [
    "stringValue",
    "boolValue",
    "intValue",
    "doubleValue",
    "arrayValue",
    "kvlistValue",
    "bytesValue",
];

fn any_value(v: &Value) -> Result<AnyValue> {
    use any_value::Value as V;
    let o = object(v)?;
    // A oneof: at most one member may be set (proto3 JSON rejects two).
    let mut member: Option<(&'static str, &Value)> = None;
    for k in ANY_VALUE_MEMBERS {
        if let Some(v) = get(o, k) {
            if let Some((prev, _)) = member {
                return Err(JsonError::new(format!(
                    "both {prev:?} and {k:?} are set; they are alternatives"
                )));
            }
            member = Some((k, v));
        }
    }
    let Some((k, v)) = member else {
        return Ok(AnyValue { value: None });
    };
    let value = match k {
        "stringValue" => string(v).map(V::StringValue),
        "boolValue" => v
            .as_bool()
            .map(V::BoolValue)
            .ok_or_else(|| JsonError::new(format!("expected true or false, got {}", describe(v)))),
        "intValue" => int64(v).map(V::IntValue),
        "doubleValue" => double(v).map(V::DoubleValue),
        "arrayValue" => object(v).and_then(|a| {
            Ok(V::ArrayValue(ArrayValue {
                values: list(a, "values", any_value)?,
            }))
        }),
        "kvlistValue" => object(v).and_then(|m| {
            Ok(V::KvlistValue(KeyValueList {
                values: list(m, "values", key_value)?,
            }))
        }),
        // bytesValue: never read by an ML field (see the module docs).
        _ => string(v).map(|_| V::BytesValue(Vec::new())),
    };
    Ok(AnyValue {
        value: Some(at(value, || k.to_string())?),
    })
}
