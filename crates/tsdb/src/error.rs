use std::path::PathBuf;

use thiserror::Error;
use vigil_model::ErrorKind;
use vigil_storage::StorageError;
use vigil_wal::{WalError, WalErrorKind};

/// Failures of the embedded metric store.
#[derive(Debug, Error)]
pub enum TsdbError {
    #[error("i/o error on {path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error("corrupt data in {path} at offset {offset}: {reason}", path = path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("{path}: unsupported {what} version {version} (this build reads version 1)", path = path.display())]
    UnsupportedVersion {
        path: PathBuf,
        what: &'static str,
        version: u64,
    },
    #[error("invalid tsdb option {name}: {reason}")]
    InvalidOptions { name: &'static str, reason: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl TsdbError {
    /// The kind of failure, for status-code mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TsdbError::Io { .. } | TsdbError::Internal(_) => ErrorKind::Internal,
            TsdbError::Wal(e) => match e.kind() {
                WalErrorKind::Io => ErrorKind::Internal,
                WalErrorKind::Corrupt => ErrorKind::Corrupt,
                WalErrorKind::Broken => ErrorKind::Unavailable,
                WalErrorKind::InvalidInput => ErrorKind::InvalidInput,
            },
            TsdbError::Corrupt { .. } | TsdbError::UnsupportedVersion { .. } => ErrorKind::Corrupt,
            TsdbError::InvalidOptions { .. } => ErrorKind::InvalidInput,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TsdbError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        TsdbError::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }
}

impl From<TsdbError> for StorageError {
    fn from(e: TsdbError) -> Self {
        match e.kind() {
            ErrorKind::Corrupt => StorageError::Corrupt {
                location: match &e {
                    TsdbError::Corrupt { path, offset, .. } => {
                        format!("{} at offset {offset}", path.display())
                    }
                    _ => "tsdb".to_owned(),
                },
                reason: e.to_string(),
            },
            ErrorKind::Unavailable => StorageError::Unavailable(e.to_string()),
            ErrorKind::InvalidInput => StorageError::InvalidInput(e.to_string()),
            ErrorKind::LimitExceeded => StorageError::LimitExceeded(e.to_string()),
            ErrorKind::NotFound | ErrorKind::Internal => match e {
                TsdbError::Io { path, source } => StorageError::Io {
                    path: path.display().to_string(),
                    source,
                },
                other => StorageError::Internal(other.to_string()),
            },
        }
    }
}
