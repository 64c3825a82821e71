//! An alert as Alertmanager holds it (`types.Alert`): labels (its identity), annotations, the
//! active interval, when it was last updated, and whether its end time was set by the resolve
//! timeout rather than by the sender.

use std::collections::BTreeMap;

use vigil_model::{is_valid_label_name, Labels, Timestamp};

use crate::fingerprint::Fingerprint;
use crate::gotime::{is_zero, ZERO_TIME};

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    labels: Labels,
    fingerprint: Fingerprint,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Timestamp,
    /// [`ZERO_TIME`] when unknown (never for alerts stored through the API).
    pub ends_at: Timestamp,
    pub updated_at: Timestamp,
    pub generator_url: String,
    /// `ends_at` was set from `resolve_timeout`, not by the sender.
    pub timeout: bool,
}

impl Alert {
    pub fn new(
        labels: Labels,
        starts_at: Timestamp,
        ends_at: Timestamp,
        updated_at: Timestamp,
    ) -> Self {
        let fingerprint = Fingerprint::of(&labels);
        Alert {
            labels,
            fingerprint,
            annotations: BTreeMap::new(),
            starts_at,
            ends_at,
            updated_at,
            generator_url: String::new(),
            timeout: false,
        }
    }

    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// The label set's fingerprint, the alert's identity.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The `alertname` label, or empty.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").unwrap_or("")
    }

    /// Whether the alert has ended by `now` (an unset end never has).
    pub fn resolved_at(&self, now: Timestamp) -> bool {
        !is_zero(self.ends_at) && self.ends_at <= now
    }

    /// Alertmanager's `Alert.Merge`: combines two versions of the same alert. The more recently
    /// updated one wins, except that the earliest start is kept, and a later end time of the
    /// older version is kept when both are resolved, or when the newer is firing and the older
    /// end was set by the sender (not by the resolve timeout).
    pub fn merge(&self, other: &Alert, now: Timestamp) -> Alert {
        if other.updated_at < self.updated_at {
            return other.merge(self, now);
        }
        let mut res = other.clone();
        if self.starts_at < other.starts_at {
            res.starts_at = self.starts_at;
        }
        if other.resolved_at(now) {
            if self.resolved_at(now) && self.ends_at > other.ends_at {
                res.ends_at = self.ends_at;
            }
        } else if self.ends_at > other.ends_at && !self.timeout {
            res.ends_at = self.ends_at;
        }
        res
    }

    /// `model.Alert.Validate`, with its messages.
    ///
    /// # Errors
    /// A missing start, an end before the start, invalid label or annotation names, or no
    /// labels at all.
    pub fn validate(&self) -> Result<(), String> {
        if is_zero(self.starts_at) {
            return Err("start time missing".to_owned());
        }
        if !is_zero(self.ends_at) && self.ends_at < self.starts_at {
            return Err("start time must be before end time".to_owned());
        }
        if let Some(l) = self.labels.iter().find(|l| !is_valid_label_name(&l.name)) {
            return Err(format!("invalid label set: invalid name {:?}", l.name));
        }
        if self.labels.is_empty() {
            return Err("at least one label pair required".to_owned());
        }
        if let Some(n) = self.annotations.keys().find(|n| !is_valid_label_name(n)) {
            return Err(format!("invalid annotations: invalid name {n:?}"));
        }
        Ok(())
    }
}

impl Default for Alert {
    fn default() -> Self {
        Alert::new(Labels::empty(), ZERO_TIME, ZERO_TIME, ZERO_TIME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(start: Timestamp, end: Timestamp, updated: Timestamp, timeout: bool) -> Alert {
        let mut x = Alert::new(
            Labels::from_pairs([("alertname", "X")]).expect("labels"),
            start,
            end,
            updated,
        );
        x.timeout = timeout;
        x
    }

    #[test]
    fn merge_keeps_earliest_start_and_newest_data() {
        let old = a(100, 500, 100, true);
        let mut new = a(200, 600, 200, true);
        new.annotations.insert("summary".into(), "new".into());
        let m = old.merge(&new, 300);
        assert_eq!(m.starts_at, 100);
        assert_eq!(m.ends_at, 600);
        assert_eq!(
            m.annotations.get("summary").map(String::as_str),
            Some("new")
        );
        // Symmetric: the younger update wins whichever side it is on.
        assert_eq!(new.merge(&old, 300), m);
    }

    #[test]
    fn merge_end_times() {
        // Newer firing, older end set by the sender and later: the older end stays.
        let old = a(100, 900, 100, false);
        let new = a(100, 400, 200, true);
        assert_eq!(old.merge(&new, 300).ends_at, 900);
        // ... but not when the older end came from the resolve timeout.
        let old = a(100, 900, 100, true);
        assert_eq!(old.merge(&new, 300).ends_at, 400);
        // Both resolved: the later explicit end wins.
        let old = a(100, 250, 100, false);
        let new = a(100, 200, 200, false);
        assert_eq!(old.merge(&new, 300).ends_at, 250);
        // Newer resolved, older still firing: the newer end wins.
        let old = a(100, 900, 100, false);
        assert_eq!(old.merge(&new, 300).ends_at, 200);
    }

    #[test]
    fn validate_messages() {
        assert_eq!(
            a(ZERO_TIME, ZERO_TIME, 0, false).validate(),
            Err("start time missing".into())
        );
        assert_eq!(
            a(500, 100, 0, false).validate(),
            Err("start time must be before end time".into())
        );
        let empty = Alert::new(Labels::empty(), 1, ZERO_TIME, 1);
        assert_eq!(
            empty.validate(),
            Err("at least one label pair required".into())
        );
        let bad = Alert::new(
            Labels::from_pairs([("a-b", "x")]).expect("l"),
            1,
            ZERO_TIME,
            1,
        );
        assert_eq!(
            bad.validate(),
            Err("invalid label set: invalid name \"a-b\"".into())
        );
        assert!(a(1, ZERO_TIME, 1, false).validate().is_ok());
    }
}
