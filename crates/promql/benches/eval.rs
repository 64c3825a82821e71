//! The evaluator's hot paths on bench-shaped data (`vigil_testkit::workload`, the loadgen's ML
//! fleet: counters, classic histograms, gauges), over the in-memory reference store so that the
//! figures are the evaluator's own and not storage decoding:
//! - `selector`: an instant selector over every bucket series, 15-step range query;
//! - `rate`: `rate(counter[5m])` over all counters;
//! - `sum_by`: `sum by (model_name) (rate(…))`, the bench's `sum_rate` query;
//! - `histogram_quantile`: p95 by model over bucket rates, the bench's `p95_latency` query.
//!
//! Run: `cargo bench -p vigil-promql --bench eval -- --warm-up-time 1 --measurement-time 5`.
//! `EVAL_BENCH_SERIES` sets the series count (default 10,000).

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use vigil_promql::{Engine, EngineOptions};
use vigil_storage::{MemStore, MetricAppend};
use vigil_testkit::{Workload, WorkloadConfig};

const STEPS: usize = 90;

fn engine() -> (Engine, i64, i64) {
    let series = std::env::var("EVAL_BENCH_SERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let w = Workload::new(WorkloadConfig {
        series,
        ..WorkloadConfig::default()
    });
    let store = Arc::new(MemStore::new(0));
    for b in w.batches(STEPS, 2000) {
        store.append(&b).expect("append");
    }
    let end = w.timestamp(STEPS - 1);
    let start = end - 14 * 60_000;
    (Engine::new(store, EngineOptions::default()), start, end)
}

fn bench_eval(c: &mut Criterion) {
    let (engine, start, end) = engine();
    let mut g = c.benchmark_group("eval");
    g.sample_size(10);
    let queries = [
        ("selector", "ml_model_inference_duration_seconds_bucket"),
        ("rate", "rate(ml_model_predictions_total[5m])"),
        (
            "sum_by",
            "sum by (model_name) (rate(ml_model_predictions_total[5m]))",
        ),
        (
            "histogram_quantile",
            "histogram_quantile(0.95, sum by (le, model_name) (rate(ml_model_inference_duration_seconds_bucket[5m])))",
        ),
    ];
    for (name, q) in queries {
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = engine.range(q, start, end, 60_000).expect("query");
                std::hint::black_box(out);
            });
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench_eval
}
criterion_main!(benches);
