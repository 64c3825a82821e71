//! Arbitrary bytes through the OTLP metrics decoder, as protobuf and as OTLP/JSON; whatever
//! decodes must yield label sets that pass the model's validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_codec::otlp;

fuzz_target!(|body: &[u8]| {
    for json in [false, true] {
        if let Ok(decoded) = otlp::decode(body, json) {
            for s in &decoded.batch.series {
                s.labels.validate().expect("converted series are valid");
            }
        }
    }
});
