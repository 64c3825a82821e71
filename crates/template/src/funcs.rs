//! The function table every template sees, and the functions Prometheus and Alertmanager
//! share (`toUpper`, `toLower`, `match`, `reReplaceAll`, `safeHtml`), plus Go's print
//! builtins re-done with Go's formatting.
//!
//! A function is called with already-evaluated arguments and fails with Go's error text; the
//! caller (`access.rs`) adds the `template: NAME:LINE:COL: executing … at <…>:` prefix.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::SafeKind;

use crate::gofmt::{self, quote};
use crate::value::{go_type_name, is_string_map, str_value, struct_type, Value};

/// Why a call failed: Go checks argument types before the call (no `error calling` prefix)
/// and reports the function's own error after it.
#[derive(Debug)]
pub enum FuncError {
    /// `wrong type for value; expected string; got int`
    Type(String),
    /// The function's own error (`strconv.ParseFloat: parsing "x": invalid syntax`).
    Call(String),
}

pub type FuncResult = Result<Value, FuncError>;
pub type FuncImpl = Arc<dyn Fn(&[Value]) -> FuncResult + Send + Sync>;

/// How many arguments a function takes, checked as Go's reflection-based call does.
#[derive(Debug, Clone, Copy)]
pub enum Arity {
    Exact(usize),
    AtLeast(usize),
}

#[derive(Clone)]
pub struct Func {
    pub arity: Arity,
    pub call: FuncImpl,
}

/// Named functions available to one template set.
#[derive(Clone, Default)]
pub struct FuncTable {
    pub funcs: BTreeMap<&'static str, Func>,
}

impl FuncTable {
    pub fn add(
        &mut self,
        name: &'static str,
        arity: Arity,
        f: impl Fn(&[Value]) -> FuncResult + Send + Sync + 'static,
    ) {
        self.funcs.insert(
            name,
            Func {
                arity,
                call: Arc::new(f),
            },
        );
    }

    pub fn get(&self, name: &str) -> Option<&Func> {
        self.funcs.get(name)
    }
}

/// Go's builtins that the engine evaluates itself (lazily or with Go's own semantics).
pub const ENGINE_BUILTINS: &[&str] = &["and", "or", "not", "call", "html", "js", "urlquery"];

pub fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Nil)
}

/// A `string` parameter: Go refuses any other type before calling.
pub fn str_arg(args: &[Value], i: usize) -> Result<&str, FuncError> {
    match arg(args, i) {
        Value::String(s) => Ok(s),
        other => Err(FuncError::Type(format!(
            "wrong type for value; expected string; got {}",
            go_type_name(other)
        ))),
    }
}

/// A `[]string` parameter.
pub fn str_list_arg(args: &[Value], i: usize) -> Result<Vec<String>, FuncError> {
    let v = arg(args, i);
    let wrong = || {
        FuncError::Type(format!(
            "wrong type for value; expected []string; got {}",
            go_type_name(v)
        ))
    };
    match v {
        Value::List(items) => items
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.to_string()),
                _ => Err(wrong()),
            })
            .collect(),
        Value::Nil => Ok(Vec::new()),
        _ => Err(wrong()),
    }
}

/// Prometheus's `convertToFloat`: float, string (parsed) or integer.
pub fn convert_to_float(v: &Value) -> Result<f64, FuncError> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::String(s) => parse_float(s).map_err(FuncError::Call),
        #[allow(clippy::cast_precision_loss)] // Go's float64(int) rounds the same way.
        Value::Int(n) => Ok(*n as f64),
        #[allow(clippy::cast_precision_loss)]
        Value::Uint(n) => Ok(*n as f64),
        other => Err(FuncError::Call(format!(
            "can't convert {} to float",
            go_type_name(other)
        ))),
    }
}

/// `strconv.ParseFloat(s, 64)`, with Go's error texts. Hexadecimal floats are not accepted.
pub fn parse_float(s: &str) -> Result<f64, String> {
    let syntax = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            quote(s, false)
        )
    };
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = unsigned.to_ascii_lowercase();
    if lower == "nan" && unsigned.len() != s.len() {
        return Err(syntax());
    }
    let valid_chars = lower == "nan"
        || lower == "inf"
        || lower == "infinity"
        || (!unsigned.is_empty()
            && unsigned
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')));
    if !valid_chars {
        return Err(syntax());
    }
    let f: f64 = s.parse().map_err(|_| syntax())?;
    if f.is_infinite() && lower != "inf" && lower != "infinity" {
        return Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            quote(s, false)
        ));
    }
    Ok(f)
}

/// Go's `regexp.Compile` error text (`error parsing regexp: CODE: `EXPR``) for a pattern
/// Rust's regex (same RE2 syntax) rejects: Rust's description mapped to Go's error code, and
/// the offending part of the pattern taken from Rust's caret line (the whole pattern for
/// unbalanced parentheses, as Go reports it).
pub fn regex_error(pattern: &str, err: &regex::Error) -> String {
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let detail = lines
        .iter()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or("invalid pattern");
    let code = if detail.starts_with("unclosed group") {
        "missing closing )"
    } else if detail.starts_with("unopened group") {
        "unexpected )"
    } else if detail.starts_with("unclosed character class") {
        "missing closing ]"
    } else if detail.starts_with("repetition operator missing expression") {
        "missing argument to repetition operator"
    } else if detail.starts_with("unrecognized escape sequence") {
        "invalid escape sequence"
    } else if detail.starts_with("incomplete escape sequence") {
        "trailing backslash at end of expression"
    } else if detail.starts_with("invalid character class range") {
        "invalid character class range"
    } else if detail.contains("repetition") || detail.contains("quantifier") {
        "invalid repeat count"
    } else {
        detail
    };
    let whole = code.ends_with(')');
    // Rust shows the pattern on line 2 and carets under the culprit on line 3.
    let span = match (lines.get(1), lines.get(2)) {
        (Some(p), Some(c)) if !whole && c.trim_start().starts_with('^') => {
            let start = c.len() - c.trim_start().len();
            // Go reports an unclosed class from its bracket to the end of the pattern.
            let width = if code == "missing closing ]" {
                usize::MAX
            } else {
                c.trim().chars().count()
            };
            let chars: Vec<char> = p.chars().skip(start).take(width).collect();
            Some(chars.into_iter().collect::<String>())
        }
        _ => None,
    };
    let expr = span.unwrap_or_else(|| pattern.to_owned());
    format!("error parsing regexp: {code}: `{expr}`")
}

pub fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| regex_error(pattern, &e))
}

/// `strings.Title` (Prometheus 2.42): upper-cases the first letter of every word, leaves the
/// rest alone.
pub fn strings_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        };
    }
    out
}

/// Adds the functions both products define identically, and Go's print builtins.
pub fn add_common(t: &mut FuncTable) {
    t.add("toUpper", Arity::Exact(1), |a| {
        Ok(str_value(&str_arg(a, 0)?.to_uppercase()))
    });
    t.add("toLower", Arity::Exact(1), |a| {
        Ok(str_value(&str_arg(a, 0)?.to_lowercase()))
    });
    t.add("match", Arity::Exact(2), |a| {
        let re = compile_regex(str_arg(a, 0)?).map_err(FuncError::Call)?;
        Ok(Value::Bool(re.is_match(str_arg(a, 1)?)))
    });
    t.add("reReplaceAll", Arity::Exact(3), |a| {
        let pattern = str_arg(a, 0)?;
        let repl = str_arg(a, 1)?;
        let text = str_arg(a, 2)?;
        // Go's MustCompile panics; text/template turns the panic into this error.
        let re = compile_regex(pattern).map_err(|e| {
            FuncError::Call(format!("regexp: Compile({}): {e}", backquote(pattern)))
        })?;
        Ok(str_value(&re.replace_all(text, repl)))
    });
    t.add("safeHtml", Arity::Exact(1), |a| {
        Ok(Value::Safe {
            kind: SafeKind::Html,
            s: Arc::from(str_arg(a, 0)?),
        })
    });
    add_comparisons(t);
    t.add("index", Arity::AtLeast(1), go_index);
    t.add("len", Arity::Exact(1), go_len);
    t.add("slice", Arity::AtLeast(1), go_slice);
    t.add("print", Arity::AtLeast(0), |a| {
        Ok(str_value(&gofmt::sprint(a)))
    });
    t.add("println", Arity::AtLeast(0), |a| {
        Ok(str_value(&gofmt::sprintln(a)))
    });
    t.add("printf", Arity::AtLeast(1), |a| {
        let format = str_arg(a, 0)?;
        Ok(str_value(&gofmt::sprintf(
            format,
            a.get(1..).unwrap_or(&[]),
        )))
    });
}

/// An integer index argument, as Go's `indexArg` reads it.
fn index_arg(v: &Value, len: usize) -> Result<usize, FuncError> {
    let x = match v {
        Value::Int(n) => *n,
        Value::Uint(n) => i64::try_from(*n).unwrap_or(i64::MAX),
        Value::Nil => {
            return Err(FuncError::Call(
                "cannot index slice/array with nil".to_owned(),
            ))
        }
        other => {
            return Err(FuncError::Call(format!(
                "cannot index slice/array with type {}",
                go_type_name(other)
            )))
        }
    };
    match usize::try_from(x) {
        Ok(i) if i <= len => Ok(i),
        _ => Err(FuncError::Call(format!("index out of range: {x}"))),
    }
}

/// Go's `index` builtin: a missing map key gives the element type's zero value.
fn go_index(args: &[Value]) -> FuncResult {
    let mut item = arg(args, 0).clone();
    if matches!(item, Value::Nil) {
        return Err(FuncError::Call("index of untyped nil".to_owned()));
    }
    for idx in args.iter().skip(1) {
        item = match &item {
            Value::List(items) => {
                let i = index_arg(idx, items.len())?;
                // Go checks `i > len` first, then reflect panics on `i == len`.
                items.get(i).cloned().ok_or_else(|| {
                    FuncError::Call("reflect: slice index out of range".to_owned())
                })?
            }
            Value::String(s) => {
                let i = index_arg(idx, s.len())?;
                let b = s.as_bytes().get(i).copied().ok_or_else(|| {
                    FuncError::Call("reflect: string index out of range".to_owned())
                })?;
                Value::Int(i64::from(b))
            }
            Value::Map(m) if struct_type(&item).is_none() => match idx {
                Value::String(k) => match m.get(k.as_ref()) {
                    Some(v) => v.clone(),
                    None if is_string_map(&item) => str_value(""),
                    None => Value::Nil,
                },
                other => {
                    return Err(FuncError::Call(format!(
                        "value has type {}; should be string",
                        go_type_name(other)
                    )))
                }
            },
            other => {
                return Err(FuncError::Call(format!(
                    "can't index item of type {}",
                    go_type_name(other)
                )))
            }
        };
    }
    Ok(item)
}

/// Go's `len` builtin.
fn go_len(args: &[Value]) -> FuncResult {
    let v = arg(args, 0);
    let n = match v {
        Value::String(s) => s.len(),
        Value::Safe { s, .. } => s.len(),
        Value::List(items) => items.len(),
        Value::Map(m) if struct_type(v).is_none() => m.len(),
        Value::Nil => return Err(FuncError::Call("len of nil pointer".to_owned())),
        other => {
            return Err(FuncError::Call(format!(
                "len of type {}",
                go_type_name(other)
            )))
        }
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// Go's `slice` builtin on strings and lists.
fn go_slice(args: &[Value]) -> FuncResult {
    let item = arg(args, 0);
    let idx = args.get(1..).unwrap_or(&[]);
    if matches!(item, Value::Nil) {
        return Err(FuncError::Call("slice of untyped nil".to_owned()));
    }
    if idx.len() > 3 {
        return Err(FuncError::Call(format!(
            "too many slice indexes: {}",
            idx.len()
        )));
    }
    let len = match item {
        Value::String(s) => {
            if idx.len() == 3 {
                return Err(FuncError::Call("cannot 3-index slice a string".to_owned()));
            }
            s.len()
        }
        Value::List(items) => items.len(),
        other => {
            return Err(FuncError::Call(format!(
                "can't slice item of type {}",
                go_type_name(other)
            )))
        }
    };
    let mut bounds = [0usize, len];
    for (k, v) in idx.iter().take(2).enumerate() {
        let b = index_arg(v, len)?;
        if let Some(slot) = bounds.get_mut(k) {
            *slot = b;
        }
    }
    let [lo, hi] = bounds;
    if lo > hi {
        return Err(FuncError::Call(format!("invalid slice index: {lo} > {hi}")));
    }
    match item {
        Value::String(s) => s
            .get(lo..hi)
            .map(str_value)
            .ok_or_else(|| FuncError::Call("slice: index not on a character boundary".to_owned())),
        Value::List(items) => Ok(Value::List(Arc::from(items.get(lo..hi).unwrap_or(&[])))),
        _ => Ok(Value::Nil),
    }
}

/// Go's `basicKind` classes for comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Invalid,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Uint(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) | Value::Safe { .. } => Kind::Str,
        _ => Kind::Invalid,
    }
}

fn text_of(v: &Value) -> &str {
    match v {
        Value::String(s) | Value::Safe { s, .. } => s,
        _ => "",
    }
}

const BAD_COMPARISON: &str = "incompatible types for comparison";
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

/// Go's `eq arg1 arg2…`: true if `arg1` equals any of the others. Floats compare as IEEE
/// numbers (NaN equals nothing), ints and uints compare across signedness.
fn go_eq(args: &[Value]) -> Result<bool, FuncError> {
    let a = arg(args, 0);
    let rest = args.get(1..).unwrap_or(&[]);
    if rest.is_empty() {
        return Err(FuncError::Call(
            "missing argument for comparison".to_owned(),
        ));
    }
    for b in rest {
        let truth = match (a, b) {
            (Value::Int(x), Value::Uint(y)) | (Value::Uint(y), Value::Int(x)) => {
                u64::try_from(*x).is_ok_and(|x| x == *y)
            }
            _ if kind(a) != kind(b) => {
                if matches!(a, Value::Nil) || matches!(b, Value::Nil) {
                    false
                } else {
                    return Err(FuncError::Call(BAD_COMPARISON.to_owned()));
                }
            }
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Uint(x), Value::Uint(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            _ if kind(a) == Kind::Str => text_of(a) == text_of(b),
            (Value::Nil, Value::Nil) => true,
            _ => {
                return Err(FuncError::Call(format!(
                    "non-comparable type {}: {}",
                    gofmt::to_string(b),
                    go_type_name(b)
                )))
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt arg1 arg2`.
fn go_lt(args: &[Value]) -> Result<bool, FuncError> {
    let (a, b) = (arg(args, 0), arg(args, 1));
    let (ka, kb) = (kind(a), kind(b));
    if ka == Kind::Invalid || kb == Kind::Invalid {
        return Err(FuncError::Call(BAD_COMPARISON_TYPE.to_owned()));
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Uint(y)) => *x < 0 || u64::try_from(*x).is_ok_and(|x| x < *y),
        (Value::Uint(x), Value::Int(y)) => u64::try_from(*y).is_ok_and(|y| *x < y),
        _ if ka != kb => return Err(FuncError::Call(BAD_COMPARISON.to_owned())),
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Uint(x), Value::Uint(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        _ if ka == Kind::Str => text_of(a) < text_of(b),
        _ => return Err(FuncError::Call(BAD_COMPARISON_TYPE.to_owned())),
    })
}

fn add_comparisons(t: &mut FuncTable) {
    t.add("eq", Arity::AtLeast(1), |a| go_eq(a).map(Value::Bool));
    t.add("ne", Arity::Exact(2), |a| go_eq(a).map(|e| Value::Bool(!e)));
    t.add("lt", Arity::Exact(2), |a| go_lt(a).map(Value::Bool));
    t.add("le", Arity::Exact(2), |a| {
        Ok(Value::Bool(go_lt(a)? || go_eq(a)?))
    });
    t.add("gt", Arity::Exact(2), |a| {
        Ok(Value::Bool(!(go_lt(a)? || go_eq(a)?)))
    });
    t.add("ge", Arity::Exact(2), |a| go_lt(a).map(|l| Value::Bool(!l)));
}

/// Go's `regexp` quoting of a pattern in panic messages: backquoted when possible.
fn backquote(s: &str) -> String {
    if s.contains('`') || s.chars().any(|c| c.is_control() && c != '\t') {
        quote(s, false)
    } else {
        format!("`{s}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_float_like_go() {
        assert_eq!(parse_float("1.5"), Ok(1.5));
        assert_eq!(parse_float("-Inf"), Ok(f64::NEG_INFINITY));
        assert!(parse_float("NaN").is_ok_and(f64::is_nan));
        assert_eq!(
            parse_float("x"),
            Err("strconv.ParseFloat: parsing \"x\": invalid syntax".to_owned())
        );
        assert_eq!(
            parse_float(""),
            Err("strconv.ParseFloat: parsing \"\": invalid syntax".to_owned())
        );
        assert_eq!(
            parse_float("1e400"),
            Err("strconv.ParseFloat: parsing \"1e400\": value out of range".to_owned())
        );
        assert!(parse_float("+nan").is_err());
        assert!(parse_float(" 1").is_err());
        assert!(parse_float("1_000").is_err());
    }

    #[test]
    fn title_like_strings_title() {
        assert_eq!(
            strings_title("hello wORLD foo-bar a_b"),
            "Hello WORLD Foo-Bar A_b"
        );
    }

    #[test]
    fn conversions() {
        assert!(matches!(convert_to_float(&Value::Int(3)), Ok(f) if f == 3.0));
        match convert_to_float(&Value::Bool(true)) {
            Err(FuncError::Call(m)) => assert_eq!(m, "can't convert bool to float"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
