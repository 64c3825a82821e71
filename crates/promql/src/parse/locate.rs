//! Where a parse error is, and how Prometheus words it.
//!
//! `promql-parser` reports errors without a position, and words some of them differently from
//! Prometheus (`expected type matrix in call to function 'rate'` where Prometheus says
//! `1:10: parse error: expected type range vector in call to function "rate"`). The parser's
//! error values are not public, so the position is recovered from the outside, in three ways:
//!
//! - **Lexical errors** (unclosed brackets, unterminated strings, stray closers, bad numbers)
//!   are found with a small tokenizer of our own and placed where Prometheus's lexer stops:
//!   at the end of the input for the unclosed ones, at the string's quote, after a stray `)`.
//! - **Type and arity errors** name a function or an operator: the tokenizer finds the call,
//!   and the offending argument is the one whose replacement by a value of the expected type
//!   makes the error go away.
//! - **Grammar errors** ("invalid promql query") lie just after the longest prefix of the
//!   query that parses on its own. If appending an operand to the whole query makes it parse,
//!   the input ended too early ("unexpected end of input"); otherwise the token at that
//!   position is the unexpected one, described in Prometheus's words (`"("`, `<by>`,
//!   `identifier "foo"`).
//!
//! `crates/server/tests/promql_differential.rs` compares the messages with Prometheus 2.42's
//! for a corpus of malformed queries and prints the ones that still differ.

use promql_parser::parser;

/// Queries longer than this get the parser's message without a position search (each probe is
/// a full parse).
const POSITION_SEARCH_MAX_LEN: usize = 4096;

pub(super) const GENERIC_PARSER_ERROR: &str = "invalid promql query";

const AGGREGATORS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "start",
    "end",
];

const WORD_OPERATORS: &[&str] = &["and", "or", "unless", "atan2"];

fn parses(text: &str) -> bool {
    parser::parse(text).is_ok()
}

/// Builds Prometheus's message, `line:col: parse error: …`, for the parser's message `msg`.
pub(super) fn locate(query: &str, msg: &str) -> String {
    if query.trim().is_empty() {
        return "1:1: parse error: no expression found in input".to_owned();
    }
    if query.len() > POSITION_SEARCH_MAX_LEN {
        return format!("parse error: {msg}");
    }
    let toks = tokenize(query);
    let (pos, what) = matchers(query, &toks, msg)
        .or_else(|| lexical(query, &toks, msg))
        .or_else(|| semantic(query, &toks, msg))
        .or_else(|| structure(query, &toks, msg))
        .unwrap_or_else(|| grammar(query, &toks, msg));
    format!("{}: parse error: {what}", line_col(query, pos))
}

/// `line:col`, both 1-based, col in characters, as Prometheus prints positions.
pub(super) fn line_col(query: &str, pos: usize) -> String {
    let before = query.get(..pos).unwrap_or(query);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{line}:{col}")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Ident,
    Number,
    Str {
        terminated: bool,
        raw: bool,
    },
    /// One character of punctuation or operator.
    Punct(char),
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Tok {
    fn text<'a>(&self, query: &'a str) -> &'a str {
        query.get(self.start..self.end).unwrap_or("")
    }

    fn is(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// PromQL's tokens, as far as positions need them: identifiers, numbers and durations,
/// strings, and single characters for everything else. Comments are skipped.
fn tokenize(query: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut it = query.char_indices().peekable();
    while let Some((start, c)) = it.next() {
        let kind = if c.is_whitespace() {
            continue;
        } else if c == '#' {
            while it.next_if(|&(_, c)| c != '\n').is_some() {}
            continue;
        } else if is_ident_start(c) {
            while it.next_if(|&(_, c)| is_ident_char(c)).is_some() {}
            Kind::Ident
        } else if c.is_ascii_digit()
            || (c == '.' && it.peek().is_some_and(|&(_, n)| n.is_ascii_digit()))
        {
            while it
                .next_if(|&(_, c)| c.is_ascii_alphanumeric() || c == '.' || c == '_')
                .is_some()
            {}
            Kind::Number
        } else if c == '"' || c == '\'' || c == '`' {
            let raw = c == '`';
            let mut terminated = false;
            while let Some((_, n)) = it.next() {
                if n == c {
                    terminated = true;
                    break;
                }
                if n == '\\' && !raw {
                    it.next();
                }
            }
            Kind::Str { terminated, raw }
        } else {
            Kind::Punct(c)
        };
        let end = it.peek().map_or(query.len(), |&(i, _)| i);
        toks.push(Tok { kind, start, end });
    }
    toks
}

/// Index of the token closing the group opened at `open` (`(`, `[` or `{`), if any.
fn closing(toks: &[Tok], open: usize) -> Option<usize> {
    if !toks
        .get(open)
        .is_some_and(|t| matches!(t.kind, Kind::Punct('(' | '[' | '{')))
    {
        return None;
    }
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            Kind::Punct('(' | '[' | '{') => depth += 1,
            Kind::Punct(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Errors Prometheus's lexer reports, placed where its lexer stops.
fn lexical(query: &str, toks: &[Tok], msg: &str) -> Option<(usize, String)> {
    let end = query.len();
    if msg == "unexpected end of input inside brackets" {
        // Nothing but blanks after the last `[`: Prometheus wants a duration there.
        let blank = query
            .rfind('[')
            .and_then(|i| query.get(i + 1..))
            .is_some_and(|rest| rest.trim().is_empty());
        let what = if blank {
            "missing unit character in duration"
        } else {
            "unclosed left bracket"
        };
        return Some((end, what.to_owned()));
    }
    if msg == "unclosed left parenthesis" || msg.starts_with("unexpected end of input") {
        return Some((end, msg.to_owned()));
    }
    if msg.starts_with("unterminated quoted string") {
        let t = toks.iter().find(|t| {
            matches!(
                t.kind,
                Kind::Str {
                    terminated: false,
                    ..
                }
            )
        })?;
        let raw = matches!(t.kind, Kind::Str { raw: true, .. });
        let what = if raw {
            "unterminated raw string"
        } else {
            "unterminated quoted string"
        };
        return Some((t.start, what.to_owned()));
    }
    if msg.starts_with("unexpected right parenthesis") {
        // Prometheus's lexer reports it after consuming the parenthesis.
        let t = stray_closer(toks, '(', ')')?;
        return Some((t.end, msg.replace('`', "'")));
    }
    if msg.starts_with("unexpected right brace") {
        let t = stray_closer(toks, '{', '}')?;
        return Some((t.start, "unexpected character: '}'".to_owned()));
    }
    if let Some(bad) = msg.strip_prefix("bad number or duration syntax: ") {
        let bad = bad.trim_matches('"');
        let (i, t) = toks
            .iter()
            .enumerate()
            .find(|(_, t)| t.kind == Kind::Number && t.text(query) == bad)?;
        // Prometheus quotes the digits it had read when it met the bad character.
        let digits: String = bad
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let in_brackets =
            toks.get(..i)
                .unwrap_or_default()
                .iter()
                .fold(0i32, |d, t| match t.kind {
                    Kind::Punct('[') => d + 1,
                    Kind::Punct(']') => d - 1,
                    _ => d,
                })
                > 0;
        let what = if in_brackets {
            format!("bad duration syntax: {digits:?}")
        } else {
            format!("bad number or duration syntax: {digits:?}")
        };
        return Some((t.start, what));
    }
    if msg == "duration must be greater than 0" {
        let t = toks.windows(2).find_map(|w| match w {
            [open, t] if (open.is('[') || open.is(':')) && t.kind == Kind::Number => {
                let value = t.text(query).trim_start_matches(['0', '.']);
                value
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_ascii_digit())
                    .then_some(*t)
            }
            _ => None,
        })?;
        return Some((t.start, msg.to_owned()));
    }
    None
}

/// The first closer that has no opener before it.
fn stray_closer(toks: &[Tok], open: char, close: char) -> Option<Tok> {
    let mut depth = 0i32;
    for t in toks {
        if t.is(open) {
            depth += 1;
        } else if t.is(close) {
            depth -= 1;
            if depth < 0 {
                return Some(*t);
            }
        }
    }
    None
}

/// A function call or aggregation in the token stream.
struct Call {
    /// Token index of the name.
    name: usize,
    /// Byte ranges of the arguments, blanks included.
    args: Vec<(usize, usize)>,
}

/// Every call of `name(…)` (or, for aggregations, `name by (…) (…)`).
fn calls(query: &str, toks: &[Tok], names: &[&str]) -> Vec<Call> {
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.kind != Kind::Ident || !names.contains(&t.text(query)) {
            continue;
        }
        let mut open = i + 1;
        // `sum by (a) (x)`: skip the grouping clause.
        if toks
            .get(open)
            .is_some_and(|g| matches!(g.text(query), "by" | "without"))
        {
            let Some(close) = toks
                .get(open + 1)
                .filter(|p| p.is('('))
                .and_then(|_| closing(toks, open + 1))
            else {
                continue;
            };
            open = close + 1;
        }
        let Some(close) = toks
            .get(open)
            .filter(|p| p.is('('))
            .and_then(|_| closing(toks, open))
        else {
            continue;
        };
        let (Some(lp), Some(rp)) = (toks.get(open), toks.get(close)) else {
            continue;
        };
        let mut args = Vec::new();
        let mut from = lp.end;
        let mut depth = 0usize;
        for t in toks.get(open + 1..close).unwrap_or_default() {
            match t.kind {
                Kind::Punct('(' | '[' | '{') => depth += 1,
                Kind::Punct(')' | ']' | '}') => depth = depth.saturating_sub(1),
                Kind::Punct(',') if depth == 0 => {
                    args.push((from, t.start));
                    from = t.end;
                }
                _ => {}
            }
        }
        if query
            .get(from..rp.start)
            .is_some_and(|a| !a.trim().is_empty())
            || !args.is_empty()
        {
            args.push((from, rp.start));
        }
        out.push(Call { name: i, args });
    }
    out
}

/// First non-blank byte at or after `pos`.
fn skip_blanks(query: &str, pos: usize) -> usize {
    let rest = query.get(pos..).unwrap_or("");
    pos + (rest.len() - rest.trim_start().len())
}

/// Prometheus's name for a value type.
fn documented(t: &str) -> &str {
    match t {
        "vector" => "instant vector",
        "matrix" => "range vector",
        other => other,
    }
}

/// An expression of the given type, to stand in for an argument.
fn placeholder(t: &str) -> Option<&'static str> {
    Some(match t {
        "vector" => "x",
        "matrix" => "x[1m]",
        "scalar" => "1",
        "string" => "\"s\"",
        _ => return None,
    })
}

/// `'name'` as Prometheus quotes it, `"name"`.
fn requote(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut parts = msg.split('\'');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for p in parts {
        out.push('"');
        out.push_str(p);
    }
    out
}

/// Type and arity errors, placed at the node Prometheus names.
fn semantic(query: &str, toks: &[Tok], msg: &str) -> Option<(usize, String)> {
    let quoted = |s: &str| s.split('\'').nth(1).map(str::to_owned);
    if let Some(rest) = msg.strip_prefix("expected type ") {
        if let Some((want, got)) = rest.split_once(" in aggregation expression, got ") {
            // The aggregation's parameter (`topk(k, …)`, `quantile(φ, …)`).
            let call = calls(query, toks, AGGREGATORS).into_iter().find(|c| {
                c.args.len() == 2
                    && c.args
                        .first()
                        .and_then(|&(a, b)| query.get(a..b))
                        .is_some_and(|p| {
                            parser::parse(p).is_ok_and(|e| e.value_type().to_string() == got)
                        })
            })?;
            let &(from, _) = call.args.first()?;
            let what = format!(
                "expected type {} in aggregation parameter, got {}",
                documented(want),
                documented(got)
            );
            return Some((skip_blanks(query, from), what));
        }
    }
    if let Some(rest) = msg.strip_prefix("expected type ") {
        // expected type T in call to function 'f', got U
        let (want, rest) = rest.split_once(" in call to function ")?;
        let name = quoted(rest)?;
        let got = rest.rsplit(", got ").next()?;
        let what = format!(
            "expected type {} in call to function {name:?}, got {}",
            documented(want),
            documented(got)
        );
        let stand_in = placeholder(want)?;
        // The offending argument: one of the type the message names, whose replacement by a
        // value of the expected type makes this error go away without a type error in its
        // own place.
        let broken = format!("in call to function '{name}', got {want}");
        for call in calls(query, toks, &[name.as_str()]) {
            for &(from, to) in &call.args {
                let (Some(before), Some(arg), Some(after)) =
                    (query.get(..from), query.get(from..to), query.get(to..))
                else {
                    continue;
                };
                let arg_type = parser::parse(arg).map(|e| e.value_type().to_string());
                if arg_type.as_deref() != Ok(got) {
                    continue;
                }
                let fixed = parser::parse(&format!("{before}{stand_in}{after}")).err();
                if fixed
                    .as_deref()
                    .is_none_or(|e| e != msg && !e.ends_with(&broken))
                {
                    return Some((skip_blanks(query, from), what));
                }
            }
        }
        return Some((0, what));
    }
    if msg.starts_with("expected ") && msg.contains(" argument(s) in call to ") {
        let name = quoted(msg)?;
        let got: usize = msg.rsplit(' ').next()?.parse().ok()?;
        let found = calls(query, toks, &[name.as_str()]);
        let call = found
            .iter()
            .find(|c| c.args.len() == got)
            .or(found.first())?;
        return Some((toks.get(call.name)?.start, requote(msg)));
    }
    if msg.starts_with("unknown function with name ") {
        let name = quoted(msg)?;
        let t = toks.windows(2).find_map(|w| match w {
            [f, p] if f.text(query) == name && p.is('(') => Some(*f),
            _ => None,
        })?;
        return Some((t.start, requote(msg)));
    }
    if msg.starts_with("wrong number of arguments for aggregate expression") {
        let got: usize = msg.rsplit(' ').next()?.parse().ok()?;
        let found = calls(query, toks, AGGREGATORS);
        let call = found.iter().find(|c| c.args.len() == got)?;
        return Some((toks.get(call.name)?.start, msg.to_owned()));
    }
    if msg.ends_with("may not be set multiple times") {
        // At the selector the modifiers belong to.
        let word = if msg.starts_with("offset") {
            "offset"
        } else {
            "@"
        };
        let i = toks.iter().position(|t| t.text(query) == word)?;
        let start = operand_start(query, toks, i)?;
        return Some((toks.get(start)?.start, msg.to_owned()));
    }
    if msg == "binary expression must contain only scalar and instant vector types" {
        return Some((range_operand(query, toks)?, msg.to_owned()));
    }
    if msg.starts_with("set operator ") {
        let op = quoted(msg)?;
        let i = toks
            .iter()
            .position(|t| t.kind == Kind::Ident && t.text(query) == op)?;
        return Some((operand_group_start(query, toks, i), requote(msg)));
    }
    if let Some(re) = msg.strip_prefix("illegal regex for ") {
        // Placed at the matcher, as Prometheus does; the wording is the regex engine's own.
        let t = toks.windows(4).find_map(|w| match w {
            [name, op, tilde, value]
                if name.kind == Kind::Ident
                    && (op.is('=') || op.is('!'))
                    && tilde.is('~')
                    && value
                        .text(query)
                        .get(1..value.text(query).len().saturating_sub(1))
                        == Some(re) =>
            {
                Some(*name)
            }
            _ => None,
        })?;
        return Some((t.start, msg.to_owned()));
    }
    None
}

/// Token index where the operand ending just before token `i` starts: a name, a selector
/// with its braces and brackets, a call, or a parenthesised expression.
fn operand_start(query: &str, toks: &[Tok], i: usize) -> Option<usize> {
    let mut j = i.checked_sub(1)?;
    loop {
        let t = toks.get(j)?;
        if !matches!(t.kind, Kind::Punct(')' | ']' | '}')) {
            return Some(j);
        }
        let opener = (0..j).rev().find(|&k| closing(toks, k) == Some(j))?;
        let Some(before) = opener.checked_sub(1).and_then(|k| toks.get(k)) else {
            return Some(opener);
        };
        let name = before.kind == Kind::Ident
            && !WORD_OPERATORS.contains(&before.text(query))
            && !KEYWORDS.contains(&before.text(query));
        if name {
            return Some(opener - 1);
        }
        if matches!(before.kind, Kind::Punct(')' | ']' | '}')) && !t.is(')') {
            j = opener - 1;
            continue;
        }
        return Some(opener);
    }
}

/// Start of the first range-vector operand of a binary operator: a selector or
/// parenthesised expression followed by `[…]`, next to an operator.
fn range_operand(query: &str, toks: &[Tok]) -> Option<usize> {
    let is_operator = |t: Option<&Tok>| {
        t.is_some_and(|t| match t.kind {
            Kind::Punct(c) => "+-*/%^=!<>".contains(c),
            Kind::Ident => WORD_OPERATORS.contains(&t.text(query)),
            _ => false,
        })
    };
    for (i, t) in toks.iter().enumerate() {
        if !t.is('[') {
            continue;
        }
        // Walk back over the selector's braces, its name, or a parenthesised expression.
        let mut start = i;
        if let Some(prev) = i.checked_sub(1) {
            if toks.get(prev).is_some_and(|p| p.is('}') || p.is(')')) {
                let opener = if toks.get(prev).is_some_and(|p| p.is('}')) {
                    '{'
                } else {
                    '('
                };
                start = (0..prev).rev().find(|&j| {
                    toks.get(j).is_some_and(|o| o.is(opener)) && closing(toks, j) == Some(prev)
                })?;
            } else {
                start = prev;
            }
        }
        if start > 0
            && toks
                .get(start - 1)
                .is_some_and(|n| n.kind == Kind::Ident && !WORD_OPERATORS.contains(&n.text(query)))
        {
            start -= 1;
        }
        let close = closing(toks, i)?;
        if is_operator(start.checked_sub(1).and_then(|j| toks.get(j)))
            || is_operator(toks.get(close + 1))
        {
            return toks.get(start).map(|t| t.start);
        }
    }
    None
}

/// Start of the expression group holding token `i`: just after the nearest unclosed `(` or
/// top-level `,` before it, or the start of the query.
fn operand_group_start(query: &str, toks: &[Tok], i: usize) -> usize {
    let mut depth = 0usize;
    for j in (0..i).rev() {
        let Some(t) = toks.get(j) else { break };
        match t.kind {
            Kind::Punct(')' | ']' | '}') => depth += 1,
            Kind::Punct('(' | '[' | '{') if depth == 0 => return skip_blanks(query, t.end),
            Kind::Punct('(' | '[' | '{') => depth -= 1,
            Kind::Punct(',') if depth == 0 => return skip_blanks(query, t.end),
            _ => {}
        }
    }
    skip_blanks(query, 0)
}

/// The label-matcher operator starting at token `i`, and the index of the token after it.
fn matcher_op(toks: &[Tok], i: usize) -> Option<usize> {
    let t = toks.get(i)?;
    let next = toks.get(i + 1);
    let adjacent = next.filter(|n| n.start == t.end);
    match t.kind {
        Kind::Punct('=') if adjacent.is_some_and(|n| n.is('~')) => Some(i + 2),
        Kind::Punct('=') => Some(i + 1),
        Kind::Punct('!') if adjacent.is_some_and(|n| n.is('=') || n.is('~')) => Some(i + 2),
        _ => None,
    }
}

/// Errors inside `{…}`: the first token that breaks `name op "value", …`, worded as
/// Prometheus's grammar words it. Used for the parser's label-matching and brace errors and
/// for its generic error when a brace group is malformed.
fn matchers(query: &str, toks: &[Tok], msg: &str) -> Option<(usize, String)> {
    // Inside braces every punctuation character is a token of its own (`==` is two `=`).
    let describe = |query: &str, t: Option<&Tok>| match t {
        Some(t) if matches!(t.kind, Kind::Punct(_)) => format!("{:?}", t.text(query)),
        other => describe(query, other),
    };
    let relevant = msg == GENERIC_PARSER_ERROR
        || msg.contains("in label matching")
        || msg.starts_with("invalid label matcher")
        || msg.starts_with("unexpected character inside braces");
    if !relevant {
        return None;
    }
    for (open, t) in toks.iter().enumerate() {
        if !t.is('{') {
            continue;
        }
        let mut i = open + 1;
        // A label name (or a quoted one), or the end of the group.
        while let Some(name) = toks.get(i) {
            if name.is('}') {
                break;
            }
            if !matches!(name.kind, Kind::Ident | Kind::Str { .. }) {
                let what = format!(
                    "unexpected {} in label matching, expected identifier or \"}}\"",
                    describe(query, Some(name))
                );
                return Some((name.start, what));
            }
            // `{"name"}` and `{"name", …}`: a quoted metric name alone.
            if matches!(name.kind, Kind::Str { .. })
                && toks.get(i + 1).is_some_and(|n| n.is(',') || n.is('}'))
            {
                i += 1;
            } else {
                let Some(value_at) = matcher_op(toks, i + 1) else {
                    let Some(op) = toks.get(i + 1) else { break };
                    let what = format!(
                        "unexpected {} in label matching, expected label matching operator",
                        describe(query, Some(op))
                    );
                    return Some((op.start, what));
                };
                let Some(value) = toks.get(value_at) else {
                    break;
                };
                if !matches!(value.kind, Kind::Str { .. }) {
                    let what = format!(
                        "unexpected {} in label matching, expected string",
                        describe(query, Some(value))
                    );
                    return Some((value.start, what));
                }
                i = value_at + 1;
            }
            match toks.get(i) {
                Some(sep) if sep.is(',') => i += 1,
                Some(close) if close.is('}') => break,
                Some(other) => {
                    let what = format!(
                        "unexpected {} in label matching, expected \",\" or \"}}\"",
                        describe(query, Some(other))
                    );
                    return Some((other.start, what));
                }
                None => break,
            }
        }
    }
    None
}

/// Grammar errors with a shape Prometheus names: a missing `(` after an aggregation's
/// grouping, a missing timestamp after `@`, a missing duration after `offset`.
fn structure(query: &str, toks: &[Tok], msg: &str) -> Option<(usize, String)> {
    if msg != GENERIC_PARSER_ERROR {
        return None;
    }
    for (i, t) in toks.iter().enumerate() {
        let text = t.text(query);
        if t.kind == Kind::Ident && AGGREGATORS.contains(&text) {
            let grouping = toks
                .get(i + 1)
                .is_some_and(|g| matches!(g.text(query), "by" | "without"));
            if grouping && toks.get(i + 2).is_some_and(|p| p.is('(')) {
                let after = closing(toks, i + 2).and_then(|c| toks.get(c + 1));
                if let Some(next) = after.filter(|n| !n.is('(')) {
                    let what = format!("unexpected {} in aggregation", describe(query, Some(next)));
                    return Some((next.start, what));
                }
            }
        }
        let (context, expected) = match t.kind {
            Kind::Punct('@') => ("@", "timestamp"),
            Kind::Ident if text == "offset" => ("offset", "duration"),
            _ => continue,
        };
        let Some(next) = toks.get(i + 1) else {
            continue;
        };
        let fits = match next.kind {
            Kind::Number => true,
            Kind::Punct('-' | '+') => true,
            Kind::Ident => context == "@" && matches!(next.text(query), "start" | "end"),
            _ => false,
        };
        if !fits {
            let what = format!(
                "unexpected {} in {context}, expected {expected}",
                describe(query, Some(next))
            );
            return Some((next.start, what));
        }
    }
    None
}

/// Grammar errors: just after the longest prefix that parses.
fn grammar(query: &str, toks: &[Tok], msg: &str) -> (usize, String) {
    let generic = msg == GENERIC_PARSER_ERROR;
    let end = query.len();
    if generic {
        if let Some(last) = toks.last() {
            if matches!(last.text(query), "by" | "without") {
                return (
                    end,
                    "unexpected end of input in grouping opts, expected \"(\"".to_owned(),
                );
            }
        }
        let completes = [" 1", " x", " (x)", "(x)"]
            .iter()
            .any(|c| parses(&format!("{query}{c}")));
        if completes {
            return (end, "unexpected end of input".to_owned());
        }
    }
    // Longest prefix ending at a token boundary that parses by itself.
    let start = toks
        .iter()
        .rev()
        .map(|t| t.end)
        .find(|&p| p < query.len() && query.get(..p).is_some_and(parses))
        .unwrap_or(0);
    let pos = skip_blanks(query, start);
    if pos >= query.trim_end().len() && generic {
        return (end, "unexpected end of input".to_owned());
    }
    let what = if generic {
        let tok = toks.iter().find(|t| t.start >= pos);
        format!("unexpected {}", describe(query, tok))
    } else {
        msg.to_owned()
    };
    (pos, what)
}

/// Prometheus's description of a token in "unexpected …" messages.
fn describe(query: &str, tok: Option<&Tok>) -> String {
    let Some(t) = tok else {
        return "end of input".to_owned();
    };
    let text = t.text(query);
    match t.kind {
        Kind::Ident if AGGREGATORS.contains(&text) => format!("<aggr:{text}>"),
        Kind::Ident if WORD_OPERATORS.contains(&text) => format!("<op:{text}>"),
        Kind::Ident if KEYWORDS.contains(&text) => format!("<{text}>"),
        Kind::Ident if text.contains(':') => format!("metric identifier {text:?}"),
        Kind::Ident => format!("identifier {text:?}"),
        Kind::Number if text.chars().last().is_some_and(|c| c.is_ascii_alphabetic()) => {
            format!("duration {text:?}")
        }
        Kind::Number => format!("number {text:?}"),
        Kind::Str { .. } => {
            let inner: String = text
                .get(1..text.len().saturating_sub(1))
                .unwrap_or("")
                .chars()
                .collect();
            if inner.chars().count() > 10 {
                let head: String = inner.chars().take(10).collect();
                format!("string {head:?}...")
            } else {
                format!("string {inner:?}")
            }
        }
        Kind::Punct(_) => {
            // Two-character operators are one token to Prometheus.
            let two = query.get(t.start..t.start + 2).unwrap_or("");
            let op = if ["==", "!=", "<=", ">=", "=~", "!~"].contains(&two) {
                two
            } else {
                text
            };
            match op {
                "(" | ")" | "{" | "}" | "[" | "]" | "," | "=" | ":" | ";" => format!("{op:?}"),
                _ => format!("<op:{op}>"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_calls() {
        let q = r#"clamp(foo{a="b,c"}, bar, 1) # c"#;
        let toks = tokenize(q);
        assert_eq!(toks.first().map(|t| t.text(q)), Some("clamp"));
        let found = calls(q, &toks, &["clamp"]);
        let args: Vec<&str> = found
            .first()
            .map(|c| c.args.iter().filter_map(|&(a, b)| q.get(a..b)).collect())
            .unwrap_or_default();
        assert_eq!(args, vec![r#"foo{a="b,c"}"#, " bar", " 1"]);
        assert!(
            calls("sum by (a) (x)", &tokenize("sum by (a) (x)"), AGGREGATORS)
                .first()
                .is_some_and(|c| c.args.len() == 1)
        );
    }

    /// Malformed input of every shape gets a positioned message and never a panic.
    #[test]
    fn never_panics() {
        const PIECES: &[&str] = &[
            "sum", "rate", "foo", "(", ")", "{", "}", "[", "]", ",", "\"", "'", "`", "=", "~", "!",
            "5m", "1", ":", "@", "offset", "by", "and", " ", "+", "-", "é", "#", "\n",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3000 {
            let mut q = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                q.push_str(
                    PIECES
                        .get((state % PIECES.len() as u64) as usize)
                        .unwrap_or(&""),
                );
            }
            if let Err(e) = parser::parse(&q) {
                let m = locate(&q, &e);
                assert!(m.contains("parse error: "), "{q:?} -> {m}");
            }
        }
    }

    #[test]
    fn requotes_names() {
        assert_eq!(
            requote("expected 1 argument(s) in call to 'abs', got 2"),
            "expected 1 argument(s) in call to \"abs\", got 2"
        );
    }
}
