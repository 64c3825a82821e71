//! OTLP metrics → Prometheus series.
//!
//! Owns: decoding an `ExportMetricsServiceRequest` from binary protobuf (OTLP/HTTP
//! `application/x-protobuf`, and the message bytes of OTLP/gRPC `Export`) or OTLP/JSON
//! (`application/json`), converting it to Prometheus series per the OpenTelemetry
//! "Prometheus and OpenMetrics Compatibility" specification as Prometheus's own OTLP receiver
//! does it, and encoding the OTLP response bodies (`partial_success`, error `Status`).
//!
//! Does not own: transport, decompression (the body arrives decompressed and size-capped), or
//! per-series limits (applied by the ingest path after decoding). Prost types stay inside this
//! module: callers see bytes in, [`crate::Decoded`] out, bytes back.
//!
//! Shape: `json` reads OTLP/JSON into the same prost types the protobuf path produces, so that
//! one converter (`convert`) serves both; `name` and `value` hold the string rules (metric and
//! label names, label values) that the compatibility specification fixes. Points that cannot be
//! stored faithfully — delta temporality above all — are rejected individually and reported
//! through OTLP partial success, never silently dropped. `docs/otlp.md` lists the rules.

mod convert;
pub(crate) mod json;
mod name;
mod response;
mod value;

#[cfg(test)]
pub(crate) mod tests;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message;

pub use response::{
    encode_error_status, encode_logs_partial_success, encode_partial_success, encode_response,
    grpc_code, response_content_type, CONTENT_TYPE_JSON, CONTENT_TYPE_PROTOBUF,
};

use crate::{wire_budget, CodecError, Decoded};

/// The protocol name in errors.
const PROTOCOL: &str = "otlp";

/// Decodes an OTLP metrics export request and converts it to Prometheus series.
///
/// `body` is the decompressed request body; `json` selects OTLP/JSON over binary protobuf.
/// gRPC hands over the raw protobuf message bytes, so `decode(bytes, false)` serves it too.
///
/// Points that cannot be converted are left out and counted in
/// [`Decoded::rejected_points`], with the reasons in [`Decoded::rejection_message`]; the rest
/// of the request is accepted.
///
/// # Errors
/// [`CodecError::Decode`] when the body is not a valid request in the chosen encoding (the
/// message names the JSON path for OTLP/JSON); [`CodecError::TooLarge`] when a protobuf body
/// would decode into more than 16× its size plus 64 MiB of memory (estimated on the wire before
/// prost decodes it), or when the series built from the request would hold more than 64× the
/// body size plus 64 MiB of label data (each label's text plus the size of a `Label`).
pub fn decode(body: &[u8], json: bool) -> Result<Decoded, CodecError> {
    let req = parse(body, json)?;
    convert::convert(&req, convert::default_label_budget(body.len()))
}

fn parse(body: &[u8], json: bool) -> Result<ExportMetricsServiceRequest, CodecError> {
    if json {
        json::parse(body).map_err(|e| CodecError::Decode {
            protocol: PROTOCOL,
            reason: e.to_string(),
        })
    } else {
        wire_budget::check(
            &wire_budget::EXPORT_METRICS_SERVICE_REQUEST,
            body,
            "decoded OTLP protobuf request (estimated from the wire, counting stopped past the limit)",
        )?;
        ExportMetricsServiceRequest::decode(body).map_err(|e| CodecError::Decode {
            protocol: PROTOCOL,
            reason: e.to_string(),
        })
    }
}
