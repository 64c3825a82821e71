//! The scrape manager: owns the pools, applies config reloads, answers status queries.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use prometheus_client::registry::Registry;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;
use vigil_model::Clock;
use vigil_storage::MetricAppend;

use crate::discovery::FileSd;
use crate::metrics::ScrapeMetrics;
use crate::pool::{Pool, PoolView, STATIC_PROVIDER};
use crate::scrape_loop::{Env, StopMode};
use crate::status::{label_map, DroppedTarget, TargetMetadata, TargetsStatus};
use crate::{FileSdSettings, ScrapePoolSettings, ScrapeSettings};

/// Tuning that is not part of `prometheus.yml`.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Mixed into every target's offset so that several servers scraping the same targets do
    /// not all hit them at once (Prometheus derives it from its hostname and external labels).
    pub jitter_seed: u64,
    /// How often file_sd files are checked for changes. Default 5 s.
    pub file_sd_poll_interval: Duration,
    /// The host (optionally `host:port`) that replaces loopback hosts in `globalUrl`; `None`
    /// keeps `globalUrl` equal to `scrapeUrl`.
    pub global_url_host: Option<String>,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            jitter_seed: 0,
            file_sd_poll_interval: Duration::from_secs(5),
            global_url_host: None,
        }
    }
}

#[derive(Debug)]
struct Watcher {
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

#[derive(Debug)]
struct PoolEntry {
    settings: Arc<ScrapePoolSettings>,
    pool: Arc<Mutex<Pool>>,
    watchers: Vec<Watcher>,
}

/// Runs one scrape loop per target of every configured pool and keeps them in line with the
/// configuration and with file-based discovery.
#[derive(Debug)]
pub struct ScrapeManager {
    env: Arc<Env>,
    options: ManagerOptions,
    pools: Mutex<BTreeMap<String, PoolEntry>>,
    views: RwLock<BTreeMap<String, Arc<RwLock<PoolView>>>>,
}

fn file_provider(i: usize) -> String {
    format!("file_sd/{i}")
}

impl ScrapeManager {
    /// A manager with no pools; call [`ScrapeManager::apply`] to start scraping. Samples go to
    /// `store`, scrape timestamps come from `clock`, and the `vigil_scrape_*` metrics are
    /// registered in `registry`.
    pub fn new(
        store: Arc<dyn MetricAppend>,
        clock: Arc<dyn Clock>,
        registry: &mut Registry,
        options: ManagerOptions,
    ) -> Self {
        ScrapeManager {
            env: Arc::new(Env {
                store,
                clock,
                metrics: ScrapeMetrics::new(registry),
                jitter_seed: options.jitter_seed,
            }),
            options,
            pools: Mutex::new(BTreeMap::new()),
            views: RwLock::new(BTreeMap::new()),
        }
    }

    /// Applies a (re)loaded configuration. Removed pools stop and their series go stale;
    /// unchanged pools are left alone; a pool whose targets alone changed keeps the loops of
    /// its unchanged targets; a pool whose scrape settings changed restarts its loops, carrying
    /// staleness state over for targets whose series continue; new pools start. Returns once
    /// every target of the new configuration (file_sd files read once) has its loop and every
    /// removed target's stale markers are written.
    pub async fn apply(&self, settings: &ScrapeSettings) {
        let mut pools = self.pools.lock().await;
        let wanted: Vec<&str> = settings.pools.iter().map(|p| p.job_name.as_str()).collect();
        let removed: Vec<String> = pools
            .keys()
            .filter(|k| !wanted.contains(&k.as_str()))
            .cloned()
            .collect();
        for job in removed {
            if let Some(entry) = pools.remove(&job) {
                tracing::info!(scrape_pool = %job, "stopping removed scrape pool");
                stop_entry(entry, StopMode::Stale).await;
            }
            self.views.write().remove(&job);
        }
        for ps in &settings.pools {
            let job = ps.job_name.clone();
            match pools.get_mut(&job) {
                Some(entry) if *entry.settings == *ps => {}
                Some(entry) => self.update_pool(entry, ps).await,
                None => {
                    let entry = self.start_pool(ps).await;
                    pools.insert(job, entry);
                }
            }
        }
    }

    async fn start_pool(&self, ps: &ScrapePoolSettings) -> PoolEntry {
        tracing::info!(scrape_pool = %ps.job_name, "starting scrape pool");
        let settings = Arc::new(ps.clone());
        let sds = self.read_file_sd(&ps.file_sd_configs).await;
        let mut pool = Pool::new(Arc::clone(&self.env), Arc::clone(&settings));
        pool.groups
            .insert(STATIC_PROVIDER.to_owned(), ps.static_configs.clone());
        for (i, sd) in sds.iter().enumerate() {
            pool.groups.insert(file_provider(i), sd.groups());
        }
        pool.sync(false).await;
        self.views
            .write()
            .insert(ps.job_name.clone(), Arc::clone(&pool.view));
        let pool = Arc::new(Mutex::new(pool));
        let watchers = self.spawn_watchers(&pool, sds);
        PoolEntry {
            settings,
            pool,
            watchers,
        }
    }

    /// Brings a running pool to new settings. When only target discovery changed, loops of
    /// unchanged targets keep running; otherwise every loop restarts with the new settings.
    async fn update_pool(&self, entry: &mut PoolEntry, ps: &ScrapePoolSettings) {
        let settings = Arc::new(ps.clone());
        let discovery_changed = entry.settings.file_sd_configs != ps.file_sd_configs;
        let mut sds = Vec::new();
        if discovery_changed {
            stop_watchers(std::mem::take(&mut entry.watchers)).await;
            sds = self.read_file_sd(&ps.file_sd_configs).await;
        }
        {
            let mut pool = entry.pool.lock().await;
            if discovery_changed {
                pool.groups.clear();
                for (i, sd) in sds.iter().enumerate() {
                    pool.groups.insert(file_provider(i), sd.groups());
                }
            }
            pool.groups
                .insert(STATIC_PROVIDER.to_owned(), ps.static_configs.clone());
            if same_loops(&entry.settings, ps) {
                tracing::info!(scrape_pool = %ps.job_name, "updating targets of scrape pool");
                pool.retarget(Arc::clone(&settings)).await;
            } else {
                tracing::info!(scrape_pool = %ps.job_name, "reloading changed scrape pool");
                pool.reload(Arc::clone(&settings)).await;
            }
        }
        if discovery_changed {
            entry.watchers = self.spawn_watchers(&entry.pool, sds);
        }
        entry.settings = settings;
    }

    fn spawn_watchers(&self, pool: &Arc<Mutex<Pool>>, sds: Vec<FileSd>) -> Vec<Watcher> {
        sds.into_iter()
            .enumerate()
            .map(|(i, sd)| self.spawn_watcher(Arc::clone(pool), file_provider(i), sd))
            .collect()
    }

    /// Stops every loop and watcher without writing stale markers (the server is shutting
    /// down and will resume where it was, as Prometheus does).
    pub async fn stop(&self) {
        let mut pools = self.pools.lock().await;
        for (_, entry) in std::mem::take(&mut *pools) {
            stop_entry(entry, StopMode::Handover).await;
        }
        self.views.write().clear();
    }

    /// Active and dropped targets of every pool, pools in name order.
    pub fn targets(&self) -> TargetsStatus {
        let views = self.views.read();
        let mut out = TargetsStatus::default();
        for (job, view) in views.iter() {
            let v = view.read();
            out.active_targets.extend(
                v.active
                    .iter()
                    .map(|t| t.to_active(self.options.global_url_host.as_deref())),
            );
            out.dropped_targets
                .extend(v.dropped.iter().map(|l| DroppedTarget {
                    discovered_labels: label_map(l),
                    scrape_pool: job.clone(),
                }));
            out.dropped_target_counts
                .insert(job.clone(), v.dropped_count);
        }
        out
    }

    /// The metadata (HELP/TYPE/UNIT) of every active target's last successful scrape.
    pub fn metadata(&self) -> Vec<TargetMetadata> {
        let views = self.views.read();
        let mut out = Vec::new();
        for (job, view) in views.iter() {
            for t in &view.read().active {
                out.push(TargetMetadata {
                    scrape_pool: job.clone(),
                    target: t.public.clone(),
                    metadata: t.metadata.lock().values().cloned().collect(),
                });
            }
        }
        out
    }

    /// The scrape pools' names, in order.
    pub fn scrape_pools(&self) -> Vec<String> {
        self.views.read().keys().cloned().collect()
    }

    async fn read_file_sd(&self, cfgs: &[FileSdSettings]) -> Vec<FileSd> {
        let cfgs = cfgs.to_vec();
        let env = Arc::clone(&self.env);
        let read = tokio::task::spawn_blocking(move || {
            cfgs.into_iter()
                .map(|c| {
                    let mut sd = FileSd::new(c);
                    sd.refresh(&env.metrics);
                    sd
                })
                .collect::<Vec<_>>()
        })
        .await;
        read.unwrap_or_else(|e| {
            tracing::error!(error = %e, "reading file_sd files failed");
            Vec::new()
        })
    }

    fn spawn_watcher(&self, pool: Arc<Mutex<Pool>>, key: String, sd: FileSd) -> Watcher {
        let (stop, rx) = watch::channel(false);
        let join = tokio::spawn(watch_file_sd(
            pool,
            key,
            sd,
            self.options.file_sd_poll_interval,
            Arc::clone(&self.env),
            rx,
        ));
        Watcher { stop, join }
    }
}

/// Whether two settings differ at most in target discovery, so running loops stay valid.
fn same_loops(a: &ScrapePoolSettings, b: &ScrapePoolSettings) -> bool {
    let strip = |s: &ScrapePoolSettings| ScrapePoolSettings {
        static_configs: Vec::new(),
        file_sd_configs: Vec::new(),
        ..s.clone()
    };
    strip(a) == strip(b)
}

async fn stop_watchers(watchers: Vec<Watcher>) {
    for w in &watchers {
        w.stop.send_replace(true);
    }
    for w in watchers {
        if let Err(e) = w.join.await {
            tracing::error!(error = %e, "file_sd watcher ended abnormally");
        }
    }
}

async fn stop_entry(entry: PoolEntry, mode: StopMode) {
    stop_watchers(entry.watchers).await;
    entry.pool.lock().await.stop(mode).await;
}

async fn watch_file_sd(
    pool: Arc<Mutex<Pool>>,
    key: String,
    mut sd: FileSd,
    poll: Duration,
    env: Arc<Env>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let env2 = Arc::clone(&env);
        let refreshed = tokio::task::spawn_blocking(move || {
            let changed = sd.refresh(&env2.metrics);
            (sd, changed)
        })
        .await;
        let changed;
        (sd, changed) = match refreshed {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "file_sd refresh failed");
                return;
            }
        };
        if changed {
            let mut p = pool.lock().await;
            tracing::debug!(scrape_pool = %p.job, provider = %key, "file_sd targets changed");
            p.groups.insert(key.clone(), sd.groups());
            p.sync(false).await;
        }
    }
}
