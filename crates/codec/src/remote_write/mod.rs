//! Prometheus remote_write 1.0: a snappy block-compressed protobuf `prometheus.WriteRequest`.
//!
//! Owns: the decoder from request body to [`Batch`] (label validation and sorting, metadata
//! mapping) and the encoder back (tests, benches, and a future remote_write sender). The protobuf
//! messages are in [`proto`].
//!
//! Rules: label names and the metric name must be valid (Prometheus's `IsValid`), names must be
//! unique, a `__name__` must be present; any breach rejects the whole request with
//! [`CodecError::Invalid`] naming the series. Labels are sorted here (senders usually sort
//! already, so sorting is skipped when they did); empty values are dropped. Exemplars are
//! ignored. A series with native histograms rejects the request: Vigil does not store them yet,
//! and dropping them silently would lose data the sender thinks was written. Series without
//! samples contribute nothing.
//!
//! Shaped for the ingest hot path: prost decodes into plain structs, then label strings and
//! sample vectors are moved (not copied) into the model types.

pub mod proto;

use prost::Message;
use vigil_model::{
    is_valid_label_name, is_valid_metric_name, Batch, Label, Labels, MetricMetadata, MetricType,
    ModelError, Sample, SeriesSamples, METRIC_NAME_LABEL,
};

use crate::{decompress, wire_budget, CodecError, DecodeLimits};

const PROTOCOL: &str = "remote_write";

/// Decodes a remote_write body: snappy block decompression under
/// `limits.max_decompressed_bytes`, then [`decode_uncompressed`].
///
/// # Errors
/// [`CodecError::TooLarge`] over either limit, or when the decoded request would take more than
/// 16× the decompressed size plus 64 MiB of memory; [`CodecError::Decompress`] for bad snappy,
/// [`CodecError::Decode`] for bad protobuf, [`CodecError::Invalid`] for a series that breaks
/// the rules above.
pub fn decode(body: &[u8], limits: &DecodeLimits) -> Result<Batch, CodecError> {
    let len = u64::try_from(body.len()).unwrap_or(u64::MAX);
    if len > limits.max_body_bytes {
        return Err(CodecError::TooLarge {
            what: "remote_write body",
            size: len,
            limit: limits.max_body_bytes,
        });
    }
    let raw = decompress::snappy_block(body, limits.max_decompressed_bytes)?;
    decode_uncompressed(&raw)
}

/// Decodes an already decompressed `WriteRequest` protobuf.
///
/// # Errors
/// As [`decode`], without the size and snappy errors.
pub fn decode_uncompressed(raw: &[u8]) -> Result<Batch, CodecError> {
    wire_budget::check(
        &wire_budget::WRITE_REQUEST,
        raw,
        "decoded remote_write request (estimated from the wire, counting stopped past the limit)",
    )?;
    let req = proto::WriteRequestIn::decode(raw).map_err(|e| CodecError::Decode {
        protocol: PROTOCOL,
        reason: e.to_string(),
    })?;
    let mut batch = Batch {
        series: Vec::with_capacity(req.timeseries.len()),
        metadata: Vec::with_capacity(req.metadata.len()),
    };
    for ts in req.timeseries {
        if !ts.histograms.is_empty() {
            return Err(invalid(
                &describe(&ts.labels),
                "native histograms are not supported",
            ));
        }
        let labels = to_labels(ts.labels)?;
        if ts.samples.is_empty() {
            continue;
        }
        // Same size and alignment: the standard library reuses the allocation.
        let samples: Vec<Sample> = ts
            .samples
            .into_iter()
            .map(|s| Sample::new(s.timestamp, s.value))
            .collect();
        batch.series.push(SeriesSamples { labels, samples });
    }
    batch.metadata = req
        .metadata
        .into_iter()
        .map(|m| MetricMetadata {
            metric_type: metric_type(m.r#type),
            metric_family: m.metric_family_name,
            help: m.help,
            unit: m.unit,
        })
        .collect();
    Ok(batch)
}

/// Encodes a batch as a snappy-compressed `WriteRequest` (samples and metadata).
///
/// # Panics
/// When the encoded protobuf is over snappy's block limit (about 4 GiB), which no sane batch
/// reaches; use [`try_encode`] to get an error instead.
pub fn encode(batch: &Batch) -> Vec<u8> {
    #[allow(clippy::expect_used)]
    try_encode(batch).expect("remote_write batch under snappy's 4 GiB block limit")
}

/// Encodes a batch as a snappy-compressed `WriteRequest`.
///
/// # Errors
/// [`CodecError::TooLarge`] when the protobuf is over snappy's block limit.
pub fn try_encode(batch: &Batch) -> Result<Vec<u8>, CodecError> {
    let raw = to_proto(batch).encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .map_err(|_| CodecError::TooLarge {
            what: "remote_write protobuf for snappy",
            size: u64::try_from(raw.len()).unwrap_or(u64::MAX),
            limit: u64::from(u32::MAX),
        })
}

/// The protobuf form of a batch.
pub fn to_proto(batch: &Batch) -> proto::WriteRequest {
    proto::WriteRequest {
        timeseries: batch
            .series
            .iter()
            .map(|s| proto::TimeSeries {
                labels: s
                    .labels
                    .iter()
                    .map(|l| proto::Label {
                        name: l.name.clone(),
                        value: l.value.clone(),
                    })
                    .collect(),
                samples: s
                    .samples
                    .iter()
                    .map(|x| proto::Sample {
                        value: x.v,
                        timestamp: x.t,
                    })
                    .collect(),
                exemplars: Vec::new(),
                histograms: Vec::new(),
            })
            .collect(),
        metadata: batch
            .metadata
            .iter()
            .map(|m| proto::MetricMetadata {
                r#type: metric_type_proto(m.metric_type) as i32,
                metric_family_name: m.metric_family.clone(),
                help: m.help.clone(),
                unit: m.unit.clone(),
            })
            .collect(),
    }
}

fn to_labels(pairs: Vec<proto::Label>) -> Result<Labels, CodecError> {
    let mut v: Vec<Label> = pairs
        .into_iter()
        .map(|l| Label {
            name: l.name,
            value: l.value,
        })
        .collect();
    if !v.is_sorted_by(|a, b| a.name <= b.name) {
        v.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    }
    let mut has_name = false;
    let mut has_empty = false;
    for (i, l) in v.iter().enumerate() {
        if i > 0 && v.get(i - 1).is_some_and(|p| p.name == l.name) {
            let e = ModelError::DuplicateLabel {
                name: l.name.clone(),
            };
            return Err(invalid(&describe_model(&v), &e.to_string()));
        }
        if l.name == METRIC_NAME_LABEL {
            has_name = true;
            if !is_valid_metric_name(&l.value) {
                let e = ModelError::InvalidMetricName {
                    name: l.value.clone(),
                };
                return Err(invalid(&describe_model(&v), &e.to_string()));
            }
        } else if !is_valid_label_name(&l.name) {
            let e = ModelError::InvalidLabelName {
                name: l.name.clone(),
            };
            return Err(invalid(&describe_model(&v), &e.to_string()));
        }
        has_empty |= l.value.is_empty();
    }
    if !has_name {
        return Err(invalid(
            &describe_model(&v),
            &ModelError::MissingMetricName.to_string(),
        ));
    }
    if has_empty {
        v.retain(|l| !l.value.is_empty());
    }
    Ok(Labels::from_sorted_unchecked(v))
}

fn invalid(series: &str, why: &str) -> CodecError {
    CodecError::Invalid {
        protocol: PROTOCOL,
        reason: format!("series {series}: {why}"),
    }
}

/// A series' text form for an error message (`name{a="1", …}`), cut at about 200 characters.
fn describe(pairs: &[proto::Label]) -> String {
    describe_iter(pairs.iter().map(|l| (l.name.as_str(), l.value.as_str())))
}

fn describe_model(pairs: &[Label]) -> String {
    describe_iter(pairs.iter().map(|l| (l.name.as_str(), l.value.as_str())))
}

fn describe_iter<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if let Some((_, n)) = pairs.clone().find(|(n, _)| *n == METRIC_NAME_LABEL) {
        s.push_str(n);
    }
    s.push('{');
    let mut first = true;
    for (n, v) in pairs.filter(|(n, _)| *n != METRIC_NAME_LABEL) {
        if !first {
            s.push_str(", ");
        }
        first = false;
        let _ = write!(s, "{n}={v:?}");
        if s.len() > 200 {
            break;
        }
    }
    if s.len() > 200 {
        let cut: String = s.chars().take(200).collect();
        return cut + "…}";
    }
    s.push('}');
    s
}

fn metric_type(t: i32) -> MetricType {
    match proto::MetricTypeProto::try_from(t) {
        Ok(proto::MetricTypeProto::Counter) => MetricType::Counter,
        Ok(proto::MetricTypeProto::Gauge) => MetricType::Gauge,
        Ok(proto::MetricTypeProto::Histogram) => MetricType::Histogram,
        Ok(proto::MetricTypeProto::Gaugehistogram) => MetricType::GaugeHistogram,
        Ok(proto::MetricTypeProto::Summary) => MetricType::Summary,
        Ok(proto::MetricTypeProto::Info) => MetricType::Info,
        Ok(proto::MetricTypeProto::Stateset) => MetricType::StateSet,
        Ok(proto::MetricTypeProto::Unknown) | Err(_) => MetricType::Unknown,
    }
}

fn metric_type_proto(t: MetricType) -> proto::MetricTypeProto {
    match t {
        MetricType::Counter => proto::MetricTypeProto::Counter,
        MetricType::Gauge => proto::MetricTypeProto::Gauge,
        MetricType::Histogram => proto::MetricTypeProto::Histogram,
        MetricType::GaugeHistogram => proto::MetricTypeProto::Gaugehistogram,
        MetricType::Summary => proto::MetricTypeProto::Summary,
        MetricType::Info => proto::MetricTypeProto::Info,
        MetricType::StateSet => proto::MetricTypeProto::Stateset,
        MetricType::Unknown => proto::MetricTypeProto::Unknown,
    }
}

#[cfg(test)]
mod tests;
