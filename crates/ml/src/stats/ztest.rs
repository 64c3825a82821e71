//! Evidently's two-proportion Z-test (`z_stattest.py`).
//!
//! The smallest value `k₀` of ref ∪ cur is one class and everything else the other; the test
//! compares the share of "≠ k₀" in the two windows with a pooled standard error, and the
//! two-sided p-value is `2·(1 − Φ(|z|))` with Φ computed as scipy's `ndtr`, so it is exactly 0
//! for |z| ≳ 8.3. When both windows hold the same single value Evidently defines p = 1 and
//! there is no z.

use super::special::ndtr;

/// Result of [`z_test_counts`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZTest {
    /// The z statistic; `None` when both windows hold one and the same value.
    pub z: Option<f64>,
    /// Two-sided p-value.
    pub pvalue: f64,
}

/// Z-test over per-value counts aligned on the sorted union of values (index 0 is `k₀`);
/// `None` if either window is empty.
pub fn z_test_counts(reference: &[u64], current: &[u64]) -> Option<ZTest> {
    let n1: u64 = reference.iter().sum();
    let n2: u64 = current.iter().sum();
    if n1 == 0 || n2 == 0 || reference.len() != current.len() {
        return None;
    }
    if reference.len() == 1 {
        return Some(ZTest {
            z: None,
            pvalue: 1.0,
        });
    }
    let other1 = n1 - reference.first().copied().unwrap_or(0);
    let other2 = n2 - current.first().copied().unwrap_or(0);
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let p1 = other1 as f64 / n1f;
    let p2 = other2 as f64 / n2f;
    let pooled = (p1 * n1f + p2 * n2f) / (n1f + n2f);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    let pvalue = 2.0 * (1.0 - ndtr(z.abs()));
    Some(ZTest { z: Some(z), pvalue })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_same_value_is_p_one() {
        assert_eq!(
            z_test_counts(&[5], &[3]),
            Some(ZTest {
                z: None,
                pvalue: 1.0
            })
        );
    }

    #[test]
    fn disjoint_constants_give_p_zero() {
        // ref all 3.0 (500), cur all 4.0 (400): z = −30, p = 0 exactly.
        let r = z_test_counts(&[500, 0], &[0, 400]).unwrap();
        assert!((r.z.unwrap() + 30.0).abs() < 1e-12);
        assert_eq!(r.pvalue, 0.0);
    }

    #[test]
    fn equal_shares_give_p_one() {
        let r = z_test_counts(&[50, 50], &[20, 20]).unwrap();
        assert_eq!(r.z, Some(0.0));
        assert_eq!(r.pvalue, 1.0);
    }
}
