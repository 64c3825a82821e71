//! The snapshot: every model's state as records of a WAL checkpoint (`docs/format/ml.md`,
//! "Snapshot"), the encoder the checkpoint runs under the ingest lock, and the reader that
//! rebuilds models from it.
//!
//! One model is several records (the model, each version, each bucket, pending predictions in
//! chunks) so that no record approaches the WAL's 1 GiB limit however large a model grows; the
//! records that follow a model or version record belong to it.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::bytes::{put_f64, put_len, put_str, put_uvarint, put_zvarint, Dec, DecodeError};
use super::events::FORMAT;
use crate::config::MlConfig;
use crate::store::bucket::Col;
use crate::store::perf::Acc;
use crate::store::{
    Bucket, Dict, ModelState, Pending, PerfWindow, Predicted, Totals, VersionState,
};
use crate::ColumnKind;

pub(crate) const T_HEADER: u8 = 16;
pub(crate) const T_MODEL: u8 = 17;
pub(crate) const T_VERSION: u8 = 18;
pub(crate) const T_BUCKET: u8 = 19;
pub(crate) const T_PENDING: u8 = 20;
pub(crate) const T_ORDER: u8 = 21;

/// Pending predictions (or eviction-queue entries) per record.
const CHUNK: usize = 65_536;

/// Whether `ty` is a snapshot record type.
pub(crate) fn is_snapshot_type(ty: u8) -> bool {
    (T_HEADER..=T_ORDER).contains(&ty)
}

fn record(ty: u8) -> Vec<u8> {
    vec![FORMAT, ty]
}

/// The header record: when the snapshot was taken and how many records it has (this one
/// included).
pub(crate) fn header_record(taken_ms: i64, records: u64) -> Vec<u8> {
    let mut r = record(T_HEADER);
    put_zvarint(&mut r, taken_ms);
    put_uvarint(&mut r, records);
    r
}

fn kind_byte(k: ColumnKind) -> u8 {
    match k {
        ColumnKind::Numerical => 0,
        ColumnKind::Categorical => 1,
    }
}

fn put_dict(buf: &mut Vec<u8>, d: &Dict) {
    put_len(buf, d.len());
    for t in d.texts() {
        put_str(buf, t);
    }
}

/// Appends the records of one model to `out`.
pub(crate) fn encode_model(m: &ModelState, out: &mut Vec<Vec<u8>>) {
    let mut r = record(T_MODEL);
    put_str(&mut r, &m.name);
    r.push(match m.classification {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    });
    put_len(&mut r, m.schema.features.len());
    for f in &m.schema.features {
        put_str(&mut r, &f.name);
        r.push(kind_byte(f.kind));
        put_dict(&mut r, &f.dict);
    }
    put_dict(&mut r, &m.classes);
    put_len(&mut r, m.labels.len());
    for (start, (received, joined)) in &m.labels {
        put_zvarint(&mut r, *start);
        put_uvarint(&mut r, *received);
        put_uvarint(&mut r, *joined);
    }
    out.push(r);
    for v in &m.versions {
        out.push(encode_version(v));
        for (start, b) in &v.buckets {
            out.push(encode_bucket(*start, b));
        }
    }
    let pending: Vec<(&String, &Pending)> = m.pending.iter().collect();
    for chunk in pending.chunks(CHUNK) {
        let mut r = record(T_PENDING);
        put_len(&mut r, chunk.len());
        for (id, p) in chunk {
            put_str(&mut r, id);
            put_zvarint(&mut r, p.ts);
            put_len(&mut r, p.version);
            match p.predicted {
                Predicted::Class(c) => {
                    r.push(0);
                    put_uvarint(&mut r, u64::from(c));
                }
                Predicted::Number(x) => {
                    r.push(1);
                    put_f64(&mut r, x);
                }
            }
            r.push(u8::from(p.score.is_some()));
            if let Some(s) = p.score {
                put_f64(&mut r, s);
            }
            put_len(&mut r, p.probabilities.len());
            for (c, x) in p.probabilities.iter() {
                put_uvarint(&mut r, u64::from(*c));
                put_f64(&mut r, *x);
            }
        }
        out.push(r);
    }
    let order: Vec<&(i64, String)> = m.pending_order.iter().collect();
    for chunk in order.chunks(CHUNK) {
        let mut r = record(T_ORDER);
        put_len(&mut r, chunk.len());
        for (ts, id) in chunk {
            put_zvarint(&mut r, *ts);
            put_str(&mut r, id);
        }
        out.push(r);
    }
}

fn encode_version(v: &VersionState) -> Vec<u8> {
    let mut r = record(T_VERSION);
    put_str(&mut r, &v.name);
    put_zvarint(&mut r, v.newest_ms);
    let t = &v.totals;
    put_uvarint(&mut r, t.predictions);
    put_len(&mut r, t.classes.len());
    for (c, n) in &t.classes {
        put_uvarint(&mut r, u64::from(*c));
        put_uvarint(&mut r, *n);
    }
    put_len(&mut r, t.hist.len());
    for n in &t.hist {
        put_uvarint(&mut r, *n);
    }
    put_f64(&mut r, t.hist_sum);
    put_uvarint(&mut r, t.hist_count);
    put_len(&mut r, v.perf.len());
    for (start, w) in &v.perf {
        put_zvarint(&mut r, *start);
        put_uvarint(&mut r, w.predictions);
        put_uvarint(&mut r, u64::from(w.revision));
        r.push(u8::from(w.dirty));
        match &w.acc {
            Acc::Class {
                confusion,
                scores,
                log_loss_sum,
                log_loss_n,
            } => {
                r.push(0);
                let mut conf: Vec<(&(u32, u32), &u64)> = confusion.iter().collect();
                conf.sort_unstable();
                put_len(&mut r, conf.len());
                for ((p, t), n) in conf {
                    put_uvarint(&mut r, u64::from(*p));
                    put_uvarint(&mut r, u64::from(*t));
                    put_uvarint(&mut r, *n);
                }
                put_len(&mut r, scores.len());
                for (bin, (pos, neg)) in scores {
                    put_uvarint(&mut r, u64::from(*bin));
                    put_uvarint(&mut r, *pos);
                    put_uvarint(&mut r, *neg);
                }
                put_f64(&mut r, *log_loss_sum);
                put_uvarint(&mut r, *log_loss_n);
            }
            Acc::Reg {
                n,
                abs_sum,
                sq_sum,
                ape_sum,
                ape_n,
            } => {
                r.push(1);
                put_uvarint(&mut r, *n);
                put_f64(&mut r, *abs_sum);
                put_f64(&mut r, *sq_sum);
                put_f64(&mut r, *ape_sum);
                put_uvarint(&mut r, *ape_n);
            }
        }
    }
    r
}

fn encode_bucket(start: i64, b: &Bucket) -> Vec<u8> {
    let rows = b.ts.len();
    let values: usize = b.cols.len() * rows * 8;
    let mut r = Vec::with_capacity(32 + rows * 3 + values);
    r.extend_from_slice(&[FORMAT, T_BUCKET]);
    put_zvarint(&mut r, start);
    put_uvarint(&mut r, b.seen);
    r.extend_from_slice(&b.rng_state().to_le_bytes());
    put_len(&mut r, rows);
    for t in &b.ts {
        put_zvarint(&mut r, t.wrapping_sub(start));
    }
    put_len(&mut r, b.cols.len());
    for c in &b.cols {
        match c {
            Col::Num(v) => {
                r.push(0);
                for x in v {
                    put_f64(&mut r, *x);
                }
            }
            Col::Cat(v) => {
                r.push(1);
                for code in v {
                    // MISSING_CODE (u32::MAX) wraps to 0.
                    put_uvarint(&mut r, u64::from(code.wrapping_add(1)));
                }
            }
        }
    }
    r
}

/// What a snapshot held.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub taken_ms: i64,
    pub models: Vec<ModelState>,
}

/// Rebuilds models from snapshot records fed in order.
pub(crate) struct SnapshotReader<'c> {
    config: &'c MlConfig,
    header: Option<(i64, u64)>,
    records: u64,
    models: Vec<ModelState>,
}

fn bad(d: &Dec<'_>, reason: impl Into<String>) -> DecodeError {
    d.err(reason)
}

fn dict(d: &mut Dec<'_>, what: &str) -> Result<Dict, DecodeError> {
    let at = d.pos();
    let n = d.count(1)?;
    let mut texts = Vec::with_capacity(n);
    for _ in 0..n {
        texts.push(d.str()?.to_owned());
    }
    Dict::from_texts(texts).ok_or_else(|| DecodeError {
        offset: at,
        reason: format!("{what} repeat a text"),
    })
}

fn kind(d: &mut Dec<'_>) -> Result<ColumnKind, DecodeError> {
    match d.u8()? {
        0 => Ok(ColumnKind::Numerical),
        1 => Ok(ColumnKind::Categorical),
        k => Err(DecodeError {
            offset: d.pos() - 1,
            reason: format!("unknown column kind {k}"),
        }),
    }
}

impl<'c> SnapshotReader<'c> {
    pub fn new(config: &'c MlConfig) -> SnapshotReader<'c> {
        SnapshotReader {
            config,
            header: None,
            records: 0,
            models: Vec::new(),
        }
    }

    /// Applies one snapshot record (type `ty`, `d` at its body).
    ///
    /// # Errors
    /// A record that does not decode, or that is out of place.
    pub fn apply(&mut self, ty: u8, mut d: Dec<'_>) -> Result<(), DecodeError> {
        let d = &mut d;
        if ty == T_HEADER {
            if self.header.is_some() {
                return Err(bad(d, "a second snapshot header"));
            }
            let taken = d.zvarint()?;
            let records = d.uvarint()?;
            self.header = Some((taken, records));
        } else if self.header.is_none() {
            return Err(bad(d, "snapshot record before the snapshot header"));
        } else {
            match ty {
                T_MODEL => self.model(d)?,
                T_VERSION => self.version(d)?,
                T_BUCKET => self.bucket(d)?,
                T_PENDING => self.pending(d)?,
                T_ORDER => self.order(d)?,
                _ => return Err(bad(d, format!("unknown snapshot record type {ty}"))),
            }
        }
        d.finish()?;
        self.records += 1;
        Ok(())
    }

    /// The models read.
    ///
    /// # Errors
    /// Fewer or more records than the header announced (a cut checkpoint).
    pub fn finish(self) -> Result<Snapshot, String> {
        let Some((taken_ms, want)) = self.header else {
            return Err("the checkpoint holds no snapshot header".to_owned());
        };
        if self.records != want {
            return Err(format!(
                "the snapshot has {} records, its header says {want}",
                self.records
            ));
        }
        Ok(Snapshot {
            taken_ms,
            models: self.models,
        })
    }

    fn current(&mut self, d: &Dec<'_>) -> Result<&mut ModelState, DecodeError> {
        self.models
            .last_mut()
            .ok_or_else(|| bad(d, "record before any model record"))
    }

    fn model(&mut self, d: &mut Dec<'_>) -> Result<(), DecodeError> {
        let name = d.str()?.to_owned();
        if self.models.iter().any(|m| m.name == name) {
            return Err(bad(d, format!("model {name:?} appears twice")));
        }
        let mut m = ModelState::new(&name, self.config.model(&name).clone());
        m.classification = match d.u8()? {
            0 => None,
            1 => Some(true),
            2 => Some(false),
            t => return Err(bad(d, format!("unknown task byte {t}"))),
        };
        let n = d.count(3)?;
        for _ in 0..n {
            let at = d.pos();
            let fname = d.str()?.to_owned();
            let k = kind(d)?;
            let dict = dict(d, "categories")?;
            if !m.schema.restore_feature(fname, k, dict) {
                return Err(DecodeError {
                    offset: at,
                    reason: "a feature name repeats".to_owned(),
                });
            }
        }
        m.classes = dict(d, "classes")?;
        let n = d.count(3)?;
        for _ in 0..n {
            let start = d.zvarint()?;
            let counts = (d.uvarint()?, d.uvarint()?);
            m.labels.insert(start, counts);
        }
        self.models.push(m);
        Ok(())
    }

    fn version(&mut self, d: &mut Dec<'_>) -> Result<(), DecodeError> {
        let mut v = VersionState::new(d.str()?);
        v.newest_ms = d.zvarint()?;
        let mut t = Totals {
            predictions: d.uvarint()?,
            ..Totals::default()
        };
        let n = d.count(2)?;
        for _ in 0..n {
            let c = d.u32v()?;
            t.classes.insert(c, d.uvarint()?);
        }
        let n = d.count(1)?;
        t.hist = Vec::with_capacity(n);
        for _ in 0..n {
            t.hist.push(d.uvarint()?);
        }
        t.hist_sum = d.f64()?;
        t.hist_count = d.uvarint()?;
        v.totals = t;
        let n = d.count(5)?;
        for _ in 0..n {
            let start = d.zvarint()?;
            let predictions = d.uvarint()?;
            let revision = d.u32v()?;
            let dirty = d.bool()?;
            let acc = match d.u8()? {
                0 => {
                    let k = d.count(3)?;
                    let mut confusion = HashMap::with_capacity(k);
                    for _ in 0..k {
                        let key = (d.u32v()?, d.u32v()?);
                        confusion.insert(key, d.uvarint()?);
                    }
                    let k = d.count(3)?;
                    let mut scores = BTreeMap::new();
                    for _ in 0..k {
                        let at = d.pos();
                        let bin = u16::try_from(d.uvarint()?).map_err(|_| DecodeError {
                            offset: at,
                            reason: "score bin out of range".to_owned(),
                        })?;
                        scores.insert(bin, (d.uvarint()?, d.uvarint()?));
                    }
                    Acc::Class {
                        confusion,
                        scores,
                        log_loss_sum: d.f64()?,
                        log_loss_n: d.uvarint()?,
                    }
                }
                1 => Acc::Reg {
                    n: d.uvarint()?,
                    abs_sum: d.f64()?,
                    sq_sum: d.f64()?,
                    ape_sum: d.f64()?,
                    ape_n: d.uvarint()?,
                },
                a => return Err(bad(d, format!("unknown performance kind {a}"))),
            };
            v.perf.insert(
                start,
                PerfWindow {
                    predictions,
                    acc,
                    revision,
                    dirty,
                },
            );
        }
        let m = self.current(d)?;
        if m.versions.iter().any(|x| x.name == v.name) {
            return Err(bad(d, format!("version {:?} appears twice", v.name)));
        }
        m.versions.push(v);
        Ok(())
    }

    fn bucket(&mut self, d: &mut Dec<'_>) -> Result<(), DecodeError> {
        let at = d.pos();
        let start = d.zvarint()?;
        let seen = d.uvarint()?;
        let rng = d.u64_le()?;
        let rows = d.count(1)?;
        let mut ts = Vec::with_capacity(rows);
        for _ in 0..rows {
            ts.push(start.wrapping_add(d.zvarint()?));
        }
        let n = d.count(1)?;
        let mut cols = Vec::with_capacity(n);
        for _ in 0..n {
            match kind(d)? {
                ColumnKind::Numerical => {
                    if rows.saturating_mul(8) > d.remaining_len() {
                        return Err(bad(d, "numerical column runs past the record"));
                    }
                    let mut v = Vec::with_capacity(rows);
                    for _ in 0..rows {
                        v.push(d.f64()?);
                    }
                    cols.push(Col::Num(v));
                }
                ColumnKind::Categorical => {
                    if rows > d.remaining_len() {
                        return Err(bad(d, "categorical column runs past the record"));
                    }
                    let mut v = Vec::with_capacity(rows);
                    for _ in 0..rows {
                        v.push(d.u32v()?.wrapping_sub(1));
                    }
                    cols.push(Col::Cat(v));
                }
            }
        }
        let b = Bucket::restore(seen, ts, cols, rng).ok_or_else(|| DecodeError {
            offset: at,
            reason: "bucket columns and rows disagree".to_owned(),
        })?;
        let m = self.current(d)?;
        let v = m
            .versions
            .last_mut()
            .ok_or_else(|| bad(d, "bucket record before any version record"))?;
        if v.buckets.insert(start, b).is_some() {
            return Err(DecodeError {
                offset: at,
                reason: format!("bucket {start} appears twice"),
            });
        }
        Ok(())
    }

    fn pending(&mut self, d: &mut Dec<'_>) -> Result<(), DecodeError> {
        let n = d.count(5)?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let id = d.str()?.to_owned();
            let ts = d.zvarint()?;
            let version = d.usize()?;
            let predicted = match d.u8()? {
                0 => Predicted::Class(d.u32v()?),
                1 => Predicted::Number(d.f64()?),
                p => return Err(bad(d, format!("unknown predicted tag {p}"))),
            };
            let score = if d.bool()? { Some(d.f64()?) } else { None };
            let k = d.count(9)?;
            let mut probabilities = Vec::with_capacity(k);
            for _ in 0..k {
                probabilities.push((d.u32v()?, d.f64()?));
            }
            entries.push((
                id,
                Pending {
                    ts,
                    version,
                    predicted,
                    score,
                    probabilities: probabilities.into_boxed_slice(),
                },
            ));
        }
        let m = self.current(d)?;
        for (id, p) in entries {
            if p.version >= m.versions.len() {
                return Err(bad(
                    d,
                    format!("pending prediction {id:?} names version {}", p.version),
                ));
            }
            m.pending.insert(id, p);
        }
        Ok(())
    }

    fn order(&mut self, d: &mut Dec<'_>) -> Result<(), DecodeError> {
        let n = d.count(2)?;
        let mut entries = VecDeque::with_capacity(n);
        for _ in 0..n {
            let ts = d.zvarint()?;
            entries.push_back((ts, d.str()?.to_owned()));
        }
        self.current(d)?.pending_order.extend(entries);
        Ok(())
    }
}
