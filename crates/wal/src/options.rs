use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// When the log calls fsync. See `docs/format/wal.md`, "Fsync policy".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync before `append` returns; concurrent appenders share one fsync (group commit).
    Always,
    /// `write(2)` before `append` returns; fsync at most once per interval, from `append` or
    /// `sync()`.
    Interval(Duration),
    /// `write(2)` only; fsync on explicit `sync()`.
    Never,
}

impl Default for FsyncPolicy {
    fn default() -> Self {
        FsyncPolicy::Interval(Duration::from_secs(1))
    }
}

/// Called with the duration of every fsync the log performs (e.g. to feed a histogram such as
/// `vigil_wal_fsync_duration_seconds`). Runs on the syncing thread; keep it cheap.
pub type FsyncObserver = Arc<dyn Fn(Duration) + Send + Sync>;

/// Options of [`crate::Wal::open`].
#[derive(Clone)]
pub struct WalOptions {
    /// A segment is closed and a new one started when a write would take it past this size.
    pub max_segment_bytes: u64,
    pub fsync: FsyncPolicy,
    /// Optional fsync latency observer.
    pub on_fsync: Option<FsyncObserver>,
}

/// Default segment size limit: 128 MiB.
pub const DEFAULT_MAX_SEGMENT_BYTES: u64 = 128 << 20;

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            max_segment_bytes: DEFAULT_MAX_SEGMENT_BYTES,
            fsync: FsyncPolicy::default(),
            on_fsync: None,
        }
    }
}

impl fmt::Debug for WalOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalOptions")
            .field("max_segment_bytes", &self.max_segment_bytes)
            .field("fsync", &self.fsync)
            .field("on_fsync", &self.on_fsync.as_ref().map(|_| "<fn>"))
            .finish()
    }
}
