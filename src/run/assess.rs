//! The assess half of a suite's run: evidence → provider-level observations
//! (merged across connections), findings, and drifts against the baseline.
//! Never touches the network, so a merged shard run assesses exactly like an
//! unsharded one.

use super::credentials::expiry_drifts;
use super::evidence::SuiteEvidence;
use super::types::PendingSnapshot;
use crate::auth::health::TokenHealth;
use crate::baseline::{
    BaselineStore, Compared, Comparison, SnapshotBatch, SnapshotError, UpdateMode,
};
use crate::error::Error;
use crate::model::{
    ConnectionStatus, Drift, NOT_COMPARED_SKIPPED, NOT_COMPARED_UNUSABLE, NotCompared, Observation,
    ProbeKind, Severity,
};
use crate::probe::permissions::scopes::{self, EndpointScopes, ProviderScopes};
use crate::probe::schema::{self, Sample};
use crate::rules::Rule;
use chrono::{DateTime, Utc};
use rayon::iter::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};
use std::collections::BTreeMap;

/// The assessed result of one suite.
pub(crate) struct Assessed {
    pub connections: Vec<ConnectionStatus>,
    pub not_compared: Vec<NotCompared>,
    pub observations: Vec<Observation>,
    pub drifts: Vec<Drift>,
    pub findings: Vec<Drift>,
    pub pending: Vec<PendingSnapshot>,
    pub tokens: Vec<TokenHealth>,
    pub client_secret: Option<crate::probe::app::ClientSecretHealth>,
    /// Why each scope is needed; `None` when the permissions probe did not run.
    pub scopes: Option<ProviderScopes>,
}

/// Assesses normalised evidence (see [`SuiteEvidence::normalise`]) against the
/// baseline in `store`; `now` dates the deprecation findings.
///
/// Connection states come first: the evidence of an unusable connection is dropped, and an
/// observation merged over connections is compared only when the evidence can hold everything
/// its baseline holds (see [`Recorder::covers`]), so a missing connection never yields drift.
pub(crate) fn assess(
    mut ev: SuiteEvidence,
    store: &BaselineStore,
    update: UpdateMode,
    now: DateTime<Utc>,
) -> Result<Assessed, Error> {
    let unusable = ev.unusable();
    ev.drop_connections(&unusable);
    let provider = ev.provider.as_str();
    let mut rec = Recorder {
        store,
        suite_file: &ev.file,
        update,
        unusable: &unusable,
        skipped: ev
            .skipped
            .iter()
            .fold(BTreeMap::new(), |mut m, (subject, conn)| {
                m.entry(subject.clone())
                    .or_insert_with(Vec::new)
                    .push(conn.clone());
                m
            }),
        observations: Vec::new(),
        drifts: Vec::new(),
        pending: Vec::new(),
        not_compared: Vec::new(),
        writes: SnapshotBatch::default(),
    };
    let mut findings: Vec<Drift> = Vec::new();

    // A client the provider rejects is credential trouble, not token-endpoint drift (safety
    // rule 5): the token probe's deliberate error request only shows the same rejection, so it
    // is neither compared nor judged this run; `app.client-rejected` says it once.
    if ev
        .app
        .as_ref()
        .is_some_and(|a| a.client == crate::probe::app::Liveness::Rejected)
    {
        ev.token_facts
            .retain(|(_, f)| f.grant != crate::probe::token::ERROR_PROBE_GRANT);
    }
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
    // Compared token observations come from usable connections' answers only.
    let unusable_positions = ev.positions(&unusable);
    let usable_facts: Vec<_> = ev
        .token_facts
        .iter()
        .filter(|(p, _)| !unusable_positions.contains(p))
        .map(|(_, f)| f.clone())
        .collect();
    for obs in token_observations(provider, &usable_facts) {
        rec.record(obs, &[])?;
    }

    // Each endpoint's schema observation merges its answers' shapes and is diffed with its
    // baseline on every core (most of the assessment of a large suite); the results are filed
    // one by one below, in suite order. Nothing answered: no observation (comparing an empty
    // one would report every field removed).
    let schema_observations: Vec<Option<(Observation, Result<Compared, SnapshotError>)>> = ev
        .endpoints
        .par_iter()
        .zip(&ev.samples)
        .map(|(ep, ss)| {
            let obs = (!ss.is_empty()).then(|| schema::observe(provider, &ep.id, ss))?;
            // `tolerate`: type/format variation the suite accepts at a path is no schema drift.
            let found = store.compare_only(&obs, &|d| schema::tolerated(d, &ep.tolerate));
            Some((obs, found))
        })
        .collect();
    tracing::debug!("schemas compared");
    for ((ei, ep), observed) in ev.endpoints.iter().enumerate().zip(schema_observations) {
        let Some((obs, found)) = observed else {
            continue;
        };
        let violations: Vec<_> = ev.violations[ei].iter().map(|v| v.to_probe()).collect();
        rec.drifts
            .extend(schema::declared_drifts(provider, &ep.id, &violations));
        rec.record_compared(obs, &ev.samples[ei], found)?;
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

    // The app probe (issue 20): the client's liveness, provider-wide.
    if let Some(app) = &ev.app {
        findings.extend(crate::probe::app::findings(provider, app));
        rec.record(crate::probe::app::observe(provider, app), &[])?;
    }

    // The callback probe (issue 20 item 3): one observation per listed callback. A callback
    // the accepted baseline saw accepted and now rejected is the drift
    // `app.redirect-uri-rejected`; otherwise a rejection is the finding
    // `app.redirect-uri-refused`. The evidence and the exchange go beside each verdict.
    for cb in &ev.callbacks {
        let obs = crate::probe::app::callback::observe(provider, &cb.subject, &cb.body);
        // An unreadable baseline is reported by `record` (`app.observation-unreadable`).
        let baseline_accepted = rec.store.load(&obs.key).ok().flatten().is_some_and(|b| {
            b.body.get("callback").and_then(|c| c.as_str())
                == Some(crate::probe::app::CallbackClass::Accepted.as_str())
        });
        let exchanges: Vec<String> = cb.exchange_id.iter().cloned().collect();
        let after = crate::probe::app::callback::with_evidence(&obs.body, &cb.evidence);
        for mut f in crate::probe::app::callback::findings(
            provider,
            &cb.subject,
            &cb.body,
            baseline_accepted,
        ) {
            f.after = Some(after.clone());
            f.exchanges = exchanges.clone();
            findings.push(f);
        }
        let first_new = rec.drifts.len();
        rec.record(obs, &[])?;
        for d in &mut rec.drifts[first_new..] {
            if d.probe == ProbeKind::App && d.subject == cb.subject {
                d.after = Some(after.clone());
                d.exchanges = exchanges.clone();
            }
        }
    }

    findings.extend(ev.metadata_findings.iter().cloned());
    for obs in ev.metadata.iter().cloned() {
        rec.record(obs, &[])?;
    }

    let mut scopes = None;
    if let Some(perm) = &ev.permissions {
        // The classified matrix, per endpoint, for the scope justification (issue 20).
        let mut matrix: Vec<Option<BTreeMap<String, crate::probe::permissions::Cell>>> =
            vec![None; ev.endpoints.len()];
        for (ei, ep) in ev.endpoints.iter().enumerate() {
            let Some(mut cells) = perm.cells_of(ei) else {
                continue;
            };
            crate::probe::permissions::apply_field_requirements(
                &mut cells,
                &ep.requires_fields,
                &ev.scope_sets,
            );
            findings.extend(crate::probe::permissions::findings(
                provider,
                &ep.id,
                &ep.requires,
                &ep.requires_any,
                &ev.scope_sets,
                &cells,
            ));
            let obs =
                crate::probe::permissions::observe(provider, &ep.id, &cells, &perm.downscoping);
            rec.record(obs, &[])?;
            matrix[ei] = Some(cells);
        }
        // Nothing probed (no scope sets, no usable connection): nothing to justify.
        if matrix.iter().any(Option::is_some) {
            let views: Vec<EndpointScopes<'_>> = ev
                .endpoints
                .iter()
                .zip(&matrix)
                .map(|(ep, cells)| EndpointScopes {
                    id: &ep.id,
                    requires: &ep.requires,
                    requires_any: &ep.requires_any,
                    requires_fields: &ep.requires_fields,
                    cells: cells.as_ref(),
                })
                .collect();
            let justified = scopes::justify(provider, &views, &ev.scope_sets, &ev.auth_scopes);
            findings.extend(scopes::findings(&justified, &ev.scope_sets));
            scopes = Some(justified);
        }
    }

    tracing::debug!("probes recorded");
    let accepted =
        super::permissions::AcceptedRefresh::load_for(store, provider, &ev.all_connections);
    let (refresh_obs, refresh_findings) = super::refresh::assess(provider, &ev.refresh, &accepted);
    findings.extend(refresh_findings);
    for obs in refresh_obs {
        rec.record(obs, &[])?;
    }
    let usable_health: Vec<TokenHealth> = ev
        .tokens
        .iter()
        .filter(|h| !unusable.contains(&h.connection))
        .cloned()
        .collect();
    rec.drifts.extend(expiry_drifts(&usable_health));
    rec.drifts.extend(crate::probe::app::secret_expiry_drifts(
        ev.client_secret.as_slice(),
    ));
    super::refresh::date_stopped_issuing(&mut rec.drifts, &ev.tokens);
    // The token endpoint's "stopped issuing refresh tokens" is the same fact as the refresh
    // probe's `refresh.stopped-issuing`, which names the connection and its death date: one verdict.
    // Decided here, by rule value, because only assess sees both probes' drifts: the token
    // diff alone cannot know whether the refresh probe reported the fact (it does not when
    // that connection's refresh baseline is missing), so it keeps its own verdict.
    if rec
        .drifts
        .iter()
        .any(|d| d.rule == Rule::RefreshStoppedIssuing)
    {
        rec.drifts.retain(|d| {
            !(d.rule == Rule::TokenRefreshTokenChanged && d.severity == Severity::Breaking)
        });
    }
    let Recorder {
        observations,
        drifts,
        pending,
        not_compared,
        writes,
        ..
    } = rec;
    // Every pending (or, with `--update always`, accepted) snapshot of the suite at once.
    writes.commit()?;
    Ok(Assessed {
        connections: ev.connections,
        not_compared,
        observations,
        drifts,
        findings,
        pending,
        tokens: ev.tokens,
        client_secret: ev.client_secret,
        scopes,
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
    /// Connections that could not be used this run (their evidence is already dropped).
    unusable: &'a [String],
    /// Subject → connections whose call was skipped for a missing chained value.
    skipped: BTreeMap<String, Vec<String>>,
    observations: Vec<Observation>,
    drifts: Vec<Drift>,
    pending: Vec<PendingSnapshot>,
    not_compared: Vec<NotCompared>,
    /// Snapshot files to write, committed together when the suite is assessed.
    writes: SnapshotBatch,
}

impl Recorder<'_> {
    /// Whether this run's evidence can stand for everything the baseline of `obs` covers
    /// while some connections are unusable. Per-connection observations (refresh) of usable
    /// connections and provider-wide ones (metadata, token endpoint) always can. Schema and
    /// values baselines name the connections they hold: they are compared only when an accepted
    /// baseline exists and names none of the unusable connections. Deprecation signals and the
    /// permission matrix are merged without naming connections (and the permissions probe picks
    /// its account among the usable ones), so they wait for a run where every connection works.
    fn covers(&self, obs: &Observation) -> Result<bool, Error> {
        if obs.key.connection.is_some() {
            return Ok(true);
        }
        // A chained call skipped for some connection (issue 19): its schema and values are
        // compared only against a baseline that lacks those connections too.
        if let Some(skipped) = self.skipped.get(&obs.key.subject)
            && matches!(obs.key.probe, ProbeKind::Schema | ProbeKind::Values)
        {
            let member = if obs.key.probe == ProbeKind::Schema {
                "responses"
            } else {
                "connections"
            };
            let held = self.store.load(&obs.key)?.is_some_and(|base| {
                base.body
                    .get(member)
                    .and_then(|m| m.as_object())
                    .is_some_and(|m| skipped.iter().any(|c| m.contains_key(c)))
            });
            if held {
                return Ok(false);
            }
        }
        if self.unusable.is_empty() {
            return Ok(true);
        }
        let member = match obs.key.probe {
            ProbeKind::Metadata | ProbeKind::Token | ProbeKind::Refresh | ProbeKind::App => {
                return Ok(true);
            }
            ProbeKind::Deprecation | ProbeKind::Permissions => return Ok(false),
            ProbeKind::Schema => "responses",
            ProbeKind::Values => "connections",
        };
        let Some(base) = self.store.load(&obs.key)? else {
            // A new baseline written now would lack the unusable connections.
            return Ok(false);
        };
        Ok(!base
            .body
            .get(member)
            .and_then(|m| m.as_object())
            .is_some_and(|m| self.unusable.iter().any(|c| m.contains_key(c))))
    }

    /// Compares `obs` with the baseline; `samples` link schema drifts to exchanges.
    fn record(&mut self, obs: Observation, samples: &[Sample]) -> Result<(), Error> {
        let found = self.store.compare_only(&obs, &|_| false);
        self.record_compared(obs, samples, found)
    }

    /// Files `obs`, already diffed with its baseline (`found`, see
    /// [`BaselineStore::compare_only`]): not compared when this run's evidence cannot stand
    /// for the baseline (see [`Recorder::covers`]), otherwise its drifts and pending snapshot.
    fn record_compared(
        &mut self,
        obs: Observation,
        samples: &[Sample],
        found: Result<Compared, SnapshotError>,
    ) -> Result<(), Error> {
        if !self.covers(&obs)? {
            let skipped = self.skipped.get(&obs.key.subject);
            let (connections, reason) = match skipped {
                Some(s) if self.unusable.is_empty() => (s.clone(), NOT_COMPARED_SKIPPED),
                _ => (self.unusable.to_vec(), NOT_COMPARED_UNUSABLE),
            };
            self.not_compared.push(NotCompared {
                key: obs.key,
                connections,
                reason: reason.into(),
            });
            return Ok(());
        }
        let status =
            match self
                .store
                .file_into(self.suite_file, &obs, found?, self.update, &mut self.writes)
            {
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

#[cfg(test)]
#[path = "assess_tests.rs"]
mod tests;
