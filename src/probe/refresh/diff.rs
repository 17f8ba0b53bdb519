//! Diff rules of the refresh probe: compares one connection's baseline refresh classification
//! with this run's. Knows nothing about HTTP, files, output formats or how the trace was
//! gathered (only the typed [`Classification`] body that `observe` writes).

use super::{Classification, RefreshClass};
use crate::baseline::emit::Emitter;
use crate::model::Severity;
use crate::rules::Rule;
use serde_json::json;

/// A lifetime that moved by at most this share of the baseline (percent), or by at most
/// [`LIFETIME_TOLERANCE_S`], is the same lifetime: providers count down or round (`3599` vs
/// `3600`, `29` vs `30`). A change must exceed both to drift.
const LIFETIME_TOLERANCE_PERCENT: u64 = 2;
/// Seconds a lifetime may move without drifting, whatever the percentage (see above).
const LIFETIME_TOLERANCE_S: u64 = 5;
/// Grace bounds come from a replay schedule, so they only move with the schedule's step.
const GRACE_TOLERANCE_PERCENT: u64 = 20;

/// Pushes the drifts between two readable refresh bodies (same key) onto `em`.
pub(super) fn diff_refresh(em: &mut Emitter<'_>, b: &Classification, a: &Classification) {
    // `unknown` means this run saw no successful refresh (every refresh was rejected): a
    // rejected refresh says nothing about how refresh tokens behave, so neither the class nor
    // the issuing of refresh tokens can have changed (the connection state reports it).
    if a.class == RefreshClass::Unknown {
        return;
    }
    diff_class(em, b, a);
    diff_issuing(em, b, a);
    diff_lifetime(
        em,
        "$.access_token_lifetime_s",
        "access token",
        b.access_token_lifetime_s,
        a.access_token_lifetime_s,
    );
    diff_lifetime(
        em,
        "$.refresh_token_lifetime_s",
        "refresh token",
        b.refresh_token_lifetime_s,
        a.refresh_token_lifetime_s,
    );
    diff_grace(em, b, a);
}

fn diff_class(em: &mut Emitter<'_>, b: &Classification, a: &Classification) {
    let (bc, ac) = (b.class, a.class);
    // A passive run only sees that tokens rotate; that agrees with every replay-tested class.
    let passive_agrees = (bc == RefreshClass::Rotating && ac.is_active_rotating())
        || (ac == RefreshClass::Rotating && bc.is_active_rotating());
    if bc == ac || passive_agrees {
        return;
    }
    let restrictive = matches!(
        ac,
        RefreshClass::RotatingOneTime
            | RefreshClass::RotatingReuseRevokesGrant
            | RefreshClass::NoRefresh
    );
    // Revocation on reuse relaxing to plain one-time use is the one move into that set that
    // loosens the rules.
    let relaxed =
        bc == RefreshClass::RotatingReuseRevokesGrant && ac == RefreshClass::RotatingOneTime;
    let severity = if restrictive && !relaxed {
        Severity::Breaking
    } else {
        Severity::Warning
    };
    let msg = format!(
        "{}: refresh tokens now behave as `{}` instead of `{}`",
        em.who(),
        ac.as_str(),
        bc.as_str()
    );
    em.push(
        Rule::RefreshClassChanged,
        severity,
        Some("$.class"),
        msg,
        Some(json!(bc)),
        Some(json!(ac)),
    );
}

fn diff_issuing(em: &mut Emitter<'_>, b: &Classification, a: &Classification) {
    match (b.issues_refresh_tokens, a.issues_refresh_tokens) {
        (true, false) => {
            // A non-rotating token sent back unchanged stays valid when it is no longer sent;
            // a rotating one was the only way forward.
            let severity = if b.class == RefreshClass::NonRotating {
                Severity::Warning
            } else {
                Severity::Breaking
            };
            let msg = format!(
                "{}: refresh answers no longer carry a refresh token; the connection dies when \
                 its current refresh token expires",
                em.who()
            );
            let after = a
                .refresh_token_lifetime_s
                .map(|s| json!({ "dies_in_s": s }));
            em.push(
                Rule::RefreshStoppedIssuing,
                severity,
                Some("$.issues_refresh_tokens"),
                msg,
                Some(json!({"issues_refresh_tokens": true})),
                after,
            );
        }
        (false, true) => {
            let msg = format!("{}: refresh answers now carry a refresh token", em.who());
            em.push(
                Rule::RefreshStartedIssuing,
                Severity::Info,
                Some("$.issues_refresh_tokens"),
                msg,
                Some(json!({"issues_refresh_tokens": false})),
                Some(json!({"issues_refresh_tokens": true})),
            );
        }
        _ => {}
    }
}

/// `after` differs from `before` by more than `percent` of `before`.
fn moved(before: u64, after: u64, percent: u64) -> bool {
    u128::from(before.abs_diff(after)) * 100 > u128::from(before) * u128::from(percent)
}

/// Only a lifetime seen on both sides can have changed; a member that came or went is the
/// token probe's `token.refresh-expiry-hint-changed` or `token.expires-in-type-changed`.
fn diff_lifetime(
    em: &mut Emitter<'_>,
    path: &str,
    what: &str,
    before: Option<u64>,
    after: Option<u64>,
) {
    let (Some(b), Some(a)) = (before, after) else {
        return;
    };
    if !moved(b, a, LIFETIME_TOLERANCE_PERCENT) || b.abs_diff(a) <= LIFETIME_TOLERANCE_S {
        return;
    }
    let msg = format!(
        "{}: the {what} lifetime is now {a} s instead of {b} s",
        em.who()
    );
    em.push(
        Rule::RefreshLifetimeChanged,
        Severity::Warning,
        Some(path),
        msg,
        Some(json!(b)),
        Some(json!(a)),
    );
}

fn diff_grace(em: &mut Emitter<'_>, b: &Classification, a: &Classification) {
    let (Some((b_ok, b_fail)), Some((a_ok, a_fail))) = (b.grace_window_ms, a.grace_window_ms)
    else {
        return;
    };
    if !moved(b_ok, a_ok, GRACE_TOLERANCE_PERCENT)
        && !moved(b_fail, a_fail, GRACE_TOLERANCE_PERCENT)
    {
        return;
    }
    let msg = format!(
        "{}: an old refresh token now stops working between {a_ok} ms and {a_fail} ms after \
         rotation instead of between {b_ok} ms and {b_fail} ms",
        em.who()
    );
    em.push(
        Rule::RefreshGraceChanged,
        Severity::Warning,
        Some("$.grace_window_ms"),
        msg,
        Some(json!([b_ok, b_fail])),
        Some(json!([a_ok, a_fail])),
    );
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
