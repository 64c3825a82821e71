/// Milliseconds since the Unix epoch, as Prometheus uses everywhere.
pub type Timestamp = i64;

/// The bit pattern Prometheus uses for a staleness marker: a NaN that no arithmetic produces.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker value. Compare with [`is_stale_nan`], never with `==`.
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// Whether `v` is exactly Prometheus's stale marker (and not some other NaN).
#[inline]
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Milliseconds since the epoch.
    pub t: Timestamp,
    /// The value; may be NaN, ±Inf or the stale marker.
    pub v: f64,
}

impl Sample {
    pub fn new(t: Timestamp, v: f64) -> Self {
        Sample { t, v }
    }
}

/// Samples are equal when timestamps match and values are bit-identical, so that NaNs and the
/// stale marker compare as data (which is what storage round-trips must preserve).
impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}
impl Eq for Sample {}

/// Whether `a` and `b` are equal within relative tolerance `epsilon` (Prometheus's
/// `util/almost.Equal`): NaNs are equal to each other, a staleness marker only to another, and
/// values next to zero compare by absolute difference against `epsilon` times the smallest
/// normal float.
pub fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    #[allow(clippy::float_cmp)]
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < epsilon * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_nan_is_distinct_from_ordinary_nan() {
        assert!(is_stale_nan(STALE_NAN));
        assert!(STALE_NAN.is_nan());
        assert!(!is_stale_nan(f64::NAN));
        assert_ne!(Sample::new(1, f64::NAN), Sample::new(1, STALE_NAN));
        assert_eq!(Sample::new(1, STALE_NAN), Sample::new(1, STALE_NAN));
    }
}
