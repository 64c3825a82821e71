//! Rule queries through the PromQL engine: Prometheus's `EngineQueryFunc` (an instant query
//! whose scalar result becomes a one-element vector) and the same function offered to
//! templates as [`TemplateQuery`].

use std::collections::BTreeMap;

use vigil_model::{Labels, Timestamp};
use vigil_promql::{Engine, Value};

use vigil_template::{QuerySample, TemplateQuery};

/// Runs `query` at `t`; a vector's elements, or a scalar as one element without labels.
///
/// # Errors
/// The engine's error text, or `rule result is not a vector or scalar`.
pub(crate) fn query_vector(
    engine: &Engine,
    query: &str,
    t: Timestamp,
) -> Result<Vec<(Labels, f64)>, String> {
    let out = engine.instant(query, t).map_err(|e| e.to_string())?;
    match out.value {
        Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
        Value::Scalar { v, .. } => Ok(vec![(Labels::empty(), v)]),
        Value::String { .. } | Value::Matrix(_) => {
            Err("rule result is not a vector or scalar".to_owned())
        }
    }
}

/// Labels as the map templates see.
pub(crate) fn label_map(labels: &Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// The `query` template function over the engine.
pub struct EngineTemplateQuery<'a> {
    engine: &'a Engine,
}

impl<'a> EngineTemplateQuery<'a> {
    pub fn new(engine: &'a Engine) -> Self {
        EngineTemplateQuery { engine }
    }
}

impl TemplateQuery for EngineTemplateQuery<'_> {
    fn query(&self, expr: &str, at_ms: i64) -> Result<Vec<QuerySample>, String> {
        Ok(query_vector(self.engine, expr, at_ms)?
            .into_iter()
            .map(|(l, v)| QuerySample {
                labels: label_map(&l),
                value: v,
            })
            .collect())
    }
}
