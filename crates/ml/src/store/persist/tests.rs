//! Property tests of the decoders: arbitrary bytes as an event record, a snapshot record or a
//! reference file are an error or a value, never a panic; and mutations of valid records too.

use proptest::prelude::*;

use super::bytes::{put_str, Dec};
use super::events::{decode_event, record_type, RecordBuf, FORMAT, T_PREDICTIONS};
use super::reference;
use super::snapshot::{is_snapshot_type, SnapshotReader, T_HEADER, T_MODEL};
use crate::config::MlConfig;
use vigil_model::ml::{FeatureValue, Outcome, PredictionEvent};

/// Decodes `data` as whatever its header says; snapshot records after a header and a model, so
/// that versions, buckets and pending records have something to attach to.
fn decode_any(data: &[u8]) -> Result<(), String> {
    let config = MlConfig::default();
    let (ty, d) = record_type(data).map_err(|e| e.to_string())?;
    if is_snapshot_type(ty) {
        let mut s = SnapshotReader::new(&config);
        if ty != T_HEADER {
            s.apply(T_HEADER, Dec::new(&[0, 0]))
                .map_err(|e| e.to_string())?;
            let mut model = Vec::new();
            put_str(&mut model, "m");
            model.extend_from_slice(&[0, 0, 0, 0]);
            s.apply(T_MODEL, Dec::new(&model))
                .map_err(|e| e.to_string())?;
        }
        s.apply(ty, d).map_err(|e| e.to_string())?;
        return s.finish().map(|_| ());
    }
    match decode_event(ty, d) {
        None => Err(format!("unknown type {ty}")),
        Some(r) => r.map(|_| ()).map_err(|e| e.to_string()),
    }
}

fn valid_predictions() -> Vec<u8> {
    let e = PredictionEvent {
        model: "m".into(),
        version: "v".into(),
        id: Some("1".into()),
        timestamp_ms: Some(5),
        features: vec![
            ("a".into(), FeatureValue::Number(1.5)),
            ("b".into(), FeatureValue::Text("x".into())),
        ],
        prediction: Outcome::Class("1".into()),
        score: Some(0.5),
        probabilities: vec![("1".into(), 0.5)],
        label: None,
    };
    let mut buf = RecordBuf::default();
    buf.begin(T_PREDICTIONS, 7);
    let mut prev = None;
    buf.push_prediction(&e, &mut prev);
    buf.push_prediction(&e, &mut prev);
    buf.records().concat()
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_any(&data);
        let _ = reference::decode(&data);
    }

    #[test]
    fn arbitrary_bodies_of_every_type_never_panic(
        ty in 0u8..24,
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut data = vec![FORMAT, ty];
        data.extend_from_slice(&body);
        let _ = decode_any(&data);
    }

    #[test]
    fn mutated_records_never_panic(at in 0usize..64, byte in any::<u8>(), cut in 0usize..64) {
        let mut data = valid_predictions();
        if let Some(b) = data.get_mut(at) {
            *b = byte;
        }
        data.truncate(data.len().saturating_sub(cut));
        let _ = decode_any(&data);
    }
}

#[test]
fn the_valid_record_decodes() {
    assert_eq!(decode_any(&valid_predictions()), Ok(()));
}
