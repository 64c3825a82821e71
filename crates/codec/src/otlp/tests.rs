//! End-to-end tests of [`super::decode`]: requests built with the prost types (or written as
//! OTLP/JSON text), encoded, decoded, and checked series by series.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as AV, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point::Value as NV, summary_data_point::ValueAtQuantile,
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use proptest::prelude::*;
use prost::Message;
use vigil_model::{is_stale_nan, MetricMetadata, MetricType};

use super::{convert, decode};
use crate::{CodecError, Decoded};

mod wire;

/// 2023-11-14T22:14:20.123456789Z in ns, and in ms.
const T_NS: u64 = 1_700_000_060_123_456_789;
const T_MS: i64 = 1_700_000_060_123;
const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;
const DELTA: i32 = AggregationTemporality::Delta as i32;

/// An attribute; shared with the other OTLP tests of the crate (`ml`, `wire_budget`).
pub(crate) fn kv(key: &str, v: AV) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

/// A string attribute.
pub(crate) fn s(key: &str, v: &str) -> KeyValue {
    kv(key, AV::StringValue(v.into()))
}

fn request(
    resource: Vec<KeyValue>,
    scope: Option<InstrumentationScope>,
    metrics: Vec<Metric>,
) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope,
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        data: Some(data),
        ..Default::default()
    }
}

fn number(attrs: Vec<KeyValue>, v: NV) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: T_NS - 60_000_000_000,
        time_unix_nano: T_NS,
        value: Some(v),
        ..Default::default()
    }
}

fn gauge(points: Vec<NumberDataPoint>) -> Data {
    Data::Gauge(Gauge {
        data_points: points,
    })
}

fn sum(monotonic: bool, temporality: i32, points: Vec<NumberDataPoint>) -> Data {
    Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: temporality,
        is_monotonic: monotonic,
    })
}

fn decode_pb(req: &ExportMetricsServiceRequest) -> Decoded {
    decode(&req.encode_to_vec(), false).expect("decodes")
}

/// Every sample as `series timestamp value`, sorted, for exact comparison.
fn dump(d: &Decoded) -> Vec<String> {
    let mut out: Vec<String> = d
        .batch
        .series
        .iter()
        .flat_map(|s| {
            s.samples
                .iter()
                .map(move |x| format!("{} {} {}", s.labels, x.t, x.v))
        })
        .collect();
    out.sort();
    out
}

fn lines(expected: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = expected.iter().map(|l| (*l).to_string()).collect();
    v.sort();
    v
}

fn meta(family: &str, t: MetricType, help: &str, unit: &str) -> MetricMetadata {
    MetricMetadata {
        metric_family: family.into(),
        metric_type: t,
        help: help.into(),
        unit: unit.into(),
    }
}

#[test]
fn counter_with_unit_gets_unit_and_total_suffixes() {
    let mut m = metric(
        "process.cpu.time",
        "s",
        sum(
            true,
            CUMULATIVE,
            vec![
                number(vec![s("state", "user")], NV::AsDouble(12.5)),
                number(vec![s("state", "system")], NV::AsInt(3)),
            ],
        ),
    );
    m.description = "CPU time".into();
    let d = decode_pb(&request(vec![], None, vec![m]));
    assert_eq!(
        dump(&d),
        lines(&[
            &format!(r#"process_cpu_time_seconds_total{{state="user"}} {T_MS} 12.5"#),
            &format!(r#"process_cpu_time_seconds_total{{state="system"}} {T_MS} 3"#),
        ])
    );
    assert_eq!(
        d.batch.metadata,
        [meta(
            "process_cpu_time_seconds_total",
            MetricType::Counter,
            "CPU time",
            "seconds"
        )]
    );
    assert_eq!((d.rejected_points, d.rejection_message), (0, None));
}

#[test]
fn gauges_and_non_monotonic_sums() {
    let d = decode_pb(&request(
        vec![],
        None,
        vec![
            metric(
                "memory.usage",
                "By",
                gauge(vec![number(vec![], NV::AsInt(1024))]),
            ),
            metric(
                "cpu.utilization",
                "1",
                gauge(vec![number(vec![], NV::AsDouble(0.25))]),
            ),
            metric(
                "active.requests",
                "{request}",
                sum(false, CUMULATIVE, vec![number(vec![], NV::AsInt(-2))]),
            ),
        ],
    ));
    assert_eq!(
        dump(&d),
        lines(&[
            &format!("memory_usage_bytes{{}} {T_MS} 1024"),
            &format!("cpu_utilization_ratio{{}} {T_MS} 0.25"),
            &format!("active_requests{{}} {T_MS} -2"),
        ])
    );
    assert_eq!(
        d.batch.metadata,
        [
            meta("memory_usage_bytes", MetricType::Gauge, "", "bytes"),
            meta("cpu_utilization_ratio", MetricType::Gauge, "", "ratio"),
            meta("active_requests", MetricType::Gauge, "", ""),
        ]
    );
}

fn histogram_point(
    bounds: Vec<f64>,
    counts: Vec<u64>,
    count: u64,
    sum: Option<f64>,
) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: vec![s("route", "/a")],
        time_unix_nano: T_NS,
        count,
        sum,
        bucket_counts: counts,
        explicit_bounds: bounds,
        ..Default::default()
    }
}

fn histogram(temporality: i32, points: Vec<HistogramDataPoint>) -> Data {
    Data::Histogram(Histogram {
        data_points: points,
        aggregation_temporality: temporality,
    })
}

#[test]
fn histogram_buckets_are_cumulative_with_prometheus_le() {
    let p = histogram_point(
        vec![0.005, 0.01, 0.5, 1.0, 2.5],
        vec![1, 2, 0, 3, 1, 4],
        11,
        Some(9.75),
    );
    let d = decode_pb(&request(
        vec![],
        None,
        vec![metric(
            "http.server.duration",
            "s",
            histogram(CUMULATIVE, vec![p]),
        )],
    ));
    let n = "http_server_duration_seconds";
    assert_eq!(
        dump(&d),
        lines(&[
            &format!(r#"{n}_bucket{{le="0.005", route="/a"}} {T_MS} 1"#),
            &format!(r#"{n}_bucket{{le="0.01", route="/a"}} {T_MS} 3"#),
            &format!(r#"{n}_bucket{{le="0.5", route="/a"}} {T_MS} 3"#),
            &format!(r#"{n}_bucket{{le="1", route="/a"}} {T_MS} 6"#),
            &format!(r#"{n}_bucket{{le="2.5", route="/a"}} {T_MS} 7"#),
            &format!(r#"{n}_bucket{{le="+Inf", route="/a"}} {T_MS} 11"#),
            &format!(r#"{n}_sum{{route="/a"}} {T_MS} 9.75"#),
            &format!(r#"{n}_count{{route="/a"}} {T_MS} 11"#),
        ])
    );
    assert_eq!(
        d.batch.metadata,
        [meta(n, MetricType::Histogram, "", "seconds")]
    );
}

#[test]
fn histogram_without_sum_or_buckets() {
    let p = histogram_point(vec![], vec![], 4, None);
    let d = decode_pb(&request(
        vec![],
        None,
        vec![metric("h", "", histogram(CUMULATIVE, vec![p]))],
    ));
    assert_eq!(
        dump(&d),
        lines(&[
            &format!(r#"h_bucket{{le="+Inf", route="/a"}} {T_MS} 4"#),
            &format!(r#"h_count{{route="/a"}} {T_MS} 4"#),
        ])
    );
}

#[test]
fn malformed_histograms_are_rejected_per_point() {
    let good = histogram_point(vec![1.0], vec![1, 1], 2, None);
    let mismatched = histogram_point(vec![1.0, 2.0], vec![1, 1], 2, None);
    let unordered = histogram_point(vec![2.0, 1.0], vec![1, 1, 0], 2, None);
    let d = decode_pb(&request(
        vec![],
        None,
        vec![metric(
            "h",
            "",
            histogram(CUMULATIVE, vec![good, mismatched, unordered]),
        )],
    ));
    assert_eq!(d.rejected_points, 2);
    assert_eq!(
        d.rejection_message.as_deref(),
        Some(
            "metric \"h\": histogram has 2 bucket counts for 2 explicit bounds; expected 3 (or none); \
             metric \"h\": histogram explicit bounds must be strictly increasing and not NaN"
        )
    );
    assert_eq!(dump(&d).len(), 3, "{:?}", dump(&d));
}

/// `rpc.latency` in seconds: one summary point of ten observations summing to 2.5, with
/// quantiles 0.5 → 0.2 and 0.99 → 0.9.
fn rpc_latency_summary() -> Metric {
    metric(
        "rpc.latency",
        "s",
        Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                time_unix_nano: T_NS,
                count: 10,
                sum: 2.5,
                quantile_values: vec![
                    ValueAtQuantile {
                        quantile: 0.5,
                        value: 0.2,
                    },
                    ValueAtQuantile {
                        quantile: 0.99,
                        value: 0.9,
                    },
                ],
                ..Default::default()
            }],
        }),
    )
}

#[test]
fn summary_quantiles_sum_and_count() {
    let d = decode_pb(&request(vec![], None, vec![rpc_latency_summary()]));
    assert_eq!(
        dump(&d),
        lines(&[
            &format!(r#"rpc_latency_seconds{{quantile="0.5"}} {T_MS} 0.2"#),
            &format!(r#"rpc_latency_seconds{{quantile="0.99"}} {T_MS} 0.9"#),
            &format!("rpc_latency_seconds_sum{{}} {T_MS} 2.5"),
            &format!("rpc_latency_seconds_count{{}} {T_MS} 10"),
        ])
    );
    assert_eq!(
        d.batch.metadata,
        [meta(
            "rpc_latency_seconds",
            MetricType::Summary,
            "",
            "seconds"
        )]
    );
}

#[test]
fn resource_attributes_become_job_instance_and_target_info() {
    let resource = vec![
        s("service.name", "api"),
        s("service.namespace", "shop"),
        s("service.instance.id", "pod-1"),
        s("host.name", "node-a"),
        kv("k8s.pod.restarts", AV::IntValue(2)),
    ];
    let scope = InstrumentationScope {
        name: "io.opentelemetry.http".into(),
        version: "1.2.0".into(),
        ..Default::default()
    };
    // A point attribute called `job` loses to service.name, as in Prometheus.
    let m = metric(
        "up",
        "",
        gauge(vec![number(vec![s("job", "mine")], NV::AsInt(1))]),
    );
    let d = decode_pb(&request(resource, Some(scope), vec![m]));
    assert_eq!(
        dump(&d),
        lines(&[
            &format!(
                r#"up{{instance="pod-1", job="shop/api", otel_scope_name="io.opentelemetry.http", otel_scope_version="1.2.0"}} {T_MS} 1"#
            ),
            &format!(
                r#"target_info{{host_name="node-a", instance="pod-1", job="shop/api", k8s_pod_restarts="2"}} {T_MS} 1"#
            ),
        ])
    );
    assert!(d.batch.metadata.contains(&meta(
        "target_info",
        MetricType::Gauge,
        "Target metadata",
        ""
    )));
}

#[test]
fn no_target_info_with_only_service_attributes() {
    let resource = vec![s("service.name", "api"), s("service.instance.id", "pod-1")];
    let m = metric("up", "", gauge(vec![number(vec![], NV::AsInt(1))]));
    let d = decode_pb(&request(resource, None, vec![m]));
    assert_eq!(
        dump(&d),
        lines(&[&format!(r#"up{{instance="pod-1", job="api"}} {T_MS} 1"#)])
    );
}

#[test]
fn target_info_gets_a_sample_at_each_point_time_of_its_resource() {
    let resource = vec![s("service.name", "api"), s("region", "eu")];
    let mut late = number(vec![], NV::AsInt(2));
    late.time_unix_nano = T_NS + 30_000_000_000;
    let m = metric("up", "", gauge(vec![late, number(vec![], NV::AsInt(1))]));
    let d = decode_pb(&request(resource, None, vec![m]));
    let t2 = T_MS + 30_000;
    assert_eq!(
        dump(&d),
        lines(&[
            &format!(r#"up{{job="api"}} {T_MS} 1"#),
            &format!(r#"up{{job="api"}} {t2} 2"#),
            &format!(r#"target_info{{job="api", region="eu"}} {T_MS} 1"#),
            &format!(r#"target_info{{job="api", region="eu"}} {t2} 1"#),
        ])
    );
    // One series each, samples ascending although the request had them descending.
    assert_eq!(d.batch.series.len(), 2);
    for s in &d.batch.series {
        assert!(s.samples.is_sorted_by_key(|x| x.t), "{}", s.labels);
    }
}

#[test]
fn attribute_keys_are_sanitized_and_collisions_joined() {
    let attrs = vec![
        s("http.method", "GET"),
        s("123abc", "x"),
        s("a_b", "2"),
        s("a.b", "1"),
        s("a-b", "3"),
        s("__reserved.x__", "r"),
        kv("flag", AV::BoolValue(true)),
        kv("ratio", AV::DoubleValue(0.5)),
        kv(
            "list",
            AV::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(AV::StringValue("a".into())),
                    },
                    AnyValue {
                        value: Some(AV::IntValue(1)),
                    },
                ],
            }),
        ),
        s("empty", ""),
    ];
    let d = decode_pb(&request(
        vec![],
        None,
        vec![metric("m", "", gauge(vec![number(attrs, NV::AsInt(1))]))],
    ));
    // Colliding keys are joined in the byte order of the original keys: "a-b" < "a.b" < "a_b".
    assert_eq!(
        dump(&d),
        lines(&[&format!(
            r#"m{{__reserved_x__="r", a_b="3;1;2", flag="true", http_method="GET", key_123abc="x", list="[\"a\",1]", ratio="0.5"}} {T_MS} 1"#
        )])
    );
    for s in &d.batch.series {
        s.labels.validate().expect("valid labels");
    }
}

#[test]
fn unconvertible_attribute_key_rejects_the_point() {
    let d = decode_pb(&request(
        vec![],
        None,
        vec![metric(
            "m",
            "",
            gauge(vec![
                number(vec![s("...", "x")], NV::AsInt(1)),
                number(vec![s("ok", "y")], NV::AsInt(2)),
            ]),
        )],
    ));
    assert_eq!(dump(&d), lines(&[&format!(r#"m{{ok="y"}} {T_MS} 2"#)]));
    assert_eq!(d.rejected_points, 1);
    assert_eq!(
        d.rejection_message.as_deref(),
        Some(r#"metric "m": attribute "..." cannot be converted to a label name"#)
    );
}

#[test]
fn delta_temporality_is_rejected_and_the_rest_accepted() {
    let d = decode_pb(&request(
        vec![],
        None,
        vec![
            metric(
                "requests",
                "",
                sum(
                    true,
                    DELTA,
                    vec![
                        number(vec![s("a", "1")], NV::AsInt(5)),
                        number(vec![s("a", "2")], NV::AsInt(7)),
                    ],
                ),
            ),
            metric(
                "latency",
                "ms",
                histogram(
                    DELTA,
                    vec![histogram_point(vec![1.0], vec![1, 0], 1, Some(0.5))],
                ),
            ),
            metric("queue", "", gauge(vec![number(vec![], NV::AsInt(3))])),
        ],
    ));
    assert_eq!(dump(&d), lines(&[&format!("queue{{}} {T_MS} 3")]));
    assert_eq!(d.rejected_points, 3);
    assert_eq!(
        d.rejection_message.as_deref(),
        Some(
            "metric \"requests\": delta temporality is not supported; set the exporter's temporality preference to cumulative; \
             metric \"latency\": delta temporality is not supported; set the exporter's temporality preference to cumulative"
        )
    );
    // No metadata for families that stored nothing.
    assert_eq!(d.batch.metadata, [meta("queue", MetricType::Gauge, "", "")]);
}

#[test]
fn unspecified_temporality_and_exponential_histograms_are_rejected() {
    let exp = Data::ExponentialHistogram(ExponentialHistogram {
        data_points: vec![ExponentialHistogramDataPoint {
            time_unix_nano: T_NS,
            count: 1,
            ..Default::default()
        }],
        aggregation_temporality: CUMULATIVE,
    });
    let d = decode_pb(&request(
        vec![],
        None,
        vec![
            metric("c", "", sum(true, 0, vec![number(vec![], NV::AsInt(1))])),
            metric("e", "", exp),
        ],
    ));
    assert!(d.batch.series.is_empty());
    assert_eq!(d.rejected_points, 2);
    assert_eq!(
        d.rejection_message.as_deref(),
        Some(
            "metric \"c\": aggregation temporality is unspecified; only cumulative is supported; \
             metric \"e\": exponential histograms are not supported; configure the exporter to use explicit-bucket histograms"
        )
    );
}

#[test]
fn no_recorded_value_becomes_stale_nan() {
    let mut g = number(vec![], NV::AsDouble(1.0));
    g.flags = 1;
    let mut h = histogram_point(vec![1.0], vec![1, 1], 2, Some(3.0));
    h.flags = 1;
    let mut no_value = number(vec![s("x", "y")], NV::AsInt(0));
    no_value.value = None;
    no_value.flags = 1;
    let d = decode_pb(&request(
        vec![],
        None,
        vec![
            metric("g", "", gauge(vec![g, no_value])),
            metric("h", "", histogram(CUMULATIVE, vec![h])),
        ],
    ));
    // g, g{x}, h_bucket×2, h_sum, h_count.
    assert_eq!(d.batch.series.len(), 6);
    for s in &d.batch.series {
        for x in &s.samples {
            assert!(is_stale_nan(x.v), "{} {}", s.labels, x.v);
            assert_eq!(x.t, T_MS);
        }
    }
    assert_eq!(d.rejected_points, 0);
}

#[test]
fn points_without_value_or_timestamp_are_rejected() {
    let mut no_value = number(vec![], NV::AsInt(0));
    no_value.value = None;
    let mut no_time = number(vec![s("a", "b")], NV::AsInt(1));
    no_time.time_unix_nano = 0;
    let d = decode_pb(&request(
        vec![],
        None,
        vec![metric("g", "", gauge(vec![no_value, no_time]))],
    ));
    assert!(d.batch.series.is_empty());
    assert!(d.batch.metadata.is_empty());
    assert_eq!(d.rejected_points, 2);
    assert_eq!(
        d.rejection_message.as_deref(),
        Some(
            "metric \"g\": data point has no value; \
             metric \"g\": data point has no timestamp (time_unix_nano is 0)"
        )
    );
}

#[test]
fn unusable_metric_names_are_rejected() {
    let d = decode_pb(&request(
        vec![],
        None,
        vec![
            metric("", "", gauge(vec![number(vec![], NV::AsInt(1))])),
            metric("ü.ï", "", gauge(vec![number(vec![], NV::AsInt(1))])),
        ],
    ));
    assert_eq!(d.rejected_points, 2);
    assert_eq!(
        d.rejection_message.as_deref(),
        Some(
            "metric \"\": name is empty; \
             metric \"ü.ï\": name has no characters usable in a Prometheus metric name"
        )
    );
}

#[test]
fn prometheus_type_hint_in_metric_metadata() {
    let mut m = metric(
        "build",
        "",
        sum(false, CUMULATIVE, vec![number(vec![], NV::AsInt(1))]),
    );
    m.metadata = vec![s("prometheus.type", "info")];
    let mut u = metric("legacy", "", gauge(vec![number(vec![], NV::AsInt(1))]));
    u.metadata = vec![s("prometheus.type", "unknown")];
    let d = decode_pb(&request(vec![], None, vec![m, u]));
    assert_eq!(
        d.batch.metadata,
        [
            meta("build", MetricType::Info, "", ""),
            meta("legacy", MetricType::Unknown, "", "")
        ]
    );
}

#[test]
fn rejection_messages_are_capped() {
    let metrics: Vec<Metric> = (0..20)
        .map(|i| {
            metric(
                &format!("d{i}"),
                "",
                sum(true, DELTA, vec![number(vec![], NV::AsInt(1))]),
            )
        })
        .collect();
    let d = decode_pb(&request(vec![], None, metrics));
    assert_eq!(d.rejected_points, 20);
    let m = d.rejection_message.expect("message");
    assert_eq!(m.matches("delta temporality").count(), 8);
    assert!(m.ends_with("; and 12 more problems"), "{m}");
}

#[test]
fn output_label_budget_is_enforced() {
    let req = request(
        vec![s("service.name", &"x".repeat(1000))],
        None,
        vec![metric(
            "m",
            "",
            gauge(
                (0..10)
                    .map(|i| number(vec![kv("i", AV::IntValue(i))], NV::AsInt(i)))
                    .collect(),
            ),
        )],
    );
    let err = convert::convert(&req, 5_000).expect_err("over budget");
    assert!(
        matches!(err, CodecError::TooLarge { limit: 5_000, .. }),
        "{err}"
    );
    assert!(convert::convert(&req, 1 << 20).is_ok());
}

#[test]
fn label_budget_counts_each_label_not_just_its_text() {
    // 26 one-character attributes: 2 bytes of text each, plus `__name__="m"` (9 bytes).
    let attrs: Vec<KeyValue> = ('a'..='z').map(|c| s(&c.to_string(), "v")).collect();
    let req = request(
        vec![],
        None,
        vec![metric("m", "", gauge(vec![number(attrs, NV::AsInt(1))]))],
    );
    let cost = 27 * convert::LABEL_OVERHEAD + 26 * 2 + 9;
    assert!(matches!(
        convert::convert(&req, cost - 1),
        Err(CodecError::TooLarge { .. })
    ));
    assert!(convert::convert(&req, cost).is_ok());
}

#[test]
fn many_tiny_attributes_on_many_buckets_exceed_the_budget() {
    // 1 000 one-byte attributes copied onto 102 series: about 100 000 labels (5 MB) from an
    // 11 kB body, which passed when only the labels' text (0.5 MB) was counted.
    let attrs: Vec<KeyValue> = (0..1000).map(|i| s(&format!("k{i}"), "v")).collect();
    let bounds: Vec<f64> = (0..100).map(f64::from).collect();
    let p = HistogramDataPoint {
        attributes: attrs,
        ..histogram_point(bounds, vec![1; 101], 101, None)
    };
    let req = request(
        vec![],
        None,
        vec![metric("h", "", histogram(CUMULATIVE, vec![p]))],
    );
    let body_len = req.encode_to_vec().len();
    let proportional = convert::default_label_budget(body_len) - (64 << 20);
    assert!(matches!(
        convert::convert(&req, proportional),
        Err(CodecError::TooLarge { .. })
    ));
}
