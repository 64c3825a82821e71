//! Helpers of the notifier tests: an HTTP sink standing in for webhook, Slack and PagerDuty
//! endpoints, polling with deadlines, and building a started `Alertmanager`.

#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use vigil_alertmanager::{parse, Alertmanager, AlertmanagerOptions, NotifierOptions};
use vigil_model::SystemClock;
use vigil_template::NotificationTemplates;

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
    /// The status the sink answered with.
    pub status: u16,
}

#[derive(Default)]
struct SinkState {
    received: Mutex<Vec<Received>>,
    /// Answer status for every request (200 unless set).
    status: AtomicU16,
}

/// An HTTP server on 127.0.0.1 that records every POSTed JSON body.
pub struct Sink {
    pub url: String,
    state: Arc<SinkState>,
    task: tokio::task::JoinHandle<()>,
}

async fn record(
    State(st): State<Arc<SinkState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let status = match st.status.load(Ordering::SeqCst) {
        0 => 200,
        s => s,
    };
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    st.received.lock().push(Received {
        path: uri.path().to_owned(),
        at: Instant::now(),
        headers,
        body,
        status,
    });
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

impl Sink {
    pub async fn start() -> Sink {
        let state = Arc::new(SinkState::default());
        let app = Router::new()
            .route("/{*path}", post(record))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind sink");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sink {
            url: format!("http://{addr}"),
            state,
            task,
        }
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<Received> {
        self.state.received.lock().clone()
    }

    /// The requests answered with 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| r.status / 100 == 2)
            .collect()
    }

    pub fn set_status(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    /// Waits until `n` requests were accepted; panics after `timeout`.
    pub async fn wait_accepted(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.accepted();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} accepted requests within {timeout:?}, got {}: {got:#?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The alert names of a webhook payload, in payload order.
pub fn alertnames(body: &serde_json::Value) -> Vec<String> {
    body["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    format!(
                        "{}/{}",
                        x["labels"]["alertname"].as_str().unwrap_or(""),
                        x["labels"]["instance"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Notifier options for tests: short timeouts and maintenance.
pub fn options() -> NotifierOptions {
    let mut o = NotifierOptions::new(
        Arc::new(NotificationTemplates::new(&[]).expect("templates")),
        "http://vigil.test:9900",
    );
    o.min_notify_timeout = Duration::from_secs(2);
    o.request_timeout = Duration::from_secs(2);
    o.cleanup_interval = Duration::from_millis(200);
    o.maintenance_interval = Duration::from_secs(60);
    o.nflog_write_delay = Duration::from_millis(20);
    o
}

/// An Alertmanager with `config` (YAML), data in `dir` when given, notifier started.
pub fn start(config: &str, dir: Option<&Path>) -> Alertmanager {
    let am = Alertmanager::new(
        parse(config).expect("config"),
        Arc::new(SystemClock),
        AlertmanagerOptions {
            data_dir: dir.map(Path::to_path_buf),
            ..AlertmanagerOptions::default()
        },
    )
    .expect("alertmanager");
    am.start_notifier(&tokio::runtime::Handle::current(), options())
        .expect("start notifier");
    am
}

/// Waits until the notification log holds `n` entries (a notification is logged just after the
/// receiver answered).
pub async fn wait_logged(am: &Alertmanager, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while am.nflog().len() < n {
        assert!(
            Instant::now() < deadline,
            "notification log has {} entries, want {n}",
            am.nflog().len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Builds a postable alert from label pairs.
pub fn alert(pairs: &[(&str, &str)]) -> vigil_alertmanager::api::PostableAlert {
    vigil_alertmanager::api::PostableAlert {
        labels: Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..Default::default()
    }
}

/// Whether a peer is required (`VIGIL_REQUIRE_PEERS=1`).
pub fn peers_required() -> bool {
    std::env::var("VIGIL_REQUIRE_PEERS").as_deref() == Ok("1")
}

/// Prints why a peer test is skipped, or fails when peers are required.
pub fn skip(why: &str) {
    assert!(!peers_required(), "{why} and VIGIL_REQUIRE_PEERS=1");
    println!("skipped: {why}");
}
