//! The durable event store through the crate's API: what was acknowledged survives a crash
//! (the store dropped without `checkpoint` or `close`), with or without a snapshot, a torn WAL
//! tail, damaged files, reference files and hostile model names; plus arbitrary bytes in the
//! WAL and the snapshot.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use vigil_ml::{Column, MlConfig, MlError, MlStore, RawMlConfig};
use vigil_model::ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};
use vigil_model::Batch;
use vigil_wal::{FsyncPolicy, Wal, WalOptions};

const MIN: i64 = 60_000;
const T0: i64 = 1_800_000_000_000;

fn config(yaml: &str) -> MlConfig {
    let raw: RawMlConfig = serde_yaml_ng::from_str(yaml).expect("yaml");
    raw.validate().expect("valid")
}

/// Small windows and a short label horizon, so that one evaluation drops, thins and evicts.
const CONFIG: &str = "defaults: {window: 10m, interval: 1m, reference_window: 30m, \
     label_horizon: 20m, performance_window: 5m, max_events_per_window: 300}\n\
     models: {price: {task: regression}}\n";

fn wal(fsync: FsyncPolicy) -> WalOptions {
    WalOptions {
        fsync,
        ..WalOptions::default()
    }
}

fn open(dir: &Path, now: i64) -> MlStore {
    MlStore::open(dir, config(CONFIG), wal(FsyncPolicy::Never), now)
        .expect("open")
        .0
}

/// A small deterministic generator (xorshift).
struct Gen(u64);

impl Gen {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` fraud predictions (ids `f{first..}`) spread over `[from, from + span)`, and `n / 4`
/// price predictions (ids `p{…}`); some values missing, a bool feature, a new category.
fn predictions(g: &mut Gen, first: usize, n: usize, from: i64, span: i64) -> Vec<PredictionEvent> {
    let mut out = Vec::new();
    for i in 0..n {
        let ts = from + span * i64::try_from(i).expect("small") / i64::try_from(n).expect("small");
        let score = g.unit();
        let amount = if i % 17 == 0 {
            FeatureValue::Missing
        } else {
            FeatureValue::Number((g.unit() * 100.0 * 1e3).round() / 1e3)
        };
        out.push(PredictionEvent {
            model: "fraud".into(),
            version: if i % 5 == 0 { "v2" } else { "v1" }.into(),
            id: Some(format!("f{}", first + i)),
            timestamp_ms: Some(ts),
            features: vec![
                ("amount".into(), amount),
                (
                    "country".into(),
                    FeatureValue::Text(["DE", "FR", "US", "XX"][(i / 3) % 4].into()),
                ),
                ("new_user".into(), FeatureValue::Bool(i % 3 == 0)),
            ],
            prediction: Outcome::Number(if score >= 0.5 { 1.0 } else { 0.0 }),
            score: Some(score),
            probabilities: Vec::new(),
            label: (i % 11 == 0).then_some(Outcome::Number(1.0)),
        });
        if i % 4 == 0 {
            out.push(PredictionEvent {
                model: "price".into(),
                version: String::new(),
                id: Some(format!("p{}", first + i)),
                timestamp_ms: (i % 8 != 0).then_some(ts),
                features: vec![("rooms".into(), FeatureValue::Number((i % 6) as f64))],
                prediction: Outcome::Number(100.0 + g.unit() * 50.0),
                score: None,
                probabilities: Vec::new(),
                label: None,
            });
        }
    }
    out
}

/// Labels for fraud ids `range` (every other one) and price ids, some naming their model,
/// plus one for an unknown id.
fn labels(range: std::ops::Range<usize>) -> Vec<LabelEvent> {
    let mut out: Vec<LabelEvent> = range
        .clone()
        .step_by(2)
        .map(|i| LabelEvent {
            model: (i % 3 == 0).then(|| "fraud".to_owned()),
            id: format!("f{i}"),
            label: Outcome::Number(if i % 4 == 0 { 1.0 } else { 0.0 }),
            timestamp_ms: None,
        })
        .collect();
    out.extend(range.step_by(8).map(|i| LabelEvent {
        model: None,
        id: format!("p{i}"),
        label: Outcome::Number(120.0),
        timestamp_ms: None,
    }));
    out.push(LabelEvent {
        model: Some("fraud".into()),
        id: "nope".into(),
        label: Outcome::Number(1.0),
        timestamp_ms: None,
    });
    out
}

/// Events the store refuses: a mistyped feature, and a future event of a new model (which
/// must not leave the model behind).
fn refused(now: i64) -> Vec<PredictionEvent> {
    let mut g = Gen(99);
    let mut bad = predictions(&mut g, 900_000, 1, now - MIN, MIN);
    bad[0].features[0].1 = FeatureValue::Text("lots".into());
    let mut ghost = bad[0].clone();
    ghost.model = "ghost".into();
    ghost.features.clear();
    ghost.timestamp_ms = Some(now + 3_600_000);
    vec![bad[0].clone(), ghost]
}

fn reference_columns(g: &mut Gen) -> Vec<Column> {
    vec![
        Column::numerical("amount", (0..500).map(|_| Some(g.unit() * 120.0))),
        Column::categorical(
            "country",
            (0..500).map(|i| Some(["DE", "FR", "US"][i % 3].to_owned())),
        ),
    ]
}

/// Drives both stores through the same history and returns the time of its last evaluation.
fn history(stores: &[&MlStore]) -> i64 {
    let mut g = Gen(7);
    let early = predictions(&mut g, 0, 600, T0 - 40 * MIN, 35 * MIN);
    let later = predictions(&mut g, 1_000, 400, T0 - 5 * MIN, 10 * MIN);
    let reference = reference_columns(&mut g);
    let t1 = T0 + 8 * MIN;
    for s in stores {
        let r = s.ingest_predictions(&early, T0).expect("ingest");
        assert_eq!(r.errors.len(), 0, "{:?}", r.errors);
        assert_eq!(
            s.ingest_predictions(&refused(T0), T0)
                .expect("ingest")
                .errors
                .len(),
            2
        );
        s.ingest_labels(&labels(0..300), T0 + MIN).expect("labels");
        s.set_reference("fraud", Some("v2"), reference.clone(), T0)
            .expect("reference");
        s.evaluate(T0 + 2 * MIN);
        s.ingest_predictions(&later, T0 + 5 * MIN).expect("ingest");
        // Evaluated at t1: the early buckets leave retention, predictions before t1 − 20m are
        // evicted, so these labels for them find nothing.
        s.evaluate(t1);
        s.ingest_labels(&labels(0..1_400), t1 + 1).expect("labels");
    }
    t1
}

fn series(batch: &Batch) -> BTreeMap<String, Vec<(i64, u64)>> {
    let mut out: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for s in &batch.series {
        let name = s
            .labels
            .iter()
            .map(|l| format!("{}={}", l.name, l.value))
            .collect::<Vec<_>>()
            .join(",");
        out.entry(name)
            .or_default()
            .extend(s.samples.iter().map(|x| (x.t, x.v.to_bits())));
    }
    out
}

/// Everything the store shows without changing it: the models and every version's drift.
fn view(store: &MlStore, at: i64) -> String {
    let models = store.models();
    let mut out = serde_json::to_string(&models).expect("json");
    for m in &models {
        let drift = store.drift_report(&m.name, None, at).expect("report");
        out.push_str(&serde_json::to_string(&drift).expect("json"));
    }
    out
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_crash_without_checkpoint_loses_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ml");
    let memory = MlStore::new(config(CONFIG));
    let durable = open(&dir, T0);
    let t1 = history(&[&memory, &durable]);
    let at = t1 + 2 * MIN;
    let before = view(&durable, at);
    assert_eq!(before, view(&memory, at));
    assert!(
        !before.contains("ghost"),
        "a refused event left its model behind"
    );
    // The crash: no checkpoint, no close, no sync (the writes are in the page cache).
    drop(durable);

    let (reopened, report) =
        MlStore::open(&dir, config(CONFIG), wal(FsyncPolicy::Never), t1).expect("reopen");
    assert_eq!(report.snapshot, None);
    assert_eq!(report.events_refused, 0);
    assert_eq!(report.evaluations, 2);
    assert_eq!(report.references, 1);
    assert_eq!(report.models, 2);
    assert!(
        report.predictions > 1_000 && report.labels > 700,
        "{report:?}"
    );
    assert_eq!(view(&reopened, at), before);
    // Evaluation continues where it stopped: the same series, revisions numbered on.
    let want = series(&memory.evaluate(at));
    assert!(
        want.keys().any(|k| k.contains("ml_model_accuracy")),
        "{want:?}"
    );
    assert_eq!(series(&reopened.evaluate(at)), want);
}

#[test]
fn snapshot_then_more_events_then_crash() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ml");
    let memory = MlStore::new(config(CONFIG));
    let durable = open(&dir, T0);
    let t1 = history(&[&memory, &durable]);
    let stats = durable.checkpoint(t1).expect("checkpoint");
    assert_eq!(stats.models, 2);
    assert!(
        stats.records > 3 && stats.segments_removed >= 1,
        "{stats:?}"
    );
    assert!(segments(&dir.join("wal")).iter().all(|p| p
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse::<u64>().ok())
        > Some(stats.upto_segment)));
    // After the snapshot: labels for predictions only the snapshot holds, new predictions.
    let mut g = Gen(21);
    let more = predictions(&mut g, 5_000, 200, t1 - 3 * MIN, 3 * MIN);
    for s in [&memory, &durable] {
        let r = s
            .ingest_labels(&labels(1_001..1_300), t1 + 2)
            .expect("labels");
        assert!(r.joined > 50, "{r:?}");
        s.ingest_predictions(&more, t1 + 3).expect("ingest");
        s.ingest_labels(&labels(5_000..5_100), t1 + 4)
            .expect("labels");
    }
    let at = t1 + MIN;
    let before = view(&durable, at);
    assert_eq!(before, view(&memory, at));
    drop(durable);

    let (reopened, report) =
        MlStore::open(&dir, config(CONFIG), wal(FsyncPolicy::Always), t1).expect("reopen");
    assert!(report.snapshot.is_some(), "{report:?}");
    assert_eq!(report.snapshot_taken_ms, Some(t1));
    assert_eq!(report.predictions, more.len() as u64);
    assert_eq!(view(&reopened, at), before);
    assert_eq!(series(&reopened.evaluate(at)), series(&memory.evaluate(at)));

    // A second generation: checkpoint the reopened store, crash again, reopen.
    reopened.checkpoint(at).expect("checkpoint");
    let before = view(&reopened, at);
    drop(reopened);
    let again = open(&dir, at);
    assert_eq!(view(&again, at), before);
    again.close().expect("close");
}

#[test]
fn a_torn_wal_tail_keeps_the_records_before_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ml");
    let mut g = Gen(5);
    let first = predictions(&mut g, 0, 100, T0 - 10 * MIN, 10 * MIN);
    let second = predictions(&mut g, 100, 100, T0 - 10 * MIN, 10 * MIN);
    let memory = MlStore::new(config(CONFIG));
    memory.ingest_predictions(&first, T0).expect("ingest");
    {
        let (durable, _) =
            MlStore::open(&dir, config(CONFIG), wal(FsyncPolicy::Always), T0).expect("open");
        durable.ingest_predictions(&first, T0).expect("ingest");
        durable.ingest_predictions(&second, T0).expect("ingest");
    }
    let last = segments(&dir.join("wal")).pop().expect("a segment");
    let len = fs::metadata(&last).expect("meta").len();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .expect("open segment");
    f.set_len(len - 3).expect("truncate");
    drop(f);

    let (reopened, report) =
        MlStore::open(&dir, config(CONFIG), wal(FsyncPolicy::Always), T0).expect("reopen");
    let torn = report.torn_tail.expect("a torn tail is reported");
    assert_eq!(torn.path, last);
    assert_eq!(report.predictions, first.len() as u64);
    let at = T0 + 1;
    assert_eq!(view(&reopened, at), view(&memory, at));
}

#[test]
fn a_damaged_snapshot_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ml");
    let mut g = Gen(3);
    {
        let store = open(&dir, T0);
        store
            .ingest_predictions(&predictions(&mut g, 0, 300, T0 - 5 * MIN, 5 * MIN), T0)
            .expect("ingest");
        store.checkpoint(T0).expect("checkpoint");
    }
    let cp = fs::read_dir(dir.join("wal"))
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("checkpoint."))
        })
        .expect("a checkpoint");
    let file = cp.join("00000000");
    let mut bytes = fs::read(&file).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&file, &bytes).expect("write");

    match MlStore::open(&dir, config(CONFIG), wal(FsyncPolicy::Never), T0) {
        Err(MlError::Corrupt { path, reason }) => {
            assert_eq!(path, file.display().to_string());
            assert!(reason.contains("offset"), "{reason}");
        }
        other => panic!("expected a corrupt snapshot, got {other:?}"),
    }
}

#[test]
fn a_damaged_reference_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ml");
    {
        let store = open(&dir, T0);
        store
            .set_reference("fraud", None, reference_columns(&mut Gen(1)), T0)
            .expect("reference");
    }
    let file = dir.join("references").join("fraud.ref");
    let mut bytes = fs::read(&file).expect("read");
    bytes[20] ^= 1;
    fs::write(&file, &bytes).expect("write");
    match MlStore::open(&dir, config(CONFIG), wal(FsyncPolicy::Never), T0) {
        Err(MlError::Corrupt { path, .. }) => assert_eq!(path, file.display().to_string()),
        other => panic!("expected a corrupt reference, got {other:?}"),
    }
}

#[test]
fn references_survive_a_restart() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ml");
    let mut g = Gen(11);
    let events = predictions(&mut g, 0, 400, T0 - 5 * MIN, 5 * MIN);
    let all = reference_columns(&mut g);
    let v2 = reference_columns(&mut g);
    let before = {
        let store = open(&dir, T0);
        store.ingest_predictions(&events, T0).expect("ingest");
        store
            .set_reference("fraud", None, all.clone(), T0)
            .expect("ref");
        store
            .set_reference("fraud", Some("v2"), v2, T0 + 1)
            .expect("ref");
        // Replaced by a later upload: only the last one survives.
        store
            .set_reference("fraud", None, all, T0 + 2)
            .expect("ref");
        // A model that only has a reference.
        store
            .set_reference("shadow", None, reference_columns(&mut g), T0)
            .expect("ref");
        view(&store, T0)
    };
    let (reopened, report) =
        MlStore::open(&dir, config(CONFIG), wal(FsyncPolicy::Never), T0).expect("reopen");
    assert_eq!(report.references, 3);
    let after = view(&reopened, T0);
    assert_eq!(after, before);
    assert!(after.contains("\"uploaded\""), "{after}");
}

#[test]
fn hostile_model_names_stay_inside_the_directory() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("data").join("ml");
    let names = [
        "../../etc",
        "/abs",
        "..",
        "a/b",
        "ÜBER",
        "x".repeat(300).leak(),
    ];
    {
        let store = open(&dir, T0);
        for n in names {
            store
                .set_reference(n, Some("../v"), reference_columns(&mut Gen(2)), T0)
                .expect("reference");
        }
    }
    // Nothing outside `ml/`, and every reference file directly in `ml/references/`.
    let outside: Vec<_> = fs::read_dir(tmp.path().join("data"))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("ml")]);
    let refs: Vec<PathBuf> = fs::read_dir(dir.join("references"))
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(refs.len(), names.len());
    assert!(refs.iter().all(|p| p.is_file()));
    let (reopened, _) =
        MlStore::open(&dir, config(CONFIG), wal(FsyncPolicy::Never), T0).expect("reopen");
    let mut got: Vec<String> = reopened.models().into_iter().map(|m| m.name).collect();
    let mut want: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn a_config_change_is_applied_on_replay_without_failing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ml");
    {
        let store = open(&dir, T0);
        store
            .ingest_predictions(&predictions(&mut Gen(4), 0, 100, T0 - MIN, MIN), T0)
            .expect("ingest");
    }
    // Now only two categories per feature: replay refuses what no longer fits.
    let stricter = format!("{CONFIG}limits: {{max_categories_per_feature: 2}}\n");
    let (store, report) =
        MlStore::open(&dir, config(&stricter), wal(FsyncPolicy::Never), T0).expect("reopen");
    assert!(report.events_refused > 0, "{report:?}");
    assert!(!store.models().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Arbitrary bytes as a WAL record after valid ones: open fails or succeeds, never panics.
    #[test]
    fn arbitrary_wal_records_never_panic(
        head in proptest::collection::vec(any::<u8>(), 0..3),
        data in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("ml");
        {
            let store = open(&dir, T0);
            store
                .ingest_predictions(&predictions(&mut Gen(8), 0, 5, T0 - MIN, MIN), T0)
                .expect("ingest");
        }
        {
            let w = Wal::open(&dir.join("wal"), wal(FsyncPolicy::Never)).expect("wal");
            // Mostly with the right format byte, so that the record bodies are exercised.
            let mut rec = vec![1u8];
            rec.extend_from_slice(&head);
            rec.extend_from_slice(&data);
            w.append(&[&rec]).expect("append");
        }
        let _ = MlStore::open(&dir, config(CONFIG), wal(FsyncPolicy::Never), T0);
    }

    /// Arbitrary bytes as a snapshot record: never a panic.
    #[test]
    fn arbitrary_snapshot_records_never_panic(
        ty in 16u8..22,
        data in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("ml");
        {
            let store = open(&dir, T0);
            store
                .ingest_predictions(&predictions(&mut Gen(8), 0, 5, T0 - MIN, MIN), T0)
                .expect("ingest");
            store.checkpoint(T0).expect("checkpoint");
        }
        {
            let w = Wal::open(&dir.join("wal"), wal(FsyncPolicy::Never)).expect("wal");
            let upto = w.cut().expect("cut");
            let mut cp = w.checkpoint(upto).expect("checkpoint");
            // A header announcing two records, then the arbitrary one.
            let header = [1u8, 16, 0, 2];
            let mut rec = vec![1u8, ty];
            rec.extend_from_slice(&data);
            cp.append(&[&header, &rec]).expect("append");
            cp.commit().expect("commit");
        }
        let _ = MlStore::open(&dir, config(CONFIG), wal(FsyncPolicy::Never), T0);
    }
}

/// Regression: a label refused after finding its prediction (a class for a regressor) counted
/// as received, so it changed the join ratio while its batch record (accepted events only)
/// did not carry it: a replay would have disagreed.
#[test]
fn a_refused_label_leaves_nothing_behind() {
    let store = MlStore::new(config(CONFIG));
    let mut g = Gen(6);
    let events: Vec<PredictionEvent> = predictions(&mut g, 0, 8, T0 - MIN, MIN)
        .into_iter()
        .filter(|e| e.model == "price")
        .collect();
    store.ingest_predictions(&events, T0).expect("ingest");
    let label = |l: Outcome| LabelEvent {
        model: Some("price".into()),
        id: "p0".into(),
        label: l,
        timestamp_ms: None,
    };
    let r = store
        .ingest_labels(&[label(Outcome::Class("good".into()))], T0)
        .expect("labels");
    assert_eq!((r.accepted, r.errors.len()), (0, 1));
    let r = store
        .ingest_labels(&[label(Outcome::Number(120.0))], T0)
        .expect("labels");
    assert_eq!(r.joined, 1);
    let s = series(&store.evaluate(T0));
    let ratio = s
        .iter()
        .find(|(k, _)| k.contains("__name__=ml_labels_join_ratio,"))
        .and_then(|(_, v)| v.last())
        .map(|(_, bits)| f64::from_bits(*bits));
    assert_eq!(ratio, Some(1.0));
}
