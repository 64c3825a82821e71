//! The facade's notification controls: starting the notifier (dispatcher, notification-log
//! writer and maintenance) on a tokio runtime, reloading it, stopping it, and access to the
//! notification log, the metrics and the integrations' last outcomes.

use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info};
use vigil_template::NotificationTemplates;

use super::{Alertmanager, Core};
use crate::config::Config;
use crate::dispatch::Dispatcher;
use crate::error::Error;
use crate::metrics::{register_notifier, NotifierMetrics};
use crate::nflog::NotificationLog;
use crate::notify::{IntegrationStatus, NotifierOptions, Pipeline};

/// A started notifier.
#[derive(Debug)]
pub(super) struct Running {
    handle: Handle,
    opts: NotifierOptions,
    dispatcher: Dispatcher,
    /// Ends the log writer and the maintenance task.
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Writes the notification log shortly after it changes.
async fn nflog_writer(
    core: Arc<Core>,
    delay: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = core.nflog.changed() => {}
        }
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        let nflog = core.nflog.clone();
        let _ = tokio::task::spawn_blocking(move || nflog.snapshot_logged()).await;
    }
}

/// Alertmanager's maintenance: drops expired log entries and writes the log.
async fn maintenance(core: Arc<Core>, every: std::time::Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let nflog = core.nflog.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let removed = nflog.gc();
            if removed > 0 {
                tracing::debug!(removed, "notification log entries expired");
            }
            nflog.snapshot_logged();
        })
        .await;
    }
}

impl Alertmanager {
    /// Starts notifying: a dispatcher that groups every stored and future alert and flushes
    /// the groups through the notification pipeline, plus the tasks that write and maintain the
    /// notification log. Everything runs on `runtime`.
    ///
    /// # Errors
    /// [`Error::Integration`] when a receiver's integration cannot be built (nothing is
    /// started then), [`Error::Notifier`] when the notifier already runs.
    pub fn start_notifier(&self, runtime: &Handle, opts: NotifierOptions) -> Result<(), Error> {
        let mut slot = self.notifier.lock();
        if slot.is_some() {
            return Err(Error::Notifier(
                "the notifier is already running".to_owned(),
            ));
        }
        let pipeline = Arc::new(Pipeline::build(self.config(), &opts)?);
        self.core.nflog.log_opened();
        let dispatcher =
            Dispatcher::start(self.core.clone(), pipeline, runtime.clone(), opts.clone());
        let (stop, stop_rx) = watch::channel(false);
        let tasks = vec![
            runtime.spawn(nflog_writer(
                self.core.clone(),
                opts.nflog_write_delay,
                stop_rx.clone(),
            )),
            runtime.spawn(maintenance(
                self.core.clone(),
                opts.maintenance_interval,
                stop_rx,
            )),
        ];
        let groups = dispatcher.group_count();
        *slot = Some(Running {
            handle: runtime.clone(),
            opts,
            dispatcher,
            stop,
            tasks,
        });
        // Not `self.aggregation_groups()`: it takes the lock held here (and `info!` evaluates
        // its fields only when a subscriber listens, which is why tests never saw it).
        drop(slot);
        info!(groups, "notifier started");
        Ok(())
    }

    /// Stops notifying: no new alerts are grouped, in-flight notifications are abandoned, the
    /// tasks end, and the notification log is written one last time. Alerts and silences stay.
    /// Does nothing when the notifier is not running.
    pub async fn stop_notifier(&self) {
        let running = self.notifier.lock().take();
        let Some(r) = running else {
            return;
        };
        let mut tasks = r.dispatcher.stop();
        let _ = r.stop.send(true);
        tasks.extend(r.tasks);
        for t in tasks {
            let _ = t.await;
        }
        let nflog = self.core.nflog.clone();
        let _ = r
            .handle
            .spawn_blocking(move || nflog.snapshot_logged())
            .await;
        info!("notifier stopped");
    }

    /// Whether [`Alertmanager::start_notifier`] was called and the notifier not stopped.
    pub fn notifier_running(&self) -> bool {
        self.notifier.lock().is_some()
    }

    /// Reloads configuration and templates together: the new receivers are built first, and
    /// when one cannot be, nothing changes and the error is returned. Otherwise the
    /// configuration is swapped (as [`Alertmanager::apply_config`]) and, when the notifier runs,
    /// its dispatcher is rebuilt with the new routes, receivers and templates; alerts,
    /// silences and the notification log are kept. When the notifier is not running only the
    /// configuration changes; templates are given to [`Alertmanager::start_notifier`].
    ///
    /// # Errors
    /// [`Error::Integration`] for a receiver that cannot be built.
    pub fn reload(
        &self,
        config: Config,
        templates: Arc<NotificationTemplates>,
    ) -> Result<(), Error> {
        let config = Arc::new(config);
        let mut slot = self.notifier.lock();
        let Some(r) = slot.as_mut() else {
            drop(slot);
            self.swap_config(config);
            return Ok(());
        };
        let mut opts = r.opts.clone();
        opts.templates = templates;
        let pipeline = Arc::new(Pipeline::build(config.clone(), &opts)?);
        self.swap_config(config);
        Self::replace_dispatcher(&self.core, r, pipeline, opts);
        Ok(())
    }

    /// The new dispatcher starts after the old one stopped routing, so that no group is
    /// flushed by both; the old tasks end by themselves.
    fn replace_dispatcher(
        core: &Arc<Core>,
        r: &mut Running,
        pipeline: Arc<Pipeline>,
        opts: NotifierOptions,
    ) {
        let _old_tasks = r.dispatcher.stop();
        r.dispatcher = Dispatcher::start(core.clone(), pipeline, r.handle.clone(), opts.clone());
        r.opts = opts;
        info!(groups = r.dispatcher.group_count(), "notifier reloaded");
    }

    pub(super) fn restart_dispatcher_logged(&self, config: Arc<Config>) {
        let mut slot = self.notifier.lock();
        let Some(r) = slot.as_mut() else {
            return;
        };
        match Pipeline::build(config, &r.opts) {
            Ok(p) => {
                let opts = r.opts.clone();
                Self::replace_dispatcher(&self.core, r, Arc::new(p), opts);
            }
            Err(e) => {
                error!(error = %e, "reload: receivers not rebuilt, the previous ones keep notifying")
            }
        }
    }

    /// The number of aggregation groups (0 when the notifier is not running).
    pub fn aggregation_groups(&self) -> usize {
        self.notifier
            .lock()
            .as_ref()
            .map_or(0, |r| r.dispatcher.group_count())
    }

    /// How many alerts the aggregation groups hold (an alert routed to two groups counts twice).
    pub fn grouped_alerts(&self) -> usize {
        self.notifier
            .lock()
            .as_ref()
            .map_or(0, |r| r.dispatcher.grouped_alerts())
    }

    /// The notification log.
    pub fn nflog(&self) -> &Arc<NotificationLog> {
        &self.core.nflog
    }

    /// The notifier's metrics (they count whether registered or not).
    pub fn metrics(&self) -> &NotifierMetrics {
        &self.core.metrics
    }

    /// Registers the notifier's metrics, and the alert and silence state gauges computed at
    /// scrape time, into `registry`. Call once.
    pub fn register_metrics(&self, registry: &mut Registry) {
        register_notifier(&self.core, registry);
    }

    /// The last outcome of each integration tried so far, by receiver, integration and index.
    pub fn integration_status(&self) -> Vec<IntegrationStatus> {
        self.core
            .integration_status
            .lock()
            .values()
            .cloned()
            .collect()
    }
}

impl Drop for Alertmanager {
    /// A notifier still running is told to stop (its tasks end on their own) and the log is
    /// written; [`Alertmanager::stop_notifier`] is the orderly way.
    fn drop(&mut self) {
        if let Some(r) = self.notifier.get_mut().take() {
            let _ = r.dispatcher.stop();
            let _ = r.stop.send(true);
            self.core.nflog.snapshot_logged();
        }
    }
}
