//! Pearson's χ² test of the current window's category counts against the reference's, in
//! Evidently's setup (`chisquare_stattest.py`): expected counts are the reference counts scaled
//! to the current window's size, over the union of categories, with `K − 1` degrees of freedom.
//!
//! A category absent from the reference has expected count 0 and a positive observed count, so
//! the statistic is +inf and the p-value 0, as scipy gives. With a single category there are no
//! degrees of freedom and scipy's p-value is NaN; this function keeps that (it reproduces scipy)
//! and [`crate::drift`] decides what the drift score is.

use super::sample::sum;
use super::special::chi2_sf;

/// Result of [`chisquare_counts`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquare {
    /// Σ (observed − expected)² / expected; +inf when a category is new in the current window.
    pub statistic: f64,
    /// `chi2.sf(statistic, df)`; NaN when `df = 0`.
    pub pvalue: f64,
    /// Number of categories − 1.
    pub df: usize,
}

/// χ² test of `current` counts against `reference` counts (aligned per category, every
/// category present in at least one window); `None` if either window is empty.
pub fn chisquare_counts(reference: &[u64], current: &[u64]) -> Option<ChiSquare> {
    let n_ref: u64 = reference.iter().sum();
    let n_cur: u64 = current.iter().sum();
    if n_ref == 0 || n_cur == 0 || reference.len() != current.len() {
        return None;
    }
    let k_norm = n_cur as f64 / n_ref as f64;
    let statistic = sum(reference.iter().zip(current).map(|(&r, &c)| {
        let expected = r as f64 * k_norm;
        let observed = c as f64;
        let d = observed - expected;
        if expected == 0.0 {
            // Observed > 0 here (the category exists in some window): scipy's x/0 = inf.
            if d == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            d * d / expected
        }
    }));
    let df = reference.len().saturating_sub(1);
    let pvalue = chi2_sf(df as f64, statistic);
    Some(ChiSquare {
        statistic,
        pvalue,
        df,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_category_is_infinite() {
        let r = chisquare_counts(&[10, 10, 0], &[5, 5, 1]).unwrap();
        assert_eq!(r.statistic, f64::INFINITY);
        assert_eq!(r.pvalue, 0.0);
        assert_eq!(r.df, 2);
    }

    #[test]
    fn single_category_has_nan_p_like_scipy() {
        let r = chisquare_counts(&[10], &[4]).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert!(r.pvalue.is_nan());
        assert_eq!(r.df, 0);
    }

    #[test]
    fn textbook_value() {
        // Expected 50/50, observed 60/40: χ² = 4, df 1, p = 0.0455003.
        let r = chisquare_counts(&[100, 100], &[60, 40]).unwrap();
        assert!((r.statistic - 4.0).abs() < 1e-12);
        assert!((r.pvalue - 0.045_500_263_896_358_41).abs() < 1e-12);
        assert!(chisquare_counts(&[], &[]).is_none());
    }
}
