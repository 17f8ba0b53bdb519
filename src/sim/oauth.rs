//! The OAuth side of the simulated provider: discovery, authorize (browser and non-browser
//! consent, loopback redirect URIs) and revocation, plus the parameter parsing the other
//! endpoints share. Grant state lives in `tokens`; the token endpoint in `token_endpoint`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use url::{Host, Url};

use super::data;
use super::options::Profile;
use super::reply::json_error;
use super::server::{AppState, CLIENT_ID, Shared};
use super::token_endpoint::client_authenticated;
use super::tokens::RandomUnavailable;

/// Scopes that unlock resource endpoints, in documentation order.
pub(crate) const RESOURCE_SCOPES: [&str; 9] = [
    "profile",
    "email",
    "invoices:read",
    "reports:read",
    "admin:read",
    "audit:read",
    "channels:read",
    "activities:read",
    "activities:read_all",
];
const OFFLINE_ACCESS: &str = "offline_access";

/// A scope the simulator grants but no resource endpoint checks: the demo suite requests it
/// on purpose to show `permission.scope-unused` (issue 20). Not part of a defaulted grant, and
/// not advertised in `scopes_supported` (RFC 8414 §2 lets a server leave scopes out).
pub(crate) const UNCHECKED_SCOPE: &str = "webhooks:read";

fn known_scope(s: &str) -> bool {
    s == OFFLINE_ACCESS || s == UNCHECKED_SCOPE || RESOURCE_SCOPES.contains(&s)
}

/// Splits a space-separated scope list, dropping duplicates but keeping the caller's order.
/// `None` when any scope is unknown.
pub(crate) fn parse_scopes(raw: &str) -> Option<Vec<String>> {
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
pub(crate) fn params(raw: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(k.into_owned());
        }
    }
    Ok(out)
}

/// The grant, scope and token-endpoint authentication method that the metadata drift stops
/// advertising. All three keep working: the documents drift, not the server.
const UNLISTED_SCOPE: &str = "audit:read";
const UNLISTED_AUTH_METHOD: &str = "client_secret_post";

/// The grant the metadata drift leaves out: the legacy `password` grant where the profile has
/// it, `client_credentials` everywhere else, so every profile loses one.
fn unlisted_grant(profile: Profile) -> &'static str {
    if profile.allows("password") {
        "password"
    } else {
        "client_credentials"
    }
}

fn discovery(base: &str, profile: Profile, metadata_drift: bool) -> Value {
    let mut scopes: Vec<&str> = RESOURCE_SCOPES.to_vec();
    scopes.push(OFFLINE_ACCESS);
    let mut grants: Vec<&str> = profile.grant_types().to_vec();
    let mut auth_methods = vec!["client_secret_basic", UNLISTED_AUTH_METHOD];
    if metadata_drift {
        let grant = unlisted_grant(profile);
        grants.retain(|g| *g != grant);
        scopes.retain(|s| *s != UNLISTED_SCOPE);
        auth_methods.retain(|m| *m != UNLISTED_AUTH_METHOD);
    }
    let mut doc = json!({
        "issuer": base,
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "scopes_supported": scopes,
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    });
    let Some(obj) = doc.as_object_mut() else {
        return doc;
    };
    if profile.has_users() {
        obj.insert(
            "authorization_endpoint".into(),
            format!("{base}/oauth/authorize").into(),
        );
        obj.insert(
            "device_authorization_endpoint".into(),
            format!("{base}/oauth/device_authorization").into(),
        );
        obj.insert("response_types_supported".into(), json!(["code"]));
        obj.insert("code_challenge_methods_supported".into(), json!(["S256"]));
    } else {
        // RFC 8414 requires the member even when nothing can be authorized.
        obj.insert("response_types_supported".into(), json!([]));
    }
    doc
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub(crate) async fn discovery_oauth(State(s): State<AppState>) -> Response {
    axum::Json(discovery(&s.base_url, s.profile, s.switches().metadata)).into_response()
}

/// `GET /.well-known/openid-configuration`: the RFC 8414 document plus OpenID fields.
pub(crate) async fn discovery_openid(State(s): State<AppState>) -> Response {
    let mut doc = discovery(&s.base_url, s.profile, s.switches().metadata);
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

/// Whether `u` may receive codes: any https URI, or plain http only to a loopback host on any
/// port and path (RFC 8252 §7.3: native apps pick a free port at run time).
fn acceptable_redirect(u: &Url) -> bool {
    if u.fragment().is_some() {
        return false;
    }
    match u.scheme() {
        "https" => true,
        "http" => match u.host() {
            Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
            Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
            Some(Host::Domain(d)) => d == "localhost",
            None => false,
        },
        _ => false,
    }
}

/// Google's answer to an unregistered redirect URI (issue 20 item 3): a `400` HTML page naming
/// `redirect_uri_mismatch`, never a redirect (RFC 6749 §4.1.2.1).
fn redirect_uri_mismatch(redirect_uri: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Error 400: redirect_uri_mismatch</title></head>\n\
         <body><h1>Access blocked: this app's request is invalid</h1>\n\
         <p>Error 400: redirect_uri_mismatch</p>\n\
         <p>The redirect_uri in the request does not match a redirect URI registered for the client.</p>\n\
         <p>Request details: redirect_uri={}</p></body></html>\n",
        escape_html(redirect_uri)
    );
    (StatusCode::BAD_REQUEST, Html(page)).into_response()
}

/// Checks an authorize request. `Err` is the finished response (boxed: it is large): a plain
/// 400 when the client or redirect URI is bad (the `redirect_uri_mismatch` page when it is
/// not registered), otherwise an error redirect.
fn validate_authorize(
    s: &Shared,
    p: &HashMap<String, String>,
) -> Result<AuthRequest, Box<Response>> {
    if p.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return Err(Box::new(plain_error("unknown client_id")));
    }
    let redirect = p
        .get("redirect_uri")
        .and_then(|r| Url::parse(r).ok())
        .filter(acceptable_redirect);
    let Some(redirect) = redirect else {
        return Err(Box::new(plain_error("missing or invalid redirect_uri")));
    };
    let raw = p
        .get("redirect_uri")
        .map(String::as_str)
        .unwrap_or_default();
    if !s.callback_registered(raw, &redirect) {
        return Err(Box::new(redirect_uri_mismatch(raw)));
    }
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

/// The answer of a provider without users to any authorization request: 400, no redirect.
fn no_authorization() -> Response {
    json_error(
        StatusCode::BAD_REQUEST,
        "unsupported_response_type",
        "this provider has no authorization endpoint",
    )
}

/// `GET /oauth/authorize`: `X-Sim-Consent: approve|deny` decides at once; otherwise a consent
/// page is shown.
pub(crate) async fn authorize(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, RandomUnavailable> {
    if !s.profile.has_users() {
        return Ok(no_authorization());
    }
    let p = match params(q.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(dup) => return Ok(plain_error(&format!("repeated parameter {dup}"))),
    };
    let req = match validate_authorize(&s, &p) {
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
    if !s.profile.has_users() {
        return Ok(no_authorization());
    }
    let p = match params(&body) {
        Ok(p) => p,
        Err(dup) => return Ok(plain_error(&format!("repeated parameter {dup}"))),
    };
    let req = match validate_authorize(&s, &p) {
        Ok(r) => r,
        Err(resp) => return Ok(*resp),
    };
    let approve = p.get("decision").map(String::as_str) == Some("approve");
    decide(&s, req, approve, p.get("account").map(String::as_str))
}

pub(crate) fn escape_html(s: &str) -> String {
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

/// `POST /oauth/revoke` (RFC 7009): 200 even for unknown tokens.
pub(crate) async fn revoke(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let p = match params(&body) {
        Ok(p) => p,
        Err(dup) => {
            let desc = format!("parameter {dup} is repeated");
            return json_error(StatusCode::BAD_REQUEST, "invalid_request", &desc);
        }
    };
    if !client_authenticated(&s, &headers, &p) {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let Some(token) = p.get("token") else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    s.store().revoke(token);
    s.save_state();
    StatusCode::OK.into_response()
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
        assert_eq!(
            parse_scopes("profile webhooks:read"),
            Some(vec!["profile".to_owned(), "webhooks:read".to_owned()])
        );
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
    fn only_loopback_hosts_may_use_plain_http() {
        let ok = |s: &str| acceptable_redirect(&Url::parse(s).unwrap());
        assert!(ok("http://127.0.0.1:61234/any/path?x=1"));
        assert!(ok("http://localhost:8/"));
        assert!(ok("http://[::1]:9/cb"));
        assert!(ok("http://127.0.0.1/cb"));
        assert!(ok("https://example.com/cb"));
        assert!(!ok("http://example.com/cb"));
        assert!(!ok("http://127.0.0.2/cb"));
        assert!(!ok("http://localhost.example.com/cb"));
        assert!(!ok("http://127.0.0.1:9/cb#frag"));
        assert!(!ok("ftp://127.0.0.1/cb"));
    }

    #[test]
    fn discovery_follows_the_profile() {
        let d = discovery("http://127.0.0.1:1", Profile::Password, false);
        assert_eq!(
            d["grant_types_supported"],
            json!([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        assert_eq!(
            d["device_authorization_endpoint"],
            "http://127.0.0.1:1/oauth/device_authorization"
        );
        let cc = discovery("http://127.0.0.1:1", Profile::ClientCredentialsOnly, false);
        assert_eq!(cc["grant_types_supported"], json!(["client_credentials"]));
        assert!(cc.get("authorization_endpoint").is_none());
        assert_eq!(cc["token_endpoint"], "http://127.0.0.1:1/oauth/token");
    }

    #[test]
    fn discovery_lists_every_scope_and_s256_only() {
        let d = discovery("http://127.0.0.1:1", Profile::RotatingOneTime, false);
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
                "channels:read",
                "activities:read",
                "activities:read_all",
                "offline_access"
            ])
        );
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    }

    #[test]
    fn metadata_drift_unlists_one_grant_per_profile_a_scope_and_an_auth_method() {
        for p in Profile::ALL {
            let before = discovery("http://127.0.0.1:1", p, false);
            let after = discovery("http://127.0.0.1:1", p, true);
            let mut expected = before.clone();
            let unlisted = unlisted_grant(p);
            expected["grant_types_supported"] = json!(
                p.grant_types()
                    .iter()
                    .filter(|g| **g != unlisted)
                    .collect::<Vec<_>>()
            );
            expected["scopes_supported"] = json!([
                "profile",
                "email",
                "invoices:read",
                "reports:read",
                "admin:read",
                "channels:read",
                "activities:read",
                "activities:read_all",
                "offline_access"
            ]);
            expected["token_endpoint_auth_methods_supported"] = json!(["client_secret_basic"]);
            assert_eq!(after, expected, "{p}");
            assert_eq!(after["issuer"], "http://127.0.0.1:1");
        }
        let pw = discovery("http://127.0.0.1:1", Profile::Password, true);
        assert_eq!(
            pw["grant_types_supported"],
            json!([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        let rot = discovery("http://127.0.0.1:1", Profile::RotatingOneTime, true);
        assert_eq!(
            rot["grant_types_supported"],
            json!([
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        assert_eq!(unlisted_grant(Profile::Password), "password");
        assert_eq!(unlisted_grant(Profile::NonRotating), "client_credentials");
        let cc = discovery("http://127.0.0.1:1", Profile::ClientCredentialsOnly, true);
        assert_eq!(cc["grant_types_supported"], json!([]));
    }
}
