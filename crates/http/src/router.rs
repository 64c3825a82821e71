use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;

use crate::params::Params;
use crate::{
    alertmanager, federate, ingest, metadata, ml, ops, query, read, rules, status, ApiError,
    AppState,
};

/// Parameters from the query string and, for form-encoded POSTs, the body.
fn params(q: Option<String>, headers: &HeaderMap, body: &Bytes) -> Params {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    Params::new(q.as_deref(), is_form.then_some(body.as_ref()))
}

fn respond(r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

macro_rules! read_handler {
    ($f:path) => {
        |State(st): State<AppState>, RawQuery(q): RawQuery, headers: HeaderMap, body: Bytes| async move {
            respond($f(&st, params(q, &headers, &body)).await)
        }
    };
}

macro_rules! status_handler {
    ($f:path) => {
        |State(st): State<AppState>| async move { respond($f(&st).await) }
    };
}

/// The main port: push receivers, Prometheus read and query APIs, federation, status and ops
/// endpoints, Alertmanager's API v2, Vigil's ML API.
pub fn main_router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/write",
            post(
                |State(st): State<AppState>, headers: HeaderMap, body: Body| async move {
                    ingest::remote_write(&st, headers, body).await
                },
            ),
        )
        .route(
            "/api/v1/import/prometheus",
            post(
                |State(st): State<AppState>,
                 RawQuery(q): RawQuery,
                 headers: HeaderMap,
                 body: Body| async move {
                    ingest::import_prometheus(&st, q, headers, body).await
                },
            ),
        )
        .route("/v1/metrics", post(otlp_metrics))
        .route("/v1/logs", post(otlp_logs))
        .route(
            "/api/v1/ml/predictions",
            post(
                |State(st): State<AppState>, headers: HeaderMap, body: Body| async move {
                    ml::events(&st, ml::Api::Predictions, headers, body).await
                },
            ),
        )
        .route(
            "/api/v1/ml/labels",
            post(
                |State(st): State<AppState>, headers: HeaderMap, body: Body| async move {
                    ml::events(&st, ml::Api::Labels, headers, body).await
                },
            ),
        )
        .route("/api/v1/ml/models", get(status_handler!(ml::models)))
        .route(
            "/api/v1/ml/models/{model}/reference",
            put(
                |State(st): State<AppState>,
                 Path(model): Path<String>,
                 RawQuery(q): RawQuery,
                 headers: HeaderMap,
                 body: Body| async move {
                    let p = Params::new(q.as_deref(), None);
                    respond(ml::put_reference(&st, model, p, headers, body).await)
                },
            ),
        )
        .route(
            "/api/v1/ml/models/{model}/drift",
            get(
                |State(st): State<AppState>,
                 Path(model): Path<String>,
                 RawQuery(q): RawQuery| async move {
                    respond(ml::drift(&st, model, Params::new(q.as_deref(), None)).await)
                },
            ),
        )
        .route(
            "/api/v1/series",
            get(read_handler!(read::series)).post(read_handler!(read::series)),
        )
        .route(
            "/api/v1/labels",
            get(read_handler!(read::label_names)).post(read_handler!(read::label_names)),
        )
        .route(
            "/api/v1/label/{name}/values",
            get(
                |State(st): State<AppState>,
                 Path(name): Path<String>,
                 RawQuery(q): RawQuery,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    respond(read::label_values(&st, name, params(q, &headers, &body)).await)
                },
            ),
        )
        .route(
            "/api/v1/query",
            get(read_handler!(query::instant)).post(read_handler!(query::instant)),
        )
        .route(
            "/api/v1/query_range",
            get(read_handler!(query::range)).post(read_handler!(query::range)),
        )
        .route(
            "/api/v1/format_query",
            get(read_handler!(query::format)).post(read_handler!(query::format)),
        )
        .route(
            "/api/v1/parse_query",
            get(read_handler!(query::parse)).post(read_handler!(query::parse)),
        )
        .route(
            "/api/v1/query_exemplars",
            get(read_handler!(query::exemplars)).post(read_handler!(query::exemplars)),
        )
        .route("/api/v1/metadata", get(read_handler!(metadata::metadata)))
        .route(
            "/api/v1/rules",
            get(read_handler!(rules::rules)).post(read_handler!(rules::rules)),
        )
        .route(
            "/api/v1/alerts",
            get(read_handler!(rules::alerts)).post(read_handler!(rules::alerts)),
        )
        .route(
            "/api/v1/status/buildinfo",
            get(status_handler!(status::buildinfo)),
        )
        .route(
            "/api/v1/status/runtimeinfo",
            get(status_handler!(status::runtimeinfo)),
        )
        .route("/api/v1/status/flags", get(status_handler!(status::flags)))
        .route(
            "/api/v1/status/config",
            get(status_handler!(status::config)),
        )
        .route(
            "/federate",
            get(
                |State(st): State<AppState>, RawQuery(q): RawQuery| async move {
                    federate::federate(&st, Params::new(q.as_deref(), None)).await
                },
            ),
        )
        .route("/api/v1/status/tsdb", get(read_handler!(read::tsdb_status)))
        .route(
            "/api/v1/export",
            get(read_handler!(read::export)).post(read_handler!(read::export)),
        )
        .route("/api/v1/targets", get(read_handler!(read::targets)))
        .route(
            "/api/v1/admin/flush",
            post(|State(st): State<AppState>| async move { respond(ops::flush(&st).await) }),
        )
        .route(
            "/metrics",
            get(|State(st): State<AppState>| async move { ops::metrics(&st).await }),
        )
        .route("/-/healthy", get(ops::healthy).head(ops::healthy))
        .route(
            "/-/ready",
            get(|State(st): State<AppState>| async move { ops::ready(&st).await }),
        )
        .route(
            "/-/reload",
            post(|State(st): State<AppState>| async move { ops::reload(&st).await })
                .put(|State(st): State<AppState>| async move { ops::reload(&st).await }),
        )
        .merge(alertmanager::routes())
        .with_state(state)
}

async fn otlp_metrics(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    ingest::otlp_http(&st, headers, body).await
}

async fn otlp_logs(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    ml::otlp_logs(&st, headers, body).await
}

/// The OTLP/HTTP port (4318 by default): only the OTLP paths.
pub fn otlp_http_router(state: AppState) -> Router {
    Router::new()
        .route("/v1/metrics", post(otlp_metrics))
        .route("/v1/logs", post(otlp_logs))
        .with_state(state)
}
