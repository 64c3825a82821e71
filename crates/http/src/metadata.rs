//! Metric metadata (HELP, TYPE, UNIT by metric family) and Prometheus's `/api/v1/metadata`.
//!
//! Two sources feed the endpoint: the scrape targets' last scrapes (through
//! [`crate::TargetSource::metadata`], as in Prometheus) and what pushes declared — remote_write
//! metadata, OTLP descriptions and units, `# HELP`/`# TYPE` in text imports — which the
//! [`MetadataCatalog`] keeps in memory. Pushed metadata has no target, so the catalogue keeps
//! the latest declaration per family. It is bounded ([`MAX_FAMILIES`], [`MAX_BYTES`]): once
//! full, new families are not recorded (existing ones still update); it starts empty after a
//! restart, as Prometheus's target metadata does.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::response::Response;
use parking_lot::RwLock;
use vigil_model::MetricMetadata;

use crate::numfmt::json_str;
use crate::params::Params;
use crate::read::success_raw;
use crate::{ApiError, AppState};

/// Most metric families the catalogue holds.
pub const MAX_FAMILIES: usize = 100_000;
/// Most bytes of names, help and unit text the catalogue holds.
pub const MAX_BYTES: usize = 64 << 20;

fn size(m: &MetricMetadata) -> usize {
    m.metric_family.len() + m.help.len() + m.unit.len()
}

#[derive(Default)]
struct Catalog {
    families: HashMap<String, MetricMetadata>,
    bytes: usize,
}

/// Metadata declared by pushes, by metric family; the latest declaration wins.
#[derive(Default)]
pub struct MetadataCatalog {
    inner: RwLock<Catalog>,
}

impl MetadataCatalog {
    pub fn new() -> Self {
        MetadataCatalog::default()
    }

    /// Records what one push declared.
    pub fn record(&self, metadata: &[MetricMetadata]) {
        if metadata.is_empty() {
            return;
        }
        // Senders repeat the same metadata with every request; only changes take the write
        // lock.
        let changed: Vec<&MetricMetadata> = {
            let c = self.inner.read();
            metadata
                .iter()
                .filter(|m| !m.metric_family.is_empty())
                .filter(|m| c.families.get(&m.metric_family) != Some(*m))
                .collect()
        };
        if changed.is_empty() {
            return;
        }
        let mut c = self.inner.write();
        for m in changed {
            let old = c.families.get(&m.metric_family).map_or(0, size);
            let bytes = c.bytes - old + size(m);
            if bytes > MAX_BYTES || (old == 0 && c.families.len() >= MAX_FAMILIES) {
                continue;
            }
            c.bytes = bytes;
            c.families.insert(m.metric_family.clone(), m.clone());
        }
    }

    /// Every recorded family (`metric` empty) or just one.
    pub fn get(&self, metric: &str) -> Vec<MetricMetadata> {
        let c = self.inner.read();
        if metric.is_empty() {
            c.families.values().cloned().collect()
        } else {
            c.families.get(metric).cloned().into_iter().collect()
        }
    }

    /// Families recorded.
    pub fn len(&self) -> usize {
        self.inner.read().families.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A signed integer parameter as Go's `strconv.Atoi` reads it; absent = -1 (no limit).
fn int_param(p: &Params, name: &str) -> Result<i64, ApiError> {
    match p.get(name) {
        None | Some("") => Ok(-1),
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| ApiError::bad_data(format!("{name} must be a number"))),
    }
}

type Entry = (&'static str, String, String);

/// `/api/v1/metadata?limit=&limit_per_metric=&metric=`: `{family: [{type, help, unit}]}`, each
/// distinct declaration once. As in Prometheus, a negative or absent limit means none, and
/// `limit=0` gives an empty object; families are taken in name order.
pub async fn metadata(st: &AppState, p: Params) -> Result<Response, ApiError> {
    let limit = int_param(&p, "limit")?;
    let limit_per_metric = int_param(&p, "limit_per_metric")?;
    let metric = p.get("metric").unwrap_or("").to_owned();
    let targets = st.targets.clone();
    let catalog = st.metadata.clone();
    let all = tokio::task::spawn_blocking(move || {
        let mut all = targets.metadata();
        if !metric.is_empty() {
            all.retain(|m| m.metric_family == metric);
        }
        all.extend(catalog.get(&metric));
        all
    })
    .await?;
    let mut families: BTreeMap<String, BTreeSet<Entry>> = BTreeMap::new();
    for m in all {
        let set = families.entry(m.metric_family).or_default();
        let full = usize::try_from(limit_per_metric).is_ok_and(|l| l > 0 && set.len() >= l);
        if !full {
            set.insert((m.metric_type.as_str(), m.help, m.unit));
        }
    }
    // Written by hand to keep Prometheus's field order (`type`, `help`, `unit`).
    let mut out = String::from("{");
    for (i, (name, set)) in families.into_iter().enumerate() {
        if usize::try_from(limit).is_ok_and(|l| i >= l) {
            break;
        }
        if i > 0 {
            out.push(',');
        }
        json_str(&mut out, &name);
        out.push_str(":[");
        for (j, (t, help, unit)) in set.into_iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str("{\"type\":");
            json_str(&mut out, t);
            out.push_str(",\"help\":");
            json_str(&mut out, &help);
            out.push_str(",\"unit\":");
            json_str(&mut out, &unit);
            out.push('}');
        }
        out.push(']');
    }
    out.push('}');
    Ok(success_raw(&out, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::MetricType;

    fn md(f: &str, help: &str) -> MetricMetadata {
        MetricMetadata {
            metric_family: f.into(),
            metric_type: MetricType::Counter,
            help: help.into(),
            unit: String::new(),
        }
    }

    #[test]
    fn latest_declaration_wins_and_size_is_tracked() {
        let c = MetadataCatalog::new();
        c.record(&[md("a_total", "first"), md("", "nameless")]);
        c.record(&[md("a_total", "second")]);
        assert_eq!(c.get("a_total"), [md("a_total", "second")]);
        assert_eq!(c.len(), 1);
        assert_eq!(c.inner.read().bytes, "a_total".len() + "second".len());
    }

    #[test]
    fn full_catalogue_keeps_updating_known_families() {
        let c = MetadataCatalog::new();
        let big = "x".repeat(MAX_BYTES - 10);
        c.record(&[md("a", &big)]);
        c.record(&[md("b", "more than the ten bytes left")]);
        assert!(c.get("b").is_empty());
        c.record(&[md("a", "small")]);
        c.record(&[md("b", "fits now")]);
        assert_eq!(c.len(), 2);
    }
}
