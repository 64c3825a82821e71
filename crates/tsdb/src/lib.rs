//! The embedded metric store.
//!
//! Owns: the head (in-memory series with Gorilla XOR chunks and an out-of-order buffer, sharded
//! for concurrent appenders, labels interned), its use of the WAL (series and sample records,
//! replay on open, checkpoints), postings for label matchers, immutable blocks on disk (decimal /
//! delta / bit-packed chunks in zstd pages, an index of symbols, series and postings),
//! compaction, and retention. [`Tsdb`] implements `vigil_storage::MetricStore`.
//!
//! Does not own: the WAL's framing and fsync policy (`vigil-wal`), what a metric name means, or
//! any HTTP/metrics exposition (the server renders [`TsdbStats`]). No threads are spawned and no
//! async runtime is used: the server calls [`Tsdb::maintain`] periodically from a blocking thread;
//! time for retention comes from the injected `vigil_model::Clock`.
//!
//! Shape, and why:
//! - the append path costs one shard lock per series, a hash lookup without allocation and one
//!   WAL write per batch, because the workload is remote_write with one sample per series per
//!   request;
//! - blocks use a decimal encoding rather than XOR because counters and fixed-decimal gauges
//!   become small integer deltas that bit-pack to ~1 byte per sample (XOR leaves 2-4), with XOR
//!   and raw exceptions keeping every f64 bit-exact;
//! - persistence removes exactly what it copied, so appends (including out-of-order ones) can
//!   continue while a block is being written.
//!
//! On-disk formats: `docs/format/wal.md`, `docs/format/chunks.md`, `docs/format/block.md`.

mod block;
pub mod chunkenc;
mod compact;
mod db;
mod error;
mod head;
mod labels;
mod options;
mod postings;
mod stats;
mod walrec;

pub use block::BlockMeta;
pub use db::Tsdb;
pub use error::TsdbError;
pub use options::{TsdbOptions, DAY_MS, HOUR_MS};
pub use stats::{MaintainReport, TsdbStats};
pub use vigil_wal::{FsyncPolicy, WalOptions};
