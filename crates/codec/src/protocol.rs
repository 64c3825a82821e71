//! The list of push protocols. (API contract; implementation in progress.)

/// Size limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted request body as received (compressed), bytes.
    pub max_body_bytes: u64,
    /// Largest body after decompression, bytes.
    pub max_decompressed_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_body_bytes: 32 << 20,
            max_decompressed_bytes: 256 << 20,
        }
    }
}

/// The push protocols Vigil accepts over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Prometheus remote_write 1.0: snappy block-compressed protobuf `WriteRequest`.
    RemoteWrite,
    /// OTLP/HTTP metrics, `application/x-protobuf`.
    OtlpProtobuf,
    /// OTLP/HTTP metrics, `application/json`.
    OtlpJson,
    /// Prometheus text format (or OpenMetrics) pushed for import.
    PrometheusText,
}

/// What the ingest handler passes to a decoder besides the body.
#[derive(Debug, Clone, Copy)]
pub struct DecodeContext<'a> {
    pub limits: DecodeLimits,
    /// `Content-Encoding` header, if any (`snappy`, `gzip`, `identity`).
    pub content_encoding: Option<&'a str>,
    /// `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// Timestamp for samples that carry none (text import), ms.
    pub now_ms: i64,
}

/// A decoded push body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub batch: vigil_model::Batch,
    /// Data points the decoder dropped while accepting the rest (OTLP partial success).
    pub rejected_points: u64,
    /// Why points were dropped, for the OTLP `partial_success.error_message`.
    pub rejection_message: Option<String>,
}
