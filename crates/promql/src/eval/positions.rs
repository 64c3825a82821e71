//! Source positions of function calls, aggregations and their arguments, for annotation texts.
//!
//! Prometheus appends the `line:col` of the offending expression to every warning and info
//! (`… "http_requests" (1:7)`), but `promql-parser`'s tree carries no positions. They are
//! recovered by scanning the query text: calls and aggregations appear in the text in the same
//! order as in a pre-order walk of the tree, so the n-th `name(` (or `sum by (…) (`) in the
//! text, outside strings and comments, belongs to the n-th such node. Argument positions follow
//! from the commas at nesting depth zero; an argument wrapped whole in parentheses points
//! inside them, as Prometheus strips such parentheses from call arguments before evaluating.
//!
//! Nodes are identified by address, so positions must be computed from the very tree that is
//! evaluated, and stay valid only as long as it is neither moved nor dropped.

use std::collections::HashMap;

use promql_parser::parser::{AggregateExpr, Call, Expr};

/// `line:col` of each call or aggregation and of each of its arguments, keyed by the node's
/// address.
#[derive(Debug, Default)]
pub(crate) struct ArgPositions {
    nodes: HashMap<usize, NodePositions>,
}

#[derive(Debug, Clone)]
struct NodePositions {
    start: String,
    args: Vec<String>,
}

/// A call or aggregation node, in tree order.
#[derive(Clone, Copy)]
enum Node<'e> {
    Call(&'e Call),
    Aggregate(&'e AggregateExpr),
}

impl Node<'_> {
    fn addr(&self) -> usize {
        match self {
            Node::Call(c) => std::ptr::from_ref(*c) as usize,
            Node::Aggregate(a) => std::ptr::from_ref(*a) as usize,
        }
    }

    fn matches(&self, site: &Site<'_>) -> bool {
        match self {
            Node::Call(c) => !site.aggregate_form && c.func.name == site.name,
            Node::Aggregate(a) => a.op.to_string().eq_ignore_ascii_case(site.name),
        }
    }
}

impl ArgPositions {
    /// Positions for `expr`, parsed from `query`.
    pub(crate) fn new(query: &str, expr: &Expr) -> ArgPositions {
        let mut nodes = Vec::new();
        collect_nodes(expr, &mut nodes);
        if nodes.is_empty() {
            return ArgPositions::default();
        }
        let tokens = tokenize(query);
        let sites = call_sites(&tokens);
        let mut map = HashMap::with_capacity(nodes.len());
        // Pair nodes and sites in order, skipping sites that belong to no node (an identifier
        // that happens to precede a parenthesis, such as a label name in `by (…)`).
        let mut next_site = 0;
        for node in nodes {
            let Some(offset) = sites
                .get(next_site..)
                .and_then(|rest| rest.iter().position(|s| node.matches(s)))
            else {
                continue;
            };
            let site_idx = next_site + offset;
            next_site = site_idx + 1;
            let Some(site) = sites.get(site_idx) else {
                continue;
            };
            map.insert(
                node.addr(),
                NodePositions {
                    start: line_col(query, site.start),
                    args: site.args.iter().map(|&a| line_col(query, a)).collect(),
                },
            );
        }
        ArgPositions { nodes: map }
    }

    fn get(&self, addr: usize) -> Option<&NodePositions> {
        self.nodes.get(&addr)
    }

    /// `line:col` of the call itself (its function name).
    pub(crate) fn call(&self, call: &Call) -> Option<&str> {
        self.get(std::ptr::from_ref(call) as usize)
            .map(|c| c.start.as_str())
    }

    /// `line:col` of argument `i` of the call.
    pub(crate) fn arg(&self, call: &Call, i: usize) -> Option<&str> {
        self.get(std::ptr::from_ref(call) as usize)
            .and_then(|c| c.args.get(i))
            .map(String::as_str)
    }

    /// `line:col` of the aggregation (its operator keyword).
    #[cfg(test)]
    pub(crate) fn aggregate(&self, agg: &AggregateExpr) -> Option<&str> {
        self.get(std::ptr::from_ref(agg) as usize)
            .map(|c| c.start.as_str())
    }

    /// `line:col` of the aggregation's parameter (`0.9` in `quantile(0.9, x)`), if it has one.
    pub(crate) fn aggregate_param(&self, agg: &AggregateExpr) -> Option<&str> {
        agg.param.as_ref()?;
        self.get(std::ptr::from_ref(agg) as usize)
            .and_then(|c| c.args.first())
            .map(String::as_str)
    }
}

/// Prometheus's `PositionRange.StartPosInput`: 1-based line, 1-based byte column.
fn line_col(query: &str, pos: usize) -> String {
    let before = query.get(..pos).unwrap_or(query);
    let line = before.matches('\n').count() + 1;
    let col = match before.rfind('\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    format!("{line}:{col}")
}

/// Call and aggregation nodes in pre-order, which is their order in the text.
fn collect_nodes<'e>(expr: &'e Expr, out: &mut Vec<Node<'e>>) {
    match expr {
        Expr::Call(c) => {
            out.push(Node::Call(c));
            for a in &c.args.args {
                collect_nodes(a, out);
            }
        }
        Expr::Aggregate(a) => {
            out.push(Node::Aggregate(a));
            if let Some(p) = &a.param {
                collect_nodes(p, out);
            }
            collect_nodes(&a.expr, out);
        }
        Expr::Unary(u) => collect_nodes(&u.expr, out),
        Expr::Binary(b) => {
            collect_nodes(&b.lhs, out);
            collect_nodes(&b.rhs, out);
        }
        Expr::Paren(p) => collect_nodes(&p.expr, out),
        Expr::Subquery(s) => collect_nodes(&s.expr, out),
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::Extension(_) => {}
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'q> {
    Ident(&'q str),
    Open(u8),
    Close(u8),
    Comma,
    Other,
}

/// Tokens with their start offsets; strings, comments and whitespace are dropped, everything
/// that is not an identifier, bracket or comma is `Other`.
fn tokenize(q: &str) -> Vec<(Tok<'_>, usize)> {
    let b = q.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'#' => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'"' | b'\'' | b'`' => {
                out.push((Tok::Other, i));
                i += 1;
                while let Some(&d) = b.get(i) {
                    i += 1;
                    if d == b'\\' && c != b'`' {
                        i += 1;
                    } else if d == c {
                        break;
                    }
                }
            }
            b'(' | b'{' | b'[' => {
                out.push((Tok::Open(c), i));
                i += 1;
            }
            b')' | b'}' | b']' => {
                out.push((Tok::Close(c), i));
                i += 1;
            }
            b',' => {
                out.push((Tok::Comma, i));
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                let start = i;
                while b
                    .get(i)
                    .is_some_and(|&d| d.is_ascii_alphanumeric() || d == b'_' || d == b':')
                {
                    i += 1;
                }
                out.push((Tok::Ident(q.get(start..i).unwrap_or("")), start));
            }
            c if c.is_ascii_digit() || c == b'.' => {
                // Numbers and durations (`1e-3`, `0x1f`, `5m30s`) are one token.
                out.push((Tok::Other, i));
                i += 1;
                while let Some(&d) = b.get(i) {
                    let exp_sign = (d == b'+' || d == b'-')
                        && matches!(b.get(i.wrapping_sub(1)), Some(b'e' | b'E'))
                        && !b.get(..i).is_some_and(|s| s.starts_with(b"0x"));
                    if d.is_ascii_alphanumeric() || d == b'.' || d == b'_' || exp_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            _ => {
                out.push((Tok::Other, i));
                i += 1;
            }
        }
    }
    out
}

#[derive(Debug)]
struct Site<'q> {
    name: &'q str,
    start: usize,
    /// `name by (…) (` or `name without (…) (`: only an aggregation can look like this.
    aggregate_form: bool,
    args: Vec<usize>,
}

/// Every `name(` and `name by|without (…) (`, with the start offsets of its arguments.
fn call_sites<'q>(tokens: &[(Tok<'q>, usize)]) -> Vec<Site<'q>> {
    let mut sites = Vec::new();
    for (k, (tok, start)) in tokens.iter().enumerate() {
        let Tok::Ident(name) = tok else {
            continue;
        };
        match (tokens.get(k + 1), tokens.get(k + 2)) {
            (Some((Tok::Open(b'('), _)), _) => sites.push(Site {
                name,
                start: *start,
                aggregate_form: false,
                args: argument_starts(tokens, k + 1),
            }),
            (Some((Tok::Ident(kw), _)), Some((Tok::Open(b'('), _)))
                if kw.eq_ignore_ascii_case("by") || kw.eq_ignore_ascii_case("without") =>
            {
                let Some(close) = matching_close(tokens, k + 2) else {
                    continue;
                };
                if let Some((Tok::Open(b'('), _)) = tokens.get(close + 1) {
                    sites.push(Site {
                        name,
                        start: *start,
                        aggregate_form: true,
                        args: argument_starts(tokens, close + 1),
                    });
                }
            }
            _ => {}
        }
    }
    sites
}

/// Start offsets of the arguments of the call whose `(` is `tokens[open]`.
fn argument_starts(tokens: &[(Tok<'_>, usize)], open: usize) -> Vec<usize> {
    // Token index ranges of the arguments at depth zero.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut arg_start = open + 1;
    let mut k = open + 1;
    while let Some((tok, _)) = tokens.get(k) {
        match tok {
            Tok::Open(_) => depth += 1,
            Tok::Close(_) if depth == 0 => {
                if k > arg_start {
                    ranges.push((arg_start, k));
                }
                break;
            }
            Tok::Close(_) => depth -= 1,
            Tok::Comma if depth == 0 => {
                ranges.push((arg_start, k));
                arg_start = k + 1;
            }
            _ => {}
        }
        k += 1;
    }
    ranges
        .into_iter()
        .filter_map(|(mut from, mut to)| {
            // Strip parentheses that wrap the whole argument.
            while to > from + 1
                && matches!(tokens.get(from), Some((Tok::Open(b'('), _)))
                && matching_close(tokens, from) == Some(to - 1)
            {
                from += 1;
                to -= 1;
            }
            tokens.get(from).map(|&(_, pos)| pos)
        })
        .collect()
}

fn matching_close(tokens: &[(Tok<'_>, usize)], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, (tok, _)) in tokens.iter().enumerate().skip(open) {
        match tok {
            Tok::Open(_) => depth += 1,
            Tok::Close(_) => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls_of(expr: &Expr) -> Vec<&Call> {
        let mut v = Vec::new();
        collect_nodes(expr, &mut v);
        v.into_iter()
            .filter_map(|n| match n {
                Node::Call(c) => Some(c),
                Node::Aggregate(_) => None,
            })
            .collect()
    }

    #[test]
    fn aggregation_positions() {
        let q = "sum(quantile without(point)(NaN, data)) + topk(3, x)";
        let expr = promql_parser::parser::parse(q).expect("parses");
        let pos = ArgPositions::new(q, &expr);
        let mut nodes = Vec::new();
        collect_nodes(&expr, &mut nodes);
        let aggs: Vec<&AggregateExpr> = nodes
            .into_iter()
            .filter_map(|n| match n {
                Node::Aggregate(a) => Some(a),
                Node::Call(_) => None,
            })
            .collect();
        let [sum, quantile, topk] = aggs.as_slice() else {
            panic!("three aggregations");
        };
        assert_eq!(pos.aggregate(sum), Some("1:1"));
        assert_eq!(pos.aggregate_param(sum), None);
        assert_eq!(pos.aggregate(quantile), Some("1:5"));
        assert_eq!(pos.aggregate_param(quantile), Some("1:29"));
        assert_eq!(pos.aggregate_param(topk), Some("1:48"));
    }

    #[test]
    fn argument_positions() {
        let q = r#"histogram_quantile(0.8, series)"#;
        let expr = promql_parser::parser::parse(q).expect("parses");
        let pos = ArgPositions::new(q, &expr);
        let calls = calls_of(&expr);
        let call = calls.first().copied().expect("one call");
        assert_eq!(pos.call(call), Some("1:1"));
        assert_eq!(pos.arg(call, 0), Some("1:20"));
        assert_eq!(pos.arg(call, 1), Some("1:25"));
        assert_eq!(pos.arg(call, 2), None);
    }

    #[test]
    fn nested_calls_and_strings() {
        let q = "sum(sort(series)) + \n  label_replace(rate(x_total{a=\"rate(\"}[5m]), \"a,b\", \"\", \"\", \"\")";
        let expr = promql_parser::parser::parse(q).expect("parses");
        let pos = ArgPositions::new(q, &expr);
        let calls = calls_of(&expr);
        let names: Vec<&str> = calls.iter().map(|c| c.func.name).collect();
        assert_eq!(names, ["sort", "label_replace", "rate"]);
        assert_eq!(calls.first().and_then(|c| pos.call(c)), Some("1:5"));
        let lr = calls.get(1).copied().expect("label_replace");
        assert_eq!(pos.call(lr), Some("2:3"));
        assert_eq!(pos.arg(lr, 0), Some("2:17"));
        assert_eq!(pos.arg(lr, 1), Some("2:47"));
        let rate = calls.get(2).copied().expect("rate");
        assert_eq!(pos.arg(rate, 0), Some("2:22"));
    }

    #[test]
    fn parenthesised_argument_points_inside() {
        let q = "changes((http_requests[50m]))";
        let expr = promql_parser::parser::parse(q).expect("parses");
        let pos = ArgPositions::new(q, &expr);
        let calls = calls_of(&expr);
        let call = calls.first().copied().expect("one call");
        assert_eq!(pos.arg(call, 0), Some("1:10"));
    }

    #[test]
    fn numbers_with_exponents() {
        let q = "clamp(x, 1e-3, 0x1f)";
        let expr = promql_parser::parser::parse(q).expect("parses");
        let pos = ArgPositions::new(q, &expr);
        let calls = calls_of(&expr);
        let call = calls.first().copied().expect("one call");
        assert_eq!(pos.arg(call, 1), Some("1:10"));
        assert_eq!(pos.arg(call, 2), Some("1:16"));
    }
}
