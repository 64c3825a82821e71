//! Unit tests of the remote_write decoder and encoder.

use prost::Message;
use vigil_model::{is_stale_nan, Batch, MetricMetadata, MetricType, Sample, STALE_NAN};

use super::proto::{self, histogram};
use super::{decode, decode_uncompressed, encode};
use crate::{CodecError, DecodeLimits};

fn label(n: &str, v: &str) -> proto::Label {
    proto::Label {
        name: n.to_owned(),
        value: v.to_owned(),
    }
}

fn series(labels: Vec<proto::Label>, samples: &[(i64, f64)]) -> proto::TimeSeries {
    proto::TimeSeries {
        labels,
        samples: samples
            .iter()
            .map(|&(timestamp, value)| proto::Sample { value, timestamp })
            .collect(),
        exemplars: Vec::new(),
        histograms: Vec::new(),
    }
}

fn body(req: &proto::WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .expect("compress")
}

fn request(ts: Vec<proto::TimeSeries>) -> proto::WriteRequest {
    proto::WriteRequest {
        timeseries: ts,
        metadata: Vec::new(),
    }
}

fn decode_err(req: &proto::WriteRequest) -> String {
    decode(&body(req), &DecodeLimits::default())
        .expect_err("invalid")
        .to_string()
}

#[test]
fn decodes_sorts_and_drops_empty_values() {
    let mut ts = series(
        vec![
            label("job", "a"),
            label("__name__", "up"),
            label("empty", ""),
            label("instance", "x:1"),
        ],
        &[(1000, 1.0), (2000, f64::NAN), (3000, STALE_NAN)],
    );
    ts.exemplars.push(proto::Exemplar {
        labels: vec![label("trace_id", "abc")],
        value: 1.0,
        timestamp: 1000,
    });
    let mut req = request(vec![ts]);
    req.metadata.push(proto::MetricMetadata {
        r#type: proto::MetricTypeProto::Gaugehistogram as i32,
        metric_family_name: "up".to_owned(),
        help: "help".to_owned(),
        unit: "s".to_owned(),
    });
    req.metadata.push(proto::MetricMetadata {
        r#type: 42,
        metric_family_name: "x".to_owned(),
        help: String::new(),
        unit: String::new(),
    });
    let b = decode(&body(&req), &DecodeLimits::default()).expect("decodes");
    assert_eq!(b.series.len(), 1);
    let s = &b.series[0];
    assert_eq!(s.labels.to_string(), r#"up{instance="x:1", job="a"}"#);
    assert_eq!(s.samples.len(), 3);
    assert_eq!(s.samples[0], Sample::new(1000, 1.0));
    assert!(s.samples[1].v.is_nan());
    assert!(
        is_stale_nan(s.samples[2].v),
        "stale markers pass through bit-exact"
    );
    assert_eq!(
        b.metadata,
        [
            MetricMetadata {
                metric_family: "up".to_owned(),
                metric_type: MetricType::GaugeHistogram,
                help: "help".to_owned(),
                unit: "s".to_owned(),
            },
            MetricMetadata {
                metric_family: "x".to_owned(),
                metric_type: MetricType::Unknown,
                help: String::new(),
                unit: String::new(),
            }
        ]
    );
}

#[test]
fn every_metadata_type_maps_both_ways() {
    let types = [
        MetricType::Unknown,
        MetricType::Counter,
        MetricType::Gauge,
        MetricType::Histogram,
        MetricType::GaugeHistogram,
        MetricType::Summary,
        MetricType::Info,
        MetricType::StateSet,
    ];
    let batch = Batch {
        series: Vec::new(),
        metadata: types
            .iter()
            .map(|&t| MetricMetadata {
                metric_family: t.as_str().to_owned(),
                metric_type: t,
                help: String::new(),
                unit: String::new(),
            })
            .collect(),
    };
    let back = decode(&encode(&batch), &DecodeLimits::default()).expect("decodes");
    assert_eq!(back, batch);
}

#[test]
fn rejects_invalid_series_naming_them() {
    assert_eq!(
        decode_err(&request(vec![series(
            vec![label("__name__", "up"), label("1abc", "x")],
            &[(1, 1.0)]
        )])),
        r#"remote_write: series up{1abc="x"}: label name "1abc" must match [a-zA-Z_][a-zA-Z0-9_]*"#
    );
    assert_eq!(
        decode_err(&request(vec![series(
            vec![label("__name__", "1up")],
            &[(1, 1.0)]
        )])),
        r#"remote_write: series 1up{}: metric name "1up" must match [a-zA-Z_:][a-zA-Z0-9_:]*"#
    );
    assert_eq!(
        decode_err(&request(vec![series(
            vec![label("__name__", "up"), label("a", "1"), label("a", "2")],
            &[(1, 1.0)]
        )])),
        r#"remote_write: series up{a="1", a="2"}: duplicate label name "a""#
    );
    assert_eq!(
        decode_err(&request(vec![series(vec![label("job", "x")], &[(1, 1.0)])])),
        r#"remote_write: series {job="x"}: series has no metric name (__name__ label)"#
    );
    assert!(decode_err(&request(vec![series(
        vec![label("__name__", "up"), label("", "x")],
        &[]
    )]))
    .contains(r#"label name "" must match"#));
}

#[test]
fn rejects_native_histograms() {
    let mut ts = series(vec![label("__name__", "h")], &[]);
    ts.histograms.push(proto::Histogram {
        count: Some(histogram::Count::CountInt(3)),
        sum: 1.5,
        schema: 3,
        zero_threshold: 1e-128,
        zero_count: Some(histogram::ZeroCount::ZeroCountInt(1)),
        negative_spans: Vec::new(),
        negative_deltas: Vec::new(),
        negative_counts: Vec::new(),
        positive_spans: vec![proto::BucketSpan {
            offset: 0,
            length: 2,
        }],
        positive_deltas: vec![1, 0],
        positive_counts: Vec::new(),
        reset_hint: histogram::ResetHint::No as i32,
        timestamp: 1000,
    });
    let e = decode(&body(&request(vec![ts])), &DecodeLimits::default()).expect_err("histogram");
    assert!(matches!(e, CodecError::Invalid { .. }));
    assert_eq!(
        e.to_string(),
        "remote_write: series h{}: native histograms are not supported"
    );
}

#[test]
fn series_without_samples_are_skipped() {
    let b = decode(
        &body(&request(vec![
            series(vec![label("__name__", "a")], &[]),
            series(vec![label("__name__", "b")], &[(5, 2.0)]),
        ])),
        &DecodeLimits::default(),
    )
    .expect("ok");
    assert_eq!(b.series.len(), 1);
    assert_eq!(b.sample_count(), 1);
}

#[test]
fn limits_and_corruption() {
    let req = request(vec![series(vec![label("__name__", "a")], &[(1, 1.0)])]);
    let b = body(&req);
    let raw_len = req.encoded_len() as u64;
    let small = DecodeLimits {
        max_body_bytes: b.len() as u64 - 1,
        max_decompressed_bytes: 1 << 20,
    };
    assert!(matches!(
        decode(&b, &small),
        Err(CodecError::TooLarge {
            what: "remote_write body",
            ..
        })
    ));
    let small = DecodeLimits {
        max_body_bytes: 1 << 20,
        max_decompressed_bytes: raw_len - 1,
    };
    assert!(matches!(
        decode(&b, &small),
        Err(CodecError::TooLarge { .. })
    ));
    assert!(matches!(
        decode(b"\x05garbage", &DecodeLimits::default()),
        Err(CodecError::Decompress { .. })
    ));
    let not_proto = snap::raw::Encoder::new()
        .compress_vec(b"\xff\xff\xff")
        .expect("c");
    let e = decode(&not_proto, &DecodeLimits::default()).expect_err("bad proto");
    assert!(
        matches!(
            e,
            CodecError::Decode {
                protocol: "remote_write",
                ..
            }
        ),
        "{e}"
    );
    // Invalid UTF-8 in a label is a decode error (proto3 strings are UTF-8).
    let mut raw = request(vec![series(vec![label("__name__", "ab")], &[(1, 1.0)])]).encode_to_vec();
    let at = raw.windows(2).position(|w| w == b"ab").expect("name bytes");
    raw[at] = 0xff;
    assert!(matches!(
        decode_uncompressed(&raw),
        Err(CodecError::Decode { .. })
    ));
}

#[test]
fn round_trip() {
    let mut batch = Batch::new();
    batch.push(
        vigil_model::Labels::from_pairs([("__name__", "m"), ("a", "x\"y\\z\n")]).expect("labels"),
        Sample::new(-5, f64::INFINITY),
    );
    batch.series[0].samples.push(Sample::new(7, -0.0));
    batch.metadata.push(MetricMetadata {
        metric_family: "m".to_owned(),
        metric_type: MetricType::Counter,
        help: "h".to_owned(),
        unit: String::new(),
    });
    let back = decode(&encode(&batch), &DecodeLimits::default()).expect("ok");
    // proto3 does not write a field equal to its default and -0.0 == 0.0, so the sign of a
    // negative zero is lost on the wire (Prometheus's gogo-protobuf encoder does the same).
    batch.series[0].samples[1] = Sample::new(7, 0.0);
    assert_eq!(back, batch);
}
