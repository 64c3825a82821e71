//! `vigil serve`: wire the engines to the listeners, run, and shut down in order
//! (stop accepting → stop housekeeping and scraping → close the store).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use parking_lot::{Mutex, RwLock};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use vigil_alertmanager::Alertmanager;
use vigil_http::{
    AppState, Control, HttpMetrics, IngestLimits, LoadedConfig, MetadataCatalog, QueryEngine,
    ServerInfo, TargetSource,
};
use vigil_ml::MlStore;
use vigil_model::{Clock, MetricMetadata, SystemClock};
use vigil_scrape::{ManagerOptions, ScrapeManager};
use vigil_storage::{MetricAppend, MetricSelect, MetricStore};
use vigil_tsdb::{Tsdb, TsdbOptions};

use crate::alerting;
use crate::cli::ServeArgs;
use crate::config::{self, FsyncPolicy, Settings};
use crate::ml;
use crate::rules;
use crate::stats::TsdbCollector;
use crate::upstream::Notifier;

/// How often the TSDB cuts blocks, compacts and applies retention.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(30);

pub fn run(args: ServeArgs) -> Result<()> {
    init_logging(&args.log_level)?;
    let settings = load_settings(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("vigil")
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(args, settings))
}

fn init_logging(level: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| anyhow!("invalid --log.level {level:?}: {e}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}

/// The config file with command-line flags laid over it.
fn load_settings(args: &ServeArgs) -> Result<Settings> {
    let mut s = config::load(args.config.as_deref())?;
    if let Some(l) = &args.listen {
        s.listen = Some(l.clone());
    }
    if let Some(l) = &args.otlp_grpc_listen {
        s.otlp_grpc_listen = Some(l.clone());
    }
    if let Some(l) = &args.otlp_http_listen {
        s.otlp_http_listen = Some(l.clone());
    }
    for a in [
        &mut s.listen,
        &mut s.otlp_grpc_listen,
        &mut s.otlp_http_listen,
    ] {
        if a.as_deref().is_some_and(str::is_empty) {
            *a = None;
        }
    }
    if let Some(t) = &args.retention_time {
        s.retention_time = vigil_scrape::PromDuration::parse(t)
            .map_err(|e| anyhow!("invalid --retention.time {t:?}: {e}"))?
            .as_std();
    }
    if let Some(sz) = &args.retention_size {
        s.retention_size = vigil_scrape::ByteSize::parse(sz)
            .map_err(|e| anyhow!("invalid --retention.size {sz:?}: {e}"))?
            .0;
    }
    Ok(s)
}

/// Re-reads the config on SIGHUP and `POST /-/reload`.
struct Reloader {
    args: ServeArgs,
    rt: tokio::runtime::Handle,
    clock: Arc<dyn Clock>,
    scrape: Arc<ScrapeManager>,
    limits: Arc<RwLock<IngestLimits>>,
    query: Arc<QueryEngine>,
    config: Arc<RwLock<LoadedConfig>>,
    alertmanager: Arc<Alertmanager>,
    upstream: Arc<Notifier>,
    rules: vigil_http::RulesHandle,
    ml: Arc<MlStore>,
    /// The metric store's out-of-order window, fixed when it opened (a reload does not change
    /// it).
    ooo_window: Duration,
    external_url: String,
    /// Serialises reloads.
    lock: Mutex<()>,
}

impl Control for Reloader {
    fn reload(&self) -> Result<(), String> {
        let _g = self.lock.lock();
        let s = match load_settings(&self.args) {
            Ok(s) => s,
            Err(e) => {
                self.config.write().reload_success = false;
                return Err(format!("{e:#}"));
            }
        };
        // Every step that can refuse the new configuration runs before any step changes
        // anything, the embedded Alertmanager's (which checks and swaps in one step) last: a
        // refused reload leaves the previous configuration in force, not part of the new one.
        let refused = |e: String| {
            self.config.write().reload_success = false;
            e
        };
        let now = self.clock.now_ms();
        let groups = rules::load(&self.rules, &s, now).map_err(refused)?;
        let targets = Notifier::prepare(&s.alerting).map_err(|e| {
            tracing::error!(error = %e, "alerting.alertmanagers not reloaded");
            refused(format!("alerting.alertmanagers: {e}"))
        })?;
        alerting::apply(
            &self.alertmanager,
            &s.alertmanager,
            self.args.config.as_deref(),
        )
        .map_err(|e| {
            tracing::error!(error = %e, "alertmanager configuration not reloaded");
            refused(e)
        })?;
        self.upstream.install(targets, &s.alerting);
        rules::install(&self.rules, groups, &s, now, &self.external_url);
        *self.limits.write() = IngestLimits {
            decode: s.decode_limits,
            series: s.series_limits,
            ml: ml::decode_limits(&s.ml),
        };
        ml::warn_on_label_horizon(&s.ml, self.ooo_window);
        self.ml.set_config(s.ml.clone());
        self.query.set_limits(s.query_limits);
        *self.config.write() = loaded_config(&s, now);
        self.rt.block_on(self.scrape.apply(&s.scrape));
        tracing::info!("configuration reloaded");
        Ok(())
    }
}

/// The URL alerts link back to (`generatorURL`) and templates see as `$externalURL`: the
/// HTTP API's address, as Prometheus defaults `--web.external-url` to its own.
fn external_url(s: &Settings) -> String {
    match &s.listen {
        Some(addr) if !addr.is_empty() => format!("http://{addr}"),
        _ => String::new(),
    }
}

fn loaded_config(s: &Settings, now_ms: i64) -> LoadedConfig {
    LoadedConfig {
        yaml: s.config_yaml.clone(),
        external_labels: s.scrape.global.external_labels.clone(),
        loaded_at_ms: now_ms,
        reload_success: true,
    }
}

struct Targets(Arc<ScrapeManager>);

impl TargetSource for Targets {
    fn targets(&self) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
        let t = self.0.targets();
        (to_json(&t.active_targets), to_json(&t.dropped_targets))
    }

    fn metadata(&self) -> Vec<MetricMetadata> {
        self.0
            .metadata()
            .into_iter()
            .flat_map(|t| t.metadata)
            .collect()
    }
}

/// What `/api/v1/status/flags` and `runtimeinfo` report.
fn server_info(args: &ServeArgs, s: &Settings, start_ms: i64) -> ServerInfo {
    let retention_time = duration_string(s.retention_time);
    let retention_size = base2_bytes(s.retention_size);
    let storage_retention = match s.retention_size {
        0 => retention_time.clone(),
        _ => format!("{retention_time} or {retention_size}"),
    };
    let addr = |a: &Option<String>| a.clone().unwrap_or_default();
    let flags = [
        (
            "config",
            args.config
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        ("data-dir", args.data_dir.display().to_string()),
        ("listen", addr(&s.listen)),
        ("otlp-grpc-listen", addr(&s.otlp_grpc_listen)),
        ("otlp-http-listen", addr(&s.otlp_http_listen)),
        ("retention.time", retention_time),
        ("retention.size", retention_size),
        ("log.level", args.log_level.clone()),
        (
            "query.lookback-delta",
            duration_string(s.query_limits.lookback_delta),
        ),
        (
            "query.max-concurrency",
            s.query_limits.max_concurrency.to_string(),
        ),
        ("query.max-samples", s.query_limits.max_samples.to_string()),
        ("query.timeout", duration_string(s.query_limits.timeout)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    ServerInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        start_time_ms: start_ms,
        cwd: std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default(),
        flags,
        storage_retention,
    }
}

/// A duration as Prometheus prints one (`model.Duration.String`).
fn duration_string(d: Duration) -> String {
    vigil_model::format_duration_ms(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A byte count as Prometheus prints sizes (`units.Base2Bytes`): the largest binary unit that
/// divides it.
fn base2_bytes(n: u64) -> String {
    if n == 0 {
        return "0B".to_owned();
    }
    for (unit, shift) in [
        ("EiB", 60),
        ("PiB", 50),
        ("TiB", 40),
        ("GiB", 30),
        ("MiB", 20),
        ("KiB", 10),
    ] {
        if n.is_multiple_of(1u64 << shift) {
            return format!("{}{unit}", n >> shift);
        }
    }
    format!("{n}B")
}

fn to_json<T: serde::Serialize>(v: &[T]) -> Vec<serde_json::Value> {
    v.iter()
        .filter_map(|t| serde_json::to_value(t).ok())
        .collect()
}

async fn bind(what: &str, addr: &str) -> Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({what})"))?;
    let a = l
        .local_addr()
        .with_context(|| format!("no local address for {what}"))?;
    Ok((l, a))
}

async fn serve(args: ServeArgs, settings: Settings) -> Result<()> {
    for section in &settings.ignored_sections {
        tracing::warn!(section, "config section accepted but not yet in effect");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics_dir: PathBuf = args.data_dir.join("metrics");
    std::fs::create_dir_all(&metrics_dir)
        .with_context(|| format!("cannot create data directory {}", metrics_dir.display()))?;
    let opts = tsdb_options(&settings);
    let tsdb = {
        let clock = clock.clone();
        let dir = metrics_dir.clone();
        tokio::task::spawn_blocking(move || Tsdb::open(&dir, opts, clock))
            .await
            .context("storage open task failed")?
            .with_context(|| format!("cannot open the metric store in {}", metrics_dir.display()))?
    };
    let tsdb = Arc::new(tsdb);
    tracing::info!(dir = %metrics_dir.display(), "metric store open");

    let mut registry = Registry::default();
    let http_metrics = HttpMetrics::new(&mut registry);
    registry.register_collector(Box::new(TsdbCollector(tsdb.clone())));
    let store: Arc<dyn MetricStore> = tsdb.clone();
    let appender: Arc<dyn MetricAppend> = tsdb.clone();
    let scrape = Arc::new(ScrapeManager::new(
        appender,
        clock.clone(),
        &mut registry,
        ManagerOptions::default(),
    ));
    let limits = Arc::new(RwLock::new(IngestLimits {
        decode: settings.decode_limits,
        series: settings.series_limits,
        ml: ml::decode_limits(&settings.ml),
    }));
    let ready = Arc::new(AtomicBool::new(false));
    let alertmanager = {
        let (dir, config, clock) = (
            args.data_dir.clone(),
            settings.alertmanager.clone(),
            clock.clone(),
        );
        tokio::task::spawn_blocking(move || alerting::open(&dir, config, clock))
            .await
            .context("alert store open task failed")??
    };
    let alertmanager = Arc::new(alertmanager);
    let select: Arc<dyn MetricSelect> = tsdb.clone();
    let external_url = external_url(&settings);
    alertmanager.register_metrics(&mut registry);
    alerting::start_notifier(
        &alertmanager,
        &settings.alertmanager,
        args.config.as_deref(),
        &external_url,
    )?;
    let upstream = Arc::new(Notifier::new(&mut registry));
    upstream
        .apply(&settings.alerting)
        .map_err(|e| anyhow!("alerting.alertmanagers: {e}"))?;
    upstream.start(&tokio::runtime::Handle::current());
    let rules = rules::start(
        &settings,
        select.clone(),
        tsdb.clone(),
        alertmanager.clone(),
        upstream.clone(),
        &mut registry,
        &clock,
        &external_url,
    )?;
    let ml_store = {
        let (dir, config, wal, now) = (
            args.data_dir.join("ml"),
            settings.ml.clone(),
            wal_options(&settings),
            clock.now_ms(),
        );
        let shown = dir.display().to_string();
        let (store, report) =
            tokio::task::spawn_blocking(move || MlStore::open(&dir, config, wal, now))
                .await
                .context("ML store open task failed")?
                .with_context(|| format!("cannot open the ML event store in {shown}"))?;
        tracing::info!(
            dir = %shown,
            models = report.models,
            references = report.references,
            records_replayed = report.records,
            events_refused_on_replay = report.events_refused,
            ms = report.duration.as_millis(),
            "ML event store open"
        );
        Arc::new(store)
    };
    ml::warn_on_label_horizon(&settings.ml, settings.ooo_window);
    let ml_metrics = ml::MlMetrics::new(&mut registry);
    let query = Arc::new(QueryEngine::new(select, settings.query_limits));
    let start_ms = clock.now_ms();
    let config = Arc::new(RwLock::new(loaded_config(&settings, start_ms)));
    let reloader = Arc::new(Reloader {
        args: args.clone(),
        rt: tokio::runtime::Handle::current(),
        clock: clock.clone(),
        scrape: scrape.clone(),
        limits: limits.clone(),
        query: query.clone(),
        config: config.clone(),
        alertmanager: alertmanager.clone(),
        upstream: upstream.clone(),
        rules: rules.clone(),
        ml: ml_store.clone(),
        ooo_window: settings.ooo_window,
        external_url,
        lock: Mutex::new(()),
    });
    let state = AppState {
        store,
        clock: clock.clone(),
        targets: Arc::new(Targets(scrape.clone())),
        control: reloader.clone(),
        limits,
        registry: Arc::new(registry),
        metrics: http_metrics,
        ready: ready.clone(),
        ingest_slots: vigil_http::default_ingest_slots(),
        query,
        metadata: Arc::new(MetadataCatalog::new()),
        info: Arc::new(server_info(&args, &settings, start_ms)),
        config,
        alertmanager: alertmanager.clone(),
        rules: rules.clone(),
        ml: ml_store.clone(),
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut servers = Vec::new();
    if let Some(addr) = &settings.listen {
        let (l, a) = bind("HTTP API", addr).await?;
        tracing::info!(address = %a, "HTTP API listening");
        servers.push(tokio::spawn(serve_http(
            l,
            vigil_http::main_router(state.clone()),
            stop_rx.clone(),
        )));
    }
    if let Some(addr) = &settings.otlp_http_listen {
        let (l, a) = bind("OTLP/HTTP", addr).await?;
        tracing::info!(address = %a, "OTLP/HTTP listening");
        servers.push(tokio::spawn(serve_http(
            l,
            vigil_http::otlp_http_router(state.clone()),
            stop_rx.clone(),
        )));
    }
    if let Some(addr) = &settings.otlp_grpc_listen {
        let (l, a) = bind("OTLP gRPC", addr).await?;
        tracing::info!(address = %a, "OTLP gRPC listening");
        let svc = vigil_http::otlp_grpc_service(state.clone());
        let logs = vigil_http::otlp_grpc_logs_service(state.clone());
        let mut rx = stop_rx.clone();
        servers.push(tokio::spawn(async move {
            let incoming = tokio_stream_listener(l);
            let res = tonic::transport::Server::builder()
                .add_service(svc)
                .add_service(logs)
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = res {
                tracing::error!(error = %e, "OTLP gRPC server failed");
            }
        }));
    }

    let maint = {
        let tsdb = tsdb.clone();
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(MAINTENANCE_INTERVAL) => {}
                    _ = rx.wait_for(|s| *s) => return,
                }
                let t = tsdb.clone();
                match tokio::task::spawn_blocking(move || t.maintain()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "storage maintenance failed"),
                    Err(e) => tracing::error!(error = %e, "storage maintenance task failed"),
                }
            }
        })
    };

    let alert_housekeeping = alerting::spawn_housekeeping(
        alertmanager,
        stop_rx.clone(),
        alerting::ALERT_GC_INTERVAL,
        alerting::SILENCE_GC_INTERVAL,
    );

    let rule_evaluator = rules::spawn_evaluator(&rules, clock.clone(), stop_rx.clone());
    let ml_evaluator = ml::spawn_evaluator(
        ml_store.clone(),
        tsdb.clone(),
        clock.clone(),
        ml_metrics,
        stop_rx.clone(),
    );

    scrape.apply(&settings.scrape).await;
    ready.store(true, Ordering::Release);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "vigil ready");

    wait_for_shutdown(reloader.as_ref()).await;
    ready.store(false, Ordering::Release);
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for s in servers {
        let _ = tokio::time::timeout(Duration::from_secs(10), s).await;
    }
    let _ = maint.await;
    let _ = alert_housekeeping.await;
    state.alertmanager.stop_notifier().await;
    let _ = rule_evaluator.await;
    let _ = ml_evaluator.await;
    drop(rules);
    upstream.stop().await;
    scrape.stop().await;
    // Everything else holding the store is gone once the listeners and scrapers have stopped;
    // closing needs the last reference.
    drop(state);
    drop(reloader);
    drop(scrape);
    match Arc::try_unwrap(ml_store) {
        Ok(store) => {
            let now = clock.now_ms();
            let res = tokio::task::spawn_blocking(move || {
                // A failed checkpoint loses nothing (the WAL is replayed instead); the WAL is
                // closed, and so fsynced, either way.
                if let Err(e) = store.checkpoint(now) {
                    tracing::warn!(error = %e, "ML store checkpoint at shutdown failed");
                }
                store.close()
            })
            .await;
            match res {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "closing the ML event store"),
                Err(e) => tracing::error!(error = %e, "ML store close task failed"),
            }
        }
        Err(_) => tracing::warn!("ML event store still in use at shutdown; WAL left for replay"),
    }
    match Arc::try_unwrap(tsdb) {
        Ok(t) => tokio::task::spawn_blocking(move || t.close())
            .await
            .context("storage close task failed")?
            .context("closing the metric store")?,
        Err(_) => tracing::warn!("metric store still in use at shutdown; WAL left for replay"),
    }
    tracing::info!("shutdown complete");
    Ok(())
}

fn tsdb_options(s: &Settings) -> TsdbOptions {
    let d = TsdbOptions::default();
    TsdbOptions {
        ooo_window_ms: millis(s.ooo_window),
        retention_time_ms: millis(s.retention_time),
        retention_size_bytes: s.retention_size,
        max_series: usize::try_from(s.max_series).unwrap_or(usize::MAX),
        wal: wal_options(s),
        ..d
    }
}

/// The WAL settings of both stores (metrics and ML events): `storage.wal_fsync`.
fn wal_options(s: &Settings) -> vigil_wal::WalOptions {
    vigil_wal::WalOptions {
        fsync: match s.wal_fsync {
            FsyncPolicy::Always => vigil_wal::FsyncPolicy::Always,
            FsyncPolicy::Interval(d) => vigil_wal::FsyncPolicy::Interval(d),
            FsyncPolicy::Never => vigil_wal::FsyncPolicy::Never,
        },
        ..vigil_wal::WalOptions::default()
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

async fn serve_http(l: TcpListener, router: axum::Router, mut stop: watch::Receiver<bool>) {
    let res = axum::serve(l, router)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    if let Err(e) = res {
        tracing::error!(error = %e, "HTTP server failed");
    }
}

/// Accepted connections as the stream tonic's `serve_with_incoming` takes.
fn tokio_stream_listener(
    l: TcpListener,
) -> impl futures_util::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(l, |l| async move {
        let r = l.accept().await.map(|(s, _)| {
            let _ = s.set_nodelay(true);
            s
        });
        Some((r, l))
    })
}

/// Returns on SIGTERM or SIGINT; reloads the config on SIGHUP.
async fn wait_for_shutdown(reloader: &Reloader) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        std::future::pending::<()>().await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => {
                if let Err(e) = tokio::task::block_in_place(|| reloader.reload()) {
                    tracing::error!(error = %e, "reload failed; previous configuration kept");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_as_prometheus_prints_them() {
        assert_eq!(duration_string(Duration::from_secs(15 * 86400)), "15d");
        assert_eq!(duration_string(Duration::from_secs(14 * 86400)), "2w");
        assert_eq!(duration_string(Duration::from_secs(120)), "2m");
        assert_eq!(duration_string(Duration::from_millis(90_500)), "1m30s500ms");
        assert_eq!(base2_bytes(50 << 30), "50GiB");
        assert_eq!(base2_bytes(1000), "1000B");
    }
}
