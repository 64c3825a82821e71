//! Durability: everything acknowledged is there after the store is dropped without `close`, and
//! after the process is killed with SIGKILL mid-stream.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use vigil_model::STALE_NAN;
use vigil_storage::{MetricAppend, MetricStore};
use vigil_testkit::{Workload, WorkloadConfig};

#[test]
fn drop_without_close_keeps_everything() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = l(&[("__name__", "a")]);
    let b = l(&[("__name__", "b"), ("x", "1")]);
    let want;
    {
        let db = open(dir.path());
        db.append(&batch(&[
            (
                a.clone(),
                vec![(1000, 1.0), (2000, STALE_NAN), (3000, -0.0)],
            ),
            (b.clone(), vec![(1500, f64::NAN)]),
        ]))
        .expect("append");
        // Out of order, and a series created by a later batch.
        db.append(&batch(&[
            (a.clone(), vec![(500, 0.5)]),
            (b.clone(), vec![(2500, 2.5)]),
        ]))
        .expect("append");
        want = snapshot(&db);
    }
    let db = open(dir.path());
    assert_eq!(snapshot(&db), want);
    // And again after a flush plus more appends.
    db.flush().expect("flush");
    db.append(&batch(&[(a.clone(), vec![(4000, 4.0)])]))
        .expect("append");
    let want = snapshot(&db);
    drop(db);
    let db = open(dir.path());
    assert_eq!(snapshot(&db), want);
    assert_eq!(db.stats().wal_corruptions, 0);
}

#[test]
fn replay_of_many_series_and_checkpoints() {
    let dir = tempfile::tempdir().expect("tmp");
    let w = Workload::new(WorkloadConfig {
        series: 2000,
        ..WorkloadConfig::default()
    });
    let want;
    {
        let db = open(dir.path());
        for b in w.batches(30, 700) {
            db.append(&b).expect("append");
        }
        // Flush (blocks + checkpoint) mid-way, then keep appending into the new WAL segment.
        db.flush().expect("flush");
        for b in w.batches(31, 700).skip(30 * w.series_count().div_ceil(700)) {
            db.append(&b).expect("append");
        }
        want = snapshot(&db);
    }
    let db = open(dir.path());
    assert_eq!(snapshot(&db), want);
}

const CHILD_ENV: &str = "VIGIL_TSDB_KILL_CHILD_DIR";

/// Run in a child process by `kill_9_loses_nothing_acknowledged`: appends batches forever,
/// printing `acked N` after each successful append. Does nothing in a normal test run.
#[test]
fn kill_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let db = open(std::path::Path::new(&dir));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n: i64 = 0;
    while Instant::now() < deadline {
        let s: Vec<_> = (0..20)
            .map(|i| {
                (
                    l(&[("__name__", "k"), ("i", &i.to_string())]),
                    vec![(n * 1000, n as f64)],
                )
            })
            .collect();
        db.append(&batch(&s)).expect("append");
        println!("acked {n}");
        n += 1;
    }
}

#[test]
fn kill_9_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tmp");
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "kill_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acked = -1i64;
    while acked < 300 && Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(n) = line.strip_prefix("acked ") {
                    acked = n.trim().parse().unwrap_or(acked);
                }
            }
            _ => break,
        }
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert!(acked >= 300, "child acknowledged only {acked} batches");
    let db = open(dir.path());
    let got = select_all(&db, vigil_storage::TimeRange::all());
    assert_eq!(got.len(), 20);
    for s in &got {
        // Every acknowledged step is there, in order, with no gaps.
        assert!(
            s.samples.len() as i64 > acked,
            "{} has {} samples, acked {acked}",
            s.labels,
            s.samples.len()
        );
        for (i, x) in s.samples.iter().enumerate() {
            assert_eq!((x.t, x.v), (i as i64 * 1000, i as f64));
        }
    }
}
