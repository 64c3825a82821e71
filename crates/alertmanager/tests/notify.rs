//! The notifier end to end against a local webhook server: grouping, `group_wait`,
//! `group_interval`, `repeat_interval`, inhibition, silences, `send_resolved`, retries while the
//! receiver fails, the notification log across restarts, reloads, and the metrics.
//!
//! Real time with short intervals (hundreds of milliseconds); lower bounds on timing are exact
//! (they come from the timers), upper bounds are generous for a loaded 2-core machine.

mod common;

use std::time::{Duration, Instant};

use common::{alert, alertnames, start, wait_logged, Sink};
use prometheus_client::registry::Registry;
use vigil_alertmanager::api::{PostableMatcher, PostableSilence};
use vigil_alertmanager::{parse, Alertmanager, NFLOG_FILE};
use vigil_model::{Clock, SystemClock};

fn config(url: &str, extra_route: &str, extra: &str) -> String {
    format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 400ms
  group_interval: 1s
  repeat_interval: 1h
{extra_route}
receivers:
  - name: hook
    webhook_configs:
      - url: {url}/hook
  - name: quiet
    webhook_configs:
      - url: {url}/quiet
        send_resolved: false
{extra}
"#
    )
}

fn now() -> i64 {
    SystemClock.now_ms()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_wait_then_flush_every_group_interval() {
    let sink = Sink::start().await;
    let am = start(&config(&sink.url, "", ""), None);
    let t0 = Instant::now();
    am.post_alerts(vec![
        alert(&[("alertname", "A"), ("instance", "1")]),
        alert(&[("alertname", "A"), ("instance", "2")]),
        alert(&[("alertname", "B"), ("instance", "1")]),
    ])
    .expect("post");
    let got = sink.wait_accepted(2, Duration::from_secs(5)).await;
    let mut by_name: Vec<_> = got
        .iter()
        .map(|r| {
            (
                r.body["groupLabels"]["alertname"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                r.clone(),
            )
        })
        .collect();
    by_name.sort_by(|a, b| a.0.cmp(&b.0));
    let (a, b) = (&by_name[0].1, &by_name[1].1);
    for r in [a, b] {
        assert!(
            r.at - t0 >= Duration::from_millis(400),
            "flushed before group_wait"
        );
        assert!(r.at - t0 < Duration::from_secs(3), "group_wait too late");
        assert_eq!(r.path, "/hook");
        assert_eq!(r.body["version"], "4");
        assert_eq!(r.body["status"], "firing");
        assert_eq!(r.body["receiver"], "hook");
        assert_eq!(r.body["externalURL"], "http://vigil.test:9900");
        assert_eq!(r.body["truncatedAlerts"], 0);
    }
    assert_eq!(alertnames(&a.body), vec!["A/1", "A/2"]);
    assert_eq!(a.body["groupKey"], "{}:{alertname=\"A\"}");
    assert_eq!(
        a.body["commonLabels"],
        serde_json::json!({"alertname": "A"})
    );
    assert_eq!(a.body["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(a.body["alerts"][0]["status"], "firing");
    assert_eq!(
        a.body["alerts"][0]["fingerprint"].as_str().map(str::len),
        Some(16)
    );
    assert_eq!(alertnames(&b.body), vec!["B/1"]);
    assert_eq!(am.aggregation_groups(), 2);

    // A new alert in group A goes out at the group's next tick, a whole group_interval after
    // the first flush, together with the alerts already notified.
    tokio::time::sleep(Duration::from_millis(200)).await;
    am.post_alerts(vec![alert(&[("alertname", "A"), ("instance", "3")])])
        .expect("post");
    let got = sink.wait_accepted(3, Duration::from_secs(5)).await;
    let third = &got[2];
    assert_eq!(alertnames(&third.body), vec!["A/1", "A/2", "A/3"]);
    let since_first = third.at - a.at;
    assert!(
        since_first >= Duration::from_millis(990) && since_first < Duration::from_millis(2500),
        "second flush of A {since_first:?} after the first"
    );
    // Nothing changed since: nothing more within the repeat interval.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(sink.all().len(), 3, "{:#?}", sink.all());
    am.stop_notifier().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_interval_resends_unchanged_groups() {
    let sink = Sink::start().await;
    let cfg = config(&sink.url, "", "")
        .replace("group_interval: 1s", "group_interval: 300ms")
        .replace("repeat_interval: 1h", "repeat_interval: 1s")
        .replace("group_wait: 400ms", "group_wait: 100ms");
    let am = start(&cfg, None);
    am.post_alerts(vec![alert(&[("alertname", "R"), ("instance", "1")])])
        .expect("post");
    let got = sink.wait_accepted(3, Duration::from_secs(6)).await;
    for w in got.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(
            gap >= Duration::from_millis(990) && gap < Duration::from_millis(2500),
            "repeat after {gap:?}"
        );
        assert_eq!(w[1].body["alerts"], w[0].body["alerts"]);
    }
    am.stop_notifier().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_older_than_group_wait_flushes_at_once() {
    let sink = Sink::start().await;
    let cfg = config(&sink.url, "", "").replace("group_wait: 400ms", "group_wait: 30s");
    let am = start(&cfg, None);
    let t0 = Instant::now();
    let mut a = alert(&[("alertname", "Old"), ("instance", "1")]);
    a.starts_at = Some(now() - 3_600_000);
    am.post_alerts(vec![a]).expect("post");
    let got = sink.wait_accepted(1, Duration::from_secs(5)).await;
    assert!(got[0].at - t0 < Duration::from_secs(3));
    am.stop_notifier().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inhibited_alerts_wait_for_the_source_to_resolve() {
    let sink = Sink::start().await;
    let inhibit = r#"
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
    equal: [cluster]
"#;
    let cfg = config(&sink.url, "", inhibit).replace("group_interval: 1s", "group_interval: 300ms");
    let am = start(&cfg, None);
    am.post_alerts(vec![
        alert(&[
            ("alertname", "Down"),
            ("severity", "critical"),
            ("cluster", "a"),
        ]),
        alert(&[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("cluster", "a"),
        ]),
        alert(&[
            ("alertname", "Lag"),
            ("severity", "warning"),
            ("cluster", "b"),
        ]),
    ])
    .expect("post");
    let got = sink.wait_accepted(2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let names: Vec<String> = sink
        .all()
        .iter()
        .map(|r| {
            r.body["groupLabels"]["alertname"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert!(names.contains(&"Down".to_owned()) && names.contains(&"Lag".to_owned()));
    assert!(
        !names.contains(&"Slow".to_owned()),
        "inhibited alert sent: {names:?}"
    );
    assert_eq!(got.len(), 2);
    let slow = am
        .get_alerts(&vigil_alertmanager::AlertsQuery::default())
        .expect("alerts")
        .into_iter()
        .find(|a| a.labels.get("alertname").map(String::as_str) == Some("Slow"))
        .expect("slow");
    assert_eq!(slow.status.inhibited_by.len(), 1);

    // The source resolves: the target's next flush sends it.
    let mut down = alert(&[
        ("alertname", "Down"),
        ("severity", "critical"),
        ("cluster", "a"),
    ]);
    down.ends_at = Some(now());
    am.post_alerts(vec![down]).expect("resolve");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let slow_sent = sink
            .all()
            .iter()
            .any(|r| r.body["groupLabels"]["alertname"] == "Slow");
        if slow_sent {
            break;
        }
        assert!(Instant::now() < deadline, "uninhibited alert never sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    am.stop_notifier().await;
}

fn silence_for(name: &str) -> PostableSilence {
    PostableSilence {
        matchers: Some(vec![PostableMatcher {
            name: Some("alertname".into()),
            value: Some(name.into()),
            is_regex: Some(false),
            is_equal: Some(true),
        }]),
        starts_at: Some(now()),
        ends_at: Some(now() + 3_600_000),
        created_by: Some("test".into()),
        comment: Some("maintenance".into()),
        ..PostableSilence::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silenced_alerts_go_out_once_the_silence_expires() {
    let sink = Sink::start().await;
    let cfg = config(&sink.url, "", "").replace("group_interval: 1s", "group_interval: 300ms");
    let am = start(&cfg, None);
    let id = am.post_silence(silence_for("Muted")).expect("silence");
    am.post_alerts(vec![
        alert(&[("alertname", "Muted"), ("instance", "1")]),
        alert(&[("alertname", "Loud"), ("instance", "1")]),
    ])
    .expect("post");
    sink.wait_accepted(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let all = sink.all();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].body["groupLabels"]["alertname"], "Loud");
    let st = am
        .get_alerts(&vigil_alertmanager::AlertsQuery::default())
        .expect("alerts");
    let muted = st
        .iter()
        .find(|a| a.labels.get("alertname").map(String::as_str) == Some("Muted"))
        .expect("muted");
    assert_eq!(muted.status.silenced_by, vec![id.clone()]);

    am.delete_silence(&id).expect("expire");
    let got = sink.wait_accepted(2, Duration::from_secs(5)).await;
    assert_eq!(got[1].body["groupLabels"]["alertname"], "Muted");
    am.stop_notifier().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolved_alerts_follow_send_resolved() {
    let sink = Sink::start().await;
    let route = r#"  routes:
    - matchers: [team=db]
      receiver: quiet
      continue: true
    - matchers: [team=db]
      receiver: hook"#;
    let cfg = config(&sink.url, route, "").replace("group_interval: 1s", "group_interval: 300ms");
    let am = start(&cfg, None);
    am.post_alerts(vec![alert(&[("alertname", "Disk"), ("team", "db")])])
        .expect("post");
    let got = sink.wait_accepted(2, Duration::from_secs(5)).await;
    let mut paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, vec!["/hook", "/quiet"], "continue: both receivers");
    let keys: Vec<&str> = got
        .iter()
        .map(|r| r.body["groupKey"].as_str().unwrap_or(""))
        .collect();
    assert!(
        keys.contains(&"{}/{team=\"db\"}:{alertname=\"Disk\"}"),
        "{keys:?}"
    );

    let mut resolved = alert(&[("alertname", "Disk"), ("team", "db")]);
    resolved.ends_at = Some(now());
    am.post_alerts(vec![resolved]).expect("resolve");
    let got = sink.wait_accepted(3, Duration::from_secs(5)).await;
    let last = &got[2];
    assert_eq!(last.path, "/hook");
    assert_eq!(last.body["status"], "resolved");
    assert_eq!(last.body["alerts"][0]["status"], "resolved");
    assert_ne!(last.body["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    // The receiver without send_resolved hears nothing more, and the resolved alert leaves its
    // groups once notified.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(sink.all().len(), 3, "{:#?}", sink.all());
    assert_eq!(am.grouped_alerts(), 0);
    am.stop_notifier().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receiver_is_retried_and_nothing_is_dropped() {
    let sink = Sink::start().await;
    sink.set_status(500);
    let cfg = config(&sink.url, "", "")
        .replace("group_wait: 400ms", "group_wait: 100ms")
        .replace("group_interval: 1s", "group_interval: 500ms");
    let am = start(&cfg, None);
    am.post_alerts(vec![alert(&[("alertname", "Flaky"), ("instance", "1")])])
        .expect("post");
    // Let it fail a few times (retries within a flush, then again at the next flushes).
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.all().len() < 3 {
        assert!(Instant::now() < deadline, "no retries: {:#?}", sink.all());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Another alert joins while the receiver is down.
    am.post_alerts(vec![alert(&[("alertname", "Flaky"), ("instance", "2")])])
        .expect("post");
    let status = am.integration_status();
    assert_eq!(status.len(), 1);
    assert!(
        status[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("unexpected status code 500")),
        "{status:?}"
    );
    assert!(am.nflog().is_empty(), "nothing logged while failing");
    sink.set_status(200);
    // A retry of the flush under way may deliver the first alert alone; the next flush brings
    // the group as it is now.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let both = sink
            .accepted()
            .iter()
            .any(|r| alertnames(&r.body) == vec!["Flaky/1", "Flaky/2"]);
        if both {
            break;
        }
        assert!(Instant::now() < deadline, "{:#?}", sink.all());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(am.nflog().len(), 1);
    let m = am.metrics();
    assert!(m.requests_failed_for("webhook") >= 3);
    assert_eq!(am.integration_status()[0].last_error, None);
    am.stop_notifier().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_log_survives_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let sink = Sink::start().await;
    let cfg = config(&sink.url, "", "").replace("group_wait: 400ms", "group_wait: 100ms");
    let am = start(&cfg, Some(dir.path()));
    let labels = [("alertname", "Persist"), ("instance", "1")];
    am.post_alerts(vec![alert(&labels)]).expect("post");
    sink.wait_accepted(1, Duration::from_secs(5)).await;
    // The entry is written once the webhook answered; stopping earlier abandons the flush.
    wait_logged(&am, 1).await;
    am.stop_notifier().await;
    drop(am);
    let file = std::fs::read_to_string(dir.path().join(NFLOG_FILE)).expect("nflog file");
    let v: serde_json::Value = serde_json::from_str(&file).expect("json");
    assert_eq!(v["format"], "vigil-nflog");
    assert_eq!(v["entries"][0]["groupKey"], "{}:{alertname=\"Persist\"}");
    assert_eq!(v["entries"][0]["receiver"], "hook");

    // Same data dir: the sender re-posts the alert (Alertmanager keeps no alerts across
    // restarts either); within repeat_interval nobody is paged again.
    let am = start(&cfg, Some(dir.path()));
    assert_eq!(am.nflog().len(), 1);
    am.post_alerts(vec![alert(&labels)]).expect("post");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        sink.all().len(),
        1,
        "re-paged after restart: {:#?}",
        sink.all()
    );
    // A new alert in the group is news, and goes out.
    am.post_alerts(vec![alert(&[("alertname", "Persist"), ("instance", "2")])])
        .expect("post");
    let got = sink.wait_accepted(2, Duration::from_secs(5)).await;
    assert_eq!(alertnames(&got[1].body), vec!["Persist/1", "Persist/2"]);
    am.stop_notifier().await;

    // Without the log (a fresh directory) the same alert pages again.
    let fresh = tempfile::tempdir().expect("dir");
    let am = start(&cfg, Some(fresh.path()));
    am.post_alerts(vec![alert(&labels)]).expect("post");
    sink.wait_accepted(3, Duration::from_secs(5)).await;
    am.stop_notifier().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_notification_log_is_reported_and_set_aside() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join(NFLOG_FILE), "{ not json").expect("write");
    let sink = Sink::start().await;
    let cfg = config(&sink.url, "", "").replace("group_wait: 400ms", "group_wait: 100ms");
    let am = start(&cfg, Some(dir.path()));
    let err = am.nflog().load_error().expect("load error").to_string();
    assert!(err.starts_with("notification log "), "{err}");
    assert!(err.contains("not a notification log file"), "{err}");
    assert!(dir.path().join("nflog.json.damaged").exists());
    am.post_alerts(vec![alert(&[("alertname", "AfterDamage")])])
        .expect("post");
    sink.wait_accepted(1, Duration::from_secs(5)).await;
    wait_logged(&am, 1).await;
    am.stop_notifier().await;
    let file = std::fs::read_to_string(dir.path().join(NFLOG_FILE)).expect("rewritten");
    assert!(file.contains("AfterDamage"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_silences_alerts_and_the_log() {
    let old = Sink::start().await;
    let new = Sink::start().await;
    let cfg = config(&old.url, "", "")
        .replace("group_wait: 400ms", "group_wait: 100ms")
        .replace("group_interval: 1s", "group_interval: 300ms");
    let am = start(&cfg, None);
    let id = am.post_silence(silence_for("Hushed")).expect("silence");
    am.post_alerts(vec![
        alert(&[("alertname", "Kept"), ("instance", "1")]),
        alert(&[("alertname", "Hushed"), ("instance", "1")]),
    ])
    .expect("post");
    old.wait_accepted(1, Duration::from_secs(5)).await;
    wait_logged(&am, 1).await;

    let new_cfg = parse(&cfg.replace(&old.url, &new.url)).expect("config");
    let templates = common::options().templates;
    am.reload(new_cfg, templates).expect("reload");
    assert!(am.get_silence(&id).is_ok());
    // The group was notified before the reload: the log stops a repeat.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(new.all().is_empty(), "{:#?}", new.all());
    am.post_alerts(vec![alert(&[("alertname", "Fresh")])])
        .expect("post");
    let got = new.wait_accepted(1, Duration::from_secs(5)).await;
    assert_eq!(got[0].body["groupLabels"]["alertname"], "Fresh");
    assert_eq!(old.all().len(), 1);

    // A reload whose receivers cannot be built changes nothing.
    let broken = cfg.replace(
        &format!("url: {}/hook", old.url),
        &format!(
            "url: {}/hook\n        http_config:\n          tls_config:\n            ca_file: /nonexistent/ca.pem",
            old.url
        ),
    );
    let err = am
        .reload(parse(&broken).expect("config"), common::options().templates)
        .expect_err("broken receiver");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    assert!(am.config().original().contains(&new.url));
    am.stop_notifier().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_exposed() {
    let sink = Sink::start().await;
    let cfg = config(&sink.url, "", "").replace("group_wait: 400ms", "group_wait: 50ms");
    let am: Alertmanager = start(&cfg, None);
    let mut registry = Registry::default();
    am.register_metrics(&mut registry);
    am.post_alerts(vec![alert(&[("alertname", "M")])])
        .expect("post");
    sink.wait_accepted(1, Duration::from_secs(5)).await;
    wait_logged(&am, 1).await;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    for want in [
        "vigil_notifications_total{integration=\"webhook\"} 1",
        "vigil_notification_requests_total{integration=\"webhook\"} 1",
        "vigil_notification_latency_seconds_count{integration=\"webhook\"} 1",
        "vigil_alertmanager_alerts{state=\"active\"} 1",
        "vigil_alertmanager_silences{state=\"active\"} 0",
        "vigil_alertmanager_aggregation_groups 1",
        "vigil_nflog_entries 1",
        "vigil_nflog_queries_total 1",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    am.stop_notifier().await;
}
