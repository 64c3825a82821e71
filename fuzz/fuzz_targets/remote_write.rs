//! Arbitrary bytes through the remote_write decoder, both as a snappy body and as the raw
//! protobuf (so that the fuzzer reaches the protobuf and label rules without learning snappy).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_codec::{remote_write, DecodeLimits};

fuzz_target!(|body: &[u8]| {
    let limits = DecodeLimits {
        max_body_bytes: 1 << 20,
        max_decompressed_bytes: 4 << 20,
    };
    let _ = remote_write::decode(body, &limits);
    if let Ok(batch) = remote_write::decode_uncompressed(body) {
        // What decodes re-encodes and decodes to the same batch (up to -0.0 → 0.0).
        let again = remote_write::decode(&remote_write::encode(&batch), &limits)
            .expect("re-encoded batch decodes");
        assert_eq!(again.series.len(), batch.series.len());
        assert_eq!(again.metadata, batch.metadata);
    }
});
