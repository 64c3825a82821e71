//! Block chunks: timestamps as an integer sequence, values as decimal mantissas with a common
//! exponent (exceptions stored raw) or, when that is larger, a Gorilla XOR stream.
//! Format: `docs/format/chunks.md`, "Block chunk".
//!
//! Why decimal: the values Vigil stores are mostly counters (integers) and gauges with a few
//! decimals. As mantissas their deltas are small integers that bit-pack tightly, where XOR of the
//! float bit patterns leaves ~20-40 noisy bits per sample.

use vigil_model::Sample;

use super::bits::{put_uvarint, BitWriter, DResult, DecodeError, Decoder};
use super::iseq::{get_iseq, put_iseq};
use super::xor::{get_xor_values, put_xor_values};

/// Most samples one block chunk may hold.
pub const MAX_BLOCK_CHUNK_SAMPLES: usize = 65_536;

const KIND_DECIMAL: u8 = 0;
const KIND_XOR: u8 = 1;
/// Largest exponent a reader accepts.
const MAX_K: u8 = 18;
/// Largest exponent a writer tries.
const SEARCH_K: u8 = 15;

const POW10: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

#[inline]
fn pow10(k: u8) -> f64 {
    POW10.get(usize::from(k)).copied().unwrap_or(1.0)
}

/// The value a mantissa and exponent stand for; both writer and reader use exactly this.
#[inline]
fn decode_decimal(m: i64, k: u8) -> f64 {
    if k == 0 {
        m as f64
    } else {
        m as f64 / pow10(k)
    }
}

/// The mantissa of `v` at exponent `k`, if one reproduces `v` bit-exactly.
#[inline]
fn mantissa_at(v: f64, k: u8) -> Option<i64> {
    let s = v * pow10(k);
    // Also rejects NaN and infinities (every comparison with NaN is false).
    if s.is_nan() || s.abs() >= 9.2e18 {
        return None;
    }
    let m = s.round() as i64;
    (decode_decimal(m, k).to_bits() == v.to_bits()).then_some(m)
}

fn put_decimal(buf: &mut Vec<u8>, vs: &[f64]) -> bool {
    let mut k = 0u8;
    for v in vs {
        if mantissa_at(*v, k).is_some() {
            continue;
        }
        if let Some(found) = (k + 1..=SEARCH_K).find(|kk| mantissa_at(*v, *kk).is_some()) {
            k = found;
        }
    }
    let mut ms = Vec::with_capacity(vs.len());
    let mut exceptions = Vec::new();
    let mut prev = vs.iter().find_map(|v| mantissa_at(*v, k)).unwrap_or(0);
    for (i, v) in vs.iter().enumerate() {
        match mantissa_at(*v, k) {
            Some(m) => {
                ms.push(m);
                prev = m;
            }
            None => {
                exceptions.push((i, v.to_bits()));
                ms.push(prev);
            }
        }
    }
    if exceptions.len() == vs.len() {
        return false;
    }
    buf.push(KIND_DECIMAL);
    buf.push(k);
    put_uvarint(buf, exceptions.len() as u64);
    let mut last = 0usize;
    for (i, bits) in &exceptions {
        put_uvarint(buf, (i - last) as u64);
        buf.extend_from_slice(&bits.to_le_bytes());
        last = *i;
    }
    put_iseq(buf, &ms, 0);
    true
}

fn put_xor(buf: &mut Vec<u8>, vs: &[f64]) {
    buf.push(KIND_XOR);
    let mut w = BitWriter::with_capacity(vs.len() * 4);
    put_xor_values(&mut w, vs);
    buf.extend_from_slice(&w.bytes());
}

/// Appends the encoding of `vs` (non-empty) to `buf`, choosing the smaller kind.
pub fn put_values(buf: &mut Vec<u8>, vs: &[f64]) {
    let start = buf.len();
    if put_decimal(buf, vs) {
        let dec_len = buf.len() - start;
        // Only worth trying XOR when decimal did poorly (over 2 bytes a value) or has
        // exceptions (its first byte after kind/k would be non-zero).
        let has_exceptions = buf.get(start + 2).is_some_and(|b| *b != 0);
        if dec_len > 2 * vs.len() || has_exceptions {
            let mut alt = Vec::new();
            put_xor(&mut alt, vs);
            if alt.len() < dec_len {
                buf.truncate(start);
                buf.extend_from_slice(&alt);
            }
        }
    } else {
        put_xor(buf, vs);
    }
}

/// Decodes `n` values into `out` (cleared first).
pub fn get_values(d: &mut Decoder<'_>, n: usize, out: &mut Vec<f64>) -> DResult<()> {
    out.clear();
    match d.u8()? {
        KIND_DECIMAL => {
            let k = d.u8()?;
            if k > MAX_K {
                return Err(DecodeError("decimal exponent out of range"));
            }
            let nexc = d.uvarint_max(n as u64, "more exceptions than values")?;
            let mut exc = Vec::with_capacity(nexc);
            let mut pos = 0usize;
            for i in 0..nexc {
                let delta = d.uvarint_max(n as u64, "exception position out of range")?;
                if i > 0 && delta == 0 {
                    return Err(DecodeError("exception positions not increasing"));
                }
                pos += delta;
                if pos >= n {
                    return Err(DecodeError("exception position out of range"));
                }
                exc.push((pos, d.u64_le()?));
            }
            let mut ms = Vec::new();
            get_iseq(d, n, 0, &mut ms)?;
            out.extend(ms.iter().map(|m| decode_decimal(*m, k)));
            for (pos, bits) in exc {
                if let Some(slot) = out.get_mut(pos) {
                    *slot = f64::from_bits(bits);
                }
            }
            Ok(())
        }
        KIND_XOR => {
            let used = get_xor_values(d.rest(), n, out)?;
            d.advance(used)
        }
        _ => Err(DecodeError("unknown value encoding")),
    }
}

/// Appends one block chunk for `samples` (sorted, unique timestamps, 1..=65536 of them).
pub fn encode_block_chunk(buf: &mut Vec<u8>, samples: &[Sample], base: i64) {
    put_uvarint(buf, samples.len() as u64);
    if samples.is_empty() {
        return;
    }
    let ts: Vec<i64> = samples.iter().map(|s| s.t).collect();
    put_iseq(buf, &ts, base);
    let vs: Vec<f64> = samples.iter().map(|s| s.v).collect();
    put_values(buf, &vs);
}

/// Reusable buffers for decoding.
#[derive(Debug, Default)]
pub struct ChunkScratch {
    ts: Vec<i64>,
    vs: Vec<f64>,
}

/// Decodes one block chunk from `d`, appending its samples to `out`.
pub fn decode_block_chunk(
    d: &mut Decoder<'_>,
    base: i64,
    scratch: &mut ChunkScratch,
    out: &mut Vec<Sample>,
) -> DResult<()> {
    let n = d.uvarint_max(
        MAX_BLOCK_CHUNK_SAMPLES as u64,
        "chunk sample count out of range",
    )?;
    if n == 0 {
        return Err(DecodeError("empty chunk"));
    }
    get_iseq(d, n, base, &mut scratch.ts)?;
    get_values(d, n, &mut scratch.vs)?;
    out.reserve(n);
    out.extend(
        scratch
            .ts
            .iter()
            .zip(&scratch.vs)
            .map(|(t, v)| Sample::new(*t, *v)),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt(samples: &[Sample], base: i64) -> (Vec<Sample>, usize) {
        let mut buf = Vec::new();
        encode_block_chunk(&mut buf, samples, base);
        let mut d = Decoder::new(&buf);
        let mut out = Vec::new();
        decode_block_chunk(&mut d, base, &mut ChunkScratch::default(), &mut out).expect("decode");
        assert!(d.is_empty(), "trailing bytes");
        (out, buf.len())
    }

    fn series(vals: &[f64]) -> Vec<Sample> {
        vals.iter()
            .enumerate()
            .map(|(i, v)| Sample::new(1_000_000 + i as i64 * 10_000, *v))
            .collect()
    }

    #[test]
    fn decimal_gauge_is_compact() {
        let vals: Vec<f64> = (0..240)
            .map(|i| ((0.85 + 0.0001 * f64::from(i % 17)) * 1e6).round() / 1e6)
            .collect();
        let (out, size) = rt(&series(&vals), 1_000_000);
        assert_eq!(out, series(&vals));
        assert!(size < 240, "{size}");
    }

    #[test]
    fn specials_become_exceptions() {
        let mut vals: Vec<f64> = (0..100).map(f64::from).collect();
        vals[0] = vigil_model::STALE_NAN;
        vals[50] = -0.0;
        vals[99] = f64::INFINITY;
        let (out, size) = rt(&series(&vals), 0);
        assert_eq!(out, series(&vals));
        assert!(size < 100, "{size}");
    }

    #[test]
    fn non_decimal_falls_back_to_xor() {
        let vals: Vec<f64> = (0..100).map(|i| (f64::from(i) * 0.1).sin()).collect();
        let (out, _) = rt(&series(&vals), 0);
        assert_eq!(out, series(&vals));
        let mut buf = Vec::new();
        put_values(&mut buf, &vals);
        assert_eq!(buf[0], KIND_XOR);
    }

    proptest! {
        #[test]
        fn prop_arbitrary_bits_round_trip(
            start in any::<i64>(),
            steps in proptest::collection::vec((1i64..1_000_000_000, any::<u64>()), 1..300),
            base in any::<i64>(),
        ) {
            let mut t = start;
            let samples: Vec<Sample> = steps.iter().map(|(dt, bits)| {
                let s = Sample::new(t, f64::from_bits(*bits));
                t = t.wrapping_add(*dt);
                s
            }).collect();
            prop_assert_eq!(rt(&samples, base).0, samples);
        }

        #[test]
        fn prop_decimal_values_round_trip(
            ms in proptest::collection::vec(-1_000_000_000_000i64..1_000_000_000_000, 1..300),
            k in 0u8..10,
            special in proptest::collection::vec((any::<prop::sample::Index>(), any::<u64>()), 0..4),
        ) {
            let mut vals: Vec<f64> = ms.iter().map(|m| decode_decimal(*m, k)).collect();
            for (idx, bits) in &special {
                let i = idx.index(vals.len());
                vals[i] = f64::from_bits(*bits);
            }
            let samples = series(&vals);
            prop_assert_eq!(rt(&samples, 0).0, samples);
        }

        #[test]
        fn prop_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), base in any::<i64>()) {
            let mut out = Vec::new();
            let mut d = Decoder::new(&bytes);
            let _ = decode_block_chunk(&mut d, base, &mut ChunkScratch::default(), &mut out);
        }
    }
}
