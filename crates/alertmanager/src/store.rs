//! The alert store (Alertmanager's `provider/mem` over `store`): alerts by fingerprint, merged
//! when re-posted, garbage-collected once resolved.
//!
//! A re-posted alert is merged with the stored one ([`Alert::merge`]) only when their active
//! intervals overlap; otherwise it replaces it (a new firing of an alert that had resolved).
//! Collection ([`AlertStore::gc`]) removes every resolved alert; Alertmanager runs it every 30
//! minutes (`--alerts.gc-interval`), which is how long a resolved alert stays visible.
//!
//! Listeners ([`AlertListener`]) see every stored alert, in the order stored: this is the seam
//! where the dispatcher (aggregation groups) and the inhibitor's source caches are fed.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use vigil_model::Timestamp;

use crate::alert::Alert;
use crate::fingerprint::Fingerprint;

/// Something that wants to see every alert as it is stored (after merging).
pub trait AlertListener: Send + Sync {
    /// Called with the store's lock held: do not call back into the store; hand the alert off
    /// (for example to a channel) and return.
    fn on_alert(&self, alert: &Alert);
}

#[derive(Default)]
struct Inner {
    alerts: HashMap<Fingerprint, Alert>,
    listeners: Vec<Arc<dyn AlertListener>>,
}

/// Alerts by fingerprint.
#[derive(Default)]
pub struct AlertStore {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for AlertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.lock();
        f.debug_struct("AlertStore")
            .field("alerts", &inner.alerts.len())
            .field("listeners", &inner.listeners.len())
            .finish()
    }
}

impl AlertStore {
    /// Stores `alert`, merging it with a stored alert of the same fingerprint when their
    /// intervals overlap, and returns what was stored and whether one existed.
    pub fn put(&self, alert: Alert, now: Timestamp) -> (Alert, bool) {
        let mut inner = self.inner.lock();
        let fp = alert.fingerprint();
        let (stored, existing) = match inner.alerts.get(&fp) {
            Some(old) => {
                let overlaps = (alert.ends_at > old.starts_at && alert.ends_at < old.ends_at)
                    || (alert.starts_at > old.starts_at && alert.starts_at < old.ends_at);
                let a = if overlaps {
                    old.merge(&alert, now)
                } else {
                    alert
                };
                (a, true)
            }
            None => (alert, false),
        };
        inner.alerts.insert(fp, stored.clone());
        for l in &inner.listeners {
            l.on_alert(&stored);
        }
        (stored, existing)
    }

    pub fn get(&self, fp: Fingerprint) -> Option<Alert> {
        self.inner.lock().alerts.get(&fp).cloned()
    }

    /// Every stored alert, by fingerprint.
    pub fn list(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.inner.lock().alerts.values().cloned().collect();
        v.sort_by_key(Alert::fingerprint);
        v
    }

    pub fn len(&self) -> usize {
        self.inner.lock().alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes the alerts resolved at `now` and returns them (so the caller can forget their
    /// marker entries, as Alertmanager's GC callback does).
    pub fn gc(&self, now: Timestamp) -> Vec<Alert> {
        let mut inner = self.inner.lock();
        let mut removed = Vec::new();
        inner.alerts.retain(|_, a| {
            if a.resolved_at(now) {
                removed.push(a.clone());
                false
            } else {
                true
            }
        });
        removed.sort_by_key(Alert::fingerprint);
        removed
    }

    /// The fingerprints of the alerts not resolved at `now` (for the state gauges).
    pub fn unresolved_fingerprints(&self, now: Timestamp) -> Vec<Fingerprint> {
        self.inner
            .lock()
            .alerts
            .values()
            .filter(|a| !a.resolved_at(now))
            .map(Alert::fingerprint)
            .collect()
    }

    /// Removes a listener registered with [`AlertStore::subscribe`] (the same `Arc`).
    pub fn unsubscribe(&self, listener: &Arc<dyn AlertListener>) {
        self.inner
            .lock()
            .listeners
            .retain(|l| !Arc::ptr_eq(l, listener));
    }

    /// Registers a listener and returns the alerts stored so far, atomically: every alert is
    /// either in the returned list or passed to the listener later.
    pub fn subscribe(&self, listener: Arc<dyn AlertListener>) -> Vec<Alert> {
        let mut inner = self.inner.lock();
        inner.listeners.push(listener);
        let mut v: Vec<Alert> = inner.alerts.values().cloned().collect();
        v.sort_by_key(Alert::fingerprint);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::Labels;

    fn alert(start: Timestamp, end: Timestamp, updated: Timestamp) -> Alert {
        Alert::new(
            Labels::from_pairs([("alertname", "X")]).expect("labels"),
            start,
            end,
            updated,
        )
    }

    #[test]
    fn repost_merges_when_overlapping_else_replaces() {
        let s = AlertStore::default();
        let (_, existing) = s.put(alert(100, 1000, 100), 100);
        assert!(!existing);
        // Overlapping re-post with a later start keeps the first start.
        let (stored, existing) = s.put(alert(500, 2000, 500), 500);
        assert!(existing);
        assert_eq!((stored.starts_at, stored.ends_at), (100, 2000));
        // A new firing after the old one ended replaces it.
        let (stored, _) = s.put(alert(3000, 4000, 3000), 3000);
        assert_eq!((stored.starts_at, stored.ends_at), (3000, 4000));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn gc_removes_resolved() {
        let s = AlertStore::default();
        s.put(alert(100, 1000, 100), 100);
        assert!(s.gc(999).is_empty());
        assert_eq!(s.gc(1000).len(), 1);
        assert!(s.is_empty());
    }

    #[test]
    fn listeners_see_stored_alerts() {
        struct Count(Mutex<usize>);
        impl AlertListener for Count {
            fn on_alert(&self, _: &Alert) {
                *self.0.lock() += 1;
            }
        }
        let s = AlertStore::default();
        s.put(alert(100, 1000, 100), 100);
        let c = Arc::new(Count(Mutex::new(0)));
        assert_eq!(s.subscribe(c.clone()).len(), 1);
        s.put(alert(100, 1000, 200), 200);
        assert_eq!(*c.0.lock(), 1);
    }
}
