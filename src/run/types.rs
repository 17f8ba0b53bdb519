//! The run's data types: what a run is asked to do ([`RunOptions`]), what it
//! reports while it works ([`Event`]) and what it hands to reporters ([`Run`]).
//! Plain data: reporters import these without importing the runner.

use super::evidence::SuiteEvidence;
use super::evidence_mode::EvidenceMode;
use super::shard::Shard;
use crate::auth::health::TokenHealth;
use crate::model::{
    ConnectionStatus, Drift, Exchange, NotCompared, Observation, ProbeKind, RunError, Severity,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Version of the `run.json` format.
pub const RUN_FORMAT: &str = "driftwatch-run/1";

/// What to run and where to keep things.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub suites: Vec<PathBuf>,
    pub snapshots: PathBuf,
    pub reports: PathBuf,
    pub credentials: PathBuf,
    /// A credential helper command; overrides every suite's `auth.credential_helper`.
    pub credential_helper: Option<String>,
    pub allow_insecure_http: bool,
    /// What to write for a new or changed observation; already resolved for CI
    /// ([`UpdateMode::effective`](crate::baseline::UpdateMode::effective)).
    pub update: crate::baseline::UpdateMode,
    /// Refresh tokens dying within this window are reported as `token.refresh-expiring`.
    pub expiry_window: std::time::Duration,
    /// The ignore file of known drifts (`driftwatch.ignore.yaml`); `None` = no suppressions.
    pub suppressions: Option<PathBuf>,
}

/// Live progress, for the terminal reporter.
#[derive(Debug, Clone)]
pub enum Event {
    SuiteStarted {
        provider: String,
        connections: usize,
        endpoints: usize,
    },
    ConnectionFailed {
        provider: String,
        connection: String,
        message: String,
    },
    EndpointProbed {
        provider: String,
        endpoint: String,
        connection: String,
        status: Option<u16>,
    },
    SuiteFinished {
        provider: String,
        drifts: usize,
    },
}

/// One suite's place in the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteSummary {
    pub file: String,
    pub provider: String,
    pub connections: Vec<String>,
    pub endpoints: Vec<String>,
}

/// A baseline file this run would create or change, waiting for `accept`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingSnapshot {
    pub provider: String,
    pub probe: ProbeKind,
    pub subject: String,
    /// Set for per-connection observations (the refresh probe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// `new` (no baseline yet) or `changed`.
    pub status: String,
    /// Path of the `.snap.new` file, when one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Written straight into the accepted baseline (`--update always`): nothing left to review.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accepted: bool,
}

impl PendingSnapshot {
    /// Still waiting for a decision (not written in place by `--update always`).
    pub fn awaits_review(&self) -> bool {
        !self.accepted
    }
}

/// A finished run: everything reporters need, nothing secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub format: String,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub suites: Vec<SuiteSummary>,
    /// Every connection's state, decided before anything was compared; sorted by
    /// (provider, connection). An unusable one is reported here once, never as drift.
    #[serde(default)]
    pub connections: Vec<ConnectionStatus>,
    /// Observations left uncompared because a connection they cover was unusable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_compared: Vec<NotCompared>,
    pub observations: Vec<Observation>,
    pub drifts: Vec<Drift>,
    /// Conformance findings re-checked every run (token endpoint, permissions vs
    /// docs, refresh vs docs). Not drift: they do not fail a run by themselves;
    /// a change in them shows up as drift of the baselined observation.
    #[serde(default)]
    pub findings: Vec<Drift>,
    pub pending: Vec<PendingSnapshot>,
    pub errors: Vec<RunError>,
    /// Every connection's refresh-token health after the run's refreshes.
    #[serde(default)]
    pub tokens: Vec<TokenHealth>,
    /// Client-secret health of the suites that set `auth.client_secret_expires` (issue 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_secrets: Vec<crate::probe::app::ClientSecretHealth>,
    #[serde(serialize_with = "crate::report::json::serialize_exchanges")]
    pub exchanges: Vec<Exchange>,
    /// What the exchanges keep (`evidence: full | shapes | none`); absent means `full`.
    #[serde(default, skip_serializing_if = "EvidenceMode::is_full")]
    pub evidence_mode: EvidenceMode,
    /// Set on a shard run (`run --shard i/n`): it holds `evidence` and compares nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Set on a run produced by `driftwatch merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergedFrom>,
    /// A shard run's gathered evidence, one entry per suite; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<SuiteEvidence>,
    // ---- issue 19 (suite) ----
    /// Endpoint calls not made because a chained value (`from:`) was missing; never an error
    /// or a drift. Sorted by (provider, subject, connection).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedProbe>,
    /// The subjects `params` matrices expanded to, with their base endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expanded: Vec<ExpandedSubject>,
    // ---- end issue 19 (suite) ----
    /// Why each requested scope is needed, per provider whose permissions probe ran, sorted
    /// by provider (issue 20; docs/scopes.md). Read by `driftwatch scopes` and the reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<crate::probe::permissions::scopes::ProviderScopes>,
    /// Exchanges already rendered for `run.json`, found by content (issue 17); never written.
    #[serde(skip)]
    pub rendered: crate::report::ahead::Rendered,
}

// ---- issue 19 (suite) ----

/// One endpoint call skipped because its chained value is missing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SkippedProbe {
    pub provider: String,
    /// The endpoint subject (`stats`, or `metrics[period=7d]` for a `params` expansion).
    pub subject: String,
    /// The connection whose call was skipped.
    pub connection: String,
    /// The endpoint id as written in the suite.
    pub endpoint: String,
    /// Why: e.g. "`$.data[0].id` selects nothing in the answer of `campaigns`".
    pub reason: String,
}

/// The subjects of `s`'s `params` matrices.
pub(crate) fn expanded_subjects(s: &crate::suite::Suite) -> Vec<ExpandedSubject> {
    s.endpoints
        .iter()
        .filter(|e| !e.params.is_empty())
        .map(|e| ExpandedSubject {
            provider: s.provider.name.value.clone(),
            subject: e.id.value.clone(),
            endpoint: e.base.clone(),
            params: e.params.clone(),
        })
        .collect()
}

/// One subject of a `params` matrix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExpandedSubject {
    pub provider: String,
    /// `metrics[period=7d]`: what observations, drifts and baseline files are keyed by.
    pub subject: String,
    /// The endpoint id as written (`metrics`): reports group by it.
    pub endpoint: String,
    /// This subject's parameter values, name → value.
    pub params: std::collections::BTreeMap<String, String>,
}

// ---- end issue 19 (suite) ----

/// Where a merged run came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedFrom {
    /// The shard count (`n` of `--shard i/n`).
    pub shards: u32,
    /// Run ids of the shard runs, in shard order.
    pub runs: Vec<String>,
}

impl Run {
    /// Connections that could not be used: none of their observations were compared.
    pub fn unusable_connections(&self) -> impl Iterator<Item = &ConnectionStatus> {
        self.connections.iter().filter(|c| !c.usable)
    }

    /// Unusable connections that fail the run (exit 3): breaking items. A `consumed`
    /// disposable grant is unusable but expected, so it carries no breaking severity.
    pub fn failing_connections(&self) -> impl Iterator<Item = &ConnectionStatus> {
        self.unusable_connections()
            .filter(|c| c.severity == Some(Severity::Breaking))
    }

    /// Unsuppressed drifts at or above `threshold`: the ones that fail a run.
    pub fn count_at_least(&self, threshold: Severity) -> usize {
        self.drifts
            .iter()
            .filter(|d| d.suppressed.is_none() && d.severity >= threshold)
            .count()
    }
}
