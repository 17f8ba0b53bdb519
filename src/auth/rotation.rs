//! Refresh machinery of the token manager: one refresh request bracketed by
//! the in-flight marker and followed by persisting the newest refresh token
//! (`spend`), down-scoped tokens for the permissions probe, the active replay
//! sequence of the refresh probe, and the secret-free trace it classifies.

use super::response::TokenResponse;
use super::store::{
    Entry, InFlight, Narrowed, NarrowedCause, ReplayOutcome, Replayed, StoredSecret, kill,
};
use super::token::{AuthError, TokenManager, entry_from};
use crate::probe::refresh::{RefreshStep, StepKind};
use crate::suite::{Connection, Grant, ReplayPolicy};
use chrono::Utc;
use secrecy::SecretString;
use std::sync::Arc;

/// What a narrowed refresh (RFC 6749 §6 down-scoping) may do to the grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Narrowing {
    /// The grant may be spent (a `disposable` connection): whatever refresh
    /// token comes back becomes the connection's token, narrowed or not.
    Spend,
    /// The grant must stay whole: its old refresh token is known to stay valid
    /// (baseline refresh class), so a narrowed successor is never stored — the
    /// old token is refreshed again at once to get a full-scope one.
    KeepGrant,
}

/// A down-scoped access token, and what getting it did to the grant.
#[derive(Debug)]
pub struct Downscoped {
    pub token: SecretString,
    /// The `scope` the provider said it granted (None: it did not say).
    pub scope: Option<Vec<String>>,
    /// The narrowed refresh of a disposable grant rotated into a refresh token narrowed
    /// for good (recorded in the store entry: the connection is `consumed` from now on).
    pub narrowed_for_good: bool,
}

/// A narrowed refresh request.
pub(super) struct Narrow<'a> {
    pub scopes: &'a [String],
    /// Keep the presented (full-scope) refresh token in the store.
    pub keep_refresh_token: bool,
}

impl TokenManager {
    /// An access token for `conn` narrowed to `scopes` by refreshing with a
    /// `scope` parameter (client credentials: requesting them), with the `scope`
    /// the provider said it granted.
    ///
    /// `how` says what the narrowed refresh may cost the grant; the caller
    /// (the permissions probe) decides it, and never narrows a grant that is
    /// neither disposable nor known to keep its old refresh token valid. A
    /// disposable grant whose narrowed refresh rotated is asked for its whole
    /// grant back at once ([`widen_spent`](Self::widen_spent)): a provider that
    /// narrowed the refresh token for good is recorded in the entry (`narrowed`).
    pub async fn access_token_downscoped(
        &self,
        conn: &Connection,
        scopes: &[String],
        how: Narrowing,
    ) -> Result<Downscoped, AuthError> {
        match self.grant_of(conn) {
            Grant::ClientCredentials => {
                let mut form = vec![("grant_type".to_string(), "client_credentials".to_string())];
                form.push(("scope".into(), scopes.join(" ")));
                let (_, token) = self
                    .token_request(
                        &conn.credential,
                        Some(conn),
                        form,
                        "token:client_credentials",
                    )
                    .await?;
                Ok(Downscoped {
                    token: SecretString::from(token.access_token),
                    scope: token.scope,
                    narrowed_for_good: false,
                })
            }
            Grant::StaticBearer => Err(AuthError::Config {
                suite: self.provider.clone(),
                what: "static bearer tokens cannot be down-scoped".into(),
            }),
            Grant::AuthorizationCode | Grant::Password => {
                if how == Narrowing::Spend && !conn.disposable {
                    return Err(AuthError::Config {
                        suite: self.provider.clone(),
                        what: format!(
                            "connection `{}` is not disposable: its grant is never spent on a narrowed refresh",
                            conn.id.value
                        ),
                    });
                }
                let _gate = self.refresh_gate.lock().await;
                let lock = self.lock_store().await?;
                let entry = self
                    .store_get(&conn.credential)
                    .await?
                    .ok_or_else(|| self.not_connected(conn))?;
                let Some(rt) = entry.refresh_token.clone() else {
                    return Err(self.not_connected(conn));
                };
                let granted = entry.scopes.clone();
                let narrow = Narrow {
                    scopes,
                    keep_refresh_token: how == Narrowing::KeepGrant,
                };
                let (after, token) = self
                    .spend(conn, &lock, entry, &rt, StepKind::Refresh, Some(narrow))
                    .await?;
                let successor = token.refresh_token.clone().filter(|new| new != rt.expose());
                let mut narrowed_for_good = false;
                match (how, successor) {
                    (Narrowing::KeepGrant, Some(successor)) => {
                        self.rewiden(conn, &lock, after, &rt, successor).await?;
                    }
                    // Only a grant narrower than the one held can have been narrowed.
                    (Narrowing::Spend, Some(_)) if granted.iter().any(|g| !scopes.contains(g)) => {
                        narrowed_for_good = self
                            .widen_spent(conn, &lock, after, &granted, scopes)
                            .await?;
                    }
                    _ => {}
                }
                Ok(Downscoped {
                    token: SecretString::from(token.access_token),
                    scope: token.scope,
                    narrowed_for_good,
                })
            }
        }
    }

    /// After a narrowed refresh of a disposable grant that rotated: refresh its
    /// successor asking for the whole grant (`granted`) back. A provider that
    /// rotated into a refresh token narrowed for good (django-oauth-toolkit)
    /// refuses with `invalid_scope`, or answers a narrower `scope`; that is
    /// recorded in the entry (`narrowed`, with the date) and the connection is
    /// `consumed` until `connect` stores a new grant. Any other outcome
    /// proves nothing and records nothing. Returns whether it was narrowed for good.
    ///
    /// Only right after OUR narrowed refresh: a `scope` narrower than the
    /// suite's set at connect time (Google's granular consent) is the grant as
    /// given, and `granted` is what the entry holds, not what the suite asked.
    async fn widen_spent(
        &self,
        conn: &Connection,
        lock: &Arc<super::store::StoreLock>,
        current: Entry,
        granted: &[String],
        narrowed_to: &[String],
    ) -> Result<bool, AuthError> {
        let Some(successor) = current.refresh_token.clone() else {
            return Ok(false);
        };
        let widen = Narrow {
            scopes: granted,
            keep_refresh_token: false,
        };
        let (cause, scopes) = match self
            .spend(
                conn,
                lock,
                current,
                &successor,
                StepKind::Refresh,
                Some(widen),
            )
            .await
        {
            Ok((_, token)) => match token.scope {
                Some(answered) if granted.iter().any(|g| !answered.contains(g)) => {
                    (NarrowedCause::NarrowerScopeAnswered, answered)
                }
                _ => return Ok(false),
            },
            Err(AuthError::Refused { error, status, .. })
                if error == "invalid_scope" && status < 500 =>
            {
                (NarrowedCause::WideningRefused, narrowed_to.to_vec())
            }
            Err(e) => {
                tracing::warn!(
                    connection = %conn.id.value,
                    "after a narrowed refresh, asking the whole grant back failed ({}); whether the grant stays narrowed is unknown",
                    e.class()
                );
                return Ok(false);
            }
        };
        if let Some(mut e) = self.store_get(&conn.credential).await? {
            e.narrowed = Some(Narrowed {
                at: Utc::now(),
                cause,
                scopes,
            });
            self.store_put(lock, &conn.credential, e).await?;
        }
        Ok(true)
    }

    /// After a narrowed refresh that rotated on a grant whose old refresh token
    /// stays valid (the baseline says so): refresh at once with the old, full
    /// token, so the store ends up holding a full-scope refresh token, never a
    /// narrowed one. The narrowed successor is kept in memory only until that
    /// answer is persisted; should the old token be refused after all (the
    /// provider changed), the successor is stored as the newest token
    /// (safety rule 1) and the error says what happened.
    async fn rewiden(
        &self,
        conn: &Connection,
        lock: &Arc<super::store::StoreLock>,
        current: Entry,
        old: &StoredSecret,
        successor: String,
    ) -> Result<(), AuthError> {
        match self
            .spend(conn, lock, current, old, StepKind::Refresh, None)
            .await
        {
            Ok((mut e, token)) => {
                if token
                    .refresh_token
                    .as_deref()
                    .is_none_or(|rt| rt == old.expose())
                {
                    // No new token for the old one: the successor is the newest the
                    // provider issued, and the old one may die with its grace window.
                    e.refresh_token = Some(StoredSecret::new(successor));
                    self.store_put(lock, &conn.credential, e.clone()).await?;
                }
                self.remember(
                    &conn.credential,
                    &token.access_token,
                    e.access_token_expires_at,
                );
                Ok(())
            }
            Err(err) => {
                if let Some(mut e) = self.store_get(&conn.credential).await? {
                    e.refresh_token = Some(StoredSecret::new(successor));
                    self.store_put(lock, &conn.credential, e).await?;
                }
                Err(AuthError::Config {
                    suite: self.provider.clone(),
                    what: format!(
                        "connection `{}`: the baseline says its old refresh token stays valid, but after a narrowed refresh it was refused ({}); the narrowed successor was kept and may hold fewer scopes",
                        conn.id.value,
                        err.class()
                    ),
                })
            }
        }
    }

    /// The active refresh probe (disposable connections only): refresh, replay
    /// the rotated-away refresh token (again after `replay_delay`, to measure a
    /// grace window), then check that the newest token still works. Every
    /// answer that carries a refresh token is persisted before the next step,
    /// so the newest token is never lost, whatever the provider does.
    ///
    /// `policy` (`auth.refresh.replay`) is checked again under the store's lock:
    /// with `once`, of several concurrent runs only the first replays a grant.
    pub async fn active_refresh_probe(
        &self,
        conn: &Connection,
        replay_delay: Option<std::time::Duration>,
        policy: ReplayPolicy,
    ) -> Result<(), AuthError> {
        if !conn.disposable {
            return Err(AuthError::Config {
                suite: self.provider.clone(),
                what: format!(
                    "connection `{}` is not disposable: refresh tokens are never replayed on it",
                    conn.id.value
                ),
            });
        }
        let _gate = self.refresh_gate.lock().await;
        let lock = self.lock_store().await?;
        let key = conn.credential.clone();
        let entry = self
            .store_get(&key)
            .await?
            .ok_or_else(|| self.not_connected(conn))?;
        if entry.refresh_token.is_none() {
            return Err(self.not_connected(conn));
        }
        let replayed_before = entry.replayed.is_some();
        match policy {
            ReplayPolicy::Never => return Ok(()),
            ReplayPolicy::Once if replayed_before => return Ok(()),
            ReplayPolicy::Once | ReplayPolicy::EveryRun => {}
        }
        // Three refreshes in a row: lazy rotation (a value that changes only
        // every few refreshes) shows as a mix. `old` is the token the last
        // refresh presented — the one a rotation retired.
        let mut current = entry;
        let mut old = None;
        for _ in 0..3 {
            let Some(presented) = current.refresh_token.clone() else {
                break;
            };
            let (next, _) = self
                .spend(conn, &lock, current, &presented, StepKind::Refresh, None)
                .await?;
            current = next;
            old = Some(presented);
        }
        let Some(old) = old else {
            return Err(self.not_connected(conn));
        };
        let mut replay_ok = false;
        if let Ok((e, _)) = self
            .spend(
                conn,
                &lock,
                current.clone(),
                &old,
                StepKind::ReplayOld,
                None,
            )
            .await
        {
            current = e;
            replay_ok = true;
        } else if let Some(e) = self.store_get(&key).await? {
            current = e;
        }
        if let (true, Some(delay)) = (replay_ok, replay_delay) {
            tokio::time::sleep(delay).await;
            match self
                .spend(
                    conn,
                    &lock,
                    current.clone(),
                    &old,
                    StepKind::ReplayOld,
                    None,
                )
                .await
            {
                Ok((e, _)) => current = e,
                Err(_) => {
                    if let Some(e) = self.store_get(&key).await? {
                        current = e;
                    }
                }
            }
        }
        let outcome = match current.refresh_token.clone() {
            Some(newest) => match self
                .spend(conn, &lock, current, &newest, StepKind::CheckNewest, None)
                .await
            {
                Ok((e, token)) => {
                    self.remember(&key, &token.access_token, e.access_token_expires_at);
                    ReplayOutcome::GrantSurvived
                }
                Err(AuthError::Refused { .. } | AuthError::InvalidGrant { .. }) => {
                    ReplayOutcome::GrantRevoked
                }
                Err(_) => ReplayOutcome::Inconclusive,
            },
            None => ReplayOutcome::Inconclusive,
        };
        // Remember the replay with the grant (`auth.refresh.replay: once`); a new
        // grant from `connect` starts without it.
        if let Some(mut e) = self.store_get(&key).await? {
            e.replayed = Some(Replayed {
                at: Utc::now(),
                outcome,
            });
            self.store_put(&lock, &key, e).await?;
        }
        Ok(())
    }

    /// Takes the refresh steps recorded for `conn` in this run.
    pub fn take_trace(&self, conn: &Connection) -> Vec<RefreshStep> {
        let mut traces = self.traces.lock().unwrap_or_else(|e| e.into_inner());
        traces
            .remove(&conn.credential)
            .map(|(_, steps)| steps)
            .unwrap_or_default()
    }

    /// One refresh request presenting `presented`, bracketed by the in-flight
    /// marker and followed by persisting whatever refresh token came back
    /// (the newest one). `current` is the stored entry (holding the newest
    /// token, which may differ from `presented` during replays). Returns the
    /// new stored entry and the response.
    pub(super) async fn spend(
        &self,
        conn: &Connection,
        lock: &Arc<super::store::StoreLock>,
        mut current: Entry,
        presented: &StoredSecret,
        kind: StepKind,
        narrower: Option<Narrow<'_>>,
    ) -> Result<(Entry, TokenResponse), AuthError> {
        let key = conn.credential.clone();
        self.http.redactor().register_token(presented.expose());
        let earlier_crash = current.refresh_in_flight.clone();
        let marker = InFlight {
            started_at: Utc::now(),
            pid: std::process::id(),
        };
        current.refresh_in_flight = Some(marker.clone());
        self.store_put(lock, &key, current.clone()).await?;
        kill::point("before-request");
        kill::in_flight();

        let mut form = vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), presented.expose().to_string()),
        ];
        if let Some(n) = &narrower {
            form.push(("scope".into(), n.scopes.join(" ")));
        }
        let result = self
            .token_request(&key, Some(conn), form, "token:refresh")
            .await;
        self.record_step(&key, kind, presented, &result);
        match result {
            Ok((_, token)) => {
                let newest = current.refresh_token.clone();
                let mut new_entry = entry_from(&token, Some(&current), newest, &current.scopes);
                if let Some(n) = &narrower {
                    // The grant keeps its scopes (RFC 6749 §6); only this access token is narrower.
                    new_entry.scopes = current.scopes.clone();
                    new_entry.access_token = current.access_token.clone();
                    new_entry.access_token_expires_at = current.access_token_expires_at;
                    if n.keep_refresh_token {
                        // The old token stays valid (baseline); the caller re-widens at once.
                        new_entry.refresh_token = Some(presented.clone());
                    }
                }
                if let Some(new_rt) = &token.refresh_token {
                    self.http.redactor().register_token(new_rt);
                }
                // Persist (journal, then store) before anyone can use the new access token.
                self.store_put_answer(lock, &key, &marker, new_entry.clone())
                    .await?;
                Ok((new_entry, token))
            }
            // A server error, even with an OAuth error body, does not say
            // whether the token was spent: keep the marker.
            Err(e @ AuthError::Refused { status: 500.., .. }) => Err(e),
            Err(AuthError::Refused { error, .. })
                if error == "invalid_grant" && kind == StepKind::Refresh =>
            {
                current.refresh_in_flight = None;
                record_rejection(&mut current, &error);
                self.store_put(lock, &key, current).await?;
                Err(AuthError::InvalidGrant {
                    key,
                    in_flight: earlier_crash,
                    reconnect: self.reconnect_hint(conn),
                })
            }
            Err(e @ AuthError::Refused { .. }) => {
                // A definite answer: nothing was spent.
                current.refresh_in_flight = earlier_crash;
                if let AuthError::Refused { error, .. } = &e
                    && error == "invalid_client"
                    && kind == StepKind::Refresh
                {
                    record_rejection(&mut current, error);
                }
                self.store_put(lock, &key, current).await?;
                Err(e)
            }
            // A redirect to another origin was refused before anything was sent
            // there, and the token endpoint answered with a redirect, not a token:
            // nothing was spent, so the store is left as it was.
            Err(
                e @ AuthError::Http {
                    source: crate::http::HttpError::CrossOriginRedirect { .. },
                    ..
                },
            ) => {
                current.refresh_in_flight = earlier_crash;
                self.store_put(lock, &key, current).await?;
                Err(e)
            }
            // Outcome unknown (network, timeout, unreadable): keep the marker.
            Err(e) => Err(e),
        }
    }

    /// Records one refresh step for the refresh probe (booleans only, no secrets).
    pub(super) fn record_step(
        &self,
        key: &str,
        kind: StepKind,
        presented: &StoredSecret,
        result: &Result<(u16, TokenResponse), AuthError>,
    ) {
        let mut traces = self.traces.lock().unwrap_or_else(|e| e.into_inner());
        let (start, steps) = traces
            .entry(key.to_string())
            .or_insert_with(|| (std::time::Instant::now(), Vec::new()));
        let at_ms = start.elapsed().as_millis() as u64;
        let step = match result {
            Ok((_, t)) => RefreshStep {
                kind,
                at_ms,
                ok: true,
                error: None,
                returned_refresh_token: t.refresh_token.is_some(),
                rotated: t
                    .refresh_token
                    .as_deref()
                    .is_some_and(|r| r != presented.expose()),
                expires_in: t.expires_in,
                refresh_token_expires_in: t.refresh_token_expires_in,
            },
            Err(e) => RefreshStep {
                kind,
                at_ms,
                ok: false,
                error: match e {
                    AuthError::Refused { error, .. } => Some(error.clone()),
                    other => Some(other.class().to_string()),
                },
                returned_refresh_token: false,
                rotated: false,
                expires_in: None,
                refresh_token_expires_in: None,
            },
        };
        steps.push(step);
    }
}

/// Notes in the entry that the provider refused its refresh token for good: the
/// connection's health is `dead` until `connect` writes a new entry.
fn record_rejection(entry: &mut Entry, error: &str) {
    let mut grant = entry.grant.clone().unwrap_or_default();
    grant.rejected = Some(super::health::Rejection {
        at: Utc::now(),
        error: error.to_string(),
    });
    entry.grant = Some(grant);
}
