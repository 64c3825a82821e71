//! The series description notation shared by `load` blocks and expected results
//! (`metric{l="v"} 0+10x100 _ stale`), plus Prometheus durations and numbers.
//!
//! Expansion follows the upstream grammar (`promql/parser/generated_parser.y`, `series_item`):
//! `a` is one value, `axn` is `a` n+1 times, `a+bxn` / `a-bxn` are n+1 values built by repeated
//! addition (so rounding matches upstream's accumulated sums), `_` omits one point and `_xn`
//! omits n, `stale` is the staleness marker.

use vigil_model::{Labels, METRIC_NAME_LABEL, STALE_NAN};

/// One point of a series description.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeqValue {
    Omitted,
    Value(f64),
}

impl SeqValue {
    pub fn as_option(self) -> Option<f64> {
        match self {
            SeqValue::Omitted => None,
            SeqValue::Value(v) => Some(v),
        }
    }
}

/// What a series line parsed into.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesLine {
    Floats(Labels, Vec<SeqValue>),
    /// Parsed far enough to know the labels, but uses notation we do not represent.
    Unsupported(Labels, String),
}

/// Parses `metric{l="v"} values…`.
///
/// # Errors
/// A message naming what was malformed.
pub fn parse_series_line(line: &str) -> Result<SeriesLine, String> {
    let (labels, rest, st) = parse_labels_prefix(line)?;
    if st {
        return Ok(SeriesLine::Unsupported(
            labels,
            "start timestamps (`@st` series) are experimental".into(),
        ));
    }
    if rest.contains("{{") {
        return Ok(SeriesLine::Unsupported(
            labels,
            "native histogram samples ({{…}})".into(),
        ));
    }
    let values = expand_values(rest)?;
    Ok(SeriesLine::Floats(labels, values))
}

/// Expands the value part of a series description.
///
/// # Errors
/// The first item that is not valid expanding notation.
pub fn expand_values(s: &str) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    for item in s.split_whitespace() {
        expand_item(item, &mut out).map_err(|e| format!("value {item:?}: {e}"))?;
    }
    Ok(out)
}

fn expand_item(item: &str, out: &mut Vec<SeqValue>) -> Result<(), String> {
    let (body, times) = split_times(item)?;
    if body == "_" {
        let n = times.unwrap_or(1);
        out.extend(std::iter::repeat_n(SeqValue::Omitted, n));
        return Ok(());
    }
    if body.eq_ignore_ascii_case("stale") {
        if times.is_some() {
            return Err("`stale` cannot be repeated".into());
        }
        out.push(SeqValue::Value(STALE_NAN));
        return Ok(());
    }
    let (start, step) = split_start_step(body)?;
    match times {
        None => {
            if step.is_some() {
                return Err("a step (`a+b`) needs a repeat count (`xN`)".into());
            }
            out.push(SeqValue::Value(start));
        }
        Some(n) => {
            let step = step.unwrap_or(0.0);
            let mut v = start;
            for _ in 0..=n {
                out.push(SeqValue::Value(v));
                v += step;
            }
        }
    }
    Ok(())
}

/// Splits a trailing `x<digits>` repeat count.
fn split_times(item: &str) -> Result<(&str, Option<usize>), String> {
    if let Some(pos) = item.rfind('x') {
        let digits = &item[pos + 1..];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            let n = digits
                .parse::<usize>()
                .map_err(|e| format!("repeat count: {e}"))?;
            return Ok((&item[..pos], Some(n)));
        }
    }
    Ok((item, None))
}

/// Splits `a+b` / `a-b` at the sign that starts the step (not a leading sign, not an exponent's).
fn split_start_step(body: &str) -> Result<(f64, Option<f64>), String> {
    let bytes = body.as_bytes();
    let mut split = None;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        if (b == b'+' || b == b'-') && !matches!(bytes.get(i - 1), Some(b'e' | b'E')) {
            split = Some(i);
            break;
        }
    }
    match split {
        None => Ok((parse_series_number(body)?, None)),
        Some(i) => Ok((
            parse_series_number(&body[..i])?,
            Some(parse_series_number(&body[i..])?),
        )),
    }
}

fn parse_series_number(s: &str) -> Result<f64, String> {
    parse_number(s).ok_or_else(|| format!("{s:?} is not a number"))
}

/// A number as upstream's test scripts accept it: integers (with `0x` / `0o` / `0b` / leading-0
/// octal prefixes), floats, `Inf`, `NaN` in any case, optionally signed.
pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let int = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        i64::from_str_radix(b, 2).ok()
    } else {
        None
    };
    if let Some(i) = int {
        // Exact for the magnitudes scripts use; upstream converts the same way.
        #[allow(clippy::cast_precision_loss)]
        let f = i as f64;
        return Some(if neg { -f } else { f });
    }
    if digits.is_empty()
        || !digits
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'+' || b == b'-')
    {
        return None;
    }
    let lower = digits.to_ascii_lowercase();
    let f = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            if !lower
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_digit() || b == b'.')
            {
                return None;
            }
            lower.parse::<f64>().ok()?
        }
    };
    Some(if neg { -f } else { f })
}

/// Parses the label part at the start of `line`; returns the labels, the rest of the line and
/// whether the series carried the `@st` start-timestamp marker.
fn parse_labels_prefix(line: &str) -> Result<(Labels, &str, bool), String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() && is_name_byte(bytes[i], i == 0) {
        i += 1;
    }
    if i > 0 {
        pairs.push((METRIC_NAME_LABEL.to_string(), line[..i].to_string()));
    }
    if bytes.get(i) == Some(&b'{') {
        i += 1;
        loop {
            i = skip_ws(line, i);
            match bytes.get(i) {
                None => return Err("unterminated label set".into()),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                Some(b',') => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let (name, next) = if matches!(bytes.get(i), Some(b'"' | b'\'' | b'`')) {
                let (s, n) = take_quoted(line, i)?;
                (s, n)
            } else {
                let start = i;
                while i < bytes.len() && is_name_byte(bytes[i], i == start) {
                    i += 1;
                }
                if i == start {
                    return Err(format!("unexpected character at offset {i} in label set"));
                }
                (line[start..i].to_string(), i)
            };
            i = skip_ws(line, next);
            if bytes.get(i) == Some(&b'=') {
                i = skip_ws(line, i + 1);
                let (value, n) = take_quoted(line, i)?;
                pairs.push((name, value));
                i = n;
            } else {
                // A bare quoted string in braces is the metric name (UTF-8 name syntax).
                pairs.push((METRIC_NAME_LABEL.to_string(), name));
            }
        }
    } else if i == 0 {
        return Err("a series line starts with a metric name or `{`".into());
    }
    let mut st = false;
    let mut rest = &line[i..];
    if let Some(r) = rest.strip_prefix("@st") {
        st = true;
        rest = r;
    }
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return Err(format!("unexpected {rest:?} after the label set"));
    }
    let labels = Labels::from_pairs(pairs).map_err(|e| e.to_string())?;
    Ok((labels, rest, st))
}

fn is_name_byte(b: u8, first: bool) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || (!first && b.is_ascii_digit())
}

fn skip_ws(s: &str, mut i: usize) -> usize {
    let b = s.as_bytes();
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Takes a quoted string starting at `i`; returns the unquoted text and the offset after it.
fn take_quoted(s: &str, i: usize) -> Result<(String, usize), String> {
    let b = s.as_bytes();
    let q = *b.get(i).ok_or("expected a quoted string")?;
    if !matches!(q, b'"' | b'\'' | b'`') {
        return Err(format!("expected a quoted string at offset {i}"));
    }
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'\\' && q != b'`' {
            j += 2;
            continue;
        }
        if b[j] == q {
            let text = unquote(&s[i..=j])?;
            return Ok((text, j + 1));
        }
        j += 1;
    }
    Err("unterminated quoted string".into())
}

/// Unquotes a `"…"`, `'…'` or `` `…` `` string with Go escape rules (PromQL strings use them).
///
/// # Errors
/// Missing quotes or a malformed escape.
pub fn unquote(s: &str) -> Result<String, String> {
    let mut chars = s.chars();
    let q = chars.next().ok_or("empty string literal")?;
    if !matches!(q, '"' | '\'' | '`') || s.len() < 2 || !s.ends_with(q) {
        return Err(format!("{s} is not a quoted string"));
    }
    let inner = &s[1..s.len() - 1];
    if q == '`' {
        return Ok(inner.to_string());
    }
    let mut out = String::with_capacity(inner.len());
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c == q {
            return Err(format!("{s}: unescaped quote inside string"));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = it.next().ok_or("trailing backslash")?;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' | '"' | '\'' => out.push(e),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = it.by_ref().take(n).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .map_err(|_| format!("bad \\{e} escape in {s}"))?;
                out.push(char::from_u32(code).ok_or_else(|| format!("bad code point in {s}"))?);
            }
            _ => return Err(format!("unknown escape \\{e} in {s}")),
        }
    }
    Ok(out)
}

/// A Prometheus duration (`model.ParseDuration`) in milliseconds, as the scripts write step,
/// `at` and range times.
///
/// # Errors
/// Anything else, e.g. `1.5h`, `5x`, `m5`, or an overflow.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let ms = vigil_model::parse_duration_ms(s)?;
    i64::try_from(ms).map_err(|_| format!("duration out of range: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::is_stale_nan;

    fn vals(s: &str) -> Vec<Option<f64>> {
        expand_values(s)
            .expect("valid")
            .into_iter()
            .map(SeqValue::as_option)
            .collect()
    }

    #[test]
    fn expanding_notation_exact_samples() {
        assert_eq!(
            vals("0+10x3"),
            [Some(0.0), Some(10.0), Some(20.0), Some(30.0)]
        );
        assert_eq!(vals("1 2 _ 3"), [Some(1.0), Some(2.0), None, Some(3.0)]);
        assert_eq!(
            vals("-1-2x3"),
            [Some(-1.0), Some(-3.0), Some(-5.0), Some(-7.0)]
        );
        assert_eq!(vals("0x2"), [Some(0.0), Some(0.0), Some(0.0)]);
        assert_eq!(vals("5x0"), [Some(5.0)]);
        assert_eq!(vals("_x3 1"), [None, None, None, Some(1.0)]);
        assert_eq!(vals("1e3 -2.5e-1"), [Some(1000.0), Some(-0.25)]);
        assert_eq!(vals("1e+2+1x1"), [Some(100.0), Some(101.0)]);
        assert_eq!(
            vals("Inf -Inf"),
            [Some(f64::INFINITY), Some(f64::NEG_INFINITY)]
        );
        assert_eq!(vals("1+Infx1"), [Some(1.0), Some(f64::INFINITY)]);
        let nan = vals("NaNx2");
        assert_eq!(nan.len(), 3);
        assert!(nan.iter().all(|v| v.is_some_and(f64::is_nan)));
        let stale = expand_values("1 stale").expect("valid");
        assert!(matches!(stale.get(1), Some(SeqValue::Value(v)) if is_stale_nan(*v)));
        // Accumulated like upstream, so 0.1 steps carry the same rounding.
        let acc = vals("0+0.1x3");
        assert_eq!(acc.get(3).copied().flatten(), Some(0.1 + 0.1 + 0.1));
        assert!(expand_values("1+2").is_err());
        assert!(expand_values("abc").is_err());
        assert!(expand_values("stalex3").is_err());
    }

    #[test]
    fn series_line_labels() {
        let SeriesLine::Floats(l, v) =
            parse_series_line(r#"http_requests{job="api, server", instance="0"} 0+10x2"#)
                .expect("valid")
        else {
            panic!("floats expected")
        };
        assert_eq!(
            l.to_string(),
            r#"http_requests{instance="0", job="api, server"}"#
        );
        assert_eq!(v.len(), 3);
        let SeriesLine::Floats(l, v) = parse_series_line("{} 1").expect("valid") else {
            panic!("floats expected")
        };
        assert!(l.is_empty());
        assert_eq!(v, [SeqValue::Value(1.0)]);
        let SeriesLine::Floats(l, _) =
            parse_series_line(r#"{"my.metric", "a b"='x\'y',} 1"#).expect("valid")
        else {
            panic!("floats expected")
        };
        assert_eq!(l.get("__name__"), Some("my.metric"));
        assert_eq!(l.get("a b"), Some("x'y"));
        assert!(matches!(
            parse_series_line("h {{schema:0 sum:1 count:1}}"),
            Ok(SeriesLine::Unsupported(..))
        ));
        assert!(matches!(
            parse_series_line("c{a=\"1\"}@st _ -30s-1mx2"),
            Ok(SeriesLine::Unsupported(..))
        ));
        assert!(parse_series_line("m{a=1} 1").is_err());
        assert!(parse_series_line("m{a=\"1\"").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("0m"), Ok(0));
        assert_eq!(parse_duration("5m"), Ok(300_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("10s"), Ok(10_000));
        assert_eq!(parse_duration("10s53ms"), Ok(10_053));
        assert_eq!(parse_duration("1d"), Ok(86_400_000));
        assert_eq!(parse_duration("1y"), Ok(31_536_000_000));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1.5h").is_err());
        assert!(parse_duration("30m1h").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("-5m").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("12.34e6"), Some(12_340_000.0));
        assert_eq!(parse_number("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_number("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_number("0x10"), Some(16.0));
        assert_eq!(parse_number(".2"), Some(0.2));
        assert_eq!(parse_number("2."), Some(2.0));
        assert!(parse_number("nan").is_some_and(f64::is_nan));
        assert_eq!(parse_number("{} 1"), None);
        assert_eq!(parse_number("metric"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote(r#""a\"b""#).as_deref(), Ok("a\"b"));
        assert_eq!(unquote("`a\\b`").as_deref(), Ok("a\\b"));
        assert_eq!(unquote(r#""\u00e9""#).as_deref(), Ok("é"));
        assert!(unquote("\"abc").is_err());
    }
}
