//! Rules in the running server: rule files loaded at start, evaluated on their interval,
//! `ALERTS` written, `/api/v1/rules` and `/api/v1/alerts` in Prometheus's shapes, alerts handed
//! to the embedded Alertmanager and delivered to a webhook; a bad rule file refuses the start
//! and, on reload, keeps the previous rules with the error shown. Also `vigil check rules` and
//! `vigil test rules` on the examples, against Debian's promtool.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

const RULES: &str = "groups:
  - name: fast
    interval: 1s
    rules:
      - record: vigil_test:one
        expr: vector(1)
      - alert: AlwaysFiring
        expr: vigil_test:one > 0
        labels:
          severity: critical
        annotations:
          summary: 'value is {{ $value }}'
";

/// A webhook receiver on a free port that keeps every body it gets.
fn webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut r = BufReader::new(stream);
            let mut len = 0usize;
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_ok() {
                if let Ok(v) = serde_json::from_slice(&body) {
                    seen.lock().expect("lock").push(v);
                }
            }
            let _ = r
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (format!("http://{addr}/hook"), got)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

fn get(v: &common::Vigil, path: &str) -> Value {
    common::client()
        .get(v.url(path))
        .send()
        .and_then(reqwest::blocking::Response::json)
        .unwrap_or(Value::Null)
}

#[test]
fn rules_evaluate_alert_and_notify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hook, got) = webhook();
    write(dir.path(), "fast.rules.yml", RULES);
    let config = write(
        dir.path(),
        "vigil.yml",
        &format!(
            "global:\n  evaluation_interval: 1s\nrule_files:\n  - '*.rules.yml'\nalertmanager:\n  route:\n    receiver: hook\n    group_wait: 1s\n    group_interval: 1s\n  receivers:\n    - name: hook\n      webhook_configs:\n        - url: {hook}\n"
        ),
    );
    let v = common::Vigil::start(&dir.path().join("data"), &["--config", &config]);

    // The alert fires (no `for`) and shows in /api/v1/alerts with its expanded annotation.
    let alerts = common::wait_for(Duration::from_secs(20), || {
        let a = get(&v, "/api/v1/alerts");
        let list = a.pointer("/data/alerts")?.as_array()?.clone();
        (!list.is_empty()).then_some(list)
    })
    .expect("alert in /api/v1/alerts");
    let a = alerts.first().expect("one alert");
    assert_eq!(
        a.pointer("/labels/alertname"),
        Some(&Value::from("AlwaysFiring"))
    );
    assert_eq!(a.pointer("/state"), Some(&Value::from("firing")));
    assert_eq!(
        a.pointer("/annotations/summary"),
        Some(&Value::from("value is 1"))
    );

    // /api/v1/rules: both rules, healthy, with Prometheus's fields.
    let rules = get(&v, "/api/v1/rules");
    let group = rules.pointer("/data/groups/0").expect("group");
    assert_eq!(group.pointer("/name"), Some(&Value::from("fast")));
    assert_eq!(group.pointer("/interval"), Some(&Value::from(1)));
    let kinds: Vec<&str> = group["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["recording", "alerting"]);
    for r in group["rules"].as_array().expect("rules") {
        assert_eq!(r["health"], "ok", "{r}");
    }
    let only_alerts = get(&v, "/api/v1/rules?type=alert");
    assert_eq!(
        only_alerts
            .pointer("/data/groups/0/rules")
            .and_then(Value::as_array)
            .map(Vec::len),
        Some(1)
    );

    // The recorded series and ALERTS are ordinary series.
    // (The rule's state is visible before the group's samples are appended: wait for them.)
    let q = common::wait_for(Duration::from_secs(10), || {
        let q = get(
            &v,
            "/api/v1/query?query=ALERTS%7Balertname%3D%22AlwaysFiring%22%7D",
        );
        q.pointer("/data/result/0").is_some().then_some(q)
    })
    .expect("ALERTS series");
    assert_eq!(
        q.pointer("/data/result/0/metric/alertstate"),
        Some(&Value::from("firing")),
        "{q}"
    );
    let q = get(&v, "/api/v1/query?query=vigil_test:one");
    assert_eq!(
        q.pointer("/data/result/0/value/1"),
        Some(&Value::from("1")),
        "{q}"
    );

    // The embedded Alertmanager holds it and the webhook receives it.
    let am = get(&v, "/api/v2/alerts");
    assert_eq!(
        am.pointer("/0/labels/alertname"),
        Some(&Value::from("AlwaysFiring")),
        "{am}"
    );
    let payload = common::wait_for(Duration::from_secs(20), || {
        got.lock().expect("lock").first().cloned()
    })
    .expect("webhook payload");
    assert_eq!(payload["version"], "4");
    assert_eq!(
        payload.pointer("/alerts/0/labels/alertname"),
        Some(&Value::from("AlwaysFiring"))
    );
    assert_eq!(
        payload.pointer("/alerts/0/annotations/summary"),
        Some(&Value::from("value is 1"))
    );

    // A bad rule file on reload: refused, previous rules still evaluated, error shown.
    write(
        dir.path(),
        "broken.rules.yml",
        "groups:\n  - name: broken\n    rules:\n      - alert: X\n        expr: sum(\n",
    );
    let r = common::client()
        .post(v.url("/-/reload"))
        .send()
        .expect("reload");
    assert_eq!(r.status().as_u16(), 500);
    let body = r.text().unwrap_or_default();
    assert!(body.contains("broken.rules.yml:5:"), "{body}");
    let rules = get(&v, "/api/v1/rules");
    let warnings = rules["warnings"].to_string();
    assert!(warnings.contains("broken.rules.yml:5:"), "{rules}");
    assert_eq!(
        rules.pointer("/data/groups/0/name"),
        Some(&Value::from("fast"))
    );
    assert!(v
        .metrics_text()
        .contains("vigil_rule_config_last_reload_successful 0"));
}

/// A reload that any part of the configuration refuses changes nothing: a bad rule file keeps
/// the external labels as they were, and an Alertmanager template that does not parse keeps
/// the rule files as they were.
#[test]
fn refused_reload_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The annotation shows the external labels in force at every evaluation.
    write(
        dir.path(),
        "fast.rules.yml",
        "groups:\n  - name: fast\n    interval: 1s\n    rules:\n      - alert: Site\n        expr: vector(1)\n        annotations:\n          summary: 'site {{ $externalLabels.site }}'\n",
    );
    let config = |site: &str, rule_files: &str, rest: &str| {
        write(
            dir.path(),
            "vigil.yml",
            &format!(
                "global:\n  evaluation_interval: 1s\n  external_labels:\n    site: {site}\nrule_files: [{rule_files}]\n{rest}"
            ),
        )
    };
    let path = config("a", "'fast.rules.yml'", "");
    let v = common::Vigil::start(&dir.path().join("data"), &["--config", &path]);
    let summary = || {
        get(&v, "/api/v1/alerts")
            .pointer("/data/alerts/0/annotations/summary")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let groups = || -> Vec<String> {
        get(&v, "/api/v1/rules")
            .pointer("/data/groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g["name"].as_str().map(str::to_owned))
            .collect()
    };
    let reload = || {
        common::client()
            .post(v.url("/-/reload"))
            .send()
            .expect("reload")
            .status()
            .as_u16()
    };
    common::wait_for(Duration::from_secs(20), || {
        (summary().as_deref() == Some("site a")).then_some(())
    })
    .expect("alert expanded with site=a");

    // New external labels and a rule file that does not parse.
    write(
        dir.path(),
        "broken.rules.yml",
        "groups:\n  - name: broken\n    rules:\n      - alert: X\n        expr: sum(\n",
    );
    config("b", "'*.rules.yml'", "");
    assert_eq!(reload(), 500);
    // Several evaluations of the 1s group.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        summary().as_deref(),
        Some("site a"),
        "the refused reload's external labels are in force"
    );

    // New rule files and an Alertmanager template that does not parse.
    std::fs::remove_file(dir.path().join("broken.rules.yml")).expect("rm");
    write(
        dir.path(),
        "other.rules.yml",
        &RULES.replace("fast", "other"),
    );
    write(dir.path(), "bad.tmpl", "{{ define \"x\" }}{{ end");
    config(
        "a",
        "'other.rules.yml'",
        "alertmanager:\n  route:\n    receiver: default\n  receivers:\n    - name: default\n  templates: ['bad.tmpl']\n",
    );
    assert_eq!(reload(), 500);
    assert_eq!(
        groups(),
        ["fast"],
        "the refused reload's rule files are in force"
    );

    // The same changes without the mistakes are applied.
    config("b", "'fast.rules.yml', 'other.rules.yml'", "");
    assert_eq!(reload(), 200);
    assert_eq!(groups(), ["fast", "other"]);
    common::wait_for(Duration::from_secs(20), || {
        (summary().as_deref() == Some("site b")).then_some(())
    })
    .expect("alert expanded with site=b");
}

#[test]
fn invalid_rule_file_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "bad.rules.yml",
        "groups:\n  - name: g\n    rules:\n      - record: 1bad\n        expr: up\n",
    );
    let config = write(dir.path(), "vigil.yml", "rule_files: ['bad.rules.yml']\n");
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["serve", "--config", &config, "--listen", "127.0.0.1:0"])
        .args(["--otlp-grpc-listen", "", "--otlp-http-listen", ""])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("run vigil");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.rules.yml:4:"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["check", "config", &config])
        .output()
        .expect("run vigil");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.rules.yml:4:"));
}

/// `vigil check rules` and `vigil test rules` on the examples agree with promtool.
#[test]
fn example_rules_pass_like_promtool() {
    // (rule file, its tests, rules in it, an expectation to break: from, to)
    for (rules, tests, count, (from, to)) in [
        (
            "ml-alerts.rules.yml",
            "ml-alerts.test.yml",
            6,
            ("value: 2.40625", "value: 2.4"),
        ),
        (
            "ml-monitoring.rules.yml",
            "ml-monitoring.test.yml",
            4,
            ("fell to 0.790", "fell to 0.79"),
        ),
    ] {
        example_agrees_with_promtool(rules, tests, count, from, to);
    }
}

fn example_agrees_with_promtool(rules: &str, tests: &str, count: usize, from: &str, to: &str) {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let rules_name = rules;
    let rules = format!("{examples}/{rules}");
    let tests = format!("{examples}/{tests}");
    let vigil = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(args)
            .output()
            .expect("run vigil")
    };
    let check = vigil(&["check", "rules", &rules]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(
        String::from_utf8_lossy(&check.stdout).contains(&format!("SUCCESS: {count} rules found")),
        "{rules}"
    );
    let test = vigil(&["test", "rules", &tests]);
    assert!(
        test.status.success(),
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    // A broken expectation fails in both.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(&rules, dir.path().join(rules_name)).expect("copy");
    let text = std::fs::read_to_string(&tests).expect("read");
    assert!(text.contains(from), "{tests} has no {from:?} to break");
    let broken = write(dir.path(), "broken.test.yml", &text.replace(from, to));
    let failed = vigil(&["test", "rules", &broken]);
    assert!(!failed.status.success(), "{tests} broken still passes");
    let Some(promtool) = common::peer("VIGIL_PROMTOOL", "/usr/bin/promtool") else {
        return;
    };
    for (file, want_ok) in [(&tests, true), (&broken, false)] {
        let out = Command::new(&promtool)
            .args(["test", "rules", file])
            .output()
            .expect("run promtool");
        assert_eq!(out.status.success(), want_ok, "promtool on {file}");
    }
}

/// Debian's Alertmanager 0.25 on a free port, its config notifying nobody; stopped through
/// its child handle when dropped.
fn start_external_alertmanager(dir: &Path) -> Option<(common::Proc, u16)> {
    let bin = common::peer("VIGIL_ALERTMANAGER", "/usr/bin/prometheus-alertmanager")?;
    let cfg = write(
        dir,
        "alertmanager.yml",
        "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n",
    );
    let port = common::free_port();
    let child = Command::new(bin)
        .arg(format!("--config.file={cfg}"))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .arg("--log.level=warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn alertmanager");
    let p = common::Proc(child);
    common::wait_for(Duration::from_secs(20), || {
        common::client()
            .get(format!("http://127.0.0.1:{port}/-/ready"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    })
    .expect("alertmanager ready within 20s");
    Some((p, port))
}

/// `alerting.alertmanagers`: rule alerts reach a real external Alertmanager, relabelled by
/// `alert_relabel_configs`.
#[test]
fn rule_alerts_reach_external_alertmanager() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((_am, port)) = start_external_alertmanager(dir.path()) else {
        return;
    };
    write(
        dir.path(),
        "up.rules.yml",
        "groups:\n  - name: up\n    interval: 1s\n    rules:\n      - alert: VectorOne\n        expr: vector(1) > 0\n",
    );
    let config = write(
        dir.path(),
        "vigil.yml",
        &format!(
            "rule_files: ['up.rules.yml']\nalerting:\n  alert_relabel_configs:\n    - target_label: team\n      replacement: ml\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{port}']\n"
        ),
    );
    let v = common::Vigil::start(&dir.path().join("data"), &["--config", &config]);
    let alert = common::wait_for(Duration::from_secs(30), || {
        let list: Value = common::client()
            .get(format!("http://127.0.0.1:{port}/api/v2/alerts"))
            .send()
            .and_then(reqwest::blocking::Response::json)
            .ok()?;
        list.as_array()?
            .iter()
            .find(|a| a.pointer("/labels/alertname") == Some(&Value::from("VectorOne")))
            .cloned()
    })
    .expect("alert in the external alertmanager");
    assert_eq!(
        alert.pointer("/labels/team"),
        Some(&Value::from("ml")),
        "{alert}"
    );
    // The embedded Alertmanager gets the same relabelled alert.
    let am = get(&v, "/api/v2/alerts");
    assert_eq!(
        am.pointer("/0/labels/team"),
        Some(&Value::from("ml")),
        "{am}"
    );
    assert!(v.metrics_text().contains("vigil_alerts_alertmanagers 1"));
}

/// Bad input on the alert path: a template that fails renders as its error text and the alert
/// still fires; an unreachable receiver is retried and counted, and the other receiver of the
/// same alert is notified regardless.
#[test]
fn template_errors_and_unreachable_receivers_lose_no_alert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hook, got) = webhook();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let a = l.local_addr().expect("addr");
        drop(l);
        format!("http://{a}/nobody")
    };
    write(
        dir.path(),
        "bad-template.rules.yml",
        "groups:\n  - name: tmpl\n    interval: 1s\n    rules:\n      - alert: BadTemplate\n        expr: vector(1)\n        annotations:\n          summary: '{{ humanize \"not a number\" }}'\n",
    );
    let config = write(
        dir.path(),
        "vigil.yml",
        &format!(
            "rule_files: ['*.rules.yml']\nalertmanager:\n  route:\n    receiver: down\n    group_wait: 1s\n    group_interval: 1s\n    routes:\n      - matchers: ['alertname=\"BadTemplate\"']\n        receiver: down\n        continue: true\n      - matchers: ['alertname=\"BadTemplate\"']\n        receiver: up\n  receivers:\n    - name: down\n      webhook_configs:\n        - url: {closed}\n    - name: up\n      webhook_configs:\n        - url: {hook}\n"
        ),
    );
    let v = common::Vigil::start(&dir.path().join("data"), &["--config", &config]);
    let payload = common::wait_for(Duration::from_secs(20), || {
        got.lock().expect("lock").first().cloned()
    })
    .expect("the reachable receiver is notified");
    let summary = payload
        .pointer("/alerts/0/annotations/summary")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    assert!(
        summary.starts_with("<error expanding template: ") && summary.contains("humanize"),
        "{summary}"
    );
    let failed = common::wait_for(Duration::from_secs(20), || {
        let text = v.metrics_text();
        text.lines()
            .find(|l| {
                l.starts_with("vigil_notifications_failed_total{")
                    && l.contains("receiver=\"down\"")
                    && !l.ends_with(" 0")
            })
            .map(str::to_owned)
    })
    .expect("failures of the unreachable receiver counted");
    assert!(failed.contains("integration=\"webhook\""), "{failed}");
    // The alert is still held for the receiver that is down.
    let am = get(&v, "/api/v2/alerts");
    let receivers = am
        .pointer("/0/receivers")
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        receivers.contains("down") && receivers.contains("up"),
        "{am}"
    );
}

/// Alert state survives a restart: a pending alert with a `for` longer than the grace period
/// keeps its `activeAt` (restored from `ALERTS_FOR_STATE`), and a SIGHUP reload that leaves the
/// rule unchanged keeps it too.
#[test]
fn pending_alert_state_survives_reload_and_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "slow.rules.yml",
        "groups:\n  - name: slow\n    interval: 1s\n    rules:\n      - alert: SlowToFire\n        expr: vector(1)\n        for: 30m\n",
    );
    let config = write(dir.path(), "vigil.yml", "rule_files: ['slow.rules.yml']\n");
    let data = dir.path().join("data");
    let active_at = |v: &common::Vigil| {
        common::wait_for(Duration::from_secs(20), || {
            let a = get(v, "/api/v1/alerts");
            let first = a.pointer("/data/alerts/0")?;
            (first["state"] == "pending").then(|| first["activeAt"].as_str().map(str::to_owned))?
        })
    };
    let mut v = common::Vigil::start(&data, &["--config", &config]);
    let before = active_at(&v).expect("pending alert");
    // ALERTS_FOR_STATE must be written before the restart.
    common::wait_for(Duration::from_secs(10), || {
        let q = get(&v, "/api/v1/query?query=ALERTS_FOR_STATE");
        q.pointer("/data/result/0").map(|_| ())
    })
    .expect("ALERTS_FOR_STATE written");
    v.signal("HUP");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        active_at(&v).as_deref(),
        Some(before.as_str()),
        "after SIGHUP"
    );
    // Pending for a while before the stop, so that a restored alert is told apart from a new one.
    std::thread::sleep(Duration::from_secs(4));
    assert!(v.stop(), "clean stop");
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
    };
    let restarted_ms = now_ms();
    let v = common::Vigil::start(&data, &["--config", &config]);
    // Restoration happens after the group's second evaluation. As in Prometheus, a pending
    // alert's activeAt moves by the downtime, so the time already spent pending still counts
    // towards `for`; a new alert would start at the restart.
    std::thread::sleep(Duration::from_secs(4));
    let after = active_at(&v).expect("pending alert after restart");
    let fmt = |ms| vigil_model::civil::format_rfc3339(ms, vigil_model::civil::Fraction::Millis);
    assert!(
        after > before,
        "activeAt moves by the downtime: {before} → {after}"
    );
    assert!(
        after < fmt(restarted_ms - 3_000),
        "activeAt {after} is restored, not the restart time {}",
        fmt(restarted_ms)
    );
}

/// The notifier through `vigil serve`: alerts of one group arrive together after `group_wait`,
/// an inhibited alert and a silenced one never arrive, and nothing repeats before
/// `repeat_interval`.
#[test]
fn grouping_inhibition_and_silences_through_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hook, got) = webhook();
    write(
        dir.path(),
        "notify.rules.yml",
        "groups:\n  - name: notify\n    interval: 1s\n    rules:\n      - alert: Source\n        expr: vector(1)\n        labels: {model: m1}\n      - alert: Target\n        expr: vector(1)\n        labels: {model: m1}\n      - alert: Quiet\n        expr: vector(1)\n        labels: {model: m1}\n      - alert: Grouped\n        expr: label_replace(vector(1), \"pod\", \"a\", \"\", \"\") or label_replace(vector(1), \"pod\", \"b\", \"\", \"\")\n",
    );
    let config = write(
        dir.path(),
        "vigil.yml",
        &format!(
            "rule_files: ['*.rules.yml']\nalertmanager:\n  route:\n    receiver: hook\n    group_by: [alertname]\n    group_wait: 2s\n    group_interval: 1s\n    repeat_interval: 1h\n  inhibit_rules:\n    - source_matchers: ['alertname=\"Source\"']\n      target_matchers: ['alertname=\"Target\"']\n      equal: [model]\n  receivers:\n    - name: hook\n      webhook_configs:\n        - url: {hook}\n"
        ),
    );
    let v = common::Vigil::start(&dir.path().join("data"), &["--config", &config]);
    // Silence `Quiet` before its group's first flush.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    let fmt = |ms| vigil_model::civil::format_rfc3339(ms, vigil_model::civil::Fraction::Millis);
    let silence = serde_json::json!({
        "matchers": [{"name": "alertname", "value": "Quiet", "isRegex": false, "isEqual": true}],
        "startsAt": fmt(now - 1_000), "endsAt": fmt(now + 3_600_000),
        "createdBy": "test", "comment": "quiet please"
    });
    let r = common::client()
        .post(v.url("/api/v2/silences"))
        .json(&silence)
        .send()
        .expect("post silence");
    assert_eq!(r.status().as_u16(), 200);
    // Give every group its group_wait and a few group_intervals.
    common::wait_for(Duration::from_secs(20), || {
        let n = got.lock().expect("lock").len();
        (n >= 2).then_some(())
    })
    .expect("notifications");
    std::thread::sleep(Duration::from_secs(5));
    let payloads = got.lock().expect("lock").clone();
    let names: Vec<String> = payloads
        .iter()
        .map(|p| {
            p["groupLabels"]["alertname"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(
        names.iter().filter(|n| *n == "Source").count(),
        1,
        "one notification for Source, no repeat before repeat_interval: {names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| *n == "Grouped").count(),
        1,
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n == "Target"),
        "Target is inhibited: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n == "Quiet"),
        "Quiet is silenced: {names:?}"
    );
    let grouped = payloads
        .iter()
        .find(|p| p["groupLabels"]["alertname"] == "Grouped")
        .and_then(|p| p["alerts"].as_array().map(Vec::len));
    assert_eq!(grouped, Some(2), "both pods in one notification");
    // The API shows why the others stayed quiet.
    let am = get(&v, "/api/v2/alerts?filter=alertname%3D%22Target%22");
    assert_eq!(
        am.pointer("/0/status/state"),
        Some(&Value::from("suppressed")),
        "{am}"
    );
    assert!(am.pointer("/0/status/inhibitedBy/0").is_some(), "{am}");
}
