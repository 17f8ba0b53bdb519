//! Client secret expiry (issue 20): `auth.client_secret_expires` against `--expiry-window`.
//! The date comes from the suite, or for `stored` from the app entry of the credential store
//! or helper (which holds no secret); the client secret itself is never read here.

use crate::auth::store::Entry;
use crate::model::{Drift, ProbeKind, Severity};
use crate::rules::Rule;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The subject of client-secret drifts.
pub const SECRET_SUBJECT: &str = "client-secret";

/// The health of one provider's client secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSecretHealth {
    pub provider: String,
    /// `ok`, `expiring` (inside `--expiry-window`) or `expired`.
    pub status: String,
    /// When the secret stops working (`auth.client_secret_expires`).
    pub expires_at: DateTime<Utc>,
    /// Whole days left (negative once expired).
    pub days_left: i64,
}

/// The key of a provider's app entry in the credential store or helper: where
/// `client_secret_expires: stored` reads `client_secret_expires_at`.
pub fn app_entry_key(provider: &str) -> String {
    format!("{provider}/@app")
}

/// When the suite's client secret expires: its date, or (for `stored`) the
/// `client_secret_expires_at` of the app entry in `store`. `Ok(None)` when the suite does not
/// date its secret; an error (never a secret) when `stored` finds nothing to read.
pub fn client_secret_expiry(
    suite: &crate::suite::Suite,
    store: &crate::auth::CredentialStore,
) -> Result<Option<DateTime<Utc>>, String> {
    use crate::suite::SecretExpiry;
    match suite.auth.client_secret_expires.as_ref().map(|l| l.value) {
        None => Ok(None),
        Some(SecretExpiry::At(at)) => Ok(Some(at)),
        Some(SecretExpiry::Stored) => {
            let key = app_entry_key(&suite.provider.name.value);
            match store.get(&key) {
                Ok(Some(Entry {
                    client_secret_expires_at: Some(at),
                    ..
                })) => Ok(Some(at)),
                Ok(_) => Err(format!(
                    "`auth.client_secret_expires: stored` but the credential entry `{key}` has no `client_secret_expires_at`"
                )),
                Err(e) => Err(format!(
                    "`auth.client_secret_expires: stored`: cannot read `{key}`: {e}"
                )),
            }
        }
    }
}

/// The health of a client secret that expires at `expires_at`, seen at `now`.
pub fn client_secret_health(
    provider: &str,
    expires_at: DateTime<Utc>,
    window: chrono::Duration,
    now: DateTime<Utc>,
) -> ClientSecretHealth {
    let left = expires_at - now;
    let status = if left <= chrono::Duration::zero() {
        "expired"
    } else if left <= window {
        "expiring"
    } else {
        "ok"
    };
    ClientSecretHealth {
        provider: provider.to_owned(),
        status: status.to_owned(),
        expires_at,
        days_left: left.num_days(),
    }
}

/// `app.client-secret-expiring`: a warning inside the window, breaking once expired.
pub fn secret_expiry_drifts(health: &[ClientSecretHealth]) -> Vec<Drift> {
    health
        .iter()
        .filter(|h| h.status != "ok")
        .map(|h| {
            let when = h.expires_at.format("%Y-%m-%d %H:%M UTC");
            let (severity, message) = if h.status == "expired" {
                (
                    Severity::Breaking,
                    format!(
                        "the OAuth client secret expired on {when}: every token request fails \
                         until a new secret is configured"
                    ),
                )
            } else {
                (
                    Severity::Warning,
                    format!(
                        "the OAuth client secret expires on {when} ({} days left): create a new \
                         secret and update the suite's credentials before then",
                        h.days_left
                    ),
                )
            };
            Drift {
                rule: Rule::AppClientSecretExpiring.emit(severity),
                severity,
                provider: h.provider.clone(),
                probe: ProbeKind::App,
                subject: SECRET_SUBJECT.into(),
                path: None,
                connections: Vec::new(),
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
