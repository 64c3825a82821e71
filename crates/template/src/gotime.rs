//! Go's `time.Time` formatting in UTC: `String()` (`2006-01-02 15:04:05.999999999 -0700 MST`),
//! which `humanizeTimestamp` and printing an alert's `.StartsAt` use, and `Format(layout)` with
//! Go's reference-time layouts. Vigil keeps every time in UTC, so zones are always `UTC`/`+0000`.

use crate::value::GoTime;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Broken-down UTC time.
struct Civil {
    year: i64,
    month: usize, // 1..=12
    day: i64,
    yday: i64, // 1..=366
    weekday: usize,
    hour: i64,
    min: i64,
    sec: i64,
    nanos: u32,
}

fn civil(t: GoTime) -> Civil {
    let days = t.secs.div_euclid(86_400);
    let rem = t.secs.rem_euclid(86_400);
    let (year, month, day) = vigil_model::civil::civil_from_days(days);
    let (month, day) = (i64::from(month), i64::from(day));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let m_idx = usize::try_from(month - 1).unwrap_or(0).min(11);
    let yday = CUM.get(m_idx).copied().unwrap_or(0) + day + i64::from(leap && month > 2);
    Civil {
        year,
        month: m_idx + 1,
        day,
        yday,
        weekday: usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
        hour: rem / 3600,
        min: rem / 60 % 60,
        sec: rem % 60,
        nanos: t.nanos,
    }
}

/// `t.String()` for a UTC time without a monotonic reading.
pub fn time_string(t: GoTime) -> String {
    format(t, "2006-01-02 15:04:05.999999999 -0700 MST")
}

fn pad(out: &mut String, n: i64, width: usize, fill: char) {
    let s = n.unsigned_abs().to_string();
    if n < 0 {
        out.push('-');
    }
    for _ in s.len()..width {
        out.push(fill);
    }
    out.push_str(&s);
}

/// `t.Format(layout)`.
pub fn format(t: GoTime, layout: &str) -> String {
    let c = civil(t);
    let mut out = String::with_capacity(layout.len() + 8);
    let mut rest = layout;
    while let Some(ch) = rest.chars().next() {
        let take = |p: &str| rest.starts_with(p);
        let consumed = if take("January") {
            out.push_str(MONTHS.get(c.month - 1).copied().unwrap_or(""));
            7
        } else if take("Jan") {
            out.push_str(
                MONTHS
                    .get(c.month - 1)
                    .map_or("", |m| m.get(..3).unwrap_or(m)),
            );
            3
        } else if take("Monday") {
            out.push_str(DAYS.get(c.weekday).copied().unwrap_or(""));
            6
        } else if take("Mon") {
            out.push_str(DAYS.get(c.weekday).map_or("", |d| d.get(..3).unwrap_or(d)));
            3
        } else if take("MST") {
            out.push_str("UTC");
            3
        } else if take("2006") {
            pad(&mut out, c.year, 4, '0');
            4
        } else if take("002") {
            pad(&mut out, c.yday, 3, '0');
            3
        } else if take("01") {
            pad(&mut out, i64::try_from(c.month).unwrap_or(0), 2, '0');
            2
        } else if take("02") {
            pad(&mut out, c.day, 2, '0');
            2
        } else if take("03") {
            pad(&mut out, hour12(c.hour), 2, '0');
            2
        } else if take("04") {
            pad(&mut out, c.min, 2, '0');
            2
        } else if take("05") {
            pad(&mut out, c.sec, 2, '0');
            2
        } else if take("06") {
            pad(&mut out, c.year.rem_euclid(100), 2, '0');
            2
        } else if take("15") {
            pad(&mut out, c.hour, 2, '0');
            2
        } else if take("1") {
            pad(&mut out, i64::try_from(c.month).unwrap_or(0), 1, '0');
            1
        } else if take("2") {
            pad(&mut out, c.day, 1, '0');
            1
        } else if take("__2") {
            pad(&mut out, c.yday, 3, ' ');
            3
        } else if take("_2") && !take("_2006") {
            pad(&mut out, c.day, 2, ' ');
            2
        } else if take("3") {
            pad(&mut out, hour12(c.hour), 1, '0');
            1
        } else if take("4") {
            pad(&mut out, c.min, 1, '0');
            1
        } else if take("5") {
            pad(&mut out, c.sec, 1, '0');
            1
        } else if take("PM") {
            out.push_str(if c.hour >= 12 { "PM" } else { "AM" });
            2
        } else if take("pm") {
            out.push_str(if c.hour >= 12 { "pm" } else { "am" });
            2
        } else if let Some(n) = zone(rest) {
            let z = rest.starts_with('Z');
            let body = rest.get(usize::from(z)..n).unwrap_or("");
            if z {
                out.push('Z');
            } else {
                out.push('+');
                out.push_str(&body.replace('7', "0").replace('-', ""));
            }
            n
        } else if let Some((n, nines, digits)) = fraction(rest) {
            let sep = if rest.starts_with(',') { ',' } else { '.' };
            let frac = format!("{:09}", c.nanos);
            let mut part = frac.get(..digits.min(9)).unwrap_or("").to_owned();
            if nines {
                while part.ends_with('0') {
                    part.pop();
                }
            }
            if !part.is_empty() || !nines {
                out.push(sep);
                out.push_str(&part);
            }
            n
        } else {
            out.push(ch);
            ch.len_utf8()
        };
        rest = rest.get(consumed..).unwrap_or("");
    }
    out
}

fn hour12(h: i64) -> i64 {
    match h % 12 {
        0 => 12,
        x => x,
    }
}

/// Length of a zone directive at the start of `s` (`-0700`, `Z07:00`, …).
fn zone(s: &str) -> Option<usize> {
    const ZONES: [&str; 10] = [
        "Z07:00:00",
        "-07:00:00",
        "Z070000",
        "-070000",
        "Z07:00",
        "-07:00",
        "Z0700",
        "-0700",
        "Z07",
        "-07",
    ];
    ZONES.iter().find(|z| s.starts_with(**z)).map(|z| z.len())
}

/// A fractional-seconds directive (`.000`, `,999`…): its length, whether it trims zeros,
/// and the number of digits.
fn fraction(s: &str) -> Option<(usize, bool, usize)> {
    let bytes = s.as_bytes();
    let (&sep, rest) = bytes.split_first()?;
    if sep != b'.' && sep != b',' {
        return None;
    }
    let &digit = rest.first()?;
    if digit != b'0' && digit != b'9' {
        return None;
    }
    let run = rest.iter().take_while(|&&b| b == digit).count();
    if rest.get(run).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((run + 1, digit == b'9', run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_like_go() {
        assert_eq!(time_string(GoTime::ZERO), "0001-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            time_string(GoTime::from_millis(1_500)),
            "1970-01-01 00:00:01.5 +0000 UTC"
        );
        assert_eq!(
            time_string(GoTime::from_millis(-1)),
            "1969-12-31 23:59:59.999 +0000 UTC"
        );
        assert_eq!(
            time_string(GoTime::from_millis(1_709_251_200_000)),
            "2024-03-01 00:00:00 +0000 UTC"
        );
    }

    #[test]
    fn layouts() {
        let t = GoTime::from_millis(1_672_628_645_123); // 2023-01-02 03:04:05.123 UTC, Monday
        assert_eq!(
            format(t, "Mon Jan _2 15:04:05.000 2006"),
            "Mon Jan  2 03:04:05.123 2023"
        );
        assert_eq!(
            format(t, "2006-01-02T15:04:05Z07:00"),
            "2023-01-02T03:04:05Z"
        );
        assert_eq!(format(t, "3:04PM -0700 MST"), "3:04AM +0000 UTC");
        assert_eq!(
            format(t, "Monday January 2 002 .999"),
            "Monday January 2 002 .123"
        );
    }
}
