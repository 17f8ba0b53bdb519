//! The refresh probe: classifies how a connection's refresh tokens behave (RFC 6749 §6,
//! RFC 9700 §4.14.2, OAuth 2.1 §4.3) from a secret-free trace the token manager recorded, turns
//! the class into one observation per connection and names this run's findings. Pure: knows
//! nothing about HTTP, the credential store, baselines or reports, and never sees a token value.

mod diff;
pub mod view;

use crate::baseline::emit::Emitter;
use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::body::ObservationBody;
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The observation subject of the refresh probe.
pub const SUBJECT: &str = "refresh";

/// Which request of the sequence a step was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// A refresh with the newest refresh token.
    Refresh,
    /// A replay of the refresh token that the previous refresh rotated away (disposable only).
    ReplayOld,
    /// A refresh with the newest refresh token after the replays: is the grant still alive?
    CheckNewest,
}

/// What one refresh request showed (no secret values: the lead compares tokens and passes booleans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshStep {
    pub kind: StepKind,
    /// Milliseconds since the first step of the trace.
    pub at_ms: u64,
    /// A token was issued.
    pub ok: bool,
    /// The OAuth `error` code of a failed answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The answer carried a non-empty `refresh_token`.
    pub returned_refresh_token: bool,
    /// The returned refresh token differs from the one sent.
    pub rotated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// The refresh token's lifetime as the provider declared it (any vendor member name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<u64>,
}

/// The refresh sequence of one connection, as the token manager performed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshTrace {
    pub connection: String,
    /// The suite marks the connection as disposable (replays were allowed).
    pub disposable: bool,
    pub steps: Vec<RefreshStep>,
    /// The credential store held a refresh token for the connection.
    pub had_refresh_token: bool,
    /// The suite's `auth.refresh.documented`: `none` | `reusable` | `rotating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documented: Option<String>,
}

/// How a connection's refresh tokens behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshClass {
    /// No refresh token was issued, or the token endpoint does not support the grant.
    NoRefresh,
    /// Refresh answers return the same refresh token, or none (keep the old one).
    NonRotating,
    /// A new refresh token every time, and replaying the old one keeps working.
    RotatingOldValid,
    /// A new refresh token every time; the old one works for a while, then fails.
    RotatingGrace,
    /// A new refresh token every time; the old one fails at once, the grant lives on.
    RotatingOneTime,
    /// A new refresh token every time; replaying the old one revokes the whole grant.
    RotatingReuseRevokesGrant,
    /// Some refreshes rotate and some do not (Intuit: the value changes about once a day).
    LazyRotation,
    /// Every refresh rotated, but no replay was tried (passive, or replays inconclusive).
    Rotating,
    /// The provider stopped issuing refresh tokens, so the last one it issued was kept, and
    /// that one then expired (`invalid_grant`): the grant is dead. Only a connection state
    /// establishes it, with the observed lifetime of that last refresh token.
    WithheldExpiring,
    /// The trace shows too little to tell (no successful refresh).
    Unknown,
}

impl RefreshClass {
    /// The kebab-case name used in observations and messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            RefreshClass::NoRefresh => "no-refresh",
            RefreshClass::NonRotating => "non-rotating",
            RefreshClass::RotatingOldValid => "rotating-old-valid",
            RefreshClass::RotatingGrace => "rotating-grace",
            RefreshClass::RotatingOneTime => "rotating-one-time",
            RefreshClass::RotatingReuseRevokesGrant => "rotating-reuse-revokes-grant",
            RefreshClass::LazyRotation => "lazy-rotation",
            RefreshClass::Rotating => "rotating",
            RefreshClass::WithheldExpiring => "withheld-expiring",
            RefreshClass::Unknown => "unknown",
        }
    }

    /// The refresh token value changes on refresh (always or sometimes).
    pub fn rotates(self) -> bool {
        matches!(
            self,
            RefreshClass::RotatingOldValid
                | RefreshClass::RotatingGrace
                | RefreshClass::RotatingOneTime
                | RefreshClass::RotatingReuseRevokesGrant
                | RefreshClass::LazyRotation
                | RefreshClass::Rotating
        )
    }

    /// One of the classes only an active (replaying) trace can establish.
    pub fn is_active_rotating(self) -> bool {
        matches!(
            self,
            RefreshClass::RotatingOldValid
                | RefreshClass::RotatingGrace
                | RefreshClass::RotatingOneTime
                | RefreshClass::RotatingReuseRevokesGrant
        )
    }
}

/// What a trace shows about a connection's refresh tokens; exact values, no secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub class: RefreshClass,
    /// `rotating-grace` only: milliseconds after the rotation at which the last replay that
    /// worked and the first that failed were sent (the grace period lies between them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_window_ms: Option<(u64, u64)>,
    /// Successful refresh answers carry a refresh token.
    pub issues_refresh_tokens: bool,
    /// `expires_in` of the latest successful refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime_s: Option<u64>,
    /// The refresh token lifetime the latest successful refresh declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_lifetime_s: Option<u64>,
}

impl ObservationBody for Classification {
    const NAME: &'static str = "refresh";
    const UNREADABLE: Rule = Rule::RefreshObservationUnreadable;

    fn diff(em: &mut Emitter<'_>, before: &Self, after: &Self) {
        diff::diff_refresh(em, before, after);
    }
}

/// Classifies a trace. Only successful `Refresh` steps decide rotation; `ReplayOld` steps make
/// the trace active. A replay is timed from the rotation that retired its token (the latest
/// rotating `Refresh` before it). A first replay that failed without a `CheckNewest` step to
/// tell one-time use from grant revocation leaves the class at `Rotating`.
pub fn classify(trace: &RefreshTrace) -> Classification {
    let answers: Vec<&RefreshStep> = trace
        .steps
        .iter()
        .filter(|s| s.ok && matches!(s.kind, StepKind::Refresh | StepKind::CheckNewest))
        .collect();
    let latest = answers.last();
    let mut c = Classification {
        class: class_of(trace),
        grace_window_ms: None,
        issues_refresh_tokens: answers.iter().any(|s| s.returned_refresh_token),
        access_token_lifetime_s: latest.and_then(|s| s.expires_in),
        refresh_token_lifetime_s: latest.and_then(|s| s.refresh_token_expires_in),
    };
    if c.class == RefreshClass::NoRefresh {
        c.issues_refresh_tokens = false;
    }
    if c.class == RefreshClass::RotatingGrace {
        c.grace_window_ms = grace_window(&trace.steps);
    }
    c
}

fn class_of(trace: &RefreshTrace) -> RefreshClass {
    let unsupported = trace
        .steps
        .iter()
        .any(|s| !s.ok && s.error.as_deref() == Some("unsupported_grant_type"));
    if !trace.had_refresh_token || unsupported {
        return RefreshClass::NoRefresh;
    }
    let refreshes: Vec<&RefreshStep> = trace
        .steps
        .iter()
        .filter(|s| s.ok && s.kind == StepKind::Refresh)
        .collect();
    if refreshes.is_empty() {
        return RefreshClass::Unknown;
    }
    let rotated = refreshes.iter().filter(|s| s.rotated).count();
    if rotated == 0 {
        return RefreshClass::NonRotating;
    }
    if rotated < refreshes.len() {
        return RefreshClass::LazyRotation;
    }
    let replays: Vec<&RefreshStep> = replays(&trace.steps).map(|(_, s)| s).collect();
    let Some(first) = replays.first() else {
        return RefreshClass::Rotating;
    };
    if first.ok {
        if replays.iter().all(|s| s.ok) {
            RefreshClass::RotatingOldValid
        } else {
            RefreshClass::RotatingGrace
        }
    } else {
        let check = trace
            .steps
            .iter()
            .rev()
            .find(|s| s.kind == StepKind::CheckNewest);
        match check {
            Some(s) if s.ok => RefreshClass::RotatingOneTime,
            Some(_) => RefreshClass::RotatingReuseRevokesGrant,
            None => RefreshClass::Rotating,
        }
    }
}

/// The replays in order, each with its time since the rotation that retired its token.
fn replays(steps: &[RefreshStep]) -> impl Iterator<Item = (u64, &RefreshStep)> {
    let mut rotated_at = 0;
    steps.iter().filter_map(move |s| match s.kind {
        StepKind::Refresh if s.ok && s.rotated => {
            rotated_at = s.at_ms;
            None
        }
        StepKind::ReplayOld => Some((s.at_ms.saturating_sub(rotated_at), s)),
        _ => None,
    })
}

/// (last replay that worked before the first failure, the first failure).
fn grace_window(steps: &[RefreshStep]) -> Option<(u64, u64)> {
    let mut last_ok = None;
    for (after, s) in replays(steps) {
        if s.ok {
            last_ok = Some(after);
        } else {
            return last_ok.map(|ok| (ok, after));
        }
    }
    None
}

/// Seconds per day, hour, minute and second: the units lifetimes are rounded to.
const SECOND_UNITS: [u64; 4] = [86_400, 3_600, 60, 1];
/// Milliseconds per hour, minute, second and millisecond: the units grace bounds are rounded to.
const MILLI_UNITS: [u64; 4] = [3_600_000, 60_000, 1_000, 1];
/// Lifetimes move by at most 0.5% when rounded (`3599` → `3600`), well inside the diff's 2%.
const LIFETIME_TOLERANCE_PERMILLE: u64 = 5;
/// Replays are scheduled, but network time jitters their sending by up to a second or so.
const GRACE_TOLERANCE_PERMILLE: u64 = 20;

/// Rounds `v` to the coarsest unit that moves it by at most `permille`/1000 of itself, so the
/// countdowns and off-by-one lifetimes providers return give the same observation run after run.
pub(crate) fn bucket(v: u64, units: &[u64], permille: u64) -> u64 {
    for &unit in units {
        let (v128, u) = (u128::from(v), u128::from(unit));
        let rounded = (v128 + u / 2) / u * u;
        if rounded > 0 && rounded.abs_diff(v128) * 1000 <= v128 * u128::from(permille) {
            // `rounded` is within 0.5% of a u64, so it fits unless `v` is near u64::MAX.
            return u64::try_from(rounded).unwrap_or(v);
        }
    }
    v
}

/// One observation per connection: the classification with lifetimes and grace bounds rounded
/// to a bucket, so the body depends only on the provider's behaviour.
pub fn observe(provider: &str, trace: &RefreshTrace, c: &Classification) -> Observation {
    let lifetime =
        |v: Option<u64>| v.map(|v| bucket(v, &SECOND_UNITS, LIFETIME_TOLERANCE_PERMILLE));
    let grace = |v: u64| bucket(v, &MILLI_UNITS, GRACE_TOLERANCE_PERMILLE);
    let rounded = Classification {
        class: c.class,
        grace_window_ms: c.grace_window_ms.map(|(a, b)| (grace(a), grace(b))),
        issues_refresh_tokens: c.issues_refresh_tokens,
        access_token_lifetime_s: lifetime(c.access_token_lifetime_s),
        refresh_token_lifetime_s: lifetime(c.refresh_token_lifetime_s),
    };
    Observation {
        key: ObservationKey {
            provider: provider.to_owned(),
            probe: ProbeKind::Refresh,
            subject: SUBJECT.to_owned(),
            connection: Some(trace.connection.clone()),
        },
        body: rounded.to_json(),
    }
}

/// This run's findings for one connection, sorted by [`Drift::sort_key`]. Rule ids are
/// `refresh.*`; a stopped rotation across runs is the diff's `refresh.stopped-issuing`.
pub fn findings(provider: &str, trace: &RefreshTrace, c: &Classification) -> Vec<Drift> {
    let conn = &trace.connection;
    let documented = trace.documented.as_deref();
    let drift = |rule: Rule, severity: Severity, message: String, before, after| Drift {
        rule: rule.emit(severity),
        severity,
        provider: provider.to_owned(),
        probe: ProbeKind::Refresh,
        subject: SUBJECT.to_owned(),
        path: None,
        connections: vec![conn.clone()],
        message,
        before,
        after,
        exchanges: Vec::new(),
        fingerprint: String::new(),
        suppressed: None,
        first_seen: None,
    };
    let mut out = Vec::new();
    let refreshed = trace
        .steps
        .iter()
        .any(|s| s.ok && s.kind == StepKind::Refresh);
    if documented == Some("none") && refreshed {
        out.push(drift(
            Rule::RefreshUndocumentedRefresh,
            Severity::Warning,
            format!(
                "connection `{conn}` refreshed its token although the suite documents no refresh"
            ),
            Some(json!({"documented": "none"})),
            Some(json!({"class": c.class})),
        ));
    }
    let mismatch = match documented {
        Some("reusable") => c.class.rotates(),
        Some("rotating") => c.class == RefreshClass::NonRotating,
        _ => false,
    };
    if let (true, Some(doc)) = (mismatch, documented) {
        out.push(drift(
            Rule::RefreshDocumentedMismatch,
            Severity::Info,
            format!(
                "connection `{conn}`: refresh tokens behave as `{}` but the suite documents `{doc}`",
                c.class.as_str()
            ),
            Some(json!({"documented": doc})),
            Some(json!({"class": c.class})),
        ));
    }
    if !trace.had_refresh_token {
        out.push(drift(
            Rule::RefreshNotIssuing,
            Severity::Info,
            format!(
                "no refresh token was issued to connection `{conn}`, so it needs a new grant \
                 whenever its access token expires"
            ),
            None,
            Some(json!({"issues_refresh_tokens": false})),
        ));
    } else if dropped_rotation(trace) {
        out.push(drift(
            Rule::RefreshNotIssuing,
            Severity::Breaking,
            format!(
                "a refresh of connection `{conn}` returned no refresh token although others \
                 rotated it; the connection dies when its current refresh token expires"
            ),
            None,
            Some(json!({"issues_refresh_tokens": false})),
        ));
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// Within one run: a successful refresh rotated and another successful one returned nothing.
fn dropped_rotation(trace: &RefreshTrace) -> bool {
    let mut refreshes = trace
        .steps
        .iter()
        .filter(|s| s.ok && s.kind == StepKind::Refresh);
    let rotated = refreshes.clone().any(|s| s.rotated);
    rotated && refreshes.any(|s| !s.returned_refresh_token)
}

#[cfg(test)]
mod tests;
