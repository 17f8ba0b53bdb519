//! Connection states: what a run found out about each connection's credentials,
//! decided before anything is compared (DESIGN.md safety rule 5). Builds the
//! `connections[]` entries from token-manager outcomes and tells an endpoint's
//! `401` for a rejected access token from a `401` that is a permission answer.
//! Never compares observations and never formats reports.

use crate::auth::health::GrantRecord;
use crate::auth::{AuthError, CredentialStore, Entry};
use crate::model::{ConnectionState, ConnectionStatus, Severity};
use crate::suite::Connection;
use chrono::{DateTime, Utc};

/// The refresh class of a grant whose provider stopped issuing refresh tokens and whose last
/// one then expired.
const WITHHELD_EXPIRING: &str = crate::probe::refresh::RefreshClass::WithheldExpiring.as_str();

/// What the store says about a connection: when it last worked and its grant record.
pub(crate) struct StoreView {
    pub last_worked_at: Option<DateTime<Utc>>,
    pub grant: Option<GrantRecord>,
}

impl StoreView {
    pub(crate) fn read(store: &CredentialStore, conn: &Connection) -> StoreView {
        let entry: Option<Entry> = store.get(&conn.credential).ok().flatten();
        StoreView {
            last_worked_at: entry
                .as_ref()
                .and_then(|e| e.last_refreshed_at.or(e.obtained_at)),
            grant: entry.and_then(|e| e.grant),
        }
    }
}

/// True when a `401` answer's challenge says the access token itself was refused
/// (RFC 6750 §3.1 `error="invalid_token"`).
pub(crate) fn invalid_token_challenge(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("www-authenticate")
            && v.to_ascii_lowercase().contains("invalid_token")
    })
}

/// Whether a connection's `401` answers mean its access token was rejected: one challenge
/// names `invalid_token`, or no request of the connection got any other answer (a bare `401`
/// next to `2xx`/`403`/`404` answers with the same token is a permission answer).
pub(crate) fn token_rejected(unauthorized: &[&[(String, String)]], other_answers: usize) -> bool {
    !unauthorized.is_empty()
        && (other_answers == 0 || unauthorized.iter().any(|h| invalid_token_challenge(h)))
}

/// The state, OAuth error and sentence of a token failure.
fn classify(e: &AuthError) -> (ConnectionState, String) {
    match e {
        AuthError::NotConnected { .. } => (ConnectionState::NotConnected, "not-connected".into()),
        AuthError::InvalidGrant { .. } => (ConnectionState::GrantDead, "invalid_grant".into()),
        AuthError::Refused { error, .. } if error == "invalid_client" => {
            (ConnectionState::GrantDead, error.clone())
        }
        AuthError::AccessTokenRejected { .. } => {
            (ConnectionState::AccessTokenRejected, "invalid_token".into())
        }
        AuthError::Refused { error, .. } => (ConnectionState::TokenError, error.clone()),
        other => (ConnectionState::TokenError, other.class().to_string()),
    }
}

fn when(at: Option<DateTime<Utc>>) -> String {
    match at {
        Some(at) => format!("last worked on {}", at.format("%Y-%m-%d %H:%M UTC")),
        None => "the store does not say when it last worked".into(),
    }
}

/// Whole days and hours of a lifetime, for people (`13 d 4 h`, `5 h`, `42 s`).
fn human(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match (s / 86_400, (s % 86_400) / 3_600) {
        (0, 0) => format!("{s} s"),
        (0, h) => format!("{h} h"),
        (days, 0) => format!("{days} d"),
        (days, h) => format!("{days} d {h} h"),
    }
}

/// Everything a connection item about a failure needs.
pub(crate) struct Failure<'a> {
    pub provider: &'a str,
    pub conn: &'a Connection,
    pub reconnect: String,
    pub view: StoreView,
    /// The failure, already redacted.
    pub detail: String,
    pub exchanges: Vec<String>,
}

/// The unusable state of a connection whose token could not be obtained or renewed.
pub(crate) fn unusable(e: &AuthError, f: Failure<'_>) -> ConnectionStatus {
    let (state, error) = classify(e);
    let id = &f.conn.id.value;
    // The failure's own sentence (redacted) says what the provider answered.
    let detail = f.detail.trim_end().trim_end_matches('.');
    let fix = if detail.contains(&f.reconnect) {
        String::new()
    } else {
        format!(" Re-authorise it: `{}`", f.reconnect)
    };
    let mut message = match state {
        ConnectionState::GrantDead => format!(
            "connection `{id}` cannot be used, the provider refused its grant (`{error}`; {}): {detail}.{fix}",
            when(f.view.last_worked_at),
        ),
        // The store's own sentence names the key, the store and the command.
        ConnectionState::NotConnected => f.detail.clone(),
        ConnectionState::AccessTokenRejected => format!(
            "connection `{id}` cannot be used, the provider rejected its access token (`invalid_token`; {}): {detail}.{fix}",
            when(f.view.last_worked_at),
        ),
        _ => format!(
            "connection `{id}` cannot be used this run ({}): {detail}.",
            when(f.view.last_worked_at)
        ),
    };
    let mut status = ConnectionStatus {
        provider: f.provider.to_string(),
        connection: id.clone(),
        credential: f.conn.credential.clone(),
        state,
        usable: false,
        severity: Some(Severity::Breaking),
        message: None,
        error: Some(error.clone()),
        last_worked_at: f.view.last_worked_at,
        reconnect: Some(f.reconnect.clone()),
        refresh_class: None,
        exchanges: f.exchanges,
    };
    // A grant that stopped getting refresh tokens and is now refused: its last one expired.
    if error == "invalid_grant"
        && let Some(g) = &f.view.grant
        && let (Some(since), Some(lived)) = (g.withheld_since, g.observed_withheld_lifetime())
    {
        message.push_str(&format!(
            " The provider stopped issuing refresh tokens on {} and the last one expired: it lived {} (observed: issued {}, refused {}). Refresh class: `{WITHHELD_EXPIRING}`",
            since.format("%Y-%m-%d %H:%M UTC"),
            human(lived),
            g.refresh_token_issued_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
            g.rejected
                .as_ref()
                .map(|r| r.at.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
        ));
        status.refresh_class = Some(WITHHELD_EXPIRING.into());
    }
    status.message = Some(message);
    status
}

/// A connection whose access token was rejected, renewed once, and whose retried requests
/// then worked.
pub(crate) fn recovered(
    provider: &str,
    conn: &Connection,
    rejected: usize,
    exchanges: Vec<String>,
) -> ConnectionStatus {
    let mut s = ConnectionStatus::healthy(
        provider,
        &conn.id.value,
        &conn.credential,
        ConnectionState::AccessTokenRejected,
    );
    s.severity = Some(Severity::Warning);
    s.error = Some("invalid_token".into());
    s.message = Some(format!(
        "the provider rejected the access token of connection `{}` before it expired ({rejected} request(s) answered 401); it was refreshed once and the retried request(s) worked",
        conn.id.value
    ));
    s.exchanges = exchanges;
    s
}

/// A connection whose access token was renewed after a `401` and then refused again.
pub(crate) fn rejected_again(
    provider: &str,
    conn: &Connection,
    reconnect: String,
    view: StoreView,
    exchanges: Vec<String>,
) -> ConnectionStatus {
    ConnectionStatus {
        provider: provider.to_string(),
        connection: conn.id.value.clone(),
        credential: conn.credential.clone(),
        state: ConnectionState::AccessTokenRejected,
        usable: false,
        severity: Some(Severity::Breaking),
        message: Some(format!(
            "connection `{}` cannot be used, the provider rejected its access token (`invalid_token`) and then the one a refresh gave ({}). Re-authorise it: `{reconnect}`",
            conn.id.value,
            when(view.last_worked_at)
        )),
        error: Some("invalid_token".into()),
        last_worked_at: view.last_worked_at,
        reconnect: Some(reconnect),
        refresh_class: None,
        exchanges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> Vec<(String, String)> {
        vec![("www-authenticate".to_string(), v.to_string())]
    }

    #[test]
    fn a_bare_401_beside_other_answers_is_a_permission_answer() {
        let bare = h("Bearer realm=\"sim\"");
        assert!(!token_rejected(&[&bare], 3));
        assert!(token_rejected(&[&bare], 0));
        let invalid = h("Bearer realm=\"sim\", error=\"invalid_token\"");
        assert!(token_rejected(&[&bare, &invalid], 5));
        assert!(!token_rejected(&[], 0));
    }

    #[test]
    fn lifetimes_read_as_days_and_hours() {
        assert_eq!(human(chrono::Duration::seconds(42)), "42 s");
        assert_eq!(human(chrono::Duration::hours(5)), "5 h");
        assert_eq!(human(chrono::Duration::hours(14 * 24 + 3)), "14 d 3 h");
    }
}
