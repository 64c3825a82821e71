//! The `vigil` binary: command line, config load → validate → wire → run → ordered shutdown.
//!
//! The only crate that names concrete backends (the embedded TSDB) and uses `anyhow`.

mod cli;
mod config;
mod serve;
mod stats;
mod yaml_pos;

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
        cli::Command::Serve(args) => match serve::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("vigil: {e:#}");
                ExitCode::FAILURE
            }
        },
        cli::Command::Check(cli::CheckArgs {
            what: cli::CheckWhat::Config { file },
        }) => match config::load(Some(&file)) {
            Ok(s) => {
                println!(
                    "{}: valid ({} scrape configs)",
                    file.display(),
                    s.scrape.pools.len()
                );
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
