//! `check-config`: what `amtool check-config` reports for a file.

use std::fmt;
use std::path::Path;

use crate::config::{parse, Config};
use crate::error::ConfigError;

/// The counts `amtool check-config` prints after `Found:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Always true for a valid file (Alertmanager fills in a default `global`).
    pub global: bool,
    pub route: bool,
    pub inhibit_rules: usize,
    pub receivers: usize,
    /// Entries of `templates:` (globs, not the files they match).
    pub templates: usize,
    /// Named time intervals, `mute_time_intervals` included (not printed by amtool).
    pub time_intervals: usize,
}

impl Summary {
    fn of(c: &Config) -> Summary {
        Summary {
            global: true,
            route: true,
            inhibit_rules: c.inhibit_rules.len(),
            receivers: c.receivers.len(),
            templates: c.templates.len(),
            time_intervals: c.time_intervals.len(),
        }
    }
}

impl fmt::Display for Summary {
    /// amtool's layout.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Found:")?;
        if self.global {
            writeln!(f, " - global config")?;
        }
        if self.route {
            writeln!(f, " - route")?;
        }
        writeln!(f, " - {} inhibit rules", self.inhibit_rules)?;
        writeln!(f, " - {} receivers", self.receivers)?;
        writeln!(f, " - {} templates", self.templates)
    }
}

/// Validates an Alertmanager configuration text, without touching the file system.
///
/// # Errors
/// The first problem, as `line N: reason`.
pub fn check_config(text: &str) -> Result<Summary, ConfigError> {
    parse(text).map(|c| Summary::of(&c))
}

/// Validates a configuration file as `amtool check-config FILE` does, including its template
/// globs (relative to the file's directory): a malformed pattern or an unreadable matched file
/// is an error, a glob matching nothing is not. Parsing the templates themselves is the
/// template engine's job and is not done here.
///
/// # Errors
/// The file cannot be read, the configuration is invalid, or a template glob fails.
pub fn check_config_file(path: &Path) -> Result<Summary, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new("", format!("open {}: {e}", path.display())))?;
    let config = parse(&text)?;
    let dir = path.parent().unwrap_or(Path::new(""));
    for (i, t) in template_files(&config, dir)
        .map_err(|(i, e)| ConfigError::new(format!("templates[{i}]"), e))?
        .iter()
        .enumerate()
    {
        std::fs::read_to_string(t).map_err(|e| {
            ConfigError::new(format!("templates[{i}]"), format!("{}: {e}", t.display()))
        })?;
    }
    Ok(Summary::of(&config))
}

/// The template files the config's globs match, relative paths taken from `dir`, in glob
/// order. For the notification engine to load.
///
/// # Errors
/// The index and message of a malformed glob.
pub fn template_files(
    config: &Config,
    dir: &Path,
) -> Result<Vec<std::path::PathBuf>, (usize, String)> {
    let mut out = Vec::new();
    for (i, t) in config.templates.iter().enumerate() {
        let p = if Path::new(t).is_absolute() {
            t.clone()
        } else {
            dir.join(t).to_string_lossy().into_owned()
        };
        let paths = glob::glob(&p).map_err(|e| (i, format!("syntax error in pattern: {e}")))?;
        for entry in paths.flatten() {
            if entry.is_file() {
                out.push(entry);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_prints_like_amtool() {
        let s = check_config("route:\n  receiver: a\nreceivers:\n  - name: a\n").expect("valid");
        assert_eq!(
            s.to_string(),
            "Found:\n - global config\n - route\n - 0 inhibit rules\n - 1 receivers\n - 0 templates\n"
        );
    }
}
