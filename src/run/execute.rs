//! Planning and orchestration of a run: suites × connections × endpoints.
//!
//! The runner loads suites, obtains tokens, calls endpoints (bounded by each
//! provider's concurrency), hands responses to the probes, compares the
//! observations with the baseline and returns a finished [`Run`]. It emits
//! [`Event`]s for live progress; it never formats output itself. Results are
//! sorted by stable keys, so concurrency never shows in the output.

use super::credentials::open_store;
use super::evidence::SuiteEvidence;
use super::evidence_mode::EvidenceMode;
use super::shard::Shard;
use crate::auth::health::TokenHealth;
use crate::baseline::{BaselineStore, Suppression};
use crate::context::Context;
use crate::error::Error;
use crate::http::Redactor;
use crate::model::{
    ConnectionStatus, Drift, Exchange, NotCompared, Observation, ProbeKind, RunError, Severity,
};
use crate::suite::{self, LoadMode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

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
}

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

/// A fresh run id: UTC timestamp plus a random suffix (sortable, unique).
pub fn new_run_id(now: DateTime<Utc>) -> String {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    format!("{}-{:02x}{:02x}", now.format("%Y%m%dT%H%M%SZ"), b[0], b[1])
}

/// Runs every suite and returns the finished run. Suite errors abort before
/// any request is sent; provider and token failures become [`RunError`]s.
pub async fn execute(
    ctx: &Context,
    opts: &RunOptions,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Result<Run, Error> {
    execute_inner(ctx, opts, None, on_event).await
}

/// Runs one shard (`run --shard i/n`): gathers the evidence of the shard's
/// connections (and, in shard 1, the provider-wide probes) and compares
/// nothing. `driftwatch merge` assesses the shards together.
pub async fn execute_shard(
    ctx: &Context,
    opts: &RunOptions,
    shard: Shard,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Result<Run, Error> {
    execute_inner(ctx, opts, Some(shard), on_event).await
}

async fn execute_inner(
    ctx: &Context,
    opts: &RunOptions,
    shard: Option<Shard>,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Result<Run, Error> {
    let started_at = Utc::now();
    let clock = Instant::now();
    let mut loaded = Vec::new();
    for path in &opts.suites {
        let l = suite::load_suite(path, ctx, LoadMode::Run)?;
        loaded.push(l.suite);
    }
    // A bad ignore file is a usage error and must fail before any request is sent.
    let suppressions = match &opts.suppressions {
        Some(path) if shard.is_none() => crate::baseline::load_suppressions(path, ctx)
            .map_err(|e| Error::Usage(e.to_string()))?,
        _ => Vec::new(),
    };
    let store = BaselineStore::new(ctx.resolve(&opts.snapshots));
    let credentials_path = ctx.resolve(&opts.credentials);
    let mut run = empty_run(started_at);
    run.shard = shard;
    let mut redactors = Vec::new();
    for full in &loaded {
        let credentials = open_store(
            ctx,
            full,
            &credentials_path,
            opts.credential_helper.as_deref(),
        )?;
        let all: Vec<String> = full
            .connections
            .iter()
            .map(|c| c.id.value.clone())
            .collect();
        let restricted;
        let (s, provider_wide) = match shard {
            Some(sh) => {
                restricted = super::shard::restrict(full, sh);
                (&restricted, sh.is_provider_wide())
            }
            None => (full, true),
        };
        // The baseline's refresh classes: the permissions probe narrows only
        // grants they show to be safe. Read here, so gathering never opens the baseline.
        let accepted = super::permissions::AcceptedRefresh::load(&store, full);
        let mut g = super::gather::gather(
            s,
            &all,
            provider_wide,
            opts,
            &credentials,
            &accepted,
            on_event,
        )
        .await?;
        let provider = g.summary.provider.clone();
        run.suites.push(g.summary.clone());
        run.errors.append(&mut g.errors);
        redactors.push(g.redactor.clone());
        match shard {
            Some(sh) => {
                super::gather::prefix_exchange_ids(&mut g, &format!("s{}-", sh.index));
                run.exchanges.append(&mut g.exchanges);
                run.connections
                    .extend(g.evidence.connections.iter().cloned());
                run.evidence.push(g.evidence);
                on_event(Event::SuiteFinished {
                    provider,
                    drifts: 0,
                });
            }
            None => {
                run.exchanges.append(&mut g.exchanges);
                let mut ev = g.evidence;
                ev.normalise();
                let a = super::assess::assess(ev, &store, opts.update, Utc::now())?;
                on_event(Event::SuiteFinished {
                    provider,
                    drifts: a.drifts.len(),
                });
                add_assessed(&mut run, a);
            }
        }
    }
    finalise(&mut run, &suppressions, &redactors);
    run.finished_at = Utc::now();
    run.duration_ms = clock.elapsed().as_millis() as u64;
    Ok(run)
}

/// A run with nothing in it yet.
pub(crate) fn empty_run(started_at: DateTime<Utc>) -> Run {
    Run {
        format: RUN_FORMAT.into(),
        run_id: new_run_id(started_at),
        started_at,
        finished_at: started_at,
        duration_ms: 0,
        suites: Vec::new(),
        connections: Vec::new(),
        not_compared: Vec::new(),
        observations: Vec::new(),
        drifts: Vec::new(),
        findings: Vec::new(),
        pending: Vec::new(),
        errors: Vec::new(),
        tokens: Vec::new(),
        exchanges: Vec::new(),
        evidence_mode: EvidenceMode::Full,
        shard: None,
        merged: None,
        evidence: Vec::new(),
    }
}

/// Adds one suite's assessed results to the run.
pub(crate) fn add_assessed(run: &mut Run, a: super::assess::Assessed) {
    run.connections.extend(a.connections);
    run.not_compared.extend(a.not_compared);
    run.observations.extend(a.observations);
    run.drifts.extend(a.drifts);
    run.findings.extend(a.findings);
    run.pending.extend(a.pending);
    run.tokens.extend(a.tokens);
}

/// Fingerprints, suppressions and the stable order of every list.
pub(crate) fn finalise(run: &mut Run, suppressions: &[Suppression], redactors: &[Arc<Redactor>]) {
    run.observations.sort_by(|a, b| a.key.cmp(&b.key));
    run.connections
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    run.not_compared.sort_by(|a, b| a.key.cmp(&b.key));
    for c in &mut run.connections {
        if let Some(m) = &mut c.message {
            for r in redactors {
                *m = r.scrub(m);
            }
        }
    }
    for d in run.drifts.iter_mut().chain(run.findings.iter_mut()) {
        d.fingerprint = crate::rules::fingerprint(d);
    }
    crate::baseline::apply_suppressions(
        suppressions,
        run.started_at.date_naive(),
        &mut run.drifts,
        &mut run.findings,
    );
    run.drifts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    run.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    run.pending.sort_by(|a, b| {
        (&a.provider, a.probe, &a.subject, &a.connection).cmp(&(
            &b.provider,
            b.probe,
            &b.subject,
            &b.connection,
        ))
    });
    run.errors.sort_by(|a, b| {
        (&a.provider, &a.connection, &a.subject).cmp(&(&b.provider, &b.connection, &b.subject))
    });
    // Last line of defence: scrub every secret any token manager saw.
    for e in &mut run.errors {
        for r in redactors {
            e.message = r.scrub(&e.message);
        }
    }
}
