//! `vigil serve`: wire the engines to the listeners, run, and shut down in order
//! (stop accepting → stop scraping → close the store).

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
use vigil_http::{AppState, Control, HttpMetrics, IngestLimits, TargetSource};
use vigil_model::{Clock, SystemClock};
use vigil_scrape::{ManagerOptions, ScrapeManager};
use vigil_storage::{MetricAppend, MetricStore};
use vigil_tsdb::{Tsdb, TsdbOptions};

use crate::cli::ServeArgs;
use crate::config::{self, FsyncPolicy, Settings};
use crate::stats::TsdbCollector;

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
    scrape: Arc<ScrapeManager>,
    limits: Arc<RwLock<IngestLimits>>,
    /// Serialises reloads.
    lock: Mutex<()>,
}

impl Control for Reloader {
    fn reload(&self) -> Result<(), String> {
        let _g = self.lock.lock();
        let s = load_settings(&self.args).map_err(|e| format!("{e:#}"))?;
        *self.limits.write() = IngestLimits {
            decode: s.decode_limits,
            series: s.series_limits,
        };
        self.rt.block_on(self.scrape.apply(&s.scrape));
        tracing::info!("configuration reloaded");
        Ok(())
    }
}

struct Targets(Arc<ScrapeManager>);

impl TargetSource for Targets {
    fn targets(&self) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
        let t = self.0.targets();
        (to_json(&t.active_targets), to_json(&t.dropped_targets))
    }
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
    }));
    let ready = Arc::new(AtomicBool::new(false));
    let reloader = Arc::new(Reloader {
        args: args.clone(),
        rt: tokio::runtime::Handle::current(),
        scrape: scrape.clone(),
        limits: limits.clone(),
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
        let mut rx = stop_rx.clone();
        servers.push(tokio::spawn(async move {
            let incoming = tokio_stream_listener(l);
            let res = tonic::transport::Server::builder()
                .add_service(svc)
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
    scrape.stop().await;
    // Everything else holding the store is gone once the listeners and scrapers have stopped;
    // closing needs the last reference.
    drop(state);
    drop(reloader);
    drop(scrape);
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
        wal: vigil_wal::WalOptions {
            fsync: match s.wal_fsync {
                FsyncPolicy::Always => vigil_wal::FsyncPolicy::Always,
                FsyncPolicy::Interval(d) => vigil_wal::FsyncPolicy::Interval(d),
                FsyncPolicy::Never => vigil_wal::FsyncPolicy::Never,
            },
            ..d.wal
        },
        ..d
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
