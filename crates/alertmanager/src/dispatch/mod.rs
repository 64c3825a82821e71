//! The dispatcher (Alertmanager's `dispatch/dispatch.go`): every stored alert is routed through
//! the routing tree (`continue` honoured, so one alert may join several groups) into aggregation
//! groups keyed by route and group labels; each group flushes through the notification
//! pipeline on its own task, first after `group_wait` (at once when the alert is already older
//! than that), then every `group_interval`. Resolved alerts leave their group once notified;
//! empty groups are removed every `cleanup_interval`.
//!
//! The dispatcher subscribes to the alert store and routes each alert synchronously in the
//! store's listener (routing and grouping are cheap and take no async work), so an alert is in
//! its groups when `post_alerts` returns. One dispatcher serves one configuration: a reload
//! starts a new one (which re-reads every stored alert) and stops the old, keeping alerts,
//! silences and the notification log, as Alertmanager does.
//!
//! Time: "now" comes from the core's [`vigil_model::Clock`]; waiting is tokio's timers.

mod group;

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::alert::Alert;
use crate::alertmanager::Core;
use crate::fingerprint::Fingerprint;
use crate::notify::{GroupCtx, NotifierOptions, Pipeline};
use crate::route::RouteIndex;
use crate::store::AlertListener;

use group::AggrGroup;

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Shared by the dispatcher's tasks.
#[derive(Debug)]
pub(crate) struct Inner {
    core: Arc<Core>,
    pipeline: Arc<Pipeline>,
    handle: Handle,
    opts: NotifierOptions,
    groups: Mutex<HashMap<(RouteIndex, Fingerprint), Arc<AggrGroup>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    stop: watch::Receiver<bool>,
}

impl Inner {
    /// Routes one alert into its groups, creating (and starting) groups as needed.
    fn process(self: &Arc<Self>, alert: &Alert) {
        let now = self.core.clock.now_ms();
        let config = self.pipeline.config().clone();
        for route in config.route.match_labels(alert.labels()) {
            let labels = route.group_labels(alert.labels());
            let key = (route.index, Fingerprint::of(&labels));
            let mut groups = self.groups.lock();
            if let Some(g) = groups.get(&key) {
                g.insert(alert, now);
                continue;
            }
            let g = Arc::new(AggrGroup::new(GroupCtx {
                group_key: route.group_key(&labels),
                group_labels: labels,
                receiver: route.opts.receiver.clone(),
                opts: route.opts.clone(),
            }));
            // The first alert is in before the task starts.
            g.insert(alert, now);
            groups.insert(key, g.clone());
            self.core
                .metrics
                .aggregation_groups
                .set(gauge(groups.len()));
            drop(groups);
            let task = self.handle.spawn(g.run(self.clone(), self.stop.clone()));
            self.tasks.lock().push(task);
        }
    }

    /// Removes empty groups and forgets finished tasks.
    fn cleanup(&self) {
        let mut groups = self.groups.lock();
        groups.retain(|_, g| {
            if g.is_empty() {
                g.remove();
                false
            } else {
                true
            }
        });
        self.core
            .metrics
            .aggregation_groups
            .set(gauge(groups.len()));
        drop(groups);
        self.tasks.lock().retain(|t| !t.is_finished());
    }
}

/// The store listener: routes each stored alert. Weak, so that a stopped dispatcher is freed
/// even if a store outlives it.
struct Listener(Weak<Inner>);

impl AlertListener for Listener {
    fn on_alert(&self, alert: &Alert) {
        if let Some(inner) = self.0.upgrade() {
            inner.process(alert);
        }
    }
}

/// A running dispatcher.
pub(crate) struct Dispatcher {
    inner: Arc<Inner>,
    listener: Arc<dyn AlertListener>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("groups", &self.inner.groups.lock().len())
            .finish()
    }
}

impl Dispatcher {
    /// Subscribes to the store, groups every alert already stored, and starts the cleanup task.
    pub fn start(
        core: Arc<Core>,
        pipeline: Arc<Pipeline>,
        handle: Handle,
        opts: NotifierOptions,
    ) -> Dispatcher {
        let (stop, stop_rx) = watch::channel(false);
        let cleanup_every = opts.cleanup_interval;
        let inner = Arc::new(Inner {
            core: core.clone(),
            pipeline,
            handle: handle.clone(),
            opts,
            groups: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
            stop: stop_rx.clone(),
        });
        let listener: Arc<dyn AlertListener> = Arc::new(Listener(Arc::downgrade(&inner)));
        // Alerts stored from here on reach the listener; those stored before are returned. An
        // update racing this snapshot is kept by the groups' `updated_at` check.
        for a in core.alerts.subscribe(listener.clone()) {
            inner.process(&a);
        }
        let weak = Arc::downgrade(&inner);
        let mut stop_cleanup = stop_rx;
        let task = handle.spawn(async move {
            let mut tick = tokio::time::interval(cleanup_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    biased;
                    _ = stop_cleanup.changed() => return,
                    _ = tick.tick() => {}
                }
                match weak.upgrade() {
                    Some(inner) => inner.cleanup(),
                    None => return,
                }
            }
        });
        inner.tasks.lock().push(task);
        Dispatcher {
            inner,
            listener,
            stop,
        }
    }

    /// Stops routing new alerts and tells every task to end (in-flight notifications are
    /// abandoned, as Alertmanager cancels them on reload). Returns the tasks to await.
    pub fn stop(&self) -> Vec<JoinHandle<()>> {
        self.inner.core.alerts.unsubscribe(&self.listener);
        let _ = self.stop.send(true);
        self.inner.core.metrics.aggregation_groups.set(0);
        std::mem::take(&mut *self.inner.tasks.lock())
    }

    /// The number of aggregation groups.
    pub fn group_count(&self) -> usize {
        self.inner.groups.lock().len()
    }

    /// How many alerts the groups hold in total (an alert routed twice counts twice).
    pub fn grouped_alerts(&self) -> usize {
        self.inner.groups.lock().values().map(|g| g.len()).sum()
    }
}
