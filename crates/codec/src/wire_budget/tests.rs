//! The walk against prost: attacks refused, honest bodies far below the budget, and the estimate
//! never below what prost actually builds, also for mutated and malformed bodies.

use std::mem::size_of;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as AV, AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue,
    KeyValueList,
};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile, Exemplar, ExponentialHistogram,
    ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use proptest::prelude::*;
use prost::Message as _;
use vigil_model::{Batch, Labels, MetricMetadata, MetricType, Sample};

mod heap;
mod logs;

use super::{budget, estimate, EXPORT_METRICS_SERVICE_REQUEST, MAX_DEPTH, WRITE_REQUEST};
use crate::otlp::tests::{kv, s};
use crate::remote_write::proto::{self as rw, WriteRequestIn};
use crate::{otlp, remote_write, CodecError, DecodeContext, DecodeLimits, Protocol};
use heap::Heap;

const T_NS: u64 = 1_700_000_060_123_456_789;

/// An OTLP request as an SDK exports it: a service resource, one scope, counters, gauges and
/// histograms with two or three attributes per point.
fn realistic_otlp(points: usize) -> ExportMetricsServiceRequest {
    let attrs = |i: usize| {
        vec![
            s("http.request.method", ["GET", "POST", "PUT"][i % 3]),
            s("http.route", &format!("/api/v1/items/{}", i % 40)),
            kv(
                "http.response.status_code",
                AV::IntValue(200 + (i % 5) as i64),
            ),
        ]
    };
    let number = |i: usize| NumberDataPoint {
        attributes: attrs(i),
        start_time_unix_nano: T_NS - 60_000_000_000,
        time_unix_nano: T_NS,
        value: Some(number_data_point::Value::AsDouble(i as f64 * 1.5)),
        ..Default::default()
    };
    let histogram = |i: usize| HistogramDataPoint {
        attributes: attrs(i),
        start_time_unix_nano: T_NS - 60_000_000_000,
        time_unix_nano: T_NS,
        count: 100 + i as u64,
        sum: Some(12.5 * i as f64),
        bucket_counts: (0..11).map(|b| (b * i) as u64).collect(),
        explicit_bounds: vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
        ..Default::default()
    };
    let n = points.div_ceil(3);
    let metric = |name: &str, data: Data| Metric {
        name: name.into(),
        description: format!("{name} as measured by the server"),
        unit: "s".into(),
        data: Some(data),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    s("service.name", "checkout"),
                    s("service.namespace", "shop"),
                    s(
                        "service.instance.id",
                        "627cc493-f310-47de-96bd-71410b7dec09",
                    ),
                    s("host.name", "node-a.eu-west-1.compute.internal"),
                    s("telemetry.sdk.language", "go"),
                    s("telemetry.sdk.version", "1.28.0"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp".into(),
                    version: "0.53.0".into(),
                    ..Default::default()
                }),
                metrics: vec![
                    metric(
                        "http.server.request.count",
                        Data::Sum(Sum {
                            data_points: (0..n).map(number).collect(),
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        }),
                    ),
                    metric(
                        "http.server.active_requests",
                        Data::Gauge(Gauge {
                            data_points: (0..n).map(number).collect(),
                        }),
                    ),
                    metric(
                        "http.server.request.duration",
                        Data::Histogram(Histogram {
                            data_points: (0..n).map(histogram).collect(),
                            aggregation_temporality: 2,
                        }),
                    ),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Every kind of field the walk knows, at least once, for the mutation property test.
fn every_field_otlp() -> ExportMetricsServiceRequest {
    let nested = kv(
        "nested",
        AV::KvlistValue(KeyValueList {
            values: vec![
                kv(
                    "list",
                    AV::ArrayValue(ArrayValue {
                        values: vec![
                            AnyValue {
                                value: Some(AV::BoolValue(true)),
                            },
                            AnyValue {
                                value: Some(AV::BytesValue(vec![1, 2, 3])),
                            },
                        ],
                    }),
                ),
                kv("d", AV::DoubleValue(1.5)),
            ],
        }),
    );
    let exemplar = Exemplar {
        filtered_attributes: vec![s("trace", "yes")],
        time_unix_nano: T_NS,
        span_id: vec![7; 8],
        trace_id: vec![9; 16],
        value: Some(exemplar::Value::AsInt(3)),
    };
    let mut req = realistic_otlp(3);
    let Some(rm) = req.resource_metrics.first_mut() else {
        return req;
    };
    rm.schema_url = "https://opentelemetry.io/schemas/1.26.0".into();
    if let Some(r) = rm.resource.as_mut() {
        r.attributes.push(nested.clone());
        r.entity_refs.push(EntityRef {
            schema_url: "u".into(),
            r#type: "service".into(),
            id_keys: vec!["service.name".into(), "service.instance.id".into()],
            description_keys: vec!["host.name".into()],
        });
    }
    rm.scope_metrics.push(ScopeMetrics {
        scope: Some(InstrumentationScope {
            name: "s".into(),
            version: "1".into(),
            attributes: vec![nested.clone()],
            dropped_attributes_count: 0,
        }),
        metrics: vec![
            Metric {
                name: "e".into(),
                metadata: vec![s("m", "v")],
                data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![ExponentialHistogramDataPoint {
                        attributes: vec![nested],
                        count: 5,
                        positive: Some(Buckets {
                            offset: -2,
                            bucket_counts: vec![1, 300, 70_000],
                        }),
                        negative: Some(Buckets {
                            offset: 1,
                            bucket_counts: vec![2],
                        }),
                        exemplars: vec![exemplar.clone()],
                        ..Default::default()
                    }],
                    aggregation_temporality: 2,
                })),
                ..Default::default()
            },
            Metric {
                name: "q".into(),
                data: Some(Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        attributes: vec![s("a", "b")],
                        quantile_values: vec![
                            ValueAtQuantile {
                                quantile: 0.5,
                                value: 1.0,
                            },
                            ValueAtQuantile {
                                quantile: 0.99,
                                value: 2.0,
                            },
                        ],
                        ..Default::default()
                    }],
                })),
                ..Default::default()
            },
            Metric {
                name: "g".into(),
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![NumberDataPoint {
                        exemplars: vec![exemplar],
                        ..Default::default()
                    }],
                })),
                ..Default::default()
            },
        ],
        schema_url: "x".into(),
    });
    req
}

/// A remote_write batch as Prometheus sends it (the codec bench's shape): 8 labels a series,
/// one sample each, plus metadata.
fn realistic_remote_write(series: usize) -> Batch {
    let mut batch = Batch::new();
    for i in 0..series {
        let labels = Labels::from_pairs([
            ("__name__", format!("node_cpu_seconds_{}_total", i % 50)),
            ("cpu", format!("{}", i % 16)),
            ("instance", format!("host-{}.example.com:9100", i / 50)),
            ("job", "node".to_owned()),
            ("mode", "user".to_owned()),
            ("region", "eu-west-1".to_owned()),
            ("env", "prod".to_owned()),
            ("team", "platform".to_owned()),
        ])
        .expect("labels");
        batch.push(
            labels,
            Sample::new(1_700_000_000_000 + i as i64, 12345.678 + i as f64),
        );
    }
    batch.metadata.push(MetricMetadata {
        metric_family: "node_cpu_seconds_total".to_owned(),
        metric_type: MetricType::Counter,
        help: "Seconds the CPUs spent in each mode.".to_owned(),
        unit: String::new(),
    });
    batch
}

/// `tag` + varint length + `inner`.
fn wrap(tag: u8, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    prost::encoding::encode_varint(inner.len() as u64, &mut out);
    out.extend_from_slice(inner);
    out
}

fn ctx() -> DecodeContext<'static> {
    DecodeContext {
        limits: DecodeLimits::default(),
        content_encoding: None,
        content_type: None,
        now_ms: 0,
    }
}

#[test]
fn remote_write_of_empty_series_is_refused() {
    // 4 Mi empty `TimeSeries` (`0a 00`): 288 MiB of structs from an 8 MiB body.
    let raw = [0x0a, 0x00].repeat(4 << 20);
    let body = snap::raw::Encoder::new()
        .compress_vec(&raw)
        .expect("compress");
    let e = Protocol::RemoteWrite
        .decode(&body, &ctx())
        .expect_err("refused");
    let CodecError::TooLarge { what, size, limit } = &e else {
        panic!("{e}");
    };
    assert_eq!(*limit, budget(raw.len()));
    assert!(*size > *limit && *size < *limit + 100, "{e}");
    assert!(what.starts_with("decoded remote_write request"), "{e}");
    assert_eq!(e.kind(), vigil_model::ErrorKind::LimitExceeded);
    assert_eq!(
        e.to_string(),
        format!(
            "decoded remote_write request (estimated from the wire, counting stopped past the limit) \
             is {size} bytes, over the limit of {} bytes",
            (8 << 20) * 16 + (64 << 20)
        )
    );
}

#[test]
fn otlp_of_empty_resource_metrics_is_refused() {
    let raw = [0x0a, 0x00].repeat(2 << 20);
    let e = otlp::decode(&raw, false).expect_err("refused");
    assert!(
        matches!(e, CodecError::TooLarge { what, .. } if what.starts_with("decoded OTLP protobuf request")),
        "{e}"
    );
    let e = Protocol::OtlpProtobuf
        .decode(&raw, &ctx())
        .expect_err("refused");
    assert!(matches!(e, CodecError::TooLarge { .. }), "{e}");
}

#[test]
fn otlp_of_empty_histogram_points_is_refused() {
    // Empty exponential histogram points (field 10 of Metric), 208 bytes each from 2.
    let points = [0x0a, 0x00].repeat(1 << 20);
    let body = wrap(0x0a, &wrap(0x12, &wrap(0x12, &wrap(0x52, &points))));
    let e = otlp::decode(&body, false).expect_err("refused");
    assert!(matches!(e, CodecError::TooLarge { .. }), "{e}");
    assert!(
        estimate(&EXPORT_METRICS_SERVICE_REQUEST, &body, u64::MAX)
            >= (1 << 20) * size_of::<ExponentialHistogramDataPoint>() as u64
    );
}

#[test]
fn estimate_counts_structs_strings_and_numbers() {
    let req = rw::WriteRequest {
        timeseries: vec![rw::TimeSeries {
            labels: vec![rw::Label {
                name: "a".into(),
                value: "bc".into(),
            }],
            samples: vec![
                rw::Sample {
                    value: 1.0,
                    timestamp: 2,
                },
                rw::Sample {
                    value: 3.0,
                    timestamp: 4,
                },
            ],
            exemplars: vec![rw::Exemplar {
                labels: vec![rw::Label {
                    name: "skipped".into(),
                    value: "by prost".into(),
                }],
                value: 1.0,
                timestamp: 1,
            }],
            histograms: Vec::new(),
        }],
        metadata: Vec::new(),
    };
    let body = req.encode_to_vec();
    let expected = size_of::<rw::TimeSeriesIn>()
        + size_of::<rw::Label>()
        + (1 + 16)
        + (2 + 16)
        + 2 * size_of::<rw::Sample>();
    assert_eq!(estimate(&WRITE_REQUEST, &body, u64::MAX), expected as u64);

    // Packed bucket counts and bounds, and the same numbers unpacked (prost accepts both).
    let point = HistogramDataPoint {
        bucket_counts: vec![1, 2, 3],
        explicit_bounds: vec![1.0, 2.0],
        ..Default::default()
    };
    // Metric.histogram (9) → Histogram.data_points (1).
    let packed = wrap(0x4a, &wrap(0x0a, &point.encode_to_vec()));
    let mut unpacked = Vec::new();
    for c in [1u64, 2, 3] {
        prost::encoding::fixed64::encode(6, &c, &mut unpacked);
    }
    for b in [1.0f64, 2.0] {
        prost::encoding::double::encode(7, &b, &mut unpacked);
    }
    let unpacked = wrap(0x4a, &wrap(0x0a, &unpacked));
    for (point, blocks) in [(packed, 2), (unpacked, 0)] {
        let body = wrap(0x0a, &wrap(0x12, &wrap(0x12, &point)));
        let expected = size_of::<ResourceMetrics>()
            + size_of::<ScopeMetrics>()
            + size_of::<Metric>()
            + size_of::<HistogramDataPoint>()
            + 5 * 8
            + blocks * 16;
        assert_eq!(
            estimate(&EXPORT_METRICS_SERVICE_REQUEST, &body, u64::MAX),
            expected as u64
        );
        let decoded = ExportMetricsServiceRequest::decode(body.as_slice()).expect("decodes");
        assert_eq!(decoded.heap() + (blocks * 16) as u64, expected as u64);
    }
}

#[test]
fn realistic_bodies_are_far_below_the_budget() {
    for series in [1, 100, 2000, 10_000] {
        let batch = realistic_remote_write(series);
        let raw = remote_write::to_proto(&batch).encode_to_vec();
        let est = estimate(&WRITE_REQUEST, &raw, u64::MAX);
        let ratio = est as f64 / raw.len() as f64;
        assert!(ratio < 6.0, "remote_write {series} series: {ratio:.2}×");
        let body = remote_write::encode(&batch);
        let back = remote_write::decode(&body, &DecodeLimits::default()).expect("decodes");
        assert_eq!(back.series.len(), series);
    }
    for points in [1, 30, 3000] {
        let raw = realistic_otlp(points).encode_to_vec();
        let est = estimate(&EXPORT_METRICS_SERVICE_REQUEST, &raw, u64::MAX);
        let ratio = est as f64 / raw.len() as f64;
        assert!(ratio < 6.0, "OTLP {points} points: {ratio:.2}×");
        assert!(otlp::decode(&raw, false).is_ok());
    }
}

#[test]
fn estimate_is_at_least_what_prost_builds() {
    let raw = remote_write::to_proto(&realistic_remote_write(50)).encode_to_vec();
    let decoded = WriteRequestIn::decode(raw.as_slice()).expect("decodes");
    assert!(estimate(&WRITE_REQUEST, &raw, u64::MAX) >= decoded.heap());
    let req = every_field_otlp();
    let raw = req.encode_to_vec();
    assert_eq!(
        estimate(&EXPORT_METRICS_SERVICE_REQUEST, &raw, u64::MAX),
        req.heap() + 4 * 16,
        "every field counted once, and a heap block for each of the 4 packed number fields"
    );
}

#[test]
fn fields_running_past_their_message_are_counted() {
    // A `ResourceMetrics` declared 3 bytes long whose `Resource` runs on over 1 000 attributes.
    // prost builds all of them before it notices the overrun, so the walk counts them too.
    let attrs = [0x0a, 0x00].repeat(1000);
    let mut body = vec![0x0a, 0x03, 0x0a];
    prost::encoding::encode_varint(attrs.len() as u64, &mut body);
    body.extend_from_slice(&attrs);
    assert!(ExportMetricsServiceRequest::decode(body.as_slice()).is_err());
    assert!(
        estimate(&EXPORT_METRICS_SERVICE_REQUEST, &body, u64::MAX)
            >= 1000 * size_of::<KeyValue>() as u64
    );
}

#[test]
fn nesting_the_walk_gives_up_on_fails_in_prost() {
    // Attribute values nested as key-value lists: three messages a level.
    let nested = |levels: usize| {
        let mut v = kv("leaf", AV::IntValue(1));
        for _ in 0..levels {
            v = kv("k", AV::KvlistValue(KeyValueList { values: vec![v] }));
        }
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![v],
                    ..Default::default()
                }),
                ..Default::default()
            }],
        }
    };
    let deep = nested(MAX_DEPTH / 3).encode_to_vec();
    let e = ExportMetricsServiceRequest::decode(deep.as_slice()).expect_err("too deep for prost");
    assert!(e.to_string().contains("recursion limit"), "{e}");
    assert!(estimate(&EXPORT_METRICS_SERVICE_REQUEST, &deep, u64::MAX) > 0);
    // As deep as prost goes (100 messages below the request): counted in full.
    assert!(ExportMetricsServiceRequest::decode(nested(33).encode_to_vec().as_slice()).is_err());
    let req = nested(32);
    let ok = req.encode_to_vec();
    let back = ExportMetricsServiceRequest::decode(ok.as_slice()).expect("within prost's limit");
    assert_eq!(
        estimate(&EXPORT_METRICS_SERVICE_REQUEST, &ok, u64::MAX),
        back.heap()
    );
}

#[test]
fn malformed_bodies_keep_prost_errors() {
    let raw = remote_write::to_proto(&realistic_remote_write(3)).encode_to_vec();
    for cut in 1..raw.len() {
        let short = raw.get(..cut).expect("prefix");
        match remote_write::decode_uncompressed(short) {
            Err(CodecError::Decode { reason, .. }) => {
                let prost = WriteRequestIn::decode(short).expect_err("prost fails too");
                assert_eq!(reason, prost.to_string());
            }
            Err(CodecError::TooLarge { .. }) => panic!("prefix of {cut} bytes refused by size"),
            _ => {}
        }
    }
}

/// Applies byte edits (position taken modulo the length) and an optional cut to `body`.
fn mutate(mut body: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    for &(at, b) in edits {
        let n = body.len();
        if let Some(x) = body.get_mut(at % n.max(1)) {
            *x = b;
        }
    }
    if let Some(c) = cut {
        body.truncate(c);
    }
    body
}

fn key(tag: u32, wire_type: u32, out: &mut Vec<u8>) {
    prost::encoding::encode_varint(u64::from(tag << 3 | wire_type), out);
}

/// Well-formed protobuf wire data with random field numbers and wire types: scalars, short
/// ASCII payloads, nested messages, groups. prost decodes much of it into the request types
/// (tags that fit the schema are read, the rest skipped), repeats and all.
fn wire_fields() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        (1u32..14, any::<u64>()).prop_map(|(t, v)| {
            let mut out = Vec::new();
            key(t, 0, &mut out);
            prost::encoding::encode_varint(v % 1000, &mut out);
            out
        }),
        (1u32..14, any::<u64>()).prop_map(|(t, v)| {
            let mut out = Vec::new();
            key(t, 1, &mut out);
            out.extend_from_slice(&v.to_le_bytes());
            out
        }),
        (1u32..14).prop_map(|t| {
            let mut out = Vec::new();
            key(t, 5, &mut out);
            out.extend_from_slice(&[0; 4]);
            out
        }),
        (1u32..14, proptest::collection::vec(0x20u8..0x7f, 0..5)).prop_map(|(t, b)| {
            let mut out = Vec::new();
            key(t, 2, &mut out);
            prost::encoding::encode_varint(b.len() as u64, &mut out);
            out.extend_from_slice(&b);
            out
        }),
    ];
    let field = leaf.prop_recursive(5, 200, 6, |inner| {
        (
            1u32..14,
            proptest::collection::vec(inner, 0..6),
            any::<bool>(),
        )
            .prop_map(|(t, fields, group)| {
                let body = fields.concat();
                let mut out = Vec::new();
                if group {
                    key(t, 3, &mut out);
                    out.extend_from_slice(&body);
                    key(t, 4, &mut out);
                } else {
                    key(t, 2, &mut out);
                    prost::encoding::encode_varint(body.len() as u64, &mut out);
                    out.extend_from_slice(&body);
                }
                out
            })
    });
    proptest::collection::vec(field, 0..8).prop_map(|f| f.concat())
}

proptest! {
    /// Random field numbers and wire types, including repeats, unknown fields and groups:
    /// whatever prost accepts, the walk counted at least what it built.
    #[test]
    fn random_wire_data_never_undercounts(body in wire_fields()) {
        let est = estimate(&EXPORT_METRICS_SERVICE_REQUEST, &body, u64::MAX);
        if let Ok(req) = ExportMetricsServiceRequest::decode(body.as_slice()) {
            prop_assert!(est >= req.heap(), "{est} < {}", req.heap());
        }
        let est = estimate(&WRITE_REQUEST, &body, u64::MAX);
        if let Ok(req) = WriteRequestIn::decode(body.as_slice()) {
            prop_assert!(est >= req.heap(), "{est} < {}", req.heap());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), limit in prop_oneof![Just(0u64), Just(100), Just(u64::MAX)]) {
        let _ = estimate(&WRITE_REQUEST, &body, limit);
        let _ = estimate(&EXPORT_METRICS_SERVICE_REQUEST, &body, limit);
    }

    /// Whatever prost accepts after random edits, the walk counted at least what it built.
    #[test]
    fn mutated_bodies_never_undercount(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in proptest::option::of(0usize..2000),
    ) {
        let otlp = mutate(every_field_otlp().encode_to_vec(), &edits, cut);
        let est = estimate(&EXPORT_METRICS_SERVICE_REQUEST, &otlp, u64::MAX);
        if let Ok(req) = ExportMetricsServiceRequest::decode(otlp.as_slice()) {
            prop_assert!(est >= req.heap(), "{est} < {}", req.heap());
        }
        let mut batch = realistic_remote_write(3);
        batch.series.truncate(2);
        let mut proto = remote_write::to_proto(&batch);
        if let Some(ts) = proto.timeseries.first_mut() {
            ts.exemplars.push(rw::Exemplar { labels: vec![rw::Label { name: "a".into(), value: "b".into() }], value: 1.0, timestamp: 2 });
            ts.histograms.push(rw::Histogram { positive_counts: vec![1.0, 2.0], ..Default::default() });
        }
        let raw = mutate(proto.encode_to_vec(), &edits, cut);
        let est = estimate(&WRITE_REQUEST, &raw, u64::MAX);
        if let Ok(req) = WriteRequestIn::decode(raw.as_slice()) {
            prop_assert!(est >= req.heap(), "{est} < {}", req.heap());
        }
    }
}
