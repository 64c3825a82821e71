//! The framing shared by chunk pages and index sections: `codec u8 | raw_len u32 | stored_len
//! u32 | crc u32 | stored bytes` (see `docs/format/block.md`).

use crate::chunkenc::bits::DecodeError;

pub const FRAME_HEADER_LEN: usize = 13;
pub const CODEC_RAW: u8 = 0;
pub const CODEC_ZSTD: u8 = 1;
/// zstd level for blocks: the measured gain of higher levels on our chunks is ~1%.
pub const ZSTD_LEVEL: i32 = 3;

/// Appends a frame holding `raw`, compressed when that is smaller.
///
/// # Errors
/// `raw` is over 4 GiB, or zstd failed.
pub fn put_frame(out: &mut Vec<u8>, raw: &[u8], compress: bool) -> std::io::Result<()> {
    let raw_len =
        u32::try_from(raw.len()).map_err(|_| std::io::Error::other("frame larger than 4 GiB"))?;
    let compressed = if compress && !raw.is_empty() {
        Some(zstd::bulk::compress(raw, ZSTD_LEVEL)?)
    } else {
        None
    };
    let (codec, stored): (u8, &[u8]) = match &compressed {
        Some(c) if c.len() < raw.len() => (CODEC_ZSTD, c),
        _ => (CODEC_RAW, raw),
    };
    let stored_len = u32::try_from(stored.len())
        .map_err(|_| std::io::Error::other("frame larger than 4 GiB"))?;
    out.push(codec);
    out.extend_from_slice(&raw_len.to_le_bytes());
    out.extend_from_slice(&stored_len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(stored).to_le_bytes());
    out.extend_from_slice(stored);
    Ok(())
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy)]
pub struct FrameHeader {
    pub codec: u8,
    pub raw_len: usize,
    pub stored_len: usize,
    pub crc: u32,
}

/// Parses a frame header; `max_raw` bounds the decompressed size.
pub fn parse_header(h: &[u8], max_raw: usize) -> Result<FrameHeader, DecodeError> {
    let h = h
        .get(..FRAME_HEADER_LEN)
        .ok_or(DecodeError("truncated frame header"))?;
    let u32_at = |i: usize| {
        let mut a = [0u8; 4];
        a.copy_from_slice(&h[i..i + 4]);
        u32::from_le_bytes(a) as usize
    };
    let fh = FrameHeader {
        codec: h[0],
        raw_len: u32_at(1),
        stored_len: u32_at(5),
        crc: {
            let mut a = [0u8; 4];
            a.copy_from_slice(&h[9..13]);
            u32::from_le_bytes(a)
        },
    };
    if fh.codec > CODEC_ZSTD {
        return Err(DecodeError("unknown frame codec"));
    }
    if fh.raw_len > max_raw {
        return Err(DecodeError("frame raw length over the limit"));
    }
    if fh.codec == CODEC_RAW && fh.stored_len != fh.raw_len {
        return Err(DecodeError("raw frame with differing lengths"));
    }
    Ok(fh)
}

thread_local! {
    /// One decompression context per thread: creating one costs more than decompressing a
    /// small page.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn zstd_decompress(stored: &[u8], capacity: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let d = match &mut *slot {
                Some(d) => d,
                None => slot.insert(zstd::bulk::Decompressor::new()?),
            };
            d.decompress(stored, capacity)
        }
        // Only if decompression re-entered itself on this thread: use a one-off context.
        Err(_) => zstd::bulk::decompress(stored, capacity),
    })
}

/// Checks and decodes the stored bytes of a frame.
pub fn decode_body(fh: &FrameHeader, stored: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if stored.len() != fh.stored_len {
        return Err(DecodeError("truncated frame"));
    }
    if crc32fast::hash(stored) != fh.crc {
        return Err(DecodeError("frame checksum mismatch"));
    }
    if fh.codec == CODEC_RAW {
        return Ok(stored.to_vec());
    }
    // The header is outside the checksum and `raw_len` sizes the output buffer: when the
    // checksummed zstd frame declares its content size (ours always do), the two must agree
    // before anything is allocated.
    let declared = zstd::zstd_safe::get_frame_content_size(stored);
    if matches!(declared, Ok(Some(n)) if n != fh.raw_len as u64) {
        return Err(DecodeError(
            "frame raw length differs from the zstd frame's",
        ));
    }
    let out = zstd_decompress(stored, fh.raw_len)
        .map_err(|_| DecodeError("zstd frame does not decompress"))?;
    if out.len() != fh.raw_len {
        return Err(DecodeError("frame decompressed to the wrong length"));
    }
    Ok(out)
}

/// Decodes the frame at the start of `buf`; returns the raw bytes and the frame's length.
pub fn get_frame(buf: &[u8], max_raw: usize) -> Result<(Vec<u8>, usize), DecodeError> {
    let fh = parse_header(buf, max_raw)?;
    let end = FRAME_HEADER_LEN
        .checked_add(fh.stored_len)
        .ok_or(DecodeError("frame length overflow"))?;
    let stored = buf
        .get(FRAME_HEADER_LEN..end)
        .ok_or(DecodeError("truncated frame"))?;
    Ok((decode_body(&fh, stored)?, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_round_trip() {
        for (raw, compress) in [
            (vec![], true),
            (vec![7u8; 1000], true),
            (b"abc".to_vec(), false),
        ] {
            let mut buf = Vec::new();
            put_frame(&mut buf, &raw, compress).expect("frame");
            let (got, used) = get_frame(&buf, 1 << 20).expect("decode");
            assert_eq!((got, used), (raw, buf.len()));
        }
        let mut buf = Vec::new();
        put_frame(&mut buf, &[1u8; 100], true).expect("frame");
        let last = buf.len() - 1;
        buf[last] ^= 1;
        assert!(get_frame(&buf, 1 << 20).is_err());
    }

    /// The header is not checksummed: a damaged raw length must be refused before it sizes an
    /// allocation (up to 4 GiB for index sections).
    #[test]
    fn damaged_raw_length_is_refused_before_decompressing() {
        let mut buf = Vec::new();
        put_frame(&mut buf, &[7u8; 1000], true).expect("frame");
        assert_eq!(buf[0], CODEC_ZSTD);
        buf[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            get_frame(&buf, u32::MAX as usize).map(|_| ()),
            Err(DecodeError(
                "frame raw length differs from the zstd frame's"
            ))
        );
    }

    proptest! {
        #[test]
        fn prop_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = get_frame(&bytes, 1 << 20);
        }
    }
}
