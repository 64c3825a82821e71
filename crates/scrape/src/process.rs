//! Turning one scrape's result into a batch: target labels, `honor_labels`, metric
//! relabelling, limits, staleness and the report series. Synchronous and free of I/O so that
//! every rule can be tested directly.
//!
//! Staleness follows Prometheus (`scrape/scrape.go`): a series appended in the previous
//! successful scrape and absent from this one gets a stale-NaN sample at this scrape's
//! timestamp; a failed scrape marks every series of the previous scrape stale; series whose
//! samples carry explicit timestamps are not tracked (unless `track_timestamps_staleness`).

use std::collections::{BTreeMap, HashSet};

use vigil_codec::exposition::Exposition;
use vigil_model::{
    Batch, Labels, LabelsBuilder, MetricMetadata, Sample, SeriesSamples, Timestamp,
    METRIC_NAME_LABEL, STALE_NAN,
};

use crate::relabel::process_builder;
use crate::{RelabelRule, ScrapeError};

/// Samples more than this far ahead of the scrape are out of bounds, as in Prometheus.
const MAX_AHEAD_MS: i64 = 10 * 60 * 1000;

/// Longest series text quoted in an error message.
const MAX_SERIES_TEXT: usize = 200;

/// The prefix Prometheus gives an exposed label that clashes with a target label.
const EXPORTED_PREFIX: &str = "exported_";

/// What a loop remembers between scrapes. Handed to the replacement loop when a target's
/// loop is restarted (config reload) so that staleness carries on unbroken.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoopState {
    /// Series appended by the last successful scrape that are staleness-tracked.
    pub prev: HashSet<Labels>,
    /// Every series of the last successful scrape, for `scrape_series_added`.
    pub known: HashSet<Labels>,
    /// Timestamp of the last scrape, successful or not.
    pub last_ts: Option<Timestamp>,
    /// Aligned scrape time base (Prometheus aligns timestamps within a small tolerance).
    pub aligned_ts: Option<Timestamp>,
}

/// The scrape settings that affect processing.
#[derive(Debug, Clone)]
pub(crate) struct ProcessSettings<'a> {
    /// The target's public labels.
    pub target_labels: &'a Labels,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub metric_relabel: &'a [RelabelRule],
    pub sample_limit: usize,
    pub label_limit: usize,
    pub label_name_length_limit: usize,
    pub label_value_length_limit: usize,
}

/// The result of processing one scrape.
#[derive(Debug, Default)]
pub(crate) struct Processed {
    /// Scraped samples (on success) plus stale markers, without the report series.
    pub batch: Batch,
    /// `scrape_samples_scraped`.
    pub scraped: usize,
    /// `scrape_samples_post_metric_relabeling`.
    pub post_relabel: usize,
    /// `scrape_series_added`.
    pub series_added: usize,
    pub stale_markers: usize,
    /// Samples skipped: duplicates within the scrape, timestamps too far ahead.
    pub skipped: usize,
    pub metadata: Vec<MetricMetadata>,
    /// Why the scrape failed, if it did.
    pub error: Option<ScrapeError>,
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(n).collect();
    out.push('…');
    out
}

/// Adds the target's labels to a scraped series (Prometheus's `mutateSampleLabels`).
pub(crate) fn mutate_sample_labels(sample: &Labels, target: &Labels, honor: bool) -> LabelsBuilder {
    let mut b = sample.builder();
    if honor {
        for l in target {
            if sample.get(&l.name).is_none() {
                b.set(&l.name, &l.value);
            }
        }
        return b;
    }
    let mut conflicts: Vec<(&str, &str)> = Vec::new();
    for l in target {
        if let Some(existing) = sample.get(&l.name) {
            conflicts.push((&l.name, existing));
        }
        b.set(&l.name, &l.value);
    }
    // Shorter names first, so `exported_exported_a` cannot steal `exported_a`'s place.
    conflicts.sort_by_key(|(n, _)| n.len());
    for (name, value) in conflicts {
        let mut new_name = name.to_owned();
        loop {
            new_name = format!("{EXPORTED_PREFIX}{new_name}");
            if b.get(&new_name).is_none_or(str::is_empty) {
                b.set(&new_name, value);
                break;
            }
        }
    }
    b
}

fn check_label_limits(l: &Labels, s: &ProcessSettings<'_>) -> Result<(), ScrapeError> {
    let series = || truncate(&l.to_string(), MAX_SERIES_TEXT);
    if s.label_limit > 0 && l.len() > s.label_limit {
        return Err(ScrapeError::LabelLimit(format!(
            "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
            series(),
            l.len(),
            s.label_limit
        )));
    }
    for lab in l {
        if s.label_name_length_limit > 0 && lab.name.len() > s.label_name_length_limit {
            return Err(ScrapeError::LabelLimit(format!(
                "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
                series(),
                truncate(&lab.name, 50),
                lab.name.len(),
                s.label_name_length_limit
            )));
        }
        if s.label_value_length_limit > 0 && lab.value.len() > s.label_value_length_limit {
            return Err(ScrapeError::LabelLimit(format!(
                "label_value_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
                series(),
                truncate(&lab.name, 50),
                lab.value.len(),
                s.label_value_length_limit
            )));
        }
    }
    Ok(())
}

/// Stale markers at `t` for every series in `series`.
fn stale_batch(series: impl IntoIterator<Item = Labels>, t: Timestamp, batch: &mut Batch) -> usize {
    let mut n = 0;
    for labels in series {
        batch.series.push(SeriesSamples {
            labels,
            samples: vec![Sample::new(t, STALE_NAN)],
        });
        n += 1;
    }
    n
}

/// Processes one scrape at timestamp `t`. `result` is the parsed body, or why there is none.
pub(crate) fn process_scrape(
    state: &mut LoopState,
    s: &ProcessSettings<'_>,
    t: Timestamp,
    result: Result<Exposition, ScrapeError>,
) -> Processed {
    state.last_ts = Some(t);
    let mut out = Processed::default();
    let expo = match result {
        Ok(e) => e,
        Err(e) => {
            fail(state, t, &mut out, e);
            return out;
        }
    };
    out.scraped = expo.samples.len();
    let mut cur: HashSet<Labels> = HashSet::with_capacity(state.prev.len());
    let mut seen: HashSet<Labels> = HashSet::with_capacity(expo.samples.len());
    // Grouping by series keeps the batch one entry per series.
    let mut series: Vec<SeriesSamples> = Vec::with_capacity(expo.samples.len());
    let mut counted = 0usize;
    let mut over_limit = false;
    let mut error: Option<ScrapeError> = None;
    for smp in expo.samples {
        let explicit = s.honor_timestamps && smp.timestamp_ms.is_some();
        let ts = if explicit {
            smp.timestamp_ms.unwrap_or(t)
        } else {
            t
        };
        let mut b = mutate_sample_labels(&smp.labels, s.target_labels, s.honor_labels);
        if !process_builder(&mut b, s.metric_relabel) {
            continue;
        }
        let labels = b.build();
        if labels.is_empty() {
            continue;
        }
        if labels.metric_name().is_none() {
            error = Some(ScrapeError::InvalidSeries(format!(
                "missing metric name (__name__ label) in series {}",
                truncate(&labels.to_string(), MAX_SERIES_TEXT)
            )));
            break;
        }
        if let Err(e) = labels.validate() {
            error = Some(ScrapeError::InvalidSeries(format!(
                "invalid metric name or label names in series {}: {e}",
                truncate(&labels.to_string(), MAX_SERIES_TEXT)
            )));
            break;
        }
        if let Err(e) = check_label_limits(&labels, s) {
            error = Some(e);
            break;
        }
        // Prometheus counts duplicates as post-relabelling samples but stores only the first.
        out.post_relabel += 1;
        if !seen.insert(labels.clone()) {
            out.skipped += 1;
            continue;
        }
        // As in Prometheus, the sample limit counts before the time bound is checked.
        counted += 1;
        if s.sample_limit > 0 && counted > s.sample_limit {
            // Keep counting so the report says how many samples there were.
            over_limit = true;
            continue;
        }
        if ts > t.saturating_add(MAX_AHEAD_MS) {
            out.skipped += 1;
            continue;
        }
        if !explicit || s.track_timestamps_staleness {
            cur.insert(labels.clone());
        }
        if !state.known.contains(&labels) {
            out.series_added += 1;
        }
        series.push(SeriesSamples {
            labels,
            samples: vec![Sample::new(ts, smp.value)],
        });
    }
    if error.is_none() && over_limit {
        error = Some(ScrapeError::SampleLimit);
    }
    if let Some(e) = error {
        out.series_added = 0;
        fail(state, t, &mut out, e);
        return out;
    }
    out.batch.series = series;
    let gone: Vec<Labels> = state.prev.difference(&cur).cloned().collect();
    out.stale_markers = stale_batch(gone, t, &mut out.batch);
    out.metadata = expo.metadata;
    state.prev = cur;
    state.known = seen;
    out
}

/// A failed scrape: nothing of it is stored and every series of the previous scrape goes stale.
fn fail(state: &mut LoopState, t: Timestamp, out: &mut Processed, e: ScrapeError) {
    let prev = std::mem::take(&mut state.prev);
    out.batch = Batch::new();
    out.stale_markers = stale_batch(prev, t, &mut out.batch);
    out.error = Some(e);
}

/// Stale markers for everything a stopped loop leaves behind: its last scrape's series and its
/// report series.
pub(crate) fn end_of_run(state: &mut LoopState, target: &Labels, t: Timestamp) -> Batch {
    let mut batch = Batch::new();
    let prev = std::mem::take(&mut state.prev);
    stale_batch(prev, t, &mut batch);
    if state.last_ts.is_some() {
        for name in REPORT_SERIES {
            batch.push(report_labels(name, target), Sample::new(t, STALE_NAN));
        }
    }
    batch
}

/// The series every scrape reports about itself.
pub(crate) const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

pub(crate) fn report_labels(name: &str, target: &Labels) -> Labels {
    let mut b = target.builder();
    b.set(METRIC_NAME_LABEL, name);
    b.build()
}

/// Appends the report series (`up`, `scrape_duration_seconds` …) for one scrape.
pub(crate) fn add_report(
    batch: &mut Batch,
    target: &Labels,
    t: Timestamp,
    p: &Processed,
    duration_s: f64,
) {
    #[allow(clippy::cast_precision_loss)]
    let values = [
        if p.error.is_none() { 1.0 } else { 0.0 },
        duration_s,
        p.scraped as f64,
        p.post_relabel as f64,
        p.series_added as f64,
    ];
    for (name, v) in REPORT_SERIES.iter().zip(values) {
        batch.push(report_labels(name, target), Sample::new(t, v));
    }
}

/// Metadata by metric family, as the metadata API wants it.
pub(crate) fn metadata_map(m: Vec<MetricMetadata>) -> BTreeMap<String, MetricMetadata> {
    m.into_iter()
        .map(|m| (m.metric_family.clone(), m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_codec::exposition::ParsedSample;
    use vigil_model::is_stale_nan;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).expect("labels")
    }

    fn sample(pairs: &[(&str, &str)], v: f64, ts: Option<i64>) -> ParsedSample {
        ParsedSample {
            labels: l(pairs),
            value: v,
            timestamp_ms: ts,
        }
    }

    fn settings<'a>(target: &'a Labels, rules: &'a [RelabelRule]) -> ProcessSettings<'a> {
        ProcessSettings {
            target_labels: target,
            honor_labels: false,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            metric_relabel: rules,
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
        }
    }

    fn expo(samples: Vec<ParsedSample>) -> Exposition {
        Exposition {
            samples,
            metadata: Vec::new(),
        }
    }

    fn find<'a>(b: &'a Batch, name: &str) -> Vec<&'a SeriesSamples> {
        b.series
            .iter()
            .filter(|s| s.labels.metric_name() == Some(name))
            .collect()
    }

    #[test]
    fn exported_prefix_on_conflict() {
        let target = l(&[("job", "j"), ("instance", "i:1")]);
        let smp = l(&[("__name__", "m"), ("job", "inner"), ("exported_job", "x")]);
        let out = mutate_sample_labels(&smp, &target, false).build();
        assert_eq!(out.get("job"), Some("j"));
        assert_eq!(out.get("exported_job"), Some("x"));
        assert_eq!(out.get("exported_exported_job"), Some("inner"));
        assert_eq!(out.get("instance"), Some("i:1"));
        let honored = mutate_sample_labels(&smp, &target, true).build();
        assert_eq!(honored.get("job"), Some("inner"));
        assert_eq!(honored.get("instance"), Some("i:1"));
    }

    #[test]
    fn disappearing_series_get_stale_markers() {
        let target = l(&[("job", "j")]);
        let s = settings(&target, &[]);
        let mut st = LoopState::default();
        let p = process_scrape(
            &mut st,
            &s,
            1000,
            Ok(expo(vec![
                sample(&[("__name__", "a")], 1.0, None),
                sample(&[("__name__", "b")], 2.0, None),
                sample(&[("__name__", "c")], 3.0, Some(900)),
            ])),
        );
        assert!(p.error.is_none());
        assert_eq!(p.series_added, 3);
        assert_eq!(p.batch.series.len(), 3);
        let p = process_scrape(
            &mut st,
            &s,
            2000,
            Ok(expo(vec![sample(&[("__name__", "a")], 1.0, None)])),
        );
        assert_eq!(p.stale_markers, 1, "b goes stale; c had a timestamp");
        let b = find(&p.batch, "b");
        assert_eq!(b.len(), 1);
        assert!(is_stale_nan(b[0].samples[0].v));
        assert_eq!(b[0].samples[0].t, 2000);
        assert!(find(&p.batch, "c").is_empty());
        assert_eq!(p.series_added, 0);
    }

    #[test]
    fn failure_marks_all_stale_once() {
        let target = l(&[("job", "j")]);
        let s = settings(&target, &[]);
        let mut st = LoopState::default();
        process_scrape(
            &mut st,
            &s,
            1000,
            Ok(expo(vec![sample(&[("__name__", "a")], 1.0, None)])),
        );
        let p = process_scrape(&mut st, &s, 2000, Err(ScrapeError::BodySizeLimit));
        assert_eq!(p.stale_markers, 1);
        let p = process_scrape(&mut st, &s, 3000, Err(ScrapeError::BodySizeLimit));
        assert_eq!(p.stale_markers, 0);
    }

    #[test]
    fn sample_limit_fails_and_counts() {
        let target = l(&[("job", "j")]);
        let mut s = settings(&target, &[]);
        s.sample_limit = 2;
        let mut st = LoopState::default();
        let p = process_scrape(
            &mut st,
            &s,
            1000,
            Ok(expo(vec![
                sample(&[("__name__", "a")], 1.0, None),
                sample(&[("__name__", "b")], 1.0, None),
                sample(&[("__name__", "c")], 1.0, None),
            ])),
        );
        assert_eq!(p.error, Some(ScrapeError::SampleLimit));
        assert_eq!(p.scraped, 3);
        assert_eq!(p.post_relabel, 3);
        assert!(p.batch.series.is_empty());
    }

    #[test]
    fn duplicates_are_skipped_not_fatal() {
        let target = l(&[("job", "j")]);
        let s = settings(&target, &[]);
        let mut st = LoopState::default();
        let p = process_scrape(
            &mut st,
            &s,
            1000,
            Ok(expo(vec![
                sample(&[("__name__", "a")], 1.0, None),
                sample(&[("__name__", "a")], 2.0, None),
            ])),
        );
        assert!(p.error.is_none());
        assert_eq!(p.batch.series.len(), 1);
        assert_eq!(p.post_relabel, 2);
        assert_eq!(p.skipped, 1);
    }

    #[test]
    fn label_limit_names_series() {
        let target = l(&[("job", "j")]);
        let mut s = settings(&target, &[]);
        s.label_limit = 2;
        let mut st = LoopState::default();
        let p = process_scrape(
            &mut st,
            &s,
            1000,
            Ok(expo(vec![sample(
                &[("__name__", "a"), ("x", "1")],
                1.0,
                None,
            )])),
        );
        let e = p.error.expect("fails").to_string();
        assert!(e.starts_with("label_limit exceeded (metric: a{"), "{e}");
        assert!(e.contains("number of labels: 3, limit: 2"), "{e}");
    }

    #[test]
    fn end_of_run_marks_report_series() {
        let target = l(&[("job", "j")]);
        let s = settings(&target, &[]);
        let mut st = LoopState::default();
        process_scrape(
            &mut st,
            &s,
            1000,
            Ok(expo(vec![sample(&[("__name__", "a")], 1.0, None)])),
        );
        let b = end_of_run(&mut st, &target, 1500);
        assert_eq!(b.series.len(), 1 + REPORT_SERIES.len());
        assert!(b.series.iter().all(|s| is_stale_nan(s.samples[0].v)));
    }
}
