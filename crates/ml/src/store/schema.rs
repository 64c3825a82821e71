//! A model's features and class names: each feature's kind (detected from its first value or
//! set in config) and the dictionaries that turn category and class texts into small codes.

use std::collections::HashMap;

use crate::error::MlError;
use crate::ColumnKind;

/// Texts interned as dense `u32` codes, up to a limit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dict {
    codes: HashMap<String, u32>,
    texts: Vec<String>,
}

impl Dict {
    /// The code of `text`, adding it when there is room (`None`: `limit` texts are known and
    /// `text` is not one of them).
    pub fn intern(&mut self, text: &str, limit: usize) -> Option<u32> {
        if let Some(&c) = self.codes.get(text) {
            return Some(c);
        }
        if self.texts.len() >= limit {
            return None;
        }
        let code = u32::try_from(self.texts.len()).ok()?;
        self.codes.insert(text.to_owned(), code);
        self.texts.push(text.to_owned());
        Some(code)
    }

    /// Whether [`Dict::intern`] would refuse `text`.
    pub fn is_full_for(&self, text: &str, limit: usize) -> bool {
        self.texts.len() >= limit && !self.codes.contains_key(text)
    }

    /// The code of `text` if it is known.
    pub fn get(&self, text: &str) -> Option<u32> {
        self.codes.get(text).copied()
    }

    /// The text of `code`.
    pub fn text(&self, code: u32) -> &str {
        usize::try_from(code)
            .ok()
            .and_then(|i| self.texts.get(i))
            .map_or("", String::as_str)
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// The texts in code order.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    /// A dictionary of `texts` in code order, as a snapshot stored it; `None` when a text
    /// repeats or there are more than `u32` codes.
    pub fn from_texts(texts: Vec<String>) -> Option<Dict> {
        u32::try_from(texts.len()).ok()?;
        let mut codes = HashMap::with_capacity(texts.len());
        for (i, t) in texts.iter().enumerate() {
            if codes.insert(t.clone(), u32::try_from(i).ok()?).is_some() {
                return None;
            }
        }
        Some(Dict { codes, texts })
    }
}

/// The error for a text refused by a full [`Dict`]; `what` names the dictionary.
pub(crate) fn dict_full(limit: usize, what: &str, text: &str) -> MlError {
    MlError::Limit {
        what: "distinct values",
        limit,
        detail: format!(" for {what} (value {text:?})"),
    }
}

/// One feature of a model.
#[derive(Debug, Clone)]
pub(crate) struct Feature {
    pub name: String,
    pub kind: ColumnKind,
    /// Categories (categorical features only).
    pub dict: Dict,
}

/// A model's features, in the order they were first seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct Schema {
    pub features: Vec<Feature>,
    index: HashMap<String, usize>,
}

impl Schema {
    /// The index of feature `name`, adding it with `kind` when new.
    pub fn feature(
        &mut self,
        name: &str,
        kind: impl FnOnce() -> ColumnKind,
        limit: usize,
    ) -> Result<usize, MlError> {
        if let Some(&i) = self.index.get(name) {
            return Ok(i);
        }
        if self.features.len() >= limit {
            return Err(MlError::Limit {
                what: "features per model",
                limit,
                detail: format!(" (new feature {name:?})"),
            });
        }
        let i = self.features.len();
        self.features.push(Feature {
            name: name.to_owned(),
            kind: kind(),
            dict: Dict::default(),
        });
        self.index.insert(name.to_owned(), i);
        Ok(i)
    }

    /// Appends a feature as a snapshot stored it; `false` when the name is already known.
    pub fn restore_feature(&mut self, name: String, kind: ColumnKind, dict: Dict) -> bool {
        if self.index.contains_key(&name) {
            return false;
        }
        self.index.insert(name.clone(), self.features.len());
        self.features.push(Feature { name, kind, dict });
        true
    }

    /// The index of a known feature, trying position `hint` first: events usually send their
    /// features in the order the model first saw them, and comparing one name is cheaper than
    /// hashing it.
    pub fn get_hinted(&self, hint: usize, name: &str) -> Option<usize> {
        match self.features.get(hint) {
            Some(f) if f.name == name => Some(hint),
            _ => self.get(name),
        }
    }

    /// The index of a known feature.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_interns_up_to_its_limit() {
        let mut d = Dict::default();
        assert_eq!(d.intern("a", 2), Some(0));
        assert_eq!(d.intern("b", 2), Some(1));
        assert_eq!(d.intern("a", 2), Some(0));
        assert!(d.is_full_for("c", 2) && !d.is_full_for("a", 2));
        assert_eq!(d.intern("c", 2), None);
        let e = dict_full(2, "feature \"country\"", "c");
        assert_eq!(
            e.to_string(),
            "distinct values limit of 2 reached for feature \"country\" (value \"c\")"
        );
        assert_eq!(d.text(1), "b");
        assert_eq!(d.text(7), "");
    }

    #[test]
    fn schema_limits_features() {
        let mut s = Schema::default();
        assert_eq!(s.feature("a", || ColumnKind::Numerical, 1).ok(), Some(0));
        assert!(s.feature("b", || ColumnKind::Numerical, 1).is_err());
        assert_eq!(s.get("a"), Some(0));
    }
}
