//! Arbitrary bytes through the OpenMetrics parser, strict and Prometheus-compatible.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_codec::exposition::{parse, parse_with, Format, Validation};

fuzz_target!(|body: &[u8]| {
    let strict = parse(body, Format::OpenMetrics);
    let lenient = parse_with(body, Format::OpenMetrics, Validation::Prometheus);
    // Strict validation only adds rules: what it accepts, the lenient mode accepts alike.
    if let Ok(s) = strict {
        let l = lenient.expect("Prometheus mode accepts what strict mode accepts");
        assert_eq!(s.samples.len(), l.samples.len());
        assert_eq!(s.metadata, l.metadata);
    }
});
