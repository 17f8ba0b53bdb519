//! The HTTP side of the simulated device authorization grant (RFC 8628): the device
//! authorization endpoint, the non-browser approval endpoint and the verification page.
//! Grant state lives in `device_state`; polling is part of the token endpoint.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::api;
use super::data;
use super::device_state::Decision;
use super::oauth::{escape_html, params};
use super::reply::{device_codes, token_error};
use super::server::AppState;
use super::token_endpoint::{client_authenticated, scope_or_all};
use super::tokens::RandomUnavailable;

/// `POST /oauth/device_authorization`: client authentication as at the token endpoint and an
/// optional `scope` (every resource scope when absent).
pub(crate) async fn device_authorization(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RandomUnavailable> {
    if !s.profile.has_users() {
        return Ok(api::not_found().await);
    }
    let bad =
        |error: &str, desc: &str| token_error(s.profile, StatusCode::BAD_REQUEST, error, desc);
    let p = match params(&body) {
        Ok(p) => p,
        Err(dup) => {
            return Ok(bad(
                "invalid_request",
                &format!("parameter {dup} is repeated"),
            ));
        }
    };
    if !client_authenticated(&s, &headers, &p) {
        return Ok(token_error(
            s.profile,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ));
    }
    let Some(scopes) = scope_or_all(&p) else {
        return Ok(bad("invalid_scope", "unknown or empty scope"));
    };
    let codes = s
        .devices()
        .issue(scopes, s.device_interval, Instant::now())?;
    Ok(device_codes(s.profile, &s.base_url, codes))
}

fn approval_error(status: StatusCode, error: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "message": message})),
    )
        .into_response()
}

/// `POST /device/approve`: form `user_code`, `login_hint=<account>` (needed to approve) and
/// `decision=approve|deny`. No client authentication: this is the user's side.
pub(crate) async fn approve(State(s): State<AppState>, body: Bytes) -> Response {
    if !s.profile.has_users() {
        return api::not_found().await;
    }
    let p = match params(&body) {
        Ok(p) => p,
        Err(dup) => {
            let msg = format!("parameter {dup} is repeated");
            return approval_error(StatusCode::BAD_REQUEST, "invalid_request", &msg);
        }
    };
    let Some(user_code) = p.get("user_code") else {
        return approval_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "user_code is required",
        );
    };
    let decision = match p.get("decision").map(String::as_str) {
        Some("approve") => match p.get("login_hint").and_then(|a| data::account(a)) {
            Some(acct) => Decision::Approve(acct.slug),
            None => {
                return approval_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "unknown account in login_hint",
                );
            }
        },
        Some("deny") => Decision::Deny,
        _ => {
            return approval_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "decision must be approve or deny",
            );
        }
    };
    let result = s.devices().decide(user_code, decision, Instant::now());
    match result {
        Ok(()) => {
            let status = match decision {
                Decision::Approve(_) => "approved",
                Decision::Deny => "denied",
            };
            axum::Json(json!({ "status": status })).into_response()
        }
        Err(e) => approval_error(StatusCode::NOT_FOUND, "not_found", &e.to_string()),
    }
}

/// `GET /device[?user_code=…]`: the verification page, a form posting to `/device/approve`.
pub(crate) async fn page(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    if !s.profile.has_users() {
        return api::not_found().await;
    }
    // A repeated parameter just leaves the field empty; the form still works.
    let p = params(q.unwrap_or_default().as_bytes()).unwrap_or_default();
    let user_code = p.get("user_code").map(String::as_str).unwrap_or("");
    Html(device_page(user_code)).into_response()
}

fn device_page(user_code: &str) -> String {
    let options: String = data::ACCOUNTS
        .iter()
        .map(|a| format!("<option value=\"{a}\">{a}</option>\n"))
        .collect();
    let code = escape_html(user_code);
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Simulated device login</title></head>\n\
         <body><h1>Connect a device to driftwatch-sim</h1>\n\
         <form method=\"post\" action=\"/device/approve\">\n\
         <label>Code <input name=\"user_code\" value=\"{code}\" autocomplete=\"off\"></label>\n\
         <label>Account <select name=\"login_hint\">\n{options}</select></label>\n\
         <button name=\"decision\" value=\"approve\">Approve</button>\n\
         <button name=\"decision\" value=\"deny\">Deny</button>\n</form></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_page_escapes_the_user_code_and_posts_to_approve() {
        let page = device_page("\"><script>");
        assert!(
            page.contains("value=\"&quot;&gt;&lt;script&gt;\""),
            "{page}"
        );
        assert!(!page.contains("<script>"));
        assert!(page.contains("<form method=\"post\" action=\"/device/approve\">"));
        assert!(page.contains("<option value=\"globex\">globex</option>"));
    }
}
