//! Renders a corpus of alert annotation templates with Prometheus's own `promtool test rules`
//! (2.42) and with this crate, and requires identical values (error texts included).
//!
//! promtool prints the annotations it got when a test's `exp_annotations` do not match, so
//! every test here expects an impossible label and the "got" side is parsed back.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::process::Command;
use std::time::Duration;

use vigil_template::{expand_rule_template, QuerySample, RuleTemplateData, TemplateQuery};

const PROMTOOL: &str = "/usr/bin/promtool";
const CORPUS: &str = include_str!("../testdata/prom_annotations.txt");

/// `$value`s each corpus entry is rendered with (as promtool series-notation, value).
const VALUES: &[(&str, f64)] = &[
    ("0.5", 0.5),
    ("1234.5678", 1234.5678),
    ("-0.001", -0.001),
    ("0", 0.0),
    ("1e21", 1e21),
    ("1e-30", 1e-30),
    ("123456789", 123_456_789.0),
    ("NaN", f64::NAN),
    ("Inf", f64::INFINITY),
    ("-Inf", f64::NEG_INFINITY),
];

fn corpus() -> Vec<(String, String)> {
    CORPUS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, t)| (n.to_owned(), t.to_owned()))
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The `lat2` series of the test input. A plain selector's order is not defined in
/// Prometheus (it varies between promtool runs), so the corpus sorts (`sortByLabel`,
/// `sort_desc`) wherever the order shows.
struct FixedQuery;

impl TemplateQuery for FixedQuery {
    fn query(&self, expr: &str, _at_ms: i64) -> Result<Vec<QuerySample>, String> {
        match expr {
            "lat2" | "sort_desc(lat2)" => Ok(vec![
                QuerySample {
                    labels: labels(&[("instance", "a"), ("job", "y")]),
                    value: 7.0,
                },
                QuerySample {
                    labels: labels(&[("instance", "b"), ("job", "x")]),
                    value: 5.0,
                },
            ]),
            "nothing" => Ok(Vec::new()),
            other => Err(format!("unexpected query {other:?} in test")),
        }
    }
}

fn yaml_single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn rule_file(corpus: &[(String, String)]) -> String {
    let mut y = String::from(
        "groups:\n- name: g\n  rules:\n  - alert: HighLatency\n    expr: lat\n    annotations:\n",
    );
    for (name, text) in corpus {
        let _ = writeln!(y, "      {name}: {}", yaml_single_quoted(text));
    }
    y
}

fn test_file() -> String {
    let mut y = String::from("rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n");
    for (i, (notation, _)) in VALUES.iter().enumerate() {
        let _ = write!(
            y,
            "- interval: 1m\n  external_labels: {{region: eu-1}}\n  input_series:\n  \
             - series: 'lat{{instance=\"a:80\", job=\"api\", case=\"{i}\"}}'\n    values: '{notation} {notation} {notation}'\n  \
             - series: 'lat2{{instance=\"a\", job=\"y\"}}'\n    values: '7 7 7'\n  \
             - series: 'lat2{{instance=\"b\", job=\"x\"}}'\n    values: '5 5 5'\n  \
             alert_rule_test:\n  - eval_time: 1m\n    alertname: HighLatency\n    exp_alerts:\n    \
             - exp_labels: {{never: matches}}\n"
        );
    }
    y
}

/// Reads a Go-quoted string at the start of `s`; returns it and the rest.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix('"')?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, s.get(i + 2..)?)),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = (0..n)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => out.push(other),
                }
            }
            other => out.push(other),
        }
    }
    None
}

/// Parses `{a="x", b="y"}`.
fn parse_label_set(s: &str) -> Option<BTreeMap<String, String>> {
    let mut rest = s.strip_prefix('{')?;
    let mut out = BTreeMap::new();
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if let Some(r) = rest.strip_prefix('}') {
            let _ = r;
            return Some(out);
        }
        let (name, after) = rest.split_once('=')?;
        let (value, after) = unquote(after)?;
        out.insert(name.to_owned(), value);
        rest = after;
    }
}

/// The annotations promtool got, per `case` label.
fn parse_promtool(stdout: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut result = BTreeMap::new();
    let mut case = None;
    for line in stdout.lines().map(str::trim) {
        if let Some(l) = line.strip_prefix("Labels:") {
            case = parse_label_set(l).and_then(|m| m.get("case").cloned());
        } else if let Some(a) = line.strip_prefix("Annotations:") {
            if let (Some(c), Some(m)) = (case.take(), parse_label_set(a)) {
                result.insert(c, m);
            }
        }
    }
    result
}

#[test]
fn promtool_output_parses() {
    let line = r#"{a="x\"y", b="it\\'s", c="ü"}"#;
    let m = parse_label_set(line);
    assert_eq!(m.as_ref().map(BTreeMap::len), Some(3), "{line}");
}

#[test]
fn promtool_renders_the_same() {
    let Some(tool) = common::peer(PROMTOOL) else {
        return;
    };
    let corpus = corpus();
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    for (file, text) in [("rules.yml", rule_file(&corpus)), ("test.yml", test_file())] {
        if let Err(e) = std::fs::write(dir.path().join(file), text) {
            panic!("{e}");
        }
    }
    let mut cmd = Command::new(tool);
    cmd.arg("test")
        .arg("rules")
        .arg("test.yml")
        .current_dir(dir.path());
    let out = common::run(cmd, Duration::from_secs(60));
    // promtool reports failures on stderr.
    let got = parse_promtool(&format!("{}\n{}", out.stdout, out.stderr));
    assert_eq!(
        got.len(),
        VALUES.len(),
        "could not read promtool's output:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    let external = labels(&[("region", "eu-1")]);
    let mut results = Vec::new();
    for (i, (notation, value)) in VALUES.iter().enumerate() {
        let case = i.to_string();
        // Prometheus gives templates the sample's labels: the metric name, not the alert name.
        let alert_labels = labels(&[
            ("__name__", "lat"),
            ("instance", "a:80"),
            ("job", "api"),
            ("case", &case),
        ]);
        let data = RuleTemplateData {
            labels: &alert_labels,
            external_labels: &external,
            external_url: "",
            value: *value,
        };
        for (name, text) in &corpus {
            let theirs = got
                .get(&case)
                .and_then(|m| m.get(name))
                .cloned()
                .unwrap_or_else(|| "<missing from promtool output>".to_owned());
            let ours = match expand_rule_template(
                "__alert_HighLatency",
                text,
                &data,
                60_000,
                Some(&FixedQuery),
            ) {
                Ok(s) => s,
                Err(e) => format!("<error expanding template: {e}>"),
            };
            results.push((format!("[$value={notation}] {name}"), theirs, ours));
        }
    }
    let differing = common::report("promtool", &results);
    assert_eq!(
        differing, 0,
        "outputs differ from promtool; see DIFF lines above"
    );
}
