//! Damaged files: a torn WAL tail, a damaged WAL segment in the middle, garbage records, and a
//! damaged block all leave the store openable with everything still readable.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use vigil_storage::{MetricAppend, TimeRange};
use vigil_tsdb::{TsdbOptions, WalOptions};

fn wal_segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir.join("wal"))
        .expect("wal dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    v.sort();
    v
}

fn step(n: i64) -> vigil_model::Batch {
    let s: Vec<_> = (0..10)
        .map(|i| {
            (
                l(&[("__name__", "c"), ("i", &i.to_string())]),
                vec![(n * 1000, n as f64)],
            )
        })
        .collect();
    batch(&s)
}

#[test]
fn torn_wal_tail_loses_only_the_torn_batch() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let db = open(dir.path());
        for n in 0..20 {
            db.append(&step(n)).expect("append");
        }
    }
    let seg = wal_segments(dir.path()).pop().expect("segment");
    let len = fs::metadata(&seg).expect("meta").len();
    fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .expect("open")
        .set_len(len - 3)
        .expect("truncate");
    let db = open(dir.path());
    assert_eq!(db.stats().wal_corruptions, 1);
    let got = select_all(&db, TimeRange::all());
    assert_eq!(got.len(), 10);
    assert!(
        got.iter().all(|s| s.samples.len() == 19),
        "the last batch was torn"
    );
    // New writes after the repair are durable.
    db.append(&step(19)).expect("append");
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.stats().wal_corruptions, 0, "repaired for good");
    assert!(select_all(&db, TimeRange::all())
        .iter()
        .all(|s| s.samples.len() == 20));
}

#[test]
fn damaged_middle_segment_keeps_the_rest() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = TsdbOptions {
        wal: WalOptions {
            max_segment_bytes: 4096,
            ..opts().wal
        },
        ..opts()
    };
    {
        let db = open_with(
            dir.path(),
            o.clone(),
            std::sync::Arc::new(vigil_model::SystemClock),
        );
        for n in 0..600 {
            db.append(&step(n)).expect("append");
        }
    }
    let segs = wal_segments(dir.path());
    assert!(segs.len() >= 4, "{segs:?}");
    // Damage the middle of the second segment (the first holds the series records).
    let victim = &segs[1];
    let mut bytes = fs::read(victim).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    fs::write(victim, &bytes).expect("write");
    let db = open_with(dir.path(), o, std::sync::Arc::new(vigil_model::SystemClock));
    let st = db.stats();
    assert_eq!(st.wal_corruptions, 1);
    let got = select_all(&db, TimeRange::all());
    assert_eq!(got.len(), 10);
    for s in &got {
        let n = s.samples.len();
        assert!(n > 300 && n < 600, "{}: {n} samples", s.labels);
        // The newest samples (after the damaged segment) are there.
        assert_eq!(s.samples.last().map(|x| x.t), Some(599_000));
    }
}

#[test]
fn garbage_record_is_skipped() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let db = open(dir.path());
        db.append(&step(0)).expect("append");
    }
    {
        // A well-framed record the store does not understand.
        let wal =
            vigil_wal::Wal::open(&dir.path().join("wal"), WalOptions::default()).expect("wal");
        wal.append(&[&[0xEE, 1, 2, 3]]).expect("append");
    }
    let db = open(dir.path());
    assert_eq!(db.stats().wal_corruptions, 1);
    assert_eq!(select_all(&db, TimeRange::all()).len(), 10);
}

#[test]
fn damaged_block_is_ignored_and_counted() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let db = open(dir.path());
        db.append(&step(0)).expect("append");
        vigil_storage::MetricStore::flush(&db).expect("flush");
        db.append(&step(1)).expect("append");
    }
    let block = fs::read_dir(dir.path().join("blocks"))
        .expect("blocks")
        .map(|e| e.expect("entry").path())
        .next()
        .expect("one block");
    let index = block.join("index");
    let mut bytes = fs::read(&index).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&index, &bytes).expect("write");
    let db = open(dir.path());
    let st = db.stats();
    assert_eq!((st.corrupt_blocks, st.blocks), (1, 0));
    // The head (from the WAL) is still served.
    let got = select_all(&db, TimeRange::all());
    assert_eq!(got.len(), 10);
    assert!(got
        .iter()
        .all(|s| s.samples.len() == 1 && s.samples[0].t == 1000));
    assert!(
        block.exists(),
        "a damaged block is left for an operator, not deleted"
    );
}

/// meta.json has no checksum: a damaged size in it must neither overflow the store's size sums
/// nor make size-based retention delete blocks.
#[test]
fn damaged_meta_size_does_not_steer_retention() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = std::sync::Arc::new(vigil_model::ManualClock::new(0));
    let o = TsdbOptions {
        retention_size_bytes: 1 << 30,
        ..opts()
    };
    {
        let db = open_with(dir.path(), o.clone(), clock.clone());
        db.append(&step(0)).expect("append");
        vigil_storage::MetricStore::flush(&db).expect("flush");
    }
    let block = fs::read_dir(dir.path().join("blocks"))
        .expect("blocks")
        .map(|e| e.expect("entry").path())
        .next()
        .expect("one block");
    let meta = block.join("meta.json");
    let text = fs::read_to_string(&meta).expect("read");
    let (head, rest) = text.split_once("\"index_bytes\": ").expect("index_bytes");
    let tail = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    fs::write(&meta, format!("{head}\"index_bytes\": {}{tail}", u64::MAX)).expect("write");
    let db = open_with(dir.path(), o, clock);
    assert!(db.stats().block_bytes < 1 << 20);
    let rep = db.maintain().expect("maintain");
    assert_eq!((rep.retention_blocks_deleted, db.blocks().len()), (0, 1));
    assert_eq!(select_all(&db, TimeRange::all()).len(), 10);
}
