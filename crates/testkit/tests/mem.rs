//! The reference backend passes its own conformance suite.

use std::sync::Arc;

use vigil_storage::{MemStore, MetricStore};
use vigil_testkit::{run_metric_store_conformance, ConformanceConfig};

#[test]
fn memstore_conforms() {
    let cfg = ConformanceConfig::default();
    let w = cfg.ooo_window_ms;
    run_metric_store_conformance(&cfg, &|| Arc::new(MemStore::new(w)) as Arc<dyn MetricStore>);
}
