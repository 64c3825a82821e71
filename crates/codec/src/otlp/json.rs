//! OTLP/JSON → the protobuf request types, by hand.
//!
//! Owns the reading of the OTLP/JSON encoding (OTLP specification, "JSON Protobuf Encoding"):
//! proto3 JSON mapping with lowerCamelCase keys, unknown keys ignored, `null` meaning "default",
//! 64-bit integers as decimal strings or numbers, doubles as numbers or strings (including
//! `"NaN"`, `"Infinity"`, `"-Infinity"`), enums as integers, `bytes` as base64.
//!
//! Why not `opentelemetry-proto`'s `with-serde` derives: checked against 0.33.1, they put
//! `#[serde(flatten)]` on every `oneof`, and serde's flatten of an `Option` turns any error
//! inside into `None`. A metric whose data has one bad field (a non-numeric `timeUnixNano`, a
//! histogram `"sum": "NaN"`, an enum sent as a string) silently loses all its data instead of
//! failing, and `"asDouble": "NaN"` — which is how Go's OTLP/JSON encoders write NaN — or
//! `"asDouble": "1.5"` silently drops the value. The walker below fails loudly instead, naming
//! the JSON path. Exemplars are skipped unread because nothing downstream stores them.
//!
//! The start of a request ([`parse_object`]) and the readers of objects, fields, lists,
//! `uint64` and `KeyValue` (with its `AnyValue`) are `pub(crate)`: `crate::ml` reads OTLP/JSON
//! logs with them, so that both signals accept and refuse the same JSON.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile, ExponentialHistogram, ExponentialHistogramDataPoint,
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{Map, Value};

use super::value::base64_decode;

/// Where in the document something was wrong, and what.
#[derive(Debug)]
pub(crate) struct JsonError {
    /// Path segments, innermost first (pushed while unwinding).
    path: Vec<String>,
    reason: String,
}

impl JsonError {
    fn new(reason: impl Into<String>) -> Self {
        JsonError {
            path: Vec::new(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            return f.write_str(&self.reason);
        }
        for (i, seg) in self.path.iter().rev().enumerate() {
            if i > 0 && !seg.starts_with('[') {
                f.write_str(".")?;
            }
            f.write_str(seg)?;
        }
        write!(f, ": {}", self.reason)
    }
}

pub(crate) type Result<T> = std::result::Result<T, JsonError>;

trait At<T> {
    /// Adds a path segment to an error on the way out.
    fn at(self, seg: impl FnOnce() -> String) -> Result<T>;
}

impl<T> At<T> for Result<T> {
    fn at(self, seg: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|mut e| {
            e.path.push(seg());
            e
        })
    }
}

/// Parses an OTLP/JSON `ExportMetricsServiceRequest`.
pub(super) fn parse(body: &[u8]) -> Result<ExportMetricsServiceRequest> {
    parse_object(body, |obj| {
        Ok(ExportMetricsServiceRequest {
            resource_metrics: list(obj, "resourceMetrics", resource_metrics)?,
        })
    })
}

/// Reads `body` as JSON whose top level must be an object, and hands that object to `read`.
pub(crate) fn parse_object<T>(
    body: &[u8],
    read: impl FnOnce(&Map<String, Value>) -> Result<T>,
) -> Result<T> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| JsonError::new(format!("invalid JSON: {e}")))?;
    read(object(&doc)?)
}

fn describe(v: &Value) -> String {
    let s = match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => v.to_string(),
        Value::Null => "null".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    };
    if s.len() > 40 {
        let cut: String = s.chars().take(40).collect();
        format!("{cut}…")
    } else {
        s
    }
}

pub(crate) fn object(v: &Value) -> Result<&Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| JsonError::new(format!("expected an object, got {}", describe(v))))
}

/// A field's value; absent and `null` are the same (proto3 JSON: null is the default value).
fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub(crate) fn field<'a, T>(
    obj: &'a Map<String, Value>,
    key: &'static str,
    f: impl FnOnce(&'a Value) -> Result<T>,
) -> Result<Option<T>> {
    match get(obj, key) {
        None => Ok(None),
        Some(v) => f(v).map(Some).at(|| key.to_string()),
    }
}

pub(crate) fn list<'a, T>(
    obj: &'a Map<String, Value>,
    key: &'static str,
    f: impl Fn(&'a Value) -> Result<T>,
) -> Result<Vec<T>> {
    let Some(v) = get(obj, key) else {
        return Ok(Vec::new());
    };
    let items = v
        .as_array()
        .ok_or_else(|| JsonError::new(format!("expected an array, got {}", describe(v))));
    let items = items.at(|| key.to_string())?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| f(item).at(|| format!("[{i}]")))
        .collect::<Result<Vec<T>>>()
        .at(|| key.to_string())
}

fn string(v: &Value) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| JsonError::new(format!("expected a string, got {}", describe(v))))
}

fn boolean(v: &Value) -> Result<bool> {
    v.as_bool()
        .ok_or_else(|| JsonError::new(format!("expected true or false, got {}", describe(v))))
}

/// Largest f64 below 2^64 / 2^63 bounds; integral floats inside are exact integers.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

pub(crate) fn uint64(v: &Value) -> Result<u64> {
    let n = match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..TWO_POW_64).contains(f))
                // Integral and in range, checked above: the cast is exact.
                .map(|f| f as u64)
        }),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| {
        JsonError::new(format!(
            "expected an unsigned 64-bit integer (number or decimal string), got {}",
            describe(v)
        ))
    })
}

fn int64(v: &Value) -> Result<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(f))
                // Integral and in range, checked above: the cast is exact.
                .map(|f| f as i64)
        }),
        Value::String(s) => s.parse::<i64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| {
        JsonError::new(format!(
            "expected a 64-bit integer (number or decimal string), got {}",
            describe(v)
        ))
    })
}

fn uint32(v: &Value) -> Result<u32> {
    uint64(v).and_then(|n| {
        u32::try_from(n).map_err(|_| JsonError::new(format!("{n} is out of range for uint32")))
    })
}

fn int32(v: &Value) -> Result<i32> {
    int64(v).and_then(|n| {
        i32::try_from(n).map_err(|_| JsonError::new(format!("{n} is out of range for int32")))
    })
}

fn double(v: &Value) -> Result<f64> {
    let d = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse::<f64>().ok().filter(|f| f.is_finite()),
        },
        _ => None,
    };
    d.ok_or_else(|| {
        JsonError::new(format!(
            "expected a number, or \"NaN\", \"Infinity\", \"-Infinity\", got {}",
            describe(v)
        ))
    })
}

/// Reads at most one of a oneof's members; proto3 JSON rejects two.
fn oneof<'a>(
    obj: &'a Map<String, Value>,
    keys: &[&'static str],
) -> Result<Option<(&'static str, &'a Value)>> {
    let mut found: Option<(&'static str, &'a Value)> = None;
    for &k in keys {
        if let Some(v) = get(obj, k) {
            if let Some((prev, _)) = found {
                return Err(JsonError::new(format!(
                    "both {prev:?} and {k:?} are set; they are alternatives"
                )));
            }
            found = Some((k, v));
        }
    }
    Ok(found)
}

fn resource_metrics(v: &Value) -> Result<ResourceMetrics> {
    let o = object(v)?;
    Ok(ResourceMetrics {
        resource: field(o, "resource", resource)?,
        scope_metrics: list(o, "scopeMetrics", scope_metrics)?,
        schema_url: field(o, "schemaUrl", string)?.unwrap_or_default(),
    })
}

fn resource(v: &Value) -> Result<Resource> {
    let o = object(v)?;
    Ok(Resource {
        attributes: list(o, "attributes", key_value)?,
        dropped_attributes_count: field(o, "droppedAttributesCount", uint32)?.unwrap_or_default(),
        ..Default::default()
    })
}

fn scope_metrics(v: &Value) -> Result<ScopeMetrics> {
    let o = object(v)?;
    Ok(ScopeMetrics {
        scope: field(o, "scope", scope)?,
        metrics: list(o, "metrics", metric)?,
        schema_url: field(o, "schemaUrl", string)?.unwrap_or_default(),
    })
}

fn scope(v: &Value) -> Result<InstrumentationScope> {
    let o = object(v)?;
    Ok(InstrumentationScope {
        name: field(o, "name", string)?.unwrap_or_default(),
        version: field(o, "version", string)?.unwrap_or_default(),
        attributes: list(o, "attributes", key_value)?,
        dropped_attributes_count: field(o, "droppedAttributesCount", uint32)?.unwrap_or_default(),
    })
}

pub(crate) fn key_value(v: &Value) -> Result<KeyValue> {
    let o = object(v)?;
    Ok(KeyValue {
        key: field(o, "key", string)?.unwrap_or_default(),
        value: field(o, "value", any_value)?,
        ..Default::default()
    })
}

fn any_value(v: &Value) -> Result<AnyValue> {
    use any_value::Value as V;
    let o = object(v)?;
    let member = oneof(
        o,
        &[
            "stringValue",
            "boolValue",
            "intValue",
            "doubleValue",
            "arrayValue",
            "kvlistValue",
            "bytesValue",
        ],
    )?;
    let value = match member {
        None => None,
        Some((k, v)) => Some(
            match k {
                "stringValue" => string(v).map(V::StringValue),
                "boolValue" => boolean(v).map(V::BoolValue),
                "intValue" => int64(v).map(V::IntValue),
                "doubleValue" => double(v).map(V::DoubleValue),
                "arrayValue" => object(v).and_then(|a| {
                    Ok(V::ArrayValue(ArrayValue {
                        values: list(a, "values", any_value)?,
                    }))
                }),
                "kvlistValue" => object(v).and_then(|m| {
                    Ok(V::KvlistValue(KeyValueList {
                        values: list(m, "values", key_value)?,
                    }))
                }),
                _ => string(v).and_then(|s| {
                    base64_decode(&s)
                        .map(V::BytesValue)
                        .ok_or_else(|| JsonError::new("expected base64"))
                }),
            }
            .at(|| k.to_string())?,
        ),
    };
    Ok(AnyValue { value })
}

fn metric(v: &Value) -> Result<Metric> {
    let o = object(v)?;
    let member = oneof(
        o,
        &[
            "gauge",
            "sum",
            "histogram",
            "exponentialHistogram",
            "summary",
        ],
    )?;
    let data = match member {
        None => None,
        Some((k, v)) => Some(
            match k {
                "gauge" => gauge(v).map(Data::Gauge),
                "sum" => sum(v).map(Data::Sum),
                "histogram" => histogram(v).map(Data::Histogram),
                "exponentialHistogram" => exp_histogram(v).map(Data::ExponentialHistogram),
                _ => summary(v).map(Data::Summary),
            }
            .at(|| k.to_string())?,
        ),
    };
    Ok(Metric {
        name: field(o, "name", string)?.unwrap_or_default(),
        description: field(o, "description", string)?.unwrap_or_default(),
        unit: field(o, "unit", string)?.unwrap_or_default(),
        metadata: list(o, "metadata", key_value)?,
        data,
    })
}

fn gauge(v: &Value) -> Result<Gauge> {
    let o = object(v)?;
    Ok(Gauge {
        data_points: list(o, "dataPoints", number_point)?,
    })
}

fn sum(v: &Value) -> Result<Sum> {
    let o = object(v)?;
    Ok(Sum {
        data_points: list(o, "dataPoints", number_point)?,
        aggregation_temporality: field(o, "aggregationTemporality", int32)?.unwrap_or_default(),
        is_monotonic: field(o, "isMonotonic", boolean)?.unwrap_or_default(),
    })
}

fn histogram(v: &Value) -> Result<Histogram> {
    let o = object(v)?;
    Ok(Histogram {
        data_points: list(o, "dataPoints", histogram_point)?,
        aggregation_temporality: field(o, "aggregationTemporality", int32)?.unwrap_or_default(),
    })
}

fn exp_histogram(v: &Value) -> Result<ExponentialHistogram> {
    let o = object(v)?;
    Ok(ExponentialHistogram {
        data_points: list(o, "dataPoints", exp_histogram_point)?,
        aggregation_temporality: field(o, "aggregationTemporality", int32)?.unwrap_or_default(),
    })
}

fn summary(v: &Value) -> Result<Summary> {
    let o = object(v)?;
    Ok(Summary {
        data_points: list(o, "dataPoints", summary_point)?,
    })
}

fn number_point(v: &Value) -> Result<NumberDataPoint> {
    use number_data_point::Value as V;
    let o = object(v)?;
    let value = match oneof(o, &["asDouble", "asInt"])? {
        None => None,
        Some((k @ "asDouble", v)) => Some(double(v).map(V::AsDouble).at(|| k.to_string())?),
        Some((k, v)) => Some(int64(v).map(V::AsInt).at(|| k.to_string())?),
    };
    Ok(NumberDataPoint {
        attributes: list(o, "attributes", key_value)?,
        start_time_unix_nano: field(o, "startTimeUnixNano", uint64)?.unwrap_or_default(),
        time_unix_nano: field(o, "timeUnixNano", uint64)?.unwrap_or_default(),
        exemplars: Vec::new(),
        flags: field(o, "flags", uint32)?.unwrap_or_default(),
        value,
    })
}

fn histogram_point(v: &Value) -> Result<HistogramDataPoint> {
    let o = object(v)?;
    Ok(HistogramDataPoint {
        attributes: list(o, "attributes", key_value)?,
        start_time_unix_nano: field(o, "startTimeUnixNano", uint64)?.unwrap_or_default(),
        time_unix_nano: field(o, "timeUnixNano", uint64)?.unwrap_or_default(),
        count: field(o, "count", uint64)?.unwrap_or_default(),
        sum: field(o, "sum", double)?,
        bucket_counts: list(o, "bucketCounts", uint64)?,
        explicit_bounds: list(o, "explicitBounds", double)?,
        exemplars: Vec::new(),
        flags: field(o, "flags", uint32)?.unwrap_or_default(),
        min: field(o, "min", double)?,
        max: field(o, "max", double)?,
    })
}

fn buckets(v: &Value) -> Result<Buckets> {
    let o = object(v)?;
    Ok(Buckets {
        offset: field(o, "offset", int32)?.unwrap_or_default(),
        bucket_counts: list(o, "bucketCounts", uint64)?,
    })
}

fn exp_histogram_point(v: &Value) -> Result<ExponentialHistogramDataPoint> {
    let o = object(v)?;
    Ok(ExponentialHistogramDataPoint {
        attributes: list(o, "attributes", key_value)?,
        start_time_unix_nano: field(o, "startTimeUnixNano", uint64)?.unwrap_or_default(),
        time_unix_nano: field(o, "timeUnixNano", uint64)?.unwrap_or_default(),
        count: field(o, "count", uint64)?.unwrap_or_default(),
        sum: field(o, "sum", double)?,
        scale: field(o, "scale", int32)?.unwrap_or_default(),
        zero_count: field(o, "zeroCount", uint64)?.unwrap_or_default(),
        positive: field(o, "positive", buckets)?,
        negative: field(o, "negative", buckets)?,
        flags: field(o, "flags", uint32)?.unwrap_or_default(),
        exemplars: Vec::new(),
        min: field(o, "min", double)?,
        max: field(o, "max", double)?,
        zero_threshold: field(o, "zeroThreshold", double)?.unwrap_or_default(),
    })
}

fn quantile(v: &Value) -> Result<ValueAtQuantile> {
    let o = object(v)?;
    Ok(ValueAtQuantile {
        quantile: field(o, "quantile", double)?.unwrap_or_default(),
        value: field(o, "value", double)?.unwrap_or_default(),
    })
}

fn summary_point(v: &Value) -> Result<SummaryDataPoint> {
    let o = object(v)?;
    Ok(SummaryDataPoint {
        attributes: list(o, "attributes", key_value)?,
        start_time_unix_nano: field(o, "startTimeUnixNano", uint64)?.unwrap_or_default(),
        time_unix_nano: field(o, "timeUnixNano", uint64)?.unwrap_or_default(),
        count: field(o, "count", uint64)?.unwrap_or_default(),
        sum: field(o, "sum", double)?.unwrap_or_default(),
        quantile_values: list(o, "quantileValues", quantile)?,
        flags: field(o, "flags", uint32)?.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(metric: &str) -> String {
        format!(r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{metric}]}}]}}]}}"#)
    }

    fn first_metric(json: &str) -> Metric {
        let req = parse(json.as_bytes()).expect("parses");
        req.resource_metrics
            .into_iter()
            .next()
            .and_then(|r| r.scope_metrics.into_iter().next())
            .and_then(|s| s.metrics.into_iter().next())
            .expect("one metric")
    }

    fn err(json: &str) -> String {
        parse(json.as_bytes()).expect_err("fails").to_string()
    }

    fn gauge_value(m: &Metric) -> Option<number_data_point::Value> {
        match &m.data {
            Some(Data::Gauge(g)) => g.data_points.first().and_then(|p| p.value),
            other => panic!("not a gauge: {other:?}"),
        }
    }

    #[test]
    fn numbers_in_every_proto3_form() {
        use number_data_point::Value as V;
        let m = first_metric(&wrap(
            r#"{"name":"g","gauge":{"dataPoints":[{"asDouble":"NaN","timeUnixNano":"1000"}]}}"#,
        ));
        assert!(matches!(gauge_value(&m), Some(V::AsDouble(d)) if d.is_nan()));
        let m = first_metric(&wrap(
            r#"{"gauge":{"dataPoints":[{"asDouble":"-Infinity"}]}}"#,
        ));
        assert_eq!(gauge_value(&m), Some(V::AsDouble(f64::NEG_INFINITY)));
        let m = first_metric(&wrap(r#"{"gauge":{"dataPoints":[{"asDouble":"1.5"}]}}"#));
        assert_eq!(gauge_value(&m), Some(V::AsDouble(1.5)));
        let m = first_metric(&wrap(
            r#"{"gauge":{"dataPoints":[{"asInt":7,"timeUnixNano":1.5e18}]}}"#,
        ));
        assert_eq!(gauge_value(&m), Some(V::AsInt(7)));
        match &m.data {
            Some(Data::Gauge(g)) => {
                assert_eq!(
                    g.data_points.first().map(|p| p.time_unix_nano),
                    Some(1_500_000_000_000_000_000)
                );
            }
            other => panic!("{other:?}"),
        }
        let m = first_metric(&wrap(
            r#"{"gauge":{"dataPoints":[{"asInt":"-9223372036854775808"}]}}"#,
        ));
        assert_eq!(gauge_value(&m), Some(V::AsInt(i64::MIN)));
        // null is the default value: no value at all.
        let m = first_metric(&wrap(r#"{"gauge":{"dataPoints":[{"asDouble":null}]}}"#));
        assert_eq!(gauge_value(&m), None);
    }

    #[test]
    fn errors_name_the_json_path() {
        assert_eq!(
            err(&wrap(
                r#"{"gauge":{"dataPoints":[{"asInt":"1"},{"asInt":"1","timeUnixNano":"abc"}]}}"#
            )),
            "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[1].timeUnixNano: \
             expected an unsigned 64-bit integer (number or decimal string), got \"abc\""
        );
        assert_eq!(
            err(&wrap(r#"{"sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE"}}"#)),
            "resourceMetrics[0].scopeMetrics[0].metrics[0].sum.aggregationTemporality: \
             expected a 64-bit integer (number or decimal string), got \"AGGREGATION_TEMPORALITY_CUMULATIVE\""
        );
        assert!(
            err(&wrap(r#"{"gauge":{},"sum":{}}"#)).contains(r#"both "gauge" and "sum" are set"#)
        );
        assert!(err(&wrap(
            r#"{"gauge":{"dataPoints":[{"asInt":1,"asDouble":1}]}}"#
        ))
        .contains("alternatives"));
        assert!(err("[1,2]").starts_with("expected an object"));
        assert!(err("{").starts_with("invalid JSON"));
        assert!(err(r#"{"resourceMetrics":{}}"#).starts_with("resourceMetrics: expected an array"));
        assert!(err(&wrap(r#"{"gauge":{"dataPoints":[{"flags":-1}]}}"#)).ends_with("got -1"));
    }

    #[test]
    fn histogram_fields_accept_special_doubles() {
        let m = first_metric(&wrap(
            r#"{"histogram":{"aggregationTemporality":2,"dataPoints":[{"count":"3","sum":"NaN",
               "bucketCounts":["1",2,"0"],"explicitBounds":[0.5,"Infinity"]}]}}"#,
        ));
        let Some(Data::Histogram(h)) = m.data else {
            panic!("not a histogram")
        };
        let p = h.data_points.first().expect("point");
        assert_eq!(h.aggregation_temporality, 2);
        assert_eq!(p.count, 3);
        assert!(p.sum.is_some_and(f64::is_nan));
        assert_eq!(p.bucket_counts, [1, 2, 0]);
        assert_eq!(p.explicit_bounds, [0.5, f64::INFINITY]);
    }

    #[test]
    fn unknown_and_null_fields_are_ignored() {
        let m = first_metric(
            r#"{"resourceMetrics":[{"resource":null,"futureField":{"x":1},"scopeMetrics":[{"scope":null,
                "metrics":[{"name":"n","unit":null,"time_unix_nano":"zzz",
                "gauge":{"dataPoints":[{"asInt":"1","attributes":[{"key":"a","value":{"arrayValue":{}}},
                {"key":"b"}],"exemplars":[{"traceId":"not hex","spanId":1}]}]}}]}]}]}"#,
        );
        assert_eq!(m.name, "n");
        let Some(Data::Gauge(g)) = m.data else {
            panic!("gauge")
        };
        let p = g.data_points.first().expect("point");
        assert_eq!(p.attributes.len(), 2);
        assert!(matches!(
            p.attributes.first().and_then(|a| a.value.as_ref()).and_then(|v| v.value.as_ref()),
            Some(any_value::Value::ArrayValue(a)) if a.values.is_empty()
        ));
        assert_eq!(p.attributes.get(1).map(|a| a.value.is_none()), Some(true));
    }

    #[test]
    fn bytes_values_are_base64() {
        let m = first_metric(&wrap(
            r#"{"gauge":{"dataPoints":[{"attributes":[{"key":"b","value":{"bytesValue":"aGkh"}}]}]}}"#,
        ));
        let Some(Data::Gauge(g)) = m.data else {
            panic!("gauge")
        };
        let v = g
            .data_points
            .first()
            .and_then(|p| p.attributes.first())
            .and_then(|a| a.value.clone());
        assert_eq!(
            v.and_then(|v| v.value),
            Some(any_value::Value::BytesValue(b"hi!".to_vec()))
        );
        assert!(err(&wrap(
            r#"{"gauge":{"dataPoints":[{"attributes":[{"key":"b","value":{"bytesValue":"!!"}}]}]}}"#
        ))
        .ends_with("attributes[0].value.bytesValue: expected base64"));
    }
}
