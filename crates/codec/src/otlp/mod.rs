//! OTLP metrics → Prometheus series. (API contract; implementation in progress.)
