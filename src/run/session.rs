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

/// Why the token endpoint could not be resolved: a run error's class and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    /// `metadata`, or `discovery-issuer-mismatch` when the discovery document
    /// names another issuer (it is then not used at all).
    pub class: &'static str,
    pub message: String,
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for SetupError {
    fn from(message: String) -> Self {
        SetupError {
            class: "metadata",
            message,
        }
    }
}

impl From<&str> for SetupError {
    fn from(message: &str) -> Self {
        SetupError::from(message.to_string())
    }
}

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
    ) -> Result<(ProviderSession, Option<SetupError>), Error> {
        let provider = s.provider.name.value.clone();
        let selectors: Vec<String> = s.redact.iter().map(|r| r.value.clone()).collect();
        let redactor = Arc::new(Redactor::new(&selectors)?);
        let recorder = ExchangeRecorder::new();
        let http = Arc::new(HttpClient::new(
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
        ));
        register_suite_secrets(s, &redactor);
        let base = Url::parse(&s.provider.base_url.value)
            .map_err(|e| Error::Usage(format!("{}: base_url: {e}", s.file.display())))?;
        // One token endpoint and client per auth (several grants per provider); the first
        // that cannot be resolved is the session's setup error, naming its auth when there
        // are several.
        let mut tokens = TokenManager::new(s, None, http.clone(), credentials);
        let mut setup_error: Option<SetupError> = None;
        for (name, auth) in &s.auths {
            match resolve_registration(s, auth, &base, &http).await {
                Ok(r) => tokens.set_client(name, r),
                Err(mut e) => {
                    if s.has_several_auths() {
                        e.message = format!("auth `{name}`: {}", e.message);
                    }
                    tokens.set_no_token_endpoint_of(name, e.class, e.message.clone());
                    setup_error.get_or_insert(e);
                }
            }
        }
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

/// Every endpoint header or query value the suite fills from `${env:…}` is a
/// credential: the redactor scrubs it by value from everything recorded or printed.
fn register_suite_secrets(s: &Suite, redactor: &Redactor) {
    use secrecy::ExposeSecret;
    for ep in &s.endpoints {
        for secret in &ep.secrets {
            redactor.register_secret(secret.expose_secret());
        }
    }
    // `connections[].vars` written as `${env:…}` (issue 19): secrets like endpoint headers.
    for c in &s.connections {
        for secret in &c.var_secrets {
            redactor.register_secret(secret.expose_secret());
        }
    }
}

/// The issuer a discovery document fetched from `url` must name (RFC 8414
/// §3.3, OpenID Discovery §4.3): the suite's declared `metadata.issuer`, else
/// the issuer the well-known URL was built from (`/.well-known/<doc>` inserted
/// after the host, or `/.well-known/openid-configuration` appended), else
/// `provider.base_url` for a URL of neither form.
pub(crate) fn expected_issuer(s: &Suite, url: &Url) -> String {
    issuer_for(
        s.metadata.issuer.as_deref(),
        &s.provider.base_url.value,
        url,
    )
}

fn issuer_for(declared: Option<&str>, base_url: &str, url: &Url) -> String {
    if let Some(declared) = declared {
        return declared.to_string();
    }
    let origin = url.origin().ascii_serialization();
    let path = url.path();
    if let Some(prefix) = path.strip_suffix("/.well-known/openid-configuration") {
        return format!("{origin}{prefix}");
    }
    if let Some(rest) = path.strip_prefix("/.well-known/oauth-authorization-server")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return format!("{origin}{rest}");
    }
    base_url.trim_end_matches('/').to_string()
}

/// Refuses a discovery document whose `issuer` is not `expected`: none of its
/// endpoints may receive a credential.
pub(crate) fn check_issuer(
    doc: &serde_json::Value,
    expected: &str,
    url: &Url,
) -> Result<(), SetupError> {
    if crate::probe::metadata::issuer_ok(doc, expected) {
        return Ok(());
    }
    let found = match doc.get("issuer") {
        Some(serde_json::Value::String(i)) => format!("`{i}`"),
        Some(_) => "a non-string issuer".to_string(),
        None => "no issuer".to_string(),
    };
    Err(SetupError {
        class: "discovery-issuer-mismatch",
        message: format!(
            "discovery document `{}` names {found} instead of `{expected}`; its endpoints are not used",
            url.origin().ascii_serialization() + url.path()
        ),
    })
}

/// Token endpoint and client credentials, from the suite or its discovery document.
async fn resolve_registration(
    s: &Suite,
    auth: &suite::Auth,
    base: &Url,
    http: &HttpClient,
) -> Result<Option<ClientRegistration>, SetupError> {
    use secrecy::ExposeSecret;
    if auth.grant.value == suite::Grant::StaticBearer {
        return Ok(None);
    }
    let absolute = |v: &str| -> Result<Url, String> {
        if v.starts_with("http://") || v.starts_with("https://") {
            Url::parse(v).map_err(|e| format!("bad URL `{v}`: {e}"))
        } else {
            join(base, v).map_err(|e| format!("bad URL `{v}`: {e}"))
        }
    };
    let token_url = match (&auth.token_url, &auth.discovery_url) {
        (Some(t), _) => absolute(&t.value)?,
        (None, Some(d)) => {
            let url = absolute(&d.value)?;
            let resp = http
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
                .map_err(|e| format!("discovery document: {e}"))?;
            let doc = resp
                .json()
                .map_err(|e| format!("discovery document: {e}"))?;
            check_issuer(&doc, &expected_issuer(s, &url), &url)?;
            let t = doc
                .get("token_endpoint")
                .and_then(|v| v.as_str())
                .ok_or("discovery document has no `token_endpoint`")?;
            Url::parse(t).map_err(|e| format!("discovery `token_endpoint`: {e}"))?
        }
        (None, None) => {
            return Err(SetupError::from(
                "the suite names neither `token_url` nor `discovery_url`",
            ));
        }
    };
    Ok(Some(ClientRegistration {
        token_url,
        client_id: auth
            .client_id
            .as_ref()
            .map(|c| c.value.expose_secret().to_string()),
        client_secret: auth.client_secret.as_ref().map(|c| c.value.clone()),
        client_auth: auth.client_auth.value,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn discovery_issuer_mismatch_expected_issuer() {
        let base = "https://api.example/v1/";
        let cases = [
            (
                "https://id.example/.well-known/openid-configuration",
                "https://id.example",
            ),
            (
                "https://id.example/t1/.well-known/openid-configuration",
                "https://id.example/t1",
            ),
            (
                "https://id.example/.well-known/oauth-authorization-server",
                "https://id.example",
            ),
            (
                "https://id.example:8443/.well-known/oauth-authorization-server/t1",
                "https://id.example:8443/t1",
            ),
            // Neither well-known form: the provider's base URL.
            (
                "https://id.example/discovery.json",
                "https://api.example/v1",
            ),
            (
                "https://id.example/.well-known/oauth-authorization-serverx",
                "https://api.example/v1",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(issuer_for(None, base, &u(url)), want, "{url}");
        }
        // A declared issuer wins.
        assert_eq!(
            issuer_for(Some("https://login.example/"), base, &u(cases[0].0)),
            "https://login.example/"
        );
    }

    #[test]
    fn discovery_issuer_mismatch_is_refused() {
        let url = u("https://id.example/.well-known/openid-configuration?x=1");
        let ok = serde_json::json!({"issuer": "https://id.example"});
        assert_eq!(check_issuer(&ok, "https://id.example", &url), Ok(()));
        for (doc, found) in [
            (
                serde_json::json!({"issuer": "https://id.example/"}),
                "`https://id.example/`",
            ),
            (
                serde_json::json!({"issuer": "https://evil.example"}),
                "`https://evil.example`",
            ),
            (serde_json::json!({"issuer": 7}), "a non-string issuer"),
            (serde_json::json!({}), "no issuer"),
        ] {
            let err = check_issuer(&doc, "https://id.example", &url).expect_err("mismatch");
            assert_eq!(err.class, "discovery-issuer-mismatch");
            assert_eq!(
                err.message,
                format!(
                    "discovery document `https://id.example/.well-known/openid-configuration` \
                     names {found} instead of `https://id.example`; its endpoints are not used"
                )
            );
        }
    }
}
