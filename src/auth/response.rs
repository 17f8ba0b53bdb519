//! Parsing token-endpoint responses as they really arrive: JSON or
//! form-encoded, `expires_in` as a number, a string or missing, an error body
//! with status 200. Lenient on purpose: the deviations are recorded, not fatal.

use serde_json::Value;

/// A successful token response, normalised. Secrets stay `String` only inside
/// the auth module; they leave it wrapped or stored.
#[derive(Clone, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: Option<String>,
    /// Seconds, whatever JSON type carried them.
    pub expires_in: Option<u64>,
    pub refresh_token: Option<String>,
    /// Space-separated `scope`, split; `None` when absent.
    pub scope: Option<Vec<String>>,
    /// Seconds until the refresh token dies, from `refresh_token_expires_in`,
    /// `x_refresh_token_expires_in` or `refresh_expires_in`.
    pub refresh_token_expires_in: Option<u64>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// An OAuth error body (RFC 6749 §5.2), whatever status carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthErrorBody {
    pub error: String,
    pub description: Option<String>,
}

/// What a token endpoint said.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Token(TokenResponse),
    Error(OAuthErrorBody),
    /// Neither: the reason, without quoting the body (it may hold secrets).
    Unreadable(String),
}

/// Parses a token-endpoint body. Form-encoded bodies are accepted whatever
/// `Content-Type` claims (GitHub labels form bodies as JSON).
pub fn parse_token_body(body: &[u8]) -> Parsed {
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    parse_token_body_at(body, now)
}

/// [`parse_token_body`] at the Unix time `now`, which turns a timestamp
/// sent as a lifetime back into seconds from now.
fn parse_token_body_at(body: &[u8], now: u64) -> Parsed {
    let seconds = |v: &Value| seconds(v, now);
    let map = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Parsed::Unreadable("token response is JSON but not an object".into()),
        Err(_) => match parse_form(body) {
            Some(m) => m,
            None => {
                return Parsed::Unreadable(
                    "token response is neither JSON nor form-encoded".into(),
                );
            }
        },
    };
    if let Some(error) = map.get("error").and_then(Value::as_str) {
        return Parsed::Error(OAuthErrorBody {
            error: error.to_string(),
            description: map
                .get("error_description")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    let Some(access_token) = map.get("access_token").and_then(Value::as_str) else {
        return Parsed::Unreadable("token response has no `access_token`".into());
    };
    if let Some(defect) = token_defect(access_token) {
        return Parsed::Unreadable(format!("the `access_token` {defect}"));
    }
    // An empty refresh token means "none" (kept as absent below); any other
    // defect refuses the whole answer, so nothing of it is stored.
    if let Some(defect) = map
        .get("refresh_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .and_then(token_defect)
    {
        return Parsed::Unreadable(format!("the `refresh_token` {defect}"));
    }
    let refresh_token_expires_in = [
        "refresh_token_expires_in",
        "x_refresh_token_expires_in",
        "refresh_expires_in",
    ]
    .iter()
    .find_map(|k| map.get(*k).and_then(seconds));
    Parsed::Token(TokenResponse {
        access_token: access_token.to_string(),
        token_type: map
            .get("token_type")
            .and_then(Value::as_str)
            .map(str::to_string),
        expires_in: map.get("expires_in").and_then(seconds),
        refresh_token: map
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        scope: map.get("scope").and_then(Value::as_str).map(split_scope),
        refresh_token_expires_in,
    })
}

/// Splits a `scope` value; tolerates commas (TikTok) as well as spaces.
/// The longest token accepted (16 KiB): real bearer tokens, JWTs with many
/// claims included, stay far below; anything longer is not used.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why `token` cannot be a bearer token (RFC 6750 §2.1 allows no controls in
/// it, and an empty one would be sent as `Bearer `), or `None` when it can.
/// The message never quotes the token.
pub fn token_defect(token: &str) -> Option<&'static str> {
    if token.is_empty() {
        Some("is empty")
    } else if token.chars().any(char::is_control) {
        Some("contains control characters")
    } else if token.len() > MAX_TOKEN_BYTES {
        Some("is longer than 16 KiB")
    } else {
        None
    }
}

pub fn split_scope(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split([' ', ','])
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Above this a "lifetime" is a point in time (10^9 s is ~31 years; TikTok's
/// Merchant API sends a Unix timestamp). The token probe uses the same line.
const TIMESTAMP_THRESHOLD: u64 = 1_000_000_000;

/// A lifetime in seconds from a JSON number or a numeric string; a Unix
/// timestamp counts until that time (already past: zero).
fn seconds(v: &Value, now: u64) -> Option<u64> {
    let n = match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    Some(if n > TIMESTAMP_THRESHOLD {
        n.saturating_sub(now)
    } else {
        n
    })
}

fn parse_form(body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    let text = std::str::from_utf8(body).ok()?;
    if text.trim().is_empty()
        || !text.contains('=')
        || text.trim_start().starts_with(['{', '[', '<'])
    {
        return None;
    }
    let mut m = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(text.trim().as_bytes()) {
        m.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(body: &str) -> TokenResponse {
        match parse_token_body(body.as_bytes()) {
            Parsed::Token(t) => t,
            other => panic!("expected a token, got {other:?}"),
        }
    }

    #[test]
    fn json_with_string_expires_in() {
        let t = token(
            r#"{"access_token":"a","token_type":"Bearer","expires_in":"3600","refresh_token":"r","scope":"b a"}"#,
        );
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.refresh_token.as_deref(), Some("r"));
        assert_eq!(t.scope, Some(vec!["a".to_string(), "b".to_string()]));
    }

    #[test]
    fn form_encoded_body() {
        let t = token("access_token=a&token_type=bearer&scope=repo%2Cuser");
        assert_eq!(t.access_token, "a");
        assert_eq!(t.scope, Some(vec!["repo".to_string(), "user".to_string()]));
        assert_eq!(t.expires_in, None);
    }

    #[test]
    fn error_body_with_any_status() {
        assert_eq!(
            parse_token_body(br#"{"error":"invalid_grant","error_description":"used"}"#),
            Parsed::Error(OAuthErrorBody {
                error: "invalid_grant".into(),
                description: Some("used".into())
            })
        );
    }

    #[test]
    fn null_refresh_token_and_vendor_expiry() {
        let t = token(
            r#"{"access_token":"a","refresh_token":null,"x_refresh_token_expires_in":8726400}"#,
        );
        assert_eq!(t.refresh_token, None);
        assert_eq!(t.refresh_token_expires_in, Some(8_726_400));
    }

    #[test]
    fn a_timestamp_expires_in_counts_until_that_time() {
        let now = 1_800_000_000;
        let body = br#"{"access_token":"a","expires_in":1800003600,"refresh_token_expires_in":"1700000000"}"#;
        let Parsed::Token(t) = parse_token_body_at(body, now) else {
            panic!("expected a token")
        };
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.refresh_token_expires_in, Some(0), "a time already past");
        let Parsed::Token(t) =
            parse_token_body_at(br#"{"access_token":"a","expires_in":999999999}"#, now)
        else {
            panic!("expected a token")
        };
        assert_eq!(
            t.expires_in,
            Some(999_999_999),
            "at the threshold it is still a lifetime"
        );
    }

    fn unreadable(body: &str) -> String {
        match parse_token_body(body.as_bytes()) {
            Parsed::Unreadable(reason) => reason,
            other => panic!("expected unreadable, got {other:?}"),
        }
    }

    #[test]
    fn token_unreadable_empty_crlf_or_oversize_access_token() {
        assert_eq!(
            unreadable(r#"{"access_token":"","token_type":"Bearer"}"#),
            "the `access_token` is empty"
        );
        assert_eq!(
            unreadable(r#"{"access_token":"abc\r\nX-Injected: 1"}"#),
            "the `access_token` contains control characters"
        );
        assert_eq!(
            unreadable("access_token=abc%0D%0Adef&token_type=bearer"),
            "the `access_token` contains control characters"
        );
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            unreadable(&format!(r#"{{"access_token":"{long}"}}"#)),
            "the `access_token` is longer than 16 KiB"
        );
        let limit = "a".repeat(MAX_TOKEN_BYTES);
        assert_eq!(
            token(&format!(r#"{{"access_token":"{limit}"}}"#)).access_token,
            limit
        );
    }

    #[test]
    fn token_unreadable_crlf_or_oversize_refresh_token() {
        assert_eq!(
            unreadable(r#"{"access_token":"a","refresh_token":"r\nr"}"#),
            "the `refresh_token` contains control characters"
        );
        let long = "r".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            unreadable(&format!(
                r#"{{"access_token":"a","refresh_token":"{long}"}}"#
            )),
            "the `refresh_token` is longer than 16 KiB"
        );
    }

    #[test]
    fn html_is_unreadable_without_quoting() {
        let Parsed::Unreadable(reason) = parse_token_body(b"<html>oops sim_at_secret</html>")
        else {
            panic!()
        };
        assert!(!reason.contains("sim_at_"));
    }
}
