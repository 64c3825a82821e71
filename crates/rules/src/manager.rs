//! The rule manager (Prometheus's `rules/manager.go`): holds the loaded groups, keeps the
//! state of unchanged rules across reloads, and evaluates each group when its slot comes.
//!
//! It owns no thread and no timer: the server calls [`RuleManager::evaluate_due`] with the
//! current time (sleeping until [`RuleManager::next_due_ms`] in between), tests call it with a
//! manual clock. Evaluation is synchronous; the server runs it off the async threads.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;
use vigil_model::{Batch, Labels, Sample, Timestamp, STALE_NAN};
use vigil_promql::EngineOptions;
use vigil_storage::{MetricAppend, MetricSelect};

use crate::group::{
    DEFAULT_FOR_GRACE_PERIOD_MS, DEFAULT_OUTAGE_TOLERANCE_MS, DEFAULT_RESEND_DELAY_MS,
};
use crate::metrics::group_key;
use crate::{
    load_files, AlertSink, EvalEnv, Group, GroupEvalReport, GroupSpec, RuleFileError, RuleMetrics,
};

/// Settings that come from the `global` section of the config and may change on reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleGlobals {
    /// `evaluation_interval`: the interval of groups that set none (default 1m; a value that
    /// is not positive means the default).
    pub evaluation_interval_ms: i64,
    /// `rule_query_offset`: the query offset of groups that set none (default 0).
    pub query_offset_ms: i64,
    pub external_labels: BTreeMap<String, String>,
    pub external_url: String,
}

impl Default for RuleGlobals {
    fn default() -> Self {
        RuleGlobals {
            evaluation_interval_ms: 60_000,
            query_offset_ms: 0,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
        }
    }
}

/// What a [`RuleManager`] is built from.
pub struct ManagerOptions {
    pub queryable: Arc<dyn MetricSelect>,
    pub appendable: Arc<dyn MetricAppend>,
    pub engine: EngineOptions,
    pub globals: RuleGlobals,
    /// `--rules.alert.resend-delay` (default 1m).
    pub resend_delay_ms: i64,
    /// `--rules.alert.for-outage-tolerance` (default 1h).
    pub outage_tolerance_ms: i64,
    /// `--rules.alert.for-grace-period` (default 10m).
    pub for_grace_period_ms: i64,
    /// Where alerts go; `None` drops them (rules still evaluate and record).
    pub sink: Option<Arc<dyn AlertSink>>,
    pub metrics: Option<RuleMetrics>,
    /// Restore `for` state from `ALERTS_FOR_STATE` after the first load (default true).
    pub restore_for_state: bool,
}

impl ManagerOptions {
    /// Options with Prometheus's defaults.
    pub fn new(queryable: Arc<dyn MetricSelect>, appendable: Arc<dyn MetricAppend>) -> Self {
        ManagerOptions {
            queryable,
            appendable,
            engine: EngineOptions::default(),
            globals: RuleGlobals::default(),
            resend_delay_ms: DEFAULT_RESEND_DELAY_MS,
            outage_tolerance_ms: DEFAULT_OUTAGE_TOLERANCE_MS,
            for_grace_period_ms: DEFAULT_FOR_GRACE_PERIOD_MS,
            sink: None,
            metrics: None,
            restore_for_state: true,
        }
    }
}

/// Staleness markers owed for the series of a removed group.
struct PendingStale {
    series: Vec<Labels>,
    ts: Timestamp,
    due: Timestamp,
}

/// The loaded rule groups and their evaluation schedule.
pub struct RuleManager {
    env: RwLock<Arc<EvalEnv>>,
    globals: RwLock<RuleGlobals>,
    /// Sorted by file, then name.
    groups: RwLock<Vec<Arc<Mutex<Group>>>>,
    pending_stale: Mutex<Vec<PendingStale>>,
    /// Prometheus's `m.restored`: a load has happened, so new rules count as restored.
    loaded_once: AtomicBool,
    restore_for_state: bool,
    metrics: Option<RuleMetrics>,
}

/// `env` with the global settings templates and alerts see.
fn with_globals(env: EvalEnv, g: &RuleGlobals) -> EvalEnv {
    EvalEnv {
        external_labels: g.external_labels.clone(),
        external_url: g.external_url.clone(),
        ..env
    }
}

impl RuleManager {
    pub fn new(opts: ManagerOptions) -> Self {
        let env = EvalEnv {
            resend_delay_ms: opts.resend_delay_ms,
            outage_tolerance_ms: opts.outage_tolerance_ms,
            for_grace_period_ms: opts.for_grace_period_ms,
            sink: opts.sink.clone(),
            ..EvalEnv::new(
                Arc::clone(&opts.queryable),
                Arc::clone(&opts.appendable),
                opts.engine.clone(),
            )
        };
        let env = with_globals(env, &opts.globals);
        RuleManager {
            env: RwLock::new(Arc::new(env)),
            globals: RwLock::new(opts.globals),
            groups: RwLock::new(Vec::new()),
            pending_stale: Mutex::new(Vec::new()),
            loaded_once: AtomicBool::new(false),
            restore_for_state: opts.restore_for_state,
            metrics: opts.metrics,
        }
    }

    /// Replaces the global settings; groups pick up a changed interval or offset at the next
    /// [`RuleManager::update`], templates and alerts see new external labels at once.
    pub fn set_globals(&self, globals: RuleGlobals) {
        let mut env_guard = self.env.write();
        let new = with_globals(EvalEnv::clone(&env_guard), &globals);
        *env_guard = Arc::new(new);
        *self.globals.write() = globals;
    }

    /// Installs a new set of groups at `now_ms`, as Prometheus's `Manager.Update`: a group equal
    /// to the loaded one with the same file and name keeps running untouched; a changed group
    /// takes over the state of its rules (matched by name and labels); removed groups' series
    /// get staleness markers two intervals later (leaving renamed rules time to take them
    /// over). Groups with the same file and name: the last wins.
    pub fn update(&self, specs: Vec<GroupSpec>, now_ms: Timestamp) {
        let globals = self.globals.read().clone();
        let restored = self.loaded_once.load(Ordering::SeqCst) || !self.restore_for_state;
        let mut list = self.groups.write();
        let mut old: HashMap<(String, String), Arc<Mutex<Group>>> = list
            .drain(..)
            .map(|g| {
                let key = {
                    let l = g.lock();
                    (l.spec.file.clone(), l.spec.name.clone())
                };
                (key, g)
            })
            .collect();
        let mut by_key: BTreeMap<(String, String), GroupSpec> = BTreeMap::new();
        for s in specs {
            by_key.insert((s.file.clone(), s.name.clone()), s);
        }
        let mut new_list = Vec::with_capacity(by_key.len());
        for (key, spec) in by_key {
            let interval = spec
                .interval_ms
                .filter(|i| *i > 0)
                .and_then(|i| i64::try_from(i).ok())
                .unwrap_or(if globals.evaluation_interval_ms > 0 {
                    globals.evaluation_interval_ms
                } else {
                    RuleGlobals::default().evaluation_interval_ms
                });
            let offset = spec
                .query_offset_ms
                .and_then(|o| i64::try_from(o).ok())
                .unwrap_or(globals.query_offset_ms);
            let previous = old.remove(&key);
            if let Some(prev) = &previous {
                let g = prev.lock();
                if g.spec == spec && g.interval_ms == interval && g.query_offset_ms == offset {
                    drop(g);
                    new_list.push(Arc::clone(prev));
                    continue;
                }
            }
            let rule_count = spec.rules.len();
            let mut group = Group::new(spec, interval, offset, restored);
            if let Some(prev) = previous {
                let from = prev.lock().clone();
                group.copy_state(from);
            }
            group.next_eval_ms = Some(group.eval_timestamp(now_ms).saturating_add(interval));
            if let Some(m) = &self.metrics {
                m.group_added(&group_key(&key.0, &key.1), rule_count, interval);
            }
            new_list.push(Arc::new(Mutex::new(group)));
        }
        let mut pending = self.pending_stale.lock();
        for ((file, name), g) in old {
            let g = g.lock();
            let series = g.all_series();
            if !series.is_empty() {
                pending.push(PendingStale {
                    series,
                    ts: now_ms.saturating_sub(g.query_offset_ms),
                    due: now_ms.saturating_add(g.interval_ms.saturating_mul(2)),
                });
            }
            if let Some(m) = &self.metrics {
                m.group_removed(&group_key(&file, &name));
            }
        }
        *list = new_list;
        self.loaded_once.store(true, Ordering::SeqCst);
    }

    /// Loads `files` and installs their groups (see [`RuleManager::update`]); on failure the
    /// loaded groups stay as they were. Records the outcome in the reload metrics.
    ///
    /// # Errors
    /// Every problem in every file.
    pub fn load_and_update<P: AsRef<Path>>(
        &self,
        files: &[P],
        now_ms: Timestamp,
    ) -> Result<(), Vec<RuleFileError>> {
        let groups = self.load(files, now_ms)?;
        self.update(groups, now_ms);
        self.record_reload(true, now_ms);
        Ok(())
    }

    /// The first half of a reload that other parts of a configuration may still refuse: reads
    /// `files` and changes nothing but the reload metrics, which record a failure.
    /// [`RuleManager::install`] puts what it read in force.
    ///
    /// # Errors
    /// Every problem in every file.
    pub fn load<P: AsRef<Path>>(
        &self,
        files: &[P],
        now_ms: Timestamp,
    ) -> Result<Vec<GroupSpec>, Vec<RuleFileError>> {
        let result = load_files(files);
        if result.is_err() {
            self.record_reload(false, now_ms);
        }
        result
    }

    /// The second half of a reload: the new globals, then the groups
    /// [`RuleManager::load`] read (see [`RuleManager::update`]), recorded as a successful
    /// reload.
    pub fn install(&self, specs: Vec<GroupSpec>, globals: RuleGlobals, now_ms: Timestamp) {
        self.set_globals(globals);
        self.update(specs, now_ms);
        self.record_reload(true, now_ms);
    }

    fn record_reload(&self, ok: bool, now_ms: Timestamp) {
        if let Some(m) = &self.metrics {
            m.reloaded(ok, now_ms);
        }
    }

    /// Evaluates every group whose slot has come by `now_ms` (wall clock). A group more than
    /// one interval late evaluates once, at its latest slot, and counts the missed ones. After
    /// the second evaluation following the first load, `for` state is restored.
    pub fn evaluate_due(&self, now_ms: Timestamp) -> Vec<GroupEvalReport> {
        let env = Arc::clone(&self.env.read());
        let groups: Vec<Arc<Mutex<Group>>> = self.groups.read().clone();
        // Groups are independent (as Prometheus runs each in its own goroutine): the due ones
        // evaluate on every core. Rules within a group stay in order.
        let reports = groups
            .par_iter()
            .filter_map(|g| self.evaluate_group_if_due(g, &env, now_ms))
            .collect();
        self.flush_pending_stale(&env, now_ms);
        reports
    }

    fn evaluate_group_if_due(
        &self,
        g: &Mutex<Group>,
        env: &EvalEnv,
        now_ms: Timestamp,
    ) -> Option<GroupEvalReport> {
        let mut g = g.lock();
        let Some(next) = g.next_eval_ms else {
            g.next_eval_ms = Some(g.eval_timestamp(now_ms).saturating_add(g.interval_ms));
            return None;
        };
        if next > now_ms {
            return None;
        }
        let interval = g.interval_ms;
        let missed = now_ms.saturating_sub(next) / interval;
        let ts = next.saturating_add(missed.saturating_mul(interval));
        let mut report = g.eval(env, ts, now_ms);
        report.missed = u64::try_from(missed).unwrap_or(0);
        g.next_eval_ms = Some(ts.saturating_add(interval));
        if g.should_restore && g.evals >= 2 {
            g.restore_for_state(env, now_ms);
        }
        if let Some(m) = &self.metrics {
            m.evaluated(&report, g.rules.len(), now_ms);
        }
        Some(report)
    }

    fn flush_pending_stale(&self, env: &EvalEnv, now_ms: Timestamp) {
        let due: Vec<PendingStale> = {
            let mut pending = self.pending_stale.lock();
            let (due, keep) = pending.drain(..).partition(|p| p.due <= now_ms);
            *pending = keep;
            due
        };
        for p in due {
            let mut batch = Batch::new();
            for l in p.series {
                batch.push(l, Sample::new(p.ts, STALE_NAN));
            }
            if let Err(e) = env.appendable.append(&batch) {
                tracing::warn!(error = %e, "appending stale markers for removed rule groups failed");
            }
        }
    }

    /// The earliest time something is due: a group's next slot or owed staleness markers.
    pub fn next_due_ms(&self) -> Option<Timestamp> {
        let groups = self
            .groups
            .read()
            .iter()
            .filter_map(|g| g.lock().next_eval_ms)
            .min();
        let stale = self.pending_stale.lock().iter().map(|p| p.due).min();
        match (groups, stale) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Number of loaded groups and rules.
    pub fn counts(&self) -> (usize, usize) {
        let groups = self.groups.read();
        let rules = groups.iter().map(|g| g.lock().rules.len()).sum();
        (groups.len(), rules)
    }

    /// Calls `f` with each group in file and name order, for the read-only views.
    pub(crate) fn for_each_group(&self, mut f: impl FnMut(&Group)) {
        for g in self.groups.read().iter() {
            f(&g.lock());
        }
    }
}
