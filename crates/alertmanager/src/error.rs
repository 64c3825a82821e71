//! Errors of the alertmanager crate.

use std::path::Path;

use thiserror::Error;
use vigil_model::ErrorKind;

/// A problem in an Alertmanager configuration, located by line.
///
/// `path` is the YAML-ish path of the offending node inside the Alertmanager document
/// (`route.routes[2].matchers[0]`), `line` the 1-based line it starts on when known. The caller
/// adds the file name and, for a section embedded in Vigil's config, the `alertmanager.` prefix
/// (see [`crate::config::from_value`], which already looks lines up in the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// Where in the document, e.g. `receivers[0].email_configs[0].to`; empty for the whole file.
    pub path: String,
    /// 1-based line of `path` (or its nearest ancestor) when positions were known.
    pub line: Option<usize>,
    /// What is wrong, in Alertmanager's wording where it has one.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            line: None,
            reason: reason.into(),
        }
    }

    fn render(&self) -> String {
        match self.line {
            Some(l) => format!("line {l}: {}", self.reason),
            None => self.reason.clone(),
        }
    }

    /// Always [`ErrorKind::InvalidInput`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

/// Everything else that can go wrong in the notifier core.
///
/// Messages for rejected alerts and silences carry Alertmanager's own wording, since the HTTP
/// layer returns them verbatim as the 400 body (amtool prints them).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// One or more posted alerts were invalid (the valid ones were still stored). The message
    /// joins every reason with `; `, as Alertmanager's multi-error does.
    #[error("{0}")]
    InvalidAlerts(String),
    /// A posted silence was invalid.
    #[error("{0}")]
    InvalidSilence(String),
    /// No silence has this id.
    #[error("silence not found")]
    SilenceNotFound,
    /// A `filter` matcher or a `receiver` regular expression of a query did not parse.
    #[error("{0}")]
    InvalidQuery(String),
    /// The silence file exists but cannot be read as silences.
    #[error("silence file {path}: {reason}")]
    CorruptSilences { path: String, reason: String },
    /// Reading or writing the silence file failed.
    #[error("silence file {path}: {reason}")]
    Io { path: String, reason: String },
    /// An unexpected environment failure (no randomness for a silence id).
    #[error("{0}")]
    Internal(String),
    /// The notification log file exists but cannot be read as one. The notifier keeps running
    /// with an empty log (and may repeat notifications once); the damaged file is set aside.
    #[error("notification log {path}: {reason}")]
    CorruptNflog { path: String, reason: String },
    /// A notification template file cannot be read or does not parse.
    #[error("template {file}: {reason}")]
    Template { file: String, reason: String },
    /// A receiver integration cannot be built (`http_config` files, unsupported options).
    #[error("receiver {receiver:?} {integration}: {reason}")]
    Integration {
        receiver: String,
        /// `webhook[0]`, `email[1]`, …
        integration: String,
        reason: String,
    },
    /// One attempt to notify failed. `retryable` failures (network, 5xx, 429) are retried with
    /// backoff until the group's next flush; the others are reported once.
    #[error("{integration}: {reason}")]
    Notify {
        integration: String,
        retryable: bool,
        reason: String,
    },
    /// The notifier was asked to start twice, or to work while stopped.
    #[error("{0}")]
    Notifier(String),
}

impl Error {
    /// The kind of failure, for status-code mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_)
            | Error::InvalidAlerts(_)
            | Error::InvalidSilence(_)
            | Error::InvalidQuery(_) => ErrorKind::InvalidInput,
            Error::SilenceNotFound => ErrorKind::NotFound,
            Error::CorruptSilences { .. } | Error::CorruptNflog { .. } => ErrorKind::Corrupt,
            Error::Io { .. } | Error::Internal(_) | Error::Notifier(_) => ErrorKind::Internal,
            Error::Template { .. } | Error::Integration { .. } => ErrorKind::InvalidInput,
            Error::Notify { .. } => ErrorKind::Unavailable,
        }
    }
}

/// An I/O error naming the file it happened to.
pub(crate) fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Replaces a state file crash-safely ([`vigil_wal::write_atomic`]: `<file>.tmp`, fsync, rename,
/// directory fsync). Blocking.
///
/// # Errors
/// [`Error::Io`] naming `path`, the reason naming the step and file that failed; before the
/// rename the previous file is left as it was.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    vigil_wal::write_atomic(path, bytes).map_err(|e| io_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_renders_line_first() {
        let mut e = ConfigError::new("route", "no routes provided");
        assert_eq!(e.to_string(), "no routes provided");
        e.line = Some(3);
        assert_eq!(e.to_string(), "line 3: no routes provided");
    }
}
