//! Which credential store a suite uses, and the refresh-token health of its
//! connections (with the `token.refresh-expiring` drifts it implies).

use crate::auth::CredentialStore;
use crate::auth::StoreError;
use crate::auth::health::{TokenHealth, assess};
use crate::context::Context;
use crate::error::Error;
use crate::model::{Drift, ProbeKind, Severity};
use crate::rules::Rule;
use crate::suite::{self, Suite};
use chrono::Utc;

/// The credential store a suite uses: a helper command (the flag wins over the
/// suite's `auth.credential_helper`) or the store file at `path`.
pub fn open_store(
    ctx: &Context,
    suite: &Suite,
    path: &std::path::Path,
    helper_flag: Option<&str>,
) -> Result<CredentialStore, Error> {
    // Every auth of the suite shares the one helper it may name (the loader checks that).
    let helper = helper_flag.map(str::to_string).or_else(|| {
        suite
            .auths
            .values()
            .chain(std::iter::once(&suite.auth))
            .find_map(|a| a.credential_helper.as_ref())
            .map(|h| h.value.clone())
    });
    match helper {
        Some(cmd) => {
            // A helper cannot lock remotely: serialise runs on this machine with a local lock.
            let lock = ctx.resolve(path).with_file_name("credential-helper.lock");
            Ok(CredentialStore::with_helper(&cmd, lock)?)
        }
        None => Ok(CredentialStore::new(ctx.resolve(path))),
    }
}

/// Token health of every connection of `suite` that keeps a refresh token.
pub fn token_health(
    suite: &Suite,
    store: &CredentialStore,
    window: chrono::Duration,
) -> Result<Vec<TokenHealth>, StoreError> {
    let now = Utc::now();
    let mut out = Vec::new();
    for conn in &suite.connections {
        let auth = suite.auth_of(conn);
        if !matches!(
            auth.grant.value,
            suite::Grant::AuthorizationCode | suite::Grant::Password
        ) {
            continue;
        }
        let entry = store.get(&conn.credential)?;
        out.push(assess(
            &suite.provider.name.value,
            &conn.id.value,
            &conn.credential,
            entry.as_ref(),
            &auth.refresh_token_lifetime,
            window,
            now,
        ));
    }
    Ok(out)
}

/// `token.refresh-expiring` drifts for connections whose refresh token dies soon.
pub(super) fn expiry_drifts(health: &[TokenHealth]) -> Vec<Drift> {
    health
        .iter()
        .filter(|h| matches!(h.status.as_str(), "expiring" | "expired"))
        .map(|h| {
            let when = h
                .refresh_token_expires_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            let (severity, message) = if h.status == "expired" {
                (
                    Severity::Breaking,
                    format!("the refresh token of `{}` expired on {when}: the connection is dead until re-authorised", h.connection),
                )
            } else {
                (
                    Severity::Warning,
                    format!(
                        "the refresh token of `{}` dies on {when} ({} days left, {} lifetime) unless it is refreshed",
                        h.connection,
                        h.days_left.unwrap_or_default(),
                        h.expiry_source.as_deref().unwrap_or("documented")
                    ),
                )
            };
            Drift {
                rule: Rule::TokenRefreshExpiring.emit(severity),
                severity,
                provider: h.provider.clone(),
                probe: ProbeKind::Token,
                subject: "refresh-token".into(),
                path: None,
                connections: vec![h.connection.clone()],
                message,
                before: None,
                after: serde_json::to_value(h).ok(),
                exchanges: Vec::new(),
                fingerprint: String::new(),
                suppressed: None,
                first_seen: None,
            }
        })
        .collect()
}
