//! The JSON shapes of Alertmanager's API v2 (`api/v2/openapi.yaml`), field for field, so that
//! amtool and other clients read Vigil's answers as Alertmanager's. Names follow the spec's
//! definitions (`gettableAlert`, `postableSilence`, …); times are RFC 3339 strings with
//! milliseconds. Posted bodies ignore unknown fields, as go-swagger does; required fields are
//! optional here so that [`crate::Alertmanager`] can refuse their absence with the spec's
//! wording (`comment in body is required`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vigil_model::Timestamp;

use crate::gotime::{serde_opt_ts, serde_ts};
use crate::marker::AlertState;
use crate::silence::SilenceState;

/// `receiver`: `{"name": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverName {
    pub name: String,
}

/// `alertStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertStatusBody {
    pub state: AlertState,
    #[serde(rename = "silencedBy")]
    pub silenced_by: Vec<String>,
    #[serde(rename = "inhibitedBy")]
    pub inhibited_by: Vec<String>,
}

/// `gettableAlert`, an element of `GET /api/v2/alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GettableAlert {
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "endsAt", with = "serde_ts")]
    pub ends_at: Timestamp,
    pub fingerprint: String,
    pub receivers: Vec<ReceiverName>,
    #[serde(rename = "startsAt", with = "serde_ts")]
    pub starts_at: Timestamp,
    pub status: AlertStatusBody,
    #[serde(rename = "updatedAt", with = "serde_ts")]
    pub updated_at: Timestamp,
    #[serde(
        rename = "generatorURL",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub generator_url: String,
    pub labels: BTreeMap<String, String>,
}

/// `postableAlert`, an element of the body of `POST /api/v2/alerts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostableAlert {
    /// Required by the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "startsAt",
        default,
        with = "serde_opt_ts",
        skip_serializing_if = "Option::is_none"
    )]
    pub starts_at: Option<Timestamp>,
    #[serde(
        rename = "endsAt",
        default,
        with = "serde_opt_ts",
        skip_serializing_if = "Option::is_none"
    )]
    pub ends_at: Option<Timestamp>,
    #[serde(
        rename = "generatorURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub generator_url: Option<String>,
}

/// `alertGroup`, an element of `GET /api/v2/alerts/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertGroup {
    pub labels: BTreeMap<String, String>,
    pub receiver: ReceiverName,
    pub alerts: Vec<GettableAlert>,
}

/// `matcher` as returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatcherBody {
    pub name: String,
    pub value: String,
    #[serde(rename = "isRegex")]
    pub is_regex: bool,
    #[serde(rename = "isEqual")]
    pub is_equal: bool,
}

/// `matcher` as posted: `name`, `value`, `isRegex` required, `isEqual` defaults to true.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostableMatcher {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(rename = "isRegex", default)]
    pub is_regex: Option<bool>,
    #[serde(rename = "isEqual", default)]
    pub is_equal: Option<bool>,
}

/// `silenceStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceStatusBody {
    pub state: SilenceState,
}

/// `gettableSilence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GettableSilence {
    pub id: String,
    pub status: SilenceStatusBody,
    #[serde(rename = "updatedAt", with = "serde_ts")]
    pub updated_at: Timestamp,
    pub matchers: Vec<MatcherBody>,
    #[serde(rename = "startsAt", with = "serde_ts")]
    pub starts_at: Timestamp,
    #[serde(rename = "endsAt", with = "serde_ts")]
    pub ends_at: Timestamp,
    #[serde(rename = "createdBy")]
    pub created_by: String,
    pub comment: String,
}

/// `postableSilence`, the body of `POST /api/v2/silences`; an `id` updates that silence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostableSilence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub matchers: Option<Vec<PostableMatcher>>,
    #[serde(rename = "startsAt", default, with = "serde_opt_ts")]
    pub starts_at: Option<Timestamp>,
    #[serde(rename = "endsAt", default, with = "serde_opt_ts")]
    pub ends_at: Option<Timestamp>,
    #[serde(rename = "createdBy", default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The 200 body of `POST /api/v2/silences`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostSilenceResponse {
    #[serde(rename = "silenceID")]
    pub silence_id: String,
}

/// `peerStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    pub name: String,
    pub address: String,
}

/// `clusterStatus`; Vigil runs no cluster, so `status` is `disabled` and `name` absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: String,
    pub peers: Vec<PeerStatus>,
}

/// `versionInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: String,
    pub revision: String,
    pub branch: String,
    #[serde(rename = "buildUser")]
    pub build_user: String,
    #[serde(rename = "buildDate")]
    pub build_date: String,
    #[serde(rename = "goVersion")]
    pub go_version: String,
}

/// `alertmanagerConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertmanagerConfigBody {
    pub original: String,
}

/// `alertmanagerStatus`, the body of `GET /api/v2/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertmanagerStatus {
    pub cluster: ClusterStatus,
    #[serde(rename = "versionInfo")]
    pub version_info: VersionInfo,
    pub config: AlertmanagerConfigBody,
    #[serde(with = "serde_ts")]
    pub uptime: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gettable_alert_json_shape() {
        let a = GettableAlert {
            annotations: BTreeMap::from([("summary".into(), "s".into())]),
            ends_at: 0,
            fingerprint: "00000000000000ab".into(),
            receivers: vec![ReceiverName { name: "r".into() }],
            starts_at: 0,
            status: AlertStatusBody {
                state: AlertState::Active,
                silenced_by: vec![],
                inhibited_by: vec![],
            },
            updated_at: 0,
            generator_url: String::new(),
            labels: BTreeMap::from([("alertname".into(), "X".into())]),
        };
        let j = serde_json::to_string(&a).expect("json");
        assert_eq!(
            j,
            r#"{"annotations":{"summary":"s"},"endsAt":"1970-01-01T00:00:00.000Z","fingerprint":"00000000000000ab","receivers":[{"name":"r"}],"startsAt":"1970-01-01T00:00:00.000Z","status":{"state":"active","silencedBy":[],"inhibitedBy":[]},"updatedAt":"1970-01-01T00:00:00.000Z","labels":{"alertname":"X"}}"#
        );
    }

    #[test]
    fn postable_silence_reads_amtool_body() {
        // What amtool 0.25 sends for `amtool silence add alertname=X -c test`.
        let body = r#"{"comment":"test","createdBy":"me","endsAt":"2024-01-01T01:00:00.000Z","matchers":[{"isEqual":true,"isRegex":false,"name":"alertname","value":"X"}],"startsAt":"2024-01-01T00:00:00.000Z"}"#;
        let s: PostableSilence = serde_json::from_str(body).expect("silence");
        assert_eq!(s.comment.as_deref(), Some("test"));
        assert_eq!(s.matchers.map(|m| m.len()), Some(1));
        assert_eq!(s.ends_at, Some(1_704_070_800_000));
    }
}
