//! Errors of the scrape crate.

use thiserror::Error;
use vigil_model::ErrorKind;

/// A problem in the scrape configuration, located by a YAML-ish path such as
/// `scrape_configs[2].relabel_configs[0].regex`, so that the server can point at the line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {reason}")]
pub struct ConfigError {
    /// Where in the config the problem is, e.g. `scrape_configs[0].scrape_timeout`.
    pub path: String,
    /// What is wrong, e.g. `scrape timeout 20s is greater than scrape interval 15s`.
    pub reason: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Always [`ErrorKind::InvalidInput`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }

    /// Prefixes the path with `parent` (`parent.path`, or `parent[..]` for index paths).
    pub fn within(mut self, parent: &str) -> Self {
        if parent.is_empty() {
            return self;
        }
        self.path = if self.path.is_empty() {
            parent.to_owned()
        } else if self.path.starts_with('[') {
            format!("{parent}{}", self.path)
        } else {
            format!("{parent}.{}", self.path)
        };
        self
    }
}

/// Everything that can go wrong while scraping or discovering targets.
///
/// A scrape's failure is shown to users as `lastError` in the targets API, so each message is
/// written for an operator and, where Prometheus has a well-known wording, uses it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScrapeError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client for a scrape pool could not be built (unreadable CA file, bad key …).
    #[error("error creating HTTP client: {0}")]
    HttpClient(String),
    /// The request failed: connection, TLS, timeout …
    #[error("Get {url:?}: {reason}")]
    Request { url: String, reason: String },
    /// The target answered with a non-2xx status.
    #[error("server returned HTTP status {status}")]
    HttpStatus { status: String },
    /// The body was larger than `body_size_limit`.
    #[error("body size limit exceeded")]
    BodySizeLimit,
    /// The body is not valid Prometheus text / OpenMetrics.
    #[error("{0}")]
    Parse(String),
    /// More samples (after metric relabelling) than `sample_limit`.
    #[error("sample limit exceeded")]
    SampleLimit,
    /// A series broke `label_limit` or a label length limit; the message names the series.
    #[error("{0}")]
    LabelLimit(String),
    /// A series lacks `__name__` or has invalid label names after relabelling.
    #[error("{0}")]
    InvalidSeries(String),
    /// The pool has more targets than `target_limit`.
    #[error("target_limit exceeded (number of targets: {targets}, limit: {limit})")]
    TargetLimit { targets: usize, limit: usize },
    /// A credentials or password file could not be read.
    #[error("unable to read {what} file {path}: {reason}")]
    SecretFile {
        what: &'static str,
        path: String,
        reason: String,
    },
    /// A file_sd file could not be read or parsed.
    #[error("file_sd: {path}: {reason}")]
    Discovery { path: String, reason: String },
    /// The metric store refused the whole batch.
    #[error("storage: {0}")]
    Storage(String),
}

impl ScrapeError {
    /// The kind of failure, for status-code mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ScrapeError::Config(_) | ScrapeError::HttpClient(_) => ErrorKind::InvalidInput,
            ScrapeError::Parse(_) | ScrapeError::InvalidSeries(_) => ErrorKind::InvalidInput,
            ScrapeError::Discovery { .. } => ErrorKind::InvalidInput,
            ScrapeError::BodySizeLimit
            | ScrapeError::SampleLimit
            | ScrapeError::LabelLimit(_)
            | ScrapeError::TargetLimit { .. } => ErrorKind::LimitExceeded,
            ScrapeError::Request { .. }
            | ScrapeError::HttpStatus { .. }
            | ScrapeError::Storage(_) => ErrorKind::Unavailable,
            ScrapeError::SecretFile { .. } => ErrorKind::Internal,
        }
    }

    /// A short, bounded name for the failure, used as the `reason` label of
    /// `vigil_scrape_failures_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ScrapeError::Config(_) | ScrapeError::HttpClient(_) => "config",
            ScrapeError::Request { reason, .. } if reason == TIMEOUT_REASON => "timeout",
            ScrapeError::Request { .. } => "request",
            ScrapeError::HttpStatus { .. } => "http_status",
            ScrapeError::BodySizeLimit => "body_size_limit",
            ScrapeError::Parse(_) => "parse",
            ScrapeError::SampleLimit => "sample_limit",
            ScrapeError::LabelLimit(_) => "label_limit",
            ScrapeError::InvalidSeries(_) => "invalid_series",
            ScrapeError::TargetLimit { .. } => "target_limit",
            ScrapeError::SecretFile { .. } => "secret_file",
            ScrapeError::Discovery { .. } => "discovery",
            ScrapeError::Storage(_) => "storage",
        }
    }
}

/// The wording Prometheus (Go's context package) uses for a scrape that ran out of time.
pub(crate) const TIMEOUT_REASON: &str = "context deadline exceeded";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_builds_paths() {
        let e = ConfigError::new("regex", "bad").within("relabel_configs[0]");
        assert_eq!(e.path, "relabel_configs[0].regex");
        let e = ConfigError::new("[1]", "bad").within("targets");
        assert_eq!(e.path, "targets[1]");
        assert_eq!(e.to_string(), "targets[1]: bad");
    }
}
