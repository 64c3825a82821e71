//! Value syntaxes of Alertmanager's config that Go's standard library checks: URLs
//! (`net/url.Parse` plus Alertmanager's http/https-with-host rule), `host:port` addresses
//! (`net.SplitHostPort`), and Prometheus durations limited to Go's `time.Duration` range.

/// Nanoseconds in Go's `time.Duration` must fit an `i64`: about 292 years.
const MAX_DURATION_MS: u64 = (i64::MAX as u64) / 1_000_000;

/// A Prometheus duration (`30s`, `1h30m`, `0`) in milliseconds.
pub(crate) fn parse_duration(s: &str) -> Result<u64, String> {
    let ms = vigil_model::parse_duration_ms(s).map_err(|e| {
        if e.contains("too large") {
            "duration out of range".to_owned()
        } else {
            e
        }
    })?;
    if ms > MAX_DURATION_MS {
        return Err("duration out of range".to_owned());
    }
    Ok(ms)
}

fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// Checks `%XX` escapes; in a host, also the characters Go refuses there.
fn check_escapes(s: &str, host: bool) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                let end = (i + 3).min(b.len());
                let esc = s.get(i..end).unwrap_or("%");
                return Err(format!("invalid URL escape {esc:?}"));
            }
            i += 3;
            continue;
        }
        if host && c < 0x80 && !c.is_ascii_alphanumeric() && !b"-_.~!$&'()*+,;=:[]<>\"".contains(&c)
        {
            return Err(format!(
                "invalid character {:?} in host name",
                char::from(c)
            ));
        }
        i += 1;
    }
    Ok(())
}

/// `:digits` or nothing.
fn valid_optional_port(p: &str) -> bool {
    match p.strip_prefix(':') {
        None => p.is_empty(),
        Some(d) => d.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if let Some(rest) = host.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err("missing ']' in host".to_owned());
        };
        let after = rest.get(end + 1..).unwrap_or("");
        if !valid_optional_port(after) {
            return Err(format!("invalid port {after:?} after host"));
        }
        return Ok(());
    }
    if let Some(i) = host.rfind(':') {
        let port = host.get(i..).unwrap_or("");
        if !valid_optional_port(port) {
            return Err(format!("invalid port {port:?} after host"));
        }
    }
    check_escapes(host, true)
}

/// The parts of a URL Alertmanager looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedUrl {
    pub scheme: String,
    pub host: String,
}

/// `net/url.Parse`, reduced to what decides acceptance: control characters, the scheme, the
/// authority (userinfo, host, port) and percent-escapes.
pub(crate) fn go_url_parse(raw: &str) -> Result<ParsedUrl, String> {
    let wrap = |e: String| format!("parse {raw:?}: {e}");
    let (u, frag) = match raw.find('#') {
        Some(i) => (raw.get(..i).unwrap_or(""), raw.get(i + 1..).unwrap_or("")),
        None => (raw, ""),
    };
    if u.bytes().any(is_ctl) || frag.bytes().any(is_ctl) {
        return Err(wrap("net/url: invalid control character in URL".to_owned()));
    }
    check_escapes(frag, false).map_err(wrap)?;
    // Scheme: letters first, then letters, digits, `+-.`, ended by ':'.
    let mut scheme = "";
    let mut rest = u;
    for (i, c) in u.char_indices() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || c == '+' || c == '-' || c == '.' {
            if i == 0 {
                break;
            }
            continue;
        }
        if c == ':' {
            if i == 0 {
                return Err(wrap("missing protocol scheme".to_owned()));
            }
            scheme = u.get(..i).unwrap_or("");
            rest = u.get(i + 1..).unwrap_or("");
        }
        break;
    }
    let scheme = scheme.to_ascii_lowercase();
    let rest = match rest.find('?') {
        Some(i) => rest.get(..i).unwrap_or(""),
        None => rest,
    };
    if !rest.starts_with('/') {
        if scheme.is_empty() {
            let seg = rest.split('/').next().unwrap_or("");
            if seg.contains(':') {
                return Err(wrap(
                    "first path segment in URL cannot contain colon".to_owned(),
                ));
            }
        }
        check_escapes(rest, false).map_err(wrap)?;
        return Ok(ParsedUrl {
            scheme,
            host: String::new(),
        });
    }
    let mut host = String::new();
    let mut path = rest;
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let authority = after.get(..end).unwrap_or("");
        path = after.get(end..).unwrap_or("");
        let h = match authority.rfind('@') {
            Some(i) => {
                let userinfo = authority.get(..i).unwrap_or("");
                if !userinfo
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b))
                {
                    return Err(wrap("net/url: invalid userinfo".to_owned()));
                }
                check_escapes(userinfo, false).map_err(wrap)?;
                authority.get(i + 1..).unwrap_or("")
            }
            None => authority,
        };
        check_host(h).map_err(wrap)?;
        host = h.to_owned();
    }
    check_escapes(path, false).map_err(wrap)?;
    Ok(ParsedUrl { scheme, host })
}

/// Alertmanager's `parseURL`: a Go URL with scheme http or https and a host.
pub(crate) fn parse_http_url(s: &str) -> Result<ParsedUrl, String> {
    let u = go_url_parse(s)?;
    if u.scheme != "http" && u.scheme != "https" {
        return Err(format!("unsupported scheme {:?} for URL", u.scheme));
    }
    if u.host.is_empty() {
        return Err("missing host for URL".to_owned());
    }
    Ok(u)
}

/// `net.SplitHostPort`, then Alertmanager's "port cannot be empty".
pub(crate) fn parse_host_port(s: &str) -> Result<(String, String), String> {
    let err = |why: &str| format!("address {s}: {why}");
    let Some(i) = s.rfind(':') else {
        return Err(err("missing port in address"));
    };
    let (host, j, k);
    if s.starts_with('[') {
        let Some(end) = s.find(']') else {
            return Err(err("missing ']' in address"));
        };
        if end + 1 == s.len() {
            return Err(err("missing port in address"));
        }
        if end + 1 != i {
            return Err(if s.as_bytes().get(end + 1) == Some(&b':') {
                err("too many colons in address")
            } else {
                err("missing port in address")
            });
        }
        host = s.get(1..end).unwrap_or("");
        j = 1;
        k = end + 1;
    } else {
        host = s.get(..i).unwrap_or("");
        if host.contains(':') {
            return Err(err("too many colons in address"));
        }
        j = 0;
        k = 0;
    }
    if s.get(j..).unwrap_or("").contains('[') {
        return Err(err("unexpected '[' in address"));
    }
    if s.get(k..).unwrap_or("").contains(']') {
        return Err(err("unexpected ']' in address"));
    }
    let port = s.get(i + 1..).unwrap_or("");
    if port.is_empty() {
        return Err(format!("address {s:?}: port cannot be empty"));
    }
    Ok((host.to_owned(), port.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_go() {
        assert!(parse_http_url("http://example.com/x?y#z").is_ok());
        assert!(parse_http_url("https://user:pw@example.com:8443").is_ok());
        assert!(parse_http_url("http://:80").is_ok());
        assert!(parse_http_url("http://[::1]:9093/").is_ok());
        for bad in [
            "example.com",
            "ftp://example.com",
            "http://",
            "http:foo",
            "http://example.com:port",
            "http://exa mple.com",
            "http://[::1",
            "http://example.com/%zz",
            "://x",
            "http://a\x01b",
        ] {
            assert!(parse_http_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_ports_follow_go() {
        assert_eq!(
            parse_host_port("smtp.example.org:587"),
            Ok(("smtp.example.org".into(), "587".into()))
        );
        assert!(parse_host_port("[::1]:25").is_ok());
        for bad in ["smtp.example.org", "a:b:c", "[::1]", "host:", "[::1]x:1"] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_are_bounded_like_go() {
        assert_eq!(parse_duration("5m"), Ok(300_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert!(parse_duration("300y").is_err());
        assert!(parse_duration("5").is_err());
    }
}
