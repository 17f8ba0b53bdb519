//! Orchestration of the refresh probe: the active replay sequence on
//! disposable connections (never on others) gathers each connection's trace of
//! refresh steps; assessing hands the traces to `probe::refresh` for classification.

use crate::auth::health::TokenHealth;
use crate::auth::{CredentialStore, TokenManager};
use crate::model::{Drift, Observation, ProbeKind, RunError};
use crate::probe::refresh::{self, RefreshTrace};
use crate::rules::Rule;
use crate::suite::{Grant, Suite};

/// Traces and errors of the refresh probe for one suite.
pub(crate) struct RefreshRun {
    /// One trace per connection that refreshed (or has no refresh token), in suite order.
    pub traces: Vec<RefreshTrace>,
    pub errors: Vec<RunError>,
}

/// Runs the active sequence where allowed (disposable connections whose token
/// was obtained this run: a connection that already failed is not probed
/// again) and collects the trace of every connection that refreshed during the run.
pub(crate) async fn gather(
    s: &Suite,
    tokens: &TokenManager,
    store: &CredentialStore,
    ready: &[&str],
) -> RefreshRun {
    let provider = s.provider.name.value.clone();
    let mut out = RefreshRun {
        traces: Vec::new(),
        errors: Vec::new(),
    };
    // One lookup per connection, not a scan of `ready` (10,000 connections: 10⁸ comparisons).
    let ready: std::collections::HashSet<&str> = ready.iter().copied().collect();
    for conn in &s.connections {
        let auth = s.auth_of(conn);
        if auth.grant.value == Grant::ClientCredentials {
            // The grant has no refresh token by design (RFC 6749 §4.4.3): class `no-refresh`.
            if ready.contains(conn.id.value.as_str()) {
                out.traces.push(RefreshTrace {
                    connection: conn.id.value.clone(),
                    disposable: conn.disposable,
                    steps: Vec::new(),
                    had_refresh_token: false,
                    documented: auth.refresh.documented.map(|d| d.as_str().to_string()),
                });
            }
            continue;
        }
        if !matches!(auth.grant.value, Grant::AuthorizationCode | Grant::Password) {
            continue;
        }
        let entry = store.get(&conn.credential).ok().flatten();
        let had_refresh_token = entry.as_ref().is_some_and(|e| e.refresh_token.is_some());
        let is_ready = ready.contains(conn.id.value.as_str());
        if entry
            .as_ref()
            .is_some_and(|e| super::replay::replay_allowed(auth.refresh.replay, conn, e))
            && had_refresh_token
            && is_ready
            && let Err(e) = tokens
                .active_refresh_probe(conn, auth.refresh.replay_delay, auth.refresh.replay)
                .await
        {
            out.errors.push(RunError {
                provider: provider.clone(),
                connection: Some(conn.id.value.clone()),
                probe: Some(ProbeKind::Refresh),
                subject: Some("refresh".into()),
                class: e.class().into(),
                message: tokens.http().redactor().scrub(&e.to_string()),
            });
        }
        let steps = tokens.take_trace(conn);
        // Nothing refreshed this run (the access token was still fresh) — unless
        // the connection has no refresh token at all: that is the no-refresh class.
        if steps.is_empty() && (had_refresh_token || !is_ready) {
            continue;
        }
        out.traces.push(RefreshTrace {
            connection: conn.id.value.clone(),
            disposable: conn.disposable,
            steps,
            had_refresh_token,
            documented: auth.refresh.documented.map(|d| d.as_str().to_string()),
        });
    }
    out
}

/// Classifies each trace: its observation and findings. A passive trace
/// (`rotating`: no replay this run, e.g. `auth.refresh.replay: once` after the
/// replay) agrees with every replay-tested class, so the accepted one of
/// `accepted` stays: the baseline keeps what the replay established.
pub(crate) fn assess(
    provider: &str,
    traces: &[RefreshTrace],
    accepted: &super::permissions::AcceptedRefresh,
) -> (Vec<Observation>, Vec<Drift>) {
    let mut observations = Vec::new();
    let mut findings = Vec::new();
    for trace in traces {
        let mut class = refresh::classify(trace);
        if class.class == refresh::RefreshClass::Rotating
            && let Some(base) = accepted.get(&trace.connection)
            && base.class.is_active_rotating()
        {
            class.class = base.class;
            class.grace_window_ms = base.grace_window_ms;
        }
        // One fact, one verdict: successful answers that stop carrying a refresh token are
        // `refresh.stopped-issuing`. Without a replay this run nothing shows whether the last
        // token stays valid (`non-rotating`) or dies (`withheld-expiring`), so the accepted
        // rotating class stays (also once that stop is accepted) instead of a
        // `refresh.class-changed` guessed from the same fact.
        let replayed = trace
            .steps
            .iter()
            .any(|s| s.kind == refresh::StepKind::ReplayOld);
        if !replayed
            && class.class == refresh::RefreshClass::NonRotating
            && !class.issues_refresh_tokens
            && let Some(base) = accepted.get(&trace.connection)
            && !matches!(
                base.class,
                refresh::RefreshClass::NonRotating
                    | refresh::RefreshClass::NoRefresh
                    | refresh::RefreshClass::Unknown
            )
        {
            class.class = base.class;
            class.grace_window_ms = base.grace_window_ms;
        }
        findings.extend(refresh::findings(provider, trace, &class));
        observations.push(refresh::observe(provider, trace, &class));
    }
    (observations, findings)
}

/// States the date a connection dies in `refresh.stopped-issuing` drifts, with where that
/// date comes from (the provider's hint, the suite's documented lifetime) or that it is unknown.
/// The date is this run's token health, a volatile value no observation (so no pure diff) may
/// hold; the run adds it to the diff's drift, which it finds by rule value.
pub(crate) fn date_stopped_issuing(drifts: &mut [Drift], health: &[TokenHealth]) {
    for d in drifts
        .iter_mut()
        .filter(|d| d.rule == Rule::RefreshStoppedIssuing)
    {
        let Some(conn) = d.connections.first() else {
            continue;
        };
        let when = health
            .iter()
            .find(|h| &h.connection == conn)
            .and_then(|h| Some((h.refresh_token_expires_at?, h.expiry_source.as_deref())));
        let lead = d.message.trim_end().trim_end_matches('.').to_string();
        d.message = match when {
            Some((at, source)) => format!(
                "{lead}. The connection `{conn}` dies on {} unless it is re-authorised ({}).",
                at.format("%Y-%m-%d %H:%M UTC"),
                death_source(source)
            ),
            None => format!(
                "{lead}. Its current refresh token's lifetime is unknown (the provider does not say and the suite documents no `auth.refresh_token_lifetime`): `{conn}` dies whenever that token expires."
            ),
        };
    }
}

/// Where a stated death date comes from, for people.
fn death_source(source: Option<&str>) -> &'static str {
    match source {
        Some("response") => {
            "source: the provider's hint, `refresh_token_expires_in` or its vendor equivalent"
        }
        Some("idle") => {
            "source: the suite's documented idle lifetime, `auth.refresh_token_lifetime`"
        }
        Some("absolute") => {
            "source: the suite's documented absolute lifetime, `auth.refresh_token_lifetime`"
        }
        _ => "source: unknown",
    }
}
