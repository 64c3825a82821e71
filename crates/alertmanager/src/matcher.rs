//! Alertmanager's label matchers (`pkg/labels` in Alertmanager 0.25): the `name op value` syntax
//! used by `matchers:` in the config, by `amtool` and by the API's `filter` parameter.
//!
//! Differences from PromQL's matchers ([`vigil_model::Matcher`]), kept on purpose: label names
//! may contain `:`, values may be unquoted, a regular expression is anchored as `^(?:re)$` (so
//! `.` does not match a newline, unlike Prometheus's `^(?s:re)$`), and a label an alert lacks is
//! seen as the empty string. That is why this is a type of its own rather than a wrapper of the
//! model's: the compiled regex is the anchoring, and sharing it would make one of the two match
//! differently from the program it imitates. Only the operator ([`MatchOp`]) is shared.
//!
//! Regular expressions are Go's RE2 syntax in Alertmanager and Rust's `regex` syntax here. The
//! two agree on everything but corners: Perl classes (`\d`, `\w`, `\s`, `\b`) are ASCII-only in
//! Go and Unicode-aware here, and Go's `\Q...\E` quoting is not supported.

use std::cmp::Ordering;
use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use vigil_model::{Labels, MatchOp};

/// One compiled matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    re: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

/// Alertmanager's type order: `=`, `!=`, `=~`, `!~`.
fn op_rank(op: MatchOp) -> u8 {
    match op {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::Regex => 2,
        MatchOp::NotRegex => 3,
    }
}

impl Ord for Matcher {
    /// By name, then value, then type, as Alertmanager sorts a route's matchers (the order
    /// shows in route keys, and so in group keys).
    fn cmp(&self, other: &Self) -> Ordering {
        self.name
            .cmp(&other.name)
            .then_with(|| self.value.cmp(&other.value))
            .then_with(|| op_rank(self.op).cmp(&op_rank(other.op)))
    }
}

impl PartialOrd for Matcher {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Matcher {
    /// Builds a matcher; regex operators compile `^(?:value)$`.
    ///
    /// # Errors
    /// The regular expression does not compile; the message is the regex crate's.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, String> {
        let name = name.into();
        let value = value.into();
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(compile_anchored(&value)?),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            re,
        })
    }

    /// Whether `v` (empty when the label is absent) satisfies the matcher.
    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.re) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            // Not constructible: `new` compiles a regex for both regex operators.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    /// Whether the label set satisfies the matcher (a missing label is the empty string).
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }

    /// `isRegex` of the API's matcher object.
    pub fn is_regex(&self) -> bool {
        matches!(self.op, MatchOp::Regex | MatchOp::NotRegex)
    }

    /// `isEqual` of the API's matcher object.
    pub fn is_equal(&self) -> bool {
        matches!(self.op, MatchOp::Equal | MatchOp::Regex)
    }

    /// The operator from the API's `isEqual`/`isRegex` pair.
    pub fn op_from_flags(is_equal: bool, is_regex: bool) -> MatchOp {
        match (is_equal, is_regex) {
            (true, false) => MatchOp::Equal,
            (false, false) => MatchOp::NotEqual,
            (true, true) => MatchOp::Regex,
            (false, true) => MatchOp::NotRegex,
        }
    }
}

/// Compiles `^(?:re)$`, Alertmanager's anchoring.
pub(crate) fn compile_anchored(re: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{re})$")).map_err(|e| format!("error parsing regexp: {e}"))
}

impl fmt::Display for Matcher {
    /// `name="value"` with OpenMetrics escaping (`\\`, `\n`, `\"`), as Alertmanager prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.name, self.op.as_str())?;
        for c in self.value.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '"' => f.write_str("\\\"")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// A list of matchers that must all hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matchers(pub Vec<Matcher>);

impl Matchers {
    /// Whether every matcher holds for `labels`.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|m| m.matches_labels(labels))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Matcher> {
        self.0.iter()
    }

    /// Sorts into Alertmanager's order (name, value, type).
    pub fn sort(&mut self) {
        self.0.sort();
    }
}

impl fmt::Display for Matchers {
    /// `{a="b",c=~"d"}`: no space after the comma, as in route keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{m}")?;
        }
        f.write_str("}")
    }
}

/// `\s` of Go's regexp: ASCII whitespace without the vertical tab.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

fn matcher_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        // Alertmanager's pattern with Go's `\s` spelled out: name, operator (`=~` before `=`),
        // then the lazily matched rest, trailing whitespace excluded.
        Regex::new(
            r"^[\t\n\x0c\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)[\t\n\x0c\r ]*(=~|=|!=|!~)[\t\n\x0c\r ]*((?s:.*?))[\t\n\x0c\r ]*$",
        )
        .ok()
    })
    .as_ref()
}

/// Parses one matcher such as `foo="bar"`, `foo=~a|b` or ` job != "x" `.
///
/// Quoting follows Alertmanager: the value may be wrapped in double quotes; inside, `\"`, `\n`
/// and `\\` are escapes, any other backslash is literal, and an unescaped `"` anywhere but at
/// the end is an error.
///
/// # Errors
/// `bad matcher format: …`, `matcher value contains unescaped double quote: …`, or an invalid
/// regular expression.
pub fn parse_matcher(s: &str) -> Result<Matcher, String> {
    let caps = matcher_re()
        .and_then(|re| re.captures(s))
        .ok_or_else(|| format!("bad matcher format: {s}"))?;
    let (Some(name), Some(op), Some(raw)) = (caps.get(1), caps.get(2), caps.get(3)) else {
        return Err(format!("bad matcher format: {s}"));
    };
    let op = match op.as_str() {
        "=" => MatchOp::Equal,
        "!=" => MatchOp::NotEqual,
        "=~" => MatchOp::Regex,
        _ => MatchOp::NotRegex,
    };
    let raw_full = raw.as_str();
    let (rest, mut expect_trailing_quote) = match raw_full.strip_prefix('"') {
        Some(r) => (r, true),
        None => (raw_full, false),
    };
    let unquoted_err = || format!("matcher value contains unescaped double quote: {raw_full}");
    let mut value = String::with_capacity(rest.len());
    let mut escaped = false;
    let len = rest.len();
    for (i, c) in rest.char_indices() {
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                other => {
                    value.push('\\');
                    value.push(other);
                }
            }
            continue;
        }
        match c {
            '\\' => {
                if i + 1 < len {
                    escaped = true;
                } else {
                    value.push('\\');
                }
            }
            '"' => {
                if !expect_trailing_quote || i + 1 < len {
                    return Err(unquoted_err());
                }
                expect_trailing_quote = false;
            }
            c => value.push(c),
        }
    }
    if expect_trailing_quote {
        return Err(unquoted_err());
    }
    Matcher::new(op, name.as_str(), value)
}

/// Parses a comma-separated list such as `{a="b", c!~"d"}`; the braces are optional, commas
/// inside double quotes do not split, and one trailing comma is allowed.
///
/// # Errors
/// The first matcher that does not parse (an empty item between commas is one).
pub fn parse_matchers(s: &str) -> Result<Vec<Matcher>, String> {
    let s = s.strip_prefix('{').unwrap_or(s);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut inside_quotes = false;
    let mut escaped = false;
    for c in s.chars() {
        match c {
            ',' if !inside_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            // A comma inside quotes is kept and, as in Alertmanager, leaves `escaped` alone.
            ',' => {}
            '"' => {
                if escaped {
                    escaped = false;
                } else {
                    inside_quotes = !inside_quotes;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    let last = token.trim_matches(is_go_space);
    if !last.is_empty() {
        tokens.push(last.to_owned());
    }
    tokens.iter().map(|t| parse_matcher(t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> (String, &'static str, String) {
        let m = parse_matcher(s).expect(s);
        (m.name.clone(), m.op.as_str(), m.value.clone())
    }

    #[test]
    fn parses_alertmanager_syntax() {
        assert_eq!(one(r#"foo="bar""#), ("foo".into(), "=", "bar".into()));
        assert_eq!(one("foo=bar"), ("foo".into(), "=", "bar".into()));
        assert_eq!(one(" foo != bar "), ("foo".into(), "!=", "bar".into()));
        assert_eq!(one(r#"foo=~"a|b""#), ("foo".into(), "=~", "a|b".into()));
        assert_eq!(one("foo!~a.*"), ("foo".into(), "!~", "a.*".into()));
        assert_eq!(one("a:b="), ("a:b".into(), "=", "".into()));
        assert_eq!(one(r#"q="x\"y""#), ("q".into(), "=", "x\"y".into()));
        assert_eq!(one(r#"q="a\nb""#), ("q".into(), "=", "a\nb".into()));
        assert_eq!(one(r#"q="a\\b""#), ("q".into(), "=", "a\\b".into()));
        assert_eq!(one(r#"q="a\qb""#), ("q".into(), "=", "a\\qb".into()));
        assert_eq!(one(r"q=a\"), ("q".into(), "=", "a\\".into()));
        assert_eq!(one("foo=bar=baz"), ("foo".into(), "=", "bar=baz".into()));
        for bad in [
            "",
            "foo",
            "1a=b",
            r#"foo="bar"#,
            r#"foo=ba"r"#,
            r#"foo="a"b""#,
            "foo=~(",
            "=b",
        ] {
            assert!(parse_matcher(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_lists() {
        let ms = parse_matchers(r#"{foo = "bar", dings != "bums", }"#).expect("list");
        assert_eq!(ms.len(), 2);
        let ms = parse_matchers(r#"{quote="She said: \"Hi, ladies!\""}"#).expect("quoted comma");
        assert_eq!(ms.len(), 1);
        assert_eq!(
            ms.first().map(|m| m.value.as_str()),
            Some("She said: \"Hi, ladies!\"")
        );
        assert!(parse_matchers("a=b,,c=d").is_err());
        assert_eq!(parse_matchers("").expect("empty").len(), 0);
        assert_eq!(parse_matchers("{}").expect("braces").len(), 0);
    }

    #[test]
    fn regex_is_anchored_without_dotall() {
        let m = parse_matcher("a=~b.*").expect("m");
        assert!(m.matches("bcd"));
        assert!(!m.matches("abc"));
        assert!(!m.matches("b\nc"));
    }

    #[test]
    fn display_escapes_and_sorts() {
        let mut ms = Matchers(parse_matchers(r#"b=~"x", a!="q\"\n", b="x""#).expect("ms"));
        ms.sort();
        assert_eq!(ms.to_string(), r#"{a!="q\"\n",b="x",b=~"x"}"#);
    }
}
