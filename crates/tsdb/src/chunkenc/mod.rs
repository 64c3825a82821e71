//! Sample encodings: bit/varint primitives, the Gorilla XOR head chunk, integer sequences and the
//! decimal block chunk. Pure functions over byte buffers; no I/O. Formats: `docs/format/chunks.md`.

pub mod bits;
pub mod block;
pub mod iseq;
pub mod xor;

pub use bits::{DecodeError, Decoder};
pub use block::{decode_block_chunk, encode_block_chunk, ChunkScratch, MAX_BLOCK_CHUNK_SAMPLES};
pub use xor::{decode_head_chunk, XorAppender, HEAD_CHUNK_SAMPLES};
