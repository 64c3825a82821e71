use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use vigil_model::ErrorKind;
use vigil_promql::PromqlError;

/// The status code for an error kind. The only place in Vigil where this mapping is made.
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::LimitExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Corrupt | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Prometheus's `errorType` values. Most errors take theirs from their [`ErrorKind`]; query
/// evaluation has two of its own, `execution` and `timeout`, with their own status codes
/// (Prometheus's `getDefaultErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    BadData,
    NotFound,
    Unavailable,
    Internal,
    /// The query was valid but could not be evaluated (a limit, many-to-many matching, …): 422.
    Execution,
    /// The query ran past its deadline: 503.
    Timeout,
}

impl ErrorType {
    fn of_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidInput | ErrorKind::LimitExceeded => ErrorType::BadData,
            ErrorKind::NotFound => ErrorType::NotFound,
            ErrorKind::Unavailable => ErrorType::Unavailable,
            ErrorKind::Corrupt | ErrorKind::Internal => ErrorType::Internal,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::NotFound => "not_found",
            ErrorType::Unavailable => "unavailable",
            ErrorType::Internal => "internal",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
        }
    }
}

/// An error on its way to the client, rendered in Prometheus's JSON error shape.
#[derive(Debug)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    pub error_type: ErrorType,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            error_type: ErrorType::of_kind(kind),
        }
    }
    pub fn bad_data(message: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::InvalidInput, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::Internal, message)
    }

    /// A query error as Prometheus's query endpoints report it: text that is not a valid
    /// query is `invalid parameter "query": …` (400), evaluation failures are `execution` (422),
    /// the deadline `timeout` (503), storage failures `internal` (500).
    pub fn from_query(e: PromqlError) -> Self {
        match e {
            PromqlError::Parse(m) | PromqlError::Invalid(m) => {
                ApiError::bad_data(format!("invalid parameter \"query\": {m}"))
            }
            PromqlError::Execution(m) => ApiError {
                kind: ErrorKind::LimitExceeded,
                message: m,
                error_type: ErrorType::Execution,
            },
            PromqlError::Timeout(m) => ApiError::timeout(m),
            PromqlError::Storage(e) => ApiError {
                kind: e.kind(),
                message: e.to_string(),
                error_type: ErrorType::Internal,
            },
        }
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorKind::Unavailable,
            message: message.into(),
            error_type: ErrorType::Timeout,
        }
    }

    /// The status code: the kind's ([`status_for`]) except for the two query error types.
    pub fn status(&self) -> StatusCode {
        match self.error_type {
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => status_for(self.kind),
        }
    }
}

impl IntoResponse for ApiError {
    /// Prometheus's error envelope, fields in its order: `status`, `errorType`, `error`.
    fn into_response(self) -> Response {
        let mut body = String::with_capacity(self.message.len() + 64);
        body.push_str("{\"status\":\"error\",\"errorType\":\"");
        body.push_str(self.error_type.as_str());
        body.push_str("\",\"error\":");
        crate::numfmt::json_str(&mut body, &self.message);
        body.push('}');
        (
            self.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

impl From<vigil_storage::StorageError> for ApiError {
    fn from(e: vigil_storage::StorageError) -> Self {
        ApiError::new(e.kind(), e.to_string())
    }
}

impl From<PromqlError> for ApiError {
    fn from(e: PromqlError) -> Self {
        ApiError::new(e.kind(), e.to_string())
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal(format!("worker task failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_errors_have_prometheus_types_and_codes() {
        let cases = [
            (
                PromqlError::Parse("1:3: parse error: x".into()),
                "bad_data",
                400,
            ),
            (PromqlError::Execution("too many".into()), "execution", 422),
            (PromqlError::Timeout("late".into()), "timeout", 503),
        ];
        for (e, t, code) in cases {
            let a = ApiError::from_query(e);
            assert_eq!(a.error_type.as_str(), t);
            assert_eq!(a.status().as_u16(), code);
        }
        let a = ApiError::from_query(PromqlError::Parse("1:3: parse error: x".into()));
        assert_eq!(
            a.message,
            "invalid parameter \"query\": 1:3: parse error: x"
        );
    }
}
