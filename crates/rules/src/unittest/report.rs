//! promtool's wording of unit-test failures (`cmd/promtool/unittest.go`, 2.42), so that people
//! and scripts reading `vigil test rules` see what they saw from promtool.

use crate::text::{go_float_upper_e, go_quote, labels_string, prom_duration};

/// A label or annotation list: sorted by name, empty values kept.
pub(crate) type Pairs = Vec<(String, String)>;

/// An alert as the unit tests compare it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LabelsAndAnnotations {
    pub labels: Pairs,
    pub annotations: Pairs,
}

fn pairs_string(p: &Pairs) -> String {
    labels_string(p.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// `indentLines`: every line after the first prefixed with `indent`.
fn indent_lines(lines: &str, indent: &str) -> String {
    let mut out = String::new();
    for (i, l) in lines.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        out.push_str(l);
    }
    out
}

fn alerts_string(list: &[LabelsAndAnnotations]) -> String {
    if list.is_empty() {
        return "[]".to_owned();
    }
    let mut s = String::from("[");
    for (i, a) in list.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let one = format!(
            "\nLabels:{}\nAnnotations:{}",
            pairs_string(&a.labels),
            pairs_string(&a.annotations)
        );
        s.push_str(&format!("\n{i}:{}", indent_lines(&one, "  ")));
    }
    s.push_str("\n]");
    s
}

/// The failure of one `alert_rule_test` case.
pub(crate) fn alert_failure(
    test_name: Option<&str>,
    alertname: &str,
    eval_time_ms: u64,
    exp: &[LabelsAndAnnotations],
    got: &[LabelsAndAnnotations],
) -> String {
    let name = test_name
        .filter(|n| !n.is_empty())
        .map(|n| format!("    name: {n},\n"))
        .unwrap_or_default();
    format!(
        "{name}    alertname: {alertname}, time: {}, \n        exp:{}, \n        got:{}",
        prom_duration(eval_time_ms),
        indent_lines(&alerts_string(exp), "            "),
        indent_lines(&alerts_string(got), "            "),
    )
}

fn samples_string(list: &[(Pairs, f64)]) -> String {
    if list.is_empty() {
        return "nil".to_owned();
    }
    list.iter()
        .map(|(l, v)| format!("{} {}", pairs_string(l), go_float_upper_e(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The failure of one `promql_expr_test` case whose result differs.
pub(crate) fn sample_failure(
    expr: &str,
    eval_time_ms: u64,
    exp: &[(Pairs, f64)],
    got: &[(Pairs, f64)],
) -> String {
    format!(
        "    expr: {}, time: {},\n        exp: {}\n        got: {}",
        go_quote(expr),
        prom_duration(eval_time_ms),
        samples_string(exp),
        samples_string(got)
    )
}

/// The failure of one `promql_expr_test` case that could not be evaluated.
pub(crate) fn expr_error(expr: &str, eval_time_ms: u64, err: &str) -> String {
    format!(
        "    expr: {}, time: {}, err: {err}",
        go_quote(expr),
        prom_duration(eval_time_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_failure_reads_as_promtool() {
        let got = vec![LabelsAndAnnotations {
            labels: vec![("alertname".into(), "A".into()), ("job".into(), "t".into())],
            annotations: vec![("s".into(), "x".into())],
        }];
        assert_eq!(
            alert_failure(Some("T"), "A", 300_000, &[], &got),
            "    name: T,\n    alertname: A, time: 5m, \n        exp:[], \n        got:[\n            0:\n              Labels:{alertname=\"A\", job=\"t\"}\n              Annotations:{s=\"x\"}\n            ]"
        );
        assert_eq!(
            sample_failure("test", 0, &[(vec![("__name__".into(), "test".into())], 1.0)], &[]),
            "    expr: \"test\", time: 0s,\n        exp: {__name__=\"test\"} 1E+00\n        got: nil"
        );
    }
}
