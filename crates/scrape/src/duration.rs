//! Prometheus's duration and byte-size syntax as used in `prometheus.yml`.
//!
//! Durations use `vigil_model`'s parser and formatter (`1h30m`, `15s`, `100ms`, `0`); this module
//! adds the serde wrapper config files need. Formatting is the inverse of parsing, so `90s`
//! prints as `1m30s`, as Prometheus prints it in `__scrape_interval__` and the targets API.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A duration written in Prometheus syntax, millisecond resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration(Duration);

impl PromDuration {
    pub const ZERO: PromDuration = PromDuration(Duration::ZERO);

    pub const fn from_millis(ms: u64) -> Self {
        PromDuration(Duration::from_millis(ms))
    }

    pub const fn from_secs(s: u64) -> Self {
        PromDuration(Duration::from_secs(s))
    }

    pub fn as_std(self) -> Duration {
        self.0
    }

    pub fn as_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Parses `1h30m`, `15s`, `100ms`, `0` …
    ///
    /// # Errors
    /// A string that is not in the syntax above, or a value too large to represent.
    pub fn parse(s: &str) -> Result<Self, String> {
        vigil_model::parse_duration_ms(s).map(PromDuration::from_millis)
    }
}

impl From<Duration> for PromDuration {
    fn from(d: Duration) -> Self {
        PromDuration(d)
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&vigil_model::format_duration_ms(self.as_millis()))
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PromDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 15s, 1m or 1h30m")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PromDuration, E> {
                PromDuration::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PromDuration, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PromDuration, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

/// A byte size in the syntax of Prometheus's `body_size_limit` (`10MB`, `512KiB`, `0`); units
/// are powers of 1024 whether written `KB` or `KiB`, as in Prometheus. A bare integer is bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// # Errors
    /// A string that is not a number followed by a byte unit.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let invalid = || format!("not a valid byte size: {s:?} (use e.g. 10MB, 512KiB or 0)");
        if t.is_empty() {
            return Err(invalid());
        }
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num.parse().map_err(|_| invalid())?;
        let mult: u64 = match unit {
            "" | "B" => 1,
            "KB" | "KiB" => 1 << 10,
            "MB" | "MiB" => 1 << 20,
            "GB" | "GiB" => 1 << 30,
            "TB" | "TiB" => 1 << 40,
            "PB" | "PiB" => 1 << 50,
            "EB" | "EiB" => 1 << 60,
            _ => return Err(invalid()),
        };
        #[allow(clippy::cast_precision_loss)]
        let bytes = n * mult as f64;
        if !(0.0..1.8e19).contains(&bytes) {
            return Err(invalid());
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(ByteSize(bytes as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}B", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte size such as 10MB")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom("byte size must not be negative"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let cases = [
            ("0", 0, "0s"),
            ("15s", 15_000, "15s"),
            ("1h30m", 5_400_000, "1h30m"),
            ("100ms", 100, "100ms"),
            ("1d", 86_400_000, "1d"),
            ("1w", 604_800_000, "1w"),
            ("1y", 31_536_000_000, "1y"),
            ("90s", 90_000, "1m30s"),
            ("1m0s", 60_000, "1m"),
            ("2h45m10s250ms", 9_910_250, "2h45m10s250ms"),
        ];
        for (s, ms, out) in cases {
            let d = PromDuration::parse(s).expect(s);
            assert_eq!(d.as_millis(), ms, "{s}");
            assert_eq!(d.to_string(), out, "{s}");
        }
    }

    #[test]
    fn rejects_bad_syntax() {
        for s in [
            "", "1", "1.5s", "s", "1x", "30m1h", "1s1s", "-1s", " 1s", "1sms",
        ] {
            assert!(PromDuration::parse(s).is_err(), "{s:?} should fail");
        }
        assert_eq!(
            PromDuration::parse("5x").expect_err("bad"),
            r#"not a valid duration string: "5x""#
        );
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(ByteSize::parse("0"), Ok(ByteSize(0)));
        assert_eq!(ByteSize::parse("10MB"), Ok(ByteSize(10 << 20)));
        assert_eq!(ByteSize::parse("512KiB"), Ok(ByteSize(512 << 10)));
        assert_eq!(ByteSize::parse("1.5KB"), Ok(ByteSize(1536)));
        assert!(ByteSize::parse("10 apples").is_err());
        assert!(ByteSize::parse("MB").is_err());
    }
}
