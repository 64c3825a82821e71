//! The query parameters of `GET /api/v2/alerts`, `/alerts/groups` and `/silences`, and the
//! orderings Alertmanager gives their answers.

use std::cmp::Ordering;

use regex::Regex;
use vigil_model::{Labels, MatchOp};

use crate::api::GettableSilence;
use crate::error::Error;
use crate::matcher::{compile_anchored, parse_matcher, Matcher};
use crate::silence::{Silence, SilenceState};

/// Parameters of `GET /api/v2/alerts` and `GET /api/v2/alerts/groups`; every flag defaults to
/// true (include).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsQuery {
    /// Matchers in Alertmanager's syntax (`filter=alertname="X"`, repeated).
    pub filter: Vec<String>,
    pub active: bool,
    pub silenced: bool,
    pub inhibited: bool,
    /// Alerts only; Alertmanager 0.25 accepts it but ignores it, and after the status update
    /// every listed alert is processed, so it changes nothing there either.
    pub unprocessed: bool,
    /// An anchored regular expression over receiver names.
    pub receiver: Option<String>,
}

impl Default for AlertsQuery {
    fn default() -> Self {
        AlertsQuery {
            filter: Vec::new(),
            active: true,
            silenced: true,
            inhibited: true,
            unprocessed: true,
            receiver: None,
        }
    }
}

/// A query with its matchers and regex compiled.
#[derive(Debug)]
pub(crate) struct CompiledQuery {
    pub matchers: Vec<Matcher>,
    pub receiver: Option<Regex>,
}

/// Each `filter` entry is one matcher (`ParseMatcher`, not a list).
pub(crate) fn parse_filter(filter: &[String]) -> Result<Vec<Matcher>, Error> {
    filter
        .iter()
        .map(|f| parse_matcher(f).map_err(Error::InvalidQuery))
        .collect()
}

impl AlertsQuery {
    pub(crate) fn compile(&self) -> Result<CompiledQuery, Error> {
        let matchers = parse_filter(&self.filter)?;
        let receiver = self
            .receiver
            .as_deref()
            .map(|r| {
                compile_anchored(r).map_err(|e| {
                    Error::InvalidQuery(format!("failed to parse receiver param: {e}"))
                })
            })
            .transpose()?;
        Ok(CompiledQuery { matchers, receiver })
    }
}

/// Alertmanager's `matchFilterLabels`: unlike routing, an empty-valued matcher is decided by
/// the label's presence (`foo=""` selects alerts without `foo`, `foo!=""` those with it).
pub(crate) fn match_filter_labels(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| {
        let v = labels.get(&m.name);
        let present = v.is_some();
        let v = v.unwrap_or("");
        match m.op {
            MatchOp::NotRegex | MatchOp::NotEqual => {
                (m.value.is_empty() && present) || m.matches(v)
            }
            MatchOp::Equal | MatchOp::Regex => (m.value.is_empty() && !present) || m.matches(v),
        }
    })
}

/// Alertmanager's `CheckSilenceMatchesFilterLabels`: every filter matcher must appear in the
/// silence verbatim (same name, operator and value).
pub(crate) fn silence_matches_filter(s: &Silence, filter: &[Matcher]) -> bool {
    filter.iter().all(|f| {
        s.matchers
            .iter()
            .any(|m| m.name == f.name && m.op == f.op && m.value == f.value)
    })
}

fn state_rank(s: SilenceState) -> u8 {
    match s {
        SilenceState::Active => 1,
        SilenceState::Pending => 2,
        SilenceState::Expired => 3,
    }
}

/// Alertmanager's `SortSilences`: active (ending soonest first), then pending (starting
/// soonest first), then expired (most recently ended first).
pub(crate) fn sort_silences(sils: &mut [GettableSilence]) {
    sils.sort_by(|a, b| {
        let (sa, sb) = (a.status.state, b.status.state);
        if sa != sb {
            return state_rank(sa).cmp(&state_rank(sb));
        }
        match sa {
            SilenceState::Active => a.ends_at.cmp(&b.ends_at),
            SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
            SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
        }
    });
}

/// `model.LabelSet.Before`: fewer labels first, then by the sorted union of names, a missing
/// name sorting first, then by value.
pub(crate) fn labels_before(a: &Labels, b: &Labels) -> bool {
    if a.len() != b.len() {
        return a.len() < b.len();
    }
    let mut names: Vec<&str> = a.iter().chain(b.iter()).map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    for n in names {
        let Some(av) = a.get(n) else {
            return true;
        };
        let Some(bv) = b.get(n) else {
            return false;
        };
        match av.cmp(bv) {
            Ordering::Less => return true,
            Ordering::Greater => return false,
            Ordering::Equal => {}
        }
    }
    false
}

/// `model.LabelSet.Before` as an ordering.
pub(crate) fn labels_cmp(a: &Labels, b: &Labels) -> Ordering {
    if labels_before(a, b) {
        Ordering::Less
    } else if labels_before(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// `types.AlertSlice.Less`: by `job`, then `instance` (an alert lacking one sorts after), then
/// by label set.
pub(crate) fn alert_order(a: &Labels, b: &Labels) -> Ordering {
    for key in ["job", "instance"] {
        match (a.get(key), b.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    labels_cmp(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).expect("labels")
    }

    #[test]
    fn filter_uses_presence_for_empty_values() {
        let ms = parse_filter(&[r#"foo="""#.to_owned()]).expect("filter");
        assert!(match_filter_labels(&ms, &l(&[("a", "1")])));
        assert!(!match_filter_labels(&ms, &l(&[("foo", "1")])));
        let ms = parse_filter(&[r#"foo!="""#.to_owned()]).expect("filter");
        assert!(match_filter_labels(&ms, &l(&[("foo", "1")])));
        // Not present and `!= ""`: Matches("") is false.
        assert!(!match_filter_labels(&ms, &l(&[("a", "1")])));
        assert!(parse_filter(&["{a=b}x".to_owned()]).is_err());
    }

    #[test]
    fn label_set_order() {
        assert!(labels_before(
            &l(&[("a", "1")]),
            &l(&[("a", "1"), ("b", "1")])
        ));
        assert!(labels_before(&l(&[("a", "1")]), &l(&[("a", "2")])));
        assert!(!labels_before(&l(&[("a", "9")]), &l(&[("b", "1")])));
        assert_eq!(
            alert_order(&l(&[("job", "a"), ("z", "1")]), &l(&[("z", "0")])),
            Ordering::Less
        );
    }
}
