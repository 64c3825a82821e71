use crate::{Labels, ModelError};

/// Per-series limits applied by every ingest path before anything is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesLimits {
    /// Most labels a series may carry, `__name__` included. 0 = unlimited.
    pub max_labels: usize,
    /// Longest label name in bytes. 0 = unlimited.
    pub max_label_name_len: usize,
    /// Longest label value in bytes. 0 = unlimited.
    pub max_label_value_len: usize,
}

impl Default for SeriesLimits {
    fn default() -> Self {
        SeriesLimits {
            max_labels: 64,
            max_label_name_len: 256,
            max_label_value_len: 4096,
        }
    }
}

impl SeriesLimits {
    /// # Errors
    /// The first limit the series exceeds, naming the series.
    pub fn check(&self, labels: &Labels) -> Result<(), ModelError> {
        if self.max_labels > 0 && labels.len() > self.max_labels {
            return Err(ModelError::TooManyLabels {
                series: truncated(labels),
                count: labels.len(),
                limit: self.max_labels,
            });
        }
        for l in labels {
            if self.max_label_name_len > 0 && l.name.len() > self.max_label_name_len {
                return Err(ModelError::LabelNameTooLong {
                    series: truncated(labels),
                    name: l.name.chars().take(64).collect(),
                    len: l.name.len(),
                    limit: self.max_label_name_len,
                });
            }
            if self.max_label_value_len > 0 && l.value.len() > self.max_label_value_len {
                return Err(ModelError::LabelValueTooLong {
                    series: truncated(labels),
                    name: l.name.clone(),
                    len: l.value.len(),
                    limit: self.max_label_value_len,
                });
            }
        }
        Ok(())
    }
}

/// The series' text form cut to a size fit for an error message.
fn truncated(labels: &Labels) -> String {
    let s = labels.to_string();
    if s.len() <= 200 {
        return s;
    }
    let mut out: String = s.chars().take(200).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_labels_names_series() {
        let l = Labels::from_pairs([("__name__", "m"), ("a", "1"), ("b", "2")]).expect("pairs");
        let lim = SeriesLimits {
            max_labels: 2,
            ..SeriesLimits::default()
        };
        let e = lim.check(&l).expect_err("over limit").to_string();
        assert!(e.contains(r#"m{a="1", b="2"}"#), "{e}");
    }
}
