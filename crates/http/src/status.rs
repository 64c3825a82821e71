//! Prometheus's status endpoints: `/api/v1/status/buildinfo`, `runtimeinfo`, `flags` and
//! `config`, in Prometheus's field names. What they report comes from the server through
//! [`ServerInfo`] (fixed at start) and [`LoadedConfig`] (replaced on reload).

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use vigil_model::Labels;

use crate::read::{success, success_raw};
use crate::{ApiError, AppState};

/// The Prometheus version whose HTTP API Vigil answers like, reported as `version` by
/// `buildinfo`. Clients such as Grafana choose which API calls to make from this number;
/// Vigil's own version is in `vigilVersion`. (VictoriaMetrics and Thanos report a Prometheus
/// version the same way.)
pub const PROMETHEUS_API_VERSION: &str = "3.0.0";

/// Facts about the running server, fixed at start.
#[derive(Debug, Clone, Default)]
pub struct ServerInfo {
    /// Vigil's version.
    pub version: String,
    pub start_time_ms: i64,
    pub cwd: String,
    pub hostname: String,
    /// Command-line flags with their effective values, for `/api/v1/status/flags`.
    pub flags: BTreeMap<String, String>,
    /// `15d`, `50GiB`, or `15d or 50GiB`, as Prometheus words it.
    pub storage_retention: String,
}

/// The configuration in force; the server replaces it on every (successful or failed) reload.
#[derive(Debug, Clone, Default)]
pub struct LoadedConfig {
    /// The config file's YAML with secrets masked; empty when Vigil runs without a file.
    pub yaml: String,
    /// `global.external_labels`, attached by `/federate`.
    pub external_labels: Labels,
    /// When the configuration in force was loaded.
    pub loaded_at_ms: i64,
    /// Whether the last reload attempt succeeded.
    pub reload_success: bool,
}

fn rfc3339(ms: i64) -> String {
    let at = match u64::try_from(ms) {
        Ok(ms) => UNIX_EPOCH + Duration::from_millis(ms),
        Err(_) => UNIX_EPOCH,
    };
    humantime::format_rfc3339_millis(at).to_string()
}

/// Serialises a struct in its field order (Prometheus's Go structs define the order).
fn ordered<T: Serialize>(data: &T) -> Result<Response, ApiError> {
    let text = serde_json::to_string(data)
        .map_err(|e| ApiError::internal(format!("cannot encode status: {e}")))?;
    Ok(success_raw(&text, Vec::new()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildInfo<'a> {
    version: &'a str,
    revision: &'a str,
    branch: &'a str,
    build_user: &'a str,
    build_date: &'a str,
    go_version: &'a str,
    application: &'a str,
    vigil_version: &'a str,
}

/// `/api/v1/status/buildinfo`.
pub async fn buildinfo(st: &AppState) -> Result<Response, ApiError> {
    ordered(&BuildInfo {
        version: PROMETHEUS_API_VERSION,
        revision: "",
        branch: "",
        build_user: "",
        build_date: "",
        go_version: "",
        application: "vigil",
        vigil_version: &st.info.version,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeInfo<'a> {
    start_time: String,
    #[serde(rename = "CWD")]
    cwd: &'a str,
    hostname: &'a str,
    server_time: String,
    reload_config_success: bool,
    last_config_time: String,
    corruption_count: i64,
    goroutine_count: usize,
    #[serde(rename = "GOMAXPROCS")]
    gomaxprocs: usize,
    #[serde(rename = "GOMEMLIMIT")]
    gomemlimit: i64,
    #[serde(rename = "GOGC")]
    gogc: &'a str,
    #[serde(rename = "GODEBUG")]
    godebug: &'a str,
    storage_retention: &'a str,
}

/// `/api/v1/status/runtimeinfo`. The Go runtime fields are answered with their Rust
/// counterparts: `goroutineCount` counts live tokio tasks, `GOMAXPROCS` the async worker
/// threads.
pub async fn runtimeinfo(st: &AppState) -> Result<Response, ApiError> {
    let cfg = st.config.read().clone();
    let rt = tokio::runtime::Handle::current().metrics();
    ordered(&RuntimeInfo {
        start_time: rfc3339(st.info.start_time_ms),
        cwd: &st.info.cwd,
        hostname: &st.info.hostname,
        server_time: rfc3339(st.clock.now_ms()),
        reload_config_success: cfg.reload_success,
        last_config_time: rfc3339(cfg.loaded_at_ms),
        corruption_count: 0,
        goroutine_count: rt.num_alive_tasks(),
        gomaxprocs: rt.num_workers(),
        gomemlimit: i64::MAX,
        gogc: "",
        godebug: "",
        storage_retention: &st.info.storage_retention,
    })
}

/// `/api/v1/status/flags`.
pub async fn flags(st: &AppState) -> Result<Response, ApiError> {
    Ok(success(json!(st.info.flags), Vec::new()))
}

/// `/api/v1/status/config`: `{"yaml": …}`.
pub async fn config(st: &AppState) -> Result<Response, ApiError> {
    let yaml = st.config.read().yaml.clone();
    Ok(success(json!({ "yaml": yaml }), Vec::new()))
}
