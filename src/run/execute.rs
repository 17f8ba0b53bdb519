//! Planning and orchestration of a run: suites × connections × endpoints.
//!
//! The runner loads suites, obtains tokens, calls endpoints (bounded by each
//! provider's concurrency), hands responses to the probes, compares the
//! observations with the baseline and returns a finished [`Run`]. It emits
//! [`Event`]s for live progress; it never formats output itself. Results are
//! sorted by stable keys, so concurrency never shows in the output.

use super::credentials::open_store;
use super::shard::Shard;
use super::types::{Event, RUN_FORMAT, Run, RunOptions};
use crate::baseline::{BaselineStore, Suppression};
use crate::context::Context;
use crate::error::Error;
use crate::http::Redactor;
use crate::model::Exchange;
use crate::suite::{self, LoadMode, Suite};
use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// A fresh run id: UTC timestamp plus a random suffix (sortable, unique).
pub fn new_run_id(now: DateTime<Utc>) -> String {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    format!("{}-{:02x}{:02x}", now.format("%Y%m%dT%H%M%SZ"), b[0], b[1])
}

/// Runs every suite and returns the finished run. Suite errors abort before
/// any request is sent; provider and token failures become [`RunError`](crate::model::RunError)s.
pub async fn execute(
    ctx: &Context,
    opts: &RunOptions,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Result<Run, Error> {
    let loaded = load_suites(ctx, &opts.suites)?;
    execute_inner(ctx, opts, loaded, None, on_event).await
}

/// Loads the suites of a run as [`execute`] does (`run` loads them once, for their severity
/// overrides and for the run: [`execute_loaded`]).
pub fn load_suites(ctx: &Context, paths: &[PathBuf]) -> Result<Vec<Suite>, Error> {
    paths
        .iter()
        .map(|path| Ok(suite::load_suite(path, ctx, LoadMode::Run)?.suite))
        .collect()
}

/// [`execute`] with the suites of `opts.suites` already loaded ([`load_suites`]).
pub async fn execute_loaded(
    ctx: &Context,
    opts: &RunOptions,
    loaded: Vec<Suite>,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Result<Run, Error> {
    execute_inner(ctx, opts, loaded, None, on_event).await
}

/// Runs one shard (`run --shard i/n`) of the suites of `opts.suites`, already loaded
/// ([`load_suites`]): gathers the evidence of the shard's connections (and, in shard 1, the
/// provider-wide probes) and compares nothing. `driftwatch merge` assesses the shards together.
pub async fn execute_shard(
    ctx: &Context,
    opts: &RunOptions,
    loaded: Vec<Suite>,
    shard: Shard,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Result<Run, Error> {
    execute_inner(ctx, opts, loaded, Some(shard), on_event).await
}

async fn execute_inner(
    ctx: &Context,
    opts: &RunOptions,
    loaded: Vec<Suite>,
    shard: Option<Shard>,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Result<Run, Error> {
    let started_at = Utc::now();
    let clock = Instant::now();
    // A bad ignore file is a usage error and must fail before any request is sent.
    let suppressions = match &opts.suppressions {
        Some(path) if shard.is_none() => crate::baseline::load_suppressions(path, ctx)?,
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
        // The baselines the assessment compares with are read while the requests are in
        // flight: from the first answer on, so the reading does not compete with the token
        // fetches in front of the calls. A shard compares nothing.
        let reading = std::sync::atomic::AtomicBool::new(shard.is_some());
        let events = |e: Event| {
            if matches!(e, Event::EndpointProbed { .. })
                && !reading.swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                store.read_ahead(&full.provider.name.value);
            }
            on_event(e);
        };
        let mut g = super::gather::gather(
            s,
            &all,
            provider_wide,
            opts,
            &credentials,
            &accepted,
            &events,
        )
        .await?;
        let provider = g.summary.provider.clone();
        run.suites.push(g.summary.clone());
        run.errors.append(&mut g.errors);
        run.skipped.append(&mut g.skipped);
        run.expanded.extend(super::types::expanded_subjects(s));
        redactors.push(g.redactor.clone());
        match shard {
            Some(sh) => {
                super::gather::prefix_exchange_ids(&mut g, &format!("s{}-", sh.index));
                move_exchanges(&mut run.exchanges, &mut g.exchanges);
                run.connections
                    .extend(g.evidence.connections.iter().cloned());
                run.evidence.push(g.evidence);
                on_event(Event::SuiteFinished {
                    provider,
                    drifts: 0,
                });
            }
            None => {
                move_exchanges(&mut run.exchanges, &mut g.exchanges);
                // A shard's exchanges get their ids prefixed: only here are they written as
                // they were rendered.
                run.rendered.extend(std::mem::take(&mut g.rendered));
                let mut ev = g.evidence;
                ev.normalise();
                tracing::debug!("evidence normalised");
                let assessed = super::assess::assess(ev, &store, opts.update, Utc::now());
                // The next suite may be the same provider's, after this one wrote baselines.
                store.forget_read_ahead();
                let a = assessed?;
                tracing::debug!(provider = %provider, drifts = a.drifts.len(), "assessed");
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
        client_secrets: Vec::new(),
        exchanges: Vec::new(),
        evidence_mode: super::evidence_mode::EvidenceMode::Full,
        shard: None,
        merged: None,
        evidence: Vec::new(),
        skipped: Vec::new(),
        expanded: Vec::new(),
        scopes: Vec::new(),
        rendered: Default::default(),
    }
}

/// Moves a suite's exchanges into the run's. The first suite's list becomes the run's as it
/// is (no copy); either way `from` is left without its buffer, so the suite's exchanges are
/// never held twice while the suite is assessed (issue 17, memory per probe).
fn move_exchanges(into: &mut Vec<Exchange>, from: &mut Vec<Exchange>) {
    if into.is_empty() {
        std::mem::swap(into, from);
    } else {
        into.append(from);
    }
    *from = Vec::new();
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
    run.client_secrets.extend(a.client_secret);
    run.scopes.extend(a.scopes);
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
    run.skipped.sort();
    run.skipped.dedup();
    run.expanded.sort();
    run.expanded.dedup();
    run.scopes.sort_by(|a, b| a.provider.cmp(&b.provider));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(id: &str) -> Exchange {
        Exchange {
            id: id.into(),
            provider: "p".into(),
            connection: None,
            purpose: "endpoint:me".into(),
            request: crate::model::RecordedRequest {
                method: "GET".into(),
                url: "https://api.example/me".into(),
                headers: vec![],
                body: None,
            },
            response: None,
            error: None,
            started_at: chrono::DateTime::UNIX_EPOCH,
            duration_ms: 1,
        }
    }

    /// Issue 17 (memory per probe): a suite's exchanges are not held twice while it is assessed.
    #[test]
    fn moved_exchanges_leave_no_second_buffer() {
        let mut run = Vec::new();
        let mut first: Vec<Exchange> = Vec::with_capacity(8);
        first.push(exchange("x0001"));
        let buffer = first.as_ptr();
        move_exchanges(&mut run, &mut first);
        assert_eq!(
            run.as_ptr(),
            buffer,
            "the first suite's list is moved, not copied"
        );
        assert_eq!(first.capacity(), 0);
        let mut second = vec![exchange("x0002")];
        move_exchanges(&mut run, &mut second);
        let ids: Vec<&str> = run.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["x0001", "x0002"]);
        assert_eq!(second.capacity(), 0);
    }
}
