//! RFC 3339 date-times (`2026-11-24T10:00:00.123Z`, `2026-11-24T11:00:00+01:00`) to Unix
//! milliseconds, for the `timestamp` field of JSON events.
//!
//! Written here rather than taken from a date crate because the grammar is small (RFC 3339
//! section 5.6), the model crate already has the calendar arithmetic
//! ([`vigil_model::civil::days_from_civil`]), and the codec then needs no time-zone database.

use vigil_model::civil::days_from_civil;

/// An RFC 3339 date-time (section 5.6: `2026-11-24T10:00:00.123Z`, `…+01:00`; `t`, `z` and a
/// space for `T` allowed as its section 5.6 note says) in ms since the epoch; fractions past
/// milliseconds are truncated. Leap seconds (`:60`) are refused, as Go's `time.Parse` does.
pub(super) fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
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
    let month_u = u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month_u {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let day_u = u32::try_from(day)
        .ok()
        .filter(|d| (1..=days_in_month).contains(d))?;
    if i != b.len() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month_u, day_u);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1000 + frac_ms)
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339;

    #[test]
    fn reads_the_grammar_of_section_5_6() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.5+00:00"), Some(500));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339("1969-12-31T19:00:00-05:00"), Some(0));
        assert_eq!(
            parse_rfc3339("2000-02-29T12:34:56.789123Z"),
            Some(951_827_696_789)
        );
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
            "1900-02-29T00:00:00Z",
            "1970-01-01T00:60:00Z",
            "1970-01-01T00:00:00Z ",
            "١٩٧٠-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
