//! OTLP metric names, units and attribute keys → Prometheus metric and label names.
//!
//! Owns the naming half of the OpenTelemetry "Prometheus and OpenMetrics Compatibility"
//! specification (section "OTLP Metric points to Prometheus" → "Metric Metadata" and "Metric
//! Attributes"), with the details where the specification leaves room settled the way
//! Prometheus's own OTLP receiver settles them in its default `UnderscoreEscapingWithSuffixes`
//! strategy (`prometheus/otlptranslator`: `metric_namer.go`, `unit_namer.go`, `label_namer.go`),
//! so that a series ingested by Vigil has the name a Prometheus user expects.
//!
//! Does not own: which OTLP data type maps to which Prometheus type (see `convert`).

/// The shape of an OTLP metric as far as naming is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameKind {
    /// OTLP Gauge: gets `_ratio` when its unit is `1`.
    Gauge,
    /// Monotonic Sum: becomes a counter and gets `_total`.
    MonotonicSum,
    /// Everything else: non-monotonic Sum, Histogram, Summary, ExponentialHistogram.
    Other,
}

/// OTLP (UCUM, case-sensitive) unit → Prometheus base-unit word.
fn main_unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        // Dimensionless: no suffix (gauges get `_ratio` separately).
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

/// The denominator of `x/y` units is singular: `By/s` → `bytes_per_second`.
fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

/// `[a-zA-Z0-9:]`: characters a metric-name token may hold (`_` is the token separator).
fn is_metric_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// Splits an OTLP unit into its Prometheus main and `per_…` parts, before clean-up.
///
/// Parts in curly braces are UCUM annotations (`{packets}`): "a count of foo is unitless in
/// Prometheus", so they contribute nothing.
fn unit_parts(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m, Some(p)),
        None => (unit, None),
    };
    let main = main.trim();
    let main_word = if main.is_empty() || main.contains(['{', '}']) {
        String::new()
    } else {
        main_unit_word(main).to_string()
    };
    let per_word = match per.map(str::trim) {
        Some(p) if !p.is_empty() && !p.contains(['{', '}']) => {
            let w = per_unit_word(p);
            if w.is_empty() {
                String::new()
            } else {
                format!("per_{w}")
            }
        }
        _ => String::new(),
    };
    (main_word, per_word)
}

/// Invalid characters → `_`, runs of `_` collapsed, leading `_` dropped.
fn clean_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_metric_token_char(c) { c } else { '_' };
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
    }
    out
}

/// The Prometheus unit for an OTLP unit, as used for `UNIT` metadata: `s` → `seconds`,
/// `By/s` → `bytes_per_second`, `{packets}` → ``, and `1` → `ratio` for gauges (the one case
/// where the metric name also gets that suffix).
pub(super) fn prometheus_unit(unit: &str, kind: NameKind) -> String {
    if unit == "1" && kind == NameKind::Gauge {
        return "ratio".to_string();
    }
    let (main, per) = unit_parts(unit);
    let (main, per) = (clean_unit(&main), clean_unit(&per));
    let joined = match (main.is_empty(), per.is_empty()) {
        (false, false) => format!("{main}_{per}"),
        (false, true) => main,
        _ => per,
    };
    joined.trim_matches('_').to_string()
}

/// Builds the Prometheus metric family name for an OTLP metric.
///
/// The name is split into tokens on every character outside `[a-zA-Z0-9:]` (which also collapses
/// runs of `_`); the unit words are appended unless a token already equals them; monotonic sums
/// get `total` and unit-`1` gauges get `ratio` moved to the end; a leading digit gets a `_`
/// prefix. Returns `None` when nothing usable is left (e.g. the name is empty or all symbols).
pub(super) fn metric_name(name: &str, unit: &str, kind: NameKind) -> Option<String> {
    let mut tokens: Vec<&str> = name
        .split(|c: char| !is_metric_token_char(c))
        .filter(|t| !t.is_empty())
        .collect();

    let (main, per) = unit_parts(unit);
    let mut main = clean_unit(&main);
    let mut per = clean_unit(&per);
    if tokens.contains(&main.as_str()) {
        main.clear();
    }
    if per == "per_" {
        per.clear();
    } else {
        while per.ends_with('_') {
            per.pop();
        }
        if tokens.contains(&per.as_str()) {
            per.clear();
        }
    }
    if !per.is_empty() {
        while main.ends_with('_') {
            main.pop();
        }
    }
    if !main.is_empty() {
        tokens.push(&main);
    }
    if !per.is_empty() {
        tokens.push(&per);
    }

    match kind {
        NameKind::MonotonicSum => {
            tokens.retain(|t| *t != "total");
            tokens.push("total");
        }
        NameKind::Gauge if unit == "1" => {
            tokens.retain(|t| *t != "ratio");
            tokens.push("ratio");
        }
        _ => {}
    }

    let mut out = tokens.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    // Only reachable when the name had no usable token and no suffix applied (a counter named
    // "@@" still becomes "total", which Prometheus also accepts).
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// Builds a Prometheus label name from an OTLP attribute key.
///
/// Characters outside `[a-zA-Z0-9]` become `_` with runs collapsed to one; a key wrapped in
/// `__…__` keeps that wrapping (Prometheus's reserved-label form); a leading digit gets a `key_`
/// prefix. Returns `None` for keys that are empty or turn into underscores only, which no label
/// name can represent.
pub(super) fn label_name(key: &str) -> Option<String> {
    if key.is_empty() {
        return None;
    }
    let (reserved, inner) = match key.strip_prefix("__").and_then(|k| k.strip_suffix("__")) {
        Some(inner) if key.len() >= 4 => (true, inner),
        _ => (false, key),
    };
    let mut out = String::with_capacity(key.len() + 4);
    if reserved {
        out.push_str("__");
    }
    let mut prev_underscore = false;
    for c in inner.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_underscore = false;
        } else if !prev_underscore {
            out.push('_');
            prev_underscore = true;
        }
    }
    if reserved {
        out.push_str("__");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    }
    if out.bytes().all(|b| b == b'_') {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use NameKind::{Gauge, MonotonicSum, Other};

    #[track_caller]
    fn name(n: &str, unit: &str, kind: NameKind) -> String {
        metric_name(n, unit, kind).expect("name")
    }

    #[test]
    fn metric_names_follow_prometheus_default_strategy() {
        // Cases from prometheus/otlptranslator metric_namer_test.go (UnderscoreEscapingWithSuffixes).
        assert_eq!(name("simple_metric", "", Gauge), "simple_metric");
        assert_eq!(
            name("metric@with#special$chars", "", Gauge),
            "metric_with_special_chars"
        );
        assert_eq!(name("metric@@##$$name", "", Gauge), "metric_name");
        assert_eq!(name("123metric", "", Gauge), "_123metric");
        assert_eq!(name("requests", "", MonotonicSum), "requests_total");
        assert_eq!(name("cpu_usage", "1", Gauge), "cpu_usage_ratio");
        assert_eq!(name("items", "1", MonotonicSum), "items_total");
        assert_eq!(
            name("response_time", "ms", Gauge),
            "response_time_milliseconds"
        );
        assert_eq!(name("memory_usage", "By", Gauge), "memory_usage_bytes");
        assert_eq!(name("requests", "1/s", Gauge), "requests_per_second");
        assert_eq!(
            name("throughput", "By/s", Gauge),
            "throughput_bytes_per_second"
        );
        assert_eq!(
            name("custom_metric", "custom_unit", Gauge),
            "custom_metric_custom_unit"
        );
        assert_eq!(name("custom_metric", "{custom}", Gauge), "custom_metric");
        assert_eq!(
            name("custom_metric", "By/{custom}", Gauge),
            "custom_metric_bytes"
        );
        assert_eq!(name("requests_total", "", MonotonicSum), "requests_total");
        assert_eq!(name("cpu_usage_ratio", "1", Gauge), "cpu_usage_ratio");
        assert_eq!(
            name("response_time_seconds", "s", Gauge),
            "response_time_seconds"
        );
        assert_eq!(
            name("cpu_seconds_total", "s", MonotonicSum),
            "cpu_seconds_total"
        );
        assert_eq!(
            name("otelcol_process_cpu_seconds", "s", MonotonicSum),
            "otelcol_process_cpu_seconds_total"
        );
        assert_eq!(
            name(
                "metric__with__multiple__underscores",
                "unit__multiple__underscores",
                Gauge
            ),
            "metric_with_multiple_underscores_unit_multiple_underscores"
        );
        assert_eq!(
            name("custom_metric", "unit@with#special/chars", Gauge),
            "custom_metric_unit_with_special_per_chars"
        );
        assert_eq!(
            name("request_duration", "s", Other),
            "request_duration_seconds"
        );
        assert_eq!(name("active_connections", "", Other), "active_connections");
        assert_eq!(name("uptime", "d", Gauge), "uptime_days");
        assert_eq!(metric_name("@#$%", "", Gauge), None);
        assert_eq!(metric_name("", "", Other), None);
    }

    #[test]
    fn metric_names_from_otel_semantic_conventions() {
        assert_eq!(
            name("http.server.request.duration", "s", Other),
            "http_server_request_duration_seconds"
        );
        assert_eq!(
            name("system.network.packets", "{packets}", MonotonicSum),
            "system_network_packets_total"
        );
        assert_eq!(
            name("process.memory.usage", "By", Other),
            "process_memory_usage_bytes"
        );
        assert_eq!(
            name("http.client.request.body.size", "KiBy", Other),
            "http_client_request_body_size_kibibytes"
        );
        // `total` moves to the end; `ratio` only for gauges.
        assert_eq!(name("total.requests", "", MonotonicSum), "requests_total");
        assert_eq!(name("ratio.cpu", "1", Gauge), "cpu_ratio");
        assert_eq!(name("cpu.utilization", "1", Other), "cpu_utilization");
        // Colons are kept; other symbols collapse.
        assert_eq!(name("ns:foo..bar", "", Gauge), "ns:foo_bar");
        // Non-ASCII letters are not valid metric-name characters.
        assert_eq!(name("température", "Cel", Gauge), "temp_rature_celsius");
    }

    #[test]
    fn units_for_metadata() {
        assert_eq!(prometheus_unit("s", Other), "seconds");
        assert_eq!(prometheus_unit("By/s", Gauge), "bytes_per_second");
        assert_eq!(prometheus_unit("1/s", Gauge), "per_second");
        assert_eq!(prometheus_unit("{packets}", MonotonicSum), "");
        assert_eq!(prometheus_unit("1", Gauge), "ratio");
        assert_eq!(prometheus_unit("1", MonotonicSum), "");
        assert_eq!(prometheus_unit("", Gauge), "");
    }

    #[test]
    fn label_names_are_sanitized() {
        assert_eq!(label_name("http.method").as_deref(), Some("http_method"));
        assert_eq!(label_name("123invalid").as_deref(), Some("key_123invalid"));
        assert_eq!(label_name("__reserved__").as_deref(), Some("__reserved__"));
        assert_eq!(label_name("__a.b__").as_deref(), Some("__a_b__"));
        assert_eq!(label_name("a..b--c").as_deref(), Some("a_b_c"));
        assert_eq!(label_name("a__b").as_deref(), Some("a_b"));
        assert_eq!(label_name("_private").as_deref(), Some("_private"));
        assert_eq!(label_name("名前").as_deref(), None);
        assert_eq!(label_name("x名前").as_deref(), Some("x_"));
        assert_eq!(label_name("valid_name").as_deref(), Some("valid_name"));
        assert_eq!(label_name(""), None);
        assert_eq!(label_name("..."), None);
        assert_eq!(label_name("____"), None);
    }
}
