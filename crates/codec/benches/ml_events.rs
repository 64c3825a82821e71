//! ML prediction event decoding throughput: 100 000 events with 10 features each (five numbers,
//! five strings) plus id, timestamp, score and probabilities, as JSON lines and as one JSON
//! array. Inputs are generated deterministically. The product target is 200 000 events/s end to
//! end on 2 cores, so decoding alone must run well above that on one.
//!
//! Run: `cargo bench -p vigil-codec --bench ml_events`.

use std::fmt::Write;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vigil_codec::ml::{decode_predictions, MlDecodeLimits};

const EVENTS: usize = 100_000;

/// The allocator the `vigil` binary uses: most of the time goes into allocating the events'
/// strings, so glibc malloc would measure something the server does not do.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const COUNTRIES: [&str; 6] = ["DE", "FR", "US", "GB", "JP", "BR"];
const CHANNELS: [&str; 3] = ["web", "ios", "android"];
const SEGMENTS: [&str; 4] = ["new", "returning", "vip", "dormant"];

/// One event as a JSON object on one line.
fn event(i: usize) -> String {
    let mut s = String::with_capacity(420);
    let _ = write!(
        s,
        r#"{{"model":"fraud-detector","version":"2026.11.3","id":"pred-{i:08}","timestamp":{}.{:03},"features":{{"amount":{}.{},"age_days":{},"txn_count_24h":{},"distance_km":{}.{},"hour":{},"country":"{}","channel":"{}","segment":"{}","merchant":"m-{}","currency":"EUR"}},"prediction":"{}","score":0.{:04},"probabilities":{{"fraud":0.{:04},"ok":0.{:04}}}}}"#,
        1_795_514_400 + i / 10,
        i % 1000,
        (i * 37) % 5000,
        i % 100,
        (i * 7) % 3650,
        i % 40,
        (i * 13) % 900,
        i % 10,
        i % 24,
        COUNTRIES[i % COUNTRIES.len()],
        CHANNELS[i % CHANNELS.len()],
        SEGMENTS[i % SEGMENTS.len()],
        i % 997,
        if i.is_multiple_of(17) { "fraud" } else { "ok" },
        (i * 31) % 10_000,
        (i * 31) % 10_000,
        10_000 - (i * 31) % 10_000 - 1,
    );
    s
}

fn bench(c: &mut Criterion) {
    let events: Vec<String> = (0..EVENTS).map(event).collect();
    let jsonl = events.join("\n");
    let array = format!("[\n{}\n]", events.join(",\n"));
    let limits = MlDecodeLimits::default();
    for body in [&jsonl, &array] {
        let d = decode_predictions(body.as_bytes(), &limits);
        assert_eq!(d.errors, [], "bench body decodes");
        assert_eq!(d.events.len(), EVENTS);
        assert_eq!(d.events.first().map(|e| e.features.len()), Some(10));
    }

    let mut g = c.benchmark_group("ml_predictions");
    g.sample_size(10);
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("jsonl_100k_events_10_features", |b| {
        b.iter(|| decode_predictions(black_box(jsonl.as_bytes()), &limits))
    });
    g.bench_function("array_100k_events_10_features", |b| {
        b.iter(|| decode_predictions(black_box(array.as_bytes()), &limits))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
