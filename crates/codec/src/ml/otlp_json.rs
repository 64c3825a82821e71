//! OTLP/JSON logs → the protobuf request types, for ML events carried in log records.
//!
//! Reads `ExportLogsServiceRequest` in the OTLP "JSON Protobuf Encoding" with the readers of
//! `crate::otlp`'s metrics walker (lowerCamelCase keys, unknown keys ignored, `null` as the
//! default, 64-bit integers as numbers or decimal strings, doubles as numbers or strings,
//! `bytesValue` as base64, errors naming the JSON path), and for the same reason it exists
//! (opentelemetry-proto's serde derives turn an error inside a `oneof` into a missing value, so
//! `"doubleValue": "NaN"` would silently become an empty attribute).
//!
//! Only what ML events use is read: resource attributes, and each record's attributes,
//! `timeUnixNano` and `observedTimeUnixNano`. The body, severity, trace and span ids and the
//! scope are skipped unread.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::Value;

use crate::otlp::json::{field, key_value, list, object, parse_object, uint64, Result};

/// Parses an OTLP/JSON `ExportLogsServiceRequest`.
pub(super) fn parse(body: &[u8]) -> Result<ExportLogsServiceRequest> {
    parse_object(body, |obj| {
        Ok(ExportLogsServiceRequest {
            resource_logs: list(obj, "resourceLogs", resource_logs)?,
        })
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
