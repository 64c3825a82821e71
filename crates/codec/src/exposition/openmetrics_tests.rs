//! Unit tests of the OpenMetrics parser and its family rules.

use vigil_model::MetricType;

use super::super::{parse, parse_with, Exposition, Format, Validation, NORMAL_NAN_BITS};

fn ok(body: &str) -> Exposition {
    match parse(body.as_bytes(), Format::OpenMetrics) {
        Ok(e) => e,
        Err(e) => panic!("{body:?}: {e}"),
    }
}

fn err(body: &str) -> String {
    parse(body.as_bytes(), Format::OpenMetrics)
        .expect_err(body)
        .to_string()
}

fn lenient(body: &str) -> Result<Exposition, String> {
    parse_with(body.as_bytes(), Format::OpenMetrics, Validation::Prometheus)
        .map_err(|e| e.to_string())
}

#[test]
fn spec_example_parses_with_metadata() {
    let e = ok("# TYPE acme_http_router_request_seconds summary\n\
# UNIT acme_http_router_request_seconds seconds\n\
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.\n\
acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n\
acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0\n\
acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} 1605281325.0\n\
acme_http_router_request_seconds_sum{path=\"/api/v2\",method=\"POST\"} 479.3\n\
acme_http_router_request_seconds_count{path=\"/api/v2\",method=\"POST\"} 34.0\n\
acme_http_router_request_seconds_created{path=\"/api/v2\",method=\"POST\"} 1605281325.0\n\
# TYPE go_goroutines gauge\n\
# HELP go_goroutines Number of goroutines that currently exist.\n\
go_goroutines 69\n\
# TYPE process_cpu_seconds counter\n\
# UNIT process_cpu_seconds seconds\n\
# HELP process_cpu_seconds Total user and system CPU time spent in seconds.\n\
process_cpu_seconds_total 4.20072246e+06\n\
# EOF\n");
    assert_eq!(e.samples.len(), 8);
    assert_eq!(
        e.samples[2].labels.to_string(),
        r#"acme_http_router_request_seconds_created{method="GET", path="/api/v1"}"#
    );
    assert_eq!(e.samples[2].value, 1_605_281_325.0);
    let m = &e.metadata[0];
    assert_eq!(m.metric_family, "acme_http_router_request_seconds");
    assert_eq!(m.metric_type, MetricType::Summary);
    assert_eq!(m.unit, "seconds");
    assert_eq!(m.help, "Latency though all of ACME's HTTP request router.");
    assert_eq!(e.metadata.len(), 3);
    assert_eq!(e.metadata[2].metric_type, MetricType::Counter);
}

#[test]
fn timestamps_are_float_seconds_truncated_to_ms() {
    let e = ok("# TYPE a gauge\na 1 1520879607.789\nb 2 -1.5\nc 3 1\nd 4 1e3\n# EOF");
    let ts: Vec<_> = e.samples.iter().map(|s| s.timestamp_ms).collect();
    assert_eq!(
        ts,
        [
            Some(1_520_879_607_789),
            Some(-1500),
            Some(1000),
            Some(1_000_000)
        ]
    );
    // Truncation toward zero, not rounding.
    let e = ok("a 1 0.0015\nb 1 -0.0015\n# EOF\n");
    assert_eq!(e.samples[0].timestamp_ms, Some(1));
    assert_eq!(e.samples[1].timestamp_ms, Some(-1));
    // Valid OpenMetrics beyond the int64 millisecond range saturates (the store rejects it).
    let e = ok("a 1 1e300\nb 1 -12345678901234567890.1\n# EOF\n");
    assert_eq!(e.samples[0].timestamp_ms, Some(i64::MAX));
    assert_eq!(e.samples[1].timestamp_ms, Some(i64::MIN));
}

#[test]
fn types_info_stateset_gaugehistogram_are_plain_series() {
    let e = ok("# TYPE i info\ni_info{v=\"1.2\"} 1\n\
# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n\
# TYPE g gaugehistogram\ng_bucket{le=\"1.0\"} 1\ng_bucket{le=\"+Inf\"} 2\ng_gcount 2\ng_gsum 3\n\
# TYPE c counter\nc_total 3 # {trace_id=\"abc\"} 1 1.5\nc_created 1.5e9\n# EOF\n");
    let names: Vec<String> = e.samples.iter().map(|s| s.labels.to_string()).collect();
    assert_eq!(
        names,
        [
            r#"i_info{v="1.2"}"#,
            r#"s{s="a"}"#,
            r#"s{s="b"}"#,
            r#"g_bucket{le="1.0"}"#,
            r#"g_bucket{le="+Inf"}"#,
            "g_gcount{}",
            "g_gsum{}",
            "c_total{}",
            "c_created{}",
        ]
    );
    let types: Vec<MetricType> = e.metadata.iter().map(|m| m.metric_type).collect();
    assert_eq!(
        types,
        [
            MetricType::Info,
            MetricType::StateSet,
            MetricType::GaugeHistogram,
            MetricType::Counter
        ]
    );
}

#[test]
fn escapes_and_nan() {
    let e = ok("# HELP a x\\ny\\\"z\\\\w\\q\na{l=\"\\\\\\n\\\"\\f\"} NaN\n# EOF\n");
    assert_eq!(e.metadata[0].help, "x\ny\"z\\w\\q");
    assert_eq!(e.samples[0].labels.get("l"), Some("\\\n\"\\f"));
    assert_eq!(e.samples[0].value.to_bits(), NORMAL_NAN_BITS);
}

#[test]
fn syntax_errors_say_what_was_expected() {
    for (body, msg) in [
        ("a 1\n", "line 2, column 1: the body does not end with '# EOF'"),
        ("a 1\n\n# EOF\n", "line 2, column 1: blank lines are not allowed in OpenMetrics"),
        ("a 1\n# EOF\nx", "line 3, column 1: unexpected data after '# EOF'"),
        ("# random\n# EOF\n", "line 1, column 3: expected HELP, TYPE, UNIT or EOF after '# ' (OpenMetrics has no comments)"),
        ("#EOF\n", "line 1, column 2: expected ' ' after '#', found 'E'"),
        ("# HELP a\n# EOF\n", "line 1, column 9: expected ' ' after the metric name in HELP, found end of line"),
        ("# TYPE a untyped\n# EOF\n", "line 1, column 10: invalid metric type \"untyped\" (expected counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown)"),
        ("# UNIT a seconds\n# EOF\n", "line 1, column 10: unit \"seconds\" is not a suffix of metric name \"a\" (expected \"a\" to end with \"_seconds\")"),
        ("a{b=\"1\",} 1\n# EOF\n", "line 1, column 9: expected a label name, found '}'"),
        ("a{b=\"1\"c=\"2\"} 1\n# EOF\n", "line 1, column 8: expected ',' or '}' after the value of label \"b\", found 'c'"),
        ("a{b} 1\n# EOF\n", "line 1, column 4: expected '=' after label name \"b\""),
        ("a{b=\"x\ny\"} 1\n# EOF\n", "line 1, column 7: label value is not closed before the end of the line (a newline must be written \\n)"),
        ("a  1\n# EOF\n", "line 1, column 3: expected a value, found a space"),
        ("a 1 \n# EOF\n", "line 1, column 5: expected a timestamp, found end of line"),
        ("a 0x1p-3\n# EOF\n", "line 1, column 3: invalid value \"0x1p-3\": not a number"),
        ("a 1 NaN\n# EOF\n", "line 1, column 5: invalid timestamp \"NaN\": not a number"),
        ("a{b=\"1\"}1\n# EOF\n", "line 1, column 9: expected ' ' after the labels, found '1'"),
        ("a 1\r\n# EOF\n", "line 1, column 3: invalid value \"1\\r\": not a number"),
        (" a 1\n# EOF\n", "line 1, column 1: expected a metric name or '#' at the start of a line, found a space"),
        ("a{b=\"1\",b=\"2\"} 1\n# EOF\n", "line 1, column 9: duplicate label name \"b\""),
    ] {
        assert_eq!(err(body), msg, "{body:?}");
    }
}

#[test]
fn eof_forms() {
    assert!(ok("# EOF").samples.is_empty());
    assert!(ok("# EOF\n").samples.is_empty());
    assert!(err("# EOF\n\n").contains("unexpected data after '# EOF'"));
    assert!(err("").contains("does not end with '# EOF'"));
    assert!(err("# EOF ").contains("expected HELP, TYPE, UNIT or EOF"));
}

#[test]
fn exemplar_rules() {
    let hist = "# TYPE a histogram\n";
    assert!(
        ok(&format!(
            "{hist}a_bucket{{le=\"+Inf\"}} 1 # {{}} 1\n# EOF\n"
        ))
        .samples
        .len()
            == 1
    );
    assert!(
        ok(&format!(
            "{hist}a_bucket{{le=\"+Inf\"}} 1 1 # {{x=\"y\"}} 1 2\n# EOF\n"
        ))
        .samples[0]
            .timestamp_ms
            == Some(1000)
    );
    for (line, msg) in [
        (
            "a_bucket{le=\"+Inf\"} 1 #\n",
            "expected ' ' after '#' of an exemplar",
        ),
        (
            "a_bucket{le=\"+Inf\"} 1 # {} 1 \n",
            "expected a exemplar timestamp",
        ),
        (
            "a_bucket{le=\"+Inf\"} 1 # {}1\n",
            "expected ' ' after the exemplar's labels",
        ),
        (
            "a_bucket{le=\"+Inf\"} 1 # {} 1 NaN\n",
            "invalid exemplar timestamp",
        ),
        (
            "a_bucket{le=\"+Inf\"} 1 # {a=\"1\",a=\"2\"} 1\n",
            "duplicate exemplar label name \"a\"",
        ),
        (
            "a_bucket{le=\"+Inf\"} 1 1 #x\n",
            "expected ' ' after '#' of an exemplar",
        ),
        (
            "a_bucket{le=\"+Inf\"} 1 1 x\n",
            "expected '#' to start an exemplar after the timestamp",
        ),
        (
            "a_count 1 # {} 1\n",
            "exemplars are allowed only on histogram buckets and counter totals",
        ),
    ] {
        let e = err(&format!("{hist}{line}# EOF\n"));
        assert!(e.contains(msg), "{line:?}: {e}");
    }
    // 128 characters of names and values are fine, 129 are not; characters, not bytes.
    let v127: String = "☃".repeat(127);
    assert!(
        ok(&format!(
            "{hist}a_bucket{{le=\"+Inf\"}} 1 # {{a=\"{v127}\"}} 1\n# EOF\n"
        ))
        .samples
        .len()
            == 1
    );
    let e = err(&format!(
        "{hist}a_bucket{{le=\"+Inf\"}} 1 # {{a=\"{v127}x\"}} 1\n# EOF\n"
    ));
    assert!(e.contains("over the limit of 128 characters"), "{e}");
}

#[test]
fn family_rules() {
    for (body, msg) in [
        ("# TYPE a counter\n# TYPE a counter\n", "line 2, column 1: second TYPE line for \"a\""),
        ("# HELP a x\n# HELP a y\n", "line 2, column 1: second HELP line for \"a\""),
        ("# UNIT a_s s\n# UNIT a_s s\n", "line 2, column 1: second UNIT line for \"a_s\""),
        ("# HELP a x\na 1\n# TYPE a gauge\n", "line 3, column 1: metadata for \"a\" after its samples (HELP, TYPE and UNIT must come first)"),
        ("# TYPE a_created gauge\n# TYPE a counter\n", "line 2, column 1: metric family \"a\" clashes with an earlier family over the sample name \"a_created\""),
        ("# TYPE a counter\na 1\n", "line 2, column 1: metric family \"a\" clashes with an earlier family over the sample name \"a\""),
        ("a 1\nb 1\na 2\n", "line 3, column 1: metric family \"a\" clashes"),
        ("# TYPE x_u stateset\n# UNIT x_u u\n", "line 1, column 1: stateset families must not have a unit"),
        ("# TYPE a counter\na_total NaN\n", "line 2, column 1: _total value must not be NaN"),
        ("# TYPE a counter\na_total -1\n", "line 2, column 1: _total value -1 is negative"),
        ("# TYPE a summary\na_sum -1\n", "_sum value -1 is negative"),
        ("# TYPE a summary\na_count 1.5\n", "_count value 1.5 is not an integer"),
        ("# TYPE a summary\na 0\n", "summary quantile sample needs a \"quantile\" label between 0 and 1"),
        ("# TYPE a summary\na{quantile=\"1.01\"} 0\n", "between 0 and 1"),
        ("# TYPE a summary\na{quantile=\"0.5\"} -1\n", "summary quantile value -1 is negative"),
        ("# TYPE a info\na_info 2\n", "info value 2 is not 1"),
        ("# TYPE a stateset\na{a=\"x\"} 2\n", "stateset value 2 is neither 0 nor 1"),
        ("# TYPE a stateset\na 0\n", "stateset sample lacks the label \"a\""),
        ("# TYPE a gauge\na 0 1\na 0 0\n", "line 3, column 1: timestamp 0 goes back from 1 within one metric"),
        ("# TYPE a gauge\na 0\na 0 0\n", "all have a timestamp or all have none"),
        ("# TYPE a gauge\na{x=\"1\"} 0\na{x=\"2\"} 0\na{x=\"1\"} 0\n", "line 4, column 1: samples of one metric of \"a\" are not contiguous"),
    ] {
        let e = err(&format!("{body}# EOF\n"));
        assert!(e.contains(msg), "{body:?}: {e}");
    }
    // Equal timestamps and repeated samples are the store's business, not a parse error.
    assert_eq!(ok("# TYPE a gauge\na 1 0\na 2 0\n# EOF\n").samples.len(), 2);
}

#[test]
fn histogram_rules() {
    let h = |lines: &str| format!("# TYPE a histogram\n{lines}# EOF\n");
    let good =
        h("a_bucket{le=\"0.5\"} 1\na_bucket{le=\"+Inf\"} 2\na_count 2\na_sum 3\na_created 1\n");
    assert_eq!(ok(&good).samples.len(), 5);
    assert_eq!(ok(&h("a_bucket{le=\"+Inf\"} 0\n")).samples.len(), 1);
    for (lines, msg) in [
        (
            "a_sum 1\n",
            "line 2, column 1: histogram \"a\": the last bucket must be le=\"+Inf\"",
        ),
        (
            "a_bucket{le=\"2\"} 0\na_bucket{le=\"1\"} 0\na_bucket{le=\"+Inf\"} 0\n",
            "line 3, column 1: bucket \"le\" values of \"a\" must increase",
        ),
        (
            "a_bucket{le=\"1\"} 1\na_bucket{le=\"+Inf\"} 0\n",
            "bucket values of \"a\" must not decrease (0 after 1)",
        ),
        (
            "a_bucket{le=\"+Inf\"} 0\na_count 1\na_sum 1\n",
            "count 1 does not match the +Inf bucket 0",
        ),
        ("a_bucket{le=\"+Inf\"} 1\na_sum 1\n", "_sum without _count"),
        ("a_bucket{le=\"+Inf\"} 1\na_count 1\n", "count without sum"),
        (
            "a_bucket{le=\"-1\"} 0\na_bucket{le=\"+Inf\"} 0\na_sum 0\na_count 0\n",
            "_sum is not allowed when there are negative buckets",
        ),
        ("a_bucket 0\n", "histogram bucket without an \"le\" label"),
        (
            "a_bucket{le=\"NaN\"} 0\n",
            "invalid \"le\" label value \"NaN\"",
        ),
        ("a_bucket{le=\"Inf\"} 0\n", "must be written \"+Inf\""),
        (
            "a_bucket{le=\"+Inf\"} 1.5\n",
            "bucket value 1.5 is not an integer",
        ),
        (
            "a_bucket{le=\"+Inf\"} -1\n",
            "bucket values of \"a\" must not decrease (-1 after 0)",
        ),
    ] {
        let e = err(&h(lines));
        assert!(e.contains(msg), "{lines:?}: {e}");
    }
    let gh = |lines: &str| format!("# TYPE a gaugehistogram\n{lines}# EOF\n");
    assert_eq!(
        ok(&gh(
            "a_bucket{le=\"-1.0\"} 1\na_bucket{le=\"+Inf\"} 3\na_gcount 3\na_gsum -5\n"
        ))
        .samples
        .len(),
        4
    );
    assert!(err(&gh("a_bucket{le=\"+Inf\"} 1\na_gsum -1\na_gcount 1\n"))
        .contains("negative _gsum without negative buckets"));
    assert!(err(&gh("a_bucket{le=\"+Inf\"} 0\na_gcount 0\n")).contains("count without sum"));
    // Interleaved metrics; the incomplete first point is reported first.
    assert!(err(&gh(
        "a_gsum{a=\"1\"} 0\na_gsum{a=\"2\"} 0\na_gcount{a=\"1\"} 0\n"
    ))
    .contains("the last bucket must be"));
    assert!(err(&gh("a_bucket{a=\"1\",le=\"+Inf\"} 0\na_bucket{a=\"2\",le=\"+Inf\"} 0\na_bucket{a=\"1\",le=\"+Inf\"} 0\n")).contains("not contiguous"));
    // Two points of one histogram at different timestamps are checked separately.
    assert_eq!(
        ok(&h("a_bucket{le=\"+Inf\"} 1 1\na_bucket{le=\"+Inf\"} 2 2\n"))
            .samples
            .len(),
        2
    );
}

#[test]
fn prometheus_mode_keeps_syntax_and_drops_semantics() {
    // client_golang writes negative buckets together with a _sum, and negative quantiles.
    let body =
        "# TYPE a histogram\na_bucket{le=\"-1\"} 0\na_bucket{le=\"+Inf\"} 1\na_sum -3\na_count 1\n\
# TYPE s summary\ns{quantile=\"0.5\"} -1\ns_sum -1\ns_count 1\n# EOF\n";
    assert!(parse(body.as_bytes(), Format::OpenMetrics).is_err());
    assert_eq!(lenient(body).map(|e| e.samples.len()), Ok(7));
    // Syntax is still the ABNF.
    assert!(lenient("a 1\n").is_err());
    assert!(lenient("a{b=\"1\",} 1\n# EOF\n").is_err());
    assert!(lenient("# UNIT a seconds\n# EOF\n").is_err());
    // Prometheus 2.42 takes exemplars on any _total / _bucket series, and only there.
    assert!(lenient("x_total 1 # {a=\"b\"} 1\n# EOF\n").is_ok());
    assert_eq!(
        lenient("x 1 # {a=\"b\"} 1\n# EOF\n"),
        Err("line 1, column 1: metric \"x\" does not support exemplars".to_owned())
    );
    // Exemplar size and duplicate names are the exemplar store's business in Prometheus.
    let long = "x".repeat(200);
    assert!(lenient(&format!("x_total 1 # {{a=\"{long}\",a=\"1\"}} 1\n# EOF\n")).is_ok());
    // Repeated metadata: the last one wins.
    let e = lenient("# HELP a one\n# HELP a two\n# EOF\n").expect("ok");
    assert_eq!(e.metadata.len(), 1);
    assert_eq!(e.metadata[0].help, "two");
}
