//! PromQL for Vigil, evaluated over the storage traits.
//!
//! Owns: turning PromQL text into what the storage boundary understands, and evaluating
//! expressions. Parsing itself is the `promql-parser` crate's job; nothing above this crate sees
//! parser types.
//!
//! Does not own: storage (only `vigil_storage` traits), HTTP shapes.

mod engine;
mod error;
mod eval;
mod math;
mod parse;
mod selector;
mod text;
mod value;

pub use engine::{Engine, EngineOptions, QueryOutput, MAX_POINTS_PER_SERIES};
pub use error::PromqlError;
pub use eval::Annotations;
pub use selector::parse_selector;
pub use text::{expr_string, format_query, parse_query_json, SyntaxTree};
pub use value::{InstantSample, Series, Value};
