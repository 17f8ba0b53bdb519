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
//! Never prints a secret: only URLs without secrets and the user code.

use super::pkce::{Pkce, random_token};
use super::response::{Parsed, parse_token_body};
use super::token::{AuthError, TokenManager};
use crate::http::{Auth, Request};
use crate::suite::{Connection, Suite};
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
        let resp = tokens
            .http()
            .send(Request {
                method: reqwest::Method::GET,
                url: absolute(&d.value)?,
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
    let redirect = suite
        .auth
        .redirect_uri
        .as_ref()
        .map(|r| r.value.clone())
        .ok_or_else(|| {
            ConnectError::Config(
                "set `auth.redirect_uri` to a loopback URL such as http://127.0.0.1:8765/callback"
                    .into(),
            )
        })?;
    let mut redirect = Url::parse(&redirect)
        .map_err(|e| ConnectError::Config(format!("bad `redirect_uri`: {e}")))?;
    let host = redirect.host_str().unwrap_or_default().to_string();
    if redirect.scheme() != "http" || !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]")
    {
        return Err(ConnectError::Config(format!(
            "`redirect_uri` must be a loopback http URL (http://127.0.0.1:PORT/path) for `connect`, not `{redirect}`"
        )));
    }
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
    tokens
        .exchange_code(conn, &code, &pkce.verifier, &redirect_uri)
        .await?;
    show(&format!(
        "Connected `{}`; credentials stored.",
        conn.id.value
    ));
    Ok(())
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
    tokens.http().redactor().register_secret(&device_code);
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
                tokens.store_grant(conn, &t, &scopes).await?;
                show(&format!(
                    "Connected `{}`; credentials stored.",
                    conn.id.value
                ));
                return Ok(());
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
