//! The gather half of a suite's run: tokens, endpoint calls and the active
//! probes, turned into [`SuiteEvidence`]. Talks to the network; compares
//! nothing and never opens the baseline (that is `assess`).

use super::connections::{self, StoreView};
use super::credentials::token_health;
use super::evidence::{
    ERROR_PROBE_POS, EndpointInfo, PermissionEvidence, SampleEvidence, SignalsEvidence,
    SuiteEvidence, ViolationEvidence,
};
use super::execute::{Event, RunOptions, SuiteSummary};
use super::session::{ProviderSession, join};
use super::shard::scopes_of;
use crate::auth::CredentialStore;
use crate::error::Error;
use crate::http::{Auth, Redactor, Request};
use crate::model::{ConnectionState, ConnectionStatus, Exchange, ProbeKind, RunError};
use crate::probe::schema::Declared;
use crate::probe::shape;
use crate::suite::{DeclaredSchema, Endpoint, Suite};
use std::collections::BTreeMap;
use std::sync::Arc;
use url::Url;

/// What gathering one suite produced.
pub(crate) struct Gathered {
    pub summary: SuiteSummary,
    pub evidence: SuiteEvidence,
    pub errors: Vec<RunError>,
    pub exchanges: Vec<Exchange>,
    pub redactor: Arc<Redactor>,
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
    let suite_file = s.file.display().to_string();
    let n = s.endpoints.len();
    on_event(Event::SuiteStarted {
        provider: provider.clone(),
        connections: s.connections.len(),
        endpoints: n,
    });
    let mut ev = SuiteEvidence {
        file: suite_file.clone(),
        provider: provider.clone(),
        all_connections: all_connections.to_vec(),
        endpoints: s
            .endpoints
            .iter()
            .map(|e| EndpointInfo {
                id: e.id.value.clone(),
                requires: e.requires.clone(),
            })
            .collect(),
        scope_sets: super::permissions::scope_set_map(s),
        provider_wide,
        token_facts: Vec::new(),
        samples: vec![Vec::new(); n],
        violations: vec![Vec::new(); n],
        values: vec![Vec::new(); n],
        signals: vec![Vec::new(); n],
        metadata: Vec::new(),
        metadata_findings: Vec::new(),
        permissions: None,
        refresh: Vec::new(),
        tokens: Vec::new(),
        connections: Vec::new(),
    };
    let position = |id: &str| {
        all_connections
            .iter()
            .position(|c| c == id)
            .unwrap_or(ERROR_PROBE_POS - 1)
    };
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

    // Tokens first, one connection at a time: refreshes are serialised anyway,
    // and a rotated refresh token is persisted before any probe uses the access token.
    // Each connection's state is decided here, before anything is compared.
    let mut ready = Vec::new();
    for conn in &s.connections {
        // A disposable grant an earlier replay revoked: skipped, reported as consumed.
        if let Some(c) = super::replay::consumed(credentials, conn, || tokens.reconnect_hint(conn))
        {
            ev.connections.push(super::replay::consumed_status(
                &provider,
                &conn.credential,
                &c,
            ));
            continue;
        }
        let scopes = scopes_of(s, conn);
        let result = tokens.access_token(conn, &scopes).await;
        let pos = position(&conn.id.value);
        ev.token_facts
            .extend(tokens.take_facts().into_iter().map(|f| (pos, f)));
        match result {
            Ok(t) => {
                let state = if tokens.refreshed_this_run(conn) {
                    ConnectionState::Refreshed
                } else {
                    ConnectionState::Ok
                };
                ev.connections.push(ConnectionStatus::healthy(
                    &provider,
                    &conn.id.value,
                    &conn.credential,
                    state,
                ));
                ready.push((conn, t));
            }
            Err(e) => {
                let message = redactor.scrub(&e.to_string());
                on_event(Event::ConnectionFailed {
                    provider: provider.clone(),
                    connection: conn.id.value.clone(),
                    message: message.clone(),
                });
                ev.connections.push(connections::unusable(
                    &e,
                    connections::Failure {
                        provider: &provider,
                        conn,
                        reconnect: tokens.reconnect_hint(conn),
                        view: StoreView::read(credentials, conn),
                        detail: message,
                        exchanges: Vec::new(),
                    },
                ));
            }
        }
    }

    // The token probe's one deliberate error: provider-wide.
    if provider_wide && tokens.client().is_some() {
        match tokens.error_probe().await {
            Ok(f) => ev.token_facts.push((ERROR_PROBE_POS, f)),
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

    let semaphore = Arc::new(tokio::sync::Semaphore::new(s.limits.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let urls: Vec<Option<Url>> = s
        .endpoints
        .iter()
        .map(|ep| match endpoint_url(&base, ep) {
            Ok(u) => Some(u),
            Err(message) => {
                if provider_wide {
                    errors.push(run_error(
                        &provider,
                        None,
                        Some(ep.id.value.clone()),
                        "config",
                        message,
                    ));
                }
                None
            }
        })
        .collect();
    for (ei, ep) in s.endpoints.iter().enumerate() {
        let Some(url) = urls[ei].clone() else {
            continue;
        };
        for (conn, token) in &ready {
            let req = endpoint_request(
                ep,
                &url,
                token,
                format!("endpoint:{}", ep.id.value),
                &conn.id.value,
            );
            spawn_call(
                &mut tasks,
                &http,
                &semaphore,
                req,
                ei,
                conn.id.value.clone(),
            );
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
    let value_specs: Vec<Option<crate::probe::values::ValuesSpec>> = s
        .endpoints
        .iter()
        .map(|ep| ep.values.as_ref().map(values_spec))
        .collect();
    let cx = Absorb {
        s,
        provider: &provider,
        redactor: &redactor,
        declared: &declared,
        value_specs: &value_specs,
        on_event,
    };
    // A `401` waits until every answer of its connection is in: it may be a rejected
    // access token (refresh once, retry once) or a permission answer.
    let mut unauthorized: BTreeMap<String, Vec<(usize, crate::http::Response)>> = BTreeMap::new();
    let mut other_answers: BTreeMap<String, usize> = BTreeMap::new();
    // Endpoints that timed out or broke this run: later probes do not call them again.
    let mut failed: BTreeMap<usize, &'static str> = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((ei, conn_id, result)) = joined else {
            continue;
        };
        if let Err(e) = &result {
            note_failure(&mut failed, ei, e);
        }
        match result {
            Ok(resp) if resp.status == 401 => {
                unauthorized.entry(conn_id).or_default().push((ei, resp));
            }
            result => {
                if result.is_ok() {
                    *other_answers.entry(conn_id.clone()).or_default() += 1;
                }
                cx.absorb(&mut ev, &mut errors, ei, conn_id, result);
            }
        }
    }
    for (conn_id, mut answers) in unauthorized {
        answers.sort_by_key(|(ei, _)| *ei);
        let headers: Vec<&[(String, String)]> =
            answers.iter().map(|(_, r)| r.headers.as_slice()).collect();
        let others = other_answers.get(&conn_id).copied().unwrap_or(0);
        let Some(conn) = s.connections.iter().find(|c| c.id.value == conn_id) else {
            continue;
        };
        if !connections::token_rejected(&headers, others) {
            for (ei, resp) in answers {
                cx.absorb(&mut ev, &mut errors, ei, conn_id.clone(), Ok(resp));
            }
            continue;
        }
        // The access token was refused: one refresh for the connection, one retry per request.
        let mut exchanges: Vec<String> =
            answers.iter().map(|(_, r)| r.exchange_id.clone()).collect();
        let renewed = tokens.renew_rejected(conn, &scopes_of(s, conn)).await;
        let pos = position(&conn_id);
        ev.token_facts
            .extend(tokens.take_facts().into_iter().map(|f| (pos, f)));
        let status = match renewed {
            Err(e) => connections::unusable(
                &e,
                connections::Failure {
                    provider: &provider,
                    conn,
                    reconnect: tokens.reconnect_hint(conn),
                    view: StoreView::read(credentials, conn),
                    detail: redactor.scrub(&e.to_string()),
                    exchanges,
                },
            ),
            Ok(token) => {
                let mut retries = tokio::task::JoinSet::new();
                for (ei, _) in &answers {
                    let (ep, Some(url)) = (&s.endpoints[*ei], urls[*ei].as_ref()) else {
                        continue;
                    };
                    let req = endpoint_request(
                        ep,
                        url,
                        &token,
                        format!("endpoint:{}", ep.id.value),
                        &conn_id,
                    );
                    spawn_call(&mut retries, &http, &semaphore, req, *ei, conn_id.clone());
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
                        note_failure(&mut failed, *ei, e);
                    }
                }
                exchanges.extend(
                    retried
                        .iter()
                        .filter_map(|(_, _, r)| r.as_ref().ok().map(|r| r.exchange_id.clone())),
                );
                let still: Vec<&[(String, String)]> = retried
                    .iter()
                    .filter_map(|(_, _, r)| match r {
                        Ok(resp) if resp.status == 401 => Some(resp.headers.as_slice()),
                        _ => None,
                    })
                    .collect();
                let answered = retried
                    .iter()
                    .filter(|(_, _, r)| matches!(r, Ok(resp) if resp.status != 401))
                    .count();
                if connections::token_rejected(&still, others + answered) {
                    connections::rejected_again(
                        &provider,
                        conn,
                        tokens.reconnect_hint(conn),
                        StoreView::read(credentials, conn),
                        exchanges,
                    )
                } else {
                    for (ei, id, r) in retried {
                        cx.absorb(&mut ev, &mut errors, ei, id, r);
                    }
                    if let Some(slot) = ready.iter_mut().find(|(c, _)| c.id.value == conn_id) {
                        slot.1 = token;
                    }
                    connections::recovered(&provider, conn, answers.len(), exchanges)
                }
            }
        };
        if let Some(slot) = ev.connections.iter_mut().find(|c| c.connection == conn_id) {
            *slot = status;
        }
    }
    // An unusable connection is reported once, by its state: nothing it answered is evidence,
    // and its failures are not run errors too.
    let unusable = ev.unusable();
    ready.retain(|(c, _)| !unusable.contains(&c.id.value));
    errors.retain(|e| e.connection.as_ref().is_none_or(|c| !unusable.contains(c)));
    ev.drop_connections(&unusable);
    if provider_wide {
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
        }
        // Discovery metadata.
        let meta = super::metadata::probe(s, &http).await;
        errors.extend(meta.errors);
        ev.metadata = meta.observations;
        ev.metadata_findings = meta.findings;

        // Permissions: every scope set × endpoint, judged by the data. Its
        // connections are pinned to this shard (see `shard`).
        let scopes_fn = |c: &crate::suite::Connection| scopes_of(s, c);
        let perm = super::permissions::gather(
            s, &tokens, &http, &urls, &failed, &ready, &scopes_fn, accepted,
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
    let _ = tokens.take_facts();
    let window =
        chrono::Duration::from_std(opts.expiry_window).unwrap_or(chrono::Duration::days(7));
    ev.tokens = token_health(s, credentials, window)?;

    Ok(Gathered {
        summary: SuiteSummary {
            file: suite_file,
            provider,
            connections: s.connections.iter().map(|c| c.id.value.clone()).collect(),
            endpoints: s.endpoints.iter().map(|e| e.id.value.clone()).collect(),
        },
        evidence: ev,
        errors,
        exchanges: recorder.take(),
        redactor,
    })
}

/// Turns one endpoint answer into evidence: samples, values, violations, signals.
struct Absorb<'a> {
    s: &'a Suite,
    provider: &'a str,
    redactor: &'a Redactor,
    declared: &'a [Option<Result<Declared, String>>],
    value_specs: &'a [Option<crate::probe::values::ValuesSpec>],
    on_event: &'a (dyn Fn(Event) + Send + Sync),
}

impl Absorb<'_> {
    fn absorb(
        &self,
        ev: &mut SuiteEvidence,
        errors: &mut Vec<RunError>,
        ei: usize,
        conn_id: String,
        result: Result<crate::http::Response, crate::http::HttpError>,
    ) {
        let (s, provider, redactor, on_event) =
            (self.s, self.provider, self.redactor, self.on_event);
        let (declared, value_specs) = (self.declared, self.value_specs);
        let ep = &s.endpoints[ei];
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                on_event(Event::EndpointProbed {
                    provider: provider.to_string(),
                    endpoint: ep.id.value.clone(),
                    connection: conn_id.clone(),
                    status: None,
                });
                errors.push(run_error(
                    provider,
                    Some(conn_id),
                    Some(ep.id.value.clone()),
                    e.class(),
                    redactor.scrub(&e.to_string()),
                ));
                return;
            }
        };
        on_event(Event::EndpointProbed {
            provider: provider.to_string(),
            endpoint: ep.id.value.clone(),
            connection: conn_id.clone(),
            status: Some(resp.status),
        });
        ev.signals[ei].push(SignalsEvidence::new(
            conn_id.clone(),
            deprecation_signals(&resp.headers, &s.deprecation_headers),
        ));
        let content_type = resp.content_type().map(media_type);
        let is_json = content_type
            .as_deref()
            .is_some_and(|c| c == "application/json" || c.ends_with("+json"));
        let mut sample_shape = None;
        if (200..300).contains(&resp.status) && is_json {
            let err = |class: &str, message: String| {
                run_error(
                    provider,
                    Some(conn_id.clone()),
                    Some(ep.id.value.clone()),
                    class,
                    message,
                )
            };
            let needs_value = matches!(value_specs.get(ei), Some(Some(_)))
                || matches!(declared.get(ei), Some(Some(Ok(_))));
            if !needs_value {
                // Only the shape is needed: infer it while parsing, without building a `Value`
                // (same shape and errors as parse + infer, about 3× the throughput).
                match shape::infer_slice(&resp.body) {
                    Ok(sh) => sample_shape = Some(sh),
                    Err(shape::InferError::Json(e)) => errors.push(err(
                        "json",
                        redactor.scrub(&crate::http::JsonError::from_serde(e).to_string()),
                    )),
                    Err(shape::InferError::Shape(e)) => errors.push(err("json", e.to_string())),
                }
            } else {
                match resp.json() {
                    Ok(value) => match shape::infer(&value) {
                        Ok(sh) => {
                            sample_shape = Some(sh);
                            if let Some(Some(spec)) = value_specs.get(ei) {
                                match crate::probe::values::evaluate(spec, &conn_id, &value) {
                                    Ok(v) => ev.values[ei].push(v),
                                    Err(e) => errors.push(err("values", e)),
                                }
                            }
                            if let Some(Some(Ok(d))) = declared.get(ei) {
                                let v = d.violations(&value);
                                if !v.is_empty() {
                                    ev.violations[ei].push(ViolationEvidence::new(
                                        conn_id.clone(),
                                        v,
                                        Some(resp.exchange_id.clone()),
                                    ));
                                }
                            }
                        }
                        Err(e) => errors.push(err("json", e.to_string())),
                    },
                    Err(e) => errors.push(err("json", redactor.scrub(&e.to_string()))),
                }
            }
        }
        ev.push_sample(
            ei,
            SampleEvidence {
                connection: conn_id,
                status: resp.status,
                content_type,
                shape: sample_shape.map(std::sync::Arc::new),
                exchange_id: Some(resp.exchange_id.clone()),
            },
        );
    }
}

/// Spawns one endpoint call; a 429/503 left after retries is an error, never the answer.
fn spawn_call(
    tasks: &mut CallSet,
    http: &Arc<crate::http::HttpClient>,
    semaphore: &Arc<tokio::sync::Semaphore>,
    req: Request,
    ei: usize,
    conn_id: String,
) {
    let (http, sem) = (http.clone(), semaphore.clone());
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

/// Endpoint calls in flight: (endpoint index, connection, answer).
type CallSet = tokio::task::JoinSet<(
    usize,
    String,
    Result<crate::http::Response, crate::http::HttpError>,
)>;

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
    url: &Url,
    token: &secrecy::SecretString,
    purpose: String,
    connection: &str,
) -> Request {
    Request {
        method: reqwest::Method::from_bytes(ep.method.as_bytes()).unwrap_or(reqwest::Method::GET),
        url: url.clone(),
        headers: ep
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        auth: Auth::Bearer(token.clone()),
        form: None,
        purpose,
        connection: Some(connection.to_string()),
    }
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
