//! Arbitrary bytes through the ML event decoders: prediction and label bodies (JSON array or
//! JSON lines) and OTLP logs as protobuf and OTLP/JSON; every error must name a line of the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_codec::ml::{self, MlDecodeLimits};

fuzz_target!(|body: &[u8]| {
    let limits = MlDecodeLimits::default();
    let lines = body.split(|&b| b == b'\n').count();
    let predictions = ml::decode_predictions(body, &limits);
    let labels = ml::decode_labels(body, &limits);
    for e in predictions.errors.iter().chain(&labels.errors) {
        assert!(e.line >= 1 && e.line <= lines && e.index >= 1, "{e:?}");
    }
    let _ = ml::decode_otlp_logs(body, false, &limits);
    let _ = ml::decode_otlp_logs(body, true, &limits);
});
