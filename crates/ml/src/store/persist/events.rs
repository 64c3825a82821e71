//! Event records: the WAL records of accepted prediction and label batches and of evaluations
//! (`docs/format/ml.md`, "Event records"), the buffer the ingest path encodes them into, and
//! their decoder.
//!
//! Hand-written and compact because it sits on the ingest path: a prediction with ten features
//! costs about 100 bytes and well under a microsecond to encode. Names repeat across a batch,
//! so each name slot (model, version, feature at a position) can say "as in the previous event".

use vigil_model::ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};

use super::bytes::{put_f64, put_len, put_str, put_uvarint, put_zvarint, Dec, DecodeError};

/// The format byte every record starts with.
pub(crate) const FORMAT: u8 = 1;

/// Record types (the second byte).
pub(crate) const T_PREDICTIONS: u8 = 1;
pub(crate) const T_LABELS: u8 = 2;
pub(crate) const T_EVALUATION: u8 = 3;
pub(crate) const T_MAINTENANCE: u8 = 4;

/// An encoded record grows past this before a new one is started (the WAL's limit is 1 GiB).
const SPLIT_BYTES: usize = 16 << 20;
/// A buffer kept between batches is shrunk back when a batch made it larger than this.
const KEEP_BYTES: usize = 4 << 20;

/// Reads a record's header: its type, and the decoder positioned at its body.
///
/// # Errors
/// An empty record or another format version.
pub(crate) fn record_type(data: &[u8]) -> Result<(u8, Dec<'_>), DecodeError> {
    let mut d = Dec::new(data);
    let format = d.u8()?;
    if format != FORMAT {
        return Err(DecodeError {
            offset: 0,
            reason: format!("unsupported record format {format} (this build reads {FORMAT})"),
        });
    }
    let ty = d.u8()?;
    Ok((ty, d))
}

/// The records of one batch being encoded under the ingest lock; kept between batches so that
/// its buffer is reused.
#[derive(Debug, Default)]
pub(crate) struct RecordBuf {
    cur: Vec<u8>,
    done: Vec<Vec<u8>>,
    ty: u8,
    now_ms: i64,
    /// Events in all records of the batch.
    pub events: usize,
}

impl RecordBuf {
    /// Starts the records of a batch of type `ty`.
    pub fn begin(&mut self, ty: u8, now_ms: i64) {
        if self.cur.capacity() > KEEP_BYTES {
            self.cur = Vec::new();
        }
        self.done.clear();
        self.ty = ty;
        self.now_ms = now_ms;
        self.events = 0;
        self.start_record();
    }

    fn start_record(&mut self) {
        self.cur.clear();
        self.cur.push(FORMAT);
        self.cur.push(self.ty);
        put_zvarint(&mut self.cur, self.now_ms);
    }

    /// Starts a new record when the current one is full; returns whether it did.
    fn split_if_full(&mut self) -> bool {
        if self.cur.len() < SPLIT_BYTES {
            return false;
        }
        let full = std::mem::replace(&mut self.cur, Vec::with_capacity(SPLIT_BYTES));
        self.done.push(full);
        self.start_record();
        true
    }

    /// Appends an accepted prediction; `prev` is the previous one appended (updated here).
    pub fn push_prediction<'e>(
        &mut self,
        e: &'e PredictionEvent,
        prev: &mut Option<&'e PredictionEvent>,
    ) {
        if self.split_if_full() {
            *prev = None;
        }
        put_prediction(&mut self.cur, e, *prev);
        *prev = Some(e);
        self.events += 1;
    }

    /// Appends an accepted label.
    pub fn push_label(&mut self, e: &LabelEvent) {
        self.split_if_full();
        put_label(&mut self.cur, e);
        self.events += 1;
    }

    /// The records of the batch, in order.
    pub fn records(&self) -> Vec<&[u8]> {
        self.done
            .iter()
            .map(Vec::as_slice)
            .chain(std::iter::once(self.cur.as_slice()))
            .collect()
    }
}

/// An evaluation record: the models evaluated at `now_ms`, in order.
pub(crate) fn evaluation_record(now_ms: i64, models: &[String]) -> Vec<u8> {
    let mut buf = vec![FORMAT, T_EVALUATION];
    put_zvarint(&mut buf, now_ms);
    for m in models {
        put_str(&mut buf, m);
    }
    buf
}

/// A maintenance record: every model maintained at `now_ms` (written by `open`).
pub(crate) fn maintenance_record(now_ms: i64) -> Vec<u8> {
    let mut buf = vec![FORMAT, T_MAINTENANCE];
    put_zvarint(&mut buf, now_ms);
    buf
}

const F_ID: u8 = 1;
const F_TS: u8 = 2;
const F_SCORE: u8 = 4;
const F_LABEL: u8 = 8;

const L_MODEL: u8 = 1;
const L_TS: u8 = 2;

fn put_name(buf: &mut Vec<u8>, name: &str, prev: Option<&str>) {
    if prev == Some(name) {
        buf.push(0);
    } else {
        put_uvarint(buf, name.len() as u64 + 1);
        buf.extend_from_slice(name.as_bytes());
    }
}

fn put_outcome(buf: &mut Vec<u8>, o: &Outcome) {
    match o {
        Outcome::Number(x) => {
            buf.push(0);
            put_f64(buf, *x);
        }
        Outcome::Class(c) => {
            buf.push(1);
            put_str(buf, c);
        }
    }
}

fn put_prediction(buf: &mut Vec<u8>, e: &PredictionEvent, prev: Option<&PredictionEvent>) {
    put_name(buf, &e.model, prev.map(|p| p.model.as_str()));
    put_name(buf, &e.version, prev.map(|p| p.version.as_str()));
    let mut flags = 0;
    if e.id.is_some() {
        flags |= F_ID;
    }
    if e.timestamp_ms.is_some() {
        flags |= F_TS;
    }
    if e.score.is_some() {
        flags |= F_SCORE;
    }
    if e.label.is_some() {
        flags |= F_LABEL;
    }
    buf.push(flags);
    if let Some(id) = &e.id {
        put_str(buf, id);
    }
    if let Some(ts) = e.timestamp_ms {
        put_zvarint(buf, ts);
    }
    put_len(buf, e.features.len());
    let prev_features = prev.map_or(&[][..], |p| p.features.as_slice());
    for (i, (name, value)) in e.features.iter().enumerate() {
        put_name(buf, name, prev_features.get(i).map(|(n, _)| n.as_str()));
        match value {
            FeatureValue::Missing => buf.push(0),
            FeatureValue::Number(x) => {
                buf.push(1);
                put_f64(buf, *x);
            }
            FeatureValue::Text(t) => {
                buf.push(2);
                put_str(buf, t);
            }
            FeatureValue::Bool(false) => buf.push(3),
            FeatureValue::Bool(true) => buf.push(4),
        }
    }
    put_outcome(buf, &e.prediction);
    if let Some(s) = e.score {
        put_f64(buf, s);
    }
    put_len(buf, e.probabilities.len());
    for (class, p) in &e.probabilities {
        put_str(buf, class);
        put_f64(buf, *p);
    }
    if let Some(l) = &e.label {
        put_outcome(buf, l);
    }
}

fn put_label(buf: &mut Vec<u8>, e: &LabelEvent) {
    let mut flags = 0;
    if e.model.is_some() {
        flags |= L_MODEL;
    }
    if e.timestamp_ms.is_some() {
        flags |= L_TS;
    }
    buf.push(flags);
    if let Some(m) = &e.model {
        put_str(buf, m);
    }
    put_str(buf, &e.id);
    put_outcome(buf, &e.label);
    if let Some(ts) = e.timestamp_ms {
        put_zvarint(buf, ts);
    }
}

/// A decoded event record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EventRecord {
    Predictions {
        now_ms: i64,
        events: Vec<PredictionEvent>,
    },
    Labels {
        now_ms: i64,
        events: Vec<LabelEvent>,
    },
    Evaluation {
        now_ms: i64,
        models: Vec<String>,
    },
    Maintenance {
        now_ms: i64,
    },
}

/// Decodes the body of an event record of type `ty` (`None`: not an event record type).
///
/// # Errors
/// A body that does not decode to its end.
pub(crate) fn decode_event(ty: u8, mut d: Dec<'_>) -> Option<Result<EventRecord, DecodeError>> {
    let res = match ty {
        T_PREDICTIONS => decode_predictions(&mut d),
        T_LABELS => decode_labels(&mut d),
        T_EVALUATION => decode_evaluation(&mut d),
        T_MAINTENANCE => d
            .zvarint()
            .and_then(|now_ms| d.finish().map(|()| EventRecord::Maintenance { now_ms })),
        _ => return None,
    };
    Some(res)
}

fn name(d: &mut Dec<'_>, prev: Option<&String>, what: &str) -> Result<String, DecodeError> {
    let at = d.pos();
    match d.usize()? {
        0 => prev.cloned().ok_or_else(|| DecodeError {
            offset: at,
            reason: format!("{what} refers to a previous event that has none"),
        }),
        n => d.text(n - 1).map(str::to_owned),
    }
}

fn outcome(d: &mut Dec<'_>) -> Result<Outcome, DecodeError> {
    match d.u8()? {
        0 => d.f64().map(Outcome::Number),
        1 => d.str().map(|s| Outcome::Class(s.to_owned())),
        t => Err(DecodeError {
            offset: d.pos() - 1,
            reason: format!("unknown outcome tag {t}"),
        }),
    }
}

fn flags(d: &mut Dec<'_>, known: u8) -> Result<u8, DecodeError> {
    let f = d.u8()?;
    if f & !known != 0 {
        return Err(DecodeError {
            offset: d.pos() - 1,
            reason: format!("unknown flag bits in {f:#04x}"),
        });
    }
    Ok(f)
}

fn decode_predictions(d: &mut Dec<'_>) -> Result<EventRecord, DecodeError> {
    let now_ms = d.zvarint()?;
    let mut events: Vec<PredictionEvent> = Vec::new();
    while !d.is_empty() {
        let prev = events.last();
        let model = name(d, prev.map(|p| &p.model), "model")?;
        let version = name(d, prev.map(|p| &p.version), "version")?;
        let f = flags(d, F_ID | F_TS | F_SCORE | F_LABEL)?;
        let id = if f & F_ID != 0 {
            Some(d.str()?.to_owned())
        } else {
            None
        };
        let timestamp_ms = if f & F_TS != 0 {
            Some(d.zvarint()?)
        } else {
            None
        };
        let n = d.count(2)?;
        let mut features = Vec::with_capacity(n);
        for i in 0..n {
            let prev_name = prev.and_then(|p| p.features.get(i)).map(|(n, _)| n);
            let fname = name(d, prev_name, "feature name")?;
            let value = match d.u8()? {
                0 => FeatureValue::Missing,
                1 => FeatureValue::Number(d.f64()?),
                2 => FeatureValue::Text(d.str()?.to_owned()),
                3 => FeatureValue::Bool(false),
                4 => FeatureValue::Bool(true),
                t => {
                    return Err(DecodeError {
                        offset: d.pos() - 1,
                        reason: format!("unknown feature value tag {t}"),
                    })
                }
            };
            features.push((fname, value));
        }
        let prediction = outcome(d)?;
        let score = if f & F_SCORE != 0 {
            Some(d.f64()?)
        } else {
            None
        };
        let n = d.count(9)?;
        let mut probabilities = Vec::with_capacity(n);
        for _ in 0..n {
            let class = d.str()?.to_owned();
            probabilities.push((class, d.f64()?));
        }
        let label = if f & F_LABEL != 0 {
            Some(outcome(d)?)
        } else {
            None
        };
        events.push(PredictionEvent {
            model,
            version,
            id,
            timestamp_ms,
            features,
            prediction,
            score,
            probabilities,
            label,
        });
    }
    Ok(EventRecord::Predictions { now_ms, events })
}

fn decode_evaluation(d: &mut Dec<'_>) -> Result<EventRecord, DecodeError> {
    let now_ms = d.zvarint()?;
    let mut models = Vec::new();
    while !d.is_empty() {
        models.push(d.str()?.to_owned());
    }
    Ok(EventRecord::Evaluation { now_ms, models })
}

fn decode_labels(d: &mut Dec<'_>) -> Result<EventRecord, DecodeError> {
    let now_ms = d.zvarint()?;
    let mut events = Vec::new();
    while !d.is_empty() {
        let f = flags(d, L_MODEL | L_TS)?;
        let model = if f & L_MODEL != 0 {
            Some(d.str()?.to_owned())
        } else {
            None
        };
        let id = d.str()?.to_owned();
        let label = outcome(d)?;
        let timestamp_ms = if f & L_TS != 0 {
            Some(d.zvarint()?)
        } else {
            None
        };
        events.push(LabelEvent {
            model,
            id,
            label,
            timestamp_ms,
        });
    }
    Ok(EventRecord::Labels { now_ms, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(model: &str, features: &[&str], label: bool) -> PredictionEvent {
        PredictionEvent {
            model: model.into(),
            version: "v1".into(),
            id: Some("p1".into()),
            timestamp_ms: Some(-5),
            features: features
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let v = match i % 5 {
                        0 => FeatureValue::Number(-0.0),
                        1 => FeatureValue::Text("DE".into()),
                        2 => FeatureValue::Bool(true),
                        3 => FeatureValue::Bool(false),
                        _ => FeatureValue::Missing,
                    };
                    ((*n).to_owned(), v)
                })
                .collect(),
            prediction: Outcome::Class("spam".into()),
            score: Some(0.25),
            probabilities: vec![("spam".into(), 0.25), ("ham".into(), 0.75)],
            label: label.then_some(Outcome::Number(1.0)),
        }
    }

    #[test]
    fn predictions_round_trip_with_shared_names() {
        let events = vec![
            prediction("m", &["a", "b", "c", "d", "e"], false),
            prediction("m", &["a", "b", "x"], true),
            prediction("other", &["a", "b", "c", "d", "e", "f"], false),
        ];
        let mut buf = RecordBuf::default();
        buf.begin(T_PREDICTIONS, 1_700_000_000_000);
        let mut prev = None;
        for e in &events {
            buf.push_prediction(e, &mut prev);
        }
        let recs = buf.records();
        assert_eq!(recs.len(), 1);
        let (ty, d) = record_type(recs[0]).expect("header");
        let got = decode_event(ty, d).expect("event type").expect("decodes");
        assert_eq!(
            got,
            EventRecord::Predictions {
                now_ms: 1_700_000_000_000,
                events
            }
        );
    }

    #[test]
    fn labels_and_evaluations_round_trip() {
        let events = vec![
            LabelEvent {
                model: Some("m".into()),
                id: "1".into(),
                label: Outcome::Class("x".into()),
                timestamp_ms: Some(3),
            },
            LabelEvent {
                model: None,
                id: "2".into(),
                label: Outcome::Number(2.5),
                timestamp_ms: None,
            },
        ];
        let mut buf = RecordBuf::default();
        buf.begin(T_LABELS, 9);
        for e in &events {
            buf.push_label(e);
        }
        let recs = buf.records();
        let (ty, d) = record_type(recs[0]).expect("header");
        assert_eq!(
            decode_event(ty, d).expect("type").expect("decodes"),
            EventRecord::Labels { now_ms: 9, events }
        );
        let models = vec!["a".to_owned(), String::new()];
        let rec = evaluation_record(-7, &models);
        let (ty, d) = record_type(&rec).expect("header");
        assert_eq!(
            decode_event(ty, d).expect("type").expect("decodes"),
            EventRecord::Evaluation { now_ms: -7, models }
        );
        let rec = maintenance_record(5);
        let (ty, d) = record_type(&rec).expect("header");
        assert_eq!(
            decode_event(ty, d).expect("type").expect("decodes"),
            EventRecord::Maintenance { now_ms: 5 }
        );
    }

    #[test]
    fn a_first_event_cannot_refer_to_a_previous_name() {
        let rec = [FORMAT, T_PREDICTIONS, 0, 0];
        let (ty, d) = record_type(&rec).expect("header");
        let err = decode_event(ty, d).expect("type").expect_err("refused");
        assert_eq!(err.offset, 3);
    }
}
