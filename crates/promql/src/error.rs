use thiserror::Error;
use vigil_model::ErrorKind;
use vigil_storage::StorageError;

/// Failures parsing or evaluating PromQL. The HTTP layer maps them to Prometheus's error types:
/// `Parse`/`Invalid` → 400 `bad_data`, `Execution` → 422 `execution`, `Timeout` → 503 `timeout`.
#[derive(Debug, Error)]
pub enum PromqlError {
    /// The text is not valid PromQL.
    #[error("{0}")]
    Parse(String),
    /// Valid PromQL, but not what the caller asked for (e.g. not a series selector).
    #[error("{0}")]
    Invalid(String),
    /// Evaluation failed: a limit was hit, or the data makes the expression undefined
    /// (many-to-many matching, duplicate series after dropping labels, …).
    #[error("{0}")]
    Execution(String),
    /// The query ran past its deadline.
    #[error("{0}")]
    Timeout(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl PromqlError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            PromqlError::Parse(_) | PromqlError::Invalid(_) => ErrorKind::InvalidInput,
            PromqlError::Execution(_) => ErrorKind::LimitExceeded,
            PromqlError::Timeout(_) => ErrorKind::Unavailable,
            PromqlError::Storage(e) => e.kind(),
        }
    }

    /// Prometheus's `errorType` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            PromqlError::Parse(_) | PromqlError::Invalid(_) => "bad_data",
            PromqlError::Execution(_) => "execution",
            PromqlError::Timeout(_) => "timeout",
            PromqlError::Storage(_) => "internal",
        }
    }
}
