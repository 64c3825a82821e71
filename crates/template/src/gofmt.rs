//! Go's `fmt.Sprint`, `fmt.Sprintln` and `fmt.Sprintf` over template values, so that
//! `print`, `println`, `printf` and the printing of an action's result match Go byte for byte.
//!
//! The engine's own printing uses Rust's float formatting (`1e21` prints as
//! `1000000000000000000000`, `+Inf` as `inf`), and its `printf` truncates floats under `%d`;
//! both differ from Go for values alert templates see every day (`$value`), hence this module.
//! Floats go through `vigil_model`'s port of `strconv.FormatFloat`.

use std::fmt::Write;

use vigil_model::go_format_g_prec;
/// `strconv.Quote` (or `QuoteToASCII` with `ascii`).
pub use vigil_model::go_quote as quote;

use crate::gotime::time_string;
use crate::value::{go_type_name, struct_fields, struct_type, GoTime, Value, TYPE_KEY, T_TIME};

/// `fmt.Sprint(args...)`: a space between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = true;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_) | Value::Safe { .. });
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_value(&mut out, a, &Spec::default(), 'v', 0);
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln(args...)`: spaces between all operands and a trailing newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a, &Spec::default(), 'v', 0);
    }
    out.push('\n');
    out
}

/// `fmt.Sprint(v)` of one value (`%v`).
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, &Spec::default(), 'v', 0);
    out
}

#[derive(Default, Clone)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Width and precision are capped so that a hostile format cannot allocate gigabytes.
const MAX_WIDTH: usize = 1 << 16;

/// A width or precision taken from an argument (`*`), capped at [`MAX_WIDTH`].
fn capped(n: u64) -> usize {
    usize::try_from(n).unwrap_or(MAX_WIDTH).min(MAX_WIDTH)
}

/// `fmt.Sprintf(format, args...)`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    let mut argn = 0usize;
    let mut reordered = false;
    while i < chars.len() {
        let c = chars.get(i).copied().unwrap_or('%');
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let mut spec = Spec::default();
        while let Some(&f) = chars.get(i) {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            i += 1;
        }
        let mut good_index = true;
        // Argument index before the width.
        reordered |= explicit_index(&chars, &mut i, args.len(), &mut argn, &mut good_index);
        if chars.get(i) == Some(&'*') {
            i += 1;
            match int_arg(args, &mut argn) {
                Some(w) => {
                    if w < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = Some(capped(w.unsigned_abs()));
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
        } else {
            spec.width = parse_num(&chars, &mut i);
        }
        if chars.get(i) == Some(&'.') {
            i += 1;
            reordered |= explicit_index(&chars, &mut i, args.len(), &mut argn, &mut good_index);
            if chars.get(i) == Some(&'*') {
                i += 1;
                match int_arg(args, &mut argn) {
                    Some(p) if p >= 0 => spec.prec = Some(capped(p.unsigned_abs())),
                    _ => out.push_str("%!(BADPREC)"),
                }
            } else {
                spec.prec = Some(parse_num(&chars, &mut i).unwrap_or(0));
            }
        }
        reordered |= explicit_index(&chars, &mut i, args.len(), &mut argn, &mut good_index);
        let Some(&verb) = chars.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good_index {
            let _ = write!(out, "%!{verb}(BADINDEX)");
            continue;
        }
        let Some(arg) = args.get(argn) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argn += 1;
        if verb == 'T' {
            pad(&mut out, &go_type_name(arg), &spec);
            continue;
        }
        write_value(&mut out, arg, &spec, verb, 0);
    }
    if !reordered && argn < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, a) in args.iter().skip(argn).enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            if matches!(a, Value::Nil) {
                out.push_str("<nil>");
            } else {
                let _ = write!(out, "{}=", go_type_name(a));
                write_value(&mut out, a, &Spec::default(), 'v', 0);
            }
        }
        out.push(')');
    }
    out
}

fn parse_num(chars: &[char], i: &mut usize) -> Option<usize> {
    let start = *i;
    let mut n: usize = 0;
    while let Some(d) = chars.get(*i).and_then(|c| c.to_digit(10)) {
        n = n
            .saturating_mul(10)
            .saturating_add(usize::try_from(d).unwrap_or(0));
        *i += 1;
    }
    (*i > start).then_some(n.min(MAX_WIDTH))
}

/// An explicit argument index (`[n]`) at `chars[*i]`, which Go allows before the width, before
/// the precision and before the verb: moves `argn` to it, or clears `good_index` when it is
/// malformed or out of range. Returns whether there was one (the format is then reordered).
fn explicit_index(
    chars: &[char],
    i: &mut usize,
    nargs: usize,
    argn: &mut usize,
    good_index: &mut bool,
) -> bool {
    if chars.get(*i) != Some(&'[') {
        return false;
    }
    match parse_index(chars, i, nargs) {
        Some(n) => *argn = n,
        None => *good_index = false,
    }
    true
}

/// Parses `[n]` at `chars[*i]`; returns the zero-based argument index if valid.
fn parse_index(chars: &[char], i: &mut usize, nargs: usize) -> Option<usize> {
    *i += 1;
    let n = parse_num(chars, i);
    if chars.get(*i) != Some(&']') {
        // Skip to the closing bracket, as Go does, and report a bad index.
        while let Some(&c) = chars.get(*i) {
            *i += 1;
            if c == ']' {
                break;
            }
        }
        return None;
    }
    *i += 1;
    match n {
        Some(n) if n >= 1 && n <= nargs => Some(n - 1),
        _ => None,
    }
}

fn int_arg(args: &[Value], argn: &mut usize) -> Option<i64> {
    let v = args.get(*argn)?;
    *argn += 1;
    match v {
        Value::Int(n) => Some(*n),
        Value::Uint(n) => i64::try_from(*n).ok(),
        _ => None,
    }
}

/// Pads `s` to the spec's width with spaces (numbers handle zero padding themselves).
fn pad(out: &mut String, s: &str, spec: &Spec) {
    let len = s.chars().count();
    let fill = spec.width.unwrap_or(0).saturating_sub(len);
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

/// Pads a formatted number: zero padding goes after the sign.
fn pad_number(out: &mut String, s: &str, spec: &Spec, allow_zero: bool) {
    let len = s.chars().count();
    let width = spec.width.unwrap_or(0);
    if spec.zero && allow_zero && !spec.minus && len < width {
        let (sign, digits) = match s.as_bytes().first() {
            Some(b'+' | b'-' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', width - len));
        out.push_str(digits);
    } else {
        pad(out, s, spec);
    }
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    if matches!(v, Value::Nil) {
        let _ = write!(out, "%!{verb}(<nil>)");
        return;
    }
    let _ = write!(out, "%!{verb}({}=", go_type_name(v));
    write_value(out, v, &Spec::default(), 'v', 0);
    out.push(')');
}

/// Formats one operand with `verb`, recursing into lists, maps and structs as Go's
/// `printValue` does (the verb applies to each element).
fn write_value(out: &mut String, v: &Value, spec: &Spec, verb: char, depth: usize) {
    match v {
        Value::Nil => match verb {
            'v' => pad(out, "<nil>", spec),
            _ => bad_verb(out, verb, v),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, verb, v),
        },
        Value::Int(n) => write_int(out, i128::from(*n), spec, verb, v),
        Value::Uint(n) => write_int(out, i128::from(*n), spec, verb, v),
        Value::Float(f) => write_float(out, *f, spec, verb, v),
        Value::String(s) => write_str(out, s, spec, verb, v),
        Value::Safe { s, .. } => write_str(out, s, spec, verb, v),
        Value::Function(_) => bad_verb(out, verb, v),
        Value::List(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                write_value(out, item, spec, verb, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            if let Some(t) = struct_type(v) {
                write_struct(out, v, t, spec, verb, depth);
                return;
            }
            out.push_str("map[");
            for (k, (key, val)) in m.iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                write_str(out, key, spec, verb, &Value::String(key.clone()));
                out.push(':');
                write_value(out, val, spec, verb, depth + 1);
            }
            out.push(']');
        }
    }
}

fn write_struct(out: &mut String, v: &Value, t: &str, spec: &Spec, verb: char, depth: usize) {
    if t == T_TIME {
        let s = GoTime::from_value(v).map(time_string).unwrap_or_default();
        match verb {
            'v' | 's' | 'q' | 'x' | 'X' => write_str(out, &s, spec, verb, &Value::Nil),
            _ => bad_verb(out, verb, &Value::String(s.into())),
        }
        return;
    }
    if t.starts_with('*') {
        if depth > 0 {
            // Go prints nested pointers as addresses; there is no address to print.
            out.push_str("0xc000000000");
            return;
        }
        out.push('&');
    }
    out.push('{');
    for (k, name) in struct_fields(t).iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        if spec.plus && verb == 'v' {
            out.push_str(name);
            out.push(':');
        }
        let field = v.field(name).cloned().unwrap_or(Value::Nil);
        write_value(out, &field, spec, verb, depth + 1);
    }
    if struct_fields(t).is_empty() {
        if let Value::Map(m) = v {
            let fields = m.iter().filter(|(k, _)| k.as_ref() != TYPE_KEY);
            for (k, (_, val)) in fields.enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                write_value(out, val, spec, verb, depth + 1);
            }
        }
    }
    out.push('}');
}

fn write_str(out: &mut String, s: &str, spec: &Spec, verb: char, v: &Value) {
    match verb {
        'v' | 's' => {
            let s = match spec.prec {
                Some(p) => s.chars().take(p).collect::<String>(),
                None => s.to_owned(),
            };
            pad(out, &s, spec);
        }
        'q' => {
            let q = if spec.sharp
                && !s.contains('`')
                && !s.chars().any(|c| c.is_control() && c != '\t')
            {
                format!("`{s}`")
            } else {
                quote(s, spec.plus)
            };
            pad(out, &q, spec);
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (k, b) in s.bytes().enumerate() {
                if k > 0 && spec.space {
                    h.push(' ');
                }
                if spec.sharp && (k == 0 || spec.space) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    let _ = write!(h, "{b:02x}");
                } else {
                    let _ = write!(h, "{b:02X}");
                }
            }
            pad(out, &h, spec);
        }
        _ => bad_verb(out, verb, v),
    }
}

fn write_int(out: &mut String, n: i128, spec: &Spec, verb: char, v: &Value) {
    let neg = n < 0;
    let mag = n.unsigned_abs();
    let (digits, prefix) = match verb {
        'd' | 'v' => (mag.to_string(), ""),
        'x' => (format!("{mag:x}"), if spec.sharp { "0x" } else { "" }),
        'X' => (format!("{mag:X}"), if spec.sharp { "0X" } else { "" }),
        'o' => (format!("{mag:o}"), if spec.sharp { "0" } else { "" }),
        'O' => (format!("{mag:o}"), "0o"),
        'b' => (format!("{mag:b}"), if spec.sharp { "0b" } else { "" }),
        'c' => {
            let c = u32::try_from(n)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad(out, &c.to_string(), spec);
            return;
        }
        'q' => {
            let c = u32::try_from(n)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            let q = quote(&c.to_string(), spec.plus);
            let inner = q
                .get(1..q.len().saturating_sub(1))
                .unwrap_or("")
                .replace("\\\"", "\"");
            let inner = if c == '\'' { "\\'".to_owned() } else { inner };
            pad(out, &format!("'{inner}'"), spec);
            return;
        }
        'U' => {
            let mut s = format!("U+{mag:04X}");
            if spec.sharp {
                if let Some(c) = u32::try_from(n).ok().and_then(char::from_u32) {
                    if !c.is_control() {
                        let _ = write!(s, " '{c}'");
                    }
                }
            }
            pad(out, &s, spec);
            return;
        }
        _ => {
            bad_verb(out, verb, v);
            return;
        }
    };
    let mut digits = digits;
    if let Some(p) = spec.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let body = format!("{sign}{prefix}{digits}");
    pad_number(out, &body, spec, spec.prec.is_none());
}

fn write_float(out: &mut String, f: f64, spec: &Spec, verb: char, v: &Value) {
    if !matches!(verb, 'v' | 'g' | 'G' | 'f' | 'F' | 'e' | 'E') {
        bad_verb(out, verb, v);
        return;
    }
    if f.is_nan() || f.is_infinite() {
        // Go never zero-pads these, and shows a sign on NaN only when asked.
        let s = if f.is_nan() {
            if spec.plus {
                "+NaN"
            } else if spec.space {
                " NaN"
            } else {
                "NaN"
            }
        } else if f < 0.0 {
            "-Inf"
        } else if spec.space && !spec.plus {
            " Inf"
        } else {
            "+Inf"
        };
        pad(out, s, spec);
        return;
    }
    let mut s = match verb {
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), f),
        'e' | 'E' => exp_form(f, spec.prec.unwrap_or(6)),
        'g' | 'G' => go_format_g_prec(f, spec.prec.map(|p| p.max(1))),
        _ => go_format_g_prec(f, spec.prec),
    };
    if matches!(verb, 'G' | 'E') {
        s = s.replace('e', "E");
    }
    if spec.sharp && matches!(verb, 'v' | 'g' | 'G') && !s.contains('.') {
        // `%#g` keeps the decimal point; trailing zeros are not restored (rare in templates).
        match s.find(['e', 'E']) {
            Some(p) => s.insert(p, '.'),
            None => s.push('.'),
        }
    }
    if !s.starts_with('-') {
        if spec.plus {
            s.insert(0, '+');
        } else if spec.space {
            s.insert(0, ' ');
        }
    }
    pad_number(out, &s, spec, true);
}

/// `%.Ne`: Rust's exponent form with Go's `e+06` exponent.
fn exp_form(f: f64, prec: usize) -> String {
    let raw = format!("{:.*e}", prec, f);
    match raw.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            let zero = if digits.len() < 2 { "0" } else { "" };
            format!("{m}e{sign}{zero}{digits}")
        }
        None => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{str_value, string_list, string_map};

    fn f(x: f64) -> Value {
        Value::Float(x)
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(to_string(&f(1e21)), "1e+21");
        assert_eq!(to_string(&f(f64::INFINITY)), "+Inf");
        assert_eq!(to_string(&f(f64::NEG_INFINITY)), "-Inf");
        assert_eq!(to_string(&f(f64::NAN)), "NaN");
        assert_eq!(to_string(&f(0.1)), "0.1");
        assert_eq!(to_string(&f(-0.0)), "-0");
        assert_eq!(to_string(&f(123456789.0)), "1.23456789e+08");
    }

    #[test]
    fn printf_verbs() {
        let cases: Vec<(&str, Vec<Value>, &str)> = vec![
            ("%s", vec![str_value("x")], "x"),
            ("%d", vec![Value::Int(-42)], "-42"),
            ("%05d", vec![Value::Int(-42)], "-0042"),
            ("%.2f", vec![f(1.23456)], "1.23"),
            ("%.2f", vec![f(f64::INFINITY)], "+Inf"),
            ("%6.2f|", vec![f(f64::NAN)], "   NaN|"),
            ("%+.1f", vec![f(2.0)], "+2.0"),
            ("%v", vec![f(1e21)], "1e+21"),
            ("%q", vec![str_value("a\"b\n")], "\"a\\\"b\\n\""),
            ("%d", vec![f(1.5)], "%!d(float64=1.5)"),
            ("%s", vec![Value::Int(5)], "%!s(int=5)"),
            ("%s", vec![Value::Nil], "%!s(<nil>)"),
            ("%d %d", vec![Value::Int(1)], "1 %!d(MISSING)"),
            (
                "%d",
                vec![Value::Int(1), str_value("x")],
                "1%!(EXTRA string=x)",
            ),
            ("%e", vec![f(1234.5678)], "1.234568e+03"),
            ("%g", vec![f(1e-7)], "1e-07"),
            ("%.3g", vec![f(1234.5678)], "1.23e+03"),
            ("%x", vec![Value::Int(255)], "ff"),
            ("%#x", vec![Value::Int(255)], "0xff"),
            ("%-5s|", vec![str_value("ab")], "ab   |"),
            ("%5.1s|", vec![str_value("ab")], "    a|"),
            ("%t", vec![Value::Bool(true)], "true"),
            (
                "%v",
                vec![string_list(vec!["a".into(), "b".into()])],
                "[a b]",
            ),
            ("%T", vec![f(1.0)], "float64"),
            ("%[2]s %[1]s", vec![str_value("a"), str_value("b")], "b a"),
            ("%c", vec![Value::Int(65)], "A"),
            ("%q", vec![Value::Int(65)], "'A'"),
            ("100%%", vec![], "100%"),
            ("%", vec![], "%!(NOVERB)"),
            ("%z", vec![Value::Int(1)], "%!z(int=1)"),
            ("%*d", vec![Value::Int(4), Value::Int(7)], "   7"),
        ];
        for (fmt, args, want) in cases {
            assert_eq!(sprintf(fmt, &args), want, "format {fmt:?}");
        }
    }

    #[test]
    fn maps_and_print() {
        let mut m = std::collections::BTreeMap::new();
        m.insert("b".to_owned(), "2".to_owned());
        m.insert("a".to_owned(), "1".to_owned());
        assert_eq!(to_string(&string_map(&m)), "map[a:1 b:2]");
        assert_eq!(
            sprint(&[Value::Int(1), Value::Int(2), str_value("x"), Value::Int(3)]),
            "1 2x3"
        );
        assert_eq!(sprintln(&[Value::Int(1), str_value("x")]), "1 x\n");
    }
}
