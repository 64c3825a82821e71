//! The silence file: serializer, atomic writer and reader (format in the parent module's doc).

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use vigil_model::Timestamp;

use super::{silence_matcher, validate, Entry, Silence};
use crate::error::{io_err, Error};
use crate::gotime::{serde_ts, ZERO_TIME};
use crate::matcher::Matcher;

const FORMAT: &str = "vigil-silences";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct FileMatcher {
    name: String,
    value: String,
    #[serde(rename = "isRegex")]
    is_regex: bool,
    #[serde(rename = "isEqual", default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, Deserialize)]
struct FileSilence {
    id: String,
    matchers: Vec<FileMatcher>,
    #[serde(rename = "startsAt", with = "serde_ts")]
    starts_at: Timestamp,
    #[serde(rename = "endsAt", with = "serde_ts")]
    ends_at: Timestamp,
    #[serde(rename = "updatedAt", with = "serde_ts")]
    updated_at: Timestamp,
    #[serde(rename = "expiresAt", with = "serde_ts")]
    expires_at: Timestamp,
    #[serde(rename = "createdBy", default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    silences: Vec<FileSilence>,
}

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::CorruptSilences {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn to_file_matcher(m: &Matcher) -> FileMatcher {
    FileMatcher {
        name: m.name.clone(),
        value: m.value.clone(),
        is_regex: m.is_regex(),
        is_equal: m.is_equal(),
    }
}

/// The file's bytes for these entries, ordered by id so that equal states give equal files.
pub(super) fn encode<'a>(entries: impl Iterator<Item = &'a Entry>) -> Result<Vec<u8>, String> {
    let mut silences: Vec<FileSilence> = entries
        .map(|e| FileSilence {
            id: e.silence.id.clone(),
            matchers: e.silence.matchers.iter().map(to_file_matcher).collect(),
            starts_at: e.silence.starts_at,
            ends_at: e.silence.ends_at,
            updated_at: e.silence.updated_at,
            expires_at: e.expires_at,
            created_by: e.silence.created_by.clone(),
            comment: e.silence.comment.clone(),
        })
        .collect();
    silences.sort_by(|a, b| a.id.cmp(&b.id));
    let file = File {
        format: FORMAT.to_owned(),
        version: VERSION,
        silences,
    };
    let mut out = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}

/// Entries from the file's bytes; every silence is validated as if posted.
pub(super) fn decode(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let file: File =
        serde_json::from_slice(bytes).map_err(|e| format!("not a silence file: {e}"))?;
    if file.format != FORMAT {
        return Err(format!("unknown format {:?}", file.format));
    }
    if file.version != VERSION {
        return Err(format!("unsupported version {}", file.version));
    }
    let mut out = Vec::with_capacity(file.silences.len());
    for (i, s) in file.silences.into_iter().enumerate() {
        let ctx = |e: String| format!("silence {i} ({}): {e}", s.id);
        if s.id.is_empty() {
            return Err(ctx("missing id".to_owned()));
        }
        let matchers = s
            .matchers
            .iter()
            .map(|m| {
                silence_matcher(
                    &m.name,
                    &m.value,
                    Matcher::op_from_flags(m.is_equal, m.is_regex),
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(ctx)?;
        let silence = Silence {
            id: s.id.clone(),
            matchers,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            updated_at: s.updated_at,
            created_by: s.created_by,
            comment: s.comment,
        };
        validate(&silence).map_err(|e| ctx(e.to_string()))?;
        if s.updated_at <= ZERO_TIME {
            return Err(ctx("invalid zero update timestamp".to_owned()));
        }
        out.push(Entry {
            silence,
            expires_at: s.expires_at,
        });
    }
    Ok(out)
}

/// Reads the file; a missing file is an empty store.
pub(super) fn load(path: &Path) -> Result<Vec<Entry>, Error> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(path, e)),
    };
    decode(&bytes).map_err(|e| corrupt(path, e))
}

/// Writes the file atomically ([`crate::error::write_atomic`]).
pub(super) fn store<'a>(
    path: &Path,
    entries: impl Iterator<Item = &'a Entry>,
) -> Result<(), Error> {
    let bytes = encode(entries).map_err(|e| io_err(path, e))?;
    crate::error::write_atomic(path, &bytes)
}
