//! Snapshots for the server's `/metrics` and for callers of `maintain`.

/// Counters and gauges of a [`crate::Tsdb`]. The server renders them (e.g.
/// `vigil_tsdb_head_series`, `vigil_tsdb_samples_appended_total`,
/// `vigil_tsdb_rejected_samples_total{reason}`, `vigil_wal_fsync_duration_seconds_{sum,count}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TsdbStats {
    pub head_series: u64,
    pub head_chunks: u64,
    /// Approximate heap bytes of head series data (chunks, buffers, series structs).
    pub head_bytes: u64,
    pub head_min_time: Option<i64>,
    pub head_max_time: Option<i64>,
    /// Samples stored (identical re-sends are not counted).
    pub samples_appended: u64,
    pub ooo_samples_appended: u64,
    pub rejected_too_old: u64,
    pub rejected_duplicate: u64,
    pub rejected_invalid_series: u64,
    pub rejected_series_limit: u64,
    pub series_created: u64,
    pub series_removed: u64,
    pub blocks: u64,
    pub block_bytes: u64,
    /// Approximate resident bytes of loaded block indexes.
    pub block_index_bytes: u64,
    pub wal_bytes: u64,
    pub wal_bytes_written: u64,
    pub wal_fsyncs: u64,
    pub wal_fsync_seconds: f64,
    pub blocks_written: u64,
    pub compactions: u64,
    pub compaction_failures: u64,
    pub retention_blocks_deleted: u64,
    pub checkpoints: u64,
    /// Damaged WAL files or torn tails found (on open and replay).
    pub wal_corruptions: u64,
    /// Samples dropped on replay because their series record was missing.
    pub wal_unknown_ref_samples: u64,
    /// Block directories that failed to load on open (left in place, ignored).
    pub corrupt_blocks: u64,
}

/// What one [`crate::Tsdb::maintain`] (or [`crate::Tsdb::flush_head`]) call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintainReport {
    pub blocks_written: usize,
    pub samples_persisted: u64,
    pub head_series_removed: usize,
    pub compactions: usize,
    pub retention_blocks_deleted: usize,
    pub wal_segments_removed: usize,
}
