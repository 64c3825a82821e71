use std::fmt;

use crate::ModelError;

/// The label that carries the metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// One label pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    pub name: String,
    pub value: String,
}

impl Label {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A label set: sorted by name, names unique, no empty values (Prometheus treats a label with an
/// empty value as absent, so it is dropped on construction).
///
/// Ordering and equality are those of the sorted pair list, which is also Prometheus's order for
/// series in API responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Labels(Vec::new())
    }

    /// Builds a label set from pairs, sorting them and dropping empty values.
    ///
    /// # Errors
    /// A duplicate name is an error. Names are not syntax-checked here (use [`Labels::validate`]):
    /// internal callers build label sets they already know to be valid.
    pub fn from_pairs<N, V, I>(pairs: I) -> Result<Self, ModelError>
    where
        N: Into<String>,
        V: Into<String>,
        I: IntoIterator<Item = (N, V)>,
    {
        let mut v: Vec<Label> = pairs
            .into_iter()
            .map(|(n, v)| Label::new(n, v))
            .filter(|l| !l.value.is_empty())
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        for w in v.windows(2) {
            if let [a, b] = w {
                if a.name == b.name {
                    return Err(ModelError::DuplicateLabel {
                        name: a.name.clone(),
                    });
                }
            }
        }
        Ok(Labels(v))
    }

    /// Wraps a vector the caller guarantees is sorted by name, unique, and free of empty values
    /// (e.g. decoded from our own storage). Debug builds check the invariant.
    pub fn from_sorted_unchecked(v: Vec<Label>) -> Self {
        debug_assert!(v.windows(2).all(|w| w[0].name < w[1].name));
        Labels(v)
    }

    /// Checks every name's syntax and that a metric name is present and valid.
    ///
    /// # Errors
    /// The first invalid name, or a missing `__name__`.
    pub fn validate(&self) -> Result<(), ModelError> {
        let mut has_name = false;
        for l in &self.0 {
            if l.name == METRIC_NAME_LABEL {
                has_name = true;
                if !is_valid_metric_name(&l.value) {
                    return Err(ModelError::InvalidMetricName {
                        name: l.value.clone(),
                    });
                }
            } else if !is_valid_label_name(&l.name) {
                return Err(ModelError::InvalidLabelName {
                    name: l.name.clone(),
                });
            }
        }
        if has_name {
            Ok(())
        } else {
            Err(ModelError::MissingMetricName)
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|l| l.value.as_str())
    }

    /// The metric name, if any.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME_LABEL)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }

    /// A builder starting from this set, for relabelling and label injection.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.0.clone(),
        }
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Prometheus's text form: `name{a="1", b="2"}` with the name pulled out front.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.metric_name() {
            f.write_str(n)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for l in self.0.iter().filter(|l| l.name != METRIC_NAME_LABEL) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

/// Mutable label set that re-establishes the [`Labels`] invariants on [`LabelsBuilder::build`].
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    pub fn new() -> Self {
        LabelsBuilder::default()
    }

    /// Sets `name` to `value`, replacing any existing value; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        match self.labels.iter_mut().find(|l| l.name == name) {
            Some(l) => value.clone_into(&mut l.value),
            None => self.labels.push(Label::new(name, value)),
        }
        self
    }

    /// Sets `name` only when it is not already present with a non-empty value.
    pub fn set_if_absent(&mut self, name: &str, value: &str) -> &mut Self {
        if self.get(name).is_none_or(str::is_empty) {
            self.set(name, value);
        }
        self
    }

    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| l.name != name);
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.value.as_str())
    }

    /// Keeps only labels for which `f` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&Label) -> bool) -> &mut Self {
        self.labels.retain(|l| f(l));
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.labels.iter()
    }

    /// Sorts, drops empty values. Names are unique by construction of `set`.
    pub fn build(&self) -> Labels {
        let mut v: Vec<Label> = self
            .labels
            .iter()
            .filter(|l| !l.value.is_empty())
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v.dedup_by(|a, b| a.name == b.name);
        Labels(v)
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub fn is_valid_label_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_valid_metric_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_pairs_sorts_and_drops_empty() {
        let l = Labels::from_pairs([("b", "2"), ("__name__", "up"), ("a", ""), ("c", "3")])
            .expect("valid");
        let names: Vec<_> = l.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "b", "c"]);
        assert_eq!(l.get("b"), Some("2"));
        assert_eq!(l.get("a"), None);
        assert_eq!(l.to_string(), r#"up{b="2", c="3"}"#);
    }

    #[test]
    fn duplicate_is_error() {
        assert!(matches!(
            Labels::from_pairs([("a", "1"), ("a", "2")]),
            Err(ModelError::DuplicateLabel { .. })
        ));
    }

    #[test]
    fn validate_names() {
        let bad = Labels::from_pairs([("__name__", "up"), ("1abc", "x")]).expect("pairs");
        assert_eq!(
            bad.validate().map_err(|e| e.to_string()),
            Err(r#"label name "1abc" must match [a-zA-Z_][a-zA-Z0-9_]*"#.to_string())
        );
        let no_name = Labels::from_pairs([("a", "1")]).expect("pairs");
        assert_eq!(no_name.validate(), Err(ModelError::MissingMetricName));
        let ok = Labels::from_pairs([("__name__", "ns:up"), ("a", "1")]).expect("pairs");
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn builder_set_and_delete() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a")]).expect("pairs");
        let mut b = l.builder();
        b.set("instance", "x:1")
            .set("job", "")
            .set_if_absent("instance", "no");
        let out = b.build();
        assert_eq!(out.get("instance"), Some("x:1"));
        assert_eq!(out.get("job"), None);
    }
}
