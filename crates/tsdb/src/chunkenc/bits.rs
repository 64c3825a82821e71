//! Varints, zigzag, a byte decoder, and MSB-first bit streams shared by every encoding.

use std::fmt;

/// Why bytes could not be decoded. Carries a static reason; callers add the location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for DecodeError {}

pub type DResult<T> = Result<T, DecodeError>;

#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

#[inline]
pub fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

#[inline]
pub fn put_zvarint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, zigzag(v));
}

/// Bytes `put_uvarint` writes for `v`.
#[inline]
pub fn uvarint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// A cursor over untrusted bytes; every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn uvarint(&mut self) -> DResult<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or(DecodeError("truncated varint"))?;
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(DecodeError("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("varint longer than 10 bytes"))
    }

    pub fn zvarint(&mut self) -> DResult<i64> {
        self.uvarint().map(unzigzag)
    }

    /// A uvarint that must not exceed `max` (a count or a length).
    pub fn uvarint_max(&mut self, max: u64, what: &'static str) -> DResult<usize> {
        let v = self.uvarint()?;
        if v > max {
            return Err(DecodeError(what));
        }
        usize::try_from(v).map_err(|_| DecodeError(what))
    }

    pub fn u8(&mut self) -> DResult<u8> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn bytes(&mut self, n: usize) -> DResult<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(DecodeError("length overflow"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError("truncated"))?;
        self.pos = end;
        Ok(s)
    }

    pub fn u32_le(&mut self) -> DResult<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64_le(&mut self) -> DResult<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub fn str(&mut self, max: u64) -> DResult<&'a str> {
        let n = self.uvarint_max(max, "string length out of range")?;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| DecodeError("string is not UTF-8"))
    }

    /// The rest of the buffer from the current position.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub fn advance(&mut self, n: usize) -> DResult<()> {
        self.bytes(n).map(|_| ())
    }
}

/// MSB-first bit writer that can be resumed (the head chunk appends into it one sample at a
/// time). Bits collect in a 64-bit accumulator and reach the byte buffer eight bytes at a time,
/// so an append touches the (usually cache-cold) heap buffer only every few samples.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    acc: u64,
    /// Bits held in `acc`, from the most significant end (0..64).
    nacc: u32,
}

impl BitWriter {
    pub fn new() -> Self {
        BitWriter::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        BitWriter {
            buf: Vec::with_capacity(n),
            acc: 0,
            nacc: 0,
        }
    }

    #[inline]
    fn flush_acc(&mut self) {
        if self.buf.capacity() - self.buf.len() < 8 {
            // Grow by a quarter (at least 32 bytes) rather than doubling: head chunks live for
            // hours and their slack is resident memory.
            let extra = (self.buf.len() / 4).max(32);
            self.buf.reserve_exact(extra);
        }
        self.buf.extend_from_slice(&self.acc.to_be_bytes());
        self.acc = 0;
        self.nacc = 0;
    }

    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Writes the low `n` bits of `v` (n <= 64), most significant first.
    #[inline]
    pub fn write_bits(&mut self, v: u64, n: u32) {
        let n = n.min(64);
        if n == 0 {
            return;
        }
        let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
        let free = 64 - self.nacc;
        if n < free {
            self.acc |= v << (free - n);
            self.nacc += n;
        } else {
            let rest = n - free;
            // free >= 1 here, so the shift is below 64.
            self.acc |= v >> rest;
            self.flush_acc();
            if rest > 0 {
                self.acc = v << (64 - rest);
                self.nacc = rest;
            }
        }
    }

    /// The bits written so far, zero-padded to a byte.
    pub fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        if self.nacc == 0 {
            return std::borrow::Cow::Borrowed(&self.buf);
        }
        let tail = self.nacc.div_ceil(8) as usize;
        let mut v = Vec::with_capacity(self.buf.len() + tail);
        v.extend_from_slice(&self.buf);
        v.extend_from_slice(self.acc.to_be_bytes().get(..tail).unwrap_or(&[]));
        std::borrow::Cow::Owned(v)
    }

    /// The bits written so far as an owned, trimmed buffer.
    pub fn into_bytes(mut self) -> Vec<u8> {
        let tail = self.nacc.div_ceil(8) as usize;
        let acc = self.acc.to_be_bytes();
        self.buf.reserve_exact(tail);
        self.buf.extend_from_slice(acc.get(..tail).unwrap_or(&[]));
        self.buf.shrink_to_fit();
        self.buf
    }

    /// Heap bytes held.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// MSB-first bit reader over untrusted bytes.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    buf: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        BitReader { buf, bit: 0 }
    }

    #[inline]
    pub fn read_bit(&mut self) -> DResult<bool> {
        let byte = *self
            .buf
            .get(self.bit >> 3)
            .ok_or(DecodeError("truncated bit stream"))?;
        let b = (byte >> (7 - (self.bit & 7))) & 1;
        self.bit += 1;
        Ok(b == 1)
    }

    /// Reads `n` bits (n <= 64), most significant first.
    #[inline]
    pub fn read_bits(&mut self, n: u32) -> DResult<u64> {
        if n == 0 {
            return Ok(0);
        }
        if n > 64 {
            return Err(DecodeError("bit field wider than 64"));
        }
        let end = self.bit + n as usize;
        if end > self.buf.len() * 8 {
            return Err(DecodeError("truncated bit stream"));
        }
        // One big-endian 64-bit load covers the field unless it starts late in a byte and is
        // wide; then the ninth byte supplies the last `off` bits.
        let byte = self.bit >> 3;
        let off = (self.bit & 7) as u32;
        let mut word = [0u8; 8];
        match self.buf.get(byte..byte + 8) {
            Some(w) => word.copy_from_slice(w),
            None => {
                let tail = self.buf.get(byte..).unwrap_or(&[]);
                word.get_mut(..tail.len())
                    .unwrap_or(&mut [])
                    .copy_from_slice(tail);
            }
        }
        let mut v = u64::from_be_bytes(word) << off;
        if off + n > 64 {
            let ninth = self.buf.get(byte + 8).copied().unwrap_or(0);
            v |= u64::from(ninth) >> (8 - off);
        }
        self.bit = end;
        Ok(v >> (64 - n))
    }

    /// Bytes consumed, rounding a partial byte up.
    pub fn bytes_consumed(&self) -> usize {
        self.bit.div_ceil(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        let vals = [0u64, 1, 127, 128, 300, u64::MAX, 1 << 63];
        let mut buf = Vec::new();
        for v in vals {
            put_uvarint(&mut buf, v);
            assert_eq!(uvarint_len(v), {
                let mut b = Vec::new();
                put_uvarint(&mut b, v);
                b.len()
            });
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            put_zvarint(&mut buf, v);
        }
        let mut d = Decoder::new(&buf);
        for v in vals {
            assert_eq!(d.uvarint(), Ok(v));
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(d.zvarint(), Ok(v));
        }
        assert!(d.is_empty());
        assert!(Decoder::new(&[0xff; 11]).uvarint().is_err());
        assert!(Decoder::new(&[0x80]).uvarint().is_err());
    }

    #[test]
    fn bits_round_trip() {
        let mut w = BitWriter::new();
        w.write_bit(true);
        w.write_bits(0x1234, 13);
        w.write_bits(u64::MAX, 64);
        w.write_bits(5, 3);
        w.write_bits(0, 0);
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bit(), Ok(true));
        assert_eq!(r.read_bits(13), Ok(0x1234));
        assert_eq!(r.read_bits(64), Ok(u64::MAX));
        assert_eq!(r.read_bits(3), Ok(5));
        assert!(r.read_bits(8).is_err());
    }

    #[test]
    fn every_width_at_every_offset() {
        let mut fields = Vec::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 0..2000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = i % 65;
            let v = if n == 64 { x } else { x & ((1u64 << n) - 1) };
            fields.push((v, n));
        }
        let mut w = BitWriter::new();
        for &(v, n) in &fields {
            w.write_bits(v, n);
        }
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        for &(v, n) in &fields {
            assert_eq!(r.read_bits(n), Ok(v), "width {n}");
        }
    }
}
