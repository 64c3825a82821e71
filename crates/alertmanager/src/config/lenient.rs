//! Scalar decoding as Go's `gopkg.in/yaml.v2` does it, for serde over `serde_yaml_ng::Value`.
//!
//! Alertmanager files rely on yaml.v2's YAML 1.1 habits: any scalar goes into a string field
//! (`receiver: 123`, `match: {code: 500}`), and `yes`/`no`/`on`/`off` are booleans. serde_yaml_ng
//! reads YAML 1.2, so string, boolean and integer fields go through these helpers. What cannot be
//! told apart after parsing (a quoted `"true"` for a boolean) is accepted, where yaml.v2 would
//! refuse it.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_yaml_ng::Value;

fn scalar_to_string<E: serde::de::Error>(v: Value, what: &str) -> Result<String, E> {
    match v {
        Value::String(s) => Ok(s),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Null => Ok(String::new()),
        Value::Sequence(_) => Err(E::custom(format!(
            "cannot unmarshal a sequence into {what}"
        ))),
        Value::Mapping(_) => Err(E::custom(format!("cannot unmarshal a mapping into {what}"))),
        Value::Tagged(t) => Err(E::custom(format!(
            "cannot unmarshal tag {} into {what}",
            t.tag
        ))),
    }
}

/// An optional string from any scalar; `null` is absent.
pub fn opt_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => scalar_to_string(v, "a string").map(Some),
    }
}

/// YAML 1.1 booleans, as yaml.v2 resolves them.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            Some(false)
        }
        _ => None,
    }
}

/// An optional boolean (`true`, `yes`, `on` …); `null` is absent.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) => parse_bool(&s)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("cannot unmarshal !!str `{s}` into bool"))),
        Some(v) => Err(D::Error::custom(format!(
            "cannot unmarshal {} into bool",
            describe(&v)
        ))),
    }
}

/// An optional unsigned integer; `null` is absent.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("cannot unmarshal !!int `{n}` into uint64"))),
        Some(v) => Err(D::Error::custom(format!(
            "cannot unmarshal {} into uint64",
            describe(&v)
        ))),
    }
}

/// An optional list of strings from scalars; `null` is absent.
pub fn opt_str_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Sequence(items)) => items
            .into_iter()
            .map(|v| scalar_to_string(v, "a string"))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(v) => Err(D::Error::custom(format!(
            "cannot unmarshal {} into []string",
            describe(&v)
        ))),
    }
}

/// An optional string → string map from scalars; `null` is absent.
pub fn opt_str_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Mapping(m)) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                let k: String = scalar_to_string(k, "a string")?;
                let v: String = scalar_to_string(v, "a string")?;
                if out.insert(k.clone(), v).is_some() {
                    return Err(D::Error::custom(format!("key {k:?} already set in map")));
                }
            }
            Ok(Some(out))
        }
        Some(v) => Err(D::Error::custom(format!(
            "cannot unmarshal {} into map[string]string",
            describe(&v)
        ))),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("!!bool `{b}`"),
        Value::Number(n) => format!("!!int `{n}`"),
        Value::String(s) => format!("!!str `{s}`"),
        Value::Sequence(_) => "!!seq".to_owned(),
        Value::Mapping(_) => "!!map".to_owned(),
        Value::Tagged(t) => format!("tag {}", t.tag),
    }
}
