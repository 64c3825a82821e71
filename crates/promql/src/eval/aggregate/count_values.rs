//! `count_values("label", v)`: per group and distinct value, how many series have that value.
//!
//! The output labels are the grouping labels plus the value label, whose value is the sample
//! formatted as Go does (`strconv.FormatFloat(v, 'f', -1, 64)`). Everything but the value is
//! computed once per series: its "base" labels (grouping labels without the value label) are
//! interned, and an output series is identified by (base, formatted value).

use std::collections::HashMap;

use vigil_model::{Label, Labels, Sample, METRIC_NAME_LABEL};

use crate::eval::binary::signature::{go_quote, hash_all, Interner, LabelFilter};
use crate::eval::Ctx;
use crate::value::StepSeries;
use crate::PromqlError;
use vigil_model::go_format_f;

pub(super) fn count_values(
    ctx: &Ctx<'_>,
    filter: &LabelFilter,
    value_label: &str,
    input: Vec<StepSeries>,
) -> Result<Vec<StepSeries>, PromqlError> {
    // Prometheus accepts any non-empty valid UTF-8 label name here. (It rejects `"a\xc5z"`,
    // whose byte escape is invalid UTF-8; promql-parser decodes `\xc5` to U+00C5 instead, so
    // that string arrives here valid.)
    if value_label.is_empty() {
        return Err(PromqlError::Execution(format!(
            "invalid label name {}",
            go_quote(value_label)
        )));
    }
    // The value label is set on each series before grouping: `by` always keeps it, `without`
    // keeps it unless it is listed (or is the metric name, which `without` always drops).
    let (base_filter, with_value) = match filter {
        LabelFilter::On(names) => (
            LabelFilter::On(
                names
                    .iter()
                    .filter(|n| n.as_str() != value_label)
                    .cloned()
                    .collect(),
            ),
            true,
        ),
        LabelFilter::Ignoring(names) => {
            let listed = names.iter().any(|n| n == value_label);
            let mut names = names.clone();
            if !listed {
                names.push(value_label.to_owned());
                names.sort_unstable();
            }
            (
                LabelFilter::Ignoring(names),
                !listed && value_label != METRIC_NAME_LABEL,
            )
        }
    };

    let hashes = hash_all(&base_filter, input.iter().map(|s| &s.labels));
    let mut interner = Interner::new(&base_filter, 64);
    let bases: Vec<u32> = input
        .iter()
        .zip(&hashes)
        .map(|(s, h)| interner.intern(*h, &s.labels))
        .collect();

    // Output series by (base, value text), in order of first appearance (step by step).
    // Value texts are interned: formatting happens once per distinct sample value.
    let mut text_of_bits: HashMap<u64, u32> = HashMap::new();
    let mut text_ids: HashMap<String, u32> = HashMap::new();
    let mut texts: Vec<String> = Vec::new();
    let mut index: HashMap<(u32, u32), usize> = HashMap::new();
    let mut out: Vec<StepSeries> = Vec::new();
    let mut cursors = vec![0usize; input.len()];
    // Per output series: the step it was last counted at, and the count there.
    let mut tally: Vec<(usize, f64)> = Vec::new();
    let mut touched: Vec<usize> = Vec::new();
    for k in 0..ctx.steps.len() {
        if k % 256 == 0 {
            ctx.check_deadline()?;
        }
        let t = ctx.steps.ts(k);
        touched.clear();
        for ((s, cur), &base) in input.iter().zip(cursors.iter_mut()).zip(&bases) {
            while s.points.get(*cur).is_some_and(|p| p.t < t) {
                *cur += 1;
            }
            let Some(p) = s.points.get(*cur).filter(|p| p.t == t) else {
                continue;
            };
            *cur += 1;
            let text = if with_value {
                *text_of_bits.entry(p.v.to_bits()).or_insert_with(|| {
                    let text = go_format_f(p.v);
                    let next = u32::try_from(texts.len()).unwrap_or(u32::MAX);
                    *text_ids.entry(text.clone()).or_insert_with(|| {
                        texts.push(text);
                        next
                    })
                })
            } else {
                u32::MAX
            };
            let o = match index.get(&(base, text)) {
                Some(&o) => o,
                None => {
                    let value = usize::try_from(text)
                        .ok()
                        .and_then(|i| texts.get(i))
                        .map(String::as_str);
                    let labels = output_labels(&base_filter, &s.labels, value_label, value);
                    out.push(StepSeries::new(labels, Vec::new()));
                    tally.push((usize::MAX, 0.0));
                    index.insert((base, text), out.len() - 1);
                    out.len() - 1
                }
            };
            if let Some((at, n)) = tally.get_mut(o) {
                if *at == k {
                    *n += 1.0;
                } else {
                    *at = k;
                    *n = 1.0;
                    touched.push(o);
                }
            }
        }
        for &o in &touched {
            if let (Some(s), Some((_, n))) = (out.get_mut(o), tally.get(o)) {
                s.points.push(Sample::new(t, *n));
            }
        }
    }
    ctx.add_points(&out)?;
    Ok(out)
}

fn output_labels(
    base_filter: &LabelFilter,
    labels: &Labels,
    value_label: &str,
    value: Option<&str>,
) -> Labels {
    let mut v: Vec<Label> = base_filter.select(labels).cloned().collect();
    if let Some(value) = value {
        v.push(Label::new(value_label, value));
        v.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Labels::from_sorted_unchecked(v)
}
