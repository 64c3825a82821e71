//! ML prediction and label events, as the ingest path hands them to the ML event store.
//!
//! Owns: the shape of one prediction (model, version, feature values, the prediction, its score
//! and class probabilities, optionally the ground truth) and of one late-arriving label, and the
//! canonical text of an outcome used to compare a prediction with its label.
//!
//! Does not own: any wire format (JSON and OTLP logs are read by `vigil-codec`'s `ml` module),
//! validation limits, or storage. Values here are already validated: names are non-empty and
//! within limits, numbers in predictions, scores and probabilities are finite.

use std::borrow::Cow;

/// One feature's value in a prediction event.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureValue {
    /// No value: JSON `null`, an empty OTLP attribute, or a NaN/±Inf number (decoders turn
    /// non-finite numbers into `Missing` so that statistics never see them).
    Missing,
    /// A numeric feature; always finite.
    Number(f64),
    /// A categorical or free-text feature, as sent (the text `"NaN"` stays text).
    Text(String),
    /// A boolean feature.
    Bool(bool),
}

/// A model output or a ground-truth label: a regression value or a class.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A numeric value (regression output, or a class sent as a number); always finite.
    Number(f64),
    /// A class name. Booleans arrive as `"true"` / `"false"`.
    Class(String),
}

impl Outcome {
    /// The canonical class text: a class as sent; a number that is an integer without a
    /// fraction (`1.0` → `"1"`, `-0.0` → `"0"`), any other number in Rust's shortest
    /// round-trip form (`0.25` → `"0.25"`). Comparing these texts is how a prediction is
    /// matched with its label, so that a model predicting `1` and a label `"1"` agree.
    pub fn class_text(&self) -> Cow<'_, str> {
        match self {
            Outcome::Class(s) => Cow::Borrowed(s),
            // `-0.0` prints as "-0"; as a class it is the same as 0.
            Outcome::Number(v) if *v == 0.0 => Cow::Borrowed("0"),
            // f64's `Display` never uses an exponent and drops a zero fraction (`1.0` → "1").
            Outcome::Number(v) => Cow::Owned(v.to_string()),
        }
    }
}

/// One prediction made by a model, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionEvent {
    /// The model's name; non-empty.
    pub model: String,
    /// The model's version; empty when the sender gave none.
    pub version: String,
    /// The prediction's id, used to join a later [`LabelEvent`]; integers arrive as their
    /// decimal text.
    pub id: Option<String>,
    /// When the prediction was made, ms since the Unix epoch; `None` when the sender gave no
    /// time (the ingest path then uses the time it received the event).
    pub timestamp_ms: Option<i64>,
    /// Feature values by name, in the order sent; names are unique.
    pub features: Vec<(String, FeatureValue)>,
    /// The model's output.
    pub prediction: Outcome,
    /// The model's confidence or score for its output, if sent; finite.
    pub score: Option<f64>,
    /// Probability per class, in the order sent; class names are unique, values finite.
    pub probabilities: Vec<(String, f64)>,
    /// The ground truth, when it is known at prediction time.
    pub label: Option<Outcome>,
}

/// A ground-truth label that arrives after its prediction, joined to it by id.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelEvent {
    /// The model the prediction was made by, when the sender names it (ids are then matched
    /// within that model only).
    pub model: Option<String>,
    /// The id of the prediction this label belongs to; non-empty.
    pub id: String,
    /// The true outcome.
    pub label: Outcome,
    /// When the label was observed, ms since the Unix epoch; `None` when the sender gave none.
    pub timestamp_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_text_is_canonical() {
        let text = |v: f64| Outcome::Number(v).class_text().into_owned();
        assert_eq!(text(1.0), "1");
        assert_eq!(text(-3.0), "-3");
        assert_eq!(text(0.0), "0");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(0.25), "0.25");
        assert_eq!(text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(text(1e21), "1000000000000000000000");
        assert_eq!(text(1e-7), "0.0000001");
        assert_eq!(Outcome::Class("cat".into()).class_text(), "cat");
        assert_eq!(
            Outcome::Number(1.0).class_text(),
            Outcome::Class("1".into()).class_text()
        );
    }

    #[test]
    fn class_text_borrows_classes() {
        let o = Outcome::Class("spam".into());
        assert!(matches!(o.class_text(), Cow::Borrowed("spam")));
    }
}
