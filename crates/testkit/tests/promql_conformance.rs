//! Prometheus's own PromQL test scripts (`../shared/testdata/promql/*.test`) run through Vigil's
//! engine over the reference in-memory store. Prints pass/fail/skip per file and in total.
//!
//! The float core must pass every case that is not skipped; the only skips the runner produces
//! are native-histogram data or results and experimental syntax, each with its reason.

use std::sync::Arc;
use std::time::Duration;

use vigil_model::{Labels, Sample};
use vigil_promql::{Engine as PromEngine, EngineOptions, Value};
use vigil_storage::{MemStore, MetricAppend};
use vigil_testkit::conformance::batch;
use vigil_testkit::promqltest::{
    run_file, script_files, Annotations, Engine, FileReport, QueryValue, Summary,
};

/// The files whose every non-skipped case must pass (the "float core").
const FLOAT_CORE: &[&str] = &[
    "aggregators.test",
    "at_modifier.test",
    "collision.test",
    "functions.test",
    "histograms.test",
    "limit.test",
    "literals.test",
    "name_label_dropping.test",
    "operators.test",
    "range_queries.test",
    "selectors.test",
    "staleness.test",
    "subquery.test",
    "trig_functions.test",
];

/// Upstream's test engine: 5m lookback, at most 10,000 samples per query.
fn options() -> EngineOptions {
    EngineOptions {
        lookback_delta: Duration::from_secs(300),
        max_samples: 10_000,
        timeout: Duration::from_secs(100),
    }
}

struct Vigil {
    store: Arc<MemStore>,
    engine: PromEngine,
    annotations: Option<Annotations>,
}

impl Vigil {
    fn new() -> Self {
        let store = Arc::new(MemStore::new(i64::MAX / 4));
        let engine = PromEngine::new(store.clone(), options());
        Vigil {
            store,
            engine,
            annotations: None,
        }
    }

    fn finish(
        &mut self,
        r: Result<vigil_promql::QueryOutput, vigil_promql::PromqlError>,
    ) -> Result<QueryValue, String> {
        self.annotations = None;
        let out = r.map_err(|e| e.to_string())?;
        self.annotations = Some(Annotations {
            warnings: out.annotations.warnings.into_iter().collect(),
            infos: out.annotations.infos.into_iter().collect(),
        });
        Ok(match out.value {
            Value::Scalar { v, .. } => QueryValue::Scalar(v),
            Value::String { s, .. } => QueryValue::String(s),
            Value::Vector(v) => {
                QueryValue::Vector(v.into_iter().map(|s| (s.labels, s.v)).collect())
            }
            Value::Matrix(m) => QueryValue::Matrix(
                m.into_iter()
                    .map(|s| (s.labels, s.points.into_iter().map(|p| (p.t, p.v)).collect()))
                    .collect(),
            ),
        })
    }
}

impl Engine for Vigil {
    fn load(&mut self, series: &[(Labels, Vec<Sample>)]) {
        let data: Vec<(Labels, Vec<(i64, f64)>)> = series
            .iter()
            .map(|(l, s)| (l.clone(), s.iter().map(|s| (s.t, s.v)).collect()))
            .collect();
        // Samples the store refuses would change the expected results; say so.
        let outcome = self
            .store
            .append(&batch(&data))
            .expect("append to the memory store");
        if let Some(why) = &outcome.first_rejection {
            println!(
                "load: {} samples not stored, first: {why}",
                outcome.rejected_total()
            );
        }
    }

    fn clear(&mut self) {
        *self = Vigil::new();
    }

    fn instant(&mut self, expr: &str, at_ms: i64) -> Result<QueryValue, String> {
        let r = self.engine.instant(expr, at_ms);
        self.finish(r)
    }

    fn range(&mut self, expr: &str, start: i64, end: i64, step: i64) -> Result<QueryValue, String> {
        let r = self.engine.range(expr, start, end, step);
        self.finish(r)
    }

    fn last_annotations(&self) -> Option<Annotations> {
        self.annotations.clone()
    }
}

fn run_all() -> Option<Vec<FileReport>> {
    let files = script_files().expect("read testdata dir")?;
    let only = std::env::var("PROMQL_TEST_FILE").ok();
    let mut reports = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let mut engine = Vigil::new();
        let report = run_file(&path, &mut engine).unwrap_or_else(|e| panic!("{name}: {e}"));
        reports.push(report);
    }
    Some(reports)
}

#[test]
fn upstream_promql_scripts() {
    let Some(reports) = run_all() else { return };
    println!("{}", Summary(&reports));
    let failing: Vec<String> = reports
        .iter()
        .filter(|r| FLOAT_CORE.contains(&r.file.as_str()) && !r.failed.is_empty())
        .map(|r| format!("{} ({} failing)", r.file, r.failed.len()))
        .collect();
    assert!(
        failing.is_empty(),
        "float-core scripts with failing cases: {}",
        failing.join(", ")
    );
}
