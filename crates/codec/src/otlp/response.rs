//! OTLP response bodies, so that the http crate never touches prost types.
//!
//! Owns: `ExportMetricsServiceResponse` (with `partial_success` when points were rejected), and
//! the `google.rpc.Status` body OTLP/HTTP requires on 4xx/5xx responses (OTLP specification,
//! "OTLP/HTTP Response" → "Failures"), each in binary protobuf or OTLP/JSON. The gRPC service
//! sends the same protobuf response message bytes.

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use prost::Message;
use vigil_model::ErrorKind;

use crate::Decoded;

/// `Content-Type` of OTLP/HTTP binary protobuf bodies.
pub const CONTENT_TYPE_PROTOBUF: &str = "application/x-protobuf";
/// `Content-Type` of OTLP/HTTP JSON bodies.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// The `Content-Type` a response must carry: the same encoding as the request (OTLP/HTTP
/// requires the server to answer in the request's encoding).
pub fn response_content_type(json: bool) -> &'static str {
    if json {
        CONTENT_TYPE_JSON
    } else {
        CONTENT_TYPE_PROTOBUF
    }
}

/// The success response for a decoded request: `partial_success` carries the rejected point
/// count and reasons when the decoder dropped points, and is absent otherwise.
pub fn encode_response(decoded: &Decoded, json: bool) -> Vec<u8> {
    encode_partial_success(
        decoded.rejected_points,
        decoded.rejection_message.as_deref(),
        json,
    )
}

/// The success response with explicit partial-success fields, for callers that reject further
/// points after decoding (limits applied by the ingest path).
///
/// With `rejected_points == 0` and no message, `partial_success` is left unset, which OTLP
/// defines as full success; a message with zero rejected points is a warning, which OTLP allows.
pub fn encode_partial_success(
    rejected_points: u64,
    error_message: Option<&str>,
    json: bool,
) -> Vec<u8> {
    partial_success("rejectedDataPoints", rejected_points, error_message, json)
}

/// [`encode_partial_success`] for an `ExportLogsServiceResponse`: the same protobuf bytes
/// (`ExportLogsPartialSuccess` numbers its fields as `ExportMetricsPartialSuccess` does), and
/// `rejectedLogRecords` in OTLP/JSON.
pub fn encode_logs_partial_success(
    rejected_records: u64,
    error_message: Option<&str>,
    json: bool,
) -> Vec<u8> {
    partial_success("rejectedLogRecords", rejected_records, error_message, json)
}

/// An export response with `partial_success` (field 1: the rejected count, named
/// `rejected_field` in OTLP/JSON; field 2: the message) when something was rejected or said.
fn partial_success(
    rejected_field: &str,
    rejected: u64,
    error_message: Option<&str>,
    json: bool,
) -> Vec<u8> {
    let message = error_message.unwrap_or("");
    let partial = (rejected > 0 || !message.is_empty()).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: message.to_string(),
    });
    if json {
        // Written by hand rather than through the crate's serde derive, which would emit the
        // int64 as a JSON number; the proto3 JSON mapping writes 64-bit integers as strings.
        let value = match &partial {
            None => serde_json::json!({}),
            Some(p) => {
                // Inserted in sorted order so the output is the same whether or not serde_json's
                // `preserve_order` feature is on somewhere in the build.
                let mut inner = serde_json::Map::new();
                if !p.error_message.is_empty() {
                    inner.insert("errorMessage".into(), p.error_message.clone().into());
                }
                if p.rejected_data_points != 0 {
                    inner.insert(
                        rejected_field.into(),
                        p.rejected_data_points.to_string().into(),
                    );
                }
                serde_json::json!({ "partialSuccess": inner })
            }
        };
        value.to_string().into_bytes()
    } else {
        ExportMetricsServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec()
    }
}

/// `google.rpc.Status` with the two fields OTLP uses.
#[derive(Clone, PartialEq, prost::Message)]
struct Status {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The gRPC status code for an error kind (google.rpc.Code), as OTLP/gRPC reports failures and
/// as the `code` field of an OTLP/HTTP error body.
pub fn grpc_code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::InvalidInput => 3,  // INVALID_ARGUMENT
        ErrorKind::NotFound => 5,      // NOT_FOUND
        ErrorKind::LimitExceeded => 8, // RESOURCE_EXHAUSTED
        ErrorKind::Internal => 13,     // INTERNAL
        ErrorKind::Unavailable => 14,  // UNAVAILABLE
        ErrorKind::Corrupt => 15,      // DATA_LOSS
    }
}

/// The body of an OTLP/HTTP 4xx/5xx response: a `google.rpc.Status` whose message is the
/// developer-facing error text.
pub fn encode_error_status(kind: ErrorKind, message: &str, json: bool) -> Vec<u8> {
    let code = grpc_code(kind);
    if json {
        serde_json::json!({ "code": code, "message": message })
            .to_string()
            .into_bytes()
    } else {
        Status {
            code,
            message: message.to_string(),
        }
        .encode_to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_success_has_no_partial_success() {
        let d = Decoded::default();
        assert_eq!(encode_response(&d, true), b"{}");
        assert!(encode_response(&d, false).is_empty());
        let back = ExportMetricsServiceResponse::decode(encode_response(&d, false).as_slice())
            .expect("decodes");
        assert_eq!(back.partial_success, None);
    }

    #[test]
    fn logs_partial_success_is_an_export_logs_response() {
        use opentelemetry_proto::tonic::collector::logs::v1::{
            ExportLogsPartialSuccess, ExportLogsServiceResponse,
        };
        let bytes = encode_logs_partial_success(2, Some("record 1: ml.prediction"), false);
        let back = ExportLogsServiceResponse::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(
            back.partial_success,
            Some(ExportLogsPartialSuccess {
                rejected_log_records: 2,
                error_message: "record 1: ml.prediction".into()
            })
        );
        assert_eq!(
            String::from_utf8(encode_logs_partial_success(2, None, true)).expect("utf8"),
            r#"{"partialSuccess":{"rejectedLogRecords":"2"}}"#
        );
        assert!(encode_logs_partial_success(0, None, false).is_empty());
    }

    #[test]
    fn partial_success_in_both_encodings() {
        let d = Decoded {
            rejected_points: 3,
            rejection_message: Some("metric \"x\": delta".into()),
            ..Decoded::default()
        };
        assert_eq!(
            String::from_utf8(encode_response(&d, true)).expect("utf8"),
            r#"{"partialSuccess":{"errorMessage":"metric \"x\": delta","rejectedDataPoints":"3"}}"#
        );
        let back = ExportMetricsServiceResponse::decode(encode_response(&d, false).as_slice())
            .expect("decodes");
        assert_eq!(
            back.partial_success,
            Some(ExportMetricsPartialSuccess {
                rejected_data_points: 3,
                error_message: "metric \"x\": delta".into()
            })
        );
        // A warning without rejected points.
        assert_eq!(
            String::from_utf8(encode_partial_success(0, Some("note"), true)).expect("utf8"),
            r#"{"partialSuccess":{"errorMessage":"note"}}"#
        );
    }

    #[test]
    fn error_status_bodies() {
        let body = encode_error_status(ErrorKind::InvalidInput, "bad", false);
        let s = Status::decode(body.as_slice()).expect("decodes");
        assert_eq!((s.code, s.message.as_str()), (3, "bad"));
        assert_eq!(
            String::from_utf8(encode_error_status(ErrorKind::LimitExceeded, "big", true))
                .expect("utf8"),
            r#"{"code":8,"message":"big"}"#
        );
        assert_eq!(response_content_type(true), "application/json");
        assert_eq!(response_content_type(false), "application/x-protobuf");
    }
}
