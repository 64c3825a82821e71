//! Alertmanager's alert identity: `model.LabelSet.Fingerprint()` of `prometheus/common`, an
//! FNV-1a 64-bit hash over the label names in byte order, each name and value followed by the
//! separator byte 0xff. It is shown as 16 lower-case hex digits (`fingerprint` in API v2) and
//! also keys aggregation groups (over the group labels).

use std::fmt;
use std::str::FromStr;

use vigil_model::Labels;

const OFFSET64: u64 = 14_695_981_039_346_656_037;
const PRIME64: u64 = 1_099_511_628_211;
/// A byte that cannot occur in UTF-8, so `a=bc` and `ab=c` hash differently.
const SEPARATOR: u8 = 0xff;

/// A label set's fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Fingerprint(pub u64);

fn add(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(PRIME64);
    }
    h
}

impl Fingerprint {
    /// The fingerprint of `labels` (already sorted by name, as [`Labels`] always is).
    pub fn of(labels: &Labels) -> Fingerprint {
        Fingerprint::of_pairs(labels.iter().map(|l| (l.name.as_str(), l.value.as_str())))
    }

    /// The fingerprint of pairs the caller has sorted by name. An empty set hashes to FNV's
    /// offset basis, as in Go.
    pub fn of_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Fingerprint {
        let mut h = OFFSET64;
        for (n, v) in pairs {
            h = add(h, n.as_bytes());
            h = add(h, &[SEPARATOR]);
            h = add(h, v.as_bytes());
            h = add(h, &[SEPARATOR]);
        }
        Fingerprint(h)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    /// Hex, as `model.FingerprintFromString` reads it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16)
            .map(Fingerprint)
            .map_err(|e| format!("invalid fingerprint {s:?}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_prometheus_common() {
        // Values from prometheus/common's model/signature_test.go (TestLabelsToSignature and
        // TestMetricToFingerprint).
        assert_eq!(
            Fingerprint::of(&Labels::empty()).0,
            14_695_981_039_346_656_037
        );
        let l = Labels::from_pairs([("name", "garland, briggs"), ("fear", "love is not enough")])
            .expect("labels");
        assert_eq!(Fingerprint::of(&l).0, 5_799_056_148_416_392_346);
        assert_eq!(Fingerprint(0xab).to_string(), "00000000000000ab");
        assert_eq!(
            "00000000000000ab".parse::<Fingerprint>(),
            Ok(Fingerprint(0xab))
        );
    }
}
