//! File-based service discovery (`file_sd_configs`), as Prometheus's `discovery/file`.
//!
//! Files matching the configured globs hold target groups in JSON (`.json`) or YAML (`.yml`,
//! `.yaml`): `[{targets: [host:port, …], labels: {…}}]`. Each group gets `__meta_filepath`.
//! Instead of inotify, the watcher polls the files' modification times and sizes every few
//! seconds and re-reads everything each `refresh_interval`. A file that fails to read or parse
//! keeps its previous targets and the error is logged; a file that disappears takes its
//! targets with it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use serde::Deserialize;
use vigil_model::is_valid_label_name;

use crate::config::FileSdSettings;
use crate::metrics::ScrapeMetrics;
use crate::target::{TargetGroup, ADDRESS_LABEL};
use crate::ScrapeError;

/// The label carrying the file a target came from.
pub const FILEPATH_LABEL: &str = "__meta_filepath";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(
        default,
        deserialize_with = "crate::config::lenient_string::map_option"
    )]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

#[derive(Debug)]
struct FileEntry {
    stamp: Stamp,
    groups: Vec<TargetGroup>,
}

/// The state of one `file_sd_configs` entry.
#[derive(Debug)]
pub(crate) struct FileSd {
    settings: FileSdSettings,
    files: BTreeMap<PathBuf, FileEntry>,
    last_full: Option<Instant>,
}

/// Parses one file_sd file's content.
///
/// # Errors
/// Syntax errors, unknown fields, invalid label names, null groups.
pub(crate) fn parse_file(path: &Path, content: &[u8]) -> Result<Vec<TargetGroup>, ScrapeError> {
    let err = |reason: String| ScrapeError::Discovery {
        path: path.display().to_string(),
        reason,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let raw: Vec<Option<FileGroup>> = match ext.as_str() {
        "json" => serde_json::from_slice(content).map_err(|e| err(e.to_string()))?,
        "yml" | "yaml" => {
            if content.iter().all(u8::is_ascii_whitespace) {
                Vec::new()
            } else {
                serde_yaml_ng::from_slice(content).map_err(|e| err(e.to_string()))?
            }
        }
        _ => return Err(err(format!("unsupported file extension {ext:?}"))),
    };
    let path_s = path.display().to_string();
    let mut out = Vec::with_capacity(raw.len());
    for (i, g) in raw.into_iter().enumerate() {
        let g = g.ok_or_else(|| err(format!("group {i}: nil target group item found")))?;
        let mut labels = g.labels.unwrap_or_default();
        for name in labels.keys() {
            if !is_valid_label_name(name) {
                return Err(err(format!(
                    "group {i}: {name:?} is not a valid label name"
                )));
            }
        }
        labels.insert(FILEPATH_LABEL.to_owned(), path_s.clone());
        out.push(TargetGroup {
            targets: g
                .targets
                .into_iter()
                .map(|a| BTreeMap::from([(ADDRESS_LABEL.to_owned(), a)]))
                .collect(),
            labels,
            source: format!("{path_s}:{i}"),
        });
    }
    Ok(out)
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let md = std::fs::metadata(path)?;
    Ok(Stamp {
        modified: md.modified().ok(),
        len: md.len(),
    })
}

impl FileSd {
    pub(crate) fn new(settings: FileSdSettings) -> Self {
        FileSd {
            settings,
            files: BTreeMap::new(),
            last_full: None,
        }
    }

    /// Lists the files matching the globs, without duplicates.
    fn list_files(&self) -> BTreeSet<PathBuf> {
        let mut out = BTreeSet::new();
        for pattern in &self.settings.files {
            match glob::glob(pattern) {
                Ok(paths) => out.extend(paths.flatten()),
                Err(e) => {
                    tracing::error!(pattern = %pattern, error = %e, "invalid file_sd pattern");
                }
            }
        }
        out
    }

    /// Re-reads changed files (all files once `refresh_interval` has passed). Returns whether
    /// the set of groups changed.
    pub(crate) fn refresh(&mut self, metrics: &ScrapeMetrics) -> bool {
        let full = self
            .last_full
            .is_none_or(|t| t.elapsed() >= self.settings.refresh_interval.as_std());
        if full {
            self.last_full = Some(Instant::now());
        }
        let listed = self.list_files();
        let mut changed = false;
        let before = self.files.len();
        self.files.retain(|p, _| listed.contains(p));
        if self.files.len() != before {
            changed = true;
        }
        for path in listed {
            let st = match stamp(&path) {
                Ok(s) => s,
                Err(e) => {
                    // Listed but gone or unreadable: keep what we had.
                    tracing::debug!(path = %path.display(), error = %e, "cannot stat file_sd file");
                    continue;
                }
            };
            let known = self.files.get(&path);
            if !full && known.is_some_and(|f| f.stamp == st) {
                continue;
            }
            let parsed = std::fs::read(&path)
                .map_err(|e| ScrapeError::Discovery {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })
                .and_then(|c| parse_file(&path, &c));
            match parsed {
                Ok(groups) => {
                    if known.is_none_or(|f| f.groups != groups) {
                        changed = true;
                    }
                    self.files.insert(path, FileEntry { stamp: st, groups });
                }
                Err(e) => {
                    metrics.file_sd_errors.inc();
                    tracing::error!(error = %e, "error reading file_sd file, keeping its previous targets");
                    // Remember the stamp so the error is not repeated until the file changes.
                    let groups = known.map(|f| f.groups.clone()).unwrap_or_default();
                    self.files.insert(path, FileEntry { stamp: st, groups });
                }
            }
        }
        changed
    }

    /// All groups of all files.
    pub(crate) fn groups(&self) -> Vec<TargetGroup> {
        self.files
            .values()
            .flat_map(|f| f.groups.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_and_yaml() {
        let j = parse_file(
            Path::new("/sd/a.json"),
            br#"[{"targets": ["h:1", "h:2"], "labels": {"env": "prod"}}]"#,
        )
        .expect("json");
        assert_eq!(j.len(), 1);
        assert_eq!(j[0].targets.len(), 2);
        assert_eq!(j[0].labels.get("env").map(String::as_str), Some("prod"));
        assert_eq!(
            j[0].labels.get(FILEPATH_LABEL).map(String::as_str),
            Some("/sd/a.json")
        );
        let y = parse_file(
            Path::new("/sd/a.yml"),
            b"- targets: ['h:1']\n  labels:\n    rack: 7\n",
        )
        .expect("yaml");
        assert_eq!(y[0].labels.get("rack").map(String::as_str), Some("7"));
    }

    #[test]
    fn rejects_bad_files() {
        assert!(parse_file(Path::new("a.json"), b"{").is_err());
        assert!(parse_file(Path::new("a.yml"), b"- targets: [a]\n  extra: 1\n").is_err());
        assert!(parse_file(Path::new("a.json"), br#"[{"labels": {"1a": "x"}}]"#).is_err());
        assert!(parse_file(Path::new("a.json"), b"[null]").is_err());
        assert_eq!(
            parse_file(Path::new("a.yml"), b"  \n").map(|g| g.len()),
            Ok(0)
        );
    }
}
