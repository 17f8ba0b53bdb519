//! Planning and orchestration of a run: suites × connections × endpoints.
//!
//! The runner loads suites, obtains tokens, calls endpoints (bounded by each
//! provider's concurrency), hands responses to the probes, compares the
//! observations with the baseline and returns a finished [`Run`]. It emits
//! [`Event`]s for live progress; it never formats output itself. Results are
//! sorted by stable keys, so concurrency never shows in the output.

use super::credentials::{expiry_drifts, open_store, token_health};
use super::session::{ProviderSession, join};
use crate::auth::CredentialStore;
use crate::auth::health::TokenHealth;
use crate::baseline::{BaselineStore, Comparison};
use crate::context::Context;
use crate::error::Error;
use crate::http::{Auth, Redactor, Request};
use crate::model::{Drift, Exchange, Observation, ProbeKind, RunError, Severity};
use crate::probe::schema::{self, Declared, Sample, Violation};
use crate::probe::shape;
use crate::suite::{self, DeclaredSchema, Endpoint, LoadMode, Suite};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use url::Url;

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
}

impl Run {
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
    let started_at = Utc::now();
    let clock = Instant::now();
    let mut loaded = Vec::new();
    for path in &opts.suites {
        let l = suite::load_suite(path, ctx, LoadMode::Run)?;
        loaded.push(l.suite);
    }
    // A bad ignore file is a usage error and must fail before any request is sent.
    let suppressions = match &opts.suppressions {
        Some(path) => crate::baseline::load_suppressions(path, ctx)
            .map_err(|e| Error::Usage(e.to_string()))?,
        None => Vec::new(),
    };
    let store = BaselineStore::new(ctx.resolve(&opts.snapshots));
    let credentials_path = ctx.resolve(&opts.credentials);
    let mut run = Run {
        format: RUN_FORMAT.into(),
        run_id: new_run_id(started_at),
        started_at,
        finished_at: started_at,
        duration_ms: 0,
        suites: Vec::new(),
        observations: Vec::new(),
        drifts: Vec::new(),
        findings: Vec::new(),
        pending: Vec::new(),
        errors: Vec::new(),
        tokens: Vec::new(),
        exchanges: Vec::new(),
    };
    let mut redactors = Vec::new();
    for s in &loaded {
        let credentials = open_store(ctx, s, &credentials_path, opts.credential_helper.as_deref())?;
        let out = run_suite(s, opts, &store, &credentials, on_event).await?;
        run.suites.push(out.summary);
        run.observations.extend(out.observations);
        run.drifts.extend(out.drifts);
        run.findings.extend(out.findings);
        run.pending.extend(out.pending);
        run.errors.extend(out.errors);
        run.tokens.extend(out.tokens);
        run.exchanges.extend(out.exchanges);
        redactors.push(out.redactor);
    }
    run.observations.sort_by(|a, b| a.key.cmp(&b.key));
    for d in run.drifts.iter_mut().chain(run.findings.iter_mut()) {
        d.fingerprint = crate::rules::fingerprint(d);
    }
    crate::baseline::apply_suppressions(
        &suppressions,
        started_at.date_naive(),
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
        for r in &redactors {
            e.message = r.scrub(&e.message);
        }
    }
    run.finished_at = Utc::now();
    run.duration_ms = clock.elapsed().as_millis() as u64;
    Ok(run)
}

/// One connection's declared-schema violations and the exchange showing them.
type ConnectionViolations = (String, Vec<Violation>, Option<String>);

struct SuiteOutcome {
    tokens: Vec<TokenHealth>,
    findings: Vec<Drift>,
    summary: SuiteSummary,
    observations: Vec<Observation>,
    drifts: Vec<Drift>,
    pending: Vec<PendingSnapshot>,
    errors: Vec<RunError>,
    exchanges: Vec<Exchange>,
    redactor: Arc<Redactor>,
}

async fn run_suite(
    s: &Suite,
    opts: &RunOptions,
    store: &BaselineStore,
    credentials: &CredentialStore,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Result<SuiteOutcome, Error> {
    let provider = s.provider.name.value.clone();
    let suite_file = s.file.display().to_string();
    on_event(Event::SuiteStarted {
        provider: provider.clone(),
        connections: s.connections.len(),
        endpoints: s.endpoints.len(),
    });
    let mut errors = Vec::new();
    let (session, setup_error) =
        ProviderSession::open(s, opts.allow_insecure_http, credentials.clone()).await?;
    if let Some(message) = setup_error {
        errors.push(run_error(&provider, None, None, "metadata", message));
    }
    let ProviderSession {
        http,
        redactor,
        recorder,
        tokens,
        base,
    } = session;

    // Tokens first, one connection at a time: refreshes are serialised anyway,
    // and a rotated refresh token is persisted before any probe uses the access token.
    let mut ready = Vec::new();
    for conn in &s.connections {
        let scopes = scopes_of(s, conn);
        match tokens.access_token(conn, &scopes).await {
            Ok(t) => ready.push((conn, t)),
            Err(e) => {
                let message = redactor.scrub(&e.to_string());
                on_event(Event::ConnectionFailed {
                    provider: provider.clone(),
                    connection: conn.id.value.clone(),
                    message: message.clone(),
                });
                errors.push(run_error(
                    &provider,
                    Some(conn.id.value.clone()),
                    None,
                    e.class(),
                    message,
                ));
            }
        }
    }

    // The token probe: every answer seen above, plus one deliberate error.
    let mut token_facts = tokens.take_facts();
    if tokens.client().is_some() {
        match tokens.error_probe().await {
            Ok(f) => token_facts.push(f),
            Err(e) => errors.push(RunError {
                provider: provider.clone(),
                connection: None,
                probe: Some(ProbeKind::Token),
                subject: Some(crate::probe::token::SUBJECT.into()),
                class: e.class().into(),
                message: redactor.scrub(&e.to_string()),
            }),
        }
    }

    let window =
        chrono::Duration::from_std(opts.expiry_window).unwrap_or(chrono::Duration::days(7));

    let semaphore = Arc::new(tokio::sync::Semaphore::new(s.limits.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let urls: Vec<Option<Url>> = s
        .endpoints
        .iter()
        .map(|ep| match endpoint_url(&base, ep) {
            Ok(u) => Some(u),
            Err(message) => {
                errors.push(run_error(
                    &provider,
                    None,
                    Some(ep.id.value.clone()),
                    "config",
                    message,
                ));
                None
            }
        })
        .collect();
    for (ei, ep) in s.endpoints.iter().enumerate() {
        let Some(url) = urls[ei].clone() else {
            continue;
        };
        for (conn, token) in &ready {
            let req = Request {
                method: reqwest::Method::from_bytes(ep.method.as_bytes())
                    .unwrap_or(reqwest::Method::GET),
                url: url.clone(),
                headers: ep
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                auth: Auth::Bearer(token.clone()),
                form: None,
                purpose: format!("endpoint:{}", ep.id.value),
                connection: Some(conn.id.value.clone()),
            };
            let http = http.clone();
            let sem = semaphore.clone();
            let conn_id = conn.id.value.clone();
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await;
                let result = http.send(req).await;
                (
                    ei,
                    conn_id,
                    result.and_then(crate::http::Response::into_available),
                )
            });
        }
    }
    let declared: Vec<Option<Result<Declared, String>>> = s
        .endpoints
        .iter()
        .map(|ep| {
            ep.schema.as_ref().map(|d| match &d.value {
                DeclaredSchema::Inline(v) | DeclaredSchema::File { schema: v, .. } => {
                    Declared::new(v)
                }
            })
        })
        .collect();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); s.endpoints.len()];
    let mut signals: Vec<Vec<crate::probe::deprecation::Signals>> =
        vec![Vec::new(); s.endpoints.len()];
    let value_specs: Vec<Option<crate::probe::values::ValuesSpec>> = s
        .endpoints
        .iter()
        .map(|ep| ep.values.as_ref().map(values_spec))
        .collect();
    let mut values: Vec<Vec<crate::probe::values::ConnectionValues>> =
        vec![Vec::new(); s.endpoints.len()];
    let mut violations: Vec<Vec<ConnectionViolations>> = vec![Vec::new(); s.endpoints.len()];
    while let Some(joined) = tasks.join_next().await {
        let Ok((ei, conn_id, result)) = joined else {
            continue;
        };
        let ep = &s.endpoints[ei];
        match result {
            Ok(resp) => {
                on_event(Event::EndpointProbed {
                    provider: provider.clone(),
                    endpoint: ep.id.value.clone(),
                    connection: conn_id.clone(),
                    status: Some(resp.status),
                });
                signals[ei].push(deprecation_signals(&resp.headers, &s.deprecation_headers));
                let content_type = resp.content_type().map(media_type);
                let is_json = content_type
                    .as_deref()
                    .is_some_and(|c| c == "application/json" || c.ends_with("+json"));
                let mut sample_shape = None;
                if (200..300).contains(&resp.status) && is_json {
                    match resp.json() {
                        Ok(value) => match shape::infer(&value) {
                            Ok(sh) => {
                                sample_shape = Some(sh);
                                if let Some(Some(spec)) = value_specs.get(ei) {
                                    match crate::probe::values::evaluate(spec, &conn_id, &value) {
                                        Ok(v) => values[ei].push(v),
                                        Err(e) => errors.push(run_error(
                                            &provider,
                                            Some(conn_id.clone()),
                                            Some(ep.id.value.clone()),
                                            "values",
                                            e,
                                        )),
                                    }
                                }
                                if let Some(Some(Ok(d))) = declared.get(ei) {
                                    let v = d.violations(&value);
                                    if !v.is_empty() {
                                        violations[ei].push((
                                            conn_id.clone(),
                                            v,
                                            Some(resp.exchange_id.clone()),
                                        ));
                                    }
                                }
                            }
                            Err(e) => errors.push(run_error(
                                &provider,
                                Some(conn_id.clone()),
                                Some(ep.id.value.clone()),
                                "json",
                                e.to_string(),
                            )),
                        },
                        Err(e) => errors.push(run_error(
                            &provider,
                            Some(conn_id.clone()),
                            Some(ep.id.value.clone()),
                            "json",
                            redactor.scrub(&e.to_string()),
                        )),
                    }
                }
                samples[ei].push(Sample {
                    connection: conn_id,
                    status: resp.status,
                    content_type,
                    shape: sample_shape,
                    exchange_id: Some(resp.exchange_id.clone()),
                });
            }
            Err(e) => {
                on_event(Event::EndpointProbed {
                    provider: provider.clone(),
                    endpoint: ep.id.value.clone(),
                    connection: conn_id.clone(),
                    status: None,
                });
                errors.push(run_error(
                    &provider,
                    Some(conn_id),
                    Some(ep.id.value.clone()),
                    e.class(),
                    redactor.scrub(&e.to_string()),
                ));
            }
        }
    }

    let mut rec = Recorder {
        store,
        suite_file: &suite_file,
        update: opts.update,
        observations: Vec::new(),
        drifts: Vec::new(),
        pending: Vec::new(),
    };
    let mut findings: Vec<Drift> = Vec::new();
    findings.extend(
        crate::probe::token::findings(&provider, &token_facts)
            .into_iter()
            .map(|mut d| {
                // File each finding under its grant's observation.
                if let Some(grant) = &d.path {
                    d.subject = token_subject(grant);
                }
                d
            }),
    );
    for obs in token_observations(&provider, &token_facts) {
        rec.record(obs, &[])?;
    }
    for (ei, ep) in s.endpoints.iter().enumerate() {
        if let Some(Some(Err(reason))) = declared.get(ei) {
            errors.push(run_error(
                &provider,
                None,
                Some(ep.id.value.clone()),
                "declared-schema",
                format!("declared schema cannot be compiled: {reason}"),
            ));
        }
        let mut ss = std::mem::take(&mut samples[ei]);
        if ss.is_empty() {
            // Nothing answered: comparing an empty observation would report every field removed.
            continue;
        }
        ss.sort_by(|a, b| a.connection.cmp(&b.connection));
        let obs = schema::observe(&provider, &ep.id.value, &ss);
        rec.drifts.extend(schema::declared_drifts(
            &provider,
            &ep.id.value,
            &violations[ei],
        ));
        rec.record(obs, &ss)?;
    }

    // Values: zero/empty/null classes per connection, compared across connections.
    for (ei, ep) in s.endpoints.iter().enumerate() {
        if values[ei].is_empty() {
            continue;
        }
        values[ei].sort_by(|a, b| a.connection.cmp(&b.connection));
        findings.extend(crate::probe::values::findings(
            &provider,
            &ep.id.value,
            &values[ei],
        ));
        let obs = crate::probe::values::observe(&provider, &ep.id.value, &values[ei]);
        rec.record(obs, &[])?;
    }

    // Deprecation signals: headers of every answer, merged per endpoint.
    let now = Utc::now();
    for (ei, ep) in s.endpoints.iter().enumerate() {
        if signals[ei].is_empty() {
            continue;
        }
        findings.extend(crate::probe::deprecation::findings(
            &provider,
            &ep.id.value,
            &signals[ei],
            now,
        ));
        let obs = crate::probe::deprecation::observe(&provider, &ep.id.value, &signals[ei]);
        rec.record(obs, &[])?;
    }

    // Discovery metadata.
    let meta = super::metadata::probe(s, &http).await;
    errors.extend(meta.errors);
    findings.extend(meta.findings);
    for obs in meta.observations {
        rec.record(obs, &[])?;
    }

    // Permissions: every scope set × endpoint, judged by the data.
    let scopes_fn = |c: &crate::suite::Connection| scopes_of(s, c);
    let perm = super::permissions::gather(s, &tokens, &http, &urls, &ready, &scopes_fn).await;
    errors.extend(perm.errors);
    let scope_sets = super::permissions::scope_set_map(s);
    for (ei, ep) in s.endpoints.iter().enumerate() {
        if perm.samples[ei].is_empty() {
            continue;
        }
        let cells = crate::probe::permissions::classify(&perm.samples[ei]);
        findings.extend(crate::probe::permissions::findings(
            &provider,
            &ep.id.value,
            &ep.requires,
            &scope_sets,
            &cells,
        ));
        let obs =
            crate::probe::permissions::observe(&provider, &ep.id.value, &cells, &perm.downscoping);
        rec.record(obs, &[])?;
    }

    // Refresh: the active sequence (disposable connections only), then every trace.
    let ready_ids: Vec<&str> = ready.iter().map(|(c, _)| c.id.value.as_str()).collect();
    let refresh_run = super::refresh::probe(s, &tokens, credentials, &ready_ids).await;
    errors.extend(refresh_run.errors);
    findings.extend(refresh_run.findings);
    for obs in refresh_run.observations {
        rec.record(obs, &[])?;
    }
    // Answers to the probes' own token requests are not token-endpoint observations.
    let _ = tokens.take_facts();
    let health = token_health(s, credentials, window)?;
    rec.drifts.extend(expiry_drifts(&health));
    super::refresh::date_stopped_issuing(&mut rec.drifts, &health);
    let Recorder {
        observations,
        drifts,
        pending,
        ..
    } = rec;

    on_event(Event::SuiteFinished {
        provider: provider.clone(),
        drifts: drifts.len(),
    });
    Ok(SuiteOutcome {
        tokens: health,
        findings,
        summary: SuiteSummary {
            file: suite_file,
            provider,
            connections: s.connections.iter().map(|c| c.id.value.clone()).collect(),
            endpoints: s.endpoints.iter().map(|e| e.id.value.clone()).collect(),
        },
        observations,
        drifts,
        pending,
        errors,
        exchanges: recorder.take(),
        redactor,
    })
}

/// The values probe's spec for an endpoint's `values:` config.
fn values_spec(v: &crate::suite::ValuesConfig) -> crate::probe::values::ValuesSpec {
    crate::probe::values::ValuesSpec {
        metrics: v.metrics.clone(),
        auto_numeric: v.auto,
        rules: v
            .rules
            .iter()
            .map(|r| crate::probe::values::ValueRule {
                name: r.name.clone(),
                when: r.when.clone(),
                greater_than: r.greater_than,
                then: r.then.clone(),
            })
            .collect(),
        complete_flag: v.complete_flag.clone(),
    }
}

/// Deprecation signals of one answer. Link targets lose their query string:
/// they are evidence for people, and a signed URL must not land in a snapshot.
fn deprecation_signals(
    headers: &[(String, String)],
    vendor: &[String],
) -> crate::probe::deprecation::Signals {
    let mut sig = crate::probe::deprecation::parse(headers, vendor);
    for (_, uri) in &mut sig.links {
        if let Ok(mut u) = Url::parse(uri) {
            u.set_query(None);
            *uri = u.to_string();
        }
    }
    sig
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
    update: crate::baseline::UpdateMode,
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

fn scopes_of(s: &Suite, conn: &crate::suite::Connection) -> Vec<String> {
    conn.scope_set
        .as_ref()
        .and_then(|name| s.scope_sets.get(&name.value))
        .map(|set| set.value.clone())
        .unwrap_or_else(|| s.auth.scopes.clone())
}

fn endpoint_url(base: &Url, ep: &Endpoint) -> Result<Url, String> {
    let path = &ep.path.value;
    let mut url = if path.starts_with("http://") || path.starts_with("https://") {
        Url::parse(path)
    } else {
        join(base, path)
    }
    .map_err(|e| format!("endpoint `{}`: bad path `{path}`: {e}", ep.id.value))?;
    if !ep.query.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, v) in &ep.query {
            q.append_pair(k, v);
        }
    }
    Ok(url)
}

fn media_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn run_error(
    provider: &str,
    connection: Option<String>,
    subject: Option<String>,
    class: &str,
    message: String,
) -> RunError {
    RunError {
        provider: provider.to_string(),
        connection,
        probe: subject.as_ref().map(|_| ProbeKind::Schema),
        subject,
        class: class.to_string(),
        message,
    }
}
