//! Number tokens of both text formats.
//!
//! The grammar is the OpenMetrics ABNF `number`, which is also exactly what Prometheus's
//! `parseFloat` accepts (Go's `strconv.ParseFloat` with `p`, `P` and `_` refused, so no hex
//! floats and no digit separators):
//!
//! ```text
//! number     = realnumber / [sign] ("inf" / "infinity") / "nan"      ; case-insensitive
//! realnumber = [sign] 1*DIGIT ["." *DIGIT] ["e" [sign] 1*DIGIT]
//!            / [sign] *DIGIT "." 1*DIGIT ["e" [sign] 1*DIGIT]
//! ```
//!
//! A realnumber outside the f64 range is an error (Go reports `ErrRange`; the OpenMetrics
//! specification says numbers MUST fit in a float64); one that underflows becomes 0, as in Go.
//! The syntax is checked here and the conversion (correctly rounded) is left to `str::parse`.

use super::NORMAL_NAN_BITS;

/// Why a number token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumberError {
    Syntax,
    OutOfRange,
}

impl NumberError {
    pub(super) fn describe(self) -> &'static str {
        match self {
            NumberError::Syntax => "not a number",
            NumberError::OutOfRange => "out of the float64 range",
        }
    }
}

/// Parses a `number` (a real number, `±Inf`/`±Infinity` or `NaN`, case-insensitive). NaN comes
/// back with Prometheus's canonical bit pattern.
pub(super) fn parse_number(tok: &[u8]) -> Result<f64, NumberError> {
    if let Some(v) = special(tok) {
        return Ok(v);
    }
    parse_real(tok)
}

/// Parses a `realnumber` (no Inf, no NaN), as timestamps must be.
pub(super) fn parse_real(tok: &[u8]) -> Result<f64, NumberError> {
    if !is_realnumber(tok) {
        return Err(NumberError::Syntax);
    }
    // Fast path for plain integers that f64 represents exactly.
    if tok.len() <= 15 && tok.iter().all(u8::is_ascii_digit) {
        let mut n: u64 = 0;
        for &d in tok {
            n = n * 10 + u64::from(d - b'0');
        }
        // n < 10^15 < 2^53, so the conversion is exact.
        return Ok(n as f64);
    }
    let s = std::str::from_utf8(tok).map_err(|_| NumberError::Syntax)?;
    let v: f64 = s.parse().map_err(|_| NumberError::Syntax)?;
    if v.is_infinite() {
        return Err(NumberError::OutOfRange);
    }
    Ok(v)
}

fn special(tok: &[u8]) -> Option<f64> {
    let (neg, rest) = match tok.split_first() {
        Some((b'-', r)) => (true, r),
        Some((b'+', r)) => (false, r),
        _ => (false, tok),
    };
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // NaN takes no sign (ABNF; Go's ParseFloat agrees).
    if tok.eq_ignore_ascii_case(b"nan") {
        return Some(f64::from_bits(NORMAL_NAN_BITS));
    }
    None
}

fn is_realnumber(tok: &[u8]) -> bool {
    let mut i = 0;
    if matches!(tok.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let int_digits = count_digits(tok, i);
    i += int_digits;
    let mut frac_digits = 0;
    if tok.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = count_digits(tok, i);
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(tok.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(tok.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = count_digits(tok, i);
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == tok.len()
}

fn count_digits(tok: &[u8], from: usize) -> usize {
    tok.get(from..)
        .map_or(0, |t| t.iter().take_while(|b| b.is_ascii_digit()).count())
}

/// Whether `v` is a whole number (the OpenMetrics rule for counts and bucket values).
pub(super) fn is_integer(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Result<f64, NumberError> {
        parse_number(s.as_bytes())
    }

    #[test]
    fn accepts_the_abnf_forms() {
        for (s, v) in [
            ("0", 0.0),
            ("0042", 42.0),
            ("-1", -1.0),
            ("+1.5", 1.5),
            ("1.", 1.0),
            (".5", 0.5),
            ("-.5e1", -5.0),
            ("1e5", 1e5),
            ("1E+05", 1e5),
            ("1.1e-4", 1.1e-4),
            ("9223372036854775808", 9_223_372_036_854_775_808.0),
            ("0000000000000000000000000000000000000000001.2e-1", 0.12),
            ("1e-400", 0.0),
        ] {
            assert_eq!(num(s), Ok(v), "{s}");
        }
        assert_eq!(num("+Inf"), Ok(f64::INFINITY));
        assert_eq!(num("-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(num("Infinity"), Ok(f64::INFINITY));
        assert_eq!(num("-INFINITY"), Ok(f64::NEG_INFINITY));
        assert_eq!(num("NaN").map(f64::to_bits), Ok(NORMAL_NAN_BITS));
        assert_eq!(num("nan").map(f64::to_bits), Ok(NORMAL_NAN_BITS));
    }

    #[test]
    fn refuses_everything_else() {
        for s in [
            "", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "0x1", "0X1", "0x1p-3", "0x1P-3", "0b1",
            "0B1", "0o1", "1_000", "a", "1 ", " 1", "1\t", "+nan", "-NaN", "infin", "inff", "1z",
            "z",
        ] {
            assert_eq!(num(s), Err(NumberError::Syntax), "{s:?}");
        }
        assert_eq!(num("1e400"), Err(NumberError::OutOfRange));
        assert_eq!(num("-1e400"), Err(NumberError::OutOfRange));
    }

    #[test]
    fn real_refuses_specials() {
        assert_eq!(parse_real(b"NaN"), Err(NumberError::Syntax));
        assert_eq!(parse_real(b"+Inf"), Err(NumberError::Syntax));
        assert_eq!(parse_real(b"-1.5"), Ok(-1.5));
    }

    #[test]
    fn integers() {
        assert!(is_integer(3.0));
        assert!(is_integer(-0.0));
        assert!(!is_integer(1.5));
        assert!(!is_integer(f64::INFINITY));
        assert!(!is_integer(f64::NAN));
    }
}
