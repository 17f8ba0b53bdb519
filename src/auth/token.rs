//! The token manager: hands probes an access token per connection, obtaining
//! it through the suite's grant and the credential store.
//!
//! Rotated refresh tokens are persisted (under the store's cross-process lock)
//! before the new access token is returned, on every path; a "refresh in
//! flight" marker brackets each refresh request. Probes never see refresh
//! tokens, and this module never formats reports.

use super::response::{Parsed, TokenResponse, parse_token_body};
use super::store::{CredentialStore, Entry, InFlight, StoreError, StoredSecret};
use crate::http::{Auth, HttpClient, HttpError, Request};
use crate::suite::{ClientAuth, Connection, Grant, Suite};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use url::Url;

/// An access token is refreshed when it expires within this margin.
const EXPIRY_MARGIN_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no credentials stored for `{key}` in `{}`; authorise this connection first (see README: \"Connecting accounts\")",
        store.display()
    )]
    NotConnected { key: String, store: PathBuf },
    #[error("{}", invalid_grant_message(.key, .in_flight))]
    InvalidGrant {
        key: String,
        in_flight: Option<InFlight>,
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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("suite `{suite}`: {what}")]
    Config { suite: String, what: String },
}

fn invalid_grant_message(key: &str, in_flight: &Option<InFlight>) -> String {
    match in_flight {
        Some(f) => format!(
            "the refresh token for `{key}` was rejected (invalid_grant). A refresh started at {} by process {} never completed, so the provider has probably spent this token and its successor was lost; re-authorise the connection",
            f.started_at.to_rfc3339(),
            f.pid
        ),
        None => format!(
            "the refresh token for `{key}` was rejected (invalid_grant): it expired, was revoked, or was already used; re-authorise the connection"
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
            AuthError::Unreadable { .. } => "token-unreadable",
            AuthError::Http { .. } => "token-http",
            AuthError::Store(_) => "credential-store",
            AuthError::Config { .. } => "config",
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
    provider: String,
    grant: Grant,
    client: Option<ClientRegistration>,
    http: Arc<HttpClient>,
    store: CredentialStore,
    /// Serialises refreshes inside this process (the file lock covers other processes).
    refresh_gate: tokio::sync::Mutex<()>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl TokenManager {
    pub fn new(
        suite: &Suite,
        client: Option<ClientRegistration>,
        http: Arc<HttpClient>,
        store: CredentialStore,
    ) -> TokenManager {
        if let Some(secret) = client.as_ref().and_then(|c| c.client_secret.as_ref()) {
            http.redactor().register_secret(secret.expose_secret());
        }
        TokenManager {
            provider: suite.provider.name.value.clone(),
            grant: suite.auth.grant.value,
            client,
            http,
            store,
            refresh_gate: tokio::sync::Mutex::new(()),
            cache: Mutex::new(HashMap::new()),
        }
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
        match self.grant {
            Grant::StaticBearer => self.static_bearer(conn),
            Grant::ClientCredentials => self.client_credentials(conn, scopes).await,
            Grant::AuthorizationCode => self.refresh(conn).await,
        }
    }

    fn cached(&self, key: &str) -> Option<SecretString> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .filter(|c| fresh(c.expires_at))
            .map(|c| c.token.clone())
    }

    fn remember(&self, key: &str, token: &str, expires_at: Option<DateTime<Utc>>) {
        self.http.redactor().register_secret(token);
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
            self.http
                .redactor()
                .register_secret(t.value.expose_secret());
            return Ok(t.value.clone());
        }
        let entry = self.store.get(&conn.credential)?;
        match entry.and_then(|e| e.access_token) {
            Some(t) => {
                self.remember(&conn.credential, t.expose(), None);
                Ok(SecretString::from(t.expose().to_string()))
            }
            None => Err(self.not_connected(conn)),
        }
    }

    fn not_connected(&self, conn: &Connection) -> AuthError {
        AuthError::NotConnected {
            key: conn.credential.clone(),
            store: self.store.path().to_path_buf(),
        }
    }

    fn registration(&self) -> Result<&ClientRegistration, AuthError> {
        self.client.as_ref().ok_or_else(|| AuthError::Config {
            suite: self.provider.clone(),
            what: "the grant needs a token endpoint and a client id".into(),
        })
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
    async fn refresh(&self, conn: &Connection) -> Result<SecretString, AuthError> {
        let _gate = self.refresh_gate.lock().await;
        if let Some(t) = self.cached(&conn.credential) {
            return Ok(t);
        }
        let store = self.store.clone();
        let lock = tokio::task::spawn_blocking(move || store.lock())
            .await
            .map_err(|e| AuthError::Config {
                suite: self.provider.clone(),
                what: format!("lock task failed: {e}"),
            })??;
        let key = conn.credential.clone();
        let mut entry = self
            .store
            .get(&key)?
            .ok_or_else(|| self.not_connected(conn))?;
        // Another process may have refreshed while we waited for the lock.
        let known_fresh =
            entry.access_token_expires_at.is_some() && fresh(entry.access_token_expires_at);
        if let (Some(at), true) = (&entry.access_token, known_fresh) {
            self.remember(&key, at.expose(), entry.access_token_expires_at);
            return Ok(SecretString::from(at.expose().to_string()));
        }
        let Some(rt) = entry.refresh_token.clone() else {
            return Err(self.not_connected(conn));
        };
        self.http.redactor().register_secret(rt.expose());
        let earlier_crash = entry.refresh_in_flight.clone();
        entry.refresh_in_flight = Some(InFlight {
            started_at: Utc::now(),
            pid: std::process::id(),
        });
        self.store.put(&lock, &key, entry.clone())?;

        let form = vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), rt.expose().to_string()),
        ];
        let result = self
            .token_request(&key, Some(conn), form, "token:refresh")
            .await;
        match result {
            Ok((_, token)) => {
                let now = Utc::now();
                let new_entry = Entry {
                    refresh_token: Some(
                        token
                            .refresh_token
                            .as_deref()
                            .map(StoredSecret::new)
                            .unwrap_or(rt),
                    ),
                    access_token: Some(StoredSecret::new(token.access_token.clone())),
                    access_token_expires_at: expiry(token.expires_in),
                    scopes: token.scope.clone().unwrap_or(entry.scopes.clone()),
                    obtained_at: entry.obtained_at.or(Some(now)),
                    last_refreshed_at: Some(now),
                    refresh_token_expires_at: token
                        .refresh_token_expires_in
                        .map(|s| now + ChronoDuration::seconds(s as i64))
                        .or(entry.refresh_token_expires_at),
                    refresh_in_flight: None,
                };
                if let Some(new_rt) = &token.refresh_token {
                    self.http.redactor().register_secret(new_rt);
                }
                // Persist before anyone can use the new access token.
                self.store.put(&lock, &key, new_entry.clone())?;
                drop(lock);
                self.remember(&key, &token.access_token, new_entry.access_token_expires_at);
                Ok(SecretString::from(token.access_token))
            }
            Err(AuthError::Refused { error, .. }) if error == "invalid_grant" => {
                entry.refresh_in_flight = None;
                self.store.put(&lock, &key, entry)?;
                Err(AuthError::InvalidGrant {
                    key,
                    in_flight: earlier_crash,
                })
            }
            Err(e @ AuthError::Refused { .. }) => {
                // A definite answer: the token was not spent.
                entry.refresh_in_flight = earlier_crash;
                self.store.put(&lock, &key, entry)?;
                Err(e)
            }
            // Outcome unknown (network, timeout, unreadable): keep the marker.
            Err(e) => Err(e),
        }
    }

    /// Stores the grant obtained by exchanging an authorization code.
    pub async fn exchange_code(
        &self,
        conn: &Connection,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<(), AuthError> {
        self.http.redactor().register_secret(code);
        self.http.redactor().register_secret(verifier);
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
        let now = Utc::now();
        if let Some(rt) = &token.refresh_token {
            self.http.redactor().register_secret(rt);
        }
        let entry = Entry {
            refresh_token: token.refresh_token.as_deref().map(StoredSecret::new),
            access_token: Some(StoredSecret::new(token.access_token.clone())),
            access_token_expires_at: expiry(token.expires_in),
            scopes: token.scope.clone().unwrap_or_default(),
            obtained_at: Some(now),
            last_refreshed_at: None,
            refresh_token_expires_at: token
                .refresh_token_expires_in
                .map(|s| now + ChronoDuration::seconds(s as i64)),
            refresh_in_flight: None,
        };
        let store = self.store.clone();
        let lock = tokio::task::spawn_blocking(move || store.lock())
            .await
            .map_err(|e| AuthError::Config {
                suite: self.provider.clone(),
                what: format!("lock task failed: {e}"),
            })??;
        self.store.put(&lock, &key, entry)?;
        Ok(())
    }

    /// POSTs a token request with client authentication; classifies the answer.
    async fn token_request(
        &self,
        key: &str,
        conn: Option<&Connection>,
        mut form: Vec<(String, String)>,
        purpose: &str,
    ) -> Result<(u16, TokenResponse), AuthError> {
        let reg = self.registration()?;
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
            url: reg.token_url.clone(),
            headers: vec![("accept".into(), "application/json".into())],
            auth,
            form: Some(form),
            purpose: purpose.to_string(),
            connection: conn.map(|c| c.id.value.clone()),
        };
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|source| AuthError::Http {
                key: key.to_string(),
                source,
            })?;
        match parse_token_body(&resp.body) {
            Parsed::Token(t) if (200..300).contains(&resp.status) => {
                self.http.redactor().register_secret(&t.access_token);
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

fn fresh(expires_at: Option<DateTime<Utc>>) -> bool {
    match expires_at {
        Some(at) => at - ChronoDuration::seconds(EXPIRY_MARGIN_SECS) > Utc::now(),
        // Unknown lifetime: trust it for this run.
        None => true,
    }
}

fn expiry(expires_in: Option<u64>) -> Option<DateTime<Utc>> {
    expires_in.map(|s| Utc::now() + ChronoDuration::seconds(s.min(10 * 365 * 86_400) as i64))
}
