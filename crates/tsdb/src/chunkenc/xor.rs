//! Gorilla XOR encoding: the appendable head chunk (delta-of-delta timestamps + XOR values) and
//! the value-only XOR stream that block chunks fall back to. Format: `docs/format/chunks.md`.

use vigil_model::Sample;

use super::bits::{BitReader, BitWriter, DResult, DecodeError};

/// Most samples a head chunk holds before a new one is started.
pub const HEAD_CHUNK_SAMPLES: u16 = 120;

/// State of the XOR value coder (shared by writer and reader).
#[derive(Debug, Clone, Copy)]
struct XorState {
    prev: u64,
    leading: u8,
    trailing: u8,
    /// Whether a window (leading/trailing) has been established.
    has_window: bool,
}

impl XorState {
    fn new(first: u64) -> Self {
        XorState {
            prev: first,
            leading: 0,
            trailing: 0,
            has_window: false,
        }
    }

    #[inline]
    fn put(&mut self, w: &mut BitWriter, v: u64) {
        let x = v ^ self.prev;
        self.prev = v;
        if x == 0 {
            w.write_bit(false);
            return;
        }
        w.write_bit(true);
        let lz = x.leading_zeros().min(31) as u8;
        let tz = x.trailing_zeros() as u8;
        if self.has_window && lz >= self.leading && tz >= self.trailing {
            w.write_bit(false);
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            w.write_bits(x >> self.trailing, sig);
        } else {
            w.write_bit(true);
            let sig = 64 - u32::from(lz) - u32::from(tz);
            w.write_bits(u64::from(lz), 5);
            // 64 significant bits is written as 0 (6 bits cannot hold 64).
            w.write_bits(u64::from(sig & 63), 6);
            w.write_bits(x >> tz, sig);
            self.leading = lz;
            self.trailing = tz;
            self.has_window = true;
        }
    }

    #[inline]
    fn get(&mut self, r: &mut BitReader<'_>) -> DResult<u64> {
        if !r.read_bit()? {
            return Ok(self.prev);
        }
        let x = if !r.read_bit()? {
            if !self.has_window {
                return Err(DecodeError("xor value reuses a window that does not exist"));
            }
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            r.read_bits(sig)? << self.trailing
        } else {
            let lz = r.read_bits(5)? as u32;
            let mut sig = r.read_bits(6)? as u32;
            if sig == 0 {
                sig = 64;
            }
            if lz + sig > 64 {
                return Err(DecodeError("xor window wider than 64 bits"));
            }
            let tz = 64 - lz - sig;
            self.leading = lz as u8;
            self.trailing = tz as u8;
            self.has_window = true;
            let bits = r.read_bits(sig)?;
            if sig == 64 {
                bits
            } else {
                bits << tz
            }
        };
        self.prev ^= x;
        Ok(self.prev)
    }
}

/// Writes a value-only XOR stream (first value raw).
pub fn put_xor_values(w: &mut BitWriter, values: &[f64]) {
    let Some(first) = values.first() else { return };
    w.write_bits(first.to_bits(), 64);
    let mut st = XorState::new(first.to_bits());
    for v in values.iter().skip(1) {
        st.put(w, v.to_bits());
    }
}

/// Reads `n` values of a value-only XOR stream; returns bytes consumed.
pub fn get_xor_values(buf: &[u8], n: usize, out: &mut Vec<f64>) -> DResult<usize> {
    if n == 0 {
        return Ok(0);
    }
    let mut r = BitReader::new(buf);
    let first = r.read_bits(64)?;
    out.push(f64::from_bits(first));
    let mut st = XorState::new(first);
    for _ in 1..n {
        out.push(f64::from_bits(st.get(&mut r)?));
    }
    Ok(r.bytes_consumed())
}

#[inline]
fn put_dod(w: &mut BitWriter, dod: i64) {
    match dod {
        0 => w.write_bit(false),
        -8192..=8191 => {
            w.write_bits(0b10, 2);
            w.write_bits(dod as u64, 14);
        }
        -65536..=65535 => {
            w.write_bits(0b110, 3);
            w.write_bits(dod as u64, 17);
        }
        -524_288..=524_287 => {
            w.write_bits(0b1110, 4);
            w.write_bits(dod as u64, 20);
        }
        _ => {
            w.write_bits(0b1111, 4);
            w.write_bits(dod as u64, 64);
        }
    }
}

#[inline]
fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

#[inline]
fn get_dod(r: &mut BitReader<'_>) -> DResult<i64> {
    let mut prefix = 0;
    while prefix < 4 {
        if !r.read_bit()? {
            break;
        }
        prefix += 1;
    }
    Ok(match prefix {
        0 => 0,
        1 => sign_extend(r.read_bits(14)?, 14),
        2 => sign_extend(r.read_bits(17)?, 17),
        3 => sign_extend(r.read_bits(20)?, 20),
        _ => r.read_bits(64)? as i64,
    })
}

/// An appendable head chunk. Timestamps must strictly increase (the caller checks).
#[derive(Debug, Clone)]
pub struct XorAppender {
    w: BitWriter,
    n: u16,
    min_t: i64,
    t: i64,
    delta: i64,
    xor: XorState,
}

impl XorAppender {
    /// A chunk holding one sample.
    pub fn new(t: i64, v: f64) -> Self {
        let mut w = BitWriter::with_capacity(32);
        w.write_bits(t as u64, 64);
        w.write_bits(v.to_bits(), 64);
        XorAppender {
            w,
            n: 1,
            min_t: t,
            t,
            delta: 0,
            xor: XorState::new(v.to_bits()),
        }
    }

    #[inline]
    pub fn append(&mut self, t: i64, v: f64) {
        let delta = t.wrapping_sub(self.t);
        put_dod(&mut self.w, delta.wrapping_sub(self.delta));
        self.xor.put(&mut self.w, v.to_bits());
        self.t = t;
        self.delta = delta;
        self.n = self.n.saturating_add(1);
    }

    pub fn len(&self) -> u16 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn min_t(&self) -> i64 {
        self.min_t
    }

    pub fn max_t(&self) -> i64 {
        self.t
    }

    pub fn last_value(&self) -> f64 {
        f64::from_bits(self.xor.prev)
    }

    /// The encoded bytes so far (copied when bits are still in the accumulator).
    pub fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        self.w.bytes()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.w.capacity()
    }

    /// The encoded bytes, trimmed, for a closed chunk.
    pub fn finish(self) -> Box<[u8]> {
        self.w.into_bytes().into_boxed_slice()
    }
}

/// Decodes `n` samples of a head chunk, appending to `out`.
pub fn decode_head_chunk(buf: &[u8], n: usize, out: &mut Vec<Sample>) -> DResult<()> {
    if n == 0 {
        return Ok(());
    }
    let mut r = BitReader::new(buf);
    let mut t = r.read_bits(64)? as i64;
    let v = r.read_bits(64)?;
    out.reserve(n);
    out.push(Sample::new(t, f64::from_bits(v)));
    let mut xor = XorState::new(v);
    let mut delta: i64 = 0;
    for _ in 1..n {
        delta = delta.wrapping_add(get_dod(&mut r)?);
        t = t.wrapping_add(delta);
        let v = xor.get(&mut r)?;
        out.push(Sample::new(t, f64::from_bits(v)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(samples: &[Sample]) -> Vec<Sample> {
        let Some(first) = samples.first() else {
            return Vec::new();
        };
        let mut a = XorAppender::new(first.t, first.v);
        for s in &samples[1..] {
            a.append(s.t, s.v);
        }
        let mut out = Vec::new();
        decode_head_chunk(&a.bytes(), samples.len(), &mut out).expect("decode");
        out
    }

    #[test]
    fn special_values_round_trip() {
        let vals = [
            0.0,
            -0.0,
            f64::NAN,
            vigil_model::STALE_NAN,
            f64::from_bits(0x7ff8_dead_beef_0001),
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE / 3.0,
            1.5,
            1.5,
        ];
        let samples: Vec<Sample> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| Sample::new(1000 + i as i64 * 15_000, *v))
            .collect();
        assert_eq!(round_trip(&samples), samples);
    }

    #[test]
    fn regular_interval_is_one_bit_per_timestamp() {
        let mut a = XorAppender::new(0, 1.0);
        for i in 1..120 {
            a.append(i * 10_000, 1.0);
        }
        // 128 header bits, the first delta (17+3 bits) and value bit, then 2 bits per sample.
        assert!(a.bytes().len() <= 16 + 3 + 30 + 1, "{}", a.bytes().len());
    }

    proptest! {
        #[test]
        fn prop_head_chunk_round_trip(
            start in any::<i64>(),
            steps in proptest::collection::vec((1i64..1_000_000_000_000, any::<u64>()), 1..150),
        ) {
            let mut t = start;
            let mut samples = Vec::new();
            for (dt, bits) in steps {
                samples.push(Sample::new(t, f64::from_bits(bits)));
                t = t.wrapping_add(dt);
            }
            prop_assert_eq!(round_trip(&samples), samples);
        }

        #[test]
        fn prop_xor_values_round_trip(bits in proptest::collection::vec(any::<u64>(), 0..200)) {
            let vals: Vec<f64> = bits.iter().map(|b| f64::from_bits(*b)).collect();
            let mut w = BitWriter::new();
            put_xor_values(&mut w, &vals);
            let bytes = w.into_bytes();
            let mut out = Vec::new();
            let used = get_xor_values(&bytes, vals.len(), &mut out).expect("decode");
            prop_assert_eq!(used, bytes.len());
            let got: Vec<u64> = out.iter().map(|v| v.to_bits()).collect();
            prop_assert_eq!(got, bits);
        }

        #[test]
        fn prop_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), n in 0usize..500) {
            let mut out = Vec::new();
            let _ = decode_head_chunk(&bytes, n, &mut out);
            let mut vals = Vec::new();
            let _ = get_xor_values(&bytes, n, &mut vals);
        }
    }
}
