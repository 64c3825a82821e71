//! Renders a corpus of notification templates with Alertmanager's own `amtool template render`
//! (0.25) and with this crate, and requires identical output (errors included).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use vigil_template::{AlertData, NotificationData, NotificationTemplates};

const AMTOOL: &str = "/usr/bin/amtool";
/// Debian's amtool does not embed Alertmanager's default templates; its package ships them here.
const DEBIAN_DEFAULTS: &str = "/usr/share/prometheus/alertmanager/default.tmpl";
const USER_TMPL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/am_user.tmpl");

fn kv(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// amtool's built-in example data (`cli/template_render.go`), minus its times, which are
/// `time.Now()`-relative and therefore never printed by the cases run against it.
fn amtool_default_data() -> NotificationData {
    let alert = |labels, annotations, fp: &str| AlertData {
        status: "alertstatus".into(),
        labels,
        annotations,
        starts_at_ms: 0,
        ends_at_ms: Some(0),
        generator_url: "https://generatorurl.com".into(),
        fingerprint: fp.into(),
    };
    NotificationData {
        receiver: "receiver".into(),
        status: "alertstatus".into(),
        alerts: vec![
            alert(
                kv(&[
                    ("label1", "value1"),
                    ("label2", "value2"),
                    ("instance", "foo.bar:1234"),
                    ("commonlabelkey1", "commonlabelvalue1"),
                    ("commonlabelkey2", "commonlabelvalue2"),
                ]),
                kv(&[
                    ("annotation1", "value1"),
                    ("annotation2", "value2"),
                    ("commonannotationkey1", "commonannotationvalue1"),
                    ("commonannotationkey2", "commonannotationvalue2"),
                ]),
                "fingerprint1",
            ),
            alert(
                kv(&[
                    ("foo", "bar"),
                    ("baz", "qux"),
                    ("commonlabelkey1", "commonlabelvalue1"),
                    ("commonlabelkey2", "commonlabelvalue2"),
                ]),
                kv(&[
                    ("aaa", "bbb"),
                    ("ccc", "ddd"),
                    ("commonannotationkey1", "commonannotationvalue1"),
                    ("commonannotationkey2", "commonannotationvalue2"),
                ]),
                "fingerprint2",
            ),
        ],
        group_labels: kv(&[
            ("grouplabelkey1", "grouplabelvalue1"),
            ("grouplabelkey2", "grouplabelvalue2"),
        ]),
        common_labels: kv(&[
            ("commonlabelkey1", "commonlabelvalue1"),
            ("commonlabelkey2", "commonlabelvalue2"),
        ]),
        common_annotations: kv(&[
            ("commonannotationkey1", "commonannotationvalue1"),
            ("commonannotationkey2", "commonannotationvalue2"),
        ]),
        external_url: "https://example.com".into(),
    }
}

/// A realistic group: two firing alerts and one resolved, with characters that need escaping.
fn firing_data() -> NotificationData {
    let alert = |status: &str, instance: &str, start: i64, end: Option<i64>, fp: &str| AlertData {
        status: status.into(),
        labels: kv(&[
            ("alertname", "HighLatency"),
            ("service", "api"),
            ("severity", "critical"),
            ("instance", instance),
        ]),
        annotations: kv(&[
            ("summary", "p99 > 1s for <api> & \"friends\""),
            ("runbook", "https://runbooks/latency?x=1&y=2"),
        ]),
        starts_at_ms: start,
        ends_at_ms: end,
        generator_url: format!("http://prom:9090/graph?g0.expr=up&i={instance}"),
        fingerprint: fp.into(),
    };
    let alerts = vec![
        alert("firing", "a:80", 1_709_296_496_789, None, "fa01"),
        alert("firing", "b:80", 1_709_296_500_000, None, "fb02"),
        alert(
            "resolved",
            "c:80",
            1_709_200_000_000,
            Some(1_709_300_000_001),
            "fc03",
        ),
    ];
    NotificationData::from_alerts(
        "team-api (pager)",
        kv(&[("alertname", "HighLatency")]),
        alerts,
        "http://alertmanager:9093",
    )
}

/// An empty, resolved group with no labels in common.
fn sparse_data() -> NotificationData {
    NotificationData {
        receiver: "x".into(),
        status: "resolved".into(),
        ..NotificationData::default()
    }
}

fn to_json(d: &NotificationData) -> serde_json::Value {
    let time = |ms: Option<i64>| -> String {
        match ms {
            None => "0001-01-01T00:00:00Z".to_owned(),
            Some(ms) => {
                // Format as RFC 3339 with milliseconds through Go-compatible civil math.
                let secs = ms.div_euclid(1000);
                let millis = ms.rem_euclid(1000);
                let days = secs.div_euclid(86_400);
                let rem = secs.rem_euclid(86_400);
                let (y, m, dd) = civil(days);
                format!(
                    "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{millis:03}Z",
                    rem / 3600,
                    rem / 60 % 60,
                    rem % 60
                )
            }
        }
    };
    json!({
        "receiver": d.receiver,
        "status": d.status,
        "alerts": d.alerts.iter().map(|a| json!({
            "status": a.status,
            "labels": a.labels,
            "annotations": a.annotations,
            "startsAt": time(Some(a.starts_at_ms)),
            "endsAt": time(a.ends_at_ms),
            "generatorURL": a.generator_url,
            "fingerprint": a.fingerprint,
        })).collect::<Vec<_>>(),
        "groupLabels": d.group_labels,
        "commonLabels": d.common_labels,
        "commonAnnotations": d.common_annotations,
        "externalURL": d.external_url,
    })
}

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const DEFAULT_NAMES: &[&str] = &[
    "__alertmanager",
    "__alertmanagerURL",
    "__subject",
    "__text_alert_list",
    "slack.default.title",
    "slack.default.username",
    "slack.default.fallback",
    "slack.default.callbackid",
    "slack.default.pretext",
    "slack.default.titlelink",
    "slack.default.iconemoji",
    "slack.default.iconurl",
    "slack.default.footer",
    "pagerduty.default.description",
    "pagerduty.default.client",
    "pagerduty.default.clientURL",
    "pagerduty.default.instances",
    "opsgenie.default.message",
    "opsgenie.default.description",
    "opsgenie.default.source",
    "wechat.default.message",
    "wechat.default.to_user",
    "wechat.default.to_party",
    "wechat.default.to_tag",
    "wechat.default.agent_id",
    "victorops.default.state_message",
    "victorops.default.entity_display_name",
    "victorops.default.monitoring_tool",
    "pushover.default.title",
    "pushover.default.message",
    "pushover.default.url",
    "sns.default.subject",
    "sns.default.message",
    "telegram.default.message",
    "discord.default.title",
    "discord.default.message",
    "webex.default.message",
];

/// Texts whose output does not depend on alert times.
fn timeless_cases() -> Vec<String> {
    let mut cases: Vec<String> = DEFAULT_NAMES
        .iter()
        .map(|n| {
            // The alert-list templates take the alerts, not the whole data.
            let dot = if n.contains("alert_list") || n.contains("instances") {
                ".Alerts"
            } else {
                "."
            };
            format!("{{{{ template {n:?} {dot} }}}}")
        })
        .collect();
    // User overrides of default names, and the user file's own templates.
    cases.push("{{ template \"__description\" . }}".into());
    cases.push("{{ template \"slack.default.text\" . }}".into());
    for name in [
        "t.strings",
        "t.join",
        "t.match",
        "t.safe",
        "t.printf",
        "t.numbers",
        "t.compare",
        "t.index",
        "t.methods",
        "t.range",
        "t.with",
        "t.vars",
        "t.block",
        "t.trim",
        "t.alertlist",
        "t.html",
    ] {
        cases.push(format!("{{{{ template {name:?} . }}}}"));
    }
    // Errors, which must read the same.
    cases.extend(
        [
            "{{ humanize 1 }}",
            "{{ .Receiver.X }}",
            "{{ template \"nope\" . }}",
            "{{ toUpper 1 }}",
            "{{ join \",\" }}",
            "{{ (index .Alerts 0).Foo }}",
            "{{ .CommonLabels.SortedPairs.Foo }}",
            "{{ if }}",
            "{{ .Status | printf \"%s %s\" }}",
            "{{ range . }}x{{ end }}",
            "{{ range .Receiver }}x{{ end }}",
            "{{ index .Alerts 5 }}",
            "{{ slice .Receiver 0 1 }}|{{ len .Alerts.Firing }}",
            "{{ .CommonLabels.Remove }}",
            "text with {{ \"no\" }} newline\nand a second {{ .Status }} line",
            "",
        ]
        .map(str::to_owned),
    );
    cases
}

/// Cases whose difference is understood (see `lib.rs`), matched as substrings of case names:
/// - Go reports a literal of the wrong type at the literal (`expected string; found 1`);
/// - the engine's parser words some syntax errors differently (`empty command`);
/// - amtool passes the data as a value where Alertmanager's notifiers pass a pointer, so Go
///   prints it without the `&` we print, as the server would;
/// - an empty list has no element to tell `Pairs` from `[]string` in a type error.
const KNOWN_DIFFERENCES: &[&str] = &[
    "{{ toUpper 1 }}",
    "{{ if }}",
    "{{ range . }}x",
    "sparse] {{ .CommonLabels.SortedPairs.Foo }}",
    "sparse html] {{ .CommonLabels.SortedPairs.Foo }}",
];

fn time_cases() -> Vec<String> {
    ["t.times", "t.structs"]
        .iter()
        .map(|n| format!("{{{{ template {n:?} . }}}}"))
        .collect()
}

fn amtool(tool: &str, text: &str, html: bool, data_file: Option<&Path>) -> String {
    let mut cmd = Command::new(tool);
    cmd.arg("template")
        .arg("render")
        .arg(format!("--template.glob={DEBIAN_DEFAULTS}"))
        .arg(format!("--template.glob={USER_TMPL}"))
        .arg(format!("--template.text={text}"));
    if html {
        cmd.arg("--template.type=html");
    }
    if let Some(f) = data_file {
        cmd.arg(format!("--template.data={}", f.display()));
    }
    let out = common::run(cmd, Duration::from_secs(20));
    if out.success {
        out.stdout
    } else {
        let msg = out.stderr.trim_end();
        format!(
            "ERROR: {}",
            msg.strip_prefix("amtool: error: ").unwrap_or(msg)
        )
    }
}

fn ours(t: &NotificationTemplates, text: &str, html: bool, data: &NotificationData) -> String {
    let r = if html {
        t.execute_html(text, data)
    } else {
        t.execute_text(text, data)
    };
    match r {
        Ok(s) => s,
        Err(e) => format!("ERROR: {e}"),
    }
}

#[test]
fn amtool_renders_the_same() {
    let Some(tool) = common::peer(AMTOOL) else {
        return;
    };
    if !Path::new(DEBIAN_DEFAULTS).exists() {
        assert!(
            std::env::var("VIGIL_REQUIRE_PEERS").as_deref() != Ok("1"),
            "{DEBIAN_DEFAULTS} missing"
        );
        println!("skipped: {DEBIAN_DEFAULTS} not installed");
        return;
    }
    let user = match std::fs::read_to_string(USER_TMPL) {
        Ok(s) => s,
        Err(e) => panic!("{USER_TMPL}: {e}"),
    };
    let templates = match NotificationTemplates::new(&[(USER_TMPL.to_owned(), user)]) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let mut results = Vec::new();
    // amtool's built-in data: no data file.
    let builtin = amtool_default_data();
    for text in timeless_cases() {
        for html in [false, true] {
            let name = format!("[builtin{}] {text}", if html { " html" } else { "" });
            results.push((
                name,
                amtool(tool, &text, html, None),
                ours(&templates, &text, html, &builtin),
            ));
        }
    }
    for (label, data) in [("firing", firing_data()), ("sparse", sparse_data())] {
        let path = dir.path().join(format!("{label}.json"));
        if let Err(e) = std::fs::write(&path, to_json(&data).to_string()) {
            panic!("{e}");
        }
        for text in timeless_cases().into_iter().chain(time_cases()) {
            for html in [false, true] {
                let name = format!("[{label}{}] {text}", if html { " html" } else { "" });
                results.push((
                    name,
                    amtool(tool, &text, html, Some(&path)),
                    ours(&templates, &text, html, &data),
                ));
            }
        }
    }
    let (known, checked): (Vec<_>, Vec<_>) = results
        .into_iter()
        .partition(|(name, _, _)| KNOWN_DIFFERENCES.iter().any(|k| name.contains(k)));
    common::report("amtool (known differences)", &known);
    let differing = common::report("amtool", &checked);
    assert_eq!(
        differing, 0,
        "outputs differ from amtool; see DIFF lines above"
    );
}

#[test]
fn email_default_html_shows_the_alerts() {
    let t = match NotificationTemplates::new(&[]) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let data = firing_data();
    let html = match t.execute_html("{{ template \"email.default.html\" . }}", &data) {
        Ok(h) => h,
        Err(e) => panic!("{e}"),
    };
    assert!(html.contains("<h3>[2] Firing</h3>"), "{html}");
    assert!(
        html.contains("<td>severity</td><td>critical</td>"),
        "{html}"
    );
    assert!(
        html.contains("p99 &gt; 1s for &lt;api&gt; &amp; &#34;friends&#34;"),
        "{html}"
    );
    let subject = t.execute_text("{{ template \"email.default.subject\" . }}", &data);
    assert_eq!(
        subject.as_deref(),
        Ok("[FIRING:2] HighLatency (api critical)")
    );
}
