//! Prometheus remote_write 1.0. (API contract; implementation in progress.)
