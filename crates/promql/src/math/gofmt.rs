//! Go's `%g` float formatting, which upstream's annotation texts (`got 1.5`, `from buckets 0.1
//! to +Inf`, `max diff of 5e+02`) and `histogram_quantiles`' label values are written in. It
//! differs from Rust's `Display` in when it switches to exponent form and how it writes the
//! exponent (`1e+06`, not `1e6`).

/// `strconv.FormatFloat(f, 'g', -1, 64)`, i.e. `%g`/`%v` without precision (`+Inf` signed).
pub fn format_g(f: f64) -> String {
    format_g_prec(f, None)
}

/// `%.Ng` for `Some(N)` (N significant digits), `%g` for `None`.
pub(crate) fn format_g_prec(f: f64, prec: Option<usize>) -> String {
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

/// The shortest decimal that reads back as `f`, in `{:e}` form, choosing between equally close
/// candidates as Go does (the even last digit): Rust's `Display` rounds such ties up, so
/// `0.190799713134765625` would print as `…563` where Go prints `…562`.
fn shortest_sci(f: f64) -> String {
    let shortest = format!("{f:e}");
    let digits = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.bytes().filter(u8::is_ascii_digit).count());
    // Exact formatting to the same number of digits picks the nearest decimal, ties to even.
    let nearest = format!("{:.*e}", digits.saturating_sub(1), f);
    if nearest
        .parse::<f64>()
        .is_ok_and(|back| back.to_bits() == f.to_bits())
    {
        nearest
    } else {
        shortest
    }
}

/// `strconv.FormatFloat(f, 'e', -1, 64)`: the shortest decimal in exponent form with Go's
/// exponent spelling (`1e-07`, `1.5e+21`).
pub fn format_e(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let sci = shortest_sci(f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let esign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{mantissa}e{esign}{:02}", exp.unsigned_abs())
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest decimal that reads back as `f`, never in
/// exponent form (`1e21` is `1000000000000000000000`), `+Inf`/`-Inf`/`NaN` as Prometheus writes
/// them.
pub fn format_f(f: f64) -> String {
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
    let sci = shortest_sci(f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let nd = i64::try_from(digits.len()).unwrap_or(1);
    let mut out = String::from(sign);
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else if exp + 1 >= nd {
        out.push_str(&digits);
        for _ in 0..(exp + 1 - nd) {
            out.push('0');
        }
    } else {
        let int_len = usize::try_from(exp + 1).unwrap_or(1);
        out.push_str(digits.get(..int_len).unwrap_or(""));
        out.push('.');
        out.push_str(digits.get(int_len..).unwrap_or(""));
    }
    out
}

/// Prometheus's `FormatOpenMetricsFloat`: `%g`, with `.0` appended to integral values.
pub(crate) fn format_openmetrics(f: f64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
