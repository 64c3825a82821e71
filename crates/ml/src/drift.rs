//! Per-column and dataset drift: which test runs, with which threshold and direction, and what
//! a window that cannot be tested yields.
//!
//! Owns: [`Method`] (Evidently's stat-test names, defaults and decision rules), Evidently's
//! automatic choice ([`auto_method`]), [`column_drift`] and [`dataset_drift`], and the
//! serialisable results the server writes as series and shows in the UI.
//!
//! Does not own: the statistics themselves ([`crate::stats`]), where windows come from, or how
//! results are stored.
//!
//! Shaped around one rule: a score is a number or absent, never NaN. Where Evidently raises
//! (an empty window) the result carries an `error` and no score; where scipy returns NaN or
//! raises for a defined situation (a single category for χ², a single value for
//! Anderson-Darling) the score is fixed by rule and documented in `docs/ml.md`.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use serde::Serialize;

use crate::column::{Column, ColumnKind, Values};
use crate::stats::{self, Binned};

/// Evidently uses the small-sample tests up to this many cleaned reference values.
pub const AUTO_SMALL_REFERENCE: usize = 1000;

/// A drift method, named as Evidently names its stat tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Method {
    /// Evidently's automatic choice ([`auto_method`]).
    #[default]
    Auto,
    /// Two-sample Kolmogorov-Smirnov p-value (numerical).
    Ks,
    /// Pearson's χ² p-value, current counts against scaled reference counts.
    ChiSquare,
    /// Two-proportion Z-test p-value ("smallest value" against the rest).
    Z,
    /// Wasserstein distance normed by the reference's standard deviation (numerical).
    Wasserstein,
    /// Population stability index.
    Psi,
    /// Jensen-Shannon distance (natural log).
    JensenShannon,
    /// Kullback-Leibler divergence KL(reference ‖ current).
    KlDiv,
    /// Hellinger distance.
    Hellinger,
    /// k-sample Anderson-Darling p-value (numerical), capped to [0.001, 0.25] as scipy does.
    Anderson,
}

/// Whether a score is a p-value (drift when small) or a distance (drift when large).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    /// A p-value.
    PValue,
    /// A distance or divergence.
    Distance,
}

impl Method {
    /// Every method, `Auto` first.
    pub const ALL: [Method; 10] = [
        Method::Auto,
        Method::Ks,
        Method::ChiSquare,
        Method::Z,
        Method::Wasserstein,
        Method::Psi,
        Method::JensenShannon,
        Method::KlDiv,
        Method::Hellinger,
        Method::Anderson,
    ];

    /// Evidently's name for the method (`ks`, `chisquare`, …, and `auto`).
    pub fn name(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Ks => "ks",
            Method::ChiSquare => "chisquare",
            Method::Z => "z",
            Method::Wasserstein => "wasserstein",
            Method::Psi => "psi",
            Method::JensenShannon => "jensenshannon",
            Method::KlDiv => "kl_div",
            Method::Hellinger => "hellinger",
            Method::Anderson => "anderson",
        }
    }

    /// Evidently's display name (`stattest_display_name`).
    pub fn display_name(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Ks => "K-S p_value",
            Method::ChiSquare => "chi-square p_value",
            Method::Z => "Z-test p_value",
            Method::Wasserstein => "Wasserstein distance (normed)",
            Method::Psi => "PSI",
            Method::JensenShannon => "Jensen-Shannon distance",
            Method::KlDiv => "Kullback-Leibler divergence",
            Method::Hellinger => "Hellinger distance",
            Method::Anderson => "Anderson-Darling",
        }
    }

    /// What the score is; `None` for `Auto`, which depends on the method it resolves to.
    pub fn score_kind(self) -> Option<ScoreKind> {
        match self {
            Method::Auto => None,
            Method::Ks | Method::ChiSquare | Method::Z | Method::Anderson => {
                Some(ScoreKind::PValue)
            }
            Method::Wasserstein
            | Method::Psi
            | Method::JensenShannon
            | Method::KlDiv
            | Method::Hellinger => Some(ScoreKind::Distance),
        }
    }

    /// Evidently's default threshold: 0.05 for KS, χ² and Z, 0.1 for Anderson-Darling and the
    /// distances; `None` for `Auto`.
    pub fn default_threshold(self) -> Option<f64> {
        match self {
            Method::Auto => None,
            Method::Ks | Method::ChiSquare | Method::Z => Some(0.05),
            _ => Some(0.1),
        }
    }

    /// Evidently's decision: KS drifts when `p ≤ threshold`, the other p-value tests when
    /// `p < threshold`, distances when `score ≥ threshold`. Always false for `Auto` and NaN.
    pub fn is_drift(self, score: f64, threshold: f64) -> bool {
        match self {
            Method::Auto => false,
            Method::Ks => score <= threshold,
            Method::ChiSquare | Method::Z | Method::Anderson => score < threshold,
            _ => score >= threshold,
        }
    }

    /// Whether the method applies to a column kind. KS, Wasserstein and Anderson-Darling need
    /// numbers; the others compare categories or bins and apply to both (Evidently itself uses
    /// χ² and Z on numerical columns with few values).
    pub fn applies_to(self, kind: ColumnKind) -> bool {
        match self {
            Method::Ks | Method::Wasserstein | Method::Anderson => kind == ColumnKind::Numerical,
            _ => true,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
                format!(
                    "unknown drift method {s:?}, expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl Serialize for Method {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Method {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Evidently's default test (`_get_default_stattest`) from the cleaned reference size and the
/// number of distinct non-null values of reference ∪ current.
///
/// Reference ≤ 1000 values: numerical with > 5 distinct → KS; numerical with 3–5 or
/// categorical with > 2 → χ²; ≤ 2 → Z. Larger references: numerical with > 5 distinct →
/// normed Wasserstein, otherwise Jensen-Shannon.
pub fn auto_method(kind: ColumnKind, n_reference_clean: usize, n_unique_union: usize) -> Method {
    let small = n_reference_clean <= AUTO_SMALL_REFERENCE;
    match (kind, small) {
        (ColumnKind::Numerical, true) if n_unique_union > 5 => Method::Ks,
        (ColumnKind::Numerical, false) if n_unique_union > 5 => Method::Wasserstein,
        (_, true) if n_unique_union > 2 => Method::ChiSquare,
        (_, true) => Method::Z,
        (_, false) => Method::JensenShannon,
    }
}

/// How to test one column.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DriftOptions {
    /// The method; `Auto` lets the data choose.
    pub method: Method,
    /// The threshold; `None` uses the resolved method's default.
    pub threshold: Option<f64>,
}

/// Counts per bin for a UI, flattened into [`ColumnDrift`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Histogram {
    /// Sturges bins over both windows pooled (`edges` has one more entry than each count list).
    Numerical {
        /// Bin edges; bin i is `[edges[i], edges[i+1])`, the last bin closed.
        edges: Vec<f64>,
        /// Reference count per bin.
        reference_counts: Vec<u64>,
        /// Current count per bin.
        current_counts: Vec<u64>,
    },
    /// One entry per category of either window, sorted by category.
    Categorical {
        /// The categories.
        categories: Vec<String>,
        /// Reference count per category.
        reference_counts: Vec<u64>,
        /// Current count per category.
        current_counts: Vec<u64>,
    },
}

/// Drift of one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDrift {
    /// The column's name.
    pub name: String,
    /// The reference column's kind: `"numerical"` or `"categorical"`.
    #[serde(rename = "type")]
    pub kind: ColumnKind,
    /// The method used (`Auto` resolved to a concrete one).
    pub method: Method,
    /// The p-value or distance; `None` (null) when `error` is set. Never NaN.
    pub score: Option<f64>,
    /// `"p_value"` or `"distance"`.
    pub score_kind: ScoreKind,
    /// The threshold applied.
    pub threshold: f64,
    /// The method's decision (false when there is no score).
    pub drift_detected: bool,
    /// Why there is no score, e.g. `empty_after_dropping_nulls: current window`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Reference rows, nulls included.
    pub n_reference: usize,
    /// Current rows, nulls included.
    pub n_current: usize,
    /// Reference rows with a value.
    pub n_reference_clean: usize,
    /// Current rows with a value.
    pub n_current_clean: usize,
    /// Counts for a UI; absent when both windows are empty or the kinds differ.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
}

/// The share of drifted columns and the dataset decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DatasetSummary {
    /// Columns tested (errors included).
    pub n_features: usize,
    /// Columns whose drift was detected.
    pub n_drifted: usize,
    /// `n_drifted / n_features`, 0 when there are no columns.
    pub share_drifted: f64,
    /// The share at which the dataset drifts.
    pub drift_share_threshold: f64,
    /// `share_drifted ≥ drift_share_threshold` (false when there are no columns).
    pub drift_detected: bool,
}

/// Drift of every column of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetDrift {
    /// Per-column results, in the reference's column order.
    pub features: Vec<ColumnDrift>,
    /// The dataset decision.
    pub dataset: DatasetSummary,
}

/// Rows of the two windows, with and without their missing values.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    reference: usize,
    current: usize,
    reference_clean: usize,
    current_clean: usize,
}

impl ColumnDrift {
    /// A result for `method` with no score yet.
    fn unscored(
        name: &str,
        kind: ColumnKind,
        method: Method,
        opts: &DriftOptions,
        sizes: Sizes,
    ) -> Self {
        ColumnDrift {
            name: name.to_string(),
            kind,
            method,
            score: None,
            score_kind: method.score_kind().unwrap_or(ScoreKind::PValue),
            threshold: opts
                .threshold
                .unwrap_or(method.default_threshold().unwrap_or(f64::NAN)),
            drift_detected: false,
            error: None,
            n_reference: sizes.reference,
            n_current: sizes.current,
            n_reference_clean: sizes.reference_clean,
            n_current_clean: sizes.current_clean,
            histogram: None,
        }
    }

    /// The first reason the column cannot be scored by its method, if any.
    fn precondition(&self) -> Option<String> {
        let empty = match (self.n_reference_clean == 0, self.n_current_clean == 0) {
            (true, true) => Some("reference and current windows"),
            (true, false) => Some("reference window"),
            (false, true) => Some("current window"),
            (false, false) => None,
        };
        if let Some(which) = empty {
            return Some(format!("empty_after_dropping_nulls: {which}"));
        }
        if !self.method.applies_to(self.kind) {
            return Some(format!(
                "method {} does not apply to {} columns",
                self.method,
                self.kind.name()
            ));
        }
        if !self.threshold.is_finite() {
            return Some(format!(
                "threshold must be a finite number, got {}",
                self.threshold
            ));
        }
        None
    }

    /// Sets the score and decision, or the error; a NaN score becomes an error.
    fn scored(mut self, score: Result<f64, String>) -> Self {
        match score {
            Ok(s) if s.is_nan() => self.error = Some("score is undefined for these values".into()),
            Ok(s) => {
                self.score = Some(s);
                self.drift_detected = self.method.is_drift(s, self.threshold);
            }
            Err(e) => self.error = Some(e),
        }
        self
    }
}

fn resolve(opts: &DriftOptions, kind: ColumnKind, n_ref_clean: usize, unique: usize) -> Method {
    match opts.method {
        Method::Auto => auto_method(kind, n_ref_clean, unique),
        m => m,
    }
}

/// Tests one column for drift between a reference and a current window.
///
/// Nulls (and non-finite numbers) are dropped first. No input makes it panic or return NaN:
/// an empty window, a kind mismatch, a method that does not apply to the kind, or a non-finite
/// threshold give a result with `error` set and no score.
pub fn column_drift(reference: &Column, current: &Column, opts: &DriftOptions) -> ColumnDrift {
    match (&reference.values, &current.values) {
        (Values::Numerical(r), Values::Numerical(c)) => numerical(&reference.name, r, c, opts),
        (Values::Categorical(r), Values::Categorical(c)) => {
            categorical(&reference.name, r, c, opts)
        }
        _ => unscored(
            reference,
            Some(current),
            opts,
            format!(
                "kind mismatch: reference is {}, current is {}",
                reference.kind().name(),
                current.kind().name()
            ),
        ),
    }
}

fn numerical(name: &str, r: &[Option<f64>], c: &[Option<f64>], opts: &DriftOptions) -> ColumnDrift {
    let (rs, cs) = rayon::join(|| stats::clean_sorted(r), || stats::clean_sorted(c));
    // Method choice only distinguishes ≤ 2, 3–5 and > 5 distinct values.
    let unique = stats::sample::union_distinct_count_up_to(&rs, &cs, 6);
    let method = resolve(opts, ColumnKind::Numerical, rs.len(), unique);
    let sizes = Sizes {
        reference: r.len(),
        current: c.len(),
        reference_clean: rs.len(),
        current_clean: cs.len(),
    };
    let mut out = ColumnDrift::unscored(name, ColumnKind::Numerical, method, opts, sizes);
    // The UI's histogram, and Evidently's PSI/KL/JS bins when the reference has > 20 distinct
    // values.
    let pooled = stats::sturges_pooled(&rs, &cs);
    let score = match out.precondition() {
        Some(e) => Err(e),
        None => numerical_score(method, &rs, &cs, &pooled, unique),
    };
    out.histogram = (!pooled.edges.is_empty()).then_some(Histogram::Numerical {
        edges: pooled.edges,
        reference_counts: pooled.reference,
        current_counts: pooled.current,
    });
    out.scored(score)
}

/// `method`'s score for two sorted, cleaned, non-empty windows; `pooled` is their Sturges
/// binning and `unique` their distinct values, counted up to 6.
fn numerical_score(
    method: Method,
    rs: &[f64],
    cs: &[f64],
    pooled: &Binned,
    unique: usize,
) -> Result<f64, String> {
    let score = match method {
        Method::Ks => stats::ks_2samp_sorted(rs, cs, stats::KsMethod::Auto).map(|k| k.pvalue),
        Method::Wasserstein => stats::wasserstein_norm_sorted(rs, cs),
        Method::Hellinger => stats::hellinger_sorted(rs, cs),
        // Evidently's bins ([`stats::evidently_numerical`]), reusing the pooled ones.
        Method::Psi | Method::KlDiv | Method::JensenShannon if stats::uses_sturges(rs) => {
            counts_score(method, &pooled.reference, &pooled.current)
        }
        // One bin per value: Evidently's PSI/KL/JS bins otherwise, and χ²/Z's counts always.
        Method::Psi | Method::KlDiv | Method::JensenShannon | Method::ChiSquare | Method::Z => {
            let bins = stats::value_bins(rs, cs);
            counts_score(method, &bins.reference, &bins.current)
        }
        Method::Anderson => match stats::anderson_ksamp_sorted(rs, cs) {
            Some(a) => Some(a.pvalue),
            // One value in both windows: no evidence of drift (scipy raises).
            None if unique == 1 => Some(1.0),
            None => return Err("anderson needs at least 3 non-null values in total".into()),
        },
        Method::Auto => None,
    };
    score.ok_or_else(|| format!("{method} could not be computed"))
}

fn categorical(
    name: &str,
    r: &[Option<String>],
    c: &[Option<String>],
    opts: &DriftOptions,
) -> ColumnDrift {
    let counts = stats::category_counts(r, c);
    // A window's counts add up to at most its length, a usize.
    let total = |counts: &[u64]| counts.iter().sum::<u64>() as usize;
    let sizes = Sizes {
        reference: r.len(),
        current: c.len(),
        reference_clean: total(&counts.reference),
        current_clean: total(&counts.current),
    };
    let method = resolve(
        opts,
        ColumnKind::Categorical,
        sizes.reference_clean,
        counts.categories.len(),
    );
    let mut out = ColumnDrift::unscored(name, ColumnKind::Categorical, method, opts, sizes);
    let score = match out.precondition() {
        Some(e) => Err(e),
        // KS, Wasserstein and Anderson-Darling are excluded by the precondition.
        None => counts_score(method, &counts.reference, &counts.current)
            .ok_or_else(|| format!("{method} could not be computed")),
    };
    out.histogram = (!counts.categories.is_empty()).then(|| Histogram::Categorical {
        categories: counts.categories.iter().map(|s| s.to_string()).collect(),
        reference_counts: counts.reference,
        current_counts: counts.current,
    });
    out.scored(score)
}

/// A score from per-bin counts aligned across the windows (categories, or bins of numbers):
/// PSI, KL, Jensen-Shannon, χ², Z, and the categorical Hellinger distance (numbers have their
/// own, [`stats::hellinger_sorted`]). `None` for the methods that need values.
///
/// χ² with a single value has no degrees of freedom (scipy: NaN); both windows then hold the
/// same single value, so the score is 1 as Evidently's Z-test defines it.
fn counts_score(method: Method, reference: &[u64], current: &[u64]) -> Option<f64> {
    match method {
        Method::Psi => stats::psi(reference, current),
        Method::KlDiv => stats::kl_div(reference, current),
        Method::JensenShannon => stats::jensenshannon(reference, current),
        Method::Hellinger => stats::hellinger_counts(reference, current),
        Method::ChiSquare => {
            stats::chisquare_counts(reference, current)
                .map(|x| if x.df == 0 { 1.0 } else { x.pvalue })
        }
        Method::Z => stats::z_test_counts(reference, current).map(|z| z.pvalue),
        Method::Ks | Method::Wasserstein | Method::Anderson | Method::Auto => None,
    }
}

/// A result with no score: kind mismatch or a column absent from the current window. The
/// method shown is what `Auto` picks from the reference alone.
fn unscored(
    reference: &Column,
    current: Option<&Column>,
    opts: &DriftOptions,
    error: String,
) -> ColumnDrift {
    let kind = reference.kind();
    // Method choice only distinguishes ≤ 2, 3–5 and > 5 distinct values.
    let (reference_clean, unique) = present_and_distinct(&reference.values, 6);
    let method = resolve(opts, kind, reference_clean, unique);
    let sizes = Sizes {
        reference: reference.len(),
        current: current.map_or(0, Column::len),
        reference_clean,
        current_clean: current.map_or(0, |c| present_and_distinct(&c.values, 0).0),
    };
    ColumnDrift::unscored(&reference.name, kind, method, opts, sizes).scored(Err(error))
}

/// A column's values that are present (finite, for numbers) and how many of them are
/// distinct, counting at most `limit`.
fn present_and_distinct(values: &Values, limit: usize) -> (usize, usize) {
    fn count<T: PartialEq>(items: impl Iterator<Item = T>, limit: usize) -> (usize, usize) {
        let mut seen = Vec::with_capacity(limit);
        let mut present = 0;
        for x in items {
            present += 1;
            if seen.len() < limit && !seen.contains(&x) {
                seen.push(x);
            }
        }
        (present, seen.len())
    }
    match values {
        // -0.0 == 0.0, as the cleaned samples have it.
        Values::Numerical(v) => count(v.iter().flatten().filter(|x| x.is_finite()), limit),
        Values::Categorical(v) => count(v.iter().flatten(), limit),
    }
}

/// Tests every reference column against the current column of the same name, in parallel, and
/// decides dataset drift as Evidently does: drift when the share of drifted columns is
/// `≥ drift_share`.
///
/// A column missing from the current window, or whose test cannot run, is listed with its
/// `error`, counts in `n_features` and counts as not drifted (Evidently instead fails the whole
/// report). Columns only in the current window are ignored. `opts` is called once per column,
/// with its name. Columns are taken owned or borrowed (`&[Column]` or `&[&Column]`).
pub fn dataset_drift<R: Borrow<Column>, C: Borrow<Column>>(
    reference: &[R],
    current: &[C],
    opts: impl Fn(&str) -> DriftOptions,
    drift_share: f64,
) -> DatasetDrift {
    let by_name: HashMap<&str, &Column> = current
        .iter()
        .map(|c| (c.borrow().name.as_str(), c.borrow()))
        .collect();
    let jobs: Vec<(&Column, Option<&Column>, DriftOptions)> = reference
        .iter()
        .map(Borrow::borrow)
        .map(|r: &Column| (r, by_name.get(r.name.as_str()).copied(), opts(&r.name)))
        .collect();
    let features: Vec<ColumnDrift> = jobs
        .par_iter()
        .map(|(r, c, o)| match c {
            Some(c) => column_drift(r, c, o),
            None => unscored(r, None, o, "column missing from the current window".into()),
        })
        .collect();
    let n_features = features.len();
    let n_drifted = features.iter().filter(|f| f.drift_detected).count();
    let share_drifted = if n_features == 0 {
        0.0
    } else {
        n_drifted as f64 / n_features as f64
    };
    DatasetDrift {
        features,
        dataset: DatasetSummary {
            n_features,
            n_drifted,
            share_drifted,
            drift_share_threshold: drift_share,
            drift_detected: n_features > 0 && share_drifted >= drift_share,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(name: &str, v: &[f64]) -> Column {
        Column::numerical(name, v.iter().map(|&x| Some(x)))
    }

    fn cat(name: &str, v: &[&str]) -> Column {
        Column::categorical(name, v.iter().map(|s| Some(s.to_string())))
    }

    #[test]
    fn method_names_round_trip() {
        for m in Method::ALL {
            assert_eq!(m.to_string().parse::<Method>(), Ok(m));
        }
        assert!("kolmogorov".parse::<Method>().is_err());
    }

    #[test]
    fn auto_choice_follows_evidently() {
        use ColumnKind::*;
        assert_eq!(auto_method(Numerical, 1000, 6), Method::Ks);
        assert_eq!(auto_method(Numerical, 1000, 5), Method::ChiSquare);
        assert_eq!(auto_method(Numerical, 1000, 2), Method::Z);
        assert_eq!(auto_method(Numerical, 1001, 6), Method::Wasserstein);
        assert_eq!(auto_method(Numerical, 1001, 5), Method::JensenShannon);
        assert_eq!(auto_method(Categorical, 10, 3), Method::ChiSquare);
        assert_eq!(auto_method(Categorical, 10, 1), Method::Z);
        assert_eq!(auto_method(Categorical, 5000, 50), Method::JensenShannon);
    }

    #[test]
    fn empty_and_all_null_windows_are_errors() {
        let r = num("x", &[1.0, 2.0, 3.0]);
        let c = Column::numerical("x", [None, Some(f64::NAN)]);
        let d = column_drift(&r, &c, &DriftOptions::default());
        assert_eq!(d.score, None);
        assert!(!d.drift_detected);
        assert_eq!(
            d.error.as_deref(),
            Some("empty_after_dropping_nulls: current window")
        );
        assert_eq!((d.n_current, d.n_current_clean), (2, 0));
        let d = column_drift(&num("x", &[]), &num("x", &[]), &DriftOptions::default());
        assert!(d.error.unwrap().contains("reference and current"));
        assert!(d.histogram.is_none());
    }

    #[test]
    fn constant_columns_have_finite_scores_for_every_method() {
        let r = num("x", &[3.0; 50]);
        let c = num("x", &[3.0; 40]);
        let rc = cat("x", &["a"; 50]);
        let cc = cat("x", &["a"; 40]);
        for method in Method::ALL {
            let opts = DriftOptions {
                method,
                threshold: None,
            };
            let d = column_drift(&r, &c, &opts);
            let s = d.score.unwrap();
            let want = match d.score_kind {
                ScoreKind::PValue => 1.0,
                ScoreKind::Distance => 0.0,
            };
            assert_eq!(s, want, "{method}");
            assert!(!d.drift_detected, "{method}");
            if method.applies_to(ColumnKind::Categorical) {
                let d = column_drift(&rc, &cc, &opts);
                assert!(d.score.unwrap().is_finite(), "{method}");
            }
        }
    }

    #[test]
    fn mismatches_are_errors_not_panics() {
        let d = column_drift(
            &num("x", &[1.0]),
            &cat("x", &["a"]),
            &DriftOptions::default(),
        );
        assert!(d.error.unwrap().starts_with("kind mismatch"));
        let ks = DriftOptions {
            method: Method::Ks,
            threshold: None,
        };
        let d = column_drift(&cat("x", &["a", "b"]), &cat("x", &["a"]), &ks);
        assert_eq!(
            d.error.as_deref(),
            Some("method ks does not apply to categorical columns")
        );
        let bad = DriftOptions {
            method: Method::Psi,
            threshold: Some(f64::NAN),
        };
        let d = column_drift(&num("x", &[1.0]), &num("x", &[2.0]), &bad);
        assert!(d.error.unwrap().starts_with("threshold"));
    }

    #[test]
    fn single_values_and_huge_numbers_do_not_break() {
        let opts = DriftOptions::default();
        let d = column_drift(&num("x", &[1.0]), &num("x", &[2.0]), &opts);
        assert!(d.score.is_some());
        let d = column_drift(
            &num("x", &[-f64::MAX, f64::MAX, 0.0, 1.0, 2.0, 3.0]),
            &num("x", &[f64::MAX, 5.0, 6.0, 7.0]),
            &opts,
        );
        assert!(d.score.is_some_and(|s| !s.is_nan()) || d.error.is_some());
        for method in Method::ALL {
            let o = DriftOptions {
                method,
                threshold: None,
            };
            let d = column_drift(
                &num("x", &[-f64::MAX, f64::MAX, 1.0]),
                &num("x", &[f64::MAX, -f64::MAX]),
                &o,
            );
            assert!(d.score.is_none_or(|s| !s.is_nan()), "{method}");
        }
    }

    proptest::proptest! {
        /// Any values, any method: no panic, and a score is never NaN.
        #[test]
        fn never_panics_never_nan(
            r in proptest::collection::vec(proptest::option::of(proptest::num::f64::ANY), 0..40),
            c in proptest::collection::vec(proptest::option::of(proptest::num::f64::ANY), 0..40),
            rc in proptest::collection::vec(proptest::option::of("[a-c]{0,2}"), 0..40),
            cc in proptest::collection::vec(proptest::option::of("[a-d]{0,2}"), 0..40),
            small in proptest::collection::vec(0u8..4, 0..40),
        ) {
            let numbers = [
                (Column::numerical("x", r.clone()), Column::numerical("x", c.clone())),
                (
                    Column::numerical("x", small.iter().map(|&v| Some(f64::from(v)))),
                    Column::numerical("x", r.iter().map(|v| v.map(f64::round))),
                ),
            ];
            let cats = (Column::categorical("x", rc), Column::categorical("x", cc));
            for method in Method::ALL {
                let opts = DriftOptions { method, threshold: None };
                for (a, b) in numbers.iter().chain([&cats]) {
                    let d = column_drift(a, b, &opts);
                    proptest::prop_assert!(d.score.is_none_or(|s| !s.is_nan()));
                    proptest::prop_assert_eq!(d.score.is_none(), d.error.is_some());
                }
            }
        }
    }

    #[test]
    fn dataset_share_and_json_shape() {
        let reference = vec![num("a", &[1.0, 2.0, 3.0]), num("b", &[1.0, 2.0])];
        let current = vec![num("a", &[100.0, 200.0, 300.0])];
        let opts = |_: &str| DriftOptions {
            method: Method::Psi,
            threshold: None,
        };
        let d = dataset_drift(&reference, &current, opts, 0.5);
        assert_eq!(d.dataset.n_features, 2);
        assert_eq!(d.dataset.n_drifted, 1);
        assert_eq!(d.dataset.share_drifted, 0.5);
        assert!(d.dataset.drift_detected);
        assert!(d.features[1].error.is_some());
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.starts_with("{\"features\":[{\"name\":\"a\",\"type\":\"numerical\""));
        assert!(json.contains("\"dataset\":{\"n_features\":2"));
        assert!(json.contains("\"edges\":["));
        assert!(!json.contains("NaN"));
        let empty = dataset_drift::<Column, Column>(&[], &[], opts, 0.0);
        assert!(!empty.dataset.drift_detected);
    }
}
