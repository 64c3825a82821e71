//! Prometheus's query API: `/api/v1/query`, `/api/v1/query_range`, `/api/v1/format_query`,
//! `/api/v1/parse_query`, `/api/v1/query_exemplars`, with Prometheus's parameters, JSON shapes
//! and error wording (`web/api/v1/api.go`).

pub mod encode;
pub mod engine;

use std::collections::BTreeSet;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};
use vigil_promql::{Annotations, QueryOutput, SyntaxTree, Value};

use crate::metrics::QueryLabels;
use crate::numfmt::json_str;
use crate::params::Params;
use crate::query::encode::{query_success, QueryStats};
use crate::query::engine::QueryOptions;
use crate::read::{success, success_raw};
use crate::{ApiError, AppState};

/// Prometheus reports at most this many warnings and infos each (`AsStrings(query, 10, 10)`).
const MAX_ANNOTATIONS: usize = 10;

/// Prometheus refuses range queries with `(end - start) / step` above this.
const MAX_STEPS: i64 = 11_000;

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Warnings or infos as the API lists them: at most [`MAX_ANNOTATIONS`], then a count of the
/// rest.
fn capped(set: &BTreeSet<String>, what: &str) -> Vec<String> {
    let mut out: Vec<String> = set.iter().take(MAX_ANNOTATIONS).cloned().collect();
    if set.len() > MAX_ANNOTATIONS {
        out.push(format!(
            "{} more {what} annotations omitted",
            set.len() - MAX_ANNOTATIONS
        ));
    }
    out
}

/// `timeout`, `lookback_delta`, `stats` and `limit`, common to both query endpoints.
struct CommonParams {
    opts: QueryOptions,
    stats: Option<String>,
    limit: usize,
}

/// `limit` is read first, as Prometheus does; the rest after the endpoint's own parameters.
fn common(p: &Params, limit: usize) -> Result<CommonParams, ApiError> {
    let timeout_ns = p.duration("timeout")?;
    let lookback_ns = match p.get("lookback_delta") {
        None | Some("") => None,
        Some(s) => Some(crate::params::parse_duration(s).map_err(|e| {
            ApiError::bad_data(format!("error parsing lookback delta duration: {e}"))
        })?),
    };
    Ok(CommonParams {
        opts: QueryOptions {
            timeout_ns,
            lookback_ns,
        },
        stats: p.get("stats").filter(|s| !s.is_empty()).map(str::to_owned),
        limit,
    })
}

/// Shapes an evaluated query: `limit` truncation, annotations, optional stats.
fn respond(out: QueryOutput, stats: Option<QueryStats>, c: &CommonParams) -> Response {
    let QueryOutput {
        mut value,
        annotations: Annotations {
            mut warnings,
            infos,
        },
        ..
    } = out;
    if c.limit > 0 {
        let truncated = match &mut value {
            Value::Vector(v) if v.len() > c.limit => {
                v.truncate(c.limit);
                true
            }
            Value::Matrix(m) if m.len() > c.limit => {
                m.truncate(c.limit);
                true
            }
            _ => false,
        };
        if truncated {
            warnings.insert("results truncated due to limit".to_owned());
        }
    }
    if let Some(s) = c.stats.as_deref() {
        if s != "true" && s != "all" {
            warnings.insert(format!(
                "value {s:?} for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\""
            ));
        }
    }
    let stats = stats.filter(|_| c.stats.is_some());
    json_response(query_success(
        &value,
        stats.as_ref(),
        &capped(&warnings, "warning"),
        &capped(&infos, "info"),
    ))
}

fn query_text(p: &Params) -> String {
    p.get("query").unwrap_or("").to_owned()
}

/// Counts a query by kind and outcome.
fn counted(
    st: &AppState,
    kind: &'static str,
    r: Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    let outcome = match &r {
        Ok(_) => "success",
        Err(e) => e.error_type.as_str(),
    };
    st.metrics
        .queries
        .get_or_create(&QueryLabels { kind, outcome })
        .inc();
    r
}

/// `/api/v1/query`: `query`, `time` (default now), `timeout`, `lookback_delta`, `stats`,
/// `limit`.
pub async fn instant(st: &AppState, p: Params) -> Result<Response, ApiError> {
    counted(st, "instant", instant_inner(st, p).await)
}

async fn instant_inner(st: &AppState, p: Params) -> Result<Response, ApiError> {
    let limit = p.limit()?;
    let t = p.time("time")?.unwrap_or_else(|| st.clock.now_ms());
    let c = common(&p, limit)?;
    let q = query_text(&p);
    let (out, timings) = st.query.run(c.opts, move |e| e.instant(&q, t)).await?;
    let stats = QueryStats {
        timings,
        samples: out.samples_loaded,
    };
    Ok(respond(out, Some(stats), &c))
}

/// `/api/v1/query_range`: `query`, `start`, `end`, `step` (all required), `timeout`,
/// `lookback_delta`, `stats`, `limit`.
pub async fn range(st: &AppState, p: Params) -> Result<Response, ApiError> {
    counted(st, "range", range_inner(st, p).await)
}

async fn range_inner(st: &AppState, p: Params) -> Result<Response, ApiError> {
    let limit = p.limit()?;
    let start = p.required_time("start")?;
    let end = p.required_time("end")?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let step_ns = crate::params::parse_duration(p.get("step").unwrap_or(""))
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"step\": {e}")))?;
    if step_ns <= 0 {
        return Err(ApiError::bad_data(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    // Prometheus's check, in its units: (end - start) / step > 11000, integer division of
    // nanosecond durations. In i128: `end - start` alone can overflow i64 for extreme times.
    let span_ns = (i128::from(end) - i128::from(start)) * 1_000_000;
    if span_ns / i128::from(step_ns) > i128::from(MAX_STEPS) {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    // The engine steps in milliseconds (Prometheus truncates the same way); a step under 1 ms
    // becomes 1 ms.
    let step_ms = (step_ns / 1_000_000).max(1);
    let c = common(&p, limit)?;
    let q = query_text(&p);
    let (out, timings) = st
        .query
        .run(c.opts, move |e| e.range(&q, start, end, step_ms))
        .await?;
    let stats = QueryStats {
        timings,
        samples: out.samples_loaded,
    };
    Ok(respond(out, Some(stats), &c))
}

/// `/api/v1/format_query`: the query pretty-printed.
pub async fn format(_st: &AppState, p: Params) -> Result<Response, ApiError> {
    let q = query_text(&p);
    let text = tokio::task::spawn_blocking(move || vigil_promql::format_query(&q))
        .await?
        .map_err(ApiError::from_query)?;
    let mut data = String::with_capacity(text.len() + 2);
    json_str(&mut data, &text);
    Ok(success_raw(&data, Vec::new()))
}

fn tree_json(t: SyntaxTree) -> Json {
    match t {
        SyntaxTree::Null => Json::Null,
        SyntaxTree::Bool(b) => Json::Bool(b),
        SyntaxTree::Int(i) => json!(i),
        SyntaxTree::Str(s) => Json::String(s),
        SyntaxTree::List(v) => Json::Array(v.into_iter().map(tree_json).collect()),
        SyntaxTree::Object(f) => Json::Object(
            f.into_iter()
                .map(|(k, v)| (k.to_owned(), tree_json(v)))
                .collect(),
        ),
    }
}

/// `/api/v1/parse_query`: the syntax tree as Prometheus 3's UI consumes it.
pub async fn parse(_st: &AppState, p: Params) -> Result<Response, ApiError> {
    let q = query_text(&p);
    let tree = tokio::task::spawn_blocking(move || vigil_promql::parse_query_json(&q))
        .await?
        .map_err(ApiError::from_query)?;
    Ok(success(tree_json(tree), Vec::new()))
}

/// `/api/v1/query_exemplars`: Vigil stores no exemplars yet, so a valid request gets an empty
/// list; the parameters are checked as Prometheus checks them.
pub async fn exemplars(_st: &AppState, p: Params) -> Result<Response, ApiError> {
    let start = p.time("start")?.unwrap_or(i64::MIN);
    let end = p.time("end")?.unwrap_or(i64::MAX);
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start timestamp",
        ));
    }
    let q = query_text(&p);
    tokio::task::spawn_blocking(move || vigil_promql::format_query(&q))
        .await?
        .map_err(|e| ApiError::bad_data(e.to_string()))?;
    Ok(success(Json::Array(Vec::new()), Vec::new()))
}
