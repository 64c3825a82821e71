//! The bench workload end to end against the store alone (no HTTP, no decoding): ingest
//! `--series` series × `--steps` samples in remote_write-shaped batches of 2000 samples (one
//! sample per series), then flush. Prints append cost per sample, resident memory, and bytes per
//! sample on disk after the flush.
//!
//! Run: `cargo bench -p vigil-tsdb --bench ingest -- --series 100000 --steps 90`
//! (the bench's medium scale; `--series 10000 --steps 360` is the small one).

use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_model::SystemClock;
use vigil_storage::{MetricAppend, MetricStore};
use vigil_testkit::{Workload, WorkloadConfig};
use vigil_tsdb::{FsyncPolicy, Tsdb, TsdbOptions, WalOptions};

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time of this thread in ns (`/proc/thread-self/schedstat`, exact, unlike tick-based
/// utime): the machine is shared, so wall time alone over-reports.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn du(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => du(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let series = arg("--series", 100_000);
    let steps = arg("--steps", 90);
    let dir = tempfile::tempdir().expect("tmp");
    let w = Workload::new(WorkloadConfig {
        series,
        ..WorkloadConfig::default()
    });
    let opts = TsdbOptions {
        wal: WalOptions {
            // The server's default; INGEST_FSYNC=never|always to compare.
            fsync: match std::env::var("INGEST_FSYNC").as_deref() {
                Ok("never") => FsyncPolicy::Never,
                Ok("always") => FsyncPolicy::Always,
                _ => FsyncPolicy::Interval(Duration::from_secs(1)),
            },
            ..WalOptions::default()
        },
        ..TsdbOptions::default()
    };
    let rss_before = status_kib("VmRSS:");
    let db = Tsdb::open(dir.path(), opts, Arc::new(SystemClock)).expect("open");
    if std::env::var_os("INGEST_TRACE_RSS").is_some() {
        eprintln!(
            "before: rss {rss_before} KiB, after open {} KiB",
            status_kib("VmRSS:")
        );
    }
    let mut first_step = Duration::ZERO;
    let mut later = Duration::ZERO;
    let mut first_cpu = 0u64;
    let mut later_cpu = 0u64;
    let n = w.series_count();
    for step in 0..steps {
        for g in 0..n.div_ceil(2000) {
            let b = w.batch(g * 2000, (g + 1) * 2000, step);
            let cpu0 = thread_cpu_ns();
            let start = Instant::now();
            let o = db.append(&b).expect("append");
            let took = start.elapsed();
            let cpu = thread_cpu_ns().saturating_sub(cpu0);
            assert_eq!(o.rejected_total(), 0);
            if step == 0 && g % 10 == 0 && std::env::var_os("INGEST_TRACE_RSS").is_some() {
                eprintln!("step 0 batch {g}: rss {} MiB", status_kib("VmRSS:") / 1024);
            }
            if step == 0 {
                first_step += took;
                first_cpu += cpu;
            } else {
                later += took;
                later_cpu += cpu;
            }
        }
        if std::env::var_os("INGEST_TRACE_RSS").is_some()
            && [0, 1, 10, 45, steps - 1].contains(&step)
        {
            eprintln!(
                "step {step}: rss {} MiB, head {} MiB",
                status_kib("VmRSS:") / 1024,
                db.stats().head_bytes >> 20
            );
        }
    }
    let rss_after = status_kib("VmRSS:");
    let st = db.stats();
    let samples = (n * steps) as f64;
    println!(
        "series {n}, samples/series {steps}, total samples {}",
        n * steps
    );
    let later_n = (n * (steps - 1)).max(1) as f64;
    println!(
        "append, creating series (step 0): {:.0} ns/sample wall, {:.0} ns/sample cpu",
        first_step.as_nanos() as f64 / n as f64,
        first_cpu as f64 / n as f64
    );
    println!(
        "append, existing series:          {:.0} ns/sample wall, {:.0} ns/sample cpu",
        later.as_nanos() as f64 / later_n,
        later_cpu as f64 / later_n
    );
    println!(
        "resident after ingest: {} MiB (+{} MiB over the start); head bytes estimate {} MiB = {:.0} B/series",
        rss_after / 1024,
        rss_after.saturating_sub(rss_before) / 1024,
        st.head_bytes >> 20,
        st.head_bytes as f64 / n as f64
    );
    println!(
        "disk before flush (WAL): {:.3} B/sample",
        du(dir.path()) as f64 / samples
    );
    let start = Instant::now();
    db.flush().expect("flush");
    let flush = start.elapsed();
    let blocks = db.blocks();
    let index: u64 = blocks.iter().map(|b| b.index_bytes).sum();
    println!(
        "flush: {:.2} s; disk after flush: {:.3} B/sample (index {:.3} B/sample, {} blocks)",
        flush.as_secs_f64(),
        du(dir.path()) as f64 / samples,
        index as f64 / samples,
        blocks.len()
    );
    println!(
        "resident after flush: {} MiB; peak {} MiB",
        status_kib("VmRSS:") / 1024,
        status_kib("VmHWM:") / 1024
    );
}
