//! What prost actually built, counted as the walk counts it, to hold the estimate against.

use std::mem::size_of;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as AV, AnyValue, EntityRef, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, Exemplar,
    ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::remote_write::proto::{self as rw, WriteRequestIn};

/// What prost built, counted as the walk counts it: elements at their `size_of`, non-empty
/// strings and bytes at their length plus a heap block, numbers at their size.
pub(super) trait Heap {
    fn heap(&self) -> u64;
}

fn bytes(b: &[u8]) -> u64 {
    if b.is_empty() {
        0
    } else {
        b.len() as u64 + crate::wire_budget::BLOCK_OVERHEAD
    }
}

fn each<T: Heap>(v: &[T]) -> u64 {
    std::mem::size_of_val(v) as u64 + v.iter().map(Heap::heap).sum::<u64>()
}

fn numbers<T>(v: &[T]) -> u64 {
    std::mem::size_of_val(v) as u64
}

impl<T: Heap> Heap for Option<T> {
    fn heap(&self) -> u64 {
        self.as_ref().map_or(0, Heap::heap)
    }
}

impl Heap for WriteRequestIn {
    fn heap(&self) -> u64 {
        let series: u64 = self
            .timeseries
            .iter()
            .map(|ts| {
                each(&ts.labels)
                    + numbers(&ts.samples)
                    + ts.histograms
                        .iter()
                        .map(|h| size_of::<Vec<u8>>() as u64 + bytes(h))
                        .sum::<u64>()
            })
            .sum();
        numbers(&self.timeseries) + series + each(&self.metadata)
    }
}

impl Heap for rw::Label {
    fn heap(&self) -> u64 {
        bytes(self.name.as_bytes()) + bytes(self.value.as_bytes())
    }
}

impl Heap for rw::MetricMetadata {
    fn heap(&self) -> u64 {
        bytes(self.metric_family_name.as_bytes())
            + bytes(self.help.as_bytes())
            + bytes(self.unit.as_bytes())
    }
}

impl Heap for ExportMetricsServiceRequest {
    fn heap(&self) -> u64 {
        each(&self.resource_metrics)
    }
}

impl Heap for ResourceMetrics {
    fn heap(&self) -> u64 {
        self.resource.heap() + each(&self.scope_metrics) + bytes(self.schema_url.as_bytes())
    }
}

impl Heap for Resource {
    fn heap(&self) -> u64 {
        each(&self.attributes) + each(&self.entity_refs)
    }
}

impl Heap for EntityRef {
    fn heap(&self) -> u64 {
        let list = |v: &[String]| {
            v.iter()
                .map(|s| size_of::<String>() as u64 + bytes(s.as_bytes()))
                .sum::<u64>()
        };
        bytes(self.schema_url.as_bytes())
            + bytes(self.r#type.as_bytes())
            + list(&self.id_keys)
            + list(&self.description_keys)
    }
}

impl Heap for KeyValue {
    fn heap(&self) -> u64 {
        bytes(self.key.as_bytes()) + self.value.heap()
    }
}

impl Heap for AnyValue {
    fn heap(&self) -> u64 {
        match &self.value {
            Some(AV::StringValue(s)) => bytes(s.as_bytes()),
            Some(AV::BytesValue(b)) => bytes(b),
            Some(AV::ArrayValue(a)) => each(&a.values),
            Some(AV::KvlistValue(l)) => each(&l.values),
            _ => 0,
        }
    }
}

impl Heap for ScopeMetrics {
    fn heap(&self) -> u64 {
        self.scope.heap() + each(&self.metrics) + bytes(self.schema_url.as_bytes())
    }
}

impl Heap for InstrumentationScope {
    fn heap(&self) -> u64 {
        bytes(self.name.as_bytes()) + bytes(self.version.as_bytes()) + each(&self.attributes)
    }
}

impl Heap for Metric {
    fn heap(&self) -> u64 {
        let data = match &self.data {
            Some(Data::Gauge(g)) => each(&g.data_points),
            Some(Data::Sum(s)) => each(&s.data_points),
            Some(Data::Histogram(h)) => each(&h.data_points),
            Some(Data::ExponentialHistogram(h)) => each(&h.data_points),
            Some(Data::Summary(s)) => each(&s.data_points),
            None => 0,
        };
        bytes(self.name.as_bytes())
            + bytes(self.description.as_bytes())
            + bytes(self.unit.as_bytes())
            + each(&self.metadata)
            + data
    }
}

impl Heap for NumberDataPoint {
    fn heap(&self) -> u64 {
        each(&self.attributes) + each(&self.exemplars)
    }
}

impl Heap for HistogramDataPoint {
    fn heap(&self) -> u64 {
        each(&self.attributes)
            + numbers(&self.bucket_counts)
            + numbers(&self.explicit_bounds)
            + each(&self.exemplars)
    }
}

impl Heap for ExponentialHistogramDataPoint {
    fn heap(&self) -> u64 {
        let buckets = |b: &Option<Buckets>| b.as_ref().map_or(0, |b| numbers(&b.bucket_counts));
        each(&self.attributes)
            + buckets(&self.positive)
            + buckets(&self.negative)
            + each(&self.exemplars)
    }
}

impl Heap for SummaryDataPoint {
    fn heap(&self) -> u64 {
        each(&self.attributes) + numbers(&self.quantile_values)
    }
}

impl Heap for Exemplar {
    fn heap(&self) -> u64 {
        each(&self.filtered_attributes) + bytes(&self.span_id) + bytes(&self.trace_id)
    }
}

impl Heap for ExportLogsServiceRequest {
    fn heap(&self) -> u64 {
        each(&self.resource_logs)
    }
}

impl Heap for ResourceLogs {
    fn heap(&self) -> u64 {
        self.resource.heap() + each(&self.scope_logs) + bytes(self.schema_url.as_bytes())
    }
}

impl Heap for ScopeLogs {
    fn heap(&self) -> u64 {
        self.scope.heap() + each(&self.log_records) + bytes(self.schema_url.as_bytes())
    }
}

impl Heap for LogRecord {
    fn heap(&self) -> u64 {
        bytes(self.severity_text.as_bytes())
            + self.body.heap()
            + each(&self.attributes)
            + bytes(&self.trace_id)
            + bytes(&self.span_id)
            + bytes(self.event_name.as_bytes())
    }
}
