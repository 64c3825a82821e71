//! Reference files: one binary columns file per uploaded reference dataset under
//! `<dir>/references/` (`docs/format/ml.md`, "Reference files"), its crash-safe writer, its
//! reader, and the file names, which encode the user-chosen model and version names so that no
//! name can reach outside the directory.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bytes::{put_f64, put_len, put_str, put_zvarint, Dec, DecodeError};
use super::{corrupt, io_err};
use crate::error::MlError;
use crate::store::Reference;
use crate::{Column, Values};

/// The references directory inside the store's directory.
pub(crate) const REFERENCES_DIR: &str = "references";
const MAGIC: &[u8; 4] = b"VMLR";
const VERSION: u8 = 1;
const SUFFIX: &str = ".ref";
/// Longer encoded names are replaced by a hash (file systems limit a name to 255 bytes).
const MAX_NAME_BYTES: usize = 200;

/// Appends `s` with every byte but `a-z 0-9 _ -` as `%XX`.
fn encode_name(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// FNV-1a, 64 bits, of `model 0x00 version`.
fn name_hash(model: &str, version: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = model
        .bytes()
        .chain(std::iter::once(0))
        .chain(version.bytes());
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The file name of the reference of `model` and `version` (empty: every version).
pub(crate) fn file_name(model: &str, version: &str) -> String {
    let mut name = String::with_capacity(model.len() + version.len() + 8);
    encode_name(model, &mut name);
    if !version.is_empty() {
        name.push('.');
        encode_name(version, &mut name);
    }
    name.push_str(SUFFIX);
    if name.len() > MAX_NAME_BYTES {
        name = format!("~{:016x}{SUFFIX}", name_hash(model, version));
    }
    name
}

/// A reference as a file holds it.
#[derive(Debug, Clone)]
pub(crate) struct StoredReference {
    pub model: String,
    /// Empty: every version.
    pub version: String,
    pub reference: Reference,
}

/// The file's bytes.
pub(crate) fn encode(model: &str, version: &str, r: &Reference) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64 + r.rows * r.columns.len() * 8);
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&[VERSION, 0, 0, 0]);
    put_str(&mut buf, model);
    put_str(&mut buf, version);
    put_zvarint(&mut buf, r.uploaded_ms);
    put_len(&mut buf, r.columns.len());
    for c in r.columns.iter() {
        put_str(&mut buf, &c.name);
        match &c.values {
            Values::Numerical(v) => {
                buf.push(0);
                put_len(&mut buf, v.len());
                let mut bitmap = vec![0u8; v.len().div_ceil(8)];
                for (i, x) in v.iter().enumerate() {
                    if x.is_some() {
                        if let Some(b) = bitmap.get_mut(i / 8) {
                            *b |= 1 << (i % 8);
                        }
                    }
                }
                buf.extend_from_slice(&bitmap);
                for x in v.iter().flatten() {
                    put_f64(&mut buf, *x);
                }
            }
            Values::Categorical(v) => {
                buf.push(1);
                put_len(&mut buf, v.len());
                let mut codes: HashMap<&str, usize> = HashMap::new();
                let mut texts: Vec<&str> = Vec::new();
                let rows: Vec<usize> = v
                    .iter()
                    .map(|x| match x {
                        None => 0,
                        Some(t) => *codes.entry(t.as_str()).or_insert_with(|| {
                            texts.push(t.as_str());
                            texts.len()
                        }),
                    })
                    .collect();
                put_len(&mut buf, texts.len());
                for t in &texts {
                    put_str(&mut buf, t);
                }
                for code in rows {
                    put_len(&mut buf, code);
                }
            }
        }
    }
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf
}

/// Reads a file's bytes.
///
/// # Errors
/// A bad magic, version or checksum, or a body that does not decode.
pub(crate) fn decode(bytes: &[u8]) -> Result<StoredReference, DecodeError> {
    let body_len = bytes.len().checked_sub(4).ok_or_else(|| DecodeError {
        offset: 0,
        reason: "file is shorter than its checksum".to_owned(),
    })?;
    let (body, crc) = bytes.split_at(body_len);
    let mut d = Dec::new(body);
    if d.bytes(4).ok() != Some(&MAGIC[..]) {
        return Err(DecodeError {
            offset: 0,
            reason: "not a reference file (bad magic)".to_owned(),
        });
    }
    let header = d.bytes(4)?;
    if header != [VERSION, 0, 0, 0] {
        return Err(DecodeError {
            offset: 4,
            reason: format!("unsupported reference file version {header:?}"),
        });
    }
    let want = u32::from_le_bytes([
        crc.first().copied().unwrap_or(0),
        crc.get(1).copied().unwrap_or(0),
        crc.get(2).copied().unwrap_or(0),
        crc.get(3).copied().unwrap_or(0),
    ]);
    if crc32fast::hash(body) != want {
        return Err(DecodeError {
            offset: body_len,
            reason: "checksum mismatch".to_owned(),
        });
    }
    let model = d.str()?.to_owned();
    let version = d.str()?.to_owned();
    let uploaded_ms = d.zvarint()?;
    let n = d.count(3)?;
    let mut columns = Vec::with_capacity(n);
    for _ in 0..n {
        let name = d.str()?.to_owned();
        let kind = d.u8()?;
        let rows = d.usize()?;
        match kind {
            0 => {
                let bitmap = d.bytes(rows.div_ceil(8))?;
                let present = |i: usize| bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
                let n_present = (0..rows).filter(|&i| present(i)).count();
                if n_present.saturating_mul(8) > d.remaining_len() {
                    return Err(d.err("numerical values run past the end"));
                }
                let mut v = Vec::with_capacity(rows);
                for i in 0..rows {
                    v.push(if present(i) { Some(d.f64()?) } else { None });
                }
                columns.push(Column {
                    name,
                    values: Values::Numerical(v),
                });
            }
            1 => {
                let k = d.count(1)?;
                let mut texts = Vec::with_capacity(k);
                for _ in 0..k {
                    texts.push(d.str()?);
                }
                if rows > d.remaining_len() {
                    return Err(d.err("categorical codes run past the end"));
                }
                let mut v = Vec::with_capacity(rows);
                for _ in 0..rows {
                    let at = d.pos();
                    let code = d.usize()?;
                    v.push(match code {
                        0 => None,
                        c => Some(texts.get(c - 1).map(|t| (*t).to_owned()).ok_or_else(|| {
                            DecodeError {
                                offset: at,
                                reason: format!("category code {c} of {k}"),
                            }
                        })?),
                    });
                }
                columns.push(Column {
                    name,
                    values: Values::Categorical(v),
                });
            }
            k => return Err(d.err(format!("unknown column kind {k}"))),
        }
    }
    d.finish()?;
    let rows = columns.first().map_or(0, Column::len);
    Ok(StoredReference {
        model,
        version,
        reference: Reference {
            columns: Arc::new(columns),
            rows,
            uploaded_ms,
        },
    })
}

/// Writes the reference file crash-safely; returns its path. Callers serialise writes.
///
/// # Errors
/// [`MlError::Io`] when the file could not be written; [`MlError::Reference`] when a hashed
/// name collides with another model's or version's reference.
pub(crate) fn write(
    dir: &Path,
    model: &str,
    version: &str,
    r: &Reference,
) -> Result<PathBuf, MlError> {
    let path = dir.join(file_name(model, version));
    if path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('~'))
    {
        if let Ok(bytes) = fs::read(&path) {
            if let Ok(old) = decode(&bytes) {
                if old.model != model || old.version != version {
                    return Err(MlError::Reference(format!(
                        "the file name of this reference ({}) is taken by model {:?} version {:?}; use shorter names",
                        path.display(),
                        old.model,
                        old.version
                    )));
                }
            }
        }
    }
    let bytes = encode(model, version, r);
    vigil_wal::write_atomic(&path, &bytes).map_err(|e| io_err(&path, e))?;
    Ok(path)
}

/// Loads every reference file in `dir` (deleting leftover temporary files), sorted by file
/// name.
///
/// # Errors
/// [`MlError::Io`] when the directory or a file cannot be read; [`MlError::Corrupt`] naming
/// a file that does not decode.
pub(crate) fn load_all(dir: &Path) -> Result<Vec<StoredReference>, MlError> {
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let path = entry.map_err(|e| io_err(dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".tmp") {
            fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
        } else if name.ends_with(SUFFIX) {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let bytes = fs::read(&path).map_err(|e| io_err(&path, e))?;
        out.push(decode(&bytes).map_err(|e| corrupt(&path, e))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_and_stay_readable() {
        assert_eq!(file_name("fraud", ""), "fraud.ref");
        assert_eq!(file_name("fraud", "v2"), "fraud.v2.ref");
        assert_eq!(file_name("../../etc", ""), "%2E%2E%2F%2E%2E%2Fetc.ref");
        assert_eq!(file_name("Fraud", "a/b"), "%46raud.a%2Fb.ref");
        // A dot separates model and version only: "a.b" as a model is encoded.
        assert_ne!(file_name("a.b", ""), file_name("a", "b"));
        let long = "x".repeat(300);
        let n = file_name(&long, "");
        assert!(n.starts_with('~') && n.len() < 30, "{n}");
        assert_ne!(file_name(&long, ""), file_name(&long, "v"));
        for name in ["..", ".", "/", "a/../../b", "\0", "é"] {
            let n = file_name(name, name);
            assert!(
                !n.contains('/') && n != ".." && n != "." && !n.contains('\0'),
                "{n}"
            );
        }
    }

    #[test]
    fn a_file_round_trips() {
        let r = Reference {
            columns: Arc::new(vec![
                Column::numerical("a", [Some(1.0), None, Some(-0.0), Some(2.5)]),
                Column::categorical(
                    "b",
                    [
                        Some("x".to_owned()),
                        None,
                        Some("y".to_owned()),
                        Some("x".to_owned()),
                    ],
                ),
                Column::numerical("empty", []),
            ]),
            rows: 4,
            uploaded_ms: 1_700_000_000_000,
        };
        let bytes = encode("m", "v1", &r);
        let got = decode(&bytes).expect("decodes");
        assert_eq!((got.model.as_str(), got.version.as_str()), ("m", "v1"));
        assert_eq!(got.reference.columns, r.columns);
        assert_eq!(got.reference.rows, 4);
        assert_eq!(got.reference.uploaded_ms, r.uploaded_ms);
        let mut bad = bytes.clone();
        if let Some(b) = bad.get_mut(20) {
            *b ^= 1;
        }
        assert!(decode(&bad).is_err());
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
