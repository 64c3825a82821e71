//! Rule files and promtool unit-test files are operator input read at start, on reload and by
//! `vigil check rules` / `vigil test rules`: any text gives groups or errors, never a panic.

use proptest::prelude::*;
use vigil_rules::{parse_rule_file, run_rule_tests};

/// YAML fragments in the places a rule file has them, valid and not.
fn rule_file() -> impl Strategy<Value = String> {
    let name = prop_oneof![Just(""), Just("g"), Just("'a b'"), Just("1")];
    let interval = prop_oneof![
        Just(""),
        Just("interval: 1m"),
        Just("interval: 0s"),
        Just("interval: -1s"),
        Just("interval: 9999999999y"),
        Just("limit: -3"),
        Just("query_offset: 5m"),
    ];
    let kind = prop_oneof![
        Just("record: r"),
        Just("alert: A"),
        Just("record: '1bad'"),
        Just("alert: ''"),
    ];
    let expr = prop_oneof![
        Just("expr: up"),
        Just("expr: 'sum(rate(x[5m])) by (job)'"),
        Just("expr: 'up{'"),
        Just("expr: ''"),
        Just("expr: '1 + '"),
    ];
    let extra = prop_oneof![
        Just(""),
        Just("for: 10m"),
        Just("for: 292y"),
        Just("keep_firing_for: 1h"),
        Just("labels: {a: '{{ $value }}'}"),
        Just("labels: {__name__: x}"),
        Just("annotations: {s: '{{ $labels.job'}"),
        Just("annotations: {s: '{{ humanize $value }} {{ printf \"%*d\" 1 2 }}'}"),
        Just("annotations: {'1a': x}"),
        Just("unknown: 1"),
    ];
    (name, interval, kind, expr, extra, 0usize..3).prop_map(|(n, i, k, e, x, copies)| {
        let rule = format!("  - {k}\n    {e}\n    {x}\n");
        format!(
            "groups:\n- name: {n}\n  {i}\n  rules:\n{}",
            rule.repeat(copies)
        )
    })
}

/// A promtool unit-test file with small, arbitrary series and times.
fn test_file() -> impl Strategy<Value = String> {
    let values = prop_oneof![
        Just("1 2 3"),
        Just("0+1x5"),
        Just("1-2x3 _ stale"),
        Just("_x3 1e400 -Inf"),
        Just("1x"),
        Just("0+1x99999999999999999999"),
        Just(""),
    ];
    let interval = prop_oneof![Just(""), Just("interval: 1m"), Just("interval: 0s")];
    let eval = prop_oneof![Just("0s"), Just("1m"), Just("5m"), Just("-1m"), Just("x")];
    (values, interval, eval).prop_map(|(v, i, e)| {
        format!(
            "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- {i}\n  input_series:\n  - series: 'up{{job=\"a\"}}'\n    values: '{v}'\n  alert_rule_test:\n  - eval_time: {e}\n    alertname: Down\n  promql_expr_test:\n  - expr: up\n    eval_time: {e}\n"
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_rule_file("r.yml", &text);
    }

    #[test]
    fn rule_shaped_files_never_panic(text in rule_file()) {
        let _ = parse_rule_file("r.yml", &text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]

    #[test]
    fn unit_test_files_never_panic(text in test_file()) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("rules.yml"),
            "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n    annotations: {s: '{{ $value }}'}\n  - record: r\n    expr: sum(up)\n",
        )
        .expect("write rules");
        let path = dir.path().join("t.yml");
        std::fs::write(&path, text).expect("write test");
        let mut out = Vec::new();
        let _ = run_rule_tests(&[path], &mut out);
    }
}
