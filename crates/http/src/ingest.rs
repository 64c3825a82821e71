//! The generic push handler: every protocol in `vigil_codec::Protocol` goes through
//! [`ingest`]: read the body under the size cap, decode, apply per-series limits, append, answer.

use axum::body::{to_bytes, Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use vigil_codec::{CodecError, DecodeContext, Decoded, Protocol};
use vigil_model::ErrorKind;
use vigil_storage::{AppendOutcome, RejectReason};

use crate::metrics::{ProtocolLabels, RejectLabels, RequestLabels};
use crate::params::Params;
use crate::{status_for, AppState};

/// The result of one push, before it is shaped into the protocol's response.
#[derive(Debug, Default)]
pub struct IngestResult {
    pub outcome: AppendOutcome,
    /// Points the decoder dropped (OTLP partial success) and why.
    pub decoder_rejected: u64,
    pub decoder_message: Option<String>,
}

impl IngestResult {
    pub fn rejected_total(&self) -> u64 {
        self.decoder_rejected + self.outcome.rejected_total() as u64
    }
    pub fn message(&self) -> Option<String> {
        let n = self.rejected_total();
        if n == 0 {
            return None;
        }
        let first = self
            .decoder_message
            .clone()
            .or_else(|| self.outcome.first_rejection.clone())
            .unwrap_or_default();
        Some(format!("{n} samples rejected, first: {first}"))
    }

    /// The `ExportMetricsServiceResponse` for an OTLP push (HTTP or gRPC): `partial_success`
    /// counts the rejected points.
    pub fn otlp_response(&self, json: bool) -> Vec<u8> {
        let msg = self.message();
        vigil_codec::otlp::encode_partial_success(self.rejected_total(), msg.as_deref(), json)
    }
}

/// A failure of the whole request.
#[derive(Debug)]
pub struct IngestError {
    pub kind: ErrorKind,
    pub message: String,
}

impl From<CodecError> for IngestError {
    fn from(e: CodecError) -> Self {
        IngestError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// Reads, decodes and stores one push body. Extra labels (text import) are added to every
/// series, overriding labels of the same name.
pub async fn ingest(
    st: &AppState,
    protocol: Protocol,
    headers: &HeaderMap,
    body: Body,
    extra_labels: Vec<(String, String)>,
) -> Result<IngestResult, IngestError> {
    let bytes = read_body(body, st.limits().decode.max_body_bytes).await?;
    let content_encoding = header_str(headers, header::CONTENT_ENCODING);
    let content_type = header_str(headers, header::CONTENT_TYPE);
    ingest_bytes(
        st,
        protocol,
        bytes,
        content_encoding,
        content_type,
        extra_labels,
    )
    .await
}

/// Reads a request body of at most `max_bytes` (as received, before any decompression).
///
/// # Errors
/// [`ErrorKind::LimitExceeded`] past the cap, [`ErrorKind::InvalidInput`] when the body cannot
/// be read.
pub(crate) async fn read_body(body: Body, max_bytes: u64) -> Result<Bytes, IngestError> {
    let cap = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    to_bytes(body, cap).await.map_err(|e| {
        // `to_bytes` wraps http-body-util's `Limited`, whose cap error is a `LengthLimitError`.
        let inner = e.into_inner();
        let over = inner
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some();
        if over {
            IngestError {
                kind: ErrorKind::LimitExceeded,
                message: format!("request body is over the limit of {max_bytes} bytes"),
            }
        } else {
            IngestError {
                kind: ErrorKind::InvalidInput,
                message: format!("cannot read request body: {inner}"),
            }
        }
    })
}

/// Runs `f` on the blocking pool under an ingest slot (which bounds the bodies held at once).
pub(crate) async fn blocking<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce() -> Result<T, IngestError> + Send + 'static,
) -> Result<T, IngestError> {
    // The semaphore is never closed, so acquiring only fails if it were; treat that as busy.
    let permit = st
        .ingest_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| IngestError {
            kind: ErrorKind::Unavailable,
            message: "ingest is shutting down".to_owned(),
        })?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
    .map_err(|e| IngestError {
        kind: ErrorKind::Internal,
        message: format!("ingest task failed: {e}"),
    })?
}

/// Decodes and stores a body already read into memory (the gRPC path enters here, as tonic has
/// done the framing and decompression).
pub async fn ingest_bytes(
    st: &AppState,
    protocol: Protocol,
    bytes: Bytes,
    content_encoding: Option<String>,
    content_type: Option<String>,
    extra_labels: Vec<(String, String)>,
) -> Result<IngestResult, IngestError> {
    let limits = st.limits();
    let now_ms = st.clock.now_ms();
    let store = st.store.clone();
    let catalog = st.metadata.clone();
    let result = blocking(st, move || {
        let ctx = DecodeContext {
            limits: limits.decode,
            content_encoding: content_encoding.as_deref(),
            content_type: content_type.as_deref(),
            now_ms,
        };
        let Decoded {
            mut batch,
            rejected_points,
            rejection_message,
        } = protocol.decode(&bytes, &ctx)?;
        drop(bytes);
        catalog.record(&batch.metadata);
        let mut outcome = AppendOutcome::default();
        if !extra_labels.is_empty() {
            for s in &mut batch.series {
                let mut b = s.labels.builder();
                for (k, v) in &extra_labels {
                    b.set(k, v);
                }
                s.labels = b.build();
            }
        }
        // Name syntax was checked by the decoder; only the configurable limits remain.
        batch
            .series
            .retain(|s| match limits.series.check(&s.labels) {
                Ok(()) => true,
                Err(e) => {
                    outcome.reject(RejectReason::InvalidSeries, s.samples.len(), || {
                        e.to_string()
                    });
                    false
                }
            });
        let stored = store.append(&batch).map_err(|e| IngestError {
            kind: e.kind(),
            message: e.to_string(),
        })?;
        outcome.merge(stored);
        Ok(IngestResult {
            outcome,
            decoder_rejected: rejected_points,
            decoder_message: rejection_message,
        })
    })
    .await?;

    let name = protocol.name();
    st.metrics
        .samples_ingested
        .get_or_create(&ProtocolLabels { protocol: name })
        .inc_by(result.outcome.accepted as u64);
    for (reason, n) in &result.outcome.rejected {
        st.metrics
            .samples_rejected
            .get_or_create(&RejectLabels {
                protocol: name,
                reason: reason.as_str(),
            })
            .inc_by(*n as u64);
    }
    if result.decoder_rejected > 0 {
        st.metrics
            .samples_rejected
            .get_or_create(&RejectLabels {
                protocol: name,
                reason: "unsupported",
            })
            .inc_by(result.decoder_rejected);
    }
    Ok(result)
}

pub(crate) fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Counts one push request in `vigil_http_requests_total{protocol, code}`.
pub(crate) fn count_request(st: &AppState, protocol: &'static str, code: StatusCode) {
    st.metrics
        .requests
        .get_or_create(&RequestLabels {
            protocol,
            code: code.as_u16(),
        })
        .inc();
}

fn plain(st: &AppState, protocol: Protocol, code: StatusCode, msg: String) -> Response {
    count_request(st, protocol.name(), code);
    if code.is_client_error() || code.is_server_error() {
        tracing::debug!(protocol = protocol.name(), %code, error = %msg, "rejected push");
    }
    (code, msg).into_response()
}

/// `POST /api/v1/write`: 204 when every sample was stored; 400 naming the first rejected
/// sample when some were not (the rest are stored: Prometheus senders do not retry a 4xx).
pub async fn remote_write(st: &AppState, headers: HeaderMap, body: Body) -> Response {
    let p = Protocol::RemoteWrite;
    let r = ingest(st, p, &headers, body, Vec::new()).await;
    plain_result(st, p, r)
}

/// 204 when every sample was stored, 400 naming the first rejection when some were not, the
/// kind's status when the request failed as a whole; the body is plain text.
fn plain_result(st: &AppState, p: Protocol, r: Result<IngestResult, IngestError>) -> Response {
    match r {
        Ok(r) => match r.message() {
            None => plain(st, p, StatusCode::NO_CONTENT, String::new()),
            Some(m) => plain(st, p, StatusCode::BAD_REQUEST, m),
        },
        Err(e) => plain(st, p, status_for(e.kind), e.message),
    }
}

/// `POST /api/v1/import/prometheus`: text-format body; `extra_label=name=value` query
/// parameters (VictoriaMetrics's convention) are added to every series.
pub async fn import_prometheus(
    st: &AppState,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let p = Protocol::PrometheusText;
    let params = Params::new(query.as_deref(), None);
    let mut extra = Vec::new();
    for v in params.all("extra_label") {
        match v.split_once('=') {
            Some((k, val)) if vigil_model::is_valid_label_name(k) => {
                extra.push((k.to_owned(), val.to_owned()))
            }
            _ => {
                return plain(
                    st,
                    p,
                    StatusCode::BAD_REQUEST,
                    format!(
                        "invalid extra_label {v:?}: expected name=value with a valid label name"
                    ),
                )
            }
        }
    }
    let r = ingest(st, p, &headers, body, extra).await;
    plain_result(st, p, r)
}

/// `POST /v1/metrics` (OTLP/HTTP): protobuf or JSON by Content-Type; 200 with an
/// `ExportMetricsServiceResponse` whose `partial_success` counts rejected points; 4xx with a
/// `google.rpc.Status` for a body that cannot be used at all (OTLP/HTTP spec, "Failures").
pub async fn otlp_http(st: &AppState, headers: HeaderMap, body: Body) -> Response {
    let json = otlp_is_json(&headers);
    let p = if json {
        Protocol::OtlpJson
    } else {
        Protocol::OtlpProtobuf
    };
    let r = ingest(st, p, &headers, body, Vec::new()).await;
    let response = otlp_response(json, r.map(|r| r.otlp_response(json)));
    count_request(st, p.name(), response.status());
    response
}

/// Whether an OTLP/HTTP request body is OTLP/JSON (by its Content-Type) rather than protobuf.
pub(crate) fn otlp_is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"))
}

/// An OTLP/HTTP answer: 200 with the export response, or the kind's status with a
/// `google.rpc.Status` for a request that could not be used at all.
pub(crate) fn otlp_response(json: bool, r: Result<Vec<u8>, IngestError>) -> Response {
    let ct = vigil_codec::otlp::response_content_type(json);
    match r {
        Ok(bytes) => (StatusCode::OK, [(header::CONTENT_TYPE, ct)], bytes).into_response(),
        Err(e) => {
            let bytes = vigil_codec::otlp::encode_error_status(e.kind, &e.message, json);
            (status_for(e.kind), [(header::CONTENT_TYPE, ct)], bytes).into_response()
        }
    }
}
