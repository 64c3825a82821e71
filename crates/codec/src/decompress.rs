//! Capped decompression. (API contract; implementation in progress.)
