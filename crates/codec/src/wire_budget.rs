//! A memory budget for protobuf bodies, checked on the wire before prost decodes them.
//!
//! Owns: one linear, allocation-free pass over the wire data of a remote_write `WriteRequest`, an
//! OTLP `ExportMetricsServiceRequest` or an OTLP `ExportLogsServiceRequest` that adds up what
//! prost's structs will take — each element of a repeated message field as the `size_of` of its
//! Rust type, each string or bytes payload, each element of a repeated number field — and
//! refuses the body with [`CodecError::TooLarge`] as soon as the sum passes [`budget`]. Why:
//! prost turns small wire elements into large structs. An empty `TimeSeries` is 2 bytes on the
//! wire and 72 in memory, an empty exponential histogram point 2 and 208, an empty `LogRecord` 2
//! and 184, so a 256 MiB body of them would make 10–30 GB of structs before any of our own
//! checks ran.
//!
//! Shape: each message type is a static table of the fields that cost memory ([`Message`]),
//! written from the Rust types prost decodes into (not from the `.proto` files: remote_write's
//! decoder leaves exemplars undeclared and keeps histograms as bytes, see
//! `remote_write::proto::TimeSeriesIn`). One walker reads them all. Fields a table does not list
//! — scalars, unknown fields — cost nothing, because prost stores them inline or skips them.
//! Singular messages cost nothing themselves either (their struct is inline in the parent), only
//! what they hold. Overcounting is safe, undercounting is not: a singular message sent twice is
//! merged by prost but counted twice here.
//!
//! Does not own: validation. The walk reads the wire as prost does — varints, lengths checked
//! against the whole remaining buffer, a submessage's end checked when it closes, groups of
//! unknown fields skipped — so that all prost would build before failing has been counted. On
//! malformed data it stops counting and leaves the error to prost, whose messages stay as they
//! were. The estimate counts lengths, not `Vec` capacities: prost grows vectors by doubling, so
//! the real peak can be up to about twice the estimate.

use std::mem::size_of;

use opentelemetry_proto::tonic::common::v1::{AnyValue, EntityRef, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    summary_data_point::ValueAtQuantile, Exemplar, ExponentialHistogramDataPoint,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, SummaryDataPoint,
};

use crate::remote_write::proto::{Label, MetricMetadata, Sample, TimeSeriesIn};
use crate::CodecError;

/// The decoded memory a body of `body_len` bytes may take: 16× its size plus 64 MiB. Honest
/// requests estimate at 3–5× their size (remote_write of the benchmark workload 3.6×, of the
/// codec bench's series 4.5×, SDK-shaped OTLP 3×; the codec's tiny OTLP test requests up to 13×,
/// where the fixed nesting dominates and the 64 MiB cover them), and prost's real peak is close
/// to the estimate. A body of empty `TimeSeries` estimates at 36×, one of empty OTLP
/// exponential histogram points at 104×.
pub(crate) fn budget(body_len: usize) -> u64 {
    u64::try_from(body_len)
        .unwrap_or(u64::MAX)
        .saturating_mul(16)
        .saturating_add(64 << 20)
}

/// What the allocator takes for a heap block besides its payload (header, rounding): one-byte
/// strings are not one byte.
const BLOCK_OVERHEAD: u64 = 16;

/// Message nesting the walk follows. prost refuses nesting past 100 levels
/// (`prost::RECURSION_LIMIT`), so a body nested deeper fails in prost before the walk stops.
const MAX_DEPTH: usize = 128;

/// The fields of one message type that cost memory once decoded, by field number.
pub(crate) struct Message {
    fields: &'static [(u32, Field)],
}

/// What one field costs once decoded.
#[derive(Clone, Copy)]
enum Field {
    /// `string` or `bytes`: its payload.
    Bytes,
    /// `repeated string` / `repeated bytes`: a `String` (or `Vec<u8>`) and its payload each.
    RepeatedBytes,
    /// A singular message: stored inline in its parent, so only what it holds.
    Message(&'static Message),
    /// A repeated message whose Rust type is `usize` bytes: that, plus what each holds.
    Repeated(&'static Message, usize),
    /// Repeated `fixed64`/`double`, packed (8 bytes each) or not: elements of `usize` bytes.
    RepeatedFixed64(usize),
    /// Repeated varint numbers, packed or not: elements of `usize` bytes.
    RepeatedVarint(usize),
}

impl Message {
    fn field(&self, number: u64) -> Option<Field> {
        self.fields
            .iter()
            .find(|(n, _)| u64::from(*n) == number)
            .map(|(_, f)| *f)
    }
}

/// remote_write's `WriteRequest` as `remote_write::proto::WriteRequestIn` decodes it.
pub(crate) static WRITE_REQUEST: Message = Message {
    fields: &[
        (1, Field::Repeated(&TIME_SERIES, size_of::<TimeSeriesIn>())),
        (
            3,
            Field::Repeated(&METRIC_METADATA, size_of::<MetricMetadata>()),
        ),
    ],
};
/// Exemplars (3) are not declared in `TimeSeriesIn`, so prost skips them; histograms (4) are
/// kept as bytes.
static TIME_SERIES: Message = Message {
    fields: &[
        (1, Field::Repeated(&LABEL, size_of::<Label>())),
        (2, Field::Repeated(&SCALARS, size_of::<Sample>())),
        (4, Field::RepeatedBytes),
    ],
};
static LABEL: Message = Message {
    fields: &[(1, Field::Bytes), (2, Field::Bytes)],
};
static METRIC_METADATA: Message = Message {
    fields: &[(2, Field::Bytes), (4, Field::Bytes), (5, Field::Bytes)],
};
/// A message of numbers only (`Sample`, `ValueAtQuantile`).
static SCALARS: Message = Message { fields: &[] };

/// OTLP's `ExportMetricsServiceRequest` (opentelemetry-proto's prost types).
pub(crate) static EXPORT_METRICS_SERVICE_REQUEST: Message = Message {
    fields: &[(
        1,
        Field::Repeated(&RESOURCE_METRICS, size_of::<ResourceMetrics>()),
    )],
};
static RESOURCE_METRICS: Message = Message {
    fields: &[
        (1, Field::Message(&RESOURCE)),
        (
            2,
            Field::Repeated(&SCOPE_METRICS, size_of::<ScopeMetrics>()),
        ),
        (3, Field::Bytes),
    ],
};
static RESOURCE: Message = Message {
    fields: &[
        (1, Field::Repeated(&KEY_VALUE, size_of::<KeyValue>())),
        (3, Field::Repeated(&ENTITY_REF, size_of::<EntityRef>())),
    ],
};
static ENTITY_REF: Message = Message {
    fields: &[
        (1, Field::Bytes),
        (2, Field::Bytes),
        (3, Field::RepeatedBytes),
        (4, Field::RepeatedBytes),
    ],
};
static KEY_VALUE: Message = Message {
    fields: &[(1, Field::Bytes), (2, Field::Message(&ANY_VALUE))],
};
/// `string_value` (1), `array_value` (5), `kvlist_value` (6), `bytes_value` (7).
static ANY_VALUE: Message = Message {
    fields: &[
        (1, Field::Bytes),
        (5, Field::Message(&ARRAY_VALUE)),
        (6, Field::Message(&KEY_VALUE_LIST)),
        (7, Field::Bytes),
    ],
};
static ARRAY_VALUE: Message = Message {
    fields: &[(1, Field::Repeated(&ANY_VALUE, size_of::<AnyValue>()))],
};
static KEY_VALUE_LIST: Message = Message {
    fields: &[(1, Field::Repeated(&KEY_VALUE, size_of::<KeyValue>()))],
};
static SCOPE_METRICS: Message = Message {
    fields: &[
        (1, Field::Message(&INSTRUMENTATION_SCOPE)),
        (2, Field::Repeated(&METRIC, size_of::<Metric>())),
        (3, Field::Bytes),
    ],
};
static INSTRUMENTATION_SCOPE: Message = Message {
    fields: &[
        (1, Field::Bytes),
        (2, Field::Bytes),
        (3, Field::Repeated(&KEY_VALUE, size_of::<KeyValue>())),
    ],
};
/// `data` is a oneof: gauge (5), sum (7), histogram (9), exponential histogram (10), summary (11).
static METRIC: Message = Message {
    fields: &[
        (1, Field::Bytes),
        (2, Field::Bytes),
        (3, Field::Bytes),
        (5, Field::Message(&NUMBER_POINTS)),
        (7, Field::Message(&NUMBER_POINTS)),
        (9, Field::Message(&HISTOGRAM)),
        (10, Field::Message(&EXPONENTIAL_HISTOGRAM)),
        (11, Field::Message(&SUMMARY)),
        (12, Field::Repeated(&KEY_VALUE, size_of::<KeyValue>())),
    ],
};
/// `Gauge` and `Sum`: their points are field 1.
static NUMBER_POINTS: Message = Message {
    fields: &[(
        1,
        Field::Repeated(&NUMBER_DATA_POINT, size_of::<NumberDataPoint>()),
    )],
};
static HISTOGRAM: Message = Message {
    fields: &[(
        1,
        Field::Repeated(&HISTOGRAM_DATA_POINT, size_of::<HistogramDataPoint>()),
    )],
};
static EXPONENTIAL_HISTOGRAM: Message = Message {
    fields: &[(
        1,
        Field::Repeated(
            &EXPONENTIAL_HISTOGRAM_DATA_POINT,
            size_of::<ExponentialHistogramDataPoint>(),
        ),
    )],
};
static SUMMARY: Message = Message {
    fields: &[(
        1,
        Field::Repeated(&SUMMARY_DATA_POINT, size_of::<SummaryDataPoint>()),
    )],
};
static NUMBER_DATA_POINT: Message = Message {
    fields: &[
        (5, Field::Repeated(&EXEMPLAR, size_of::<Exemplar>())),
        (7, Field::Repeated(&KEY_VALUE, size_of::<KeyValue>())),
    ],
};
static HISTOGRAM_DATA_POINT: Message = Message {
    fields: &[
        (6, Field::RepeatedFixed64(size_of::<u64>())),
        (7, Field::RepeatedFixed64(size_of::<f64>())),
        (8, Field::Repeated(&EXEMPLAR, size_of::<Exemplar>())),
        (9, Field::Repeated(&KEY_VALUE, size_of::<KeyValue>())),
    ],
};
static EXPONENTIAL_HISTOGRAM_DATA_POINT: Message = Message {
    fields: &[
        (1, Field::Repeated(&KEY_VALUE, size_of::<KeyValue>())),
        (8, Field::Message(&BUCKETS)),
        (9, Field::Message(&BUCKETS)),
        (11, Field::Repeated(&EXEMPLAR, size_of::<Exemplar>())),
    ],
};
static BUCKETS: Message = Message {
    fields: &[(2, Field::RepeatedVarint(size_of::<u64>()))],
};
static SUMMARY_DATA_POINT: Message = Message {
    fields: &[
        (6, Field::Repeated(&SCALARS, size_of::<ValueAtQuantile>())),
        (7, Field::Repeated(&KEY_VALUE, size_of::<KeyValue>())),
    ],
};
/// `span_id` (4), `trace_id` (5), `filtered_attributes` (7).
static EXEMPLAR: Message = Message {
    fields: &[
        (4, Field::Bytes),
        (5, Field::Bytes),
        (7, Field::Repeated(&KEY_VALUE, size_of::<KeyValue>())),
    ],
};

/// OTLP's `ExportLogsServiceRequest` (opentelemetry-proto's prost types); `Resource`, `KeyValue`
/// and `InstrumentationScope` as for metrics.
pub(crate) static EXPORT_LOGS_SERVICE_REQUEST: Message = Message {
    fields: &[(
        1,
        Field::Repeated(&RESOURCE_LOGS, size_of::<ResourceLogs>()),
    )],
};
static RESOURCE_LOGS: Message = Message {
    fields: &[
        (1, Field::Message(&RESOURCE)),
        (2, Field::Repeated(&SCOPE_LOGS, size_of::<ScopeLogs>())),
        (3, Field::Bytes),
    ],
};
static SCOPE_LOGS: Message = Message {
    fields: &[
        (1, Field::Message(&INSTRUMENTATION_SCOPE)),
        (2, Field::Repeated(&LOG_RECORD, size_of::<LogRecord>())),
        (3, Field::Bytes),
    ],
};
/// `severity_text` (3), `body` (5), `attributes` (6), `trace_id` (9), `span_id` (10),
/// `event_name` (12).
static LOG_RECORD: Message = Message {
    fields: &[
        (3, Field::Bytes),
        (5, Field::Message(&ANY_VALUE)),
        (6, Field::Repeated(&KEY_VALUE, size_of::<KeyValue>())),
        (9, Field::Bytes),
        (10, Field::Bytes),
        (12, Field::Bytes),
    ],
};

/// Refuses `body`, a `message` to be decoded by prost, when its decoded form would pass
/// [`budget`]; `what` names the body in the error.
///
/// # Errors
/// [`CodecError::TooLarge`] with the estimate counted so far (just past the limit: counting
/// stops there) and the budget.
pub(crate) fn check(
    message: &'static Message,
    body: &[u8],
    what: &'static str,
) -> Result<(), CodecError> {
    let limit = budget(body.len());
    let size = estimate(message, body, limit);
    if size > limit {
        return Err(CodecError::TooLarge { what, size, limit });
    }
    Ok(())
}

/// The decoded size of `body`, counted until it passes `limit` or the wire data ends or turns
/// out malformed.
pub(crate) fn estimate(message: &'static Message, body: &[u8], limit: u64) -> u64 {
    let mut walk = Walk {
        wire: Wire { buf: body, pos: 0 },
        cost: 0,
        limit,
    };
    // `None` means: done, malformed, or over the limit; `cost` says which matters.
    let _ = walk.run(message);
    walk.cost
}

/// A message being read: its fields, and where its bytes end.
#[derive(Clone, Copy)]
struct Frame {
    message: &'static Message,
    end: usize,
}

struct Walk<'a> {
    wire: Wire<'a>,
    cost: u64,
    limit: u64,
}

impl Walk<'_> {
    fn run(&mut self, root: &'static Message) -> Option<()> {
        let root = Frame {
            message: root,
            end: self.wire.buf.len(),
        };
        let mut stack = [root; MAX_DEPTH];
        let mut depth = 0;
        loop {
            let frame = *stack.get(depth)?;
            if self.wire.pos >= frame.end {
                // prost's `DelimitedLengthExceeded`: the last field ran past the message's end.
                if self.wire.pos > frame.end || depth == 0 {
                    return None;
                }
                depth -= 1;
                continue;
            }
            if let Some(child) = self.field(frame.message)? {
                depth += 1;
                *stack.get_mut(depth)? = child;
            }
            if self.cost > self.limit {
                return None;
            }
        }
    }

    /// Reads one field of `message`, adding its cost; a submessage that holds costly fields is
    /// returned to be read next, with the position moved back to its first byte.
    fn field(&mut self, message: &'static Message) -> Option<Option<Frame>> {
        let key = self.wire.varint()?;
        // prost's `decode_key`: keys over u32, and field number 0, are errors.
        if key > u64::from(u32::MAX) || key >> 3 == 0 {
            return None;
        }
        let field = message.field(key >> 3);
        let (cost, child) = match key & 7 {
            0 => {
                self.wire.varint()?;
                match field {
                    Some(Field::RepeatedVarint(size)) => (size as u64, None),
                    _ => (0, None),
                }
            }
            1 => {
                self.wire.skip(8)?;
                match field {
                    Some(Field::RepeatedFixed64(size)) => (size as u64, None),
                    _ => (0, None),
                }
            }
            2 => self.wire.length_delimited(field)?,
            3 => {
                self.wire.skip_group()?;
                (0, None)
            }
            5 => {
                self.wire.skip(4)?;
                (0, None)
            }
            // An end-group tag outside a group, or wire types 6 and 7: prost fails here.
            _ => return None,
        };
        self.cost = self.cost.saturating_add(cost);
        Some(child)
    }
}

/// Protobuf wire reading over the whole body, as prost reads it.
struct Wire<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Wire<'_> {
    /// A base-128 varint of at most 10 bytes (bits past 64 ignored, where prost fails).
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    /// Reads a length-delimited field (key already read): its cost, and the submessage to read
    /// next if it is one with costly fields (the position is then at its first byte).
    fn length_delimited(&mut self, field: Option<Field>) -> Option<(u64, Option<Frame>)> {
        let len = self.varint()?;
        let start = self.pos;
        self.skip(len)?;
        let end = self.pos;
        let block = if len == 0 { 0 } else { BLOCK_OVERHEAD };
        // An empty submessage, or one of numbers only, holds nothing to count.
        let enter = |message: &'static Message| {
            (len > 0 && !message.fields.is_empty()).then_some(Frame { message, end })
        };
        let (cost, child) = match field {
            None => (0, None),
            Some(Field::Bytes) => (len + block, None),
            Some(Field::RepeatedBytes) => (size_of::<Vec<u8>>() as u64 + len + block, None),
            Some(Field::Message(m)) => (0, enter(m)),
            Some(Field::Repeated(m, size)) => (size as u64, enter(m)),
            Some(Field::RepeatedFixed64(size)) => {
                let n = len.div_ceil(8);
                (n.saturating_mul(size as u64) + block, None)
            }
            Some(Field::RepeatedVarint(size)) => {
                // Each varint ends at a byte below 0x80; one cut off at the end is still pushed
                // before prost notices.
                let payload = self.buf.get(start..end)?;
                let ends = payload.iter().filter(|b| **b < 0x80).count();
                let cut = payload.last().is_some_and(|b| *b >= 0x80);
                let n = ends as u64 + u64::from(cut);
                (n.saturating_mul(size as u64) + block, None)
            }
        };
        if child.is_some() {
            self.pos = start;
        }
        Some((cost, child))
    }

    /// Skips `n` bytes, if there are that many left.
    fn skip(&mut self, n: u64) -> Option<()> {
        let left = self.buf.len().saturating_sub(self.pos);
        let n = usize::try_from(n).ok().filter(|n| *n <= left)?;
        self.pos += n;
        Some(())
    }

    /// Skips the fields of a group up to its end-group tag (group start already read). Nested
    /// groups are counted, not matched by number: where prost would refuse a mismatch, reading
    /// on is harmless.
    fn skip_group(&mut self) -> Option<()> {
        let mut open = 1u64;
        while open > 0 {
            let key = self.varint()?;
            if key > u64::from(u32::MAX) || key >> 3 == 0 {
                return None;
            }
            match key & 7 {
                0 => {
                    self.varint()?;
                }
                1 => self.skip(8)?,
                2 => {
                    let len = self.varint()?;
                    self.skip(len)?;
                }
                3 => open += 1,
                4 => open -= 1,
                5 => self.skip(4)?,
                _ => return None,
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests;
