//! Decode throughput: a 10 000-line Prometheus text body, and a 2 000-sample remote_write body
//! (Prometheus's default `max_samples_per_send`). Inputs are generated deterministically.
//!
//! Run: `cargo bench -p vigil-codec --bench decode`.

use std::fmt::Write;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vigil_codec::exposition::{parse, Format};
use vigil_codec::{remote_write, DecodeLimits, Protocol};
use vigil_model::{Batch, Labels, MetricMetadata, MetricType, Sample};

/// 10 000 lines: 100 families of HELP + TYPE + 98 samples with 5 labels each.
fn exposition_body() -> String {
    let mut b = String::new();
    for f in 0..100 {
        let _ = writeln!(
            b,
            "# HELP app_requests_{f}_total Requests handled, by method and code."
        );
        let _ = writeln!(b, "# TYPE app_requests_{f}_total counter");
        for i in 0..98 {
            let _ = writeln!(
                b,
                "app_requests_{f}_total{{code=\"{}\",handler=\"/api/v1/query_range\",instance=\"host-{}.example.com:9100\",job=\"node\",method=\"GET\"}} {}.{}",
                200 + i % 5,
                i,
                1_000_000 + f * 131 + i * 7,
                i % 10
            );
        }
    }
    b
}

/// 2 000 series with one sample each and 8 labels, as a Prometheus sender batches them.
fn remote_write_batch() -> Batch {
    let mut batch = Batch::new();
    for i in 0..2000 {
        let labels = Labels::from_pairs([
            ("__name__", format!("node_cpu_seconds_{}_total", i % 50)),
            ("cpu", format!("{}", i % 16)),
            ("instance", format!("host-{}.example.com:9100", i / 50)),
            ("job", "node".to_owned()),
            ("mode", "user".to_owned()),
            ("region", "eu-west-1".to_owned()),
            ("env", "prod".to_owned()),
            ("team", "platform".to_owned()),
        ])
        .expect("labels");
        batch.push(
            labels,
            Sample::new(1_700_000_000_000 + i, 12345.678 + i as f64),
        );
    }
    batch.metadata.push(MetricMetadata {
        metric_family: "node_cpu_seconds_total".to_owned(),
        metric_type: MetricType::Counter,
        help: "Seconds the CPUs spent in each mode.".to_owned(),
        unit: String::new(),
    });
    batch
}

fn bench(c: &mut Criterion) {
    let text = exposition_body();
    let samples = parse(text.as_bytes(), Format::PrometheusText)
        .expect("bench body parses")
        .samples
        .len();
    let mut g = c.benchmark_group("exposition");
    g.throughput(Throughput::Elements(samples as u64));
    g.bench_function("prometheus_text_10k_lines", |b| {
        b.iter(|| parse(black_box(text.as_bytes()), Format::PrometheusText))
    });
    g.finish();

    let body = remote_write::encode(&remote_write_batch());
    let limits = DecodeLimits::default();
    let mut g = c.benchmark_group("remote_write");
    g.throughput(Throughput::Elements(2000));
    g.bench_function("decode_2000_samples", |b| {
        b.iter(|| remote_write::decode(black_box(&body), &limits))
    });
    let ctx = vigil_codec::DecodeContext {
        limits,
        content_encoding: Some("snappy"),
        content_type: Some("application/x-protobuf"),
        now_ms: 0,
    };
    g.bench_function("protocol_decode_2000_samples", |b| {
        b.iter(|| Protocol::RemoteWrite.decode(black_box(&body), &ctx))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
