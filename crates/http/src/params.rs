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

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `match[]` selectors, each parsed into matchers.
    ///
    /// # Errors
    /// The first selector that does not parse.
    pub fn matchers(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        self.all("match[]")
            .map(|s| vigil_promql::parse_selector(s).map_err(ApiError::from))
            .collect()
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
            Some(s) => parse_time(s).map(Some).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "invalid parameter {name:?}: cannot parse {s:?} to a valid timestamp"
                ))
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
    let t = humantime::parse_rfc3339_weak(s).ok()?;
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).ok(),
        Err(e) => i64::try_from(e.duration().as_millis()).ok().map(|v| -v),
    }
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
    fn repeated_match_from_query_and_form() {
        let p = Params::new(Some("match[]=up&start=1"), Some(b"match%5B%5D=down&end=2"));
        let m: Vec<_> = p.all("match[]").collect();
        assert_eq!(m, ["up", "down"]);
        assert_eq!(p.range().expect("range"), TimeRange::new(1000, 2000));
    }
}
