use vigil_wal::WalOptions;

use crate::TsdbError;

/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Options of [`crate::Tsdb::open`].
#[derive(Debug, Clone)]
pub struct TsdbOptions {
    /// Samples older than a series' newest one are accepted when they are at most this much
    /// older than the newest sample of the whole store. Default 1 h.
    pub ooo_window_ms: i64,
    /// Blocks whose newest sample is older than now minus this are deleted. Default 15 d.
    pub retention_time_ms: i64,
    /// When non-zero, the oldest blocks are deleted until blocks + WAL fit. Default 0 (off).
    pub retention_size_bytes: u64,
    /// Time range of blocks cut from the head; compaction merges into 3x, 9x, ... ranges up to
    /// 10% of the retention time or 31 days. Default 2 h.
    pub block_range_ms: i64,
    /// The write-ahead log: segment size and fsync policy.
    pub wal: WalOptions,
    /// Most series the head may hold; further new series are rejected. 0 = unlimited.
    pub max_series: usize,
}

impl Default for TsdbOptions {
    fn default() -> Self {
        TsdbOptions {
            ooo_window_ms: HOUR_MS,
            retention_time_ms: 15 * DAY_MS,
            retention_size_bytes: 0,
            block_range_ms: 2 * HOUR_MS,
            wal: WalOptions::default(),
            max_series: 0,
        }
    }
}

impl TsdbOptions {
    /// # Errors
    /// The first option out of range.
    pub fn validate(&self) -> Result<(), TsdbError> {
        if self.block_range_ms <= 0 {
            return Err(TsdbError::InvalidOptions {
                name: "block_range_ms",
                reason: format!("must be positive, got {}", self.block_range_ms),
            });
        }
        if self.ooo_window_ms < 0 {
            return Err(TsdbError::InvalidOptions {
                name: "ooo_window_ms",
                reason: format!("must not be negative, got {}", self.ooo_window_ms),
            });
        }
        if self.retention_time_ms <= 0 {
            return Err(TsdbError::InvalidOptions {
                name: "retention_time_ms",
                reason: format!("must be positive, got {}", self.retention_time_ms),
            });
        }
        if self.wal.max_segment_bytes < 4096 {
            return Err(TsdbError::InvalidOptions {
                name: "wal.max_segment_bytes",
                reason: format!("must be at least 4096, got {}", self.wal.max_segment_bytes),
            });
        }
        Ok(())
    }

    /// The compaction ranges: block range times 1, 3, 9, ... up to the limit.
    pub(crate) fn compaction_ranges(&self) -> Vec<i64> {
        let limit = (self.retention_time_ms / 10)
            .min(31 * DAY_MS)
            .max(self.block_range_ms);
        let mut out = vec![self.block_range_ms];
        let mut r = self.block_range_ms;
        while let Some(next) = r.checked_mul(3) {
            if next > limit {
                break;
            }
            out.push(next);
            r = next;
        }
        out
    }
}
