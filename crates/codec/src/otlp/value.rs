//! Turning OTLP values into the strings Prometheus labels carry.
//!
//! Owns: the OpenTelemetry "AnyValue representation for non-OTLP protocols" (common
//! specification) that the Prometheus compatibility specification requires for non-string
//! attribute values, Prometheus's float formatting for `le` and `quantile` label values, and the
//! small base64 codec both need (OTLP/JSON carries `bytesValue` as base64; labels show bytes as
//! base64). A dependency for forty lines of base64 was not worth it.

use std::fmt::Write as _;

use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};

/// An attribute value as a label value.
///
/// Strings as they are; booleans and integers as JSON literals; doubles as JSON numbers with
/// `NaN`, `Infinity`, `-Infinity` for the special values; bytes as standard base64; arrays and
/// maps as JSON (strings, bytes and special doubles inside them as JSON strings, empty values as
/// `null`); an empty value as the empty string.
pub(super) fn label_value(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => json_float(*d, false),
        Some(Value::BytesValue(b)) => base64_encode(b),
        // A string-table index only has meaning in OTLP profiles, which carry the table; in a
        // metrics request there is nothing to resolve it against.
        Some(Value::StringValueStrindex(_)) => String::new(),
        Some(v @ (Value::ArrayValue(_) | Value::KvlistValue(_))) => {
            let mut out = String::new();
            write_json(Some(v), &mut out);
            out
        }
    }
}

/// A double in JSON-number form; `quoted` wraps the special values in quotes (inside arrays and
/// maps, where a bare `NaN` would not be JSON).
fn json_float(d: f64, quoted: bool) -> String {
    let special = if d.is_nan() {
        "NaN"
    } else if d == f64::INFINITY {
        "Infinity"
    } else if d == f64::NEG_INFINITY {
        "-Infinity"
    } else {
        let a = d.abs();
        // Plain digits in the usual range, exponent form outside it, as JSON encoders do.
        return if a != 0.0 && !(1e-6..1e21).contains(&a) {
            format!("{d:e}")
        } else {
            d.to_string()
        };
    };
    if quoted {
        format!("\"{special}\"")
    } else {
        special.to_string()
    }
}

fn write_json_string(s: &str, out: &mut String) {
    // serde_json's string escaping cannot fail for a &str.
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        Err(_) => out.push_str("\"\""),
    }
}

fn write_json(v: Option<&Value>, out: &mut String) {
    match v {
        None | Some(Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(Value::StringValue(s)) => write_json_string(s, out),
        Some(Value::BoolValue(b)) => {
            let _ = write!(out, "{b}");
        }
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => out.push_str(&json_float(*d, true)),
        Some(Value::BytesValue(b)) => {
            out.push('"');
            out.push_str(&base64_encode(b));
            out.push('"');
        }
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for (i, e) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(e.value.as_ref(), out);
            }
            out.push(']');
        }
        Some(Value::KvlistValue(kv)) => {
            out.push('{');
            for (i, KeyValue { key, value, .. }) in kv.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_json(value.as_ref().and_then(|v| v.value.as_ref()), out);
            }
            out.push('}');
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4).
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, s) in sextets.iter().enumerate() {
            if i <= chunk.len() {
                // `s` < 64 by the mask, so the lookup cannot miss.
                out.push(char::from(B64.get(*s as usize).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        // The proto3 JSON mapping accepts both the standard and the URL-safe alphabet.
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes standard or URL-safe base64, padded or not, as the proto3 JSON mapping requires for
/// `bytes` fields.
pub(super) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let data = s.trim_end_matches('=');
    if s.len() - data.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in data.bytes() {
        acc = (acc << 6) | b64_sextet(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Masked to one byte, so the conversion is exact.
            out.push(((acc >> bits) & 0xff) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    // A single leftover sextet cannot encode a byte.
    if data.len() % 4 == 1 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn av(v: Value) -> AnyValue {
        AnyValue { value: Some(v) }
    }

    #[test]
    fn non_string_attribute_values() {
        assert_eq!(label_value(None), "");
        assert_eq!(label_value(Some(&AnyValue { value: None })), "");
        assert_eq!(
            label_value(Some(&av(Value::StringValue("a b".into())))),
            "a b"
        );
        assert_eq!(label_value(Some(&av(Value::BoolValue(true)))), "true");
        assert_eq!(label_value(Some(&av(Value::IntValue(-42)))), "-42");
        assert_eq!(label_value(Some(&av(Value::DoubleValue(2.5)))), "2.5");
        assert_eq!(label_value(Some(&av(Value::DoubleValue(3.0)))), "3");
        assert_eq!(label_value(Some(&av(Value::DoubleValue(f64::NAN)))), "NaN");
        assert_eq!(
            label_value(Some(&av(Value::DoubleValue(f64::NEG_INFINITY)))),
            "-Infinity"
        );
        assert_eq!(
            label_value(Some(&av(Value::BytesValue(b"hi!".to_vec())))),
            "aGkh"
        );
        let arr = av(Value::ArrayValue(ArrayValue {
            values: vec![
                av(Value::StringValue("x\"y".into())),
                av(Value::IntValue(1)),
                av(Value::DoubleValue(f64::INFINITY)),
                AnyValue { value: None },
                av(Value::BoolValue(false)),
            ],
        }));
        assert_eq!(
            label_value(Some(&arr)),
            r#"["x\"y",1,"Infinity",null,false]"#
        );
        let map = av(Value::KvlistValue(KeyValueList {
            values: vec![KeyValue {
                key: "k".into(),
                value: Some(av(Value::BytesValue(vec![0xff]))),
                ..Default::default()
            }],
        }));
        assert_eq!(label_value(Some(&map)), r#"{"k":"/w=="}"#);
    }

    #[test]
    fn base64_round_trips() {
        for len in 0..20u8 {
            let data: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(37).wrapping_add(200))
                .collect();
            let enc = base64_encode(&data);
            assert_eq!(enc.len() % 4, 0);
            assert_eq!(base64_decode(&enc), Some(data.clone()), "{enc}");
            assert_eq!(base64_decode(enc.trim_end_matches('=')), Some(data));
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(base64_decode("a"), None);
        assert_eq!(base64_decode("ab!c"), None);
        assert_eq!(base64_decode("ab==="), None);
    }
}
