//! Numbers as Prometheus's Go code prints them, so that responses compare byte for byte:
//! sample values in JSON (`jsonutil.MarshalFloat`; scalars `FormatFloat(v, 'f')`), timestamps in
//! JSON
//! (`jsonutil.MarshalTimestamp`), and sample values in the text exposition format
//! (`expfmt`'s `writeFloat`).
//!
//! The digits come from `vigil_model`'s Go formatting (shortest round-trip decimal, ties to
//! the even digit as Go breaks them; Rust's `Display` breaks them upwards).

use std::fmt::Write;

fn special(out: &mut String, v: f64) -> bool {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        return false;
    }
    true
}

/// A sample value as the JSON API writes it, without the surrounding quotes: the shortest
/// decimal, in exponent form below 1e-6 and from 1e21 in magnitude; `NaN`, `+Inf`, `-Inf`.
pub fn json_float(out: &mut String, v: f64) {
    if special(out, v) {
        return;
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go's `strconv.AppendFloat(v, 'e', -1, 64)`.
        vigil_model::go_write_e(out, v);
    } else {
        vigil_model::go_write_f(out, v);
    }
}

/// A scalar result's value, without the quotes: Prometheus marshals scalars with
/// `strconv.FormatFloat(v, 'f', -1, 64)` (`promql.Scalar.MarshalJSON`), never in exponent form,
/// unlike vector and matrix samples.
pub fn json_scalar(out: &mut String, v: f64) {
    if !special(out, v) {
        vigil_model::go_write_f(out, v);
    }
}

/// A sample's millisecond timestamp as the JSON API writes it (`jsonutil.MarshalTimestamp`):
/// seconds, and when there is a fraction, always three decimals (`1435781451.781`,
/// `1435781451.500`, `1435781451`).
pub fn json_timestamp(out: &mut String, t: i64) {
    if t < 0 {
        out.push('-');
    }
    let t = t.unsigned_abs();
    let _ = write!(out, "{}", t / 1000);
    let frac = t % 1000;
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
    }
}

/// A scalar or string result's timestamp: Prometheus marshals `float64(t) / 1000` with
/// `encoding/json`, the shortest decimal (`1435781451.5`). For millisecond timestamps that is
/// the exact quotient with trailing zeros dropped.
pub fn json_seconds(out: &mut String, t: i64) {
    if t < 0 {
        out.push('-');
    }
    let t = t.unsigned_abs();
    let _ = write!(out, "{}", t / 1000);
    let mut frac = t % 1000;
    if frac != 0 {
        let mut width = 3;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        let _ = write!(out, ".{frac:0width$}");
    }
}

/// A sample value in the text exposition format: Go's `'g'` format with the shortest
/// precision (exponent form when the decimal exponent is below -4 or 6 and above), with
/// `0`, `1`, `-1`, `NaN`, `+Inf`, `-Inf` spelled as `expfmt` spells them.
pub fn text_float(out: &mut String, v: f64) {
    if special(out, v) {
        return;
    }
    if v == 0.0 {
        out.push('0');
        return;
    }
    out.push_str(&vigil_model::go_format_g(v));
}

/// A string as a JSON string literal, quotes included, escaped as Go's `encoding/json` (and
/// jsoniter's standard-library mode) escapes it: `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX`
/// too, so that bodies match Prometheus's byte for byte.
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(v: f64) -> String {
        let mut s = String::new();
        json_float(&mut s, v);
        s
    }
    fn t(v: f64) -> String {
        let mut s = String::new();
        text_float(&mut s, v);
        s
    }
    fn ts(v: i64) -> String {
        let mut s = String::new();
        json_timestamp(&mut s, v);
        s
    }

    #[test]
    fn json_floats_like_marshal_float() {
        assert_eq!(j(1.0), "1");
        assert_eq!(j(0.1), "0.1");
        assert_eq!(j(1234567.0), "1234567");
        assert_eq!(j(1e20), "100000000000000000000");
        assert_eq!(j(1e21), "1e+21");
        assert_eq!(j(1.5e-7), "1.5e-07");
        assert_eq!(j(0.000001), "0.000001");
        assert_eq!(j(-2.5e300), "-2.5e+300");
        assert_eq!(j(0.0), "0");
        assert_eq!(j(f64::NAN), "NaN");
        assert_eq!(j(f64::INFINITY), "+Inf");
        assert_eq!(j(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn scalars_never_in_exponent_form() {
        let mut s = String::new();
        json_scalar(&mut s, 1e21);
        s.push(' ');
        json_scalar(&mut s, 1e-7);
        s.push(' ');
        json_scalar(&mut s, f64::NEG_INFINITY);
        assert_eq!(s, "1000000000000000000000 0.0000001 -Inf");
    }

    #[test]
    fn timestamps_like_marshal_timestamp() {
        assert_eq!(ts(1_435_781_451_781), "1435781451.781");
        assert_eq!(ts(1_435_781_451_500), "1435781451.500");
        assert_eq!(ts(1_435_781_451_050), "1435781451.050");
        assert_eq!(ts(1_435_781_451_001), "1435781451.001");
        assert_eq!(ts(1_435_781_451_000), "1435781451");
        assert_eq!(ts(-1500), "-1.500");
        assert_eq!(ts(0), "0");
        let mut s = String::new();
        json_seconds(&mut s, 1_435_781_451_500);
        s.push(' ');
        json_seconds(&mut s, 1_435_781_451_050);
        s.push(' ');
        json_seconds(&mut s, 4000);
        assert_eq!(s, "1435781451.5 1435781451.05 4");
    }

    #[test]
    fn text_floats_like_expfmt() {
        assert_eq!(t(1.0), "1");
        assert_eq!(t(-1.0), "-1");
        assert_eq!(t(-0.0), "0");
        assert_eq!(t(123456.0), "123456");
        assert_eq!(t(1234567.0), "1.234567e+06");
        assert_eq!(t(1e6), "1e+06");
        assert_eq!(t(0.0001), "0.0001");
        assert_eq!(t(0.00001), "1e-05");
        assert_eq!(t(1.7e9), "1.7e+09");
        assert_eq!(t(f64::NAN), "NaN");
        assert_eq!(t(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn strings_escaped() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\nd\u{1}é<>&");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é\u003c\u003e\u0026""#);
    }
}
