//! A scrape pool: the targets of one `scrape_configs` entry and their loops.
//!
//! [`Pool::sync`] recomputes the targets from the pool's target groups (static and file_sd)
//! and reconciles the running loops: a target whose identity (labels and URL) is unchanged
//! keeps its loop; a vanished target's loop stops with stale markers; a new target gets a loop.
//! When a stopped loop's series live on in a new loop (same public labels: only the interval,
//! a parameter or the pool config changed), the old loop hands its staleness state over instead
//! of marking its series stale, so that a reload leaves no gap in the data.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use parking_lot::RwLock;
use vigil_model::Labels;

use crate::http_client::build_client;
use crate::process::LoopState;
use crate::scrape_loop::{Env, LoopHandle, PoolRuntime, StopMode};
use crate::status::TargetShared;
use crate::target::{targets_from_group, Populated, TargetGroup, TargetSpec};
use crate::{ScrapeError, ScrapePoolSettings};

/// What the status API reads about a pool.
#[derive(Debug, Default)]
pub(crate) struct PoolView {
    pub active: Vec<Arc<TargetShared>>,
    pub dropped: Vec<Labels>,
    pub dropped_count: usize,
}

/// The provider key of the static targets in [`Pool::groups`].
pub(crate) const STATIC_PROVIDER: &str = "static";

#[derive(Debug)]
pub(crate) struct Pool {
    pub job: String,
    env: Arc<Env>,
    runtime: Arc<PoolRuntime>,
    /// Target groups by provider (`static`, `file_sd/0` …).
    pub groups: BTreeMap<String, Vec<TargetGroup>>,
    loops: HashMap<u64, LoopHandle>,
    pub view: Arc<RwLock<PoolView>>,
}

fn runtime(settings: Arc<ScrapePoolSettings>) -> Arc<PoolRuntime> {
    let client = build_client(&settings.http);
    if let Err(e) = &client {
        tracing::error!(scrape_pool = %settings.job_name, error = %e, "cannot create HTTP client; every scrape of the pool will fail");
    }
    Arc::new(PoolRuntime { settings, client })
}

impl Pool {
    pub(crate) fn new(env: Arc<Env>, settings: Arc<ScrapePoolSettings>) -> Self {
        Pool {
            job: settings.job_name.clone(),
            env,
            runtime: runtime(settings),
            groups: BTreeMap::new(),
            loops: HashMap::new(),
            view: Arc::new(RwLock::new(PoolView::default())),
        }
    }

    /// Switches to new settings and restarts every loop (handing state over where the
    /// target's series continue).
    pub(crate) async fn reload(&mut self, settings: Arc<ScrapePoolSettings>) {
        self.env.metrics.reloads.inc();
        self.runtime = runtime(settings);
        self.sync(true).await;
    }

    /// Takes settings that differ only in target discovery: running loops are kept and only
    /// the target set is recomputed.
    pub(crate) async fn retarget(&mut self, settings: Arc<ScrapePoolSettings>) {
        self.runtime = Arc::new(PoolRuntime {
            settings,
            client: self.runtime.client.clone(),
        });
        self.sync(false).await;
    }

    /// Recomputes targets from the groups and reconciles loops with them.
    pub(crate) async fn sync(&mut self, restart_all: bool) {
        self.env.metrics.syncs.inc();
        let settings = Arc::clone(&self.runtime.settings);
        let mut active: Vec<TargetSpec> = Vec::new();
        let mut hashes: HashSet<u64> = HashSet::new();
        let mut dropped = Vec::new();
        let mut dropped_count = 0usize;
        for groups in self.groups.values() {
            for g in groups {
                let (populated, failures) = targets_from_group(g, &settings);
                for f in failures {
                    self.env.metrics.target_failures.inc();
                    tracing::error!(scrape_pool = %self.job, error = %f, "creating target failed");
                }
                for p in populated {
                    match p {
                        Populated::Active(spec) => {
                            if hashes.insert(spec.hash) {
                                active.push(spec);
                            }
                        }
                        Populated::Dropped(l) => {
                            dropped_count += 1;
                            if settings.keep_dropped_targets == 0
                                || dropped.len() < settings.keep_dropped_targets
                            {
                                dropped.push(l);
                            }
                        }
                    }
                }
            }
        }

        let stop_hashes: Vec<u64> = self
            .loops
            .keys()
            .filter(|h| restart_all || !hashes.contains(h))
            .copied()
            .collect();
        let mut to_stop: Vec<LoopHandle> = stop_hashes
            .iter()
            .filter_map(|h| self.loops.remove(h))
            .collect();
        // Series identity → the stopping loop whose state a new loop inherits.
        let mut by_public: HashMap<Labels, usize> = HashMap::new();
        for (i, h) in to_stop.iter().enumerate() {
            by_public.entry(h.target.public.clone()).or_insert(i);
        }
        let mut starts: Vec<(TargetSpec, Option<usize>)> = Vec::new();
        for spec in &active {
            match self.loops.get(&spec.hash) {
                Some(l) => *l.target.discovered.lock() = spec.discovered.clone(),
                None => {
                    let public = spec.public_labels();
                    starts.push((spec.clone(), by_public.remove(&public)));
                }
            }
        }
        let inherited: HashSet<usize> = starts.iter().filter_map(|(_, i)| *i).collect();
        for (i, h) in to_stop.iter().enumerate() {
            h.signal(if inherited.contains(&i) {
                StopMode::Handover
            } else {
                StopMode::Stale
            });
        }
        let mut states: Vec<Option<LoopState>> = Vec::with_capacity(to_stop.len());
        for h in to_stop.drain(..) {
            states.push(Some(h.join().await));
        }

        let limit_error = (settings.target_limit > 0 && active.len() > settings.target_limit)
            .then_some(ScrapeError::TargetLimit {
                targets: active.len(),
                limit: settings.target_limit,
            });
        if limit_error.is_some() {
            tracing::warn!(scrape_pool = %self.job, targets = active.len(), limit = settings.target_limit, "target_limit exceeded");
        }
        for l in self.loops.values() {
            l.target.forced_error.lock().clone_from(&limit_error);
        }
        for (spec, from) in starts {
            let hash = spec.hash;
            let target = Arc::new(TargetShared::new(&self.job, spec));
            target.forced_error.lock().clone_from(&limit_error);
            let state = from
                .and_then(|i| states.get_mut(i).and_then(Option::take))
                .unwrap_or_default();
            let handle = LoopHandle::spawn(
                Arc::clone(&self.env),
                Arc::clone(&self.runtime),
                target,
                state,
            );
            self.loops.insert(hash, handle);
        }

        let targets: Vec<Arc<TargetShared>> = active
            .iter()
            .filter_map(|s| self.loops.get(&s.hash).map(|l| Arc::clone(&l.target)))
            .collect();
        self.env
            .metrics
            .set_targets(&self.job, targets.len(), dropped_count);
        *self.view.write() = PoolView {
            active: targets,
            dropped,
            dropped_count,
        };
    }

    /// Stops every loop; `Stale` when the pool is removed, `Handover` on shutdown.
    pub(crate) async fn stop(&mut self, mode: StopMode) {
        let loops: Vec<LoopHandle> = self.loops.drain().map(|(_, l)| l).collect();
        for l in &loops {
            l.signal(mode);
        }
        for l in loops {
            l.join().await;
        }
        *self.view.write() = PoolView::default();
        self.env.metrics.remove_pool(&self.job);
    }
}
