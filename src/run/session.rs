//! A provider session: the HTTP client, redactor, exchange recorder and token
//! manager of one suite, with the token endpoint resolved (from the suite or
//! its discovery document).

use crate::auth::{ClientRegistration, CredentialStore, TokenManager};
use crate::error::Error;
use crate::http::{Auth, ClientConfig, ExchangeRecorder, HttpClient, Rate, Redactor, Request};
use crate::suite::{self, Suite};
use std::num::NonZeroU32;
use std::sync::Arc;
use url::Url;

/// Everything needed to talk to one provider: HTTP client, redactor,
/// exchange recorder and token manager.
pub struct ProviderSession {
    pub http: Arc<HttpClient>,
    pub redactor: Arc<Redactor>,
    pub recorder: ExchangeRecorder,
    pub tokens: TokenManager,
    pub base: Url,
}

impl ProviderSession {
    /// Builds the session. A failure to find the token endpoint (discovery
    /// down) is returned as a message: probes that need no token still run.
    pub async fn open(
        s: &Suite,
        allow_insecure_http: bool,
        credentials: CredentialStore,
    ) -> Result<(ProviderSession, Option<String>), Error> {
        let provider = s.provider.name.value.clone();
        let selectors: Vec<String> = s.redact.iter().map(|r| r.value.clone()).collect();
        let redactor =
            Arc::new(Redactor::new(&selectors).map_err(|e| Error::Usage(e.to_string()))?);
        let recorder = ExchangeRecorder::new();
        let http = Arc::new(
            HttpClient::new(
                ClientConfig {
                    provider: provider.clone(),
                    timeout: s.limits.timeout,
                    connect_timeout: s.limits.connect_timeout,
                    max_body_bytes: s.limits.max_body_bytes,
                    allow_insecure_http,
                    max_redirects: 10,
                    user_agent: concat!("driftwatch/", env!("CARGO_PKG_VERSION")).into(),
                    record_body_chars: 64 * 1024,
                    rate: s.limits.rate.and_then(|r| {
                        Some(Rate {
                            requests: NonZeroU32::new(r.requests)?,
                            per: r.per,
                        })
                    }),
                    retries: s.limits.retries,
                    max_retry_wait: s.limits.max_retry_wait,
                    ..ClientConfig::new(provider.clone())
                },
                redactor.clone(),
                recorder.clone(),
            )
            .map_err(|e| Error::Runtime(format!("{provider}: {e}")))?,
        );
        let base = Url::parse(&s.provider.base_url.value)
            .map_err(|e| Error::Usage(format!("{}: base_url: {e}", s.file.display())))?;
        let (registration, setup_error) = match resolve_registration(s, &base, &http).await {
            Ok(r) => (r, None),
            Err(message) => (None, Some(message)),
        };
        let tokens = TokenManager::new(s, registration, http.clone(), credentials);
        Ok((
            ProviderSession {
                http,
                redactor,
                recorder,
                tokens,
                base,
            },
            setup_error,
        ))
    }
}

/// Joins a path onto a base URL, keeping the base's own path prefix
/// (`https://api.example/v2` + `/users` → `https://api.example/v2/users`).
pub(super) fn join(base: &Url, path: &str) -> Result<Url, url::ParseError> {
    let mut prefix = base.as_str().trim_end_matches('/').to_string();
    prefix.push_str(path);
    Url::parse(&prefix)
}

/// Token endpoint and client credentials, from the suite or its discovery document.
async fn resolve_registration(
    s: &Suite,
    base: &Url,
    http: &HttpClient,
) -> Result<Option<ClientRegistration>, String> {
    use secrecy::ExposeSecret;
    if s.auth.grant.value == suite::Grant::StaticBearer {
        return Ok(None);
    }
    let absolute = |v: &str| -> Result<Url, String> {
        if v.starts_with("http://") || v.starts_with("https://") {
            Url::parse(v).map_err(|e| format!("bad URL `{v}`: {e}"))
        } else {
            join(base, v).map_err(|e| format!("bad URL `{v}`: {e}"))
        }
    };
    let token_url = match (&s.auth.token_url, &s.auth.discovery_url) {
        (Some(t), _) => absolute(&t.value)?,
        (None, Some(d)) => {
            let url = absolute(&d.value)?;
            let resp = http
                .send(Request {
                    method: reqwest::Method::GET,
                    url,
                    headers: vec![("accept".into(), "application/json".into())],
                    auth: Auth::None,
                    form: None,
                    purpose: "metadata".into(),
                    connection: None,
                })
                .await
                .map_err(|e| format!("discovery document: {e}"))?;
            let doc = resp
                .json()
                .map_err(|e| format!("discovery document: {e}"))?;
            let t = doc
                .get("token_endpoint")
                .and_then(|v| v.as_str())
                .ok_or("discovery document has no `token_endpoint`")?;
            Url::parse(t).map_err(|e| format!("discovery `token_endpoint`: {e}"))?
        }
        (None, None) => {
            return Err("the suite names neither `token_url` nor `discovery_url`".into());
        }
    };
    Ok(Some(ClientRegistration {
        token_url,
        client_id: s
            .auth
            .client_id
            .as_ref()
            .map(|c| c.value.expose_secret().to_string()),
        client_secret: s.auth.client_secret.as_ref().map(|c| c.value.clone()),
        client_auth: s.auth.client_auth.value,
    }))
}
