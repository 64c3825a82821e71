//! The configuration API: errors located by line, the embedded section, defaults.

use vigil_alertmanager::{check_config, config, from_value, parse};
use vigil_model::YamlPositions;

#[test]
fn errors_name_the_line() {
    let text = "route:\n  receiver: default\n  routes:\n    - receiver: default\n      group_by: ['a-b']\nreceivers:\n  - name: default\n";
    let e = parse(text).expect_err("invalid");
    assert_eq!(e.line, Some(5));
    assert_eq!(
        e.to_string(),
        "line 5: invalid label name \"a-b\" in group_by list"
    );

    let text = "route:\n  receiver: default\nreceivers:\n  - name: default\n    webhook_configs:\n      - url: http://x/\n        urll: y\n";
    let e = parse(text).expect_err("unknown field");
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.reason.contains("unknown field `urll`"), "{e}");

    let e = parse("route:\n  receiver: nobody\nreceivers:\n  - name: default\n")
        .expect_err("undefined");
    assert_eq!(
        e.to_string(),
        "line 2: undefined receiver \"nobody\" used in route"
    );

    let e = parse("route:\n  receiver: a\n  routes: [\n").expect_err("syntax");
    assert!(e.line.is_some(), "{e}");
    assert_eq!(
        parse("").expect_err("empty").to_string(),
        "no route provided in config"
    );
}

#[test]
fn embedded_section_reports_lines_of_the_whole_file() {
    let text = "global:\n  scrape_interval: 15s\nalertmanager:\n  route:\n    receiver: default\n    group_wait: soon\n  receivers:\n    - name: default\n";
    let whole: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).expect("yaml");
    let section = whole.get("alertmanager").cloned().expect("section");
    let e =
        from_value(section, &YamlPositions::new(text), "alertmanager").expect_err("bad duration");
    assert_eq!(e.path, "route.group_wait");
    assert_eq!(e.line, Some(6));
    assert_eq!(
        e.to_string(),
        "line 6: not a valid duration string: \"soon\""
    );

    let ok = "alertmanager:\n  route:\n    receiver: default\n  receivers:\n    - name: default\n";
    let whole: serde_yaml_ng::Value = serde_yaml_ng::from_str(ok).expect("yaml");
    let section = whole.get("alertmanager").cloned().expect("section");
    assert!(from_value(section, &YamlPositions::new(ok), "alertmanager").is_ok());
}

#[test]
fn defaults_and_inheritance() {
    let text = r#"
global:
  smtp_smarthost: smtp.example.org:587
  smtp_from: am@example.org
  smtp_auth_password: hunter2
  slack_api_url: https://hooks.slack.com/services/X
  resolve_timeout: 1m
route:
  receiver: all
  group_by: [alertname]
  routes:
    - matchers: [team=a]
      group_wait: 1s
      routes:
        - matchers: [sev=page]
receivers:
  - name: all
    webhook_configs: [{url: 'http://h/'}]
    email_configs: [{to: ops@example.org}]
    slack_configs: [{channel: '#a'}]
    pagerduty_configs: [{routing_key: k, client: am}]
"#;
    let c = parse(text).expect("valid");
    assert_eq!(c.global.resolve_timeout_ms, 60_000);
    let r = c.receiver("all").expect("receiver");
    let hook = r.webhook_configs.first().expect("webhook");
    assert!(hook.send_resolved);
    assert!(hook.http_config.follow_redirects);
    let mail = r.email_configs.first().expect("email");
    assert!(!mail.send_resolved);
    assert_eq!(mail.smarthost.host, "smtp.example.org");
    assert_eq!(mail.from, "am@example.org");
    assert_eq!(mail.hello, "localhost");
    assert!(mail.require_tls);
    assert_eq!(
        mail.auth_password.as_ref().map(config::Secret::expose),
        Some("hunter2")
    );
    assert_eq!(mail.html, "{{ template \"email.default.html\" . }}");
    let slack = r.slack_configs.first().expect("slack");
    assert!(!slack.send_resolved);
    assert!(slack.api_url.is_some());
    assert_eq!(slack.title, "{{ template \"slack.default.title\" . }}");
    let pd = r.pagerduty_configs.first().expect("pagerduty");
    assert!(pd.send_resolved);
    assert_eq!(pd.source, "am");
    assert_eq!(pd.url, "https://events.pagerduty.com/v2/enqueue");
    assert_eq!(pd.details.len(), 4);

    let leaf = c.route.walk().last().expect("leaf");
    assert_eq!(leaf.opts.receiver, "all");
    assert_eq!(leaf.opts.group_wait_ms, 1_000);
    assert_eq!(leaf.opts.group_interval_ms, 300_000);
    assert_eq!(leaf.opts.repeat_interval_ms, 4 * 3_600_000);
    assert!(leaf.opts.group_by.contains("alertname"));
    assert_eq!(leaf.key(), "{}/{team=\"a\"}/{sev=\"page\"}");

    // Credentials are masked in the text the status API serves.
    assert!(!c.original().contains("hunter2"));
    assert!(c.original().contains("<secret>"));
    assert!(!c.original().contains("hooks.slack.com"));
}

#[test]
fn summary_counts() {
    let s = check_config(
        "route:\n  receiver: a\nreceivers:\n  - name: a\n  - name: b\ninhibit_rules:\n  - source_matchers: [x=y]\ntemplates: ['a/*.tmpl', 'b.tmpl']\ntime_intervals:\n  - name: t\n    time_intervals: [{weekdays: [monday]}]\n",
    )
    .expect("valid");
    assert_eq!(
        (s.inhibit_rules, s.receivers, s.templates, s.time_intervals),
        (1, 2, 2, 1)
    );
}

#[test]
fn time_intervals_mute_routes() {
    let text = r#"
route:
  receiver: r
  routes:
    - matchers: [a=b]
      mute_time_intervals: [weekend]
    - matchers: [c=d]
      active_time_intervals: [office]
time_intervals:
  - name: weekend
    time_intervals: [{weekdays: [saturday, sunday]}]
  - name: office
    time_intervals: [{times: [{start_time: '09:00', end_time: '17:00'}]}]
receivers:
  - name: r
"#;
    let c = parse(text).expect("valid");
    let routes: Vec<_> = c.route.walk().collect();
    let (muted, active) = (routes.get(1).expect("r1"), routes.get(2).expect("r2"));
    let saturday_noon = vigil_alertmanager::parse_rfc3339("2024-01-06T12:00:00Z").expect("t");
    let monday_night = vigil_alertmanager::parse_rfc3339("2024-01-08T22:00:00Z").expect("t");
    assert!(c.route_muted_at(&muted.opts, saturday_noon));
    assert!(!c.route_muted_at(&muted.opts, monday_night));
    assert!(c.route_muted_at(&active.opts, monday_night));
    assert!(!c.route_muted_at(&active.opts, saturday_noon));
    assert!(!c.route_muted_at(&c.route.root().opts, saturday_noon));
}
