//! Bytes ⇄ model for every wire format Vigil ingests.
//!
//! Owns: the Prometheus text format 0.0.4 and OpenMetrics 1.0.0 parser ([`exposition`]),
//! the remote_write 1.0 decoder ([`remote_write`]), OTLP metrics decoding and conversion to
//! Prometheus series per the OpenTelemetry→Prometheus compatibility specification ([`otlp`]),
//! capped decompression ([`decompress`]), a bound on the memory a protobuf body decodes into
//! (`wire_budget`, checked on the wire before prost builds anything), and the list of push
//! protocols ([`Protocol`]) that the http crate mounts through one generic handler; and ML
//! prediction and label events from JSON bodies and OTLP log records ([`ml`]).
//!
//! Does not own: transport (HTTP/gRPC live in the http crate), storage, limits on series
//! (applied by the ingest path after decoding). Decoders are synchronous and allocation-bounded:
//! every size they act on comes from the configured limits, never from the input alone.

pub mod decompress;
mod error;
pub mod exposition;
pub mod ml;
pub mod otlp;
mod protocol;
pub mod remote_write;
mod wire_budget;

pub use error::CodecError;
pub use protocol::{exposition_to_batch, DecodeContext, DecodeLimits, Decoded, Protocol};
