//! One JSON event object → a [`PredictionEvent`] or a [`LabelEvent`], by serde visitors.
//!
//! Owns: the field rules of both event types (types, required fields, limits, timestamps) and
//! their error messages. Visitors read straight from the deserializer: keys and strings are
//! borrowed from the body until copied into the event, features go into a scratch vector
//! reused across events, and nothing builds a `serde_json::Value`.
//!
//! A value of the wrong type does not abort deserialization: the visitor records the first
//! such problem as an [`Invalid`], skips the rest of the object, and returns it as its value.
//! Only broken JSON comes back as the deserializer's error. That keeps the framing in step
//! (an array's next element starts where this one ended) and leaves serde's error text for
//! syntax alone.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use vigil_model::ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};

use super::rfc3339::parse_rfc3339;
use super::{quote_short, Invalid, MlDecodeLimits};

/// State shared by the events of one body.
pub(super) struct Ctx<'l> {
    pub(super) limits: &'l MlDecodeLimits,
    /// Features of the event being read; drained into an exactly sized vector at its end.
    features: Vec<(String, FeatureValue)>,
}

impl<'l> Ctx<'l> {
    pub(super) fn new(limits: &'l MlDecodeLimits) -> Self {
        Ctx {
            limits,
            features: Vec::new(),
        }
    }
}

/// An event type the JSON decoder can read.
pub(super) trait Kind: Sized {
    /// Reads one event. The outer `Err` is broken JSON; the inner one an invalid event.
    fn parse<'de, D: Deserializer<'de>>(
        d: D,
        ctx: &mut Ctx<'_>,
    ) -> Result<Result<Self, Invalid>, D::Error>;
}

impl Kind for PredictionEvent {
    fn parse<'de, D: Deserializer<'de>>(
        d: D,
        ctx: &mut Ctx<'_>,
    ) -> Result<Result<Self, Invalid>, D::Error> {
        Ok(
            match d.deserialize_any(ObjectOr(PredictionFields { ctx }))? {
                Ok(event) => event,
                Err(other) => Err(not_an_object(&other)),
            },
        )
    }
}

impl Kind for LabelEvent {
    fn parse<'de, D: Deserializer<'de>>(
        d: D,
        ctx: &mut Ctx<'_>,
    ) -> Result<Result<Self, Invalid>, D::Error> {
        Ok(match d.deserialize_any(ObjectOr(LabelFields { ctx }))? {
            Ok(event) => event,
            Err(other) => Err(not_an_object(&other)),
        })
    }
}

fn not_an_object(other: &Scalar<'_>) -> Invalid {
    Invalid::event(format!(
        "each event must be a JSON object, got {}",
        describe(other)
    ))
}

// ---------------------------------------------------------------------------------------------
// Generic pieces: any value as a `Scalar`, keys as `Cow`, objects through `ObjectOr`.

/// A JSON value, with arrays and objects skipped rather than built (only their kind is kept,
/// for error messages).
#[derive(Debug)]
enum Scalar<'de> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Cow<'de, str>),
    Array,
    Object,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::I64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::U64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::F64(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Object)
    }
}

impl<'de> serde::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// An object key, borrowed from the body unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_str(ScalarVisitor)? {
            Scalar::Str(s) => Ok(Key(s)),
            // JSON object keys are always strings.
            other => Err(serde::de::Error::custom(format!(
                "expected a string key, got {}",
                describe(&other)
            ))),
        }
    }
}

/// Reads an object's entries; [`ObjectOr`] hands it the map.
trait Fields<'de> {
    type Value;
    fn visit<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error>;
}

/// An object read by `F`, or — as `Err` — whatever other value came instead.
struct ObjectOr<F>(F);

impl<'de, F: Fields<'de>> Visitor<'de> for ObjectOr<F> {
    type Value = Result<F::Value, Scalar<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit(map).map(Ok)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Err(Scalar::Null))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Err(Scalar::Null))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Err(Scalar::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Err(Scalar::I64(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Err(Scalar::U64(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Err(Scalar::F64(v)))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Err(Scalar::Str(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Err(Scalar::Str(Cow::Owned(v.to_owned()))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ScalarVisitor.visit_seq(seq).map(Err)
    }
}

impl<'de, F: Fields<'de>> DeserializeSeed<'de> for ObjectOr<F> {
    type Value = Result<F::Value, Scalar<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A value as a message shows it: JSON-like text, strings cut at 40 characters.
fn describe(v: &Scalar<'_>) -> String {
    match v {
        Scalar::Null => "null".into(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::I64(n) => n.to_string(),
        Scalar::U64(n) => n.to_string(),
        Scalar::F64(f) => format!("{f:?}"),
        Scalar::Str(s) => quote_short(s),
        Scalar::Array => "an array".into(),
        Scalar::Object => "an object".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Field rules shared by both event types.

const OUTCOME_TYPES: &str = "must be a number, string or bool";

/// A required name (`model`): a non-empty string within `max_name_bytes`.
fn name(field: &'static str, v: Scalar<'_>, limits: &MlDecodeLimits) -> Result<String, Invalid> {
    match v {
        Scalar::Str(s) if s.is_empty() => Err(Invalid::field(field, "must not be empty")),
        Scalar::Str(s) => within(field, s, limits.max_name_bytes),
        other => Err(Invalid::field(
            field,
            format!("must be a non-empty string, got {}", describe(&other)),
        )),
    }
}

/// A string of at most `max` bytes, copied out of the body.
fn within(field: &str, s: Cow<'_, str>, max: usize) -> Result<String, Invalid> {
    if s.len() > max {
        return Err(Invalid::field(
            field,
            format!("is {} bytes, over the limit of {max}", s.len()),
        ));
    }
    Ok(s.into_owned())
}

/// An optional string (`version`); `null` is absent.
fn opt_string(
    field: &'static str,
    v: Scalar<'_>,
    limits: &MlDecodeLimits,
) -> Result<Option<String>, Invalid> {
    match v {
        Scalar::Null => Ok(None),
        Scalar::Str(s) => within(field, s, limits.max_string_bytes).map(Some),
        other => Err(Invalid::field(
            field,
            format!("must be a string, got {}", describe(&other)),
        )),
    }
}

/// A prediction id: a non-empty string, or an integer kept as its decimal text; `null` is
/// absent.
fn id(v: Scalar<'_>, limits: &MlDecodeLimits) -> Result<Option<String>, Invalid> {
    match v {
        Scalar::Null => Ok(None),
        Scalar::Str(s) if s.is_empty() => Err(Invalid::field("id", "must not be empty")),
        Scalar::Str(s) => within("id", s, limits.max_string_bytes).map(Some),
        Scalar::I64(n) => Ok(Some(n.to_string())),
        Scalar::U64(n) => Ok(Some(n.to_string())),
        other => Err(Invalid::field(
            "id",
            format!("must be a string or an integer, got {}", describe(&other)),
        )),
    }
}

/// A prediction or label; `null` is absent (the caller decides whether that is allowed).
fn outcome(
    field: &'static str,
    v: Scalar<'_>,
    limits: &MlDecodeLimits,
) -> Result<Option<Outcome>, Invalid> {
    match v {
        Scalar::Null => Ok(None),
        Scalar::Bool(b) => Ok(Some(Outcome::Class(b.to_string()))),
        Scalar::I64(n) => Ok(Some(Outcome::Number(n as f64))),
        Scalar::U64(n) => Ok(Some(Outcome::Number(n as f64))),
        Scalar::F64(f) => Ok(Some(Outcome::Number(f))),
        Scalar::Str(s) => {
            within(field, s, limits.max_string_bytes).map(|s| Some(Outcome::Class(s)))
        }
        other => Err(Invalid::field(
            field,
            format!("{OUTCOME_TYPES}, got {}", describe(&other)),
        )),
    }
}

/// A number (`score`, a probability); `None` for `null`, an error message for anything else.
fn number(v: &Scalar<'_>) -> Result<Option<f64>, String> {
    match v {
        Scalar::Null => Ok(None),
        Scalar::I64(n) => Ok(Some(*n as f64)),
        Scalar::U64(n) => Ok(Some(*n as f64)),
        // JSON numbers are finite: serde_json refuses `1e400` as out of range.
        Scalar::F64(f) => Ok(Some(*f)),
        other => Err(format!("must be a number, got {}", describe(other))),
    }
}

const TIMESTAMP_TYPES: &str =
    "must be Unix seconds (a number) or an RFC 3339 time such as \"2026-11-24T10:00:00Z\"";

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds: the years RFC 3339 can
/// write, and the range numeric timestamps must fall in.
const MIN_SECS: i64 = -62_167_219_200;
const MAX_SECS: i64 = 253_402_300_799;

/// A timestamp in ms; `null` is absent.
fn timestamp(v: Scalar<'_>) -> Result<Option<i64>, Invalid> {
    let out_of_range = |v: &Scalar<'_>| {
        Invalid::field(
            "timestamp",
            format!(
                "must be in the years 0000-9999 as Unix seconds (not milliseconds), got {}",
                describe(v)
            ),
        )
    };
    match v {
        Scalar::Null => Ok(None),
        Scalar::I64(s) if (MIN_SECS..=MAX_SECS).contains(&s) => Ok(Some(s * 1000)),
        Scalar::U64(n) => match i64::try_from(n) {
            Ok(s) if s <= MAX_SECS => Ok(Some(s * 1000)),
            _ => Err(out_of_range(&v)),
        },
        Scalar::F64(s) => {
            let ms = (s * 1000.0).round();
            // Both bounds are below 2^53, so the comparison is exact and the cast integral and
            // in range.
            #[allow(clippy::cast_possible_truncation)]
            if (MIN_SECS as f64 * 1000.0..=(MAX_SECS as f64 + 1.0) * 1000.0 - 1.0).contains(&ms) {
                Ok(Some(ms as i64))
            } else {
                Err(out_of_range(&v))
            }
        }
        Scalar::I64(_) => Err(out_of_range(&v)),
        Scalar::Str(s) => match parse_rfc3339(&s) {
            Some(ms) => Ok(Some(ms)),
            None => Err(Invalid::field(
                "timestamp",
                format!("{TIMESTAMP_TYPES}, got {}", quote_short(&s)),
            )),
        },
        other => Err(Invalid::field(
            "timestamp",
            format!("{TIMESTAMP_TYPES}, got {}", describe(&other)),
        )),
    }
}

/// Checks a feature or class name.
fn check_name(field: &'static str, what: &str, name: &str, max: usize) -> Result<(), Invalid> {
    if name.is_empty() {
        return Err(Invalid::field(
            field,
            format!("{what} names must not be empty"),
        ));
    }
    if name.len() > max {
        return Err(Invalid::field(
            field,
            format!(
                "{what} name {} is {} bytes, over the limit of {max}",
                quote_short(name),
                name.len()
            ),
        ));
    }
    Ok(())
}

/// The first name that appears twice, in body order.
pub(super) fn first_duplicate<T>(entries: &[(String, T)]) -> Option<&str> {
    // Few entries (the usual case): compare pairwise, no allocation.
    if entries.len() <= 16 {
        return entries.iter().enumerate().find_map(|(i, (name, _))| {
            entries
                .get(..i)
                .is_some_and(|before| before.iter().any(|(n, _)| n == name))
                .then_some(name.as_str())
        });
    }
    let mut seen = HashSet::with_capacity(entries.len());
    entries
        .iter()
        .find(|(name, _)| !seen.insert(name.as_str()))
        .map(|(name, _)| name.as_str())
}

/// Reads `features` into the context's scratch vector.
struct FeatureFields<'a> {
    limits: &'a MlDecodeLimits,
    out: &'a mut Vec<(String, FeatureValue)>,
}

impl<'de> Fields<'de> for FeatureFields<'_> {
    type Value = Result<(), Invalid>;

    fn visit<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let limits = self.limits;
        let mut bad = None;
        while let Some(Key(name)) = map.next_key()? {
            if bad.is_some() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value: Scalar<'de> = map.next_value()?;
            match feature(name, value, self.out.len(), limits) {
                Ok(entry) => self.out.push(entry),
                Err(e) => bad = Some(e),
            }
        }
        if let Some(e) = bad {
            return Ok(Err(e));
        }
        Ok(match first_duplicate(self.out) {
            Some(dup) => Err(Invalid::field(
                format!("features.{dup}"),
                "appears more than once",
            )),
            None => Ok(()),
        })
    }
}

fn feature(
    name: Cow<'_, str>,
    value: Scalar<'_>,
    count: usize,
    limits: &MlDecodeLimits,
) -> Result<(String, FeatureValue), Invalid> {
    check_name("features", "feature", &name, limits.max_name_bytes)?;
    if count >= limits.max_features_per_event {
        return Err(Invalid::field(
            "features",
            format!(
                "has more than {} entries, over the limit per event",
                limits.max_features_per_event
            ),
        ));
    }
    let v = match value {
        Scalar::Null => FeatureValue::Missing,
        Scalar::Bool(b) => FeatureValue::Bool(b),
        Scalar::I64(n) => FeatureValue::Number(n as f64),
        Scalar::U64(n) => FeatureValue::Number(n as f64),
        Scalar::F64(f) => FeatureValue::Number(f),
        Scalar::Str(s) if s.len() > limits.max_string_bytes => {
            return Err(Invalid::field(
                format!("features.{name}"),
                format!(
                    "is {} bytes, over the limit of {}",
                    s.len(),
                    limits.max_string_bytes
                ),
            ))
        }
        Scalar::Str(s) => FeatureValue::Text(s.into_owned()),
        other @ (Scalar::Array | Scalar::Object) => {
            return Err(Invalid::field(
                format!("features.{name}"),
                format!(
                    "must be a number, string, bool or null, got {}",
                    describe(&other)
                ),
            ))
        }
    };
    Ok((name.into_owned(), v))
}

/// Reads `probabilities`.
struct ProbabilityFields<'a> {
    limits: &'a MlDecodeLimits,
    out: &'a mut Vec<(String, f64)>,
}

impl<'de> Fields<'de> for ProbabilityFields<'_> {
    type Value = Result<(), Invalid>;

    fn visit<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let limits = self.limits;
        let mut bad = None;
        while let Some(Key(class)) = map.next_key()? {
            if bad.is_some() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value: Scalar<'de> = map.next_value()?;
            match probability(class, &value, self.out.len(), limits) {
                Ok(entry) => self.out.push(entry),
                Err(e) => bad = Some(e),
            }
        }
        if let Some(e) = bad {
            return Ok(Err(e));
        }
        Ok(match first_duplicate(self.out) {
            Some(dup) => Err(Invalid::field(
                format!("probabilities.{dup}"),
                "appears more than once",
            )),
            None => Ok(()),
        })
    }
}

fn probability(
    class: Cow<'_, str>,
    value: &Scalar<'_>,
    count: usize,
    limits: &MlDecodeLimits,
) -> Result<(String, f64), Invalid> {
    check_name("probabilities", "class", &class, limits.max_name_bytes)?;
    if count >= limits.max_features_per_event {
        return Err(Invalid::field(
            "probabilities",
            format!(
                "has more than {} entries, over the limit per event",
                limits.max_features_per_event
            ),
        ));
    }
    match number(value) {
        Ok(Some(p)) => Ok((class.into_owned(), p)),
        Ok(None) => Err(Invalid::field(
            format!("probabilities.{class}"),
            "must be a number, got null",
        )),
        Err(msg) => Err(Invalid::field(format!("probabilities.{class}"), msg)),
    }
}

/// An object-valued field: `null` is absent, another non-object is a type error.
fn object_field(
    field: &'static str,
    what: &str,
    got: Result<Result<(), Invalid>, Scalar<'_>>,
) -> Result<(), Invalid> {
    match got {
        Ok(r) => r,
        Err(Scalar::Null) => Ok(()),
        Err(other) => Err(Invalid::field(
            field,
            format!("must be an object mapping {what}, got {}", describe(&other)),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// The two event objects.

/// Fields of a prediction event, by the bit that marks them seen.
#[derive(Clone, Copy)]
enum PField {
    Model = 1,
    Version = 2,
    Id = 4,
    Timestamp = 8,
    Features = 16,
    Prediction = 32,
    Score = 64,
    Probabilities = 128,
    Label = 256,
}

impl PField {
    fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "model" => PField::Model,
            "version" => PField::Version,
            "id" => PField::Id,
            "timestamp" => PField::Timestamp,
            "features" => PField::Features,
            "prediction" => PField::Prediction,
            "score" => PField::Score,
            "probabilities" => PField::Probabilities,
            "label" => PField::Label,
            _ => return None,
        })
    }
}

struct PredictionFields<'c, 'l> {
    ctx: &'c mut Ctx<'l>,
}

impl<'de> Fields<'de> for PredictionFields<'_, '_> {
    type Value = Result<PredictionEvent, Invalid>;

    fn visit<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.ctx;
        let limits = ctx.limits;
        ctx.features.clear();
        let mut model = None;
        let mut version = None;
        let mut id_ = None;
        let mut ts = None;
        let mut prediction = None;
        let mut score = None;
        let mut probabilities = Vec::new();
        let mut label = None;
        let mut seen = 0u16;
        let mut bad: Option<Invalid> = None;
        while let Some(Key(key)) = map.next_key()? {
            let field = match PField::from_key(&key) {
                Some(f) if bad.is_none() => f,
                // Unknown fields are ignored (forward compatibility); after an error the rest
                // is only skipped.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if seen & field as u16 != 0 {
                map.next_value::<IgnoredAny>()?;
                bad = Some(Invalid::field(key.into_owned(), "appears more than once"));
                continue;
            }
            seen |= field as u16;
            let r = match field {
                PField::Model => name("model", map.next_value()?, limits).map(|v| model = Some(v)),
                PField::Version => {
                    opt_string("version", map.next_value()?, limits).map(|v| version = v)
                }
                PField::Id => id(map.next_value()?, limits).map(|v| id_ = v),
                PField::Timestamp => timestamp(map.next_value()?).map(|v| ts = v),
                PField::Features => {
                    let got = map.next_value_seed(ObjectOr(FeatureFields {
                        limits,
                        out: &mut ctx.features,
                    }))?;
                    object_field("features", "feature names to values", got)
                }
                PField::Prediction => match map.next_value()? {
                    Scalar::Null => Err(Invalid::field(
                        "prediction",
                        format!("{OUTCOME_TYPES}, got null"),
                    )),
                    v => outcome("prediction", v, limits).map(|v| prediction = v),
                },
                PField::Score => number(&map.next_value()?)
                    .map(|v| score = v)
                    .map_err(|m| Invalid::field("score", m)),
                PField::Probabilities => {
                    let got = map.next_value_seed(ObjectOr(ProbabilityFields {
                        limits,
                        out: &mut probabilities,
                    }))?;
                    object_field("probabilities", "class names to numbers", got)
                }
                PField::Label => outcome("label", map.next_value()?, limits).map(|v| label = v),
            };
            if let Err(e) = r {
                bad = Some(e);
            }
        }
        if let Some(e) = bad {
            return Ok(Err(e));
        }
        let Some(model) = model else {
            return Ok(Err(Invalid::field("model", "is required")));
        };
        let Some(prediction) = prediction else {
            return Ok(Err(Invalid::field("prediction", "is required")));
        };
        Ok(Ok(PredictionEvent {
            model,
            version: version.unwrap_or_default(),
            id: id_,
            timestamp_ms: ts,
            // One allocation of the exact size; the scratch vector keeps its capacity.
            features: ctx.features.drain(..).collect(),
            prediction,
            score,
            probabilities,
            label,
        }))
    }
}

/// Fields of a label event, by the bit that marks them seen.
#[derive(Clone, Copy)]
enum LField {
    Model = 1,
    Id = 2,
    Label = 4,
    Timestamp = 8,
}

struct LabelFields<'c, 'l> {
    ctx: &'c mut Ctx<'l>,
}

impl<'de> Fields<'de> for LabelFields<'_, '_> {
    type Value = Result<LabelEvent, Invalid>;

    fn visit<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let limits = self.ctx.limits;
        let mut model = None;
        let mut id_ = None;
        let mut label = None;
        let mut ts = None;
        let mut seen = 0u8;
        let mut bad: Option<Invalid> = None;
        while let Some(Key(key)) = map.next_key()? {
            let field = match key.as_ref() {
                "model" if bad.is_none() => LField::Model,
                "id" if bad.is_none() => LField::Id,
                "label" if bad.is_none() => LField::Label,
                "timestamp" if bad.is_none() => LField::Timestamp,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if seen & field as u8 != 0 {
                map.next_value::<IgnoredAny>()?;
                bad = Some(Invalid::field(key.into_owned(), "appears more than once"));
                continue;
            }
            seen |= field as u8;
            let r = match field {
                LField::Model => match map.next_value()? {
                    Scalar::Null => Ok(()),
                    v => name("model", v, limits).map(|v| model = Some(v)),
                },
                LField::Id => match map.next_value()? {
                    Scalar::Null => Err(Invalid::field(
                        "id",
                        "must be a string or an integer, got null",
                    )),
                    v => id(v, limits).map(|v| id_ = v),
                },
                LField::Label => match map.next_value()? {
                    Scalar::Null => Err(Invalid::field(
                        "label",
                        format!("{OUTCOME_TYPES}, got null"),
                    )),
                    v => outcome("label", v, limits).map(|v| label = v),
                },
                LField::Timestamp => timestamp(map.next_value()?).map(|v| ts = v),
            };
            if let Err(e) = r {
                bad = Some(e);
            }
        }
        if let Some(e) = bad {
            return Ok(Err(e));
        }
        let Some(id) = id_ else {
            return Ok(Err(Invalid::field("id", "is required")));
        };
        let Some(label) = label else {
            return Ok(Err(Invalid::field("label", "is required")));
        };
        Ok(Ok(LabelEvent {
            model,
            id,
            label,
            timestamp_ms: ts,
        }))
    }
}
