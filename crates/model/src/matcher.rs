use std::fmt;

use regex::Regex;

use crate::{Labels, ModelError};

/// The four PromQL matcher operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// A label matcher. Regexes are fully anchored, as in Prometheus.
///
/// A matcher on a label that a series lacks sees the empty string, so `foo=""` matches series
/// without `foo` and `foo!=""` selects series that have it.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    re: Option<Regex>,
}

impl Matcher {
    /// # Errors
    /// An invalid regular expression for `=~` / `!~`.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, ModelError> {
        let name = name.into();
        let value = value.into();
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(Regex::new(&format!("^(?s:{value})$")).map_err(|e| {
                    ModelError::InvalidRegex {
                        pattern: value.clone(),
                        reason: e.to_string(),
                    }
                })?)
            }
            _ => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            re,
        })
    }

    /// Convenience for the common `name="value"` matcher.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            re: None,
        }
    }

    /// Whether a label value (empty when the label is absent) satisfies this matcher.
    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.re) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            // Unreachable by construction: regex ops always carry a compiled regex.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    /// Whether this matcher matches the empty string (i.e. series lacking the label).
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// Whether a whole label set satisfies this matcher.
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored() {
        let m = Matcher::new(MatchOp::Regex, "job", "api").expect("regex");
        assert!(m.matches("api"));
        assert!(!m.matches("api-server"));
        let m = Matcher::new(MatchOp::NotRegex, "job", "a.*").expect("regex");
        assert!(!m.matches("abc"));
        assert!(m.matches("b"));
    }

    #[test]
    fn absent_label_is_empty() {
        let l = Labels::from_pairs([("__name__", "up")]).expect("pairs");
        assert!(Matcher::equal("job", "").matches_labels(&l));
        assert!(!Matcher::new(MatchOp::NotEqual, "job", "")
            .expect("m")
            .matches_labels(&l));
    }

    #[test]
    fn bad_regex_is_error() {
        assert!(Matcher::new(MatchOp::Regex, "a", "(").is_err());
    }
}
