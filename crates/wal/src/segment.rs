//! Segment files: names, the file header, record framing, and a sequential scanner that stops at
//! the first damaged record. Layout in `docs/format/wal.md`.

use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::WalError;

pub(crate) const MAGIC: &[u8; 4] = b"VWAL";
pub(crate) const VERSION: u8 = 1;
/// Bytes of the segment header.
pub(crate) const HEADER_LEN: u64 = 8;
/// Bytes of a record's frame header (length + CRC).
pub(crate) const FRAME_HEADER_LEN: usize = 8;
/// Largest payload a record may have.
pub const MAX_RECORD_BYTES: usize = 1 << 30;

pub(crate) fn header() -> [u8; 8] {
    let mut h = [0u8; 8];
    h[..4].copy_from_slice(MAGIC);
    h[4] = VERSION;
    h
}

pub(crate) fn segment_name(n: u64) -> String {
    format!("{n:08}")
}

pub(crate) fn parse_segment_name(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) const CHECKPOINT_PREFIX: &str = "checkpoint.";
pub(crate) const TMP_SUFFIX: &str = ".tmp";

pub(crate) fn checkpoint_name(n: u64) -> String {
    format!("{CHECKPOINT_PREFIX}{n:08}")
}

pub(crate) fn parse_checkpoint_name(s: &str) -> Option<u64> {
    s.strip_prefix(CHECKPOINT_PREFIX)
        .and_then(parse_segment_name)
}

/// What a WAL directory holds, sorted by number.
#[derive(Debug, Default)]
pub(crate) struct DirListing {
    pub segments: Vec<(u64, PathBuf)>,
    pub checkpoints: Vec<(u64, PathBuf)>,
    /// Unfinished checkpoint directories.
    pub tmp: Vec<PathBuf>,
}

pub(crate) fn list_dir(dir: &Path) -> Result<DirListing, WalError> {
    let mut out = DirListing::default();
    let rd = fs::read_dir(dir).map_err(|e| WalError::io(dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| WalError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if let Some(n) = parse_segment_name(name) {
            out.segments.push((n, path));
        } else if let Some(n) = parse_checkpoint_name(name) {
            out.checkpoints.push((n, path));
        } else if name.starts_with(CHECKPOINT_PREFIX) && name.ends_with(TMP_SUFFIX) {
            out.tmp.push(path);
        }
    }
    out.segments.sort_unstable_by_key(|(n, _)| *n);
    out.checkpoints.sort_unstable_by_key(|(n, _)| *n);
    Ok(out)
}

/// Appends one framed record to `buf`.
pub(crate) fn encode_frame(buf: &mut Vec<u8>, payload: &[u8]) -> Result<(), WalError> {
    if payload.len() > MAX_RECORD_BYTES {
        return Err(WalError::RecordTooLarge {
            len: payload.len(),
            limit: MAX_RECORD_BYTES,
        });
    }
    // Bounded by MAX_RECORD_BYTES above, so this fits in u32.
    let len = u32::try_from(payload.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&len);
    h.update(payload);
    buf.extend_from_slice(&len);
    buf.extend_from_slice(&h.finalize().to_le_bytes());
    buf.extend_from_slice(payload);
    Ok(())
}

/// Framed size of a payload.
pub(crate) fn frame_len(payload: &[u8]) -> u64 {
    (FRAME_HEADER_LEN + payload.len()) as u64
}

/// Reads the records of one segment file in order. After the first damaged record it reports
/// the damage once and then ends.
pub(crate) struct SegmentScanner {
    path: PathBuf,
    reader: BufReader<File>,
    file_len: u64,
    offset: u64,
    done: bool,
    header_checked: bool,
}

impl SegmentScanner {
    pub(crate) fn open(path: &Path) -> Result<Self, WalError> {
        let file = File::open(path).map_err(|e| WalError::io(path, e))?;
        let file_len = file.metadata().map_err(|e| WalError::io(path, e))?.len();
        Ok(SegmentScanner {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(256 << 10, file),
            file_len,
            offset: 0,
            done: false,
            header_checked: false,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn corrupt(&mut self, offset: u64, reason: impl Into<String>) -> WalError {
        self.done = true;
        WalError::Corrupt {
            path: self.path.clone(),
            offset,
            reason: reason.into(),
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), WalError> {
        self.reader.read_exact(buf).map_err(|e| {
            self.done = true;
            WalError::io(&self.path, e)
        })
    }

    /// The next record's payload into `buf`; returns its offset. `None` at a clean end.
    pub(crate) fn next_into(&mut self, buf: &mut Vec<u8>) -> Option<Result<u64, WalError>> {
        if self.done {
            return None;
        }
        if !self.header_checked {
            self.header_checked = true;
            if self.file_len < HEADER_LEN {
                return Some(Err(self.corrupt(0, "segment header is torn")));
            }
            let mut h = [0u8; 8];
            if let Err(e) = self.read_exact(&mut h) {
                return Some(Err(e));
            }
            if &h[..4] != MAGIC {
                return Some(Err(self.corrupt(0, "bad segment magic")));
            }
            if h[4] != VERSION {
                let v = h[4];
                return Some(Err(
                    self.corrupt(0, format!("unsupported segment version {v}"))
                ));
            }
            if h[5..] != [0, 0, 0] {
                return Some(Err(self.corrupt(0, "reserved header bytes are not zero")));
            }
            self.offset = HEADER_LEN;
        }
        let offset = self.offset;
        if offset == self.file_len {
            self.done = true;
            return None;
        }
        let remaining = self.file_len.saturating_sub(offset);
        if remaining < FRAME_HEADER_LEN as u64 {
            return Some(Err(
                self.corrupt(offset, "torn record header at end of segment")
            ));
        }
        let mut fh = [0u8; FRAME_HEADER_LEN];
        if let Err(e) = self.read_exact(&mut fh) {
            return Some(Err(e));
        }
        let len_bytes = [fh[0], fh[1], fh[2], fh[3]];
        let len = u32::from_le_bytes(len_bytes) as usize;
        let crc = u32::from_le_bytes([fh[4], fh[5], fh[6], fh[7]]);
        if len > MAX_RECORD_BYTES {
            return Some(Err(
                self.corrupt(offset, format!("record length {len} is over the limit"))
            ));
        }
        if (len as u64) > remaining - FRAME_HEADER_LEN as u64 {
            return Some(Err(self.corrupt(
                offset,
                format!("record of {len} bytes runs past the end of the segment"),
            )));
        }
        buf.clear();
        match (&mut self.reader).take(len as u64).read_to_end(buf) {
            Ok(n) if n == len => {}
            Ok(_) => return Some(Err(self.corrupt(offset, "short read"))),
            Err(e) => {
                self.done = true;
                return Some(Err(WalError::io(&self.path, e)));
            }
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&len_bytes);
        h.update(buf);
        if h.finalize() != crc {
            return Some(Err(self.corrupt(offset, "record checksum mismatch")));
        }
        self.offset = offset + FRAME_HEADER_LEN as u64 + len as u64;
        Some(Ok(offset))
    }
}

/// Fsyncs a directory so that entries created, renamed or removed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WalError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(segment_name(42), "00000042");
        assert_eq!(parse_segment_name("00000042"), Some(42));
        assert_eq!(parse_segment_name("123456789"), Some(123_456_789));
        assert_eq!(parse_segment_name("0000004x"), None);
        assert_eq!(parse_segment_name(""), None);
        assert_eq!(parse_checkpoint_name(&checkpoint_name(7)), Some(7));
        assert_eq!(parse_checkpoint_name("checkpoint.00000007.tmp"), None);
    }

    #[test]
    fn zero_filled_frame_fails_crc() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, b"").expect("frame");
        assert_ne!(&buf[4..8], &[0, 0, 0, 0]);
    }
}
