//! Blocks: flush and reopen give identical results, bench-shaped data compresses to target,
//! compaction and retention follow the clock, and the frozen version-1 fixture still opens.

mod common;

use std::sync::Arc;

use common::*;
use vigil_model::{ManualClock, Sample, SystemClock};
use vigil_storage::{MemStore, MetricAppend, MetricSelect, MetricStore, TimeRange};
use vigil_testkit::{Workload, WorkloadConfig};
use vigil_tsdb::{Tsdb, TsdbOptions, HOUR_MS};

#[test]
fn flush_then_reopen_gives_identical_results() {
    let dir = tempfile::tempdir().expect("tmp");
    let w = Workload::new(WorkloadConfig {
        series: 1000,
        ..WorkloadConfig::default()
    });
    let db = open(dir.path());
    for b in w.batches(60, 500) {
        let o = db.append(&b).expect("append");
        assert_eq!(o.rejected_total(), 0);
    }
    let before = snapshot(&db);
    assert_eq!(before.len(), w.series_count());
    db.flush().expect("flush");
    assert_eq!(snapshot(&db), before, "after flush");
    let st = db.stats();
    assert!(st.blocks >= 1);
    assert_eq!(
        st.head_series, 0,
        "flushed series are collected from the head"
    );
    // Appending after the flush works, and re-sending flushed samples is a no-op.
    let o = db.append(&w.batch(0, 50, 10)).expect("append");
    assert_eq!((o.accepted, o.rejected_total()), (50, 0));
    db.append(&w.batch(0, w.series_count(), 60))
        .expect("append");
    let after = snapshot(&db);
    drop(db);
    let db = open(dir.path());
    assert_eq!(snapshot(&db), after, "after reopen");
    let r = TimeRange::new(w.timestamp(10), w.timestamp(20));
    let part = select_all(&db, r);
    assert!(
        part.iter().all(|s| s.samples.len() == 11),
        "range reads cut chunks exactly"
    );
}

/// The store's own split (the conformance suite's wrapper does not forward it): parts over
/// blocks and the head concatenate to `select`, including candidates without samples in range.
#[test]
fn select_parts_concatenate_to_select() {
    let dir = tempfile::tempdir().expect("tmp");
    let w = Workload::new(WorkloadConfig {
        series: 50,
        ..WorkloadConfig::default()
    });
    let db = open(dir.path());
    for b in w.batches(30, 500) {
        db.append(&b).expect("append");
    }
    db.flush().expect("flush");
    db.append(&w.batch(0, 20, 40)).expect("append");
    for range in [
        TimeRange::all(),
        TimeRange::new(w.timestamp(10), w.timestamp(35)),
        TimeRange::new(w.timestamp(35), w.timestamp(45)),
        // Between two samples: every series is a candidate, none has a sample.
        TimeRange::new(w.timestamp(10) + 1, w.timestamp(11) - 1),
    ] {
        let want = select_all(&db, range);
        for parts in [1, 2, 3, 7, 100] {
            let sets = db.select_parts(&all(), range, parts).expect("select_parts");
            assert!(sets.len() <= parts, "{} parts", sets.len());
            let got: Vec<_> = sets
                .into_iter()
                .flatten()
                .map(|s| s.expect("series"))
                .collect();
            assert_eq!(got, want, "{parts} parts over {range:?}");
        }
    }
}

/// The bench's data shape at 10k series × 90 samples: bytes per sample after flush.
#[test]
fn bench_shaped_bytes_per_sample() {
    let dir = tempfile::tempdir().expect("tmp");
    let w = Workload::new(WorkloadConfig {
        series: 10_000,
        ..WorkloadConfig::default()
    });
    let steps = 90;
    let db = open(dir.path());
    for b in w.batches(steps, 2000) {
        db.append(&b).expect("append");
    }
    let samples = (w.series_count() * steps) as f64;
    let wal = du(dir.path());
    db.flush().expect("flush");
    let total = du(dir.path());
    let blocks = db.blocks();
    let index: u64 = blocks.iter().map(|b| b.index_bytes).sum();
    let chunks: u64 = blocks.iter().map(|b| b.chunks_bytes).sum();
    let bps = total as f64 / samples;
    eprintln!(
        "bench shape {} series x {steps}: wal before flush {:.3} B/sample; after flush total {:.3} B/sample (index {:.3}, chunks {:.3})",
        w.series_count(),
        wal as f64 / samples,
        bps,
        index as f64 / samples,
        chunks as f64 / samples
    );
    assert!(
        bps <= 1.6,
        "{bps} bytes/sample is over VictoriaMetrics' 1.6"
    );
}

fn filled(
    dir: &std::path::Path,
    clock: Arc<ManualClock>,
    o: TsdbOptions,
    hours: i64,
) -> (Tsdb, MemStore) {
    let db = open_with(dir, o.clone(), clock);
    let reference = MemStore::new(o.ooo_window_ms);
    let a = l(&[("__name__", "m"), ("k", "a")]);
    let b = l(&[("__name__", "m"), ("k", "b")]);
    // One sample a minute for `hours`, maintain every simulated hour.
    for h in 0..hours {
        for m in 0..60 {
            let t = (h * 60 + m) * 60_000;
            let bt = batch(&[
                (a.clone(), vec![(t, t as f64)]),
                (b.clone(), vec![(t, 1.5)]),
            ]);
            db.append(&bt).expect("append");
            reference.append(&bt).expect("append");
        }
        db.maintain().expect("maintain");
    }
    (db, reference)
}

#[test]
fn head_is_cut_into_aligned_blocks_and_compacted() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(0));
    let o = TsdbOptions {
        block_range_ms: HOUR_MS,
        ooo_window_ms: HOUR_MS / 2,
        retention_time_ms: 1000 * HOUR_MS,
        ..opts()
    };
    let (db, reference) = filled(dir.path(), clock.clone(), o, 24);
    let blocks = db.blocks();
    assert!(!blocks.is_empty());
    for b in &blocks {
        let span = b.max_time - b.min_time + 1;
        assert_eq!(b.min_time.rem_euclid(HOUR_MS), 0, "{b:?}");
        assert!(
            [HOUR_MS, 3 * HOUR_MS, 9 * HOUR_MS, 27 * HOUR_MS].contains(&span),
            "{b:?}"
        );
    }
    assert!(
        blocks.iter().any(|b| b.level > 1),
        "some compaction happened: {blocks:?}"
    );
    assert!(db.stats().compactions > 0);
    // Blocks do not overlap.
    for w in blocks.windows(2) {
        assert!(w[0].max_time < w[1].min_time, "{w:?}");
    }
    assert_eq!(snapshot(&db), snapshot(&reference));
    let st = db.stats();
    assert!(st
        .head_min_time
        .is_some_and(|t| t >= blocks.last().map_or(0, |b| b.max_time)));
    drop(db);
    let db = open_with(
        dir.path(),
        TsdbOptions {
            block_range_ms: HOUR_MS,
            ..opts()
        },
        clock,
    );
    assert_eq!(snapshot(&db), snapshot(&reference), "after reopen");
}

#[test]
fn retention_by_time_and_size() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(0));
    let o = TsdbOptions {
        block_range_ms: HOUR_MS,
        ooo_window_ms: 0,
        retention_time_ms: 6 * HOUR_MS,
        ..opts()
    };
    let (db, _) = filled(dir.path(), clock.clone(), o.clone(), 12);
    let before = db.blocks();
    assert!(before.len() >= 2);
    clock.set(12 * HOUR_MS);
    let rep = db.maintain().expect("maintain");
    let after = db.blocks();
    let cutoff = 6 * HOUR_MS;
    assert!(after.iter().all(|b| b.max_time >= cutoff), "{after:?}");
    assert!(rep.retention_blocks_deleted > 0);
    let first = select_all(&db, TimeRange::all());
    assert!(first
        .iter()
        .all(|s| s.samples[0].t >= after.first().map_or(0, |b| b.min_time)));
    // Size: keep only what fits.
    drop(db);
    let o2 = TsdbOptions {
        retention_size_bytes: 1,
        ..o
    };
    let db = open_with(dir.path(), o2, clock);
    db.maintain().expect("maintain");
    assert!(
        db.blocks().is_empty(),
        "every block goes when the limit is below the WAL alone"
    );
    assert!(db.stats().retention_blocks_deleted > 0);
}

#[test]
fn out_of_order_after_flush_becomes_an_overlapping_block_then_merges() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = open(dir.path());
    let a = l(&[("__name__", "m")]);
    // Recent data: the default 15 d retention runs in `maintain`.
    let now = vigil_model::Clock::now_ms(&SystemClock);
    let t0 = now - now % (2 * HOUR_MS) - 2 * HOUR_MS;
    db.append(&batch(&[(
        a.clone(),
        (0..100).map(|i| (t0 + i * 10_000, i as f64)).collect(),
    )]))
    .expect("append");
    db.flush().expect("flush");
    // Into the flushed range: identical is fine, different is a duplicate, new timestamps go in.
    let o = db
        .append(&batch(&[(
            a.clone(),
            vec![(t0 + 10_000, 1.0), (t0 + 20_000, 7.0), (t0 + 15_000, 1.5)],
        )]))
        .expect("append");
    assert_eq!((o.accepted, o.rejected_total()), (2, 1));
    db.flush().expect("flush");
    assert_eq!(db.blocks().len(), 2);
    db.maintain().expect("maintain");
    assert_eq!(db.blocks().len(), 1, "overlapping blocks are merged");
    let got = select_all(&db, TimeRange::all());
    assert_eq!(got[0].samples.len(), 101);
    assert_eq!(got[0].samples[2], Sample::new(t0 + 15_000, 1.5));
}

/// A frozen block written by format version 1; current code must keep reading it.
/// Regenerate (only when deliberately changing the format) with `BLESS=1`.
#[test]
fn frozen_v1_block_fixture_opens() {
    // Cargo's runtime value first: a target dir shared by clones at different paths can hold
    // a binary built elsewhere, whose compile-time path is stale.
    let fixture = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("testdata/v1");
    let a = l(&[("__name__", "fixture_total"), ("job", "a")]);
    let b = l(&[("__name__", "fixture_gauge"), ("job", "b")]);
    let want_a: Vec<(i64, f64)> = (0..300)
        .map(|i| (1_700_000_000_000 + i * 15_000, (i * 3) as f64))
        .collect();
    let mut want_b: Vec<(i64, f64)> = (0..50)
        .map(|i| (1_700_000_000_000 + i * 60_000, i as f64 * 0.125 - 1.0))
        .collect();
    want_b[7].1 = vigil_model::STALE_NAN;
    want_b[8].1 = -0.0;
    if std::env::var_os("BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&fixture);
        let db = Tsdb::open(&fixture, opts(), Arc::new(SystemClock)).expect("open");
        // b first: a's newest sample would otherwise put b's start outside the 1 h window.
        let o = db
            .append(&batch(&[
                (b.clone(), want_b.clone()),
                (a.clone(), want_a.clone()),
            ]))
            .expect("append");
        assert_eq!(o.rejected_total(), 0);
        db.flush().expect("flush");
        db.close().expect("close");
        let _ = std::fs::remove_dir_all(fixture.join("wal"));
    }
    // Open a copy: opening writes a WAL, and the fixture must stay untouched.
    let tmp = tempfile::tempdir().expect("tmp");
    copy_dir(&fixture, tmp.path());
    let db = open(tmp.path());
    assert_eq!(
        db.blocks().len(),
        1,
        "fixture missing? run with BLESS=1 once"
    );
    let got = snapshot(&db);
    let bits = |v: &[(i64, f64)]| v.iter().map(|(t, v)| (*t, v.to_bits())).collect::<Vec<_>>();
    assert_eq!(got, vec![(b, bits(&want_b)), (a, bits(&want_a))]);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("fixture dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}
