use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Vigil: metrics, alerts and ML monitoring in one binary.
///
/// Vigil speaks the protocols your code already emits — Prometheus scrape and remote_write,
/// OTLP metrics over HTTP and gRPC — and stores everything in an embedded, durable time-series
/// database under one data directory.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (no config file needed: data in ./vigil-data, API on 127.0.0.1:9900,
    /// OTLP gRPC on 127.0.0.1:4317 and OTLP HTTP on 127.0.0.1:4318).
    Serve(ServeArgs),
    /// Validate files without starting anything; exits non-zero with `file:line: reason`.
    Check(CheckArgs),
    /// Run unit tests.
    Test(TestArgs),
    /// Feed a running Vigil with a simulated ML fleet (prediction events, delayed labels and
    /// service metrics through the public ingest APIs), injecting feature drift and an accuracy
    /// drop after a while.
    Demo(crate::demo::DemoArgs),
    /// ML monitoring without a server: an offline data drift report between two dataset files
    /// (`vigil ml drift`), and uploading a model's reference dataset to a running Vigil
    /// (`vigil ml reference upload`).
    Ml(crate::ml_cli::MlArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Config file (Prometheus's `global` and `scrape_configs`, Alertmanager's configuration
    /// under `alertmanager`, plus Vigil's `server`, `storage`, `limits` and `query` sections).
    /// SIGHUP or `POST /-/reload` re-read it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where all data lives.
    #[arg(long, value_name = "DIR", default_value = "./vigil-data")]
    pub data_dir: PathBuf,
    /// HTTP API, remote_write and OTLP/HTTP on one port [default: 127.0.0.1:9900].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// OTLP gRPC listener; an empty value disables it [default: 127.0.0.1:4317].
    #[arg(long = "otlp-grpc-listen", value_name = "ADDR")]
    pub otlp_grpc_listen: Option<String>,
    /// OTLP/HTTP listener; an empty value disables it [default: 127.0.0.1:4318].
    #[arg(long = "otlp-http-listen", value_name = "ADDR")]
    pub otlp_http_listen: Option<String>,
    /// Keep data for this long, e.g. 15d, 12h [default: 15d, or the config's
    /// storage.retention_time].
    #[arg(long = "retention.time", value_name = "DURATION")]
    pub retention_time: Option<String>,
    /// Delete the oldest blocks while storage is larger than this, e.g. 10GB [default: no limit].
    #[arg(long = "retention.size", value_name = "SIZE")]
    pub retention_size: Option<String>,
    /// Log level filter (error, warn, info, debug, trace, or a tracing filter directive).
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(subcommand)]
    pub what: CheckWhat,
}

#[derive(Debug, Subcommand)]
pub enum CheckWhat {
    /// Validate a config file.
    Config {
        /// The file to check.
        file: PathBuf,
    },
    /// Validate Prometheus rule files, as `promtool check rules` does.
    Rules {
        /// The rule files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(subcommand)]
    pub what: TestWhat,
}

#[derive(Debug, Subcommand)]
pub enum TestWhat {
    /// Run rule unit tests in promtool's format (`input_series`, `alert_rule_test`,
    /// `promql_expr_test`), as `promtool test rules` does.
    Rules {
        /// The unit-test files to run.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}
