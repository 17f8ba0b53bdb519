//! How the simulated token and device endpoints spell their answers per profile: JSON or
//! form-encoded bodies, the HTTP status of errors, no-store headers, the type of `expires_in`
//! and which optional members appear. Knows nothing about grants or their state.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::device_state::DeviceCodes;
use super::options::Profile;
use super::tokens::{Issued, RandomUnavailable};

const FORM: &str = "application/x-www-form-urlencoded";

/// Whole seconds, rounded up so that a sub-second lifetime is never announced as `0`.
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// `pairs` as an `application/x-www-form-urlencoded` body with HTTP 200 (GitHub style).
fn form_body(pairs: &[(&str, String)]) -> Response {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(FORM))],
        ser.finish(),
    )
        .into_response()
}

/// An RFC 6749 §5.2 error body in JSON, whatever the profile (revocation uses it too).
pub(crate) fn json_error(status: StatusCode, error: &str, desc: &str) -> Response {
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

/// A token endpoint error. `Profile::FormEncoded` sends it form-encoded with HTTP 200,
/// whatever `status` would have been.
pub(crate) fn token_error(
    profile: Profile,
    status: StatusCode,
    error: &str,
    desc: &str,
) -> Response {
    if profile == Profile::FormEncoded {
        return form_body(&[("error", error.into()), ("error_description", desc.into())]);
    }
    json_error(status, error, desc)
}

/// What a token response needs to know besides the grant's result.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenSpelling {
    pub(crate) profile: Profile,
    pub(crate) access_token_ttl: Duration,
    pub(crate) refresh_idle_ttl: Option<Duration>,
}

/// A successful token response (RFC 6749 §5.1, or GitHub's form-encoded variant).
pub(crate) fn token_success(sp: TokenSpelling, issued: Issued) -> Response {
    let secs = sp.access_token_ttl.as_secs();
    // Announced only by the profile that imitates providers sending it, and whenever the
    // client holds a live refresh token (even one the answer did not repeat).
    let holds_refresh_token = issued.refresh_token.is_some() || issued.refresh_kept;
    let rt_expires = match (sp.profile, holds_refresh_token, sp.refresh_idle_ttl) {
        (Profile::RotatingShortIdle, true, Some(idle)) => Some(ceil_secs(idle)),
        _ => None,
    };
    if sp.profile == Profile::FormEncoded {
        let mut pairs = vec![
            ("access_token", issued.access_token),
            ("token_type", "bearer".to_owned()),
            ("scope", issued.scopes.join(",")),
            ("expires_in", secs.to_string()),
        ];
        if let Some(rt) = issued.refresh_token {
            pairs.push(("refresh_token", rt));
        }
        return form_body(&pairs);
    }
    let mut body = Map::new();
    body.insert("access_token".into(), issued.access_token.into());
    body.insert("token_type".into(), "Bearer".into());
    let expires_in: Value = match sp.profile {
        Profile::StringExpiresIn => secs.to_string().into(),
        _ => secs.into(),
    };
    body.insert("expires_in".into(), expires_in);
    if sp.profile != Profile::ClientCredentialsOnly {
        body.insert("scope".into(), issued.scopes.join(" ").into());
    }
    if let Some(rt) = issued.refresh_token {
        body.insert("refresh_token".into(), rt.into());
    }
    if let Some(s) = rt_expires {
        body.insert("refresh_token_expires_in".into(), s.into());
    }
    (StatusCode::OK, no_store(), axum::Json(Value::Object(body))).into_response()
}

/// The device authorization response (RFC 8628 §3.2); form-encoded in `Profile::FormEncoded`,
/// as GitHub's device endpoint answers.
pub(crate) fn device_codes(profile: Profile, base_url: &str, codes: DeviceCodes) -> Response {
    let uri = format!("{base_url}/device");
    let complete = format!("{uri}?user_code={}", codes.user_code);
    let expires_in = ceil_secs(codes.expires_in);
    let interval = ceil_secs(codes.interval);
    if profile == Profile::FormEncoded {
        return form_body(&[
            ("device_code", codes.device_code),
            ("user_code", codes.user_code),
            ("verification_uri", uri),
            ("verification_uri_complete", complete),
            ("expires_in", expires_in.to_string()),
            ("interval", interval.to_string()),
        ]);
    }
    let body = json!({
        "device_code": codes.device_code,
        "user_code": codes.user_code,
        "verification_uri": uri,
        "verification_uri_complete": complete,
        "expires_in": expires_in,
        "interval": interval,
    });
    (StatusCode::OK, no_store(), axum::Json(body)).into_response()
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
    fn seconds_round_up() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_millis(300)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(5)), 5);
        assert_eq!(ceil_secs(Duration::from_millis(5001)), 6);
    }
}
