//! Numeric kernels of PromQL's functions and aggregations, free of AST and storage types: they
//! take samples or values and return numbers. Semantics follow Prometheus's `promql` package
//! exactly (extrapolation, Kahan summation, quantile interpolation, bucket handling), because
//! upstream's test scripts check results to the last few bits.

pub(crate) mod buckets;
pub(crate) mod date;
pub(crate) mod kahan;
pub(crate) mod natsort;
pub(crate) mod rate;
pub(crate) mod stats;
