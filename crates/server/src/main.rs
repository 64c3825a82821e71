//! The `vigil` binary: command line, config load → validate → wire → run → ordered shutdown.
//!
//! The only crate that names concrete backends (the embedded TSDB) and uses `anyhow`.

mod alerting;
mod cli;
mod client;
mod config;
mod demo;
mod ml;
mod ml_cli;
mod rules;
mod serve;
mod stats;
mod upstream;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc malloc: the ingest path allocates and frees many small label
/// strings per request, and glibc's malloc/free/consolidate took ~38% of ingest CPU in a
/// profile of the bench workload.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Demo(args) => match demo::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("vigil: {e:#}");
                ExitCode::FAILURE
            }
        },
        cli::Command::Ml(args) => ml_cli::run(args).unwrap_or_else(|e| {
            eprintln!("vigil: {e:#}");
            ExitCode::FAILURE
        }),
        cli::Command::Serve(args) => match serve::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("vigil: {e:#}");
                ExitCode::FAILURE
            }
        },
        cli::Command::Check(cli::CheckArgs {
            what: cli::CheckWhat::Rules { files },
        }) => exit(vigil_rules::check_rule_files(
            &files,
            &mut std::io::stdout(),
        )),
        cli::Command::Test(cli::TestArgs {
            what: cli::TestWhat::Rules { files },
        }) => exit(vigil_rules::run_rule_tests(&files, &mut std::io::stdout())),
        cli::Command::Check(cli::CheckArgs {
            what: cli::CheckWhat::Config { file },
        }) => match config::load(Some(&file)) {
            Ok(s) => {
                println!(
                    "{}: valid ({} scrape configs)",
                    file.display(),
                    s.scrape.pools.len()
                );
                if s.alertmanager_section {
                    let am = &s.alertmanager;
                    println!(
                        "{}: alertmanager: {} receivers, {} inhibit rules, {} templates",
                        file.display(),
                        am.receivers.len(),
                        am.inhibit_rules.len(),
                        am.templates.len()
                    );
                }
                if !s.rule_files.is_empty() {
                    match rules::check(&s.rule_files) {
                        Ok(n) => println!(
                            "{}: rule_files: {} files, {n} rules",
                            file.display(),
                            s.rule_files.len()
                        ),
                        Err(e) => {
                            eprintln!("{e}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
                for section in &s.ignored_sections {
                    println!(
                        "{}: note: section {section:?} is accepted but not yet in effect",
                        file.display()
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Exit status of a check or test run: 0 when everything passed, 1 otherwise (promtool's).
fn exit(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
