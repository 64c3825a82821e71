//! Alertmanager's template functions and data (`template/template.go`, v0.25).

use std::collections::BTreeMap;
use std::sync::Arc;

use vigil_model::go_quote_meta as quote_meta;

use crate::funcs::{add_common, arg, str_arg, str_list_arg, Arity, FuncError, FuncTable};
use crate::value::{
    go_type_name, make_struct, str_value, string_map, GoTime, Value, T_AM_ALERT, T_AM_DATA,
};

/// Alertmanager's template data (`.Receiver`, `.Status`, `.Alerts`, `.GroupLabels`,
/// `.CommonLabels`, `.CommonAnnotations`, `.ExternalURL`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotificationData {
    /// The receiver's name; Alertmanager passes it through `regexp.QuoteMeta` (see
    /// [`NotificationData::from_alerts`]).
    pub receiver: String,
    /// `"firing"` if any alert fires, else `"resolved"`.
    pub status: String,
    pub alerts: Vec<AlertData>,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    pub external_url: String,
}

/// One alert of a notification (`.Alerts` elements).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertData {
    /// `"firing"` or `"resolved"`.
    pub status: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at_ms: i64,
    /// `None` prints as Go's zero time (`0001-01-01 00:00:00 +0000 UTC`).
    pub ends_at_ms: Option<i64>,
    pub generator_url: String,
    pub fingerprint: String,
}

impl NotificationData {
    /// Builds the data as Alertmanager's `Template.Data` does: the receiver name quoted with
    /// `regexp.QuoteMeta`, the status `firing` if any alert fires, and the labels and
    /// annotations common to all alerts.
    pub fn from_alerts(
        receiver: &str,
        group_labels: BTreeMap<String, String>,
        alerts: Vec<AlertData>,
        external_url: &str,
    ) -> NotificationData {
        let firing = alerts.iter().any(|a| a.status == "firing");
        let mut common_labels = alerts.first().map(|a| a.labels.clone()).unwrap_or_default();
        let mut common_annotations = alerts
            .first()
            .map(|a| a.annotations.clone())
            .unwrap_or_default();
        for a in alerts.iter().skip(1) {
            common_labels.retain(|k, v| a.labels.get(k) == Some(v));
            common_annotations.retain(|k, v| a.annotations.get(k) == Some(v));
        }
        NotificationData {
            receiver: quote_meta(receiver),
            status: if firing { "firing" } else { "resolved" }.to_owned(),
            alerts,
            group_labels,
            common_labels,
            common_annotations,
            external_url: external_url.to_owned(),
        }
    }

    pub(crate) fn to_value(&self) -> Value {
        let alerts: Vec<Value> = self.alerts.iter().map(AlertData::to_value).collect();
        make_struct(
            T_AM_DATA,
            vec![
                ("Receiver", str_value(&self.receiver)),
                ("Status", str_value(&self.status)),
                ("Alerts", Value::List(Arc::from(alerts))),
                ("GroupLabels", string_map(&self.group_labels)),
                ("CommonLabels", string_map(&self.common_labels)),
                ("CommonAnnotations", string_map(&self.common_annotations)),
                ("ExternalURL", str_value(&self.external_url)),
            ],
        )
    }
}

impl AlertData {
    fn to_value(&self) -> Value {
        let ends = self.ends_at_ms.map_or(GoTime::ZERO, GoTime::from_millis);
        make_struct(
            T_AM_ALERT,
            vec![
                ("Status", str_value(&self.status)),
                ("Labels", string_map(&self.labels)),
                ("Annotations", string_map(&self.annotations)),
                (
                    "StartsAt",
                    GoTime::from_millis(self.starts_at_ms).to_value(),
                ),
                ("EndsAt", ends.to_value()),
                ("GeneratorURL", str_value(&self.generator_url)),
                ("Fingerprint", str_value(&self.fingerprint)),
            ],
        )
    }
}

/// Word-break classes for `cases.Title`: letters and digits continue a word, `'`/`.`/`:` join
/// letters (two in a row break), everything else breaks.
fn is_break(c: char) -> bool {
    !(c.is_alphanumeric() || c == '_' || is_mid(c))
}

fn is_mid(c: char) -> bool {
    matches!(
        c,
        '\'' | '.' | ':' | '\u{b7}' | '\u{2018}' | '\u{2019}' | '\u{2024}' | '\u{2027}'
    )
}

fn is_cased(c: char) -> bool {
    c.is_lowercase() || c.is_uppercase()
}

/// `cases.Title(language.AmericanEnglish).String`: the first cased letter of each word in
/// title case, the other letters lower-cased.
pub fn cases_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut mid_word = false;
    let mut prev_mid = false;
    for c in s.chars() {
        if prev_mid && is_mid(c) {
            mid_word = false;
        }
        if is_cased(c) {
            if mid_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
                mid_word = true;
            }
        } else {
            out.push(c);
            if is_break(c) {
                mid_word = false;
            }
        }
        prev_mid = is_mid(c);
    }
    out
}

/// The function table of a notification template.
pub fn am_funcs() -> FuncTable {
    let mut t = FuncTable::default();
    add_common(&mut t);
    t.add("title", Arity::Exact(1), |a| {
        Ok(str_value(&cases_title(str_arg(a, 0)?)))
    });
    t.add("join", Arity::Exact(2), |a| {
        let sep = str_arg(a, 0)?;
        Ok(str_value(&str_list_arg(a, 1)?.join(sep)))
    });
    t.add("stringSlice", Arity::AtLeast(0), |a| {
        let items: Result<Vec<Value>, FuncError> = (0..a.len())
            .map(|i| match arg(a, i) {
                v @ Value::String(_) => Ok(v.clone()),
                other => Err(FuncError::Type(format!(
                    "wrong type for value; expected string; got {}",
                    go_type_name(other)
                ))),
            })
            .collect();
        Ok(Value::List(Arc::from(items?)))
    });
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_cases() {
        assert_eq!(cases_title("hello WORLD"), "Hello World");
        assert_eq!(cases_title("foo-bar_baz"), "Foo-Bar_baz");
        assert_eq!(cases_title("o'neil foo.bar"), "O'neil Foo.bar");
    }

    #[test]
    fn data_from_alerts() {
        let mut a = AlertData {
            status: "firing".into(),
            ..AlertData::default()
        };
        a.labels.insert("alertname".into(), "X".into());
        a.labels.insert("job".into(), "api".into());
        let mut b = a.clone();
        b.status = "resolved".into();
        b.labels.insert("job".into(), "db".into());
        let d = NotificationData::from_alerts("team.a", BTreeMap::new(), vec![a, b], "http://am");
        assert_eq!(d.status, "firing");
        assert_eq!(d.receiver, "team\\.a");
        assert_eq!(quote_meta("team-a (x)"), "team-a \\(x\\)");
        assert_eq!(d.common_labels.len(), 1);
    }
}
