//! Sending alerts to external Alertmanagers, as Prometheus's notifier does for
//! `alerting.alertmanagers` (`notifier/notifier.go`, 2.42, API v2 only).
//!
//! Alerts handed to [`UpstreamSender::send`] are relabelled by the caller's
//! `alert_relabel_configs` function (an alert it drops is not sent), then queued. The queue is
//! bounded (10 000 by default, `--alertmanager.notification-queue-capacity`): when full, the
//! oldest alerts are dropped and counted in `vigil_alerts_dropped_total`. A single task takes
//! batches of up to 64 alerts and POSTs each batch, as a JSON array of API v2 `postableAlert`s
//! (`labels`, `annotations`, `startsAt`, `endsAt`, `generatorURL`), to
//! `<scheme>://<host><path_prefix>/api/v2/alerts` of every configured Alertmanager
//! concurrently, each with its own `http_config` (basic auth, authorization, TLS) and timeout.
//! A failed request is logged and counted per Alertmanager
//! (`vigil_alerts_send_failed_total{alertmanager}`, in alerts); a batch that no Alertmanager
//! accepted is counted as dropped. As in Prometheus there is no retry: the rule engine re-sends
//! firing alerts every `resend_delay`, and Alertmanager keeps them alive by `endsAt`.
//!
//! The caller computes the targets (service discovery and `relabel_configs` are Prometheus
//! configuration, not Alertmanager's) and replaces them on reload with
//! [`UpstreamSender::set_targets`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use prometheus_client::registry::Registry;
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, error};
use vigil_model::{Labels, Timestamp};

use crate::api::PostableAlert;
use crate::config::HttpConfig;
use crate::error::Error;
use crate::metrics::UpstreamMetrics;
use crate::receivers::http::{self, HttpClient};

/// An alert as Prometheus sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamAlert {
    /// External labels already applied by the caller.
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub generator_url: String,
}

/// One external Alertmanager.
#[derive(Debug, Clone)]
pub struct UpstreamTarget {
    /// `http` or `https`.
    pub scheme: String,
    /// `host:port`.
    pub host: String,
    /// `path_prefix` of the Alertmanager config (`/alertmanager`), may be empty.
    pub path_prefix: String,
    /// Authentication and TLS.
    pub http_config: HttpConfig,
    /// Bound on one request (Prometheus's `timeout`, default 10 s).
    pub timeout: Duration,
}

impl UpstreamTarget {
    /// A target with no credentials and Prometheus's default timeout.
    pub fn new(scheme: &str, host: &str, path_prefix: &str) -> Self {
        UpstreamTarget {
            scheme: scheme.to_owned(),
            host: host.to_owned(),
            path_prefix: path_prefix.to_owned(),
            http_config: HttpConfig::default(),
            timeout: Duration::from_secs(10),
        }
    }

    /// `<scheme>://<host><path_prefix>/api/v2/alerts`, the prefix joined as Go's `path.Join`
    /// joins it (one slash between parts).
    pub fn alerts_url(&self) -> String {
        let mut path = String::new();
        for seg in self
            .path_prefix
            .split('/')
            .chain(["api", "v2", "alerts"])
            .filter(|s| !s.is_empty())
        {
            path.push('/');
            path.push_str(seg);
        }
        format!("{}://{}{path}", self.scheme, self.host)
    }
}

/// The caller's `alert_relabel_configs`: the relabelled labels, or `None` to drop the alert.
pub type AlertRelabel = Arc<dyn Fn(&Labels) -> Option<Labels> + Send + Sync>;

/// Queue and batch sizes.
#[derive(Debug, Clone)]
pub struct UpstreamOptions {
    /// Alerts the queue holds before dropping the oldest (Prometheus: 10 000).
    pub capacity: usize,
    /// Alerts per request (Prometheus: 64).
    pub max_batch: usize,
}

impl Default for UpstreamOptions {
    fn default() -> Self {
        UpstreamOptions {
            capacity: 10_000,
            max_batch: 64,
        }
    }
}

#[derive(Debug)]
struct Target {
    url: String,
    client: HttpClient,
}

/// Targets with their HTTP clients built ([`UpstreamSender::build_targets`]), not yet in
/// force.
#[derive(Debug)]
pub struct BuiltTargets(Vec<Arc<Target>>);

struct Inner {
    opts: UpstreamOptions,
    queue: Mutex<VecDeque<UpstreamAlert>>,
    more: Notify,
    targets: RwLock<Arc<Vec<Arc<Target>>>>,
    relabel: RwLock<Option<AlertRelabel>>,
    metrics: UpstreamMetrics,
}

/// The sender to external Alertmanagers.
pub struct UpstreamSender {
    inner: Arc<Inner>,
    task: Mutex<Option<(watch::Sender<bool>, JoinHandle<()>)>>,
}

impl std::fmt::Debug for UpstreamSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamSender")
            .field("queued", &self.queue_len())
            .field("targets", &self.inner.targets.read().len())
            .finish()
    }
}

/// The `postableAlert` Prometheus posts for an alert (an empty generator URL left out).
impl From<&UpstreamAlert> for PostableAlert {
    fn from(a: &UpstreamAlert) -> Self {
        PostableAlert {
            labels: Some(
                a.labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect(),
            ),
            annotations: Some(a.annotations.clone()),
            starts_at: Some(a.starts_at),
            ends_at: Some(a.ends_at),
            generator_url: (!a.generator_url.is_empty()).then(|| a.generator_url.clone()),
        }
    }
}

impl UpstreamSender {
    /// A sender with no targets and no relabelling; call [`UpstreamSender::start`] to send.
    pub fn new(opts: UpstreamOptions) -> Self {
        let metrics = UpstreamMetrics::default();
        metrics
            .queue_capacity
            .set(i64::try_from(opts.capacity).unwrap_or(i64::MAX));
        UpstreamSender {
            inner: Arc::new(Inner {
                opts,
                queue: Mutex::new(VecDeque::new()),
                more: Notify::new(),
                targets: RwLock::new(Arc::new(Vec::new())),
                relabel: RwLock::new(None),
                metrics,
            }),
            task: Mutex::new(None),
        }
    }

    /// Registers `vigil_alerts_*` into `registry`. Call once.
    pub fn register_metrics(&self, registry: &mut Registry) {
        self.inner.metrics.register(registry);
    }

    pub fn metrics(&self) -> &UpstreamMetrics {
        &self.inner.metrics
    }

    /// Replaces the `alert_relabel_configs` function (`None`: alerts go out unchanged).
    pub fn set_relabel(&self, relabel: Option<AlertRelabel>) {
        *self.inner.relabel.write() = relabel;
    }

    /// Replaces the Alertmanagers alerts are sent to ([`UpstreamSender::build_targets`], then
    /// [`UpstreamSender::install_targets`]).
    ///
    /// # Errors
    /// As [`UpstreamSender::build_targets`]; the previous targets stay in force.
    pub fn set_targets(&self, targets: Vec<UpstreamTarget>) -> Result<(), Error> {
        self.install_targets(Self::build_targets(&targets)?);
        Ok(())
    }

    /// Builds the targets' HTTP clients without putting them in force, so that a reload can
    /// check every part of a configuration before it changes any.
    ///
    /// # Errors
    /// [`Error::Integration`] when a target's `http_config` cannot be used (unreadable CA
    /// file, unsupported option).
    pub fn build_targets(targets: &[UpstreamTarget]) -> Result<BuiltTargets, Error> {
        let mut built = Vec::with_capacity(targets.len());
        for t in targets {
            let url = t.alerts_url();
            let client = http::build(&t.http_config, Some(t.timeout)).map_err(|reason| {
                Error::Integration {
                    receiver: "alerting.alertmanagers".to_owned(),
                    integration: url.clone(),
                    reason,
                }
            })?;
            built.push(Arc::new(Target { url, client }));
        }
        Ok(BuiltTargets(built))
    }

    /// Puts targets [`UpstreamSender::build_targets`] built in force; cannot fail.
    pub fn install_targets(&self, built: BuiltTargets) {
        let now = Arc::new(built.0);
        let old = std::mem::replace(&mut *self.inner.targets.write(), now.clone());
        for t in old.iter().filter(|o| !now.iter().any(|n| n.url == o.url)) {
            self.inner.metrics.forget(&t.url);
        }
        self.inner
            .metrics
            .alertmanagers
            .set(i64::try_from(now.len()).unwrap_or(i64::MAX));
    }

    /// Whether any Alertmanager is configured.
    pub fn has_targets(&self) -> bool {
        !self.inner.targets.read().is_empty()
    }

    /// The URLs alerts are posted to.
    pub fn target_urls(&self) -> Vec<String> {
        self.inner
            .targets
            .read()
            .iter()
            .map(|t| t.url.clone())
            .collect()
    }

    /// Relabels and queues alerts; never blocks on the network. When the queue overflows the
    /// oldest alerts are dropped.
    pub fn send(&self, alerts: Vec<UpstreamAlert>) {
        let relabel = self.inner.relabel.read().clone();
        let mut alerts: Vec<UpstreamAlert> = match relabel {
            None => alerts,
            Some(f) => alerts
                .into_iter()
                .filter_map(|mut a| {
                    let l = f(&a.labels)?;
                    if l.is_empty() {
                        return None;
                    }
                    a.labels = l;
                    Some(a)
                })
                .collect(),
        };
        if alerts.is_empty() {
            return;
        }
        let cap = self.inner.opts.capacity;
        let mut dropped = 0usize;
        if alerts.len() > cap {
            let d = alerts.len() - cap;
            alerts.drain(..d);
            dropped += d;
        }
        let mut q = self.inner.queue.lock();
        let overflow = (q.len() + alerts.len()).saturating_sub(cap);
        let n = overflow.min(q.len());
        q.drain(..n);
        dropped += overflow;
        q.extend(alerts);
        self.inner.metrics.set_queue(q.len());
        drop(q);
        if dropped > 0 {
            self.inner.metrics.dropped.inc_by(dropped as u64);
            error!(
                count = dropped,
                "alert notification queue full, dropping alerts"
            );
        }
        self.inner.more.notify_one();
    }

    /// Alerts waiting to be sent.
    pub fn queue_len(&self) -> usize {
        self.inner.queue.lock().len()
    }

    /// Starts the sending task on `runtime` (again after [`UpstreamSender::stop`]).
    pub fn start(&self, runtime: &Handle) {
        let mut slot = self.task.lock();
        if slot.is_some() {
            return;
        }
        let (stop, stop_rx) = watch::channel(false);
        let task = runtime.spawn(run(self.inner.clone(), stop_rx));
        *slot = Some((stop, task));
    }

    /// Stops the sending task; queued alerts stay queued.
    pub async fn stop(&self) {
        let t = self.task.lock().take();
        if let Some((stop, task)) = t {
            let _ = stop.send(true);
            let _ = task.await;
        }
    }
}

impl Drop for UpstreamSender {
    fn drop(&mut self) {
        if let Some((stop, _)) = self.task.get_mut().take() {
            let _ = stop.send(true);
        }
    }
}

async fn run(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = inner.more.notified() => {}
        }
        loop {
            let batch: Vec<UpstreamAlert> = {
                let mut q = inner.queue.lock();
                let n = inner.opts.max_batch.max(1).min(q.len());
                let b = q.drain(..n).collect();
                inner.metrics.set_queue(q.len());
                b
            };
            if batch.is_empty() {
                break;
            }
            let sent = tokio::select! {
                biased;
                _ = stop.changed() => {
                    // Stopped mid-send: the batch goes back to the front of the queue, so that
                    // "queued alerts stay queued" holds for it too (a target that already took
                    // it gets it again, which Alertmanager treats as an update).
                    requeue(&inner, batch);
                    return;
                }
                ok = send_all(&inner, &batch) => ok,
            };
            if !sent {
                inner.metrics.dropped.inc_by(batch.len() as u64);
            }
        }
    }
}

/// Puts an unsent batch back at the front of the queue, oldest first, within the capacity
/// (newer alerts already queued win; what does not fit is counted as dropped).
fn requeue(inner: &Inner, batch: Vec<UpstreamAlert>) {
    let mut q = inner.queue.lock();
    let room = inner.opts.capacity.saturating_sub(q.len());
    let skip = batch.len().saturating_sub(room);
    for a in batch.into_iter().skip(skip).rev() {
        q.push_front(a);
    }
    inner.metrics.set_queue(q.len());
    drop(q);
    if skip > 0 {
        inner.metrics.dropped.inc_by(skip as u64);
    }
}

/// Posts one batch to every target; whether at least one accepted it.
async fn send_all(inner: &Arc<Inner>, batch: &[UpstreamAlert]) -> bool {
    let targets = inner.targets.read().clone();
    if targets.is_empty() {
        return false;
    }
    let body: Vec<PostableAlert> = batch.iter().map(PostableAlert::from).collect();
    let body = match serde_json::to_vec(&body) {
        Ok(b) => Arc::new(b),
        Err(e) => {
            error!(error = %e, "encoding alerts for Alertmanager");
            return false;
        }
    };
    let n = batch.len();
    let mut set = JoinSet::new();
    for t in targets.iter() {
        let t = t.clone();
        let body = body.clone();
        let metrics = inner.metrics.clone();
        set.spawn(async move {
            let res = match t.client.post_json(&t.url, body.to_vec(), false).await {
                Ok(reply) if reply.status.is_success() => Ok(()),
                Ok(reply) => Err(format!("bad response status {}", reply.status)),
                Err(f) => Err(f.reason),
            };
            match res {
                Ok(()) => {
                    metrics.sent(&t.url, n);
                    debug!(alertmanager = %t.url, count = n, "alerts sent");
                    true
                }
                Err(e) => {
                    metrics.failed(&t.url, n);
                    error!(alertmanager = %t.url, count = n, error = %e, "error sending alerts");
                    false
                }
            }
        });
    }
    let mut any = false;
    while let Some(r) = set.join_next().await {
        any |= r.unwrap_or(false);
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str) -> UpstreamAlert {
        UpstreamAlert {
            labels: Labels::from_pairs([("alertname", name)]).expect("labels"),
            annotations: BTreeMap::new(),
            starts_at: 0,
            ends_at: 1,
            generator_url: String::new(),
        }
    }

    #[test]
    fn urls_join_like_go() {
        let mut t = UpstreamTarget::new("http", "am:9093", "");
        assert_eq!(t.alerts_url(), "http://am:9093/api/v2/alerts");
        t.path_prefix = "/am/".into();
        assert_eq!(t.alerts_url(), "http://am:9093/am/api/v2/alerts");
        t.path_prefix = "x".into();
        assert_eq!(t.alerts_url(), "http://am:9093/x/api/v2/alerts");
    }

    #[test]
    fn full_queue_drops_oldest() {
        let s = UpstreamSender::new(UpstreamOptions {
            capacity: 3,
            max_batch: 2,
        });
        s.send(vec![alert("a"), alert("b")]);
        s.send(vec![alert("c"), alert("d")]);
        assert_eq!(s.queue_len(), 3);
        assert_eq!(s.metrics().dropped.get(), 1);
        s.send((0..5).map(|i| alert(&i.to_string())).collect());
        assert_eq!(s.metrics().dropped.get(), 6);
        let names: Vec<String> = s
            .inner
            .queue
            .lock()
            .iter()
            .map(|a| a.labels.get("alertname").unwrap_or("").to_owned())
            .collect();
        assert_eq!(names, vec!["2", "3", "4"]);
        s.set_relabel(Some(Arc::new(|l: &Labels| {
            (l.get("alertname") != Some("drop")).then(|| l.clone())
        })));
        s.send(vec![alert("drop")]);
        assert_eq!(s.queue_len(), 3);
        assert_eq!(
            s.metrics().dropped.get(),
            6,
            "relabel drops are not queue drops"
        );
    }

    #[test]
    fn stopped_mid_send_keeps_the_batch_queued() {
        let s = UpstreamSender::new(UpstreamOptions {
            capacity: 3,
            max_batch: 2,
        });
        s.send(vec![alert("c")]);
        requeue(&s.inner, vec![alert("a"), alert("b")]);
        let names = |s: &UpstreamSender| -> Vec<String> {
            s.inner
                .queue
                .lock()
                .iter()
                .map(|a| a.labels.get("alertname").unwrap_or("").to_owned())
                .collect()
        };
        assert_eq!(names(&s), vec!["a", "b", "c"]);
        assert_eq!(s.metrics().dropped.get(), 0);
        // Over capacity: the oldest of the batch is dropped.
        requeue(&s.inner, vec![alert("x")]);
        assert_eq!(names(&s), vec!["a", "b", "c"]);
        assert_eq!(s.metrics().dropped.get(), 1);
    }
}
