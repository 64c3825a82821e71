//! Raw → validated: Alertmanager 0.25's defaults and rules, each error with the path it is about.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_yaml_ng::Value;
use vigil_model::{is_valid_label_name, MatchOp};

use super::http::{http_config, HttpConfig, Secret};
use super::raw::{RawConfig, RawGlobal, RawInhibitRule, RawNamedTimeInterval, RawRoute};
use super::receivers::{receiver, HostPort};
use super::values::{parse_duration, parse_host_port, parse_http_url};
use super::{Config, GlobalConfig};
use crate::error::ConfigError;
use crate::inhibit::InhibitRule;
use crate::matcher::{compile_anchored, parse_matchers, Matcher, Matchers};
use crate::route::{RouteSpec, RoutingTree};
use crate::timeinterval::{
    parse_day_of_month_range, parse_month_range, parse_time_range, parse_weekday_range,
    parse_year_range, Location, TimeInterval,
};

const DEFAULT_RESOLVE_TIMEOUT_MS: u64 = 5 * 60_000;
const DEFAULT_PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

pub(super) fn validate(raw: RawConfig, original: String) -> Result<Config, ConfigError> {
    let Some(raw_route) = raw.route else {
        // An empty document never reaches Alertmanager's own check and gets Load's wording.
        let reason = if raw.global.is_none()
            && raw.receivers.is_none()
            && raw.inhibit_rules.is_none()
            && raw.templates.is_none()
            && raw.time_intervals.is_none()
            && raw.mute_time_intervals.is_none()
        {
            "no route provided in config"
        } else {
            "no routes provided"
        };
        return Err(ConfigError::new("", reason));
    };
    let global = global(raw.global.unwrap_or_default())?;

    let mut names = HashSet::new();
    let mut receivers = Vec::new();
    for (i, r) in raw.receivers.unwrap_or_default().into_iter().enumerate() {
        let path = format!("receivers[{i}]");
        let rcv = receiver(r, &path, &global)?;
        if !names.insert(rcv.name.clone()) {
            return Err(ConfigError::new(
                format!("{path}.name"),
                format!("notification config name {:?} is not unique", rcv.name),
            ));
        }
        receivers.push(rcv);
    }

    let mut time_intervals = BTreeMap::new();
    for (list, label, entries) in [
        (
            "mute_time_intervals",
            "mute time interval",
            raw.mute_time_intervals,
        ),
        ("time_intervals", "time interval", raw.time_intervals),
    ] {
        for (i, ti) in entries.unwrap_or_default().into_iter().enumerate() {
            let path = format!("{list}[{i}]");
            let (name, intervals) = named_interval(ti, &path, label)?;
            if time_intervals.contains_key(&name) {
                return Err(ConfigError::new(
                    format!("{path}.name"),
                    format!("{label} {name:?} is not unique"),
                ));
            }
            time_intervals.insert(name, intervals);
        }
    }

    let root = route_spec(raw_route, "route")?;
    if root.receiver.as_deref().unwrap_or("").is_empty() {
        return Err(ConfigError::new(
            "route",
            "root route must specify a default receiver",
        ));
    }
    if !root.matchers.is_empty() {
        return Err(ConfigError::new(
            "route",
            "root route must not have any matchers",
        ));
    }
    if !root.mute_time_intervals.is_empty() {
        return Err(ConfigError::new(
            "route.mute_time_intervals",
            "root route must not have any mute time intervals",
        ));
    }
    if !root.active_time_intervals.is_empty() {
        return Err(ConfigError::new(
            "route.active_time_intervals",
            "root route must not have any active time intervals",
        ));
    }
    check_references(&root, "route", &names, &time_intervals)?;
    if root.continue_matching {
        return Err(ConfigError::new(
            "route.continue",
            "cannot have continue in root route",
        ));
    }

    let mut inhibit_rules = Vec::new();
    for (i, r) in raw
        .inhibit_rules
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        inhibit_rules.push(inhibit_rule(r, &format!("inhibit_rules[{i}]"))?);
    }

    Ok(Config {
        global,
        route: RoutingTree::build(root),
        inhibit_rules,
        receivers,
        templates: raw.templates.unwrap_or_default(),
        time_intervals,
        original,
    })
}

fn url_field(v: Option<String>, path: &str) -> Result<Option<String>, ConfigError> {
    match v {
        None => Ok(None),
        Some(u) => {
            parse_http_url(&u).map_err(|e| ConfigError::new(path, e))?;
            Ok(Some(u))
        }
    }
}

fn global(g: RawGlobal) -> Result<GlobalConfig, ConfigError> {
    let resolve_timeout_ms = match g.resolve_timeout {
        Some(s) => parse_duration(&s).map_err(|e| ConfigError::new("global.resolve_timeout", e))?,
        None => DEFAULT_RESOLVE_TIMEOUT_MS,
    };
    let http_config = match g.http_config {
        Some(h) => http_config(h, "global.http_config")?,
        None => HttpConfig::default(),
    };
    let smtp_smarthost = match non_empty(g.smtp_smarthost) {
        Some(s) => {
            let (host, port) =
                parse_host_port(&s).map_err(|e| ConfigError::new("global.smtp_smarthost", e))?;
            Some(HostPort { host, port })
        }
        None => None,
    };
    let slack_api_url = non_empty(g.slack_api_url);
    if let Some(u) = &slack_api_url {
        if u != "<secret>" {
            parse_http_url(u).map_err(|e| ConfigError::new("global.slack_api_url", e))?;
        }
    }
    let slack_api_url_file = non_empty(g.slack_api_url_file);
    if slack_api_url.is_some() && slack_api_url_file.is_some() {
        return Err(ConfigError::new(
            "global",
            "at most one of slack_api_url & slack_api_url_file must be configured",
        ));
    }
    let pair_check = |a: &Option<String>, b: &Option<String>, what: &str| {
        if non_empty(a.clone()).is_some() && non_empty(b.clone()).is_some() {
            Err(ConfigError::new(
                "global",
                format!("at most one of {what} & {what}_file must be configured"),
            ))
        } else {
            Ok(())
        }
    };
    pair_check(
        &g.opsgenie_api_key,
        &g.opsgenie_api_key_file,
        "opsgenie_api_key",
    )?;
    pair_check(
        &g.victorops_api_key,
        &g.victorops_api_key_file,
        "victorops_api_key",
    )?;
    pair_check(
        &g.smtp_auth_password,
        &g.smtp_auth_password_file,
        "smtp_auth_password",
    )?;
    let pagerduty_url = url_field(g.pagerduty_url, "global.pagerduty_url")?
        .unwrap_or_else(|| DEFAULT_PAGERDUTY_URL.to_owned());
    let mut other = BTreeMap::new();
    for (key, v, is_url) in [
        ("opsgenie_api_url", g.opsgenie_api_url, true),
        ("opsgenie_api_key_file", g.opsgenie_api_key_file, false),
        ("wechat_api_url", g.wechat_api_url, true),
        ("wechat_api_corp_id", g.wechat_api_corp_id, false),
        ("victorops_api_url", g.victorops_api_url, true),
        ("victorops_api_key_file", g.victorops_api_key_file, false),
        ("telegram_api_url", g.telegram_api_url, true),
        ("webex_api_url", g.webex_api_url, true),
    ] {
        let v = if is_url {
            url_field(v, &format!("global.{key}"))?
        } else {
            v
        };
        if let Some(v) = non_empty(v) {
            other.insert(key.to_owned(), v);
        }
    }
    let other_secrets = [
        ("opsgenie_api_key", g.opsgenie_api_key),
        ("wechat_api_secret", g.wechat_api_secret),
        ("victorops_api_key", g.victorops_api_key),
    ]
    .into_iter()
    .filter_map(|(k, v)| non_empty(v).map(|v| (k.to_owned(), Secret::new(v))))
    .collect();
    Ok(GlobalConfig {
        other_secrets,
        resolve_timeout_ms,
        http_config,
        smtp_from: g.smtp_from.unwrap_or_default(),
        smtp_hello: non_empty(g.smtp_hello).unwrap_or_else(|| "localhost".to_owned()),
        smtp_smarthost,
        smtp_auth_username: g.smtp_auth_username.unwrap_or_default(),
        smtp_auth_password: non_empty(g.smtp_auth_password).map(Secret::new),
        smtp_auth_password_file: non_empty(g.smtp_auth_password_file),
        smtp_auth_secret: non_empty(g.smtp_auth_secret).map(Secret::new),
        smtp_auth_identity: g.smtp_auth_identity.unwrap_or_default(),
        smtp_require_tls: g.smtp_require_tls.unwrap_or(true),
        slack_api_url: slack_api_url.map(Secret::new),
        slack_api_url_file,
        pagerduty_url,
        other,
    })
}

/// `match:` (equality) and `match_re:` (anchored regex) maps, in Alertmanager's spelling: a
/// `match_re` matcher's value is the anchored expression `^(?:re)$` itself, which is how it
/// shows in route keys.
fn legacy_matchers(
    eq: Option<BTreeMap<String, String>>,
    re: Option<BTreeMap<String, String>>,
    path_eq: &str,
    path_re: &str,
) -> Result<Vec<Matcher>, ConfigError> {
    let mut out = Vec::new();
    for (k, v) in eq.unwrap_or_default() {
        if !is_valid_label_name(&k) {
            return Err(ConfigError::new(
                path_eq,
                format!("invalid label name {k:?}"),
            ));
        }
        out.push(Matcher::new(MatchOp::Equal, k, v).map_err(|e| ConfigError::new(path_eq, e))?);
    }
    for (k, v) in re.unwrap_or_default() {
        if !is_valid_label_name(&k) {
            return Err(ConfigError::new(
                path_re,
                format!("invalid label name {k:?}"),
            ));
        }
        compile_anchored(&v).map_err(|e| ConfigError::new(format!("{path_re}.{k}"), e))?;
        let anchored = format!("^(?:{v})$");
        let at = format!("{path_re}.{k}");
        out.push(Matcher::new(MatchOp::Regex, k, anchored).map_err(|e| ConfigError::new(at, e))?);
    }
    Ok(out)
}

/// `matchers:` lines, each a list in Alertmanager's matcher syntax.
fn matcher_lines(lines: Option<Vec<String>>, path: &str) -> Result<Vec<Matcher>, ConfigError> {
    let mut out = Vec::new();
    for (i, line) in lines.unwrap_or_default().iter().enumerate() {
        out.extend(parse_matchers(line).map_err(|e| ConfigError::new(format!("{path}[{i}]"), e))?);
    }
    Ok(out)
}

fn duration_field(v: Option<String>, path: &str) -> Result<Option<u64>, ConfigError> {
    v.map(|s| parse_duration(&s).map_err(|e| ConfigError::new(path, e)))
        .transpose()
}

fn route_spec(r: RawRoute, path: &str) -> Result<RouteSpec, ConfigError> {
    let mut matchers = legacy_matchers(
        r.match_eq,
        r.match_re,
        &format!("{path}.match"),
        &format!("{path}.match_re"),
    )?;
    matchers.extend(matcher_lines(r.matchers, &format!("{path}.matchers"))?);
    let mut listed = Vec::new();
    let mut group_by_all = false;
    for (i, l) in r.group_by.unwrap_or_default().into_iter().enumerate() {
        if l == "..." {
            group_by_all = true;
        } else if !is_valid_label_name(&l) {
            return Err(ConfigError::new(
                format!("{path}.group_by[{i}]"),
                format!("invalid label name {l:?} in group_by list"),
            ));
        } else {
            listed.push(l);
        }
    }
    if !listed.is_empty() && group_by_all {
        return Err(ConfigError::new(
            format!("{path}.group_by"),
            "cannot have wildcard group_by (`...`) and other other labels at the same time",
        ));
    }
    let mut group_by = BTreeSet::new();
    for l in &listed {
        if !group_by.insert(l.clone()) {
            return Err(ConfigError::new(
                format!("{path}.group_by"),
                format!("duplicated label {l:?} in group_by"),
            ));
        }
    }
    let group_wait_ms = duration_field(r.group_wait, &format!("{path}.group_wait"))?;
    let group_interval_ms = duration_field(r.group_interval, &format!("{path}.group_interval"))?;
    let repeat_interval_ms = duration_field(r.repeat_interval, &format!("{path}.repeat_interval"))?;
    if group_interval_ms == Some(0) {
        return Err(ConfigError::new(
            format!("{path}.group_interval"),
            "group_interval cannot be zero",
        ));
    }
    if repeat_interval_ms == Some(0) {
        return Err(ConfigError::new(
            format!("{path}.repeat_interval"),
            "repeat_interval cannot be zero",
        ));
    }
    let mut routes = Vec::new();
    for (i, c) in r.routes.unwrap_or_default().into_iter().enumerate() {
        routes.push(route_spec(c, &format!("{path}.routes[{i}]"))?);
    }
    Ok(RouteSpec {
        receiver: r.receiver,
        group_by: (!listed.is_empty()).then_some(group_by),
        group_by_all,
        group_wait_ms,
        group_interval_ms,
        repeat_interval_ms,
        matchers: Matchers(matchers),
        mute_time_intervals: r.mute_time_intervals.unwrap_or_default(),
        active_time_intervals: r.active_time_intervals.unwrap_or_default(),
        continue_matching: r.continue_.unwrap_or(false),
        routes,
    })
}

/// Every receiver and time interval a route names must exist; children are checked first, as
/// in Alertmanager.
fn check_references(
    r: &RouteSpec,
    path: &str,
    receivers: &HashSet<String>,
    intervals: &BTreeMap<String, Vec<TimeInterval>>,
) -> Result<(), ConfigError> {
    for (i, c) in r.routes.iter().enumerate() {
        check_references(c, &format!("{path}.routes[{i}]"), receivers, intervals)?;
    }
    if let Some(name) = r.receiver.as_deref().filter(|n| !n.is_empty()) {
        if !receivers.contains(name) {
            return Err(ConfigError::new(
                format!("{path}.receiver"),
                format!("undefined receiver {name:?} used in route"),
            ));
        }
    }
    for (field, names) in [
        ("active_time_intervals", &r.active_time_intervals),
        ("mute_time_intervals", &r.mute_time_intervals),
    ] {
        for (i, n) in names.iter().enumerate() {
            if !intervals.contains_key(n) {
                return Err(ConfigError::new(
                    format!("{path}.{field}[{i}]"),
                    format!("undefined time interval {n:?} used in route"),
                ));
            }
        }
    }
    Ok(())
}

fn inhibit_rule(r: RawInhibitRule, path: &str) -> Result<InhibitRule, ConfigError> {
    let mut source = legacy_matchers(
        r.source_match,
        r.source_match_re,
        &format!("{path}.source_match"),
        &format!("{path}.source_match_re"),
    )?;
    source.extend(matcher_lines(
        r.source_matchers,
        &format!("{path}.source_matchers"),
    )?);
    let mut target = legacy_matchers(
        r.target_match,
        r.target_match_re,
        &format!("{path}.target_match"),
        &format!("{path}.target_match_re"),
    )?;
    target.extend(matcher_lines(
        r.target_matchers,
        &format!("{path}.target_matchers"),
    )?);
    let mut equal = BTreeSet::new();
    for (i, l) in r.equal.unwrap_or_default().into_iter().enumerate() {
        if !is_valid_label_name(&l) {
            return Err(ConfigError::new(
                format!("{path}.equal[{i}]"),
                format!("{l:?} is not a valid label name"),
            ));
        }
        equal.insert(l);
    }
    Ok(InhibitRule {
        source_matchers: Matchers(source),
        target_matchers: Matchers(target),
        equal,
    })
}

fn named_interval(
    ti: RawNamedTimeInterval,
    path: &str,
    label: &str,
) -> Result<(String, Vec<TimeInterval>), ConfigError> {
    let name = ti.name.unwrap_or_default();
    if name.is_empty() {
        return Err(ConfigError::new(path, format!("missing name in {label}")));
    }
    let mut out = Vec::new();
    for (i, raw) in ti
        .time_intervals
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let p = format!("{path}.time_intervals[{i}]");
        let ranges =
            |v: Option<Vec<String>>,
             field: &str,
             f: fn(&str) -> Result<crate::timeinterval::InclusiveRange, String>| {
                v.map(|items| {
                    items
                        .iter()
                        .enumerate()
                        .map(|(j, s)| {
                            f(s).map_err(|e| ConfigError::new(format!("{p}.{field}[{j}]"), e))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()
            };
        let times = raw
            .times
            .map(|ts| {
                ts.into_iter()
                    .enumerate()
                    .map(|(j, t)| {
                        parse_time_range(t.start_time.as_deref(), t.end_time.as_deref())
                            .map_err(|e| ConfigError::new(format!("{p}.times[{j}]"), e))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let location = raw
            .location
            .map(|l| Location::load(&l).map_err(|e| ConfigError::new(format!("{p}.location"), e)))
            .transpose()?;
        out.push(TimeInterval {
            times,
            weekdays: ranges(raw.weekdays, "weekdays", parse_weekday_range)?,
            days_of_month: ranges(raw.days_of_month, "days_of_month", parse_day_of_month_range)?,
            months: ranges(raw.months, "months", parse_month_range)?,
            years: ranges(raw.years, "years", parse_year_range)?,
            location,
        });
    }
    Ok((name, out))
}

/// Keys whose values are credentials in Alertmanager's config (its `Secret` and `SecretURL`
/// fields, and `prometheus/common`'s): printed as `<secret>` by the status API.
const SECRET_KEYS: [&str; 18] = [
    "smtp_auth_password",
    "smtp_auth_secret",
    "slack_api_url",
    "opsgenie_api_key",
    "wechat_api_secret",
    "victorops_api_key",
    "auth_password",
    "auth_secret",
    "service_key",
    "routing_key",
    "password",
    "credentials",
    "bearer_token",
    "client_secret",
    "api_key",
    "api_secret",
    "user_key",
    "bot_token",
];

fn mask(v: &mut Value, in_slack: bool) {
    match v {
        Value::Sequence(s) => s.iter_mut().for_each(|v| mask(v, in_slack)),
        Value::Mapping(m) => {
            for (k, v) in m.iter_mut() {
                let key = k.as_str().unwrap_or("");
                let secret = SECRET_KEYS.contains(&key)
                    || (in_slack && key == "api_url")
                    || key == "token"
                    || key == "webhook_url";
                let non_empty = !matches!(v, Value::Null) && v.as_str() != Some("");
                if secret && non_empty && !v.is_mapping() && !v.is_sequence() {
                    *v = Value::String("<secret>".to_owned());
                } else {
                    mask(
                        v,
                        key == "slack_configs" || (in_slack && key != "http_config"),
                    );
                }
            }
        }
        Value::Tagged(t) => mask(&mut t.value, in_slack),
        _ => {}
    }
}

/// The document as YAML with secrets masked (comments and layout are not kept).
pub(super) fn masked_yaml(v: &Value) -> String {
    if v.is_null() {
        return String::new();
    }
    let mut v = v.clone();
    mask(&mut v, false);
    serde_yaml_ng::to_string(&v).unwrap_or_default()
}
