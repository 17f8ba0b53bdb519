//! The token manager: hands probes an access token per connection, obtaining
//! it through the suite's grant and the credential store.
//!
//! Rotated refresh tokens are persisted (under the store's cross-process lock)
//! before the new access token is returned, on every path; a "refresh in
//! flight" marker brackets each refresh request. Probes never see refresh
//! tokens, and this module never formats reports.

use super::answer::{ERROR_PROBE_GRANT, TokenAnswer};
use super::health::GrantRecord;
use super::response::{Parsed, TokenResponse, parse_token_body, split_scope};
use super::store::{CredentialStore, Entry, InFlight, StoreError, StoredSecret};
use crate::http::{Auth, HttpClient, HttpError, Request};
use crate::probe::refresh::{RefreshStep, StepKind};
use crate::suite::{ClientAuth, Connection, Grant, RefreshLifetime, Suite};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use url::Url;

/// An access token is refreshed when it expires within this margin.
const EXPIRY_MARGIN_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no credentials stored for `{key}` in {store}; authorise the connection: `{reconnect}`"
    )]
    NotConnected {
        key: String,
        store: String,
        reconnect: String,
    },
    #[error("{}", invalid_grant_message(.key, .in_flight, .reconnect))]
    InvalidGrant {
        key: String,
        in_flight: Option<InFlight>,
        /// The command that re-authorises the connection.
        reconnect: String,
    },
    #[error("token endpoint refused `{key}`: HTTP {status}, error `{error}`{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        key: String,
        status: u16,
        error: String,
        description: Option<String>,
    },
    #[error("token endpoint answered `{key}` with HTTP {status} and an unreadable body: {reason}")]
    Unreadable {
        key: String,
        status: u16,
        reason: String,
    },
    #[error("token request for `{key}` failed: {source}")]
    Http {
        key: String,
        #[source]
        source: HttpError,
    },
    #[error(
        "the provider rejected the access token of `{key}` and there is no refresh token to renew it. Re-authorise the connection: `{reconnect}`"
    )]
    AccessTokenRejected { key: String, reconnect: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("suite `{suite}`: {what}")]
    Config { suite: String, what: String },
    /// The token endpoint could not be resolved when the session opened (discovery
    /// down, or a document naming another issuer); `class` is that run error's class.
    #[error("suite `{suite}`: no usable token endpoint: {reason}")]
    NoTokenEndpoint {
        suite: String,
        class: &'static str,
        reason: String,
    },
}

fn invalid_grant_message(key: &str, in_flight: &Option<InFlight>, reconnect: &str) -> String {
    match in_flight {
        Some(f) => format!(
            "the refresh token for `{key}` was rejected (invalid_grant). A refresh of this credential started at {} by process {} never completed: the provider spent the token but its successor was never saved. Re-authorise the connection: `{reconnect}`",
            f.started_at.to_rfc3339(),
            f.pid
        ),
        None => format!(
            "the refresh token for `{key}` was rejected (invalid_grant): it expired, was revoked, or was already used. Re-authorise the connection: `{reconnect}`"
        ),
    }
}

impl AuthError {
    /// Short class for run errors.
    pub fn class(&self) -> &'static str {
        match self {
            AuthError::NotConnected { .. } => "not-connected",
            AuthError::InvalidGrant { .. } => "invalid-grant",
            AuthError::Refused { .. } => "token-refused",
            AuthError::AccessTokenRejected { .. } => "access-token-rejected",
            AuthError::Unreadable { .. } => "token-unreadable",
            // The transport's own class (`timeout`, `tls`, `rate-limited`…):
            // the missing subject already says it was the token request.
            AuthError::Http { source, .. } => source.class(),
            AuthError::Store(_) => "credential-store",
            AuthError::Config { .. } => "config",
            AuthError::NoTokenEndpoint { class, .. } => class,
        }
    }
}

/// The token endpoint and client credentials of one suite.
#[derive(Clone)]
pub struct ClientRegistration {
    pub token_url: Url,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub client_auth: ClientAuth,
}

struct Cached {
    token: SecretString,
    expires_at: Option<DateTime<Utc>>,
}

/// Obtains access tokens for one provider's connections.
pub struct TokenManager {
    pub(super) provider: String,
    pub(super) suite_file: String,
    /// Grant, lifetimes and client of every auth of the suite, by name; each connection is
    /// served by the one it names (`connections[].auth`).
    auths: std::collections::BTreeMap<String, AuthSetup>,
    /// The auth of [`Suite::auth`], for what is not about one connection.
    default_auth: String,
    /// Never served in practice (`new` always files the default auth under `default_auth`):
    /// what a lookup falls back to instead of panicking.
    fallback: AuthSetup,
    pub(super) http: Arc<HttpClient>,
    pub(super) store: CredentialStore,
    /// Serialises refreshes inside this process (the file lock covers other processes).
    pub(super) refresh_gate: tokio::sync::Mutex<()>,
    cache: Mutex<HashMap<String, Cached>>,
    /// Every token-endpoint answer as received, for the token probe to analyse, with the
    /// credential key the request was for (tokens are acquired concurrently). The manager only
    /// records them: what they mean is the token probe's business.
    pub(super) answers: Mutex<Vec<(String, TokenAnswer)>>,
    /// Refresh steps per credential (start instant, steps), for the refresh probe.
    pub(super) traces: Mutex<HashMap<String, (std::time::Instant, Vec<RefreshStep>)>>,
}

/// One auth's grant, documented refresh-token lifetimes and client registration.
struct AuthSetup {
    grant: Grant,
    lifetime: RefreshLifetime,
    client: Option<ClientRegistration>,
    /// Why there is no `client`, when the session could not resolve the token endpoint.
    no_endpoint: Option<(&'static str, String)>,
}

impl TokenManager {
    pub fn new(
        suite: &Suite,
        client: Option<ClientRegistration>,
        http: Arc<HttpClient>,
        store: CredentialStore,
    ) -> TokenManager {
        if let Some(secret) = client.as_ref().and_then(|c| c.client_secret.as_ref()) {
            http.redactor().register_token(secret.expose_secret());
        }
        let setup = |a: &crate::suite::Auth| AuthSetup {
            grant: a.grant.value,
            lifetime: a.refresh_token_lifetime,
            client: None,
            no_endpoint: None,
        };
        let mut auths: std::collections::BTreeMap<String, AuthSetup> = suite
            .auths
            .iter()
            .map(|(name, a)| (name.clone(), setup(a)))
            .collect();
        // The auth `Suite::auth` is: `default`, else the first by name (see the loader).
        let default_auth = if auths.contains_key(crate::suite::DEFAULT_AUTH) || auths.is_empty() {
            crate::suite::DEFAULT_AUTH.to_string()
        } else {
            auths.keys().next().cloned().unwrap_or_default()
        };
        auths
            .entry(default_auth.clone())
            .or_insert_with(|| setup(&suite.auth))
            .client = client;
        TokenManager {
            provider: suite.provider.name.value.clone(),
            suite_file: suite.file.display().to_string(),
            auths,
            default_auth,
            fallback: setup(&suite.auth),
            http,
            store,
            refresh_gate: tokio::sync::Mutex::new(()),
            cache: Mutex::new(HashMap::new()),
            answers: Mutex::new(Vec::new()),
            traces: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the client registration of auth `name` (the session resolves one per auth).
    pub fn set_client(&mut self, name: &str, client: Option<ClientRegistration>) {
        if let Some(secret) = client.as_ref().and_then(|c| c.client_secret.as_ref()) {
            self.http.redactor().register_token(secret.expose_secret());
        }
        if let Some(setup) = self.auths.get_mut(name) {
            setup.client = client;
        }
    }

    /// The names of the suite's auths, sorted.
    pub fn auth_names(&self) -> Vec<String> {
        self.auths.keys().cloned().collect()
    }

    /// The name of the default auth (`auth:`, or the first of `auths:`).
    pub fn default_auth_name(&self) -> &str {
        &self.default_auth
    }

    /// The setup of auth `name`, else of the default auth.
    fn setup(&self, name: &str) -> &AuthSetup {
        self.auths
            .get(name)
            .or_else(|| self.auths.get(&self.default_auth))
            .unwrap_or(&self.fallback)
    }

    /// The setup serving `conn` (the default auth for requests of no connection).
    fn setup_of(&self, conn: Option<&Connection>) -> &AuthSetup {
        self.setup(conn.map_or(self.default_auth.as_str(), |c| c.auth.as_str()))
    }

    /// The grant `conn`'s auth uses.
    pub(super) fn grant_of(&self, conn: &Connection) -> Grant {
        self.setup_of(Some(conn)).grant
    }

    pub fn store(&self) -> &CredentialStore {
        &self.store
    }

    /// An access token for `conn`, valid for at least a minute.
    pub async fn access_token(
        &self,
        conn: &Connection,
        scopes: &[String],
    ) -> Result<SecretString, AuthError> {
        if let Some(t) = self.cached(&conn.credential) {
            return Ok(t);
        }
        match self.grant_of(conn) {
            Grant::StaticBearer => self.static_bearer(conn),
            Grant::ClientCredentials => self.client_credentials(conn, scopes).await,
            Grant::AuthorizationCode => self.refresh(conn, scopes).await,
            Grant::Password => {
                if self
                    .store_read(&conn.credential)?
                    .is_some_and(|e| e.refresh_token.is_some())
                {
                    self.refresh(conn, scopes).await
                } else {
                    self.password(conn, scopes).await
                }
            }
        }
    }

    /// A new access token for `conn` after an endpoint rejected the one it had (`401`):
    /// one refresh (client credentials: a new token), whatever the store believed about the
    /// old token's freshness. The caller retries the rejected request once with it.
    pub async fn renew_rejected(
        &self,
        conn: &Connection,
        scopes: &[String],
    ) -> Result<SecretString, AuthError> {
        self.forget(&conn.credential);
        match self.grant_of(conn) {
            Grant::StaticBearer => Err(AuthError::AccessTokenRejected {
                key: conn.credential.clone(),
                reconnect: self.reconnect_hint(conn),
            }),
            Grant::ClientCredentials => self.client_credentials(conn, scopes).await,
            Grant::AuthorizationCode | Grant::Password => {
                let _gate = self.refresh_gate.lock().await;
                let lock = self.lock_store().await?;
                let key = conn.credential.clone();
                let entry = self
                    .store_get(&key)
                    .await?
                    .ok_or_else(|| self.not_connected(conn))?;
                let Some(rt) = entry.refresh_token.clone() else {
                    if self.grant_of(conn) == Grant::Password {
                        drop(lock);
                        drop(_gate);
                        return self.password(conn, scopes).await;
                    }
                    return Err(AuthError::AccessTokenRejected {
                        key,
                        reconnect: self.reconnect_hint(conn),
                    });
                };
                let (e, token) = self
                    .spend(conn, &lock, entry, &rt, StepKind::Refresh, None)
                    .await?;
                drop(lock);
                self.remember(&key, &token.access_token, e.access_token_expires_at);
                Ok(SecretString::from(token.access_token))
            }
        }
    }

    /// True when a refresh of `conn` succeeded during this run.
    pub fn refreshed_this_run(&self, conn: &Connection) -> bool {
        let traces = self.traces.lock().unwrap_or_else(|e| e.into_inner());
        traces
            .get(&conn.credential)
            .is_some_and(|(_, steps)| steps.iter().any(|s| s.ok && s.kind == StepKind::Refresh))
    }

    /// Drops the cached access token of a credential (it was rejected).
    fn forget(&self, key: &str) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.remove(key);
    }

    /// The command that (re-)authorises `conn`.
    pub fn reconnect_hint(&self, conn: &Connection) -> String {
        match self.grant_of(conn) {
            Grant::Password => format!(
                "remove `{}` from the credential store; the next run signs in again",
                conn.credential
            ),
            _ => format!("driftwatch connect {} {}", self.suite_file, conn.id.value),
        }
    }

    fn cached(&self, key: &str) -> Option<SecretString> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .filter(|c| fresh(c.expires_at))
            .map(|c| c.token.clone())
    }

    pub(super) fn remember(&self, key: &str, token: &str, expires_at: Option<DateTime<Utc>>) {
        self.http.redactor().register_token(token);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(
            key.to_string(),
            Cached {
                token: SecretString::from(token.to_string()),
                expires_at,
            },
        );
    }

    fn static_bearer(&self, conn: &Connection) -> Result<SecretString, AuthError> {
        if let Some(t) = &conn.token {
            self.http.redactor().register_token(t.value.expose_secret());
            return Ok(t.value.clone());
        }
        let entry = self.store_read(&conn.credential)?;
        match entry.and_then(|e| e.access_token) {
            Some(t) => {
                self.remember(&conn.credential, t.expose(), None);
                Ok(SecretString::from(t.expose().to_string()))
            }
            None => Err(self.not_connected(conn)),
        }
    }

    pub(super) fn not_connected(&self, conn: &Connection) -> AuthError {
        AuthError::NotConnected {
            key: conn.credential.clone(),
            store: self.store.describe(),
            reconnect: self.reconnect_hint(conn),
        }
    }

    /// The legacy password grant; a returned refresh token is stored so later
    /// runs refresh instead of sending the password again.
    async fn password(
        &self,
        conn: &Connection,
        scopes: &[String],
    ) -> Result<SecretString, AuthError> {
        let (Some(user), Some(pass)) = (&conn.username, &conn.password) else {
            return Err(AuthError::Config {
                suite: self.provider.clone(),
                what: format!(
                    "connection `{}` needs `username` and `password`",
                    conn.id.value
                ),
            });
        };
        tracing::warn!(
            provider = %self.provider,
            connection = %conn.id.value,
            "using the password grant, which OAuth 2.1 removes"
        );
        self.http
            .redactor()
            .register_token(pass.value.expose_secret());
        let mut form = vec![
            ("grant_type".to_string(), "password".to_string()),
            ("username".to_string(), user.value.clone()),
            (
                "password".to_string(),
                pass.value.expose_secret().to_string(),
            ),
        ];
        if !scopes.is_empty() {
            form.push(("scope".into(), scopes.join(" ")));
        }
        let _gate = self.refresh_gate.lock().await;
        let lock = self.lock_store().await?;
        let (_, token) = self
            .token_request(&conn.credential, Some(conn), form, "token:password")
            .await?;
        let entry = entry_from(&token, None, None, scopes);
        self.store_put(&lock, &conn.credential, entry.clone())
            .await?;
        drop(lock);
        self.remember(
            &conn.credential,
            &token.access_token,
            entry.access_token_expires_at,
        );
        Ok(SecretString::from(token.access_token))
    }

    /// Reads an entry off the async workers (a credential helper may take seconds).
    /// Its secrets are registered with the redactor (see [`register_entry`](Self::register_entry)).
    pub(super) async fn store_get(&self, key: &str) -> Result<Option<Entry>, AuthError> {
        let store = self.store.clone();
        let key = key.to_string();
        let entry = tokio::task::spawn_blocking(move || store.get(&key))
            .await
            .map_err(|e| AuthError::Config {
                suite: self.provider.clone(),
                what: format!("credential store task failed: {e}"),
            })?
            .map_err(AuthError::from)?;
        if let Some(e) = &entry {
            self.register_entry(e);
        }
        Ok(entry)
    }

    /// [`store_get`](Self::store_get) on the calling thread.
    fn store_read(&self, key: &str) -> Result<Option<Entry>, AuthError> {
        let entry = self.store.get(key)?;
        if let Some(e) = &entry {
            self.register_entry(e);
        }
        Ok(entry)
    }

    /// Registers every secret of a store entry with the redactor by value, as soon as it is
    /// read: what a credential helper (or the store file) hands over may never be sent this
    /// run, yet must not reach any output if a provider or a message quotes it.
    pub(super) fn register_entry(&self, entry: &Entry) {
        for secret in [&entry.access_token, &entry.refresh_token]
            .into_iter()
            .flatten()
        {
            self.http.redactor().register_token(secret.expose());
        }
    }

    /// Writes an entry off the async workers; the caller holds the lock.
    pub(super) async fn store_put(
        &self,
        lock: &Arc<super::store::StoreLock>,
        key: &str,
        entry: Entry,
    ) -> Result<(), AuthError> {
        let (store, lock, key) = (self.store.clone(), lock.clone(), key.to_string());
        tokio::task::spawn_blocking(move || store.put(&lock, &key, entry))
            .await
            .map_err(|e| AuthError::Config {
                suite: self.provider.clone(),
                what: format!("credential store task failed: {e}"),
            })?
            .map_err(AuthError::from)
    }

    /// Persists a token answer off the async workers: journaled, then
    /// written, then the journal emptied (see [`CredentialStore::put_answer`]).
    pub(super) async fn store_put_answer(
        &self,
        lock: &Arc<super::store::StoreLock>,
        key: &str,
        marker: &InFlight,
        entry: Entry,
    ) -> Result<(), AuthError> {
        let (store, lock, key) = (self.store.clone(), lock.clone(), key.to_string());
        let marker = marker.clone();
        tokio::task::spawn_blocking(move || store.put_answer(&lock, &key, &marker, entry))
            .await
            .map_err(|e| AuthError::Config {
                suite: self.provider.clone(),
                what: format!("credential store task failed: {e}"),
            })?
            .map_err(AuthError::from)
    }

    pub(super) async fn lock_store(&self) -> Result<Arc<super::store::StoreLock>, AuthError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.lock())
            .await
            .map_err(|e| AuthError::Config {
                suite: self.provider.clone(),
                what: format!("lock task failed: {e}"),
            })?
            .map(Arc::new)
            .map_err(AuthError::from)
    }

    /// When the stored refresh token dies if nothing refreshes it, and why.
    pub fn refresh_token_deadline(&self, entry: &Entry) -> Option<(DateTime<Utc>, &'static str)> {
        refresh_deadline(entry, &self.setup(&self.default_auth).lifetime)
    }

    /// The token endpoint and client of `conn`'s auth (the default auth without a connection).
    fn registration(&self, conn: Option<&Connection>) -> Result<&ClientRegistration, AuthError> {
        self.registration_of(self.setup_of(conn))
    }

    fn registration_of<'s>(
        &self,
        setup: &'s AuthSetup,
    ) -> Result<&'s ClientRegistration, AuthError> {
        setup
            .client
            .as_ref()
            .ok_or_else(|| match &setup.no_endpoint {
                Some((class, reason)) => AuthError::NoTokenEndpoint {
                    suite: self.provider.clone(),
                    class,
                    reason: reason.clone(),
                },
                None => AuthError::Config {
                    suite: self.provider.clone(),
                    what: "the grant needs a token endpoint and a client id".into(),
                },
            })
    }

    /// Records why the token endpoint could not be resolved (a run error's class and
    /// message), so that every connection's token error says so.
    pub fn set_no_token_endpoint(&mut self, class: &'static str, reason: String) {
        let name = self.default_auth.clone();
        self.set_no_token_endpoint_of(&name, class, reason);
    }

    /// [`set_no_token_endpoint`](Self::set_no_token_endpoint) for auth `name`.
    pub fn set_no_token_endpoint_of(&mut self, name: &str, class: &'static str, reason: String) {
        if let Some(setup) = self.auths.get_mut(name) {
            setup.no_endpoint = Some((class, reason));
        }
    }

    async fn client_credentials(
        &self,
        conn: &Connection,
        scopes: &[String],
    ) -> Result<SecretString, AuthError> {
        let mut form = vec![("grant_type".to_string(), "client_credentials".to_string())];
        if !scopes.is_empty() {
            form.push(("scope".into(), scopes.join(" ")));
        }
        let (_, token) = self
            .token_request(
                &conn.credential,
                Some(conn),
                form,
                "token:client_credentials",
            )
            .await?;
        let expires_at = expiry(token.expires_in);
        self.remember(&conn.credential, &token.access_token, expires_at);
        Ok(SecretString::from(token.access_token))
    }

    /// Refresh-token grant under the cross-process lock, persisting first.
    /// Asks for `scopes` (RFC 6749 §6 down-scoping) when they are narrower than
    /// the grant's and the connection is disposable (safety rule 4). Refreshes early when the refresh token would otherwise die
    /// of idleness soon, to keep the connection alive.
    async fn refresh(
        &self,
        conn: &Connection,
        scopes: &[String],
    ) -> Result<SecretString, AuthError> {
        let _gate = self.refresh_gate.lock().await;
        if let Some(t) = self.cached(&conn.credential) {
            return Ok(t);
        }
        let lock = self.lock_store().await?;
        let key = conn.credential.clone();
        let entry = self
            .store_get(&key)
            .await?
            .ok_or_else(|| self.not_connected(conn))?;
        // Another process may have refreshed while we waited for the lock.
        let known_fresh = entry.access_token_expires_at.is_some()
            && fresh(entry.access_token_expires_at)
            && !needs_keep_alive(&entry, &self.setup_of(Some(conn)).lifetime);
        // Narrowing can narrow the grant for good (a rotating provider may scope
        // the new refresh token to the request): only a disposable grant may pay that.
        let downscope = conn.disposable
            && !scopes.is_empty()
            && !entry.scopes.is_empty()
            && scopes.iter().all(|s| entry.scopes.contains(s))
            && scopes.len() < entry.scopes.len();
        if let (Some(at), true) = (&entry.access_token, known_fresh && !downscope) {
            self.remember(&key, at.expose(), entry.access_token_expires_at);
            return Ok(SecretString::from(at.expose().to_string()));
        }
        let Some(rt) = entry.refresh_token.clone() else {
            // No refresh token (e.g. GitHub OAuth apps): the access token is all
            // there is; use it while it has not expired.
            return match &entry.access_token {
                Some(at) if entry.access_token_expires_at.is_none_or(|t| t > Utc::now()) => {
                    self.remember(&key, at.expose(), entry.access_token_expires_at);
                    Ok(SecretString::from(at.expose().to_string()))
                }
                _ => Err(self.not_connected(conn)),
            };
        };
        let narrower = downscope.then_some(super::rotation::Narrow {
            scopes,
            keep_refresh_token: false,
        });
        let (_, token) = self
            .spend(conn, &lock, entry, &rt, StepKind::Refresh, narrower)
            .await?;
        drop(lock);
        if !downscope {
            self.remember(&key, &token.access_token, expiry(token.expires_in));
        }
        Ok(SecretString::from(token.access_token))
    }

    /// Stores the grant obtained by exchanging an authorization code.
    pub async fn exchange_code(
        &self,
        conn: &Connection,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<(), AuthError> {
        self.http.redactor().register_token(code);
        self.http.redactor().register_token(verifier);
        let form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.to_string()),
            ("redirect_uri".to_string(), redirect_uri.to_string()),
            ("code_verifier".to_string(), verifier.to_string()),
        ];
        let key = conn.credential.clone();
        let (_, token) = self
            .token_request(&key, Some(conn), form, "token:authorization_code")
            .await?;
        self.store_grant(conn, &token, &[]).await
    }

    /// Stores a freshly obtained grant (authorization code or device flow).
    pub(crate) async fn store_grant(
        &self,
        conn: &Connection,
        token: &TokenResponse,
        requested: &[String],
    ) -> Result<(), AuthError> {
        if let Some(rt) = &token.refresh_token {
            self.http.redactor().register_token(rt);
        }
        let entry = entry_from(token, None, None, requested);
        let lock = self.lock_store().await?;
        self.store_put(&lock, &conn.credential, entry).await?;
        Ok(())
    }

    /// Sends a refresh request with a refresh token that cannot be valid, to
    /// observe how the token endpoint reports errors. Harmless: no real token
    /// is involved. Returns the answer, for the token probe.
    pub async fn error_probe(&self) -> Result<TokenAnswer, AuthError> {
        let name = self.default_auth.clone();
        self.error_probe_of(&name).await
    }

    /// [`error_probe`](Self::error_probe) with the token endpoint and client of auth `name`.
    pub async fn error_probe_of(&self, name: &str) -> Result<TokenAnswer, AuthError> {
        let setup = self.setup(name);
        let reg = self.registration_of(setup)?;
        let url = reg.token_url.clone();
        let form = vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            (
                "refresh_token".to_string(),
                // Fresh each time, so it is never mistaken for a replayed token.
                format!("driftwatch-error-probe-{}", super::pkce::random_token(12)),
            ),
        ];
        let resp = self
            .post_with(reg, "token-endpoint", &url, None, form, "token:error-probe")
            .await?;
        Ok(TokenAnswer {
            grant: ERROR_PROBE_GRANT.to_string(),
            requested_scopes: Vec::new(),
            previous_refresh_token: None,
            status: resp.status,
            headers: resp.headers,
            body: resp.body.clone(),
        })
    }

    /// The app probe's client-liveness request: an `authorization_code` grant with a code that
    /// cannot exist (fresh random, never issued), sent with the client's authentication and
    /// `redirect_uri` when the suite names one. It can only fail; how it fails tells whether
    /// the client is still authenticated. No real code or token is ever sent.
    pub async fn liveness_probe(
        &self,
        redirect_uri: Option<&str>,
    ) -> Result<TokenAnswer, AuthError> {
        let url = self.registration(None)?.token_url.clone();
        let mut form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            (
                "code".to_string(),
                format!("driftwatch-app-probe-{}", super::pkce::random_token(12)),
            ),
        ];
        if let Some(r) = redirect_uri {
            form.push(("redirect_uri".to_string(), r.to_string()));
        }
        let resp = self
            .client_post("token-endpoint", &url, None, form, "token:app-probe")
            .await?;
        Ok(TokenAnswer {
            grant: crate::probe::app::LIVENESS_GRANT.to_string(),
            requested_scopes: Vec::new(),
            previous_refresh_token: None,
            status: resp.status,
            headers: resp.headers,
            body: resp.body.clone(),
        })
    }

    /// Takes the token-endpoint answers recorded so far (each once).
    pub fn take_answers(&self) -> Vec<TokenAnswer> {
        std::mem::take(&mut *self.answers.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .map(|(_, a)| a)
            .collect()
    }

    /// Takes the token-endpoint answers for credential `key` only, in the order they came;
    /// other credentials' answers (requests still in flight) stay.
    pub fn take_answers_of(&self, key: &str) -> Vec<TokenAnswer> {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut *answers)
            .into_iter()
            .partition(|(k, _)| k == key);
        *answers = others;
        mine.into_iter().map(|(_, a)| a).collect()
    }

    /// The HTTP client (for flows such as `connect` that talk to the provider).
    pub fn http(&self) -> &Arc<HttpClient> {
        &self.http
    }

    /// The token endpoint and client, when the grant has one.
    pub fn client(&self) -> Option<&ClientRegistration> {
        self.setup(&self.default_auth).client.as_ref()
    }

    /// The token endpoint and client of auth `name`, when its grant has one.
    pub fn client_of(&self, name: &str) -> Option<&ClientRegistration> {
        self.auths.get(name).and_then(|s| s.client.as_ref())
    }

    /// POSTs a form to `url` with the client's authentication (Basic or in the body).
    pub(crate) async fn client_post(
        &self,
        key: &str,
        url: &Url,
        conn: Option<&Connection>,
        form: Vec<(String, String)>,
        purpose: &str,
    ) -> Result<crate::http::Response, AuthError> {
        let reg = self.registration(conn)?;
        self.post_with(reg, key, url, conn, form, purpose).await
    }

    /// [`client_post`](Self::client_post) with the client `reg`.
    async fn post_with(
        &self,
        reg: &ClientRegistration,
        key: &str,
        url: &Url,
        conn: Option<&Connection>,
        mut form: Vec<(String, String)>,
        purpose: &str,
    ) -> Result<crate::http::Response, AuthError> {
        let mut auth = Auth::None;
        match (reg.client_auth, &reg.client_id, &reg.client_secret) {
            (ClientAuth::Basic, Some(id), Some(secret)) => {
                auth = Auth::Basic {
                    user: id.clone(),
                    password: secret.clone(),
                };
            }
            (_, id, secret) => {
                if let Some(id) = id {
                    form.push(("client_id".into(), id.clone()));
                }
                if let Some(secret) = secret {
                    form.push(("client_secret".into(), secret.expose_secret().to_string()));
                }
            }
        }
        let req = Request {
            method: reqwest::Method::POST,
            url: url.clone(),
            headers: vec![("accept".into(), "application/json".into())],
            auth,
            form: Some(form),
            purpose: purpose.to_string(),
            connection: conn.map(|c| c.id.value.clone()),
        };
        // A 429/503 that outlived its retries says nothing about the token
        // endpoint's conformance: it is a failed request, not an answer.
        let sent = self.http.send(req).await;
        sent.and_then(crate::http::Response::into_available)
            .map_err(|source| AuthError::Http {
                key: key.to_string(),
                source,
            })
    }

    /// POSTs a token request with client authentication; classifies the answer.
    pub(crate) async fn token_request(
        &self,
        key: &str,
        conn: Option<&Connection>,
        form: Vec<(String, String)>,
        purpose: &str,
    ) -> Result<(u16, TokenResponse), AuthError> {
        let url = self.registration(conn)?.token_url.clone();
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let grant = match field("grant_type").as_deref() {
            Some("urn:ietf:params:oauth:grant-type:device_code") => "device_code".to_string(),
            Some(g) => g.to_string(),
            None => "unknown".to_string(),
        };
        let requested = field("scope").map(|s| split_scope(&s)).unwrap_or_default();
        let previous_rt = field("refresh_token");
        let resp = self.client_post(key, &url, conn, form, purpose).await?;
        self.answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((
                key.to_string(),
                TokenAnswer {
                    grant,
                    requested_scopes: requested,
                    previous_refresh_token: previous_rt.map(SecretString::from),
                    status: resp.status,
                    headers: resp.headers.clone(),
                    body: resp.body.clone(),
                },
            ));
        match parse_token_body(&resp.body) {
            Parsed::Token(t) if (200..300).contains(&resp.status) => {
                self.http.redactor().register_token(&t.access_token);
                Ok((resp.status, t))
            }
            Parsed::Token(_) => Err(AuthError::Unreadable {
                key: key.to_string(),
                status: resp.status,
                reason: "a token in an error response".into(),
            }),
            Parsed::Error(e) => Err(AuthError::Refused {
                key: key.to_string(),
                status: resp.status,
                error: e.error,
                description: e.description.map(|d| self.http.redactor().scrub(&d)),
            }),
            Parsed::Unreadable(reason) => Err(AuthError::Unreadable {
                key: key.to_string(),
                status: resp.status,
                reason,
            }),
        }
    }
}

/// A store entry from a token response. `previous` carries over what the
/// response does not restate; `old_rt` is kept when no new refresh token came.
pub(super) fn entry_from(
    token: &TokenResponse,
    previous: Option<&Entry>,
    old_rt: Option<StoredSecret>,
    requested: &[String],
) -> Entry {
    let now = Utc::now();
    let before = previous.and_then(|p| p.grant.clone()).unwrap_or_default();
    let grant = if token.refresh_token.is_some() {
        GrantRecord {
            refresh_token_issued_at: Some(now),
            ..GrantRecord::default()
        }
    } else if previous.is_some() && old_rt.is_some() {
        // A successful refresh without a refresh token: the old one is all that is left.
        GrantRecord {
            refresh_token_issued_at: before.refresh_token_issued_at,
            withheld_since: before.withheld_since.or(Some(now)),
            rejected: None,
        }
    } else {
        GrantRecord::default()
    };
    Entry {
        grant: (grant != GrantRecord::default()).then_some(grant),
        refresh_token: token
            .refresh_token
            .as_deref()
            .map(StoredSecret::new)
            .or(old_rt),
        access_token: Some(StoredSecret::new(token.access_token.clone())),
        access_token_expires_at: expiry(token.expires_in),
        scopes: token
            .scope
            .clone()
            .or_else(|| previous.map(|p| p.scopes.clone()))
            .unwrap_or_else(|| requested.to_vec()),
        obtained_at: previous.and_then(|p| p.obtained_at).or(Some(now)),
        last_refreshed_at: previous.map(|_| now),
        refresh_token_expires_at: token
            .refresh_token_expires_in
            .map(|s| now + ChronoDuration::seconds(s.min(100 * 365 * 86_400) as i64))
            .or_else(|| previous.and_then(|p| p.refresh_token_expires_at)),
        refresh_in_flight: None,
        // A refresh keeps the grant, and with it the memory of a replay; a new grant re-arms.
        replayed: previous.and_then(|p| p.replayed.clone()),
        // Likewise a grant the permissions probe narrowed for good stays narrowed.
        narrowed: previous.and_then(|p| p.narrowed.clone()),
        // Per-connection `${conn:…}` values belong to the connection, not to one token.
        vars: previous.map(|p| p.vars.clone()).unwrap_or_default(),
        // Only the app entry has it; a connection's entry keeps whatever a helper added.
        client_secret_expires_at: previous.and_then(|p| p.client_secret_expires_at),
    }
}

/// When an entry's refresh token dies if nobody refreshes it, and which rule
/// says so: `response` (the provider said), `idle` or `absolute` (the suite's
/// documented lifetimes). The earliest wins.
pub fn refresh_deadline(
    entry: &Entry,
    lifetime: &RefreshLifetime,
) -> Option<(DateTime<Utc>, &'static str)> {
    entry.refresh_token.as_ref()?;
    let mut candidates: Vec<(DateTime<Utc>, &'static str)> = Vec::new();
    if let Some(at) = entry.refresh_token_expires_at {
        candidates.push((at, "response"));
    }
    let last_use = entry.last_refreshed_at.or(entry.obtained_at);
    if let (Some(idle), Some(last)) = (lifetime.idle, last_use) {
        candidates.push((
            last + ChronoDuration::from_std(idle).unwrap_or_default(),
            "idle",
        ));
    }
    if let (Some(abs), Some(first)) = (lifetime.absolute, entry.obtained_at) {
        candidates.push((
            first + ChronoDuration::from_std(abs).unwrap_or_default(),
            "absolute",
        ));
    }
    candidates.into_iter().min_by_key(|(at, _)| *at)
}

/// True when the refresh token would die of idleness within half its idle
/// lifetime: refreshing now restarts the idle clock.
pub(super) fn needs_keep_alive(entry: &Entry, lifetime: &RefreshLifetime) -> bool {
    let Some(idle) = lifetime.idle else {
        return false;
    };
    let Some(last) = entry.last_refreshed_at.or(entry.obtained_at) else {
        return false;
    };
    let half = ChronoDuration::from_std(idle / 2).unwrap_or_default();
    last + half <= Utc::now()
}

pub(super) fn fresh(expires_at: Option<DateTime<Utc>>) -> bool {
    match expires_at {
        Some(at) => at - ChronoDuration::seconds(EXPIRY_MARGIN_SECS) > Utc::now(),
        // Unknown lifetime: trust it for this run.
        None => true,
    }
}

pub(super) fn expiry(expires_in: Option<u64>) -> Option<DateTime<Utc>> {
    expires_in.map(|s| Utc::now() + ChronoDuration::seconds(s.min(10 * 365 * 86_400) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::health::Rejection;

    fn answer(refresh_token: Option<&str>) -> TokenResponse {
        TokenResponse {
            access_token: "at".into(),
            token_type: Some("Bearer".into()),
            expires_in: Some(3600),
            refresh_token: refresh_token.map(str::to_string),
            scope: None,
            refresh_token_expires_in: None,
        }
    }

    #[test]
    fn refresh_class_withheld_expiring_is_tracked_from_the_last_answer_with_a_refresh_token() {
        let granted = entry_from(&answer(Some("rt-1")), None, None, &[]);
        let issued = granted
            .grant
            .as_ref()
            .and_then(|g| g.refresh_token_issued_at);
        assert!(issued.is_some());
        // A successful refresh without a refresh token keeps the old one and notes since when.
        let old = granted.refresh_token.clone();
        let withheld = entry_from(&answer(None), Some(&granted), old.clone(), &[]);
        let g = withheld.grant.clone().unwrap();
        assert_eq!(g.refresh_token_issued_at, issued);
        assert!(g.withheld_since.is_some());
        assert_eq!(withheld.refresh_token, old);
        // Still withheld next time: the first date stays.
        let again = entry_from(&answer(None), Some(&withheld), old, &[]);
        assert_eq!(
            again.grant.as_ref().unwrap().withheld_since,
            g.withheld_since
        );
        // The provider then refuses it: the observed lifetime runs from issue to refusal.
        let mut dead = again.grant.unwrap();
        let at = issued.unwrap() + ChronoDuration::days(14);
        dead.rejected = Some(Rejection {
            at,
            error: "invalid_grant".into(),
        });
        assert_eq!(
            dead.observed_withheld_lifetime(),
            Some(ChronoDuration::days(14))
        );
        // A refresh token in a later answer clears the record (and any rejection).
        let mut with_rejection = withheld.clone();
        with_rejection.grant = Some(dead);
        let fresh = entry_from(
            &answer(Some("rt-2")),
            Some(&with_rejection),
            with_rejection.refresh_token.clone(),
            &[],
        );
        let g = fresh.grant.unwrap();
        assert_eq!((g.withheld_since, g.rejected), (None, None));
    }

    #[test]
    fn a_grant_that_never_stopped_issuing_has_no_withheld_lifetime() {
        let mut g = GrantRecord {
            refresh_token_issued_at: Some(Utc::now()),
            ..GrantRecord::default()
        };
        g.rejected = Some(Rejection {
            at: Utc::now(),
            error: "invalid_grant".into(),
        });
        assert_eq!(g.observed_withheld_lifetime(), None);
    }
}
