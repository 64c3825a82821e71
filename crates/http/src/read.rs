//! Prometheus's read-side metadata API (series, labels, label values, TSDB status) and the
//! VictoriaMetrics-shaped raw export. PromQL queries are in `query`.

use std::collections::{BTreeSet, HashSet};

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use vigil_model::{is_stale_nan, Labels, Matcher};
use vigil_storage::{MetricStore, StorageError};

use crate::params::Params;
use crate::{ApiError, AppState};

/// Prometheus's success envelope, fields in its order: `status`, `data`, `warnings`.
pub(crate) fn success(data: Value, warnings: Vec<String>) -> Response {
    // Serialising a `Value` cannot fail: its map keys are strings.
    let data = serde_json::to_string(&data).unwrap_or_else(|_| "null".to_owned());
    success_raw(&data, warnings)
}

/// [`success`] with `data` already JSON text, for data whose field order matters.
pub(crate) fn success_raw(data: &str, warnings: Vec<String>) -> Response {
    let mut body = String::with_capacity(data.len() + 64);
    body.push_str("{\"status\":\"success\",\"data\":");
    body.push_str(data);
    if !warnings.is_empty() {
        body.push_str(",\"warnings\":");
        body.push_str(&serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".to_owned()));
    }
    body.push('}');
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub fn labels_json(l: &Labels) -> Value {
    let mut m = Map::new();
    for lab in l {
        m.insert(lab.name.clone(), Value::String(lab.value.clone()));
    }
    Value::Object(m)
}

/// Runs a blocking storage read off the async threads.
async fn blocking<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&dyn MetricStore) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = st.store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref())).await?
}

fn truncate<T>(v: &mut Vec<T>, limit: usize, warnings: &mut Vec<String>) {
    if limit > 0 && v.len() > limit {
        v.truncate(limit);
        warnings.push("results truncated due to limit".to_owned());
    }
}

/// `/api/v1/series`: at least one `match[]`; the union of the matches, sorted.
pub async fn series(st: &AppState, p: Params) -> Result<Response, ApiError> {
    let sets = p.matchers().await?;
    if sets.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let range = p.range()?;
    let limit = p.limit()?;
    let mut out = blocking(st, move |s| union(&sets, |m| s.series(m, range))).await?;
    let mut warnings = Vec::new();
    truncate(&mut out, limit, &mut warnings);
    Ok(success(
        Value::Array(out.iter().map(labels_json).collect()),
        warnings,
    ))
}

/// The sorted union of `read` over every `match[]` set; with none, `read` of no matchers as
/// the store returns it.
fn union<T: Ord>(
    sets: &[Vec<Matcher>],
    read: impl Fn(&[Matcher]) -> Result<Vec<T>, StorageError>,
) -> Result<Vec<T>, ApiError> {
    if sets.is_empty() {
        return Ok(read(&[])?);
    }
    let mut all = BTreeSet::new();
    for m in sets {
        all.extend(read(m)?);
    }
    Ok(all.into_iter().collect())
}

/// `/api/v1/labels`.
pub async fn label_names(st: &AppState, p: Params) -> Result<Response, ApiError> {
    let sets = p.matchers().await?;
    let range = p.range()?;
    let limit = p.limit()?;
    let mut out = blocking(st, move |s| union(&sets, |m| s.label_names(m, range))).await?;
    let mut warnings = Vec::new();
    truncate(&mut out, limit, &mut warnings);
    Ok(success(json!(out), warnings))
}

/// `/api/v1/label/{name}/values`.
pub async fn label_values(st: &AppState, name: String, p: Params) -> Result<Response, ApiError> {
    if !vigil_model::is_valid_label_name(&name) {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let sets = p.matchers().await?;
    let range = p.range()?;
    let limit = p.limit()?;
    let mut out = blocking(st, move |s| {
        union(&sets, |m| s.label_values(&name, m, range))
    })
    .await?;
    let mut warnings = Vec::new();
    truncate(&mut out, limit, &mut warnings);
    Ok(success(json!(out), warnings))
}

/// `/api/v1/status/tsdb` in Prometheus's shape; `limit` (default 10) caps each list.
pub async fn tsdb_status(st: &AppState, p: Params) -> Result<Response, ApiError> {
    let limit = match p.limit()? {
        0 => 10,
        n => n,
    };
    let s = blocking(st, move |s| Ok(s.status(limit)?)).await?;
    let list = |v: &[vigil_storage::ValueCount]| -> Value {
        Value::Array(
            v.iter()
                .map(|c| json!({"name": c.name, "value": c.value}))
                .collect(),
        )
    };
    let (min_t, max_t) = if s.num_series == 0 {
        (0, 0)
    } else {
        (s.min_time, s.max_time)
    };
    Ok(success(
        json!({
            "headStats": {
                "numSeries": s.num_series,
                "numLabelPairs": s.num_label_pairs,
                "chunkCount": s.chunk_count,
                "minTime": min_t,
                "maxTime": max_t,
            },
            "seriesCountByMetricName": list(&s.series_count_by_metric_name),
            "labelValueCountByLabelName": list(&s.label_value_count_by_label_name),
            "memoryInBytesByLabelName": list(&s.memory_in_bytes_by_label_name),
            "seriesCountByLabelValuePair": list(&s.series_count_by_label_value_pair),
        }),
        Vec::new(),
    ))
}

/// `/api/v1/export`: one JSON object per line per series,
/// `{"metric":{…},"values":[…],"timestamps":[…]}` (VictoriaMetrics's export shape). Values that
/// JSON cannot hold are strings: `"NaN"`, `"+Inf"`, `"-Inf"`; Prometheus's staleness markers are
/// written as `"StaleNaN"` so that a backup keeps them distinct.
pub async fn export(st: &AppState, p: Params) -> Result<Response, ApiError> {
    let sets = p.matchers().await?;
    if sets.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let range = p.range()?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(8);
    let store = st.store.clone();
    // Produce lines on a blocking thread and stream them, so a big export is never whole in
    // memory. A closed channel (client gone) stops the producer.
    tokio::task::spawn_blocking(move || {
        let send_err = |tx: &tokio::sync::mpsc::Sender<_>, msg: String| {
            let _ = tx.blocking_send(Err(std::io::Error::other(msg)));
        };
        // One streaming select per `match[]`; with several, a series matched twice is written
        // once (only then are emitted label sets remembered).
        let mut emitted: HashSet<Labels> = HashSet::new();
        let dedupe = sets.len() > 1;
        let mut buf = Vec::with_capacity(64 * 1024);
        for m in &sets {
            let set = match store.select(m, range) {
                Ok(s) => s,
                Err(e) => return send_err(&tx, e.to_string()),
            };
            for sd in set {
                let sd = match sd {
                    Ok(sd) => sd,
                    Err(e) => return send_err(&tx, e.to_string()),
                };
                if dedupe && !emitted.insert(sd.labels.clone()) {
                    continue;
                }
                let values: Vec<Value> = sd.samples.iter().map(|s| export_value(s.v)).collect();
                let ts: Vec<i64> = sd.samples.iter().map(|s| s.t).collect();
                let line =
                    json!({"metric": labels_json(&sd.labels), "values": values, "timestamps": ts});
                if serde_json::to_writer(&mut buf, &line).is_err() {
                    return send_err(&tx, "cannot encode export line".to_owned());
                }
                buf.push(b'\n');
                if buf.len() >= 32 * 1024 {
                    if tx.blocking_send(Ok(std::mem::take(&mut buf))).is_err() {
                        return;
                    }
                    buf.reserve(64 * 1024);
                }
            }
        }
        if !buf.is_empty() {
            let _ = tx.blocking_send(Ok(buf));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/stream+json")],
        Body::from_stream(stream),
    )
        .into_response())
}

fn export_value(v: f64) -> Value {
    if is_stale_nan(v) {
        Value::String("StaleNaN".into())
    } else if v.is_nan() {
        Value::String("NaN".into())
    } else if v == f64::INFINITY {
        Value::String("+Inf".into())
    } else if v == f64::NEG_INFINITY {
        Value::String("-Inf".into())
    } else {
        json!(v)
    }
}

/// `/api/v1/targets` with Prometheus's `state` filter.
pub async fn targets(st: &AppState, p: Params) -> Result<Response, ApiError> {
    let state = p.get("state").unwrap_or("any").to_ascii_lowercase();
    let (mut active, mut dropped) = st.targets.targets();
    if state != "any" && state != "active" {
        active.clear();
    }
    if state != "any" && state != "dropped" {
        dropped.clear();
    }
    Ok(success(
        json!({"activeTargets": active, "droppedTargets": dropped}),
        Vec::new(),
    ))
}
