//! The records the metric store writes into its WAL: series, sample batches, and (in
//! checkpoints) head chunks. Layout: `docs/format/wal.md`, "Records written by vigil-tsdb".

use vigil_model::{Label, Labels};

use crate::chunkenc::bits::{put_uvarint, put_zvarint, zigzag, DResult, DecodeError, Decoder};

pub const REC_SERIES: u8 = 1;
pub const REC_SAMPLES: u8 = 2;
pub const REC_CHUNK: u8 = 3;

/// Longest label name or value a record may carry (far above any ingest limit).
const MAX_STR: u64 = 1 << 20;
const MAX_COUNT: u64 = 1 << 28;
const TWO_POW_53: f64 = 9_007_199_254_740_992.0;

/// Builds one series record.
#[derive(Debug, Default)]
pub struct SeriesRecord {
    body: Vec<u8>,
    count: u64,
}

impl SeriesRecord {
    pub fn add(&mut self, r: u64, labels: &Labels) {
        put_uvarint(&mut self.body, r);
        put_uvarint(&mut self.body, labels.len() as u64);
        for l in labels {
            put_uvarint(&mut self.body, l.name.len() as u64);
            self.body.extend_from_slice(l.name.as_bytes());
            put_uvarint(&mut self.body, l.value.len() as u64);
            self.body.extend_from_slice(l.value.as_bytes());
        }
        self.count += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn finish(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 11);
        out.push(REC_SERIES);
        put_uvarint(&mut out, self.count);
        out.extend_from_slice(&self.body);
        out
    }
}

/// Builds one samples record.
#[derive(Debug, Default)]
pub struct SamplesRecord {
    body: Vec<u8>,
    count: u64,
    base_t: i64,
    prev_ref: u64,
}

impl SamplesRecord {
    pub fn with_capacity(samples: usize) -> Self {
        SamplesRecord {
            body: Vec::with_capacity(samples * 6),
            ..SamplesRecord::default()
        }
    }

    #[inline]
    pub fn add(&mut self, r: u64, t: i64, v: f64) {
        if self.count == 0 {
            self.base_t = t;
        }
        put_zvarint(&mut self.body, r.wrapping_sub(self.prev_ref) as i64);
        self.prev_ref = r;
        put_zvarint(&mut self.body, t.wrapping_sub(self.base_t));
        put_value(&mut self.body, v);
        self.count += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn finish(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 21);
        out.push(REC_SAMPLES);
        put_uvarint(&mut out, self.count);
        put_zvarint(&mut out, self.base_t);
        out.extend_from_slice(&self.body);
        out
    }
}

#[inline]
fn put_value(buf: &mut Vec<u8>, v: f64) {
    if v.abs() < TWO_POW_53 && v.fract() == 0.0 {
        let i = v as i64;
        if (i as f64).to_bits() == v.to_bits() {
            put_uvarint(buf, zigzag(i) << 1);
            return;
        }
    }
    buf.push(1);
    buf.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn get_value(d: &mut Decoder<'_>) -> DResult<f64> {
    let x = d.uvarint()?;
    if x == 1 {
        return Ok(f64::from_bits(d.u64_le()?));
    }
    if x & 1 == 1 {
        return Err(DecodeError("invalid value tag"));
    }
    let u = x >> 1;
    Ok((((u >> 1) as i64) ^ -((u & 1) as i64)) as f64)
}

/// Encodes a checkpoint chunk record.
pub fn chunk_record(r: u64, n: usize, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 24);
    out.push(REC_CHUNK);
    put_uvarint(&mut out, r);
    put_uvarint(&mut out, n as u64);
    put_uvarint(&mut out, data.len() as u64);
    out.extend_from_slice(data);
    out
}

/// A decoded record.
#[derive(Debug)]
pub enum WalRecord<'a> {
    Series(Vec<(u64, Labels)>),
    Samples(Vec<(u64, i64, f64)>),
    Chunk { r: u64, n: usize, data: &'a [u8] },
}

/// Decodes one record.
///
/// # Errors
/// Unknown type, truncation, trailing bytes, or invalid contents.
pub fn decode_record(data: &[u8]) -> DResult<WalRecord<'_>> {
    let mut d = Decoder::new(data);
    let rec = match d.u8()? {
        REC_SERIES => {
            let count = d.uvarint_max(MAX_COUNT, "series count out of range")?;
            let mut out = Vec::with_capacity(count.min(4096));
            for _ in 0..count {
                let r = d.uvarint()?;
                let n = d.uvarint_max(4096, "label count out of range")?;
                let mut labels = Vec::with_capacity(n);
                for _ in 0..n {
                    let name = d.str(MAX_STR)?;
                    let value = d.str(MAX_STR)?;
                    labels.push(Label::new(name, value));
                }
                let sorted = labels.windows(2).all(|w| w[0].name < w[1].name);
                if !sorted || labels.iter().any(|l| l.value.is_empty()) {
                    return Err(DecodeError(
                        "series labels are not sorted, unique and non-empty",
                    ));
                }
                out.push((r, Labels::from_sorted_unchecked(labels)));
            }
            WalRecord::Series(out)
        }
        REC_SAMPLES => {
            let count = d.uvarint_max(MAX_COUNT, "sample count out of range")?;
            let base = d.zvarint()?;
            // Each sample takes at least 3 bytes, which bounds the allocation.
            let mut out = Vec::with_capacity(count.min(d.remaining() / 3 + 1));
            let mut r: u64 = 0;
            for _ in 0..count {
                r = r.wrapping_add(d.zvarint()? as u64);
                let t = base.wrapping_add(d.zvarint()?);
                let v = get_value(&mut d)?;
                out.push((r, t, v));
            }
            WalRecord::Samples(out)
        }
        REC_CHUNK => {
            let r = d.uvarint()?;
            let n = d.uvarint_max(u64::from(u16::MAX), "chunk sample count out of range")?;
            let len = d.uvarint_max(MAX_COUNT, "chunk length out of range")?;
            let data = d.bytes(len)?;
            WalRecord::Chunk { r, n, data }
        }
        _ => return Err(DecodeError("unknown record type")),
    };
    if !d.is_empty() {
        return Err(DecodeError("trailing bytes after record"));
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn series_round_trip() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a")]).expect("labels");
        let mut rec = SeriesRecord::default();
        rec.add(7, &l);
        rec.add(u64::MAX, &Labels::empty());
        match decode_record(&rec.finish()) {
            Ok(WalRecord::Series(v)) => assert_eq!(v, vec![(7, l), (u64::MAX, Labels::empty())]),
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #[test]
        fn prop_samples_round_trip(s in proptest::collection::vec((any::<u64>(), any::<i64>(), any::<u64>()), 1..100)) {
            let mut rec = SamplesRecord::default();
            for (r, t, v) in &s {
                rec.add(*r, *t, f64::from_bits(*v));
            }
            match decode_record(&rec.finish()) {
                Ok(WalRecord::Samples(got)) => {
                    let got: Vec<(u64, i64, u64)> = got.iter().map(|(r, t, v)| (*r, *t, v.to_bits())).collect();
                    prop_assert_eq!(got, s);
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn prop_integers_are_compact(vals in proptest::collection::vec(-1_000_000i64..1_000_000, 1..50)) {
            let mut rec = SamplesRecord::default();
            for (i, v) in vals.iter().enumerate() {
                rec.add(i as u64, 1000, *v as f64);
            }
            let bytes = rec.finish();
            prop_assert!(bytes.len() <= 12 + vals.len() * 6);
            match decode_record(&bytes) {
                Ok(WalRecord::Samples(got)) => {
                    for ((_, _, g), w) in got.iter().zip(&vals) {
                        prop_assert_eq!(g.to_bits(), (*w as f64).to_bits());
                    }
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn prop_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_record(&bytes);
        }
    }
}
