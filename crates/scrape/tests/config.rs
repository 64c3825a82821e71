//! Config parsing and validation: a realistic prometheus.yml, then each validation error's path
//! and message.

use std::path::Path;
use std::time::Duration;

use vigil_scrape::config::{Authorization, BasicAuth, Secret};
use vigil_scrape::{validate, validate_in_dir, ConfigError, RawScrapeConfig, ScrapeSettings};

fn parse(yaml: &str) -> RawScrapeConfig {
    serde_yaml_ng::from_str(yaml).expect("yaml parses")
}

fn check(yaml: &str) -> Result<ScrapeSettings, ConfigError> {
    validate(&parse(yaml))
}

#[test]
fn realistic_prometheus_yml() {
    let text = std::fs::read_to_string(
        // Cargo's runtime value first: a target dir shared by clones at different paths can hold
        // a binary built elsewhere, whose compile-time path is stale.
        std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("testdata/prometheus.yml"),
    )
    .expect("testdata");
    let s = validate_in_dir(&parse(&text), Path::new("/etc/prometheus")).expect("valid");

    assert_eq!(s.global.scrape_interval.to_string(), "15s");
    assert_eq!(s.global.evaluation_interval.to_string(), "30s");
    assert_eq!(s.global.external_labels.get("replica"), Some("1"));
    let names: Vec<_> = s.pools.iter().map(|p| p.job_name.as_str()).collect();
    assert_eq!(
        names,
        ["prometheus", "node", "blackbox", "secure-app", "api"]
    );

    let prom = &s.pools[0];
    assert_eq!(prom.scrape_interval.as_std(), Duration::from_secs(15));
    assert_eq!(prom.scrape_timeout.as_std(), Duration::from_secs(10));
    assert_eq!(prom.metrics_path, "/metrics");
    assert_eq!(prom.scheme, "http");
    assert!(prom.honor_timestamps);
    assert!(!prom.honor_labels);
    assert_eq!(
        prom.accept_header,
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    );

    let node = &s.pools[1];
    assert_eq!(node.scrape_interval.to_string(), "30s");
    assert_eq!(node.scrape_timeout.to_string(), "10s");
    assert!(!node.honor_timestamps);
    assert_eq!(node.sample_limit, 50_000);
    assert_eq!(node.label_limit, 64);
    assert_eq!(node.body_size_limit, 50 << 20);
    assert_eq!(node.file_sd_configs.len(), 1);
    assert_eq!(
        node.file_sd_configs[0].files,
        [
            "/etc/prometheus/sd/nodes-*.json",
            "/etc/prometheus/sd/extra.yml"
        ]
    );
    assert_eq!(node.file_sd_configs[0].refresh_interval.to_string(), "1m");
    assert_eq!(node.relabel_configs.len(), 4);
    assert_eq!(node.metric_relabel_configs.len(), 2);

    let bb = &s.pools[2];
    assert_eq!(bb.metrics_path, "/probe");
    assert_eq!(
        bb.params.get("module").map(Vec::as_slice),
        Some(&["http_2xx".to_owned()][..])
    );
    assert_eq!(bb.static_configs[0].targets.len(), 2);
    assert_eq!(
        bb.static_configs[0].labels.get("team").map(String::as_str),
        Some("web")
    );

    let sec = &s.pools[3];
    assert_eq!(sec.scheme, "https");
    assert!(sec.honor_labels);
    assert_eq!(
        sec.http.basic_auth,
        Some(BasicAuth {
            username: Secret::Inline("scraper".to_owned()),
            password: Some(Secret::File("/etc/prometheus/secrets/app-password".into())),
        })
    );
    assert_eq!(
        sec.http.tls.ca,
        Some(Secret::File("/etc/prometheus/certs/ca.pem".into()))
    );
    assert!(!sec.http.follow_redirects);
    assert!(!sec.http.enable_http2);

    let api = &s.pools[4];
    assert_eq!(
        api.http.authorization,
        Some(Authorization {
            kind: "Bearer".to_owned(),
            credentials: Some(Secret::File("/etc/prometheus/secrets/api-token".into())),
        })
    );
    assert_eq!(
        api.accept_header,
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.3"
    );
}

#[test]
fn defaults_without_global() {
    let s = check("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n").expect("valid");
    assert_eq!(s.global.scrape_interval.to_string(), "1m");
    assert_eq!(s.global.scrape_timeout.to_string(), "10s");
    // The timeout defaults to the global one, capped at the interval.
    assert_eq!(s.pools[0].scrape_timeout.to_string(), "5s");
    let s = check("global:\nscrape_configs:\n").expect("empty sections are fine");
    assert!(s.pools.is_empty());
}

#[test]
fn bearer_token_becomes_authorization() {
    let s = check("scrape_configs:\n  - job_name: a\n    bearer_token: t0k\n").expect("valid");
    assert_eq!(
        s.pools[0].http.authorization,
        Some(Authorization {
            kind: "Bearer".to_owned(),
            credentials: Some(Secret::Inline("t0k".to_owned())),
        })
    );
}

/// (yaml, path, reason)
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "scrape_configs:\n  - scrape_interval: 5s\n",
        "scrape_configs[0].job_name",
        "job_name is empty",
    ),
    (
        "scrape_configs:\n  - job_name: a\n  - job_name: b\n  - job_name: a\n",
        "scrape_configs[2].job_name",
        r#"found multiple scrape configs with job name "a""#,
    ),
    (
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 10s\n    scrape_timeout: 20s\n",
        "scrape_configs[0].scrape_timeout",
        r#"scrape timeout 20s greater than scrape interval 10s for scrape config with job name "a""#,
    ),
    (
        "global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n",
        "global.scrape_timeout",
        "global scrape timeout 6s greater than scrape interval 5s",
    ),
    (
        "scrape_configs:\n  - job_name: a\n  - job_name: b\n  - job_name: c\n    relabel_configs:\n      - source_labels: [x]\n        regex: '(oops'\n        target_label: y\n",
        "scrape_configs[2].relabel_configs[0].regex",
        r#"invalid regular expression "(oops": unclosed group"#,
    ),
    (
        "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - action: keep\n      - action: hashmod\n        target_label: h\n",
        "scrape_configs[0].metric_relabel_configs[1].modulus",
        "relabel configuration for hashmod requires non-zero modulus",
    ),
    (
        "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: labeldrop\n        regex: tmp\n        source_labels: [a]\n",
        "scrape_configs[0].relabel_configs[0]",
        "labeldrop action requires only 'regex', and no other fields",
    ),
    (
        "scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pod\n",
        "scrape_configs[0].kubernetes_sd_configs",
        "kubernetes_sd_configs is not supported by Vigil (Vigil discovers targets with static_configs and file_sd_configs)",
    ),
    (
        "scrape_configs:\n  - job_name: a\n    oauth2:\n      client_id: x\n",
        "scrape_configs[0].oauth2",
        "oauth2 is not supported by Vigil",
    ),
    (
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['ok:1', 'http://bad:1/metrics']\n",
        "scrape_configs[0].static_configs[0].targets[1]",
        r#""http://bad:1/metrics" is not a valid hostname"#,
    ),
    (
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['ok:1']\n        labels:\n          1bad: x\n",
        "scrape_configs[0].static_configs[0].labels.1bad",
        r#""1bad" is not a valid label name"#,
    ),
    (
        "scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: ['targets.txt']\n",
        "scrape_configs[0].file_sd_configs[0].files[0]",
        r#"path name "targets.txt" is not valid for file discovery (it must end in .json, .yml or .yaml and may contain one * in its last part)"#,
    ),
    (
        "scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: []\n",
        "scrape_configs[0].file_sd_configs[0].files",
        "file service discovery config must contain at least one path name",
    ),
    (
        "scrape_configs:\n  - job_name: a\n    scheme: ftp\n",
        "scrape_configs[0].scheme",
        r#"invalid scheme "ftp", expected http or https"#,
    ),
    (
        "scrape_configs:\n  - job_name: a\n    basic_auth:\n      username: u\n      password: p\n      password_file: f\n",
        "scrape_configs[0].basic_auth",
        "at most one of basic_auth password & password_file must be configured",
    ),
    (
        "scrape_configs:\n  - job_name: a\n    basic_auth:\n      username: u\n    authorization:\n      credentials: c\n",
        "scrape_configs[0].authorization",
        "at most one of basic_auth, oauth2 & authorization must be configured",
    ),
    (
        "scrape_configs:\n  - job_name: a\n    authorization:\n      type: Basic\n      credentials: c\n",
        "scrape_configs[0].authorization.type",
        r#"authorization type cannot be set to "basic", use "basic_auth" instead"#,
    ),
    (
        "scrape_configs:\n  - job_name: a\n    bearer_token: t\n    bearer_token_file: f\n",
        "scrape_configs[0].bearer_token",
        "at most one of bearer_token & bearer_token_file must be configured",
    ),
    (
        "scrape_configs:\n  - job_name: a\n    tls_config:\n      server_name: x\n",
        "scrape_configs[0].tls_config.server_name",
        "tls_config.server_name is not supported by Vigil",
    ),
    (
        "scrape_configs:\n  - job_name: a\n    scrape_protocols: [PrometheusProto]\n",
        "scrape_configs[0].scrape_protocols[0]",
        r#"scrape protocol "PrometheusProto" is not supported by Vigil (supported: OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText0.0.4)"#,
    ),
    (
        "global:\n  external_labels:\n    bad-name: x\n",
        "global.external_labels.bad-name",
        r#""bad-name" is not a valid label name"#,
    ),
    (
        "global:\n  metric_name_validation_scheme: utf8\n",
        "global.metric_name_validation_scheme",
        r#"metric_name_validation_scheme "utf8" is not supported by Vigil; only "legacy" names are"#,
    ),
];

#[test]
fn validation_errors_have_paths() {
    let mut failures = Vec::new();
    for (yaml, path, reason) in ERRORS {
        match check(yaml) {
            Ok(_) => failures.push(format!("accepted:\n{yaml}")),
            Err(e) => {
                if e.path != *path || e.reason != *reason {
                    failures.push(format!(
                        "{yaml}\n  got  {:?}: {:?}\n  want {path:?}: {reason:?}",
                        e.path, e.reason
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn url_targets_are_allowed_when_relabelled() {
    // Blackbox-style configs rewrite __address__, so URLs are not checked then.
    check("scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['https://x']\n    relabel_configs:\n      - target_label: __address__\n        replacement: bb:9115\n")
        .expect("valid");
}

#[test]
fn parse_errors_name_the_field() {
    let unknown = serde_yaml_ng::from_str::<RawScrapeConfig>(
        "scrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n",
    )
    .expect_err("unknown field");
    let msg = unknown.to_string();
    assert!(msg.contains("unknown field `scrape_intervall`"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");

    let bad_duration = serde_yaml_ng::from_str::<RawScrapeConfig>(
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 5 seconds\n",
    )
    .expect_err("bad duration");
    let msg = bad_duration.to_string();
    assert!(
        msg.contains(r#"not a valid duration string: "5 seconds""#),
        "{msg}"
    );
}

#[test]
fn settings_compare_equal_when_unchanged() {
    let yaml = "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - source_labels: [x]\n        target_label: y\n";
    assert_eq!(check(yaml).expect("valid"), check(yaml).expect("valid"));
    let other = yaml.replace("target_label: y", "target_label: z");
    assert_ne!(check(yaml).expect("valid"), check(&other).expect("valid"));
}

#[test]
fn yaml_anchors_and_aliases_work() {
    let s = check(
        "scrape_configs:\n  - job_name: a\n    relabel_configs: &common\n      - source_labels: [__address__]\n        target_label: host\n  - job_name: b\n    relabel_configs: *common\n",
    )
    .expect("valid");
    assert_eq!(s.pools[0].relabel_configs, s.pools[1].relabel_configs);
}

#[test]
fn debug_output_hides_secrets() {
    let raw = parse(
        "scrape_configs:\n  - job_name: a\n    basic_auth:\n      username: u\n      password: hunter2\n  - job_name: b\n    bearer_token: tok3n\n",
    );
    let shown = format!("{raw:?} {:?}", validate(&raw).expect("valid"));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("tok3n"), "{shown}");
}
