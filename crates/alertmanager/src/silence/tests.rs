use std::sync::Arc;

use vigil_model::{Labels, ManualClock, MatchOp};

use super::*;

const MIN: i64 = 60_000;

fn store(clock: &Arc<ManualClock>, dir: Option<&Path>) -> Silences {
    Silences::new(
        clock.clone(),
        SilencesOptions {
            retention_ms: 60 * 60_000,
            dir: dir.map(Path::to_path_buf),
        },
    )
    .expect("open")
}

fn sil(start: Timestamp, end: Timestamp, matchers: &[(&str, &str, MatchOp)]) -> Silence {
    Silence {
        id: String::new(),
        matchers: matchers
            .iter()
            .map(|(n, v, op)| silence_matcher(n, v, *op).expect("matcher"))
            .collect(),
        starts_at: start,
        ends_at: end,
        updated_at: 0,
        created_by: "me".into(),
        comment: "c".into(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).expect("labels")
}

#[test]
fn lifecycle_pending_active_expired() {
    let clock = Arc::new(ManualClock::new(1_000 * MIN));
    let s = store(&clock, None);
    let id = s
        .set(sil(
            1_010 * MIN,
            1_020 * MIN,
            &[("job", "api", MatchOp::Equal)],
        ))
        .expect("create");
    assert_eq!(id.len(), 36);
    assert_eq!(id.as_bytes().get(14), Some(&b'4'), "version 4 uuid: {id}");
    let get = |id: &str| s.get(id).expect("stored");
    assert_eq!(get(&id).state_at(clock.now_ms()), SilenceState::Pending);
    let marker = Marker::default();
    assert!(!s.mutes(&labels(&[("job", "api")]), &marker));
    let st = marker.status(Fingerprint::of(&labels(&[("job", "api")])));
    assert_eq!(st.pending_silences, vec![id.clone()]);
    clock.set(1_015 * MIN);
    assert_eq!(get(&id).state_at(clock.now_ms()), SilenceState::Active);
    assert!(s.mutes(&labels(&[("job", "api")]), &marker));
    assert!(!s.mutes(&labels(&[("job", "web")]), &marker));
    assert_eq!(s.count_state(SilenceState::Active), 1);
    // Expire: ends now, no longer mutes; expiring again is a no-op.
    s.expire(&id).expect("expire");
    clock.advance(1);
    assert_eq!(get(&id).state_at(clock.now_ms()), SilenceState::Expired);
    assert!(!s.mutes(&labels(&[("job", "api")]), &marker));
    s.expire(&id).expect("idempotent");
    assert_eq!(s.expire("nope"), Err(Error::SilenceNotFound));
    // Collected once the retention after its end has passed.
    assert_eq!(s.gc().expect("gc"), 0);
    clock.advance(60 * MIN);
    assert_eq!(s.gc().expect("gc"), 1);
    assert!(s.get(&id).is_none());
}

#[test]
fn new_silence_in_the_past_starts_now() {
    let clock = Arc::new(ManualClock::new(100 * MIN));
    let s = store(&clock, None);
    let id = s
        .set(sil(10 * MIN, 200 * MIN, &[("a", "b", MatchOp::Equal)]))
        .expect("create");
    assert_eq!(s.get(&id).expect("stored").starts_at, 100 * MIN);
}

#[test]
fn updates_in_place_or_replace() {
    let clock = Arc::new(ManualClock::new(100 * MIN));
    let s = store(&clock, None);
    let id = s
        .set(sil(100 * MIN, 200 * MIN, &[("a", "b", MatchOp::Equal)]))
        .expect("create");
    clock.set(150 * MIN);
    // Extending an active silence with the same matchers and start keeps the id.
    let mut upd = s.get(&id).expect("stored");
    upd.ends_at = 300 * MIN;
    upd.comment = "longer".into();
    assert_eq!(s.set(upd).expect("update"), id);
    assert_eq!(s.get(&id).expect("stored").ends_at, 300 * MIN);
    // Changing the matchers expires the old one and creates a new id.
    let mut changed = s.get(&id).expect("stored");
    changed.matchers = vec![silence_matcher("a", "c", MatchOp::Equal).expect("m")];
    let new_id = s.set(changed).expect("replace");
    assert_ne!(new_id, id);
    assert_eq!(s.get(&id).expect("old").ends_at, 150 * MIN);
    // Changing the start of an active silence also replaces it.
    let mut moved = s.get(&new_id).expect("stored");
    moved.starts_at = 160 * MIN;
    let third = s.set(moved).expect("replace");
    assert_ne!(third, new_id);
    // An unknown id is not found.
    let mut ghost = sil(150 * MIN, 200 * MIN, &[("a", "b", MatchOp::Equal)]);
    ghost.id = "00000000-0000-4000-8000-000000000000".into();
    assert_eq!(s.set(ghost), Err(Error::SilenceNotFound));
}

#[test]
fn refused_replacement_keeps_the_old_silence() {
    let clock = Arc::new(ManualClock::new(100 * MIN));
    let s = store(&clock, None);
    let id = s
        .set(sil(100 * MIN, 200 * MIN, &[("a", "b", MatchOp::Equal)]))
        .expect("create");
    let mut bad = s.get(&id).expect("stored");
    bad.matchers = vec![silence_matcher("a", "", MatchOp::Equal).expect("m")];
    let e = s.set(bad).expect_err("all match empty");
    assert_eq!(
        e.to_string(),
        "silence invalid: at least one matcher must not match the empty string"
    );
    assert_eq!(s.get(&id).expect("old").ends_at, 200 * MIN);
}

#[test]
fn validation_messages() {
    let clock = Arc::new(ManualClock::new(100 * MIN));
    let s = store(&clock, None);
    let e = s
        .set(sil(100 * MIN, 200 * MIN, &[]))
        .expect_err("no matchers");
    assert_eq!(
        e.to_string(),
        "silence invalid: at least one matcher required"
    );
    // A negative matcher counts as not matching the empty string, as in Alertmanager.
    assert!(s
        .set(sil(100 * MIN, 200 * MIN, &[("a", "b", MatchOp::NotEqual)]))
        .is_ok());
    let e = s
        .set(sil(100 * MIN, 200 * MIN, &[("a", ".*", MatchOp::Regex)]))
        .expect_err("regex matching empty");
    assert!(e.to_string().contains("must not match the empty string"));
    assert!(silence_matcher("a:b", "x", MatchOp::Equal).is_err());
    assert!(silence_matcher("a", "(", MatchOp::Regex).is_err());
}

#[test]
fn persists_and_reloads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(100 * MIN));
    let s = store(&clock, Some(dir.path()));
    let a = s
        .set(sil(
            100 * MIN,
            200 * MIN,
            &[
                ("job", "api", MatchOp::Equal),
                ("env", "prod|dev", MatchOp::Regex),
            ],
        ))
        .expect("a");
    let b = s
        .set(sil(150 * MIN, 250 * MIN, &[("x", "y", MatchOp::NotRegex)]))
        .expect("b");
    s.expire(&b).expect("expire");
    let path = dir.path().join(SILENCES_FILE);
    assert!(path.exists());
    assert!(!dir.path().join("silences.json.tmp").exists());
    let again = store(&clock, Some(dir.path()));
    assert_eq!(again.get(&a), s.get(&a));
    assert_eq!(again.get(&b), s.get(&b));
    assert_eq!(again.query(&SilenceQuery::default()).0.len(), 2);
    // The reloaded store mutes as the original did.
    let marker = Marker::default();
    assert!(again.mutes(&labels(&[("job", "api"), ("env", "dev")]), &marker));
}

#[test]
fn corrupt_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(SILENCES_FILE);
    let clock: Arc<ManualClock> = Arc::new(ManualClock::new(0));
    let open = || {
        Silences::new(
            clock.clone(),
            SilencesOptions {
                dir: Some(dir.path().to_path_buf()),
                ..SilencesOptions::default()
            },
        )
    };
    for (bytes, want) in [
        (&b"{not json"[..], "not a silence file"),
        (&b"{\"format\":\"other\",\"version\":1,\"silences\":[]}"[..], "unknown format"),
        (&b"{\"format\":\"vigil-silences\",\"version\":9,\"silences\":[]}"[..], "unsupported version"),
        (
            &br#"{"format":"vigil-silences","version":1,"silences":[{"id":"x","matchers":[],"startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-02T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z","expiresAt":"2024-01-07T00:00:00Z"}]}"#[..],
            "at least one matcher required",
        ),
        (
            &br#"{"format":"vigil-silences","version":1,"silences":[{"id":"x","matchers":[{"name":"a","value":"(","isRegex":true}],"startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-02T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z","expiresAt":"2024-01-07T00:00:00Z"}]}"#[..],
            "invalid regular expression",
        ),
        (&[0xff, 0xfe, 0x00][..], "not a silence file"),
    ] {
        std::fs::write(&path, bytes).expect("write");
        match open() {
            Err(Error::CorruptSilences { path: p, reason }) => {
                assert!(p.ends_with(SILENCES_FILE));
                assert!(reason.contains(want), "{reason}");
            }
            other => panic!("expected corrupt error for {want}, got {other:?}"),
        }
    }
    // An empty list is fine; a missing file is an empty store.
    std::fs::write(
        &path,
        b"{\"format\":\"vigil-silences\",\"version\":1,\"silences\":[]}",
    )
    .expect("w");
    assert!(open().is_ok());
    std::fs::remove_file(&path).expect("rm");
    assert!(open().is_ok());
}

#[test]
fn far_future_silence_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(1_000 * MIN));
    let end = crate::gotime::max_time();
    let id = store(&clock, Some(dir.path()))
        .set(sil(1_000 * MIN, end, &[("job", "api", MatchOp::Equal)]))
        .expect("create");
    let s = store(&clock, Some(dir.path()));
    assert_eq!(s.gc().expect("gc"), 0);
    assert_eq!(s.get(&id).map(|x| x.ends_at), Some(end));
}

#[test]
fn mutes_sees_silences_added_after_the_marker_was_set() {
    let clock = Arc::new(ManualClock::new(1_000 * MIN));
    let s = store(&clock, None);
    let marker = Marker::default();
    let l = labels(&[("job", "api")]);
    assert!(!s.mutes(&l, &marker));
    let id = s
        .set(sil(
            1_000 * MIN,
            1_010 * MIN,
            &[("job", "api", MatchOp::Equal)],
        ))
        .expect("create");
    assert!(s.mutes(&l, &marker));
    assert!(
        s.mutes(&l, &marker),
        "unchanged version rechecks the marked ids"
    );
    s.expire(&id).expect("expire");
    clock.set(1_001 * MIN);
    assert!(!s.mutes(&l, &marker));
    assert_eq!(s.count_state(SilenceState::Expired), 1);
}
