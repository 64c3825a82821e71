//! Property tests for every codec: arbitrary bytes never panic; generated series survive a
//! render → parse (both text formats) and an encode → decode (remote_write) round trip.

use std::collections::BTreeMap;
use std::fmt::Write;

use proptest::prelude::*;
use vigil_codec::exposition::{parse, parse_with, Format, Validation, NORMAL_NAN_BITS};
use vigil_codec::{decompress, remote_write, DecodeLimits};
use vigil_model::{Batch, Labels, MetricType, Sample, SeriesSamples};

fn small_limits() -> DecodeLimits {
    DecodeLimits {
        max_body_bytes: 1 << 20,
        max_decompressed_bytes: 1 << 20,
    }
}

/// Bytes drawn mostly from the characters the text formats care about, so that random input
/// gets past the first token.
fn texty_bytes() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        "a",
        "_b",
        "c:d",
        "{",
        "}",
        "=",
        "\"",
        ",",
        " ",
        "\t",
        "\n",
        "\\",
        "#",
        "# ",
        "HELP ",
        "TYPE ",
        "UNIT ",
        "EOF",
        "# EOF\n",
        "counter",
        "gauge",
        "histogram",
        "summary",
        "info",
        "stateset",
        "gaugehistogram",
        "unknown",
        "untyped",
        "_total",
        "_bucket",
        "_count",
        "_sum",
        "_created",
        "_gsum",
        "_gcount",
        "le",
        "quantile",
        "+Inf",
        "-Inf",
        "NaN",
        "0",
        "1",
        "-1",
        "1.5",
        "1e3",
        ".",
        "e",
        "\r",
        "\u{0}",
        "é",
        "\u{ff}",
        "☃",
    ]);
    prop::collection::vec(pieces, 0..64).prop_map(|v| v.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn exposition_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&body, Format::PrometheusText);
        let _ = parse(&body, Format::OpenMetrics);
        let _ = parse_with(&body, Format::OpenMetrics, Validation::Prometheus);
    }

    #[test]
    fn exposition_never_panics_on_texty_bytes(body in texty_bytes()) {
        for f in [Format::PrometheusText, Format::OpenMetrics] {
            if let Err(e) = parse(&body, f) {
                prop_assert!(e.line >= 1 && e.column >= 1);
            }
        }
        let _ = parse_with(&body, Format::OpenMetrics, Validation::Prometheus);
    }

    #[test]
    fn remote_write_and_decompressors_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = remote_write::decode(&body, &small_limits());
        let _ = remote_write::decode_uncompressed(&body);
        let _ = decompress::snappy_block(&body, 1 << 16);
        let _ = decompress::gzip(&body, 1 << 16);
        let _ = decompress::decode_content_encoding(&body, Some("gzip"), 1 << 16);
    }

    #[test]
    fn remote_write_never_panics_on_valid_snappy(raw in prop::collection::vec(any::<u8>(), 0..512)) {
        let body = snap::raw::Encoder::new().compress_vec(&raw).expect("compress");
        let _ = remote_write::decode(&body, &small_limits());
    }

    #[test]
    fn text_format_round_trip(series in gen_series(), help in "\\PC{0,20}") {
        let mut body = String::new();
        let _ = writeln!(body, "# HELP fam {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
        let _ = writeln!(body, "# TYPE fam gauge");
        for s in &series {
            render(&mut body, s, false);
        }
        let e = parse(body.as_bytes(), Format::PrometheusText)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{body}")))?;
        check_samples(&e.samples, &series, false)?;
        let want_help = if help.chars().all(|c| c == ' ' || c == '\t') { String::new() } else { help };
        prop_assert_eq!(&e.metadata[0].help, &want_help);
        prop_assert_eq!(e.metadata[0].metric_type, MetricType::Gauge);
    }

    #[test]
    fn openmetrics_round_trip(series in gen_series(), help in "\\PC{0,20}") {
        let mut body = String::new();
        let _ = writeln!(
            body,
            "# HELP fam {}",
            help.replace('\\', "\\\\").replace('\n', "\\n").replace('"', "\\\"")
        );
        for (i, s) in series.iter().enumerate() {
            // One gauge family per series: strict grouping rules then hold by construction.
            let _ = writeln!(body, "# TYPE {}_{i} gauge", s.name);
            render(&mut body, &GenSeries { name: format!("{}_{i}", s.name), ..s.clone() }, true);
        }
        body.push_str("# EOF\n");
        let e = parse(body.as_bytes(), Format::OpenMetrics)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{body}")))?;
        let renamed: Vec<GenSeries> = series
            .iter()
            .enumerate()
            .map(|(i, s)| GenSeries { name: format!("{}_{i}", s.name), ..s.clone() })
            .collect();
        check_samples(&e.samples, &renamed, true)?;
        prop_assert_eq!(&e.metadata[0].help, &help);
    }

    #[test]
    fn remote_write_round_trip(series in gen_series()) {
        let mut batch = Batch::new();
        for s in &series {
            let labels = s.labels();
            let t = s.ts_ms.unwrap_or(0);
            batch.series.push(SeriesSamples {
                labels,
                samples: vec![Sample::new(t, s.value), Sample::new(t.wrapping_add(1), -s.value)],
            });
        }
        let back = remote_write::decode(&remote_write::encode(&batch), &small_limits())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        // proto3 drops default values, so -0.0 comes back as 0.0.
        for s in &mut batch.series {
            for x in &mut s.samples {
                if x.v == 0.0 {
                    x.v = 0.0;
                }
            }
        }
        prop_assert_eq!(back, batch);
    }
}

#[derive(Debug, Clone)]
struct GenSeries {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
    ts_ms: Option<i64>,
}

impl GenSeries {
    fn labels(&self) -> Labels {
        Labels::from_pairs(
            std::iter::once(("__name__".to_owned(), self.name.clone()))
                .chain(self.labels.iter().map(|(k, v)| (k.clone(), v.clone()))),
        )
        .expect("unique names")
    }
}

fn gen_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        (-1_000_000i64..1_000_000).prop_map(|i| i as f64),
    ]
}

fn gen_series() -> impl Strategy<Value = Vec<GenSeries>> {
    let one = (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,8}",
        prop::collection::btree_map(
            "[a-zA-Z_][a-zA-Z0-9_]{0,6}".prop_filter("not the name label", |n| n != "__name__"),
            prop_oneof![
                "\\PC{0,12}",
                "[\"\\\\\n\r\t ]{0,6}",
                Just(String::new()),
                any::<String>()
            ],
            0..5,
        ),
        gen_value(),
        prop::option::of(-4_000_000_000i64..4_000_000_000),
    )
        .prop_map(|(name, labels, value, ts)| GenSeries {
            name,
            labels,
            value,
            // Whole seconds, so OpenMetrics' float seconds convert back exactly.
            ts_ms: ts.map(|s| s * 1000),
        });
    prop::collection::vec(one, 1..6)
}

fn render(out: &mut String, s: &GenSeries, openmetrics: bool) {
    out.push_str(&s.name);
    out.push('{');
    for (i, (k, v)) in s.labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let esc = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(out, "{k}=\"{esc}\"");
    }
    out.push_str("} ");
    let v = s.value;
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v:e}");
    }
    if let Some(t) = s.ts_ms {
        if openmetrics {
            let _ = write!(out, " {}", t / 1000);
        } else if t >= 0 {
            let _ = write!(out, " {t}");
        }
    }
    out.push('\n');
}

fn check_samples(
    got: &[vigil_codec::exposition::ParsedSample],
    want: &[GenSeries],
    openmetrics: bool,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        let mut expect = w.labels.clone();
        expect.retain(|_, v| !v.is_empty());
        let wl = GenSeries {
            labels: expect,
            ..w.clone()
        }
        .labels();
        prop_assert_eq!(&g.labels, &wl);
        if w.value.is_nan() {
            prop_assert_eq!(g.value.to_bits(), NORMAL_NAN_BITS);
        } else {
            prop_assert_eq!(g.value.to_bits(), w.value.to_bits());
        }
        // The text format has no negative timestamps; the renderer leaves them out.
        let want_ts = match w.ts_ms {
            Some(t) if openmetrics || t >= 0 => Some(t),
            _ => None,
        };
        prop_assert_eq!(g.timestamp_ms, want_ts);
    }
    Ok(())
}
