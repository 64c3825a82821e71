//! OTLP metrics request → Prometheus series, samples and metadata.
//!
//! Owns the type mapping and point expansion of the OpenTelemetry "Prometheus and OpenMetrics
//! Compatibility" specification, section "OTLP Metric points to Prometheus", with Prometheus's
//! OTLP receiver (`storage/remote/otlptranslator/prometheusremotewrite`) as the reference where
//! the specification leaves a choice: label precedence, `;`-joined colliding attributes,
//! `job`/`instance` from `service.*`, `target_info`, `le`/`quantile` formatting.
//!
//! Points that cannot be stored faithfully are rejected one by one and reported (OTLP partial
//! success) rather than failing the request: delta and unspecified temporality (turning deltas
//! into cumulative series needs per-series state across requests, which a stateless decoder
//! does not have), exponential histograms (no classic-series equivalent), malformed histograms
//! and summaries, points without value or timestamp, attribute keys that cannot become label
//! names.
//!
//! Output size is capped relative to the input: resource, scope and point attributes are copied
//! onto every series they apply to, so a small body could otherwise expand into gigabytes.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, AggregationTemporality, DataPointFlags, HistogramDataPoint,
    Metric, NumberDataPoint, SummaryDataPoint,
};
use vigil_model::{
    Label, Labels, MetricMetadata, MetricType, Sample, SeriesSamples, Timestamp, METRIC_NAME_LABEL,
    STALE_NAN,
};

use super::name::{label_name, metric_name, prometheus_unit, NameKind};
use super::value::label_value;
use crate::{CodecError, Decoded};

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";
const TARGET_INFO: &str = "target_info";
/// Distinct rejection reasons reported in one response; the rest are counted.
const MAX_MESSAGES: usize = 8;
/// Longest metric name or attribute key quoted in a rejection message, in characters.
const MAX_QUOTED: usize = 100;

/// What a label costs in the output besides its text: the [`Label`] itself.
pub(super) const LABEL_OVERHEAD: usize = std::mem::size_of::<Label>();

/// Label memory a request of `body_len` bytes may expand into: 64× the body plus 64 MiB, each
/// label counted as its text plus [`LABEL_OVERHEAD`]. Honest requests stay well below (a batch
/// of histogram points with sixteen buckets and scope, `job` and `instance` labels comes to about
/// 35×). Counting the text alone would let many one-byte attributes on many-bucket histograms
/// through at about thirty times their real cost.
pub(super) fn default_label_budget(body_len: usize) -> usize {
    body_len.saturating_mul(64).saturating_add(64 << 20)
}

/// Converts a decoded request.
///
/// # Errors
/// [`CodecError::TooLarge`] when the series would hold more than `label_budget` bytes of labels
/// (text plus [`LABEL_OVERHEAD`] each).
pub(super) fn convert(
    req: &ExportMetricsServiceRequest,
    label_budget: usize,
) -> Result<Decoded, CodecError> {
    let mut c = Converter {
        series: Vec::new(),
        index: HashMap::new(),
        hasher: RandomState::new(),
        metadata: Vec::new(),
        metadata_seen: HashSet::new(),
        rejected_points: 0,
        messages: Vec::new(),
        more_messages: 0,
        label_bytes: 0,
        label_budget,
    };
    for rm in &req.resource_metrics {
        let attrs: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes);
        let resource = ResourceLabels::new(attrs);
        let mut times: Vec<Timestamp> = Vec::new();
        for sm in &rm.scope_metrics {
            let scope = scope_labels(sm.scope.as_ref());
            for m in &sm.metrics {
                c.metric(m, &resource, &scope, &mut times)?;
            }
        }
        c.target_info(attrs, &resource, times)?;
    }
    Ok(c.finish())
}

/// What a resource contributes to every series: `job` and `instance`.
struct ResourceLabels {
    job: Option<String>,
    instance: Option<String>,
}

impl ResourceLabels {
    fn new(attrs: &[KeyValue]) -> Self {
        let find = |key: &str| {
            attrs
                .iter()
                .rev()
                .find(|kv| kv.key == key)
                .map(|kv| label_value(kv.value.as_ref()))
        };
        let job = find(SERVICE_NAME).map(|name| match find(SERVICE_NAMESPACE) {
            Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
            _ => name,
        });
        ResourceLabels {
            job,
            instance: find(SERVICE_INSTANCE_ID),
        }
    }
}

/// `otel_scope_name`, `otel_scope_version` and `otel_scope_<attribute>` for one scope.
fn scope_labels(scope: Option<&InstrumentationScope>) -> Vec<(String, String)> {
    let Some(s) = scope else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::new();
    // Scope attribute keys are prefixed, so they always sanitize to a usable name.
    if let Ok(attrs) = attribute_labels(&s.attributes, "otel_scope_") {
        out.extend(attrs);
    }
    out.push(("otel_scope_name".into(), s.name.clone()));
    out.push(("otel_scope_version".into(), s.version.clone()));
    out
}

/// Sanitized attribute labels; values of keys that collide after sanitizing are joined with `;`
/// in the lexicographic order of the original keys (compatibility spec, "Metric Attributes").
///
/// # Errors
/// The first key that cannot become a label name.
fn attribute_labels<'k>(
    attrs: impl IntoIterator<Item = &'k KeyValue>,
    prefix: &str,
) -> Result<BTreeMap<String, String>, String> {
    let mut sorted: Vec<&KeyValue> = attrs.into_iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for kv in sorted {
        let name = if prefix.is_empty() {
            label_name(&kv.key)
        } else {
            label_name(&format!("{prefix}{}", kv.key))
        };
        let Some(name) = name else {
            return Err(kv.key.clone());
        };
        let value = label_value(kv.value.as_ref());
        out.entry(name)
            .and_modify(|v| {
                v.push(';');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    Ok(out)
}

fn quote(s: &str) -> String {
    if s.chars().count() <= MAX_QUOTED {
        format!("{s:?}")
    } else {
        let cut: String = s.chars().take(MAX_QUOTED).collect();
        format!("{cut:?}…")
    }
}

struct Converter {
    series: Vec<SeriesSamples>,
    /// Label-set hash → indexes into `series` with that hash.
    index: HashMap<u64, Vec<usize>>,
    hasher: RandomState,
    metadata: Vec<MetricMetadata>,
    metadata_seen: HashSet<(String, MetricType, String, String)>,
    rejected_points: u64,
    messages: Vec<String>,
    more_messages: usize,
    label_bytes: usize,
    label_budget: usize,
}

/// The metric-level facts each data point needs.
struct MetricCtx<'a> {
    otlp_name: &'a str,
    family: String,
}

impl Converter {
    /// Counts `points` rejected points of metric `otlp_name` and keeps the reason for the
    /// response (formatted only here, so that accepted metrics cost no message).
    fn reject(&mut self, otlp_name: &str, points: usize, why: impl std::fmt::Display) {
        self.rejected_points = self
            .rejected_points
            .saturating_add(u64::try_from(points).unwrap_or(u64::MAX));
        let message = format!("metric {}: {why}", quote(otlp_name));
        if self.messages.contains(&message) {
            return;
        }
        if self.messages.len() < MAX_MESSAGES {
            self.messages.push(message);
        } else {
            self.more_messages += 1;
        }
    }

    fn finish(mut self) -> Decoded {
        // Points of one series may arrive in any order (several data points, several resources);
        // storage wants them ascending. Stable, so equal timestamps keep request order.
        for s in &mut self.series {
            if !s.samples.is_sorted_by_key(|x| x.t) {
                s.samples.sort_by_key(|x| x.t);
            }
        }
        let rejection_message = if self.messages.is_empty() {
            None
        } else {
            let mut m = self.messages.join("; ");
            if self.more_messages > 0 {
                m.push_str(&format!("; and {} more problems", self.more_messages));
            }
            Some(m)
        };
        Decoded {
            batch: vigil_model::Batch {
                series: self.series,
                metadata: self.metadata,
            },
            rejected_points: self.rejected_points,
            rejection_message,
        }
    }

    /// Builds a label set from base labels plus `__name__` and one optional extra label, charging
    /// it to the output budget.
    fn labels(
        &mut self,
        base: &BTreeMap<String, String>,
        name: &str,
        extra: Option<(&str, &str)>,
    ) -> Result<Labels, CodecError> {
        let mut v: Vec<Label> = Vec::with_capacity(base.len() + 2);
        let mut bytes = 0usize;
        let mut push = |n: &str, val: &str| {
            bytes += LABEL_OVERHEAD + n.len() + val.len();
            v.push(Label::new(n, val));
        };
        for (n, val) in base {
            if n == METRIC_NAME_LABEL
                || extra.is_some_and(|(e, _)| e == n.as_str())
                || val.is_empty()
            {
                continue;
            }
            push(n, val);
        }
        push(METRIC_NAME_LABEL, name);
        if let Some((n, val)) = extra {
            push(n, val);
        }
        self.label_bytes = self.label_bytes.saturating_add(bytes);
        if self.label_bytes > self.label_budget {
            return Err(CodecError::TooLarge {
                what: "label data generated from the OTLP request",
                size: u64::try_from(self.label_bytes).unwrap_or(u64::MAX),
                limit: u64::try_from(self.label_budget).unwrap_or(u64::MAX),
            });
        }
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Labels::from_sorted_unchecked(v))
    }

    /// Appends a sample to the series with these labels, creating it if new; returns the
    /// series' index.
    fn push(&mut self, labels: Labels, sample: Sample) -> usize {
        let h = self.hasher.hash_one(&labels);
        let slots = self.index.entry(h).or_default();
        for &i in slots.iter() {
            if let Some(s) = self.series.get_mut(i) {
                if s.labels == labels {
                    s.samples.push(sample);
                    return i;
                }
            }
        }
        let i = self.series.len();
        slots.push(i);
        self.series.push(SeriesSamples {
            labels,
            samples: vec![sample],
        });
        i
    }

    fn add_metadata(&mut self, family: &str, t: MetricType, help: &str, unit: &str) {
        let key = (family.to_string(), t, help.to_string(), unit.to_string());
        if self.metadata_seen.insert(key) {
            self.metadata.push(MetricMetadata {
                metric_family: family.to_string(),
                metric_type: t,
                help: help.to_string(),
                unit: unit.to_string(),
            });
        }
    }

    fn metric(
        &mut self,
        m: &Metric,
        resource: &ResourceLabels,
        scope: &[(String, String)],
        times: &mut Vec<Timestamp>,
    ) -> Result<(), CodecError> {
        let Some(data) = &m.data else {
            // Nothing is lost that could have been stored, so no point is counted; the message
            // still tells the client (OTLP allows a warning with zero rejected points).
            self.reject(
                &m.name,
                0,
                "has no data (no gauge, sum, histogram, exponential histogram or summary) and \
                 was dropped",
            );
            return Ok(());
        };
        let (points, temporality, kind) = match data {
            Data::Gauge(g) => (g.data_points.len(), None, NameKind::Gauge),
            Data::Sum(s) => (
                s.data_points.len(),
                Some(s.aggregation_temporality),
                if s.is_monotonic {
                    NameKind::MonotonicSum
                } else {
                    NameKind::Other
                },
            ),
            Data::Histogram(h) => (
                h.data_points.len(),
                Some(h.aggregation_temporality),
                NameKind::Other,
            ),
            Data::ExponentialHistogram(h) => (h.data_points.len(), None, NameKind::Other),
            Data::Summary(s) => (s.data_points.len(), None, NameKind::Other),
        };
        if points == 0 {
            return Ok(());
        }
        if let Data::ExponentialHistogram(_) = data {
            self.reject(
                &m.name,
                points,
                "exponential histograms are not supported; configure the exporter to use \
                 explicit-bucket histograms",
            );
            return Ok(());
        }
        if let Some(t) = temporality {
            let problem = match AggregationTemporality::try_from(t) {
                Ok(AggregationTemporality::Cumulative) => None,
                Ok(AggregationTemporality::Delta) => Some(
                    "delta temporality is not supported; set the exporter's temporality \
                     preference to cumulative"
                        .to_string(),
                ),
                Ok(AggregationTemporality::Unspecified) => Some(
                    "aggregation temporality is unspecified; only cumulative is supported"
                        .to_string(),
                ),
                Err(_) => Some(format!("aggregation temporality {t} is not a valid value")),
            };
            if let Some(p) = problem {
                self.reject(&m.name, points, p);
                return Ok(());
            }
        }
        let Some(family) = metric_name(&m.name, &m.unit, kind) else {
            let why = if m.name.is_empty() {
                "name is empty"
            } else {
                "name has no characters usable in a Prometheus metric name"
            };
            self.reject(&m.name, points, why);
            return Ok(());
        };

        let ctx = MetricCtx {
            otlp_name: &m.name,
            family,
        };
        let before = times.len();
        let metric_type = match data {
            Data::Gauge(g) => {
                for p in &g.data_points {
                    self.number_point(&ctx, p, resource, scope, times)?;
                }
                MetricType::Gauge
            }
            Data::Sum(s) => {
                for p in &s.data_points {
                    self.number_point(&ctx, p, resource, scope, times)?;
                }
                if s.is_monotonic {
                    MetricType::Counter
                } else {
                    MetricType::Gauge
                }
            }
            Data::Histogram(h) => {
                for p in &h.data_points {
                    self.histogram_point(&ctx, p, resource, scope, times)?;
                }
                MetricType::Histogram
            }
            Data::Summary(s) => {
                for p in &s.data_points {
                    self.summary_point(&ctx, p, resource, scope, times)?;
                }
                MetricType::Summary
            }
            Data::ExponentialHistogram(_) => return Ok(()),
        };
        if times.len() > before {
            let t = prometheus_type_hint(m, data).unwrap_or(metric_type);
            let unit = prometheus_unit(&m.unit, kind);
            self.add_metadata(&ctx.family, t, &m.description, &unit);
        }
        Ok(())
    }

    /// The labels every series of a point carries, before `__name__` and `le`/`quantile`.
    /// Precedence as in Prometheus: attributes, then scope labels, then `job`/`instance`.
    fn base_labels(
        &mut self,
        ctx: &MetricCtx<'_>,
        attrs: &[KeyValue],
        resource: &ResourceLabels,
        scope: &[(String, String)],
    ) -> Option<BTreeMap<String, String>> {
        let mut base = match attribute_labels(attrs, "") {
            Ok(b) => b,
            Err(key) => {
                self.reject(
                    ctx.otlp_name,
                    1,
                    format!(
                        "attribute {} cannot be converted to a label name",
                        quote(&key)
                    ),
                );
                return None;
            }
        };
        for (k, v) in scope {
            base.insert(k.clone(), v.clone());
        }
        if let Some(job) = &resource.job {
            base.insert("job".into(), job.clone());
        }
        if let Some(instance) = &resource.instance {
            base.insert("instance".into(), instance.clone());
        }
        Some(base)
    }

    /// The point's timestamp in milliseconds, or a rejection when it has none.
    fn timestamp(&mut self, ctx: &MetricCtx<'_>, time_unix_nano: u64) -> Option<Timestamp> {
        if time_unix_nano == 0 {
            self.reject(
                ctx.otlp_name,
                1,
                "data point has no timestamp (time_unix_nano is 0)",
            );
            return None;
        }
        // u64::MAX / 10^6 < i64::MAX, so this never saturates.
        Some(i64::try_from(time_unix_nano / 1_000_000).unwrap_or(i64::MAX))
    }

    fn number_point(
        &mut self,
        ctx: &MetricCtx<'_>,
        p: &NumberDataPoint,
        resource: &ResourceLabels,
        scope: &[(String, String)],
        times: &mut Vec<Timestamp>,
    ) -> Result<(), CodecError> {
        let Some(t) = self.timestamp(ctx, p.time_unix_nano) else {
            return Ok(());
        };
        let v = if no_recorded_value(p.flags) {
            STALE_NAN
        } else {
            match p.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                // i64 → f64 rounds beyond 2^53, as every Prometheus ingest path does.
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                None => {
                    self.reject(ctx.otlp_name, 1, "data point has no value");
                    return Ok(());
                }
            }
        };
        let Some(base) = self.base_labels(ctx, &p.attributes, resource, scope) else {
            return Ok(());
        };
        let labels = self.labels(&base, &ctx.family, None)?;
        self.push(labels, Sample::new(t, v));
        times.push(t);
        Ok(())
    }

    fn histogram_point(
        &mut self,
        ctx: &MetricCtx<'_>,
        p: &HistogramDataPoint,
        resource: &ResourceLabels,
        scope: &[(String, String)],
        times: &mut Vec<Timestamp>,
    ) -> Result<(), CodecError> {
        let Some(t) = self.timestamp(ctx, p.time_unix_nano) else {
            return Ok(());
        };
        let bounds = &p.explicit_bounds;
        let counts = &p.bucket_counts;
        // metrics.proto: bucket_counts is empty or has one more entry than explicit_bounds.
        if !counts.is_empty() && counts.len() != bounds.len() + 1 {
            self.reject(
                ctx.otlp_name,
                1,
                format!(
                    "histogram has {} bucket counts for {} explicit bounds; expected {} (or none)",
                    counts.len(),
                    bounds.len(),
                    bounds.len() + 1
                ),
            );
            return Ok(());
        }
        // Unordered or NaN bounds would produce duplicate or meaningless `le` series.
        if bounds.iter().any(|b| b.is_nan())
            || bounds.windows(2).any(|w| !matches!(w, [a, b] if a < b))
        {
            self.reject(
                ctx.otlp_name,
                1,
                "histogram explicit bounds must be strictly increasing and not NaN",
            );
            return Ok(());
        }
        let Some(base) = self.base_labels(ctx, &p.attributes, resource, scope) else {
            return Ok(());
        };
        let stale = no_recorded_value(p.flags);
        let val = |x: f64| if stale { STALE_NAN } else { x };
        let bucket = format!("{}_bucket", ctx.family);
        let mut cumulative: u64 = 0;
        for (bound, count) in bounds.iter().zip(counts.iter()) {
            cumulative = cumulative.saturating_add(*count);
            // The `+Inf` bucket comes from `count` below; an explicit +Inf bound would repeat it.
            if *bound == f64::INFINITY {
                continue;
            }
            // Prometheus's translator writes bounds with Go's `FormatFloat(f, 'f', -1, 64)`.
            let le = vigil_model::go_format_f(*bound);
            let labels = self.labels(&base, &bucket, Some(("le", &le)))?;
            self.push(labels, Sample::new(t, val(cumulative as f64)));
        }
        let labels = self.labels(&base, &bucket, Some(("le", "+Inf")))?;
        self.push(labels, Sample::new(t, val(p.count as f64)));
        if let Some(sum) = p.sum {
            let labels = self.labels(&base, &format!("{}_sum", ctx.family), None)?;
            self.push(labels, Sample::new(t, val(sum)));
        }
        let labels = self.labels(&base, &format!("{}_count", ctx.family), None)?;
        self.push(labels, Sample::new(t, val(p.count as f64)));
        times.push(t);
        Ok(())
    }

    fn summary_point(
        &mut self,
        ctx: &MetricCtx<'_>,
        p: &SummaryDataPoint,
        resource: &ResourceLabels,
        scope: &[(String, String)],
        times: &mut Vec<Timestamp>,
    ) -> Result<(), CodecError> {
        let Some(t) = self.timestamp(ctx, p.time_unix_nano) else {
            return Ok(());
        };
        let mut qs: Vec<f64> = p.quantile_values.iter().map(|q| q.quantile).collect();
        qs.sort_by(f64::total_cmp);
        if qs.iter().any(|q| q.is_nan()) || qs.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
            self.reject(
                ctx.otlp_name,
                1,
                "summary quantiles must be distinct and not NaN",
            );
            return Ok(());
        }
        let Some(base) = self.base_labels(ctx, &p.attributes, resource, scope) else {
            return Ok(());
        };
        let stale = no_recorded_value(p.flags);
        let val = |x: f64| if stale { STALE_NAN } else { x };
        for q in &p.quantile_values {
            let quantile = vigil_model::go_format_f(q.quantile);
            let labels = self.labels(&base, &ctx.family, Some(("quantile", &quantile)))?;
            self.push(labels, Sample::new(t, val(q.value)));
        }
        let labels = self.labels(&base, &format!("{}_sum", ctx.family), None)?;
        self.push(labels, Sample::new(t, val(p.sum)));
        let labels = self.labels(&base, &format!("{}_count", ctx.family), None)?;
        self.push(labels, Sample::new(t, val(p.count as f64)));
        times.push(t);
        Ok(())
    }

    /// One `target_info` series per resource that has attributes beyond the `service.*` triplet
    /// and a `job` or `instance`: value 1 at every timestamp at which the resource delivered a
    /// sample, so that `* on(job, instance) group_left target_info` finds it wherever the
    /// resource's series have data. (Prometheus instead fills the span between the earliest and
    /// latest point at half the lookback delta; that is unbounded for a request spanning years.)
    fn target_info(
        &mut self,
        attrs: &[KeyValue],
        resource: &ResourceLabels,
        mut times: Vec<Timestamp>,
    ) -> Result<(), CodecError> {
        if times.is_empty() {
            return Ok(());
        }
        let identifying = [SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE_ID];
        let others: Vec<&KeyValue> = attrs
            .iter()
            .filter(|kv| !identifying.contains(&kv.key.as_str()))
            // Keys that cannot be label names are left out of target_info rather than
            // losing the whole series.
            .filter(|kv| label_name(&kv.key).is_some())
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        let mut base = attribute_labels(others, "").unwrap_or_default();
        let job = resource.job.as_deref().filter(|j| !j.is_empty());
        let instance = resource.instance.as_deref().filter(|i| !i.is_empty());
        if job.is_none() && instance.is_none() {
            return Ok(());
        }
        if let Some(j) = job {
            base.insert("job".into(), j.to_string());
        }
        if let Some(i) = instance {
            base.insert("instance".into(), i.to_string());
        }
        let labels = self.labels(&base, TARGET_INFO, None)?;
        times.sort_unstable();
        times.dedup();
        // The label set (all resource attributes) is looked up once, not once per timestamp:
        // hashing and cloning it for each of many points would be quadratic in the body size.
        let mut times = times.into_iter();
        let Some(first) = times.next() else {
            return Ok(());
        };
        let i = self.push(labels, Sample::new(first, 1.0));
        if let Some(s) = self.series.get_mut(i) {
            s.samples.extend(times.map(|t| Sample::new(t, 1.0)));
        }
        self.add_metadata(TARGET_INFO, MetricType::Gauge, "Target metadata", "");
        Ok(())
    }
}

fn no_recorded_value(flags: u32) -> bool {
    flags & (DataPointFlags::NoRecordedValueMask as u32) != 0
}

/// The `prometheus.type` key of `Metric.metadata` (compatibility spec, "Gauges" and "Sums"):
/// `unknown` on a gauge, `info` or `stateset` on a non-monotonic sum.
fn prometheus_type_hint(m: &Metric, data: &Data) -> Option<MetricType> {
    let hint = m
        .metadata
        .iter()
        .rev()
        .find(|kv| kv.key == "prometheus.type")?;
    let Some(any_value::Value::StringValue(s)) = hint.value.as_ref().and_then(|v| v.value.as_ref())
    else {
        return None;
    };
    match (data, s.as_str()) {
        (Data::Gauge(_), "unknown") => Some(MetricType::Unknown),
        (Data::Sum(sum), "info") if !sum.is_monotonic => Some(MetricType::Info),
        (Data::Sum(sum), "stateset") if !sum.is_monotonic => Some(MetricType::StateSet),
        _ => None,
    }
}
