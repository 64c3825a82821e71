//! Vigil's ML API: prediction and label events in (JSON, and OTLP log records over HTTP and
//! gRPC), reference datasets in, the model list and drift reports out.
//!
//! # Partial success
//!
//! An events request is a batch of independent events. Every valid event is stored; a request
//! with no refused event gets 200 and the counts, one with refused events gets 400 with the same
//! counts and the first refusals (line, position, field, reason), so that a client sees at once
//! that it must fix its data, and need not resend the events that were kept. A request that
//! cannot be used at all (unreadable or oversized body, unsupported encoding) keeps nothing and
//! gets the kind's status: 400, 413. When the store cannot make the accepted events durable the
//! answer is the kind's status too (503), although they are already in memory (see
//! `vigil_ml::MlStore::ingest_predictions`): a client that resends them counts them twice.
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
use vigil_codec::ml::{EventError, MlDecoded};
use vigil_ml::{Format, IngestReport, MlError, TableLimits};

use crate::ingest::{
    blocking, count_request, header_str, otlp_is_json, otlp_response, read_body, IngestError,
};
use crate::metrics::MlEventLabels;
use crate::params::Params;
use crate::read::{success, success_raw};
use crate::{ApiError, AppState};

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
        // Both lists are in request order, so the first `max_listed` of the two together are
        // among the first `max_listed` of each; the rest would only be formatted and dropped.
        errors.extend(report.errors.into_iter().take(max_listed).map(|(i, err)| {
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

    /// The `ExportLogsServiceResponse` for an OTLP logs export (HTTP or gRPC):
    /// `partial_success` counts the refused events.
    pub(crate) fn otlp_response(&self, json: bool) -> Vec<u8> {
        let msg = self.message();
        vigil_codec::otlp::encode_logs_partial_success(self.rejected, msg.as_deref(), json)
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
        let max = ml.max_errors_reported;
        match api {
            Api::Predictions => store_events(
                vigil_codec::ml::decode_predictions(&body, &ml),
                |e| store.ingest_predictions(e, now_ms),
                max,
            ),
            Api::Labels => store_events(
                vigil_codec::ml::decode_labels(&body, &ml),
                |e| store.ingest_labels(e, now_ms),
                max,
            ),
            Api::OtlpLogs => store_events(
                vigil_codec::ml::decode_otlp_logs(&body, json, &ml)?,
                |e| store.ingest_predictions(e, now_ms),
                max,
            ),
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

/// Stores the decoded events with `ingest` and merges its refusals with the decoder's.
fn store_events<T>(
    decoded: MlDecoded<T>,
    ingest: impl FnOnce(&[T]) -> Result<IngestReport, MlError>,
    max_listed: usize,
) -> Result<EventsOutcome, IngestError> {
    let report = ingest(&decoded.events)?;
    Ok(EventsOutcome::merge(&decoded, report, max_listed))
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
    let response = match result {
        Ok(outcome) => {
            let data = serde_json::to_string(&outcome).unwrap_or_else(|_| "{}".to_owned());
            match outcome.message() {
                None => success_raw(&data, Vec::new()),
                Some(msg) => {
                    tracing::debug!(api = api.name(), error = %msg, "ML events refused");
                    // Prometheus's error envelope, with the counts and refusals as `data`.
                    let mut b =
                        String::from("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":");
                    crate::numfmt::json_str(&mut b, &msg);
                    b.push_str(",\"data\":");
                    b.push_str(&data);
                    b.push('}');
                    let ct = [(header::CONTENT_TYPE, "application/json")];
                    (StatusCode::BAD_REQUEST, ct, b).into_response()
                }
            }
        }
        Err(e) => ApiError::new(e.kind, e.message).into_response(),
    };
    count_request(st, api.protocol(), response.status());
    response
}

/// `POST /v1/logs` (OTLP/HTTP logs): the ML prediction events among the log records are
/// stored; other records are accepted and dropped (Vigil has no log store yet). 200 with an
/// `ExportLogsServiceResponse` whose `partial_success` counts refused events; 4xx/5xx with a
/// `google.rpc.Status` for a request that cannot be used at all.
pub(crate) async fn otlp_logs(st: &AppState, headers: HeaderMap, body: Body) -> Response {
    let json = otlp_is_json(&headers);
    let encoding = header_str(&headers, header::CONTENT_ENCODING);
    let result = match read_body(body, st.limits().decode.max_body_bytes).await {
        Ok(bytes) => ingest_events(st, Api::OtlpLogs, bytes, encoding, json).await,
        Err(e) => Err(e),
    };
    let response = otlp_response(json, result.map(|o| o.otlp_response(json)));
    count_request(st, Api::OtlpLogs.protocol(), response.status());
    response
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

/// The model a path names: 1–`max_name_bytes` bytes, as event names are.
fn model_name(st: &AppState, model: &str) -> Result<(), ApiError> {
    let max = st.limits().ml.max_name_bytes;
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
    model_name(st, &model)?;
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
        // The reader shares the body: the request's bytes as they are, or the decompressed
        // ones, never a copy of either.
        let body = match vigil_codec::decompress::decode_content_encoding(
            &bytes,
            encoding.as_deref(),
            cap,
        )
        .map_err(IngestError::from)?
        {
            std::borrow::Cow::Borrowed(_) => bytes,
            std::borrow::Cow::Owned(v) => Bytes::from(v),
        };
        let types = ml.reference_types(&model);
        let format = Format::sniff(&body);
        // Only the columns are kept: the body is freed before the reference is written.
        let columns = vigil_ml::read_table_bytes(body, format, &types, &table)
            .map_err(|e| IngestError::from(MlError::from(e)))?;
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
    model_name(st, &model)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(field: &str) -> MlError {
        MlError::Event {
            field: field.into(),
            reason: "no".into(),
        }
    }

    fn decoder_error(index: usize) -> EventError {
        EventError {
            line: index,
            index,
            field: None,
            message: format!("bad {index}"),
        }
    }

    #[test]
    fn merge_lists_the_first_refusals_of_both_and_counts_them_all() {
        // Events 2, 4, 6 and 7 decoded; 1, 3 and 5 refused by the decoder.
        let decoded = MlDecoded {
            events: vec![(); 4],
            positions: vec![(2, 2), (4, 4), (6, 6), (7, 7)],
            errors: vec![decoder_error(1), decoder_error(3), decoder_error(5)],
            more_errors: 0,
            ignored: 0,
        };
        // The store refuses events 2, 4 and 7 and keeps 6.
        let report = IngestReport {
            accepted: 1,
            errors: vec![(0, refused("a")), (1, refused("b")), (3, refused("c"))],
            ..IngestReport::default()
        };
        let o = EventsOutcome::merge(&decoded, report, 4);
        assert_eq!(o.rejected, 6);
        assert_eq!(o.accepted, 1);
        let listed: Vec<usize> = o.errors.iter().map(|r| r.index).collect();
        assert_eq!(listed, [1, 2, 3, 4]);
        assert_eq!(
            o.message().as_deref(),
            Some("6 of 7 events rejected; first: line 1: bad 1")
        );
    }
}
