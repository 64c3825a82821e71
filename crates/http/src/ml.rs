//! Vigil's ML API: prediction and label events in (JSON, and OTLP log records over HTTP and
//! gRPC), reference datasets in, the model list and drift reports out.
//!
//! # Partial success
//!
//! An events request is a batch of independent events. Every valid event is stored; a request
//! with no refused event gets 200 and the counts, one with refused events gets 400 with the same
//! counts and the first refusals (line, position, field, reason), so that a client sees at once
//! that it must fix its data, and need not resend the events that were kept. A failure of the
//! whole request (unreadable or oversized body, unsupported encoding, the store unable to make
//! the events durable) keeps nothing and gets the kind's status: 400, 413, 503.
//!
//! ```json
//! {"status":"error","errorType":"bad_data",
//!  "error":"1 of 3 events rejected; first: line 2: field \"prediction\": required",
//!  "data":{"accepted":2,"rejected":1,"joined":0,"unmatched":0,
//!          "errors":[{"line":2,"index":2,"field":"prediction","error":"required"}]}}
//! ```
//!
//! OTLP log exports answer as OTLP does: 200 with `partial_success.rejected_log_records`.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vigil_codec::ml::{EventError, MlDecodeLimits, MlDecoded};
use vigil_ml::{Format, IngestReport, MlError, TableLimits};

use crate::ingest::{blocking, header_str, read_body, IngestError};
use crate::metrics::{MlEventLabels, RequestLabels};
use crate::params::Params;
use crate::read::success;
use crate::{status_for, ApiError, AppState};

/// Which events API a request came through, for errors and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    Predictions,
    Labels,
    OtlpLogs,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Predictions => "predictions",
            Api::Labels => "labels",
            Api::OtlpLogs => "otlp_logs",
        }
    }

    fn protocol(self) -> &'static str {
        match self {
            Api::Predictions => "ml_predictions",
            Api::Labels => "ml_labels",
            Api::OtlpLogs => "otlp_logs",
        }
    }
}

/// One refused event as reported to the client.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Refusal {
    /// 1-based line where the event starts; 0 for OTLP.
    line: usize,
    /// 1-based position of the event in the request.
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    error: String,
}

impl Refusal {
    fn text(&self) -> String {
        EventError {
            line: self.line,
            index: self.index,
            field: self.field.clone(),
            message: self.error.clone(),
        }
        .to_string()
    }
}

/// What became of one events request.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct EventsOutcome {
    pub accepted: usize,
    pub rejected: u64,
    pub joined: usize,
    pub unmatched: usize,
    /// Not part of the JSON: OTLP log records without `ml.model` (counted in metrics).
    #[serde(skip)]
    pub ignored: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Refusal>,
}

impl EventsOutcome {
    /// The decoder's refusals and the store's, in request order, listing at most
    /// `max_listed`.
    fn merge<T>(decoded: &MlDecoded<T>, report: IngestReport, max_listed: usize) -> Self {
        let mut errors: Vec<Refusal> = decoded
            .errors
            .iter()
            .map(|e| Refusal {
                line: e.line,
                index: e.index,
                field: e.field.clone(),
                error: e.message.clone(),
            })
            .collect();
        let store_refused = report.errors.len();
        errors.extend(report.errors.into_iter().map(|(i, err)| {
            let (line, index) = decoded.positions.get(i).copied().unwrap_or((0, i + 1));
            let (field, error) = match err {
                MlError::Event { field, reason } => (Some(field), reason),
                other => (None, other.to_string()),
            };
            Refusal {
                line,
                index,
                field,
                error,
            }
        }));
        errors.sort_by_key(|r| r.index);
        errors.truncate(max_listed);
        EventsOutcome {
            accepted: report.accepted,
            rejected: decoded
                .error_count()
                .saturating_add(u64::try_from(store_refused).unwrap_or(u64::MAX)),
            joined: report.joined,
            unmatched: report.unmatched,
            ignored: decoded.ignored,
            errors,
        }
    }

    /// `N of M events rejected; first: …`, or `None` when nothing was refused.
    pub(crate) fn message(&self) -> Option<String> {
        if self.rejected == 0 {
            return None;
        }
        let total = self
            .rejected
            .saturating_add(u64::try_from(self.accepted).unwrap_or(u64::MAX));
        let mut m = format!("{} of {total} events rejected", self.rejected);
        if let Some(first) = self.errors.first() {
            m.push_str("; first: ");
            m.push_str(&first.text());
        }
        Some(m)
    }
}

impl From<MlError> for IngestError {
    fn from(e: MlError) -> Self {
        IngestError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// Decodes and stores one events body (already read, possibly compressed). `json` selects
/// OTLP/JSON for [`Api::OtlpLogs`].
pub(crate) async fn ingest_events(
    st: &AppState,
    api: Api,
    bytes: Bytes,
    content_encoding: Option<String>,
    json: bool,
) -> Result<EventsOutcome, IngestError> {
    let limits = st.limits();
    let now_ms = st.clock.now_ms();
    let store = st.ml.clone();
    let outcome = blocking(st, move || {
        let body = vigil_codec::decompress::decode_content_encoding(
            &bytes,
            content_encoding.as_deref(),
            limits.decode.max_decompressed_bytes,
        )
        .map_err(IngestError::from)?;
        let ml = limits.ml;
        match api {
            Api::Predictions => {
                let d = vigil_codec::ml::decode_predictions(&body, &ml);
                let r = store
                    .ingest_predictions(&d.events, now_ms)
                    .map_err(IngestError::from)?;
                Ok(EventsOutcome::merge(&d, r, ml.max_errors_reported))
            }
            Api::Labels => {
                let d = vigil_codec::ml::decode_labels(&body, &ml);
                let r = store
                    .ingest_labels(&d.events, now_ms)
                    .map_err(IngestError::from)?;
                Ok(EventsOutcome::merge(&d, r, ml.max_errors_reported))
            }
            Api::OtlpLogs => {
                let d = vigil_codec::ml::decode_otlp_logs(&body, json, &ml)
                    .map_err(IngestError::from)?;
                let r = store
                    .ingest_predictions(&d.events, now_ms)
                    .map_err(IngestError::from)?;
                Ok(EventsOutcome::merge(&d, r, ml.max_errors_reported))
            }
        }
    })
    .await?;
    let count = |outcome: &'static str, n: u64| {
        if n > 0 {
            st.metrics
                .ml_events
                .get_or_create(&MlEventLabels {
                    api: api.name(),
                    outcome,
                })
                .inc_by(n);
        }
    };
    count(
        "accepted",
        u64::try_from(outcome.accepted).unwrap_or(u64::MAX),
    );
    count("rejected", outcome.rejected);
    count("ignored", outcome.ignored);
    Ok(outcome)
}

fn count_request(st: &AppState, api: Api, code: StatusCode) {
    st.metrics
        .requests
        .get_or_create(&RequestLabels {
            protocol: api.protocol(),
            code: code.as_u16(),
        })
        .inc();
}

fn json_response(code: StatusCode, body: String) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `POST /api/v1/ml/predictions` and `POST /api/v1/ml/labels`: 200 with the counts when every
/// event was stored, 400 with the counts and the refusals when some were not (the rest are
/// stored), the kind's status when the request failed as a whole (see the module doc).
pub(crate) async fn events(st: &AppState, api: Api, headers: HeaderMap, body: Body) -> Response {
    let encoding = header_str(&headers, header::CONTENT_ENCODING);
    let result = match read_body(body, st.limits().decode.max_body_bytes).await {
        Ok(bytes) => ingest_events(st, api, bytes, encoding, false).await,
        Err(e) => Err(e),
    };
    let (code, body) = match result {
        Ok(outcome) => {
            let data = serde_json::to_string(&outcome).unwrap_or_else(|_| "{}".to_owned());
            match outcome.message() {
                None => (
                    StatusCode::OK,
                    format!("{{\"status\":\"success\",\"data\":{data}}}"),
                ),
                Some(msg) => {
                    let mut b =
                        String::from("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":");
                    crate::numfmt::json_str(&mut b, &msg);
                    b.push_str(",\"data\":");
                    b.push_str(&data);
                    b.push('}');
                    tracing::debug!(api = api.name(), error = %msg, "ML events refused");
                    (StatusCode::BAD_REQUEST, b)
                }
            }
        }
        Err(e) => {
            let r = ApiError::new(e.kind, e.message).into_response();
            count_request(st, api, r.status());
            return r;
        }
    };
    count_request(st, api, code);
    json_response(code, body)
}

/// `POST /v1/logs` (OTLP/HTTP logs): the ML prediction events among the log records are
/// stored; other records are accepted and dropped (Vigil has no log store yet). 200 with an
/// `ExportLogsServiceResponse` whose `partial_success` counts refused events; 4xx/5xx with a
/// `google.rpc.Status` for a request that cannot be used at all.
pub(crate) async fn otlp_logs(st: &AppState, headers: HeaderMap, body: Body) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    let ct = vigil_codec::otlp::response_content_type(json);
    let encoding = header_str(&headers, header::CONTENT_ENCODING);
    let result = match read_body(body, st.limits().decode.max_body_bytes).await {
        Ok(bytes) => ingest_events(st, Api::OtlpLogs, bytes, encoding, json).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(o) => {
            let msg = o.message();
            let bytes =
                vigil_codec::otlp::encode_logs_partial_success(o.rejected, msg.as_deref(), json);
            count_request(st, Api::OtlpLogs, StatusCode::OK);
            (StatusCode::OK, [(header::CONTENT_TYPE, ct)], bytes).into_response()
        }
        Err(e) => {
            let code = status_for(e.kind);
            count_request(st, Api::OtlpLogs, code);
            let bytes = vigil_codec::otlp::encode_error_status(e.kind, &e.message, json);
            (code, [(header::CONTENT_TYPE, ct)], bytes).into_response()
        }
    }
}

/// `GET /api/v1/ml/models`: every model with its versions, features, pending labels and
/// references.
pub(crate) async fn models(st: &AppState) -> Result<Response, ApiError> {
    let ml = st.ml.clone();
    let list = tokio::task::spawn_blocking(move || ml.models())
        .await
        .map_err(|e| ApiError::internal(format!("model list task failed: {e}")))?;
    let data = serde_json::to_value(list).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(success(data, Vec::new()))
}

/// The model a path names: 1–200 bytes, as event names are.
fn model_name(model: &str) -> Result<(), ApiError> {
    let max = MlDecodeLimits::default().max_name_bytes;
    if model.is_empty() || model.len() > max {
        return Err(ApiError::bad_data(format!(
            "invalid model name: must be 1–{max} bytes"
        )));
    }
    Ok(())
}

/// `PUT /api/v1/ml/models/{model}/reference[?version=V]`: a CSV or Parquet body (told apart by
/// its first bytes; gzip `Content-Encoding` accepted) becomes the model's reference dataset,
/// for one version or, without `version`, for every version without its own. Columns are read
/// with the types the model's configuration declares, the rest detected.
pub(crate) async fn put_reference(
    st: &AppState,
    model: String,
    params: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    model_name(&model)?;
    let version = params.get("version").filter(|v| !v.is_empty());
    let version = version.map(str::to_owned);
    let limits = st.limits();
    let table = TableLimits::default();
    // A reference is read whole, so it gets the decompressed-body limit as its own cap.
    let cap = limits
        .decode
        .max_decompressed_bytes
        .min(u64::try_from(table.max_bytes).unwrap_or(u64::MAX));
    let bytes = read_body(body, cap)
        .await
        .map_err(|e| ApiError::new(e.kind, e.message))?;
    let encoding = header_str(&headers, header::CONTENT_ENCODING);
    let ml = st.ml.clone();
    let now_ms = st.clock.now_ms();
    let summary = blocking(st, move || {
        let body =
            vigil_codec::decompress::decode_content_encoding(&bytes, encoding.as_deref(), cap)
                .map_err(IngestError::from)?;
        let types = ml.reference_types(&model);
        let columns = vigil_ml::read_table(&body, Format::sniff(&body), &types, &table)
            .map_err(|e| IngestError::from(MlError::from(e)))?;
        drop(bytes);
        let s = ml
            .set_reference(&model, version.as_deref(), columns, now_ms)
            .map_err(IngestError::from)?;
        Ok((model, s))
    })
    .await
    .map_err(|e| ApiError::new(e.kind, e.message))?;
    let (model, s) = summary;
    let mut data = serde_json::to_value(&s).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(obj) = data.as_object_mut() {
        obj.insert("model".to_owned(), serde_json::Value::String(model));
    }
    Ok(success(data, Vec::new()))
}

/// `GET /api/v1/ml/models/{model}/drift[?at=T][&version=V]`: per version, the drift of every
/// feature for the current window ending at `at` (default now): method, statistic, threshold,
/// verdict, both windows' histograms or category frequencies, and data quality.
pub(crate) async fn drift(
    st: &AppState,
    model: String,
    params: Params,
) -> Result<Response, ApiError> {
    model_name(&model)?;
    let at_ms = match params.time("at")? {
        Some(t) => t,
        None => st.clock.now_ms(),
    };
    let version = params
        .get("version")
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let ml = st.ml.clone();
    let report =
        tokio::task::spawn_blocking(move || ml.drift_report(&model, version.as_deref(), at_ms))
            .await
            .map_err(|e| ApiError::internal(format!("drift task failed: {e}")))?
            .map_err(|e| ApiError::new(e.kind(), e.to_string()))?;
    let data = serde_json::to_value(report).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(success(data, Vec::new()))
}
