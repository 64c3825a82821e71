//! Request parameters in Prometheus's conventions: the same names in the query string and in a
//! form-encoded POST body, repeated `match[]`, times as RFC 3339 or Unix seconds.

use vigil_model::{Matcher, Timestamp};
use vigil_storage::TimeRange;

use crate::ApiError;

/// All parameters of a request, query string first, then form body.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Collects parameters from the raw query string and, for form POSTs, the body.
    pub fn new(query: Option<&str>, form_body: Option<&[u8]>) -> Self {
        let mut v: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            v.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        if let Some(b) = form_body {
            v.extend(form_urlencoded::parse(b).into_owned());
        }
        Params(v)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `match[]` selectors, each parsed into matchers, off the async threads: placing a
    /// parse error in the text can take up to thousands of parses.
    ///
    /// # Errors
    /// The first selector that does not parse.
    pub async fn matchers(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        let texts: Vec<String> = self.all("match[]").map(str::to_owned).collect();
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        tokio::task::spawn_blocking(move || {
            texts
                .iter()
                .map(|s| vigil_promql::parse_selector(s).map_err(ApiError::from))
                .collect()
        })
        .await?
    }

    /// `start`/`end` as a range; absent ends are unbounded.
    ///
    /// # Errors
    /// An unparsable time, or end before start.
    pub fn range(&self) -> Result<TimeRange, ApiError> {
        let start = self.time("start")?.unwrap_or(Timestamp::MIN);
        let end = self.time("end")?.unwrap_or(Timestamp::MAX);
        if end < start {
            return Err(ApiError::bad_data(
                "invalid parameter \"end\": end timestamp must not be before start time",
            ));
        }
        Ok(TimeRange::new(start, end))
    }

    /// A time parameter.
    ///
    /// # Errors
    /// A value that is neither Unix seconds nor RFC 3339.
    pub fn time(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            // Prometheus's wording for optional times (`parseTimeParam`).
            Some(s) => parse_time(s).map(Some).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "invalid parameter {name:?}: invalid time value for '{name}': cannot parse {s:?} to a valid timestamp"
                ))
            }),
        }
    }

    /// A time parameter the request cannot do without (`start`/`end` of a range query).
    ///
    /// # Errors
    /// An absent or unparsable value, worded as Prometheus words it.
    pub fn required_time(&self, name: &str) -> Result<Timestamp, ApiError> {
        let s = self.get(name).unwrap_or("");
        parse_time(s).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid parameter {name:?}: cannot parse {s:?} to a valid timestamp"
            ))
        })
    }

    /// A duration parameter in Prometheus's syntax (float seconds or `1m30s`), in nanoseconds
    /// as Go's `time.Duration` holds it; absent or empty gives `None`.
    ///
    /// # Errors
    /// A value that is neither, named after the parameter.
    pub fn duration(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(s) => parse_duration(s).map(Some).map_err(|reason| {
                ApiError::bad_data(format!("invalid parameter {name:?}: {reason}"))
            }),
        }
    }

    /// A non-negative integer `limit` (0 or absent = no limit).
    ///
    /// # Errors
    /// A value that is not a non-negative integer.
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.get("limit") {
            None | Some("") => Ok(0),
            Some(s) => s.parse::<usize>().map_err(|_| {
                ApiError::bad_data(format!(
                    "invalid parameter \"limit\": cannot parse {s:?} as a non-negative integer"
                ))
            }),
        }
    }
}

/// Unix seconds (possibly fractional) or RFC 3339, to milliseconds.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return None;
        }
        let ms = (f * 1000.0).round();
        // Both bounds are exactly representable; the cast below is then in range.
        if !(-9.2e18..=9.2e18).contains(&ms) {
            return None;
        }
        #[allow(clippy::cast_possible_truncation)]
        return Some(ms as i64);
    }
    // RFC 3339 with `Z` or a numeric offset, as Go's `time.RFC3339Nano` reads it.
    vigil_model::civil::parse_rfc3339(s)
}

/// Go's `time.Duration` range in nanoseconds, as an exclusive bound both ways.
const MAX_DURATION_NS: f64 = 9.223_372_036_854_776e18;

/// A duration as Prometheus's API reads it (`parseDuration`): float seconds, or Prometheus's
/// duration syntax (`1h30m`, `15s`, `250ms`, units `y w d h m s ms`, largest first). Returns
/// nanoseconds; float seconds may be zero or negative, which callers judge.
///
/// # Errors
/// Prometheus's wording: `cannot parse "x" to a valid duration`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        let ns = secs * 1e9;
        if ns.is_nan() {
            return Err(format!("cannot parse {s:?} to a valid duration"));
        }
        if !(-MAX_DURATION_NS..MAX_DURATION_NS).contains(&ns) {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        // In range by the check above.
        #[allow(clippy::cast_possible_truncation)]
        return Ok(ns as i64);
    }
    vigil_model::parse_duration_ms(s)
        .ok()
        .and_then(|ms| i64::try_from(ms).ok())
        .and_then(|ms| ms.checked_mul(1_000_000))
        .ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1435781451.781"), Some(1_435_781_451_781));
        assert_eq!(parse_time("1435781451"), Some(1_435_781_451_000));
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Some(1_435_781_451_781)
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("NaN"), None);
    }

    #[test]
    fn times_before_1970_parse_as_prometheus_parses_them() {
        assert_eq!(parse_time("1969-12-31T23:59:59Z"), Some(-1000));
        assert_eq!(parse_time("1969-12-31T19:00:00.5-05:00"), Some(500));
    }

    #[test]
    fn times_with_offsets() {
        assert_eq!(
            parse_time("2015-07-01T22:10:51.781+02:00"),
            Some(1_435_781_451_781)
        );
        assert_eq!(
            parse_time("2015-07-01T15:40:51.781-04:30"),
            Some(1_435_781_451_781)
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15"), Ok(15_000_000_000));
        assert_eq!(parse_duration("0.5"), Ok(500_000_000));
        assert_eq!(parse_duration("15s"), Ok(15_000_000_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("-1"), Ok(-1_000_000_000));
        assert_eq!(
            parse_duration("1s1m"),
            Err("cannot parse \"1s1m\" to a valid duration".to_owned())
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("1e300").is_err());
    }

    #[test]
    fn repeated_match_from_query_and_form() {
        let p = Params::new(Some("match[]=up&start=1"), Some(b"match%5B%5D=down&end=2"));
        let m: Vec<_> = p.all("match[]").collect();
        assert_eq!(m, ["up", "down"]);
        assert_eq!(p.range().expect("range"), TimeRange::new(1000, 2000));
    }
}
