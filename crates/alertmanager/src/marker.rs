//! The marker (Alertmanager's `types.Marker`): each alert's last known status, as set by the
//! silencer and the inhibitor and shown by the API.
//!
//! An alert the marker has never seen is `unprocessed`; once either muter has looked at it, it
//! is `suppressed` when silenced or inhibited and `active` otherwise.

use std::collections::HashMap;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;

/// `alertStatus.state` of API v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Unprocessed,
    Active,
    Suppressed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Unprocessed => "unprocessed",
            AlertState::Active => "active",
            AlertState::Suppressed => "suppressed",
        }
    }
}

/// An alert's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertStatus {
    pub state: AlertState,
    /// Ids of the active silences that match the alert, sorted.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts that inhibit it.
    pub inhibited_by: Vec<String>,
    /// Ids of matching silences that have not started yet.
    pub pending_silences: Vec<String>,
    /// The silences' version the silence ids were computed at.
    pub silences_version: u64,
}

impl Default for AlertStatus {
    fn default() -> Self {
        AlertStatus {
            state: AlertState::Unprocessed,
            silenced_by: Vec::new(),
            inhibited_by: Vec::new(),
            pending_silences: Vec::new(),
            silences_version: 0,
        }
    }
}

impl AlertStatus {
    fn recompute(&mut self) {
        self.state = if self.silenced_by.is_empty() && self.inhibited_by.is_empty() {
            AlertState::Active
        } else {
            AlertState::Suppressed
        };
    }
}

/// Statuses by fingerprint.
#[derive(Debug, Default)]
pub struct Marker {
    m: Mutex<HashMap<Fingerprint, AlertStatus>>,
}

impl Marker {
    /// Records the silences that currently match `fp`.
    pub fn set_active_or_silenced(
        &self,
        fp: Fingerprint,
        version: u64,
        active_ids: Vec<String>,
        pending_ids: Vec<String>,
    ) {
        let mut m = self.m.lock();
        let s = m.entry(fp).or_default();
        s.silenced_by = active_ids;
        s.pending_silences = pending_ids;
        s.silences_version = version;
        s.recompute();
    }

    /// Records the alerts that currently inhibit `fp` (none: not inhibited).
    pub fn set_inhibited(&self, fp: Fingerprint, ids: Vec<String>) {
        let mut m = self.m.lock();
        let s = m.entry(fp).or_default();
        s.inhibited_by = ids;
        s.recompute();
    }

    /// The status of `fp`; `unprocessed` with empty lists when unknown.
    pub fn status(&self, fp: Fingerprint) -> AlertStatus {
        self.m.lock().get(&fp).cloned().unwrap_or_default()
    }

    /// Forgets `fp` (its alert was garbage-collected).
    pub fn delete(&self, fp: Fingerprint) {
        self.m.lock().remove(&fp);
    }

    /// How many marked alerts are in `state`.
    pub fn count(&self, state: AlertState) -> usize {
        self.m.lock().values().filter(|s| s.state == state).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_muters() {
        let m = Marker::default();
        let fp = Fingerprint(1);
        assert_eq!(m.status(fp).state, AlertState::Unprocessed);
        m.set_inhibited(fp, Vec::new());
        assert_eq!(m.status(fp).state, AlertState::Active);
        m.set_active_or_silenced(fp, 1, vec!["s".into()], Vec::new());
        assert_eq!(m.status(fp).state, AlertState::Suppressed);
        m.set_active_or_silenced(fp, 2, Vec::new(), vec!["p".into()]);
        assert_eq!(m.status(fp).state, AlertState::Active);
        m.set_inhibited(fp, vec!["x".into()]);
        assert_eq!(m.status(fp).state, AlertState::Suppressed);
        assert_eq!(m.count(AlertState::Suppressed), 1);
        m.delete(fp);
        assert_eq!(m.status(fp).state, AlertState::Unprocessed);
    }
}
