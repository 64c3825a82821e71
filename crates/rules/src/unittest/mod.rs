//! `vigil test rules FILE…`: promtool's rule unit tests (`promtool test rules`, 2.42 file
//! format and semantics).
//!
//! Each test group gets a fresh in-memory store. As promtool does, the runner steps time from 0
//! to the largest `eval_time` by `evaluation_interval`; at each step it loads the input samples
//! up to that time, evaluates every group once (in `group_eval_order`), stops the test group on
//! the first rule error, and compares the firing alerts of the `alert_rule_test` cases whose
//! `eval_time` falls in `[t, t + evaluation_interval)`. The `promql_expr_test` cases are
//! queried at the end. The test file is read strictly: an unknown field fails the file, as
//! promtool 2.42 does.

mod report;
mod series;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use vigil_model::{parse_duration_ms, Batch, Labels, Sample};
use vigil_promql::EngineOptions;
use vigil_storage::{MemStore, MetricAppend};

use crate::query::query_vector;
use crate::text::{go_duration, prom_duration};
use crate::{load_files, EvalEnv, Group};
use report::{LabelsAndAnnotations, Pairs};

/// A Prometheus duration field (`model.Duration`), in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Dur(u64);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        if s.is_empty() {
            return Ok(Dur(0));
        }
        parse_duration_ms(&s)
            .map(Dur)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    rule_files: Option<Vec<String>>,
    #[serde(default)]
    evaluation_interval: Option<Dur>,
    #[serde(default)]
    group_eval_order: Option<Vec<String>>,
    #[serde(default)]
    tests: Option<Vec<TestGroup>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    #[serde(default)]
    interval: Option<Dur>,
    #[serde(default)]
    input_series: Option<Vec<InputSeries>>,
    #[serde(default)]
    alert_rule_test: Option<Vec<AlertTestCase>>,
    #[serde(default)]
    promql_expr_test: Option<Vec<PromqlTestCase>>,
    #[serde(default)]
    external_labels: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    external_url: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    #[serde(default)]
    series: Option<String>,
    #[serde(default)]
    values: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTestCase {
    #[serde(default)]
    eval_time: Option<Dur>,
    #[serde(default)]
    alertname: Option<String>,
    #[serde(default)]
    exp_alerts: Option<Vec<ExpAlert>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    exp_annotations: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromqlTestCase {
    #[serde(default)]
    expr: Option<String>,
    #[serde(default)]
    eval_time: Option<Dur>,
    #[serde(default)]
    exp_samples: Option<Vec<ExpSample>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    #[serde(default)]
    labels: Option<String>,
    #[serde(default)]
    value: Option<f64>,
}

/// Runs each unit-test file and writes promtool's report to `out`: `Unit Testing:  FILE`, then
/// `  SUCCESS`, or `  FAILED:` and each failure (failed alert tests name their test group).
///
/// Returns true when every test passed, which is when `vigil test rules` exits 0.
pub fn run_rule_tests<P: AsRef<Path>>(files: &[P], out: &mut dyn Write) -> bool {
    let mut ok = true;
    for f in files {
        let path = f.as_ref();
        let _ = writeln!(out, "Unit Testing:  {}", path.display());
        let errors = run_file(path, out);
        if errors.is_empty() {
            let _ = writeln!(out, "  SUCCESS");
        } else {
            ok = false;
            let _ = writeln!(out, "  FAILED:");
            for e in errors {
                let _ = writeln!(out, "{e}");
                let _ = writeln!(out);
            }
        }
        let _ = writeln!(out);
    }
    ok
}

fn run_file(path: &Path, out: &mut dyn Write) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("open {}: {e}", path.display())],
    };
    let file: TestFile = match serde_yaml_ng::from_str::<Option<TestFile>>(&text) {
        Ok(Some(f)) => f,
        Ok(None) => TestFile {
            rule_files: None,
            evaluation_interval: None,
            group_eval_order: None,
            tests: None,
        },
        Err(e) => return vec![e.to_string()],
    };
    let base = path.parent().unwrap_or_else(|| Path::new(""));
    let mut rule_files: Vec<PathBuf> = Vec::new();
    for rf in file.rule_files.unwrap_or_default() {
        let full = if !rf.is_empty() && Path::new(&rf).is_relative() {
            base.join(&rf)
        } else {
            PathBuf::from(&rf)
        };
        let pattern = full.to_string_lossy().into_owned();
        match glob::glob(&pattern) {
            Ok(paths) => {
                let before = rule_files.len();
                rule_files.extend(paths.flatten());
                if rule_files.len() == before {
                    let _ = writeln!(out, "  WARNING: no file match pattern {pattern}");
                }
            }
            Err(e) => return vec![e.to_string()],
        }
    }
    let interval = match file.evaluation_interval {
        Some(Dur(0)) | None => 60_000,
        Some(Dur(ms)) => ms,
    };
    let mut order: BTreeMap<String, usize> = BTreeMap::new();
    for (i, g) in file
        .group_eval_order
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        if order.contains_key(&g) {
            return vec![format!("group name repeated in evaluation order: {g}")];
        }
        order.insert(g, i);
    }
    let mut errors = Vec::new();
    for tg in file.tests.unwrap_or_default() {
        errors.extend(run_test_group(&tg, interval, &order, &rule_files));
    }
    errors
}

/// The input series of a test group as samples: later definitions of a series replace earlier
/// ones, as promtool's loader does.
fn load_input(tg: &TestGroup) -> Result<Vec<(Labels, VecDeque<Sample>)>, String> {
    let gap = i64::try_from(tg.interval.unwrap_or_default().0).unwrap_or(i64::MAX);
    let mut by_labels: BTreeMap<Labels, VecDeque<Sample>> = BTreeMap::new();
    for s in tg.input_series.iter().flatten() {
        let line = format!(
            "{} {}",
            s.series.as_deref().unwrap_or(""),
            s.values.as_deref().unwrap_or("")
        );
        let desc = series::parse_series_desc(line.trim(), 1)?;
        let labels = Labels::from_pairs(desc.labels).map_err(|e| e.to_string())?;
        let mut samples = VecDeque::new();
        let mut t: i64 = 0;
        for v in desc.values {
            if let Some(v) = v {
                samples.push_back(Sample::new(t, v));
            }
            t = t.saturating_add(gap);
        }
        by_labels.insert(labels, samples);
    }
    Ok(by_labels.into_iter().collect())
}

fn to_pairs(m: Option<&BTreeMap<String, Option<String>>>) -> Pairs {
    m.into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()))
        .collect()
}

fn labels_pairs(l: &Labels) -> Pairs {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

fn run_test_group(
    tg: &TestGroup,
    eval_interval: u64,
    order: &BTreeMap<String, usize>,
    rule_files: &[PathBuf],
) -> Vec<String> {
    let mut input = match load_input(tg) {
        Ok(i) => i,
        Err(e) => return vec![e],
    };
    let specs = match load_files(rule_files) {
        Ok(s) => s,
        Err(errs) => return errs.iter().map(ToString::to_string).collect(),
    };
    let store = Arc::new(MemStore::new(i64::MAX / 4));
    let opts = EngineOptions {
        timeout: Duration::from_secs(100),
        ..EngineOptions::default()
    };
    let mut env = EvalEnv::new(store.clone(), store.clone(), opts);
    env.external_labels = to_pairs(tg.external_labels.as_ref()).into_iter().collect();
    env.external_url = tg.external_url.clone().unwrap_or_default();
    let group_interval = i64::try_from(tg.interval.unwrap_or_default().0).unwrap_or(i64::MAX);
    let mut groups: Vec<Group> = specs
        .into_iter()
        .map(|spec| {
            let interval = spec
                .interval_ms
                .filter(|i| *i > 0)
                .and_then(|i| i64::try_from(i).ok())
                .unwrap_or(group_interval);
            let offset = spec
                .query_offset_ms
                .and_then(|o| i64::try_from(o).ok())
                .unwrap_or(0);
            Group::new(spec, interval, offset, true)
        })
        .collect();
    groups.sort_by_key(|g| order.get(g.name()).copied().unwrap_or(0));

    let test_name = tg.name.as_deref();
    let alert_tests = tg.alert_rule_test.as_deref().unwrap_or_default();
    for a in alert_tests {
        if a.alertname.as_deref().unwrap_or("").is_empty() {
            let in_group = test_name
                .filter(|n| !n.is_empty())
                .map(|n| format!(" (in TestGroup {n})"))
                .unwrap_or_default();
            return vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                prom_duration(a.eval_time.unwrap_or_default().0)
            )];
        }
    }
    let alert_times: BTreeSet<u64> = alert_tests
        .iter()
        .map(|a| a.eval_time.unwrap_or_default().0)
        .collect();
    let expr_tests = tg.promql_expr_test.as_deref().unwrap_or_default();
    let max_t = alert_times
        .iter()
        .copied()
        .chain(expr_tests.iter().map(|p| p.eval_time.unwrap_or_default().0))
        .max()
        .unwrap_or(0);

    let mut errs = Vec::new();
    let mut pending_times = alert_times.into_iter().peekable();
    let mut ts: u64 = 0;
    loop {
        let t = i64::try_from(ts).unwrap_or(i64::MAX);
        append_till(store.as_ref(), &mut input, t);
        let mut eval_errs = Vec::new();
        for g in &mut groups {
            g.eval(&env, t, t);
            for (name, err) in g.rule_errors() {
                eval_errs.push(format!(
                    "    rule: {name}, time: {}, err: {err}",
                    go_duration(t)
                ));
            }
        }
        if !eval_errs.is_empty() {
            errs.extend(eval_errs);
            return errs;
        }
        let next = ts.saturating_add(eval_interval);
        while let Some(at) = pending_times.next_if(|at| *at >= ts && *at < next) {
            for case in alert_tests
                .iter()
                .filter(|a| a.eval_time.unwrap_or_default().0 == at)
            {
                if let Some(e) = check_alerts(case, &groups, test_name, at) {
                    errs.push(e);
                }
            }
        }
        if next > max_t || next == ts {
            break;
        }
        ts = next;
    }

    for case in expr_tests {
        if let Some(e) = check_expr(case, &env) {
            errs.push(e);
        }
    }
    errs
}

/// Appends every input sample at or before `t` that is not yet in the store. Taken from the
/// front of a queue: the rest is not moved at every step.
fn append_till(store: &dyn MetricAppend, input: &mut [(Labels, VecDeque<Sample>)], t: i64) {
    let mut batch = Batch::new();
    for (labels, samples) in input.iter_mut() {
        let n = samples.iter().take_while(|s| s.t <= t).count();
        if n == 0 {
            continue;
        }
        batch.series.push(vigil_model::SeriesSamples {
            labels: labels.clone(),
            samples: samples.drain(..n).collect(),
        });
    }
    if !batch.series.is_empty() {
        if let Err(e) = store.append(&batch) {
            tracing::warn!(error = %e, "loading unit-test input failed");
        }
    }
}

fn check_alerts(
    case: &AlertTestCase,
    groups: &[Group],
    test_name: Option<&str>,
    at: u64,
) -> Option<String> {
    let alertname = case.alertname.as_deref().unwrap_or("");
    let mut got: Vec<LabelsAndAnnotations> = groups
        .iter()
        .flat_map(|g| g.firing_alerts(alertname))
        .map(|a| LabelsAndAnnotations {
            labels: labels_pairs(&a.labels),
            annotations: a
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
        .collect();
    let mut exp: Vec<LabelsAndAnnotations> = case
        .exp_alerts
        .iter()
        .flatten()
        .map(|a| {
            let mut labels: BTreeMap<String, String> =
                to_pairs(a.exp_labels.as_ref()).into_iter().collect();
            labels.insert("alertname".to_owned(), alertname.to_owned());
            LabelsAndAnnotations {
                labels: labels.into_iter().collect(),
                annotations: to_pairs(a.exp_annotations.as_ref()),
            }
        })
        .collect();
    got.sort();
    exp.sort();
    (got != exp).then(|| report::alert_failure(test_name, alertname, at, &exp, &got))
}

fn check_expr(case: &PromqlTestCase, env: &EvalEnv) -> Option<String> {
    let expr = case.expr.as_deref().unwrap_or("");
    let at = case.eval_time.unwrap_or_default().0;
    let t = i64::try_from(at).unwrap_or(i64::MAX);
    let got = match query_vector(&env.engine, expr, t) {
        Ok(v) => v,
        Err(e) => return Some(report::expr_error(expr, at, &e)),
    };
    let mut got: Vec<(Pairs, f64)> = got.iter().map(|(l, v)| (labels_pairs(l), *v)).collect();
    let mut exp = Vec::new();
    for s in case.exp_samples.iter().flatten() {
        let text = s.labels.as_deref().unwrap_or("");
        match series::parse_metric(text) {
            Ok(l) => exp.push((l, s.value.unwrap_or(0.0))),
            Err(e) => {
                let e = format!("labels {}: {e}", crate::text::go_quote(text));
                return Some(report::expr_error(expr, at, &e));
            }
        }
    }
    exp.sort_by(|a, b| a.0.cmp(&b.0));
    got.sort_by(|a, b| a.0.cmp(&b.0));
    #[allow(clippy::float_cmp)]
    let equal = exp.len() == got.len()
        && exp
            .iter()
            .zip(&got)
            .all(|((el, ev), (gl, gv))| el == gl && ev == gv);
    (!equal).then(|| report::sample_failure(expr, at, &exp, &got))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, files: &[(&str, &str)], test: &str) -> (bool, String) {
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write");
        }
        let path = dir.join("t.yml");
        std::fs::write(&path, test).expect("write");
        let mut out = Vec::new();
        let ok = run_rule_tests(&[path], &mut out);
        (ok, String::from_utf8_lossy(&out).into_owned())
    }

    const RULES: &str = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 2m\n    labels: {severity: page}\n    annotations: {summary: 'down {{ $labels.job }}'}\n  - record: job:up:sum\n    expr: sum by (job) (up)\n";

    #[test]
    fn passing_and_failing_tests() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ok, out) = run(
            dir.path(),
            &[("r.yml", RULES)],
            "rule_files: [r.yml]\ntests:\n- interval: 1m\n  input_series:\n  - series: 'up{job=\"a\"}'\n    values: '1 0x5'\n  alert_rule_test:\n  - eval_time: 2m\n    alertname: Down\n    exp_alerts: []\n  - eval_time: 3m\n    alertname: Down\n    exp_alerts:\n    - exp_labels: {severity: page, job: a}\n      exp_annotations: {summary: down a}\n  promql_expr_test:\n  - expr: job:up:sum\n    eval_time: 1m\n    exp_samples:\n    - labels: 'job:up:sum{job=\"a\"}'\n      value: 0\n",
        );
        assert!(ok, "{out}");
        assert!(out.contains("  SUCCESS"), "{out}");

        let (ok, out) = run(
            dir.path(),
            &[("r.yml", RULES)],
            "rule_files: [r.yml]\ntests:\n- interval: 1m\n  name: mine\n  input_series:\n  - series: 'up{job=\"a\"}'\n    values: '0x5'\n  alert_rule_test:\n  - eval_time: 1m\n    alertname: Down\n    exp_alerts: [{exp_labels: {job: a, severity: page}}]\n",
        );
        assert!(!ok);
        assert!(
            out.contains("    name: mine,\n    alertname: Down, time: 1m, \n        exp:[\n"),
            "{out}"
        );
    }

    #[test]
    fn unknown_fields_fail_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ok, out) = run(
            dir.path(),
            &[],
            "tests:\n- interval: 1m\n  start_timestamp: 0\n",
        );
        assert!(!ok);
        assert!(out.contains("start_timestamp"), "{out}");
    }
}
