//! One aggregation group (Alertmanager's `aggrGroup`): the alerts of one route with the same
//! group labels, and the task that flushes them first after `group_wait`, then every
//! `group_interval`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{watch, Notify};
use vigil_model::Timestamp;

use super::Inner;
use crate::alert::Alert;
use crate::fingerprint::Fingerprint;
use crate::gotime::ZERO_TIME;
use crate::notify::GroupCtx;
use crate::query::alert_order;
use crate::receivers::is_resolved;

#[derive(Debug)]
struct State {
    alerts: HashMap<Fingerprint, Alert>,
    next_flush: Instant,
    has_flushed: bool,
}

#[derive(Debug)]
pub(crate) struct AggrGroup {
    pub ctx: Arc<GroupCtx>,
    state: Mutex<State>,
    wake: Notify,
    removed: AtomicBool,
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

impl AggrGroup {
    pub fn new(ctx: GroupCtx) -> Self {
        let first = Instant::now() + ms(ctx.opts.group_wait_ms);
        AggrGroup {
            ctx: Arc::new(ctx),
            state: Mutex::new(State {
                alerts: HashMap::new(),
                next_flush: first,
                has_flushed: false,
            }),
            wake: Notify::new(),
            removed: AtomicBool::new(false),
        }
    }

    /// Adds or replaces an alert. A version older than the one held (by `updated_at`) is
    /// ignored, so that the dispatcher's start-up snapshot cannot overwrite a newer update that
    /// raced it. Before the first flush, an alert that started more than `group_wait` ago makes
    /// the group flush at once, as in Alertmanager.
    pub fn insert(&self, alert: &Alert, now: Timestamp) {
        let mut st = self.state.lock();
        let fp = alert.fingerprint();
        if st
            .alerts
            .get(&fp)
            .is_some_and(|old| old.updated_at > alert.updated_at)
        {
            return;
        }
        st.alerts.insert(fp, alert.clone());
        let wait = i64::try_from(self.ctx.opts.group_wait_ms).unwrap_or(i64::MAX);
        if !st.has_flushed && alert.starts_at.saturating_add(wait) < now {
            st.next_flush = Instant::now();
            drop(st);
            self.wake.notify_one();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.state.lock().alerts.is_empty()
    }

    pub fn len(&self) -> usize {
        self.state.lock().alerts.len()
    }

    /// Ends the group's task (it was removed from the dispatcher).
    pub fn remove(&self) {
        self.removed.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// The group's task: waits for the next flush time (moved earlier by [`AggrGroup::insert`]),
    /// flushes, and ends when the dispatcher stops or removes the group. The flush itself is
    /// abandoned when the dispatcher stops.
    pub async fn run(self: Arc<Self>, inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
        loop {
            let next = self.state.lock().next_flush;
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                _ = self.wake.notified() => {
                    if self.removed.load(Ordering::SeqCst) {
                        return;
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(next.into()) => {}
            }
            let now = Instant::now();
            let interval = ms(self.ctx.opts.group_interval_ms);
            {
                let mut st = self.state.lock();
                if st.next_flush > now {
                    continue;
                }
                st.next_flush = now + interval;
                st.has_flushed = true;
            }
            // Deliveries get until the next flush, and at least the minimum timeout.
            let deadline = now + interval.max(inner.opts.min_notify_timeout);
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                _ = self.flush(&inner, deadline) => {}
            }
        }
    }

    /// Sends the group's alerts through the pipeline; on success, forgets the resolved alerts
    /// that were not updated meanwhile.
    async fn flush(&self, inner: &Arc<Inner>, deadline: Instant) {
        let now = inner.core.clock.now_ms();
        let mut alerts: Vec<Alert> = self.state.lock().alerts.values().cloned().collect();
        if alerts.is_empty() {
            return;
        }
        // An alert cannot resolve while its notification is under way: clear the end of every
        // alert still firing now.
        for a in &mut alerts {
            if !a.resolved_at(now) {
                a.ends_at = ZERO_TIME;
            }
        }
        alerts.sort_by(|x, y| alert_order(x.labels(), y.labels()));
        // What success lets go of, taken now so that the pipeline can own the alerts.
        let resolved: Vec<(Fingerprint, Timestamp)> = alerts
            .iter()
            .filter(|a| is_resolved(a))
            .map(|a| (a.fingerprint(), a.updated_at))
            .collect();
        let ok = inner
            .pipeline
            .exec(&inner.core, &self.ctx, alerts, now, deadline)
            .await;
        if !ok {
            return;
        }
        let mut st = self.state.lock();
        for (fp, updated_at) in resolved {
            if st
                .alerts
                .get(&fp)
                .is_some_and(|got| got.updated_at == updated_at)
            {
                st.alerts.remove(&fp);
            }
        }
    }
}
