//! Prometheus's template functions (its `template/template.go`, v2.42): query helpers,
//! `humanize*`, links and URL helpers, with Go's exact output (`%.4g`, SI prefixes, Go's time
//! printing) and error texts.

use std::collections::BTreeMap;
use std::sync::Arc;

use vigil_model::{
    go_format_g, go_format_g_prec, go_query_escape as query_escape, parse_duration_ms,
};

use crate::funcs::{
    add_common, arg, convert_to_float, str_arg, strings_title, Arity, FuncError, FuncResult,
    FuncTable,
};
use crate::gotime::time_string;
use crate::value::{
    go_type_name, make_struct, str_value, string_map, GoTime, Value, T_PROM_SAMPLE,
};

/// One sample of a `query` result.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Runs an instant PromQL query for the `query` template function.
pub trait TemplateQuery: Send + Sync {
    /// Evaluates `expr` at `at_ms`; the error text becomes the template error.
    ///
    /// # Errors
    /// Any failure of the query, as text.
    fn query(&self, expr: &str, at_ms: i64) -> Result<Vec<QuerySample>, String>;
}

/// Runs a query on behalf of a template function (see `rule.rs` for why this is indirect).
pub type QueryFn = Arc<dyn Fn(&str) -> Result<Vec<QuerySample>, String> + Send + Sync>;

/// What the functions need to know about the expansion.
pub struct PromContext {
    pub external_url: String,
    pub query: Option<QueryFn>,
}

fn sample_value(s: &QuerySample) -> Value {
    make_struct(
        T_PROM_SAMPLE,
        vec![
            ("Labels", string_map(&s.labels)),
            ("Value", Value::Float(s.value)),
        ],
    )
}

/// A `*sample` parameter; Go dereferences nil and panics, which text/template reports.
fn sample_arg(args: &[Value], i: usize) -> Result<&Value, FuncError> {
    match arg(args, i) {
        Value::Nil => Err(FuncError::Call(
            "runtime error: invalid memory address or nil pointer dereference".to_owned(),
        )),
        v if crate::value::struct_type(v) == Some(T_PROM_SAMPLE) => Ok(v),
        v => Err(FuncError::Type(format!(
            "wrong type for value; expected *template.sample; got {}",
            go_type_name(v)
        ))),
    }
}

fn query_result_arg(args: &[Value], i: usize) -> Result<Vec<Value>, FuncError> {
    match arg(args, i) {
        Value::List(items)
            if items
                .iter()
                .all(|x| crate::value::struct_type(x) == Some(T_PROM_SAMPLE)) =>
        {
            Ok(items.to_vec())
        }
        Value::Nil => Ok(Vec::new()),
        v => Err(FuncError::Type(format!(
            "wrong type for value; expected template.queryResult; got {}",
            go_type_name(v)
        ))),
    }
}

fn label_of(sample: &Value, name: &str) -> String {
    match sample.field("Labels").and_then(|l| l.field(name)) {
        Some(Value::String(s)) => s.to_string(),
        _ => String::new(),
    }
}

/// `fmt.Sprintf("%.4g", v)`.
fn g4(v: f64) -> String {
    go_format_g_prec(v, Some(4))
}

pub fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", g4(v))
}

pub fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// Go's `int64(f)` on amd64: truncation, and `MinInt64` for anything out of range or NaN.
#[allow(clippy::cast_possible_truncation)]
fn go_int64(f: f64) -> i64 {
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        i64::MIN
    } else {
        f.trunc() as i64
    }
}

pub fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = go_int64(v);
        let seconds = d % 60;
        let minutes = (d / 60) % 60;
        let hours = (d / 60 / 60) % 24;
        let days = d / 60 / 60 / 24;
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", g4(v));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", g4(v))
}

pub fn humanize_percentage(v: f64) -> String {
    format!("{}%", g4(v * 100.0))
}

/// Prometheus's `floatToTime`: seconds → time, truncated to milliseconds as
/// `model.TimeFromUnixNano` does. `Ok(None)` for NaN and infinities.
pub fn float_to_time(v: f64) -> Result<Option<GoTime>, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(None);
    }
    let ns = v * 1e9;
    if !(-9_223_372_036_854_775_808.0..=9_223_372_036_854_775_807.0).contains(&ns) {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            go_format_g(v)
        ));
    }
    let ms = go_int64(ns) / 1_000_000;
    Ok(Some(GoTime::from_millis(ms)))
}

pub fn humanize_timestamp(v: f64) -> Result<String, String> {
    Ok(match float_to_time(v)? {
        Some(t) => time_string(t),
        None => g4(v),
    })
}

/// The path of a URL (`url.URL.Path`), for `pathPrefix`.
pub fn url_path(url: &str) -> String {
    let after_scheme = match url.find("://") {
        Some(i) => url.get(i + 3..).unwrap_or(""),
        None => url,
    };
    let path_start = if url.contains("://") {
        after_scheme.find('/')
    } else {
        Some(0)
    };
    let Some(start) = path_start else {
        return String::new();
    };
    let path = after_scheme.get(start..).unwrap_or("");
    let end = path.find(['?', '#']).unwrap_or(path.len());
    path.get(..end).unwrap_or("").to_owned()
}

/// `net.SplitHostPort`, enough for `stripPort`/`stripDomain`.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return (!port.contains(':')).then_some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    (!host.contains(':')).then_some((host, port))
}

fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

fn num_fn(f: fn(f64) -> String) -> impl Fn(&[Value]) -> FuncResult + Send + Sync {
    move |a| Ok(str_value(&f(convert_to_float(arg(a, 0))?)))
}

/// The function table of a rule template.
pub fn prom_funcs(ctx: PromContext) -> FuncTable {
    let mut t = FuncTable::default();
    add_common(&mut t);
    let query = ctx.query;
    t.add("query", Arity::Exact(1), move |a| {
        let q = str_arg(a, 0)?;
        let run = query.as_ref().ok_or_else(|| {
            FuncError::Call(
                "runtime error: invalid memory address or nil pointer dereference".to_owned(),
            )
        })?;
        let samples = run(q).map_err(FuncError::Call)?;
        let list: Vec<Value> = samples.iter().map(sample_value).collect();
        Ok(Value::List(Arc::from(list)))
    });
    t.add("first", Arity::Exact(1), |a| {
        query_result_arg(a, 0)?
            .into_iter()
            .next()
            .ok_or_else(|| FuncError::Call("first() called on vector with no elements".to_owned()))
    });
    t.add("label", Arity::Exact(2), |a| {
        let name = str_arg(a, 0)?;
        Ok(str_value(&label_of(sample_arg(a, 1)?, name)))
    });
    t.add("value", Arity::Exact(1), |a| {
        Ok(sample_arg(a, 0)?
            .field("Value")
            .cloned()
            .unwrap_or(Value::Float(0.0)))
    });
    t.add("strvalue", Arity::Exact(1), |a| {
        Ok(str_value(&label_of(sample_arg(a, 0)?, "__value__")))
    });
    t.add("args", Arity::AtLeast(0), |a| {
        let map: BTreeMap<Arc<str>, Value> = a
            .iter()
            .enumerate()
            .map(|(i, v)| (Arc::from(format!("arg{i}")), v.clone()))
            .collect();
        Ok(Value::Map(Arc::new(map)))
    });
    t.add("title", Arity::Exact(1), |a| {
        Ok(str_value(&strings_title(str_arg(a, 0)?)))
    });
    t.add("graphLink", Arity::Exact(1), |a| {
        Ok(str_value(&format!(
            "/graph?g0.expr={}&g0.tab=0",
            query_escape(str_arg(a, 0)?)
        )))
    });
    t.add("tableLink", Arity::Exact(1), |a| {
        Ok(str_value(&format!(
            "/graph?g0.expr={}&g0.tab=1",
            query_escape(str_arg(a, 0)?)
        )))
    });
    t.add("sortByLabel", Arity::Exact(2), |a| {
        let name = str_arg(a, 0)?;
        let mut items = query_result_arg(a, 1)?;
        items.sort_by_cached_key(|s| label_of(s, name)); // stable, like sort.Stable
        Ok(Value::List(Arc::from(items)))
    });
    t.add("stripPort", Arity::Exact(1), |a| {
        let hp = str_arg(a, 0)?;
        Ok(str_value(split_host_port(hp).map_or(hp, |(h, _)| h)))
    });
    t.add("stripDomain", Arity::Exact(1), |a| {
        let hp = str_arg(a, 0)?;
        let (host, port) = split_host_port(hp).unwrap_or((hp, ""));
        if is_ip(host) {
            return Ok(str_value(hp));
        }
        let host = host.split('.').next().unwrap_or("");
        Ok(str_value(&if port.is_empty() {
            host.to_owned()
        } else if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }))
    });
    t.add("humanize", Arity::Exact(1), num_fn(humanize));
    t.add("humanize1024", Arity::Exact(1), num_fn(humanize1024));
    t.add(
        "humanizeDuration",
        Arity::Exact(1),
        num_fn(humanize_duration),
    );
    t.add(
        "humanizePercentage",
        Arity::Exact(1),
        num_fn(humanize_percentage),
    );
    t.add("humanizeTimestamp", Arity::Exact(1), |a| {
        let v = convert_to_float(arg(a, 0))?;
        humanize_timestamp(v)
            .map(|s| str_value(&s))
            .map_err(FuncError::Call)
    });
    t.add("toTime", Arity::Exact(1), |a| {
        let v = convert_to_float(arg(a, 0))?;
        match float_to_time(v).map_err(FuncError::Call)? {
            Some(t) => Ok(t.to_value()),
            None => Err(FuncError::Call("value is NaN or Inf".to_owned())),
        }
    });
    let url = ctx.external_url;
    let path = url_path(&url);
    t.add("pathPrefix", Arity::Exact(0), move |_| Ok(str_value(&path)));
    t.add("externalURL", Arity::Exact(0), move |_| Ok(str_value(&url)));
    t.add("parseDuration", Arity::Exact(1), |a| {
        let ms = parse_duration_ms(str_arg(a, 0)?).map_err(FuncError::Call)?;
        #[allow(clippy::cast_precision_loss)]
        Ok(Value::Float(ms as f64 / 1000.0))
    });
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_cases() {
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (1234.0, "1.234k"),
            (1_234_567.0, "1.235M"),
            (-1234.0, "-1.234k"),
            (0.001234, "1.234m"),
            (1e-30, "1e-06y"),
            (1e30, "1e+06Y"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (999.99999, "1000"),
            (5e-324, "4.941e-300y"),
        ];
        for (v, want) in cases {
            assert_eq!(humanize(v), want, "humanize({v})");
        }
    }

    #[test]
    fn humanize1024_cases() {
        assert_eq!(humanize1024(1.0), "1");
        assert_eq!(humanize1024(1024.0), "1ki");
        assert_eq!(humanize1024(1_048_576.0 * 1.5), "1.5Mi");
        assert_eq!(humanize1024(-2048.0), "-2ki");
        assert_eq!(humanize1024(0.5), "0.5");
        assert_eq!(humanize1024(f64::NAN), "NaN");
    }

    #[test]
    fn humanize_duration_cases() {
        let cases = [
            (0.0, "0s"),
            (1.0, "1s"),
            (59.5, "59.5s"),
            (60.0, "1m 0s"),
            (93784.0, "1d 2h 3m 4s"),
            (-93784.0, "-1d 2h 3m 4s"),
            (3600.0, "1h 0m 0s"),
            (0.25, "250ms"),
            (0.000_001_5, "1.5us"),
            (1e-9, "1ns"),
            (-0.5, "-500ms"),
            (f64::INFINITY, "+Inf"),
            (f64::NAN, "NaN"),
            (1e19, "-106751991167300d -15h -30m -8s"),
        ];
        for (v, want) in cases {
            assert_eq!(humanize_duration(v), want, "humanizeDuration({v})");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            humanize_timestamp(1_435_065_584.128).as_deref(),
            Ok("2015-06-23 13:19:44.128 +0000 UTC")
        );
        assert_eq!(
            humanize_timestamp(0.0).as_deref(),
            Ok("1970-01-01 00:00:00 +0000 UTC")
        );
        assert_eq!(humanize_timestamp(f64::NAN).as_deref(), Ok("NaN"));
        assert_eq!(
            humanize_timestamp(1e20),
            Err(
                "1e+20 cannot be represented as a nanoseconds timestamp since it overflows int64"
                    .to_owned()
            )
        );
        assert_eq!(humanize_percentage(0.12345), "12.35%");
    }

    #[test]
    fn urls() {
        assert_eq!(url_path("http://example.com:9090/prom/x?y=1"), "/prom/x");
        assert_eq!(url_path("http://example.com"), "");
        assert_eq!(query_escape("up{job=\"a b\"}"), "up%7Bjob%3D%22a+b%22%7D");
        assert_eq!(split_host_port("[::1]:80"), Some(("::1", "80")));
        assert_eq!(split_host_port("a.b"), None);
    }
}
