//! `vigil check rules FILE…`, reporting as `promtool check rules` (2.42) does: `Checking FILE`,
//! then `  SUCCESS: N rules found` or `  FAILED:` with one error per line. Duplicate rules
//! (same name and labels) are reported as promtool's default `duplicate-rules` lint, which does
//! not fail the check.

use std::io::Write;
use std::path::Path;

use crate::{duplicate_rules, load_file};

/// Checks each rule file and writes the report to `out`.
///
/// Returns true when every file is valid (lint findings do not count as failures), which is
/// when `vigil check rules` exits 0.
pub fn check_rule_files<P: AsRef<Path>>(files: &[P], out: &mut dyn Write) -> bool {
    let mut ok = true;
    for f in files {
        let path = f.as_ref();
        let _ = writeln!(out, "Checking {}", path.display());
        match load_file(path) {
            Err(errors) => {
                ok = false;
                let _ = writeln!(out, "  FAILED:");
                for e in errors {
                    let _ = writeln!(out, "{e}");
                }
            }
            Ok(groups) => {
                let dups = duplicate_rules(&groups);
                if dups.is_empty() {
                    let n: usize = groups.iter().map(|g| g.rules.len()).sum();
                    let _ = writeln!(out, "  SUCCESS: {n} rules found");
                } else {
                    let _ = writeln!(out, "  FAILED:");
                    let mut msg = format!("lint error {} duplicate rule(s) found.\n", dups.len());
                    for (name, labels) in &dups {
                        msg.push_str(&format!("Metric: {name}\nLabel(s):\n"));
                        for (k, v) in labels {
                            msg.push_str(&format!("\t{k}: {v}\n"));
                        }
                    }
                    msg.push_str("Might cause inconsistency while recording expressions");
                    let _ = writeln!(out, "{msg}");
                }
            }
        }
        let _ = writeln!(out);
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_as_promtool() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good.yml");
        let bad = dir.path().join("bad.yml");
        let dup = dir.path().join("dup.yml");
        std::fs::write(
            &good,
            "groups:\n- name: g\n  rules:\n  - {record: a, expr: up}\n",
        )
        .expect("write");
        std::fs::write(
            &bad,
            "groups:\n- name: g\n  rules:\n  - {record: a, expr: 'up +'}\n",
        )
        .expect("write");
        std::fs::write(&dup, "groups:\n- name: g\n  rules:\n  - {record: a, expr: up, labels: {x: y}}\n  - {record: a, expr: up, labels: {x: y}}\n").expect("write");
        let mut out = Vec::new();
        assert!(check_rule_files(&[&good, &dup], &mut out));
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with(&format!(
                "Checking {}\n  SUCCESS: 1 rules found\n\n",
                good.display()
            )),
            "{text}"
        );
        assert!(
            text.contains(
                "lint error 1 duplicate rule(s) found.\nMetric: a\nLabel(s):\n\tx: y\nMight cause"
            ),
            "{text}"
        );
        let mut out = Vec::new();
        assert!(!check_rule_files(&[&bad], &mut out));
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains(&format!(
                "  FAILED:\n{}:4: group \"g\", rule 1, \"a\": could not parse expression: ",
                bad.display()
            )),
            "{text}"
        );
    }
}
