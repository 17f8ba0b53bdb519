//! The OAuth side of the simulated provider: discovery, authorize (browser and non-browser
//! consent), token (code + PKCE, refresh, client credentials) and revocation. Grant state lives
//! in `tokens`; this module only speaks HTTP and RFC 6749 error codes.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use url::Url;

use super::data;
use super::options::Profile;
use super::server::{AppState, CLIENT_ID, bump};
use super::tokens::{CodeError, Issued, RandomUnavailable, RefreshError};

/// Scopes that unlock resource endpoints, in documentation order.
pub(crate) const RESOURCE_SCOPES: [&str; 6] = [
    "profile",
    "email",
    "invoices:read",
    "reports:read",
    "admin:read",
    "audit:read",
];
const OFFLINE_ACCESS: &str = "offline_access";

fn known_scope(s: &str) -> bool {
    s == OFFLINE_ACCESS || RESOURCE_SCOPES.contains(&s)
}

/// Splits a space-separated scope list, dropping duplicates but keeping the caller's order.
/// `None` when any scope is unknown.
fn parse_scopes(raw: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in raw.split_whitespace() {
        if !known_scope(s) {
            return None;
        }
        if !out.iter().any(|x| x == s) {
            out.push(s.to_owned());
        }
    }
    Some(out)
}

/// Form or query parameters. RFC 6749 §3.1 forbids repeating a parameter; the repeated name
/// is returned as the error.
fn params(raw: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(k.into_owned());
        }
    }
    Ok(out)
}

fn discovery(base: &str) -> Value {
    let mut scopes: Vec<&str> = RESOURCE_SCOPES.to_vec();
    scopes.push(OFFLINE_ACCESS);
    json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    })
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub(crate) async fn discovery_oauth(State(s): State<AppState>) -> Response {
    axum::Json(discovery(&s.base_url)).into_response()
}

/// `GET /.well-known/openid-configuration`: the RFC 8414 document plus OpenID fields.
pub(crate) async fn discovery_openid(State(s): State<AppState>) -> Response {
    let mut doc = discovery(&s.base_url);
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "userinfo_endpoint".into(),
            format!("{}/v1/me", s.base_url).into(),
        );
        obj.insert("subject_types_supported".into(), json!(["public"]));
        obj.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(["RS256"]),
        );
        obj.insert(
            "claims_supported".into(),
            json!(["sub", "name", "email", "phone_number"]),
        );
    }
    axum::Json(doc).into_response()
}

/// A validated authorization request, ready for a consent decision.
struct AuthRequest {
    redirect: Url,
    /// As the client sent it; the token request must repeat it byte for byte.
    redirect_raw: String,
    state: Option<String>,
    scopes: Vec<String>,
    challenge: String,
}

/// 302 to `redirect` with `pairs` appended to its query (keeping any query it already has).
fn redirect_with(mut redirect: Url, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    {
        let mut q = redirect.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(st) = state {
            q.append_pair("state", st);
        }
    }
    match HeaderValue::from_str(redirect.as_str()) {
        Ok(loc) => (StatusCode::FOUND, [(header::LOCATION, loc)]).into_response(),
        Err(_) => plain_error("invalid redirect_uri"),
    }
}

/// An error that cannot be redirected (RFC 6749 §4.1.2.1: bad client or redirect URI).
fn plain_error(msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        format!("authorization error: {msg}\n"),
    )
        .into_response()
}

/// Checks an authorize request. `Err` is the finished response (boxed: it is large): a plain
/// 400 when the client or redirect URI is bad, otherwise an error redirect.
fn validate_authorize(p: &HashMap<String, String>) -> Result<AuthRequest, Box<Response>> {
    if p.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return Err(Box::new(plain_error("unknown client_id")));
    }
    let redirect = p
        .get("redirect_uri")
        .and_then(|r| Url::parse(r).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none());
    let Some(redirect) = redirect else {
        return Err(Box::new(plain_error("missing or invalid redirect_uri")));
    };
    let state = p.get("state").cloned();
    let fail = |error: &str, desc: &str| {
        Box::new(redirect_with(
            redirect.clone(),
            &[("error", error), ("error_description", desc)],
            state.as_deref(),
        ))
    };
    if p.get("response_type").map(String::as_str) != Some("code") {
        return Err(fail(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let challenge = p.get("code_challenge").filter(|c| !c.is_empty());
    let method = p.get("code_challenge_method").map(String::as_str);
    let (Some(challenge), Some("S256")) = (challenge, method) else {
        return Err(fail(
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required",
        ));
    };
    let scopes = match p.get("scope").map(|s| parse_scopes(s)) {
        Some(Some(s)) if !s.is_empty() => s,
        _ => return Err(fail("invalid_scope", "unknown or missing scope")),
    };
    Ok(AuthRequest {
        redirect,
        redirect_raw: p.get("redirect_uri").cloned().unwrap_or_default(),
        state,
        scopes,
        challenge: challenge.clone(),
    })
}

/// Finishes a consent decision with the redirect back to the client.
fn decide(
    s: &AppState,
    req: AuthRequest,
    approve: bool,
    account: Option<&str>,
) -> Result<Response, RandomUnavailable> {
    let state = req.state.as_deref();
    if !approve {
        return Ok(redirect_with(
            req.redirect,
            &[("error", "access_denied")],
            state,
        ));
    }
    let Some(acct) = account.and_then(data::account) else {
        return Ok(redirect_with(
            req.redirect,
            &[
                ("error", "invalid_request"),
                ("error_description", "unknown account in login_hint"),
            ],
            state,
        ));
    };
    let code = s
        .store()
        .issue_code(acct.slug, req.scopes, req.redirect_raw, req.challenge)?;
    Ok(redirect_with(req.redirect, &[("code", &code)], state))
}

/// `GET /oauth/authorize`: `X-Sim-Consent: approve|deny` decides at once; otherwise a consent
/// page is shown.
pub(crate) async fn authorize(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, RandomUnavailable> {
    let p = match params(q.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(dup) => return Ok(plain_error(&format!("repeated parameter {dup}"))),
    };
    let req = match validate_authorize(&p) {
        Ok(r) => r,
        Err(resp) => return Ok(*resp),
    };
    let login_hint = p.get("login_hint").map(String::as_str);
    match headers.get("x-sim-consent").map(HeaderValue::as_bytes) {
        Some(b"approve") => decide(&s, req, true, login_hint),
        Some(b"deny") => decide(&s, req, false, None),
        Some(_) => Ok(redirect_with(
            req.redirect,
            &[
                ("error", "invalid_request"),
                ("error_description", "X-Sim-Consent must be approve or deny"),
            ],
            req.state.as_deref(),
        )),
        None => Ok(Html(consent_page(&p, login_hint)).into_response()),
    }
}

/// `POST /oauth/authorize/decision`: the consent page's form.
pub(crate) async fn decision(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Response, RandomUnavailable> {
    let p = match params(&body) {
        Ok(p) => p,
        Err(dup) => return Ok(plain_error(&format!("repeated parameter {dup}"))),
    };
    let req = match validate_authorize(&p) {
        Ok(r) => r,
        Err(resp) => return Ok(*resp),
    };
    let approve = p.get("decision").map(String::as_str) == Some("approve");
    decide(&s, req, approve, p.get("account").map(String::as_str))
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const CARRIED: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

fn consent_page(p: &HashMap<String, String>, login_hint: Option<&str>) -> String {
    let hidden: String = CARRIED
        .iter()
        .filter_map(|k| p.get(*k).map(|v| (k, v)))
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">\n",
                escape_html(v)
            )
        })
        .collect();
    let options: String = data::ACCOUNTS
        .iter()
        .map(|a| {
            let sel = if Some(*a) == login_hint {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{a}\"{sel}>{a}</option>\n")
        })
        .collect();
    let scope = escape_html(p.get("scope").map(String::as_str).unwrap_or(""));
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Simulated consent</title></head>\n\
         <body><h1>driftwatch-sim wants access</h1>\n<p>Scopes: <code>{scope}</code></p>\n\
         <form method=\"post\" action=\"/oauth/authorize/decision\">\n{hidden}\
         <label>Account <select name=\"account\">\n{options}</select></label>\n\
         <button name=\"decision\" value=\"approve\">Approve</button>\n\
         <button name=\"decision\" value=\"deny\">Deny</button>\n</form></body></html>\n"
    )
}

/// A token endpoint error body (RFC 6749 §5.2).
fn token_error(status: StatusCode, error: &str, desc: &str) -> Response {
    let mut resp = (
        status,
        no_store(),
        axum::Json(json!({"error": error, "error_description": desc})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"sim\""),
        );
    }
    resp
}

fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

fn token_success(s: &AppState, issued: Issued) -> Response {
    let secs = s.access_token_ttl.as_secs();
    let expires_in: Value = match s.profile {
        Profile::RotatingOneTime => secs.into(),
        Profile::StringExpiresIn => secs.to_string().into(),
    };
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": issued.scopes.join(" "),
    });
    if let (Some(rt), Some(obj)) = (issued.refresh_token, body.as_object_mut()) {
        obj.insert("refresh_token".into(), rt.into());
    }
    (StatusCode::OK, no_store(), axum::Json(body)).into_response()
}

/// Client authentication by HTTP Basic (preferred when present) or by body parameters.
fn client_authenticated(s: &AppState, headers: &HeaderMap, p: &HashMap<String, String>) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "));
    let (id, secret) = match basic {
        Some(b64) => {
            let Some(decoded) = STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
            else {
                return false;
            };
            match decoded.split_once(':') {
                Some((i, sec)) => (i.to_owned(), sec.to_owned()),
                None => return false,
            }
        }
        None => match (p.get("client_id"), p.get("client_secret")) {
            (Some(i), Some(sec)) => (i.clone(), sec.clone()),
            _ => return false,
        },
    };
    id == CLIENT_ID && secret == s.client_secret
}

/// `POST /oauth/token`.
pub(crate) async fn token(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RandomUnavailable> {
    bump(&s.counters.token_requests);
    let p = match params(&body) {
        Ok(p) => p,
        Err(dup) => {
            let desc = format!("parameter {dup} is repeated");
            return Ok(token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &desc,
            ));
        }
    };
    if !client_authenticated(&s, &headers, &p) {
        return Ok(token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ));
    }
    let bad = |error: &str, desc: &str| Ok(token_error(StatusCode::BAD_REQUEST, error, desc));
    let ttl = s.access_token_ttl;
    match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = p.get("code") else {
                return bad("invalid_request", "code is required");
            };
            let redirect = p.get("redirect_uri").map(String::as_str);
            let verifier = p.get("code_verifier").map(String::as_str);
            let result = s.store().redeem_code(code, redirect, verifier, ttl)?;
            match result {
                Ok(issued) => Ok(token_success(&s, issued)),
                Err(e @ (CodeError::Unknown | CodeError::RedirectMismatch)) => {
                    bad("invalid_grant", &e.to_string())
                }
                Err(e @ CodeError::PkceMismatch) => bad("invalid_grant", &e.to_string()),
            }
        }
        Some("refresh_token") => {
            bump(&s.counters.refresh_grants);
            let Some(rt) = p.get("refresh_token") else {
                return bad("invalid_request", "refresh_token is required");
            };
            let scope = match p.get("scope").map(|x| parse_scopes(x)) {
                None => None,
                Some(Some(sc)) if !sc.is_empty() => Some(sc),
                Some(_) => return bad("invalid_scope", "unknown or empty scope"),
            };
            let one_time = s.profile == Profile::RotatingOneTime;
            let result = s.store().refresh(rt, scope, one_time, ttl)?;
            match result {
                Ok(issued) => Ok(token_success(&s, issued)),
                Err(e @ RefreshError::AlreadyUsed) => {
                    bump(&s.counters.refresh_reuse_rejected);
                    bad("invalid_grant", &e.to_string())
                }
                Err(e @ RefreshError::Unknown) => bad("invalid_grant", &e.to_string()),
                Err(e @ RefreshError::ScopeNotGranted) => bad("invalid_scope", &e.to_string()),
            }
        }
        Some("client_credentials") => {
            let scopes = match p.get("scope").map(|x| parse_scopes(x)) {
                None => RESOURCE_SCOPES.iter().map(|x| x.to_string()).collect(),
                Some(Some(sc)) if !sc.is_empty() => sc,
                Some(_) => return bad("invalid_scope", "unknown or empty scope"),
            };
            let access_token = s.store().issue_access(None, scopes.clone(), ttl)?;
            let issued = Issued {
                access_token,
                refresh_token: None,
                scopes,
            };
            Ok(token_success(&s, issued))
        }
        Some(_) => bad("unsupported_grant_type", "grant_type is not supported"),
        None => bad("invalid_request", "grant_type is required"),
    }
}

/// `POST /oauth/revoke` (RFC 7009): 200 even for unknown tokens.
pub(crate) async fn revoke(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let p = match params(&body) {
        Ok(p) => p,
        Err(dup) => {
            let desc = format!("parameter {dup} is repeated");
            return token_error(StatusCode::BAD_REQUEST, "invalid_request", &desc);
        }
    };
    if !client_authenticated(&s, &headers, &p) {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let Some(token) = p.get("token") else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    s.store().revoke(token);
    StatusCode::OK.into_response()
}

impl IntoResponse for RandomUnavailable {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "simulated provider cannot generate a random value");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": "server_error"})),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_in_order_without_duplicates() {
        assert_eq!(
            parse_scopes("email profile email offline_access"),
            Some(vec![
                "email".to_string(),
                "profile".into(),
                "offline_access".into()
            ])
        );
        assert_eq!(parse_scopes("profile invoices:write"), None);
        assert_eq!(parse_scopes("  "), Some(vec![]));
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(params(b"a=1&b=2&a=3"), Err("a".to_string()));
        let p = params(b"scope=a+b&x=%3D").unwrap();
        assert_eq!(p["scope"], "a b");
        assert_eq!(p["x"], "=");
    }

    #[test]
    fn consent_page_escapes_what_it_echoes() {
        let mut p = HashMap::new();
        p.insert("state".to_string(), "\"><script>".to_string());
        p.insert("scope".to_string(), "profile".to_string());
        let page = consent_page(&p, Some("initech"));
        assert!(
            page.contains("value=\"&quot;&gt;&lt;script&gt;\""),
            "{page}"
        );
        assert!(!page.contains("<script>"));
        assert!(page.contains("<option value=\"initech\" selected>initech</option>"));
        assert!(page.contains("action=\"/oauth/authorize/decision\""));
    }

    #[test]
    fn discovery_lists_every_scope_and_s256_only() {
        let d = discovery("http://127.0.0.1:1");
        assert_eq!(d["issuer"], "http://127.0.0.1:1");
        assert_eq!(d["token_endpoint"], "http://127.0.0.1:1/oauth/token");
        assert_eq!(
            d["scopes_supported"],
            json!([
                "profile",
                "email",
                "invoices:read",
                "reports:read",
                "admin:read",
                "audit:read",
                "offline_access"
            ])
        );
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    }
}
