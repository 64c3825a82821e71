//! Service metrics of one simulated model server: the inference latency histogram and the
//! prediction counter, as cumulative Prometheus series ready for remote_write.
//!
//! Names and labels are those `examples/ml-alerts.rules.yml` queries
//! (`ml_model_inference_duration_seconds_bucket`, `ml_model_predictions_total{status}`, grouped by
//! `model_name`), so the example rules fire on the demo's data without edits. Classic histograms
//! (`_bucket`/`_sum`/`_count`) rather than native ones: Vigil's remote_write decoder rejects native
//! histograms.

use vigil_model::{
    Batch, Labels, LabelsBuilder, MetricMetadata, MetricType, Sample, Timestamp, METRIC_NAME_LABEL,
};

/// Upper bounds of the latency buckets in seconds; `+Inf` is implied after the last.
pub const BUCKETS: [f64; 9] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// The histogram's metric family name.
pub const LATENCY: &str = "ml_model_inference_duration_seconds";
/// The prediction counter's name.
pub const PREDICTIONS: &str = "ml_model_predictions_total";

/// Fixed labels naming the sender, as a scrape would add them.
const JOB: &str = "vigil-demo";
const INSTANCE: &str = "demo";

/// Cumulative request statistics of one model since the demo started.
#[derive(Debug, Clone, Default)]
pub struct Service {
    /// Observations per bucket, not cumulative; the last slot is above the last bound (`+Inf`).
    per_bucket: [u64; BUCKETS.len() + 1],
    sum: f64,
    ok: u64,
    error: u64,
}

impl Service {
    /// Records one request that took `secs` and ended `ok` or in an error.
    pub fn observe(&mut self, secs: f64, ok: bool) {
        let slot = BUCKETS
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(BUCKETS.len());
        if let Some(c) = self.per_bucket.get_mut(slot) {
            *c += 1;
        }
        self.sum += secs;
        if ok {
            self.ok += 1;
        } else {
            self.error += 1;
        }
    }

    /// Cumulative bucket counts (`le` = each bound, then `+Inf`), as the `_bucket` series carry.
    pub fn cumulative(&self) -> [u64; BUCKETS.len() + 1] {
        let mut out = self.per_bucket;
        let mut acc = 0;
        for c in &mut out {
            acc += *c;
            *c = acc;
        }
        out
    }

    /// All requests observed (the `_count` series, equal to the `+Inf` bucket).
    pub fn count(&self) -> u64 {
        self.ok + self.error
    }

    /// Appends one sample at `at` for each of this model's series to `batch`, reusing the
    /// batch's series of the same labels (a backfill batch carries many pushes).
    pub fn append(&self, model: &str, version: &str, at: Timestamp, batch: &mut Batch) {
        let le_values = BUCKETS
            .iter()
            .map(|b| b.to_string())
            .chain(std::iter::once("+Inf".to_owned()));
        for (le, count) in le_values.zip(self.cumulative()) {
            let labels =
                series_labels(&format!("{LATENCY}_bucket"), model, version, &[("le", &le)]);
            push(batch, labels, at, count as f64);
        }
        let sum = series_labels(&format!("{LATENCY}_sum"), model, version, &[]);
        push(batch, sum, at, self.sum);
        let count = series_labels(&format!("{LATENCY}_count"), model, version, &[]);
        push(batch, count, at, self.count() as f64);
        for (status, n) in [("ok", self.ok), ("error", self.error)] {
            let labels = series_labels(PREDICTIONS, model, version, &[("status", status)]);
            push(batch, labels, at, n as f64);
        }
    }
}

/// HELP and TYPE of the two families, sent with every push as remote_write metadata.
pub fn metadata() -> Vec<MetricMetadata> {
    vec![
        MetricMetadata {
            metric_family: LATENCY.to_owned(),
            metric_type: MetricType::Histogram,
            help: "Time to serve one prediction request (simulated by vigil demo).".to_owned(),
            unit: "seconds".to_owned(),
        },
        MetricMetadata {
            metric_family: PREDICTIONS.to_owned(),
            metric_type: MetricType::Counter,
            help: "Prediction requests by outcome (simulated by vigil demo).".to_owned(),
            unit: String::new(),
        },
    ]
}

/// The label set of one series: the fixed labels plus `extra`.
fn series_labels(name: &str, model: &str, version: &str, extra: &[(&str, &str)]) -> Labels {
    let mut b = LabelsBuilder::new();
    b.set(METRIC_NAME_LABEL, name)
        .set("instance", INSTANCE)
        .set("job", JOB)
        .set("model_name", model)
        .set("model_version", version);
    for (n, v) in extra {
        b.set(n, v);
    }
    b.build()
}

fn push(batch: &mut Batch, labels: Labels, at: Timestamp, v: f64) {
    let sample = Sample::new(at, v);
    match batch.series.iter_mut().find(|s| s.labels == labels) {
        Some(s) => s.samples.push(sample),
        None => batch.push(labels, sample),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(batch: &Batch, name: &str, extra: &[(&str, &str)]) -> Vec<f64> {
        batch
            .series
            .iter()
            .find(|s| {
                s.labels.metric_name() == Some(name)
                    && extra.iter().all(|(n, v)| s.labels.get(n) == Some(*v))
            })
            .map(|s| s.samples.iter().map(|x| x.v).collect())
            .unwrap_or_default()
    }

    #[test]
    fn buckets_are_cumulative_monotone_and_end_at_count() {
        let mut s = Service::default();
        for secs in [0.001, 0.004, 0.02, 0.04, 0.04, 0.3, 0.9, 1.5, 3.0, 10.0] {
            s.observe(secs, true);
        }
        s.observe(0.05, false);
        let c = s.cumulative();
        assert!(c.windows(2).all(|w| w[0] <= w[1]), "{c:?}");
        assert_eq!(c, [2, 2, 3, 6, 6, 6, 7, 8, 9, 11]);
        assert_eq!(c[BUCKETS.len()], s.count());
        assert_eq!(s.error, 1);
        assert!((s.sum - 15.855).abs() < 1e-9);
    }

    #[test]
    fn append_builds_valid_series_and_reuses_them_across_pushes() {
        let mut s = Service::default();
        let mut batch = Batch::new();
        s.observe(0.04, true);
        s.append("fraud", "v3", 1_000, &mut batch);
        s.observe(0.2, false);
        s.append("fraud", "v3", 6_000, &mut batch);
        // 10 buckets + _sum + _count + 2 statuses.
        assert_eq!(batch.series.len(), 14);
        for series in &batch.series {
            series.labels.validate().expect("valid labels");
            assert_eq!(series.labels.get("model_name"), Some("fraud"));
            assert_eq!(series.labels.get("model_version"), Some("v3"));
            assert_eq!(series.samples.len(), 2);
        }
        let bucket = format!("{LATENCY}_bucket");
        assert_eq!(value(&batch, &bucket, &[("le", "0.05")]), [1.0, 1.0]);
        assert_eq!(value(&batch, &bucket, &[("le", "0.25")]), [1.0, 2.0]);
        assert_eq!(value(&batch, &bucket, &[("le", "1")]), [1.0, 2.0]);
        assert_eq!(value(&batch, &bucket, &[("le", "+Inf")]), [1.0, 2.0]);
        assert_eq!(value(&batch, &format!("{LATENCY}_count"), &[]), [1.0, 2.0]);
        assert_eq!(value(&batch, PREDICTIONS, &[("status", "ok")]), [1.0, 1.0]);
        assert_eq!(
            value(&batch, PREDICTIONS, &[("status", "error")]),
            [0.0, 1.0]
        );
        // The codec accepts what we build.
        batch.metadata = metadata();
        let body = vigil_codec::remote_write::try_encode(&batch).expect("encodes");
        let back = vigil_codec::remote_write::decode(&body, &vigil_codec::DecodeLimits::default())
            .expect("decodes");
        assert_eq!(back.sample_count(), 28);
        assert_eq!(back.metadata.len(), 2);
    }
}
