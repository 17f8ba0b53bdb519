//! Diff rules of the token probe: compares the baseline's and this run's token-endpoint facts
//! grant by grant and field by field. Knows nothing about HTTP, files, output formats or how
//! the facts were gathered (only the observation body written by `probe::token::observe`).

use super::emit::Emitter;
use crate::model::{Drift, ObservationKey, Severity};
use crate::rules::Rule;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Fields of an error answer; compared together as one `token.error-format-changed`.
const ERROR_FIELDS: [&str; 5] = [
    "error",
    "error_json",
    "error_status",
    "error_with_200",
    "status_class",
];

/// Drifts between two token observations (same key), sorted by [`Drift::sort_key`].
pub(crate) fn diff_token(key: &ObservationKey, before: &Value, after: &Value) -> Vec<Drift> {
    let mut em = Emitter::new(key);
    let b = grants(&mut em, "baseline", before);
    let a = grants(&mut em, "current", after);
    if let (Some(b), Some(a)) = (b, a) {
        let names: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        for grant in names {
            match (b.get(grant), a.get(grant)) {
                (Some(bf), Some(af)) => diff_grant(&mut em, grant, bf, af),
                (Some(bf), None) => em.push(
                    Rule::TokenGrantDisappeared,
                    Severity::Info,
                    Some(grant),
                    format!("no `{grant}` answer was seen in this run"),
                    Some(bf.clone()),
                    None,
                ),
                (None, Some(af)) => em.push(
                    Rule::TokenGrantAppeared,
                    Severity::Info,
                    Some(grant),
                    format!("a `{grant}` answer was seen that the baseline does not have"),
                    None,
                    Some(af.clone()),
                ),
                (None, None) => {}
            }
        }
    }
    em.out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    em.out
}

/// The `grants` map; an unreadable body is reported, never silently skipped.
fn grants<'v>(em: &mut Emitter<'_>, side: &str, body: &'v Value) -> Option<&'v Map<String, Value>> {
    em.object(
        Rule::TokenObservationUnreadable,
        format!("the {side} token observation has no `grants` object"),
        body.get("grants").unwrap_or(&Value::Null),
    )
}

fn diff_grant(em: &mut Emitter<'_>, grant: &str, b: &Value, a: &Value) {
    let changed = |field: &str| match (b.get(field), a.get(field)) {
        (Some(bv), Some(av)) if bv != av => Some((bv, av)),
        _ => None,
    };
    if let Some((bv, av)) = changed("outcome") {
        let token = Value::String("token".to_owned());
        let severity = if *bv == token {
            Severity::Breaking
        } else if *av == token {
            Severity::Info
        } else {
            Severity::Warning
        };
        let msg = format!("`{grant}` now answers {} instead of {}", show(av), show(bv));
        em.push(
            Rule::TokenOutcomeChanged,
            severity,
            Some(grant),
            msg,
            Some(bv.clone()),
            Some(av.clone()),
        );
    }
    let number = b.get("expires_in") == Some(&Value::String("number".to_owned()));
    let expires = if number {
        Severity::Breaking
    } else {
        Severity::Warning
    };
    let simple = [
        (
            Rule::TokenContentTypeChanged,
            Severity::Breaking,
            "content_type",
            "the body encoding",
        ),
        (
            Rule::TokenExpiresInTypeChanged,
            expires,
            "expires_in",
            "`expires_in`",
        ),
        (
            Rule::TokenTokenTypeChanged,
            Severity::Warning,
            "token_type",
            "`token_type`",
        ),
        (
            Rule::TokenScopeChanged,
            Severity::Warning,
            "scope",
            "the returned `scope`",
        ),
        (
            Rule::TokenNoStoreChanged,
            Severity::Info,
            "cache_control_no_store",
            "`Cache-Control: no-store`",
        ),
        (
            Rule::TokenRefreshExpiryHintChanged,
            Severity::Info,
            "refresh_expiry_hints",
            "the set of refresh-token lifetime members",
        ),
    ];
    for (rule, severity, name, what) in simple {
        if let Some((bv, av)) = changed(name) {
            // The hints are a list of names, not alternatives: show them as the list.
            let render = |v: &Value| {
                if name == "refresh_expiry_hints" {
                    v.to_string()
                } else {
                    show(v)
                }
            };
            let msg = format!(
                "`{grant}`: {what} is now {} instead of {}",
                render(av),
                render(bv)
            );
            em.push(
                rule,
                severity,
                Some(grant),
                msg,
                Some(bv.clone()),
                Some(av.clone()),
            );
        }
    }
    if let Some((bv, av)) = changed("refresh_token") {
        let stopped = issued(bv) && !issued(av);
        let (severity, msg) = if stopped {
            (
                Severity::Breaking,
                format!(
                    "`{grant}`: the provider stopped issuing refresh tokens ({} instead of {})",
                    show(av),
                    show(bv)
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "`{grant}`: `refresh_token` is now {} instead of {}",
                    show(av),
                    show(bv)
                ),
            )
        };
        em.push(
            Rule::TokenRefreshTokenChanged,
            severity,
            Some(grant),
            msg,
            Some(bv.clone()),
            Some(av.clone()),
        );
    }
    diff_error_format(em, grant, b, a);
}

/// Error answers are compared as a whole: code, status, JSON-ness, 2xx. `error` is optional
/// (an HTML page has none), so a missing code on one side is a change too.
fn diff_error_format(em: &mut Emitter<'_>, grant: &str, b: &Value, a: &Value) {
    if b.get("error_status").is_none() || a.get("error_status").is_none() {
        return;
    }
    let changed: Vec<&str> = ERROR_FIELDS
        .into_iter()
        .filter(|f| b.get(*f) != a.get(*f))
        .collect();
    if changed.is_empty() {
        return;
    }
    let pick = |v: &Value| {
        let m: Map<String, Value> = changed
            .iter()
            .filter_map(|f| v.get(*f).map(|x| ((*f).to_owned(), x.clone())))
            .collect();
        Value::Object(m)
    };
    let names: Vec<String> = changed.iter().map(|f| format!("`{f}`")).collect();
    let msg = format!("`{grant}` error answers changed {}", names.join(", "));
    em.push(
        Rule::TokenErrorFormatChanged,
        Severity::Warning,
        Some(grant),
        msg,
        Some(pick(b)),
        Some(pick(a)),
    );
}

/// Whether any merged `refresh_token` value says a token came back.
fn issued(v: &Value) -> bool {
    let one = |v: &Value| v.as_str().is_some_and(|s| s.starts_with("present"));
    match v {
        Value::Array(items) => items.iter().any(one),
        other => one(other),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(" or "),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "diff_token_tests.rs"]
mod tests;
