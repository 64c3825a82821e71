//! Calendar fields of a Unix time in UTC, for `year()`, `month()`, `day_of_week()` and the other
//! date functions. Proleptic Gregorian calendar, no leap seconds (as Go's `time` package).

use vigil_model::civil::{civil_from_days, days_from_civil, format_rfc3339, Fraction};

/// The UTC calendar fields of one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    /// 1–366.
    pub day_of_year: u32,
    /// 0 = Sunday … 6 = Saturday.
    pub weekday: u32,
    pub hour: u32,
    pub minute: u32,
}

impl Civil {
    /// The fields of `secs` seconds since the epoch.
    pub(crate) fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let jan1 = days_from_civil(year, 1, 1);
        Civil {
            year,
            month,
            day,
            day_of_year: u32::try_from(days - jan1 + 1).unwrap_or(0),
            // 1970-01-01 was a Thursday.
            weekday: u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
            hour: u32::try_from(rem / 3600).unwrap_or(0),
            minute: u32::try_from(rem % 3600 / 60).unwrap_or(0),
        }
    }

    /// Days in this instant's month.
    pub(crate) fn days_in_month(&self) -> u32 {
        match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if is_leap(self.year) => 29,
            _ => 28,
        }
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Go's `int64(f)` conversion on amd64: truncation toward zero, and the "integer indefinite"
/// value `i64::MIN` for NaN and out-of-range inputs.
pub(crate) fn go_float_to_i64(f: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&f) {
        return i64::MIN;
    }
    f.trunc() as i64
}

/// RFC 3339 text of `secs` in UTC (`2006-01-02T15:04:05Z`).
pub(crate) fn rfc3339(secs: i64) -> String {
    format_rfc3339(secs.saturating_mul(1000), Fraction::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        let c = Civil::from_unix(0);
        assert_eq!(
            (c.year, c.month, c.day, c.day_of_year, c.weekday),
            (1970, 1, 1, 1, 4)
        );
        // 2006-01-02 22:04:05 UTC, a Monday.
        let c = Civil::from_unix(1_136_239_445);
        assert_eq!(
            (
                c.year,
                c.month,
                c.day,
                c.day_of_year,
                c.weekday,
                c.hour,
                c.minute
            ),
            (2006, 1, 2, 2, 1, 22, 4)
        );
        assert_eq!(Civil::from_unix(1_230_767_999).year, 2008);
        assert_eq!(Civil::from_unix(1_230_768_000).year, 2009);
        let c = Civil::from_unix(1_456_790_399);
        assert_eq!((c.month, c.day), (2, 29));
        let c = Civil::from_unix(1_456_790_400);
        assert_eq!((c.month, c.day), (3, 1));
        assert_eq!(Civil::from_unix(1_483_191_420).day_of_year, 366);
        assert_eq!(Civil::from_unix(1_672_493_820).day_of_year, 365);
        assert_eq!(Civil::from_unix(1_454_284_800).days_in_month(), 29);
        assert_eq!(Civil::from_unix(1_485_907_200).days_in_month(), 28);
    }

    #[test]
    fn before_epoch() {
        let c = Civil::from_unix(-1);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute),
            (1969, 12, 31, 23, 59)
        );
        assert_eq!(c.weekday, 3);
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        let _ = Civil::from_unix(i64::MIN);
        let _ = Civil::from_unix(i64::MAX);
        assert_eq!(go_float_to_i64(f64::NAN), i64::MIN);
        assert_eq!(go_float_to_i64(1e300), i64::MIN);
        assert_eq!(go_float_to_i64(-2.7), -2);
    }

    #[test]
    fn rfc3339_format() {
        assert_eq!(rfc3339(3000), "1970-01-01T00:50:00Z");
        assert_eq!(rfc3339(1_136_239_445), "2006-01-02T22:04:05Z");
    }
}
