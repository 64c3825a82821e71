//! `vigil ml drift`: generated CSV pairs, the committed Parquet fixtures, flags, exit statuses.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vigil_testkit::rng::SplitMix64;

use super::{path_str, testdata, vigil, Run};

pub(super) fn drift_json(reference: &Path, current: &Path, extra: &[&str]) -> (Value, Run) {
    let mut args = vec![
        "ml",
        "drift",
        "--reference",
        path_str(reference),
        "--current",
        path_str(current),
        "--json",
    ];
    args.extend_from_slice(extra);
    let run = vigil(&args);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let report = serde_json::from_str(&run.stdout).expect("JSON report");
    (report, run)
}

pub(super) fn feature<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no feature {name} in {report}"))
}

fn names(report: &Value) -> Vec<&str> {
    report["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect()
}

// ---------------------------------------------------------------- generated CSV datasets

const ROWS: usize = 500;

/// `ref.csv` and `cur.csv` in `dir`, 500 rows each (so `auto` picks the small-sample tests):
///
/// | column | reference | current |
/// |---|---|---|
/// | `stable` | N(0, 1) | the same values, reversed (KS p = 1) |
/// | `shifted` | N(0, 1) | N(2, 1) |
/// | `code` | integers 1–8 | the same values, reversed |
/// | `plan` | categories a, b, c | the same values, reversed |
/// | `empty` | numbers | every field empty |
/// | `only_ref` / `only_cur` | in one file each | |
fn write_csv_pair(dir: &Path) -> (PathBuf, PathBuf) {
    // Seeded, so the files are the same on every run.
    let mut rng = SplitMix64::new(7);
    let round = |x: f64| (x * 1e6).round() / 1e6;
    let stable: Vec<f64> = (0..ROWS).map(|_| round(rng.normal())).collect();
    let shifted_ref: Vec<f64> = (0..ROWS).map(|_| round(rng.normal())).collect();
    let shifted_cur: Vec<f64> = (0..ROWS).map(|_| round(2.0 + rng.normal())).collect();
    let code: Vec<u64> = (0..ROWS).map(|_| 1 + rng.next_u64() % 8).collect();
    let plan: Vec<&str> = (0..ROWS)
        .map(|_| ["a", "b", "c"][(rng.next_u64() % 3) as usize])
        .collect();
    let mut reference = String::from("stable,shifted,code,plan,empty,only_ref\n");
    let mut current = String::from("stable,shifted,code,plan,empty,only_cur\n");
    for i in 0..ROWS {
        let j = ROWS - 1 - i;
        reference.push_str(&format!(
            "{},{},{},{},{},{}\n",
            stable[i], shifted_ref[i], code[i], plan[i], i, i
        ));
        current.push_str(&format!(
            "{},{},{},{},,{}\n",
            stable[j], shifted_cur[i], code[j], plan[j], i
        ));
    }
    let (r, c) = (dir.join("ref.csv"), dir.join("cur.csv"));
    std::fs::write(&r, reference).expect("write ref.csv");
    std::fs::write(&c, current).expect("write cur.csv");
    (r, c)
}

#[test]
fn json_report_has_verdicts_for_drifted_and_stable_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r, c) = write_csv_pair(dir.path());
    let (report, run) = drift_json(&r, &c, &[]);

    // Only shared columns, in the reference's order; the others are named on stderr.
    assert_eq!(
        names(&report),
        ["stable", "shifted", "code", "plan", "empty"]
    );
    assert!(
        run.stderr.contains("skipped, only in") && run.stderr.contains(": only_ref"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(": only_cur"), "{}", run.stderr);

    let stable = feature(&report, "stable");
    assert_eq!(stable["type"], "numerical");
    assert_eq!(stable["method"], "ks");
    assert_eq!(stable["score"], 1.0);
    assert_eq!(stable["score_kind"], "p_value");
    assert_eq!(stable["threshold"], 0.05);
    assert_eq!(stable["drift_detected"], false);
    assert_eq!(stable["n_reference"], ROWS);
    assert_eq!(stable["n_current"], ROWS);
    assert!(stable.get("error").is_none());

    let shifted = feature(&report, "shifted");
    assert_eq!(shifted["method"], "ks");
    assert!(
        shifted["score"].as_f64().expect("score") < 1e-20,
        "{shifted}"
    );
    assert_eq!(shifted["drift_detected"], true);

    // Few distinct integers stay numerical: KS all the same.
    assert_eq!(feature(&report, "code")["type"], "numerical");
    assert_eq!(feature(&report, "code")["method"], "ks");
    let plan = feature(&report, "plan");
    assert_eq!(plan["type"], "categorical");
    assert_eq!(plan["method"], "chisquare");
    assert_eq!(plan["score"], 1.0);
    assert_eq!(plan["categories"], serde_json::json!(["a", "b", "c"]));

    // A column left empty in the current file: an error instead of a score.
    let empty = feature(&report, "empty");
    assert_eq!(empty["score"], Value::Null);
    assert_eq!(empty["drift_detected"], false);
    assert_eq!(empty["error"], "empty_after_dropping_nulls: current window");
    assert_eq!(empty["n_current"], ROWS);
    assert_eq!(empty["n_current_clean"], 0);

    assert_eq!(
        report["dataset"],
        serde_json::json!({
            "n_features": 5,
            "n_drifted": 1,
            "share_drifted": 0.2,
            "drift_share_threshold": 0.5,
            "drift_detected": false
        })
    );
}

#[test]
fn human_report_shows_table_errors_and_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r, c) = write_csv_pair(dir.path());
    let run = vigil(&[
        "ml",
        "drift",
        "--reference",
        path_str(&r),
        "--current",
        path_str(&c),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = &run.stdout;
    assert!(out.contains("(CSV, 500 rows, 6 columns)"), "{out}");
    let header = out
        .lines()
        .find(|l| l.starts_with("feature"))
        .expect("table header");
    for word in [
        "type",
        "method",
        "score",
        "threshold",
        "drift",
        "reference",
        "current",
    ] {
        assert!(header.contains(word), "{header}");
    }
    let shifted = out
        .lines()
        .find(|l| l.starts_with("shifted "))
        .expect("shifted row");
    assert!(
        shifted.contains(" ks ") && shifted.contains(" yes "),
        "{shifted}"
    );
    assert!(
        shifted.contains("e-"),
        "tiny p-values in scientific notation: {shifted}"
    );
    let empty = out
        .lines()
        .find(|l| l.starts_with("empty "))
        .expect("empty row");
    assert!(
        empty.contains(" error ") && empty.contains("0 (+500 null)"),
        "{empty}"
    );
    assert!(
        out.contains("not tested: empty: empty_after_dropping_nulls: current window"),
        "{out}"
    );
    assert!(
        out.contains(
            "dataset drift: not detected (1 of 5 features drifted, share 0.2 < drift share 0.5)"
        ),
        "{out}"
    );
}

#[test]
fn categorical_override_changes_the_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r, c) = write_csv_pair(dir.path());
    let (report, _) = drift_json(&r, &c, &["--categorical", "code,plan"]);
    let code = feature(&report, "code");
    assert_eq!(code["type"], "categorical");
    assert_eq!(code["method"], "chisquare");
    assert_eq!(code["score"], 1.0);
    assert_eq!(
        code["categories"],
        serde_json::json!(["1", "2", "3", "4", "5", "6", "7", "8"])
    );
    // An override for a column only one file has applies to that file alone.
    let (report, _) = drift_json(&r, &c, &["--categorical", "only_ref"]);
    assert_eq!(report["dataset"]["n_features"], 5);
}

#[test]
fn method_threshold_columns_and_drift_share_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r, c) = write_csv_pair(dir.path());
    let (report, _) = drift_json(&r, &c, &["--method", "psi"]);
    for f in report["features"].as_array().expect("features") {
        assert_eq!(f["method"], "psi", "{f}");
        assert_eq!(f["threshold"], 0.1, "{f}");
        assert_eq!(f["score_kind"], "distance", "{f}");
    }
    assert_eq!(feature(&report, "stable")["score"], 0.0);
    assert_eq!(feature(&report, "plan")["score"], 0.0);
    assert!(feature(&report, "shifted")["score"].as_f64().expect("psi") > 1.0);
    assert_eq!(feature(&report, "shifted")["drift_detected"], true);
    assert!(feature(&report, "empty")["error"].is_string());

    let (report, _) = drift_json(
        &r,
        &c,
        &[
            "--method",
            "wasserstein",
            "--threshold",
            "0.5",
            "--columns",
            "shifted,plan",
            "--drift-share",
            "0.3",
        ],
    );
    assert_eq!(names(&report), ["shifted", "plan"]);
    let shifted = feature(&report, "shifted");
    assert_eq!(shifted["threshold"], 0.5);
    assert_eq!(shifted["drift_detected"], true);
    assert_eq!(
        feature(&report, "plan")["error"],
        "method wasserstein does not apply to categorical columns"
    );
    assert_eq!(report["dataset"]["drift_share_threshold"], 0.3);
    assert_eq!(report["dataset"]["drift_detected"], true);
}

#[test]
fn fail_on_drift_exits_3_only_when_the_dataset_drifts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r, c) = write_csv_pair(dir.path());
    let base = [
        "ml",
        "drift",
        "--reference",
        path_str(&r),
        "--current",
        path_str(&c),
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        vigil(&args)
    };
    // 1 of 5 drifted: no dataset drift.
    assert_eq!(with(&["--fail-on-drift"]).code, 0);
    // 1 of 2 drifted, share 0.5 >= 0.5: drift, report printed all the same.
    let run = with(&["--fail-on-drift", "--columns", "stable,shifted", "--json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("report");
    assert_eq!(report["dataset"]["drift_detected"], true);
    // Without the flag the same drift exits 0.
    assert_eq!(with(&["--columns", "stable,shifted"]).code, 0);
}

#[test]
fn unreadable_input_exits_1_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r, c) = write_csv_pair(dir.path());
    let missing = dir.path().join("nope.csv");
    let drift = |reference: &Path, current: &Path, extra: &[&str]| {
        let mut args = vec![
            "ml",
            "drift",
            "--reference",
            path_str(reference),
            "--current",
            path_str(current),
        ];
        args.extend_from_slice(extra);
        vigil(&args)
    };

    let run = drift(&r, &missing, &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with(&format!("vigil: cannot read {}: ", missing.display())),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b,c\n1,2,3\n\"x\",5,6\n7,8\n").expect("write");
    let run = drift(&r, &bad, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim_end(),
        format!(
            "vigil: {}: line 4: 2 fields, but the header has 3",
            bad.display()
        )
    );

    let run = drift(&r, &c, &["--numerical", "plan"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains(&format!("{}: line 2, column \"plan\": \"", r.display()))
            && run.stderr.contains("is not a number"),
        "{}",
        run.stderr
    );

    let run = drift(&r, &c, &["--categorical", "nope"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("column \"nope\" (--categorical) is in neither"),
        "{}",
        run.stderr
    );
    let run = drift(&r, &c, &["--columns", "only_ref"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!(
            "column \"only_ref\" (--columns) is not in {}",
            c.display()
        )),
        "{}",
        run.stderr
    );

    // A flag clap cannot parse is a usage error: exit 2, listing the methods.
    let run = drift(&r, &c, &["--method", "kolmogorov"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("jensenshannon"), "{}", run.stderr);
    let run = drift(&r, &c, &["--drift-share", "1.5"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--drift-share"), "{}", run.stderr);
}

/// Regression: a file whose size the file system does not know (a device, a pipe, `/proc`)
/// passed the size check as 0 bytes and was then read without bound.
#[cfg(unix)]
#[test]
fn endless_input_stops_at_the_size_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r, _) = write_csv_pair(dir.path());
    let run = vigil(&[
        "ml",
        "drift",
        "--reference",
        path_str(&r),
        "--current",
        "/dev/zero",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim_end(),
        "vigil: /dev/zero: more than the limit of 268435456 bytes"
    );
}

#[test]
fn help_mentions_methods_and_limits() {
    let run = vigil(&["ml", "drift", "--help"]);
    assert_eq!(run.code, 0);
    for text in ["--fail-on-drift", "anderson", "1,000,000 rows", "256 MiB"] {
        assert!(run.stdout.contains(text), "{text}: {}", run.stdout);
    }
    let run = vigil(&["ml", "reference", "upload", "--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("--model") && run.stdout.contains("http://127.0.0.1:9900"));
}
// ---------------------------------------------------------------- Parquet (pandas fixtures)

#[test]
fn parquet_files_and_parquet_against_csv_give_the_same_report() {
    let (report, _) = drift_json(&testdata("ref.parquet"), &testdata("cur.parquet"), &[]);
    assert_eq!(names(&report), ["stable", "shifted", "plan", "region"]);
    let method = |n: &str| feature(&report, n)["method"].clone();
    let drifted = |n: &str| feature(&report, n)["drift_detected"].clone();
    // 1500 reference rows: Evidently's large-sample choices.
    assert_eq!(method("stable"), "wasserstein");
    assert_eq!(method("region"), "jensenshannon");
    assert_eq!(drifted("stable"), false);
    assert_eq!(drifted("shifted"), true);
    assert_eq!(drifted("plan"), false);
    assert_eq!(drifted("region"), true);
    assert_eq!(feature(&report, "stable")["n_current_clean"], 1479);
    // Evidently 0.7.23's scores for the same files (testdata/ml_cli/README.md).
    for (name, evidently) in [
        ("stable", 0.06373519004723126),
        ("shifted", 0.9849075050464903),
        ("plan", 0.016928966602145528),
        ("region", 0.24248953989808683),
    ] {
        let got = &feature(&report, name)["score"];
        assert!(
            close(got, &evidently.into(), 1e-9),
            "{name}: {got}, Evidently {evidently}"
        );
    }
    assert_eq!(report["dataset"]["n_drifted"], 2);
    assert_eq!(report["dataset"]["drift_detected"], true);

    // pandas' CSV of the same current frame reads to the same columns.
    let (from_csv, _) = drift_json(&testdata("ref.parquet"), &testdata("cur.csv"), &[]);
    assert_eq!(from_csv, report);
}

/// Whether a JSON number is within `rel` (relative, 1e-12 absolute floor) of another.
pub(super) fn close(got: &Value, want: &Value, rel: f64) -> bool {
    match (got.as_f64(), want.as_f64()) {
        (Some(g), Some(w)) => (g - w).abs() <= (rel * w.abs()).max(1e-12),
        _ => false,
    }
}
