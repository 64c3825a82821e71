//! Inhibition (Alertmanager's `inhibit/inhibit.go`): a firing *source* alert mutes *target*
//! alerts that agree with it on the `equal` labels.
//!
//! Each rule keeps a cache of the alerts that match its source side, fed by every alert stored
//! ([`Inhibitor::observe`]) and pruned of resolved ones ([`Inhibitor::gc`]; Alertmanager does so
//! every 15 minutes, and also skips resolved entries when asked). An alert that matches both
//! sides of a rule cannot inhibit another alert that also matches both sides, so an alert never
//! inhibits itself. A label missing on both alerts counts as equal (both are empty).

use std::collections::{BTreeMap, BTreeSet};

use parking_lot::Mutex;
use vigil_model::{Labels, Timestamp};

use crate::alert::Alert;
use crate::fingerprint::Fingerprint;
use crate::marker::Marker;
use crate::matcher::Matchers;

/// One `inhibit_rules:` entry, compiled.
#[derive(Debug, Clone, Default)]
pub struct InhibitRule {
    /// `source_matchers` plus the legacy `source_match` / `source_match_re`.
    pub source_matchers: Matchers,
    /// `target_matchers` plus the legacy `target_match` / `target_match_re`.
    pub target_matchers: Matchers,
    pub equal: BTreeSet<String>,
}

#[derive(Debug)]
struct RuleState {
    rule: InhibitRule,
    /// Alerts matching the source side, by fingerprint (ordered, so that the reported
    /// inhibiting alert is stable).
    sources: Mutex<BTreeMap<Fingerprint, Alert>>,
}

/// The inhibitor for one configuration. Rebuilt on reload and re-fed with the stored alerts.
#[derive(Debug, Default)]
pub struct Inhibitor {
    rules: Vec<RuleState>,
}

impl Inhibitor {
    pub fn new(rules: &[InhibitRule]) -> Self {
        Inhibitor {
            rules: rules
                .iter()
                .map(|r| RuleState {
                    rule: r.clone(),
                    sources: Mutex::new(BTreeMap::new()),
                })
                .collect(),
        }
    }

    /// Records a stored (possibly merged) alert in the source cache of every rule it matches.
    pub fn observe(&self, alert: &Alert) {
        for r in &self.rules {
            if r.rule.source_matchers.matches(alert.labels()) {
                r.sources.lock().insert(alert.fingerprint(), alert.clone());
            }
        }
    }

    /// Drops resolved alerts from the caches.
    pub fn gc(&self, now: Timestamp) {
        for r in &self.rules {
            r.sources.lock().retain(|_, a| !a.resolved_at(now));
        }
    }

    /// The fingerprint of an alert that inhibits `labels` at `now`, if any.
    pub fn inhibited_by(&self, labels: &Labels, now: Timestamp) -> Option<Fingerprint> {
        for r in &self.rules {
            if !r.rule.target_matchers.matches(labels) {
                continue;
            }
            // A target that is also a source may not be inhibited by another such alert.
            let exclude_two_sided = r.rule.source_matchers.matches(labels);
            let sources = r.sources.lock();
            let found = sources.values().find(|a| {
                !a.resolved_at(now)
                    && r.rule
                        .equal
                        .iter()
                        .all(|n| a.labels().get(n).unwrap_or("") == labels.get(n).unwrap_or(""))
                    && !(exclude_two_sided && r.rule.target_matchers.matches(a.labels()))
            });
            if let Some(a) = found {
                return Some(a.fingerprint());
            }
        }
        None
    }

    /// Alertmanager's `Mutes`: whether `labels` is inhibited now, recording the answer (the
    /// inhibiting alert's fingerprint, or none) in the marker.
    pub fn mutes(&self, labels: &Labels, now: Timestamp, marker: &Marker) -> bool {
        let fp = Fingerprint::of(labels);
        match self.inhibited_by(labels, now) {
            Some(by) => {
                marker.set_inhibited(fp, vec![by.to_string()]);
                true
            }
            None => {
                marker.set_inhibited(fp, Vec::new());
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Alert;
    use crate::matcher::parse_matchers;

    fn rule(source: &str, target: &str, equal: &[&str]) -> InhibitRule {
        InhibitRule {
            source_matchers: Matchers(parse_matchers(source).expect("source")),
            target_matchers: Matchers(parse_matchers(target).expect("target")),
            equal: equal.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn alert(pairs: &[(&str, &str)], ends_at: Timestamp) -> Alert {
        Alert::new(
            Labels::from_pairs(pairs.iter().copied()).expect("labels"),
            0,
            ends_at,
            0,
        )
    }

    #[test]
    fn source_inhibits_target_with_equal_labels() {
        let ih = Inhibitor::new(&[rule("severity=critical", "severity=warning", &["cluster"])]);
        let crit = alert(
            &[
                ("alertname", "Down"),
                ("severity", "critical"),
                ("cluster", "a"),
            ],
            1000,
        );
        ih.observe(&crit);
        let warn_a = alert(
            &[
                ("alertname", "Slow"),
                ("severity", "warning"),
                ("cluster", "a"),
            ],
            1000,
        );
        let warn_b = alert(
            &[
                ("alertname", "Slow"),
                ("severity", "warning"),
                ("cluster", "b"),
            ],
            1000,
        );
        let marker = Marker::default();
        assert!(ih.mutes(warn_a.labels(), 10, &marker));
        assert_eq!(
            marker.status(warn_a.fingerprint()).inhibited_by,
            vec![crit.fingerprint().to_string()]
        );
        assert!(!ih.mutes(warn_b.labels(), 10, &marker));
        // Once the source is resolved it no longer inhibits, even before gc.
        assert!(!ih.mutes(warn_a.labels(), 1000, &marker));
        assert!(marker.status(warn_a.fingerprint()).inhibited_by.is_empty());
        ih.gc(1000);
        assert!(!ih.mutes(warn_a.labels(), 10, &marker));
    }

    #[test]
    fn missing_equal_label_counts_as_equal() {
        let ih = Inhibitor::new(&[rule("a=1", "b=1", &["zone"])]);
        ih.observe(&alert(&[("a", "1")], 1000));
        assert!(ih
            .inhibited_by(alert(&[("b", "1")], 1000).labels(), 0)
            .is_some());
        assert!(ih
            .inhibited_by(alert(&[("b", "1"), ("zone", "x")], 1000).labels(), 0)
            .is_none());
    }

    #[test]
    fn alert_matching_both_sides_does_not_inhibit_itself() {
        let ih = Inhibitor::new(&[rule("alertname=X", "alertname=X", &[])]);
        let a = alert(&[("alertname", "X"), ("i", "1")], 1000);
        ih.observe(&a);
        assert!(ih.inhibited_by(a.labels(), 0).is_none());
        // Nor another two-sided alert; but a target-only alert is inhibited.
        let b = alert(&[("alertname", "X"), ("i", "2")], 1000);
        assert!(ih.inhibited_by(b.labels(), 0).is_none());
        let ih = Inhibitor::new(&[rule("severity=critical", "alertname=X", &[])]);
        ih.observe(&alert(
            &[("alertname", "Y"), ("severity", "critical")],
            1000,
        ));
        assert!(ih.inhibited_by(a.labels(), 0).is_some());
    }
}
