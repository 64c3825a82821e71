//! PromQL for Vigil, evaluated over the storage traits.
//!
//! Owns: turning PromQL text into what the storage boundary understands, and (next roadmap
//! step) evaluating expressions. Parsing itself is the `promql-parser` crate's job; this crate
//! converts its AST into `vigil_model` types so nothing above it sees parser types.
//!
//! Does not own: storage (only `vigil_storage` traits), HTTP shapes.

mod error;
mod selector;

pub use error::PromqlError;
pub use selector::parse_selector;
