//! Crate API tests: round trip, segment rotation, torn tails, damage in earlier segments,
//! checkpoints, fsync policies and group commit, plus property tests.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use vigil_wal::{FsyncPolicy, Wal, WalError, WalOptions, WalReader};

fn opts(max: u64, fsync: FsyncPolicy) -> WalOptions {
    WalOptions {
        max_segment_bytes: max,
        fsync,
        on_fsync: None,
    }
}

/// All records and errors a reader yields.
fn read_all(dir: &Path) -> (Vec<Vec<u8>>, Vec<WalError>) {
    let mut r = WalReader::open(dir).expect("reader");
    let mut recs = Vec::new();
    let mut errs = Vec::new();
    while let Some(x) = r.next_record() {
        match x {
            Ok(rec) => recs.push(rec.data.to_vec()),
            Err(e) => errs.push(e),
        }
    }
    (recs, errs)
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read_dir")
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

fn rec(i: usize) -> Vec<u8> {
    format!("record-{i}-{}", "x".repeat(i % 37)).into_bytes()
}

#[test]
fn round_trip_across_segments() {
    let dir = tempfile::tempdir().expect("tmp");
    let wal = Wal::open(dir.path(), opts(300, FsyncPolicy::Never)).expect("open");
    let mut want = Vec::new();
    for i in 0..100 {
        let a = rec(i);
        let b = rec(i + 1000);
        wal.append(&[&a, &b]).expect("append");
        want.push(a);
        want.push(b);
    }
    assert!(segments(dir.path()).len() > 5, "rotation happened");
    let (got, errs) = read_all(dir.path());
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(got, want);
    drop(wal);
    // Reopening starts a new segment and keeps the old records readable.
    let wal = Wal::open(dir.path(), opts(300, FsyncPolicy::Never)).expect("reopen");
    assert!(wal.repaired().is_none());
    wal.append(&[b"after"]).expect("append");
    let (got, errs) = read_all(dir.path());
    assert!(errs.is_empty());
    assert_eq!(got.len(), want.len() + 1);
    assert_eq!(got.last().map(Vec::as_slice), Some(&b"after"[..]));
}

#[test]
fn oversized_batch_gets_its_own_segment() {
    let dir = tempfile::tempdir().expect("tmp");
    let wal = Wal::open(dir.path(), opts(64, FsyncPolicy::Never)).expect("open");
    let big = vec![7u8; 500];
    wal.append(&[b"a"]).expect("a");
    wal.append(&[&big]).expect("big");
    wal.append(&[b"b"]).expect("b");
    let (got, errs) = read_all(dir.path());
    assert!(errs.is_empty());
    assert_eq!(got, vec![b"a".to_vec(), big, b"b".to_vec()]);
}

#[test]
fn torn_tail_is_reported_then_truncated_on_open() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let wal = Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::Never)).expect("open");
        for i in 0..10 {
            wal.append(&[&rec(i)]).expect("append");
        }
    }
    let seg = segments(dir.path()).pop().expect("segment");
    let len = fs::metadata(&seg).expect("meta").len();
    // Cut the last record in half, as a crash mid-write would.
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .expect("open seg")
        .set_len(len - 5)
        .expect("truncate");
    let (got, errs) = read_all(dir.path());
    assert_eq!(got.len(), 9);
    match errs.as_slice() {
        [WalError::Corrupt { path, offset, .. }] => {
            assert_eq!(path, &seg);
            assert!(*offset > 8);
        }
        other => panic!("expected one corruption, got {other:?}"),
    }
    let wal = Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::Never)).expect("reopen");
    let rep = wal.repaired().expect("repaired").clone();
    assert_eq!(rep.path, seg);
    wal.append(&[b"new"]).expect("append");
    let (got, errs) = read_all(dir.path());
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(got.len(), 10);
    assert_eq!(got.last().map(Vec::as_slice), Some(&b"new"[..]));
}

#[test]
fn torn_header_is_rewritten() {
    let dir = tempfile::tempdir().expect("tmp");
    drop(Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::Never)).expect("open"));
    let seg = segments(dir.path()).pop().expect("segment");
    fs::write(&seg, b"VW").expect("tear header");
    let wal = Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::Never)).expect("reopen");
    assert!(wal.repaired().is_some());
    wal.append(&[b"x"]).expect("append");
    let (got, errs) = read_all(dir.path());
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(got, vec![b"x".to_vec()]);
}

#[test]
fn damage_in_an_earlier_segment_skips_only_its_rest() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let wal = Wal::open(dir.path(), opts(200, FsyncPolicy::Never)).expect("open");
        for i in 0..40 {
            wal.append(&[&rec(i)]).expect("append");
        }
    }
    let segs = segments(dir.path());
    assert!(segs.len() >= 4);
    let victim = &segs[1];
    let mut bytes = fs::read(victim).expect("read");
    let at = bytes.len() - 3;
    bytes[at] ^= 0xff;
    fs::write(victim, &bytes).expect("write");
    let (got, errs) = read_all(dir.path());
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(matches!(&errs[0], WalError::Corrupt { path, .. } if path == victim));
    // Exactly the damaged record is lost (it was the last of its segment).
    assert_eq!(got.len(), 39);
    // Opening for write leaves earlier segments alone.
    let wal = Wal::open(dir.path(), opts(200, FsyncPolicy::Never)).expect("reopen");
    assert!(wal.repaired().is_none());
}

#[test]
fn checkpoint_replaces_old_segments() {
    let dir = tempfile::tempdir().expect("tmp");
    let wal = Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::Always)).expect("open");
    for i in 0..5 {
        wal.append(&[&rec(i)]).expect("append");
    }
    let upto = wal.cut().expect("cut");
    wal.append(&[b"after-cut"]).expect("append");
    assert!(wal.checkpoint(wal.current_segment()).is_err());
    let mut cp = wal.checkpoint(upto).expect("checkpoint");
    cp.append(&[b"cp-1", b"cp-2"]).expect("cp append");
    let report = cp.commit().expect("commit");
    assert_eq!(report.upto, upto);
    assert_eq!(report.records, 2);
    assert!(report.segments_removed >= 1);
    let (got, errs) = read_all(dir.path());
    assert!(errs.is_empty());
    assert_eq!(
        got,
        vec![b"cp-1".to_vec(), b"cp-2".to_vec(), b"after-cut".to_vec()]
    );
    assert!(dir.path().join(format!("checkpoint.{upto:08}")).is_dir());
    // An abandoned checkpoint leaves nothing behind.
    let upto2 = wal.cut().expect("cut");
    let cp = wal.checkpoint(upto2).expect("checkpoint");
    drop(cp);
    let (got2, _) = read_all(dir.path());
    assert_eq!(got2, got);
    drop(wal);
    let wal = Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::Always)).expect("reopen");
    let (got3, errs) = read_all(wal.dir());
    assert!(errs.is_empty());
    assert_eq!(got3, got);
}

#[test]
fn fsync_policies() {
    let dir = tempfile::tempdir().expect("tmp");
    let seen = Arc::new(AtomicU64::new(0));
    let s2 = seen.clone();
    let o = WalOptions {
        max_segment_bytes: 1 << 20,
        fsync: FsyncPolicy::Interval(Duration::from_secs(3600)),
        on_fsync: Some(Arc::new(move |_| {
            s2.fetch_add(1, Ordering::Relaxed);
        })),
    };
    let wal = Wal::open(dir.path(), o).expect("open");
    for i in 0..10 {
        wal.append(&[&rec(i)]).expect("append");
    }
    // Within the interval nothing is synced by append (the segment creation does not count).
    assert_eq!(wal.stats().fsyncs, 0);
    wal.sync().expect("sync");
    assert_eq!(wal.stats().fsyncs, 1);
    assert_eq!(seen.load(Ordering::Relaxed), 1);
    drop(wal);

    let dir = tempfile::tempdir().expect("tmp");
    let wal = Wal::open(
        dir.path(),
        opts(1 << 20, FsyncPolicy::Interval(Duration::ZERO)),
    )
    .expect("open");
    for i in 0..5 {
        wal.append(&[&rec(i)]).expect("append");
    }
    assert_eq!(wal.stats().fsyncs, 5);

    let dir = tempfile::tempdir().expect("tmp");
    let wal = Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::Never)).expect("open");
    wal.append(&[b"x"]).expect("append");
    assert_eq!(wal.stats().fsyncs, 0);
    let st = wal.stats();
    assert_eq!(st.records_written, 1);
    assert_eq!(st.bytes_written, 9);
}

#[test]
fn group_commit_shares_fsyncs() {
    let dir = tempfile::tempdir().expect("tmp");
    let wal = Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::Always)).expect("open");
    let threads = 8;
    let per = 50;
    std::thread::scope(|s| {
        for t in 0..threads {
            let wal = &wal;
            s.spawn(move || {
                for i in 0..per {
                    wal.append(&[format!("{t}-{i}").as_bytes()])
                        .expect("append");
                }
            });
        }
    });
    let st = wal.stats();
    assert!(st.fsyncs >= 1);
    assert!(st.fsyncs <= (threads * per) as u64);
    let (got, errs) = read_all(dir.path());
    assert!(errs.is_empty());
    assert_eq!(got.len(), threads * per);
    // Per-thread order is preserved.
    for t in 0..threads {
        let mine: Vec<_> = got
            .iter()
            .filter_map(|r| std::str::from_utf8(r).ok())
            .filter(|r| r.starts_with(&format!("{t}-")))
            .map(str::to_owned)
            .collect();
        let want: Vec<_> = (0..per).map(|i| format!("{t}-{i}")).collect();
        assert_eq!(mine, want);
    }
}

#[test]
fn write_then_wait_syncs_after_the_callers_lock() {
    let dir = tempfile::tempdir().expect("tmp");
    let wal = Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::Always)).expect("open");
    let order = parking_lot::Mutex::new(0u32);
    // The caller orders its batches under its own lock and waits after releasing it.
    let written = {
        let mut n = order.lock();
        *n += 1;
        wal.write(&[b"first"]).expect("write")
    };
    assert_eq!(wal.stats().fsyncs, 0);
    wal.wait(written).expect("wait");
    assert_eq!(wal.stats().fsyncs, 1);
    // Already durable: waiting again costs nothing.
    wal.wait(written).expect("wait");
    assert_eq!(wal.stats().fsyncs, 1);
    let empty = wal.write(&[]).expect("empty write");
    wal.wait(empty).expect("wait");
    assert_eq!(wal.stats().fsyncs, 1);
    let (got, errs) = read_all(dir.path());
    assert!(errs.is_empty());
    assert_eq!(got, vec![b"first".to_vec()]);
}

#[test]
fn empty_and_foreign_files_are_ignored() {
    let dir = tempfile::tempdir().expect("tmp");
    fs::write(dir.path().join("README"), b"not a segment").expect("write");
    fs::create_dir(dir.path().join("checkpoint.00000003.tmp")).expect("mkdir");
    let wal = Wal::open(dir.path(), WalOptions::default()).expect("open");
    assert!(!dir.path().join("checkpoint.00000003.tmp").exists());
    wal.append(&[]).expect("empty append is a no-op");
    let (got, errs) = read_all(dir.path());
    assert!(got.is_empty() && errs.is_empty());
    assert!(wal.disk_bytes().expect("bytes") >= 8);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn prop_round_trip(
        batches in proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..4),
            1..30),
        max in 32u64..2000,
    ) {
        let dir = tempfile::tempdir().expect("tmp");
        let wal = Wal::open(dir.path(), opts(max, FsyncPolicy::Never)).expect("open");
        let mut want = Vec::new();
        for b in &batches {
            let refs: Vec<&[u8]> = b.iter().map(Vec::as_slice).collect();
            wal.append(&refs).expect("append");
            want.extend(b.iter().cloned());
        }
        let (got, errs) = read_all(dir.path());
        prop_assert!(errs.is_empty());
        prop_assert_eq!(got, want);
    }

    #[test]
    fn prop_damage_never_panics_and_yields_a_subsequence(
        n in 1usize..40,
        max in 64u64..600,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<bool>()), 1..4),
    ) {
        let dir = tempfile::tempdir().expect("tmp");
        let mut want = Vec::new();
        {
            let wal = Wal::open(dir.path(), opts(max, FsyncPolicy::Never)).expect("open");
            for i in 0..n {
                let r = rec(i);
                wal.append(&[&r]).expect("append");
                want.push(r);
            }
        }
        let segs = segments(dir.path());
        let mut changed = false;
        for (idx, byte, truncate) in &edits {
            let seg = idx.get(&segs);
            let mut bytes = fs::read(seg).expect("read");
            if bytes.is_empty() { continue; }
            let at = idx.index(bytes.len());
            if *truncate {
                bytes.truncate(at);
                changed = true;
            } else if bytes[at] != *byte {
                bytes[at] = *byte;
                changed = true;
            }
            fs::write(seg, &bytes).expect("write");
        }
        let (got, errs) = read_all(dir.path());
        // Every record read is an original one, in the original order.
        let mut it = want.iter();
        for g in &got {
            prop_assert!(it.any(|w| w == g), "record not in order: {:?}", g);
        }
        if changed {
            prop_assert!(!errs.is_empty() || got.len() < want.len() || got == want);
        }
        // Opening for write after damage works, and new records are readable.
        let wal = Wal::open(dir.path(), opts(max, FsyncPolicy::Never)).expect("reopen");
        wal.append(&[b"fresh"]).expect("append");
        let (got2, _) = read_all(dir.path());
        prop_assert_eq!(got2.last().map(Vec::as_slice), Some(&b"fresh"[..]));
    }
}
