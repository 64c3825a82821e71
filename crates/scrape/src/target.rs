//! From target groups to scrape targets, as Prometheus's `PopulateLabels` does it (2.x).
//!
//! A target group (one `static_configs` entry, one group of a file_sd file) lists targets by
//! `__address__` plus group labels. Each target gets the pool's defaults (`job`,
//! `__scheme__`, `__metrics_path__`, `__scrape_interval__`, `__scrape_timeout__`,
//! `__param_<name>`), goes through `relabel_configs`, and then is either dropped (relabelling
//! dropped it; its pre-relabel labels are kept for the targets API), failed (no address, bad
//! interval …; logged) or active. Active targets get a default port for their scheme (the 2.x
//! behaviour), lose their `__meta_*` labels and get `instance` defaulting to the address.

use std::collections::BTreeMap;
use std::time::Duration;

use vigil_model::{Labels, LabelsBuilder};

use crate::relabel::process_builder;
use crate::{PromDuration, ScrapePoolSettings};

pub(crate) const ADDRESS_LABEL: &str = "__address__";
pub(crate) const SCHEME_LABEL: &str = "__scheme__";
pub(crate) const METRICS_PATH_LABEL: &str = "__metrics_path__";
pub(crate) const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
pub(crate) const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
pub(crate) const PARAM_LABEL_PREFIX: &str = "__param_";
pub(crate) const META_LABEL_PREFIX: &str = "__meta_";
pub(crate) const RESERVED_LABEL_PREFIX: &str = "__";
pub(crate) const JOB_LABEL: &str = "job";
pub(crate) const INSTANCE_LABEL: &str = "instance";

/// A group of targets sharing labels, as static_configs and file_sd produce them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetGroup {
    /// Each target's own labels; normally just `__address__`.
    pub targets: Vec<BTreeMap<String, String>>,
    /// Labels shared by every target of the group (a target's own labels win).
    pub labels: BTreeMap<String, String>,
    /// Where the group came from, e.g. `0` (static) or `/etc/sd/a.json:1`.
    pub source: String,
}

impl TargetGroup {
    /// A group of `host:port` addresses with shared labels.
    pub fn from_addresses(
        addresses: &[String],
        labels: BTreeMap<String, String>,
        source: impl Into<String>,
    ) -> Self {
        TargetGroup {
            targets: addresses
                .iter()
                .map(|a| BTreeMap::from([(ADDRESS_LABEL.to_owned(), a.clone())]))
                .collect(),
            labels,
            source: source.into(),
        }
    }
}

/// An active target: what the scrape loop needs and the targets API shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TargetSpec {
    /// Final labels, including internal `__` labels other than `__meta_*`.
    pub labels: Labels,
    /// The labels before relabelling.
    pub discovered: Labels,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
    /// Identity within the pool: labels and URL.
    pub hash: u64,
}

impl TargetSpec {
    /// The labels attached to scraped series: those without the `__` prefix.
    pub fn public_labels(&self) -> Labels {
        public_labels(&self.labels)
    }
}

pub(crate) fn public_labels(l: &Labels) -> Labels {
    let mut b = l.builder();
    b.retain(|l| !l.name.starts_with(RESERVED_LABEL_PREFIX));
    b.build()
}

/// What became of one discovered target.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Populated {
    Active(TargetSpec),
    /// Dropped by relabelling; the labels before relabelling.
    Dropped(Labels),
}

/// Builds the targets of one group. Failures are returned as messages naming the target.
pub(crate) fn targets_from_group(
    group: &TargetGroup,
    pool: &ScrapePoolSettings,
) -> (Vec<Populated>, Vec<String>) {
    let mut out = Vec::with_capacity(group.targets.len());
    let mut failures = Vec::new();
    for (i, t) in group.targets.iter().enumerate() {
        let mut b = LabelsBuilder::new();
        for (k, v) in &group.labels {
            b.set(k, v);
        }
        for (k, v) in t {
            b.set(k, v);
        }
        match populate_labels(b, pool) {
            Ok(p) => out.push(p),
            Err(e) => failures.push(format!(
                "instance {i} in group {}: {e}",
                if group.source.is_empty() {
                    "?"
                } else {
                    &group.source
                }
            )),
        }
    }
    (out, failures)
}

fn populate_labels(mut b: LabelsBuilder, pool: &ScrapePoolSettings) -> Result<Populated, String> {
    let defaults = [
        (JOB_LABEL, pool.job_name.clone()),
        (SCRAPE_INTERVAL_LABEL, pool.scrape_interval.to_string()),
        (SCRAPE_TIMEOUT_LABEL, pool.scrape_timeout.to_string()),
        (METRICS_PATH_LABEL, pool.metrics_path.clone()),
        (SCHEME_LABEL, pool.scheme.clone()),
    ];
    for (name, value) in &defaults {
        b.set_if_absent(name, value);
    }
    for (k, v) in &pool.params {
        if let Some(first) = v.first() {
            b.set(&format!("{PARAM_LABEL_PREFIX}{k}"), first);
        }
    }
    let discovered = b.build();
    if !process_builder(&mut b, &pool.relabel_configs) {
        return Ok(Populated::Dropped(discovered));
    }
    let mut addr = b.get(ADDRESS_LABEL).unwrap_or("").to_owned();
    if addr.is_empty() {
        return Err("no address".to_owned());
    }
    let scheme = b.get(SCHEME_LABEL).unwrap_or("").to_owned();
    if split_host_port(&addr).is_err() && split_host_port(&format!("{addr}:1234")).is_ok() {
        match scheme.as_str() {
            "http" | "" => addr.push_str(":80"),
            "https" => addr.push_str(":443"),
            _ => return Err(format!("invalid scheme: {scheme:?}")),
        }
        b.set(ADDRESS_LABEL, &addr);
    }
    if addr.contains('/') {
        return Err(format!("{addr:?} is not a valid hostname"));
    }
    let interval_s = b.get(SCRAPE_INTERVAL_LABEL).unwrap_or("").to_owned();
    let interval = PromDuration::parse(&interval_s)
        .map_err(|e| format!("error parsing scrape interval: {e}"))?;
    if interval.is_zero() {
        return Err("scrape interval cannot be 0".to_owned());
    }
    let timeout_s = b.get(SCRAPE_TIMEOUT_LABEL).unwrap_or("").to_owned();
    let timeout = PromDuration::parse(&timeout_s)
        .map_err(|e| format!("error parsing scrape timeout: {e}"))?;
    if timeout.is_zero() {
        return Err("scrape timeout cannot be 0".to_owned());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({timeout_s:?} > {interval_s:?})"
        ));
    }
    b.retain(|l| !l.name.starts_with(META_LABEL_PREFIX));
    b.set_if_absent(INSTANCE_LABEL, &addr);
    let labels = b.build();
    let url = target_url(&labels, &pool.params);
    let hash = target_hash(&labels, &url);
    Ok(Populated::Active(TargetSpec {
        labels,
        discovered,
        url,
        interval: interval.as_std(),
        timeout: timeout.as_std(),
        hash,
    }))
}

/// Go's `net.SplitHostPort`: `host:port` or `[v6]:port`; the port may be empty.
pub(crate) fn split_host_port(s: &str) -> Result<(&str, &str), &'static str> {
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or("missing ']' in address")?;
        let (host, after) = rest.split_at(end);
        let port = after.strip_prefix("]:").ok_or("missing port in address")?;
        if port.contains(':') || port.contains(']') {
            return Err("too many colons in address");
        }
        return Ok((host, port));
    }
    let i = s.rfind(':').ok_or("missing port in address")?;
    let (host, port) = s.split_at(i);
    if host.contains(':') {
        return Err("too many colons in address");
    }
    if host.contains('[') || host.contains(']') {
        return Err("unexpected bracket in address");
    }
    Ok((host, port.get(1..).unwrap_or("")))
}

/// The scrape URL: scheme, address and path from the labels; query from the pool's `params`
/// with `__param_<name>` labels replacing the first value of `<name>`.
pub(crate) fn target_url(labels: &Labels, params: &BTreeMap<String, Vec<String>>) -> String {
    let mut query: BTreeMap<String, Vec<String>> = params.clone();
    for l in labels {
        if let Some(name) = l.name.strip_prefix(PARAM_LABEL_PREFIX) {
            let values = query.entry(name.to_owned()).or_default();
            match values.first_mut() {
                Some(first) => first.clone_from(&l.value),
                None => values.push(l.value.clone()),
            }
        }
    }
    let scheme = labels.get(SCHEME_LABEL).unwrap_or("");
    let host = labels.get(ADDRESS_LABEL).unwrap_or("");
    let path = labels.get(METRICS_PATH_LABEL).unwrap_or("");
    let mut url = format!("{scheme}://{host}");
    if !path.is_empty() && !path.starts_with('/') {
        url.push('/');
    }
    escape_into(&mut url, path, is_path_safe);
    let mut first = true;
    for (k, values) in &query {
        for v in values {
            url.push(if first { '?' } else { '&' });
            first = false;
            url.push_str(&vigil_model::go_query_escape(k));
            url.push('=');
            url.push_str(&vigil_model::go_query_escape(v));
        }
    }
    url
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn is_path_safe(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'@'
        )
}

fn escape_into(out: &mut String, s: &str, safe: fn(u8) -> bool) {
    for b in s.bytes() {
        if safe(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// FNV-1a 64.
pub(crate) fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn target_hash(labels: &Labels, url: &str) -> u64 {
    let mut h = FNV_OFFSET;
    for l in labels {
        h = fnv1a(h, l.name.as_bytes());
        h = fnv1a(h, &[0xff]);
        h = fnv1a(h, l.value.as_bytes());
        h = fnv1a(h, &[0xff]);
    }
    fnv1a(h, url.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_host_port_like_go() {
        assert_eq!(split_host_port("a:1"), Ok(("a", "1")));
        assert_eq!(split_host_port("a:"), Ok(("a", "")));
        assert_eq!(split_host_port("[::1]:9"), Ok(("::1", "9")));
        assert!(split_host_port("a").is_err());
        assert!(split_host_port("::1").is_err());
        assert!(split_host_port("[::1]").is_err());
    }

    #[test]
    fn url_has_params_sorted_and_escaped() {
        let labels = Labels::from_pairs([
            (SCHEME_LABEL, "http"),
            (ADDRESS_LABEL, "h:9"),
            (METRICS_PATH_LABEL, "/probe"),
            ("__param_target", "a b"),
        ])
        .expect("labels");
        let params = BTreeMap::from([
            ("module".to_owned(), vec!["http_2xx".to_owned()]),
            ("target".to_owned(), vec!["x".to_owned(), "y".to_owned()]),
        ]);
        assert_eq!(
            target_url(&labels, &params),
            "http://h:9/probe?module=http_2xx&target=a+b&target=y"
        );
    }
}
