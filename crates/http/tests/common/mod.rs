//! The routers over the in-memory reference store and an in-memory Alertmanager, called
//! without a network.
#![allow(dead_code)]

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use parking_lot::RwLock;
use prometheus_client::registry::Registry;
use tower::ServiceExt;
use vigil_alertmanager::{Alertmanager, AlertmanagerOptions};
use vigil_http::{
    main_router, AppState, Control, HttpMetrics, IngestLimits, LoadedConfig, MetadataCatalog,
    QueryEngine, QueryLimits, ServerInfo, TargetSource,
};
use vigil_model::{ManualClock, MetricMetadata};
use vigil_storage::MemStore;

pub const START_MS: i64 = 1_700_000_000_000;

struct NoTargets;
impl TargetSource for NoTargets {
    fn targets(&self) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
        (Vec::new(), Vec::new())
    }
    fn metadata(&self) -> Vec<MetricMetadata> {
        Vec::new()
    }
}
struct NoReload;
impl Control for NoReload {
    fn reload(&self) -> Result<(), String> {
        Err("no config file".into())
    }
}

/// A state whose Alertmanager has one receiver, `default`.
pub fn state() -> AppState {
    state_with("route:\n  receiver: default\nreceivers:\n  - name: default\n").0
}

/// A state whose Alertmanager runs `am_config`, and its clock (at [`START_MS`]).
pub fn state_with(am_config: &str) -> (AppState, Arc<ManualClock>) {
    let mut registry = Registry::default();
    let metrics = HttpMetrics::new(&mut registry);
    let store = Arc::new(MemStore::new(3_600_000));
    let store_select: Arc<dyn vigil_storage::MetricSelect> = store.clone();
    let store_append: Arc<dyn vigil_storage::MetricAppend> = store.clone();
    let clock = Arc::new(ManualClock::new(START_MS));
    let alertmanager = Alertmanager::new(
        vigil_alertmanager::parse(am_config).expect("alertmanager config"),
        clock.clone(),
        AlertmanagerOptions::default(),
    )
    .expect("alertmanager");
    let st = AppState {
        query: Arc::new(QueryEngine::new(store.clone(), QueryLimits::default())),
        metadata: Arc::new(MetadataCatalog::new()),
        info: Arc::new(ServerInfo::default()),
        config: Arc::new(RwLock::new(LoadedConfig::default())),
        store,
        clock: clock.clone(),
        targets: Arc::new(NoTargets),
        control: Arc::new(NoReload),
        limits: Arc::new(RwLock::new(IngestLimits::default())),
        registry: Arc::new(registry),
        metrics,
        ready: Arc::new(AtomicBool::new(true)),
        ingest_slots: vigil_http::default_ingest_slots(),
        alertmanager: Arc::new(alertmanager),
        rules: vigil_http::RulesHandle::new(Arc::new(vigil_rules::RuleManager::new(
            vigil_rules::ManagerOptions::new(store_select.clone(), store_append.clone()),
        ))),
        ml: Arc::new(vigil_ml::MlStore::new(vigil_ml::MlConfig::default())),
    };
    (st, clock)
}

pub async fn call(st: &AppState, req: Request<Body>) -> (StatusCode, String) {
    let (s, _, b) = call_full(st, req).await;
    (s, b)
}

/// Status, `Content-Type` (empty when absent) and body.
pub async fn call_full(st: &AppState, req: Request<Body>) -> (StatusCode, String, String) {
    let resp = main_router(st.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .expect("body");
    (status, ct, String::from_utf8_lossy(&body).into_owned())
}

pub async fn get(st: &AppState, uri: &str) -> (StatusCode, String) {
    call(st, Request::get(uri).body(Body::empty()).expect("req")).await
}

pub async fn post(st: &AppState, uri: &str, body: impl Into<Body>) -> (StatusCode, String) {
    call(st, Request::post(uri).body(body.into()).expect("req")).await
}

/// A POST with `Content-Type: application/json`.
pub async fn post_json(st: &AppState, uri: &str, body: impl Into<Body>) -> (StatusCode, String) {
    call(
        st,
        Request::post(uri)
            .header("content-type", "application/json")
            .body(body.into())
            .expect("req"),
    )
    .await
}
