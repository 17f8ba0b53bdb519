//! `driftwatch connect`: authorising a connection interactively and storing
//! its grant. Two flows:
//!
//! - authorization code + PKCE (S256): a loopback listener on the redirect
//!   URI's port (`:0` picks a free one, RFC 8252 §7.3), the authorize URL
//!   opened in a browser and printed for headless machines, `state` verified,
//!   the code exchanged;
//! - device authorization (RFC 8628): the user code printed, the token
//!   endpoint polled at `interval`, +5 s on every `slow_down`.
//!
//! A third path, `--import`, stores a token answer the team already holds
//! (validated by [`super::import`]). Every path refuses to store a grant that
//! carries no refresh token when the suite expects refresh, unless allowed,
//! and `--verify` refreshes once through the token manager to prove the grant.
//!
//! Never prints a secret: only URLs without secrets and the user code.

use super::import::{ImportError, parse_import};
use super::pkce::{Pkce, random_token};
use super::response::{Parsed, TokenResponse, parse_token_body};
use super::token::{AuthError, TokenManager, entry_from};
use crate::http::{Auth, Request};
use crate::probe::refresh::StepKind;
use crate::suite::{Connection, DocumentedRefresh, Grant, Suite};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::sync::mpsc;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("authorization was refused (`{error}`){}", .description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied {
        error: String,
        description: Option<String>,
    },
    #[error(
        "the callback's `state` does not match this request: the redirect was not ours (a stale tab or a forged request); nothing was stored"
    )]
    StateMismatch,
    #[error("no authorization arrived within {}s; run `driftwatch connect` again", .after.as_secs())]
    Timeout { after: Duration },
    #[error(
        "the device code expired before the user approved it; run `driftwatch connect --device` again"
    )]
    DeviceExpired,
    #[error("cannot listen on the redirect URI `{uri}`: {reason}")]
    Listener { uri: String, reason: String },
    #[error("{0}")]
    Config(String),
    /// The grant has no refresh token although the suite expects refresh; nothing was stored.
    #[error(
        "the provider granted `{connection}` no refresh token, so the connection would stop working when its access token expires; nothing was stored. {hint} To store it anyway, pass `--allow-no-refresh`"
    )]
    NoRefreshToken { connection: String, hint: String },
    /// `--import` input that is not a usable token answer.
    #[error("cannot import a token answer from {from}: {source}")]
    Import {
        from: String,
        #[source]
        source: ImportError,
    },
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// How `connect` behaves.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Open the authorize URL in the default browser (it is printed either way).
    pub open_browser: bool,
    /// Give up waiting for the user after this long.
    pub timeout: Duration,
    /// Extra `login_hint` for the authorize request.
    pub login_hint: Option<String>,
    /// Replaces the suite's `auth.redirect_uri` for this connect.
    pub redirect: Option<RedirectOverride>,
    /// Store a grant without a refresh token although the suite expects refresh.
    pub allow_no_refresh: bool,
    /// After storing, refresh once through the token manager to prove the grant works.
    pub verify: bool,
}

/// `--redirect-port` / `--redirect-uri`: the callback of one connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectOverride {
    /// The suite's redirect URI on this port (0: a free one).
    Port(u16),
    /// This URI instead (loopback http, for the built-in listener).
    Uri(String),
}

/// Whether the suite's grant needs a refresh token to keep working: user grants, unless the
/// suite documents that the provider issues none (`auth.refresh.documented: none`).
pub fn expects_refresh(suite: &Suite) -> bool {
    matches!(
        suite.auth.grant.value,
        Grant::AuthorizationCode | Grant::Password
    ) && suite.auth.refresh.documented != Some(DocumentedRefresh::None)
}

/// What to change so the provider issues a refresh token: Google (authorization endpoint on
/// `accounts.google.com`) wants `access_type=offline`; OpenID servers (an OpenID discovery
/// document, or `openid` among the scopes) want `offline_access`; otherwise generic advice.
pub fn no_refresh_hint(suite: &Suite, authorize: Option<&Url>, scopes: &[String]) -> String {
    let google = authorize.and_then(Url::host_str) == Some("accounts.google.com");
    let openid = suite
        .auth
        .discovery_url
        .as_ref()
        .is_some_and(|d| d.value.contains("openid-configuration"))
        || scopes.iter().any(|s| s == "openid");
    if google {
        "Google issues refresh tokens only to offline requests, and again only on a new consent: set `auth.authorize_params: {access_type: offline, prompt: consent}` and connect again.".to_string()
    } else if openid {
        "OpenID Connect servers issue refresh tokens only for the `offline_access` scope, usually only with fresh consent: add `offline_access` to the connection's scope set and set `auth.authorize_params: {prompt: consent}`, then connect again.".to_string()
    } else {
        "Check how the provider grants offline access (often an `offline_access` scope, or an authorization parameter such as `access_type: offline` in `auth.authorize_params`); if it never issues refresh tokens, set `auth.refresh.documented: none`.".to_string()
    }
}

/// The suite's authorize URL when it is known without a network call (absolute, or
/// relative to `provider.base_url`).
fn static_authorize_url(suite: &Suite) -> Option<Url> {
    let v = &suite.auth.authorize_url.as_ref()?.value;
    if v.starts_with("http://") || v.starts_with("https://") {
        Url::parse(v).ok()
    } else {
        Url::parse(&format!(
            "{}{v}",
            suite.provider.base_url.value.trim_end_matches('/')
        ))
        .ok()
    }
}

/// Stores a freshly obtained grant, or refuses to when it lacks the refresh token the suite
/// needs (unless `allow_no_refresh`). `hint_url` is the authorization endpoint, for the hint.
#[allow(clippy::too_many_arguments)]
async fn finish(
    suite: &Suite,
    tokens: &TokenManager,
    conn: &Connection,
    token: &TokenResponse,
    requested: &[String],
    hint_url: Option<&Url>,
    opts: &ConnectOptions,
    show: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), ConnectError> {
    check_refresh(suite, conn, token, requested, hint_url, opts, show)?;
    tokens.store_grant(conn, token, requested).await?;
    show(&format!(
        "Connected `{}`; credentials stored.",
        conn.id.value
    ));
    if opts.verify {
        verify(tokens, conn, show).await?;
    }
    Ok(())
}

/// The no-refresh-token rule shared by every path.
fn check_refresh(
    suite: &Suite,
    conn: &Connection,
    token: &TokenResponse,
    requested: &[String],
    hint_url: Option<&Url>,
    opts: &ConnectOptions,
    show: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), ConnectError> {
    if token.refresh_token.is_some() || !expects_refresh(suite) {
        return Ok(());
    }
    let scopes = token.scope.clone().unwrap_or_else(|| requested.to_vec());
    let hint = no_refresh_hint(suite, hint_url, &scopes);
    if !opts.allow_no_refresh {
        return Err(ConnectError::NoRefreshToken {
            connection: conn.id.value.clone(),
            hint,
        });
    }
    show(&format!(
        "warning: the provider granted `{}` no refresh token; storing it anyway (--allow-no-refresh): the connection stops working when the access token expires. {hint}",
        conn.id.value
    ));
    Ok(())
}

/// Refreshes `conn` once through the token manager (in-flight marker, lock, the rotated
/// successor persisted before anything else) and says whether the provider rotated it.
pub async fn verify(
    tokens: &TokenManager,
    conn: &Connection,
    show: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), ConnectError> {
    let key = conn.credential.clone();
    let _gate = tokens.refresh_gate.lock().await;
    let lock = tokens.lock_store().await?;
    let entry = tokens
        .store_get(&key)
        .await?
        .ok_or_else(|| tokens.not_connected(conn))?;
    let Some(presented) = entry.refresh_token.clone() else {
        show("Not verified: the grant has no refresh token to refresh with.");
        return Ok(());
    };
    let (after, _) = tokens
        .spend(conn, &lock, entry, &presented, StepKind::Refresh, None)
        .await?;
    drop(lock);
    if after.refresh_token.as_ref() == Some(&presented) {
        show("Verified: the refresh token works; the provider kept it (not rotated).");
    } else {
        show(
            "Verified: the refresh token works; the provider rotated it and the new one is stored.",
        );
    }
    Ok(())
}

/// Where an `--import` answer comes from, for messages: "stdin" or "`FILE`".
pub fn import_source_name(path: &str) -> String {
    if path == "-" {
        "stdin".to_string()
    } else {
        format!("`{path}`")
    }
}

/// `connect --import`: validates a token answer (RFC 6749 §5.1 JSON), applies the
/// no-refresh-token rule and stores it under the connection's credential key, under the
/// store lock like every connect. `expires_in` counts from `obtained_at` when given.
pub async fn import(
    suite: &Suite,
    tokens: &TokenManager,
    conn: &Connection,
    input: &[u8],
    from: &str,
    opts: &ConnectOptions,
    show: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), ConnectError> {
    if suite.auth.grant.value == Grant::ClientCredentials {
        return Err(ConnectError::Config(
            "the suite's grant is `client_credentials`: driftwatch obtains those tokens itself, there is nothing to import".into(),
        ));
    }
    let now = Utc::now();
    let grant = parse_import(input, now).map_err(|source| ConnectError::Import {
        from: from.to_string(),
        source,
    })?;
    let token = grant.token;
    let redactor = tokens.http().redactor();
    redactor.register_token(&token.access_token);
    if let Some(rt) = &token.refresh_token {
        redactor.register_token(rt);
    }
    let requested = scopes_for(suite, conn);
    check_refresh(
        suite,
        conn,
        &token,
        &requested,
        static_authorize_url(suite).as_ref(),
        opts,
        show,
    )?;
    let mut entry = entry_from(&token, None, None, &requested);
    let obtained_at = grant.obtained_at.unwrap_or(now);
    let after = |s: u64| obtained_at + chrono::Duration::seconds(i64::try_from(s).unwrap_or(0));
    entry.obtained_at = Some(obtained_at);
    entry.access_token_expires_at = token.expires_in.map(after);
    entry.refresh_token_expires_at = token.refresh_token_expires_in.map(after);
    let lock = tokens.lock_store().await?;
    tokens
        .store_put(&lock, &conn.credential, entry.clone())
        .await?;
    drop(lock);
    show(&format!(
        "Imported `{}` into {}: {}, scopes: {}, access token {}.",
        conn.id.value,
        tokens.store().describe(),
        if entry.refresh_token.is_some() {
            "with a refresh token"
        } else {
            "no refresh token"
        },
        if entry.scopes.is_empty() {
            "(none)".to_string()
        } else {
            entry.scopes.join(" ")
        },
        describe_expiry(entry.access_token_expires_at, now),
    ));
    if from != "stdin" {
        show(&format!(
            "{from} still holds these tokens in clear text: delete it."
        ));
    }
    if opts.verify {
        verify(tokens, conn, show).await?;
    }
    Ok(())
}

fn describe_expiry(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        None => "lifetime unknown".to_string(),
        Some(at) if at <= now => format!(
            "expired at {} (the first run refreshes it)",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        Some(at) => format!(
            "expires at {}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    }
}

/// The provider's endpoints `connect` needs, from the suite or discovery.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorize: Option<Url>,
    pub device: Option<Url>,
}

/// Resolves the authorize and device endpoints: the suite's values win,
/// discovery fills the gaps.
pub async fn endpoints(
    suite: &Suite,
    base: &Url,
    tokens: &TokenManager,
) -> Result<Endpoints, ConnectError> {
    let absolute = |v: &str| -> Result<Url, ConnectError> {
        let s = if v.starts_with("http://") || v.starts_with("https://") {
            v.to_string()
        } else {
            format!("{}{v}", base.as_str().trim_end_matches('/'))
        };
        Url::parse(&s).map_err(|e| ConnectError::Config(format!("bad URL `{v}`: {e}")))
    };
    let mut out = Endpoints {
        authorize: suite
            .auth
            .authorize_url
            .as_ref()
            .map(|u| absolute(&u.value))
            .transpose()?,
        device: suite
            .auth
            .device_authorization_url
            .as_ref()
            .map(|u| absolute(&u.value))
            .transpose()?,
    };
    if let (Some(d), true) = (
        &suite.auth.discovery_url,
        out.authorize.is_none() || out.device.is_none(),
    ) {
        let url = absolute(&d.value)?;
        let resp = tokens
            .http()
            .send(Request {
                method: reqwest::Method::GET,
                url: url.clone(),
                headers: vec![("accept".into(), "application/json".into())],
                auth: Auth::None,
                form: None,
                purpose: "metadata".into(),
                connection: None,
            })
            .await
            .map_err(|e| ConnectError::Config(format!("discovery document: {e}")))?;
        let doc = resp
            .json()
            .map_err(|e| ConnectError::Config(format!("discovery document: {e}")))?;
        // A document naming another issuer supplies no endpoint (RFC 8414 §3.3).
        crate::run::check_issuer(&doc, &crate::run::expected_issuer(suite, &url), &url)
            .map_err(|e| ConnectError::Config(e.message))?;
        let get = |k: &str| {
            doc.get(k)
                .and_then(|v| v.as_str())
                .and_then(|s| Url::parse(s).ok())
        };
        out.authorize = out.authorize.or_else(|| get("authorization_endpoint"));
        out.device = out.device.or_else(|| get("device_authorization_endpoint"));
    }
    Ok(out)
}

fn scopes_for(suite: &Suite, conn: &Connection) -> Vec<String> {
    conn.scope_set
        .as_ref()
        .and_then(|s| suite.scope_sets.get(&s.value))
        .map(|s| s.value.clone())
        .unwrap_or_else(|| suite.auth.scopes.clone())
}

fn client_id(tokens: &TokenManager) -> Result<String, ConnectError> {
    tokens
        .client()
        .and_then(|c| c.client_id.clone())
        .ok_or_else(|| ConnectError::Config("the suite names no `client_id`".into()))
}

/// The authorization-code flow with PKCE through a loopback callback.
/// `show` receives the lines to print (the authorize URL among them).
pub async fn authorization_code(
    suite: &Suite,
    tokens: &TokenManager,
    endpoints: &Endpoints,
    conn: &Connection,
    opts: &ConnectOptions,
    show: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), ConnectError> {
    let authorize = endpoints.authorize.clone().ok_or_else(|| {
        ConnectError::Config(
            "no authorize endpoint: set `auth.authorize_url` or `auth.discovery_url`".into(),
        )
    })?;
    let mut redirect = redirect_uri(suite, opts.redirect.as_ref())?;
    let host = redirect.host_str().unwrap_or_default().to_string();
    let bind_host = if host == "[::1]" {
        "[::1]"
    } else {
        "127.0.0.1"
    };
    let port = redirect.port().unwrap_or(80);
    let listener = tokio::net::TcpListener::bind(format!("{bind_host}:{port}"))
        .await
        .map_err(|e| ConnectError::Listener {
            uri: redirect.to_string(),
            reason: e.to_string(),
        })?;
    let actual = listener.local_addr().map_err(|e| ConnectError::Listener {
        uri: redirect.to_string(),
        reason: e.to_string(),
    })?;
    let _ = redirect.set_port(Some(actual.port()));
    let redirect_uri = redirect.to_string();

    let pkce = Pkce::new();
    let state = random_token(24);
    let mut url = authorize;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &client_id(tokens)?)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", &scopes_for(suite, conn).join(" "))
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256");
        for (name, value) in &suite.auth.authorize_params {
            if !(name == "login_hint" && opts.login_hint.is_some()) {
                q.append_pair(name, &value.value);
            }
        }
        if let Some(h) = &opts.login_hint {
            q.append_pair("login_hint", h);
        }
    }

    let (tx, mut rx) = mpsc::channel::<Vec<(String, String)>>(4);
    let path = redirect.path().to_string();
    let app = axum::Router::new().route(
        &path,
        axum::routing::get(move |q: axum::extract::RawQuery| {
            let tx = tx.clone();
            async move {
                let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.0.unwrap_or_default().as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let _ = tx.send(pairs).await;
                axum::response::Html(
                    "<!doctype html><title>driftwatch</title><p>driftwatch received the authorization response. You can close this tab and return to the terminal.</p>",
                )
            }
        }),
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await;
    });

    show(&format!("Authorize `{}` in your browser:", conn.id.value));
    show(&format!("  {url}"));
    show(&format!("Waiting for the redirect to {redirect_uri} …"));
    if opts.open_browser && webbrowser::open(url.as_str()).is_err() {
        show("(could not open a browser; open the URL above yourself)");
    }

    let outcome = tokio::time::timeout(opts.timeout, async {
        loop {
            let Some(pairs) = rx.recv().await else {
                return Err(ConnectError::Config("the callback listener stopped".into()));
            };
            let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            if get("state").is_none() && get("code").is_none() && get("error").is_none() {
                continue; // favicon and friends
            }
            if get("state").as_deref() != Some(state.as_str()) {
                return Err(ConnectError::StateMismatch);
            }
            if let Some(error) = get("error") {
                return Err(ConnectError::Denied {
                    error,
                    description: get("error_description"),
                });
            }
            return get("code")
                .ok_or_else(|| ConnectError::Config("the redirect carries no `code`".into()));
        }
    })
    .await;
    let _ = stop_tx.send(());
    let _ = server.await;
    let code = match outcome {
        Err(_) => {
            return Err(ConnectError::Timeout {
                after: opts.timeout,
            });
        }
        Ok(r) => r?,
    };
    let redactor = tokens.http().redactor();
    redactor.register_token(&code);
    redactor.register_token(&pkce.verifier);
    let form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".to_string(), code),
        ("redirect_uri".to_string(), redirect_uri),
        ("code_verifier".to_string(), pkce.verifier.clone()),
    ];
    let (_, token) = tokens
        .token_request(
            &conn.credential,
            Some(conn),
            form,
            "token:authorization_code",
        )
        .await?;
    if let Some(rt) = &token.refresh_token {
        redactor.register_token(rt);
    }
    let requested = scopes_for(suite, conn);
    let authorize = endpoints.authorize.as_ref();
    finish(
        suite, tokens, conn, &token, &requested, authorize, opts, show,
    )
    .await
}

/// The callback URI of this connect: the suite's `auth.redirect_uri`, with `--redirect-port`
/// applied (on `http://127.0.0.1:PORT/callback` when the suite names none), or
/// `--redirect-uri`. Must be loopback http: the built-in listener receives the code.
pub fn redirect_uri(suite: &Suite, over: Option<&RedirectOverride>) -> Result<Url, ConnectError> {
    let suite_uri = suite.auth.redirect_uri.as_ref().map(|r| r.value.as_str());
    let (text, origin) = match (over, suite_uri) {
        (Some(RedirectOverride::Uri(u)), _) => (u.as_str(), "--redirect-uri"),
        (Some(RedirectOverride::Port(_)), s) => {
            (s.unwrap_or("http://127.0.0.1:0/callback"), "redirect_uri")
        }
        (None, Some(s)) => (s, "redirect_uri"),
        (None, None) => {
            return Err(ConnectError::Config(
                "set `auth.redirect_uri` to a loopback URL such as http://127.0.0.1:8765/callback, or pass `--redirect-port 0`"
                    .into(),
            ));
        }
    };
    let mut url =
        Url::parse(text).map_err(|e| ConnectError::Config(format!("bad `{origin}`: {e}")))?;
    let host = url.host_str().unwrap_or_default().to_string();
    if url.scheme() != "http" || !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
        return Err(ConnectError::Config(format!(
            "`{origin}` must be a loopback http URL (http://127.0.0.1:PORT/path) for `connect`, not `{url}`"
        )));
    }
    if let Some(RedirectOverride::Port(p)) = over {
        let _ = url.set_port(Some(*p));
    }
    Ok(url)
}

/// The device authorization grant (RFC 8628).
pub async fn device(
    suite: &Suite,
    tokens: &TokenManager,
    endpoints: &Endpoints,
    conn: &Connection,
    opts: &ConnectOptions,
    show: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), ConnectError> {
    let url = endpoints.device.clone().ok_or_else(|| {
        ConnectError::Config(
            "no device authorization endpoint: set `auth.device_authorization_url` or `auth.discovery_url`".into(),
        )
    })?;
    let scopes = scopes_for(suite, conn);
    let mut form = Vec::new();
    if !scopes.is_empty() {
        form.push(("scope".to_string(), scopes.join(" ")));
    }
    for (name, value) in &suite.auth.authorize_params {
        form.push((name.clone(), value.value.clone()));
    }
    let key = conn.credential.clone();
    let resp = tokens
        .client_post(&key, &url, Some(conn), form, "device:authorization")
        .await?;
    let doc: serde_json::Value = resp.json().map_err(|e| {
        ConnectError::Config(format!(
            "device authorization response (HTTP {}): {e}",
            resp.status
        ))
    })?;
    if let Some(error) = doc.get("error").and_then(|v| v.as_str()) {
        return Err(ConnectError::Denied {
            error: error.to_string(),
            description: doc
                .get("error_description")
                .and_then(|v| v.as_str())
                .map(str::to_string),
        });
    }
    let field = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(device_code), Some(user_code), Some(verification_uri)) = (
        field("device_code"),
        field("user_code"),
        field("verification_uri"),
    ) else {
        return Err(ConnectError::Config(
            "device authorization response lacks device_code, user_code or verification_uri".into(),
        ));
    };
    tokens.http().redactor().register_token(&device_code);
    let number = |k: &str| {
        doc.get(k).and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    };
    let mut interval = Duration::from_secs(number("interval").unwrap_or(5));
    let expires_in = Duration::from_secs(number("expires_in").unwrap_or(600));
    show(&format!(
        "To authorize `{}`, open {verification_uri}",
        conn.id.value
    ));
    show(&format!("and enter the code: {user_code}"));
    if let Some(complete) = field("verification_uri_complete") {
        show(&format!("(or open {complete})"));
    }
    let deadline = tokio::time::Instant::now() + expires_in.min(opts.timeout);
    loop {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() > deadline {
            return Err(if expires_in <= opts.timeout {
                ConnectError::DeviceExpired
            } else {
                ConnectError::Timeout {
                    after: opts.timeout,
                }
            });
        }
        let form = vec![
            (
                "grant_type".to_string(),
                "urn:ietf:params:oauth:grant-type:device_code".to_string(),
            ),
            ("device_code".to_string(), device_code.clone()),
        ];
        let token_url = tokens
            .client()
            .map(|c| c.token_url.clone())
            .ok_or_else(|| ConnectError::Config("no token endpoint".into()))?;
        let resp = tokens
            .client_post(&key, &token_url, Some(conn), form, "token:device_code")
            .await?;
        match parse_token_body(&resp.body) {
            Parsed::Token(t) if (200..300).contains(&resp.status) => {
                let authorize = endpoints.authorize.as_ref();
                return finish(suite, tokens, conn, &t, &scopes, authorize, opts, show).await;
            }
            Parsed::Error(e) => match e.error.as_str() {
                "authorization_pending" => {}
                // RFC 8628 §3.5: +5 s for this and every later request.
                "slow_down" => {
                    interval += Duration::from_secs(5);
                    show(&format!(
                        "(the provider asked to slow down; polling every {}s)",
                        interval.as_secs()
                    ));
                }
                "expired_token" => return Err(ConnectError::DeviceExpired),
                _ => {
                    return Err(ConnectError::Denied {
                        error: e.error,
                        description: e.description,
                    });
                }
            },
            _ => {
                return Err(ConnectError::Config(format!(
                    "unexpected token endpoint answer while polling (HTTP {})",
                    resp.status
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;
    use crate::suite::LoadMode;
    use std::path::Path;

    fn suite(auth_tail: &str, grant: &str) -> Suite {
        let src = format!(
            "version: 1\nprovider:\n  name: demo\n  base_url: http://127.0.0.1:1/\nauth:\n  grant: {grant}\n  token_url: /t\n  client_id: app\n{auth_tail}connections:\n  - id: a\n"
        );
        let (suite, diags) = crate::suite::analyze(
            Path::new("s.yaml"),
            &src,
            &Context::empty("/"),
            LoadMode::Check,
        );
        // The password grant's suite lacks `username`/`password`: irrelevant here.
        assert!(
            diags
                .iter()
                .all(|d| grant == "password" || d.severity != crate::suite::DiagSeverity::Error)
        );
        suite.unwrap()
    }

    #[test]
    fn refresh_is_expected_of_user_grants_unless_documented_none() {
        assert!(expects_refresh(&suite("", "authorization_code")));
        assert!(expects_refresh(&suite("", "password")));
        assert!(!expects_refresh(&suite("", "client_credentials")));
        assert!(!expects_refresh(&suite("", "static_bearer")));
        assert!(!expects_refresh(&suite(
            "  refresh:\n    documented: none\n",
            "authorization_code"
        )));
        assert!(expects_refresh(&suite(
            "  refresh:\n    documented: reusable\n",
            "authorization_code"
        )));
    }

    #[test]
    fn the_no_refresh_hint_names_the_provider_kind() {
        let plain = suite("", "authorization_code");
        let google = Url::parse("https://accounts.google.com/o/oauth2/v2/auth").ok();
        let other = Url::parse("https://login.example.com/authorize").ok();
        let hint = |s: &Suite, u: &Option<Url>, scopes: &[&str]| {
            let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
            no_refresh_hint(s, u.as_ref(), &scopes)
        };
        assert!(hint(&plain, &google, &["openid"]).starts_with("Google issues refresh tokens"));
        assert!(hint(&plain, &other, &["openid", "email"]).starts_with("OpenID Connect servers"));
        let oidc = suite(
            "  discovery_url: https://login.example.com/.well-known/openid-configuration\n",
            "authorization_code",
        );
        assert!(hint(&oidc, &other, &["email"]).starts_with("OpenID Connect servers"));
        assert!(hint(&plain, &other, &["email"]).starts_with("Check how the provider grants"));
        assert!(hint(&plain, &None, &[]).starts_with("Check how the provider grants"));
    }

    #[test]
    fn redirect_overrides_keep_the_listener_on_loopback() {
        let fixed = suite(
            "  redirect_uri: http://127.0.0.1:8765/callback\n",
            "authorization_code",
        );
        let none = suite("", "authorization_code");
        let got = |s: &Suite, o: Option<RedirectOverride>| {
            redirect_uri(s, o.as_ref())
                .map(|u| u.to_string())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            got(&fixed, None),
            Ok("http://127.0.0.1:8765/callback".into())
        );
        assert_eq!(
            got(&fixed, Some(RedirectOverride::Port(0))),
            Ok("http://127.0.0.1:0/callback".into())
        );
        assert_eq!(
            got(&none, Some(RedirectOverride::Port(9000))),
            Ok("http://127.0.0.1:9000/callback".into())
        );
        assert_eq!(
            got(
                &fixed,
                Some(RedirectOverride::Uri("http://[::1]:0/cb".into()))
            ),
            Ok("http://[::1]:0/cb".into())
        );
        assert_eq!(
            got(&none, None),
            Err("set `auth.redirect_uri` to a loopback URL such as http://127.0.0.1:8765/callback, or pass `--redirect-port 0`".into())
        );
        assert_eq!(
            got(&fixed, Some(RedirectOverride::Uri("http://192.168.1.2:80/cb".into()))),
            Err("`--redirect-uri` must be a loopback http URL (http://127.0.0.1:PORT/path) for `connect`, not `http://192.168.1.2/cb`".into())
        );
        let remote = suite(
            "  redirect_uri: https://app.example.com/cb\n",
            "authorization_code",
        );
        assert_eq!(
            got(&remote, Some(RedirectOverride::Port(0))),
            Err("`redirect_uri` must be a loopback http URL (http://127.0.0.1:PORT/path) for `connect`, not `https://app.example.com/cb`".into())
        );
    }
}
