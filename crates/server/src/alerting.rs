//! The embedded Alertmanager in the server: the `alertmanager:` config section, the core opened
//! on `<data-dir>/alerts/`, a reloaded configuration applied, and the periodic housekeeping
//! (resolved alerts and expired silences collected), stopped in the ordered shutdown.
//!
//! Without an `alertmanager:` section the core still runs, with [`DEFAULT_CONFIG`]: one
//! receiver that notifies nobody, like a fresh Alertmanager, so that API v2 clients (amtool,
//! other Prometheus servers posting alerts) work from the first start.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigil_alertmanager::api::VersionInfo;
use vigil_alertmanager::{Alertmanager, AlertmanagerOptions, Config, NotifierOptions};
use vigil_model::{Clock, YamlPositions};

/// The configuration without an `alertmanager:` section.
pub const DEFAULT_CONFIG: &str = "route:\n  receiver: default\nreceivers:\n  - name: default\n";

/// The Alertmanager release whose API v2 Vigil answers like, reported as
/// `versionInfo.version` by `GET /api/v2/status`. amtool compares it with its own version
/// (`--version-check`) and needs a semantic version there; Vigil's own version is in
/// `versionInfo.revision`.
pub const ALERTMANAGER_API_VERSION: &str = "0.25.0";

/// How often resolved alerts are dropped from the store (Alertmanager's `--alerts.gc-interval`
/// is 30m; listing already hides them, this bounds memory).
pub const ALERT_GC_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// How often silences past their retention are collected (Alertmanager's maintenance
/// interval).
pub const SILENCE_GC_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// The data directory of the Alertmanager core, under Vigil's.
pub fn data_dir(vigil_data_dir: &Path) -> std::path::PathBuf {
    vigil_data_dir.join("alerts")
}

/// An `alertmanager:` section error: (path in the file, line when known, reason).
pub type SectionError = (String, Option<usize>, String);

/// Validates the `alertmanager:` section of the file `positions` indexes, or gives
/// [`DEFAULT_CONFIG`] without one. Template globs are checked as `amtool check-config` checks
/// them, relative to `base` (the config file's directory).
///
/// # Errors
/// The first problem, its path prefixed with `alertmanager`.
pub fn config_section(
    value: Option<serde_yaml_ng::Value>,
    positions: &YamlPositions,
    base: Option<&Path>,
) -> Result<Config, SectionError> {
    let Some(value) = value else {
        return default_config()
            .map_err(|e| ("alertmanager".to_owned(), None, format!("default: {e}")));
    };
    let config = vigil_alertmanager::from_value(value, positions, "alertmanager").map_err(|e| {
        let path = match e.path.as_str() {
            "" => "alertmanager".to_owned(),
            p if p.starts_with('[') => format!("alertmanager{p}"),
            p => format!("alertmanager.{p}"),
        };
        (path, e.line, e.reason)
    })?;
    let dir = base.unwrap_or(Path::new("."));
    vigil_alertmanager::template_files(&config, dir).map_err(|(i, reason)| {
        let path = format!("alertmanager.templates[{i}]");
        let line = positions.line_of(&path);
        (path, line, reason)
    })?;
    Ok(config)
}

/// [`DEFAULT_CONFIG`], validated.
///
/// # Errors
/// Never for the text as written; reported rather than assumed.
pub fn default_config() -> Result<Config, vigil_alertmanager::ConfigError> {
    vigil_alertmanager::parse(DEFAULT_CONFIG)
}

/// Opens the core on `<data-dir>/alerts/`, loading persisted silences.
///
/// # Errors
/// The directory cannot be created, or the silence file is unreadable or corrupt.
pub fn open(vigil_data_dir: &Path, config: Config, clock: Arc<dyn Clock>) -> Result<Alertmanager> {
    let dir = data_dir(vigil_data_dir);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let opts = AlertmanagerOptions {
        data_dir: Some(dir.clone()),
        retention_ms: 0,
        version: VersionInfo {
            version: ALERTMANAGER_API_VERSION.to_owned(),
            revision: format!("vigil-{}", env!("CARGO_PKG_VERSION")),
            branch: String::new(),
            build_user: String::new(),
            build_date: String::new(),
            go_version: String::new(),
        },
    };
    let am = Alertmanager::new(config, clock, opts)
        .with_context(|| format!("cannot open the alert store in {}", dir.display()))?;
    tracing::info!(dir = %dir.display(), "alertmanager open");
    Ok(am)
}

/// The directory relative template globs are resolved against: the config file's.
pub fn config_dir(config_file: Option<&Path>) -> std::path::PathBuf {
    config_file
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| std::path::PathBuf::from("."), Path::to_path_buf)
}

/// Starts sending notifications: the dispatcher, the notification pipeline and the receivers.
///
/// # Errors
/// A template file that does not parse, or a receiver that cannot be built.
pub fn start_notifier(
    am: &Alertmanager,
    config: &Config,
    config_file: Option<&Path>,
    external_url: &str,
) -> Result<()> {
    let templates = vigil_alertmanager::load_templates(config, &config_dir(config_file))
        .context("cannot load the alertmanager templates")?;
    am.start_notifier(
        &tokio::runtime::Handle::current(),
        NotifierOptions::new(templates, external_url),
    )
    .context("cannot start the notifier")?;
    Ok(())
}

/// Puts a reloaded configuration in force; on failure the previous one stays.
///
/// # Errors
/// A template file that does not parse, or a receiver that cannot be built.
pub fn apply(am: &Alertmanager, config: &Config, config_file: Option<&Path>) -> Result<(), String> {
    let templates = vigil_alertmanager::load_templates(config, &config_dir(config_file))
        .map_err(|e| format!("alertmanager templates: {e}"))?;
    am.reload(config.clone(), templates)
        .map_err(|e| format!("alertmanager: {e}"))
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; it is dropped here, not held in the loop.
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs the alert and silence garbage collection until `stop` turns true.
pub fn spawn_housekeeping(
    am: Arc<Alertmanager>,
    mut stop: watch::Receiver<bool>,
    alert_every: Duration,
    silence_every: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut alerts = tokio::time::interval(alert_every);
        let mut silences = tokio::time::interval(silence_every);
        // The first tick of an interval fires at once; the first collection is due one period
        // after start.
        alerts.tick().await;
        silences.tick().await;
        loop {
            tokio::select! {
                _ = alerts.tick() => {
                    let am = am.clone();
                    match tokio::task::spawn_blocking(move || am.gc_alerts().len()).await {
                        Ok(n) => tracing::debug!(removed = n, "resolved alerts collected"),
                        Err(e) => tracing::error!(error = %e, "alert collection task failed"),
                    }
                }
                _ = silences.tick() => {
                    let am = am.clone();
                    match tokio::task::spawn_blocking(move || am.gc_silences()).await {
                        Ok(Ok(n)) => tracing::debug!(removed = n, "expired silences collected"),
                        Ok(Err(e)) => tracing::error!(error = %e, "silence collection failed"),
                        Err(e) => tracing::error!(error = %e, "silence collection task failed"),
                    }
                }
                () = stopped(&mut stop) => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_alertmanager::api::PostableAlert;
    use vigil_alertmanager::AlertsQuery;
    use vigil_model::ManualClock;

    #[test]
    fn default_config_notifies_nobody() {
        let c = default_config().expect("default config is valid");
        assert_eq!(c.receivers.len(), 1);
        assert!(c.receivers.iter().all(|r| r.name == "default"));
        assert_eq!(
            c.route.receivers_for(&vigil_model::Labels::empty()),
            ["default"]
        );
    }

    #[tokio::test]
    async fn housekeeping_collects_resolved_alerts_and_stops() {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let am = Arc::new(
            Alertmanager::new(
                default_config().expect("config"),
                clock.clone(),
                AlertmanagerOptions::default(),
            )
            .expect("core"),
        );
        am.post_alerts(vec![PostableAlert {
            labels: Some([("alertname".to_owned(), "X".to_owned())].into()),
            ..PostableAlert::default()
        }])
        .expect("posted");
        // Past the 5m resolve timeout: resolved, hidden from listing, still stored until GC.
        clock.advance(6 * 60_000);
        assert!(am
            .get_alerts(&AlertsQuery::default())
            .expect("list")
            .is_empty());
        assert_eq!(am.alerts().list().len(), 1);
        let (tx, rx) = watch::channel(false);
        let task = spawn_housekeeping(
            am.clone(),
            rx,
            Duration::from_millis(10),
            Duration::from_millis(10),
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !am.alerts().list().is_empty() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(am.alerts().list().is_empty());
        tx.send(true).expect("stop");
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stopped in time")
            .expect("task");
    }
}
