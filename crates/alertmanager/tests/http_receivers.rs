//! `slack_configs` and `pagerduty_configs` against a local HTTP server standing in for Slack's
//! incoming webhook and PagerDuty's Events API v2: the JSON bodies, rendered from the default
//! and from custom templates, for a firing and then a resolved notification; and the
//! `http_config` credentials each request carries.

mod common;

use std::time::Duration;

use base64_free::basic;
use common::{alert, start, Sink};
use sha2::{Digest, Sha256};
use vigil_model::{Clock, SystemClock};

/// Basic auth without a base64 dependency: the header value for `user:pass`.
mod base64_free {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn basic(user: &str, pass: &str) -> String {
        let input = format!("{user}:{pass}");
        let bytes = input.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        format!("Basic {out}")
    }
}

fn config(url: &str) -> String {
    format!(
        r##"
global:
  slack_api_url: {url}/slack/T000/B000/XXX
route:
  receiver: slack
  group_by: [alertname]
  group_wait: 50ms
  group_interval: 300ms
  routes:
    - matchers: [team=pd]
      receiver: pager
receivers:
  - name: slack
    slack_configs:
      - channel: "#alerts"
        send_resolved: true
        http_config:
          basic_auth: {{username: u, password: p}}
        fields:
          - title: Severity
            value: "{{{{ .CommonLabels.severity }}}}"
        actions:
          - type: button
            text: Runbook
            url: "https://runbooks/{{{{ .CommonLabels.alertname }}}}"
  - name: pager
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
        url: {url}/v2/enqueue
        severity: "{{{{ .CommonLabels.severity }}}}"
        class: disk
        component: postgres
        group: db
        http_config:
          authorization: {{credentials: tok}}
        details:
          runbook: "https://runbooks/{{{{ .CommonLabels.alertname }}}}"
        links:
          - href: "https://dash/{{{{ .CommonLabels.alertname }}}}"
            text: Dashboard
          - href: ""
            text: dropped because empty
        images:
          - src: "https://img/{{{{ .CommonLabels.alertname }}}}.png"
            alt: graph
"##
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_incoming_webhook_json() {
    let sink = Sink::start().await;
    let am = start(&config(&sink.url), None);
    am.post_alerts(vec![
        alert(&[
            ("alertname", "Down"),
            ("severity", "critical"),
            ("instance", "a"),
        ]),
        alert(&[
            ("alertname", "Down"),
            ("severity", "critical"),
            ("instance", "b"),
        ]),
    ])
    .expect("post");
    let got = sink.wait_accepted(1, Duration::from_secs(5)).await;
    let r = &got[0];
    assert_eq!(r.path, "/slack/T000/B000/XXX");
    assert_eq!(
        r.headers.get("authorization").and_then(|v| v.to_str().ok()),
        Some(basic("u", "p").as_str())
    );
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let b = &r.body;
    assert_eq!(b["channel"], "#alerts");
    assert_eq!(b["username"], "Alertmanager");
    assert!(
        b.get("icon_emoji").is_none() && b.get("link_names").is_none(),
        "{b}"
    );
    let att = &b["attachments"][0];
    assert_eq!(att["title"], "[FIRING:2] Down (critical)");
    assert_eq!(
        att["title_link"],
        "http://vigil.test:9900/#/alerts?receiver=slack"
    );
    assert_eq!(att["color"], "danger");
    assert_eq!(att["text"], "");
    assert_eq!(att["callback_id"], "");
    assert_eq!(att["footer"], "");
    assert_eq!(
        att["fallback"],
        "[FIRING:2] Down (critical) | http://vigil.test:9900/#/alerts?receiver=slack"
    );
    assert_eq!(
        att["mrkdwn_in"],
        serde_json::json!(["fallback", "pretext", "text"])
    );
    assert_eq!(
        att["fields"],
        serde_json::json!([{"title": "Severity", "value": "critical", "short": false}])
    );
    assert_eq!(
        att["actions"],
        serde_json::json!([{"type": "button", "text": "Runbook", "url": "https://runbooks/Down"}])
    );
    assert!(
        att.get("pretext").is_none(),
        "empty pretext is left out: {att}"
    );

    let mut resolved = alert(&[
        ("alertname", "Down"),
        ("severity", "critical"),
        ("instance", "a"),
    ]);
    resolved.ends_at = Some(SystemClock.now_ms());
    let mut resolved_b = alert(&[
        ("alertname", "Down"),
        ("severity", "critical"),
        ("instance", "b"),
    ]);
    resolved_b.ends_at = Some(SystemClock.now_ms());
    am.post_alerts(vec![resolved, resolved_b]).expect("resolve");
    let got = sink.wait_accepted(2, Duration::from_secs(5)).await;
    let att = &got[1].body["attachments"][0];
    assert_eq!(att["title"], "[RESOLVED] Down (critical)");
    assert_eq!(att["color"], "good");
    am.stop_notifier().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_events_v2_json() {
    let sink = Sink::start().await;
    let am = start(&config(&sink.url), None);
    am.post_alerts(vec![alert(&[
        ("alertname", "DiskFull"),
        ("team", "pd"),
        ("severity", "critical"),
    ])])
    .expect("post");
    let got = sink.wait_accepted(1, Duration::from_secs(5)).await;
    let r = &got[0];
    assert_eq!(r.path, "/v2/enqueue");
    assert_eq!(
        r.headers.get("authorization").and_then(|v| v.to_str().ok()),
        Some("Bearer tok")
    );
    let b = &r.body;
    let group_key = "{}/{team=\"pd\"}:{alertname=\"DiskFull\"}";
    let want_key: String = Sha256::digest(group_key.as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    assert_eq!(b["routing_key"], "0123456789abcdef0123456789abcdef");
    assert_eq!(b["dedup_key"], want_key.as_str());
    assert_eq!(b["event_action"], "trigger");
    assert_eq!(b["client"], "Alertmanager");
    assert_eq!(
        b["client_url"],
        "http://vigil.test:9900/#/alerts?receiver=pager"
    );
    let p = &b["payload"];
    assert_eq!(p["summary"], "[FIRING:1] DiskFull (critical pd)");
    assert_eq!(p["source"], "Alertmanager");
    assert_eq!(p["severity"], "critical");
    assert_eq!(p["class"], "disk");
    assert_eq!(p["component"], "postgres");
    assert_eq!(p["group"], "db");
    assert!(p.get("timestamp").is_none(), "0.25 sends no timestamp: {p}");
    let d = &p["custom_details"];
    assert_eq!(d["runbook"], "https://runbooks/DiskFull");
    assert_eq!(d["num_firing"], "1");
    assert_eq!(d["num_resolved"], "0");
    assert_eq!(d["resolved"], "");
    let firing = d["firing"].as_str().expect("firing");
    assert!(
        firing.starts_with("Labels:\n - alertname = DiskFull\n"),
        "{firing}"
    );
    assert_eq!(
        b["links"],
        serde_json::json!([{"href": "https://dash/DiskFull", "text": "Dashboard"}])
    );
    assert_eq!(
        b["images"],
        serde_json::json!([{"src": "https://img/DiskFull.png", "alt": "graph", "href": ""}])
    );

    let mut resolved = alert(&[
        ("alertname", "DiskFull"),
        ("team", "pd"),
        ("severity", "critical"),
    ]);
    resolved.ends_at = Some(SystemClock.now_ms());
    am.post_alerts(vec![resolved]).expect("resolve");
    let got = sink.wait_accepted(2, Duration::from_secs(5)).await;
    let b = &got[1].body;
    assert_eq!(b["event_action"], "resolve");
    assert_eq!(b["dedup_key"], want_key.as_str());
    assert_eq!(b["payload"]["summary"], "[RESOLVED] DiskFull (critical pd)");
    assert_eq!(b["payload"]["custom_details"]["num_resolved"], "1");
    am.stop_notifier().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_not_retried() {
    let sink = Sink::start().await;
    sink.set_status(400);
    let am = start(&config(&sink.url), None);
    am.post_alerts(vec![alert(&[("alertname", "Bad"), ("team", "pd")])])
        .expect("post");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while am.metrics().failed_for("pager", "pagerduty") == 0 {
        assert!(std::time::Instant::now() < deadline, "no failure counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // One attempt for the flush (no retries); later flushes try again, each once.
    let attempts_per_failure =
        sink.all().len() as f64 / am.metrics().failed_for("pager", "pagerduty") as f64;
    assert!(attempts_per_failure <= 1.0, "{:#?}", sink.all());
    let st = am.integration_status();
    assert!(
        st[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("unexpected status code 400")),
        "{st:?}"
    );
    am.stop_notifier().await;
}
