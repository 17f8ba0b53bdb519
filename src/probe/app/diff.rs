//! Diff rule of the app probe: a client the baseline saw authenticated is now rejected.

use super::{AppBody, Liveness};
use crate::baseline::emit::Emitter;
use crate::model::Severity;
use crate::probe::body::ObservationBody;
use crate::rules::Rule;

/// Pushes `app.client-rejected` onto `em` when the client went from authenticated to rejected.
pub(super) fn diff_app(em: &mut Emitter<'_>, b: &AppBody, a: &AppBody) {
    if b.client == Liveness::Authenticated && a.client == Liveness::Rejected {
        let how = match a.error.as_deref() {
            Some(code) => format!("`{code}` (status {})", a.status),
            None => format!("status {} with `WWW-Authenticate`", a.status),
        };
        em.push(
            Rule::AppClientRejected,
            Severity::Breaking,
            None,
            format!(
                "the token endpoint now rejects the OAuth client with {how}: the app was \
                 deleted or its client secret is no longer valid"
            ),
            Some(b.to_json()),
            Some(a.to_json()),
        );
    }
}
