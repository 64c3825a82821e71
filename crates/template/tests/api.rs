//! The crate's API as the rules and alertmanager crates use it.

use std::collections::BTreeMap;

use proptest::prelude::*;
use vigil_template::{
    check_rule_template, expand_rule_template, AlertData, NotificationData, NotificationTemplates,
    QuerySample, RuleTemplateData, TemplateError, TemplateQuery,
};

fn labels() -> BTreeMap<String, String> {
    [("instance", "a:80"), ("job", "api")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn expand(
    text: &str,
    value: f64,
    query: Option<&dyn TemplateQuery>,
) -> Result<String, TemplateError> {
    let l = labels();
    let ext = BTreeMap::new();
    let data = RuleTemplateData {
        labels: &l,
        external_labels: &ext,
        external_url: "http://prom.example:9090/prefix",
        value,
    };
    expand_rule_template("__alert_HighLatency", text, &data, 1_000, query)
}

struct Echo;

impl TemplateQuery for Echo {
    fn query(&self, expr: &str, at_ms: i64) -> Result<Vec<QuerySample>, String> {
        if expr == "fail" {
            return Err("query failed: boom".to_owned());
        }
        let mut labels = BTreeMap::new();
        labels.insert("expr".to_owned(), expr.to_owned());
        #[allow(clippy::cast_precision_loss)]
        Ok(vec![QuerySample {
            labels,
            value: at_ms as f64,
        }])
    }
}

#[test]
fn rule_values_and_labels() {
    assert_eq!(
        expand(
            "{{ $labels.job }} is at {{ $value }} ({{ humanize $value }})",
            1e21,
            None
        )
        .as_deref(),
        Ok("api is at 1e+21 (1Z)")
    );
    assert_eq!(
        expand("[{{ $labels.missing }}]", 0.0, None).as_deref(),
        Ok("[]")
    );
    assert_eq!(
        expand(
            "{{ pathPrefix }} {{ externalURL }} {{ $externalURL }}",
            0.0,
            None
        )
        .as_deref(),
        Ok("/prefix http://prom.example:9090/prefix http://prom.example:9090/prefix")
    );
}

#[test]
fn rule_errors_read_like_prometheus() {
    let err = expand("{{ humanize \"x\" }}", 0.0, None)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "error executing template __alert_HighLatency: template: __alert_HighLatency:1:115: \
             executing \"__alert_HighLatency\" at <humanize \"x\">: error calling humanize: \
             strconv.ParseFloat: parsing \"x\": invalid syntax"
        )
    );
    let err = expand("{{ nope }}", 0.0, None).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "error parsing template __alert_HighLatency: template: __alert_HighLatency:1: \
             function \"nope\" not defined"
        )
    );
}

#[test]
fn rule_query_runs_through_the_service() {
    assert_eq!(
        expand("{{ with query \"up\" }}{{ . | first | value }} {{ . | first | label \"expr\" }}{{ end }}", 0.0, Some(&Echo)).as_deref(),
        Ok("1000 up")
    );
    let err = expand("{{ query \"fail\" }}", 0.0, Some(&Echo))
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.ends_with("error calling query: query failed: boom")),
        "{err:?}"
    );
    // Without a service, `query` fails as it does in Prometheus without a query function.
    assert!(expand("{{ query \"up\" }}", 0.0, None).is_err());
}

#[test]
fn check_reports_parse_errors_only() {
    assert_eq!(
        check_rule_template("__alert_X", "{{ $value | humanize }}"),
        Ok(())
    );
    // An execution error is not a parse error.
    assert_eq!(
        check_rule_template("__alert_X", "{{ humanize \"x\" }}"),
        Ok(())
    );
    let e = check_rule_template("__alert_X", "{{ nope 1 }}").err();
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("template: __alert_X:1: function \"nope\" not defined")
    );
    assert!(check_rule_template("__alert_X", "{{ if }}").is_err());
    assert!(check_rule_template("__alert_X", "{{ .X").is_err());
}

fn notification() -> NotificationData {
    let mut l = labels();
    l.insert("alertname".into(), "HighLatency".into());
    let alert = AlertData {
        status: "firing".into(),
        labels: l.clone(),
        annotations: BTreeMap::new(),
        starts_at_ms: 0,
        ends_at_ms: None,
        generator_url: "http://prom/graph".into(),
        fingerprint: "f1".into(),
    };
    let group: BTreeMap<String, String> = [("alertname".to_owned(), "HighLatency".to_owned())]
        .into_iter()
        .collect();
    NotificationData::from_alerts("team-a", group, vec![alert], "http://am")
}

#[test]
fn notification_defaults_and_overrides() {
    let user = "{{ define \"slack.default.title\" }}custom {{ .Status }}{{ end }}\
                {{ define \"__subject\" }}{{ end }}"; // empty: must not replace the default
    let t = NotificationTemplates::new(&[("/etc/am/user.tmpl".to_owned(), user.to_owned())]);
    let t = match t {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let d = notification();
    assert_eq!(
        t.execute_text("{{ template \"slack.default.title\" . }}", &d)
            .as_deref(),
        Ok("custom firing")
    );
    assert_eq!(
        t.execute_text("{{ template \"__subject\" . }}", &d)
            .as_deref(),
        Ok("[FIRING:1] HighLatency (a:80 api)")
    );
    assert_eq!(t.execute_text("", &d).as_deref(), Ok(""));
    assert!(t.has_template("email.default.html"));
}

#[test]
fn notification_file_errors_name_the_file() {
    let e = NotificationTemplates::new(&[(
        "/etc/am/bad.tmpl".to_owned(),
        "{{ define \"x\" }}{{ .A }".to_owned(),
    )])
    .err();
    let e = e.map(|e| (e.template().to_owned(), e.to_string()));
    assert!(
        e.as_ref()
            .is_some_and(|(path, msg)| path == "/etc/am/bad.tmpl"
                && msg.starts_with("template: bad.tmpl:1:")),
        "{e:?}"
    );
    let dup = "{{ define \"x\" }}a{{ end }}{{ define \"x\" }}b{{ end }}";
    assert!(NotificationTemplates::new(&[("d.tmpl".to_owned(), dup.to_owned())]).is_err());
}

#[test]
fn html_escapes_values() {
    let t = match NotificationTemplates::new(&[]) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let mut d = notification();
    d.common_labels.insert("x".into(), "<b>&".into());
    assert_eq!(
        t.execute_html("<p>{{ .CommonLabels.x }}</p>{{ safeHtml \"<i>\" }}", &d)
            .as_deref(),
        Ok("<p>&lt;b&gt;&amp;</p><i>")
    );
    assert_eq!(
        t.execute_text("{{ .CommonLabels.x }}", &d).as_deref(),
        Ok("<b>&")
    );
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        Just("{{-".to_owned()),
        Just(" -}}".to_owned()),
        Just(" . ".to_owned()),
        Just(".Alerts".to_owned()),
        Just(".Firing".to_owned()),
        Just(".CommonLabels.SortedPairs".to_owned()),
        Just("$labels.job".to_owned()),
        Just("$value".to_owned()),
        Just(" humanize ".to_owned()),
        Just(" printf \"%d %s %v %.2f %\" ".to_owned()),
        Just(" range ".to_owned()),
        Just(" end ".to_owned()),
        Just(" if ".to_owned()),
        Just(" with ".to_owned()),
        Just(" else ".to_owned()),
        Just(" define \"a\" ".to_owned()),
        Just(" template \"a\" . ".to_owned()),
        Just(" index ".to_owned()),
        Just(" slice ".to_owned()),
        Just(" len ".to_owned()),
        Just(" | ".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(" 1 ".to_owned()),
        Just(" -1 ".to_owned()),
        Just(" 1e400 ".to_owned()),
        Just(" \"x\" ".to_owned()),
        Just(" $x := ".to_owned()),
        Just(" $x ".to_owned()),
        "[a-z\\\"\\\\ ]{0,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any text, valid or not, gives a result or an error, never a panic.
    #[test]
    fn arbitrary_templates_never_panic(parts in proptest::collection::vec(fragment(), 0..24)) {
        let text: String = parts.concat();
        let _ = expand(&text, f64::NAN, Some(&Echo));
        let _ = check_rule_template("__alert_P", &text);
        if let Ok(t) = NotificationTemplates::new(&[]) {
            let _ = t.execute_text(&text, &notification());
            let _ = t.execute_html(&text, &notification());
        }
    }
}

#[test]
fn recursion_and_nesting_are_bounded() {
    let rec = "{{ define \"a\" }}{{ template \"a\" . }}{{ end }}{{ template \"a\" . }}";
    assert!(expand(rec, 0.0, None).is_err());
    let deep = format!("{{{{ {}1{} }}}}", "(".repeat(50), ")".repeat(50));
    assert_eq!(expand(&deep, 0.0, None).as_deref(), Ok("1"));
    let very_deep = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(expand(&very_deep, 0.0, None).is_err());
    let t = match NotificationTemplates::new(&[]) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    assert!(t.execute_text(rec, &notification()).is_err());
    assert!(t
        .execute_text("{{ range $i := 1000000000 }}x{{ end }}", &notification())
        .is_err());
}
