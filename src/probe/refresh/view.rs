//! What the HTML report shows of a refresh observation: the typed body read once, and the
//! refresh classes in words.

use super::Classification;
use crate::probe::body::ObservationBody;
use serde_json::Value;

/// The facts of one connection's refresh observation the report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshView {
    /// The class as written in the snapshot (`rotating-grace`, …).
    pub class: &'static str,
    pub issues_refresh_tokens: bool,
    pub access_token_lifetime_s: Option<u64>,
    pub refresh_token_lifetime_s: Option<u64>,
    /// Last replay that worked and first that failed, ms after the rotation.
    pub grace_window_ms: Option<(u64, u64)>,
}

/// The view of a refresh observation body; `None` when it cannot be read (the diff reports
/// that as `refresh.observation-unreadable`).
pub fn view(body: &Value) -> Option<RefreshView> {
    let c = Classification::parse(body).ok()?;
    Some(RefreshView {
        class: c.class.as_str(),
        issues_refresh_tokens: c.issues_refresh_tokens,
        access_token_lifetime_s: c.access_token_lifetime_s,
        refresh_token_lifetime_s: c.refresh_token_lifetime_s,
        grace_window_ms: c.grace_window_ms,
    })
}

/// Rotation and reuse behaviour, in words, of a refresh class (or a connection state's class).
pub fn class_words(class: &str) -> (&'static str, &'static str) {
    match class {
        "no-refresh" => ("no refresh", "—"),
        "non-rotating" => ("does not rotate", "reusable"),
        "rotating-old-valid" => ("rotates", "old token still valid"),
        "rotating-grace" => ("rotates", "old token valid for a grace period"),
        "rotating-one-time" => ("rotates", "old token fails (one-time use)"),
        "rotating-reuse-revokes-grant" => ("rotates", "reuse revokes the grant"),
        "lazy-rotation" => ("sometimes rotates", "not tested"),
        "withheld-expiring" => ("stopped issuing; the last one expired", "—"),
        "rotating" => ("rotates", "not tested (not disposable)"),
        _ => ("unknown", "unknown"),
    }
}
