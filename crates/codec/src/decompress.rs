//! Capped decompression of request bodies.
//!
//! Owns: undoing `Content-Encoding` (`identity`, `gzip`, `snappy`) without letting a small body
//! expand past a configured size. Snappy's block format declares its decompressed length up
//! front, so that length is checked before anything is allocated; gzip does not, so it is read
//! through a `take(limit + 1)` and refused as soon as one byte too many comes out. The caller's
//! limit is the only bound: nothing here sizes a buffer from the input alone.
//!
//! Does not own: the snappy *framed* format (no ingest protocol uses it), zstd, or checking the
//! compressed size (the protocol layer does that before calling here).

use std::borrow::Cow;
use std::io::Read;

use crate::CodecError;

/// Decompresses a snappy block (the format remote_write uses), refusing output over `max_out`
/// bytes before allocating it.
///
/// # Errors
/// [`CodecError::TooLarge`] when the declared length is over `max_out`;
/// [`CodecError::Decompress`] when the block is corrupt.
pub fn snappy_block(input: &[u8], max_out: u64) -> Result<Vec<u8>, CodecError> {
    let declared = snap::raw::decompress_len(input).map_err(|e| CodecError::Decompress {
        encoding: "snappy",
        reason: e.to_string(),
    })?;
    let declared_u64 = u64::try_from(declared).unwrap_or(u64::MAX);
    if declared_u64 > max_out {
        return Err(CodecError::TooLarge {
            what: "snappy-decompressed body",
            size: declared_u64,
            limit: max_out,
        });
    }
    snap::raw::Decoder::new()
        .decompress_vec(input)
        .map_err(|e| CodecError::Decompress {
            encoding: "snappy",
            reason: e.to_string(),
        })
}

/// Decompresses gzip (one or more concatenated members), refusing output over `max_out` bytes.
///
/// # Errors
/// [`CodecError::TooLarge`] when the output would pass `max_out` (its `size` is then
/// `max_out + 1`: reading stops there); [`CodecError::Decompress`] when the data is corrupt.
pub fn gzip(input: &[u8], max_out: u64) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(initial_capacity(input.len(), max_out));
    flate2::read::MultiGzDecoder::new(input)
        .take(max_out.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| CodecError::Decompress {
            encoding: "gzip",
            reason: e.to_string(),
        })?;
    let got = u64::try_from(out.len()).unwrap_or(u64::MAX);
    if got > max_out {
        return Err(CodecError::TooLarge {
            what: "gzip-decompressed body (reading stopped at the limit)",
            size: got,
            limit: max_out,
        });
    }
    Ok(out)
}

/// A first buffer size for gzip output: a guess from the input (text compresses ~4-10×), never
/// more than the limit allows.
fn initial_capacity(input_len: usize, max_out: u64) -> usize {
    let guess = input_len.saturating_mul(4);
    usize::try_from(max_out).map_or(guess, |m| guess.min(m))
}

/// Undoes a `Content-Encoding`: none or `identity` borrow the input; `gzip` and `snappy`
/// (block format) decompress under `max_out`. The value is matched case-insensitively and
/// without surrounding spaces.
///
/// # Errors
/// An unsupported encoding is [`CodecError::Invalid`]; otherwise as [`gzip`] and
/// [`snappy_block`].
pub fn decode_content_encoding<'a>(
    input: &'a [u8],
    encoding: Option<&str>,
    max_out: u64,
) -> Result<Cow<'a, [u8]>, CodecError> {
    let enc = encoding.map(str::trim).unwrap_or_default();
    if enc.is_empty() || enc.eq_ignore_ascii_case("identity") {
        let len = u64::try_from(input.len()).unwrap_or(u64::MAX);
        if len > max_out {
            return Err(CodecError::TooLarge {
                what: "body",
                size: len,
                limit: max_out,
            });
        }
        Ok(Cow::Borrowed(input))
    } else if enc.eq_ignore_ascii_case("gzip") || enc.eq_ignore_ascii_case("x-gzip") {
        gzip(input, max_out).map(Cow::Owned)
    } else if enc.eq_ignore_ascii_case("snappy") {
        snappy_block(input, max_out).map(Cow::Owned)
    } else {
        Err(CodecError::Invalid {
            protocol: "http",
            reason: format!(
                "unsupported Content-Encoding {enc:?} (supported: identity, gzip, snappy)"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    #[test]
    fn snappy_round_trip_and_limit() {
        let data = vec![b'x'; 10_000];
        let c = snap::raw::Encoder::new()
            .compress_vec(&data)
            .expect("compress");
        assert_eq!(snappy_block(&c, 10_000).expect("ok"), data);
        let e = snappy_block(&c, 9_999).expect_err("too large");
        assert_eq!(
            e.to_string(),
            "snappy-decompressed body is 10000 bytes, over the limit of 9999 bytes"
        );
        assert_eq!(e.kind(), vigil_model::ErrorKind::LimitExceeded);
    }

    #[test]
    fn snappy_declared_length_is_checked_before_allocating() {
        // A 5-byte varint declaring 2^32-1 bytes and no data: refused by size, not by trying.
        let bomb = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(matches!(
            snappy_block(&bomb, 1 << 20),
            Err(CodecError::TooLarge {
                size: 4_294_967_295,
                ..
            })
        ));
    }

    #[test]
    fn snappy_corrupt_is_decompress_error() {
        let e = snappy_block(&[0x05, 0xff, 0xff], 100).expect_err("corrupt");
        assert!(
            matches!(
                e,
                CodecError::Decompress {
                    encoding: "snappy",
                    ..
                }
            ),
            "{e}"
        );
        assert!(snappy_block(&[], 100).is_err());
    }

    #[test]
    fn gzip_round_trip_limit_and_multi_member() {
        let data = b"hello gzip".repeat(100);
        let c = gz(&data);
        assert_eq!(gzip(&c, 1000).expect("ok"), data);
        let e = gzip(&c, 999).expect_err("too large");
        assert_eq!(
            e.to_string(),
            "gzip-decompressed body (reading stopped at the limit) is 1000 bytes, over the limit of 999 bytes"
        );
        let mut two = gz(b"ab");
        two.extend(gz(b"cd"));
        assert_eq!(gzip(&two, 100).expect("ok"), b"abcd");
        assert!(matches!(
            gzip(b"not gzip", 100),
            Err(CodecError::Decompress {
                encoding: "gzip",
                ..
            })
        ));
    }

    #[test]
    fn gzip_bomb_stops_at_limit() {
        let c = gz(&vec![0u8; 8 << 20]);
        assert!(c.len() < 64 << 10);
        assert!(matches!(
            gzip(&c, 1 << 20),
            Err(CodecError::TooLarge { .. })
        ));
    }

    #[test]
    fn content_encoding_dispatch() {
        let body = b"abc";
        assert!(matches!(
            decode_content_encoding(body, None, 10),
            Ok(Cow::Borrowed(b"abc"))
        ));
        assert!(matches!(
            decode_content_encoding(body, Some(" Identity "), 10),
            Ok(Cow::Borrowed(_))
        ));
        assert!(matches!(
            decode_content_encoding(body, Some(""), 2),
            Err(CodecError::TooLarge { .. })
        ));
        let g = gz(body);
        assert_eq!(
            decode_content_encoding(&g, Some("GZIP"), 10)
                .expect("ok")
                .as_ref(),
            body
        );
        let s = snap::raw::Encoder::new().compress_vec(body).expect("c");
        assert_eq!(
            decode_content_encoding(&s, Some("snappy"), 10)
                .expect("ok")
                .as_ref(),
            body
        );
        let e = decode_content_encoding(body, Some("br"), 10).expect_err("unsupported");
        assert_eq!(
            e.to_string(),
            "http: unsupported Content-Encoding \"br\" (supported: identity, gzip, snappy)"
        );
        assert_eq!(e.kind(), vigil_model::ErrorKind::InvalidInput);
    }
}
