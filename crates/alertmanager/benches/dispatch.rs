//! How long 10 000 alerts take from `post_alerts` to a webhook: routed, grouped, flushed
//! through the pipeline (inhibition, silences, dedup, nflog) and received by a local HTTP
//! server. Two shapes: 100 groups of 100 alerts (`group_by: [alertname]`) and 10 000 groups of
//! one alert (`group_by: [alertname, instance]`), `group_wait: 100ms` (so that a group's
//! alerts, posted in one call, are all in before its first flush; the 100 ms are included).
//!
//! `cargo bench -p vigil-alertmanager --bench dispatch` prints, per shape, the time to route and
//! group (the `post_alerts` call) and the time until the webhook has seen every alert. The
//! issue's target is under a second for the whole path.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use vigil_alertmanager::api::PostableAlert;
use vigil_alertmanager::{parse, Alertmanager, AlertmanagerOptions, NotifierOptions};
use vigil_model::SystemClock;
use vigil_template::NotificationTemplates;

const ALERTS: usize = 10_000;

/// The allocator the `vigil` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Counts alerts in webhook payloads without parsing them (each alert has one fingerprint).
async fn count(State(n): State<Arc<AtomicUsize>>, body: Bytes) -> &'static str {
    let needle = b"\"fingerprint\"";
    let hits = body.windows(needle.len()).filter(|w| w == needle).count();
    n.fetch_add(hits, Ordering::SeqCst);
    "ok"
}

async fn run(name: &str, group_by: &str, alertnames: usize) {
    let received = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/hook", post(count))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let cfg = format!(
        "route:\n  receiver: hook\n  group_by: {group_by}\n  group_wait: 100ms\n  group_interval: 1m\n\
         receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://{addr}/hook\n"
    );
    let am = Alertmanager::new(
        parse(&cfg).expect("config"),
        Arc::new(SystemClock),
        AlertmanagerOptions::default(),
    )
    .expect("alertmanager");
    let opts = NotifierOptions::new(
        Arc::new(NotificationTemplates::new(&[]).expect("templates")),
        "http://vigil:9900",
    );
    am.start_notifier(&tokio::runtime::Handle::current(), opts)
        .expect("start");
    let alerts: Vec<PostableAlert> = (0..ALERTS)
        .map(|i| PostableAlert {
            labels: Some(
                [
                    ("alertname".to_owned(), format!("Alert{}", i % alertnames)),
                    ("instance".to_owned(), format!("host-{i}:9100")),
                    ("job".to_owned(), "node".to_owned()),
                    ("severity".to_owned(), "warning".to_owned()),
                ]
                .into_iter()
                .collect(),
            ),
            annotations: Some(
                [("summary".to_owned(), format!("host {i} is down"))]
                    .into_iter()
                    .collect(),
            ),
            ..PostableAlert::default()
        })
        .collect();
    let t0 = Instant::now();
    am.post_alerts(alerts).expect("post");
    let grouped = t0.elapsed();
    let deadline = t0 + Duration::from_secs(60);
    let mut first = None;
    while received.load(Ordering::SeqCst) < ALERTS {
        if first.is_none() && received.load(Ordering::SeqCst) > 0 {
            first = Some(t0.elapsed());
        }
        if Instant::now() > deadline {
            println!(
                "{name}: only {} alerts after 60s",
                received.load(Ordering::SeqCst)
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let total = t0.elapsed();
    println!("{name}: first alert received after {:?}", first);
    println!(
        "{name}: {ALERTS} alerts routed and grouped in {:.1} ms, all received by the webhook after {:.1} ms ({} groups)",
        grouped.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        am.aggregation_groups(),
    );
    am.stop_notifier().await;
    server.abort();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        run("100 groups x 100 alerts", "[alertname]", 100).await;
        run("10000 groups x 1 alert", "[alertname, instance]", ALERTS).await;
    });
}
