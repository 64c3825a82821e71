//! The walk over OTLP logs requests (`ExportLogsServiceRequest`, read by `crate::ml`): the
//! attack refused as for metrics, honest bodies far below the budget, never an undercount.

use std::mem::size_of;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as AV, AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use proptest::prelude::*;
use prost::Message as _;

use super::super::{budget, estimate, EXPORT_LOGS_SERVICE_REQUEST};
use super::{kv, mutate, s, wire_fields, wrap, Heap, T_NS};
use crate::ml::{decode_otlp_logs, MlDecodeLimits};
use crate::CodecError;

/// ML prediction events as an SDK logs them: a service resource naming the model, one scope,
/// a record per prediction with an id, the outcome, a score and a dozen features.
fn realistic_logs(records: usize) -> ExportLogsServiceRequest {
    let record = |i: usize| LogRecord {
        time_unix_nano: T_NS + i as u64,
        observed_time_unix_nano: T_NS + i as u64,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(AnyValue {
            value: Some(AV::StringValue("prediction".into())),
        }),
        attributes: [
            s("ml.prediction_id", &format!("pred-{i:08}")),
            s(
                "ml.prediction",
                if i.is_multiple_of(17) { "fraud" } else { "ok" },
            ),
            kv("ml.score", AV::DoubleValue(i as f64 / 1e4)),
            kv("ml.probability.fraud", AV::DoubleValue(0.25)),
            kv("ml.probability.ok", AV::DoubleValue(0.75)),
            kv("ml.feature.amount", AV::DoubleValue(i as f64 * 1.5)),
            kv("ml.feature.age_days", AV::IntValue((i % 3650) as i64)),
            kv("ml.feature.hour", AV::IntValue((i % 24) as i64)),
            s("ml.feature.country", ["DE", "FR", "US"][i % 3]),
            s("ml.feature.channel", ["web", "ios", "android"][i % 3]),
            kv("ml.feature.new_user", AV::BoolValue(i.is_multiple_of(2))),
            s("ml.feature.merchant", &format!("m-{}", i % 997)),
        ]
        .into(),
        trace_id: vec![7; 16],
        span_id: vec![9; 8],
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    s("service.name", "scoring"),
                    s("ml.model", "fraud-detector"),
                    s("ml.version", "2026.11.3"),
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "ml-logger".into(),
                    version: "1".into(),
                    ..Default::default()
                }),
                log_records: (0..records).map(record).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Every kind of field the walk knows for logs, at least once.
fn every_field_logs() -> ExportLogsServiceRequest {
    let nested = kv(
        "nested",
        AV::KvlistValue(KeyValueList {
            values: vec![kv(
                "list",
                AV::ArrayValue(ArrayValue {
                    values: vec![AnyValue {
                        value: Some(AV::BytesValue(vec![1, 2, 3])),
                    }],
                }),
            )],
        }),
    );
    let mut req = realistic_logs(2);
    let Some(rl) = req.resource_logs.first_mut() else {
        return req;
    };
    rl.schema_url = "https://opentelemetry.io/schemas/1.26.0".into();
    if let Some(r) = rl.resource.as_mut() {
        r.entity_refs.push(EntityRef {
            schema_url: "u".into(),
            r#type: "service".into(),
            id_keys: vec!["service.name".into()],
            description_keys: vec!["host.name".into()],
        });
    }
    rl.scope_logs.push(ScopeLogs {
        scope: Some(InstrumentationScope {
            name: "s".into(),
            version: "1".into(),
            attributes: vec![nested.clone()],
            dropped_attributes_count: 0,
        }),
        log_records: vec![LogRecord {
            body: Some(AnyValue {
                value: Some(AV::KvlistValue(KeyValueList {
                    values: vec![nested.clone()],
                })),
            }),
            attributes: vec![nested],
            event_name: "ml.prediction".into(),
            ..Default::default()
        }],
        schema_url: "x".into(),
    });
    req
}

#[test]
fn otlp_logs_of_empty_log_records_is_refused() {
    // 1 Mi empty `LogRecord`s (`12 00` in a `ScopeLogs`): 2 bytes each on the wire, a
    // `LogRecord` each once decoded.
    let records = [0x12, 0x00].repeat(1 << 20);
    let body = wrap(0x0a, &wrap(0x12, &records));
    assert!(
        estimate(&EXPORT_LOGS_SERVICE_REQUEST, &body, u64::MAX)
            >= (1 << 20) * size_of::<LogRecord>() as u64
    );
    let e = decode_otlp_logs(&body, false, &MlDecodeLimits::default()).expect_err("refused");
    let CodecError::TooLarge { what, size, limit } = &e else {
        panic!("{e}");
    };
    assert_eq!(*limit, budget(body.len()));
    assert!(*size > *limit && *size < *limit + 1000, "{e}");
    assert!(
        what.starts_with("decoded OTLP logs protobuf request"),
        "{e}"
    );
    assert_eq!(e.kind(), vigil_model::ErrorKind::LimitExceeded);
    // A quarter of them fit the budget (the 64 MiB it allows on top) and decode, all ignored:
    // none names a model.
    let records = [0x12, 0x00].repeat(1 << 18);
    let body = wrap(0x0a, &wrap(0x12, &records));
    let d = decode_otlp_logs(&body, false, &MlDecodeLimits::default()).expect("within budget");
    assert_eq!(d.ignored, 1 << 18);
}

#[test]
fn realistic_logs_are_far_below_the_budget() {
    for records in [1, 100, 3000] {
        let raw = realistic_logs(records).encode_to_vec();
        let est = estimate(&EXPORT_LOGS_SERVICE_REQUEST, &raw, u64::MAX);
        let ratio = est as f64 / raw.len() as f64;
        assert!(ratio < 6.0, "OTLP logs {records} records: {ratio:.2}×");
        let d = decode_otlp_logs(&raw, false, &MlDecodeLimits::default()).expect("decodes");
        assert_eq!((d.events.len(), d.errors.len()), (records, 0));
    }
}

#[test]
fn logs_estimate_is_what_prost_builds() {
    let req = every_field_logs();
    assert_eq!(
        estimate(&EXPORT_LOGS_SERVICE_REQUEST, &req.encode_to_vec(), u64::MAX),
        req.heap(),
        "every field counted once"
    );
}

proptest! {
    /// Whatever prost accepts, the walk counted at least what it built.
    #[test]
    fn random_wire_data_never_undercounts_logs(body in wire_fields()) {
        let est = estimate(&EXPORT_LOGS_SERVICE_REQUEST, &body, u64::MAX);
        if let Ok(req) = ExportLogsServiceRequest::decode(body.as_slice()) {
            prop_assert!(est >= req.heap(), "{est} < {}", req.heap());
        }
    }

    #[test]
    fn mutated_logs_never_undercount(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in proptest::option::of(0usize..3000),
    ) {
        let body = mutate(every_field_logs().encode_to_vec(), &edits, cut);
        let est = estimate(&EXPORT_LOGS_SERVICE_REQUEST, &body, u64::MAX);
        if let Ok(req) = ExportLogsServiceRequest::decode(body.as_slice()) {
            prop_assert!(est >= req.heap(), "{est} < {}", req.heap());
        }
    }
}
