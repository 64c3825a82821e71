//! Relabelling, one table of cases per action. Expected hashmod values were computed with
//! Python's hashlib (`int.from_bytes(md5(v).digest()[8:], "big") % m`); two of them (976, 734)
//! are also in Prometheus's own `model/relabel/relabel_test.go`.

use vigil_model::Labels;
use vigil_scrape::relabel::{hashmod, process};
use vigil_scrape::{RelabelConfig, RelabelRule};

struct Case {
    name: &'static str,
    rules: &'static str,
    input: &'static [(&'static str, &'static str)],
    /// `None`: the label set is dropped.
    output: Option<&'static [(&'static str, &'static str)]>,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).expect("valid pairs")
}

fn rules(yaml: &str) -> Vec<RelabelRule> {
    let raw: Vec<RelabelConfig> = serde_yaml_ng::from_str(yaml).expect("rules parse");
    raw.iter()
        .map(|r| r.validate().expect("rules validate"))
        .collect()
}

const CASES: &[Case] = &[
    // replace
    Case {
        name: "replace with defaults copies the source",
        rules: "- source_labels: [a]\n  target_label: b",
        input: &[("a", "foo")],
        output: Some(&[("a", "foo"), ("b", "foo")]),
    },
    Case {
        name: "replace with capture groups",
        rules: "- source_labels: [a]\n  regex: 'f(.*)'\n  target_label: b\n  replacement: '${1}-x'",
        input: &[("a", "foo")],
        output: Some(&[("a", "foo"), ("b", "oo-x")]),
    },
    Case {
        name: "replace regex is anchored: no partial match",
        rules: "- source_labels: [a]\n  regex: 'o'\n  target_label: b\n  replacement: x",
        input: &[("a", "foo")],
        output: Some(&[("a", "foo")]),
    },
    Case {
        name: "replace joins sources with the separator",
        rules: "- source_labels: [a, b]\n  separator: '-'\n  regex: '(.*)-(.*)'\n  target_label: c\n  replacement: '$2:$1'",
        input: &[("a", "x"), ("b", "y")],
        output: Some(&[("a", "x"), ("b", "y"), ("c", "y:x")]),
    },
    Case {
        name: "replace default separator is a semicolon",
        rules: "- source_labels: [a, b]\n  target_label: c",
        input: &[("a", "x"), ("b", "y")],
        output: Some(&[("a", "x"), ("b", "y"), ("c", "x;y")]),
    },
    Case {
        name: "replace with an empty result deletes the target",
        rules: "- source_labels: [missing]\n  target_label: a",
        input: &[("a", "foo"), ("b", "bar")],
        output: Some(&[("b", "bar")]),
    },
    Case {
        name: "replace target label from a capture",
        rules: "- source_labels: [a]\n  regex: '(.*)'\n  target_label: '${1}_copy'\n  replacement: v",
        input: &[("a", "name")],
        output: Some(&[("a", "name"), ("name_copy", "v")]),
    },
    Case {
        name: "replace to an invalid target name does nothing",
        rules: "- source_labels: [a]\n  target_label: '$1'\n  replacement: v",
        input: &[("a", "1bad")],
        output: Some(&[("a", "1bad")]),
    },
    Case {
        name: "replace $1a refers to a group named 1a, as in Go",
        rules: "- source_labels: [a]\n  target_label: b\n  replacement: '$1a'",
        input: &[("a", "foo"), ("b", "keep")],
        output: Some(&[("a", "foo")]),
    },
    Case {
        name: "replace sets a constant",
        rules: "- target_label: env\n  replacement: prod",
        input: &[("a", "foo")],
        output: Some(&[("a", "foo"), ("env", "prod")]),
    },
    // keep / drop
    Case {
        name: "keep on match",
        rules: "- source_labels: [a]\n  regex: 'f.*'\n  action: keep",
        input: &[("a", "foo")],
        output: Some(&[("a", "foo")]),
    },
    Case {
        name: "keep drops on no match",
        rules: "- source_labels: [a]\n  regex: 'b.*'\n  action: keep",
        input: &[("a", "foo")],
        output: None,
    },
    Case {
        name: "keep with a missing source sees the empty string",
        rules: "- source_labels: [missing]\n  regex: '.+'\n  action: keep",
        input: &[("a", "foo")],
        output: None,
    },
    Case {
        name: "drop on match",
        rules: "- source_labels: [a]\n  regex: 'foo|bar'\n  action: drop",
        input: &[("a", "bar")],
        output: None,
    },
    Case {
        name: "drop keeps on no match",
        rules: "- source_labels: [a]\n  regex: 'foo'\n  action: drop",
        input: &[("a", "foobar")],
        output: Some(&[("a", "foobar")]),
    },
    // keepequal / dropequal
    Case {
        name: "keepequal keeps equal values",
        rules: "- source_labels: [a]\n  target_label: b\n  action: keepequal",
        input: &[("a", "x"), ("b", "x")],
        output: Some(&[("a", "x"), ("b", "x")]),
    },
    Case {
        name: "keepequal drops different values",
        rules: "- source_labels: [a]\n  target_label: b\n  action: keepequal",
        input: &[("a", "x"), ("b", "y")],
        output: None,
    },
    Case {
        name: "dropequal drops equal values",
        rules: "- source_labels: [a]\n  target_label: b\n  action: dropequal",
        input: &[("a", "x"), ("b", "x")],
        output: None,
    },
    Case {
        name: "dropequal keeps different values",
        rules: "- source_labels: [a]\n  target_label: b\n  action: dropequal",
        input: &[("a", "x"), ("b", "y")],
        output: Some(&[("a", "x"), ("b", "y")]),
    },
    Case {
        name: "dropequal: two absent labels are equal",
        rules: "- source_labels: [missing]\n  target_label: other\n  action: dropequal",
        input: &[("a", "x")],
        output: None,
    },
    // hashmod
    Case {
        name: "hashmod (Prometheus's own case)",
        rules: "- source_labels: [c]\n  target_label: d\n  modulus: 1000\n  action: hashmod",
        input: &[("c", "baz")],
        output: Some(&[("c", "baz"), ("d", "976")]),
    },
    Case {
        name: "hashmod of a value with a newline",
        rules: "- source_labels: [a]\n  target_label: b\n  modulus: 1000\n  action: hashmod",
        input: &[("a", "foo\nbar")],
        output: Some(&[("a", "foo\nbar"), ("b", "734")]),
    },
    Case {
        name: "hashmod of an address for sharding",
        rules: "- source_labels: [__address__]\n  target_label: __tmp_hash\n  modulus: 4\n  action: hashmod",
        input: &[("__address__", "127.0.0.1:9100")],
        output: Some(&[("__address__", "127.0.0.1:9100"), ("__tmp_hash", "2")]),
    },
    Case {
        name: "hashmod over joined sources",
        rules: "- source_labels: [a, b]\n  target_label: h\n  modulus: 16\n  action: hashmod",
        input: &[("a", "node-1"), ("b", "prod")],
        output: Some(&[("a", "node-1"), ("b", "prod"), ("h", "9")]),
    },
    Case {
        name: "hashmod then keep: the sharding idiom",
        rules: "- source_labels: [__address__]\n  target_label: __tmp_hash\n  modulus: 4\n  action: hashmod\n- source_labels: [__tmp_hash]\n  regex: '3'\n  action: keep",
        input: &[("__address__", "127.0.0.1:9100")],
        output: None,
    },
    // labelmap
    Case {
        name: "labelmap with $1",
        rules: "- regex: '__meta_kubernetes_pod_label_(.+)'\n  action: labelmap",
        input: &[
            ("__meta_kubernetes_pod_label_app", "web"),
            ("__meta_kubernetes_pod_label_tier", "front"),
            ("job", "j"),
        ],
        output: Some(&[
            ("__meta_kubernetes_pod_label_app", "web"),
            ("__meta_kubernetes_pod_label_tier", "front"),
            ("app", "web"),
            ("job", "j"),
            ("tier", "front"),
        ]),
    },
    Case {
        name: "labelmap with a templated replacement",
        rules: "- regex: 'src_(.+)'\n  replacement: 'dst_${1}_x'\n  action: labelmap",
        input: &[("src_a", "1"), ("other", "2")],
        output: Some(&[("dst_a_x", "1"), ("other", "2"), ("src_a", "1")]),
    },
    // labeldrop / labelkeep
    Case {
        name: "labeldrop removes matching names",
        rules: "- regex: 'tmp_.*'\n  action: labeldrop",
        input: &[("tmp_a", "1"), ("tmp_b", "2"), ("keep", "3")],
        output: Some(&[("keep", "3")]),
    },
    Case {
        name: "labeldrop regex is anchored",
        rules: "- regex: 'tmp'\n  action: labeldrop",
        input: &[("tmp", "1"), ("tmp_b", "2")],
        output: Some(&[("tmp_b", "2")]),
    },
    Case {
        name: "labelkeep keeps only matching names",
        rules: "- regex: '__name__|job'\n  action: labelkeep",
        input: &[("__name__", "up"), ("job", "j"), ("instance", "i")],
        output: Some(&[("__name__", "up"), ("job", "j")]),
    },
    // lowercase / uppercase
    Case {
        name: "lowercase",
        rules: "- source_labels: [a]\n  target_label: b\n  action: lowercase",
        input: &[("a", "FoO-Bär")],
        output: Some(&[("a", "FoO-Bär"), ("b", "foo-bär")]),
    },
    Case {
        name: "uppercase of joined sources",
        rules: "- source_labels: [a, b]\n  target_label: c\n  action: uppercase",
        input: &[("a", "x"), ("b", "y")],
        output: Some(&[("a", "x"), ("b", "y"), ("c", "X;Y")]),
    },
    Case {
        name: "action names are case-insensitive",
        rules: "- source_labels: [a]\n  target_label: b\n  action: UpperCase",
        input: &[("a", "x")],
        output: Some(&[("a", "x"), ("b", "X")]),
    },
    // chains
    Case {
        name: "rules apply in order and see earlier results",
        rules: "- source_labels: [a]\n  target_label: b\n- source_labels: [b]\n  regex: foo\n  action: drop",
        input: &[("a", "foo")],
        output: None,
    },
];

#[test]
fn relabel_cases() {
    let mut failures = Vec::new();
    for c in CASES {
        let got = process(&labels(c.input), &rules(c.rules));
        let want = c.output.map(labels);
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", c.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hashmod_matches_python_md5() {
    assert_eq!(hashmod("foo", 1000), 696);
    assert_eq!(hashmod("", 7), 1);
    assert_eq!(hashmod("bar", 1 << 32), 1_328_370_162);
}

/// (rules, path of the error within the rule, message)
const INVALID: &[(&str, &str, &str)] = &[
    (
        "action: explode",
        "action",
        r#"unknown relabel action "explode""#,
    ),
    (
        "action: hashmod\ntarget_label: x",
        "modulus",
        "relabel configuration for hashmod requires non-zero modulus",
    ),
    (
        "action: replace",
        "target_label",
        "relabel configuration for replace action requires 'target_label' value",
    ),
    (
        "action: replace\ntarget_label: 1x",
        "target_label",
        r#""1x" is invalid 'target_label' for replace action"#,
    ),
    (
        "action: replace\ntarget_label: 'a-$1'",
        "target_label",
        r#""a-$1" is invalid 'target_label' for replace action"#,
    ),
    (
        "action: lowercase\ntarget_label: x\nreplacement: y",
        "replacement",
        "'replacement' can not be set for lowercase action",
    ),
    (
        "action: keepequal\nsource_labels: [a]",
        "target_label",
        "relabel configuration for keepequal action requires 'target_label' value",
    ),
    (
        "action: keepequal\nsource_labels: [a]\ntarget_label: b\nregex: x",
        "",
        "keepequal action requires only 'source_labels' and `target_label`, and no other fields",
    ),
    (
        "action: dropequal\nsource_labels: [a]\ntarget_label: b\nregex: '(.*)'",
        "",
        "dropequal action requires only 'source_labels' and `target_label`, and no other fields",
    ),
    (
        "action: labeldrop\nregex: x\nsource_labels: [a]",
        "",
        "labeldrop action requires only 'regex', and no other fields",
    ),
    (
        "action: labelkeep\nregex: x\ntarget_label: a",
        "",
        "labelkeep action requires only 'regex', and no other fields",
    ),
    (
        "action: labelmap\nregex: x\nreplacement: 'l-$1'",
        "replacement",
        r#""l-$1" is invalid 'replacement' for labelmap action"#,
    ),
    (
        "source_labels: ['bad-name']\ntarget_label: x",
        "source_labels[0]",
        r#""bad-name" is not a valid label name"#,
    ),
];

#[test]
fn invalid_rules_are_rejected_with_prometheus_messages() {
    for (yaml, path, msg) in INVALID {
        let raw: RelabelConfig = serde_yaml_ng::from_str(yaml).expect("parses");
        let e = raw.validate().expect_err(yaml);
        assert_eq!(
            (e.path.as_str(), e.reason.as_str()),
            (*path, *msg),
            "{yaml}"
        );
    }
    let raw: RelabelConfig =
        serde_yaml_ng::from_str("regex: '(unclosed'\ntarget_label: x").expect("parses");
    let e = raw.validate().expect_err("bad regex");
    assert_eq!(e.path, "regex");
    assert!(
        e.reason
            .starts_with(r#"invalid regular expression "(unclosed""#),
        "{}",
        e.reason
    );
}

#[test]
fn unknown_fields_are_rejected() {
    let e = serde_yaml_ng::from_str::<RelabelConfig>("target: x").expect_err("unknown field");
    assert!(e.to_string().contains("unknown field `target`"), "{e}");
}

#[test]
fn numeric_regex_is_read_as_text() {
    let r = rules("- source_labels: [code]\n  regex: 200\n  action: keep");
    assert!(process(&labels(&[("code", "200")]), &r).is_some());
    assert!(process(&labels(&[("code", "500")]), &r).is_none());
}
