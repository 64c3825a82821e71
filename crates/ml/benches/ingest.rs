//! The event store's ingest path: `ingest_predictions` of batches of 1,000 events with 10
//! features (8 numerical, 2 categorical with 5 and 50 categories), a binary classifier with a
//! score and an id (so every prediction waits for its label), from a fixed seed.
//!
//! - `memory`: the memory-only store (`MlStore::new`).
//! - `wal_never`: an opened store, `FsyncPolicy::Never` (apply, encode, `write(2)`).
//! - `wal_interval`: an opened store with the default policy, `Interval(1s)` (one fsync per
//!   second at most, from whichever batch finds it due).
//!
//! - `reopen_100k`: `MlStore::open` of a store whose WAL holds 100 such batches (no snapshot):
//!   the replay cost per event after a crash is this time / 100,000.
//!
//! Divan reports time per batch and, with the items counter, events per second; per event is
//! the batch time / 1,000. Target: well under 2 µs per event for the store part. HTTP decoding
//! is not included.
//!
//! Run: `cargo bench -p vigil-ml --bench ingest`.

use std::time::Duration;

use divan::counter::ItemsCount;
use divan::Bencher;
use vigil_ml::{MlConfig, MlStore};
use vigil_model::ml::{FeatureValue, Outcome, PredictionEvent};
use vigil_testkit::rng::SplitMix64;
use vigil_wal::{FsyncPolicy, WalOptions};

fn main() {
    divan::main();
}

const BATCH: usize = 1_000;
const BATCHES: usize = 64;
const NOW: i64 = 1_800_000_000_000;

const NUMERICAL: [&str; 8] = [
    "amount", "age", "balance", "tenure", "score_a", "score_b", "hour", "distance",
];

fn batches() -> Vec<Vec<PredictionEvent>> {
    let mut rng = SplitMix64::new(42);
    let mut id = 0u64;
    (0..BATCHES)
        .map(|_| {
            (0..BATCH)
                .map(|_| {
                    id += 1;
                    let mut features: Vec<(String, FeatureValue)> = NUMERICAL
                        .iter()
                        .map(|n| {
                            let v = (rng.uniform() * 1000.0 * 1e3).round() / 1e3;
                            ((*n).to_owned(), FeatureValue::Number(v))
                        })
                        .collect();
                    features.push((
                        "country".to_owned(),
                        FeatureValue::Text(format!("C{}", rng.next_u64() % 50)),
                    ));
                    features.push((
                        "channel".to_owned(),
                        FeatureValue::Text(format!("ch{}", rng.next_u64() % 5)),
                    ));
                    let score = rng.uniform();
                    let ago = i64::try_from(rng.next_u64() % 600_000).unwrap_or(0);
                    PredictionEvent {
                        model: "fraud".to_owned(),
                        version: "v3".to_owned(),
                        id: Some(id.to_string()),
                        timestamp_ms: Some(NOW - ago),
                        features,
                        prediction: Outcome::Number(if score >= 0.5 { 1.0 } else { 0.0 }),
                        score: Some(score),
                        probabilities: Vec::new(),
                        label: None,
                    }
                })
                .collect()
        })
        .collect()
}

fn run(bencher: Bencher, store: &MlStore) {
    let data = batches();
    let mut i = 0usize;
    bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
        let b = data.get(i % BATCHES).map_or(&[][..], Vec::as_slice);
        i += 1;
        let r = store.ingest_predictions(b, NOW).expect("ingest");
        assert_eq!(r.accepted, BATCH);
    });
}

fn opened(fsync: FsyncPolicy) -> (tempfile::TempDir, MlStore) {
    let dir = tempfile::tempdir().expect("tmp");
    let opts = WalOptions {
        fsync,
        ..WalOptions::default()
    };
    let (store, _) =
        MlStore::open(&dir.path().join("ml"), MlConfig::default(), opts, NOW).expect("open");
    (dir, store)
}

#[divan::bench(sample_count = 50, sample_size = 8)]
fn memory(bencher: Bencher) {
    let store = MlStore::new(MlConfig::default());
    run(bencher, &store);
}

#[divan::bench(sample_count = 50, sample_size = 8)]
fn wal_never(bencher: Bencher) {
    let (_dir, store) = opened(FsyncPolicy::Never);
    run(bencher, &store);
}

#[divan::bench(sample_count = 50, sample_size = 8)]
fn wal_interval(bencher: Bencher) {
    let (_dir, store) = opened(FsyncPolicy::Interval(Duration::from_secs(1)));
    run(bencher, &store);
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn reopen_100k(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ml");
    let opts = WalOptions {
        fsync: FsyncPolicy::Never,
        ..WalOptions::default()
    };
    {
        let (store, _) =
            MlStore::open(&path, MlConfig::default(), opts.clone(), NOW).expect("open");
        let data = batches();
        for i in 0..100 {
            let b = data.get(i % BATCHES).map_or(&[][..], Vec::as_slice);
            store.ingest_predictions(b, NOW).expect("ingest");
        }
    }
    bencher
        .counter(ItemsCount::new(100 * BATCH))
        .bench_local(|| {
            let (store, report) =
                MlStore::open(&path, MlConfig::default(), opts.clone(), NOW).expect("reopen");
            assert_eq!(report.predictions, 100_000);
            store
        });
}
