//! Operational endpoints: health, readiness, reload, own metrics, admin flush.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::{ApiError, AppState};

pub async fn healthy() -> Response {
    (StatusCode::OK, "Vigil is Healthy.\n").into_response()
}

pub async fn ready(st: &AppState) -> Response {
    if st.is_ready() {
        (StatusCode::OK, "Vigil is Ready.\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}

/// `POST /-/reload`: 200 when the new config is in force; 500 with the reason otherwise
/// (Prometheus's behaviour; the previous config keeps running).
pub async fn reload(st: &AppState) -> Response {
    let control = st.control.clone();
    match tokio::task::spawn_blocking(move || control.reload()).await {
        Ok(Ok(())) => (StatusCode::OK, "").into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload task failed: {e}\n"),
        )
            .into_response(),
    }
}

/// `GET /metrics`: Vigil's own metrics in the Prometheus text format.
pub async fn metrics(st: &AppState) -> Response {
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &st.registry) {
        return ApiError::internal(format!("cannot encode metrics: {e}")).into_response();
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// `POST /api/v1/admin/flush`: persist the in-memory head so on-disk size reflects all data.
pub async fn flush(st: &AppState) -> Result<Response, ApiError> {
    let store = st.store.clone();
    tokio::task::spawn_blocking(move || store.flush()).await??;
    Ok(axum::Json(json!({"status": "success"})).into_response())
}
