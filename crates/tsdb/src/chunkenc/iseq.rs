//! Integer sequences for block chunks: delta or delta-of-delta, then either frame-of-reference
//! bit packing or zigzag varints, whichever is smallest. Format: `docs/format/chunks.md`,
//! "Integer sequence".

use super::bits::{
    put_zvarint, uvarint_len, zigzag, BitReader, BitWriter, DResult, DecodeError, Decoder,
};

const DELTA_FOR: u8 = 0;
const DOD_FOR: u8 = 1;
const DELTA_VARINT: u8 = 2;
const DOD_VARINT: u8 = 3;

/// Bits needed for `v`.
#[inline]
fn width(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// Size in bytes of a FOR-packed run: min, width byte, packed bits.
fn for_size(xs: &[i64]) -> (usize, i64, u32) {
    let Some(&first) = xs.first() else {
        return (0, 0, 0);
    };
    let min = xs.iter().copied().fold(first, i64::min);
    let max_off = xs
        .iter()
        .map(|x| x.wrapping_sub(min) as u64)
        .max()
        .unwrap_or(0);
    let w = width(max_off);
    let bytes = uvarint_len(zigzag(min)) + 1 + (xs.len() * w as usize).div_ceil(8);
    (bytes, min, w)
}

fn varint_size(xs: &[i64]) -> usize {
    xs.iter().map(|x| uvarint_len(zigzag(*x))).sum()
}

fn put_for(buf: &mut Vec<u8>, xs: &[i64], min: i64, w: u32) {
    put_zvarint(buf, min);
    buf.push(w as u8);
    if w == 0 {
        return;
    }
    let mut bw = BitWriter::with_capacity((xs.len() * w as usize).div_ceil(8));
    for x in xs {
        bw.write_bits(x.wrapping_sub(min) as u64, w);
    }
    buf.extend_from_slice(&bw.bytes());
}

/// Appends the encoding of `xs` (relative to `base` for the first value) to `buf`.
pub fn put_iseq(buf: &mut Vec<u8>, xs: &[i64], base: i64) {
    let n = xs.len();
    let Some(&x0) = xs.first() else { return };
    let deltas: Vec<i64> = xs.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let dods: Vec<i64> = deltas.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let d1 = deltas.first().copied().unwrap_or(0);
    let d1_len = if n > 1 { uvarint_len(zigzag(d1)) } else { 0 };

    let (dfor, dmin, dw) = for_size(&deltas);
    let (ddfor, ddmin, ddw) = for_size(&dods);
    let candidates = [
        (DELTA_FOR, dfor),
        (DOD_FOR, d1_len + ddfor),
        (DELTA_VARINT, varint_size(&deltas)),
        (DOD_VARINT, d1_len + varint_size(&dods)),
    ];
    let mode = candidates
        .iter()
        .min_by_key(|(_, size)| *size)
        .map_or(DELTA_FOR, |(m, _)| *m);
    buf.push(mode);
    put_zvarint(buf, x0.wrapping_sub(base));
    if n == 1 {
        return;
    }
    match mode {
        DELTA_FOR => put_for(buf, &deltas, dmin, dw),
        DOD_FOR => {
            put_zvarint(buf, d1);
            if n > 2 {
                put_for(buf, &dods, ddmin, ddw);
            }
        }
        DELTA_VARINT => deltas.iter().for_each(|d| put_zvarint(buf, *d)),
        _ => {
            put_zvarint(buf, d1);
            dods.iter().for_each(|d| put_zvarint(buf, *d));
        }
    }
}

fn get_for(d: &mut Decoder<'_>, count: usize, out: &mut Vec<i64>) -> DResult<()> {
    let min = d.zvarint()?;
    let w = u32::from(d.u8()?);
    if w > 64 {
        return Err(DecodeError("bit width over 64"));
    }
    if w == 0 {
        out.extend(std::iter::repeat_n(min, count));
        return Ok(());
    }
    let nbytes = (count * w as usize).div_ceil(8);
    let bytes = d.bytes(nbytes)?;
    let mut r = BitReader::new(bytes);
    for _ in 0..count {
        out.push(min.wrapping_add(r.read_bits(w)? as i64));
    }
    Ok(())
}

/// Decodes `n` integers written by [`put_iseq`] into `out` (cleared first).
pub fn get_iseq(d: &mut Decoder<'_>, n: usize, base: i64, out: &mut Vec<i64>) -> DResult<()> {
    out.clear();
    if n == 0 {
        return Ok(());
    }
    let mode = d.u8()?;
    if mode > DOD_VARINT {
        return Err(DecodeError("unknown integer sequence mode"));
    }
    let x0 = d.zvarint()?.wrapping_add(base);
    out.reserve(n);
    out.push(x0);
    if n == 1 {
        return Ok(());
    }
    // The differences are read into `out` behind the values they follow and summed in place.
    match mode {
        DELTA_FOR | DELTA_VARINT => {
            if mode == DELTA_FOR {
                get_for(d, n - 1, out)?;
            } else {
                for _ in 1..n {
                    out.push(d.zvarint()?);
                }
            }
            let mut x = x0;
            for v in out.iter_mut().skip(1) {
                x = x.wrapping_add(*v);
                *v = x;
            }
        }
        _ => {
            let d1 = d.zvarint()?;
            out.push(x0.wrapping_add(d1));
            if n > 2 {
                if mode == DOD_FOR {
                    get_for(d, n - 2, out)?;
                } else {
                    for _ in 2..n {
                        out.push(d.zvarint()?);
                    }
                }
            }
            let mut delta = d1;
            let mut x = x0.wrapping_add(d1);
            for v in out.iter_mut().skip(2) {
                delta = delta.wrapping_add(*v);
                x = x.wrapping_add(delta);
                *v = x;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt(xs: &[i64], base: i64) -> (Vec<i64>, usize) {
        let mut buf = Vec::new();
        put_iseq(&mut buf, xs, base);
        let mut d = Decoder::new(&buf);
        let mut out = Vec::new();
        get_iseq(&mut d, xs.len(), base, &mut out).expect("decode");
        assert!(d.is_empty(), "trailing bytes");
        (out, buf.len())
    }

    #[test]
    fn regular_timestamps_cost_nothing_per_sample() {
        let xs: Vec<i64> = (0..720).map(|i| 1_795_456_810_000 + i * 10_000).collect();
        let (out, size) = rt(&xs, 1_795_456_810_000);
        assert_eq!(out, xs);
        assert!(size <= 6, "{size}");
    }

    #[test]
    fn extremes() {
        let xs = [i64::MIN, i64::MAX, 0, -1, i64::MIN, 5];
        assert_eq!(rt(&xs, 0).0, xs);
        assert_eq!(rt(&xs, i64::MAX).0, xs);
        assert_eq!(rt(&[42], -7).0, [42]);
    }

    proptest! {
        #[test]
        fn prop_round_trip(xs in proptest::collection::vec(any::<i64>(), 1..300), base in any::<i64>()) {
            prop_assert_eq!(rt(&xs, base).0, xs);
        }

        #[test]
        fn prop_small_steps(start in any::<i64>(), steps in proptest::collection::vec(-1000i64..1000, 1..300)) {
            let mut x = start;
            let xs: Vec<i64> = steps.iter().map(|s| { x = x.wrapping_add(*s); x }).collect();
            prop_assert_eq!(rt(&xs, start).0, xs);
        }

        #[test]
        fn prop_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), n in 0usize..400) {
            let mut out = Vec::new();
            let _ = get_iseq(&mut Decoder::new(&bytes), n, 0, &mut out);
        }
    }
}
