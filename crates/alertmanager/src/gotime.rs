//! Go's time conventions as Alertmanager's API shows them, over Vigil's millisecond timestamps.
//!
//! Alertmanager keeps `time.Time` (nanoseconds) and prints API timestamps as
//! `2006-01-02T15:04:05.000Z07:00` (go-openapi's `strfmt.DateTime`), so milliseconds lose
//! nothing that a client can see. Go's zero time (year 1) means "unset" for `startsAt`/`endsAt`;
//! it is [`ZERO_TIME`] here, and sorts before every real time exactly as in Go.

use jiff::Timestamp as JiffTs;
use vigil_model::civil::{format_rfc3339, Fraction};
use vigil_model::Timestamp;

/// Go's zero `time.Time`, `0001-01-01T00:00:00Z`, in Unix milliseconds.
pub const ZERO_TIME: Timestamp = -62_135_596_800_000;

/// Whether `t` is Go's zero time (or earlier, which no valid input produces).
pub fn is_zero(t: Timestamp) -> bool {
    t <= ZERO_TIME
}

/// The latest time the formatters print and [`parse_rfc3339`] reads back (jiff's range,
/// `9999-12-30T22:00:00Z`); computed times such as a silence's collection time are clamped
/// to it so that they survive a write and a read.
pub fn max_time() -> Timestamp {
    JiffTs::MAX.as_second().saturating_mul(1000)
}

/// Formats `t`, or Go's zero time for a time outside what [`parse_rfc3339`] reads, so that
/// everything written can be read back.
fn format(t: Timestamp, fraction: Fraction) -> String {
    let t = if JiffTs::from_millisecond(t).is_ok() {
        t
    } else {
        ZERO_TIME
    };
    format_rfc3339(t, fraction)
}

/// `2023-04-01T12:00:00.000Z`: UTC with milliseconds, as Alertmanager's API prints times.
pub fn format_rfc3339_ms(t: Timestamp) -> String {
    format(t, Fraction::Millis)
}

/// Go's `time.Time` JSON form (`time.RFC3339Nano`) for a UTC time: the fraction of a second
/// with trailing zeros removed (`2023-04-01T12:00:00.12Z`, `2023-04-01T12:00:00Z`), and Go's zero
/// time as `0001-01-01T00:00:00Z`. Webhook payloads carry times in this form.
pub fn format_go_json(t: Timestamp) -> String {
    format(t, Fraction::Trimmed)
}

/// Reads an RFC 3339 time (`2023-04-01T12:00:00Z`, fractions and offsets allowed).
///
/// # Errors
/// Text that is not an RFC 3339 date-time with an offset.
pub fn parse_rfc3339(s: &str) -> Result<Timestamp, String> {
    let ts: JiffTs = s
        .parse()
        .map_err(|e| format!("parsing time {s:?} as RFC 3339: {e}"))?;
    // Floor to milliseconds, so that ordering never flips.
    let ns = ts.as_nanosecond();
    let ms = ns.div_euclid(1_000_000);
    Timestamp::try_from(ms).map_err(|_| format!("time {s:?} is out of range"))
}

/// Serde adapters for API timestamps.
pub mod serde_ts {
    use serde::{Deserialize, Deserializer, Serializer};
    use vigil_model::Timestamp;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rfc3339_ms(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde adapters for optional API timestamps (absent or `null` is `None`).
pub mod serde_opt_ts {
    use serde::{Deserialize, Deserializer, Serializer};
    use vigil_model::Timestamp;

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_rfc3339_ms(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => super::parse_rfc3339(&s)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_strfmt() {
        assert_eq!(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339_ms(1_680_350_400_123),
            "2023-04-01T12:00:00.123Z"
        );
        assert_eq!(format_rfc3339_ms(ZERO_TIME), "0001-01-01T00:00:00.000Z");
    }

    #[test]
    fn formats_like_go_json() {
        assert_eq!(format_go_json(ZERO_TIME), "0001-01-01T00:00:00Z");
        assert_eq!(format_go_json(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_go_json(1_680_350_400_120), "2023-04-01T12:00:00.12Z");
        assert_eq!(
            format_go_json(1_680_350_400_001),
            "2023-04-01T12:00:00.001Z"
        );
        assert_eq!(format_go_json(1_680_350_410_000), "2023-04-01T12:00:10Z");
    }

    #[test]
    fn parses_rfc3339() {
        assert_eq!(
            parse_rfc3339("2023-04-01T12:00:00.123Z"),
            Ok(1_680_350_400_123)
        );
        assert_eq!(
            parse_rfc3339("2023-04-01T14:00:00+02:00"),
            Ok(1_680_350_400_000)
        );
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), Ok(ZERO_TIME));
        assert!(parse_rfc3339("yesterday").is_err());
        let max = format_rfc3339_ms(max_time());
        assert_eq!(max, "9999-12-30T22:00:00.000Z");
        assert_eq!(parse_rfc3339(&max), Ok(max_time()));
        assert_eq!(
            format_rfc3339_ms(max_time() + 1),
            "0001-01-01T00:00:00.000Z"
        );
    }
}
