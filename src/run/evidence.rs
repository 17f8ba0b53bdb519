//! Evidence: what a run gathered for one suite, before anything is compared.
//!
//! Serialisable so that a shard can write it into `run.json` and `merge` can
//! fold the shards back together. Holds no secrets and no response values
//! beyond what observations keep (shapes, value classes, header signals).
//! Knows nothing about HTTP or baselines.

use crate::auth::health::TokenHealth;
use crate::model::{ConnectionState, ConnectionStatus, Drift, Observation};
use crate::probe::deprecation::{DateValue, DeprecationValue, Signals};
use crate::probe::permissions::Cell;
use crate::probe::refresh::RefreshTrace;
use crate::probe::schema::{Sample, Violation};
use crate::probe::token::TokenFacts;
use crate::probe::values::ConnectionValues;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Position of the token error probe's facts after every connection's.
pub(crate) const ERROR_PROBE_POS: usize = usize::MAX;

/// Everything the assess step needs about one suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteEvidence {
    /// The suite file as given (the baseline files are named after it).
    pub file: String,
    pub provider: String,
    /// Every connection of the suite in suite order, not only the ones gathered.
    pub all_connections: Vec<String>,
    /// The suite's endpoints in suite order, with their documented scopes.
    pub endpoints: Vec<EndpointInfo>,
    pub scope_sets: BTreeMap<String, Vec<String>>,
    /// The scopes each auth requests, by where the suite says so (`auth.scopes`, or
    /// `auths.<name>.scopes` with several auths): the justification of each scope (issue 20).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub auth_scopes: BTreeMap<String, Vec<String>>,
    /// True when this evidence holds the provider-wide probes (metadata, token error probe).
    pub provider_wide: bool,
    /// Token-endpoint facts tagged with the suite position of their connection.
    #[serde(default)]
    pub token_facts: Vec<(usize, TokenFacts)>,
    /// Per endpoint (suite order): one schema sample per connection that answered.
    #[serde(default)]
    pub samples: Vec<Vec<SampleEvidence>>,
    /// Per endpoint: declared-schema violations per connection.
    #[serde(default)]
    pub violations: Vec<Vec<ViolationEvidence>>,
    /// Per endpoint: value classes per connection.
    #[serde(default)]
    pub values: Vec<Vec<ConnectionValues>>,
    /// Per endpoint: deprecation signals per connection.
    #[serde(default)]
    pub signals: Vec<Vec<SignalsEvidence>>,
    /// The metadata probe's results (provider-wide: no merge across connections).
    #[serde(default)]
    pub metadata: Vec<Observation>,
    #[serde(default)]
    pub metadata_findings: Vec<Drift>,
    /// The app probe's client liveness (provider-wide; issue 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<crate::probe::app::AppBody>,
    /// The client secret's health (`auth.client_secret_expires`; issue 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<crate::probe::app::ClientSecretHealth>,
    /// The callback probe's answers, one per `auth.redirect_uris` entry (issue 20 item 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callbacks: Vec<CallbackSeen>,
    /// Set by the shard that ran the permissions probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionEvidence>,
    /// Refresh traces of the connections that refreshed, in suite order.
    #[serde(default)]
    pub refresh: Vec<RefreshTrace>,
    /// Refresh-token health of the gathered connections, in suite order.
    #[serde(default)]
    pub tokens: Vec<TokenHealth>,
    /// The state of every gathered connection, decided before anything is compared.
    #[serde(default)]
    pub connections: Vec<ConnectionStatus>,
    /// (subject, connection) of every endpoint call skipped for a missing chained value
    /// (issue 19): such an observation is compared only when its baseline lacks them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<(String, String)>,
}

/// An endpoint's id and documented scopes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointInfo {
    pub id: String,
    #[serde(default)]
    pub requires: Vec<String>,
    /// `requires_any`: documented alternatives, one of which is enough.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_any: Vec<Vec<String>>,
    /// `requires_fields`: normalised field path → scopes (see `probe::permissions`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requires_fields: BTreeMap<String, Vec<String>>,
    /// `tolerate`: normalised field path → what may vary there (see `probe::schema`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tolerate: BTreeMap<String, crate::suite::Tolerance>,
}

/// The permissions probe's classified matrix: one map per endpoint (suite order),
/// `None` where no scope set was probed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionEvidence {
    pub cells: Vec<Option<BTreeMap<String, Cell>>>,
    /// Per endpoint: the scope set whose answer was the reference of the others
    /// (a cell does not serialise that flag).
    #[serde(default)]
    pub references: Vec<Option<String>>,
    pub downscoping: String,
}

impl PermissionEvidence {
    /// Builds the evidence from classified cells.
    pub(crate) fn new(cells: Vec<Option<BTreeMap<String, Cell>>>, downscoping: String) -> Self {
        let references = cells
            .iter()
            .map(|c| {
                c.as_ref()
                    .and_then(|c| c.iter().find(|(_, cell)| cell.reference))
                    .map(|(set, _)| set.clone())
            })
            .collect();
        PermissionEvidence {
            cells,
            references,
            downscoping,
        }
    }

    /// The cells of endpoint `ei` with their reference flag restored.
    pub(crate) fn cells_of(&self, ei: usize) -> Option<BTreeMap<String, Cell>> {
        let mut cells = self.cells.get(ei)?.clone()?;
        let reference = self.references.get(ei).cloned().flatten();
        for (set, cell) in &mut cells {
            cell.reference = reference.as_deref() == Some(set.as_str());
        }
        Some(cells)
    }
}

/// One callback's classified answer (issue 20 item 3), its redacted evidence and the exchange
/// that recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackSeen {
    /// `callback <uri>`: the observation subject.
    pub subject: String,
    pub body: crate::probe::app::CallbackBody,
    #[serde(default)]
    pub evidence: crate::probe::app::CallbackEvidence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_id: Option<String>,
}

/// A schema [`Sample`] as stored: the sample itself (its shape shared between the samples of
/// one endpoint that answer alike, stored as the shape).
pub type SampleEvidence = Sample;

/// One connection's declared-schema violations and the exchange showing them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViolationEvidence {
    pub connection: String,
    /// (JSON path, message) pairs.
    pub violations: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_id: Option<String>,
}

impl ViolationEvidence {
    pub(crate) fn new(connection: String, v: Vec<Violation>, exchange_id: Option<String>) -> Self {
        ViolationEvidence {
            connection,
            violations: v.into_iter().map(|v| (v.path, v.message)).collect(),
            exchange_id,
        }
    }

    /// The `(connection, violations, exchange)` triple `schema::declared_drifts` takes.
    pub(crate) fn to_probe(&self) -> (String, Vec<Violation>, Option<String>) {
        (
            self.connection.clone(),
            self.violations
                .iter()
                .map(|(path, message)| Violation {
                    path: path.clone(),
                    message: message.clone(),
                })
                .collect(),
            self.exchange_id.clone(),
        )
    }
}

/// Deprecation [`Signals`] of one answer, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalsEvidence {
    pub connection: String,
    /// `"true"` (legacy) or an RFC 3339 date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sunset: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vendor: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malformed: Vec<(String, String)>,
}

impl SignalsEvidence {
    pub(crate) fn new(connection: String, s: Signals) -> Self {
        SignalsEvidence {
            connection,
            deprecation: s.deprecation.map(|d| match d {
                DeprecationValue::True => "true".to_string(),
                DeprecationValue::Date(at) => at.to_rfc3339(),
            }),
            sunset: s.sunset.map(|DateValue::Date(at)| at),
            links: s.links,
            warnings: s.warnings,
            vendor: s.vendor,
            malformed: s.malformed,
        }
    }

    /// Back to the probe's type; an unreadable stored date counts as no date.
    pub(crate) fn to_probe(&self) -> Signals {
        Signals {
            deprecation: self.deprecation.as_deref().and_then(|d| {
                if d == "true" {
                    Some(DeprecationValue::True)
                } else {
                    DateTime::parse_from_rfc3339(d)
                        .ok()
                        .map(|at| DeprecationValue::Date(at.with_timezone(&Utc)))
                }
            }),
            sunset: self.sunset.map(DateValue::Date),
            links: self.links.clone(),
            warnings: self.warnings.clone(),
            vendor: self.vendor.clone(),
            malformed: self.malformed.clone(),
        }
    }
}

/// Why shard evidence cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeEvidenceError {
    #[error(
        "suite `{file}`: the shards disagree about its {what}; were they run from the same suites?"
    )]
    Mismatch { file: String, what: &'static str },
}

impl SuiteEvidence {
    /// Folds another shard's evidence of the same suite into this one.
    pub(crate) fn absorb(&mut self, other: SuiteEvidence) -> Result<(), MergeEvidenceError> {
        let mismatch = |what| MergeEvidenceError::Mismatch {
            file: self.file.clone(),
            what,
        };
        if other.provider != self.provider {
            return Err(mismatch("provider"));
        }
        if other.all_connections != self.all_connections {
            return Err(mismatch("connections"));
        }
        self.skipped.extend(other.skipped.iter().cloned());
        self.skipped.sort();
        self.skipped.dedup();
        if other.endpoints != self.endpoints || other.samples.len() != self.samples.len() {
            return Err(mismatch("endpoints"));
        }
        if other.scope_sets != self.scope_sets || other.auth_scopes != self.auth_scopes {
            return Err(mismatch("scope sets"));
        }
        self.provider_wide |= other.provider_wide;
        self.token_facts.extend(other.token_facts);
        extend_each(&mut self.samples, other.samples);
        extend_each(&mut self.violations, other.violations);
        extend_each(&mut self.values, other.values);
        extend_each(&mut self.signals, other.signals);
        self.metadata.extend(other.metadata);
        self.metadata_findings.extend(other.metadata_findings);
        if other.app.is_some() {
            self.app = other.app;
        }
        if other.client_secret.is_some() {
            self.client_secret = other.client_secret;
        }
        self.callbacks.extend(other.callbacks);
        if other.permissions.is_some() {
            if self.permissions.is_some() {
                return Err(mismatch("permissions probe (two shards ran it)"));
            }
            self.permissions = other.permissions;
        }
        self.refresh.extend(other.refresh);
        self.tokens.extend(other.tokens);
        self.connections.extend(other.connections);
        Ok(())
    }

    /// The connections that cannot be used this run.
    pub(crate) fn unusable(&self) -> Vec<String> {
        self.connections
            .iter()
            // A consumed disposable grant is skipped by design: it sent nothing, so it has no
            // evidence to drop and it does not hold back the other connections' comparisons.
            .filter(|c| !c.usable && c.state != ConnectionState::Consumed)
            .map(|c| c.connection.clone())
            .collect()
    }

    /// Suite positions of the connections `ids` (how token facts are tagged).
    pub(crate) fn positions(&self, ids: &[String]) -> Vec<usize> {
        self.all_connections
            .iter()
            .enumerate()
            .filter(|(_, c)| ids.contains(c))
            .map(|(i, _)| i)
            .collect()
    }

    /// Removes everything the connections `ids` answered or refreshed: the evidence of an
    /// unusable connection is never compared (DESIGN.md safety rule 5). Their token-endpoint
    /// facts stay for the token probe's findings (how the endpoint answers, re-checked every
    /// run); `assess` keeps them out of the compared token observations.
    pub(crate) fn drop_connections(&mut self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let out = |c: &String| ids.contains(c);
        for v in &mut self.samples {
            v.retain(|x| !out(&x.connection));
        }
        for v in &mut self.violations {
            v.retain(|x| !out(&x.connection));
        }
        for v in &mut self.values {
            v.retain(|x| !out(&x.connection));
        }
        for v in &mut self.signals {
            v.retain(|x| !out(&x.connection));
        }
        self.refresh.retain(|t| !out(&t.connection));
    }

    /// Sorts every list by suite position or connection id, so that evidence
    /// folded from shards in any order assesses exactly like unsharded evidence.
    pub(crate) fn normalise(&mut self) {
        let pos: BTreeMap<&str, usize> = self
            .all_connections
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        let at = |c: &str| pos.get(c).copied().unwrap_or(usize::MAX);
        self.token_facts.sort_by_key(|(p, _)| *p);
        for v in &mut self.samples {
            v.sort_by(|a, b| a.connection.cmp(&b.connection));
        }
        for v in &mut self.violations {
            v.sort_by(|a, b| a.connection.cmp(&b.connection));
        }
        for v in &mut self.values {
            v.sort_by(|a, b| a.connection.cmp(&b.connection));
        }
        for v in &mut self.signals {
            v.sort_by(|a, b| a.connection.cmp(&b.connection));
        }
        self.refresh.sort_by_key(|t| at(&t.connection));
        self.tokens.sort_by_key(|h| at(&h.connection));
        self.connections
            .sort_by(|a, b| a.connection.cmp(&b.connection));
    }
}

fn extend_each<T>(into: &mut [Vec<T>], from: Vec<Vec<T>>) {
    for (a, b) in into.iter_mut().zip(from) {
        a.extend(b);
    }
}

/// Pushes `sample` onto one endpoint's samples, sharing the shape of the latest sample with a
/// shape when the two are equal: most connections of an endpoint answer with one shape, and
/// one tree per endpoint instead of one per probe is most of a large run's memory.
pub(crate) fn push_shared(samples: &mut Vec<SampleEvidence>, mut sample: SampleEvidence) {
    if let Some(shape) = &sample.shape
        && let Some(same) = samples
            .iter()
            .rev()
            .find_map(|s| s.shape.as_ref())
            .filter(|prev| **prev == *shape)
    {
        sample.shape = Some(same.clone());
    }
    samples.push(sample);
}
