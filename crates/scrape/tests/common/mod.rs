//! Shared test fixtures: a local exposition server, a manager over a MemStore, bounded waits.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use parking_lot::Mutex;
use prometheus_client::registry::Registry;
use vigil_model::{is_stale_nan, Labels, Matcher, Sample, SystemClock};
use vigil_scrape::{validate, ManagerOptions, RawScrapeConfig, ScrapeManager, ScrapeSettings};
use vigil_storage::{MemStore, MetricSelect, TimeRange};

/// What the test server answers, changeable between scrapes.
#[derive(Debug, Clone)]
pub struct Served {
    pub body: String,
    pub content_type: String,
    pub status: u16,
    /// Compress the body when the client accepts gzip.
    pub gzip: bool,
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub gzipped: bool,
}

#[derive(Debug, Default)]
pub struct ServerState {
    pub served: Mutex<Option<Served>>,
    pub seen: Mutex<Vec<Seen>>,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: Arc<ServerState>,
}

impl TestServer {
    pub fn set_body(&self, body: &str) {
        if let Some(s) = self.state.served.lock().as_mut() {
            s.body = body.to_owned();
        }
    }

    pub fn update(&self, f: impl FnOnce(&mut Served)) {
        if let Some(s) = self.state.served.lock().as_mut() {
            f(s);
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().clone()
    }

    pub fn address(&self) -> String {
        self.addr.to_string()
    }
}

async fn handle(State(st): State<Arc<ServerState>>, uri: Uri, headers: HeaderMap) -> Response {
    let served = st.served.lock().clone();
    let Some(served) = served else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let accepts_gzip = headers
        .get("accept-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let gzipped = served.gzip && accepts_gzip;
    st.seen.lock().push(Seen {
        path_and_query: uri
            .path_and_query()
            .map(ToString::to_string)
            .unwrap_or_default(),
        headers,
        gzipped,
    });
    let status = StatusCode::from_u16(served.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if gzipped {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(served.body.as_bytes()).expect("gzip");
        let bytes = enc.finish().expect("gzip");
        return (
            status,
            [
                ("content-type", served.content_type.clone()),
                ("content-encoding", "gzip".to_owned()),
            ],
            bytes,
        )
            .into_response();
    }
    (
        status,
        [("content-type", served.content_type.clone())],
        served.body,
    )
        .into_response()
}

pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Starts a server on 127.0.0.1:0 answering every path with `body` as Prometheus text.
pub async fn serve(body: &str) -> TestServer {
    let state = Arc::new(ServerState {
        served: Mutex::new(Some(Served {
            body: body.to_owned(),
            content_type: TEXT_CONTENT_TYPE.to_owned(),
            status: 200,
            gzip: false,
        })),
        seen: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    TestServer { addr, state }
}

pub struct Harness {
    pub store: Arc<MemStore>,
    pub manager: ScrapeManager,
    pub registry: Registry,
}

impl Harness {
    pub fn new() -> Self {
        let store = Arc::new(MemStore::new(3_600_000));
        let mut registry = Registry::default();
        let manager = ScrapeManager::new(
            Arc::clone(&store) as Arc<dyn vigil_storage::MetricAppend>,
            Arc::new(SystemClock),
            &mut registry,
            ManagerOptions {
                file_sd_poll_interval: Duration::from_millis(100),
                ..ManagerOptions::default()
            },
        );
        Harness {
            store,
            manager,
            registry,
        }
    }

    pub async fn apply(&self, yaml: &str) {
        self.manager.apply(&settings(yaml)).await;
    }

    /// Series matching `name` and the given label equalities, with all their samples.
    pub fn series(&self, name: &str, labels: &[(&str, &str)]) -> Vec<(Labels, Vec<Sample>)> {
        let mut matchers = vec![Matcher::equal("__name__", name)];
        matchers.extend(labels.iter().map(|(k, v)| Matcher::equal(*k, *v)));
        self.store
            .select(&matchers, TimeRange::all())
            .expect("select")
            .map(|s| s.expect("series"))
            .map(|s| (s.labels, s.samples))
            .collect()
    }

    /// The values of the single series matching, oldest first.
    pub fn values(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.series(name, labels)
            .into_iter()
            .flat_map(|(_, s)| s.into_iter().map(|s| s.v))
            .collect()
    }

    pub fn last_is_stale(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.values(name, labels)
            .last()
            .is_some_and(|v| is_stale_nan(*v))
    }

    pub fn has_stale(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.values(name, labels).iter().any(|v| is_stale_nan(*v))
    }

    pub fn metrics_text(&self) -> String {
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, &self.registry).expect("encode");
        s
    }
}

pub fn settings(yaml: &str) -> ScrapeSettings {
    let raw: RawScrapeConfig = serde_yaml_ng::from_str(yaml).expect("yaml");
    validate(&raw).expect("valid config")
}

/// Polls `f` every 20 ms for up to 15 s.
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

pub fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
