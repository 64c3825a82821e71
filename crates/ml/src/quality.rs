//! Data-quality ratios of a current window against its reference: missing values, categories
//! never seen in the reference, and numbers outside the reference's range.
//!
//! Owns: [`feature_quality`] and [`Quality`]. Does not own: drift (see [`crate::drift`]) or
//! where the ratios are written.
//!
//! Every ratio is in [0, 1] and defined for every input (0 when its denominator is 0), because
//! the server writes them as series and a series must never hold NaN.

use std::collections::HashSet;

use serde::Serialize;

use crate::column::{Column, Values};

/// Quality ratios of one feature's current window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quality {
    /// Missing values (null, NaN, ±inf) / current rows; 0 for an empty window.
    pub missing_ratio: f64,
    /// Categorical: share of the current non-null values absent from the reference's non-null
    /// values; 0 for numerical columns and when the current window has no values.
    pub new_category_ratio: f64,
    /// Numerical: share of the current non-null values outside `[min, max]` of the reference's
    /// non-null values; 0 for categorical columns, an empty reference, or no current values.
    pub out_of_range_ratio: f64,
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Quality of `current` measured against `reference`.
///
/// When the two columns' kinds differ only `missing_ratio` is computed; the other ratios are 0.
pub fn feature_quality(reference: &Column, current: &Column) -> Quality {
    let missing = match &current.values {
        Values::Numerical(v) => v.iter().filter(|x| !x.is_some_and(f64::is_finite)).count(),
        Values::Categorical(v) => v.iter().filter(|x| x.is_none()).count(),
    };
    let mut q = Quality {
        missing_ratio: ratio(missing, current.len()),
        new_category_ratio: 0.0,
        out_of_range_ratio: 0.0,
    };
    match (&reference.values, &current.values) {
        (Values::Categorical(r), Values::Categorical(c)) => {
            let seen: HashSet<&str, ahash::RandomState> =
                r.iter().flatten().map(String::as_str).collect();
            let (mut present, mut new) = (0usize, 0usize);
            for v in c.iter().flatten() {
                present += 1;
                if !seen.contains(v.as_str()) {
                    new += 1;
                }
            }
            q.new_category_ratio = ratio(new, present);
        }
        (Values::Numerical(r), Values::Numerical(c)) => {
            let finite = |v: &Option<f64>| v.filter(|x| x.is_finite());
            let range = r.iter().filter_map(finite).fold(None, |acc, x| match acc {
                None => Some((x, x)),
                Some((lo, hi)) => Some((f64::min(lo, x), f64::max(hi, x))),
            });
            if let Some((lo, hi)) = range {
                let (mut present, mut outside) = (0usize, 0usize);
                for x in c.iter().filter_map(finite) {
                    present += 1;
                    if x < lo || x > hi {
                        outside += 1;
                    }
                }
                q.out_of_range_ratio = ratio(outside, present);
            }
        }
        _ => {}
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(v: &[Option<&str>]) -> Column {
        Column::categorical("c", v.iter().map(|s| s.map(str::to_string)))
    }

    #[test]
    fn categorical_ratios() {
        let r = cat(&[Some("a"), Some("b"), None]);
        let c = cat(&[Some("a"), Some("c"), Some("c"), None]);
        let q = feature_quality(&r, &c);
        assert_eq!(q.missing_ratio, 0.25);
        assert!((q.new_category_ratio - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(q.out_of_range_ratio, 0.0);
    }

    #[test]
    fn numerical_ratios() {
        let r = Column::numerical("x", [Some(1.0), Some(5.0), None]);
        let c = Column::numerical("x", [Some(0.0), Some(1.0), Some(5.0), Some(6.0), None]);
        let q = feature_quality(&r, &c);
        assert_eq!(q.missing_ratio, 0.2);
        assert_eq!(q.new_category_ratio, 0.0);
        assert_eq!(q.out_of_range_ratio, 0.5);
    }

    #[test]
    fn empty_and_all_null_windows_give_zero_not_nan() {
        let empty = Column::numerical("x", []);
        let nulls = Column::numerical("x", [None, None]);
        let q = feature_quality(&empty, &empty);
        assert_eq!(
            q,
            Quality {
                missing_ratio: 0.0,
                new_category_ratio: 0.0,
                out_of_range_ratio: 0.0
            }
        );
        let q = feature_quality(&nulls, &nulls);
        assert_eq!(q.missing_ratio, 1.0);
        assert_eq!(q.out_of_range_ratio, 0.0);
        let raw_nan = Column {
            name: "x".into(),
            values: Values::Numerical(vec![Some(f64::NAN), Some(1.0)]),
        };
        assert_eq!(feature_quality(&nulls, &raw_nan).missing_ratio, 0.5);
        let q = feature_quality(&cat(&[]), &cat(&[None]));
        assert_eq!(q.missing_ratio, 1.0);
        assert_eq!(q.new_category_ratio, 0.0);
    }

    #[test]
    fn kind_mismatch_only_reports_missing() {
        let r = Column::numerical("x", [Some(1.0)]);
        let c = cat(&[Some("a"), None]);
        let q = feature_quality(&r, &c);
        assert_eq!(q.missing_ratio, 0.5);
        assert_eq!(q.new_category_ratio, 0.0);
        assert_eq!(q.out_of_range_ratio, 0.0);
    }
}
