//! `meta.json` of a block (see `docs/format/block.md`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::TsdbError;

pub const META_FILE: &str = "meta.json";
pub const INDEX_FILE: &str = "index";
pub const CHUNKS_FILE: &str = "chunks";
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStats {
    pub series: u64,
    pub samples: u64,
    pub chunks: u64,
}

/// What a block's meta.json says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMeta {
    pub format: u32,
    pub id: String,
    /// Both inclusive; every sample of the block lies in between.
    pub min_time: i64,
    pub max_time: i64,
    pub stats: BlockStats,
    pub level: u32,
    #[serde(default)]
    pub sources: Vec<String>,
    pub index_bytes: u64,
    pub chunks_bytes: u64,
}

impl BlockMeta {
    /// Reads and checks `dir/meta.json`.
    ///
    /// # Errors
    /// Missing or malformed file, unsupported format, or an inverted time range.
    pub fn read(dir: &Path) -> Result<BlockMeta, TsdbError> {
        let path = dir.join(META_FILE);
        let bytes = std::fs::read(&path).map_err(|e| TsdbError::io(&path, e))?;
        let meta: BlockMeta = serde_json::from_slice(&bytes)
            .map_err(|e| TsdbError::corrupt(&path, e.column() as u64, e.to_string()))?;
        if meta.format != FORMAT {
            return Err(TsdbError::UnsupportedVersion {
                path,
                what: "block meta format",
                version: u64::from(meta.format),
            });
        }
        if meta.min_time > meta.max_time {
            return Err(TsdbError::corrupt(&path, 0, "min_time is after max_time"));
        }
        Ok(meta)
    }

    /// Serialized form.
    ///
    /// # Errors
    /// Never in practice (serde_json on plain data).
    pub fn to_json(&self) -> Result<Vec<u8>, TsdbError> {
        serde_json::to_vec_pretty(self).map_err(|e| TsdbError::Internal(e.to_string()))
    }
}
