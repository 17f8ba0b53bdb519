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
    /// Stable rule id such as `schema.field-removed`.
    pub rule: String,
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
}

impl Drift {
    /// The stable sort key of drifts in every output.
    pub fn sort_key(&self) -> (&str, ProbeKind, &str, &str, Option<&str>) {
        (
            &self.provider,
            self.probe,
            &self.subject,
            &self.rule,
            self.path.as_deref(),
        )
    }
}

/// A header name and value as recorded (already redacted).
pub type Header = (String, String);

/// The request half of an exchange, secrets redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<Header>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The response half of an exchange, secrets redacted; `body` may be a prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
