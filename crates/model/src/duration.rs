//! Prometheus's duration syntax (`model.ParseDuration`), shared by config files, query
//! parameters and test scripts: `[0-9]+` followed by one of `y w d h m s ms`, largest unit
//! first, each unit at most once (`1h30m`, `15s`, `100ms`, `1d`); a year is 365 days and a week
//! 7 days; a bare `0` is allowed. Formatting is the inverse, so 90 s prints as `1m30s`, as
//! Prometheus prints it.

use std::fmt::Write;

const UNITS_MS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration into milliseconds.
///
/// # Errors
/// A string that is not in the syntax above, or a value too large for `u64` milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("empty duration string".to_owned());
    }
    let invalid = || format!("not a valid duration string: {s:?}");
    let mut rest = s;
    let mut total: u64 = 0;
    // Units must appear in decreasing order, each at most once.
    let mut next_unit = 0usize;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let (num, tail) = rest.split_at(digits);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("duration {s:?} is too large"))?;
        // "ms" must be tried before "m".
        let unit_len = if tail.starts_with("ms") {
            2
        } else if tail
            .chars()
            .next()
            .is_some_and(|c| matches!(c, 'y' | 'w' | 'd' | 'h' | 'm' | 's'))
        {
            1
        } else {
            return Err(invalid());
        };
        let (unit, after) = tail.split_at(unit_len);
        let idx = UNITS_MS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(invalid)?;
        if idx < next_unit {
            return Err(invalid());
        }
        next_unit = idx + 1;
        let mult = UNITS_MS.get(idx).map_or(1, |(_, m)| *m);
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration {s:?} is too large"))?;
        rest = after;
    }
    Ok(total)
}

/// Writes `ms` milliseconds in Prometheus's duration syntax (`1m30s`, `0s`), as Prometheus's
/// `model.Duration.String()` does: years and weeks only when they divide the duration exactly
/// (`90d`, not `12w6d`).
pub fn format_duration_ms(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut left = ms;
    for (unit, mult) in UNITS_MS {
        if matches!(unit, "y" | "w") && !left.is_multiple_of(mult) {
            continue;
        }
        let v = left / mult;
        if v > 0 {
            let _ = write!(out, "{v}{unit}");
            left -= v * mult;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert_eq!(parse_duration_ms("15s"), Ok(15_000));
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("100ms"), Ok(100));
        assert_eq!(parse_duration_ms("1y1w1d1h1m1s1ms"), Ok(32_230_861_001));
        for bad in [
            "",
            "1",
            "1m1h",
            "1s1s",
            "-1s",
            "1.5s",
            "1x",
            "s",
            "99999999999999999999y",
        ] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_largest_units_first() {
        assert_eq!(format_duration_ms(0), "0s");
        assert_eq!(format_duration_ms(90_000), "1m30s");
        assert_eq!(format_duration_ms(86_400_000 + 1), "1d1ms");
        assert_eq!(format_duration_ms(90 * 86_400_000), "90d");
        assert_eq!(format_duration_ms(14 * 86_400_000), "2w");
        assert_eq!(format_duration_ms(365 * 86_400_000), "1y");
    }
}
