//! The rule manager driven by a manual clock over the in-memory store: scheduling, recording
//! output seen by later rules, staleness markers, the alert lifecycle and what is sent, state
//! across reloads, `for` state restore, and the API views' JSON.

use std::sync::Arc;

use vigil_model::{is_stale_nan, Batch, Clock, Labels, ManualClock, Matcher, Sample};
use vigil_rules::{
    parse_rule_file, AlertSink, CollectingSink, GroupSpec, ManagerOptions, RuleGlobals,
    RuleManager, RuleMetrics, RulesFilter,
};
use vigil_storage::{MemStore, MetricAppend, MetricSelect, TimeRange};

const MIN: i64 = 60_000;

fn store() -> Arc<MemStore> {
    Arc::new(MemStore::new(i64::MAX / 4))
}

fn push(store: &MemStore, series: &[(&str, &str)], t: i64, v: f64) {
    let mut b = Batch::new();
    b.push(
        Labels::from_pairs(series.iter().copied()).expect("labels"),
        Sample::new(t, v),
    );
    store.append(&b).expect("append");
}

/// All samples of series whose name is `name`, by label set.
fn samples(store: &MemStore, name: &str) -> Vec<(Labels, Vec<Sample>)> {
    store
        .select(&[Matcher::equal("__name__", name)], TimeRange::all())
        .expect("select")
        .map(|s| {
            let s = s.expect("series");
            (s.labels, s.samples)
        })
        .collect()
}

fn groups(text: &str) -> Vec<GroupSpec> {
    parse_rule_file("rules.yml", text).expect("valid rules")
}

struct Setup {
    store: Arc<MemStore>,
    sink: Arc<CollectingSink>,
    manager: RuleManager,
    clock: ManualClock,
}

fn setup(restore: bool) -> Setup {
    let store = store();
    let sink = Arc::new(CollectingSink::new());
    let mut opts = ManagerOptions::new(store.clone(), store.clone());
    opts.sink = Some(sink.clone() as Arc<dyn AlertSink>);
    opts.restore_for_state = restore;
    opts.globals = RuleGlobals {
        external_url: "http://vigil:9900".into(),
        external_labels: [("cluster".to_owned(), "c1".to_owned())].into(),
        ..RuleGlobals::default()
    };
    let mut registry = prometheus_client::registry::Registry::default();
    opts.metrics = Some(RuleMetrics::new(&mut registry));
    Setup {
        store,
        sink,
        manager: RuleManager::new(opts),
        clock: ManualClock::new(0),
    }
}

/// Runs the manager minute by minute up to `until`, feeding `up{job="a"}` from `value(t)`.
fn run(s: &Setup, until: i64, value: impl Fn(i64) -> Option<f64>) {
    while s.clock.now_ms() <= until {
        let now = s.clock.now_ms();
        if let Some(v) = value(now) {
            push(&s.store, &[("__name__", "up"), ("job", "a")], now, v);
        }
        s.manager.evaluate_due(now);
        s.clock.advance(MIN / 4);
    }
}

#[test]
fn groups_evaluate_at_their_slot_and_count_missed_iterations() {
    let s = setup(false);
    let now = 1_700_000_000_000;
    s.manager.update(
        groups("groups:\n- name: g\n  rules:\n  - record: one\n    expr: vector(1)\n"),
        now,
    );
    let due = s.manager.next_due_ms().expect("scheduled");
    assert!(
        due > now && due <= now + MIN,
        "first slot {due} within one interval"
    );
    assert!(s.manager.evaluate_due(due - 1).is_empty());
    let r = s.manager.evaluate_due(due);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].ts_ms, due);
    assert_eq!(r[0].samples, 1);
    // Three intervals late: one evaluation at the latest slot, two missed.
    let r = s.manager.evaluate_due(due + 3 * MIN + 5);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].ts_ms, due + 3 * MIN);
    assert_eq!(r[0].missed, 2);
    assert_eq!(s.manager.next_due_ms(), Some(due + 4 * MIN));
    let out = samples(&s.store, "one");
    let ts: Vec<i64> = out[0].1.iter().map(|x| x.t).collect();
    assert_eq!(ts, [due, due + 3 * MIN]);
}

#[test]
fn later_rules_see_earlier_output_and_removed_series_go_stale() {
    let s = setup(false);
    s.manager.update(
        groups(
            "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - record: job:up:double\n    expr: job:up:sum * 2\n",
        ),
        0,
    );
    run(&s, 3 * MIN, |t| (t <= MIN).then_some(3.0));
    let double = samples(&s.store, "job:up:double");
    assert_eq!(double.len(), 1);
    let first = double[0].1.first().expect("a sample");
    assert_eq!(
        first.v, 6.0,
        "second rule saw the first rule's output of the same evaluation"
    );
    // `up` ends after 1m; after the lookback the series disappears and gets a stale marker.
    run(&s, 8 * MIN, |_| None);
    let sum = samples(&s.store, "job:up:sum");
    let last = sum[0].1.last().expect("samples");
    assert!(
        is_stale_nan(last.v),
        "stale marker once the rule stopped producing the series"
    );
}

#[test]
fn removed_rules_and_groups_get_stale_markers() {
    let s = setup(false);
    let two = "groups:\n- name: g\n  rules:\n  - record: a\n    expr: vector(1)\n  - record: b\n    expr: vector(2)\n";
    s.manager.update(groups(two), 0);
    run(&s, 3 * MIN, |_| None);
    // Rule `b` removed: its series is marked stale at the group's next evaluation.
    s.manager.update(
        groups("groups:\n- name: g\n  rules:\n  - record: a\n    expr: vector(1)\n"),
        s.clock.now_ms(),
    );
    run(&s, 5 * MIN, |_| None);
    let b = samples(&s.store, "b");
    assert!(is_stale_nan(b[0].1.last().expect("samples").v));
    let a = samples(&s.store, "a");
    assert!(!is_stale_nan(a[0].1.last().expect("samples").v));
    // Group removed: its series are marked stale (at the removal time) two intervals later.
    let removed_at = s.clock.now_ms();
    s.manager.update(Vec::new(), removed_at);
    assert_eq!(s.manager.next_due_ms(), Some(removed_at + 2 * MIN));
    assert!(s.manager.evaluate_due(removed_at + 2 * MIN - 1).is_empty());
    assert!(!is_stale_nan(
        samples(&s.store, "a")[0].1.last().expect("samples").v
    ));
    s.manager.evaluate_due(removed_at + 2 * MIN);
    let last = *samples(&s.store, "a")[0].1.last().expect("samples");
    assert!(is_stale_nan(last.v));
    assert_eq!(last.t, removed_at);
    assert_eq!(s.manager.next_due_ms(), None);
}

#[test]
fn alert_lifecycle_and_what_is_sent() {
    let s = setup(false);
    s.manager.update(
        groups(
            "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 2m\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.job }} down, value {{ $value }}'}\n",
        ),
        0,
    );
    // Down from 0 to 6m, up afterwards.
    run(&s, 2 * MIN, |t| Some(if t < 6 * MIN { 0.0 } else { 1.0 }));
    let early = s.sink.take();
    assert!(early.is_empty(), "pending alerts are not sent: {early:?}");
    let pending = s.manager.alerts();
    assert_eq!(pending.alerts.len(), 1);
    assert_eq!(pending.alerts[0].state.as_str(), "pending");

    run(&s, 4 * MIN, |t| Some(if t < 6 * MIN { 0.0 } else { 1.0 }));
    let sent = s.sink.take();
    assert!(!sent.is_empty(), "firing alert sent");
    let a = &sent[0];
    assert_eq!(a.labels.get("alertname"), Some("Down"));
    assert_eq!(a.labels.get("severity"), Some("page"));
    assert_eq!(a.labels.get("cluster"), Some("c1"), "external labels added");
    assert_eq!(
        a.annotations.get("summary").map(String::as_str),
        Some("a down, value 0")
    );
    assert_eq!(
        a.ends_at_ms - a.starts_at_ms,
        4 * MIN,
        "valid for 4 × max(resend delay, interval)"
    );
    assert_eq!(
        a.generator_url,
        "http://vigil:9900/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    );
    let alerts = samples(&s.store, "ALERTS");
    assert!(alerts
        .iter()
        .any(|(l, _)| l.get("alertstate") == Some("firing")));

    run(&s, 10 * MIN, |t| Some(if t < 6 * MIN { 0.0 } else { 1.0 }));
    let sent = s.sink.take();
    let resolved: Vec<_> = sent.iter().filter(|a| a.ends_at_ms <= 10 * MIN).collect();
    assert!(!resolved.is_empty(), "resolution sent");
    assert!(
        s.manager.alerts().alerts.is_empty(),
        "resolved alerts are not active"
    );
    // Resolved alerts keep being re-sent for 15 minutes, then are dropped.
    run(&s, 20 * MIN, |_| Some(1.0));
    assert!(!s.sink.take().is_empty());
    run(&s, 30 * MIN, |_| Some(1.0));
    s.sink.take();
    run(&s, 33 * MIN, |_| Some(1.0));
    assert!(s.sink.take().is_empty());
    let firing = samples(&s.store, "ALERTS")
        .into_iter()
        .find(|(l, _)| l.get("alertstate") == Some("firing"))
        .expect("firing series");
    assert!(
        is_stale_nan(firing.1.last().expect("samples").v),
        "ALERTS goes stale"
    );
}

#[test]
fn reload_keeps_alert_state() {
    let s = setup(false);
    let text = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 3m\n";
    s.manager.update(groups(text), 0);
    run(&s, 2 * MIN, |_| Some(0.0));
    let active_at = s.manager.alerts().alerts[0].active_at.clone();
    // Unchanged group: kept as is.
    s.manager.update(groups(text), s.clock.now_ms());
    assert_eq!(s.manager.alerts().alerts[0].active_at, active_at);
    // Changed group (new rule added): state copied by rule name and labels.
    s.manager.update(
        groups(&format!("{text}  - record: x\n    expr: vector(1)\n")),
        s.clock.now_ms(),
    );
    assert_eq!(s.manager.alerts().alerts[0].active_at, active_at);
    run(&s, 6 * MIN, |_| Some(0.0));
    assert_eq!(s.manager.alerts().alerts[0].state.as_str(), "firing");
}

/// `ms` (less than a day) as Go's JSON time.
fn day_time(ms: i64) -> String {
    let (secs, frac) = (ms / 1000, ms % 1000);
    let frac = if frac == 0 {
        String::new()
    } else {
        format!(".{frac:03}").trim_end_matches('0').to_owned()
    };
    format!(
        "1970-01-01T{:02}:{:02}:{:02}{frac}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[test]
fn for_state_is_restored_after_a_restart() {
    let s = setup(true);
    // A previous run saw the alert active since 100s and went down at 9m.
    push(
        &s.store,
        &[
            ("__name__", "ALERTS_FOR_STATE"),
            ("alertname", "Down"),
            ("job", "a"),
        ],
        9 * MIN,
        100.0,
    );
    s.manager.update(
        groups("groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 30m\n"),
        10 * MIN,
    );
    let mut evals = Vec::new();
    for _ in 0..3 {
        let due = s.manager.next_due_ms().expect("scheduled");
        push(&s.store, &[("__name__", "up"), ("job", "a")], due, 0.0);
        assert_eq!(s.manager.evaluate_due(due).len(), 1);
        evals.push(due);
        if evals.len() == 2 {
            assert!(
                samples(&s.store, "ALERTS").is_empty(),
                "no ALERTS before the restore"
            );
        }
    }
    // 440s of the 30m were spent pending before the outage (down at 9m); the restore at the
    // second evaluation moves active_at forward by the downtime.
    let a = &s.manager.alerts().alerts[0];
    assert_eq!(
        a.active_at.as_deref(),
        Some(day_time(100_000 + evals[1] - 9 * MIN).as_str())
    );
    let pending = samples(&s.store, "ALERTS");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0.get("alertstate"), Some("pending"));
    assert_eq!(
        pending[0].1.len(),
        1,
        "ALERTS written from the third evaluation on"
    );
}

#[test]
fn api_views_serialise_as_prometheus() {
    let s = setup(false);
    s.manager.update(
        groups(
            "groups:\n- name: g\n  interval: 1m\n  rules:\n  - alert: Down\n    expr: up==0\n    labels: {severity: page}\n  - record: r\n    expr: sum(up)\n",
        ),
        0,
    );
    run(&s, 2 * MIN, |_| Some(0.0));
    let json = serde_json::to_value(s.manager.rules(&RulesFilter::default())).expect("json");
    let g = &json["groups"][0];
    assert_eq!(g["name"], "g");
    assert_eq!(g["file"], "rules.yml");
    assert_eq!(g["interval"].to_string(), "60");
    assert_eq!(g["limit"], 0);
    let alert = &g["rules"][0];
    assert_eq!(alert["type"], "alerting");
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["query"], "up == 0");
    assert_eq!(alert["duration"].to_string(), "0");
    assert_eq!(alert["health"], "ok");
    assert!(alert.get("lastError").is_none());
    assert_eq!(alert["alerts"][0]["value"], "0e+00");
    assert_eq!(alert["alerts"][0]["labels"]["alertname"], "Down");
    assert!(alert["alerts"][0]["activeAt"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let rec = &g["rules"][1];
    assert_eq!(rec["type"], "recording");
    assert!(
        rec.get("labels").is_none(),
        "empty labels omitted on recording rules"
    );
    let keys: Vec<&String> = alert.as_object().expect("object").keys().collect();
    for k in [
        "state",
        "name",
        "query",
        "duration",
        "keepFiringFor",
        "labels",
        "annotations",
        "alerts",
        "health",
        "evaluationTime",
        "lastEvaluation",
        "type",
    ] {
        assert!(keys.iter().any(|x| *x == k), "{k} in {keys:?}");
    }

    let f = RulesFilter::from_params([("type", "record")]).expect("valid");
    let json = serde_json::to_value(s.manager.rules(&f)).expect("json");
    assert_eq!(json["groups"][0]["rules"].as_array().map(Vec::len), Some(1));
    let f = RulesFilter::from_params([("exclude_alerts", "true")]).expect("valid");
    let json = serde_json::to_value(s.manager.rules(&f)).expect("json");
    assert!(json["groups"][0]["rules"][0]["alerts"].is_null());
    let f = RulesFilter::from_params([("rule_group[]", "other")]).expect("valid");
    assert!(s.manager.rules(&f).groups.is_empty());
    assert!(RulesFilter::from_params([("type", "x")]).is_err());
    assert!(RulesFilter::from_params([("exclude_alerts", "maybe")]).is_err());

    let alerts = serde_json::to_value(s.manager.alerts()).expect("json");
    assert_eq!(alerts["alerts"][0]["state"], "firing");
}

#[test]
fn recording_rule_errors_set_health() {
    let s = setup(false);
    s.manager.update(
        groups("groups:\n- name: g\n  limit: 1\n  rules:\n  - record: r\n    expr: up\n"),
        0,
    );
    push(&s.store, &[("__name__", "up"), ("job", "b")], 0, 1.0);
    run(&s, 2 * MIN, |_| Some(1.0));
    let json = serde_json::to_value(s.manager.rules(&RulesFilter::default())).expect("json");
    let r = &json["groups"][0]["rules"][0];
    assert_eq!(r["health"], "err");
    assert_eq!(r["lastError"], "exceeded limit of 1 with 2 series");
}

#[test]
fn metrics_are_exposed_per_group() {
    let store = store();
    let mut registry = prometheus_client::registry::Registry::default();
    let mut opts = ManagerOptions::new(store.clone(), store.clone());
    opts.metrics = Some(RuleMetrics::new(&mut registry));
    let manager = RuleManager::new(opts);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.yml");
    std::fs::write(
        &path,
        "groups:\n- name: g\n  rules:\n  - record: bad\n    expr: up + on() group_left up\n  - record: one\n    expr: vector(1)\n",
    )
    .expect("write");
    manager.load_and_update(&[&path], 0).expect("loads");
    let due = manager.next_due_ms().expect("scheduled");
    manager.evaluate_due(due);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    let key = format!("rule_group=\"{};g\"", path.display());
    for want in [
        format!("vigil_rule_group_rules{{{key}}} 2"),
        format!("vigil_rule_evaluations_total{{{key}}} 2"),
        format!("vigil_rule_group_last_evaluation_samples{{{key}}} 1"),
        "vigil_rule_config_last_reload_successful 1".to_owned(),
    ] {
        assert!(text.contains(&want), "{want} in\n{text}");
    }
    assert!(manager
        .load_and_update(&[dir.path().join("missing.yml")], 1)
        .is_err());
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    assert!(text.contains("vigil_rule_config_last_reload_successful 0"));
    assert_eq!(
        manager.counts(),
        (1, 2),
        "failed reload keeps the loaded groups"
    );
}

/// A reload in two halves, so that other parts of a configuration can refuse it first:
/// `load` changes nothing but a failure's metric, `install` puts the groups and the globals
/// in force together.
#[test]
fn load_changes_nothing_until_install() {
    let store = store();
    let mut registry = prometheus_client::registry::Registry::default();
    let mut opts = ManagerOptions::new(store.clone(), store.clone());
    opts.metrics = Some(RuleMetrics::new(&mut registry));
    let manager = RuleManager::new(opts);
    let metrics = || {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        text
    };
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(manager.load(&[dir.path().join("missing.yml")], 0).is_err());
    assert!(metrics().contains("vigil_rule_config_last_reload_successful 0"));
    let path = dir.path().join("r.yml");
    std::fs::write(
        &path,
        "groups:\n- name: g\n  rules:\n  - record: one\n    expr: vector(1)\n",
    )
    .expect("write");
    let specs = manager.load(&[&path], 1).expect("loads");
    assert_eq!(manager.counts(), (0, 0), "nothing installed by load");
    assert!(manager.next_due_ms().is_none());
    manager.install(
        specs,
        RuleGlobals {
            evaluation_interval_ms: 5_000,
            ..RuleGlobals::default()
        },
        1,
    );
    assert_eq!(manager.counts(), (1, 1));
    assert!(metrics().contains("vigil_rule_config_last_reload_successful 1"));
    // The group took the installed globals' interval.
    let json = serde_json::to_value(manager.rules(&RulesFilter::default())).expect("json");
    assert_eq!(json["groups"][0]["interval"], 5, "{json}");
}
