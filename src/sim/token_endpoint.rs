//! The simulated token endpoint: client authentication and every grant (code + PKCE, refresh,
//! client credentials, password, device code) with RFC 6749 / RFC 8628 error codes, and the
//! configured latency. Grant state lives in `tokens` and `device_state`; `reply` spells the
//! answers.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::data;
use super::device_state::Poll;
use super::oauth::{RESOURCE_SCOPES, params, parse_scopes};
use super::options::DEVICE_GRANT;
use super::reply::{token_error, token_success};
use super::server::{AppState, CLIENT_ID, ClientState, Shared, bump};
use super::tokens::{CodeError, Issued, RandomUnavailable, RefreshError, RefreshRules};

/// Client authentication by HTTP Basic (preferred when present) or by body parameters.
pub(crate) fn client_authenticated(
    s: &Shared,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> bool {
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
    match s.client_state() {
        ClientState::Live => id == CLIENT_ID && secret == s.client_secret,
        // The secret the suite holds is no longer the app's; the app's new one is never issued.
        ClientState::SecretRotated | ClientState::Deleted => false,
    }
}

/// The optional `scope` of a grant that may default: every resource scope when absent, `None`
/// when unknown or empty.
pub(crate) fn scope_or_all(p: &HashMap<String, String>) -> Option<Vec<String>> {
    match p.get("scope").map(|x| parse_scopes(x)) {
        None => Some(RESOURCE_SCOPES.iter().map(|x| x.to_string()).collect()),
        Some(Some(sc)) if !sc.is_empty() => Some(sc),
        Some(_) => None,
    }
}

/// `POST /oauth/token`. The grant is carried out first and the latency applied after, so a
/// rotation has already happened server-side while the client still waits for its answer.
pub(crate) async fn token(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RandomUnavailable> {
    bump(&s.counters.token_requests);
    let resp = answer(&s, &headers, &body);
    s.save_state();
    let mut resp = resp?;
    if s.generic_errors() && !resp.status().is_success() {
        resp = generic_400();
    }
    if !s.token_latency.is_zero() {
        tokio::time::sleep(s.token_latency).await;
    }
    Ok(resp)
}

fn answer(s: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Response, RandomUnavailable> {
    let p = match params(body) {
        Ok(p) => p,
        Err(dup) => {
            return bad(
                s,
                "invalid_request",
                &format!("parameter {dup} is repeated"),
            );
        }
    };
    if !client_authenticated(s, headers, &p) {
        let desc = match s.client_state() {
            ClientState::Deleted => "unknown client",
            _ => "client authentication failed",
        };
        return Ok(token_error(
            s.profile,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            desc,
        ));
    }
    let Some(grant_type) = p.get("grant_type").map(String::as_str) else {
        return bad(s, "invalid_request", "grant_type is required");
    };
    // Counted whatever the outcome, even when the profile does not offer the grant.
    match grant_type {
        "refresh_token" => {
            bump(&s.counters.refresh_grants);
            if let Some(rt) = p.get("refresh_token")
                && s.store().note_presented(rt)
            {
                bump(&s.counters.refresh_replays);
            }
        }
        "password" => bump(&s.counters.password_grants),
        DEVICE_GRANT => bump(&s.counters.device_polls),
        _ => {}
    }
    if !s.profile.allows(grant_type) {
        return bad(s, "unsupported_grant_type", "grant_type is not supported");
    }
    match grant_type {
        "authorization_code" => authorization_code(s, &p),
        "refresh_token" => refresh(s, &p),
        "client_credentials" => {
            let Some(scopes) = scope_or_all(&p) else {
                return bad(s, "invalid_scope", "unknown or empty scope");
            };
            let access_token = s
                .store()
                .issue_access(None, scopes.clone(), s.access_token_ttl)?;
            let issued = Issued {
                access_token,
                refresh_token: None,
                scopes,
                refresh_kept: false,
            };
            Ok(token_success(s.spelling(), issued))
        }
        "password" => password(s, &p),
        DEVICE_GRANT => device_code(s, &p),
        _ => bad(s, "unsupported_grant_type", "grant_type is not supported"),
    }
}

/// The answer of a provider that does not distinguish its errors: a bare `400`, plain text.
fn generic_400() -> Response {
    axum::response::IntoResponse::into_response((
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain")],
        "Bad Request",
    ))
}

fn bad(s: &Shared, error: &str, desc: &str) -> Result<Response, RandomUnavailable> {
    Ok(token_error(s.profile, StatusCode::BAD_REQUEST, error, desc))
}

fn authorization_code(
    s: &Shared,
    p: &HashMap<String, String>,
) -> Result<Response, RandomUnavailable> {
    let Some(code) = p.get("code") else {
        return bad(s, "invalid_request", "code is required");
    };
    let redirect = p.get("redirect_uri").map(String::as_str);
    let verifier = p.get("code_verifier").map(String::as_str);
    let result = s
        .store()
        .redeem_code(code, redirect, verifier, s.access_token_ttl)?;
    match result {
        Ok(issued) => Ok(token_success(s.spelling(), issued)),
        Err(e @ (CodeError::Unknown | CodeError::RedirectMismatch | CodeError::PkceMismatch)) => {
            bad(s, "invalid_grant", &e.to_string())
        }
    }
}

fn refresh(s: &Shared, p: &HashMap<String, String>) -> Result<Response, RandomUnavailable> {
    let Some(rt) = p.get("refresh_token") else {
        return bad(s, "invalid_request", "refresh_token is required");
    };
    let scope = match p.get("scope").map(|x| parse_scopes(x)) {
        None => None,
        Some(Some(sc)) if !sc.is_empty() => Some(sc),
        Some(_) => return bad(s, "invalid_scope", "unknown or empty scope"),
    };
    let rules = RefreshRules {
        rotation: s.profile.rotation(),
        grace: s.refresh_grace,
        stop_rotation: s.switches().rotation,
        access_ttl: s.access_token_ttl,
        narrowing: s.profile.narrows_refresh_tokens(),
    };
    let result = s.store().refresh(rt, scope, rules)?;
    match result {
        Ok(issued) => Ok(token_success(s.spelling(), issued)),
        Err(e @ (RefreshError::AlreadyUsed | RefreshError::ReuseRevokedGrant)) => {
            bump(&s.counters.refresh_reuse_rejected);
            bad(s, "invalid_grant", &e.to_string())
        }
        Err(e @ (RefreshError::Unknown | RefreshError::Expired | RefreshError::GrantRevoked)) => {
            bad(s, "invalid_grant", &e.to_string())
        }
        Err(e @ (RefreshError::ScopeNotGranted | RefreshError::ExtraScopes)) => {
            bad(s, "invalid_scope", &e.to_string())
        }
    }
}

/// The resource-owner password grant (RFC 6749 §4.3). One message for an unknown user and a
/// wrong password, as real providers do, so that accounts cannot be enumerated.
fn password(s: &Shared, p: &HashMap<String, String>) -> Result<Response, RandomUnavailable> {
    let (Some(username), Some(password)) = (p.get("username"), p.get("password")) else {
        return bad(s, "invalid_request", "username and password are required");
    };
    let Some(scopes) = scope_or_all(p) else {
        return bad(s, "invalid_scope", "unknown or empty scope");
    };
    let account = data::account(username).filter(|_| *password == s.user_password);
    let Some(account) = account else {
        return bad(s, "invalid_grant", "invalid username or password");
    };
    let issued = s
        .store()
        .issue_pair(account.slug, scopes, s.access_token_ttl)?;
    Ok(token_success(s.spelling(), issued))
}

/// The device code grant (RFC 8628 §3.4, §3.5).
fn device_code(s: &Shared, p: &HashMap<String, String>) -> Result<Response, RandomUnavailable> {
    let Some(dc) = p.get("device_code") else {
        return bad(s, "invalid_request", "device_code is required");
    };
    let poll = s.devices().poll(dc, Instant::now());
    match poll {
        Poll::Invalid => bad(s, "invalid_grant", "device code is invalid or already used"),
        Poll::Expired => bad(s, "expired_token", "device code expired"),
        Poll::SlowDown => {
            bump(&s.counters.slow_downs);
            bad(
                s,
                "slow_down",
                "polling too fast; wait longer between polls",
            )
        }
        Poll::Pending => bad(s, "authorization_pending", "the user has not decided yet"),
        Poll::Denied => bad(s, "access_denied", "the user denied the request"),
        Poll::Approved { account, scopes } => {
            let issued = s.store().issue_pair(account, scopes, s.access_token_ttl)?;
            Ok(token_success(s.spelling(), issued))
        }
    }
}
