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
/// Go's `strconv.FormatFloat` with the shortest precision, in its `'e'`, `'f'` and `'g'` forms, for
/// output that must match Prometheus's byte for byte.
pub use math::gofmt::{
    format_e as go_format_e, format_f as go_format_f, format_g as go_format_g,
    write_e as go_write_e, write_f as go_write_f,
};
pub use selector::parse_selector;
pub use text::{format_query, parse_query_json, SyntaxTree};
pub use value::{InstantSample, Series, Value};
