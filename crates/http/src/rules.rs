//! Prometheus's rule endpoints, `/api/v1/rules` and `/api/v1/alerts`, over the rule manager
//! the server runs. The JSON shapes are the rules crate's views; this module adds the
//! envelope, the query filters, and the last failed reload as a warning (Prometheus has no
//! field for it, and a bad rule file on reload keeps the previous rules running).

use std::sync::Arc;

use axum::response::Response;
use parking_lot::RwLock;
use vigil_rules::{RuleManager, RulesFilter};

use crate::params::Params;
use crate::read::success_raw;
use crate::{ApiError, AppState};

/// The rule manager as the HTTP layer sees it, with the outcome of the last reload.
#[derive(Clone)]
pub struct RulesHandle {
    pub manager: Arc<RuleManager>,
    /// The error of the last reload of the rule files, if it failed (the previous rules keep
    /// running); `None` once a reload succeeds.
    pub reload_error: Arc<RwLock<Option<String>>>,
}

impl RulesHandle {
    pub fn new(manager: Arc<RuleManager>) -> Self {
        RulesHandle {
            manager,
            reload_error: Arc::new(RwLock::new(None)),
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.reload_error
            .read()
            .as_ref()
            .map(|e| {
                vec![format!(
                    "rule files not reloaded, previous rules still in force: {e}"
                )]
            })
            .unwrap_or_default()
    }
}

fn encode<T: serde::Serialize>(data: &T) -> Result<String, ApiError> {
    serde_json::to_string(data).map_err(|e| ApiError::internal(format!("cannot encode rules: {e}")))
}

/// `GET|POST /api/v1/rules` with `type`, `rule_name[]`, `rule_group[]`, `file[]`,
/// `exclude_alerts`.
pub async fn rules(st: &AppState, p: Params) -> Result<Response, ApiError> {
    let filter =
        RulesFilter::from_params(p.iter()).map_err(|e| ApiError::bad_data(e.to_string()))?;
    let handle = st.rules.clone();
    let (body, warnings) = tokio::task::spawn_blocking(move || {
        let view = handle.manager.rules(&filter);
        (encode(&view), handle.warnings())
    })
    .await?;
    Ok(success_raw(&body?, warnings))
}

/// `GET|POST /api/v1/alerts`: every active (pending or firing) alert.
pub async fn alerts(st: &AppState, _p: Params) -> Result<Response, ApiError> {
    let handle = st.rules.clone();
    let body = tokio::task::spawn_blocking(move || encode(&handle.manager.alerts())).await?;
    Ok(success_raw(&body?, Vec::new()))
}
