//! Wire-level tests: invalid bodies, OTLP/JSON against protobuf, and property tests that no
//! input panics the decoder.

use super::*;

#[test]
fn invalid_bodies_are_decode_errors() {
    for (body, json) in [
        (&b"\xff\xff\xff"[..], false),
        (&b"\x0a\x05\x0a"[..], false),
        (&b"not json"[..], true),
        (&br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"asInt":"x"}]}}]}]}]}"#[..], true),
    ] {
        match decode(body, json) {
            Err(e @ CodecError::Decode { protocol: "otlp", .. }) => {
                assert_eq!(e.kind(), vigil_model::ErrorKind::InvalidInput);
            }
            other => panic!("{body:?}: {other:?}"),
        }
    }
    let e = decode(
        br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"asInt":"x"}]}}]}]}]}"#,
        true,
    )
    .expect_err("bad int");
    assert_eq!(
        e.to_string(),
        "otlp: cannot decode body: resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].asInt: \
         expected a 64-bit integer (number or decimal string), got \"x\""
    );
    // An empty protobuf body is a valid, empty request.
    assert_eq!(decode(b"", false).expect("empty"), Decoded::default());
}

/// The OTLP/JSON text an exporter sends (64-bit integers as strings, enums as integers), and the
/// same request built with the prost types.
const JSON_BODY: &str = r#"{
  "resourceMetrics": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "checkout"}},
      {"key": "service.instance.id", "value": {"stringValue": "i-1"}},
      {"key": "host.name", "value": {"stringValue": "node-a"}}
    ]},
    "scopeMetrics": [{
      "scope": {"name": "io.opentelemetry.http", "version": "1.2.0"},
      "metrics": [
        {"name": "http.server.requests", "unit": "{request}", "description": "Requests served",
         "sum": {"aggregationTemporality": 2, "isMonotonic": true, "dataPoints": [
           {"attributes": [{"key": "http.method", "value": {"stringValue": "GET"}},
                           {"key": "http.status_code", "value": {"intValue": "200"}}],
            "startTimeUnixNano": "1700000000000000000", "timeUnixNano": "1700000060123456789",
            "asInt": "42"}]}},
        {"name": "queue.depth",
         "gauge": {"dataPoints": [{"timeUnixNano": "1700000060123456789", "asDouble": 3.5}]}},
        {"name": "http.server.duration", "unit": "ms",
         "histogram": {"aggregationTemporality": 2, "dataPoints": [
           {"timeUnixNano": "1700000060123456789", "count": "6", "sum": 123.5,
            "bucketCounts": ["1", "2", "3"], "explicitBounds": [5, 10]}]}},
        {"name": "rpc.latency", "unit": "s",
         "summary": {"dataPoints": [{"timeUnixNano": "1700000060123456789", "count": "10", "sum": 2.5,
           "quantileValues": [{"quantile": 0.5, "value": 0.2}, {"quantile": 0.99, "value": 0.9}]}]}},
        {"name": "batch.size",
         "sum": {"aggregationTemporality": 1, "isMonotonic": true,
                 "dataPoints": [{"timeUnixNano": "1700000060123456789", "asInt": "5"}]}}
      ]
    }]
  }]
}"#;

fn json_body_as_prost() -> ExportMetricsServiceRequest {
    let mut requests = metric(
        "http.server.requests",
        "{request}",
        sum(
            true,
            CUMULATIVE,
            vec![NumberDataPoint {
                attributes: vec![
                    s("http.method", "GET"),
                    kv("http.status_code", AV::IntValue(200)),
                ],
                start_time_unix_nano: 1_700_000_000_000_000_000,
                time_unix_nano: T_NS,
                value: Some(NV::AsInt(42)),
                ..Default::default()
            }],
        ),
    );
    requests.description = "Requests served".into();
    let at = |v: NV| NumberDataPoint {
        time_unix_nano: T_NS,
        value: Some(v),
        ..Default::default()
    };
    request(
        vec![
            s("service.name", "checkout"),
            s("service.instance.id", "i-1"),
            s("host.name", "node-a"),
        ],
        Some(InstrumentationScope {
            name: "io.opentelemetry.http".into(),
            version: "1.2.0".into(),
            ..Default::default()
        }),
        vec![
            requests,
            metric("queue.depth", "", gauge(vec![at(NV::AsDouble(3.5))])),
            metric(
                "http.server.duration",
                "ms",
                histogram(
                    CUMULATIVE,
                    vec![HistogramDataPoint {
                        time_unix_nano: T_NS,
                        count: 6,
                        sum: Some(123.5),
                        bucket_counts: vec![1, 2, 3],
                        explicit_bounds: vec![5.0, 10.0],
                        ..Default::default()
                    }],
                ),
            ),
            rpc_latency_summary(),
            metric("batch.size", "", sum(true, DELTA, vec![at(NV::AsInt(5))])),
        ],
    )
}

#[test]
fn otlp_json_matches_protobuf() {
    let from_json = decode(JSON_BODY.as_bytes(), true).expect("json decodes");
    let from_pb = decode_pb(&json_body_as_prost());
    assert_eq!(dump(&from_json), dump(&from_pb));
    assert_eq!(from_json.batch.metadata, from_pb.batch.metadata);
    assert_eq!(from_json.rejected_points, from_pb.rejected_points);
    assert_eq!(from_json.rejection_message, from_pb.rejection_message);

    let common = r#"instance="i-1", job="checkout""#;
    let scope = r#"otel_scope_name="io.opentelemetry.http", otel_scope_version="1.2.0""#;
    assert_eq!(
        dump(&from_json),
        lines(&[
            &format!(
                r#"http_server_requests_total{{http_method="GET", http_status_code="200", {common}, {scope}}} {T_MS} 42"#
            ),
            &format!("queue_depth{{{common}, {scope}}} {T_MS} 3.5"),
            &format!(
                r#"http_server_duration_milliseconds_bucket{{{common}, le="5", {scope}}} {T_MS} 1"#
            ),
            &format!(
                r#"http_server_duration_milliseconds_bucket{{{common}, le="10", {scope}}} {T_MS} 3"#
            ),
            &format!(
                r#"http_server_duration_milliseconds_bucket{{{common}, le="+Inf", {scope}}} {T_MS} 6"#
            ),
            &format!("http_server_duration_milliseconds_sum{{{common}, {scope}}} {T_MS} 123.5"),
            &format!("http_server_duration_milliseconds_count{{{common}, {scope}}} {T_MS} 6"),
            &format!(r#"rpc_latency_seconds{{{common}, {scope}, quantile="0.5"}} {T_MS} 0.2"#),
            &format!(r#"rpc_latency_seconds{{{common}, {scope}, quantile="0.99"}} {T_MS} 0.9"#),
            &format!("rpc_latency_seconds_sum{{{common}, {scope}}} {T_MS} 2.5"),
            &format!("rpc_latency_seconds_count{{{common}, {scope}}} {T_MS} 10"),
            &format!(r#"target_info{{host_name="node-a", {common}}} {T_MS} 1"#),
        ])
    );
    assert_eq!(
        from_json.batch.metadata,
        [
            meta(
                "http_server_requests_total",
                MetricType::Counter,
                "Requests served",
                ""
            ),
            meta("queue_depth", MetricType::Gauge, "", ""),
            meta(
                "http_server_duration_milliseconds",
                MetricType::Histogram,
                "",
                "milliseconds"
            ),
            meta("rpc_latency_seconds", MetricType::Summary, "", "seconds"),
            meta("target_info", MetricType::Gauge, "Target metadata", ""),
        ]
    );
    assert_eq!(from_json.rejected_points, 1);
    assert_eq!(
        from_json.rejection_message.as_deref(),
        Some("metric \"batch.size\": delta temporality is not supported; set the exporter's temporality preference to cumulative")
    );
}

#[test]
fn json_nan_values_are_kept() {
    // Go's OTLP/JSON encoders write NaN as a string; the crate's serde derive would lose it.
    let body = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[
        {"timeUnixNano":"1700000060123456789","asDouble":"NaN"}]}}]}]}]}"#;
    let d = decode(body.as_bytes(), true).expect("decodes");
    let v = d
        .batch
        .series
        .first()
        .and_then(|s| s.samples.first())
        .map(|x| x.v);
    assert!(v.is_some_and(|v| v.is_nan() && !is_stale_nan(v)), "{v:?}");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), json in any::<bool>()) {
        let _ = decode(&body, json);
    }

    #[test]
    fn arbitrary_json_like_text_never_panics(body in r#"[{}\[\]":,0-9a-zA-Z. -]{0,200}"#) {
        let _ = decode(body.as_bytes(), true);
    }

    /// Whatever names, units and keys an exporter sends, every series produced is a valid
    /// Prometheus label set and every point is either stored or counted as rejected.
    #[test]
    fn any_names_give_valid_series(
        name in r"[a-zA-Z0-9._:/ {}\-é]{0,12}",
        unit in r"[a-zA-Z0-9/{}%._]{0,6}",
        keys in proptest::collection::vec(r"[a-z0-9._\- é]{0,8}", 0..4),
        kind in 0u8..4,
    ) {
        let attrs: Vec<KeyValue> = keys.iter().map(|k| s(k, "v")).collect();
        let data = match kind {
            0 => gauge(vec![number(attrs, NV::AsInt(1))]),
            1 => sum(true, CUMULATIVE, vec![number(attrs, NV::AsDouble(2.0))]),
            2 => histogram(CUMULATIVE, vec![HistogramDataPoint { attributes: attrs, ..histogram_point(vec![1.0], vec![0, 1], 1, Some(1.0)) }]),
            _ => Data::Summary(Summary { data_points: vec![SummaryDataPoint {
                attributes: attrs,
                time_unix_nano: T_NS,
                quantile_values: vec![ValueAtQuantile { quantile: 0.5, value: 1.0 }],
                ..Default::default()
            }] }),
        };
        let d = decode_pb(&request(vec![s("service.name", "svc"), s(&name, "r")], None, vec![metric(&name, &unit, data)]));
        for series in &d.batch.series {
            prop_assert!(series.labels.validate().is_ok(), "{}", series.labels);
        }
        prop_assert!(d.batch.series.is_empty() != (d.rejected_points == 0), "{:?}", d);
    }
}
