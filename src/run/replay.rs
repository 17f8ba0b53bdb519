//! The replay probe's bookkeeping in a run (`auth.refresh.replay`): whether a
//! disposable connection may be replayed this run, and which connections an
//! earlier probe consumed — a replay that revoked the grant, or the permissions
//! probe's narrowed refresh that left it narrowed for good (safety rule 4:
//! reported as consumed, never as drift). Reads credential-store entries;
//! never sends a request and never opens the baseline.

use crate::auth::CredentialStore;
use crate::auth::store::{Entry, ReplayOutcome};
use crate::model::{ConnectionState, ConnectionStatus, Severity};
use crate::suite::{Connection, ReplayPolicy};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A disposable connection whose grant an earlier probe spent: skipped by the
/// run, without drift, until `connect` stores a new grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumedConnection {
    pub connection: String,
    /// When the probe spent the grant.
    pub at: DateTime<Utc>,
    /// Which probe spent it.
    pub by: ConsumedBy,
    /// The command that re-arms it (`driftwatch connect SUITE CONNECTION`).
    pub reconnect: String,
}

/// The probe that consumed a disposable grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsumedBy {
    /// The refresh probe's replay revoked the grant (reuse detection).
    Replay,
    /// The permissions probe's narrowed refresh rotated into a refresh token
    /// narrowed for good: its endpoints would answer with narrowed data.
    Narrowing,
}

/// True when the active refresh probe may replay `conn`'s old refresh token
/// this run: only disposable connections, and with `once` only a grant that
/// has not been replayed yet.
pub(crate) fn replay_allowed(policy: ReplayPolicy, conn: &Connection, entry: &Entry) -> bool {
    conn.disposable
        && match policy {
            ReplayPolicy::Never => false,
            ReplayPolicy::EveryRun => true,
            ReplayPolicy::Once => entry.replayed.is_none(),
        }
}

/// When and by which probe an earlier run consumed `conn`'s disposable grant (the
/// store remembers it), if one did: a replay that revoked it, else a narrowed
/// refresh that narrowed it for good.
pub(crate) fn consumed_at(conn: &Connection, entry: &Entry) -> Option<(DateTime<Utc>, ConsumedBy)> {
    if !conn.disposable {
        return None;
    }
    let revoked = entry
        .replayed
        .as_ref()
        .filter(|r| r.outcome == ReplayOutcome::GrantRevoked)
        .map(|r| (r.at, ConsumedBy::Replay));
    revoked.or_else(|| {
        entry
            .narrowed
            .as_ref()
            .map(|n| (n.at, ConsumedBy::Narrowing))
    })
}

/// The consumed-connection fact of `conn`, when an earlier probe spent its
/// grant; `reconnect` is the command that re-arms it. An unreadable store
/// entry is not consumed: the token request reports the problem.
pub(crate) fn consumed(
    store: &CredentialStore,
    conn: &Connection,
    reconnect: impl FnOnce() -> String,
) -> Option<ConsumedConnection> {
    if !conn.disposable {
        return None;
    }
    let entry = store.get(&conn.credential).ok().flatten()?;
    consumed_at(conn, &entry).map(|(at, by)| ConsumedConnection {
        connection: conn.id.value.clone(),
        at,
        by,
        reconnect: reconnect(),
    })
}

/// The connection state of a consumed connection: unusable this run, but expected (an info
/// item, not a failure), so it neither fails the run nor stops other connections' comparisons.
pub(crate) fn consumed_status(
    provider: &str,
    credential: &str,
    c: &ConsumedConnection,
) -> ConnectionStatus {
    ConnectionStatus {
        provider: provider.to_owned(),
        connection: c.connection.clone(),
        credential: credential.to_owned(),
        state: ConnectionState::Consumed,
        usable: false,
        severity: Some(Severity::Info),
        message: Some(consumed_message(c)),
        error: None,
        last_worked_at: Some(c.at),
        reconnect: Some(c.reconnect.clone()),
        refresh_class: None,
        exchanges: Vec::new(),
    }
}

/// "disposable connection `x` consumed by the replay probe on DATE; `driftwatch connect …` re-arms it",
/// or "… narrowed for good by the permissions probe on DATE; …".
pub(crate) fn consumed_message(c: &ConsumedConnection) -> String {
    let what = match c.by {
        ConsumedBy::Replay => "consumed by the replay probe",
        ConsumedBy::Narrowing => "narrowed for good by the permissions probe",
    };
    format!(
        "disposable connection `{}` {what} on {}; `{}` re-arms it",
        c.connection,
        c.at.format("%Y-%m-%d"),
        c.reconnect
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::store::{Narrowed, NarrowedCause, Replayed};
    use chrono::TimeZone;

    fn conn(disposable: bool) -> Connection {
        let pos = crate::suite::Pos::default();
        Connection {
            id: crate::suite::Located {
                value: "umbrella".into(),
                pos,
            },
            credential: "demo/umbrella".into(),
            scope_set: None,
            disposable,
            token: None,
            username: None,
            password: None,
            pos,
            auth: crate::suite::DEFAULT_AUTH.into(),
            vars: Default::default(),
            var_secrets: Vec::new(),
        }
    }

    fn replayed(outcome: ReplayOutcome) -> Entry {
        Entry {
            replayed: Some(Replayed {
                at: Utc.with_ymd_and_hms(2026, 12, 3, 2, 0, 0).unwrap(),
                outcome,
            }),
            ..Entry::default()
        }
    }

    #[test]
    fn once_replays_a_grant_only_until_it_was_replayed() {
        let fresh = Entry::default();
        let done = replayed(ReplayOutcome::GrantSurvived);
        assert!(replay_allowed(ReplayPolicy::Once, &conn(true), &fresh));
        assert!(!replay_allowed(ReplayPolicy::Once, &conn(true), &done));
        assert!(replay_allowed(ReplayPolicy::EveryRun, &conn(true), &done));
        assert!(!replay_allowed(ReplayPolicy::Never, &conn(true), &fresh));
        // Never a connection the suite does not mark disposable.
        assert!(!replay_allowed(
            ReplayPolicy::EveryRun,
            &conn(false),
            &fresh
        ));
    }

    #[test]
    fn refresh_consumed_only_when_the_replay_revoked_the_grant() {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 2, 0, 0).unwrap();
        assert_eq!(
            consumed_at(&conn(true), &replayed(ReplayOutcome::GrantRevoked)),
            Some((at, ConsumedBy::Replay))
        );
        assert_eq!(
            consumed_at(&conn(true), &replayed(ReplayOutcome::GrantSurvived)),
            None
        );
        assert_eq!(
            consumed_at(&conn(true), &replayed(ReplayOutcome::Inconclusive)),
            None
        );
        assert_eq!(consumed_at(&conn(true), &Entry::default()), None);
        let status = consumed_status(
            "demo",
            "demo/umbrella",
            &ConsumedConnection {
                connection: "umbrella".into(),
                at,
                by: ConsumedBy::Replay,
                reconnect: "driftwatch connect suites/demo.yaml umbrella".into(),
            },
        );
        assert_eq!(status.state, ConnectionState::Consumed);
        assert!(!status.usable);
        assert_eq!(status.severity, Some(Severity::Info));
        assert_eq!(status.last_worked_at, Some(at));
        assert_eq!(
            status.message.as_deref(),
            Some(
                "disposable connection `umbrella` consumed by the replay probe on 2026-12-03; \
                 `driftwatch connect suites/demo.yaml umbrella` re-arms it"
            )
        );
    }

    #[test]
    fn permission_narrowed_for_good_consumes_only_a_disposable_grant() {
        let at = Utc.with_ymd_and_hms(2026, 12, 4, 2, 0, 0).unwrap();
        let narrowed = Entry {
            narrowed: Some(Narrowed {
                at,
                cause: NarrowedCause::WideningRefused,
                scopes: vec!["profile".into()],
            }),
            ..Entry::default()
        };
        assert_eq!(
            consumed_at(&conn(true), &narrowed),
            Some((at, ConsumedBy::Narrowing))
        );
        // A non-disposable grant is never narrowed by a probe: no record counts for it.
        assert_eq!(consumed_at(&conn(false), &narrowed), None);
        // A survived replay does not hide the narrowing; a revoking one takes precedence.
        let both = |outcome| Entry {
            narrowed: narrowed.narrowed.clone(),
            ..replayed(outcome)
        };
        assert_eq!(
            consumed_at(&conn(true), &both(ReplayOutcome::GrantSurvived)),
            Some((at, ConsumedBy::Narrowing))
        );
        assert_eq!(
            consumed_at(&conn(true), &both(ReplayOutcome::GrantRevoked)),
            Some((
                Utc.with_ymd_and_hms(2026, 12, 3, 2, 0, 0).unwrap(),
                ConsumedBy::Replay
            ))
        );
        let status = consumed_status(
            "demo",
            "demo/umbrella",
            &ConsumedConnection {
                connection: "umbrella".into(),
                at,
                by: ConsumedBy::Narrowing,
                reconnect: "driftwatch connect suites/demo.yaml umbrella".into(),
            },
        );
        assert_eq!(
            (status.state, status.usable, status.severity),
            (ConnectionState::Consumed, false, Some(Severity::Info))
        );
        assert_eq!(status.last_worked_at, Some(at));
        assert_eq!(
            status.message.as_deref(),
            Some(
                "disposable connection `umbrella` narrowed for good by the permissions probe on \
                 2026-12-04; `driftwatch connect suites/demo.yaml umbrella` re-arms it"
            )
        );
    }
}
