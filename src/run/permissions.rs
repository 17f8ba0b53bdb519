//! Orchestration of the permissions probe: one token per scope set, every
//! endpoint called under every scope set, the answers handed to
//! `probe::permissions`.
//!
//! A scope set's token comes, in this order, from (a) a connection granted
//! exactly that set; (b) a narrowed refresh (RFC 6749 §6) of a `disposable`
//! connection; (c) a narrowed refresh of a connection whose accepted refresh
//! class says its old refresh token stays valid (non-rotating, or rotating
//! with the old token still valid for longer than the probe needs), keeping
//! the full-scope token in the store. Otherwise the set is `not-probed`: a
//! non-disposable grant on a rotating provider is never narrowed, because a
//! narrowed refresh can narrow its only refresh token for good (safety rule 4).
//! Among equals, the connection granted the most scope sets is used, so
//! "partial" compares one customer's data where it can. A disposable grant
//! whose narrowed refresh left it narrowed for good (recorded in its store
//! entry; `consumed` from the next run on) is not narrowed again this run.

use crate::auth::{Narrowing, TokenManager};
use crate::baseline::BaselineStore;
use crate::http::HttpClient;
use crate::model::{ObservationKey, ProbeKind, RunError};
use crate::probe::permissions::{Cell, PermissionSample};
use crate::probe::refresh::{Classification, RefreshClass};
use crate::suite::{Connection, Grant, Suite};
use secrecy::SecretString;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What the permissions probe gathered for one suite.
pub(crate) struct PermissionRun {
    /// Endpoint index → samples, one per probed scope set.
    pub samples: Vec<Vec<PermissionSample>>,
    /// Scope sets no token could be got for without risking a grant.
    pub not_probed: Vec<String>,
    /// `honoured`, `ignored`, `unknown` (the provider did not say), `not-needed`,
    /// or `not-probed` (narrowing was needed but no grant may be narrowed).
    pub downscoping: String,
    pub errors: Vec<RunError>,
}

impl PermissionRun {
    /// The classified matrix, one map per endpoint (`None`: nothing probed),
    /// with a `not-probed` cell for every scope set left out.
    pub(crate) fn cells(&self) -> Vec<Option<BTreeMap<String, Cell>>> {
        self.samples
            .iter()
            .map(|samples| {
                let mut cells = crate::probe::permissions::classify(samples);
                for set in &self.not_probed {
                    cells.insert(set.clone(), Cell::not_probed());
                }
                (!cells.is_empty()).then_some(cells)
            })
            .collect()
    }
}

/// The accepted (baseline) refresh classes of a suite's connections: the
/// permissions probe narrows a non-disposable grant only where they show the
/// old refresh token stays valid. Read by the run's orchestration, which owns
/// the baseline; gathering never opens it.
#[derive(Debug, Clone, Default)]
pub(crate) struct AcceptedRefresh {
    classes: BTreeMap<String, Classification>,
}

impl AcceptedRefresh {
    /// The accepted refresh observation of every connection of `s` (a connection's own class,
    /// or the provider's replay-tested ones, say whether its grant may be narrowed); none when
    /// the suite has no scope sets, so no permissions probe to consult them. A missing or
    /// unreadable one counts as unknown: that grant is not narrowed.
    pub(crate) fn load(store: &BaselineStore, s: &Suite) -> AcceptedRefresh {
        if s.scope_sets.is_empty() {
            return AcceptedRefresh::default();
        }
        let ids: Vec<String> = s.connections.iter().map(|c| c.id.value.clone()).collect();
        Self::load_for(store, &s.provider.name.value, &ids)
    }

    /// The accepted refresh observations of `connections` of `provider`, peeked at: a baseline
    /// read ahead stays there for the refresh observation's comparison.
    pub(crate) fn load_for(
        store: &BaselineStore,
        provider: &str,
        connections: &[String],
    ) -> AcceptedRefresh {
        let mut classes = BTreeMap::new();
        for conn in connections {
            let key = ObservationKey {
                provider: provider.to_owned(),
                probe: ProbeKind::Refresh,
                subject: crate::probe::refresh::SUBJECT.to_owned(),
                connection: Some(conn.clone()),
            };
            if let Ok(Some(obs)) = store.peek(&key)
                && let Ok(c) = serde_json::from_value::<Classification>(obs.body)
            {
                classes.insert(conn.clone(), c);
            }
        }
        AcceptedRefresh { classes }
    }

    /// The accepted classification of `connection`.
    pub(crate) fn get(&self, connection: &str) -> Option<&Classification> {
        self.classes.get(connection)
    }

    #[cfg(test)]
    pub(crate) fn from_classes(classes: BTreeMap<String, Classification>) -> Self {
        AcceptedRefresh { classes }
    }

    /// True when `connection`'s old refresh token stays valid after a refresh
    /// for at least `within_ms`: its own accepted class says so, or (when its
    /// own class is the passive `rotating`) every replay-tested class of the
    /// provider does.
    pub(crate) fn keeps_old_token(&self, connection: &str, within_ms: u64) -> bool {
        let verdict = |c: &Classification| match c.class {
            RefreshClass::NonRotating | RefreshClass::RotatingOldValid => Some(true),
            RefreshClass::RotatingGrace => {
                Some(c.grace_window_ms.is_some_and(|(ok, _)| ok >= within_ms))
            }
            RefreshClass::RotatingOneTime
            | RefreshClass::RotatingReuseRevokesGrant
            | RefreshClass::LazyRotation
            | RefreshClass::NoRefresh
            | RefreshClass::WithheldExpiring => Some(false),
            RefreshClass::Rotating | RefreshClass::Unknown => None,
        };
        match self.classes.get(connection) {
            Some(own) if own.class == RefreshClass::Rotating => {
                let active: Vec<bool> = self
                    .classes
                    .values()
                    .filter(|c| c.class.is_active_rotating())
                    .filter_map(verdict)
                    .collect();
                !active.is_empty() && active.iter().all(|safe| *safe)
            }
            Some(own) => verdict(own) == Some(true),
            None => false,
        }
    }
}

fn set_of(v: &[String]) -> BTreeSet<&str> {
    v.iter().map(String::as_str).collect()
}

/// Gathers the samples. `ready` holds each connection's normal access token.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn gather(
    s: &Suite,
    tokens: &TokenManager,
    http: &Arc<HttpClient>,
    targets: &(dyn Fn(usize, &str) -> Option<super::chain::Target> + Sync),
    failed: &BTreeMap<usize, &'static str>,
    ready: &[(&Connection, SecretString)],
    scopes_of: &(dyn Fn(&Connection) -> Vec<String> + Sync),
    accepted: &AcceptedRefresh,
) -> PermissionRun {
    let provider = s.provider.name.value.clone();
    let mut out = PermissionRun {
        samples: vec![Vec::new(); s.endpoints.len()],
        not_probed: Vec::new(),
        downscoping: "not-needed".into(),
        errors: Vec::new(),
    };
    if s.scope_sets.is_empty() || ready.is_empty() {
        return out;
    }
    let within_ms = u64::try_from(s.limits.timeout.as_millis()).unwrap_or(u64::MAX);
    // How a connection's grant may be narrowed, if at all.
    let narrowing = |c: &Connection| -> Option<Narrowing> {
        match s.auth_of(c).grant.value {
            // Client credentials ask for a new app token: no user grant to hurt.
            Grant::ClientCredentials => Some(Narrowing::KeepGrant),
            Grant::StaticBearer => None,
            Grant::AuthorizationCode | Grant::Password if c.disposable => Some(Narrowing::Spend),
            Grant::AuthorizationCode | Grant::Password => accepted
                .keeps_old_token(&c.id.value, within_ms)
                .then_some(Narrowing::KeepGrant),
        }
    };
    let covers = |c: &Connection| {
        let own = scopes_of(c);
        let own = set_of(&own);
        s.scope_sets
            .values()
            .filter(|set| set_of(&set.value).is_subset(&own))
            .count()
    };
    // The probe account: granted the most scope sets; among equals a disposable one,
    // then one whose old refresh token stays valid, so that the reference and the
    // narrowed sets come from one account, and the same one run after run (a baseline
    // refresh class that changes must not move the reference to another customer).
    let rank = |c: &Connection| match narrowing(c) {
        Some(Narrowing::Spend) => 2,
        Some(Narrowing::KeepGrant) => 1,
        None => 0,
    };
    let Some(probe_conn) = ready
        .iter()
        .max_by_key(|(c, _)| (covers(c), rank(c), std::cmp::Reverse(c.pos)))
        .map(|(c, _)| *c)
    else {
        return out;
    };
    let mut verdicts: BTreeSet<&'static str> = BTreeSet::new();
    let mut needed_narrowing = false;
    // Disposable connections a narrowed refresh left narrowed for good this run.
    let mut spent: BTreeSet<String> = BTreeSet::new();
    // (scope set, scopes, connection id, token)
    let mut per_set: Vec<(String, Vec<String>, String, SecretString)> = Vec::new();
    for (name, set) in &s.scope_sets {
        let wanted = set_of(&set.value);
        // (a) A connection granted exactly this set: nothing is spent.
        let holder = ready
            .iter()
            .filter(|(c, _)| serves(s, name, c))
            .filter(|(c, _)| set_of(&scopes_of(c)) == wanted)
            .min_by_key(|(c, _)| (c.id.value != probe_conn.id.value, c.pos));
        if let Some((c, t)) = holder {
            per_set.push((
                name.clone(),
                set.value.clone(),
                c.id.value.clone(),
                t.clone(),
            ));
            continue;
        }
        // (b) a disposable grant, then (c) one whose old refresh token stays valid.
        let mut candidates: Vec<(&Connection, Narrowing)> = ready
            .iter()
            .filter(|(c, _)| serves(s, name, c))
            .filter(|(c, _)| {
                let own = scopes_of(c);
                let own = set_of(&own);
                wanted.is_subset(&own) && wanted != own
            })
            .inspect(|_| needed_narrowing = true)
            .filter(|(c, _)| !spent.contains(&c.id.value))
            .filter_map(|(c, _)| narrowing(c).map(|n| (*c, n)))
            .collect();
        candidates.sort_by_key(|(c, n)| {
            (
                *n != Narrowing::Spend,
                c.id.value != probe_conn.id.value,
                c.pos,
            )
        });
        let Some((conn, how)) = candidates.first().copied() else {
            out.not_probed.push(name.clone());
            continue;
        };
        match tokens.access_token_downscoped(conn, &set.value, how).await {
            Ok(crate::auth::Downscoped {
                token,
                scope: returned,
                narrowed_for_good,
            }) => {
                if narrowed_for_good {
                    tracing::info!(
                        connection = %conn.id.value,
                        "the narrowed refresh left the disposable grant narrowed for good; it is consumed from the next run on"
                    );
                    spent.insert(conn.id.value.clone());
                }
                verdicts.insert(match returned {
                    Some(r) if set_of(&r) == wanted => "honoured",
                    Some(r) if set_of(&r) == set_of(&scopes_of(conn)) => "ignored",
                    Some(_) => "honoured",
                    None => "unknown",
                });
                per_set.push((
                    name.clone(),
                    set.value.clone(),
                    conn.id.value.clone(),
                    token,
                ));
            }
            Err(e) => out.errors.push(RunError {
                provider: provider.clone(),
                connection: Some(conn.id.value.clone()),
                probe: Some(ProbeKind::Permissions),
                subject: None,
                class: e.class().into(),
                message: format!("scope set `{name}`: cannot get a down-scoped token: {e}"),
            }),
        }
    }
    out.downscoping = match (
        verdicts.contains("ignored"),
        verdicts.contains("honoured"),
        verdicts.is_empty(),
    ) {
        (true, _, _) => "ignored",
        (false, true, _) => "honoured",
        (false, false, true) if needed_narrowing => "not-probed",
        (false, false, true) => "not-needed",
        _ => "unknown",
    }
    .into();

    let mut tasks = tokio::task::JoinSet::new();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(s.limits.concurrency.max(1)));
    for (ei, ep) in s.endpoints.iter().enumerate() {
        if ep.auth == crate::suite::EndpointAuth::None {
            continue;
        }
        // An endpoint that already timed out or broke this run is not called
        // again once per scope set: the run says so once, and no cell is made.
        if let Some(class) = failed.get(&ei).filter(|_| !per_set.is_empty()) {
            out.errors.push(RunError {
                provider: provider.clone(),
                connection: None,
                probe: Some(ProbeKind::Permissions),
                subject: Some(ep.id.value.clone()),
                class: (*class).to_string(),
                message: format!(
                    "not called for the scope sets: the endpoint failed ({class}) earlier in this run"
                ),
            });
            continue;
        }
        for (name, scopes, conn_id, token) in &per_set {
            // A templated endpoint whose chained value this connection lacks makes no cell.
            let Some(target) = targets(ei, conn_id) else {
                continue;
            };
            let req = super::gather::endpoint_request(
                ep,
                &target,
                token,
                format!("permissions:{}:{name}", ep.id.value),
                conn_id,
            );
            let (http, sem, name, scopes, conn_id) = (
                http.clone(),
                semaphore.clone(),
                name.clone(),
                scopes.clone(),
                conn_id.clone(),
            );
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await;
                (
                    ei,
                    name,
                    scopes,
                    conn_id,
                    // A 429/503 left after retries says nothing about the scope set.
                    http.send(req)
                        .await
                        .and_then(crate::http::Response::into_available),
                )
            });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((ei, scope_set, scopes, connection, result)) = joined else {
            continue;
        };
        let sample = match result {
            Ok(resp) => PermissionSample {
                scope_set,
                scopes,
                connection,
                status: Some(resp.status),
                body: resp.json().ok(),
                headers: resp.headers.clone(),
                transport_error: None,
            },
            Err(e) => PermissionSample {
                scope_set,
                scopes,
                connection,
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

/// Whether a token of `c` may stand for scope set `set` (several grants per provider): the
/// set belongs to the auths whose connections name it (`scope_set:`), and only their grants
/// serve it; a set no connection names belongs to every auth.
pub(crate) fn serves(s: &Suite, set: &str, c: &Connection) -> bool {
    if !s.has_several_auths() {
        return true;
    }
    let mut owners = s
        .connections
        .iter()
        .filter(|o| o.scope_set.as_ref().is_some_and(|n| n.value == set))
        .peekable();
    owners.peek().is_none() || owners.any(|o| o.auth == c.auth)
}

/// Scope sets as plain lists, for findings.
pub(crate) fn scope_set_map(s: &Suite) -> BTreeMap<String, Vec<String>> {
    s.scope_sets
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect()
}

/// The scopes each auth requests, keyed by where the suite says so: `auth.scopes` for the
/// single `auth:` form, `auths.<name>.scopes` with several auths. Auths requesting none are
/// left out.
pub(crate) fn auth_scope_map(s: &Suite) -> BTreeMap<String, Vec<String>> {
    if !s.has_several_auths() {
        return [("auth.scopes".to_owned(), s.auth.scopes.clone())]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
    }
    s.auths
        .iter()
        .filter(|(_, a)| !a.scopes.is_empty())
        .map(|(name, a)| (format!("auths.{name}.scopes"), a.scopes.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(class: RefreshClass, grace: Option<(u64, u64)>) -> Classification {
        Classification {
            class,
            grace_window_ms: grace,
            issues_refresh_tokens: true,
            access_token_lifetime_s: None,
            refresh_token_lifetime_s: None,
        }
    }

    fn accepted(pairs: &[(&str, Classification)]) -> AcceptedRefresh {
        AcceptedRefresh::from_classes(
            pairs
                .iter()
                .map(|(c, k)| ((*c).to_owned(), k.clone()))
                .collect(),
        )
    }

    #[test]
    fn only_classes_whose_old_token_stays_valid_may_be_narrowed() {
        use RefreshClass::*;
        let a = accepted(&[
            ("google", class(NonRotating, None)),
            ("entra", class(RotatingOldValid, None)),
            ("xero-long", class(RotatingGrace, Some((20_000, 40_000)))),
            ("xero-short", class(RotatingGrace, Some((500, 1_000)))),
            ("box", class(RotatingOneTime, None)),
            ("auth0", class(RotatingReuseRevokesGrant, None)),
            ("intuit", class(LazyRotation, None)),
            ("unknown", class(Unknown, None)),
        ]);
        assert!(a.keeps_old_token("google", 10_000));
        assert!(a.keeps_old_token("entra", 10_000));
        assert!(a.keeps_old_token("xero-long", 10_000));
        assert!(!a.keeps_old_token("xero-short", 10_000));
        assert!(!a.keeps_old_token("box", 10_000));
        assert!(!a.keeps_old_token("auth0", 10_000));
        assert!(!a.keeps_old_token("intuit", 10_000));
        assert!(!a.keeps_old_token("unknown", 10_000));
        // No accepted class at all: never narrowed.
        assert!(!a.keeps_old_token("new-connection", 10_000));
    }

    #[test]
    fn a_passive_rotating_class_borrows_the_providers_replay_tested_class() {
        use RefreshClass::*;
        let safe = accepted(&[
            ("customer", class(Rotating, None)),
            ("test-account", class(RotatingOldValid, None)),
        ]);
        assert!(safe.keeps_old_token("customer", 10_000));
        let unsafe_ = accepted(&[
            ("customer", class(Rotating, None)),
            ("test-account", class(RotatingReuseRevokesGrant, None)),
        ]);
        assert!(!unsafe_.keeps_old_token("customer", 10_000));
        let untested = accepted(&[("customer", class(Rotating, None))]);
        assert!(!untested.keeps_old_token("customer", 10_000));
    }
}
