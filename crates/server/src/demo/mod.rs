//! `vigil demo`: a simulated ML fleet that feeds a running Vigil, so that series, drift and
//! alerts can be watched without wiring up a real model.
//!
//! Owns: the command's flags ([`DemoArgs`]), the run loop (optional backfill of past history,
//! then live generation on the wall clock, a status line every 10 s, Ctrl-C), and — in its
//! submodules — the simulated models and incidents ([`fleet`]), their service metrics
//! ([`service`]), the seeded PRNG ([`rng`]) and the HTTP senders ([`send`]).
//!
//! Does not own: anything inside the server. The demo talks to Vigil only through the public
//! ingest APIs a real deployment would use — NDJSON prediction and label events under
//! `/api/v1/ml/`, Prometheus remote_write for service metrics — and links none of the server's
//! internals. That keeps it honest (what it shows is what users get), lets it point at any
//! Vigil (`--url`), and lets it survive that Vigil restarting: data waits in bounded queues and
//! is retried.
//!
//! Timeline: with `--history`, the history is generated first, quickly and with past
//! timestamps, always in the baseline phase (so the rolling reference window has clean data).
//! The live run then starts; `--drift-after`, `--accuracy-drop-after` and `--duration` count
//! from that moment.

mod fleet;
mod rng;
mod send;
mod service;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use vigil_model::{Batch, Clock, SystemClock, Timestamp};

use fleet::{Fleet, FleetConfig, Schedule};
use send::Sender;

/// Flags of `vigil demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// The Vigil to feed (its HTTP API address).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9900")]
    pub url: String,
    /// Prediction events per second per model.
    #[arg(long, value_name = "N", default_value_t = 50.0)]
    pub rate: f64,
    /// When feature drift starts, counted from the start of the live run: a duration such as
    /// 10m or 90s (0s: from the start), or `never`.
    #[arg(long = "drift-after", value_name = "DURATION|never", default_value = "10m",
          value_parser = parse_onset)]
    pub drift_after: Onset,
    /// When the models' accuracy drops, counted like --drift-after.
    #[arg(long = "accuracy-drop-after", value_name = "DURATION|never", default_value = "10m",
          value_parser = parse_onset)]
    pub accuracy_drop_after: Onset,
    /// How long ground truth lags its prediction.
    #[arg(long = "label-delay", value_name = "DURATION", default_value = "30s",
          value_parser = humantime::parse_duration)]
    pub label_delay: Duration,
    /// Stop after this long [default: run until Ctrl-C].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Seed of the simulation: the same seed gives the same data.
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u64,
    /// Before going live, backfill this much past history (e.g. 2h), so the rolling drift
    /// reference has data from the start.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub history: Option<Duration>,
}

/// When an incident starts, relative to the live start; `None` is never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Onset(pub Option<Duration>);

fn parse_onset(s: &str) -> Result<Onset, String> {
    if s.trim().eq_ignore_ascii_case("never") {
        return Ok(Onset(None));
    }
    humantime::parse_duration(s.trim())
        .map(|d| Onset(Some(d)))
        .map_err(|e| format!("{e} (expected a duration such as 10m, 0s, 1h30m, or `never`)"))
}

/// Highest accepted `--rate`: beyond this one loop iteration cannot keep up anyway.
const MAX_RATE: f64 = 20_000.0;
/// Generation and send tick of the live loop.
const TICK: Duration = Duration::from_secs(1);
/// Metrics push interval, and the step of the backfill.
const METRICS_EVERY_MS: i64 = 5_000;
/// Status line interval.
const STATUS_EVERY: Duration = Duration::from_secs(10);
/// How much less than the metric store's default out-of-order window service metrics are
/// backfilled: time for the backfill itself, during which the store's newest sample moves on.
const METRICS_BACKFILL_MARGIN_MS: i64 = 5 * 60_000;

/// Backfill steps per remote_write request (5 minutes of history).
const BACKFILL_PUSHES_PER_REQUEST: usize = 60;
/// Share of predictions that ever get a label.
const LABEL_SHARE: f64 = 0.9;
/// Longest span the live loop generates in one step; after a stall (a suspended laptop) the
/// catch-up is still chunked like the backfill.
const MAX_LIVE_STEP_MS: i64 = 5_000;
/// Most labels held back for their delay, both models together: every prediction's label waits
/// `--label-delay` in memory (about 100 bytes each), so `--rate` × `--label-delay` is bounded
/// up front rather than growing until the process runs out of memory.
const MAX_PENDING_LABELS: f64 = 1_000_000.0;

/// The flags, validated.
#[derive(Debug)]
struct Settings {
    url: String,
    rate: f64,
    drift_after_ms: Option<i64>,
    drop_after_ms: Option<i64>,
    label_delay_ms: i64,
    duration: Option<Duration>,
    seed: u64,
    history_ms: Option<i64>,
}

fn millis(what: &str, d: Duration) -> Result<i64> {
    i64::try_from(d.as_millis())
        .ok()
        .filter(|ms| *ms <= 100 * 365 * 86_400_000)
        .with_context(|| format!("{what}: {} is too long", humantime::format_duration(d)))
}

fn onset_ms(what: &str, onset: Onset) -> Result<Option<i64>> {
    onset.0.map(|d| millis(what, d)).transpose()
}

/// A validated (non-negative) span in milliseconds, for messages.
fn human(ms: i64) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

impl Settings {
    fn validate(args: DemoArgs) -> Result<Self> {
        let url = crate::client::base_url(&args.url)?;
        if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= MAX_RATE) {
            bail!(
                "--rate {} must be above 0 and at most {MAX_RATE} events per second",
                args.rate
            );
        }
        if args.duration.is_some_and(|d| d.is_zero()) {
            bail!("--duration must be above 0 (leave it out to run until Ctrl-C)");
        }
        let history_ms = match args.history {
            Some(h) if !h.is_zero() => Some(millis("--history", h)?),
            _ => None,
        };
        let label_delay_ms = millis("--label-delay", args.label_delay)?;
        let pending = args.rate
            * fleet::Model::ALL.len() as f64
            * LABEL_SHARE
            * args.label_delay.as_secs_f64();
        if pending > MAX_PENDING_LABELS {
            bail!(
                "--label-delay {} at --rate {} would hold about {pending:.0} labels in memory \
                 (at most {MAX_PENDING_LABELS}); lower one of them",
                humantime::format_duration(args.label_delay),
                args.rate
            );
        }
        Ok(Settings {
            url,
            rate: args.rate,
            drift_after_ms: onset_ms("--drift-after", args.drift_after)?,
            drop_after_ms: onset_ms("--accuracy-drop-after", args.accuracy_drop_after)?,
            label_delay_ms,
            duration: args.duration,
            seed: args.seed,
            history_ms,
        })
    }
}

/// Runs the demo until `--duration` passes or Ctrl-C.
///
/// # Errors
/// Invalid flags, or an HTTP client or signal handler that cannot be set up. An unreachable or
/// failing Vigil is not an error: the demo warns and keeps retrying.
pub fn run(args: DemoArgs) -> Result<()> {
    init_logging();
    let settings = Settings::validate(args)?;
    let stop = stop_on_ctrl_c()?;
    let clock = SystemClock;
    let launched = clock.now_ms();
    let mut fleet = Fleet::new(FleetConfig {
        seed: settings.seed,
        rate: settings.rate,
        start: launched - settings.history_ms.unwrap_or(0),
        label_delay_ms: settings.label_delay_ms,
        label_share: LABEL_SHARE,
        // Seconds since the epoch in hex: ids of two runs against one Vigil do not collide.
        run_tag: format!("{:x}", launched / 1000),
    });
    let mut sender = Sender::new(&settings.url).context("cannot build the HTTP client")?;
    print_banner(&settings);

    if let Some(history_ms) = settings.history_ms {
        backfill(&mut fleet, &mut sender, &stop, launched, history_ms)?;
    }
    if stop.load(Ordering::SeqCst) {
        return Ok(());
    }
    live(&settings, &clock, &mut fleet, &mut sender, &stop)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A subscriber set already (never, from main) is fine to keep.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// A flag set by the first Ctrl-C; a second one exits at once (a request may be waiting for its
/// timeout).
fn stop_on_ctrl_c() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal handler")?;
    let flag = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("vigil-demo-signal".to_owned())
        .spawn(move || {
            rt.block_on(async {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                flag.store(true, Ordering::SeqCst);
                eprintln!("vigil demo: stopping (Ctrl-C again to quit at once)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            });
        })
        .context("cannot start the signal thread")?;
    Ok(stop)
}

fn describe(onset_ms: Option<i64>) -> String {
    match onset_ms {
        None => "never".to_owned(),
        Some(0) => "from the start".to_owned(),
        Some(ms) => format!("after {}", human(ms)),
    }
}

fn print_banner(s: &Settings) {
    println!(
        "vigil demo: feeding {} with 2 models (fraud v3, recommender 2024-06), \
         {} predictions/s each, seed {}",
        s.url, s.rate, s.seed
    );
    println!(
        "  feature drift {}, accuracy drop {}, labels {} after their predictions{}",
        describe(s.drift_after_ms),
        describe(s.drop_after_ms),
        human(s.label_delay_ms),
        match s.duration {
            Some(d) => format!(", stopping after {}", humantime::format_duration(d)),
            None => ", until Ctrl-C".to_owned(),
        }
    );
    println!("  models:  {}/api/v1/ml/models", s.url);
    println!("  alerts:  {}/api/v1/alerts", s.url);
    println!(
        "  latency and error alerts need examples/ml-alerts.rules.yml in the server's rule_files"
    );
}

/// How far back service metrics are backfilled: the metric store refuses samples older than
/// its out-of-order window (the default is assumed, as the demo cannot read the server's).
/// Prediction events and labels go back the whole `--history` through the ML API.
fn metrics_backfill_ms() -> i64 {
    vigil_tsdb::TsdbOptions::default()
        .ooo_window_ms
        .saturating_sub(METRICS_BACKFILL_MARGIN_MS)
        .max(0)
}

/// Generates `[launched - history_ms, launched)` in 5 s steps and sends it as fast as Vigil
/// takes it. Unlike the live loop, it waits for an unreachable Vigil instead of dropping data.
fn backfill(
    fleet: &mut Fleet,
    sender: &mut Sender,
    stop: &AtomicBool,
    launched: Timestamp,
    history_ms: i64,
) -> Result<()> {
    println!("vigil demo: backfilling {} of history", human(history_ms));
    let metrics_backfill_ms = metrics_backfill_ms();
    let began = Instant::now();
    let mut next_progress = began + STATUS_EVERY;
    let mut batch = Batch::new();
    let mut pushes = 0;
    while fleet.cursor() < launched {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let to = (fleet.cursor() + METRICS_EVERY_MS).min(launched);
        generate(fleet, sender, to);
        fleet.service_metrics(to, &mut batch);
        if launched - to > metrics_backfill_ms {
            // Generated (the counters stay cumulative) but not sent: the metric store refuses
            // samples older than its out-of-order window. Events go back further.
            batch = Batch::new();
        } else {
            pushes += 1;
            if pushes == BACKFILL_PUSHES_PER_REQUEST || to >= launched {
                sender.queue_metrics(std::mem::take(&mut batch))?;
                pushes = 0;
            }
        }
        // Send full batches as they fill; hold generation while Vigil is down.
        while sender.queued_events() >= send::MAX_BATCH_EVENTS {
            if !sender.flush(Instant::now()) || stop.load(Ordering::SeqCst) {
                break;
            }
            wait_for_retry(sender, stop);
        }
        let now = Instant::now();
        if now >= next_progress {
            next_progress = now + STATUS_EVERY;
            let done = history_ms - (launched - fleet.cursor());
            println!(
                "vigil demo: backfill {}% ({} events sent)",
                done * 100 / history_ms.max(1),
                sender.stats().predictions.sent
            );
        }
    }
    while sender.flush(Instant::now()) && !stop.load(Ordering::SeqCst) {
        wait_for_retry(sender, stop);
    }
    println!(
        "vigil demo: backfill done in {:.0?} ({} predictions, {} labels); going live",
        began.elapsed(),
        sender.stats().predictions.sent,
        sender.stats().labels.sent
    );
    Ok(())
}

/// Generates the fleet's events up to `to` and queues them.
fn generate(fleet: &mut Fleet, sender: &mut Sender, to: Timestamp) {
    let tick = fleet.advance(to);
    sender.queue_predictions(&tick.predictions);
    sender.queue_labels(&tick.labels);
}

/// Sleeps until the sender's next retry (at most 1 s at a time, so Ctrl-C is seen).
fn wait_for_retry(sender: &Sender, stop: &AtomicBool) {
    let until = sender.next_retry().unwrap_or_else(Instant::now);
    let now = Instant::now();
    if until > now && !stop.load(Ordering::SeqCst) {
        std::thread::sleep((until - now).min(Duration::from_secs(1)));
    }
}

fn live(
    s: &Settings,
    clock: &dyn Clock,
    fleet: &mut Fleet,
    sender: &mut Sender,
    stop: &AtomicBool,
) -> Result<()> {
    let live_start = clock.now_ms();
    fleet.set_schedule(Schedule {
        drift_at: s.drift_after_ms.map(|ms| live_start.saturating_add(ms)),
        drop_at: s.drop_after_ms.map(|ms| live_start.saturating_add(ms)),
    });
    let began = Instant::now();
    // From the cursor, not the live start: the catch-up after a backfill keeps the series
    // continuous.
    let mut next_metrics = fleet.cursor();
    let mut next_status = began + STATUS_EVERY;
    let mut next_tick = began;
    loop {
        let stopping =
            stop.load(Ordering::SeqCst) || s.duration.is_some_and(|d| began.elapsed() >= d);
        let now = clock.now_ms();
        // Catch up in bounded steps (after the backfill, or a stall), then release due labels.
        loop {
            let to = now.min(fleet.cursor() + MAX_LIVE_STEP_MS);
            generate(fleet, sender, to);
            if to >= next_metrics {
                let mut batch = Batch::new();
                fleet.service_metrics(to, &mut batch);
                sender.queue_metrics(batch)?;
                next_metrics = to + METRICS_EVERY_MS;
            }
            if to >= now || stop.load(Ordering::SeqCst) {
                break;
            }
            // A long catch-up (the minutes a backfill took, a suspended laptop) sends full
            // batches as they fill rather than overflowing the bounded queues.
            if sender.queued_events() >= send::MAX_BATCH_EVENTS {
                sender.flush(Instant::now());
            }
        }
        sender.flush(Instant::now());
        if stopping || stop.load(Ordering::SeqCst) {
            print_status(fleet, sender, now, began);
            println!(
                "vigil demo: stopped; {} labels not yet due and {} queued events were not sent",
                fleet.pending_labels(),
                sender.queued_events()
            );
            return Ok(());
        }
        let wall = Instant::now();
        if wall >= next_status {
            next_status = later(next_status, STATUS_EVERY, wall);
            print_status(fleet, sender, now, began);
        }
        next_tick = later(next_tick, TICK, wall);
        sleep_until(next_tick, stop);
    }
}

/// The next deadline of a periodic job: `last + every`, or `now + every` when that is already
/// past (after a stall, skip the missed beats rather than run them back to back).
fn later(last: Instant, every: Duration, now: Instant) -> Instant {
    let next = last + every;
    if next < now {
        now + every
    } else {
        next
    }
}

/// Sleeps until `deadline` in short slices so that Ctrl-C is seen promptly; a deadline in the
/// past (a slow request) returns at once.
fn sleep_until(deadline: Instant, stop: &AtomicBool) {
    loop {
        let now = Instant::now();
        if now >= deadline || stop.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(200)));
    }
}

fn print_status(fleet: &Fleet, sender: &Sender, now: Timestamp, began: Instant) {
    let st = sender.stats();
    let all = [st.predictions, st.labels, st.metrics];
    let queued: usize = all.iter().map(|o| o.queued).sum();
    let dropped: u64 = all.iter().map(|o| o.dropped).sum();
    let refused: u64 = all.iter().map(|o| o.refused).sum();
    let partial: u64 = all.iter().map(|o| o.rejected_requests).sum();
    let mut problems = String::new();
    if refused > 0 {
        problems.push_str(&format!(", {refused} refused"));
    }
    if partial > 0 {
        problems.push_str(&format!(", {partial} requests partly rejected"));
    }
    println!(
        "vigil demo: {:>7} live | phase {} | sent {} predictions, {} labels, {} metric pushes \
         | queued {queued}, dropped {dropped}{problems}",
        humantime::format_duration(Duration::from_secs(began.elapsed().as_secs())).to_string(),
        fleet.phase(now).name(),
        st.predictions.sent,
        st.labels.sent,
        st.metrics.sent,
    );
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: DemoArgs,
    }

    fn parse(argv: &[&str]) -> Result<DemoArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("demo").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let a = parse(&[]).expect("defaults parse");
        assert_eq!(a.url, "http://127.0.0.1:9900");
        assert_eq!(a.rate, 50.0);
        assert_eq!(a.drift_after, Onset(Some(Duration::from_secs(600))));
        assert_eq!(a.accuracy_drop_after, Onset(Some(Duration::from_secs(600))));
        assert_eq!(a.label_delay, Duration::from_secs(30));
        assert_eq!(a.duration, None);
        assert_eq!(a.seed, 42);
        assert_eq!(a.history, None);
        let s = Settings::validate(a).expect("valid");
        assert_eq!(s.url, "http://127.0.0.1:9900");
        assert_eq!(s.label_delay_ms, 30_000);
    }

    #[test]
    fn onsets_accept_durations_zero_and_never() {
        let a = parse(&[
            "--drift-after",
            "0s",
            "--accuracy-drop-after",
            "never",
            "--history",
            "2h",
            "--duration",
            "1h30m",
            "--url",
            "http://vigil:9900/",
        ])
        .expect("parses");
        assert_eq!(a.drift_after, Onset(Some(Duration::ZERO)));
        assert_eq!(a.accuracy_drop_after, Onset(None));
        let s = Settings::validate(a).expect("valid");
        assert_eq!(s.history_ms, Some(7_200_000));
        assert_eq!(s.duration, Some(Duration::from_secs(5400)));
        assert_eq!(s.url, "http://vigil:9900");
        assert!(parse(&["--drift-after", "soon"]).is_err());
        assert!(parse(&["--label-delay", "-1s"]).is_err());
    }

    #[test]
    fn label_memory_and_url_suffixes_are_checked_up_front() {
        let ok = parse(&["--label-delay", "1h"]).expect("parses");
        assert_eq!(
            Settings::validate(ok).expect("valid").label_delay_ms,
            3_600_000
        );
        for argv in [
            &["--rate", "20000", "--label-delay", "1m"][..],
            &["--label-delay", "1d"],
            &["--url", "http://vigil:9900/?tenant=a"],
            &["--url", "http://vigil:9900/#x"],
        ] {
            let args = parse(argv).expect("parses");
            assert!(Settings::validate(args).is_err(), "{argv:?}");
        }
    }

    /// Regression: the catch-up after a backfill or a stall queued everything before sending
    /// anything, so a catch-up longer than the queues dropped the oldest events.
    #[test]
    fn a_long_catch_up_sends_as_it_goes_instead_of_dropping() {
        const T0: Timestamp = 1_795_500_000_000;
        let (url, rx) = send::tests::serve(vec![(200, "{}"); 400]);
        let settings = Settings {
            url: url.clone(),
            rate: 50.0,
            drift_after_ms: None,
            drop_after_ms: None,
            label_delay_ms: 1_000,
            // Stops after the first pass of the loop: no sleeping.
            duration: Some(Duration::from_nanos(1)),
            seed: 1,
            history_ms: None,
        };
        let mut fleet = Fleet::new(FleetConfig {
            seed: 1,
            rate: 50.0,
            start: T0,
            label_delay_ms: 1_000,
            label_share: LABEL_SHARE,
            run_tag: "t".to_owned(),
        });
        // Queues of 10 000 events; ten minutes behind is 60 000 predictions.
        let mut sender =
            Sender::with_caps(&url, 10_000, 200, Duration::from_secs(10)).expect("client");
        let clock = vigil_model::ManualClock::new(T0 + 600_000);
        live(
            &settings,
            &clock,
            &mut fleet,
            &mut sender,
            &AtomicBool::new(false),
        )
        .expect("runs");
        let st = sender.stats();
        assert_eq!(st.predictions.sent, 60_000);
        assert_eq!((st.predictions.dropped, st.labels.dropped), (0, 0));
        assert_eq!((st.predictions.queued, st.labels.queued), (0, 0));
        assert_eq!(st.metrics.sent, 120);
        assert!(rx.try_iter().count() > 0);
    }

    #[test]
    fn bad_flags_are_errors_not_panics() {
        for argv in [
            &["--rate", "0"][..],
            &["--rate", "NaN"],
            &["--rate", "1e9"],
            &["--url", "not a url"],
            &["--url", "ftp://host/"],
            &["--duration", "0s"],
            &["--history", "100000000d"],
        ] {
            let args = parse(argv).expect("parses");
            assert!(Settings::validate(args).is_err(), "{argv:?}");
        }
    }
}
