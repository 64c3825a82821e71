//! The notification log (Alertmanager's `nflog`): for each aggregation group and receiver
//! integration, what was last notified and when, so that the dispatcher's dedup stage sends only
//! what changed (or what is due again after `repeat_interval`), also across restarts.
//!
//! An entry is keyed by the group key (`{}/{team="db"}:{alertname="Down"}`), the receiver's
//! name, and the integration's name and index in that receiver (`webhook`, 0). It holds the
//! fingerprints of the alerts that were firing and resolved in the notification, the time it was
//! sent, and when the entry expires: `2 × repeat_interval` after the send, or the retention
//! (default 120 h, Alertmanager's `--data.retention`) when shorter. Only the latest entry per key
//! is kept; a write older than the stored entry is ignored, as in Alertmanager.
//!
//! Alertmanager hashes alert label sets with xxhash for this log; Vigil records the alerts'
//! fingerprints (the same identity the API shows). Both are only compared with themselves.
//!
//! # Persistence
//! With a directory, the log is written to `<dir>/nflog.json` shortly after each change (the
//! notifier's writer coalesces bursts), on every maintenance run and when the notifier stops:
//! the content goes to `nflog.json.tmp`, is fsynced, renamed over `nflog.json`, and the
//! directory is fsynced, so a crash leaves the old or the new file, never a torn one. Alertmanager
//! itself snapshots only every 15 minutes and at shutdown; the window in which a crash can repeat
//! a notification is here the writer's delay (100 ms by default).
//!
//! A file that cannot be read as a notification log is not fatal: the error is logged and
//! counted (`vigil_nflog_load_failures_total`), the file is renamed to `nflog.json.damaged` (so
//! that the next write does not destroy the evidence), and the log starts empty. The cost is at
//! most one repeated notification per group; refusing to start would cost every notification.
//!
//! The file is UTF-8 JSON, one object, entries ordered by group key, receiver, integration and
//! index:
//!
//! ```json
//! {
//!   "format": "vigil-nflog",
//!   "version": 1,
//!   "entries": [
//!     {
//!       "groupKey": "{}/{team=\"db\"}:{alertname=\"Down\"}",
//!       "receiver": "db-pager",
//!       "integration": "webhook",
//!       "index": 0,
//!       "timestamp": "2024-05-01T10:00:30.000Z",
//!       "firing": ["c6bfb4f9b2a1f1e4"],
//!       "resolved": [],
//!       "expiresAt": "2024-05-01T18:00:30.000Z"
//!     }
//!   ]
//! }
//! ```
//!
//! Times are RFC 3339 UTC with milliseconds; fingerprints are 16 lower-case hex digits. Readers
//! reject an unknown `format` or a `version` other than 1, ignore unknown fields (so a later
//! version can add optional ones), and drop entries that have already expired.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tracing::{error, info};
use vigil_model::{Clock, Timestamp};

use crate::error::{io_err, write_atomic, Error};
use crate::fingerprint::Fingerprint;
use crate::gotime::serde_ts;
use crate::metrics::NotifierMetrics;

/// The file's name inside the data directory.
pub const NFLOG_FILE: &str = "nflog.json";

const FORMAT: &str = "vigil-nflog";
const VERSION: u32 = 1;

/// Which integration of which receiver an entry is about (Alertmanager's `nflogpb.Receiver`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NflogReceiver {
    /// The receiver's name (`GroupName` in Alertmanager).
    pub receiver: String,
    /// `webhook`, `email`, `pagerduty` or `slack`.
    pub integration: String,
    /// Position among the receiver's integrations of that kind.
    pub index: u32,
}

/// The last notification of one group to one integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NflogEntry {
    pub group_key: String,
    pub receiver: NflogReceiver,
    /// When it was sent.
    pub timestamp: Timestamp,
    pub firing: Vec<Fingerprint>,
    pub resolved: Vec<Fingerprint>,
    pub expires_at: Timestamp,
}

impl NflogEntry {
    /// Whether every alert of `set` was firing in this notification.
    pub fn is_firing_subset(&self, set: &HashSet<Fingerprint>) -> bool {
        is_subset(&self.firing, set)
    }

    /// Whether every alert of `set` was resolved in this notification.
    pub fn is_resolved_subset(&self, set: &HashSet<Fingerprint>) -> bool {
        is_subset(&self.resolved, set)
    }
}

fn is_subset(have: &[Fingerprint], set: &HashSet<Fingerprint>) -> bool {
    if set.len() > have.len() {
        return false;
    }
    let have: HashSet<&Fingerprint> = have.iter().collect();
    set.iter().all(|fp| have.contains(fp))
}

#[derive(Debug, Default)]
struct State {
    /// Entries by group key; a group has one entry per integration it notified.
    by_group: HashMap<String, Vec<NflogEntry>>,
    len: usize,
    /// Bumped on every change.
    version: u64,
    /// The version the file holds.
    written: u64,
}

/// The notification log.
#[derive(Debug)]
pub struct NotificationLog {
    clock: Arc<dyn Clock>,
    retention_ms: i64,
    path: Option<PathBuf>,
    state: Mutex<State>,
    /// Serializes writers of the file.
    write_lock: Mutex<()>,
    metrics: NotifierMetrics,
    load_error: Option<Error>,
    changed: tokio::sync::Notify,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    #[serde(rename = "groupKey")]
    group_key: String,
    receiver: String,
    integration: String,
    index: u32,
    #[serde(with = "serde_ts")]
    timestamp: Timestamp,
    firing: Vec<String>,
    resolved: Vec<String>,
    #[serde(rename = "expiresAt", with = "serde_ts")]
    expires_at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    entries: Vec<FileEntry>,
}

fn hex_list(fps: &[Fingerprint]) -> Vec<String> {
    fps.iter().map(Fingerprint::to_string).collect()
}

fn parse_list(v: &[String]) -> Result<Vec<Fingerprint>, String> {
    v.iter().map(|s| s.parse::<Fingerprint>()).collect()
}

/// The file's bytes for these entries, in a stable order.
fn encode<'a>(entries: impl Iterator<Item = &'a NflogEntry>) -> Result<Vec<u8>, String> {
    let mut out: Vec<FileEntry> = entries
        .map(|e| FileEntry {
            group_key: e.group_key.clone(),
            receiver: e.receiver.receiver.clone(),
            integration: e.receiver.integration.clone(),
            index: e.receiver.index,
            timestamp: e.timestamp,
            firing: hex_list(&e.firing),
            resolved: hex_list(&e.resolved),
            expires_at: e.expires_at,
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.group_key, &a.receiver, &a.integration, a.index).cmp(&(
            &b.group_key,
            &b.receiver,
            &b.integration,
            b.index,
        ))
    });
    let file = File {
        format: FORMAT.to_owned(),
        version: VERSION,
        entries: out,
    };
    let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Entries from the file's bytes, those expired at `now` left out.
fn decode(bytes: &[u8], now: Timestamp) -> Result<Vec<NflogEntry>, String> {
    let file: File =
        serde_json::from_slice(bytes).map_err(|e| format!("not a notification log file: {e}"))?;
    if file.format != FORMAT {
        return Err(format!("unknown format {:?}", file.format));
    }
    if file.version != VERSION {
        return Err(format!("unsupported version {}", file.version));
    }
    let mut out = Vec::with_capacity(file.entries.len());
    for (i, e) in file.entries.into_iter().enumerate() {
        let ctx = |m: String| format!("entry {i}: {m}");
        if e.group_key.is_empty() || e.receiver.is_empty() || e.integration.is_empty() {
            return Err(ctx(
                "groupKey, receiver and integration must not be empty".to_owned()
            ));
        }
        let firing = parse_list(&e.firing).map_err(ctx)?;
        let resolved = parse_list(&e.resolved).map_err(ctx)?;
        if e.expires_at <= now {
            continue;
        }
        out.push(NflogEntry {
            group_key: e.group_key,
            receiver: NflogReceiver {
                receiver: e.receiver,
                integration: e.integration,
                index: e.index,
            },
            timestamp: e.timestamp,
            firing,
            resolved,
            expires_at: e.expires_at,
        });
    }
    Ok(out)
}

impl NotificationLog {
    /// Opens the log, reading `<dir>/nflog.json` when it exists. Never fails: a damaged file is
    /// logged, counted, set aside and reported by [`NotificationLog::load_error`].
    pub fn open(
        clock: Arc<dyn Clock>,
        dir: Option<&Path>,
        retention_ms: u64,
        metrics: NotifierMetrics,
    ) -> Self {
        let path = dir.map(|d| d.join(NFLOG_FILE));
        let mut state = State::default();
        let mut load_error = None;
        if let Some(p) = &path {
            match Self::load(p, clock.now_ms()) {
                Ok(entries) => {
                    for e in entries {
                        // A file naming one key twice (edited by hand, or not ours) keeps the
                        // latest entry, so that `len` counts keys and `query` is not ambiguous.
                        let list = state.by_group.entry(e.group_key.clone()).or_default();
                        match list.iter_mut().find(|p| p.receiver == e.receiver) {
                            Some(prev) if prev.timestamp >= e.timestamp => {}
                            Some(prev) => *prev = e,
                            None => {
                                list.push(e);
                                state.len += 1;
                            }
                        }
                    }
                }
                Err(e) => {
                    metrics.nflog_load_failures.inc();
                    let aside = p.with_extension("json.damaged");
                    let moved = fs::rename(p, &aside).is_ok();
                    error!(
                        path = %p.display(),
                        moved_to = %aside.display(),
                        moved,
                        error = %e,
                        "notification log damaged; starting with an empty log"
                    );
                    load_error = Some(e);
                }
            }
        }
        metrics.set_nflog_entries(state.len);
        NotificationLog {
            clock,
            retention_ms: i64::try_from(retention_ms).unwrap_or(i64::MAX),
            path,
            state: Mutex::new(state),
            write_lock: Mutex::new(()),
            metrics,
            load_error,
            changed: tokio::sync::Notify::new(),
        }
    }

    fn load(path: &Path, now: Timestamp) -> Result<Vec<NflogEntry>, Error> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(path, e)),
        };
        decode(&bytes, now).map_err(|reason| Error::CorruptNflog {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Why the file found at start could not be used, if it could not.
    pub fn load_error(&self) -> Option<&Error> {
        self.load_error.as_ref()
    }

    /// The file the log is written to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The latest entry for this group and integration.
    pub fn query(&self, group_key: &str, receiver: &NflogReceiver) -> Option<NflogEntry> {
        self.metrics.nflog_queries.inc();
        let st = self.state.lock();
        st.by_group
            .get(group_key)?
            .iter()
            .find(|e| &e.receiver == receiver)
            .cloned()
    }

    /// Records a notification sent now. `expiry_ms` (Alertmanager passes `2 ×
    /// repeat_interval`) shortens the entry's life below the retention; 0 keeps the retention.
    /// An entry newer than now (a clock that stepped back) is kept.
    pub fn log(
        &self,
        receiver: &NflogReceiver,
        group_key: &str,
        firing: Vec<Fingerprint>,
        resolved: Vec<Fingerprint>,
        expiry_ms: u64,
    ) {
        let now = self.clock.now_ms();
        let expiry = i64::try_from(expiry_ms).unwrap_or(i64::MAX);
        let life = if expiry > 0 && self.retention_ms > expiry {
            expiry
        } else {
            self.retention_ms
        };
        let entry = NflogEntry {
            group_key: group_key.to_owned(),
            receiver: receiver.clone(),
            timestamp: now,
            firing,
            resolved,
            expires_at: now.saturating_add(life),
        };
        let mut st = self.state.lock();
        let list = st.by_group.entry(group_key.to_owned()).or_default();
        let added = match list.iter_mut().find(|e| &e.receiver == receiver) {
            Some(prev) if prev.timestamp > now => return,
            Some(prev) => {
                *prev = entry;
                false
            }
            None => {
                list.push(entry);
                true
            }
        };
        if added {
            st.len += 1;
        }
        st.version += 1;
        self.metrics.set_nflog_entries(st.len);
        drop(st);
        self.changed.notify_one();
    }

    /// Removes expired entries; returns how many.
    pub fn gc(&self) -> usize {
        let now = self.clock.now_ms();
        let mut st = self.state.lock();
        let mut removed = 0;
        st.by_group.retain(|_, list| {
            let before = list.len();
            list.retain(|e| e.expires_at > now);
            removed += before - list.len();
            !list.is_empty()
        });
        if removed > 0 {
            st.len -= removed;
            st.version += 1;
            self.metrics.nflog_gc_removed.inc_by(removed as u64);
            self.metrics.set_nflog_entries(st.len);
        }
        removed
    }

    /// How many entries the log holds.
    pub fn len(&self) -> usize {
        self.state.lock().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry, ordered by group key and receiver (for inspection and tests).
    pub fn entries(&self) -> Vec<NflogEntry> {
        let st = self.state.lock();
        let mut v: Vec<NflogEntry> = st.by_group.values().flatten().cloned().collect();
        v.sort_by(|a, b| (&a.group_key, &a.receiver).cmp(&(&b.group_key, &b.receiver)));
        v
    }

    /// Resolves when the log changed since the last call (for the notifier's writer).
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Writes the file if the log changed since it was last written; returns the bytes written
    /// (`None`: nothing to do, or no directory). Blocking: call it off the async threads.
    ///
    /// # Errors
    /// The file could not be written; the previous file is left as it was.
    pub fn snapshot(&self) -> Result<Option<usize>, Error> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let _w = self.write_lock.lock();
        let (bytes, version) = {
            let st = self.state.lock();
            if st.version == st.written && path.exists() {
                return Ok(None);
            }
            let bytes = encode(st.by_group.values().flatten()).map_err(|e| io_err(path, e))?;
            (bytes, st.version)
        };
        match write_atomic(path, &bytes) {
            Ok(()) => {
                let mut st = self.state.lock();
                st.written = st.written.max(version);
                self.metrics.nflog_snapshots.inc();
                self.metrics
                    .nflog_snapshot_size
                    .set(i64::try_from(bytes.len()).unwrap_or(i64::MAX));
                Ok(Some(bytes.len()))
            }
            Err(e) => {
                self.metrics.nflog_snapshot_failures.inc();
                Err(e)
            }
        }
    }

    /// [`NotificationLog::snapshot`], logging instead of returning the outcome.
    pub(crate) fn snapshot_logged(&self) {
        match self.snapshot() {
            Ok(Some(bytes)) => tracing::debug!(bytes, "notification log written"),
            Ok(None) => {}
            Err(e) => error!(error = %e, "writing the notification log failed"),
        }
    }

    /// Logs the start-up state once (lifecycle information).
    pub(crate) fn log_opened(&self) {
        if let Some(p) = &self.path {
            info!(path = %p.display(), entries = self.len(), "notification log opened");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::ManualClock;

    fn recv(i: u32) -> NflogReceiver {
        NflogReceiver {
            receiver: "team".into(),
            integration: "webhook".into(),
            index: i,
        }
    }

    fn open(dir: Option<&Path>, clock: Arc<ManualClock>) -> NotificationLog {
        NotificationLog::open(clock, dir, 120 * 3_600_000, NotifierMetrics::default())
    }

    #[test]
    fn log_query_expiry_and_gc() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let l = open(None, clock.clone());
        l.log(&recv(0), "g", vec![Fingerprint(1)], vec![], 10_000);
        let e = l.query("g", &recv(0)).expect("entry");
        assert_eq!(e.expires_at, 1_010_000);
        assert!(l.query("g", &recv(1)).is_none());
        assert!(e.is_firing_subset(&HashSet::from([Fingerprint(1)])));
        assert!(!e.is_firing_subset(&HashSet::from([Fingerprint(2)])));
        assert!(e.is_resolved_subset(&HashSet::new()));
        // A newer write replaces; an older (clock stepped back) does not.
        clock.advance(5);
        l.log(&recv(0), "g", vec![], vec![Fingerprint(1)], 0);
        clock.set(0);
        l.log(&recv(0), "g", vec![Fingerprint(9)], vec![], 0);
        let e = l.query("g", &recv(0)).expect("entry");
        assert_eq!(e.resolved, vec![Fingerprint(1)]);
        assert_eq!(l.len(), 1);
        clock.set(1_000_005 + 120 * 3_600_000);
        assert_eq!(l.gc(), 1);
        assert!(l.is_empty());
    }

    #[test]
    fn persists_and_reloads() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let l = open(Some(dir.path()), clock.clone());
        l.log(&recv(0), "{}:{a=\"b\"}", vec![Fingerprint(0xab)], vec![], 0);
        l.log(&recv(1), "{}:{a=\"b\"}", vec![], vec![Fingerprint(7)], 1000);
        assert!(l.snapshot().expect("write").is_some());
        assert_eq!(l.snapshot().expect("write"), None, "unchanged");
        let again = open(Some(dir.path()), clock.clone());
        assert!(again.load_error().is_none());
        assert_eq!(again.entries(), l.entries());
        // Expired entries are not loaded.
        clock.advance(2000);
        let later = open(Some(dir.path()), clock);
        assert_eq!(later.len(), 1);
    }

    #[test]
    fn duplicate_keys_in_file_keep_the_latest() {
        let dir = tempfile::tempdir().expect("dir");
        let e = |ts: &str, fp: &str| {
            format!(
                r#"{{"groupKey":"g","receiver":"r","integration":"webhook","index":0,"timestamp":"{ts}","firing":["{fp}"],"resolved":[],"expiresAt":"2999-01-01T00:00:00.000Z"}}"#
            )
        };
        let text = format!(
            r#"{{"format":"vigil-nflog","version":1,"entries":[{},{}]}}"#,
            e("2024-01-01T00:00:02.000Z", "0000000000000002"),
            e("2024-01-01T00:00:01.000Z", "0000000000000001"),
        );
        fs::write(dir.path().join(NFLOG_FILE), text).expect("w");
        let l = open(
            Some(dir.path()),
            Arc::new(ManualClock::new(1_700_000_000_000)),
        );
        assert!(l.load_error().is_none());
        assert_eq!(l.len(), 1);
        let r = NflogReceiver {
            receiver: "r".into(),
            integration: "webhook".into(),
            index: 0,
        };
        assert_eq!(
            l.query("g", &r).expect("entry").firing,
            vec![Fingerprint(2)]
        );
    }

    #[test]
    fn damaged_file_starts_empty_and_is_set_aside() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join(NFLOG_FILE);
        fs::write(
            &p,
            b"{\"format\":\"vigil-nflog\",\"version\":1,\"entries\":[{",
        )
        .expect("w");
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let l = open(Some(dir.path()), clock);
        let err = l.load_error().expect("error").to_string();
        assert!(err.contains("nflog.json"), "{err}");
        assert!(err.contains("not a notification log file"), "{err}");
        assert!(l.is_empty());
        assert!(dir.path().join("nflog.json.damaged").exists());
        assert!(!p.exists());
        for (bytes, want) in [
            (
                &b"{\"format\":\"x\",\"version\":1,\"entries\":[]}"[..],
                "unknown format",
            ),
            (
                b"{\"format\":\"vigil-nflog\",\"version\":2,\"entries\":[]}",
                "unsupported version",
            ),
        ] {
            let e = decode(bytes, 0).expect_err("bad");
            assert!(e.contains(want), "{e}");
        }
        let bad_fp = br#"{"format":"vigil-nflog","version":1,"entries":[{"groupKey":"g","receiver":"r","integration":"webhook","index":0,"timestamp":"2024-01-01T00:00:00.000Z","firing":["zz"],"resolved":[],"expiresAt":"2999-01-01T00:00:00.000Z"}]}"#;
        let e = decode(bad_fp, 0).expect_err("bad fingerprint");
        assert!(e.starts_with("entry 0: invalid fingerprint"), "{e}");
    }
}
