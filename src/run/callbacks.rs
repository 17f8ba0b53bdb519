//! The app probe's callback requests (issue 20 item 3): for every `auth.redirect_uris` entry,
//! one front-channel authorization request through the provider's HTTP client (its rate
//! limiter, recorder and redactor), never followed past the first answer, classified by
//! `probe::app::callback`. Sends `response_type=code`, `client_id`, the callback, one scope,
//! a fresh random `state` and a fresh S256 `code_challenge` (its verifier is dropped unused);
//! never a cookie, a form, a client secret or a token, so no grant can be touched.

use super::evidence::CallbackSeen;
use crate::auth::TokenManager;
use crate::auth::pkce::{Pkce, random_token};
use crate::http::{Auth, HttpClient, Redactor, Request};
use crate::model::{ProbeKind, RunError};
use crate::probe::app::callback::{CallbackAnswer, callback_subject, classify};
use crate::suite::Suite;
use url::Url;

/// The `purpose` of a callback request (the HTTP client never follows an `authorize:` one).
pub(crate) const PURPOSE: &str = "authorize:callback-probe";

/// Probes every callback of the suite once. Nothing is sent when the suite lists none.
pub(crate) async fn probe_callbacks(
    s: &Suite,
    base: &Url,
    tokens: &TokenManager,
    http: &HttpClient,
    redactor: &Redactor,
) -> (Vec<CallbackSeen>, Vec<RunError>) {
    let provider = s.provider.name.value.clone();
    let mut seen = Vec::new();
    let mut errors = Vec::new();
    if s.auth.redirect_uris.is_empty() {
        return (seen, errors);
    }
    let error = |subject: Option<String>, class: &str, message: String| RunError {
        provider: provider.clone(),
        connection: None,
        probe: Some(ProbeKind::App),
        subject,
        class: class.into(),
        message: redactor.scrub(&message),
    };
    let Some(client_id) = tokens.client().and_then(|c| c.client_id.clone()) else {
        errors.push(error(
            None,
            "config",
            "`auth.redirect_uris` needs the suite's `client_id` to ask for the callbacks".into(),
        ));
        return (seen, errors);
    };
    let authorize = match authorize_url(s, base, tokens).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            errors.push(error(
                None,
                "config",
                "`auth.redirect_uris` needs an authorization endpoint: set `auth.authorize_url` \
                 or a discovery document that names `authorization_endpoint`"
                    .into(),
            ));
            return (seen, errors);
        }
        Err(message) => {
            errors.push(error(None, "config", message));
            return (seen, errors);
        }
    };
    let scope = one_scope(s);
    for (i, uri) in s.auth.redirect_uris.iter().enumerate() {
        let uri = uri.value.as_str();
        let shown = redactor.scrub(uri);
        // A callback built from a secret value cannot be named; its position stands in.
        let subject = if shown == uri {
            callback_subject(uri)
        } else {
            callback_subject(&format!("{shown} (#{})", i + 1))
        };
        let state = random_token(24);
        // Made up for this request only (the verifier is never used), and never kept anywhere.
        let pkce = Pkce::new();
        redactor.register_token(&state);
        redactor.register_token(&pkce.challenge);
        let mut url = authorize.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &client_id)
                .append_pair("redirect_uri", uri);
            if let Some(scope) = &scope {
                q.append_pair("scope", scope);
            }
            q.append_pair("state", &state)
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256");
        }
        let mut req = Request::new(reqwest::Method::GET, url.clone(), PURPOSE);
        req.headers = vec![("accept".into(), "text/html,application/xhtml+xml".into())];
        req.auth = Auth::None;
        match http.send(req).await {
            Ok(resp) => {
                let verdict = classify(&CallbackAnswer {
                    status: resp.status,
                    headers: &resp.headers,
                    body: &resp.body,
                    authorize: &authorize,
                    redirect_uri: uri,
                });
                let mut evidence = verdict.evidence;
                evidence.location = evidence.location.map(|l| match Url::parse(&l) {
                    Ok(u) => redactor.redact_url(&u),
                    Err(_) => redactor.scrub(&l),
                });
                evidence.excerpt = evidence.excerpt.map(|e| redactor.scrub(&e));
                seen.push(CallbackSeen {
                    subject,
                    body: verdict.body,
                    evidence,
                    exchange_id: Some(resp.exchange_id),
                });
            }
            Err(e) => errors.push(error(Some(subject), e.class(), e.to_string())),
        }
    }
    (seen, errors)
}

/// The authorization endpoint: the suite's `authorize_url` (absolute or relative to the base
/// URL), else the discovery document's `authorization_endpoint`.
async fn authorize_url(
    s: &Suite,
    base: &Url,
    tokens: &TokenManager,
) -> Result<Option<Url>, String> {
    if let Some(a) = &s.auth.authorize_url {
        let v = &a.value;
        let text = if v.starts_with("http://") || v.starts_with("https://") {
            v.clone()
        } else {
            format!("{}{v}", base.as_str().trim_end_matches('/'))
        };
        return Url::parse(&text)
            .map(Some)
            .map_err(|e| format!("bad `auth.authorize_url` `{v}`: {e}"));
    }
    if s.auth.discovery_url.is_none() {
        return Ok(None);
    }
    crate::auth::connect::endpoints(s, base, tokens)
        .await
        .map(|e| e.authorize)
        .map_err(|e| e.to_string())
}

/// One scope of the suite: the first of `auth.scopes`, else the first of the first scope set.
fn one_scope(s: &Suite) -> Option<String> {
    s.auth
        .scopes
        .first()
        .or_else(|| s.scope_sets.values().find_map(|set| set.value.first()))
        .cloned()
}
