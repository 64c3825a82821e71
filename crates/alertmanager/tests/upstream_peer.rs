//! The sender to external Alertmanagers against Debian's `prometheus-alertmanager` 0.25, and
//! Vigil's webhook payload against the one that Alertmanager sends for the same alerts.
//!
//! Alertmanager runs on a free 127.0.0.1 port with a temporary config and storage directory,
//! clustering off, routing to a webhook on a local sink. Alerts pushed through
//! `UpstreamSender` must show up in its own `GET /api/v2/alerts` with the labels, annotations,
//! times, generator URL and fingerprint sent; a resolved alert must leave that list and arrive
//! resolved in Alertmanager's webhook. Vigil's notifier, configured with the same route and fed
//! the same alerts, must send webhook payloads equal to Alertmanager's (all but `externalURL`).
//!
//! Without the binary the test prints `skipped: …` (fails with `VIGIL_REQUIRE_PEERS=1`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{skip, start, Sink};
use vigil_alertmanager::api::PostableAlert;
use vigil_alertmanager::upstream::{
    UpstreamAlert, UpstreamOptions, UpstreamSender, UpstreamTarget,
};
use vigil_alertmanager::{format_rfc3339_ms, Fingerprint};
use vigil_model::{Clock, Labels, SystemClock};

const BINARY: &str = "/usr/bin/prometheus-alertmanager";

/// The real Alertmanager; killed through its own child handle when dropped.
struct Peer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn route_config(hook: &str) -> String {
    format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {hook}
"#
    )
}

impl Peer {
    async fn start(hook: &str) -> Option<Peer> {
        if !Path::new(BINARY).exists() {
            skip(&format!(
                "{BINARY} not found (apt-get install prometheus-alertmanager)"
            ));
            return None;
        }
        let dir = tempfile::tempdir().expect("dir");
        let cfg = dir.path().join("alertmanager.yml");
        std::fs::write(&cfg, route_config(hook)).expect("config");
        let port = free_port();
        let child = Command::new(BINARY)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn alertmanager");
        let peer = Peer {
            child,
            port,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = client
                .get(format!("http://127.0.0.1:{port}/-/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Some(peer);
            }
            assert!(
                Instant::now() < deadline,
                "alertmanager not ready within 20s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn alerts(&self) -> Vec<serde_json::Value> {
        let body = reqwest::get(format!("http://127.0.0.1:{}/api/v2/alerts", self.port))
            .await
            .expect("get alerts")
            .text()
            .await
            .expect("body");
        serde_json::from_str::<Vec<serde_json::Value>>(&body).expect("json")
    }
}

struct Sent {
    labels: Vec<(&'static str, &'static str)>,
    summary: &'static str,
}

fn upstream_alert(s: &Sent, starts_at: i64, ends_at: i64) -> UpstreamAlert {
    UpstreamAlert {
        labels: Labels::from_pairs(s.labels.iter().copied()).expect("labels"),
        annotations: BTreeMap::from([("summary".to_owned(), s.summary.to_owned())]),
        starts_at,
        ends_at,
        generator_url: "http://prometheus:9090/graph?g0.expr=up%3D%3D0&g0.tab=1".to_owned(),
    }
}

/// A webhook body without what legitimately differs between the two servers.
fn comparable(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("externalURL");
    }
    v
}

async fn wait_for(sink: &Sink, path: &str, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got: Vec<serde_json::Value> = sink
            .accepted()
            .into_iter()
            .filter(|r| r.path == path)
            .map(|r| r.body)
            .collect();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} payloads on {path}, got {got:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_alertmanager_0_25_and_payloads_match() {
    let sink = Sink::start().await;
    let Some(peer) = Peer::start(&format!("{}/am", sink.url)).await else {
        return;
    };
    let sender = UpstreamSender::new(UpstreamOptions::default());
    sender
        .set_targets(vec![UpstreamTarget::new(
            "http",
            &format!("127.0.0.1:{}", peer.port),
            "",
        )])
        .expect("targets");
    sender.start(&tokio::runtime::Handle::current());

    let now = SystemClock.now_ms();
    // Millisecond precision on the wire, as Prometheus sends (strfmt.DateTime).
    let starts = now - 60_123;
    let ends = now + 3_600_000;
    let sent = [
        Sent {
            labels: vec![
                ("alertname", "InstanceDown"),
                ("instance", "a:9100"),
                ("job", "node"),
            ],
            summary: "a is down",
        },
        Sent {
            labels: vec![
                ("alertname", "InstanceDown"),
                ("instance", "b:9100"),
                ("job", "node"),
            ],
            summary: "b is down",
        },
    ];
    let alerts: Vec<UpstreamAlert> = sent
        .iter()
        .map(|s| upstream_alert(s, starts, ends))
        .collect();
    sender.send(alerts.clone());

    // Alertmanager's own view.
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let l = peer.alerts().await;
        if l.len() == 2 {
            break l;
        }
        assert!(
            Instant::now() < deadline,
            "alerts not in alertmanager: {l:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for a in &alerts {
        let fp = Fingerprint::of(&a.labels).to_string();
        let got = listed
            .iter()
            .find(|x| x["fingerprint"] == fp.as_str())
            .unwrap_or_else(|| panic!("fingerprint {fp} not in {listed:#?}"));
        let labels: BTreeMap<String, String> =
            serde_json::from_value(got["labels"].clone()).expect("labels");
        let want: BTreeMap<String, String> = a
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        assert_eq!(labels, want);
        assert_eq!(
            got["annotations"]["summary"],
            a.annotations["summary"].as_str()
        );
        assert_eq!(got["startsAt"], format_rfc3339_ms(starts).as_str());
        assert_eq!(got["endsAt"], format_rfc3339_ms(ends).as_str());
        assert_eq!(got["generatorURL"], a.generator_url.as_str());
        assert_eq!(got["status"]["state"], "active");
    }

    // Vigil's notifier with the same route, fed the same alerts.
    let vigil = start(&route_config(&format!("{}/vigil", sink.url)), None);
    vigil
        .post_alerts(alerts.iter().map(PostableAlert::from).collect())
        .expect("post");
    let am_first = wait_for(&sink, "/am", 1).await;
    let vigil_first = wait_for(&sink, "/vigil", 1).await;
    assert_eq!(
        comparable(vigil_first[0].clone()),
        comparable(am_first[0].clone())
    );
    assert_eq!(am_first[0]["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");

    // Resolve one: it leaves Alertmanager's list and is notified as resolved, by both.
    let resolved_at = SystemClock.now_ms() - 1;
    let resolved = upstream_alert(&sent[0], starts, resolved_at);
    sender.send(vec![resolved.clone()]);
    vigil
        .post_alerts(vec![PostableAlert::from(&resolved)])
        .expect("post");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let l = peer.alerts().await;
        if l.len() == 1 {
            assert_eq!(l[0]["labels"]["instance"], "b:9100");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "resolved alert still listed: {l:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let am_second = wait_for(&sink, "/am", 2).await;
    let vigil_second = wait_for(&sink, "/vigil", 2).await;
    let am_resolved = &am_second[1];
    assert_eq!(am_resolved["alerts"][0]["status"], "resolved");
    assert_eq!(am_resolved["alerts"][1]["status"], "firing");
    assert_eq!(
        comparable(vigil_second[1].clone()),
        comparable(am_resolved.clone())
    );
    let url = format!("http://127.0.0.1:{}/api/v2/alerts", peer.port);
    assert_eq!(sender.target_urls(), vec![url.clone()]);
    assert_eq!(sender.queue_len(), 0);
    assert_eq!(sender.metrics().sent_to(&url), 3);
    assert_eq!(sender.metrics().failed_to(&url), 0);
    assert_eq!(sender.metrics().dropped(), 0);
    sender.stop().await;
    vigil.stop_notifier().await;
}
