//! Dev-only test support.
//!
//! Owns: the metric store conformance suite ([`conformance`]), which every implementation of the
//! storage traits must pass (MemStore and the embedded TSDB run it in their own test crates), and
//! [`workload`], the benchmark's data shape rebuilt as batches for storage tests and benches.
//!
//! [`promqltest`] runs Prometheus's PromQL conformance scripts against any query engine.
//!
//! [`rng`] is the seeded generator benches and tests draw synthetic data from.
//!
//! Does not own: any store. It depends only on the model and the storage traits, so that a new
//! backend proves itself against the same scenarios.

pub mod conformance;
pub mod promqltest;
pub mod rng;
pub mod workload;

pub use conformance::{batch, run_metric_store_conformance, ConformanceConfig, StoreFactory};
pub use workload::{Workload, WorkloadConfig};
