//! The promqltest runner against upstream's scripts (parse-only) and against fake engines.

use std::collections::BTreeMap;

use vigil_model::{Labels, Sample};
use vigil_testkit::promqltest::{
    parse_script, run_file, run_script, script_files, Command, Engine, FileReport, QueryValue,
    Summary,
};

#[test]
fn every_upstream_script_parses() {
    let Some(files) = script_files().expect("read testdata dir") else {
        return;
    };
    assert!(!files.is_empty(), "no .test files found");
    let (mut total, mut total_unsupported) = (0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).expect("read script");
        let script = match parse_script(&text) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let cases: Vec<_> = script.eval_cases().collect();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for c in &cases {
            if let Some(r) = &c.unsupported {
                *reasons.entry(r.clone()).or_default() += 1;
            }
        }
        let unsupported: usize = reasons.values().sum();
        let load_lines: usize = script
            .commands
            .iter()
            .map(|c| match c {
                Command::Load(l) => l.unsupported.len(),
                _ => 0,
            })
            .sum();
        println!(
            "{name:<28} eval cases {:>5}  unsupported {unsupported:>5}  unsupported load lines {load_lines:>4}",
            cases.len()
        );
        for (r, n) in &reasons {
            println!("    x{n}: {r}");
        }
        total += cases.len();
        total_unsupported += unsupported;
    }
    println!(
        "{:<28} eval cases {total:>5}  unsupported {total_unsupported:>5}",
        "TOTAL"
    );
    assert!(
        failures.is_empty(),
        "scripts that do not parse:\n{}",
        failures.join("\n")
    );
}

/// Answers literal-number expressions (`1`, `vector(1)`, `scalar(2)`-free) and nothing else:
/// enough to prove that both passes and failures are detected.
#[derive(Default)]
struct LiteralEngine {
    loaded: usize,
}

impl LiteralEngine {
    fn eval(expr: &str) -> Result<QueryValue, String> {
        let e = expr.trim();
        if let Some(inner) = e.strip_prefix("vector(").and_then(|r| r.strip_suffix(')')) {
            let v: f64 = inner
                .trim()
                .parse()
                .map_err(|_| format!("unsupported: {expr}"))?;
            return Ok(QueryValue::Vector(vec![(Labels::empty(), v)]));
        }
        e.parse::<f64>()
            .map(QueryValue::Scalar)
            .map_err(|_| format!("unsupported: {expr}"))
    }
}

impl Engine for LiteralEngine {
    fn load(&mut self, series: &[(Labels, Vec<Sample>)]) {
        self.loaded += series.len();
    }
    fn clear(&mut self) {
        self.loaded = 0;
    }
    fn instant(&mut self, expr: &str, _at_ms: i64) -> Result<QueryValue, String> {
        Self::eval(expr)
    }
    fn range(&mut self, expr: &str, start: i64, end: i64, step: i64) -> Result<QueryValue, String> {
        let v = Self::eval(expr)?;
        let points = |x: f64| {
            let mut out = Vec::new();
            let mut t = start;
            while t <= end {
                out.push((t, x));
                t += step.max(1);
            }
            out
        };
        Ok(match v {
            QueryValue::Scalar(x) => QueryValue::Matrix(vec![(Labels::empty(), points(x))]),
            QueryValue::Vector(v) => {
                QueryValue::Matrix(v.into_iter().map(|(l, x)| (l, points(x))).collect())
            }
            other => other,
        })
    }
}

const SCRIPT: &str = r#"
load 1m
  metric{a="1"} 0+1x10

# passes: scalar literal
eval instant at 1m 2
  2

# passes: vector(1), unordered label match, checked in range mode too
eval instant at 5m vector(1)
  {} 1

# fails: wrong value
eval instant at 5m vector(1)
  {} 2

# passes: range query in matrix form
eval range from 0 to 2m step 1m vector(3)
  {} 3 3 3

# fails: one point too many expected
eval range from 0 to 2m step 1m vector(3)
  {} 3 3 3 3

# passes: expected failure
eval instant at 0 metric
  expect fail regex: unsupported

# fails: error message does not match
eval instant at 0 metric
  expect fail msg: something else

# fails: an unexpected error
eval instant at 0 metric
  {a="1"} 0

# skipped: native histogram result
eval instant at 0 vector(1)
  {} {{schema:0 sum:1 count:1}}
"#;

#[test]
fn fake_engine_pass_fail_and_skip_are_detected() {
    let script = parse_script(SCRIPT).expect("parses");
    let mut engine = LiteralEngine::default();
    let report = run_script(&script, &mut engine);
    print!("{}", Summary(std::slice::from_ref(&report)));
    assert_eq!(report.passed, 4, "{report:?}");
    let failed: Vec<usize> = report.failed.iter().map(|(l, _)| *l).collect();
    assert_eq!(failed, [14, 22, 30, 34], "{report:?}");
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(engine.loaded, 1);
}

#[test]
fn fake_engine_over_upstream_literals() {
    let Some(files) = script_files().expect("read testdata dir") else {
        return;
    };
    let Some(path) = files.iter().find(|p| p.ends_with("literals.test")) else {
        println!("skipped: literals.test not found");
        return;
    };
    let mut engine = LiteralEngine::default();
    let report: FileReport = run_file(path, &mut engine).expect("runs");
    print!("{}", Summary(std::slice::from_ref(&report)));
    // Plain decimal literals pass; expressions (`1+1`, strings) fail as unsupported by the fake.
    assert!(report.passed >= 5, "{report:?}");
    assert!(!report.failed.is_empty());
}

/// An engine that knows nothing: every query errors. Runs every upstream file end to end (no
/// panics, every case accounted for) and shows how many cases the data-level skips remove.
struct NoEngine;

impl Engine for NoEngine {
    fn load(&mut self, _series: &[(Labels, Vec<Sample>)]) {}
    fn clear(&mut self) {}
    fn instant(&mut self, _expr: &str, _at_ms: i64) -> Result<QueryValue, String> {
        Err("no engine".into())
    }
    fn range(&mut self, _: &str, _: i64, _: i64, _: i64) -> Result<QueryValue, String> {
        Err("no engine".into())
    }
}

#[test]
fn every_upstream_script_runs_against_a_null_engine() {
    let Some(files) = script_files().expect("read testdata dir") else {
        return;
    };
    let mut reports = Vec::new();
    for path in &files {
        let mut report = run_file(path, &mut NoEngine).expect("runs");
        let text = std::fs::read_to_string(path).expect("read");
        let cases = parse_script(&text).expect("parses").eval_cases().count();
        assert_eq!(report.total(), cases, "{}", report.file);
        // Keep the printout short: every non-skipped case fails with "no engine" (failures are
        // dropped from the printed summary, so its fail column reads 0).
        report.failed.truncate(0);
        reports.push(report);
    }
    print!("{}", Summary(&reports));
}
