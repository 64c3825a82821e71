//! The list of push protocols, and the one entry point the http crate calls for each.
//!
//! Owns: which protocols exist ([`Protocol::ALL`]), their stable names, and the decode pipeline
//! every one shares: compressed-size check → `Content-Encoding` → protocol decoder → [`Decoded`].
//! Adding a protocol is one module in this crate plus one variant and one match arm here; the
//! http crate mounts every listed protocol through the same generic handler.
//!
//! Does not own: routes, content negotiation of responses, status codes, or series limits.

use std::collections::HashMap;

use vigil_model::{Batch, Labels, Sample, SeriesSamples};

use crate::exposition::{self, Format};
use crate::{decompress, otlp, remote_write, CodecError};

/// Size limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted request body as received (compressed), bytes.
    pub max_body_bytes: u64,
    /// Largest body after decompression, bytes.
    pub max_decompressed_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_body_bytes: 32 << 20,
            max_decompressed_bytes: 256 << 20,
        }
    }
}

/// The push protocols Vigil accepts over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Prometheus remote_write 1.0: snappy block-compressed protobuf `WriteRequest`.
    RemoteWrite,
    /// OTLP/HTTP metrics, `application/x-protobuf`.
    OtlpProtobuf,
    /// OTLP/HTTP metrics, `application/json`.
    OtlpJson,
    /// Prometheus text format (or OpenMetrics) pushed for import.
    PrometheusText,
}

/// What the ingest handler passes to a decoder besides the body.
#[derive(Debug, Clone, Copy)]
pub struct DecodeContext<'a> {
    pub limits: DecodeLimits,
    /// `Content-Encoding` header, if any (`snappy`, `gzip`, `identity`).
    pub content_encoding: Option<&'a str>,
    /// `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// Timestamp for samples that carry none (text import), ms.
    pub now_ms: i64,
}

/// A decoded push body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub batch: vigil_model::Batch,
    /// Data points the decoder dropped while accepting the rest (OTLP partial success).
    pub rejected_points: u64,
    /// Why points were dropped, for the OTLP `partial_success.error_message`.
    pub rejection_message: Option<String>,
}

impl Protocol {
    /// Every protocol, in the order the http crate mounts them.
    pub const ALL: [Protocol; 4] = [
        Protocol::RemoteWrite,
        Protocol::OtlpProtobuf,
        Protocol::OtlpJson,
        Protocol::PrometheusText,
    ];

    /// A stable lowercase name, for logs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::RemoteWrite => "remote_write",
            Protocol::OtlpProtobuf => "otlp_protobuf",
            Protocol::OtlpJson => "otlp_json",
            Protocol::PrometheusText => "prometheus_text",
        }
    }

    /// The protocol with this [`Protocol::name`].
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Decodes one request body.
    ///
    /// The body must be at most `max_body_bytes`. remote_write is always snappy-block
    /// decompressed (that is the protocol's own framing; Prometheus sends it with
    /// `Content-Encoding: snappy`), whatever the header says; the others undo the
    /// `Content-Encoding` header (`identity`, `gzip`, `snappy`). Decompressed output is capped at
    /// `max_decompressed_bytes`. Text bodies are parsed as OpenMetrics when the Content-Type says
    /// so (strictly), else as the Prometheus text format; their samples without a timestamp get
    /// `now_ms`, and samples of one series are grouped into one [`SeriesSamples`].
    ///
    /// # Errors
    /// [`CodecError::TooLarge`] over a limit; otherwise whatever the protocol's decoder reports.
    pub fn decode(self, body: &[u8], ctx: &DecodeContext<'_>) -> Result<Decoded, CodecError> {
        let len = u64::try_from(body.len()).unwrap_or(u64::MAX);
        if len > ctx.limits.max_body_bytes {
            return Err(CodecError::TooLarge {
                what: "request body",
                size: len,
                limit: ctx.limits.max_body_bytes,
            });
        }
        match self {
            Protocol::RemoteWrite => Ok(Decoded {
                batch: remote_write::decode(body, &ctx.limits)?,
                ..Decoded::default()
            }),
            Protocol::OtlpProtobuf | Protocol::OtlpJson => {
                let raw = decompress::decode_content_encoding(
                    body,
                    ctx.content_encoding,
                    ctx.limits.max_decompressed_bytes,
                )?;
                otlp::decode(&raw, self == Protocol::OtlpJson)
            }
            Protocol::PrometheusText => {
                let raw = decompress::decode_content_encoding(
                    body,
                    ctx.content_encoding,
                    ctx.limits.max_decompressed_bytes,
                )?;
                let format = ctx
                    .content_type
                    .map_or(Format::PrometheusText, Format::from_content_type);
                let exp = exposition::parse_with(&raw, format, exposition::Validation::Prometheus)?;
                Ok(Decoded {
                    batch: exposition_to_batch(exp, ctx.now_ms),
                    ..Decoded::default()
                })
            }
        }
    }
}

/// Groups parsed samples by series (in order of first appearance); samples without a timestamp
/// get `now_ms`.
pub fn exposition_to_batch(exp: exposition::Exposition, now_ms: i64) -> Batch {
    let n = exp.samples.len();
    let mut group_of = Vec::with_capacity(n);
    let mut groups = 0usize;
    {
        let mut index: HashMap<&Labels, usize> = HashMap::with_capacity(n);
        for s in &exp.samples {
            let g = *index.entry(&s.labels).or_insert_with(|| {
                groups += 1;
                groups - 1
            });
            group_of.push(g);
        }
    }
    let mut series: Vec<Option<SeriesSamples>> = Vec::with_capacity(groups);
    series.resize_with(groups, || None);
    for (s, g) in exp.samples.into_iter().zip(group_of) {
        let sample = Sample::new(s.timestamp_ms.unwrap_or(now_ms), s.value);
        if let Some(slot) = series.get_mut(g) {
            match slot {
                Some(ss) => ss.samples.push(sample),
                None => {
                    *slot = Some(SeriesSamples {
                        labels: s.labels,
                        samples: vec![sample],
                    });
                }
            }
        }
    }
    Batch {
        series: series.into_iter().flatten().collect(),
        metadata: exp.metadata,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use vigil_model::MetricType;

    use super::*;

    fn ctx<'a>(enc: Option<&'a str>, ct: Option<&'a str>) -> DecodeContext<'a> {
        DecodeContext {
            limits: DecodeLimits::default(),
            content_encoding: enc,
            content_type: ct,
            now_ms: 5000,
        }
    }

    #[test]
    fn names_are_stable_and_unique() {
        let names: Vec<_> = Protocol::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(
            names,
            [
                "remote_write",
                "otlp_protobuf",
                "otlp_json",
                "prometheus_text"
            ]
        );
        for p in Protocol::ALL {
            assert_eq!(Protocol::from_name(p.name()), Some(p));
        }
        assert_eq!(Protocol::from_name("nope"), None);
    }

    #[test]
    fn body_limit_applies_before_anything() {
        let mut c = ctx(None, None);
        c.limits.max_body_bytes = 3;
        for p in Protocol::ALL {
            let e = p.decode(b"abcd", &c).expect_err("too large");
            assert_eq!(
                e.to_string(),
                "request body is 4 bytes, over the limit of 3 bytes"
            );
        }
    }

    #[test]
    fn text_import_groups_series_and_fills_timestamps() {
        let body = b"# TYPE a counter\na{x=\"1\"} 1\na{x=\"2\"} 2 100\na{x=\"1\"} 3 200\n";
        let d = Protocol::PrometheusText
            .decode(body, &ctx(None, Some("text/plain; version=0.0.4")))
            .expect("ok");
        let b = d.batch;
        assert_eq!(b.series.len(), 2);
        assert_eq!(
            b.series[0].samples,
            [Sample::new(5000, 1.0), Sample::new(200, 3.0)]
        );
        assert_eq!(b.series[1].samples, [Sample::new(100, 2.0)]);
        assert_eq!(b.metadata[0].metric_type, MetricType::Counter);
        assert_eq!(d.rejected_points, 0);
    }

    #[test]
    fn text_import_honours_content_type_and_encoding() {
        let om = b"# TYPE a gauge\na 1\n# EOF\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(om).expect("write");
        let gz = gz.finish().expect("gz");
        let d = Protocol::PrometheusText
            .decode(
                &gz,
                &ctx(
                    Some("gzip"),
                    Some("application/openmetrics-text; version=1.0.0"),
                ),
            )
            .expect("ok");
        assert_eq!(d.batch.sample_count(), 1);
        // Without `# EOF` OpenMetrics fails, the text format does not.
        let e = Protocol::PrometheusText
            .decode(b"a 1\n", &ctx(None, Some("application/openmetrics-text")))
            .expect_err("no EOF");
        assert!(matches!(e, CodecError::Exposition(_)), "{e}");
        assert!(Protocol::PrometheusText
            .decode(b"a 1\n", &ctx(None, None))
            .is_ok());
        let e = Protocol::PrometheusText
            .decode(b"a 1\n", &ctx(Some("br"), None))
            .expect_err("unsupported");
        assert!(e.to_string().contains("unsupported Content-Encoding"));
    }

    #[test]
    fn otlp_gets_decompressed_body() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{}").expect("write");
        let gz = gz.finish().expect("gz");
        let d = Protocol::OtlpJson
            .decode(&gz, &ctx(Some("gzip"), Some("application/json")))
            .expect("empty request");
        assert_eq!(d.batch.sample_count(), 0);
        // An empty protobuf message is an empty request.
        let d = Protocol::OtlpProtobuf
            .decode(b"", &ctx(None, Some("application/x-protobuf")))
            .expect("empty request");
        assert_eq!(d.batch.sample_count(), 0);
        // gzip bytes handed over without the header do not decode as JSON.
        assert!(Protocol::OtlpJson.decode(&gz, &ctx(None, None)).is_err());
    }

    #[test]
    fn remote_write_ignores_content_encoding_header() {
        let mut batch = Batch::new();
        batch.push(
            Labels::from_pairs([("__name__", "up")]).expect("labels"),
            Sample::new(1, 1.0),
        );
        let body = remote_write::encode(&batch);
        for enc in [None, Some("snappy"), Some("identity")] {
            let d = Protocol::RemoteWrite
                .decode(&body, &ctx(enc, None))
                .expect("ok");
            assert_eq!(d.batch, batch);
        }
        let mut c = ctx(Some("snappy"), None);
        c.limits.max_decompressed_bytes = 2;
        assert!(matches!(
            Protocol::RemoteWrite.decode(&body, &c),
            Err(CodecError::TooLarge { .. })
        ));
    }
}
