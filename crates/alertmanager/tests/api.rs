//! The API v2 operations of `Alertmanager`, with an injected clock.

use std::sync::Arc;

use vigil_alertmanager::api::{PostableAlert, PostableMatcher, PostableSilence};
use vigil_alertmanager::{
    parse, parse_rfc3339, AlertState, Alertmanager, AlertmanagerOptions, AlertsQuery, Error,
    SilenceState,
};
use vigil_model::{Clock, ManualClock};

const CONFIG: &str = r#"
global:
  resolve_timeout: 5m
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: [team=db]
      receiver: db
      continue: true
    - matchers: [severity=~"warning|critical"]
      receiver: oncall
receivers:
  - name: default
  - name: db
  - name: oncall
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
    equal: [cluster]
"#;

fn t(s: &str) -> i64 {
    parse_rfc3339(s).expect("time")
}

fn setup() -> (Arc<ManualClock>, Alertmanager) {
    let clock = Arc::new(ManualClock::new(t("2024-05-01T10:00:00Z")));
    let am = Alertmanager::new(
        parse(CONFIG).expect("config"),
        clock.clone(),
        AlertmanagerOptions::default(),
    )
    .expect("core");
    (clock, am)
}

fn alert(pairs: &[(&str, &str)]) -> PostableAlert {
    PostableAlert {
        labels: Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..PostableAlert::default()
    }
}

fn silence(matchers: &[(&str, &str, bool)], start: i64, end: i64) -> PostableSilence {
    PostableSilence {
        id: None,
        matchers: Some(
            matchers
                .iter()
                .map(|(n, v, re)| PostableMatcher {
                    name: Some((*n).to_owned()),
                    value: Some((*v).to_owned()),
                    is_regex: Some(*re),
                    is_equal: None,
                })
                .collect(),
        ),
        starts_at: Some(start),
        ends_at: Some(end),
        created_by: Some("me".into()),
        comment: Some("maintenance".into()),
    }
}

#[test]
fn posted_alerts_get_times_receivers_and_status() {
    let (clock, am) = setup();
    let now = clock.now_ms();
    am.post_alerts(vec![
        alert(&[
            ("alertname", "DiskFull"),
            ("team", "db"),
            ("severity", "warning"),
            ("cluster", "a"),
            ("empty", ""),
        ]),
        alert(&[
            ("alertname", "Down"),
            ("severity", "critical"),
            ("cluster", "a"),
        ]),
    ])
    .expect("valid");
    let got = am.get_alerts(&AlertsQuery::default()).expect("alerts");
    assert_eq!(got.len(), 2);
    let disk = got
        .iter()
        .find(|a| a.labels.get("alertname").map(String::as_str) == Some("DiskFull"))
        .expect("disk");
    assert!(!disk.labels.contains_key("empty"));
    assert_eq!(disk.starts_at, now);
    assert_eq!(disk.ends_at, now + 5 * 60_000);
    let names: Vec<&str> = disk.receivers.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["db", "oncall"]);
    // Inhibited by the critical alert in the same cluster.
    assert_eq!(disk.status.state, AlertState::Suppressed);
    assert_eq!(disk.status.inhibited_by.len(), 1);
    // Sorted by fingerprint.
    assert!(got.windows(2).all(|w| w[0].fingerprint < w[1].fingerprint));

    let q = AlertsQuery {
        inhibited: false,
        ..AlertsQuery::default()
    };
    assert_eq!(am.get_alerts(&q).expect("alerts").len(), 1);
    let q = AlertsQuery {
        filter: vec!["alertname=~\"Disk.*\"".into()],
        ..AlertsQuery::default()
    };
    assert_eq!(am.get_alerts(&q).expect("alerts").len(), 1);
    let q = AlertsQuery {
        receiver: Some("db".into()),
        ..AlertsQuery::default()
    };
    assert_eq!(am.get_alerts(&q).expect("alerts").len(), 1);
    let bad = AlertsQuery {
        filter: vec!["nonsense".into()],
        ..AlertsQuery::default()
    };
    assert!(matches!(am.get_alerts(&bad), Err(Error::InvalidQuery(_))));

    // After the resolve timeout the alerts are resolved, hidden, and collected.
    clock.advance(5 * 60_000);
    assert!(
        am.get_alerts(&AlertsQuery::default())
            .expect("alerts")
            .len()
            == 2
    );
    clock.advance(1);
    assert!(am
        .get_alerts(&AlertsQuery::default())
        .expect("alerts")
        .is_empty());
    assert_eq!(am.gc_alerts().len(), 2);
    assert!(am.alerts().is_empty());
}

#[test]
fn invalid_alerts_are_reported_and_valid_ones_kept() {
    let (_, am) = setup();
    let mut backwards = alert(&[("alertname", "X")]);
    backwards.starts_at = Some(t("2024-05-01T10:00:00Z"));
    backwards.ends_at = Some(t("2024-05-01T09:00:00Z"));
    let e = am
        .post_alerts(vec![
            backwards,
            alert(&[]),
            PostableAlert::default(),
            alert(&[("bad-name", "x")]),
            alert(&[("alertname", "Fine")]),
        ])
        .expect_err("invalid");
    assert_eq!(
        e.to_string(),
        "labels in body is required; start time must be before end time; at least one label pair required; invalid label set: invalid name \"bad-name\""
    );
    assert_eq!(am.alerts().len(), 1);
}

#[test]
fn silences_through_the_api() {
    let (clock, am) = setup();
    let now = clock.now_ms();
    am.post_alerts(vec![alert(&[("alertname", "Down"), ("job", "api")])])
        .expect("alert");
    let id = am
        .post_silence(silence(&[("job", "api", false)], now, now + 3_600_000))
        .expect("silence");
    let got = am.get_alerts(&AlertsQuery::default()).expect("alerts");
    let a = got.first().expect("alert");
    assert_eq!(a.status.state, AlertState::Suppressed);
    assert_eq!(a.status.silenced_by, vec![id.clone()]);
    let q = AlertsQuery {
        silenced: false,
        ..AlertsQuery::default()
    };
    assert!(am.get_alerts(&q).expect("alerts").is_empty());

    let s = am.get_silence(&id).expect("get");
    assert_eq!(s.status.state, SilenceState::Active);
    assert_eq!(
        s.matchers.first().map(|m| (m.is_equal, m.is_regex)),
        Some((true, false))
    );
    assert_eq!(
        am.get_silences(&["job=\"api\"".into()])
            .expect("list")
            .len(),
        1
    );
    assert!(am
        .get_silences(&["job=~\"api\"".into()])
        .expect("list")
        .is_empty());

    am.delete_silence(&id).expect("expire");
    clock.advance(1);
    assert_eq!(
        am.get_silence(&id).expect("get").status.state,
        SilenceState::Expired
    );
    let got = am.get_alerts(&AlertsQuery::default()).expect("alerts");
    assert_eq!(
        got.first().map(|a| a.status.state),
        Some(AlertState::Active)
    );
    assert!(matches!(
        am.get_silence("nope"),
        Err(Error::SilenceNotFound)
    ));
    assert!(matches!(
        am.delete_silence("nope"),
        Err(Error::SilenceNotFound)
    ));
}

#[test]
fn silence_validation_messages() {
    let (clock, am) = setup();
    let now = clock.now_ms();
    let msg = |p: PostableSilence| am.post_silence(p).expect_err("invalid").to_string();
    assert_eq!(
        msg(silence(&[("a", "b", false)], now + 10, now)),
        "Failed to create silence: start time must be before end time"
    );
    assert_eq!(
        msg(silence(&[("a", "b", false)], now - 20, now - 10)),
        "Failed to create silence: end time can't be in the past"
    );
    assert_eq!(
        msg(silence(&[], now, now + 10)),
        "matchers in body should have at least 1 items"
    );
    let mut no_comment = silence(&[("a", "b", false)], now, now + 10);
    no_comment.comment = None;
    assert_eq!(msg(no_comment), "comment in body is required");
    let mut no_author = silence(&[("a", "b", false)], now, now + 10);
    no_author.created_by = None;
    assert_eq!(msg(no_author), "createdBy in body is required");
    assert_eq!(
        msg(silence(&[("a", "", false)], now, now + 10)),
        "silence invalid: at least one matcher must not match the empty string"
    );
    assert_eq!(
        msg(silence(&[("a-b", "x", false)], now, now + 10)),
        "silence invalid: invalid label matcher 0: invalid label name \"a-b\""
    );
    let mut unknown = silence(&[("a", "b", false)], now, now + 10);
    unknown.id = Some("6f1a1b7e-4a9b-4f9e-8a3b-3d5c2e1f0a9b".into());
    assert!(matches!(
        am.post_silence(unknown),
        Err(Error::SilenceNotFound)
    ));
}

#[test]
fn silences_are_listed_in_alertmanager_order() {
    let (clock, am) = setup();
    let now = clock.now_ms();
    let h = 3_600_000;
    let long = am
        .post_silence(silence(&[("a", "1", false)], now, now + 3 * h))
        .expect("s");
    let short = am
        .post_silence(silence(&[("a", "2", false)], now, now + h))
        .expect("s");
    let later = am
        .post_silence(silence(&[("a", "3", false)], now + 2 * h, now + 4 * h))
        .expect("s");
    let soon = am
        .post_silence(silence(&[("a", "4", false)], now + h, now + 4 * h))
        .expect("s");
    let gone = am
        .post_silence(silence(&[("a", "5", false)], now, now + 4 * h))
        .expect("s");
    am.delete_silence(&gone).expect("expire");
    clock.advance(1);
    let ids: Vec<String> = am
        .get_silences(&[])
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![short, long, soon, later, gone]);
}

#[test]
fn alert_groups_follow_routes_and_group_by() {
    let (_, am) = setup();
    am.post_alerts(vec![
        alert(&[("alertname", "A"), ("team", "db"), ("instance", "2")]),
        alert(&[("alertname", "A"), ("team", "db"), ("instance", "1")]),
        alert(&[("alertname", "B"), ("team", "db"), ("severity", "critical")]),
        alert(&[("alertname", "C")]),
    ])
    .expect("alerts");
    let groups = am
        .get_alert_groups(&AlertsQuery::default())
        .expect("groups");
    let summary: Vec<(String, String, usize)> = groups
        .iter()
        .map(|g| {
            (
                g.labels.get("alertname").cloned().unwrap_or_default(),
                g.receiver.name.clone(),
                g.alerts.len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("A".into(), "db".into(), 2),
            ("B".into(), "db".into(), 1),
            ("B".into(), "oncall".into(), 1),
            ("C".into(), "default".into(), 1),
        ]
    );
    let a = groups.first().expect("group A");
    let instances: Vec<&str> = a
        .alerts
        .iter()
        .map(|x| x.labels.get("instance").map_or("", String::as_str))
        .collect();
    assert_eq!(instances, vec!["1", "2"]);
    let b = groups.get(1).expect("group B");
    let rs: Vec<&str> = b
        .alerts
        .iter()
        .flat_map(|x| x.receivers.iter().map(|r| r.name.as_str()))
        .collect();
    assert_eq!(rs, vec!["db", "oncall"]);
    let q = AlertsQuery {
        receiver: Some("onc.*".into()),
        ..AlertsQuery::default()
    };
    assert_eq!(am.get_alert_groups(&q).expect("groups").len(), 1);
}

#[test]
fn status_and_receivers_json() {
    let (_, am) = setup();
    let status = serde_json::to_value(am.status()).expect("json");
    assert_eq!(
        status["cluster"],
        serde_json::json!({"status": "disabled", "peers": []})
    );
    assert_eq!(status["uptime"], "2024-05-01T10:00:00.000Z");
    assert!(status["versionInfo"]["goVersion"].is_string());
    let original = status["config"]["original"].as_str().expect("original");
    assert!(parse(original).is_ok());
    let names: Vec<String> = am.receivers().into_iter().map(|r| r.name).collect();
    assert_eq!(names, vec!["default", "db", "oncall"]);
}

#[test]
fn reload_keeps_alerts_and_rebuilds_inhibition() {
    let (_, am) = setup();
    am.post_alerts(vec![
        alert(&[
            ("alertname", "W"),
            ("severity", "warning"),
            ("cluster", "a"),
        ]),
        alert(&[
            ("alertname", "C"),
            ("severity", "critical"),
            ("cluster", "a"),
        ]),
    ])
    .expect("alerts");
    let w = |am: &Alertmanager| {
        am.get_alerts(&AlertsQuery {
            filter: vec!["alertname=W".into()],
            ..AlertsQuery::default()
        })
        .expect("alerts")
        .first()
        .map(|a| a.status.state)
    };
    assert_eq!(w(&am), Some(AlertState::Suppressed));
    let no_rules = CONFIG.split("inhibit_rules:").next().expect("prefix");
    am.apply_config(parse(no_rules).expect("config"));
    assert_eq!(w(&am), Some(AlertState::Active));
    am.apply_config(parse(CONFIG).expect("config"));
    assert_eq!(w(&am), Some(AlertState::Suppressed));
}
