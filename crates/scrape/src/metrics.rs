//! Vigil's own metrics about scraping (`vigil_scrape_*`), registered into the server's
//! `prometheus-client` registry. Label values are bounded: scrape pool names come from the
//! config, reasons and states from fixed lists.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PoolStateLabels {
    pub scrape_pool: String,
    /// `active` or `dropped`.
    pub state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReasonLabels {
    pub reason: &'static str,
}

/// The scrape manager's metrics.
#[derive(Debug, Clone, Default)]
pub struct ScrapeMetrics {
    /// `vigil_scrape_targets{scrape_pool, state}`.
    pub(crate) targets: Family<PoolStateLabels, Gauge>,
    /// `vigil_scrape_scrapes_total`.
    pub(crate) scrapes: Counter,
    /// `vigil_scrape_failures_total{reason}`.
    pub(crate) failures: Family<ReasonLabels, Counter>,
    /// `vigil_scrape_samples_total`: scraped samples handed to the store (after relabelling).
    pub(crate) samples: Counter,
    /// `vigil_scrape_stale_markers_total`.
    pub(crate) stale_markers: Counter,
    /// `vigil_scrape_samples_rejected_total`: samples the store refused (too old, duplicate …).
    pub(crate) rejected: Counter,
    /// `vigil_scrape_pool_syncs_total`: target set recomputations.
    pub(crate) syncs: Counter,
    /// `vigil_scrape_pool_reloads_total`: pools restarted for a changed config.
    pub(crate) reloads: Counter,
    /// `vigil_scrape_target_sync_failures_total`: discovered targets that could not be built.
    pub(crate) target_failures: Counter,
    /// `vigil_scrape_file_sd_read_errors_total`.
    pub(crate) file_sd_errors: Counter,
}

impl ScrapeMetrics {
    /// Creates the metrics and registers them.
    pub fn new(registry: &mut Registry) -> Self {
        let m = ScrapeMetrics::default();
        // prometheus-client appends `_total` to counter names.
        registry.register(
            "vigil_scrape_targets",
            "Scrape targets by pool and state (active, dropped)",
            m.targets.clone(),
        );
        registry.register(
            "vigil_scrape_scrapes",
            "Scrapes performed",
            m.scrapes.clone(),
        );
        registry.register(
            "vigil_scrape_failures",
            "Failed scrapes by reason",
            m.failures.clone(),
        );
        registry.register(
            "vigil_scrape_samples",
            "Scraped samples appended to the store, after metric relabelling",
            m.samples.clone(),
        );
        registry.register(
            "vigil_scrape_stale_markers",
            "Staleness markers appended",
            m.stale_markers.clone(),
        );
        registry.register(
            "vigil_scrape_samples_rejected",
            "Scraped samples the store rejected (out of order, duplicate, too old)",
            m.rejected.clone(),
        );
        registry.register(
            "vigil_scrape_pool_syncs",
            "Recomputations of a scrape pool's target set",
            m.syncs.clone(),
        );
        registry.register(
            "vigil_scrape_pool_reloads",
            "Scrape pools restarted because their configuration changed",
            m.reloads.clone(),
        );
        registry.register(
            "vigil_scrape_target_sync_failures",
            "Discovered targets that could not be turned into scrape targets",
            m.target_failures.clone(),
        );
        registry.register(
            "vigil_scrape_file_sd_read_errors",
            "Failures reading or parsing file_sd files",
            m.file_sd_errors.clone(),
        );
        m
    }

    pub(crate) fn failure(&self, reason: &'static str) {
        self.failures.get_or_create(&ReasonLabels { reason }).inc();
    }

    pub(crate) fn set_targets(&self, pool: &str, active: usize, dropped: usize) {
        for (state, n) in [("active", active), ("dropped", dropped)] {
            self.targets
                .get_or_create(&PoolStateLabels {
                    scrape_pool: pool.to_owned(),
                    state,
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    pub(crate) fn remove_pool(&self, pool: &str) {
        for state in ["active", "dropped"] {
            self.targets.remove(&PoolStateLabels {
                scrape_pool: pool.to_owned(),
                state,
            });
        }
    }
}
