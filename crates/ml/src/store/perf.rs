//! Model performance from delayed labels, per prediction-time window: the counts every
//! metric is computed from, updated as labels arrive, and the metrics themselves.
//!
//! Classification keeps a confusion matrix (exact accuracy, precision, recall, F1), the
//! positive-class probabilities of labelled predictions in 10,001 bins of width 1e-4 per true
//! class (ROC AUC, exact up to ties within a bin), and the summed log loss. Regression keeps
//! sums (MAE, RMSE, MAPE). Memory per window is bounded by the classes seen and the bins used,
//! never by the number of events.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Log loss clips probabilities to `[EPS, 1-EPS]`, as scikit-learn does.
const EPS: f64 = 1e-15;
/// Score bins per unit for ROC AUC.
const SCORE_BINS: f64 = 10_000.0;

/// Counts of one window, by task.
#[derive(Debug, Clone)]
pub(crate) enum Acc {
    Class {
        /// (predicted class, true class) → events.
        confusion: HashMap<(u32, u32), u64>,
        /// Score bin → (positives, negatives), for predictions with a positive-class probability.
        scores: BTreeMap<u16, (u64, u64)>,
        log_loss_sum: f64,
        log_loss_n: u64,
    },
    Reg {
        n: u64,
        abs_sum: f64,
        sq_sum: f64,
        /// Absolute percentage error over labels that are not 0.
        ape_sum: f64,
        ape_n: u64,
    },
}

/// One prediction-time window.
#[derive(Debug, Clone)]
pub(crate) struct PerfWindow {
    /// Predictions made in the window.
    pub predictions: u64,
    pub acc: Acc,
    /// Revisions written so far (each one sample in the window's last second).
    pub revision: u32,
    /// Changed since the last write.
    pub dirty: bool,
}

/// What a labelled classification prediction contributes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClassOutcome {
    pub predicted: u32,
    pub truth: u32,
    /// Probability given to the positive class (binary), if known.
    pub positive_score: Option<f64>,
    /// Whether the truth is the positive class.
    pub truth_is_positive: bool,
    /// Probability given to the true class, if known (log loss).
    pub truth_probability: Option<f64>,
}

impl PerfWindow {
    pub fn new(classification: bool) -> PerfWindow {
        PerfWindow {
            predictions: 0,
            acc: if classification {
                Acc::Class {
                    confusion: HashMap::new(),
                    scores: BTreeMap::new(),
                    log_loss_sum: 0.0,
                    log_loss_n: 0,
                }
            } else {
                Acc::Reg {
                    n: 0,
                    abs_sum: 0.0,
                    sq_sum: 0.0,
                    ape_sum: 0.0,
                    ape_n: 0,
                }
            },
            revision: 0,
            dirty: false,
        }
    }

    pub fn add_class(&mut self, o: ClassOutcome) {
        if let Acc::Class {
            confusion,
            scores,
            log_loss_sum,
            log_loss_n,
        } = &mut self.acc
        {
            *confusion.entry((o.predicted, o.truth)).or_insert(0) += 1;
            if let Some(s) = o.positive_score.filter(|s| s.is_finite()) {
                let bin = (s.clamp(0.0, 1.0) * SCORE_BINS).round();
                let bin = u16::try_from(bin as i64).unwrap_or(u16::MAX);
                let e = scores.entry(bin).or_insert((0, 0));
                if o.truth_is_positive {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
            if let Some(p) = o.truth_probability.filter(|p| p.is_finite()) {
                *log_loss_sum -= p.clamp(EPS, 1.0 - EPS).ln();
                *log_loss_n += 1;
            }
            self.dirty = true;
        }
    }

    pub fn add_reg(&mut self, predicted: f64, truth: f64) {
        if let Acc::Reg {
            n,
            abs_sum,
            sq_sum,
            ape_sum,
            ape_n,
        } = &mut self.acc
        {
            let err = truth - predicted;
            if !err.is_finite() {
                return;
            }
            *n += 1;
            *abs_sum += err.abs();
            *sq_sum += err * err;
            if truth != 0.0 {
                *ape_sum += (err / truth).abs();
                *ape_n += 1;
            }
            self.dirty = true;
        }
    }

    /// Of the window's predictions, how many were labelled so far (each label adds one to the
    /// confusion matrix or the regression count).
    pub fn labelled(&self) -> u64 {
        match &self.acc {
            Acc::Class { confusion, .. } => confusion.values().sum(),
            Acc::Reg { n, .. } => *n,
        }
    }

    /// The window's metrics by series name; every value is finite. `positive` is the positive
    /// class of a binary classifier (`None`: precision, recall and F1 are macro averages over
    /// the classes seen, and ROC AUC is not computed).
    pub fn metrics(&self, positive: Option<u32>) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        match &self.acc {
            Acc::Class {
                confusion,
                scores,
                log_loss_sum,
                log_loss_n,
            } => {
                let n: u64 = confusion.values().sum();
                if n == 0 {
                    return out;
                }
                let correct: u64 = confusion
                    .iter()
                    .filter(|((p, t), _)| p == t)
                    .map(|(_, c)| c)
                    .sum();
                out.push(("ml_model_accuracy", correct as f64 / n as f64));
                let (precision, recall, f1) = match positive {
                    Some(pos) => prf(confusion, pos),
                    None => {
                        let classes: BTreeSet<u32> =
                            confusion.keys().flat_map(|&(p, t)| [p, t]).collect();
                        let k = classes.len().max(1) as f64;
                        let (mut sp, mut sr, mut sf) = (0.0, 0.0, 0.0);
                        for c in classes {
                            let (p, r, f) = prf(confusion, c);
                            sp += p;
                            sr += r;
                            sf += f;
                        }
                        (sp / k, sr / k, sf / k)
                    }
                };
                out.push(("ml_model_precision", precision));
                out.push(("ml_model_recall", recall));
                out.push(("ml_model_f1", f1));
                if positive.is_some() {
                    if let Some(auc) = roc_auc(scores) {
                        out.push(("ml_model_roc_auc", auc));
                    }
                }
                if *log_loss_n > 0 {
                    out.push(("ml_model_log_loss", log_loss_sum / *log_loss_n as f64));
                }
            }
            Acc::Reg {
                n,
                abs_sum,
                sq_sum,
                ape_sum,
                ape_n,
            } => {
                if *n == 0 {
                    return out;
                }
                let nf = *n as f64;
                out.push(("ml_model_mae", abs_sum / nf));
                out.push(("ml_model_rmse", (sq_sum / nf).sqrt()));
                if *ape_n > 0 {
                    out.push(("ml_model_mape", ape_sum / *ape_n as f64));
                }
            }
        }
        if self.predictions > 0 {
            out.push((
                "ml_labels_coverage_ratio",
                (self.labelled() as f64 / self.predictions as f64).min(1.0),
            ));
        }
        out.retain(|(_, v)| v.is_finite());
        out
    }
}

/// Precision, recall and F1 of class `c` (0 where undefined, as scikit-learn's
/// `zero_division=0`).
fn prf(confusion: &HashMap<(u32, u32), u64>, c: u32) -> (f64, f64, f64) {
    let (mut tp, mut fp, mut fneg) = (0u64, 0u64, 0u64);
    for (&(p, t), &n) in confusion {
        match (p == c, t == c) {
            (true, true) => tp += n,
            (true, false) => fp += n,
            (false, true) => fneg += n,
            (false, false) => {}
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fneg);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (precision, recall, f1)
}

/// The probability that a positive scores above a negative (ties count half), from binned
/// scores; `None` without both classes.
fn roc_auc(scores: &BTreeMap<u16, (u64, u64)>) -> Option<f64> {
    let pos: u64 = scores.values().map(|v| v.0).sum();
    let neg: u64 = scores.values().map(|v| v.1).sum();
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut neg_below = 0u64;
    let mut wins = 0.0f64;
    for &(p, n) in scores.values() {
        wins += p as f64 * (neg_below as f64 + 0.5 * n as f64);
        neg_below += n;
    }
    Some(wins / (pos as f64 * neg as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(m: &[(&str, f64)], name: &str) -> Option<f64> {
        m.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    fn outcome(predicted: u32, truth: u32, score: f64) -> ClassOutcome {
        ClassOutcome {
            predicted,
            truth,
            positive_score: Some(score),
            truth_is_positive: truth == 1,
            truth_probability: Some(if truth == 1 { score } else { 1.0 - score }),
        }
    }

    #[test]
    fn binary_metrics_match_scikit_learn() {
        // y_true = [1,1,0,0,1,0], y_pred = [1,0,0,1,1,0], scores as below;
        // sklearn: accuracy 4/6, precision 2/3, recall 2/3, f1 2/3, roc_auc 8/9,
        // log_loss 0.4773...
        let data = [
            (1, 1, 0.9),
            (0, 1, 0.4),
            (0, 0, 0.2),
            (1, 0, 0.6),
            (1, 1, 0.8),
            (0, 0, 0.1),
        ];
        let mut w = PerfWindow::new(true);
        w.predictions = 8;
        for (p, t, s) in data {
            w.add_class(outcome(p, t, s));
        }
        let m = w.metrics(Some(1));
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-12);
        assert!(close(metric(&m, "ml_model_accuracy"), 4.0 / 6.0));
        assert!(close(metric(&m, "ml_model_precision"), 2.0 / 3.0));
        assert!(close(metric(&m, "ml_model_recall"), 2.0 / 3.0));
        assert!(close(metric(&m, "ml_model_f1"), 2.0 / 3.0));
        assert!(close(metric(&m, "ml_model_roc_auc"), 8.0 / 9.0));
        let ll = -[0.9f64, 0.4, 0.8, 0.8, 0.4, 0.9]
            .iter()
            .map(|p| p.ln())
            .sum::<f64>()
            / 6.0;
        assert!(close(metric(&m, "ml_model_log_loss"), ll));
        assert!(close(metric(&m, "ml_labels_coverage_ratio"), 0.75));
    }

    #[test]
    fn macro_average_without_a_positive_class() {
        let mut w = PerfWindow::new(true);
        for (p, t) in [(0, 0), (1, 1), (2, 1), (2, 2)] {
            w.add_class(ClassOutcome {
                predicted: p,
                truth: t,
                positive_score: None,
                truth_is_positive: false,
                truth_probability: None,
            });
        }
        let m = w.metrics(None);
        // per class precision 1, 1, 0.5; recall 1, 0.5, 1.
        assert_eq!(metric(&m, "ml_model_precision"), Some(2.5 / 3.0));
        assert_eq!(metric(&m, "ml_model_recall"), Some(2.5 / 3.0));
        assert_eq!(metric(&m, "ml_model_roc_auc"), None);
        assert_eq!(metric(&m, "ml_model_log_loss"), None);
    }

    #[test]
    fn regression_metrics() {
        let mut w = PerfWindow::new(false);
        w.add_reg(2.0, 3.0);
        w.add_reg(5.0, 4.0);
        w.add_reg(1.0, 0.0);
        let m = w.metrics(None);
        assert_eq!(metric(&m, "ml_model_mae"), Some(1.0));
        assert_eq!(metric(&m, "ml_model_rmse"), Some(1.0));
        assert_eq!(metric(&m, "ml_model_mape"), Some((1.0 / 3.0 + 0.25) / 2.0));
    }

    #[test]
    fn nothing_labelled_writes_nothing_and_never_nan() {
        assert!(PerfWindow::new(true).metrics(Some(1)).is_empty());
        assert!(PerfWindow::new(false).metrics(None).is_empty());
        let mut w = PerfWindow::new(true);
        w.add_class(ClassOutcome {
            predicted: 0,
            truth: 0,
            positive_score: Some(f64::NAN),
            truth_is_positive: false,
            truth_probability: Some(f64::NAN),
        });
        let m = w.metrics(Some(1));
        assert!(m.iter().all(|(_, v)| v.is_finite()));
        assert_eq!(metric(&m, "ml_model_precision"), Some(0.0));
    }
}
