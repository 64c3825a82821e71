//! Go's time conventions as Alertmanager's API shows them, over Vigil's millisecond timestamps.
//!
//! Alertmanager keeps `time.Time` (nanoseconds) and prints API timestamps as
//! `2006-01-02T15:04:05.000Z07:00` (go-openapi's `strfmt.DateTime`), so milliseconds lose
//! nothing that a client can see. Go's zero time (year 1) means "unset" for `startsAt`/`endsAt`;
//! it is [`ZERO_TIME`] here, and sorts before every real time exactly as in Go.

use std::fmt::Write;

use jiff::Timestamp as JiffTs;
use vigil_model::Timestamp;

/// Go's zero `time.Time`, `0001-01-01T00:00:00Z`, in Unix milliseconds.
pub const ZERO_TIME: Timestamp = -62_135_596_800_000;

/// Whether `t` is Go's zero time (or earlier, which no valid input produces).
pub fn is_zero(t: Timestamp) -> bool {
    t <= ZERO_TIME
}

/// `2023-04-01T12:00:00.000Z`: UTC with milliseconds, as Alertmanager's API prints times.
pub fn format_rfc3339_ms(t: Timestamp) -> String {
    let Ok(ts) = JiffTs::from_millisecond(t) else {
        return "0001-01-01T00:00:00.000Z".to_owned();
    };
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let mut out = String::with_capacity(24);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    );
    out
}

/// Go's `time.Time` JSON form (`time.RFC3339Nano`) for a UTC time: the fraction of a second
/// with trailing zeros removed (`2023-04-01T12:00:00.12Z`, `2023-04-01T12:00:00Z`), and Go's zero
/// time as `0001-01-01T00:00:00Z`. Webhook payloads carry times in this form.
pub fn format_go_json(t: Timestamp) -> String {
    let ms = format_rfc3339_ms(t);
    // `....SS.mmmZ`: drop trailing zeros of the fraction, and the dot when nothing is left.
    let Some(body) = ms.strip_suffix('Z') else {
        return ms;
    };
    // The dot stops the trimming, so the seconds keep their digits.
    let trimmed = body.trim_end_matches('0');
    let out = trimmed.strip_suffix('.').unwrap_or(trimmed);
    format!("{out}Z")
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

/// Go's `strconv.Quote` for label values in group keys (`{a="b"}`): backslash escapes for
/// quotes, backslashes and control characters; other printable text is kept as is.
pub(crate) fn go_quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
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
    }

    #[test]
    fn quotes_like_go() {
        let mut s = String::new();
        go_quote("a\"b\\c\nd\x01é", &mut s);
        assert_eq!(s, r#""a\"b\\c\nd\x01é""#);
    }
}
