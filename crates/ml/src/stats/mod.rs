//! Drift statistics, written to reproduce scipy 1.17 and Evidently 0.7 number for number.
//!
//! Owns: the two-sample tests and distances (KS, χ², Z, Anderson-Darling, PSI, KL,
//! Jensen-Shannon, Hellinger, Wasserstein), Evidently's binning, and the special functions
//! behind their p-values. Each function takes cleaned data (nulls already dropped): sorted
//! slices for numerical samples ([`sample::clean_sorted`]) so that a column is sorted once and
//! every statistic shares it, and aligned per-value counts for categorical ones. Each returns
//! `None` where the incumbent raises (an empty window) and otherwise what scipy returns,
//! NaN included (χ² with one category), so conformance can be tested value for value.
//!
//! Does not own: choosing a method, thresholds and directions, nulls, turning scipy's NaN into a
//! defined score, or serialisation; that is [`crate::drift`].
//!
//! Shaped as one file per job so that each can be read beside the upstream function it mirrors
//! (named in each module's docs).

pub mod anderson;
pub mod binning;
pub mod chisquare;
pub mod distance;
pub mod kolmogorov;
pub mod ks;
pub mod sample;
pub mod special;
pub mod ztest;

pub use anderson::{anderson_ksamp_sorted, AndersonDarling};
pub use binning::{
    category_counts, evidently_numerical, sturges_pooled, uses_sturges, value_bins, Binned,
    BinningMode, CategoryCounts,
};
pub use chisquare::{chisquare_counts, ChiSquare};
pub use distance::{
    hellinger_counts, hellinger_sorted, jensenshannon, kl_div, psi, std_ddof0,
    wasserstein_norm_sorted, wasserstein_sorted,
};
pub use ks::{ks_2samp, ks_2samp_sorted, KsMethod, KsResult};
pub use sample::{clean_sorted, distinct_count, sort_f64, union_distinct_count};
pub use ztest::{z_test_counts, ZTest};
