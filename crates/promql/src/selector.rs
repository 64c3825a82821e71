//! Series selectors (`up{job="api"}`), as `match[]` parameters of the metadata APIs take them.

use promql_parser::label::{MatchOp as PMatchOp, Matcher as PMatcher};
use promql_parser::parser::Expr;
use vigil_model::{MatchOp, Matcher, ModelError, METRIC_NAME_LABEL};

use crate::PromqlError;

/// Parses a series selector into label matchers, the metric name included as a `__name__`
/// matcher.
///
/// # Errors
/// Invalid PromQL; an expression that is not a plain vector selector; a selector whose
/// matchers all match the empty string (Prometheus refuses those, as they would select
/// everything); `or` alternatives, which the metadata APIs do not take.
pub fn parse_selector(text: &str) -> Result<Vec<Matcher>, PromqlError> {
    let expr = crate::parse::parse(text)
        .map_err(|e| PromqlError::Parse(format!("invalid parameter {text:?}: {e}")))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(PromqlError::Invalid(format!(
            "invalid parameter {text:?}: expected a series selector such as up{{job=\"api\"}}"
        )));
    };
    if !vs.matchers.or_matchers.is_empty() {
        return Err(PromqlError::Invalid(format!(
            "invalid parameter {text:?}: 'or' in a series selector is not supported here"
        )));
    }
    let out = storage_matchers(vs.name.as_ref(), &vs.matchers.matchers)
        .map_err(|e| PromqlError::Invalid(e.to_string()))?;
    if out.iter().all(Matcher::matches_empty) {
        return Err(PromqlError::Invalid(format!(
            "invalid parameter {text:?}: match[] must contain at least one non-empty matcher"
        )));
    }
    Ok(out)
}

/// A selector's matchers in storage form: the metric name written before the braces as a
/// `__name__` matcher (not repeated when the braces say the same), then the matchers of `list`.
///
/// # Errors
/// A matcher the model refuses (an invalid regex).
pub(crate) fn storage_matchers(
    name: Option<&String>,
    list: &[PMatcher],
) -> Result<Vec<Matcher>, ModelError> {
    let mut out = Vec::with_capacity(list.len() + 1);
    if let Some(name) = name {
        out.push(Matcher::equal(METRIC_NAME_LABEL, name.clone()));
    }
    for m in list {
        if m.name == METRIC_NAME_LABEL && matches!(m.op, PMatchOp::Equal) && Some(&m.value) == name
        {
            continue;
        }
        let op = match m.op {
            PMatchOp::Equal => MatchOp::Equal,
            PMatchOp::NotEqual => MatchOp::NotEqual,
            PMatchOp::Re(_) => MatchOp::Regex,
            PMatchOp::NotRe(_) => MatchOp::NotRegex,
        };
        out.push(Matcher::new(op, m.name.clone(), m.value.clone())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_matchers() {
        let m = parse_selector(r#"up{job="api",instance=~"a.*"}"#).expect("parses");
        let s: Vec<String> = m.iter().map(ToString::to_string).collect();
        assert_eq!(
            s,
            [r#"__name__="up""#, r#"job="api""#, r#"instance=~"a.*""#]
        );
    }

    #[test]
    fn bare_matchers() {
        let m = parse_selector(r#"{__name__=~"ml_.+"}"#).expect("parses");
        assert_eq!(m.len(), 1);
        assert!(m[0].matches("ml_x"));
    }

    #[test]
    fn rejects_non_selectors_and_empty_matchers() {
        assert!(parse_selector("sum(up)").is_err());
        assert!(parse_selector(r#"{job=""}"#).is_err());
        assert!(parse_selector("up{").is_err());
    }
}
