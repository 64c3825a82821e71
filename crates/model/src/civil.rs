//! The proleptic Gregorian calendar in UTC, for every place that prints or reads a timestamp
//! the way Prometheus, Alertmanager or Go do (PromQL's date functions, RFC 3339 in APIs,
//! templates and ML event bodies). Days are counted from 1970-01-01 (Howard Hinnant's
//! algorithms), so any `i64` millisecond timestamp, negative ones included, has a date.

use std::fmt::Write;

/// Year, month (1–12) and day (1–31) of the `days`-th day after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// Days since 1970-01-01 of a date (month 1–12).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// How many digits of the second's fraction [`format_rfc3339`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// None: `2006-01-02T15:04:05Z`.
    None,
    /// Milliseconds, trailing zeros dropped, none when whole (Go's `RFC3339Nano`, which its
    /// JSON encoding of `time.Time` uses): `2006-01-02T15:04:05.5Z`.
    Trimmed,
    /// Always three digits (go-openapi's `strfmt.DateTime`, Alertmanager's API):
    /// `2006-01-02T15:04:05.500Z`.
    Millis,
}

/// `ms` since the epoch as RFC 3339 text in UTC.
pub fn format_rfc3339(ms: i64, fraction: Fraction) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    let mut out = String::with_capacity(24);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        (tod / 60) % 60,
        tod % 60
    );
    match fraction {
        Fraction::None => {}
        Fraction::Trimmed if frac > 0 => {
            let digits = format!("{frac:03}");
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
        Fraction::Trimmed => {}
        Fraction::Millis => {
            let _ = write!(out, ".{frac:03}");
        }
    }
    out.push('Z');
    out
}

/// An RFC 3339 date-time in ms since the epoch: `2026-11-24T10:00:00.123Z`,
/// `2026-11-24T11:00:00+01:00` (section 5.6; `t`, `z` and a space for `T` allowed, as its note
/// says). Years 0000–9999; fractions past milliseconds are truncated (the time is floored, also
/// before 1970); leap seconds (`:60`) are refused, as Go's `time.Parse` does. The inverse of
/// [`format_rfc3339`]. `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from.checked_add(len)?)?;
        digits.iter().try_fold(0i64, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let at = |i: usize, set: &[u8]| b.get(i).is_some_and(|c| set.contains(c));
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":")) {
        return None;
    }
    let mut i = 19;
    let mut frac_ms = 0i64;
    if at(i, b".") {
        i += 1;
        let start = i;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if i - start < 3 {
                frac_ms = frac_ms * 10 + i64::from(d - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..3 {
            frac_ms *= 10;
        }
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if !at(i + 3, b":") || h > 23 || m > 59 {
                return None;
            }
            i += 6;
            if *sign == b'-' {
                -(h * 60 + m)
            } else {
                h * 60 + m
            }
        }
        _ => return None,
    };
    if i != b.len() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Two digits each: the conversions cannot fail. A date that does not exist (month 0 or 13,
    // February 30th) comes back from its day count as another date.
    let (month, day) = (u32::try_from(month).ok()?, u32::try_from(day).ok()?);
    let days = days_from_civil(year, month, day);
    if civil_from_days(days) != (year, month, day) {
        return None;
    }
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1000 + frac_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_grammar_of_section_5_6() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.5+00:00"), Some(500));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339("1969-12-31T19:00:00-05:00"), Some(0));
        assert_eq!(
            parse_rfc3339("2000-02-29T12:34:56.789123Z"),
            Some(951_827_696_789)
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.9999Z"), Some(-1));
        for bad in [
            "",
            "1970-01-01",
            "1970-01-01T00:00Z",
            "1970-01-01T00:00:00",
            "1970-1-01T00:00:00Z",
            "1970-01-01T00:00:00.Z",
            "1970-01-01T00:00:00+0100",
            "1970-01-01T00:00:00+01:60",
            "1970-01-00T00:00:00Z",
            "1970-01-32T00:00:00Z",
            "1970-00-01T00:00:00Z",
            "1970-13-01T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "1970-01-01T00:60:00Z",
            "1970-01-01T00:00:00Z ",
            "١٩٧٠-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc3339_parses_what_it_formats() {
        for ms in [
            -62_167_219_200_000,
            -1,
            0,
            951_782_400_000,
            1_795_514_400_123,
            253_402_300_799_999,
        ] {
            for fraction in [Fraction::Trimmed, Fraction::Millis] {
                assert_eq!(
                    parse_rfc3339(&format_rfc3339(ms, fraction)),
                    Some(ms),
                    "{ms}"
                );
            }
        }
    }

    #[test]
    fn dates_round_trip() {
        for days in [-719_468, -1, 0, 1, 10_957, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn rfc3339_forms() {
        assert_eq!(format_rfc3339(0, Fraction::None), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(1_704_067_200_500, Fraction::Trimmed),
            "2024-01-01T00:00:00.5Z"
        );
        assert_eq!(
            format_rfc3339(1_704_067_200_500, Fraction::Millis),
            "2024-01-01T00:00:00.500Z"
        );
        assert_eq!(
            format_rfc3339(-1, Fraction::Trimmed),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            format_rfc3339(1_136_239_445_000, Fraction::None),
            "2006-01-02T22:04:05Z"
        );
    }
}
