//! Helpers shared by the crate's API tests.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use vigil_model::{Clock, Labels, MatchOp, Matcher, SystemClock};
use vigil_storage::{MetricSelect, SeriesData, TimeRange};
use vigil_tsdb::{FsyncPolicy, Tsdb, TsdbOptions, WalOptions};

pub fn opts() -> TsdbOptions {
    TsdbOptions {
        wal: WalOptions {
            fsync: FsyncPolicy::Never,
            ..WalOptions::default()
        },
        ..TsdbOptions::default()
    }
}

pub fn open(dir: &Path) -> Tsdb {
    Tsdb::open(dir, opts(), Arc::new(SystemClock)).expect("open")
}

pub fn open_with(dir: &Path, o: TsdbOptions, clock: Arc<dyn Clock>) -> Tsdb {
    Tsdb::open(dir, o, clock).expect("open")
}

pub fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).expect("labels")
}

pub use vigil_testkit::batch;

pub fn all() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Regex, "__name__", ".+").expect("matcher")]
}

pub fn select_all(db: &dyn MetricSelect, range: TimeRange) -> Vec<SeriesData> {
    db.select(&all(), range)
        .expect("select")
        .map(|s| s.expect("series"))
        .collect()
}

/// (labels, [(t, bits)]) for exact comparisons including NaNs.
pub fn snapshot(db: &dyn MetricSelect) -> Vec<(Labels, Vec<(i64, u64)>)> {
    select_all(db, TimeRange::all())
        .into_iter()
        .map(|s| {
            (
                s.labels,
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect()
}

/// Apparent size of everything under `dir` (like `du -sb`).
pub fn du(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let e = e.expect("entry");
        let m = e.metadata().expect("metadata");
        total += if m.is_dir() { du(&e.path()) } else { m.len() };
    }
    total
}
