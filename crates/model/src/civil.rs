//! The proleptic Gregorian calendar in UTC, for every place that prints or reads a timestamp
//! the way Prometheus, Alertmanager or Go do (PromQL's date functions, RFC 3339 in APIs and
//! templates). Days are counted from 1970-01-01 (Howard Hinnant's algorithms), so any `i64`
//! millisecond timestamp, negative ones included, has a date.

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

#[cfg(test)]
mod tests {
    use super::*;

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
