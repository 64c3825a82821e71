//! Silences (Alertmanager's `silence/silence.go`): create, update, expire, query, garbage
//! collection, persistence, and the silencer that marks alerts.
//!
//! # Lifecycle
//! A silence is `pending` before `startsAt`, `active` until `endsAt`, then `expired`; it is kept
//! for `retention` (default 120h, Alertmanager's `--data.retention`) after it ends, then
//! collected. Ids are random UUIDs (v4).
//!
//! Posting a silence with an existing id updates it in place only when that does not rewrite
//! history: same matchers, and for an active silence the same start (to the second) and an end
//! not in the past, for a pending one a start not in the past. Otherwise the old silence is
//! expired (unless it already is) and a new one with a new id is created. A new silence that
//! would start in the past starts now. Expiring an active silence ends it now; expiring a pending
//! one sets both its start and end to now.
//!
//! One deliberate difference: Alertmanager expires the old silence before validating its
//! replacement, so an invalid update loses the old one; here the replacement is validated
//! first and nothing changes when it is refused.
//!
//! # Persistence
//! With a directory configured, every change (create, update, expire, collection) rewrites
//! `<dir>/silences.json` before the call returns: the new content goes to
//! `silences.json.tmp`, is fsynced, renamed over `silences.json`, and the directory is fsynced.
//! A crash leaves either the old or the new file, never a torn one; a stray `.tmp` is ignored
//! and overwritten. The file is read at start; a file that is not valid is an error
//! ([`crate::Error::CorruptSilences`]) rather than silently discarded, since losing silences
//! would page people.
//!
//! The file is UTF-8 JSON, one object:
//!
//! ```json
//! {
//!   "format": "vigil-silences",
//!   "version": 1,
//!   "silences": [
//!     {
//!       "id": "8f2c7c0e-7a7a-4f5e-9a59-3d1e0c6f1b2a",
//!       "matchers": [{"name": "job", "value": "api", "isRegex": false, "isEqual": true}],
//!       "startsAt": "2024-05-01T10:00:00.000Z",
//!       "endsAt": "2024-05-01T12:00:00.000Z",
//!       "updatedAt": "2024-05-01T10:00:00.000Z",
//!       "expiresAt": "2024-05-06T12:00:00.000Z",
//!       "createdBy": "alice",
//!       "comment": "deploy"
//!     }
//!   ]
//! }
//! ```
//!
//! Times are RFC 3339 UTC with milliseconds (the API's precision); `expiresAt` is when the
//! silence will be collected (`endsAt` + the retention in force when it was written). Matchers
//! use the API's `isRegex`/`isEqual` pair. Readers reject an unknown `format` or a `version`
//! other than 1, unknown fields are ignored (so a later version can add optional fields),
//! and every silence is validated as if posted.

mod persist;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use vigil_model::{is_valid_label_name, Clock, Labels, MatchOp, Timestamp};

use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::gotime::{is_zero, max_time};
use crate::marker::Marker;
use crate::matcher::Matcher;

/// Alertmanager's default `--data.retention`.
pub const DEFAULT_RETENTION_MS: u64 = 120 * 3_600_000;

/// The silence file's name inside the data directory.
pub const SILENCES_FILE: &str = "silences.json";

/// `silenceStatus.state` of API v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    Expired,
    Active,
    Pending,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Expired => "expired",
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
        }
    }
}

/// One silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    /// Empty when creating.
    pub id: String,
    /// In the order given; all must match.
    pub matchers: Vec<Matcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: String,
    pub comment: String,
}

impl Silence {
    /// The state used for muting and updates (Alertmanager's `getState`): active from start
    /// to end inclusive.
    pub fn state_at(&self, now: Timestamp) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now > self.ends_at {
            SilenceState::Expired
        } else {
            SilenceState::Active
        }
    }

    /// The state the API shows (Alertmanager's `CalcSilenceState`): expired from `endsAt` on.
    pub fn api_state_at(&self, now: Timestamp) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    /// Whether every matcher holds for `labels`.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| m.matches_labels(labels))
    }
}

/// Builds a silence matcher, checking it as Alertmanager's `ValidateMatcher` does (label name
/// syntax; a regular expression that compiles).
///
/// # Errors
/// `invalid label name "…"` or `invalid regular expression "…": …`.
pub fn silence_matcher(name: &str, value: &str, op: MatchOp) -> Result<Matcher, String> {
    if !is_valid_label_name(name) {
        return Err(format!("invalid label name {name:?}"));
    }
    if matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
        // Compiled bare as well as anchored: `a)|(b` compiles once wrapped in `^(?:...)$`
        // but is refused by Alertmanager, which checks the bare pattern.
        regex::Regex::new(value)
            .map_err(|e| format!("invalid regular expression {value:?}: {e}"))?;
    }
    Matcher::new(op, name, value).map_err(|e| format!("invalid regular expression {value:?}: {e}"))
}

/// Alertmanager's `matchesEmpty`: only `=` and `=~` count; a negative matcher never does.
fn matches_empty(m: &Matcher) -> bool {
    match m.op {
        MatchOp::Equal => m.value.is_empty(),
        MatchOp::Regex => m.matches(""),
        MatchOp::NotEqual | MatchOp::NotRegex => false,
    }
}

/// `validateSilence` (everything the caller controls), prefixed as Alertmanager does.
fn validate(s: &Silence) -> Result<(), Error> {
    let invalid = |m: &str| Error::InvalidSilence(format!("silence invalid: {m}"));
    if s.matchers.is_empty() {
        return Err(invalid("at least one matcher required"));
    }
    for (i, m) in s.matchers.iter().enumerate() {
        if !is_valid_label_name(&m.name) {
            return Err(invalid(&format!(
                "invalid label matcher {i}: invalid label name {:?}",
                m.name
            )));
        }
    }
    if s.matchers.iter().all(matches_empty) {
        return Err(invalid(
            "at least one matcher must not match the empty string",
        ));
    }
    if is_zero(s.starts_at) {
        return Err(invalid("invalid zero start timestamp"));
    }
    if is_zero(s.ends_at) {
        return Err(invalid("invalid zero end timestamp"));
    }
    if s.ends_at < s.starts_at {
        return Err(invalid("end time must not be before start time"));
    }
    Ok(())
}

/// A stored silence and when it may be collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub silence: Silence,
    pub expires_at: Timestamp,
}

#[derive(Debug, Default)]
struct State {
    by_id: HashMap<String, Entry>,
    version: u64,
}

/// Options of [`Silences::new`].
#[derive(Debug, Clone)]
pub struct SilencesOptions {
    /// How long after its end a silence is kept (default 120h).
    pub retention_ms: u64,
    /// Where `silences.json` lives; `None` keeps silences in memory only.
    pub dir: Option<PathBuf>,
}

impl Default for SilencesOptions {
    fn default() -> Self {
        SilencesOptions {
            retention_ms: DEFAULT_RETENTION_MS,
            dir: None,
        }
    }
}

/// A query over silences; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct SilenceQuery<'a> {
    pub ids: Option<&'a [String]>,
    pub states: &'a [SilenceState],
    pub matching: Option<&'a Labels>,
}

/// The silence store.
#[derive(Debug)]
pub struct Silences {
    clock: Arc<dyn Clock>,
    retention_ms: i64,
    path: Option<PathBuf>,
    state: Mutex<State>,
}

impl Silences {
    /// Opens the store, loading `<dir>/silences.json` when it exists.
    ///
    /// # Errors
    /// The file exists but cannot be read ([`Error::Io`]) or is not a valid silence file
    /// ([`Error::CorruptSilences`]).
    pub fn new(clock: Arc<dyn Clock>, opts: SilencesOptions) -> Result<Self, Error> {
        let path = opts.dir.as_deref().map(|d| d.join(SILENCES_FILE));
        let mut state = State::default();
        if let Some(p) = &path {
            for e in persist::load(p)? {
                state.by_id.insert(e.silence.id.clone(), e);
            }
            state.version = 1;
        }
        Ok(Silences {
            clock,
            retention_ms: i64::try_from(opts.retention_ms).unwrap_or(i64::MAX),
            path,
            state: Mutex::new(state),
        })
    }

    /// The file silences are persisted to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Increases whenever a silence is added or changed.
    pub fn version(&self) -> u64 {
        self.state.lock().version
    }

    /// Applies `change` to a copy of the silences, persists the copy, then keeps it.
    fn commit<T>(
        &self,
        change: impl FnOnce(&mut HashMap<String, Entry>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut st = self.state.lock();
        let mut next = st.by_id.clone();
        let out = change(&mut next)?;
        if let Some(p) = &self.path {
            persist::store(p, next.values())?;
        }
        st.by_id = next;
        st.version += 1;
        Ok(out)
    }

    fn entry(&self, s: Silence) -> Entry {
        // Clamped so that the file can hold it: an end near the last readable time plus the
        // retention would otherwise be written as the zero time and collected after a restart.
        let expires_at = s.ends_at.saturating_add(self.retention_ms).min(max_time());
        Entry {
            silence: s,
            expires_at,
        }
    }

    /// Creates or updates a silence and returns its id (a new one unless updated in place).
    ///
    /// # Errors
    /// [`Error::SilenceNotFound`] for an unknown id, [`Error::InvalidSilence`] with
    /// Alertmanager's reason, or a persistence failure.
    pub fn set(&self, mut sil: Silence) -> Result<String, Error> {
        let now = self.clock.now_ms();
        let id = self.commit(|map| {
            let prev = if sil.id.is_empty() {
                None
            } else {
                Some(
                    map.get(&sil.id)
                        .ok_or(Error::SilenceNotFound)?
                        .silence
                        .clone(),
                )
            };
            if let Some(prev) = &prev {
                if can_update(prev, &sil, now) {
                    sil.updated_at = now;
                    validate(&sil)?;
                    let id = sil.id.clone();
                    map.insert(id.clone(), self.entry(sil.clone()));
                    return Ok(id);
                }
            }
            sil.id = new_uuid()?;
            if sil.starts_at < now {
                sil.starts_at = now;
            }
            sil.updated_at = now;
            validate(&sil)?;
            if let Some(prev) = prev {
                if prev.state_at(now) != SilenceState::Expired {
                    let expired = expire_silence(prev, now);
                    map.insert(expired.id.clone(), self.entry(expired));
                }
            }
            let id = sil.id.clone();
            map.insert(id.clone(), self.entry(sil.clone()));
            Ok(id)
        })?;
        Ok(id)
    }

    /// Expires a silence now; expiring an expired silence does nothing.
    ///
    /// # Errors
    /// [`Error::SilenceNotFound`], or a persistence failure.
    pub fn expire(&self, id: &str) -> Result<(), Error> {
        let now = self.clock.now_ms();
        {
            let st = self.state.lock();
            let e = st.by_id.get(id).ok_or(Error::SilenceNotFound)?;
            if e.silence.state_at(now) == SilenceState::Expired {
                return Ok(());
            }
        }
        self.commit(|map| {
            let prev = map.get(id).ok_or(Error::SilenceNotFound)?.silence.clone();
            let expired = expire_silence(prev, now);
            map.insert(id.to_owned(), self.entry(expired));
            Ok(())
        })
    }

    /// The silence with this id, if stored.
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.state.lock().by_id.get(id).map(|e| e.silence.clone())
    }

    /// The silences matching `q` now, with the version they were read at, ordered by id.
    pub fn query(&self, q: &SilenceQuery<'_>) -> (Vec<Silence>, u64) {
        let now = self.clock.now_ms();
        let st = self.state.lock();
        let keep = |s: &Silence| {
            (q.states.is_empty() || q.states.contains(&s.state_at(now)))
                && q.matching.is_none_or(|l| s.matches(l))
        };
        let mut out: Vec<Silence> = match q.ids {
            Some(ids) => ids
                .iter()
                .filter_map(|id| st.by_id.get(id))
                .map(|e| &e.silence)
                .filter(|s| keep(s))
                .cloned()
                .collect(),
            None => st
                .by_id
                .values()
                .map(|e| &e.silence)
                .filter(|s| keep(s))
                .cloned()
                .collect(),
        };
        out.sort_by(|a, b| a.id.cmp(&b.id));
        (out, st.version)
    }

    /// How many silences are in `state` now.
    pub fn count_state(&self, state: SilenceState) -> usize {
        let now = self.clock.now_ms();
        self.state
            .lock()
            .by_id
            .values()
            .filter(|e| e.silence.state_at(now) == state)
            .count()
    }

    /// Removes silences whose retention has passed; returns how many.
    ///
    /// # Errors
    /// A persistence failure (nothing is removed then).
    pub fn gc(&self) -> Result<usize, Error> {
        let now = self.clock.now_ms();
        let due = self
            .state
            .lock()
            .by_id
            .values()
            .filter(|e| e.expires_at <= now)
            .count();
        if due == 0 {
            return Ok(0);
        }
        self.commit(|map| {
            let before = map.len();
            map.retain(|_, e| e.expires_at > now);
            Ok(before - map.len())
        })
    }

    /// Alertmanager's silencer: whether an active silence matches `labels`, recording the
    /// matching active and pending silence ids in the marker.
    ///
    /// This runs for every alert of every flush, so it reads the silences under the lock
    /// without copying them, and, as Alertmanager's `Silencer.Mutes` does, only rechecks the
    /// ids the marker recorded when no silence changed since: a silence's matchers never
    /// change under its id and states only move forward (pending, active, expired), so no
    /// other silence can have started to match.
    pub fn mutes(&self, labels: &Labels, marker: &Marker) -> bool {
        let now = self.clock.now_ms();
        let fp = Fingerprint::of(labels);
        let cached = marker.status(fp);
        let mut active = Vec::new();
        let mut pending = Vec::new();
        let version = {
            let st = self.state.lock();
            let mut sort = |s: &Silence| match s.state_at(now) {
                SilenceState::Active => active.push(s.id.clone()),
                SilenceState::Pending => pending.push(s.id.clone()),
                SilenceState::Expired => {}
            };
            if cached.silences_version == st.version {
                cached
                    .silenced_by
                    .iter()
                    .chain(&cached.pending_silences)
                    .filter_map(|id| st.by_id.get(id))
                    .for_each(|e| sort(&e.silence));
            } else {
                st.by_id
                    .values()
                    .filter(|e| e.silence.matches(labels))
                    .for_each(|e| sort(&e.silence));
            }
            st.version
        };
        active.sort();
        pending.sort();
        let muted = !active.is_empty();
        marker.set_active_or_silenced(fp, version, active, pending);
        muted
    }
}

/// Whether `b` may replace `a` in place without changing what `a` silenced in the past.
fn can_update(a: &Silence, b: &Silence, now: Timestamp) -> bool {
    if a.matchers != b.matchers {
        return false;
    }
    match a.state_at(now) {
        SilenceState::Active => {
            a.starts_at.div_euclid(1000) == b.starts_at.div_euclid(1000) && b.ends_at >= now
        }
        SilenceState::Pending => b.starts_at >= now,
        SilenceState::Expired => false,
    }
}

fn expire_silence(mut s: Silence, now: Timestamp) -> Silence {
    match s.state_at(now) {
        SilenceState::Expired => {}
        SilenceState::Active => s.ends_at = now,
        SilenceState::Pending => {
            s.starts_at = now;
            s.ends_at = now;
        }
    }
    s.updated_at = now;
    s
}

/// A random (version 4) UUID, lower-case hex as Go's `uuid.NewV4().String()`.
fn new_uuid() -> Result<String, Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Internal(format!("generate uuid: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or(""),
        hex.get(8..12).unwrap_or(""),
        hex.get(12..16).unwrap_or(""),
        hex.get(16..20).unwrap_or(""),
        hex.get(20..32).unwrap_or("")
    ))
}

#[cfg(test)]
mod tests;
