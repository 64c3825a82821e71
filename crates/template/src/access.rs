//! The three hidden functions the lowering pass (`lower.rs`) rewrites templates into:
//!
//! - `__call HEAD CTX NAME args…`: calls a Prometheus/Alertmanager function and turns its
//!   failure into Go's message, `template: NAME:LINE:COL: executing "NAME" at <CTX>: error
//!   calling NAME: …` (the engine itself reports no positions at run time).
//! - `__field HEAD CTX N recv f1…fN args…`: Go's field and method evaluation: methods first
//!   (`.Alerts.Firing`, `.CommonLabels.SortedPairs`, `.StartsAt.Format "…"`), then struct
//!   fields (missing one → error), then map keys (missing one → zero value under
//!   `missingkey=zero`: `""` for a `map[string]string`).
//! - `__print v`: the value an action prints, formatted as Go's `fmt.Fprint` would.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::funcs::{Arity, FuncError, FuncTable};
use crate::gofmt;
use crate::gotime::{format, time_string};
use crate::value::{
    go_type_name, is_string_map, make_struct, str_value, string_list, struct_type, GoTime, Value,
    T_AM_ALERT, T_AM_PAIR,
};

pub const CALL: &str = "__call";
pub const FIELD: &str = "__field";
pub const PRINT: &str = "__print";
pub const RANGE: &str = "__range";

type EngineError = gotmpl::TemplateError;

/// Which methods exist: Alertmanager's data types have methods, Prometheus's maps do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Prometheus,
    Alertmanager,
}

fn site_error(head: &str, ctx: &str, msg: &str) -> EngineError {
    EngineError::Exec(format!("{head}{ctx}>: {msg}"))
}

fn str_at(args: &[Value], i: usize) -> &str {
    match args.get(i) {
        Some(Value::String(s)) => s,
        _ => "",
    }
}

/// `__call`.
pub fn call(table: &FuncTable, args: &[Value]) -> Result<Value, EngineError> {
    let head = str_at(args, 0);
    let ctx = str_at(args, 1);
    let name = str_at(args, 2);
    let rest = args.get(3..).unwrap_or(&[]);
    let Some(func) = table.get(name) else {
        return Err(site_error(
            head,
            name,
            &format!("{name:?} is not a defined function"),
        ));
    };
    match func.arity {
        Arity::Exact(n) if rest.len() != n => {
            return Err(site_error(
                head,
                name,
                &format!(
                    "wrong number of args for {name}: want {n} got {}",
                    rest.len()
                ),
            ))
        }
        Arity::AtLeast(n) if rest.len() < n => {
            return Err(site_error(
                head,
                name,
                &format!(
                    "wrong number of args for {name}: want at least {n} got {}",
                    rest.len()
                ),
            ))
        }
        _ => {}
    }
    (func.call)(rest).map_err(|e| match e {
        FuncError::Type(m) => site_error(head, ctx, &m),
        FuncError::Call(m) => site_error(head, ctx, &format!("error calling {name}: {m}")),
    })
}

/// `__print`: Go's printing of an action's value. Strings, booleans, integers and nil are left
/// to the engine (identical output, and nil must stay nil for `<no value>`).
pub fn print(args: &[Value]) -> Value {
    match args.last() {
        None => Value::Nil,
        Some(
            v @ (Value::Nil
            | Value::String(_)
            | Value::Safe { .. }
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Uint(_)),
        ) => v.clone(),
        Some(v) => str_value(&gofmt::to_string(v)),
    }
}

/// `__range HEAD CTX v`: passes what Go can range over (lists, maps, nil) and fails on the
/// rest, as Go's `range can't iterate over …` (the engine would iterate a struct's keys or
/// count up to a number).
pub fn range(args: &[Value]) -> Result<Value, EngineError> {
    let v = args.get(2).cloned().unwrap_or(Value::Nil);
    match &v {
        Value::List(_) | Value::Nil => Ok(v),
        Value::Map(_) if struct_type(&v).is_none() => Ok(v),
        other => Err(site_error(
            str_at(args, 0),
            str_at(args, 1),
            &format!("range can't iterate over {}", gofmt::to_string(other)),
        )),
    }
}

/// `__field`.
pub fn field(flavor: Flavor, args: &[Value]) -> Result<Value, EngineError> {
    let head = str_at(args, 0);
    let ctx = str_at(args, 1);
    let n = match args.get(2) {
        Some(Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    let mut v = args.get(3).cloned().unwrap_or(Value::Nil);
    let names = args.get(4..4 + n).unwrap_or(&[]);
    let extra = args.get(4 + n..).unwrap_or(&[]);
    for (i, name) in names.iter().enumerate() {
        let name = match name {
            Value::String(s) => s.as_ref(),
            _ => "",
        };
        let last = i + 1 == names.len();
        let call_args = if last { extra } else { &[] };
        v = step(flavor, &v, name, call_args).map_err(|m| site_error(head, ctx, &m))?;
    }
    Ok(v)
}

/// One `.name` step on `v`, with `args` if it is the last one of a command.
fn step(flavor: Flavor, v: &Value, name: &str, args: &[Value]) -> Result<Value, String> {
    if let Some(result) = method(flavor, v, name, args) {
        return result;
    }
    if name.starts_with('\u{0}') {
        return Err(format!(
            "can't evaluate field {name} in type {}",
            go_type_name(v)
        ));
    }
    if let Some(t) = struct_type(v) {
        return match v.field(name) {
            Some(f) if args.is_empty() => Ok(f.clone()),
            Some(_) => Err(format!(
                "{name} has arguments but cannot be invoked as function"
            )),
            None => Err(format!("can't evaluate field {name} in type {t}")),
        };
    }
    match v {
        Value::Map(m) => {
            if !args.is_empty() {
                return Err(format!("{name} is not a method but has arguments"));
            }
            Ok(match m.get(name) {
                Some(x) => x.clone(),
                // missingkey=zero: the zero value of the map's element type.
                None if is_string_map(v) => str_value(""),
                None => Value::Nil,
            })
        }
        Value::Nil => Ok(Value::Nil),
        other => Err(format!(
            "can't evaluate field {name} in type {}",
            go_type_name(other)
        )),
    }
}

fn want_args(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ))
    }
}

/// A method of `v`'s Go type, if it has one by that name.
fn method(flavor: Flavor, v: &Value, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
    if let Some(t) = GoTime::from_value(v) {
        return time_method(t, name, args);
    }
    if flavor == Flavor::Prometheus {
        return None;
    }
    match v {
        Value::Map(m) if is_string_map(v) => {
            let pairs = || -> Vec<(String, String)> {
                let mut out: Vec<(String, String)> = m
                    .iter()
                    .map(|(k, x)| (k.to_string(), x.as_str().unwrap_or("").to_owned()))
                    .collect();
                // SortedPairs puts `alertname` first, the rest sorted by name.
                if let Some(i) = out.iter().position(|(k, _)| k == "alertname") {
                    let p = out.remove(i);
                    out.insert(0, p);
                }
                out
            };
            let result = match name {
                "SortedPairs" => want_args(name, args, 0).map(|()| {
                    let list: Vec<Value> = pairs()
                        .into_iter()
                        .map(|(k, x)| {
                            make_struct(
                                T_AM_PAIR,
                                vec![("Name", str_value(&k)), ("Value", str_value(&x))],
                            )
                        })
                        .collect();
                    Value::List(Arc::from(list))
                }),
                "Names" => want_args(name, args, 0)
                    .map(|()| string_list(pairs().into_iter().map(|(k, _)| k))),
                "Values" => want_args(name, args, 0)
                    .map(|()| string_list(pairs().into_iter().map(|(_, x)| x))),
                "Remove" => want_args(name, args, 1).and_then(|()| {
                    let keys =
                        string_items(args.first().unwrap_or(&Value::Nil)).ok_or_else(|| {
                            format!(
                                "wrong type for value; expected []string; got {}",
                                go_type_name(args.first().unwrap_or(&Value::Nil))
                            )
                        })?;
                    let kept: BTreeMap<Arc<str>, Value> = m
                        .iter()
                        .filter(|(k, _)| !keys.iter().any(|r| r == k.as_ref()))
                        .map(|(k, x)| (k.clone(), x.clone()))
                        .collect();
                    Ok(Value::Map(Arc::new(kept)))
                }),
                _ => return None,
            };
            Some(result)
        }
        Value::List(items) => {
            let all = |t: &str| items.iter().all(|x| struct_type(x) == Some(t));
            match name {
                "Firing" | "Resolved" if all(T_AM_ALERT) => {
                    Some(want_args(name, args, 0).map(|()| {
                        let status = if name == "Firing" {
                            "firing"
                        } else {
                            "resolved"
                        };
                        let list: Vec<Value> = items
                            .iter()
                            .filter(|a| a.field("Status").and_then(Value::as_str) == Some(status))
                            .cloned()
                            .collect();
                        Value::List(Arc::from(list))
                    }))
                }
                "Names" | "Values" if all(T_AM_PAIR) => Some(want_args(name, args, 0).map(|()| {
                    let key = if name == "Names" { "Name" } else { "Value" };
                    string_list(items.iter().map(|p| {
                        p.field(key)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned()
                    }))
                })),
                _ => None,
            }
        }
        _ => None,
    }
}

fn string_items(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::List(items) => items
            .iter()
            .map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Value::Nil => Some(Vec::new()),
        _ => None,
    }
}

fn time_method(t: GoTime, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
    let r = match name {
        "String" => want_args(name, args, 0).map(|()| str_value(&time_string(t))),
        "Format" => want_args(name, args, 1).and_then(|()| match args.first() {
            Some(Value::String(layout)) => Ok(str_value(&format(t, layout))),
            other => Err(format!(
                "wrong type for value; expected string; got {}",
                go_type_name(other.unwrap_or(&Value::Nil))
            )),
        }),
        "Unix" => want_args(name, args, 0).map(|()| Value::Int(t.secs)),
        "UnixMilli" => want_args(name, args, 0).map(|()| {
            Value::Int(
                t.secs
                    .saturating_mul(1000)
                    .saturating_add(i64::from(t.nanos / 1_000_000)),
            )
        }),
        "UnixNano" => want_args(name, args, 0).map(|()| {
            Value::Int(
                t.secs
                    .wrapping_mul(1_000_000_000)
                    .wrapping_add(i64::from(t.nanos)),
            )
        }),
        "UTC" | "Local" => want_args(name, args, 0).map(|()| t.to_value()),
        "IsZero" => want_args(name, args, 0).map(|()| Value::Bool(t == GoTime::ZERO)),
        "Year" => want_args(name, args, 0).map(|()| {
            let s = format(t, "2006");
            Value::Int(s.parse().unwrap_or(0))
        }),
        _ => return None,
    };
    Some(r)
}
