//! `info(v, {data_label_selector})` (experimental upstream): adds the data labels of info
//! metrics (`target_info` by default) to the series of `v` whose identifying labels (`instance`,
//! `job`) match.
//!
//! The info series are selected from storage here, restricted to the identifying label values
//! that occur in `v`, and evaluated like an instant selector with the `@` and `offset` of `v`'s
//! first selector, so that `info(v @ T)` enriches with the info series as of `T`. The second
//! argument is only read as a list of matchers: `__name__` matchers choose the info metrics,
//! the others choose which data labels to add (and drop a sample of `v` for which no info
//! series has them, unless the matcher accepts the empty value). Series of `v` that are
//! themselves info series pass through unchanged.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use promql_parser::label::{MatchOp, Matcher, Matchers};
use promql_parser::parser::token::{T_EQL, T_EQL_REGEX};
use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};
use vigil_model::{Labels, Sample, METRIC_NAME_LABEL};

use super::{Args, FnCtx};
use crate::eval::binary::signature::go_labels_string;
use crate::eval::select::{offset_ms, select_vector};
use crate::eval::{duplicate_labelset, Evaluated};
use crate::value::StepSeries;
use crate::PromqlError;

const TARGET_INFO: &str = "target_info";
const IDENTIFYING_LABELS: [&str; 2] = ["instance", "job"];

/// Dispatches `info`; `None` for other names.
pub(super) fn call(
    f: &FnCtx<'_, '_>,
    name: &str,
    args: &mut Args,
) -> Result<Option<Evaluated>, PromqlError> {
    if name != "info" {
        return Ok(None);
    }
    let base = args.vector(0)?;
    Ok(Some(Evaluated::Vector(info(f, base)?)))
}

fn matcher(op_token: u16, name: &str, value: &str) -> Result<Matcher, PromqlError> {
    Matcher::new_matcher(op_token, name.to_owned(), value.to_owned())
        .map_err(|e| PromqlError::Execution(format!("info(): {e}")))
}

/// The `__name__` matchers that choose info series: the given ones, with `.+_info` added when
/// all of them are negative, or `target_info` when there are none.
fn effective_name_matchers(given: &[Matcher]) -> Result<Vec<Matcher>, PromqlError> {
    if given
        .iter()
        .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::Re(_)))
    {
        return Ok(given.to_vec());
    }
    if !given.is_empty() {
        let mut out = vec![matcher(T_EQL_REGEX, METRIC_NAME_LABEL, ".+_info")?];
        out.extend(given.iter().cloned());
        return Ok(out);
    }
    Ok(vec![matcher(T_EQL, METRIC_NAME_LABEL, TARGET_INFO)?])
}

/// The matchers of the second argument, the metric name included as a matcher.
fn selector_matchers(arg: Option<&Expr>) -> Vec<Matcher> {
    let Some(Expr::VectorSelector(vs)) = arg else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(name) = &vs.name {
        out.push(Matcher::new(MatchOp::Equal, METRIC_NAME_LABEL, name));
    }
    out.extend(vs.matchers.matchers.iter().cloned());
    out
}

/// The `@` and offset that govern when the info series are read: those of the first selector
/// in `expr`, shifted by the offsets of enclosing subqueries up to the innermost one with an
/// `@` (which then anchors it).
fn reference_time(expr: &Expr) -> (Option<AtModifier>, i64) {
    fn walk<'e>(e: &'e Expr, path: &mut Vec<&'e Expr>) -> Option<(Option<AtModifier>, i64)> {
        let found = |vs: &VectorSelector, path: &[&Expr]| {
            let mut at = vs.at.clone();
            let mut offset = offset_ms(vs.offset.as_ref());
            for outer in path.iter().rev() {
                if at.is_some() {
                    break;
                }
                if let Expr::Subquery(sq) = outer {
                    offset = offset.saturating_add(offset_ms(sq.offset.as_ref()));
                    at = sq.at.clone();
                }
            }
            (at, offset)
        };
        match e {
            Expr::VectorSelector(vs) => return Some(found(vs, path)),
            Expr::MatrixSelector(ms) => return Some(found(&ms.vs, path)),
            _ => {}
        }
        path.push(e);
        let children: Vec<&Expr> = match e {
            Expr::Aggregate(a) => a.param.iter().map(|p| &**p).chain([&*a.expr]).collect(),
            Expr::Unary(u) => vec![&*u.expr],
            Expr::Binary(b) => vec![&*b.lhs, &*b.rhs],
            Expr::Paren(p) => vec![&*p.expr],
            Expr::Subquery(s) => vec![&*s.expr],
            Expr::Call(c) => c.args.args.iter().map(|a| &**a).collect(),
            _ => Vec::new(),
        };
        for c in children {
            if let Some(r) = walk(c, path) {
                return Some(r);
            }
        }
        path.pop();
        None
    }
    walk(expr, &mut Vec::new()).unwrap_or((None, 0))
}

/// An info series' or base series' join key for one info metric: the metric name and the
/// identifying labels present.
type Signature = (String, Vec<(&'static str, String)>);

fn signature(name: &str, labels: &Labels) -> Signature {
    let ids = IDENTIFYING_LABELS
        .iter()
        .filter_map(|&l| labels.get(l).map(|v| (l, v.to_owned())))
        .collect();
    (name.to_owned(), ids)
}

fn info(f: &FnCtx<'_, '_>, base: Vec<StepSeries>) -> Result<Vec<StepSeries>, PromqlError> {
    let ctx = f.ctx;
    let selector = selector_matchers(f.arg_expr(1));
    let has_selector = f.arg_expr(1).is_some();
    let name_matchers: Vec<Matcher> = if has_selector {
        selector
            .iter()
            .filter(|m| m.name == METRIC_NAME_LABEL)
            .cloned()
            .collect()
    } else {
        vec![matcher(T_EQL, METRIC_NAME_LABEL, TARGET_INFO)?]
    };
    let effective = effective_name_matchers(&name_matchers)?;
    // Data label matchers by label name, without the metric name.
    let mut data: BTreeMap<String, Vec<Matcher>> = BTreeMap::new();
    for m in selector.iter().filter(|m| m.name != METRIC_NAME_LABEL) {
        data.entry(m.name.clone()).or_default().push(m.clone());
    }
    let ignored: Vec<bool> = base
        .iter()
        .map(|s| {
            let name = s.labels.metric_name().unwrap_or("");
            effective.iter().all(|m| m.is_match(name))
        })
        .collect();

    // Identifying label values of the series to enrich.
    let mut id_values: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (s, _) in base.iter().zip(&ignored).filter(|(_, &ig)| !ig) {
        for l in IDENTIFYING_LABELS {
            if let Some(v) = s.labels.get(l).filter(|v| !v.is_empty()) {
                id_values.entry(l).or_default().insert(v);
            }
        }
    }
    let info_series = if id_values.is_empty() {
        Vec::new()
    } else {
        let mut matchers = Vec::new();
        for (l, values) in &id_values {
            let alternation: Vec<String> = values
                .iter()
                .map(|v| vigil_model::go_quote_meta(v))
                .collect();
            matchers.push(matcher(T_EQL_REGEX, l, &alternation.join("|"))?);
        }
        matchers.extend(data.values().flatten().cloned());
        matchers.extend(effective.iter().cloned());
        let (at, offset) = f.arg_expr(0).map_or((None, 0), reference_time);
        let mut vs = VectorSelector::new(None, Matchers::new(matchers));
        vs.at = at;
        vs.offset = match offset {
            0 => None,
            o if o > 0 => Some(Offset::Pos(Duration::from_millis(o.unsigned_abs()))),
            o => Some(Offset::Neg(Duration::from_millis(o.unsigned_abs()))),
        };
        // The values are the timestamps of the info samples (newest wins a conflict).
        select_vector(ctx, &vs, true)?
    };
    combine(f, base, &ignored, &info_series, &data)
}

/// Joins base and info series step by step.
fn combine(
    f: &FnCtx<'_, '_>,
    base: Vec<StepSeries>,
    ignored: &[bool],
    info: &[StepSeries],
    data: &BTreeMap<String, Vec<Matcher>>,
) -> Result<Vec<StepSeries>, PromqlError> {
    let n = f.ctx.steps.len();
    let info_names: BTreeSet<&str> = info
        .iter()
        .map(|s| s.labels.metric_name().unwrap_or(""))
        .collect();
    let info_sigs: Vec<Signature> = info
        .iter()
        .map(|s| signature(s.labels.metric_name().unwrap_or(""), &s.labels))
        .collect();
    // Info points by step: (series index, sample time).
    let mut info_at: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for (k, s) in info.iter().enumerate() {
        for p in &s.points {
            if let Some(v) = f.step_of(p.t).and_then(|i| info_at.get_mut(i)) {
                v.push((k, p.v));
            }
        }
    }
    let all_match_empty = data.values().flatten().all(|m| m.is_match(""));
    // Join keys of each series to enrich, one per info metric name: computed once, not per step.
    let base_sigs: Vec<Vec<Signature>> = base
        .iter()
        .zip(ignored)
        .map(|(s, &ig)| {
            if ig {
                Vec::new()
            } else {
                info_names
                    .iter()
                    .map(|name| signature(name, &s.labels))
                    .collect()
            }
        })
        .collect();

    let mut out: Vec<StepSeries> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    // Labels are borrowed from the input where unchanged, and copied once per output series.
    let mut emit = |labels: Cow<'_, Labels>, drop_name: bool, p: Sample| {
        let i = match index.get(labels.as_ref()) {
            Some(&i) => i,
            None => {
                let labels = labels.into_owned();
                index.insert(labels.clone(), out.len());
                out.push(StepSeries {
                    labels,
                    drop_name,
                    points: Vec::new(),
                });
                out.len() - 1
            }
        };
        if let Some(s) = out.get_mut(i) {
            if s.points.last().is_some_and(|last| last.t == p.t) {
                return Err(duplicate_labelset());
            }
            s.points.push(p);
        }
        Ok::<_, PromqlError>(())
    };

    // Base points by step, in input order.
    let mut base_at: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for (k, s) in base.iter().enumerate() {
        for p in &s.points {
            if let Some(v) = f.step_of(p.t).and_then(|i| base_at.get_mut(i)) {
                v.push((k, p.v));
            }
        }
    }
    for (step, points) in base_at.iter().enumerate() {
        if points.is_empty() {
            continue;
        }
        f.ctx.check_deadline()?;
        let t = f.ctx.steps.ts(step);
        // The newest info sample per signature.
        let mut by_sig: HashMap<&Signature, (usize, f64)> = HashMap::new();
        for &(k, orig_t) in info_at.get(step).map_or(&[][..], Vec::as_slice) {
            let Some(sig) = info_sigs.get(k) else {
                continue;
            };
            match by_sig.get(sig) {
                Some(&(_, existing)) if existing > orig_t => {}
                #[allow(clippy::float_cmp)]
                Some(&(other, existing)) if existing == orig_t => {
                    let label_text = |k: usize| {
                        info.get(k)
                            .map_or_else(String::new, |s| go_labels_string(&s.labels))
                    };
                    return Err(PromqlError::Execution(format!(
                        "found duplicate series for info metric: existing {} @ {}, new {} @ {}",
                        label_text(other),
                        (existing * 1000.0).round() as i64,
                        label_text(k),
                        (orig_t * 1000.0).round() as i64,
                    )));
                }
                _ => {
                    by_sig.insert(sig, (k, orig_t));
                }
            }
        }
        for &(k, v) in points {
            let Some(bs) = base.get(k) else {
                continue;
            };
            let sample = Sample::new(t, v);
            if ignored.get(k).copied().unwrap_or(false) {
                emit(Cow::Borrowed(&bs.labels), bs.drop_name, sample)?;
                continue;
            }
            let mut added: BTreeMap<&str, &str> = BTreeMap::new();
            let mut matched = false;
            for sig in base_sigs.get(k).map_or(&[][..], Vec::as_slice) {
                let Some(&(ik, _)) = by_sig.get(sig) else {
                    continue;
                };
                let Some(is) = info.get(ik) else {
                    continue;
                };
                for l in is.labels.iter() {
                    if l.name == METRIC_NAME_LABEL {
                        continue;
                    }
                    if !data.is_empty() && !data.contains_key(&l.name) {
                        continue;
                    }
                    if let Some(&prev) = added.get(l.name.as_str()) {
                        if prev != l.value {
                            return Err(PromqlError::Execution(format!(
                                "conflicting label: {}",
                                l.name
                            )));
                        }
                    }
                    if bs.labels.get(&l.name).is_some() {
                        continue;
                    }
                    added.insert(&l.name, &l.value);
                }
                matched = true;
            }
            if !matched && !all_match_empty {
                continue;
            }
            let labels = if added.is_empty() {
                Cow::Borrowed(&bs.labels)
            } else {
                let mut b = bs.labels.builder();
                for (name, value) in &added {
                    b.set(name, value);
                }
                Cow::Owned(b.build())
            };
            emit(labels, bs.drop_name, sample)?;
        }
    }
    f.ctx.add_points(&out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(vigil_model::go_quote_meta("a.b+c"), "a\\.b\\+c");
        assert_eq!(vigil_model::go_quote_meta("plain"), "plain");
    }

    #[test]
    fn name_matchers() {
        let names = |ms: Vec<Matcher>| ms.into_iter().map(|m| m.value).collect::<Vec<_>>();
        let none = effective_name_matchers(&[]).expect("valid");
        assert_eq!(names(none), ["target_info"]);
        let neg = Matcher::new(MatchOp::NotEqual, METRIC_NAME_LABEL, "target_info");
        let only_negative = effective_name_matchers(&[neg]).expect("valid");
        assert_eq!(names(only_negative), [".+_info", "target_info"]);
    }

    #[test]
    fn reference_time_of_first_selector() {
        let e = promql_parser::parser::parse("rate(x[5m] offset 1m) + y @ 100").expect("parses");
        assert_eq!(reference_time(&e), (None, 60_000));
        let e = promql_parser::parser::parse("(x offset 1m)[5m:1m] offset 2m").expect("parses");
        assert_eq!(reference_time(&e), (None, 180_000));
    }
}
