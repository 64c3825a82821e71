use thiserror::Error;

/// What kind of failure an error is, independent of which crate raised it.
///
/// Every library error enum exposes `fn kind(&self) -> ErrorKind`; the http crate turns a kind
/// into a status code in exactly one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller sent something malformed or semantically invalid (400).
    InvalidInput,
    /// The thing asked for does not exist (404).
    NotFound,
    /// A configured limit was hit (413 for bodies, 422/429 elsewhere).
    LimitExceeded,
    /// A dependency or resource is temporarily unavailable (503).
    Unavailable,
    /// Stored data failed an integrity check.
    Corrupt,
    /// A bug or an unexpected environment failure (500).
    Internal,
}

/// Errors raised while building model values from untrusted input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelError {
    #[error("label name {name:?} must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidLabelName { name: String },
    #[error("metric name {name:?} must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName { name: String },
    #[error("duplicate label name {name:?}")]
    DuplicateLabel { name: String },
    #[error("series has no metric name (__name__ label)")]
    MissingMetricName,
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex { pattern: String, reason: String },
    #[error("series {series} has {count} labels, more than the limit of {limit}")]
    TooManyLabels {
        series: String,
        count: usize,
        limit: usize,
    },
    #[error("series {series}: label name {name:?} is {len} bytes, more than the limit of {limit}")]
    LabelNameTooLong {
        series: String,
        name: String,
        len: usize,
        limit: usize,
    },
    #[error(
        "series {series}: value of label {name:?} is {len} bytes, more than the limit of {limit}"
    )]
    LabelValueTooLong {
        series: String,
        name: String,
        len: usize,
        limit: usize,
    },
}

impl ModelError {
    /// The kind of failure, for status-code mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ModelError::TooManyLabels { .. }
            | ModelError::LabelNameTooLong { .. }
            | ModelError::LabelValueTooLong { .. } => ErrorKind::LimitExceeded,
            _ => ErrorKind::InvalidInput,
        }
    }
}
