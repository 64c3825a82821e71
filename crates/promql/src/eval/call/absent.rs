//! `absent` and `absent_over_time`: a 1 at every step where the argument has nothing, labelled
//! with what the argument's selector pins down exactly (its `name="value"` matchers, except
//! labels matched more than once or also by another matcher).

use std::collections::HashSet;

use promql_parser::label::MatchOp;
use promql_parser::parser::Expr;
use vigil_model::{Labels, LabelsBuilder, Sample, METRIC_NAME_LABEL};

use super::over_time::for_each_window;
use super::{Args, FnCtx};
use crate::eval::Evaluated;
use crate::value::StepSeries;
use crate::PromqlError;

/// Dispatches `absent` and `absent_over_time`; `None` for other names.
pub(super) fn call(
    f: &FnCtx<'_, '_>,
    name: &str,
    args: &mut Args,
) -> Result<Option<Evaluated>, PromqlError> {
    let n = f.ctx.steps.len();
    let mut present = vec![false; n];
    match name {
        "absent" => {
            for s in args.vector(0)? {
                for p in &s.points {
                    if let Some(slot) = f.step_of(p.t).and_then(|i| present.get_mut(i)) {
                        *slot = true;
                    }
                }
            }
        }
        "absent_over_time" => {
            let range = args.range(0)?;
            for s in &range.series {
                f.ctx.check_deadline()?;
                for_each_window(&s.samples, &range.ends, range.range_ms, |w| {
                    if let Some(slot) = present.get_mut(w.step) {
                        *slot = true;
                    }
                });
            }
        }
        _ => return Ok(None),
    }
    let points: Vec<Sample> = present
        .iter()
        .enumerate()
        .filter(|(_, &p)| !p)
        .map(|(i, _)| Sample::new(f.ctx.steps.ts(i), 1.0))
        .collect();
    if points.is_empty() {
        return Ok(Some(Evaluated::Vector(Vec::new())));
    }
    f.ctx.add_samples(points.len())?;
    Ok(Some(Evaluated::Vector(vec![StepSeries {
        labels: absent_labels(f.arg_expr(0)),
        drop_name: false,
        points,
    }])))
}

/// The labels `absent` reports for its argument expression.
fn absent_labels(arg: Option<&Expr>) -> Labels {
    let vs = match arg {
        Some(Expr::VectorSelector(vs)) => vs,
        Some(Expr::MatrixSelector(ms)) => &ms.vs,
        _ => return Labels::empty(),
    };
    if !vs.matchers.or_matchers.is_empty() {
        return Labels::empty();
    }
    let mut b = LabelsBuilder::new();
    let mut has: HashSet<&str> = HashSet::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME_LABEL {
            continue;
        }
        if matches!(m.op, MatchOp::Equal) && !has.contains(m.name.as_str()) {
            b.set(&m.name, &m.value);
            has.insert(&m.name);
        } else {
            b.del(&m.name);
        }
    }
    b.build()
}
