//! The run's data model: observations, drifts, exchanges and errors.
//!
//! Plain serialisable data shared by probes (which produce observations and
//! exchanges), the baseline (which compares observations and yields drifts) and
//! the reporters (which only read a finished run). Nothing here does I/O.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of check that produced an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    Metadata,
    Token,
    Permissions,
    Refresh,
    Schema,
    Values,
    Deprecation,
    /// The OAuth app itself (issue 20): client liveness.
    App,
}

impl ProbeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Metadata => "metadata",
            ProbeKind::Token => "token",
            ProbeKind::Permissions => "permissions",
            ProbeKind::Refresh => "refresh",
            ProbeKind::Schema => "schema",
            ProbeKind::Values => "values",
            ProbeKind::Deprecation => "deprecation",
            ProbeKind::App => "app",
        }
    }
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a drift matters. Ordered: `Info < Warning < Breaking`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Breaking,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Breaking => "breaking",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one observation: what was observed, where.
///
/// Ordering is the stable sort key used everywhere (provider, probe, subject,
/// connection) so that concurrent runs of the same world produce identical output.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObservationKey {
    pub provider: String,
    pub probe: ProbeKind,
    /// The endpoint id (or another probe-specific subject such as `token-endpoint`).
    pub subject: String,
    /// Set when the observation belongs to one connection; `None` when merged over all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
}

impl fmt::Display for ObservationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.provider, self.probe, self.subject)?;
        if let Some(c) = &self.connection {
            write!(f, "@{c}")?;
        }
        Ok(())
    }
}

/// The normalised, deterministic result of a probe: no volatile values, no secrets.
/// `body` is a JSON value whose objects serialise with sorted keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub key: ObservationKey,
    pub body: serde_json::Value,
}

/// One difference between an observation and its baseline (or a declared contract).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// The rule, serialised as its stable id such as `schema.field-removed`.
    pub rule: crate::rules::RuleId,
    pub severity: Severity,
    pub provider: String,
    pub probe: ProbeKind,
    /// Endpoint id (or probe subject) the drift is about.
    pub subject: String,
    /// JSON path of the affected field, when the drift is about one (`$.items[].amount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Connections whose responses show the drift (sorted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<String>,
    /// One human sentence: what changed.
    pub message: String,
    /// Evidence from the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    /// Evidence from this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    /// Ids of the redacted exchanges that show the drift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<String>,
    /// Stable identity across runs (`rules::fingerprint`), filled when the run is finalised.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// The reason of the suppression that silenced this drift; suppressed drifts are
    /// still reported but never fail a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
    /// The run that first reported this drift (matched by `fingerprint`), carried from the
    /// history of previous runs; absent when no history was available. A drift whose
    /// `first_seen.run_id` is the current run's id is *new*; any other is *known*.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<FirstSeen>,
}

/// Where a drift was first reported: the run id and when that run started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstSeen {
    pub run_id: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Drift {
    /// Whether this drift is new in the run `run_id`: first reported by it, or with no
    /// history to say otherwise.
    pub fn is_new_in(&self, run_id: &str) -> bool {
        self.first_seen.as_ref().is_none_or(|f| f.run_id == run_id)
    }

    /// The stable sort key of drifts in every output.
    pub fn sort_key(&self) -> (&str, ProbeKind, &str, &str, Option<&str>) {
        (
            &self.provider,
            self.probe,
            &self.subject,
            self.rule.as_str(),
            self.path.as_deref(),
        )
    }
}

/// A header name and value as recorded (already redacted).
pub type Header = (String, String);

/// The request half of an exchange, secrets redacted.
#[derive(Debug, Clone, PartialEq, Hash, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<Header>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The response half of an exchange, secrets redacted; `body` may be a prefix.
#[derive(Debug, Clone, PartialEq, Hash, Serialize, Deserialize)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<Header>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Bytes received (up to the body limit).
    pub body_bytes: u64,
    /// True when `body` is shorter than what was received.
    #[serde(default)]
    pub body_truncated: bool,
}

/// One recorded HTTP request/response pair, secrets redacted.
#[derive(Debug, Clone, PartialEq, Hash, Serialize, Deserialize)]
pub struct Exchange {
    /// Unique within the run, e.g. `x0007`.
    pub id: String,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// Why the request was made: `token:refresh`, `endpoint:profile`, `metadata`.
    pub purpose: String,
    pub request: RecordedRequest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<RecordedResponse>,
    /// Classified transport error, when no complete response arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub duration_ms: u64,
}

/// A probe or token failure that kept part of the run from completing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunError {
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Short machine-readable class: `network`, `timeout`, `body-too-large`, `token`, `json`.
    pub class: String,
    /// Redacted human message.
    pub message: String,
}

/// What a run found out about one connection's credentials, decided before
/// anything is compared (DESIGN.md safety rule 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionState {
    /// The cached access token worked.
    Ok,
    /// The access token was refreshed this run and worked.
    Refreshed,
    /// An endpoint answered `401` for an access token believed fresh. The connection was
    /// refreshed once and the rejected requests retried once: usable when that worked.
    AccessTokenRejected,
    /// The refresh was answered `invalid_grant`, or the client was refused (`invalid_client`).
    GrantDead,
    /// No credentials are stored for the connection.
    NotConnected,
    /// A disposable grant spent by a probe: revoked by the refresh replay probe, or narrowed
    /// for good by the permissions probe.
    Consumed,
    /// No token could be obtained for another reason (network, unreadable token answer,
    /// another refusal); the message says which.
    TokenError,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Ok => "ok",
            ConnectionState::Refreshed => "refreshed",
            ConnectionState::AccessTokenRejected => "access-token-rejected",
            ConnectionState::GrantDead => "grant-dead",
            ConnectionState::NotConnected => "not-connected",
            ConnectionState::Consumed => "consumed",
            ConnectionState::TokenError => "token-error",
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One connection's state in a run (`run.json` `connections[]`). A connection that is not
/// `usable` is reported here once, as a connection problem, and none of its observations are
/// compared; a usable one with a `severity` recovered from trouble the run worked around.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    pub provider: String,
    pub connection: String,
    /// The credential store key.
    pub credential: String,
    pub state: ConnectionState,
    pub usable: bool,
    /// Set when the state is worth a reader's attention: `breaking` when unusable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// One human sentence, redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The provider's OAuth error (`invalid_grant`, `invalid_client`, `invalid_token`) or the
    /// failure's class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the credentials last worked (the store's last refresh, else when they were obtained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_worked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The command that re-authorises the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect: Option<String>,
    /// The refresh class the failure establishes (`withheld-expiring`), when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_class: Option<String>,
    /// Ids of the exchanges that show the trouble (the rejected request, the refresh, the retry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<String>,
}

impl ConnectionStatus {
    /// A connection whose token worked (`ok` or `refreshed`).
    pub fn healthy(
        provider: &str,
        connection: &str,
        credential: &str,
        state: ConnectionState,
    ) -> Self {
        ConnectionStatus {
            provider: provider.to_string(),
            connection: connection.to_string(),
            credential: credential.to_string(),
            state,
            usable: true,
            severity: None,
            message: None,
            error: None,
            last_worked_at: None,
            reconnect: None,
            refresh_class: None,
            exchanges: Vec::new(),
        }
    }

    /// The stable order of connection states in every output.
    pub fn sort_key(&self) -> (&str, &str) {
        (&self.provider, &self.connection)
    }
}

/// An observation a run did not compare because a connection it covers was unusable: its
/// baseline stays as it was and no pending snapshot is written from the partial evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotCompared {
    pub key: ObservationKey,
    /// The unusable connections the observation would have covered.
    pub connections: Vec<String>,
    /// Always `not compared: connection unusable` today.
    pub reason: String,
}

/// The reason of every [`NotCompared`] entry, as reports show it.
pub const NOT_COMPARED_UNUSABLE: &str = "not compared: connection unusable";

/// Why a schema or values observation was left uncompared when a chained call (`from:`) was
/// skipped for a connection its baseline holds (issue 19).
pub const NOT_COMPARED_SKIPPED: &str = "not compared: chained value missing";
