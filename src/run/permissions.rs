//! Orchestration of the permissions probe: one token per scope set (the
//! connection granted it, or down-scoping on refresh), every endpoint called
//! under every scope set, the answers handed to `probe::permissions`.
//!
//! All scope sets are probed through ONE account where down-scoping allows,
//! so "partial" compares the same customer's data, never two customers'.

use crate::auth::TokenManager;
use crate::http::HttpClient;
use crate::model::{ProbeKind, RunError};
use crate::probe::permissions::PermissionSample;
use crate::suite::{Connection, Suite};
use secrecy::SecretString;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use url::Url;

/// What the permissions probe gathered for one suite.
pub(crate) struct PermissionRun {
    /// Endpoint index → samples, one per probed scope set.
    pub samples: Vec<Vec<PermissionSample>>,
    /// `honoured`, `ignored`, `unknown` (the provider did not say) or `not-needed`.
    pub downscoping: String,
    pub errors: Vec<RunError>,
}

fn set_of(v: &[String]) -> BTreeSet<&str> {
    v.iter().map(String::as_str).collect()
}

/// Gathers the samples. `ready` holds each connection's normal access token.
pub(crate) async fn gather(
    s: &Suite,
    tokens: &TokenManager,
    http: &Arc<HttpClient>,
    urls: &[Option<Url>],
    ready: &[(&Connection, SecretString)],
    scopes_of: &dyn Fn(&Connection) -> Vec<String>,
) -> PermissionRun {
    let provider = s.provider.name.value.clone();
    let mut out = PermissionRun {
        samples: vec![Vec::new(); s.endpoints.len()],
        downscoping: "not-needed".into(),
        errors: Vec::new(),
    };
    if s.scope_sets.is_empty() || ready.is_empty() {
        return out;
    }
    // The probe account: the connection whose grant covers the most scope sets.
    let covers = |c: &Connection| {
        let own = scopes_of(c);
        let own = set_of(&own);
        s.scope_sets
            .values()
            .filter(|set| set_of(&set.value).is_subset(&own))
            .count()
    };
    let Some((probe_conn, probe_token)) = ready
        .iter()
        .max_by_key(|(c, _)| (covers(c), std::cmp::Reverse(c.pos)))
        .map(|(c, t)| (*c, t.clone()))
    else {
        return out;
    };
    let own = scopes_of(probe_conn);
    let mut verdicts: BTreeSet<&'static str> = BTreeSet::new();
    let mut per_set: Vec<(String, Vec<String>, SecretString)> = Vec::new();
    for (name, set) in &s.scope_sets {
        let wanted = set_of(&set.value);
        if wanted == set_of(&own) {
            per_set.push((name.clone(), set.value.clone(), probe_token.clone()));
        } else if wanted.is_subset(&set_of(&own)) {
            match tokens.access_token_downscoped(probe_conn, &set.value).await {
                Ok((token, returned)) => {
                    verdicts.insert(match returned {
                        Some(r) if set_of(&r) == wanted => "honoured",
                        Some(r) if set_of(&r) == set_of(&own) => "ignored",
                        Some(_) => "honoured",
                        None => "unknown",
                    });
                    per_set.push((name.clone(), set.value.clone(), token));
                }
                Err(e) => out.errors.push(RunError {
                    provider: provider.clone(),
                    connection: Some(probe_conn.id.value.clone()),
                    probe: Some(ProbeKind::Permissions),
                    subject: None,
                    class: e.class().into(),
                    message: format!("scope set `{name}`: cannot get a down-scoped token: {e}"),
                }),
            }
        } else if let Some((_, t)) = ready.iter().find(|(c, _)| set_of(&scopes_of(c)) == wanted) {
            // Not narrower than the probe account: use a connection granted exactly this set.
            per_set.push((name.clone(), set.value.clone(), t.clone()));
        } else {
            out.errors.push(RunError {
                provider: provider.clone(),
                connection: None,
                probe: Some(ProbeKind::Permissions),
                subject: None,
                class: "scope-set-unreachable".into(),
                message: format!(
                    "scope set `{name}` is neither held by a connection nor narrower than `{}`'s grant; it was not probed",
                    probe_conn.id.value
                ),
            });
        }
    }
    out.downscoping = match (
        verdicts.contains("ignored"),
        verdicts.contains("honoured"),
        verdicts.is_empty(),
    ) {
        (true, _, _) => "ignored",
        (false, true, _) => "honoured",
        (false, false, true) => "not-needed",
        _ => "unknown",
    }
    .into();

    let mut tasks = tokio::task::JoinSet::new();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(s.limits.concurrency.max(1)));
    for (ei, ep) in s.endpoints.iter().enumerate() {
        let Some(url) = urls[ei].clone() else {
            continue;
        };
        for (name, scopes, token) in &per_set {
            let req = super::gather::endpoint_request(
                ep,
                &url,
                token,
                format!("permissions:{}:{name}", ep.id.value),
                &probe_conn.id.value,
            );
            let (http, sem, name, scopes) = (
                http.clone(),
                semaphore.clone(),
                name.clone(),
                scopes.clone(),
            );
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await;
                (
                    ei,
                    name,
                    scopes,
                    // A 429/503 left after retries says nothing about the scope set.
                    http.send(req)
                        .await
                        .and_then(crate::http::Response::into_available),
                )
            });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((ei, scope_set, scopes, result)) = joined else {
            continue;
        };
        let sample = match result {
            Ok(resp) => PermissionSample {
                scope_set,
                scopes,
                status: Some(resp.status),
                body: resp.json().ok(),
                headers: resp.headers.clone(),
                transport_error: None,
            },
            Err(e) => PermissionSample {
                scope_set,
                scopes,
                status: None,
                headers: Vec::new(),
                body: None,
                transport_error: Some(e.class().to_string()),
            },
        };
        out.samples[ei].push(sample);
    }
    for v in &mut out.samples {
        v.sort_by(|a, b| a.scope_set.cmp(&b.scope_set));
    }
    out
}

/// Scope sets as plain lists, for findings.
pub(crate) fn scope_set_map(s: &Suite) -> BTreeMap<String, Vec<String>> {
    s.scope_sets
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect()
}
