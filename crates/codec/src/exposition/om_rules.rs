//! OpenMetrics 1.0 family rules: everything the specification requires beyond the ABNF.
//!
//! Fed line by line by the OpenMetrics parser in [`super::Validation::Strict`] mode. The rules
//! and their reading follow the specification (sections "MetricFamily", "Metric types" and
//! "Text format") as the OpenMetrics reference parser (client_python's `openmetrics/parser.py`)
//! applies them, since the upstream test-suite's verdicts come from it:
//!
//! - a family starts at a metadata line naming a new family, or at a sample whose name is not
//!   one of the current family's sample names (`name` + the type's suffixes); it is then of type
//!   unknown;
//! - at most one HELP, TYPE and UNIT each, all before the family's first sample; `untyped` is not
//!   a type; a UNIT must be a `_`-separated suffix of the name and is not allowed on info and
//!   stateset families;
//! - no family name, or name + one of its type's suffixes, may repeat one already used
//!   ("clashing names", which also catches interleaved families);
//! - samples of one metric (same labels, bucket `le` / summary `quantile` / stateset state
//!   aside) are contiguous, their timestamps are all present or all absent and never go back;
//! - counter-like values (`_total`, `_sum`, `_count`, `_bucket`, `_gcount`, `_gsum`) are not NaN,
//!   and not negative (`_gsum` aside); counts and bucket values are integers; summary quantiles
//!   carry a `quantile` label in [0, 1] and a non-negative value; info values are 1; stateset
//!   values are 0 or 1 and carry a label named after the family;
//! - histogram buckets carry an `le` (not NaN, `+Inf` written so), strictly increasing, with
//!   non-decreasing values, ending at `+Inf`; `_count` equals the `+Inf` bucket and is present
//!   exactly when `_sum` (`_gsum`) is; a `_sum` is not allowed with negative buckets, a negative
//!   `_gsum` only with them;
//! - exemplars only on histogram/gaugehistogram `_bucket` and counter `_total` samples.
//!
//! Metric identity is kept as a 128-bit hash of the label pairs, so checking costs no allocation
//! per sample.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use vigil_model::{Labels, MetricType, METRIC_NAME_LABEL};

use super::number::{is_integer, parse_number};
use super::scan::PErr;

/// Which metadata line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MetaKind {
    Help,
    Type(MetricType),
    Unit,
}

/// What the rules need to know about one sample line.
pub(super) struct SampleInfo<'s> {
    pub name: &'s str,
    pub labels: &'s Labels,
    pub value: f64,
    /// The timestamp as written, in seconds.
    pub ts: Option<f64>,
    pub has_exemplar: bool,
}

type Key = (u64, u64);

#[derive(Default)]
pub(super) struct Families {
    seen_names: HashSet<String>,
    fam: Option<Family>,
}

struct Family {
    name: String,
    start: usize,
    /// `None` until a TYPE line (a family with only HELP/UNIT is unknown but accepts only its
    /// bare name, like an untyped one).
    typ: Option<MetricType>,
    has_help: bool,
    unit: Option<String>,
    samples: usize,
    /// Identity and timestamp of the previous sample's metric.
    group: Option<(Key, Option<f64>)>,
    seen_groups: HashSet<Key>,
    /// Series seen in the current metric, to skip exact repeats in histogram checks.
    series_in_group: HashSet<Key>,
    hist: Option<HistPoint>,
}

/// The histogram MetricPoint being read: one metric at one timestamp.
struct HistPoint {
    key: Key,
    ts: Option<f64>,
    start: usize,
    last_le: Option<f64>,
    last_value: f64,
    count: Option<f64>,
    has_sum: bool,
    has_gsum: bool,
    negative_buckets: bool,
    negative_gsum: bool,
}

fn suffixes(t: MetricType) -> &'static [&'static str] {
    match t {
        MetricType::Counter => &["_total", "_created"],
        MetricType::Summary => &["", "_count", "_sum", "_created"],
        MetricType::Histogram => &["_count", "_sum", "_bucket", "_created"],
        MetricType::GaugeHistogram => &["_gcount", "_gsum", "_bucket"],
        MetricType::Info => &["_info"],
        MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[""],
    }
}

fn is_histogram(t: MetricType) -> bool {
    matches!(t, MetricType::Histogram | MetricType::GaugeHistogram)
}

impl Family {
    fn new(name: &str, start: usize, typ: Option<MetricType>) -> Self {
        Family {
            name: name.to_owned(),
            start,
            typ,
            has_help: false,
            unit: None,
            samples: 0,
            group: None,
            seen_groups: HashSet::new(),
            series_in_group: HashSet::new(),
            hist: None,
        }
    }

    fn typ(&self) -> MetricType {
        self.typ.unwrap_or(MetricType::Unknown)
    }

    /// Whether `sample` is one of this family's sample names.
    fn allows(&self, sample: &str) -> bool {
        let Some(suffix) = sample.strip_prefix(self.name.as_str()) else {
            return false;
        };
        match self.typ {
            None => suffix.is_empty(),
            Some(t) => suffixes(t).contains(&suffix),
        }
    }

    /// The label that does not count towards a sample's metric identity.
    fn point_label<'n>(&'n self, suffix: &str) -> Option<&'n str> {
        match (self.typ(), suffix) {
            (MetricType::Histogram | MetricType::GaugeHistogram, "_bucket") => Some("le"),
            (MetricType::Summary, "") => Some("quantile"),
            (MetricType::StateSet, _) => Some(self.name.as_str()),
            _ => None,
        }
    }

    fn group_key(&self, suffix: &str, labels: &Labels) -> Key {
        if self.typ() == MetricType::Info {
            // The reference parser cannot tell info metrics apart: one group.
            return (0, 0);
        }
        let skip = self.point_label(suffix);
        hash2(
            labels
                .iter()
                .filter(|l| l.name != METRIC_NAME_LABEL && Some(l.name.as_str()) != skip)
                .map(|l| (l.name.as_str(), l.value.as_str())),
        )
    }
}

/// Two independent 64-bit hashes of a label sequence.
fn hash2<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Key {
    let mut a = std::collections::hash_map::DefaultHasher::new();
    let mut b = std::collections::hash_map::DefaultHasher::new();
    0x5eed_u64.hash(&mut b);
    for (n, v) in pairs {
        n.hash(&mut a);
        v.hash(&mut a);
        n.hash(&mut b);
        v.hash(&mut b);
    }
    (a.finish(), b.finish())
}

impl Families {
    pub(super) fn new() -> Self {
        Families::default()
    }

    pub(super) fn on_metadata(
        &mut self,
        kind: MetaKind,
        name: &str,
        text: &str,
        pos: usize,
    ) -> Result<(), PErr> {
        let same = self.fam.as_ref().is_some_and(|f| f.name == name);
        if same {
            if self.fam.as_ref().is_some_and(|f| f.samples > 0) {
                return Err(PErr::new(
                    pos,
                    format!("metadata for {name:?} after its samples (HELP, TYPE and UNIT must come first)"),
                ));
            }
        } else {
            self.finish_family()?;
            self.fam = Some(Family::new(name, pos, None));
        }
        let Some(f) = self.fam.as_mut() else {
            return Ok(());
        };
        match kind {
            MetaKind::Help => {
                if f.has_help {
                    return Err(PErr::new(pos, format!("second HELP line for {name:?}")));
                }
                f.has_help = true;
            }
            MetaKind::Type(t) => {
                if f.typ.is_some() {
                    return Err(PErr::new(pos, format!("second TYPE line for {name:?}")));
                }
                f.typ = Some(t);
            }
            MetaKind::Unit => {
                if f.unit.is_some() {
                    return Err(PErr::new(pos, format!("second UNIT line for {name:?}")));
                }
                f.unit = Some(text.to_owned());
            }
        }
        Ok(())
    }

    pub(super) fn on_sample(&mut self, s: &SampleInfo<'_>, pos: usize) -> Result<(), PErr> {
        if !self.fam.as_ref().is_some_and(|f| f.allows(s.name)) {
            self.finish_family()?;
            self.fam = Some(Family::new(s.name, pos, Some(MetricType::Unknown)));
        }
        let Some(f) = self.fam.as_mut() else {
            return Ok(());
        };
        let typ = f.typ();
        let suffix = s.name.get(f.name.len()..).unwrap_or_default();
        let fail = |msg: String| Err(PErr::new(pos, msg));

        if typ == MetricType::StateSet && s.labels.get(&f.name).is_none() {
            return fail(format!(
                "stateset sample lacks the label {:?} naming its state",
                f.name
            ));
        }
        let mut le = None;
        if suffix == "_bucket" {
            let Some(raw) = s.labels.get("le") else {
                return fail("histogram bucket without an \"le\" label".to_owned());
            };
            let b = match parse_number(raw.as_bytes()) {
                Ok(b) if !b.is_nan() => b,
                _ => return fail(format!("invalid \"le\" label value {raw:?}")),
            };
            if b == f64::INFINITY && raw != "+Inf" {
                return fail(format!(
                    "\"le\" label value {raw:?} must be written \"+Inf\""
                ));
            }
            if !is_integer(s.value) {
                return fail(format!("bucket value {} is not an integer", s.value));
            }
            le = Some(b);
        }
        if matches!(suffix, "_count" | "_gcount") && !is_integer(s.value) {
            return fail(format!("{suffix} value {} is not an integer", s.value));
        }
        if typ == MetricType::Summary && suffix.is_empty() {
            let q = s
                .labels
                .get("quantile")
                .and_then(|raw| parse_number(raw.as_bytes()).ok());
            if !q.is_some_and(|q| (0.0..=1.0).contains(&q)) {
                return fail(
                    "summary quantile sample needs a \"quantile\" label between 0 and 1".to_owned(),
                );
            }
        }

        // Metric grouping and timestamps.
        let key = f.group_key(suffix, s.labels);
        let mut duplicate = false;
        match f.group {
            Some((prev, prev_ts)) if prev == key => {
                if prev_ts.is_some() != s.ts.is_some() {
                    return fail(
                        "samples of one metric must all have a timestamp or all have none"
                            .to_owned(),
                    );
                }
                if let (Some(p), Some(t)) = (prev_ts, s.ts) {
                    if p > t && typ != MetricType::Info {
                        return fail(format!(
                            "timestamp {t} goes back from {p} within one metric"
                        ));
                    }
                }
                if is_histogram(typ) {
                    let series =
                        hash2(s.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())));
                    duplicate = prev_ts == s.ts && !f.series_in_group.insert(series);
                }
            }
            _ => {
                if f.group.is_some() && f.seen_groups.contains(&key) {
                    return fail(format!(
                        "samples of one metric of {:?} are not contiguous (metrics must not be interleaved)",
                        f.name
                    ));
                }
                f.series_in_group.clear();
                if is_histogram(typ) {
                    f.series_in_group.insert(hash2(
                        s.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
                    ));
                }
            }
        }
        f.group = Some((key, s.ts));
        f.seen_groups.insert(key);

        if is_histogram(typ) && !duplicate {
            f.feed_histogram(suffix, le, s, key, pos)?;
        }

        // Values.
        let v = s.value;
        if typ == MetricType::StateSet && v != 0.0 && v != 1.0 {
            return fail(format!("stateset value {v} is neither 0 nor 1"));
        }
        if typ == MetricType::Info && v != 1.0 {
            return fail(format!("info value {v} is not 1"));
        }
        if typ == MetricType::Summary && suffix.is_empty() && v < 0.0 {
            return fail(format!("summary quantile value {v} is negative"));
        }
        let counter_like = matches!(
            suffix,
            "_total" | "_sum" | "_count" | "_bucket" | "_gcount" | "_gsum"
        );
        if counter_like && v.is_nan() {
            return fail(format!("{suffix} value must not be NaN"));
        }
        if counter_like && suffix != "_gsum" && v < 0.0 {
            return fail(format!("{suffix} value {v} is negative"));
        }
        if s.has_exemplar
            && !((is_histogram(typ) && s.name.ends_with("_bucket"))
                || (typ == MetricType::Counter && s.name.ends_with("_total")))
        {
            return fail(format!(
                "exemplars are allowed only on histogram buckets and counter totals, not on {:?}",
                s.name
            ));
        }
        f.samples += 1;
        Ok(())
    }

    /// At `# EOF`: closes the last family.
    pub(super) fn finish(&mut self) -> Result<(), PErr> {
        self.finish_family()
    }

    fn finish_family(&mut self) -> Result<(), PErr> {
        let Some(mut f) = self.fam.take() else {
            return Ok(());
        };
        let typ = f.typ();
        let own = suffixes(typ);
        let bare: &[&str] = if own.contains(&"") { &[] } else { &[""] };
        for suffix in own.iter().chain(bare) {
            let n = format!("{}{suffix}", f.name);
            if self.seen_names.contains(&n) {
                return Err(PErr::new(
                    f.start,
                    format!(
                        "metric family {:?} clashes with an earlier family over the sample name {n:?}",
                        f.name
                    ),
                ));
            }
            self.seen_names.insert(n);
        }
        if let Some(unit) = f.unit.as_deref() {
            if !unit.is_empty() && matches!(typ, MetricType::Info | MetricType::StateSet) {
                return Err(PErr::new(
                    f.start,
                    format!("{} families must not have a unit", typ.as_str()),
                ));
            }
        }
        if let Some(h) = f.hist.take() {
            h.check(&f.name)?;
        }
        Ok(())
    }
}

impl Family {
    fn feed_histogram(
        &mut self,
        suffix: &str,
        le: Option<f64>,
        s: &SampleInfo<'_>,
        key: Key,
        pos: usize,
    ) -> Result<(), PErr> {
        let new_point = self
            .hist
            .as_ref()
            .is_none_or(|h| h.key != key || h.ts != s.ts);
        if new_point {
            if let Some(h) = self.hist.take() {
                h.check(&self.name)?;
            }
            self.hist = Some(HistPoint {
                key,
                ts: s.ts,
                start: pos,
                last_le: None,
                last_value: 0.0,
                count: None,
                has_sum: false,
                has_gsum: false,
                negative_buckets: false,
                negative_gsum: false,
            });
        }
        let Some(h) = self.hist.as_mut() else {
            return Ok(());
        };
        match suffix {
            "_bucket" => {
                let b = le.unwrap_or(f64::NAN);
                if b < 0.0 {
                    h.negative_buckets = true;
                }
                if h.last_le.is_some_and(|prev| b <= prev) {
                    return Err(PErr::new(
                        pos,
                        format!("bucket \"le\" values of {:?} must increase", self.name),
                    ));
                }
                if s.value < h.last_value {
                    return Err(PErr::new(
                        pos,
                        format!(
                            "bucket values of {:?} must not decrease ({} after {})",
                            self.name, s.value, h.last_value
                        ),
                    ));
                }
                h.last_le = Some(b);
                h.last_value = s.value;
            }
            "_count" | "_gcount" => h.count = Some(s.value),
            "_sum" => h.has_sum = true,
            "_gsum" => {
                h.has_gsum = true;
                if s.value < 0.0 {
                    h.negative_gsum = true;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl HistPoint {
    fn check(&self, name: &str) -> Result<(), PErr> {
        let fail = |what: &str| Err(PErr::new(self.start, format!("histogram {name:?}: {what}")));
        if self.last_le != Some(f64::INFINITY) {
            return fail("the last bucket must be le=\"+Inf\"");
        }
        if let Some(c) = self.count {
            if c != self.last_value {
                return fail(&format!(
                    "count {c} does not match the +Inf bucket {}",
                    self.last_value
                ));
            }
        }
        if self.has_sum && self.count.is_none() {
            return fail("_sum without _count");
        }
        if self.has_gsum && self.count.is_none() {
            return fail("_gsum without _gcount");
        }
        if !(self.has_sum || self.has_gsum) && self.count.is_some() {
            return fail("count without sum");
        }
        if self.negative_buckets && self.has_sum {
            return fail("_sum is not allowed when there are negative buckets");
        }
        if !self.negative_buckets && self.negative_gsum {
            return fail("negative _gsum without negative buckets");
        }
        Ok(())
    }
}
