//! The byte-level pieces every ML store file is made of: varints, strings, `f64` bit patterns
//! (`docs/format/ml.md`, top), and a bounds-checked decoder whose errors carry the offset.
//!
//! The decoder never trusts a count: it reads element by element and preallocates at most
//! what the remaining bytes could hold, so arbitrary input costs at most its own size.

use std::fmt;

/// Appends `v` as a LEB128 uvarint.
pub(crate) fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        // The low 7 bits, with the continuation bit.
        buf.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends a `usize` as a uvarint.
pub(crate) fn put_len(buf: &mut Vec<u8>, n: usize) {
    put_uvarint(buf, n as u64);
}

/// Appends `v` zigzag-mapped as a uvarint.
pub(crate) fn put_zvarint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends the 8 little-endian bytes of `v`'s bit pattern.
pub(crate) fn put_f64(buf: &mut Vec<u8>, v: f64) {
    buf.extend_from_slice(&v.to_bits().to_le_bytes());
}

/// Appends a length-prefixed string.
pub(crate) fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_len(buf, s.len());
    buf.extend_from_slice(s.as_bytes());
}

/// Why bytes did not decode, and where (offset from the start of the decoded buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub offset: usize,
    pub reason: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.reason)
    }
}

/// A cursor over a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Dec<'a> {
        Dec { buf, pos: 0 }
    }

    /// The offset of the next byte.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Bytes not yet read.
    pub fn remaining_len(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// An error at the current offset.
    pub fn err(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            offset: self.pos,
            reason: reason.into(),
        }
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.err(format!(
                "{} unexpected bytes at the end",
                self.remaining_len()
            )))
        }
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.err(format!("{n} bytes needed, {} left", self.remaining_len())))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.err("out of range"))?;
        self.pos = end;
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.err("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        self.u64_le().map(f64::from_bits)
    }

    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                break;
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError {
            offset: start,
            reason: "varint overflows 64 bits".to_owned(),
        })
    }

    pub fn zvarint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        // Zigzag: 0, -1, 1, -2, … (the casts reinterpret bits).
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A uvarint that must fit in `u32`.
    pub fn u32v(&mut self) -> Result<u32, DecodeError> {
        let at = self.pos;
        let v = self.uvarint()?;
        u32::try_from(v).map_err(|_| DecodeError {
            offset: at,
            reason: format!("{v} does not fit in 32 bits"),
        })
    }

    /// A uvarint used as a size or index.
    pub fn usize(&mut self) -> Result<usize, DecodeError> {
        let at = self.pos;
        let v = self.uvarint()?;
        usize::try_from(v).map_err(|_| DecodeError {
            offset: at,
            reason: format!("{v} is too large"),
        })
    }

    /// A count of elements each at least `min_bytes` long: checked against what is left, so
    /// that `Vec::with_capacity(count)` is bounded by the input's size.
    pub fn count(&mut self, min_bytes: usize) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.usize()?;
        if n.saturating_mul(min_bytes.max(1)) > self.remaining_len() {
            return Err(DecodeError {
                offset: at,
                reason: format!(
                    "count {n} is more than the {} bytes left hold",
                    self.remaining_len()
                ),
            });
        }
        Ok(n)
    }

    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.usize()?;
        self.text(n)
    }

    /// `n` bytes of UTF-8.
    pub fn text(&mut self, n: usize) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let b = self.bytes(n)?;
        std::str::from_utf8(b).map_err(|e| DecodeError {
            offset: at,
            reason: format!("string is not UTF-8: {e}"),
        })
    }

    /// A byte that must be 0 or 1.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(DecodeError {
                offset: self.pos - 1,
                reason: format!("flag byte {b} is not 0 or 1"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        let values = [
            0u64,
            1,
            127,
            128,
            300,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut buf = Vec::new();
        for v in values {
            put_uvarint(&mut buf, v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, -300] {
            put_zvarint(&mut buf, v);
        }
        let mut d = Dec::new(&buf);
        for v in values {
            assert_eq!(d.uvarint(), Ok(v));
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, -300] {
            assert_eq!(d.zvarint(), Ok(v));
        }
        assert!(d.finish().is_ok());
    }

    #[test]
    fn overlong_varints_and_counts_are_errors() {
        let mut d = Dec::new(&[0xff; 11]);
        assert!(d.uvarint().is_err());
        let mut d = Dec::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
        assert!(d.uvarint().is_err());
        let mut buf = Vec::new();
        put_len(&mut buf, 1 << 40);
        assert!(Dec::new(&buf).count(1).is_err());
        assert!(Dec::new(&[5, b'a']).str().is_err());
        assert!(Dec::new(&[2, 0xc3, 0x28]).str().is_err());
    }
}
