//! The embedded TSDB passes the storage conformance suite.

use std::sync::Arc;

use vigil_model::{Batch, Labels, Matcher, SystemClock};
use vigil_storage::{
    AppendOutcome, MetricAppend, MetricSelect, MetricStore, SeriesSet, StorageError, TimeRange,
    TsdbStatus,
};
use vigil_testkit::{run_metric_store_conformance, ConformanceConfig};
use vigil_tsdb::{FsyncPolicy, Tsdb, TsdbOptions, WalOptions};

/// A Tsdb that owns its temporary directory.
struct TempTsdb {
    db: Tsdb,
    _dir: tempfile::TempDir,
}

impl MetricAppend for TempTsdb {
    fn append(&self, batch: &Batch) -> Result<AppendOutcome, StorageError> {
        self.db.append(batch)
    }
}

impl MetricSelect for TempTsdb {
    fn select(&self, m: &[Matcher], r: TimeRange) -> Result<SeriesSet<'_>, StorageError> {
        self.db.select(m, r)
    }
    fn select_parts(
        &self,
        m: &[Matcher],
        r: TimeRange,
        parts: usize,
    ) -> Result<Vec<SeriesSet<'_>>, StorageError> {
        self.db.select_parts(m, r, parts)
    }
    fn series(&self, m: &[Matcher], r: TimeRange) -> Result<Vec<Labels>, StorageError> {
        self.db.series(m, r)
    }
    fn label_names(&self, m: &[Matcher], r: TimeRange) -> Result<Vec<String>, StorageError> {
        self.db.label_names(m, r)
    }
    fn label_values(
        &self,
        n: &str,
        m: &[Matcher],
        r: TimeRange,
    ) -> Result<Vec<String>, StorageError> {
        self.db.label_values(n, m, r)
    }
    fn status(&self, limit: usize) -> Result<TsdbStatus, StorageError> {
        self.db.status(limit)
    }
}

impl MetricStore for TempTsdb {
    fn flush(&self) -> Result<(), StorageError> {
        self.db.flush()
    }
}

#[test]
fn tsdb_conforms() {
    let cfg = ConformanceConfig::default();
    let window = cfg.ooo_window_ms;
    run_metric_store_conformance(&cfg, &|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = TsdbOptions {
            ooo_window_ms: window,
            wal: WalOptions {
                fsync: FsyncPolicy::Never,
                ..WalOptions::default()
            },
            ..TsdbOptions::default()
        };
        let db = Tsdb::open(dir.path(), opts, Arc::new(SystemClock)).expect("open");
        Arc::new(TempTsdb { db, _dir: dir }) as Arc<dyn MetricStore>
    });
}
