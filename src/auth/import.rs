//! `driftwatch connect --import`: reading a token answer a team already holds
//! (RFC 6749 §5.1 JSON) and validating it strictly before anything is stored.
//!
//! Pure: no I/O, no HTTP, no store. Never quotes a token (or any input that
//! could hold one) in an error: messages name the field and say what is wrong.

use super::response::TokenResponse;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The largest token answer `--import` reads (real ones are a few KiB).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024;

/// Longer lifetimes are not seconds but a mistake (a Unix timestamp, milliseconds).
const MAX_SECONDS: u64 = 10 * 365 * 86_400;

/// How far in the future `obtained_at` may be (clock skew between machines).
const CLOCK_SKEW_SECS: i64 = 300;

/// Why a token answer cannot be imported. Never holds a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("it is larger than {} KiB; a token answer is a small JSON object", MAX_IMPORT_BYTES / 1024)]
    TooLarge,
    #[error("it is not JSON (line {line} column {column}: {what})")]
    NotJson {
        line: usize,
        column: usize,
        what: &'static str,
    },
    #[error(
        "it is JSON but not an object; expected a token answer such as {{\"access_token\": …, \"refresh_token\": …, \"expires_in\": 3600, \"scope\": \"…\"}}"
    )]
    NotObject,
    #[error("it is an OAuth error answer (`error`: `{error}`), not a token answer")]
    ErrorAnswer { error: String },
    #[error("`{0}` is missing")]
    Missing(&'static str),
    #[error("`{0}` is empty")]
    Empty(&'static str),
    #[error("`{0}` is not a string")]
    NotString(&'static str),
    #[error("`{0}` contains whitespace or control characters (a copy-and-paste accident?)")]
    BadCharacters(&'static str),
    #[error("`token_type` is {0}: only bearer tokens (RFC 6750) can be used")]
    NotBearer(String),
    #[error("`{field}` is {reason}; expected whole seconds such as 3600 or \"3600\"")]
    BadSeconds {
        field: &'static str,
        reason: &'static str,
    },
    #[error("`obtained_at` is not an RFC 3339 time such as 2026-12-04T16:20:00Z")]
    BadTime,
    #[error("`obtained_at` ({0}) is in the future")]
    Future(String),
}

/// A validated token answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedGrant {
    pub token: TokenResponse,
    /// When the answer was issued; `expires_in` counts from here. Default: now.
    pub obtained_at: Option<DateTime<Utc>>,
}

/// Validates a token answer read from a file or stdin, at time `now`.
pub fn parse_import(bytes: &[u8], now: DateTime<Utc>) -> Result<ImportedGrant, ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge);
    }
    let map = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(ImportError::NotObject),
        Err(e) => {
            return Err(ImportError::NotJson {
                line: e.line(),
                column: e.column(),
                what: super::store::classify_json(&e),
            });
        }
    };
    if let Some(error) = map.get("error") {
        let error = error
            .as_str()
            .filter(|e| e.len() <= 40 && e.chars().all(|c| c.is_ascii_graphic()))
            .unwrap_or("?")
            .to_string();
        return Err(ImportError::ErrorAnswer { error });
    }
    let access_token = token(&map, "access_token")?.ok_or(ImportError::Missing("access_token"))?;
    let refresh_token = token(&map, "refresh_token")?;
    if let Some(t) = map.get("token_type").filter(|v| !v.is_null()) {
        let t = t.as_str().ok_or(ImportError::NotString("token_type"))?;
        if !t.eq_ignore_ascii_case("bearer") {
            let shown = if !t.is_empty()
                && t.len() <= 20
                && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                format!("`{t}`")
            } else {
                "not `Bearer`".to_string()
            };
            return Err(ImportError::NotBearer(shown));
        }
    }
    let expires_in = seconds(&map, "expires_in")?;
    let mut refresh_token_expires_in = None;
    for field in [
        "refresh_token_expires_in",
        "x_refresh_token_expires_in",
        "refresh_expires_in",
    ] {
        if let Some(s) = seconds(&map, field)? {
            refresh_token_expires_in.get_or_insert(s);
        }
    }
    let scope = match map.get("scope").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => {
            let s = v.as_str().ok_or(ImportError::NotString("scope"))?;
            if s.chars().any(char::is_control) {
                return Err(ImportError::BadCharacters("scope"));
            }
            Some(super::response::split_scope(s))
        }
    };
    let obtained_at = match map.get("obtained_at").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => {
            let s = v.as_str().ok_or(ImportError::NotString("obtained_at"))?;
            let at = DateTime::parse_from_rfc3339(s.trim())
                .map_err(|_| ImportError::BadTime)?
                .with_timezone(&Utc);
            if at > now + chrono::Duration::seconds(CLOCK_SKEW_SECS) {
                return Err(ImportError::Future(at.to_rfc3339()));
            }
            Some(at)
        }
    };
    Ok(ImportedGrant {
        token: TokenResponse {
            access_token,
            token_type: map
                .get("token_type")
                .and_then(Value::as_str)
                .map(str::to_string),
            expires_in,
            refresh_token,
            scope,
            refresh_token_expires_in,
        },
        obtained_at,
    })
}

/// A token member: absent or null is `None`; anything but a clean non-empty string is an error.
fn token(map: &Map<String, Value>, field: &'static str) -> Result<Option<String>, ImportError> {
    let Some(v) = map.get(field).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let s = v.as_str().ok_or(ImportError::NotString(field))?;
    if s.is_empty() {
        return Err(ImportError::Empty(field));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ImportError::BadCharacters(field));
    }
    Ok(Some(s.to_string()))
}

/// A lifetime in whole seconds from a JSON number or a numeric string.
fn seconds(map: &Map<String, Value>, field: &'static str) -> Result<Option<u64>, ImportError> {
    let bad = |reason| ImportError::BadSeconds { field, reason };
    let n = match map.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u,
            (None, Some(_), _) => return Err(bad("negative")),
            (None, None, Some(f)) if f < 0.0 => return Err(bad("negative")),
            _ => return Err(bad("not a whole number")),
        },
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.starts_with('-') {
                return Err(bad("negative"));
            }
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad("not a number"));
            }
            s.parse().map_err(|_| bad("too large"))?
        }
        Some(_) => return Err(bad("not a number")),
    };
    if n > MAX_SECONDS {
        return Err(bad("more than 10 years (a timestamp or milliseconds?)"));
    }
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T16:20:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn parse(text: &str) -> Result<ImportedGrant, ImportError> {
        parse_import(text.as_bytes(), now())
    }

    #[test]
    fn a_full_answer_with_string_expires_in_and_unknown_members() {
        let g = parse(
            r#"{"access_token":"sim_at_1","refresh_token":"sim_rt_1","expires_in":"3600","scope":"profile email","token_type":"bearer","obtained_at":"2026-12-04T16:00:00Z","id_token":"x","x_refresh_token_expires_in":8726400}"#,
        )
        .unwrap();
        assert_eq!(g.token.access_token, "sim_at_1");
        assert_eq!(g.token.refresh_token.as_deref(), Some("sim_rt_1"));
        assert_eq!(g.token.expires_in, Some(3600));
        assert_eq!(g.token.refresh_token_expires_in, Some(8_726_400));
        assert_eq!(
            g.token.scope,
            Some(vec!["email".to_string(), "profile".to_string()])
        );
        assert_eq!(
            g.obtained_at.map(|t| t.to_rfc3339()),
            Some("2026-12-04T16:00:00+00:00".to_string())
        );
    }

    #[test]
    fn the_minimum_is_an_access_token() {
        let g = parse(r#"{"access_token":"a","refresh_token":null}"#).unwrap();
        assert_eq!(g.token.refresh_token, None);
        assert_eq!(g.token.expires_in, None);
        assert_eq!(g.token.scope, None);
        assert_eq!(g.obtained_at, None);
    }

    #[test]
    fn import_validation_errors_name_the_field_and_never_quote_tokens() {
        let cases: [(&str, &str); 17] = [
            (
                "sim_rt_x",
                "it is not JSON (line 1 column 1: not valid JSON)",
            ),
            (
                r#"{"access_token":"sim_at_x""#,
                "it is not JSON (line 1 column 26: file ends too early (truncated?))",
            ),
            (
                r#"["sim_at_x"]"#,
                "it is JSON but not an object; expected a token answer such as {\"access_token\": …, \"refresh_token\": …, \"expires_in\": 3600, \"scope\": \"…\"}",
            ),
            (
                r#"{"error":"invalid_grant"}"#,
                "it is an OAuth error answer (`error`: `invalid_grant`), not a token answer",
            ),
            (
                r#"{"refresh_token":"sim_rt_x"}"#,
                "`access_token` is missing",
            ),
            (r#"{"access_token":""}"#, "`access_token` is empty"),
            (r#"{"access_token":42}"#, "`access_token` is not a string"),
            (
                r#"{"access_token":"sim_at_x\n"}"#,
                "`access_token` contains whitespace or control characters (a copy-and-paste accident?)",
            ),
            (
                r#"{"access_token":"a","refresh_token":"sim_rt_ x"}"#,
                "`refresh_token` contains whitespace or control characters (a copy-and-paste accident?)",
            ),
            (
                r#"{"access_token":"a","token_type":"mac"}"#,
                "`token_type` is `mac`: only bearer tokens (RFC 6750) can be used",
            ),
            (
                r#"{"access_token":"a","token_type":"sim_at_x y"}"#,
                "`token_type` is not `Bearer`: only bearer tokens (RFC 6750) can be used",
            ),
            (
                r#"{"access_token":"a","expires_in":"soon"}"#,
                "`expires_in` is not a number; expected whole seconds such as 3600 or \"3600\"",
            ),
            (
                r#"{"access_token":"a","expires_in":-5}"#,
                "`expires_in` is negative; expected whole seconds such as 3600 or \"3600\"",
            ),
            (
                r#"{"access_token":"a","expires_in":1.5}"#,
                "`expires_in` is not a whole number; expected whole seconds such as 3600 or \"3600\"",
            ),
            (
                r#"{"access_token":"a","expires_in":1800003600}"#,
                "`expires_in` is more than 10 years (a timestamp or milliseconds?); expected whole seconds such as 3600 or \"3600\"",
            ),
            (
                r#"{"access_token":"a","obtained_at":"yesterday"}"#,
                "`obtained_at` is not an RFC 3339 time such as 2026-12-04T16:20:00Z",
            ),
            (
                r#"{"access_token":"a","obtained_at":"2026-12-05T00:00:00Z"}"#,
                "`obtained_at` (2026-12-05T00:00:00+00:00) is in the future",
            ),
        ];
        for (input, want) in cases {
            let got = parse(input).unwrap_err().to_string();
            assert_eq!(got, want, "{input}");
            assert!(!got.contains("sim_"), "{got}");
        }
        assert_eq!(
            parse_import(&vec![b' '; MAX_IMPORT_BYTES + 1], now()).unwrap_err(),
            ImportError::TooLarge
        );
    }

    #[test]
    fn obtained_at_within_clock_skew_is_accepted() {
        let g = parse(r#"{"access_token":"a","obtained_at":"2026-12-04T16:24:00Z"}"#).unwrap();
        assert!(g.obtained_at.is_some());
    }
}
