//! The app probe: is the OAuth client itself still alive? One non-destructive token request per
//! client per run (an `authorization_code` grant with a code that cannot exist, sent with the
//! suite's client authentication) is classified as `authenticated` (the provider looked at the
//! code, so it accepted the client), `rejected` (`invalid_client`, or a `401` with
//! `WWW-Authenticate`: the app is gone or its secret is wrong) or `unclear` (anything else; the
//! evidence is kept). Pure: knows nothing about HTTP, baselines or reports, and keeps no secret
//! (only the status, the `error` code and whether `WWW-Authenticate` was sent).

mod body;
pub mod callback;
mod diff;
mod secret;

pub use body::AppBody;
pub use callback::{CALLBACK_PREFIX, CallbackBody, CallbackClass, CallbackEvidence};
pub use secret::{
    ClientSecretHealth, SECRET_SUBJECT, app_entry_key, client_secret_expiry, client_secret_health,
    secret_expiry_drifts,
};

use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::body::ObservationBody;
use crate::probe::token::{Answer, analyse};
use crate::rules::Rule;
use serde::{Deserialize, Serialize};

/// The observation subject of the app probe: the suite's one OAuth client.
pub const SUBJECT: &str = "client";

/// The `grant` label of the liveness request (an authorization code that cannot exist).
pub const LIVENESS_GRANT: &str = "authorization_code (invalid, app probe)";

/// What the liveness answer says about the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Liveness {
    /// `invalid_grant` (or `invalid_request` about the code): the client authenticated.
    Authenticated,
    /// `invalid_client`, or `401` with `WWW-Authenticate`: the app is gone or the secret wrong.
    Rejected,
    /// Anything else: the provider does not tell the two apart.
    Unclear,
}

impl Liveness {
    pub fn as_str(self) -> &'static str {
        match self {
            Liveness::Authenticated => "authenticated",
            Liveness::Rejected => "rejected",
            Liveness::Unclear => "unclear",
        }
    }
}

/// Classifies the answer to the liveness request. Keeps the status, the `error` code (a fixed
/// vocabulary; anything else is `(unrecognised)`) and whether `WWW-Authenticate` came; never a
/// description, header value or body.
pub fn classify(status: u16, headers: &[(String, String)], body: &[u8]) -> AppBody {
    let facts = analyse(LIVENESS_GRANT, &[], None, status, headers, body);
    let error = match &facts.answer {
        Answer::Error(e) => e.error.clone(),
        _ => None,
    };
    let www_authenticate = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"));
    let client = match error.as_deref() {
        Some("invalid_client") => Liveness::Rejected,
        _ if status == 401 && www_authenticate => Liveness::Rejected,
        Some("invalid_grant") if status < 500 => Liveness::Authenticated,
        Some("invalid_request") if status < 500 && names_the_code(body) => Liveness::Authenticated,
        _ => Liveness::Unclear,
    };
    AppBody {
        client,
        status,
        error,
        www_authenticate,
    }
}

/// Whether a JSON error answer's `error_description` is about the `code` parameter (the client
/// got past authentication). The description itself is never kept.
fn names_the_code(body: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return false;
    };
    map.get("error_description")
        .and_then(|d| d.as_str())
        .is_some_and(|d| {
            d.to_ascii_lowercase()
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|w| w == "code" || w == "authorization_code")
        })
}

/// The provider's one app observation.
pub fn observe(provider: &str, body: &AppBody) -> Observation {
    Observation {
        key: key(provider),
        body: body.to_json(),
    }
}

fn key(provider: &str) -> ObservationKey {
    ObservationKey {
        provider: provider.to_owned(),
        probe: ProbeKind::App,
        subject: SUBJECT.to_owned(),
        connection: None,
    }
}

/// This run's findings: `app.client-liveness-unclear` when the provider did not distinguish.
pub fn findings(provider: &str, body: &AppBody) -> Vec<Drift> {
    if body.client != Liveness::Unclear {
        return Vec::new();
    }
    let severity = Severity::Warning;
    let error = body
        .error
        .as_deref()
        .map(|e| format!("`{e}`"))
        .unwrap_or_else(|| "no `error` code".into());
    vec![Drift {
        rule: Rule::AppClientLivenessUnclear.emit(severity),
        severity,
        provider: provider.to_owned(),
        probe: ProbeKind::App,
        subject: SUBJECT.to_owned(),
        path: None,
        connections: Vec::new(),
        message: format!(
            "the token endpoint answered a code that cannot exist with status {} and {error}: \
             it does not tell a live client from a rejected one",
            body.status
        ),
        before: None,
        after: Some(body.to_json()),
        exchanges: Vec::new(),
        fingerprint: String::new(),
        suppressed: None,
        first_seen: None,
    }]
}

#[cfg(test)]
mod tests;
