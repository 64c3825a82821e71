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
use vigil_model::civil::parse_rfc3339;
use vigil_model::ml::{FeatureValue, LabelEvent, Outcome, PredictionEvent};

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
        event_object(d, PredictionFields { ctx })
    }
}

impl Kind for LabelEvent {
    fn parse<'de, D: Deserializer<'de>>(
        d: D,
        ctx: &mut Ctx<'_>,
    ) -> Result<Result<Self, Invalid>, D::Error> {
        event_object(d, LabelFields { ctx })
    }
}

/// An event: an object read by `fields`; any other value is an invalid event.
fn event_object<'de, D, F, T>(d: D, fields: F) -> Result<Result<T, Invalid>, D::Error>
where
    D: Deserializer<'de>,
    F: Fields<'de, Value = Result<T, Invalid>>,
{
    Ok(match d.deserialize_any(ObjectOr(fields))? {
        Ok(event) => event,
        Err(other) => Err(Invalid::event(format!(
            "each event must be a JSON object, got {}",
            describe(&other)
        ))),
    })
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

/// The values of an object of named entries: `features` (name → value) and `probabilities`
/// (class → number).
trait Entry: Sized {
    /// The field that holds the object.
    const FIELD: &'static str;
    /// What an entry's name is, in messages.
    const NAME: &'static str;
    /// What the object maps, in messages.
    const MAPPING: &'static str;
    /// The entry's value, or what is wrong with it.
    fn read(v: Scalar<'_>, limits: &MlDecodeLimits) -> Result<Self, String>;
}

impl Entry for FeatureValue {
    const FIELD: &'static str = "features";
    const NAME: &'static str = "feature";
    const MAPPING: &'static str = "feature names to values";

    fn read(v: Scalar<'_>, limits: &MlDecodeLimits) -> Result<Self, String> {
        Ok(match v {
            Scalar::Null => FeatureValue::Missing,
            Scalar::Bool(b) => FeatureValue::Bool(b),
            Scalar::I64(n) => FeatureValue::Number(n as f64),
            Scalar::U64(n) => FeatureValue::Number(n as f64),
            Scalar::F64(f) => FeatureValue::Number(f),
            Scalar::Str(s) if s.len() > limits.max_string_bytes => {
                return Err(format!(
                    "is {} bytes, over the limit of {}",
                    s.len(),
                    limits.max_string_bytes
                ))
            }
            Scalar::Str(s) => FeatureValue::Text(s.into_owned()),
            other @ (Scalar::Array | Scalar::Object) => {
                return Err(format!(
                    "must be a number, string, bool or null, got {}",
                    describe(&other)
                ))
            }
        })
    }
}

impl Entry for f64 {
    const FIELD: &'static str = "probabilities";
    const NAME: &'static str = "class";
    const MAPPING: &'static str = "class names to numbers";

    fn read(v: Scalar<'_>, _: &MlDecodeLimits) -> Result<Self, String> {
        number(&v)?.ok_or_else(|| "must be a number, got null".to_owned())
    }
}

/// Reads the object of a `T` field into `out` (for features, the context's scratch vector);
/// `null` is absent, another non-object a type error.
fn entries<'de, A: MapAccess<'de>, T: Entry>(
    map: &mut A,
    limits: &MlDecodeLimits,
    out: &mut Vec<(String, T)>,
) -> Result<Result<(), Invalid>, A::Error> {
    Ok(
        match map.next_value_seed(ObjectOr(Entries { limits, out }))? {
            Ok(read) => read,
            Err(Scalar::Null) => Ok(()),
            Err(other) => Err(Invalid::field(
                T::FIELD,
                format!(
                    "must be an object mapping {}, got {}",
                    T::MAPPING,
                    describe(&other)
                ),
            )),
        },
    )
}

/// The entries of one object; after the first bad one the rest are skipped.
struct Entries<'a, T> {
    limits: &'a MlDecodeLimits,
    out: &'a mut Vec<(String, T)>,
}

impl<'de, T: Entry> Fields<'de> for Entries<'_, T> {
    type Value = Result<(), Invalid>;

    fn visit<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut bad = None;
        while let Some(Key(name)) = map.next_key()? {
            if bad.is_some() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value: Scalar<'de> = map.next_value()?;
            match entry(name, value, self.out.len(), self.limits) {
                Ok(entry) => self.out.push(entry),
                Err(e) => bad = Some(e),
            }
        }
        if let Some(e) = bad {
            return Ok(Err(e));
        }
        Ok(match first_duplicate(self.out) {
            Some(dup) => Err(Invalid::field(
                format!("{}.{dup}", T::FIELD),
                "appears more than once",
            )),
            None => Ok(()),
        })
    }
}

/// One entry, the `count`-th of its object: its name checked, then its value.
fn entry<T: Entry>(
    name: Cow<'_, str>,
    value: Scalar<'_>,
    count: usize,
    limits: &MlDecodeLimits,
) -> Result<(String, T), Invalid> {
    let max = limits.max_name_bytes;
    if name.is_empty() {
        return Err(Invalid::field(
            T::FIELD,
            format!("{} names must not be empty", T::NAME),
        ));
    }
    if name.len() > max {
        return Err(Invalid::field(
            T::FIELD,
            format!(
                "{} name {} is {} bytes, over the limit of {max}",
                T::NAME,
                quote_short(&name),
                name.len()
            ),
        ));
    }
    if count >= limits.max_features_per_event {
        return Err(Invalid::field(
            T::FIELD,
            format!(
                "has more than {} entries, over the limit per event",
                limits.max_features_per_event
            ),
        ));
    }
    match T::read(value, limits) {
        Ok(v) => Ok((name.into_owned(), v)),
        Err(message) => Err(Invalid::field(format!("{}.{name}", T::FIELD), message)),
    }
}

// ---------------------------------------------------------------------------------------------
// The two event objects.

/// A known field of an event object.
trait EventField: Copy {
    fn from_key(key: &str) -> Option<Self>;
    /// The bit that marks the field seen.
    fn bit(self) -> u16;
}

/// The next known field of an event object, marked seen. Unknown fields are skipped (forward
/// compatibility), and so is everything after the first error (`bad`); a field seen twice
/// becomes that error.
fn next_field<'de, A: MapAccess<'de>, F: EventField>(
    map: &mut A,
    seen: &mut u16,
    bad: &mut Option<Invalid>,
) -> Result<Option<F>, A::Error> {
    while let Some(Key(key)) = map.next_key()? {
        let field = match F::from_key(&key) {
            Some(f) if bad.is_none() => f,
            _ => {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
        };
        if *seen & field.bit() != 0 {
            map.next_value::<IgnoredAny>()?;
            *bad = Some(Invalid::field(key.into_owned(), "appears more than once"));
            continue;
        }
        *seen |= field.bit();
        return Ok(Some(field));
    }
    Ok(None)
}

#[derive(Clone, Copy)]
enum PField {
    Model,
    Version,
    Id,
    Timestamp,
    Features,
    Prediction,
    Score,
    Probabilities,
    Label,
}

impl EventField for PField {
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

    fn bit(self) -> u16 {
        1 << self as u16
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
        let mut seen = 0;
        let mut bad = None;
        while let Some(field) = next_field::<_, PField>(&mut map, &mut seen, &mut bad)? {
            let r = match field {
                PField::Model => name("model", map.next_value()?, limits).map(|v| model = Some(v)),
                PField::Version => {
                    opt_string("version", map.next_value()?, limits).map(|v| version = v)
                }
                PField::Id => id(map.next_value()?, limits).map(|v| id_ = v),
                PField::Timestamp => timestamp(map.next_value()?).map(|v| ts = v),
                PField::Features => entries(&mut map, limits, &mut ctx.features)?,
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
                PField::Probabilities => entries(&mut map, limits, &mut probabilities)?,
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

#[derive(Clone, Copy)]
enum LField {
    Model,
    Id,
    Label,
    Timestamp,
}

impl EventField for LField {
    fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "model" => LField::Model,
            "id" => LField::Id,
            "label" => LField::Label,
            "timestamp" => LField::Timestamp,
            _ => return None,
        })
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
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
        let mut seen = 0;
        let mut bad = None;
        while let Some(field) = next_field::<_, LField>(&mut map, &mut seen, &mut bad)? {
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
