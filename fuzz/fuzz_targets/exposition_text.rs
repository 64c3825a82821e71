//! Arbitrary bytes through the Prometheus text-format parser: an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_codec::exposition::{parse, Format};

fuzz_target!(|body: &[u8]| {
    if let Err(e) = parse(body, Format::PrometheusText) {
        assert!(e.line >= 1 && e.column >= 1);
    }
});
