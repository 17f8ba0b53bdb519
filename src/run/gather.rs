//! The gather half of a suite's run: tokens, endpoint calls and the active
//! probes, turned into [`SuiteEvidence`]. Talks to the network; compares
//! nothing and never opens the baseline (that is `assess`).
//!
//! Named steps over one [`EndpointEvidence`] per endpoint:
//! [`plan`] (what to call) → [`Gatherer::acquire_tokens`] (every connection's
//! state and token, concurrently) → [`Gatherer::probe_endpoints`] (each answer
//! analysed in its own task as it arrives) → [`Gatherer::recover_rejected`]
//! (a refused access token: one refresh, one retry) → [`collect`] → the
//! provider-wide, permission and refresh probes.

use super::chain::NO_CONNECTION;
use super::connections::{self, StoreView};
use super::credentials::token_health;
use super::evidence::{
    ERROR_PROBE_POS, EndpointInfo, PermissionEvidence, SampleEvidence, SignalsEvidence,
    SuiteEvidence, ViolationEvidence,
};
use super::session::{ProviderSession, join};
use super::shard::scopes_of;
use super::types::{Event, RunOptions, SuiteSummary};
use crate::auth::{AuthError, CredentialStore, TokenManager};
use crate::error::Error;
use crate::http::{Auth, HttpClient, HttpError, Redactor, Request, Response};
use crate::model::{ConnectionState, ConnectionStatus, Exchange, ProbeKind, RunError};
use crate::probe::deprecation::Signals;
use crate::probe::schema::{Declared, Violation};
use crate::probe::shape::{self, Shape};
use crate::probe::token::{TokenFacts, analyse_answer};
use crate::probe::values::{ConnectionValues, ValuesSpec};
use crate::suite::{Connection, DeclaredSchema, Endpoint, Suite};
use secrecy::SecretString;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use tokio::sync::Semaphore;
use url::Url;

/// What gathering one suite produced.
pub(crate) struct Gathered {
    pub summary: SuiteSummary,
    pub evidence: SuiteEvidence,
    pub errors: Vec<RunError>,
    pub exchanges: Vec<Exchange>,
    /// The exchanges rendered for `run.json` while the answers arrived.
    pub rendered: crate::report::ahead::Rendered,
    pub redactor: Arc<Redactor>,
    /// Endpoint calls skipped because a chained value was missing (issue 19).
    pub skipped: Vec<super::types::SkippedProbe>,
}

/// Gathers the evidence of `s` (already restricted to the shard's connections).
/// `all_connections` lists the whole suite's connections in suite order;
/// `provider_wide` runs the probes that do not depend on a connection;
/// `accepted` holds the baseline's refresh classes, read by the caller (gather
/// never opens the baseline), which tell the permissions probe whose grant a
/// narrowed refresh cannot hurt.
pub(crate) async fn gather(
    s: &Suite,
    all_connections: &[String],
    provider_wide: bool,
    opts: &RunOptions,
    credentials: &CredentialStore,
    accepted: &super::permissions::AcceptedRefresh,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Result<Gathered, Error> {
    let provider = s.provider.name.value.clone();
    on_event(Event::SuiteStarted {
        provider: provider.clone(),
        connections: s.connections.len(),
        endpoints: s.endpoints.len(),
    });
    let mut errors = Vec::new();
    let (session, setup_error) =
        ProviderSession::open(s, opts.allow_insecure_http, credentials.clone()).await?;
    if let Some(setup) = setup_error
        && provider_wide
    {
        errors.push(run_error(&provider, None, None, setup.class, setup.message));
    }
    let ProviderSession {
        http,
        redactor,
        recorder,
        tokens,
        base,
    } = session;
    let tokens = Arc::new(tokens);
    let cx = Arc::new(ProbeCx {
        provider: provider.clone(),
        redactor: redactor.clone(),
        deprecation_headers: s.deprecation_headers.clone(),
        plan: plan(s, &base),
    });
    let mut positions = std::collections::HashMap::with_capacity(all_connections.len());
    for (i, c) in all_connections.iter().enumerate() {
        positions.entry(c.as_str()).or_insert(i);
    }
    let vars = connection_vars(s, credentials);
    let g = Gatherer {
        s,
        base: base.clone(),
        vars,
        targets: std::sync::Mutex::new(BTreeMap::new()),
        provider_wide,
        positions,
        cx: cx.clone(),
        http: http.clone(),
        semaphore: Arc::new(Semaphore::new(s.limits.concurrency.max(1))),
        tokens: tokens.clone(),
        credentials,
        on_event,
    };

    let mut evidence: Vec<EndpointEvidence> = s
        .endpoints
        .iter()
        .map(|ep| {
            // `auth: none` is probed once per suite, not per connection.
            let answers = match ep.auth {
                crate::suite::EndpointAuth::None => 1,
                crate::suite::EndpointAuth::Token => s.connections.len(),
            };
            EndpointEvidence::for_answers(answers)
        })
        .collect();
    // Every connection's state is decided here, before anything is compared; a rotated
    // refresh token is persisted (by the token manager) before its access token is used.
    // A connection's endpoint calls start as soon as its token is ready, while the other
    // connections' tokens are still being fetched: the token phase no longer sits in front
    // of the probes (issue 17 item 2).
    let (ready_tx, ready_rx) = tokio::sync::mpsc::unbounded_channel();
    let first = async {
        let acquired = g.acquire_tokens(ready_tx).await;
        tracing::debug!(provider = %provider, ready = acquired.ready.len(), "tokens acquired");
        let provider_probes = g.provider_probes(&tokens, &base, &http).await;
        (acquired, provider_probes)
    };
    let mut probe_errors = Vec::new();
    let probing = g.probe_endpoints(ready_rx, &mut evidence, &mut probe_errors);
    let (
        (
            Acquired {
                mut connections,
                mut token_facts,
                mut ready,
            },
            provider_probes,
        ),
        mut probed,
    ) = tokio::join!(first, probing);
    tracing::debug!(provider = %provider, "endpoints probed");
    let ProviderProbes {
        errors: provider_errors,
        token_facts: error_probe_facts,
        app,
        callbacks,
    } = provider_probes;
    token_facts.extend(error_probe_facts);
    errors.extend(provider_errors);
    errors.append(&mut probe_errors);
    g.recover_rejected(
        &mut probed,
        &mut ready,
        &mut connections,
        &mut token_facts,
        &mut evidence,
        &mut errors,
    )
    .await;

    let mut ev = collect(s, all_connections, provider_wide, evidence);
    ev.skipped = probed
        .skipped
        .iter()
        .map(|k| (k.subject.clone(), k.connection.clone()))
        .collect();
    ev.token_facts = token_facts;
    ev.app = app;
    ev.callbacks = callbacks;
    ev.connections = connections;
    // An unusable connection is reported once, by its state: nothing it answered is evidence,
    // and its failures are not run errors too.
    let unusable = ev.unusable();
    ready.retain(|(c, _)| !unusable.contains(&c.id.value));
    errors.retain(|e| e.connection.as_ref().is_none_or(|c| !unusable.contains(c)));
    ev.drop_connections(&unusable);
    if provider_wide {
        errors.extend(cx.plan.declared_errors(&provider));
        // Discovery metadata.
        let meta = super::metadata::probe(s, &http).await;
        errors.extend(meta.errors);
        ev.metadata = meta.observations;
        ev.metadata_findings = meta.findings;

        // Permissions: every scope set × endpoint, judged by the data. Its
        // connections are pinned to this shard (see `shard`).
        let scopes_fn = |c: &Connection| scopes_of(s, c);
        let targets = |ei: usize, conn: &str| g.target(ei, conn);
        let perm = super::permissions::gather(
            s,
            &tokens,
            &http,
            &targets,
            &probed.failed,
            &ready,
            &scopes_fn,
            accepted,
        )
        .await;
        ev.permissions = Some(PermissionEvidence::new(perm.cells(), perm.downscoping));
        errors.extend(perm.errors);
    }

    // Refresh: the active sequence (disposable connections only), then every trace.
    let ready_ids: Vec<&str> = ready.iter().map(|(c, _)| c.id.value.as_str()).collect();
    let refresh_run = super::refresh::gather(s, &tokens, credentials, &ready_ids).await;
    errors.extend(refresh_run.errors);
    ev.refresh = refresh_run.traces;
    // Answers to the probes' own token requests are not token-endpoint observations.
    let _ = tokens.take_answers();
    let window =
        chrono::Duration::from_std(opts.expiry_window).unwrap_or(chrono::Duration::days(7));
    ev.tokens = token_health(s, credentials, window)?;
    if provider_wide {
        match crate::probe::app::client_secret_expiry(s, credentials) {
            Ok(Some(at)) => {
                ev.client_secret = Some(crate::probe::app::client_secret_health(
                    &s.provider.name.value,
                    at,
                    window,
                    chrono::Utc::now(),
                ));
            }
            Ok(None) => {}
            Err(message) => errors.push(RunError {
                provider: provider.clone(),
                connection: None,
                probe: Some(ProbeKind::App),
                subject: Some(crate::probe::app::SECRET_SUBJECT.into()),
                class: "credential-store".into(),
                message: redactor.scrub(&message),
            }),
        }
    }

    let (exchanges, rendered) = recorder.take_rendered();
    tracing::debug!(provider = %provider, exchanges = exchanges.len(), "gathered");
    Ok(Gathered {
        summary: SuiteSummary {
            file: s.file.display().to_string(),
            provider,
            connections: s.connections.iter().map(|c| c.id.value.clone()).collect(),
            endpoints: s.endpoints.iter().map(|e| e.id.value.clone()).collect(),
        },
        evidence: ev,
        errors,
        exchanges,
        rendered,
        redactor,
        skipped: probed.skipped,
    })
}

/// One endpoint as gather plans it: where to call it and what its answers feed.
pub(crate) struct PlannedEndpoint {
    pub id: String,
    /// The URL to call, or why it cannot be built (a `config` run error; never called).
    pub url: Result<Url, String>,
    /// The declared JSON Schema, compiled, or why it cannot be.
    pub declared: Option<Result<Declared, String>>,
    /// The values probe's spec, when the endpoint has `values:`.
    pub values: Option<ValuesSpec>,
    /// JSONPaths chained endpoints read from this endpoint's answers (`from:`).
    pub chain_paths: Vec<String>,
    /// Suite positions of the endpoints whose answers this one needs (`from:`).
    pub depends_on: Vec<usize>,
    /// Each connection gets its own URL and headers (`${conn:…}`, `from:`).
    pub templated: bool,
    /// `auth: none`: called once, without a token, as connection [`NO_CONNECTION`].
    pub no_auth: bool,
}

impl PlannedEndpoint {
    /// Whether an answer must be parsed to a `Value` (values or a declared schema read it);
    /// otherwise only its shape is inferred, straight from the bytes.
    fn needs_value(&self) -> bool {
        self.values.is_some()
            || matches!(self.declared, Some(Ok(_)))
            || !self.chain_paths.is_empty()
    }
}

/// What gather calls for one suite: its endpoints, in suite order.
pub(crate) struct Plan {
    pub endpoints: Vec<PlannedEndpoint>,
}

/// One planned endpoint call: endpoint position × connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedCall {
    pub endpoint: usize,
    pub connection: String,
}

/// Plans the endpoints of `s` (already restricted to a shard's connections) against `base`.
pub(crate) fn plan(s: &Suite, base: &Url) -> Plan {
    let mut chain_paths = super::chain::chain_paths(&s.endpoints).into_iter();
    let mut depends_on = super::chain::dependencies(&s.endpoints).into_iter();
    Plan {
        endpoints: s
            .endpoints
            .iter()
            .map(|ep| PlannedEndpoint {
                id: ep.id.value.clone(),
                chain_paths: chain_paths.next().unwrap_or_default(),
                depends_on: depends_on.next().unwrap_or_default(),
                templated: ep.is_templated(),
                no_auth: ep.auth == crate::suite::EndpointAuth::None,
                // A templated endpoint's URL is built per connection ([`super::chain::resolve`]).
                url: if ep.is_templated() {
                    Ok(base.clone())
                } else {
                    endpoint_url(base, ep)
                },
                declared: ep.schema.as_ref().map(|d| match &d.value {
                    DeclaredSchema::Inline(v) | DeclaredSchema::File { schema: v, .. } => {
                        Declared::new(v)
                    }
                }),
                values: ep.values.as_ref().map(values_spec),
            })
            .collect(),
    }
}

impl Plan {
    /// The calls of one connection that holds a token (`Some`): every endpoint that needs
    /// one; or (`None`) the one call of each `auth: none` endpoint, as [`NO_CONNECTION`]. In
    /// suite order; an endpoint whose URL cannot be built is never called.
    pub(crate) fn calls_of(&self, connection: Option<&str>) -> Vec<PlannedCall> {
        self.endpoints
            .iter()
            .enumerate()
            .filter(|(_, ep)| ep.url.is_ok() && ep.no_auth == connection.is_none())
            .map(|(ei, _)| PlannedCall {
                endpoint: ei,
                connection: connection.unwrap_or(NO_CONNECTION).to_string(),
            })
            .collect()
    }

    fn url(&self, ei: usize) -> Option<&Url> {
        self.endpoints.get(ei).and_then(|e| e.url.as_ref().ok())
    }

    /// Per endpoint (suite order), its URL when it has one and it is the same for every
    /// connection.
    #[cfg(test)]
    fn urls(&self) -> Vec<Option<Url>> {
        self.endpoints
            .iter()
            .map(|e| e.url.as_ref().ok().filter(|_| !e.templated).cloned())
            .collect()
    }

    /// The `config` run errors of endpoints whose URL cannot be built.
    pub(crate) fn url_errors(&self, provider: &str) -> Vec<RunError> {
        self.endpoints
            .iter()
            .filter_map(|ep| {
                let message = ep.url.as_ref().err()?;
                Some(run_error(
                    provider,
                    None,
                    Some(ep.id.clone()),
                    "config",
                    message.clone(),
                ))
            })
            .collect()
    }

    /// The run errors of declared schemas that cannot be compiled.
    pub(crate) fn declared_errors(&self, provider: &str) -> Vec<RunError> {
        self.endpoints
            .iter()
            .filter_map(|ep| {
                let Some(Err(reason)) = &ep.declared else {
                    return None;
                };
                Some(run_error(
                    provider,
                    None,
                    Some(ep.id.clone()),
                    "declared-schema",
                    format!("declared schema cannot be compiled: {reason}"),
                ))
            })
            .collect()
    }
}

/// What one endpoint's answers yielded, connection by connection (in arrival order;
/// [`SuiteEvidence::normalise`] sorts).
#[derive(Debug, Default)]
pub(crate) struct EndpointEvidence {
    pub samples: Vec<SampleEvidence>,
    pub violations: Vec<ViolationEvidence>,
    pub values: Vec<ConnectionValues>,
    pub signals: Vec<SignalsEvidence>,
}

impl EndpointEvidence {
    /// Room for `n` answers' samples and signals, reserved up front: every answer files both,
    /// and the lists are held until assess, so growing them by doubling would leave slack and
    /// freed smaller copies behind (issue 17, memory per probe).
    pub(crate) fn for_answers(n: usize) -> Self {
        EndpointEvidence {
            samples: Vec::with_capacity(n),
            signals: Vec::with_capacity(n),
            ..EndpointEvidence::default()
        }
    }

    /// Files one analysed answer of `conn_id`; its analysis errors go to `errors`.
    fn add(&mut self, conn_id: String, a: Answer, errors: &mut Vec<RunError>) {
        self.signals
            .push(SignalsEvidence::new(conn_id.clone(), a.signals));
        errors.extend(a.errors);
        if let Some(v) = a.values {
            self.values.push(v);
        }
        if let Some(v) = a.violations {
            self.violations.push(ViolationEvidence::new(
                conn_id.clone(),
                v,
                Some(a.exchange_id.clone()),
            ));
        }
        super::evidence::push_shared(
            &mut self.samples,
            SampleEvidence {
                connection: conn_id,
                status: a.status,
                content_type: a.content_type,
                shape: a.shape.map(Arc::new),
                exchange_id: Some(a.exchange_id),
            },
        );
    }
}

/// The suite's evidence from its per-endpoint evidence (the connection states, token facts
/// and the later probes' results are filled in by the caller).
pub(crate) fn collect(
    s: &Suite,
    all_connections: &[String],
    provider_wide: bool,
    endpoints: Vec<EndpointEvidence>,
) -> SuiteEvidence {
    let n = endpoints.len();
    let mut ev = SuiteEvidence {
        file: s.file.display().to_string(),
        provider: s.provider.name.value.clone(),
        all_connections: all_connections.to_vec(),
        endpoints: s
            .endpoints
            .iter()
            .map(|e| EndpointInfo {
                id: e.id.value.clone(),
                requires: e.requires.clone(),
                requires_any: e.requires_any.clone(),
                requires_fields: e.requires_fields.clone(),
                tolerate: e.tolerate.clone(),
            })
            .collect(),
        scope_sets: super::permissions::scope_set_map(s),
        auth_scopes: super::permissions::auth_scope_map(s),
        provider_wide,
        token_facts: Vec::new(),
        samples: Vec::with_capacity(n),
        violations: Vec::with_capacity(n),
        values: Vec::with_capacity(n),
        signals: Vec::with_capacity(n),
        metadata: Vec::new(),
        metadata_findings: Vec::new(),
        app: None,
        client_secret: None,
        callbacks: Vec::new(),
        permissions: None,
        refresh: Vec::new(),
        tokens: Vec::new(),
        connections: Vec::new(),
        skipped: Vec::new(),
    };
    for e in endpoints {
        ev.samples.push(e.samples);
        ev.violations.push(e.violations);
        ev.values.push(e.values);
        ev.signals.push(e.signals);
    }
    ev
}

/// What a probe task needs to analyse its answer where it arrives.
struct ProbeCx {
    provider: String,
    redactor: Arc<Redactor>,
    deprecation_headers: Vec<String>,
    plan: Plan,
}

/// One endpoint answer, analysed in its probe task: everything the evidence keeps of it and,
/// for a `401`, the headers that tell a rejected token from a permission answer.
struct Answer {
    status: u16,
    exchange_id: String,
    /// Kept for a `401` only (see [`connections::token_rejected`]).
    headers: Vec<(String, String)>,
    signals: Signals,
    content_type: Option<String>,
    shape: Option<Shape>,
    values: Option<ConnectionValues>,
    violations: Option<Vec<Violation>>,
    errors: Vec<RunError>,
    /// For a `from:` source: JSONPath → the value chained endpoints use, or why there is none.
    chained: Option<BTreeMap<String, Result<String, String>>>,
}

/// Analyses one answer of endpoint `ei` for `conn_id`: deprecation signals, shape, values and
/// declared-schema violations. Runs in the probe task, so answers are analysed in parallel
/// while others are still in flight; the body is dropped here.
fn analyse(cx: &ProbeCx, ei: usize, conn_id: &str, resp: Response) -> Answer {
    let mut a = Answer {
        status: resp.status,
        exchange_id: resp.exchange_id.clone(),
        headers: Vec::new(),
        signals: deprecation_signals(&resp.headers, &cx.deprecation_headers),
        content_type: resp.content_type().map(media_type),
        shape: None,
        values: None,
        violations: None,
        errors: Vec::new(),
        chained: None,
    };
    let Some(ep) = cx.plan.endpoints.get(ei) else {
        return a;
    };
    let is_json = a
        .content_type
        .as_deref()
        .is_some_and(|c| c == "application/json" || c.ends_with("+json"));
    if (200..300).contains(&resp.status) && is_json {
        let err = |class: &str, message: String| {
            run_error(
                &cx.provider,
                Some(conn_id.to_string()),
                Some(ep.id.clone()),
                class,
                message,
            )
        };
        if !ep.needs_value() {
            // Only the shape is needed: infer it while parsing, without building a `Value`
            // (same shape and errors as parse + infer, about 3× the throughput).
            match shape::infer_slice(&resp.body) {
                Ok(sh) => a.shape = Some(sh),
                Err(shape::InferError::Json(e)) => a.errors.push(err(
                    "json",
                    cx.redactor
                        .scrub(&crate::http::JsonError::from_serde(e).to_string()),
                )),
                Err(shape::InferError::Shape(e)) => a.errors.push(err("json", e.to_string())),
            }
        } else {
            match resp.json() {
                Ok(value) => match shape::infer(&value) {
                    Ok(sh) => {
                        a.shape = Some(sh);
                        if !ep.chain_paths.is_empty() {
                            a.chained = Some(
                                ep.chain_paths
                                    .iter()
                                    .map(|p| (p.clone(), super::chain::extract(&value, p, &ep.id)))
                                    .collect(),
                            );
                        }
                        if let Some(spec) = &ep.values {
                            match crate::probe::values::evaluate(spec, conn_id, &value) {
                                Ok(v) => a.values = Some(v),
                                Err(e) => a.errors.push(err("values", e)),
                            }
                        }
                        if let Some(Ok(d)) = &ep.declared {
                            let v = d.violations(&value);
                            if !v.is_empty() {
                                a.violations = Some(v);
                            }
                        }
                    }
                    Err(e) => a.errors.push(err("json", e.to_string())),
                },
                Err(e) => a
                    .errors
                    .push(err("json", cx.redactor.scrub(&e.to_string()))),
            }
        }
    }
    if resp.status == 401 {
        a.headers = resp.headers;
    }
    a
}

/// Every connection's state and the tokens of the usable ones, in suite order.
struct Acquired<'s> {
    connections: Vec<ConnectionStatus>,
    /// Token-endpoint facts tagged with their connection's suite position.
    token_facts: Vec<(usize, TokenFacts)>,
    ready: Vec<(&'s Connection, SecretString)>,
}

/// What the provider-wide probes beside the tokens found: the token endpoint's error probe,
/// the app's liveness request and its callbacks.
struct ProviderProbes {
    errors: Vec<RunError>,
    token_facts: Vec<(usize, TokenFacts)>,
    app: Option<crate::probe::app::AppBody>,
    callbacks: Vec<super::evidence::CallbackSeen>,
}

/// How acquiring one connection's token went.
enum TokenOutcome {
    /// A disposable grant an earlier probe spent: skipped, reported as consumed.
    Consumed(ConnectionStatus),
    Ready(SecretString, ConnectionState),
    Failed(AuthError),
}

/// What the endpoint probe left for the next steps.
struct Probed {
    /// `401` answers per connection, held until every answer of the connection is in.
    unauthorized: BTreeMap<String, Vec<(usize, Answer)>>,
    /// Per connection: answers other than `401`.
    other_answers: BTreeMap<String, usize>,
    /// Endpoints that timed out or broke this run: later probes do not call them again.
    failed: BTreeMap<usize, &'static str>,
    /// Calls skipped because a chained value was missing.
    skipped: Vec<super::types::SkippedProbe>,
}

/// One suite's gathering: the session's parts every step uses.
struct Gatherer<'a> {
    s: &'a Suite,
    /// The resource API's base URL (per-connection targets are built against it).
    base: Url,
    /// Every connection's `${conn:…}` values: the suite's `vars` over the helper's.
    vars: BTreeMap<String, BTreeMap<String, String>>,
    /// The per-connection target of each templated call made: (endpoint, connection) → target.
    targets: std::sync::Mutex<BTreeMap<(usize, String), super::chain::Target>>,
    /// This gather runs the provider-wide probes (and so the `auth: none` endpoints).
    provider_wide: bool,
    /// Suite position of every connection of the whole suite (first occurrence).
    positions: std::collections::HashMap<&'a str, usize>,
    cx: Arc<ProbeCx>,
    http: Arc<HttpClient>,
    /// `limits.concurrency`: bounds endpoint calls (tokens use the same bound).
    semaphore: Arc<Semaphore>,
    /// Shared with the token fetches, each a task of its own (see [`Self::acquire_tokens`]).
    tokens: Arc<TokenManager>,
    credentials: &'a CredentialStore,
    on_event: &'a (dyn Fn(Event) + Send + Sync),
}

impl<'a> Gatherer<'a> {
    /// Suite position of a connection (how token facts are tagged).
    fn position(&self, id: &str) -> usize {
        self.positions
            .get(id)
            .copied()
            .unwrap_or(ERROR_PROBE_POS - 1)
    }

    fn provider(&self) -> &str {
        &self.cx.provider
    }

    /// Tokens for every connection, up to `limits.concurrency` at once (requests also pass the
    /// rate limiter). Connections sharing a credential are served one after the other by one
    /// task, so the second finds the first's token cached exactly as a serial run would; the
    /// token manager keeps its per-credential locking, the store's cross-process lock and
    /// journal, and persists a rotated refresh token before returning its access token.
    /// Each usable connection goes to `ready_tx` (by suite position) the moment its token is
    /// ready (its endpoint calls start then); a task holds one of the endpoint calls'
    /// `limits.concurrency` permits while it fetches, so tokens and calls together stay within
    /// the bound. Each credential's fetches are a task of their own: connecting (a TLS
    /// handshake against a real provider) and reading the answers run on every worker, and
    /// one connection's request goes out without waiting for the others' to be set up.
    /// Results are filed in suite order whatever order they finish in.
    async fn acquire_tokens(
        &self,
        ready_tx: tokio::sync::mpsc::UnboundedSender<(usize, SecretString)>,
    ) -> Acquired<'a> {
        let s = self.s;
        let mut groups: Vec<Vec<(usize, Connection, Vec<String>)>> = Vec::new();
        let mut by_credential: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::new();
        for (i, conn) in s.connections.iter().enumerate() {
            let fetch = (i, conn.clone(), scopes_of(s, conn));
            match by_credential.get(conn.credential.as_str()) {
                Some(&g) => groups[g].push(fetch),
                None => {
                    by_credential.insert(&conn.credential, groups.len());
                    groups.push(vec![fetch]);
                }
            }
        }
        let fetcher = Arc::new(TokenFetcher {
            tokens: self.tokens.clone(),
            credentials: self.credentials.clone(),
            provider: self.provider().to_string(),
        });
        // Dropped (the run torn down), the set aborts the fetches at their next await, as
        // dropping their futures did; a store write in flight finishes on its own thread.
        let mut fetches = tokio::task::JoinSet::new();
        for group in groups {
            let (ready_tx, semaphore, fetcher) =
                (ready_tx.clone(), self.semaphore.clone(), fetcher.clone());
            fetches.spawn(async move {
                // Closed only when the run is torn down; then nothing is probed anyway.
                let _permit = semaphore.acquire_owned().await.ok();
                let mut out = Vec::with_capacity(group.len());
                for (i, conn, scopes) in group {
                    let (outcome, facts) = fetcher.acquire_one(&conn, &scopes).await;
                    if let TokenOutcome::Ready(token, _) = &outcome {
                        // The probing side outlives this send; a failed send only
                        // means nothing is probed.
                        let _ = ready_tx.send((i, token.clone()));
                    }
                    out.push((i, outcome, facts));
                }
                out
            });
        }
        let mut outcomes: Vec<(usize, &'a Connection, TokenOutcome, Vec<TokenFacts>)> =
            Vec::with_capacity(s.connections.len());
        while let Some(joined) = fetches.join_next().await {
            match joined {
                Ok(out) => outcomes.extend(out.into_iter().filter_map(|(i, outcome, facts)| {
                    Some((i, s.connections.get(i)?, outcome, facts))
                })),
                // A fetch is cancelled only when this set is dropped: a failure is a panic.
                Err(e) => {
                    if let Ok(panic) = e.try_into_panic() {
                        std::panic::resume_unwind(panic)
                    }
                }
            }
        }
        // Every usable connection has been handed over: the probing side may finish.
        drop(ready_tx);
        outcomes.sort_by_key(|(i, ..)| *i);

        let provider = self.provider().to_string();
        let mut acquired = Acquired {
            connections: Vec::with_capacity(outcomes.len()),
            token_facts: Vec::new(),
            ready: Vec::new(),
        };
        for (_, conn, outcome, facts) in outcomes {
            let pos = self.position(&conn.id.value);
            acquired
                .token_facts
                .extend(facts.into_iter().map(|f| (pos, f)));
            match outcome {
                TokenOutcome::Consumed(status) => acquired.connections.push(status),
                TokenOutcome::Ready(token, state) => {
                    acquired.connections.push(ConnectionStatus::healthy(
                        &provider,
                        &conn.id.value,
                        &conn.credential,
                        state,
                    ));
                    acquired.ready.push((conn, token));
                }
                TokenOutcome::Failed(e) => {
                    let message = self.cx.redactor.scrub(&e.to_string());
                    (self.on_event)(Event::ConnectionFailed {
                        provider: provider.clone(),
                        connection: conn.id.value.clone(),
                        message: message.clone(),
                    });
                    acquired.connections.push(connections::unusable(
                        &e,
                        connections::Failure {
                            provider: &provider,
                            conn,
                            reconnect: self.tokens.reconnect_hint(conn),
                            view: StoreView::read(self.credentials, conn),
                            detail: message,
                            exchanges: Vec::new(),
                        },
                    ));
                }
            }
        }
        acquired
    }

    /// The provider-wide probes that need no connection: the token probe's one deliberate
    /// error (once per auth with a client: two registered clients can be configured
    /// differently at one token endpoint), the app probe's liveness request (issue 20; only
    /// when the token endpoint answered the error probe: a failed request is reported once,
    /// there) and its callback requests (one per `auth.redirect_uris` entry, never touching a
    /// grant or the token endpoint). Nothing for a shard that is not provider-wide.
    async fn provider_probes(
        &self,
        tokens: &TokenManager,
        base: &Url,
        http: &Arc<HttpClient>,
    ) -> ProviderProbes {
        let (s, provider) = (self.s, self.provider().to_string());
        let redactor = &self.cx.redactor;
        let mut out = ProviderProbes {
            errors: Vec::new(),
            token_facts: Vec::new(),
            app: None,
            callbacks: Vec::new(),
        };
        if !self.provider_wide {
            return out;
        }
        use crate::probe::{app, token};
        // A provider-wide request that failed: a run error of its probe, never a connection's.
        let failed = |probe: ProbeKind, subject: &str, e: &AuthError| RunError {
            provider: provider.clone(),
            connection: None,
            probe: Some(probe),
            subject: Some(subject.into()),
            class: e.class().into(),
            message: redactor.scrub(&e.to_string()),
        };
        let mut token_endpoint_answers = false;
        for name in tokens.auth_names() {
            if tokens.client_of(&name).is_none() {
                continue;
            }
            match tokens.error_probe_of(&name).await {
                Ok(a) => {
                    // The app probe below asks the default auth's client.
                    token_endpoint_answers |= name == tokens.default_auth_name();
                    out.token_facts.push((ERROR_PROBE_POS, analyse_answer(&a)));
                }
                Err(e) => out
                    .errors
                    .push(failed(ProbeKind::Token, token::SUBJECT, &e)),
            }
        }
        if token_endpoint_answers {
            let redirect = s.auth.redirect_uri.as_ref().map(|r| r.value.as_str());
            match tokens.liveness_probe(redirect).await {
                Ok(a) => out.app = Some(app::classify(a.status, &a.headers, &a.body)),
                Err(e) => out.errors.push(failed(ProbeKind::App, app::SUBJECT, &e)),
            }
        }
        let (seen, errs) = super::callbacks::probe_callbacks(s, base, tokens, http, redactor).await;
        out.callbacks = seen;
        out.errors.extend(errs);
        out.errors.extend(self.cx.plan.url_errors(&provider));
        out
    }

    /// Calls every endpoint with each connection's token as the connection arrives from
    /// `ready` (see [`Self::acquire_tokens`]), `limits.concurrency` at once; each answer is
    /// analysed in its own task and filed as it arrives. `auth: none` endpoints are called
    /// once, at the start. `401`s wait in [`Probed::unauthorized`] for
    /// [`Self::recover_rejected`].
    async fn probe_endpoints(
        &self,
        mut ready: tokio::sync::mpsc::UnboundedReceiver<(usize, SecretString)>,
        evidence: &mut [EndpointEvidence],
        errors: &mut Vec<RunError>,
    ) -> Probed {
        let mut tasks = CallSet::new();
        let mut tokens: BTreeMap<String, SecretString> = BTreeMap::new();
        let mut probed = Probed {
            unauthorized: BTreeMap::new(),
            other_answers: BTreeMap::new(),
            failed: BTreeMap::new(),
            skipped: Vec::new(),
        };
        // Chained calls wait until every source they read has answered for their connection;
        // the others start at once, so independent endpoints run concurrently.
        let mut waiting: Vec<PlannedCall> = Vec::new();
        let mut answered: BTreeMap<(usize, String), super::chain::SourceValues> = BTreeMap::new();
        // `auth: none` endpoints are probed once, by the gather that runs provider-wide.
        let mut start = if self.provider_wide {
            self.cx.plan.calls_of(None)
        } else {
            Vec::new()
        };
        // Calls ready to start, in order. Only a bounded number are tasks at once: the
        // `limits.concurrency` in flight and as many waiting for a permit (so a finished call
        // hands its permit straight to the next); the others wait here as an endpoint position
        // and a connection id, not as a task and a request each, which a token's arrival would
        // otherwise build for every endpoint at once while the first calls are being sent.
        let mut queued: VecDeque<PlannedCall> = VecDeque::new();
        let spawned_at_most = 2 * self.s.limits.concurrency.max(1);
        let mut more = true;
        loop {
            for call in std::mem::take(&mut start) {
                if self.depends_on(call.endpoint).is_empty() {
                    queued.push_back(call);
                } else {
                    waiting.push(call);
                }
            }
            while tasks.len() < spawned_at_most
                && let Some(call) = queued.pop_front()
            {
                self.start_call(&mut tasks, call, &tokens, &answered, &mut probed, errors);
            }
            let joined = tokio::select! {
                arrived = ready.recv(), if more => {
                    match arrived {
                        Some((position, token)) => {
                            if let Some(conn) = self.s.connections.get(position) {
                                let id = conn.id.value.clone();
                                start = self.cx.plan.calls_of(Some(&id));
                                tokens.insert(id, token);
                            }
                        }
                        None => more = false,
                    }
                    continue;
                }
                joined = tasks.join_next(), if !tasks.is_empty() => joined,
                else => {
                    // Every token is in and nothing is in flight or queued: whatever still
                    // waits has a source that was never called.
                    queued.extend(std::mem::take(&mut waiting));
                    if queued.is_empty() {
                        break;
                    }
                    continue;
                }
            };
            let Some(joined) = joined else {
                continue;
            };
            let Ok((ei, conn_id, result)) = joined else {
                continue;
            };
            if let Err(e) = &result {
                note_failure(&mut probed.failed, ei, e);
            }
            if let Some(ep) = self.cx.plan.endpoints.get(ei)
                && !ep.chain_paths.is_empty()
            {
                let values = match &result {
                    Ok(a) => a.chained.clone().ok_or_else(|| {
                        format!("`{}` answered {} for this connection", ep.id, a.status)
                    }),
                    Err(e) => Err(format!(
                        "`{}` could not be probed for this connection ({})",
                        ep.id,
                        e.class()
                    )),
                };
                answered.insert((ei, conn_id.clone()), values);
                let (now, later): (Vec<PlannedCall>, Vec<PlannedCall>) =
                    std::mem::take(&mut waiting).into_iter().partition(|c| {
                        self.depends_on(c.endpoint)
                            .iter()
                            .all(|d| answered.contains_key(&(*d, c.connection.clone())))
                    });
                waiting = later;
                queued.extend(now);
            }
            match result {
                Ok(a) if a.status == 401 && conn_id != NO_CONNECTION => {
                    probed
                        .unauthorized
                        .entry(conn_id)
                        .or_default()
                        .push((ei, a));
                }
                result => {
                    if result.is_ok() {
                        *probed.other_answers.entry(conn_id.clone()).or_default() += 1;
                    }
                    self.absorb(evidence, errors, ei, conn_id, result);
                }
            }
        }
        probed
    }

    /// Suite positions of the endpoints `ei` reads chained values from.
    fn depends_on(&self, ei: usize) -> &[usize] {
        self.cx
            .plan
            .endpoints
            .get(ei)
            .map_or(&[], |e| e.depends_on.as_slice())
    }

    /// Starts one planned call: a templated endpoint gets its connection's target first (or is
    /// skipped, or is a `config` error, without a request).
    fn start_call(
        &self,
        tasks: &mut CallSet,
        call: PlannedCall,
        tokens: &BTreeMap<String, SecretString>,
        answered: &BTreeMap<(usize, String), super::chain::SourceValues>,
        probed: &mut Probed,
        errors: &mut Vec<RunError>,
    ) {
        let (Some(ep), Some(planned)) = (
            self.s.endpoints.get(call.endpoint),
            self.cx.plan.endpoints.get(call.endpoint),
        ) else {
            return;
        };
        let auth = if planned.no_auth {
            Auth::None
        } else {
            match tokens.get(call.connection.as_str()) {
                Some(t) => Auth::Bearer(t.clone()),
                None => return,
            }
        };
        if planned.templated {
            let sources: BTreeMap<String, super::chain::SourceValues> = planned
                .depends_on
                .iter()
                .filter_map(|d| {
                    let v = answered.get(&(*d, call.connection.clone()))?;
                    Some((self.s.endpoints.get(*d)?.base.clone(), v.clone()))
                })
                .collect();
            let empty = BTreeMap::new();
            let vars = self.vars.get(&call.connection).unwrap_or(&empty);
            match super::chain::resolve(&self.base, ep, vars, &sources) {
                Ok(t) => {
                    if let Ok(mut map) = self.targets.lock() {
                        map.insert((call.endpoint, call.connection.clone()), t);
                    }
                }
                Err(super::chain::Unresolved::Skip(reason)) => {
                    probed.skipped.push(super::types::SkippedProbe {
                        provider: self.provider().to_string(),
                        subject: ep.id.value.clone(),
                        connection: call.connection,
                        endpoint: ep.base.clone(),
                        reason,
                    });
                    return;
                }
                Err(super::chain::Unresolved::Config(message)) => {
                    errors.push(run_error(
                        self.provider(),
                        Some(call.connection),
                        Some(ep.id.value.clone()),
                        "config",
                        self.cx.redactor.scrub(&message),
                    ));
                    return;
                }
            }
        }
        self.spawn_call(tasks, call.endpoint, call.connection, auth);
    }

    /// Where `conn` calls endpoint `ei`, with which headers: `None` for an `auth: none`
    /// endpoint, or a templated one not resolved for `conn` (skipped).
    fn target(&self, ei: usize, conn: &str) -> Option<super::chain::Target> {
        let planned = self.cx.plan.endpoints.get(ei)?;
        if planned.no_auth {
            return None;
        }
        if planned.templated {
            return self
                .targets
                .lock()
                .ok()?
                .get(&(ei, conn.to_string()))
                .cloned();
        }
        Some(super::chain::Target {
            url: planned.url.as_ref().ok()?.clone(),
            headers: self.s.endpoints.get(ei)?.headers.clone(),
        })
    }

    /// The `401`s of each connection, once all its answers are in: a permission answer is
    /// evidence; a refused access token gets one refresh and one retry per request, and the
    /// connection's state says whether that recovered it.
    async fn recover_rejected(
        &self,
        probed: &mut Probed,
        ready: &mut [(&'a Connection, SecretString)],
        statuses: &mut [ConnectionStatus],
        token_facts: &mut Vec<(usize, TokenFacts)>,
        evidence: &mut [EndpointEvidence],
        errors: &mut Vec<RunError>,
    ) {
        let (s, tokens, provider) = (self.s, &*self.tokens, self.provider().to_string());
        let unauthorized = std::mem::take(&mut probed.unauthorized);
        for (conn_id, mut answers) in unauthorized {
            answers.sort_by_key(|(ei, _)| *ei);
            let headers: Vec<&[(String, String)]> =
                answers.iter().map(|(_, a)| a.headers.as_slice()).collect();
            let others = probed.other_answers.get(&conn_id).copied().unwrap_or(0);
            let Some(conn) = s.connections.iter().find(|c| c.id.value == conn_id) else {
                continue;
            };
            if !connections::token_rejected(&headers, others) {
                for (ei, a) in answers {
                    self.absorb(evidence, errors, ei, conn_id.clone(), Ok(a));
                }
                continue;
            }
            // The access token was refused: one refresh for the connection, one retry per request.
            let mut exchanges: Vec<String> =
                answers.iter().map(|(_, a)| a.exchange_id.clone()).collect();
            let renewed = tokens.renew_rejected(conn, &scopes_of(s, conn)).await;
            let pos = self.position(&conn_id);
            token_facts.extend(
                tokens
                    .take_answers()
                    .iter()
                    .map(|a| (pos, analyse_answer(a))),
            );
            let status = match renewed {
                Err(e) => connections::unusable(
                    &e,
                    connections::Failure {
                        provider: &provider,
                        conn,
                        reconnect: tokens.reconnect_hint(conn),
                        view: StoreView::read(self.credentials, conn),
                        detail: self.cx.redactor.scrub(&e.to_string()),
                        exchanges,
                    },
                ),
                Ok(token) => {
                    let mut retries = CallSet::new();
                    for (ei, _) in &answers {
                        let auth = Auth::Bearer(token.clone());
                        self.spawn_call(&mut retries, *ei, conn_id.clone(), auth);
                    }
                    let mut retried = Vec::new();
                    while let Some(joined) = retries.join_next().await {
                        if let Ok(r) = joined {
                            retried.push(r);
                        }
                    }
                    retried.sort_by_key(|(ei, _, _)| *ei);
                    for (ei, _, r) in &retried {
                        if let Err(e) = r {
                            note_failure(&mut probed.failed, *ei, e);
                        }
                    }
                    exchanges.extend(
                        retried
                            .iter()
                            .filter_map(|(_, _, r)| r.as_ref().ok().map(|a| a.exchange_id.clone())),
                    );
                    let still: Vec<&[(String, String)]> = retried
                        .iter()
                        .filter_map(|(_, _, r)| match r {
                            Ok(a) if a.status == 401 => Some(a.headers.as_slice()),
                            _ => None,
                        })
                        .collect();
                    let answered = retried
                        .iter()
                        .filter(|(_, _, r)| matches!(r, Ok(a) if a.status != 401))
                        .count();
                    if connections::token_rejected(&still, others + answered) {
                        connections::rejected_again(
                            &provider,
                            conn,
                            tokens.reconnect_hint(conn),
                            StoreView::read(self.credentials, conn),
                            exchanges,
                        )
                    } else {
                        for (ei, id, r) in retried {
                            self.absorb(evidence, errors, ei, id, r);
                        }
                        if let Some(slot) = ready.iter_mut().find(|(c, _)| c.id.value == conn_id) {
                            slot.1 = token;
                        }
                        connections::recovered(&provider, conn, answers.len(), exchanges)
                    }
                }
            };
            if let Some(slot) = statuses.iter_mut().find(|c| c.connection == conn_id) {
                *slot = status;
            }
        }
    }

    /// Spawns one call of endpoint `ei` for `conn_id`; the task sends it (a 429/503 left after
    /// retries is an error, never the answer) and analyses the answer.
    fn spawn_call(&self, tasks: &mut CallSet, ei: usize, conn_id: String, auth: Auth) {
        let (Some(ep), Some(url)) = (self.s.endpoints.get(ei), self.cx.plan.url(ei)) else {
            return;
        };
        let templated = self.cx.plan.endpoints.get(ei).is_some_and(|p| p.templated);
        let target = if templated {
            match self
                .targets
                .lock()
                .ok()
                .and_then(|m| m.get(&(ei, conn_id.clone())).cloned())
            {
                Some(t) => t,
                None => return,
            }
        } else {
            super::chain::Target {
                url: url.clone(),
                headers: ep.headers.clone(),
            }
        };
        let req = endpoint_request_to(
            ep,
            &target,
            auth,
            format!("endpoint:{}", ep.id.value),
            (conn_id != NO_CONNECTION).then_some(conn_id.as_str()),
        );
        let (http, sem, cx) = (self.http.clone(), self.semaphore.clone(), self.cx.clone());
        tasks.spawn(async move {
            // The concurrency slot is the request's alone: the answer is analysed after it
            // is given back, so the next call does not wait for that.
            let sent = {
                let _permit = sem.acquire_owned().await;
                http.send(req).await
            };
            // The call the slot went to was woken onto this worker, to run after this task
            // (tokio's LIFO slot, which no other worker takes): yielding lets it send first
            // instead of after this answer's analysis.
            tokio::task::yield_now().await;
            let result = sent
                .and_then(Response::into_available)
                .map(|resp| analyse(&cx, ei, &conn_id, resp));
            (ei, conn_id, result)
        });
    }

    /// Files one analysed answer (or failure) as evidence and reports its progress.
    fn absorb(
        &self,
        evidence: &mut [EndpointEvidence],
        errors: &mut Vec<RunError>,
        ei: usize,
        conn_id: String,
        result: Result<Answer, HttpError>,
    ) {
        let Some(ep) = self.s.endpoints.get(ei) else {
            return;
        };
        (self.on_event)(Event::EndpointProbed {
            provider: self.provider().to_string(),
            endpoint: ep.id.value.clone(),
            connection: conn_id.clone(),
            status: result.as_ref().ok().map(|a| a.status),
        });
        match result {
            Err(e) => errors.push(run_error(
                self.provider(),
                Some(conn_id),
                Some(ep.id.value.clone()),
                e.class(),
                self.cx.redactor.scrub(&e.to_string()),
            )),
            Ok(a) => {
                if let Some(slot) = evidence.get_mut(ei) {
                    slot.add(conn_id, a, errors);
                }
            }
        }
    }
}

/// What a token fetch task needs of the gather (see [`Gatherer::acquire_tokens`]).
struct TokenFetcher {
    tokens: Arc<TokenManager>,
    credentials: CredentialStore,
    provider: String,
}

impl TokenFetcher {
    /// One connection's token and the facts of the token-endpoint answers it took.
    async fn acquire_one(
        &self,
        conn: &Connection,
        scopes: &[String],
    ) -> (TokenOutcome, Vec<TokenFacts>) {
        let tokens = &self.tokens;
        if let Some(c) =
            super::replay::consumed(&self.credentials, conn, || tokens.reconnect_hint(conn))
        {
            let status = super::replay::consumed_status(&self.provider, &conn.credential, &c);
            return (TokenOutcome::Consumed(status), Vec::new());
        }
        let result = tokens.access_token(conn, scopes).await;
        let facts = tokens
            .take_answers_of(&conn.credential)
            .iter()
            .map(analyse_answer)
            .collect();
        let outcome = match result {
            Ok(t) => {
                let state = if tokens.refreshed_this_run(conn) {
                    ConnectionState::Refreshed
                } else {
                    ConnectionState::Ok
                };
                TokenOutcome::Ready(t, state)
            }
            Err(e) => TokenOutcome::Failed(e),
        };
        (outcome, facts)
    }
}

/// Endpoint calls in flight: (endpoint index, connection, analysed answer).
type CallSet = tokio::task::JoinSet<(usize, String, Result<Answer, HttpError>)>;

/// Prefixes every exchange id of a shard (`s2-x0007`), in the exchanges and in
/// the evidence that links to them, so ids stay unique across merged shards.
pub(crate) fn prefix_exchange_ids(g: &mut Gathered, prefix: &str) {
    let fix = |id: &mut String| *id = format!("{prefix}{id}");
    for x in &mut g.exchanges {
        fix(&mut x.id);
    }
    for s in g.evidence.samples.iter_mut().flatten() {
        if let Some(id) = &mut s.exchange_id {
            fix(id);
        }
    }
    for v in g.evidence.violations.iter_mut().flatten() {
        if let Some(id) = &mut v.exchange_id {
            fix(id);
        }
    }
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

/// A call of endpoint `ep` with a connection's access token (the endpoint and permission probes).
pub(super) fn endpoint_request(
    ep: &Endpoint,
    target: &super::chain::Target,
    token: &secrecy::SecretString,
    purpose: String,
    connection: &str,
) -> Request {
    endpoint_request_to(
        ep,
        target,
        Auth::Bearer(token.clone()),
        purpose,
        Some(connection),
    )
}

/// A call of endpoint `ep` to `target` (its URL and headers, filled per connection).
fn endpoint_request_to(
    ep: &Endpoint,
    target: &super::chain::Target,
    auth: Auth,
    purpose: String,
    connection: Option<&str>,
) -> Request {
    Request {
        method: reqwest::Method::from_bytes(ep.method.as_bytes()).unwrap_or(reqwest::Method::GET),
        url: target.url.clone(),
        headers: target
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        auth,
        form: None,
        purpose,
        connection: connection.map(str::to_string),
    }
}

/// Every connection's `${conn:…}` values: the credential entry's `vars` (a credential
/// helper's answer may carry them), overridden by the suite's `vars`.
fn connection_vars(
    s: &Suite,
    credentials: &CredentialStore,
) -> BTreeMap<String, BTreeMap<String, String>> {
    s.connections
        .iter()
        .map(|c| {
            let mut vars = if s.endpoints.iter().any(|e| !e.conn_vars().is_empty()) {
                credentials
                    .get(&c.credential)
                    .ok()
                    .flatten()
                    .map(|e| e.vars)
                    .unwrap_or_default()
            } else {
                BTreeMap::new()
            };
            vars.extend(c.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            (c.id.value.clone(), vars)
        })
        .collect()
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

/// Remembers that endpoint `ei` timed out or failed in transport (not a
/// status: an answer, even a 5xx, says the endpoint is there).
fn note_failure(failed: &mut BTreeMap<usize, &'static str>, ei: usize, e: &crate::http::HttpError) {
    let class = e.class();
    if matches!(class, "timeout" | "connect" | "transport" | "tls") {
        failed.entry(ei).or_insert(class);
    }
}

pub(super) fn run_error(
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

#[cfg(test)]
#[path = "gather_tests.rs"]
mod tests;
