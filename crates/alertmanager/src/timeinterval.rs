//! Time intervals (`time_intervals:` and the older `mute_time_intervals:`), as Alertmanager's
//! `timeinterval` package defines them: a time is inside an interval when every field that is
//! set (times of day, weekdays, days of the month, months, years) contains it, evaluated in the
//! interval's `location` (UTC when absent).
//!
//! Time zones are read as Go's `time.LoadLocation` reads them: the TZif file of that exact name
//! under the system's zoneinfo directory (so `Europe/Berlin` works and `europe/berlin` does not),
//! `UTC` or the empty name for UTC, `Local` for the process's zone. The `jiff` crate interprets
//! the files and does the calendar arithmetic; it was chosen over `chrono-tz` because it needs no
//! compiled-in database (no build script, a small binary) and follows the system's tzdata
//! updates, as Alertmanager does.
//!
//! One deliberate difference from Alertmanager 0.25: the length of a month (for negative
//! `days_of_month`) is counted in calendar days; 0.25 divided the month's duration by 24 h, which
//! loses a day in a month with a DST change (fixed upstream after 0.25).

use jiff::tz::TimeZone;
use jiff::Timestamp as JiffTs;
use vigil_model::Timestamp;

/// A half-open range of minutes of the day, `[start, end)`; `24:00` is minute 1440.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_minute: u32,
    pub end_minute: u32,
}

/// An inclusive range of weekdays (0 = Sunday), days of the month (negative counts from the
/// end, -1 = last day), months (1 = January) or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InclusiveRange {
    pub begin: i64,
    pub end: i64,
}

/// A time zone loaded by name.
#[derive(Debug, Clone)]
pub struct Location {
    pub name: String,
    tz: TimeZone,
}

impl Location {
    /// Loads a zone as Go's `time.LoadLocation` does.
    ///
    /// # Errors
    /// `time: invalid location name` for paths that escape the zoneinfo directory, `unknown time
    /// zone NAME` when no readable TZif file has that name.
    pub fn load(name: &str) -> Result<Location, String> {
        if name.is_empty() || name == "UTC" {
            return Ok(Location {
                name: "UTC".to_owned(),
                tz: TimeZone::UTC,
            });
        }
        if name == "Local" {
            return Ok(Location {
                name: name.to_owned(),
                tz: TimeZone::system(),
            });
        }
        if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
            return Err("time: invalid location name".to_owned());
        }
        for dir in [
            "/usr/share/zoneinfo/",
            "/usr/share/lib/zoneinfo/",
            "/usr/lib/locale/TZ/",
        ] {
            let Ok(data) = std::fs::read(format!("{dir}{name}")) else {
                continue;
            };
            if let Ok(tz) = TimeZone::tzif(name, &data) {
                return Ok(Location {
                    name: name.to_owned(),
                    tz,
                });
            }
        }
        Err(format!("unknown time zone {name}"))
    }

    /// A fixed zone, for tests and callers that already hold a `jiff` zone.
    pub fn from_time_zone(name: impl Into<String>, tz: TimeZone) -> Location {
        Location {
            name: name.into(),
            tz,
        }
    }
}

/// One entry of a named interval's `time_intervals:` list.
#[derive(Debug, Clone, Default)]
pub struct TimeInterval {
    /// `None` when the field is absent; an empty list (written `times: []`) matches nothing, as
    /// in Alertmanager.
    pub times: Option<Vec<TimeRange>>,
    pub weekdays: Option<Vec<InclusiveRange>>,
    pub days_of_month: Option<Vec<InclusiveRange>>,
    pub months: Option<Vec<InclusiveRange>>,
    pub years: Option<Vec<InclusiveRange>>,
    pub location: Option<Location>,
}

fn in_any(ranges: &Option<Vec<InclusiveRange>>, v: i64) -> bool {
    match ranges {
        None => true,
        Some(rs) => rs.iter().any(|r| v >= r.begin && v <= r.end),
    }
}

impl TimeInterval {
    /// Whether the instant `at` (Unix ms) lies inside this interval.
    pub fn contains(&self, at: Timestamp) -> bool {
        let Ok(ts) = JiffTs::from_millisecond(at) else {
            return false;
        };
        let tz = self
            .location
            .as_ref()
            .map_or(TimeZone::UTC, |l| l.tz.clone());
        let dt = ts.to_zoned(tz).datetime();
        if let Some(times) = &self.times {
            let minute =
                u32::try_from(i32::from(dt.hour()) * 60 + i32::from(dt.minute())).unwrap_or(0);
            if !times
                .iter()
                .any(|r| minute >= r.start_minute && minute < r.end_minute)
            {
                return false;
            }
        }
        if let Some(days) = &self.days_of_month {
            let dim = i64::from(dt.date().days_in_month());
            let day = i64::from(dt.day());
            let inside = days.iter().any(|r| {
                let begin = if r.begin < 0 {
                    dim + r.begin + 1
                } else {
                    r.begin
                };
                let end = if r.end < 0 { dim + r.end + 1 } else { r.end };
                // A range starting after the end of this month does not apply to it.
                if begin > dim {
                    return false;
                }
                let begin = begin.clamp(-dim, dim);
                let end = end.clamp(-dim, dim);
                day >= begin && day <= end
            });
            if !inside {
                return false;
            }
        }
        if !in_any(&self.months, i64::from(dt.month())) {
            return false;
        }
        let weekday = i64::from(dt.weekday().to_sunday_zero_offset());
        if !in_any(&self.weekdays, weekday) {
            return false;
        }
        in_any(&self.years, i64::from(dt.year()))
    }
}

/// Go's `strconv.Atoi`, with its error wording.
fn atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: value out of range"))
}

/// Splits `a:b` (or a single member) after lower-casing, mapping each member with `member`.
fn range_from_string(
    input: &str,
    member: impl Fn(&str) -> Result<i64, String>,
) -> Result<InclusiveRange, String> {
    let lower = input.to_lowercase();
    if lower.contains(':') {
        let parts: Vec<&str> = lower.split(':').collect();
        let [a, b] = parts.as_slice() else {
            return Err(format!("couldn't parse range {lower}, invalid format"));
        };
        return Ok(InclusiveRange {
            begin: member(a)?,
            end: member(b)?,
        });
    }
    let v = member(&lower)?;
    Ok(InclusiveRange { begin: v, end: v })
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn position(names: &[&str], s: &str) -> Option<i64> {
    names
        .iter()
        .position(|n| *n == s)
        .and_then(|i| i64::try_from(i).ok())
}

/// `weekdays:` entries: names only (`monday`, `monday:friday`).
///
/// # Errors
/// Alertmanager's messages for unknown names and reversed ranges.
pub fn parse_weekday_range(s: &str) -> Result<InclusiveRange, String> {
    let r = range_from_string(s, |m| {
        position(&WEEKDAYS, m).ok_or_else(|| format!("{m} is not a valid weekday"))
    })?;
    if r.begin > r.end {
        return Err("start day cannot be before end day".to_owned());
    }
    Ok(r)
}

/// `days_of_month:` entries: `1`, `1:15`, `-1`, `-7:-1`.
///
/// # Errors
/// Days outside ±31 or zero, a negative start with a positive end, or a range that is empty in
/// every month.
pub fn parse_day_of_month_range(s: &str) -> Result<InclusiveRange, String> {
    let r = range_from_string(s, atoi)?;
    if r.begin == 0 || r.begin < -31 || r.begin > 31 {
        return Err(format!(
            "{} is not a valid day of the month: out of range",
            r.begin
        ));
    }
    if r.end == 0 || r.end < -31 || r.end > 31 {
        return Err(format!(
            "{} is not a valid day of the month: out of range",
            r.end
        ));
    }
    if r.begin < 0 && r.end > 0 {
        return Err("end day must be negative if start day is negative".to_owned());
    }
    // Judged on a 28-day month, the shortest, as Alertmanager does.
    let check_begin = if r.begin < 0 { 28 + r.begin } else { r.begin };
    let check_end = if r.end < 0 { 28 + r.end } else { r.end };
    if check_begin > check_end {
        return Err(format!(
            "end day {} is always before start day {}",
            r.end, r.begin
        ));
    }
    Ok(r)
}

/// `months:` entries: names or numbers (`january:march`, `1:3`). As in Alertmanager 0.25,
/// numbers outside 1–12 are accepted and match nothing.
///
/// # Errors
/// Unknown names, reversed ranges.
pub fn parse_month_range(s: &str) -> Result<InclusiveRange, String> {
    let r = range_from_string(s, |m| {
        position(&MONTHS, m)
            .map(|i| i + 1)
            .or_else(|| atoi(m).ok())
            .ok_or_else(|| format!("{m} is not a valid month"))
    })?;
    if r.begin > r.end {
        let name = |v: i64| {
            usize::try_from(v - 1)
                .ok()
                .and_then(|i| MONTHS.get(i))
                .copied()
                .unwrap_or("")
        };
        return Err(format!(
            "end month {} is before start month {}",
            name(r.end),
            name(r.begin)
        ));
    }
    Ok(r)
}

/// `years:` entries: `2024`, `2024:2026`.
///
/// # Errors
/// Non-numbers, reversed ranges.
pub fn parse_year_range(s: &str) -> Result<InclusiveRange, String> {
    let r = range_from_string(s, atoi)?;
    if r.begin > r.end {
        return Err(format!(
            "end year {} is before start year {}",
            r.end, r.begin
        ));
    }
    Ok(r)
}

/// `HH:MM` (00:00–23:59) or `24:00`, as minutes of the day.
fn parse_clock(s: &str) -> Result<u32, String> {
    let invalid = || format!("couldn't parse timestamp {s}, invalid format");
    if s == "24:00" {
        return Ok(1440);
    }
    let b = s.as_bytes();
    let [h1, h2, b':', m1, m2] = b else {
        return Err(invalid());
    };
    let digit = |c: &u8| c.is_ascii_digit().then(|| u32::from(c - b'0'));
    let (Some(h1), Some(h2), Some(m1), Some(m2)) = (digit(h1), digit(h2), digit(m1), digit(m2))
    else {
        return Err(invalid());
    };
    let hour = h1 * 10 + h2;
    if hour > 23 || m1 > 5 {
        return Err(invalid());
    }
    Ok(hour * 60 + m1 * 10 + m2)
}

/// A `times:` entry from its `start_time` and `end_time`.
///
/// # Errors
/// A missing side, a malformed clock time, or start not before end.
pub fn parse_time_range(start: Option<&str>, end: Option<&str>) -> Result<TimeRange, String> {
    let (Some(start), Some(end)) = (
        start.filter(|s| !s.is_empty()),
        end.filter(|s| !s.is_empty()),
    ) else {
        return Err("both start and end times must be provided".to_owned());
    };
    let start_minute = parse_clock(start)?;
    let end_minute = parse_clock(end)?;
    if start_minute >= end_minute {
        return Err("start time cannot be equal or greater than end time".to_owned());
    }
    Ok(TimeRange {
        start_minute,
        end_minute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Timestamp {
        crate::gotime::parse_rfc3339(s).expect(s)
    }

    fn interval(f: impl FnOnce(&mut TimeInterval)) -> TimeInterval {
        let mut ti = TimeInterval::default();
        f(&mut ti);
        ti
    }

    #[test]
    fn parses_ranges_like_alertmanager() {
        assert_eq!(
            parse_weekday_range("Monday:FRIDAY"),
            Ok(InclusiveRange { begin: 1, end: 5 })
        );
        assert!(parse_weekday_range("friday:monday").is_err());
        assert!(parse_weekday_range("1").is_err());
        assert_eq!(
            parse_month_range("february:3"),
            Ok(InclusiveRange { begin: 2, end: 3 })
        );
        assert_eq!(
            parse_month_range("13"),
            Ok(InclusiveRange { begin: 13, end: 13 })
        );
        assert!(parse_month_range("march:january").is_err());
        assert!(parse_day_of_month_range("0").is_err());
        assert!(parse_day_of_month_range("32").is_err());
        assert!(parse_day_of_month_range("-3:5").is_err());
        assert!(parse_day_of_month_range("27:-3").is_err());
        assert!(parse_day_of_month_range("1:2:3").is_err());
        assert_eq!(
            parse_day_of_month_range("-7:-1"),
            Ok(InclusiveRange { begin: -7, end: -1 })
        );
        assert!(parse_year_range("2026:2024").is_err());
        assert_eq!(
            parse_time_range(Some("09:00"), Some("24:00")),
            Ok(TimeRange {
                start_minute: 540,
                end_minute: 1440
            })
        );
        for (a, b) in [
            ("9:00", "10:00"),
            ("10:00", "10:00"),
            ("24:01", "23:00"),
            ("00:60", "01:00"),
        ] {
            assert!(parse_time_range(Some(a), Some(b)).is_err(), "{a} {b}");
        }
        assert!(parse_time_range(Some("09:00"), None).is_err());
    }

    #[test]
    fn times_and_weekdays_in_utc() {
        let ti = interval(|t| {
            t.times = Some(vec![
                parse_time_range(Some("09:00"), Some("17:00")).expect("tr")
            ]);
            t.weekdays = Some(vec![parse_weekday_range("monday:friday").expect("wd")]);
        });
        // 2024-01-01 is a Monday.
        assert!(ti.contains(ms("2024-01-01T09:00:00Z")));
        assert!(ti.contains(ms("2024-01-01T16:59:59Z")));
        assert!(!ti.contains(ms("2024-01-01T17:00:00Z")));
        assert!(!ti.contains(ms("2024-01-06T10:00:00Z")));
        let never = interval(|t| t.times = Some(Vec::new()));
        assert!(!never.contains(ms("2024-01-01T10:00:00Z")));
        assert!(TimeInterval::default().contains(ms("2024-01-01T10:00:00Z")));
    }

    #[test]
    fn negative_days_of_month() {
        let last_week = interval(|t| {
            t.days_of_month = Some(vec![parse_day_of_month_range("-7:-1").expect("dom")]);
        });
        assert!(last_week.contains(ms("2024-02-23T00:00:00Z")));
        assert!(!last_week.contains(ms("2024-02-22T23:59:00Z")));
        assert!(last_week.contains(ms("2023-02-28T12:00:00Z")));
        assert!(!last_week.contains(ms("2023-02-21T12:00:00Z")));
        // Day 31 only exists in long months; -31 clamps to the first day in short ones.
        let d31 =
            interval(|t| t.days_of_month = Some(vec![parse_day_of_month_range("31").expect("d")]));
        assert!(!d31.contains(ms("2024-04-30T12:00:00Z")));
        assert!(d31.contains(ms("2024-05-31T12:00:00Z")));
        let whole = interval(|t| {
            t.days_of_month = Some(vec![parse_day_of_month_range("-31:-1").expect("d")]);
        });
        assert!(whole.contains(ms("2024-02-01T12:00:00Z")));
        // As in Alertmanager, a range that lies before the first day matches nothing.
        let before = interval(|t| {
            t.days_of_month = Some(vec![parse_day_of_month_range("-31:-30").expect("d")]);
        });
        assert!(!before.contains(ms("2024-02-01T12:00:00Z")));
    }

    #[test]
    fn locations_and_dst() {
        let Ok(berlin) = Location::load("Europe/Berlin") else {
            // No tzdata on this machine: the zone-independent tests above still ran.
            return;
        };
        let ti = interval(|t| {
            t.times = Some(vec![
                parse_time_range(Some("09:00"), Some("10:00")).expect("tr")
            ]);
            t.location = Some(berlin.clone());
        });
        // Winter: UTC+1; summer: UTC+2.
        assert!(ti.contains(ms("2024-01-15T08:30:00Z")));
        assert!(!ti.contains(ms("2024-01-15T09:30:00Z")));
        assert!(ti.contains(ms("2024-07-15T07:30:00Z")));
        assert!(!ti.contains(ms("2024-07-15T08:30:00Z")));
        // The last day of March, which has a DST change, is still day -1 (0.25 got this wrong).
        let last = interval(|t| {
            t.days_of_month = Some(vec![parse_day_of_month_range("-1").expect("d")]);
            t.location = Some(berlin);
        });
        assert!(last.contains(ms("2024-03-31T12:00:00Z")));
        assert!(!last.contains(ms("2024-03-30T12:00:00Z")));
        assert!(Location::load("europe/berlin").is_err());
        assert!(Location::load("Nowhere/City").is_err());
        assert!(Location::load("../etc/passwd").is_err());
        assert!(Location::load("UTC").is_ok());
    }
}
