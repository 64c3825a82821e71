//! Benchmarks on bench-shaped data (`vigil_testkit::workload`, the loadgen's series and values):
//! - `append/2000x100k`: remote_write-shaped batches of 2000 samples (one per series) into a head
//!   of ~100k existing series; reported per batch (divide by 2000 for ns/sample);
//! - `select/*`: a metric-name selection over 10k series × 90 samples, from the head and after
//!   a flush (from blocks);
//! - `block_chunk/*`: encode and decode of 240-sample block chunks.
//!
//! Run: `cargo bench -p vigil-tsdb --bench tsdb -- --warm-up-time 1 --measurement-time 5`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vigil_model::{Batch, Matcher, Sample, SystemClock};
use vigil_storage::{MetricAppend, MetricSelect, MetricStore, TimeRange};
use vigil_testkit::{Workload, WorkloadConfig};
use vigil_tsdb::chunkenc::{decode_block_chunk, encode_block_chunk, ChunkScratch, Decoder};
use vigil_tsdb::{FsyncPolicy, Tsdb, TsdbOptions, WalOptions};

fn opts() -> TsdbOptions {
    TsdbOptions {
        wal: WalOptions {
            // The server's default: write(2) per batch, fsync at most once a second.
            fsync: std::env::var("BENCH_FSYNC_NEVER")
                .map_or(FsyncPolicy::Interval(Duration::from_secs(1)), |_| {
                    FsyncPolicy::Never
                }),
            ..WalOptions::default()
        },
        ..TsdbOptions::default()
    }
}

fn bench_append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let db = Tsdb::open(dir.path(), opts(), Arc::new(SystemClock)).expect("open");
    let w = Workload::new(WorkloadConfig {
        series: 100_000,
        ..WorkloadConfig::default()
    });
    // One step's batches, re-timed in place for every later step.
    let mut batches: Vec<Batch> = w.batches(1, 2000).collect();
    for b in &batches {
        db.append(b).expect("append");
    }
    let mut step = 1i64;
    let mut next = 0usize;
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(2000));
    g.bench_function("2000x100k", |bch| {
        bch.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                if next == batches.len() {
                    next = 0;
                    step += 1;
                }
                let b = &mut batches[next];
                for s in &mut b.series {
                    for x in &mut s.samples {
                        x.t = w.timestamp(0) + step * 10_000;
                        x.v += 1.0;
                    }
                }
                // A fresh copy, as a decoder would hand over (hot in cache, like real input).
                let fresh = b.clone();
                let start = Instant::now();
                let o = db.append(&fresh).expect("append");
                took += start.elapsed();
                assert_eq!(o.rejected_total(), 0);
                next += 1;
            }
            took
        });
    });
    g.finish();
}

fn bench_select(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let db = Tsdb::open(dir.path(), opts(), Arc::new(SystemClock)).expect("open");
    let w = Workload::new(WorkloadConfig {
        series: 10_000,
        ..WorkloadConfig::default()
    });
    for b in w.batches(90, 2000) {
        db.append(&b).expect("append");
    }
    let m = [Matcher::equal(
        "__name__",
        "ml_model_inference_duration_seconds_count",
    )];
    let run = |db: &Tsdb| {
        db.select(&m, TimeRange::all())
            .expect("select")
            .map(|s| s.expect("series").samples.len())
            .sum::<usize>()
    };
    let n = run(&db);
    let mut g = c.benchmark_group("select");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("head_count_series_x90", |b| b.iter(|| run(&db)));
    db.flush().expect("flush");
    assert_eq!(run(&db), n);
    g.bench_function("blocks_count_series_x90", |b| b.iter(|| run(&db)));
    g.finish();
}

fn bench_block_chunk(c: &mut Criterion) {
    let w = Workload::new(WorkloadConfig {
        series: 1000,
        ..WorkloadConfig::default()
    });
    let series: Vec<Vec<Sample>> = (0..w.series_count())
        .map(|i| {
            (0..240)
                .map(|s| Sample::new(w.timestamp(s), w.value(i, s)))
                .collect()
        })
        .collect();
    let base = w.timestamp(0);
    let mut encoded = Vec::new();
    for s in &series {
        encode_block_chunk(&mut encoded, s, base);
    }
    let total = (series.len() * 240) as u64;
    eprintln!(
        "block_chunk: {:.3} bytes/sample before zstd",
        encoded.len() as f64 / total as f64
    );
    let mut g = c.benchmark_group("block_chunk");
    g.throughput(Throughput::Elements(total));
    g.bench_function("encode_240", |b| {
        let mut buf = Vec::with_capacity(encoded.len());
        b.iter(|| {
            buf.clear();
            for s in &series {
                encode_block_chunk(&mut buf, s, base);
            }
            buf.len()
        })
    });
    g.bench_function("decode_240", |b| {
        let mut out = Vec::with_capacity(240);
        let mut scratch = ChunkScratch::default();
        b.iter(|| {
            let mut d = Decoder::new(&encoded);
            let mut n = 0;
            while !d.is_empty() {
                out.clear();
                decode_block_chunk(&mut d, base, &mut scratch, &mut out).expect("decode");
                n += out.len();
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench_append, bench_select, bench_block_chunk);
criterion_main!(benches);
