//! Go's spellings of values, where Prometheus's output is compared or parsed by tools: quoted
//! strings (`strconv.Quote`), durations (`time.Duration.String` and Prometheus's
//! `model.Duration.String`), label sets (`labels.Labels.String`), timestamps
//! (`time.Time` as JSON, RFC 3339 with nanoseconds) and URL query escaping (`url.QueryEscape`).

use std::fmt::Write;

/// Prometheus's `model.Duration.String()` (`90d`, `5m`).
pub(crate) use vigil_model::format_duration_ms as prom_duration;
/// `url.QueryEscape(s)`.
pub(crate) use vigil_model::go_query_escape as query_escape;

/// `strconv.Quote(s)`.
pub(crate) fn go_quote(s: &str) -> String {
    vigil_model::go_quote(s, false)
}

/// A label list as Prometheus's `labels.Labels.String()` prints it: `{a="1", b="2"}`, the
/// metric name not pulled out.
pub(crate) fn labels_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push('=');
        out.push_str(&go_quote(value));
    }
    out.push('}');
    out
}

/// `time.Duration.String()` of `ms` milliseconds: `0s`, `500ms`, `1.5s`, `1m0s`, `2h0m0s`.
pub(crate) fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    let neg = ms < 0;
    let abs = ms.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if abs < 1000 {
        let _ = write!(out, "{abs}ms");
        return out;
    }
    let hours = abs / 3_600_000;
    let minutes = (abs / 60_000) % 60;
    let secs = (abs / 1000) % 60;
    let frac = abs % 1000;
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if hours > 0 || minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    let _ = write!(out, "{secs}");
    if frac > 0 {
        let f = format!("{frac:03}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('s');
    out
}

/// `strconv.FormatFloat(v, 'E', -1, 64)`: `1E+00`, `-2.5E-07`, `NaN`, `+Inf`.
pub(crate) fn go_float_upper_e(v: f64) -> String {
    let s = vigil_model::go_format_e(v);
    if v.is_finite() {
        s.replace('e', "E")
    } else {
        s
    }
}

/// The zero `time.Time` as Go's JSON writes it; Prometheus reports never-evaluated rules so.
pub(crate) const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `ms` since the epoch as Go's JSON writes a UTC `time.Time` (RFC 3339, fractional seconds
/// without trailing zeros): `2024-01-01T00:00:00.5Z`.
pub(crate) fn rfc3339(ms: i64) -> String {
    vigil_model::civil::format_rfc3339(ms, vigil_model::civil::Fraction::Trimmed)
}

/// Prometheus's `strutil.TableLinkForExpression`: the graph page's table tab for `expr`.
pub(crate) fn table_link_for_expression(expr: &str) -> String {
    format!("/graph?g0.expr={}&g0.tab=1", query_escape(expr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(300_000), "5m0s");
        assert_eq!(go_duration(7_200_000), "2h0m0s");
        assert_eq!(go_duration(1_500), "1.5s");
        assert_eq!(go_duration(250), "250ms");
        assert_eq!(go_duration(3_661_010), "1h1m1.01s");
        assert_eq!(prom_duration(300_000), "5m");
        assert_eq!(prom_duration(90 * 86_400_000), "90d");
        assert_eq!(prom_duration(14 * 86_400_000), "2w");
        assert_eq!(prom_duration(0), "0s");
    }

    #[test]
    fn quoting_and_labels() {
        assert_eq!(go_quote("a\"b\\\n\u{1}é"), "\"a\\\"b\\\\\\n\\x01é\"");
        assert_eq!(
            labels_string([("__name__", "up"), ("job", "a")]),
            "{__name__=\"up\", job=\"a\"}"
        );
        assert_eq!(go_float_upper_e(1.0), "1E+00");
        assert_eq!(go_float_upper_e(-2.5e-7), "-2.5E-07");
        assert_eq!(go_float_upper_e(f64::NAN), "NaN");
    }

    #[test]
    fn timestamps_and_links() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_704_067_200_500), "2024-01-01T00:00:00.5Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            table_link_for_expression("up == 0"),
            "/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
        );
        assert_eq!(query_escape("a*b~"), "a%2Ab~");
    }
}
