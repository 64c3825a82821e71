//! Rule files in Prometheus's format, parsed raw with serde and then validated into
//! [`GroupSpec`]s the way Prometheus 2.42's `rulefmt` validates them (plus the later
//! `query_offset` group field). Every error is located as `file:line`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vigil_model::{is_valid_label_name, is_valid_metric_name, parse_duration_ms, YamlPositions};

use crate::{RuleFileError, RulesError};

/// Whether a rule records a series or raises alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    Recording,
    Alerting,
}

/// A validated rule, ready to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub kind: RuleKind,
    /// The `record` metric name or the `alert` name.
    pub name: String,
    /// The expression as written in the file; this is what is evaluated.
    pub expr: String,
    /// The expression as Prometheus prints it (`Expr.String()`), for the API and links.
    pub query: String,
    /// `for`, milliseconds (alerting rules).
    pub for_ms: u64,
    /// `keep_firing_for`, milliseconds (alerting rules).
    pub keep_firing_for_ms: u64,
    /// Extra labels; values of alerting rules are templates. An empty value removes the label.
    pub labels: BTreeMap<String, String>,
    /// Annotation templates (alerting rules).
    pub annotations: BTreeMap<String, String>,
}

/// A validated rule group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// The file the group came from, as given to the loader.
    pub file: String,
    pub name: String,
    /// `interval`; `None` means the global evaluation interval.
    pub interval_ms: Option<u64>,
    /// `limit`; 0 means none.
    pub limit: usize,
    /// `query_offset`; `None` means the global default.
    pub query_offset_ms: Option<u64>,
    pub rules: Vec<RuleSpec>,
}

impl GroupSpec {
    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Option<Vec<RawGroup>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    query_offset: Option<String>,
    #[serde(default)]
    rules: Option<Vec<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    record: Option<String>,
    #[serde(default)]
    alert: Option<String>,
    #[serde(default)]
    expr: Option<String>,
    #[serde(default, rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, Option<String>>>,
}

/// Collects errors with their lines.
struct Validator<'a> {
    file: &'a str,
    pos: YamlPositions,
    errors: Vec<RuleFileError>,
}

impl Validator<'_> {
    fn err(&mut self, path: &str, message: String) {
        self.errors.push(RuleFileError {
            file: self.file.to_owned(),
            line: self.pos.line_of(path),
            message,
        });
    }

    fn duration(&mut self, path: &str, v: Option<&String>) -> Option<u64> {
        let s = v?;
        match parse_duration_ms(s) {
            Ok(ms) => Some(ms),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }
}

/// Parses and validates one rule file's text. `file` names it in errors and in the groups.
///
/// # Errors
/// Every problem found, each as `file:line: reason`.
pub fn parse_rule_file(file: &str, text: &str) -> Result<Vec<GroupSpec>, Vec<RuleFileError>> {
    let raw: Option<RawFile> = match serde_yaml_ng::from_str(text) {
        Ok(r) => r,
        Err(e) => return Err(vec![yaml_error(file, &e)]),
    };
    let mut v = Validator {
        file,
        pos: YamlPositions::new(text),
        errors: Vec::new(),
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let groups = raw.and_then(|r| r.groups).unwrap_or_default();
    for (gi, g) in groups.into_iter().enumerate() {
        let gpath = format!("groups[{gi}]");
        let name = g.name.unwrap_or_default();
        if name.is_empty() {
            v.err(&gpath, "Groupname must not be empty".to_owned());
        }
        if !seen.insert(name.clone()) {
            v.err(
                &gpath,
                format!("groupname: \"{name}\" is repeated in the same file"),
            );
        }
        let interval_ms = v.duration(&format!("{gpath}.interval"), g.interval.as_ref());
        let query_offset_ms = v.duration(&format!("{gpath}.query_offset"), g.query_offset.as_ref());
        let limit = usize::try_from(g.limit.unwrap_or(0).max(0)).unwrap_or(usize::MAX);
        let mut rules = Vec::new();
        for (ri, r) in g.rules.unwrap_or_default().into_iter().enumerate() {
            let rpath = format!("{gpath}.rules[{ri}]");
            if let Some(rule) = validate_rule(&mut v, &name, ri + 1, &rpath, r) {
                rules.push(rule);
            }
        }
        out.push(GroupSpec {
            file: file.to_owned(),
            name,
            interval_ms,
            limit,
            query_offset_ms,
            rules,
        });
    }
    if v.errors.is_empty() {
        Ok(out)
    } else {
        Err(v.errors)
    }
}

fn flatten(m: Option<BTreeMap<String, Option<String>>>) -> BTreeMap<String, String> {
    m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

fn validate_rule(
    v: &mut Validator<'_>,
    group: &str,
    index: usize,
    rpath: &str,
    r: RawRule,
) -> Option<RuleSpec> {
    let record = r.record.unwrap_or_default();
    let alert = r.alert.unwrap_or_default();
    let expr = r.expr.unwrap_or_default();
    let labels = flatten(r.labels);
    let annotations = flatten(r.annotations);
    let rule_name = if alert.is_empty() { &record } else { &alert };
    let prefix = format!("group {group:?}, rule {index}, {rule_name:?}: ");
    let before = v.errors.len();
    let fail = |v: &mut Validator<'_>, path: &str, msg: &str| {
        v.err(path, format!("{prefix}{msg}"));
    };
    let rec_path = format!("{rpath}.record");
    if !record.is_empty() && !alert.is_empty() {
        fail(v, &rec_path, "only one of 'record' and 'alert' must be set");
    }
    if record.is_empty() && alert.is_empty() {
        fail(v, rpath, "one of 'record' or 'alert' must be set");
    }
    let expr_path = format!("{rpath}.expr");
    let mut query = String::new();
    if expr.is_empty() {
        fail(v, &expr_path, "field 'expr' must be set in rule");
    } else {
        match vigil_promql::expr_string(&expr) {
            Ok(q) => query = q,
            Err(e) => fail(v, &expr_path, &format!("could not parse expression: {e}")),
        }
    }
    let for_ms = v
        .duration(&format!("{rpath}.for"), r.for_.as_ref())
        .unwrap_or(0);
    let keep_firing_for_ms = v
        .duration(
            &format!("{rpath}.keep_firing_for"),
            r.keep_firing_for.as_ref(),
        )
        .unwrap_or(0);
    if !record.is_empty() {
        if !annotations.is_empty() {
            fail(
                v,
                &rec_path,
                "invalid field 'annotations' in recording rule",
            );
        }
        if for_ms != 0 {
            fail(v, &rec_path, "invalid field 'for' in recording rule");
        }
        if keep_firing_for_ms != 0 {
            fail(
                v,
                &rec_path,
                "invalid field 'keep_firing_for' in recording rule",
            );
        }
        if !is_valid_metric_name(&record) {
            fail(
                v,
                &rec_path,
                &format!("invalid recording rule name: {record}"),
            );
        }
    }
    for k in labels.keys() {
        if !is_valid_label_name(k) || k == vigil_model::METRIC_NAME_LABEL {
            fail(
                v,
                &format!("{rpath}.labels.{k}"),
                &format!("invalid label name: {k}"),
            );
        }
    }
    for k in annotations.keys() {
        if !is_valid_label_name(k) {
            fail(
                v,
                &format!("{rpath}.annotations.{k}"),
                &format!("invalid annotation name: {k}"),
            );
        }
    }
    if !alert.is_empty() {
        let tname = format!("__alert_{alert}");
        for (what, map) in [("label", &labels), ("annotation", &annotations)] {
            for (k, text) in map {
                if let Err(e) = vigil_template::check_rule_template(&tname, text) {
                    fail(
                        v,
                        &format!("{rpath}.{what}s.{k}"),
                        &format!("{what} {k:?}: {e}"),
                    );
                }
            }
        }
    }
    if v.errors.len() > before {
        return None;
    }
    let (kind, name) = if alert.is_empty() {
        (RuleKind::Recording, record)
    } else {
        (RuleKind::Alerting, alert)
    };
    Some(RuleSpec {
        kind,
        name,
        expr,
        query,
        for_ms,
        keep_firing_for_ms,
        labels,
        annotations,
    })
}

/// A serde error as `file:line: message` (the message without serde's own location suffix).
fn yaml_error(file: &str, e: &serde_yaml_ng::Error) -> RuleFileError {
    let msg = e.to_string();
    let msg = match msg.find(" at line ") {
        Some(i) => msg.get(..i).unwrap_or(&msg).to_owned(),
        None => msg,
    };
    RuleFileError {
        file: file.to_owned(),
        line: e.location().map(|l| l.line()),
        message: msg,
    }
}

/// Reads and validates one rule file; groups name it by `path` as given.
///
/// # Errors
/// An unreadable file, or every problem in it.
pub fn load_file(path: &Path) -> Result<Vec<GroupSpec>, Vec<RuleFileError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![RuleFileError {
            file: name.clone(),
            line: None,
            message: e.to_string(),
        }]
    })?;
    parse_rule_file(&name, &text)
}

/// Reads and validates every file, in order. All files are read even after one fails, so that
/// every error is reported at once.
///
/// # Errors
/// Every problem in every file.
pub fn load_files<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<GroupSpec>, Vec<RuleFileError>> {
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match load_file(p.as_ref()) {
            Ok(g) => groups.extend(g),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(errors)
    }
}

/// Expands `rule_files` patterns as Prometheus does: relative patterns are taken from
/// `base_dir` (the config file's folder), each is globbed, a pattern matching nothing adds
/// nothing. Files matched by several patterns are kept once, in first-match order.
///
/// # Errors
/// A malformed glob pattern.
pub fn resolve_rule_files(
    patterns: &[String],
    base_dir: Option<&Path>,
) -> Result<Vec<PathBuf>, RulesError> {
    let mut out: Vec<PathBuf> = Vec::new();
    for pat in patterns {
        if pat.is_empty() {
            continue;
        }
        let full = match base_dir {
            Some(dir) if Path::new(pat).is_relative() => dir.join(pat),
            _ => PathBuf::from(pat),
        };
        let text = full.to_string_lossy().into_owned();
        let paths = glob::glob(&text).map_err(|e| RulesError::Pattern {
            pattern: pat.clone(),
            reason: e.to_string(),
        })?;
        for p in paths.flatten() {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// Rules that record the same metric (or alert) name with the same labels, which promtool's
/// `duplicate-rules` lint reports: each as the name and its labels.
pub fn duplicate_rules(groups: &[GroupSpec]) -> Vec<(String, BTreeMap<String, String>)> {
    let mut all: Vec<(&String, &BTreeMap<String, String>)> = groups
        .iter()
        .flat_map(|g| g.rules.iter().map(|r| (&r.name, &r.labels)))
        .collect();
    all.sort();
    let mut dups: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for w in all.windows(2) {
        if let [a, b] = w {
            if a == b && dups.last().is_none_or(|(n, l)| (n, l) != (a.0, a.1)) {
                dups.push((b.0.clone(), b.1.clone()));
            }
        }
    }
    dups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<String> {
        match parse_rule_file("r.yml", text) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn parses_groups_and_rules() {
        let g = parse_rule_file(
            "r.yml",
            "groups:\n- name: a\n  interval: 30s\n  rules:\n  - record: x:y\n    expr: sum(up) by (job)\n    labels: {team: ml}\n  - alert: Down\n    expr: up == 0\n    for: 5m\n    annotations: {summary: 'x {{ $labels.job }}'}\n",
        )
        .expect("valid");
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].interval_ms, Some(30_000));
        assert_eq!(g[0].rules[0].query, "sum by (job) (up)");
        assert_eq!(g[0].rules[1].kind, RuleKind::Alerting);
        assert_eq!(g[0].rules[1].for_ms, 300_000);
    }

    #[test]
    fn empty_and_comment_only_files_have_no_groups() {
        assert_eq!(parse_rule_file("r.yml", ""), Ok(vec![]));
        assert_eq!(parse_rule_file("r.yml", "# nothing\n"), Ok(vec![]));
        assert_eq!(parse_rule_file("r.yml", "groups:\n"), Ok(vec![]));
    }

    #[test]
    fn errors_name_file_line_and_rule() {
        let e = errs("groups:\n- name: a\n  rules:\n  - record: x\n    expr: 'test +'\n");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("r.yml:5: group \"a\", rule 1, \"x\": could not parse expression: "),
            "{e:?}"
        );
        let e = errs("groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n- rules: []\n");
        assert_eq!(
            e,
            [
                "r.yml:4: groupname: \"a\" is repeated in the same file",
                "r.yml:6: Groupname must not be empty"
            ]
        );
        let e = errs("groups:\n- name: a\n  rules:\n  - record: x\n    alert: y\n    expr: up\n  - expr: up\n  - record: 1x\n    expr: up\n    for: 1m\n    annotations: {a: b}\n    labels: {__name__: z, 'a-b': c}\n");
        assert!(e
            .iter()
            .any(|m| m.contains("only one of 'record' and 'alert' must be set")));
        assert!(e
            .iter()
            .any(|m| m.contains("one of 'record' or 'alert' must be set")));
        assert!(e
            .iter()
            .any(|m| m.contains("invalid recording rule name: 1x")));
        assert!(e
            .iter()
            .any(|m| m.contains("invalid field 'for' in recording rule")));
        assert!(e
            .iter()
            .any(|m| m.contains("invalid field 'annotations' in recording rule")));
        assert!(e.iter().any(|m| m.contains("invalid label name: __name__")));
        assert!(e.iter().any(|m| m.contains("invalid label name: a-b")));
        let e = errs("groups:\n- name: a\n  rulez: []\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("r.yml:3: "), "{e:?}");
        assert!(e[0].contains("unknown field `rulez`"), "{e:?}");
    }

    #[test]
    fn scalars_of_any_type_are_strings() {
        let g = parse_rule_file(
            "r.yml",
            "groups:\n- name: 1\n  limit: 3\n  query_offset: 1m\n  rules:\n  - alert: 2\n    expr: 1\n    labels: {v: 1.10, e: ~}\n",
        )
        .expect("valid");
        assert_eq!(g[0].name, "1");
        assert_eq!(g[0].limit, 3);
        assert_eq!(g[0].query_offset_ms, Some(60_000));
        assert_eq!(g[0].rules[0].expr, "1");
        assert_eq!(
            g[0].rules[0].labels.get("v").map(String::as_str),
            Some("1.10")
        );
        assert_eq!(g[0].rules[0].labels.get("e").map(String::as_str), Some(""));
    }

    #[test]
    fn duplicate_rules_are_found_once() {
        let g = parse_rule_file(
            "r.yml",
            "groups:\n- name: a\n  rules:\n  - {record: x, expr: up}\n  - {record: x, expr: up}\n  - {record: x, expr: up}\n  - {record: y, expr: up}\n- name: b\n  rules:\n  - {record: y, expr: up, labels: {a: b}}\n",
        )
        .expect("valid");
        let d = duplicate_rules(&g);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].0, "x");
    }
}
