//! The shared drift fixtures' dataset cases, written to CSV and run through the CLI.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::drift::{close, drift_json, feature};

fn fixtures_path() -> Option<PathBuf> {
    let path = match std::env::var("VIGIL_FIXTURES") {
        Ok(dir) => PathBuf::from(dir).join("drift/public.jsonl"),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/drift/public.jsonl"),
    };
    path.exists().then_some(path)
}

/// One CSV cell: a number as written, a category quoted when it must be, null empty.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) if s.contains([',', '"', '\n', '\r']) => {
            format!("\"{}\"", s.replace('"', "\"\""))
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn write_columns(path: &Path, order: &[&str], data: &Value) {
    let cols: Vec<&Vec<Value>> = order
        .iter()
        .map(|n| data[*n].as_array().expect("column array"))
        .collect();
    let rows = cols.first().map_or(0, |c| c.len());
    let mut text = order.join(",");
    text.push('\n');
    for i in 0..rows {
        let line: Vec<String> = cols.iter().map(|c| cell(&c[i])).collect();
        text.push_str(&line.join(","));
        text.push('\n');
    }
    std::fs::write(path, text).expect("write fixture CSV");
}

/// Each multi-column dataset of the shared fixtures, written to CSV and run through the CLI,
/// gives Evidently's per-column tests, scores and decisions and its dataset decision.
#[test]
fn shared_fixture_datasets_match_evidently() {
    let Some(path) = fixtures_path() else {
        println!("skipped: drift fixtures not found (set VIGIL_FIXTURES)");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("read fixtures");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("fixture line");
        if case["kind"] != "dataset" {
            continue;
        }
        let name = case["case"].as_str().expect("case name");
        let kinds = case["columns"].as_object().expect("columns");
        let order: Vec<&str> = kinds.keys().map(String::as_str).collect();
        let categorical: Vec<&str> = kinds
            .iter()
            .filter(|(_, k)| *k == "categorical")
            .map(|(n, _)| n.as_str())
            .collect();
        let (r, c) = (
            dir.path().join(format!("{name}-ref.csv")),
            dir.path().join(format!("{name}-cur.csv")),
        );
        write_columns(&r, &order, &case["reference"]);
        write_columns(&c, &order, &case["current"]);
        let cats = categorical.join(",");
        let extra: Vec<&str> = if cats.is_empty() {
            vec![]
        } else {
            vec!["--categorical", &cats]
        };
        let (report, _) = drift_json(&r, &c, &extra);

        let evidently = &case["expected"]["evidently"];
        for (col, want) in evidently["per_column"].as_object().expect("per_column") {
            let got = feature(&report, col);
            let what = format!("{name}/{col}: got {got}, want {want}");
            assert_eq!(got["method"], want["stattest"], "{what}");
            assert_eq!(got["threshold"], want["threshold"], "{what}");
            assert_eq!(got["drift_detected"], want["drift_detected"], "{what}");
            let rel = if got["score_kind"] == "p_value" {
                1e-6
            } else {
                1e-9
            };
            assert!(close(&got["score"], &want["drift_score"], rel), "{what}");
        }
        let want = &evidently["dataset"];
        let got = &report["dataset"];
        assert_eq!(got["n_features"], want["number_of_columns"], "{name}");
        assert_eq!(
            got["n_drifted"], want["number_of_drifted_columns"],
            "{name}"
        );
        assert_eq!(got["drift_share_threshold"], want["drift_share"], "{name}");
        assert_eq!(got["drift_detected"], want["dataset_drift"], "{name}");
        assert!(
            close(
                &got["share_drifted"],
                &want["share_of_drifted_columns"],
                1e-12
            ),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked > 0, "no dataset case in {}", path.display());
    println!("shared fixture datasets through the CLI: {checked} passed, 0 failed");
}
