//! Go's float formatting (`strconv.FormatFloat` with the shortest precision, in its `'e'`, `'f'`
//! and `'g'` forms), for everything that must match Prometheus byte for byte: API values,
//! `le`/`quantile` label values, `count_values` labels, annotation texts (`got 1.5`, `max diff
//! of 5e+02`). It differs from Rust's `Display` in when it switches to exponent form, how it
//! writes the exponent (`1e+06`, not `1e6`), and how it breaks ties between equally short
//! digit strings. Also Go's string quoting (`strconv.Quote`), for names and values in messages,
//! and the two escapers Prometheus and Alertmanager apply to text they embed in URLs and
//! regular expressions (`url.QueryEscape`, `regexp.QuoteMeta`).

use std::fmt::Write;

/// `strconv.FormatFloat(f, 'g', -1, 64)`, i.e. `%g`/`%v` without precision (`+Inf` signed).
pub fn format_g(f: f64) -> String {
    format_g_prec(f, None)
}

/// `%.Ng` for `Some(N)` (N significant digits), `%g` for `None`.
pub fn format_g_prec(f: f64, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    let sci = match prec {
        None => shortest_sci(f.abs()),
        Some(p) => format!("{:.*e}", p.max(1) - 1, f.abs()),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = {
        let mut d: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        while d.len() > 1 && d.last() == Some(&b'0') {
            d.pop();
        }
        d
    };
    let nd = i64::try_from(digits.len()).unwrap_or(1);
    let dp = exp + 1;
    let (p, eprec) = match prec {
        None => (nd, 6),
        Some(p) => {
            let p = i64::try_from(p.max(1)).unwrap_or(1);
            let eprec = if p > nd && nd >= dp { nd } else { p };
            (p, eprec)
        }
    };
    let p = p.min(nd);
    let digit = |i: i64| -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .map_or('0', |&b| char::from(b))
    };
    let x = dp - 1;
    let mut out = String::from(sign);
    if x < -4 || x >= eprec {
        out.push(digit(0));
        if p > 1 {
            out.push('.');
            for i in 1..p {
                out.push(digit(i));
            }
        }
        out.push('e');
        out.push(if x < 0 { '-' } else { '+' });
        let ax = x.abs();
        if ax < 10 {
            out.push('0');
        }
        out.push_str(&ax.to_string());
    } else {
        if dp > 0 {
            for i in 0..dp {
                out.push(digit(i));
            }
        } else {
            out.push('0');
        }
        let decimals = (p - dp).max(0);
        if decimals > 0 {
            out.push('.');
            for i in 0..decimals {
                out.push(digit(dp + i));
            }
        }
    }
    out
}

/// The shortest decimal that reads back as a finite, non-negative `f`: its significant digits
/// and the position of the decimal point (Go's `decimalSlice`: value = 0.d1d2… × 10^point).
/// Digits come from Ryū, the algorithm Go's `strconv` uses for shortest formatting, so ties
/// between equally close candidates resolve the same way (to the even digit; Rust's `Display`
/// resolves them upwards: `0.190799713134765625` is `…562` in Go, `…563` in Rust).
struct Shortest {
    digits: [u8; 24],
    len: usize,
    point: i32,
}

impl Shortest {
    fn of(f: f64) -> Shortest {
        let mut buf = ryu::Buffer::new();
        let text = buf.format_finite(f.abs());
        let (mantissa, exp) = match text.split_once('e') {
            Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
            None => (text, 0),
        };
        let mut out = Shortest {
            digits: [0; 24],
            len: 0,
            point: exp,
        };
        let mut seen_point = false;
        let mut int_digits = 0i32;
        for b in mantissa.bytes() {
            if b == b'.' {
                seen_point = true;
                continue;
            }
            if !seen_point {
                int_digits += 1;
            }
            if out.len == 0 && b == b'0' {
                // Leading zeros move the point instead.
                if seen_point {
                    out.point -= 1;
                } else {
                    int_digits -= 1;
                }
                continue;
            }
            if let Some(slot) = out.digits.get_mut(out.len) {
                *slot = b;
                out.len += 1;
            }
        }
        while out.len > 1 && out.digits.get(out.len - 1) == Some(&b'0') {
            out.len -= 1;
        }
        if out.len == 0 {
            out.digits[0] = b'0';
            out.len = 1;
            out.point = 1;
            return out;
        }
        out.point += int_digits;
        out
    }

    fn digits(&self) -> &[u8] {
        self.digits.get(..self.len).unwrap_or(&[])
    }
}

fn push_digits(out: &mut String, d: &[u8]) {
    for &b in d {
        out.push(char::from(b));
    }
}

/// Appends Go's spelling of NaN and the infinities; false for finite values.
fn push_special(out: &mut String, f: f64) -> bool {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f == f64::INFINITY {
        out.push_str("+Inf");
    } else if f == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        return false;
    }
    true
}

/// Appends `strconv.FormatFloat(f, 'e', -1, 64)`: the shortest decimal in exponent form with
/// Go's exponent spelling (`1e-07`, `1.5e+21`).
pub fn write_e(out: &mut String, f: f64) {
    if push_special(out, f) {
        return;
    }
    if f.is_sign_negative() {
        out.push('-');
    }
    if f == 0.0 {
        out.push_str("0e+00");
        return;
    }
    let d = Shortest::of(f);
    let digits = d.digits();
    push_digits(out, digits.get(..1).unwrap_or(&[]));
    if digits.len() > 1 {
        out.push('.');
        push_digits(out, digits.get(1..).unwrap_or(&[]));
    }
    let exp = d.point - 1;
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let abs = exp.unsigned_abs();
    if abs < 10 {
        out.push('0');
    }
    let _ = write!(out, "{abs}");
}

/// Appends `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest decimal, never in exponent form
/// (`1e21` is `1000000000000000000000`).
pub fn write_f(out: &mut String, f: f64) {
    if push_special(out, f) {
        return;
    }
    if f.is_sign_negative() {
        out.push('-');
    }
    if f == 0.0 {
        out.push('0');
        return;
    }
    let d = Shortest::of(f);
    let digits = d.digits();
    let point = d.point;
    if point <= 0 {
        out.push_str("0.");
        for _ in point..0 {
            out.push('0');
        }
        push_digits(out, digits);
        return;
    }
    let int_len = usize::try_from(point).unwrap_or(0);
    if int_len >= digits.len() {
        push_digits(out, digits);
        for _ in digits.len()..int_len {
            out.push('0');
        }
    } else {
        push_digits(out, digits.get(..int_len).unwrap_or(&[]));
        out.push('.');
        push_digits(out, digits.get(int_len..).unwrap_or(&[]));
    }
}

/// `strconv.FormatFloat(f, 'e', -1, 64)`.
pub fn format_e(f: f64) -> String {
    let mut s = String::with_capacity(24);
    write_e(&mut s, f);
    s
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`, with `+Inf`/`-Inf`/`NaN` as Prometheus writes them.
pub fn format_f(f: f64) -> String {
    let mut s = String::with_capacity(24);
    write_f(&mut s, f);
    s
}

/// The shortest decimal of a finite non-negative `f` in `d.ddde±x` form, for `%g`.
fn shortest_sci(f: f64) -> String {
    let d = Shortest::of(f);
    let digits = d.digits();
    let mut s = String::with_capacity(24);
    push_digits(&mut s, digits.get(..1).unwrap_or(&[]));
    if digits.len() > 1 {
        s.push('.');
        push_digits(&mut s, digits.get(1..).unwrap_or(&[]));
    }
    s.push('e');
    s.push_str(&(d.point - 1).to_string());
    s
}

/// Prometheus's `FormatOpenMetricsFloat`: `%g`, with `.0` appended to integral values.
pub fn format_openmetrics(f: f64) -> String {
    if f == 0.0 {
        return "0.0".to_owned();
    }
    let s = format_g(f);
    if f.is_finite() && !s.contains(['.', 'e']) {
        format!("{s}.0")
    } else {
        s
    }
}

/// Go's `strconv.Quote` (`ascii: false`) and `strconv.QuoteToASCII` (`ascii: true`): a
/// double-quoted string with Go's escapes (`\n`, `\x01`, `\u00e9` for non-ASCII in ASCII
/// mode). Prometheus and Alertmanager print label values and names in errors this way.
/// Not printable as Go sees it, and so escaped: control characters and spaces other than
/// ASCII's; other non-printable classes (format characters, unassigned code points) are kept.
pub fn quote(s: &str, ascii: bool) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\u{7}' => q.push_str("\\a"),
            '\u{8}' => q.push_str("\\b"),
            '\u{c}' => q.push_str("\\f"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            '\u{b}' => q.push_str("\\v"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(q, "\\x{:02x}", u32::from(c));
            }
            // Go's `IsPrint` rejects every space but ASCII's (U+00A0, U+2028, ...).
            c if (ascii && !c.is_ascii()) || c.is_control() || (c.is_whitespace() && c != ' ') => {
                if u32::from(c) > 0xffff {
                    let _ = write!(q, "\\U{:08x}", u32::from(c));
                } else {
                    let _ = write!(q, "\\u{:04x}", u32::from(c));
                }
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Go's `url.QueryEscape`: unreserved bytes (`A-Z a-z 0-9 - _ . ~`) kept, space as `+`,
/// every other byte as `%XX` (upper-case hex). Prometheus builds its graph links with it
/// (`strutil.TableLinkForExpression`, the `graphLink`/`tableLink` template functions).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Go's `regexp.QuoteMeta`: a backslash before each of `\.+*?()|[]{}^$`, so that the text
/// matches itself literally inside a regular expression.
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_round_trips_with_display_length() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = f64::from_bits(x);
            if !f.is_finite() {
                continue;
            }
            let s = format_f(f);
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), f.to_bits(), "{s}");
            let e = format_e(f);
            assert_eq!(e.parse::<f64>().unwrap().to_bits(), f.to_bits(), "{e}");
            let digits = |t: &str| t.bytes().filter(u8::is_ascii_digit).count();
            let rust = format!("{:e}", f.abs());
            let ours = e.split('e').next().unwrap_or("");
            assert_eq!(
                digits(ours),
                digits(rust.split('e').next().unwrap_or("")),
                "{f:e}"
            );
        }
    }

    #[test]
    fn quote_escapes_like_strconv() {
        assert_eq!(quote("a\"b\\c\nd\x01é", false), r#""a\"b\\c\nd\x01é""#);
        assert_eq!(quote("a\u{a0}b\u{2028}", false), r#""a\u00a0b\u2028""#);
        assert_eq!(quote("é", true), r#""\u00e9""#);
    }

    #[test]
    fn query_escape_and_quote_meta_as_go() {
        assert_eq!(query_escape("up == 0"), "up+%3D%3D+0");
        assert_eq!(query_escape("a*b~-_."), "a%2Ab~-_.");
        assert_eq!(query_escape("up{job=\"a b\"}"), "up%7Bjob%3D%22a+b%22%7D");
        assert_eq!(query_escape("é"), "%C3%A9");
        assert_eq!(quote_meta("a.b+c"), "a\\.b\\+c");
        assert_eq!(quote_meta("team-a (x)"), "team-a \\(x\\)");
        assert_eq!(
            quote_meta(r"\.+*?()|[]{}^$"),
            r"\\\.\+\*\?\(\)\|\[\]\{\}\^\$"
        );
        assert_eq!(quote_meta("plain"), "plain");
    }

    #[test]
    fn e_format() {
        assert_eq!(format_e(1e-7), "1e-07");
        assert_eq!(format_e(-1.5e21), "-1.5e+21");
        assert_eq!(format_e(1.234e100), "1.234e+100");
    }

    #[test]
    fn ties_round_to_even_as_go() {
        // Both values are exactly halfway between two 17-digit decimals.
        let a: f64 = "0.190799713134765625".parse().unwrap();
        let b: f64 = "-0.130329132080078125".parse().unwrap();
        assert_eq!(format_f(a), "0.19079971313476562");
        assert_eq!(format_f(b), "-0.13032913208007812");
        assert_eq!(format_g(a), "0.19079971313476562");
    }

    #[test]
    fn f_format() {
        assert_eq!(format_f(6.0), "6");
        assert_eq!(format_f(0.1), "0.1");
        assert_eq!(format_f(123.456), "123.456");
        assert_eq!(format_f(0.005), "0.005");
        assert_eq!(format_f(2.5), "2.5");
        assert_eq!(format_f(1000.0), "1000");
        assert_eq!(format_f(0.99), "0.99");
        assert_eq!(format_f(1e21), "1000000000000000000000");
        assert_eq!(format_f(1e-7), "0.0000001");
        assert_eq!(format_f(-0.0), "-0");
        assert_eq!(format_f(f64::INFINITY), "+Inf");
        assert_eq!(format_f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_f(f64::NAN), "NaN");
    }

    #[test]
    fn shortest() {
        let cases = [
            (2.0, "2"),
            (-1.0, "-1"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e6, "1e+06"),
            (-0.0, "-0"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (1.0 / 3.0, "0.3333333333333333"),
        ];
        for (f, want) in cases {
            assert_eq!(format_g(f), want, "{f}");
        }
        assert_eq!(format_g(f64::NAN), "NaN");
    }

    #[test]
    fn with_precision() {
        assert_eq!(format_g_prec(5.0, Some(2)), "5");
        assert_eq!(format_g_prec(50.0, Some(2)), "50");
        assert_eq!(format_g_prec(500.0, Some(2)), "5e+02");
        assert_eq!(format_g_prec(12.3, Some(2)), "12");
        assert_eq!(format_g_prec(0.5, Some(2)), "0.5");
        assert_eq!(format_g_prec(1.25, Some(2)), "1.2");
        assert_eq!(format_g_prec(0.000123, Some(2)), "0.00012");
        assert_eq!(format_g_prec(0.0000123, Some(2)), "1.2e-05");
    }

    #[test]
    fn openmetrics() {
        assert_eq!(format_openmetrics(1.0), "1.0");
        assert_eq!(format_openmetrics(0.0), "0.0");
        assert_eq!(format_openmetrics(0.25), "0.25");
        assert_eq!(format_openmetrics(1e21), "1e+21");
        assert_eq!(format_openmetrics(f64::NAN), "NaN");
    }
}
