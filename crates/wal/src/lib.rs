//! A segmented append-only log of opaque records.
//!
//! Owns: segment files in one directory (numbered, size-limited), record framing with length and
//! CRC-32 (torn writes and damage are detected, reported with file and offset, and a torn tail is
//! cut on open), the fsync policy with group commit, replay through [`WalReader`], checkpoints
//! that replace old segments, and the crash-safe replacement of a small whole file
//! ([`write_atomic`]). The byte layout is specified in `docs/format/wal.md`.
//!
//! Does not own: what a record means. The metric store (`vigil-tsdb`) defines its series and
//! sample records and decides what goes into a checkpoint; this crate only stores bytes. It
//! depends on nothing else of Vigil's, so its error kind is its own [`WalErrorKind`].
//!
//! Shape: one writer type, [`Wal`], shared by reference between appending threads. Appends take a
//! short lock to `write(2)` a whole batch; durability waits happen outside that lock so that
//! concurrent appenders with [`FsyncPolicy::Always`] share one fsync. A caller that orders its
//! batches under a lock of its own splits `append` into [`Wal::write`] (under its lock) and
//! [`Wal::wait`] (after releasing it) to keep that sharing. No threads are spawned; the
//! `Interval` policy syncs from whichever `append` or [`Wal::sync`] call finds the interval
//! elapsed (measured with `std::time::Instant`, which is monotonic and not data time).

mod atomic;
mod checkpoint;
mod error;
mod options;
mod reader;
mod segment;
mod writer;

pub use atomic::write_atomic;
pub use checkpoint::{CheckpointReport, CheckpointWriter};
pub use error::{WalError, WalErrorKind};
pub use options::{FsyncObserver, FsyncPolicy, WalOptions, DEFAULT_MAX_SEGMENT_BYTES};
pub use reader::{Record, WalReader};
pub use segment::MAX_RECORD_BYTES;
pub use writer::{Repair, Wal, WalStats, Written};
