use thiserror::Error;
use vigil_model::ErrorKind;

use crate::exposition::ParseError;

/// Failures decoding a request body.
#[derive(Debug, Error)]
pub enum CodecError {
    /// The body is larger than allowed (compressed or decompressed).
    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        what: &'static str,
        size: u64,
        limit: u64,
    },
    /// The compression layer is invalid.
    #[error("invalid {encoding} data: {reason}")]
    Decompress {
        encoding: &'static str,
        reason: String,
    },
    /// The protobuf or JSON payload does not decode.
    #[error("{protocol}: cannot decode body: {reason}")]
    Decode {
        protocol: &'static str,
        reason: String,
    },
    /// The payload decodes but violates the protocol's rules (bad label name, missing name …).
    #[error("{protocol}: {reason}")]
    Invalid {
        protocol: &'static str,
        reason: String,
    },
    /// A text exposition body failed to parse.
    #[error(transparent)]
    Exposition(#[from] ParseError),
}

impl CodecError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CodecError::TooLarge { .. } => ErrorKind::LimitExceeded,
            _ => ErrorKind::InvalidInput,
        }
    }
}
