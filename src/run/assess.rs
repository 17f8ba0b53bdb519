//! The assess half of a suite's run: evidence → provider-level observations
//! (merged across connections), findings, and drifts against the baseline.
//! Never touches the network, so a merged shard run assesses exactly like an
//! unsharded one.

use super::credentials::expiry_drifts;
use super::evidence::SuiteEvidence;
use super::execute::PendingSnapshot;
use crate::auth::health::TokenHealth;
use crate::baseline::{BaselineStore, Comparison, UpdateMode};
use crate::error::Error;
use crate::model::{Drift, Observation};
use crate::probe::schema::{self, Sample};
use chrono::{DateTime, Utc};

/// The assessed result of one suite.
pub(crate) struct Assessed {
    pub observations: Vec<Observation>,
    pub drifts: Vec<Drift>,
    pub findings: Vec<Drift>,
    pub pending: Vec<PendingSnapshot>,
    pub tokens: Vec<TokenHealth>,
}

/// Assesses normalised evidence (see [`SuiteEvidence::normalise`]) against the
/// baseline in `store`; `now` dates the deprecation findings.
pub(crate) fn assess(
    ev: SuiteEvidence,
    store: &BaselineStore,
    update: UpdateMode,
    now: DateTime<Utc>,
) -> Result<Assessed, Error> {
    let provider = ev.provider.as_str();
    let mut rec = Recorder {
        store,
        suite_file: &ev.file,
        update,
        observations: Vec::new(),
        drifts: Vec::new(),
        pending: Vec::new(),
    };
    let mut findings: Vec<Drift> = Vec::new();

    let token_facts: Vec<_> = ev.token_facts.iter().map(|(_, f)| f.clone()).collect();
    findings.extend(
        crate::probe::token::findings(provider, &token_facts)
            .into_iter()
            .map(|mut d| {
                // File each finding under its grant's observation.
                if let Some(grant) = &d.path {
                    d.subject = token_subject(grant);
                }
                d
            }),
    );
    for obs in token_observations(provider, &token_facts) {
        rec.record(obs, &[])?;
    }

    for (ei, ep) in ev.endpoints.iter().enumerate() {
        let ss: Vec<Sample> = ev.samples[ei].iter().cloned().map(Sample::from).collect();
        if ss.is_empty() {
            // Nothing answered: comparing an empty observation would report every field removed.
            continue;
        }
        let obs = schema::observe(provider, &ep.id, &ss);
        let violations: Vec<_> = ev.violations[ei].iter().map(|v| v.to_probe()).collect();
        rec.drifts
            .extend(schema::declared_drifts(provider, &ep.id, &violations));
        rec.record(obs, &ss)?;
    }

    // Values: zero/empty/null classes per connection, compared across connections.
    for (ei, ep) in ev.endpoints.iter().enumerate() {
        let values = &ev.values[ei];
        if values.is_empty() {
            continue;
        }
        findings.extend(crate::probe::values::findings(provider, &ep.id, values));
        rec.record(crate::probe::values::observe(provider, &ep.id, values), &[])?;
    }

    // Deprecation signals: headers of every answer, merged per endpoint.
    for (ei, ep) in ev.endpoints.iter().enumerate() {
        if ev.signals[ei].is_empty() {
            continue;
        }
        let signals: Vec<_> = ev.signals[ei].iter().map(|s| s.to_probe()).collect();
        findings.extend(crate::probe::deprecation::findings(
            provider, &ep.id, &signals, now,
        ));
        rec.record(
            crate::probe::deprecation::observe(provider, &ep.id, &signals),
            &[],
        )?;
    }

    findings.extend(ev.metadata_findings.iter().cloned());
    for obs in ev.metadata.iter().cloned() {
        rec.record(obs, &[])?;
    }

    if let Some(perm) = &ev.permissions {
        for (ei, ep) in ev.endpoints.iter().enumerate() {
            let Some(cells) = perm.cells_of(ei) else {
                continue;
            };
            findings.extend(crate::probe::permissions::findings(
                provider,
                &ep.id,
                &ep.requires,
                &ev.scope_sets,
                &cells,
            ));
            let obs =
                crate::probe::permissions::observe(provider, &ep.id, &cells, &perm.downscoping);
            rec.record(obs, &[])?;
        }
    }

    findings.extend(super::replay::consumed_findings(provider, &ev.consumed));
    let accepted =
        super::permissions::AcceptedRefresh::load_for(store, provider, &ev.all_connections);
    let (refresh_obs, refresh_findings) = super::refresh::assess(provider, &ev.refresh, &accepted);
    findings.extend(refresh_findings);
    for obs in refresh_obs {
        rec.record(obs, &[])?;
    }
    rec.drifts.extend(expiry_drifts(&ev.tokens));
    super::refresh::date_stopped_issuing(&mut rec.drifts, &ev.tokens);
    let Recorder {
        observations,
        drifts,
        pending,
        ..
    } = rec;
    Ok(Assessed {
        observations,
        drifts,
        findings,
        pending,
        tokens: ev.tokens,
    })
}

/// One token observation per grant exercised (`token-endpoint.refresh_token`,
/// `token-endpoint.error-probe`, …): a run that did not refresh has nothing to
/// say about refreshes, so it must not look like a change.
fn token_observations(
    provider: &str,
    facts: &[crate::probe::token::TokenFacts],
) -> Vec<Observation> {
    let mut grants: Vec<&str> = facts.iter().map(|f| f.grant.as_str()).collect();
    grants.sort();
    grants.dedup();
    grants
        .into_iter()
        .map(|g| {
            let group: Vec<_> = facts.iter().filter(|f| f.grant == g).cloned().collect();
            let mut obs = crate::probe::token::observe(provider, &group);
            obs.key.subject = token_subject(g);
            obs
        })
        .collect()
}

/// `token-endpoint.<grant>`, the subject of one grant's token observation.
fn token_subject(grant: &str) -> String {
    let slug = if grant == crate::probe::token::ERROR_PROBE_GRANT {
        "error-probe".to_string()
    } else {
        grant.replace(' ', "-")
    };
    format!("{}.{slug}", crate::probe::token::SUBJECT)
}

/// Files each observation of a suite: compared with the baseline, its drifts
/// and pending snapshot recorded.
struct Recorder<'a> {
    store: &'a BaselineStore,
    suite_file: &'a str,
    update: UpdateMode,
    observations: Vec<Observation>,
    drifts: Vec<Drift>,
    pending: Vec<PendingSnapshot>,
}

impl Recorder<'_> {
    /// Compares `obs` with the baseline; `samples` link schema drifts to exchanges.
    fn record(&mut self, obs: Observation, samples: &[Sample]) -> Result<(), Error> {
        let status = match self.store.compare(self.suite_file, &obs, self.update)? {
            Comparison::Unchanged => None,
            Comparison::New { pending: file } => Some(("new", file)),
            Comparison::Changed {
                drifts: d,
                pending: file,
            } => {
                self.drifts.extend(attach_exchanges(d, samples));
                Some(("changed", file))
            }
        };
        if let Some((status, file)) = status {
            self.pending.push(PendingSnapshot {
                provider: obs.key.provider.clone(),
                probe: obs.key.probe,
                subject: obs.key.subject.clone(),
                connection: obs.key.connection.clone(),
                status: status.into(),
                file: file.map(|p| p.display().to_string()),
                accepted: self.update == UpdateMode::Always,
            });
        }
        self.observations.push(obs);
        Ok(())
    }
}

/// Links each drift to the exchanges of the connections it concerns
/// (all of the endpoint's exchanges when the drift names none).
fn attach_exchanges(drifts: Vec<Drift>, samples: &[Sample]) -> Vec<Drift> {
    drifts
        .into_iter()
        .map(|mut d| {
            let mut ids: Vec<String> = samples
                .iter()
                .filter(|s| d.connections.is_empty() || d.connections.contains(&s.connection))
                .filter_map(|s| s.exchange_id.clone())
                .collect();
            ids.sort();
            d.exchanges = ids;
            d
        })
        .collect()
}
