//! Relabelling with Prometheus's exact semantics (`model/relabel/relabel.go`, 2.42+ actions).
//!
//! [`RelabelConfig`] is the raw YAML form; [`RelabelConfig::validate`] turns it into a
//! [`RelabelRule`] with its regex compiled (fully anchored, `^(?:…)$`) and every action-specific
//! rule Prometheus enforces checked. [`process`] applies rules in order; a `keep`/`drop`/
//! `keepequal`/`dropequal` miss drops the whole label set.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};
use vigil_model::{is_valid_label_name, Labels, LabelsBuilder};

use crate::config::lenient_string;
use crate::ConfigError;

const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_REPLACEMENT: &str = "$1";

/// A relabelling step as written in `relabel_configs` / `metric_relabel_configs`.
///
/// Absent fields take Prometheus's defaults: separator `;`, regex `(.*)`, replacement `$1`,
/// action `replace`. Whether a field was written at all matters for validation (e.g. `keepequal`
/// must not set `regex`), so each is kept as an `Option`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_string::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modulus: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_label: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_string::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub replacement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// What a relabelling step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelabelAction {
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl RelabelAction {
    /// Parses an action name case-insensitively, as Prometheus does.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "replace" => RelabelAction::Replace,
            "keep" => RelabelAction::Keep,
            "drop" => RelabelAction::Drop,
            "keepequal" => RelabelAction::KeepEqual,
            "dropequal" => RelabelAction::DropEqual,
            "hashmod" => RelabelAction::HashMod,
            "labelmap" => RelabelAction::LabelMap,
            "labeldrop" => RelabelAction::LabelDrop,
            "labelkeep" => RelabelAction::LabelKeep,
            "lowercase" => RelabelAction::Lowercase,
            "uppercase" => RelabelAction::Uppercase,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RelabelAction::Replace => "replace",
            RelabelAction::Keep => "keep",
            RelabelAction::Drop => "drop",
            RelabelAction::KeepEqual => "keepequal",
            RelabelAction::DropEqual => "dropequal",
            RelabelAction::HashMod => "hashmod",
            RelabelAction::LabelMap => "labelmap",
            RelabelAction::LabelDrop => "labeldrop",
            RelabelAction::LabelKeep => "labelkeep",
            RelabelAction::Lowercase => "lowercase",
            RelabelAction::Uppercase => "uppercase",
        }
    }
}

impl fmt::Display for RelabelAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated relabelling step, ready to apply.
#[derive(Debug, Clone)]
pub struct RelabelRule {
    pub source_labels: Vec<String>,
    pub separator: String,
    /// The regex as written (unanchored).
    pub regex_source: String,
    regex: Regex,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    pub action: RelabelAction,
}

/// Rules are equal when written the same; the compiled regex follows from its source.
impl PartialEq for RelabelRule {
    fn eq(&self, o: &Self) -> bool {
        self.source_labels == o.source_labels
            && self.separator == o.separator
            && self.regex_source == o.regex_source
            && self.modulus == o.modulus
            && self.target_label == o.target_label
            && self.replacement == o.replacement
            && self.action == o.action
    }
}

/// `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`: a label name that may contain `$1`/`${name}`
/// references (Prometheus's `relabelTarget`).
fn is_valid_relabel_target(s: &str) -> bool {
    static_regex_relabel_target().is_match(s)
}

fn static_regex_relabel_target() -> &'static Regex {
    use std::sync::OnceLock;
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$")
            .expect("constant relabel target regex compiles")
    })
}

/// Compiles a relabel regex the way Prometheus does: fully anchored.
///
/// # Errors
/// The regex does not compile; the message is one line about the regex as written.
pub fn compile_anchored(src: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{src})$")).map_err(|anchored| {
        // Describe the error against the user's pattern, not our anchored wrapper, and keep
        // only the regex crate's one-line explanation.
        let e = Regex::new(src).err().unwrap_or(anchored);
        let text = e.to_string();
        let why = text
            .lines()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or(text.as_str())
            .trim();
        format!("invalid regular expression {src:?}: {why}")
    })
}

impl RelabelConfig {
    /// Checks the step as Prometheus does and compiles it. Paths in errors are relative to the
    /// step (e.g. `regex`, `target_label`), to be prefixed by the caller.
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<RelabelRule, ConfigError> {
        let action_src = self.action.as_deref().unwrap_or("replace");
        let action = RelabelAction::parse(action_src).ok_or_else(|| {
            ConfigError::new("action", format!("unknown relabel action {action_src:?}"))
        })?;
        if let Some(srcs) = &self.source_labels {
            for (i, l) in srcs.iter().enumerate() {
                if !is_valid_label_name(l) {
                    return Err(ConfigError::new(
                        format!("source_labels[{i}]"),
                        format!("{l:?} is not a valid label name"),
                    ));
                }
            }
        }
        let regex_source = self
            .regex
            .clone()
            .unwrap_or_else(|| DEFAULT_REGEX.to_owned());
        let regex = compile_anchored(&regex_source).map_err(|r| ConfigError::new("regex", r))?;
        let separator = self
            .separator
            .clone()
            .unwrap_or_else(|| DEFAULT_SEPARATOR.to_owned());
        let replacement = self
            .replacement
            .clone()
            .unwrap_or_else(|| DEFAULT_REPLACEMENT.to_owned());
        let target_label = self.target_label.clone().unwrap_or_default();
        let modulus = self.modulus.unwrap_or(0);

        use RelabelAction as A;
        if action == A::HashMod && modulus == 0 {
            return Err(ConfigError::new(
                "modulus",
                "relabel configuration for hashmod requires non-zero modulus",
            ));
        }
        let needs_target = matches!(
            action,
            A::Replace | A::HashMod | A::Lowercase | A::Uppercase | A::KeepEqual | A::DropEqual
        );
        if needs_target && target_label.is_empty() {
            return Err(ConfigError::new(
                "target_label",
                format!("relabel configuration for {action} action requires 'target_label' value"),
            ));
        }
        let bad_target = || {
            ConfigError::new(
                "target_label",
                format!("{target_label:?} is invalid 'target_label' for {action} action"),
            )
        };
        if action == A::Replace {
            let ok = if target_label.contains('$') {
                is_valid_relabel_target(&target_label)
            } else {
                is_valid_label_name(&target_label)
            };
            if !ok {
                return Err(bad_target());
            }
        }
        if matches!(
            action,
            A::Lowercase | A::Uppercase | A::KeepEqual | A::DropEqual | A::HashMod
        ) && !is_valid_label_name(&target_label)
        {
            return Err(bad_target());
        }
        if matches!(
            action,
            A::Lowercase | A::Uppercase | A::KeepEqual | A::DropEqual
        ) && replacement != DEFAULT_REPLACEMENT
        {
            return Err(ConfigError::new(
                "replacement",
                format!("'replacement' can not be set for {action} action"),
            ));
        }
        if action == A::LabelMap && !is_valid_relabel_target(&replacement) {
            return Err(ConfigError::new(
                "replacement",
                format!("{replacement:?} is invalid 'replacement' for {action} action"),
            ));
        }
        if matches!(action, A::KeepEqual | A::DropEqual)
            && (self.regex.is_some()
                || modulus != 0
                || separator != DEFAULT_SEPARATOR
                || replacement != DEFAULT_REPLACEMENT)
        {
            return Err(ConfigError::new(
                "",
                format!(
                    "{action} action requires only 'source_labels' and `target_label`, and no other fields"
                ),
            ));
        }
        if matches!(action, A::LabelDrop | A::LabelKeep)
            && (self.source_labels.is_some()
                || !target_label.is_empty()
                || modulus != 0
                || separator != DEFAULT_SEPARATOR
                || replacement != DEFAULT_REPLACEMENT)
        {
            return Err(ConfigError::new(
                "",
                format!("{action} action requires only 'regex', and no other fields"),
            ));
        }
        Ok(RelabelRule {
            source_labels: self.source_labels.clone().unwrap_or_default(),
            separator,
            regex_source,
            regex,
            modulus,
            target_label,
            replacement,
            action,
        })
    }
}

impl RelabelRule {
    /// The anchored, compiled regex.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    /// Applies this step to `b`. Returns false when the label set is to be dropped.
    pub fn apply(&self, b: &mut LabelsBuilder) -> bool {
        let val = self
            .source_labels
            .iter()
            .map(|n| b.get(n).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(&self.separator);
        match self.action {
            RelabelAction::Drop => {
                if self.regex.is_match(&val) {
                    return false;
                }
            }
            RelabelAction::Keep => {
                if !self.regex.is_match(&val) {
                    return false;
                }
            }
            RelabelAction::DropEqual => {
                if b.get(&self.target_label).unwrap_or("") == val {
                    return false;
                }
            }
            RelabelAction::KeepEqual => {
                if b.get(&self.target_label).unwrap_or("") != val {
                    return false;
                }
            }
            RelabelAction::Replace => {
                // No match: no replacement takes place.
                let Some(caps) = self.regex.captures(&val) else {
                    return true;
                };
                let mut target = String::new();
                caps.expand(&self.target_label, &mut target);
                if !is_valid_label_name(&target) {
                    return true;
                }
                let mut res = String::new();
                caps.expand(&self.replacement, &mut res);
                if res.is_empty() {
                    b.del(&target);
                } else {
                    b.set(&target, &res);
                }
            }
            RelabelAction::Lowercase => {
                b.set(&self.target_label, &val.to_lowercase());
            }
            RelabelAction::Uppercase => {
                b.set(&self.target_label, &val.to_uppercase());
            }
            RelabelAction::HashMod => {
                let m = hashmod(&val, self.modulus);
                b.set(&self.target_label, &m.to_string());
            }
            RelabelAction::LabelMap => {
                let snapshot: Vec<(String, String)> = b
                    .iter()
                    .filter(|l| !l.value.is_empty())
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect();
                for (name, value) in snapshot {
                    if self.regex.is_match(&name) {
                        let res = self.regex.replace_all(&name, self.replacement.as_str());
                        if !res.is_empty() {
                            b.set(&res, &value);
                        }
                    }
                }
            }
            RelabelAction::LabelDrop => {
                b.retain(|l| !self.regex.is_match(&l.name));
            }
            RelabelAction::LabelKeep => {
                b.retain(|l| self.regex.is_match(&l.name));
            }
        }
        true
    }
}

/// Prometheus's hashmod: the MD5 of the value, its last 8 bytes read as a big-endian u64,
/// modulo `modulus`.
pub fn hashmod(val: &str, modulus: u64) -> u64 {
    let digest = md5::compute(val.as_bytes());
    let mut tail = [0u8; 8];
    if let Some(src) = digest.0.get(8..16) {
        tail.copy_from_slice(src);
    }
    u64::from_be_bytes(tail).checked_rem(modulus).unwrap_or(0)
}

/// Applies `rules` in order to a builder. Returns false when the set is dropped.
pub fn process_builder(b: &mut LabelsBuilder, rules: &[RelabelRule]) -> bool {
    rules.iter().all(|r| r.apply(b))
}

/// Applies `rules` in order; `None` when a rule drops the label set.
pub fn process(labels: &Labels, rules: &[RelabelRule]) -> Option<Labels> {
    let mut b = labels.builder();
    process_builder(&mut b, rules).then(|| b.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> RelabelRule {
        let raw: RelabelConfig = serde_yaml_ng::from_str(yaml).expect("yaml");
        raw.validate().expect("valid")
    }

    #[test]
    fn defaults_apply() {
        let r = rule("target_label: foo\nsource_labels: [a]");
        assert_eq!(r.action, RelabelAction::Replace);
        assert_eq!(r.separator, ";");
        assert_eq!(r.replacement, "$1");
        assert_eq!(r.regex_source, "(.*)");
    }

    #[test]
    fn regex_is_anchored() {
        let r = rule("source_labels: [a]\nregex: b\naction: keep");
        assert!(r.regex().is_match("b"));
        assert!(!r.regex().is_match("abc"));
    }

    #[test]
    fn action_is_case_insensitive() {
        assert_eq!(
            rule("action: LabelDrop\nregex: x").action,
            RelabelAction::LabelDrop
        );
    }
}
