//! Query results in the JSON of Prometheus's API, written directly into a buffer: values as
//! strings, timestamps as float seconds, fields in Prometheus's order
//! (`status`, `data` {`resultType`, `result`, `stats`}, `warnings`, `infos`). Writing by hand
//! keeps a large matrix from becoming a tree of JSON values first, and keeps the field order,
//! which some clients' streaming parsers rely on.

use std::fmt::Write;

use vigil_model::Labels;
use vigil_promql::Value;

use crate::numfmt::{json_float, json_scalar, json_seconds, json_str, json_timestamp};
use crate::query::engine::QueryTimings;

/// Prometheus's `stats` object for a query (`stats.BuiltinStats`).
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryStats {
    pub timings: QueryTimings,
    pub samples: usize,
}

fn labels(out: &mut String, l: &Labels) {
    out.push('{');
    for (i, lab) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, &lab.name);
        out.push(':');
        json_str(out, &lab.value);
    }
    out.push('}');
}

fn point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    json_timestamp(out, t);
    out.push_str(",\"");
    json_float(out, v);
    out.push_str("\"]");
}

fn scalar(out: &mut String, t: i64, v: f64) {
    out.push('[');
    json_seconds(out, t);
    out.push_str(",\"");
    json_scalar(out, v);
    out.push_str("\"]");
}

/// `"resultType":…,"result":…`
fn result(out: &mut String, v: &Value) {
    out.push_str("\"resultType\":\"");
    out.push_str(v.type_name());
    out.push_str("\",\"result\":");
    match v {
        Value::Scalar { t, v } => scalar(out, *t, *v),
        Value::String { t, s } => {
            out.push('[');
            json_seconds(out, *t);
            out.push(',');
            json_str(out, s);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                labels(out, &s.labels);
                out.push_str(",\"value\":");
                point(out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                labels(out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, p) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    point(out, p.t, p.v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
}

fn seconds(out: &mut String, d: std::time::Duration) {
    // `Display` of f64 never uses an exponent, so this is always a JSON number.
    let _ = write!(out, "{}", d.as_secs_f64());
}

fn stats(out: &mut String, s: &QueryStats) {
    let t = &s.timings;
    out.push_str("{\"timings\":{\"evalTotalTime\":");
    seconds(out, t.eval);
    out.push_str(",\"resultSortTime\":0,\"queryPreparationTime\":0,\"innerEvalTime\":");
    seconds(out, t.eval);
    out.push_str(",\"execQueueTime\":");
    seconds(out, t.queue);
    out.push_str(",\"execTotalTime\":");
    seconds(out, t.queue + t.eval);
    let _ = write!(
        out,
        "}},\"samples\":{{\"totalQueryableSamples\":{n},\"samplesRead\":{n},\"peakSamples\":{n}}}}}",
        n = s.samples
    );
}

fn string_list(out: &mut String, name: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":[");
    for (i, w) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, w);
    }
    out.push(']');
}

/// The whole success body of `/api/v1/query` and `/api/v1/query_range`.
pub fn query_success(
    v: &Value,
    stats_: Option<&QueryStats>,
    warnings: &[String],
    infos: &[String],
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"status\":\"success\",\"data\":{");
    result(&mut out, v);
    if let Some(s) = stats_ {
        out.push_str(",\"stats\":");
        stats(&mut out, s);
    }
    out.push('}');
    string_list(&mut out, "warnings", warnings);
    string_list(&mut out, "infos", infos);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::Sample;
    use vigil_promql::{InstantSample, Series};

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).expect("labels")
    }

    #[test]
    fn shapes() {
        assert_eq!(
            query_success(
                &Value::Scalar {
                    t: 1_435_781_451_781,
                    v: 2.0
                },
                None,
                &[],
                &[]
            ),
            r#"{"status":"success","data":{"resultType":"scalar","result":[1435781451.781,"2"]}}"#
        );
        assert_eq!(
            query_success(
                &Value::String {
                    t: 1000,
                    s: "a\"b".into()
                },
                None,
                &[],
                &[]
            ),
            r#"{"status":"success","data":{"resultType":"string","result":[1,"a\"b"]}}"#
        );
        let v = Value::Vector(vec![InstantSample {
            labels: l(&[("__name__", "up"), ("job", "a")]),
            t: 1500,
            v: f64::NAN,
        }]);
        assert_eq!(
            query_success(&v, None, &["w".into()], &["i".into()]),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1.500,"NaN"]}]},"warnings":["w"],"infos":["i"]}"#
        );
        let m = Value::Matrix(vec![Series {
            labels: l(&[("job", "a")]),
            points: vec![Sample::new(1000, 1.0), Sample::new(2000, f64::INFINITY)],
        }]);
        assert_eq!(
            query_success(&m, None, &[], &[]),
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[[1,"1"],[2,"+Inf"]]}]}}"#
        );
        assert_eq!(
            query_success(&Value::Vector(Vec::new()), None, &[], &[]),
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
        );
    }

    #[test]
    fn stats_are_valid_json() {
        let s = QueryStats {
            timings: QueryTimings {
                queue: std::time::Duration::from_micros(3),
                eval: std::time::Duration::from_millis(2),
            },
            samples: 7,
        };
        let body = query_success(&Value::Vector(Vec::new()), Some(&s), &[], &[]);
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["data"]["stats"]["samples"]["totalQueryableSamples"], 7);
        assert_eq!(v["data"]["stats"]["timings"]["evalTotalTime"], 0.002);
    }
}
