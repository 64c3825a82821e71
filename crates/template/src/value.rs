//! Go's static types, carried on top of the engine's dynamic [`Value`].
//!
//! The engine's values are untyped (a map is a map), but Go's templates behave by type: a
//! missing key of a `map[string]string` prints `""` under `missingkey=zero` while a missing
//! field of a struct is an error, `Alerts` has the methods `Firing`/`Resolved`, `KV` has
//! `SortedPairs`/`Names`/`Values`/`Remove`, and a `time.Time` prints through its `String`
//! method. Structs are therefore maps with one hidden key, [`TYPE_KEY`], naming their Go type;
//! maps without it are Go maps. Only field access, method calls and printing (all ours, see
//! `access.rs` and `gofmt.rs`) look at the tag; `range`/`len`/`index` over a struct are errors
//! in Go anyway, so the hidden key is never observable in a working template.

use std::collections::BTreeMap;
use std::sync::Arc;

pub use gotmpl::Value;

/// The hidden key of a struct-like map; its value is the Go type's name.
pub const TYPE_KEY: &str = "\u{0}type";
const TIME_SECS: &str = "\u{0}secs";
const TIME_NANOS: &str = "\u{0}nanos";

/// Go type names used for structs, as Go prints them in error messages.
pub const T_TIME: &str = "time.Time";
pub const T_AM_DATA: &str = "*template.Data";
pub const T_AM_ALERT: &str = "template.Alert";
pub const T_AM_PAIR: &str = "template.Pair";
pub const T_PROM_DATA: &str =
    "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }";
pub const T_PROM_SAMPLE: &str = "*template.sample";

/// Field order of each struct type, for `%v` printing (`{a b c}`).
pub fn struct_fields(type_name: &str) -> &'static [&'static str] {
    match type_name {
        T_AM_DATA => &[
            "Receiver",
            "Status",
            "Alerts",
            "GroupLabels",
            "CommonLabels",
            "CommonAnnotations",
            "ExternalURL",
        ],
        T_AM_ALERT => &[
            "Status",
            "Labels",
            "Annotations",
            "StartsAt",
            "EndsAt",
            "GeneratorURL",
            "Fingerprint",
        ],
        T_AM_PAIR => &["Name", "Value"],
        T_PROM_DATA => &["Labels", "ExternalLabels", "ExternalURL", "Value"],
        T_PROM_SAMPLE => &["Labels", "Value"],
        _ => &[],
    }
}

/// Builds a struct-like value of Go type `type_name`.
pub fn make_struct(type_name: &str, fields: Vec<(&str, Value)>) -> Value {
    let mut map: BTreeMap<Arc<str>, Value> = BTreeMap::new();
    map.insert(Arc::from(TYPE_KEY), Value::String(Arc::from(type_name)));
    for (k, v) in fields {
        map.insert(Arc::from(k), v);
    }
    Value::Map(Arc::new(map))
}

/// The Go struct type name of `v`, if it is one of ours.
pub fn struct_type(v: &Value) -> Option<&str> {
    match v {
        Value::Map(m) => match m.get(TYPE_KEY) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// A `map[string]string` (Prometheus's label maps, Alertmanager's `KV`).
pub fn string_map(m: &BTreeMap<String, String>) -> Value {
    let map: BTreeMap<Arc<str>, Value> = m
        .iter()
        .map(|(k, v)| (Arc::from(k.as_str()), Value::String(Arc::from(v.as_str()))))
        .collect();
    Value::Map(Arc::new(map))
}

/// Whether `v` is an untagged map whose values are all strings: Go's `map[string]string`.
pub fn is_string_map(v: &Value) -> bool {
    match v {
        Value::Map(m) => {
            !m.contains_key(TYPE_KEY) && m.values().all(|x| matches!(x, Value::String(_)))
        }
        _ => false,
    }
}

pub fn string_list(items: impl IntoIterator<Item = String>) -> Value {
    let list: Vec<Value> = items
        .into_iter()
        .map(|s| Value::String(Arc::from(s)))
        .collect();
    Value::List(Arc::from(list))
}

pub fn str_value(s: &str) -> Value {
    Value::String(Arc::from(s))
}

/// A Go `time.Time` in UTC: seconds since the Unix epoch and nanoseconds within the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoTime {
    pub secs: i64,
    pub nanos: u32,
}

impl GoTime {
    /// Go's zero `time.Time` (`0001-01-01 00:00:00 +0000 UTC`).
    pub const ZERO: GoTime = GoTime {
        secs: -62_135_596_800,
        nanos: 0,
    };

    pub fn from_millis(ms: i64) -> GoTime {
        GoTime {
            secs: ms.div_euclid(1000),
            nanos: u32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
        }
    }

    pub fn to_value(self) -> Value {
        make_struct(
            T_TIME,
            vec![
                (TIME_SECS, Value::Int(self.secs)),
                (TIME_NANOS, Value::Int(i64::from(self.nanos))),
            ],
        )
    }

    pub fn from_value(v: &Value) -> Option<GoTime> {
        if struct_type(v) != Some(T_TIME) {
            return None;
        }
        let secs = v.field(TIME_SECS).and_then(Value::as_int)?;
        let nanos = v.field(TIME_NANOS).and_then(Value::as_int)?;
        Some(GoTime {
            secs,
            nanos: u32::try_from(nanos).ok()?,
        })
    }
}

/// Go's name for the dynamic type of `v`, as `%T` and error messages print it.
pub fn go_type_name(v: &Value) -> String {
    if let Some(t) = struct_type(v) {
        return t.to_owned();
    }
    match v {
        Value::Nil => "<nil>".to_owned(),
        Value::Bool(_) => "bool".to_owned(),
        Value::Int(_) => "int".to_owned(),
        Value::Uint(_) => "uint".to_owned(),
        Value::Float(_) => "float64".to_owned(),
        Value::String(_) => "string".to_owned(),
        Value::Safe { .. } => "template.HTML".to_owned(),
        Value::List(items) => {
            if items.iter().all(|i| matches!(i, Value::String(_))) {
                "[]string".to_owned()
            } else if items.iter().all(|i| struct_type(i) == Some(T_AM_ALERT)) {
                "template.Alerts".to_owned()
            } else if items.iter().all(|i| struct_type(i) == Some(T_AM_PAIR)) {
                "template.Pairs".to_owned()
            } else if items.iter().all(|i| struct_type(i) == Some(T_PROM_SAMPLE)) {
                "template.queryResult".to_owned()
            } else {
                "[]interface {}".to_owned()
            }
        }
        Value::Map(_) => {
            if is_string_map(v) {
                "map[string]string".to_owned()
            } else {
                "map[string]interface {}".to_owned()
            }
        }
        Value::Function(_) => "func".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trips_through_value() {
        for t in [
            GoTime::ZERO,
            GoTime::from_millis(-1),
            GoTime::from_millis(1_500),
        ] {
            assert_eq!(GoTime::from_value(&t.to_value()), Some(t));
        }
        assert_eq!(GoTime::from_millis(-1).nanos, 999_000_000);
    }

    #[test]
    fn type_names() {
        assert_eq!(go_type_name(&Value::Float(1.0)), "float64");
        assert_eq!(go_type_name(&string_list(vec!["a".into()])), "[]string");
        assert_eq!(
            go_type_name(&string_map(&BTreeMap::new())),
            "map[string]string"
        );
        assert_eq!(go_type_name(&GoTime::ZERO.to_value()), "time.Time");
    }
}
