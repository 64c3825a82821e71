//! What the targets and metadata APIs show, in the shape of Prometheus's `/api/v1/targets`
//! (field names camelCase when serialized), and the per-target state scrape loops update.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::{Serialize, Serializer};
use vigil_model::{Labels, MetricMetadata, Timestamp};

use crate::target::TargetSpec;
use crate::{PromDuration, ScrapeError};

/// A target's health after its last scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TargetHealth {
    Up,
    Down,
    #[default]
    Unknown,
}

/// One active target, as `/api/v1/targets` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveTarget {
    pub discovered_labels: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub scrape_pool: String,
    pub scrape_url: String,
    pub global_url: String,
    pub last_error: String,
    /// Milliseconds since the epoch; serialized as RFC 3339 (`0001-01-01T00:00:00Z` when never).
    #[serde(serialize_with = "rfc3339")]
    pub last_scrape: Option<Timestamp>,
    /// Seconds.
    pub last_scrape_duration: f64,
    pub health: TargetHealth,
    pub scrape_interval: String,
    pub scrape_timeout: String,
}

/// A target that relabelling dropped.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DroppedTarget {
    pub discovered_labels: BTreeMap<String, String>,
    pub scrape_pool: String,
}

/// The whole `/api/v1/targets` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TargetsStatus {
    pub active_targets: Vec<ActiveTarget>,
    pub dropped_targets: Vec<DroppedTarget>,
    /// Dropped targets per pool, including those beyond `keep_dropped_targets`.
    pub dropped_target_counts: BTreeMap<String, usize>,
}

/// The metadata (HELP/TYPE/UNIT) last seen from one target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetMetadata {
    pub scrape_pool: String,
    /// The target's public labels.
    pub target: Labels,
    pub metadata: Vec<MetricMetadata>,
}

fn rfc3339<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t.and_then(|ms| u64::try_from(ms).ok()) {
        Some(ms) => {
            let at = UNIX_EPOCH + Duration::from_millis(ms);
            s.collect_str(&humantime::format_rfc3339_millis(at))
        }
        None => s.serialize_str("0001-01-01T00:00:00Z"),
    }
}

pub(crate) fn label_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

#[derive(Debug, Default)]
pub(crate) struct Health {
    pub health: TargetHealth,
    pub last_error: String,
    pub last_scrape: Option<Timestamp>,
    pub last_duration_s: f64,
}

/// One active target as shared between its scrape loop and the status API.
#[derive(Debug)]
pub(crate) struct TargetShared {
    pub scrape_pool: String,
    pub spec: TargetSpec,
    /// The labels attached to every series of the target.
    pub public: Labels,
    pub discovered: Mutex<Labels>,
    pub health: Mutex<Health>,
    pub metadata: Mutex<BTreeMap<String, MetricMetadata>>,
    /// An error every scrape reports instead of scraping (client config, target limit).
    pub forced_error: Mutex<Option<ScrapeError>>,
}

impl TargetShared {
    pub(crate) fn new(scrape_pool: &str, spec: TargetSpec) -> Self {
        TargetShared {
            scrape_pool: scrape_pool.to_owned(),
            public: spec.public_labels(),
            discovered: Mutex::new(spec.discovered.clone()),
            spec,
            health: Mutex::new(Health::default()),
            metadata: Mutex::new(BTreeMap::new()),
            forced_error: Mutex::new(None),
        }
    }

    pub(crate) fn report(&self, t: Timestamp, duration_s: f64, error: Option<&ScrapeError>) {
        let mut h = self.health.lock();
        h.health = if error.is_none() {
            TargetHealth::Up
        } else {
            TargetHealth::Down
        };
        h.last_error = error.map(ToString::to_string).unwrap_or_default();
        h.last_scrape = Some(t);
        h.last_duration_s = duration_s;
    }

    pub(crate) fn to_active(&self, global_host: Option<&str>) -> ActiveTarget {
        let h = self.health.lock();
        ActiveTarget {
            discovered_labels: label_map(&self.discovered.lock()),
            labels: label_map(&self.public),
            scrape_pool: self.scrape_pool.clone(),
            scrape_url: self.spec.url.clone(),
            global_url: global_url(&self.spec.url, global_host),
            last_error: h.last_error.clone(),
            last_scrape: h.last_scrape,
            last_scrape_duration: h.last_duration_s,
            health: h.health,
            scrape_interval: PromDuration::from(self.spec.interval).to_string(),
            scrape_timeout: PromDuration::from(self.spec.timeout).to_string(),
        }
    }
}

/// The scrape URL with a loopback host replaced by `host`, as Prometheus's `globalUrl`.
fn global_url(url: &str, host: Option<&str>) -> String {
    let Some(host) = host else {
        return url.to_owned();
    };
    let Ok(mut u) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if loopback && u.set_host(Some(host)).is_ok() {
        return u.to_string();
    }
    url.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_url_replaces_loopback() {
        assert_eq!(
            global_url("http://127.0.0.1:9100/metrics", Some("vigil.example")),
            "http://vigil.example:9100/metrics"
        );
        assert_eq!(
            global_url("http://node:9100/metrics", Some("vigil.example")),
            "http://node:9100/metrics"
        );
        assert_eq!(
            global_url("http://localhost:1/m", None),
            "http://localhost:1/m"
        );
    }

    #[test]
    fn serializes_like_prometheus() {
        let t = ActiveTarget {
            discovered_labels: BTreeMap::new(),
            labels: BTreeMap::from([("job".to_owned(), "a".to_owned())]),
            scrape_pool: "a".to_owned(),
            scrape_url: "http://h:1/metrics".to_owned(),
            global_url: "http://h:1/metrics".to_owned(),
            last_error: String::new(),
            last_scrape: None,
            last_scrape_duration: 0.0,
            health: TargetHealth::Unknown,
            scrape_interval: "15s".to_owned(),
            scrape_timeout: "10s".to_owned(),
        };
        let v = serde_json::to_value(&t).expect("json");
        assert_eq!(v["lastScrape"], "0001-01-01T00:00:00Z");
        assert_eq!(v["health"], "unknown");
        assert_eq!(v["scrapePool"], "a");
        let t = ActiveTarget {
            last_scrape: Some(1_500_000_000_123),
            ..t
        };
        let v = serde_json::to_value(&t).expect("json");
        assert_eq!(v["lastScrape"], "2017-07-14T02:40:00.123Z");
    }
}
