//! PromQL as text, for the query API's `format_query` and `parse_query`: the pretty-printed form
//! and the syntax tree in the JSON shape of Prometheus 3's `translateAST`
//! (`web/api/v1/translate_ast.go`).
//!
//! The tree is built here rather than with promql-parser's optional `ser` feature because that
//! feature's shape is not Prometheus's: it leaves the metric-name matcher out of `matchers`,
//! writes an absent name as `null` instead of `""`, nests call arguments and function
//! signatures differently, and spells infinity `Inf`. The tree is a [`SyntaxTree`] — a JSON-shaped
//! value of this crate's own — so that neither parser types nor a JSON library cross this crate's
//! boundary.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::{MatchOp, Matcher, METRIC_NAME};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AtModifier, BinModifier, Expr, LabelModifier, Offset, VectorMatchCardinality, VectorSelector,
};

use crate::parse::parse;
use crate::PromqlError;
use vigil_model::go_format_f;

/// A JSON-shaped value. Object fields keep the order they were built in; Prometheus serialises
/// its tree from Go maps, whose keys come out sorted, so a JSON writer may sort them.
#[derive(Debug, Clone, PartialEq)]
pub enum SyntaxTree {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<SyntaxTree>),
    Object(Vec<(&'static str, SyntaxTree)>),
}

/// The query pretty-printed the way Prometheus's `format_query` does (`Expr.Pretty`): one line
/// when it fits in 100 characters, otherwise split and indented by operator and argument.
///
/// # Errors
/// [`PromqlError::Parse`] for text that is not PromQL.
pub fn format_query(query: &str) -> Result<String, PromqlError> {
    Ok(parse(query)?.prettify())
}

/// The query on one line the way Prometheus's `Expr.String()` prints it (normalised spacing,
/// `by` before the aggregation's argument), as the rules API and alert generator URLs show it.
///
/// # Errors
/// [`PromqlError::Parse`] for text that is not PromQL.
pub fn expr_string(query: &str) -> Result<String, PromqlError> {
    Ok(parse(query)?.to_string())
}

/// The query's syntax tree in the JSON shape of Prometheus 3's `/api/v1/parse_query`.
///
/// # Errors
/// [`PromqlError::Parse`] for text that is not PromQL.
pub fn parse_query_json(query: &str) -> Result<SyntaxTree, PromqlError> {
    Ok(translate(&parse(query)?))
}

fn obj(fields: Vec<(&'static str, SyntaxTree)>) -> SyntaxTree {
    SyntaxTree::Object(fields)
}

fn s(v: impl Into<String>) -> SyntaxTree {
    SyntaxTree::Str(v.into())
}

fn strings<'a>(v: impl IntoIterator<Item = &'a String>) -> SyntaxTree {
    SyntaxTree::List(v.into_iter().map(|x| s(x.as_str())).collect())
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn offset_ms(o: Option<&Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => millis(*d),
        Some(Offset::Neg(d)) => -millis(*d),
    }
}

fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => millis(d),
        Err(e) => -millis(e.duration()),
    }
}

/// `timestamp` and `startOrEnd` of an `@` modifier.
fn at_fields(at: Option<&AtModifier>) -> [(&'static str, SyntaxTree); 2] {
    let (ts, soe) = match at {
        None => (SyntaxTree::Null, SyntaxTree::Null),
        Some(AtModifier::Start) => (SyntaxTree::Null, s("start")),
        Some(AtModifier::End) => (SyntaxTree::Null, s("end")),
        Some(AtModifier::At(t)) => (SyntaxTree::Int(system_time_ms(*t)), SyntaxTree::Null),
    };
    [("timestamp", ts), ("startOrEnd", soe)]
}

fn match_type(op: &MatchOp) -> &'static str {
    match op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Re(_) => "=~",
        MatchOp::NotRe(_) => "!~",
    }
}

fn matcher(m: &Matcher) -> SyntaxTree {
    obj(vec![
        ("name", s(m.name.as_str())),
        ("value", s(m.value.as_str())),
        ("type", s(match_type(&m.op))),
    ])
}

/// Prometheus lists the matchers written in braces, then the matcher for a name written before
/// them (`assembleVectorSelector`).
fn matchers(vs: &VectorSelector) -> SyntaxTree {
    let mut out: Vec<SyntaxTree> = vs.matchers.matchers.iter().map(matcher).collect();
    if let Some(name) = &vs.name {
        let written_in_braces =
            vs.matchers.matchers.iter().any(|m| {
                m.name == METRIC_NAME && matches!(m.op, MatchOp::Equal) && &m.value == name
            });
        if !written_in_braces {
            out.push(obj(vec![
                ("name", s(METRIC_NAME)),
                ("value", s(name.as_str())),
                ("type", s("=")),
            ]));
        }
    }
    SyntaxTree::List(out)
}

fn selector_fields(vs: &VectorSelector) -> Vec<(&'static str, SyntaxTree)> {
    let [ts, soe] = at_fields(vs.at.as_ref());
    vec![
        ("name", s(vs.name.clone().unwrap_or_default())),
        ("offset", SyntaxTree::Int(offset_ms(vs.offset.as_ref()))),
        ("matchers", matchers(vs)),
        ts,
        soe,
    ]
}

fn value_type(t: ValueType) -> SyntaxTree {
    s(t.to_string())
}

fn binary_matching(op_is_set: bool, m: Option<&BinModifier>) -> SyntaxTree {
    let (card, include): (&str, Vec<String>) = match m.map(|m| &m.card) {
        None | Some(VectorMatchCardinality::OneToOne) if op_is_set => ("many-to-many", Vec::new()),
        None | Some(VectorMatchCardinality::OneToOne) => ("one-to-one", Vec::new()),
        Some(VectorMatchCardinality::ManyToMany) => ("many-to-many", Vec::new()),
        Some(VectorMatchCardinality::ManyToOne(l)) => ("many-to-one", l.labels.clone()),
        Some(VectorMatchCardinality::OneToMany(l)) => ("one-to-many", l.labels.clone()),
    };
    let (labels, on) = match m.and_then(|m| m.matching.as_ref()) {
        Some(LabelModifier::Include(l)) => (l.labels.clone(), true),
        Some(LabelModifier::Exclude(l)) => (l.labels.clone(), false),
        None => (Vec::new(), false),
    };
    obj(vec![
        ("card", s(card)),
        ("labels", strings(&labels)),
        ("on", SyntaxTree::Bool(on)),
        ("include", strings(&include)),
    ])
}

fn translate(e: &Expr) -> SyntaxTree {
    match e {
        Expr::Aggregate(a) => {
            let (grouping, without) = match &a.modifier {
                Some(LabelModifier::Include(l)) => (l.labels.clone(), false),
                Some(LabelModifier::Exclude(l)) => (l.labels.clone(), true),
                None => (Vec::new(), false),
            };
            obj(vec![
                ("type", s("aggregation")),
                ("op", s(a.op.to_string())),
                ("expr", translate(&a.expr)),
                (
                    "param",
                    a.param.as_deref().map_or(SyntaxTree::Null, translate),
                ),
                ("grouping", strings(&grouping)),
                ("without", SyntaxTree::Bool(without)),
            ])
        }
        Expr::Binary(b) => {
            // Prometheus keeps vector matching only when both sides are instant vectors
            // (`checkAST` sets it to nil otherwise).
            let vectors =
                b.lhs.value_type() == ValueType::Vector && b.rhs.value_type() == ValueType::Vector;
            let matching = if vectors {
                binary_matching(b.op.is_set_operator(), b.modifier.as_ref())
            } else {
                SyntaxTree::Null
            };
            obj(vec![
                ("type", s("binaryExpr")),
                ("op", s(b.op.to_string())),
                ("lhs", translate(&b.lhs)),
                ("rhs", translate(&b.rhs)),
                ("matching", matching),
                (
                    "bool",
                    SyntaxTree::Bool(b.modifier.as_ref().is_some_and(|m| m.return_bool)),
                ),
            ])
        }
        Expr::Call(c) => obj(vec![
            ("type", s("call")),
            (
                "func",
                obj(vec![
                    ("name", s(c.func.name)),
                    (
                        "argTypes",
                        SyntaxTree::List(
                            c.func.arg_types.iter().copied().map(value_type).collect(),
                        ),
                    ),
                    ("variadic", SyntaxTree::Int(i64::from(c.func.variadic))),
                    ("returnType", value_type(c.func.return_type)),
                ]),
            ),
            (
                "args",
                SyntaxTree::List(c.args.args.iter().map(|a| translate(a)).collect()),
            ),
        ]),
        Expr::MatrixSelector(m) => {
            let mut f = vec![
                ("type", s("matrixSelector")),
                ("range", SyntaxTree::Int(millis(m.range))),
            ];
            f.extend(selector_fields(&m.vs));
            obj(f)
        }
        Expr::Subquery(q) => {
            let [ts, soe] = at_fields(q.at.as_ref());
            obj(vec![
                ("type", s("subquery")),
                ("expr", translate(&q.expr)),
                ("range", SyntaxTree::Int(millis(q.range))),
                ("offset", SyntaxTree::Int(offset_ms(q.offset.as_ref()))),
                ("step", SyntaxTree::Int(q.step.map_or(0, millis))),
                ts,
                soe,
            ])
        }
        Expr::NumberLiteral(n) => obj(vec![
            ("type", s("numberLiteral")),
            ("val", s(go_format_f(n.val))),
        ]),
        Expr::Paren(p) => obj(vec![("type", s("parenExpr")), ("expr", translate(&p.expr))]),
        Expr::StringLiteral(l) => obj(vec![
            ("type", s("stringLiteral")),
            ("val", s(l.val.as_str())),
        ]),
        Expr::Unary(u) => obj(vec![
            ("type", s("unaryExpr")),
            ("op", s("-")),
            ("expr", translate(&u.expr)),
        ]),
        Expr::VectorSelector(vs) => {
            let mut f = vec![("type", s("vectorSelector"))];
            f.extend(selector_fields(vs));
            obj(f)
        }
        // The parser never produces extension nodes.
        Expr::Extension(_) => SyntaxTree::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(t: &'a SyntaxTree, name: &str) -> &'a SyntaxTree {
        match t {
            SyntaxTree::Object(f) => f
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v)
                .unwrap_or(&SyntaxTree::Null),
            _ => &SyntaxTree::Null,
        }
    }

    #[test]
    fn selector_lists_the_name_matcher_last() {
        let t = parse_query_json(r#"up{job="api"} offset 5m"#).expect("parses");
        assert_eq!(field(&t, "type"), &s("vectorSelector"));
        assert_eq!(field(&t, "name"), &s("up"));
        assert_eq!(field(&t, "offset"), &SyntaxTree::Int(300_000));
        let SyntaxTree::List(m) = field(&t, "matchers") else {
            panic!("matchers list");
        };
        assert_eq!(m.len(), 2);
        assert_eq!(field(&m[0], "name"), &s("job"));
        assert_eq!(field(&m[1], "name"), &s("__name__"));
        assert_eq!(field(&m[1], "value"), &s("up"));
        assert_eq!(field(&t, "startOrEnd"), &SyntaxTree::Null);
    }

    #[test]
    fn scalar_binary_has_no_matching_and_vector_binary_has_one() {
        let t = parse_query_json("1 + 1").expect("parses");
        assert_eq!(field(&t, "op"), &s("+"));
        assert_eq!(field(&t, "matching"), &SyntaxTree::Null);
        assert_eq!(field(field(&t, "lhs"), "val"), &s("1"));
        let t = parse_query_json("a / on(job) group_left(x) b").expect("parses");
        let m = field(&t, "matching");
        assert_eq!(field(m, "card"), &s("many-to-one"));
        assert_eq!(field(m, "on"), &SyntaxTree::Bool(true));
        assert_eq!(field(m, "labels"), &SyntaxTree::List(vec![s("job")]));
        assert_eq!(field(m, "include"), &SyntaxTree::List(vec![s("x")]));
        let t = parse_query_json("a and b").expect("parses");
        assert_eq!(field(field(&t, "matching"), "card"), &s("many-to-many"));
    }

    #[test]
    fn call_aggregation_and_subquery() {
        let t = parse_query_json("sum by (job) (rate(x[5m]))[1h:1m] @ end()").expect("parses");
        assert_eq!(field(&t, "type"), &s("subquery"));
        assert_eq!(field(&t, "range"), &SyntaxTree::Int(3_600_000));
        assert_eq!(field(&t, "step"), &SyntaxTree::Int(60_000));
        assert_eq!(field(&t, "startOrEnd"), &s("end"));
        let agg = field(&t, "expr");
        assert_eq!(field(agg, "op"), &s("sum"));
        assert_eq!(field(agg, "grouping"), &SyntaxTree::List(vec![s("job")]));
        assert_eq!(field(agg, "without"), &SyntaxTree::Bool(false));
        assert_eq!(field(agg, "param"), &SyntaxTree::Null);
        let call = field(agg, "expr");
        assert_eq!(field(field(call, "func"), "name"), &s("rate"));
        assert_eq!(
            field(field(call, "func"), "argTypes"),
            &SyntaxTree::List(vec![s("matrix")])
        );
        assert_eq!(field(field(call, "func"), "returnType"), &s("vector"));
        let SyntaxTree::List(args) = field(call, "args") else {
            panic!("args");
        };
        assert_eq!(field(&args[0], "type"), &s("matrixSelector"));
        assert_eq!(field(&args[0], "range"), &SyntaxTree::Int(300_000));
    }

    #[test]
    fn numbers_as_go_prints_them() {
        let val = |q: &str| field(&parse_query_json(q).expect("parses"), "val").clone();
        assert_eq!(val("1e21"), s("1000000000000000000000"));
        assert_eq!(val("0.5"), s("0.5"));
        assert_eq!(val("Inf"), s("+Inf"));
        assert_eq!(val("NaN"), s("NaN"));
        // Halfway between two 17-digit decimals: Go rounds to even, Rust's `Display` up.
        assert_eq!(val("0.190799713134765625"), s("0.19079971313476562"));
    }

    #[test]
    fn format_splits_long_queries() {
        assert_eq!(
            format_query("sum(rate(foo[5m])) by (job)").expect("parses"),
            "sum by (job) (rate(foo[5m]))"
        );
        assert!(format_query("sum(").is_err());
    }
}
