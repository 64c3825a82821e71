//! The storage boundary.
//!
//! Owns: the traits every metric store implements ([`MetricAppend`], [`MetricSelect`], and their
//! sum [`MetricStore`]), the value types that cross the boundary ([`AppendOutcome`],
//! [`SeriesData`], [`TsdbStatus`]), and [`MemStore`], a small in-memory reference backend that
//! defines the expected behaviour for tests.
//!
//! Does not own: any concrete engine. Query, rules and HTTP code see only these traits, so the
//! embedded TSDB and a later cluster backend are interchangeable (see ARCHITECTURE.md,
//! "Embedded by default, pluggable below").
//!
//! Semantics every implementation shares (the conformance suite in `vigil-testkit` checks them):
//! - a sample whose timestamp already exists in its series with the bit-identical value is
//!   ignored; with a different value it is rejected as [`RejectReason::Duplicate`];
//! - a sample older than the store's out-of-order window (measured back from the newest sample
//!   the store has seen) is rejected as [`RejectReason::TooOld`];
//! - rejected samples never fail the rest of the batch: the outcome counts them;
//! - `select` yields series sorted by label set, samples sorted by time, within the range
//!   (both ends inclusive).

mod error;
mod mem;
mod traits;

pub use error::StorageError;
pub use mem::MemStore;
pub use traits::{
    AppendOutcome, MetricAppend, MetricSelect, MetricStore, RejectReason, SeriesData, SeriesSet,
    TimeRange, TsdbStatus, ValueCount,
};
