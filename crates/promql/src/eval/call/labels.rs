//! Functions of series identity and order: `label_replace`, `label_join`, `sort`, `sort_desc`,
//! `sort_by_label`, `sort_by_label_desc`.
//!
//! The label functions keep the metric name unless they overwrite it; setting `__name__` also
//! keeps a name that was flagged for dropping. Series that end up with the same labels are
//! merged when their steps do not overlap, and are an error when they do, as in Prometheus.
//! The sort functions only order an instant query's result; for range queries they warn.

use std::cmp::Ordering;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token::T_EQL_REGEX;
use vigil_model::{Labels, METRIC_NAME_LABEL};

use super::{map_series, Args, FnCtx};
use crate::eval::{merge_same_labels, Evaluated};
use crate::math::natsort::natural_less;
use crate::value::StepSeries;
use crate::PromqlError;

/// Dispatches the label and sort functions; `None` for other names.
pub(super) fn call(
    f: &FnCtx<'_, '_>,
    name: &str,
    args: &mut Args,
) -> Result<Option<Evaluated>, PromqlError> {
    let out = match name {
        "label_replace" => label_replace(args)?,
        "label_join" => label_join(args)?,
        "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => sort(f, name, args)?,
        _ => return Ok(None),
    };
    Ok(Some(Evaluated::Vector(out)))
}

fn valid_label_name(name: &str) -> bool {
    // Prometheus 3 accepts any UTF-8 label name that is not empty.
    !name.is_empty()
}

fn label_replace(args: &mut Args) -> Result<Vec<StepSeries>, PromqlError> {
    let dst = args.string(1)?.to_owned();
    let replacement = args.string(2)?.to_owned();
    let src = args.string(3)?.to_owned();
    let regex = args.string(4)?.to_owned();
    // The parser's matcher compiles regexes the way PromQL anchors them; `(?s:…)` lets `.`
    // match newlines, as in Prometheus's label_replace.
    let matcher =
        Matcher::new_matcher(T_EQL_REGEX, dst.clone(), format!("(?s:{regex})")).map_err(|_| {
            PromqlError::Execution(format!(
                "invalid regular expression in label_replace(): {regex}"
            ))
        })?;
    let MatchOp::Re(re) = &matcher.op else {
        return Err(PromqlError::Execution(format!(
            "invalid regular expression in label_replace(): {regex}"
        )));
    };
    if !valid_label_name(&dst) {
        return Err(PromqlError::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let input = args.vector(0)?;
    let out = map_series(input, |mut s| {
        let value = s.labels.get(&src).unwrap_or("");
        if let Some(caps) = re.captures(value) {
            let mut res = String::new();
            caps.expand(&replacement, &mut res);
            let mut b = s.labels.builder();
            b.set(&dst, &res);
            s.labels = b.build();
            if dst == METRIC_NAME_LABEL {
                s.drop_name = false;
            }
        }
        s
    });
    merge_same_labels(out)
}

fn label_join(args: &mut Args) -> Result<Vec<StepSeries>, PromqlError> {
    let dst = args.string(1)?.to_owned();
    let sep = args.string(2)?.to_owned();
    let mut sources = Vec::with_capacity(args.len().saturating_sub(3));
    for i in 3..args.len() {
        let src = args.string(i)?;
        if !valid_label_name(src) {
            return Err(PromqlError::Execution(format!(
                "invalid source label name in label_join(): {src}"
            )));
        }
        sources.push(src.to_owned());
    }
    if !valid_label_name(&dst) {
        return Err(PromqlError::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let input = args.vector(0)?;
    let out = map_series(input, |mut s| {
        let joined = sources
            .iter()
            .map(|src| s.labels.get(src).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(&sep);
        let mut b = s.labels.builder();
        b.set(&dst, &joined);
        s.labels = b.build();
        if dst == METRIC_NAME_LABEL {
            s.drop_name = false;
        }
        s
    });
    merge_same_labels(out)
}

fn sort(f: &FnCtx<'_, '_>, name: &str, args: &mut Args) -> Result<Vec<StepSeries>, PromqlError> {
    let steps = f.ctx.steps;
    if steps.start != steps.end {
        f.ctx.warn(
            f.at_call(
                "PromQL warning: sort is ineffective for range queries since results are always \
             ordered by labels"
                    .to_owned(),
            ),
        );
    }
    let mut by: Vec<String> = Vec::new();
    for i in 1..args.len() {
        by.push(args.string(i)?.to_owned());
    }
    let mut v: Vec<StepSeries> = args
        .vector(0)?
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .collect();
    if steps.len() != 1 {
        // Only an instant query's order is observable.
        return Ok(v);
    }
    let value = |s: &StepSeries| s.points.first().map_or(f64::NAN, |p| p.v);
    match name {
        "sort" => v.sort_by(|a, b| by_value(value(a), value(b))),
        "sort_desc" => v.sort_by(|a, b| by_value_desc(value(a), value(b))),
        "sort_by_label" => v.sort_by(|a, b| by_labels(&by, &a.labels, &b.labels)),
        _ => v.sort_by(|a, b| by_labels(&by, &a.labels, &b.labels).reverse()),
    }
    Ok(v)
}

/// Ascending with NaN last.
fn by_value(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Descending with NaN last.
fn by_value_desc(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

/// `sort_by_label` order: the listed labels' values in natural order, then all labels.
fn by_labels(by: &[String], a: &Labels, b: &Labels) -> Ordering {
    for name in by {
        let x = a.get(name).unwrap_or("");
        let y = b.get(name).unwrap_or("");
        if x == y {
            continue;
        }
        return if natural_less(x, y) {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    a.cmp(b)
}
