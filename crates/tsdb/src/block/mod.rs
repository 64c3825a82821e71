//! Immutable on-disk blocks: framing, the chunks file, the index, meta.json, the writer and the
//! reader. Layout: `docs/format/block.md`.

pub mod chunks;
pub mod frame;
pub mod index;
pub mod meta;
pub mod reader;
pub mod writer;

use std::path::Path;

pub use meta::BlockMeta;
pub use reader::BlockReader;
pub use writer::BlockWriter;

use crate::TsdbError;

pub const BLOCK_PREFIX: &str = "b-";
pub const TMP_SUFFIX: &str = ".tmp";
pub const DELETED_SUFFIX: &str = ".deleted";

/// `b-0000000007`.
pub fn block_dir_name(seq: u64) -> String {
    format!("{BLOCK_PREFIX}{seq:010}")
}

/// The sequence number in a block directory name, with or without a suffix.
pub fn parse_block_seq(name: &str) -> Option<u64> {
    let rest = name.strip_prefix(BLOCK_PREFIX)?;
    let digits = rest
        .strip_suffix(TMP_SUFFIX)
        .or_else(|| rest.strip_suffix(DELETED_SUFFIX))
        .unwrap_or(rest);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Fsyncs a directory.
///
/// # Errors
/// Opening or syncing failed.
pub fn sync_dir(dir: &Path) -> Result<(), TsdbError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| TsdbError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(block_dir_name(7), "b-0000000007");
        assert_eq!(parse_block_seq("b-0000000007"), Some(7));
        assert_eq!(parse_block_seq("b-0000000007.tmp"), Some(7));
        assert_eq!(parse_block_seq("b-0000000007.deleted"), Some(7));
        assert_eq!(parse_block_seq("b-x"), None);
        assert_eq!(parse_block_seq("wal"), None);
    }
}
