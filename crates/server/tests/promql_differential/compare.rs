//! Query API responses as comparable values, and the comparison rules of the differential test:
//! label sets exact, timestamps exact, values within 1e-9 relative (NaN equals NaN, ±Inf
//! exact), order only where Prometheus defines one, and for errors the same `errorType`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

/// A label set, sorted by name: its `Ord` is Prometheus's `labels.Compare`.
pub type Labels = Vec<(String, String)>;
pub type Point = (i64, f64);

/// What a query API call returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `status: error` with its `errorType` and message.
    Error {
        kind: String,
        message: String,
    },
    /// Not a query API answer at all (404, 501, a plain-text body…).
    Http {
        status: u16,
        body: String,
    },
    Scalar(Point),
    Str(i64, String),
    Vector(Vec<(Labels, Point)>),
    Matrix(Vec<(Labels, Vec<Point>)>),
}

/// How the result of one evaluation may be ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Any order (instant vectors in general, instant-query matrices in 2.42).
    Set,
    /// `sort()`/`sort_desc()`: values in this order; ties in any order.
    ByValue,
    /// Range-query matrices: series sorted by label set.
    ByLabels,
}

fn ms(t: &Value) -> Option<i64> {
    let s = t.as_f64()?;
    Some((s * 1000.0).round() as i64)
}

/// Parses a sample value as the Prometheus API writes it (a string).
pub fn num(v: &Value) -> Option<f64> {
    match v.as_str()? {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        s => s.parse().ok(),
    }
}

fn labels(m: &Value) -> Option<Labels> {
    let mut l: Labels = m
        .as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect::<Option<_>>()?;
    l.sort();
    Some(l)
}

fn point(p: &Value) -> Option<Point> {
    Some((ms(p.get(0)?)?, num(p.get(1)?)?))
}

fn parse_data(data: &Value) -> Option<Outcome> {
    let result = &data["result"];
    Some(match data["resultType"].as_str()? {
        "scalar" => Outcome::Scalar(point(result)?),
        "string" => Outcome::Str(ms(result.get(0)?)?, result.get(1)?.as_str()?.to_owned()),
        "vector" => Outcome::Vector(
            result
                .as_array()?
                .iter()
                .map(|s| Some((labels(&s["metric"])?, point(&s["value"])?)))
                .collect::<Option<_>>()?,
        ),
        "matrix" => Outcome::Matrix(
            result
                .as_array()?
                .iter()
                .map(|s| {
                    let pts = match s.get("values") {
                        Some(v) => v.as_array()?.iter().map(point).collect::<Option<_>>()?,
                        None => Vec::new(),
                    };
                    Some((labels(&s["metric"])?, pts))
                })
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

/// The outcome of an HTTP response with this status and body.
pub fn parse(status: u16, body: &str) -> Outcome {
    let http = || Outcome::Http {
        status,
        body: body.chars().take(200).collect(),
    };
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return http();
    };
    match v["status"].as_str() {
        Some("success") => parse_data(&v["data"]).unwrap_or_else(http),
        Some("error") => Outcome::Error {
            kind: v["errorType"].as_str().unwrap_or("").to_owned(),
            message: v["error"].as_str().unwrap_or("").to_owned(),
        },
        _ => http(),
    }
}

/// Equal within 1e-9 relative; NaN equals NaN; infinities only themselves.
pub fn same_value(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

pub fn fmt_labels(l: &Labels) -> String {
    let name = l
        .iter()
        .find(|(k, _)| k == "__name__")
        .map_or("", |(_, v)| v.as_str());
    let rest: Vec<String> = l
        .iter()
        .filter(|(k, _)| k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

fn fmt_points(p: &[Point]) -> String {
    let shown: Vec<String> = p.iter().take(4).map(|(t, v)| format!("{v}@{t}")).collect();
    let more = if p.len() > 4 {
        format!(" …{} more", p.len() - 4)
    } else {
        String::new()
    };
    format!("[{}{more}]", shown.join(" "))
}

/// A one-line description of an outcome, for failure reports.
pub fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Error { kind, message } => format!("error {kind}: {message}"),
        Outcome::Http { status, body } => format!("HTTP {status}: {body}"),
        Outcome::Scalar((t, v)) => format!("scalar {v}@{t}"),
        Outcome::Str(t, s) => format!("string {s:?}@{t}"),
        Outcome::Vector(v) => {
            let first = v
                .first()
                .map(|(l, (_, x))| format!(", first {} {x}", fmt_labels(l)))
                .unwrap_or_default();
            format!("vector of {}{first}", v.len())
        }
        Outcome::Matrix(m) => {
            let first = m
                .first()
                .map(|(l, p)| format!(", first {} {}", fmt_labels(l), fmt_points(p)))
                .unwrap_or_default();
            format!("matrix of {}{first}", m.len())
        }
    }
}

fn kind_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Error { .. } => "error",
        Outcome::Http { .. } => "non-API response",
        Outcome::Scalar(_) => "scalar",
        Outcome::Str(..) => "string",
        Outcome::Vector(_) => "vector",
        Outcome::Matrix(_) => "matrix",
    }
}

/// Set comparison of keyed entries: missing, extra, then the first `differ`ing common entry.
fn compare_keyed<T>(
    reference: &BTreeMap<&Labels, T>,
    candidate: &BTreeMap<&Labels, T>,
    differ: impl Fn(&T, &T) -> Option<String>,
) -> Result<(), String> {
    let only_ref: Vec<_> = reference
        .keys()
        .filter(|k| !candidate.contains_key(*k))
        .collect();
    let only_cand: Vec<_> = candidate
        .keys()
        .filter(|k| !reference.contains_key(*k))
        .collect();
    let mut msg = String::new();
    if !only_ref.is_empty() {
        let _ = write!(
            msg,
            "{} series only in reference (e.g. {}); ",
            only_ref.len(),
            fmt_labels(only_ref[0])
        );
    }
    if !only_cand.is_empty() {
        let _ = write!(
            msg,
            "{} series only in candidate (e.g. {}); ",
            only_cand.len(),
            fmt_labels(only_cand[0])
        );
    }
    let mut differing = reference
        .iter()
        .filter_map(|(k, r)| Some((k, differ(r, candidate.get(k)?)?)));
    if let Some((k, d)) = differing.next() {
        let n = 1 + differing.count();
        let _ = write!(msg, "{n} series differ, first {}: {d}", fmt_labels(k));
    }
    if msg.is_empty() {
        Ok(())
    } else {
        Err(msg.trim_end_matches("; ").to_owned())
    }
}

fn differ_point(r: &Point, c: &Point) -> Option<String> {
    if r.0 != c.0 {
        return Some(format!("timestamp {} vs {}", r.0, c.0));
    }
    (!same_value(r.1, c.1)).then(|| format!("value {} vs {}", r.1, c.1))
}

fn differ_points(r: &[Point], c: &[Point]) -> Option<String> {
    let rt: Vec<i64> = r.iter().map(|p| p.0).collect();
    let ct: Vec<i64> = c.iter().map(|p| p.0).collect();
    if rt != ct {
        let first = rt
            .iter()
            .zip(&ct)
            .position(|(a, b)| a != b)
            .unwrap_or(rt.len().min(ct.len()));
        return Some(format!(
            "{} vs {} points, first differing timestamp at index {first}: {:?} vs {:?}",
            r.len(),
            c.len(),
            rt.get(first),
            ct.get(first)
        ));
    }
    r.iter()
        .zip(c)
        .find(|(a, b)| !same_value(a.1, b.1))
        .map(|(a, b)| format!("at {}: value {} vs {}", a.0, a.1, b.1))
}

fn keyed<T>(entries: &[(Labels, T)]) -> Result<BTreeMap<&Labels, &T>, String> {
    let mut m = BTreeMap::new();
    for (l, v) in entries {
        if m.insert(l, v).is_some() {
            return Err(format!("duplicate series {}", fmt_labels(l)));
        }
    }
    Ok(m)
}

/// Compares a candidate's outcome with the reference's.
///
/// # Errors
/// A short description of the first differences.
pub fn compare(reference: &Outcome, candidate: &Outcome, order: Order) -> Result<(), String> {
    match (reference, candidate) {
        (Outcome::Error { kind: a, .. }, Outcome::Error { kind: b, .. }) => {
            if a == b {
                Ok(())
            } else {
                Err(format!("errorType {a:?} vs {b:?}"))
            }
        }
        (Outcome::Scalar(a), Outcome::Scalar(b)) => match differ_point(a, b) {
            None => Ok(()),
            Some(d) => Err(format!("scalar {d}")),
        },
        (Outcome::Str(ta, a), Outcome::Str(tb, b)) => {
            if ta == tb && a == b {
                Ok(())
            } else {
                Err(format!("string {a:?}@{ta} vs {b:?}@{tb}"))
            }
        }
        (Outcome::Vector(a), Outcome::Vector(b)) => {
            let (ka, kb) = (
                keyed(a).map_err(|e| format!("reference: {e}"))?,
                keyed(b).map_err(|e| format!("candidate: {e}"))?,
            );
            compare_keyed(&ka, &kb, |r, c| differ_point(r, c))?;
            if order == Order::ByValue {
                let pos = a
                    .iter()
                    .zip(b)
                    .position(|(x, y)| !same_value(x.1 .1, y.1 .1));
                if let Some(i) = pos {
                    return Err(format!(
                        "order differs at index {i}: {} {} vs {} {}",
                        fmt_labels(&a[i].0),
                        a[i].1 .1,
                        fmt_labels(&b[i].0),
                        b[i].1 .1
                    ));
                }
            }
            Ok(())
        }
        (Outcome::Matrix(a), Outcome::Matrix(b)) => {
            let (ka, kb) = (
                keyed(a).map_err(|e| format!("reference: {e}"))?,
                keyed(b).map_err(|e| format!("candidate: {e}"))?,
            );
            compare_keyed(&ka, &kb, |r, c| differ_points(r, c))?;
            if order == Order::ByLabels {
                let pos = a.iter().zip(b).position(|(x, y)| x.0 != y.0);
                if let Some(i) = pos {
                    return Err(format!(
                        "series order differs at index {i}: {} vs {}",
                        fmt_labels(&a[i].0),
                        fmt_labels(&b[i].0)
                    ));
                }
            }
            Ok(())
        }
        (a, b) => Err(format!(
            "{} vs {}: reference {}; candidate {}",
            kind_name(a),
            kind_name(b),
            describe(a),
            describe(b)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(body: &str) -> Outcome {
        parse(
            200,
            &format!(r#"{{"status":"success","data":{{"resultType":"vector","result":{body}}}}}"#),
        )
    }

    #[test]
    fn values_compare_relatively_with_nan_and_infinities() {
        assert!(same_value(f64::NAN, f64::NAN));
        assert!(!same_value(f64::NAN, 0.0));
        assert!(same_value(f64::INFINITY, f64::INFINITY));
        assert!(!same_value(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!same_value(f64::INFINITY, f64::MAX));
        assert!(same_value(1.0, 1.0 + 1e-12));
        assert!(!same_value(1.0, 1.0 + 1e-8));
        assert!(same_value(0.0, -0.0));
        assert!(!same_value(0.0, 1e-300));
    }

    #[test]
    fn vectors_compare_as_sets_unless_sorted() {
        let a = vector(
            r#"[{"metric":{"a":"1"},"value":[10.5,"1"]},{"metric":{"a":"2"},"value":[10.5,"NaN"]}]"#,
        );
        let b = vector(
            r#"[{"metric":{"a":"2"},"value":[10.5,"NaN"]},{"metric":{"a":"1"},"value":[10.5,"1.0000000000001"]}]"#,
        );
        assert_eq!(compare(&a, &b, Order::Set), Ok(()));
        assert!(compare(&a, &b, Order::ByValue).is_err());
        let ties_a = vector(
            r#"[{"metric":{"a":"1"},"value":[1,"5"]},{"metric":{"a":"2"},"value":[1,"5"]},{"metric":{"a":"3"},"value":[1,"+Inf"]}]"#,
        );
        let ties_b = vector(
            r#"[{"metric":{"a":"2"},"value":[1,"5"]},{"metric":{"a":"1"},"value":[1,"5"]},{"metric":{"a":"3"},"value":[1,"+Inf"]}]"#,
        );
        assert_eq!(compare(&ties_a, &ties_b, Order::ByValue), Ok(()));
        let other_ts = vector(r#"[{"metric":{"a":"1"},"value":[10.501,"1"]}]"#);
        let one = vector(r#"[{"metric":{"a":"1"},"value":[10.5,"1"]}]"#);
        assert!(compare(&one, &other_ts, Order::Set).is_err());
        let other_labels = vector(r#"[{"metric":{"a":"1","b":"x"},"value":[10.5,"1"]}]"#);
        let e = compare(&one, &other_labels, Order::Set).unwrap_err();
        assert!(
            e.contains("only in reference") && e.contains("only in candidate"),
            "{e}"
        );
    }

    #[test]
    fn matrices_compare_series_order_and_points() {
        let m = |body: &str| {
            parse(
                200,
                &format!(
                    r#"{{"status":"success","data":{{"resultType":"matrix","result":{body}}}}}"#
                ),
            )
        };
        let a = m(
            r#"[{"metric":{"a":"1"},"values":[[1,"1"],[2,"2"]]},{"metric":{"a":"2"},"values":[[1,"-Inf"]]}]"#,
        );
        let swapped = m(
            r#"[{"metric":{"a":"2"},"values":[[1,"-Inf"]]},{"metric":{"a":"1"},"values":[[1,"1"],[2,"2"]]}]"#,
        );
        assert_eq!(compare(&a, &swapped, Order::Set), Ok(()));
        assert!(compare(&a, &swapped, Order::ByLabels).is_err());
        let short = m(
            r#"[{"metric":{"a":"1"},"values":[[1,"1"]]},{"metric":{"a":"2"},"values":[[1,"-Inf"]]}]"#,
        );
        assert!(compare(&a, &short, Order::ByLabels).is_err());
    }

    #[test]
    fn errors_compare_by_type_and_against_results() {
        let bad = parse(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
        );
        let bad2 = parse(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"other words"}"#,
        );
        let exec = parse(
            422,
            r#"{"status":"error","errorType":"execution","error":"x"}"#,
        );
        assert_eq!(compare(&bad, &bad2, Order::Set), Ok(()));
        assert!(compare(&bad, &exec, Order::Set).is_err());
        assert!(compare(&bad, &vector("[]"), Order::Set).is_err());
        assert!(matches!(
            parse(404, "404 page not found"),
            Outcome::Http { status: 404, .. }
        ));
        let s = parse(
            200,
            r#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"2"]}}"#,
        );
        assert_eq!(s, Outcome::Scalar((1500, 2.0)));
    }
}
