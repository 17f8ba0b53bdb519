//! The replay probe's bookkeeping in a run (`auth.refresh.replay`): whether a
//! disposable connection may be replayed this run, and which connections an
//! earlier replay consumed (safety rule 4: reported as consumed, never as
//! drift). Reads credential-store entries; never sends a request and never
//! opens the baseline.

use crate::auth::CredentialStore;
use crate::auth::store::{Entry, ReplayOutcome};
use crate::model::{ConnectionState, ConnectionStatus, Severity};
use crate::suite::{Connection, ReplayPolicy};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A disposable connection whose grant an earlier replay revoked: skipped by
/// the run, without drift, until `connect` stores a new grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumedConnection {
    pub connection: String,
    /// When the replay probe spent the grant.
    pub replayed_at: DateTime<Utc>,
    /// The command that re-arms it (`driftwatch connect SUITE CONNECTION`).
    pub reconnect: String,
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

/// When an earlier replay revoked `conn`'s grant (the store remembers it), if it did.
pub(crate) fn consumed_at(conn: &Connection, entry: &Entry) -> Option<DateTime<Utc>> {
    entry
        .replayed
        .as_ref()
        .filter(|r| conn.disposable && r.outcome == ReplayOutcome::GrantRevoked)
        .map(|r| r.at)
}

/// The consumed-connection fact of `conn`, when an earlier replay revoked its
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
    consumed_at(conn, &entry).map(|replayed_at| ConsumedConnection {
        connection: conn.id.value.clone(),
        replayed_at,
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
        last_worked_at: Some(c.replayed_at),
        reconnect: Some(c.reconnect.clone()),
        refresh_class: None,
        exchanges: Vec::new(),
    }
}

/// "disposable connection `x` consumed by the replay probe on DATE; `driftwatch connect …` re-arms it".
pub(crate) fn consumed_message(c: &ConsumedConnection) -> String {
    format!(
        "disposable connection `{}` consumed by the replay probe on {}; `{}` re-arms it",
        c.connection,
        c.replayed_at.format("%Y-%m-%d"),
        c.reconnect
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::store::Replayed;
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
            Some(at)
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
                replayed_at: at,
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
}
