//! The out-of-order window, duplicates and limits as the store's own counters see them, across
//! cuts, flushes and reopens.

mod common;

use std::sync::Arc;

use common::*;
use vigil_model::{Labels, ManualClock, SystemClock};
use vigil_storage::{MetricAppend, MetricStore, RejectReason, TimeRange};
use vigil_tsdb::{TsdbOptions, HOUR_MS};

fn count(o: &vigil_storage::AppendOutcome, r: RejectReason) -> usize {
    o.rejected
        .iter()
        .filter(|(x, _)| *x == r)
        .map(|(_, n)| *n)
        .sum()
}

#[test]
fn window_accept_reject_duplicate_and_counters() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = open(dir.path());
    let a = l(&[("__name__", "m")]);
    let t = 10 * HOUR_MS;
    db.append(&batch(&[(a.clone(), vec![(t, 1.0)])]))
        .expect("append");
    let o = db
        .append(&batch(&[(
            a.clone(),
            vec![
                (t - HOUR_MS, 2.0),     // exactly at the window edge: accepted
                (t - HOUR_MS - 1, 3.0), // just outside: too old
                (t - 30_000, 4.0),      // out of order: accepted
                (t - 30_000, 4.0),      // identical: no-op, accepted
                (t - 30_000, 5.0),      // duplicate
                (t, 1.0),               // identical to the newest: accepted
                (t, 9.0),               // duplicate of the newest
            ],
        )]))
        .expect("append");
    assert_eq!(o.accepted, 4, "{o:?}");
    assert_eq!(count(&o, RejectReason::TooOld), 1);
    assert_eq!(count(&o, RejectReason::Duplicate), 2);
    let st = db.stats();
    assert_eq!(st.samples_appended, 3);
    assert_eq!(st.ooo_samples_appended, 2);
    assert_eq!((st.rejected_too_old, st.rejected_duplicate), (1, 2));
    let got = select_all(&db, TimeRange::all());
    let ts: Vec<i64> = got[0].samples.iter().map(|s| s.t).collect();
    assert_eq!(ts, vec![t - HOUR_MS, t - 30_000, t]);
}

#[test]
fn out_of_order_data_survives_cuts_checkpoints_and_reopen() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = Arc::new(ManualClock::new(0));
    let o = TsdbOptions {
        block_range_ms: HOUR_MS,
        ooo_window_ms: HOUR_MS,
        retention_time_ms: 1000 * HOUR_MS,
        ..opts()
    };
    let db = open_with(dir.path(), o.clone(), clock.clone());
    let a = l(&[("__name__", "m"), ("s", "a")]);
    // In-order every minute for 4 hours, then late samples between the minutes of the last
    // hour, then maintain (cuts the old hours, checkpoints the head with its OOO buffer).
    let inorder: Vec<(i64, f64)> = (0..240).map(|m| (m * 60_000, m as f64)).collect();
    db.append(&batch(&[(a.clone(), inorder)])).expect("append");
    let late: Vec<(i64, f64)> = (181..239)
        .map(|m| (m * 60_000 + 30_000, -(m as f64)))
        .collect();
    let o1 = db.append(&batch(&[(a.clone(), late)])).expect("append");
    assert_eq!(o1.accepted, 58);
    let rep = db.maintain().expect("maintain");
    assert!(rep.blocks_written >= 1, "{rep:?}");
    let want = snapshot(&db);
    assert_eq!(want[0].1.len(), 298);
    drop(db);
    let db = open_with(dir.path(), o.clone(), clock.clone());
    assert_eq!(snapshot(&db), want, "after reopen from blocks + checkpoint");
    db.flush().expect("flush");
    drop(db);
    let db = open_with(dir.path(), o, clock);
    assert_eq!(snapshot(&db), want, "after flush and reopen");
    // The window is measured from the newest sample, which now lives in a block.
    let late = db
        .append(&batch(&[(
            a.clone(),
            vec![(239 * 60_000 - HOUR_MS - 1, 0.0)],
        )]))
        .expect("append");
    assert_eq!(count(&late, RejectReason::TooOld), 1);
    let dup = db
        .append(&batch(&[(
            a.clone(),
            vec![(239 * 60_000, 1.0), (238 * 60_000, 238.0)],
        )]))
        .expect("append");
    assert_eq!(
        (dup.accepted, count(&dup, RejectReason::Duplicate)),
        (1, 1),
        "checked against blocks"
    );
}

#[test]
fn series_limit_and_invalid_series() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = TsdbOptions {
        max_series: 2,
        ..opts()
    };
    let db = open_with(dir.path(), o, Arc::new(SystemClock));
    let mk = |i: i32| l(&[("__name__", "m"), ("i", &i.to_string())]);
    let out = db
        .append(&batch(&[
            (mk(1), vec![(1, 1.0)]),
            (mk(2), vec![(1, 1.0)]),
            (mk(3), vec![(1, 1.0), (2, 2.0)]),
            (Labels::empty(), vec![(1, 1.0)]),
            (mk(1), vec![(2, 1.0)]),
        ]))
        .expect("append");
    assert_eq!(out.accepted, 3);
    assert_eq!(out.new_series, 2);
    assert_eq!(count(&out, RejectReason::SeriesLimit), 2);
    assert_eq!(count(&out, RejectReason::InvalidSeries), 1);
    let st = db.stats();
    assert_eq!(
        (st.rejected_series_limit, st.rejected_invalid_series),
        (2, 1)
    );
    assert_eq!(st.head_series, 2);
    // After a flush frees the head, new series fit again.
    db.flush().expect("flush");
    let out = db
        .append(&batch(&[(mk(3), vec![(5, 1.0)])]))
        .expect("append");
    assert_eq!(out.new_series, 1);
}
