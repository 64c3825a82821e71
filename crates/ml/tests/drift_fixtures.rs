//! Conformance with scipy 1.17.1 and Evidently 0.7.23 on the shared drift fixtures
//! (`$VIGIL_FIXTURES/drift/public.jsonl`, described in its README).
//!
//! Every expected field of every case is checked with the README's tolerances: counts, names,
//! methods and decisions exactly; statistics, distances and edges to `max(1e-9·|b|, 1e-12)`;
//! p-values to `max(1e-6·|b|, 1e-12)`; non-finite values must match exactly. Single-column
//! cases go through the low-level `stats` functions and through `column_drift(Auto)`; dataset
//! cases through `dataset_drift`, plus the full single-column block of each of their columns.
//! One line per failed check, then `drift fixtures: N passed, N failed, N skipped`.

use std::fmt::Debug;
use std::path::PathBuf;

use serde_json::Value;
use vigil_ml::drift::{auto_method, ScoreKind};
use vigil_ml::stats::{self, Binned, BinningMode, KsMethod, KsResult};
use vigil_ml::{column_drift, dataset_drift, Column, ColumnDrift, ColumnKind, DriftOptions};

/// Collects the failed checks of one case.
struct Checker {
    case: String,
    failures: Vec<String>,
}

/// A JSON number, or the README's `"inf"`, `"-inf"`, `"nan"`.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            "nan" => Some(f64::NAN),
            _ => None,
        },
        _ => None,
    }
}

fn within(got: f64, want: f64, rel: f64) -> bool {
    if !want.is_finite() || !got.is_finite() {
        return (want.is_nan() && got.is_nan()) || got == want;
    }
    (got - want).abs() <= (rel * want.abs()).max(1e-12)
}

impl Checker {
    fn fail(&mut self, field: &str, detail: String) {
        self.failures
            .push(format!("{}: {field}: {detail}", self.case));
    }

    fn exact<T: PartialEq + Debug>(&mut self, field: &str, got: T, want: T) {
        if got != want {
            self.fail(field, format!("got {got:?}, want {want:?}"));
        }
    }

    fn close(&mut self, field: &str, got: f64, want: &Value, rel: f64) {
        match number(want) {
            Some(w) if within(got, w, rel) => {}
            Some(w) => self.fail(field, format!("got {got:e}, want {w:e}")),
            None => self.fail(field, format!("got {got:e}, want {want}")),
        }
    }

    /// Statistics, distances, edges: 1e-9 relative.
    fn stat(&mut self, field: &str, got: f64, want: &Value) {
        self.close(field, got, want, 1e-9);
    }

    /// p-values: 1e-6 relative.
    fn pval(&mut self, field: &str, got: f64, want: &Value) {
        self.close(field, got, want, 1e-6);
    }

    fn flag(&mut self, field: &str, got: bool, want: &Value) {
        match want.as_bool() {
            Some(w) => self.exact(field, got, w),
            None => self.fail(field, format!("expected a boolean, got {want}")),
        }
    }

    fn count(&mut self, field: &str, got: usize, want: &Value) {
        match want.as_u64() {
            Some(w) => self.exact(field, got as u64, w),
            None => self.fail(field, format!("expected a count, got {want}")),
        }
    }

    fn counts(&mut self, field: &str, got: &[u64], want: &Value) {
        let want: Option<Vec<u64>> = want
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect());
        match want {
            Some(w) => self.exact(field, got, w.as_slice()),
            None => self.fail(field, "expected an array of counts".into()),
        }
    }
}

fn column(name: &str, kind: ColumnKind, values: &Value) -> Column {
    let empty = Vec::new();
    let items = values.as_array().unwrap_or(&empty);
    match kind {
        ColumnKind::Numerical => Column::numerical(name, items.iter().map(Value::as_f64)),
        ColumnKind::Categorical => {
            Column::categorical(name, items.iter().map(|v| v.as_str().map(str::to_string)))
        }
    }
}

fn kind_of(s: &str) -> Option<ColumnKind> {
    match s {
        "numerical" => Some(ColumnKind::Numerical),
        "categorical" => Some(ColumnKind::Categorical),
        _ => None,
    }
}

/// The low-level view of one column's two windows.
enum Windows<'s> {
    Numerical { r: Vec<f64>, c: Vec<f64> },
    Categorical(stats::CategoryCounts<'s>),
}

fn windows<'s>(reference: &'s Column, current: &'s Column) -> Windows<'s> {
    match (&reference.values, &current.values) {
        (vigil_ml::Values::Categorical(r), vigil_ml::Values::Categorical(c)) => {
            Windows::Categorical(stats::category_counts(r, c))
        }
        (vigil_ml::Values::Numerical(r), vigil_ml::Values::Numerical(c)) => Windows::Numerical {
            r: stats::clean_sorted(r),
            c: stats::clean_sorted(c),
        },
        _ => Windows::Numerical {
            r: Vec::new(),
            c: Vec::new(),
        },
    }
}

fn check_ks(ck: &mut Checker, field: &str, got: Option<KsResult>, want: &Value) {
    let Some(k) = got else {
        ck.fail(field, "no result".into());
        return;
    };
    ck.stat(
        &format!("{field}.statistic"),
        k.statistic,
        &want["statistic"],
    );
    ck.pval(&format!("{field}.pvalue"), k.pvalue, &want["pvalue"]);
    ck.exact(
        &format!("{field}.method_used"),
        k.method_used.to_string().as_str(),
        want["method_used"].as_str().unwrap_or("?"),
    );
    ck.stat(
        &format!("{field}.statistic_location"),
        k.statistic_location,
        &want["statistic_location"],
    );
    ck.exact(
        &format!("{field}.statistic_sign"),
        i64::from(k.statistic_sign),
        want["statistic_sign"].as_i64().unwrap_or(0),
    );
}

fn check_binning(ck: &mut Checker, p: &str, b: &Binned, want: &Value) {
    let mode = match b.mode {
        BinningMode::Sturges => "sturges",
        BinningMode::Values => "values",
    };
    ck.exact(
        &format!("{p}binning.mode"),
        mode,
        want["mode"].as_str().unwrap_or("?"),
    );
    ck.count(&format!("{p}binning.n_bins"), b.n_bins(), &want["n_bins"]);
    if let Some(edges) = want.get("edges").and_then(Value::as_array) {
        ck.exact(&format!("{p}binning.edges.len"), b.edges.len(), edges.len());
        for (i, (g, w)) in b.edges.iter().zip(edges).enumerate() {
            ck.stat(&format!("{p}binning.edges[{i}]"), *g, w);
        }
    }
    if let Some(w) = want.get("reference_counts") {
        ck.counts(&format!("{p}binning.reference_counts"), &b.reference, w);
    }
    if let Some(w) = want.get("current_counts") {
        ck.counts(&format!("{p}binning.current_counts"), &b.current, w);
    }
}

/// Checks a per-column `evidently` block against `column_drift(Auto)`'s result.
fn check_evidently(ck: &mut Checker, p: &str, d: &ColumnDrift, want: &Value) {
    if want.get("error").is_some() {
        let message = want["message"].as_str().unwrap_or("");
        let window = if message.contains("reference dataset") {
            "reference"
        } else {
            "current"
        };
        match &d.error {
            Some(e) if e.starts_with("empty_after_dropping_nulls") && e.contains(window) => {}
            other => ck.fail(
                &format!("{p}evidently.error"),
                format!(
                    "got {other:?}, want empty_after_dropping_nulls naming the {window} window"
                ),
            ),
        }
        ck.exact(&format!("{p}evidently.score"), d.score, None);
        ck.exact(
            &format!("{p}evidently.drift_detected"),
            d.drift_detected,
            false,
        );
        return;
    }
    if let Some(e) = &d.error {
        ck.fail(&format!("{p}evidently"), format!("unexpected error {e}"));
        return;
    }
    ck.exact(
        &format!("{p}evidently.stattest"),
        d.method.to_string().as_str(),
        want["stattest"].as_str().unwrap_or("?"),
    );
    ck.exact(
        &format!("{p}evidently.stattest_display_name"),
        d.method.display_name(),
        want["stattest_display_name"].as_str().unwrap_or("?"),
    );
    ck.exact(
        &format!("{p}evidently.threshold"),
        Some(d.threshold),
        want["threshold"].as_f64(),
    );
    let score = d.score.unwrap_or(f64::NAN);
    if d.score_kind == ScoreKind::PValue {
        ck.pval(
            &format!("{p}evidently.drift_score"),
            score,
            &want["drift_score"],
        );
    } else {
        ck.stat(
            &format!("{p}evidently.drift_score"),
            score,
            &want["drift_score"],
        );
    }
    ck.flag(
        &format!("{p}evidently.drift_detected"),
        d.drift_detected,
        &want["drift_detected"],
    );
}

/// Checks a full single-column `expected` block; `p` prefixes field names (dataset columns).
fn check_column(ck: &mut Checker, p: &str, kind: ColumnKind, r: &Column, c: &Column, e: &Value) {
    let f = |name: &str| format!("{p}{name}");
    ck.count(&f("n_reference"), r.len(), &e["n_reference"]);
    ck.count(&f("n_current"), c.len(), &e["n_current"]);
    let w = windows(r, c);
    let (n_ref, n_cur, union, unique_ref) = match &w {
        Windows::Numerical { r, c } => (
            r.len(),
            c.len(),
            stats::union_distinct_count(r, c),
            stats::distinct_count(r),
        ),
        Windows::Categorical(cc) => (
            cc.reference.iter().sum::<u64>() as usize,
            cc.current.iter().sum::<u64>() as usize,
            cc.categories.len(),
            cc.reference.iter().filter(|&&n| n > 0).count(),
        ),
    };
    ck.count(&f("n_reference_clean"), n_ref, &e["n_reference_clean"]);
    ck.count(&f("n_current_clean"), n_cur, &e["n_current_clean"]);
    ck.count(&f("n_unique_union"), union, &e["n_unique_union"]);
    if let Some(want) = e.get("n_unique_reference") {
        ck.count(&f("n_unique_reference"), unique_ref, want);
    }
    let drift = column_drift(r, c, &DriftOptions::default());
    // Dataset cases keep the per-column Report block under `evidently.per_column` instead.
    if let Some(want) = e.get("evidently") {
        check_evidently(ck, p, &drift, want);
    }

    if e.get("error").is_some() {
        ck.exact(
            &f("error"),
            drift
                .error
                .as_deref()
                .is_some_and(|s| s.starts_with("empty_after_dropping_nulls")),
            true,
        );
        if let Windows::Numerical { r, c } = &w {
            // scipy: ks_2samp → nan, wasserstein_distance raises; here: no result.
            ck.exact(
                &f("scipy_on_empty.ks_2samp"),
                stats::ks_2samp_sorted(r, c, KsMethod::Auto),
                None,
            );
            ck.exact(
                &f("scipy_on_empty.wasserstein"),
                stats::wasserstein_sorted(r, c),
                None,
            );
        }
        return;
    }
    ck.exact(
        &f("default_stattest"),
        auto_method(kind, n_ref, union).to_string().as_str(),
        e["default_stattest"].as_str().unwrap_or("?"),
    );

    let binned = match &w {
        Windows::Numerical { r, c } => {
            let ks_auto = stats::ks_2samp_sorted(r, c, KsMethod::Auto);
            check_ks(ck, &f("ks.auto"), ks_auto, &e["ks"]["auto"]);
            check_ks(
                ck,
                &f("ks.asymp"),
                stats::ks_2samp_sorted(r, c, KsMethod::Asymp),
                &e["ks"]["asymp"],
            );
            let p_auto = ks_auto.map_or(f64::NAN, |k| k.pvalue);
            ck.flag(
                &f("ks_evidently_drift"),
                p_auto <= 0.05,
                &e["ks_evidently_drift"],
            );
            let wd = stats::wasserstein_sorted(r, c).unwrap_or(f64::NAN);
            ck.stat(&f("wasserstein"), wd, &e["wasserstein"]);
            let sd = stats::std_ddof0(r).unwrap_or(f64::NAN);
            ck.stat(&f("reference_std_ddof0"), sd, &e["reference_std_ddof0"]);
            let norm = stats::wasserstein_norm_sorted(r, c).unwrap_or(f64::NAN);
            ck.stat(&f("wasserstein_norm"), norm, &e["wasserstein_norm"]);
            ck.flag(
                &f("wasserstein_norm_drift"),
                norm >= 0.1,
                &e["wasserstein_norm_drift"],
            );
            stats::evidently_numerical(r, c)
        }
        Windows::Categorical(cc) => {
            for field in ["ks", "wasserstein", "wasserstein_norm"] {
                if !e[field].is_null() {
                    ck.fail(&f(field), "expected null for a categorical column".into());
                }
            }
            cc.to_binned()
        }
    };
    check_binning(ck, p, &binned, &e["binning"]);
    let distances = [
        ("psi", stats::psi(&binned.reference, &binned.current)),
        ("kl_div", stats::kl_div(&binned.reference, &binned.current)),
        (
            "jensenshannon",
            stats::jensenshannon(&binned.reference, &binned.current),
        ),
    ];
    for (name, got) in distances {
        let got = got.unwrap_or(f64::NAN);
        ck.stat(&f(name), got, &e[name]);
        ck.flag(
            &f(&format!("{name}_drift")),
            got >= 0.1,
            &e[&format!("{name}_drift")],
        );
    }

    // χ² and Z read per-value counts: categories, or the distinct numbers.
    let value_counts = match &w {
        Windows::Numerical { r, c } => stats::value_bins(r, c),
        Windows::Categorical(cc) => cc.to_binned(),
    };
    if !e["chisquare"].is_null() {
        let want = &e["chisquare"];
        match stats::chisquare_counts(&value_counts.reference, &value_counts.current) {
            Some(x) => {
                ck.stat(&f("chisquare.statistic"), x.statistic, &want["statistic"]);
                ck.pval(&f("chisquare.pvalue"), x.pvalue, &want["pvalue"]);
                ck.count(&f("chisquare.df"), x.df, &want["df"]);
                ck.flag(&f("chisquare.drift"), x.pvalue < 0.05, &want["drift"]);
            }
            None => ck.fail(&f("chisquare"), "no result".into()),
        }
    }
    if !e["z_test"].is_null() {
        let want = &e["z_test"];
        match stats::z_test_counts(&value_counts.reference, &value_counts.current) {
            Some(z) => {
                match (z.z, number(&want["z"])) {
                    (Some(g), Some(_)) => ck.stat(&f("z_test.z"), g, &want["z"]),
                    (None, None) => {}
                    (g, _) => ck.fail(&f("z_test.z"), format!("got {g:?}, want {}", want["z"])),
                }
                ck.pval(&f("z_test.pvalue"), z.pvalue, &want["pvalue"]);
                ck.flag(&f("z_test.drift"), z.pvalue < 0.05, &want["drift"]);
            }
            None => ck.fail(&f("z_test"), "no result".into()),
        }
    }
}

fn check_dataset(ck: &mut Checker, case: &Value) {
    let e = &case["expected"];
    let Some(columns) = case["columns"].as_object() else {
        ck.fail("columns", "missing".into());
        return;
    };
    let mut reference = Vec::new();
    let mut current = Vec::new();
    let mut kinds = Vec::new();
    for (name, kind) in columns {
        let Some(kind) = kind.as_str().and_then(kind_of) else {
            ck.fail(name, format!("unknown kind {kind}"));
            continue;
        };
        reference.push(column(name, kind, &case["reference"][name]));
        current.push(column(name, kind, &case["current"][name]));
        kinds.push(kind);
    }
    let ds = &e["evidently"]["dataset"];
    let drift_share = ds["drift_share"].as_f64().unwrap_or(0.5);
    let result = dataset_drift(
        &reference,
        &current,
        |_| DriftOptions::default(),
        drift_share,
    );
    ck.count(
        "dataset.number_of_columns",
        result.dataset.n_features,
        &ds["number_of_columns"],
    );
    ck.count(
        "dataset.number_of_drifted_columns",
        result.dataset.n_drifted,
        &ds["number_of_drifted_columns"],
    );
    ck.stat(
        "dataset.share_of_drifted_columns",
        result.dataset.share_drifted,
        &ds["share_of_drifted_columns"],
    );
    ck.exact(
        "dataset.drift_share",
        Some(result.dataset.drift_share_threshold),
        ds["drift_share"].as_f64(),
    );
    ck.flag(
        "dataset.dataset_drift",
        result.dataset.drift_detected,
        &ds["dataset_drift"],
    );
    let json = serde_json::to_string(&result).unwrap_or_default();
    ck.exact("json.shape", json.starts_with("{\"features\":[{"), true);
    ck.exact("json.no_nan", json.contains("NaN"), false);

    for ((r, c), kind) in reference.iter().zip(&current).zip(&kinds) {
        let name = r.name.as_str();
        match result.features.iter().find(|f| f.name == name) {
            Some(d) => check_evidently(
                ck,
                &format!("{name}."),
                d,
                &e["evidently"]["per_column"][name],
            ),
            None => ck.fail(name, "missing from dataset result".into()),
        }
        check_column(
            ck,
            &format!("columns_detail.{name}."),
            *kind,
            r,
            c,
            &e["columns_detail"][name],
        );
    }
}

fn fixtures_path() -> Option<PathBuf> {
    let path = match std::env::var("VIGIL_FIXTURES") {
        Ok(dir) => PathBuf::from(dir).join("drift/public.jsonl"),
        Err(_) => {
            let manifest = std::env::var("CARGO_MANIFEST_DIR").ok()?;
            PathBuf::from(manifest).join("../../../shared/fixtures/drift/public.jsonl")
        }
    };
    path.exists().then_some(path)
}

#[test]
fn drift_fixtures() {
    let Some(path) = fixtures_path() else {
        println!("skipped: drift fixtures not found (set VIGIL_FIXTURES)");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("read fixtures");
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (line_no, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(err) => {
                println!("line {}: unreadable case: {err}", line_no + 1);
                failed += 1;
                continue;
            }
        };
        let mut ck = Checker {
            case: case["case"].as_str().unwrap_or("?").to_string(),
            failures: Vec::new(),
        };
        match case["kind"].as_str() {
            Some("dataset") => check_dataset(&mut ck, &case),
            Some(k) => match kind_of(k) {
                Some(kind) => {
                    let r = column("x", kind, &case["reference"]);
                    let c = column("x", kind, &case["current"]);
                    check_column(&mut ck, "", kind, &r, &c, &case["expected"]);
                }
                None => {
                    println!("{}: skipped: unknown kind {k:?}", ck.case);
                    skipped += 1;
                    continue;
                }
            },
            None => {
                println!("{}: skipped: no kind", ck.case);
                skipped += 1;
                continue;
            }
        }
        if ck.failures.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            for f in &ck.failures {
                println!("{f}");
            }
        }
    }
    println!("drift fixtures: {passed} passed, {failed} failed, {skipped} skipped");
    assert_eq!(failed, 0, "drift fixtures failed (see the lines above)");
}
