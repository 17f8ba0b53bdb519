//! Refresh-token health: when will each connection's refresh token die if
//! nothing refreshes it, and is that within the warning window.
//!
//! Pure: computed from a credential-store entry and the suite's documented
//! lifetimes. Never sees or returns a secret.

use super::store::Entry;
use super::token::refresh_deadline;
use crate::suite::RefreshLifetime;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The provider's verdicts about one grant, kept in its credential-store entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// When a token answer last carried a refresh token (the current one's birth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_issued_at: Option<DateTime<Utc>>,
    /// Since when successful refresh answers carry no refresh token (the old one is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld_since: Option<DateTime<Utc>>,
    /// The provider rejected the refresh token: the connection is dead until re-connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Rejection>,
}

/// A refresh the provider refused for good (`invalid_grant`, `invalid_client`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub at: DateTime<Utc>,
    /// The OAuth `error` code of the answer.
    pub error: String,
}

impl GrantRecord {
    /// How long the last refresh token lived, when refresh tokens were withheld and the last
    /// one was then rejected: from the last answer that carried one to the rejection.
    pub fn observed_withheld_lifetime(&self) -> Option<chrono::Duration> {
        self.withheld_since?;
        let rejected = self.rejected.as_ref()?;
        Some(rejected.at - self.refresh_token_issued_at?)
    }
}

/// One connection's token health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenHealth {
    pub provider: String,
    pub connection: String,
    pub credential: String,
    /// `ok`, `expiring` (inside the window), `expired`, `dead` (the provider rejected the
    /// refresh token; until re-connected), `not-connected`, `no-refresh-token` (access token
    /// only), `refresh-in-flight` (a run died mid-refresh).
    pub status: String,
    /// `dead` only: the provider's error and when it answered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Rejection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refreshed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// `response` (the provider said), `idle` or `absolute` (the suite's lifetimes), or
    /// `rejected` (`dead`: the provider refused the refresh token at that time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_source: Option<String>,
    /// Whole days until the refresh token dies (negative when dead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
}

/// Health of one entry (or of a missing one) at `now`.
pub fn assess(
    provider: &str,
    connection: &str,
    credential: &str,
    entry: Option<&Entry>,
    lifetime: &RefreshLifetime,
    window: chrono::Duration,
    now: DateTime<Utc>,
) -> TokenHealth {
    let mut h = TokenHealth {
        provider: provider.to_string(),
        connection: connection.to_string(),
        credential: credential.to_string(),
        status: "not-connected".into(),
        last_refreshed_at: None,
        access_token_expires_at: None,
        refresh_token_expires_at: None,
        expiry_source: None,
        days_left: None,
        rejected: None,
    };
    let Some(e) = entry else {
        return h;
    };
    h.last_refreshed_at = e.last_refreshed_at;
    h.access_token_expires_at = e.access_token_expires_at;
    if e.refresh_token.is_none() {
        h.status = "no-refresh-token".into();
        return h;
    }
    h.status = "ok".into();
    if let Some((at, source)) = refresh_deadline(e, lifetime) {
        h.refresh_token_expires_at = Some(at);
        h.expiry_source = Some(source.into());
        h.days_left = Some((at - now).num_days());
        if at <= now {
            h.status = "expired".into();
        } else if at - now <= window {
            h.status = "expiring".into();
        }
    }
    if e.refresh_in_flight.is_some() {
        h.status = "refresh-in-flight".into();
    }
    // The provider's verdict outranks the local clock.
    if let Some(r) = e.grant.as_ref().and_then(|g| g.rejected.clone()) {
        h.status = "dead".into();
        h.refresh_token_expires_at = Some(r.at);
        h.expiry_source = Some("rejected".into());
        h.days_left = Some((r.at - now).num_days());
        h.rejected = Some(r);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::store::{InFlight, StoredSecret};
    use chrono::TimeZone;
    use std::time::Duration;

    fn entry(days_ago: i64, now: DateTime<Utc>) -> Entry {
        Entry {
            refresh_token: Some(StoredSecret::new("rt")),
            obtained_at: Some(now - chrono::Duration::days(days_ago)),
            last_refreshed_at: Some(now - chrono::Duration::days(days_ago)),
            ..Entry::default()
        }
    }

    #[test]
    fn idle_lifetime_counts_from_the_last_refresh() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let lifetime = RefreshLifetime {
            idle: Some(Duration::from_secs(30 * 86_400)),
            absolute: None,
        };
        let week = chrono::Duration::days(7);
        let h = assess("p", "c", "p/c", Some(&entry(25, now)), &lifetime, week, now);
        assert_eq!(h.status, "expiring");
        assert_eq!(h.days_left, Some(5));
        assert_eq!(h.expiry_source.as_deref(), Some("idle"));
        let h = assess("p", "c", "p/c", Some(&entry(2, now)), &lifetime, week, now);
        assert_eq!((h.status.as_str(), h.days_left), ("ok", Some(28)));
        let h = assess("p", "c", "p/c", Some(&entry(31, now)), &lifetime, week, now);
        assert_eq!((h.status.as_str(), h.days_left), ("expired", Some(-1)));
    }

    #[test]
    fn the_earliest_deadline_wins() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let lifetime = RefreshLifetime {
            idle: Some(Duration::from_secs(90 * 86_400)),
            absolute: Some(Duration::from_secs(365 * 86_400)),
        };
        let mut e = entry(360, now);
        e.last_refreshed_at = Some(now);
        let h = assess(
            "p",
            "c",
            "p/c",
            Some(&e),
            &lifetime,
            chrono::Duration::days(7),
            now,
        );
        assert_eq!(h.expiry_source.as_deref(), Some("absolute"));
        assert_eq!(h.days_left, Some(5));
        e.refresh_token_expires_at = Some(now + chrono::Duration::days(2));
        let h = assess(
            "p",
            "c",
            "p/c",
            Some(&e),
            &lifetime,
            chrono::Duration::days(7),
            now,
        );
        assert_eq!(h.expiry_source.as_deref(), Some("response"));
    }

    #[test]
    fn missing_entries_crashed_refreshes_and_rejected_grants_are_named() {
        let now = Utc::now();
        let none = RefreshLifetime::default();
        let w = chrono::Duration::days(7);
        assert_eq!(
            assess("p", "c", "p/c", None, &none, w, now).status,
            "not-connected"
        );
        let mut e = entry(1, now);
        e.refresh_in_flight = Some(InFlight {
            started_at: now,
            pid: 7,
        });
        assert_eq!(
            assess("p", "c", "p/c", Some(&e), &none, w, now).status,
            "refresh-in-flight"
        );
        e.refresh_in_flight = None;
        e.grant = Some(GrantRecord {
            rejected: Some(Rejection {
                at: now,
                error: "invalid_grant".into(),
            }),
            ..GrantRecord::default()
        });
        let dead = assess("p", "c", "p/c", Some(&e), &none, w, now);
        assert_eq!(dead.status, "dead");
        assert_eq!(
            dead.rejected.map(|r| r.error).as_deref(),
            Some("invalid_grant")
        );
        e.grant = None;
        e.refresh_token = None;
        assert_eq!(
            assess("p", "c", "p/c", Some(&e), &none, w, now).status,
            "no-refresh-token"
        );
    }
}
