use std::path::PathBuf;

use thiserror::Error;

/// What kind of failure a [`WalError`] is.
///
/// This crate depends on nothing of Vigil's (see ARCHITECTURE.md), so it has its own small kind
/// enum; the metric store maps it onto `vigil_model::ErrorKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WalErrorKind {
    /// A file operation failed.
    Io,
    /// Stored bytes failed an integrity check.
    Corrupt,
    /// The log refuses writes after an earlier unrecoverable failure.
    Broken,
    /// The caller passed something the log cannot store.
    InvalidInput,
}

/// Failures of the write-ahead log.
#[derive(Debug, Error)]
pub enum WalError {
    #[error("wal i/o error on {path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt wal record in {path} at offset {offset}: {reason}", path = path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("wal is broken after an earlier failure and refuses writes until reopened: {reason}")]
    Broken { reason: String },
    #[error("wal record of {len} bytes is larger than the limit of {limit} bytes")]
    RecordTooLarge { len: usize, limit: usize },
    #[error("checkpoint up to segment {upto} would include the segment being written ({current})")]
    CheckpointPastHead { upto: u64, current: u64 },
}

impl WalError {
    /// The kind of failure.
    pub fn kind(&self) -> WalErrorKind {
        match self {
            WalError::Io { .. } => WalErrorKind::Io,
            WalError::Corrupt { .. } => WalErrorKind::Corrupt,
            WalError::Broken { .. } => WalErrorKind::Broken,
            WalError::RecordTooLarge { .. } | WalError::CheckpointPastHead { .. } => {
                WalErrorKind::InvalidInput
            }
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        WalError::Io {
            path: path.into(),
            source,
        }
    }
}
