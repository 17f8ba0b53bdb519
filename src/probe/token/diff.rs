//! Diff rules of the token probe: compares the baseline's and this run's token-endpoint facts
//! grant by grant and field by field. Knows nothing about HTTP, files, output formats or how
//! the facts were gathered (only the typed [`TokenBody`] that `observe` writes).

use super::body::{GrantFacts, Outcome, TokenBody};
use super::{ExpiresIn, RefreshToken};
use crate::baseline::emit::Emitter;
use crate::model::Severity;
use crate::probe::body::Merged;
use crate::rules::Rule;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Pushes the drifts between two readable token bodies (same key) onto `em`.
pub(super) fn diff_token(em: &mut Emitter<'_>, b: &TokenBody, a: &TokenBody) {
    let names: BTreeSet<&String> = b.grants.keys().chain(a.grants.keys()).collect();
    for grant in names {
        match (b.grants.get(grant), a.grants.get(grant)) {
            (Some(bf), Some(af)) => diff_grant(em, grant, bf, af),
            (Some(bf), None) => em.push(
                Rule::TokenGrantDisappeared,
                Severity::Info,
                Some(grant),
                format!("no `{grant}` answer was seen in this run"),
                Some(bf.to_json()),
                None,
            ),
            (None, Some(af)) => em.push(
                Rule::TokenGrantAppeared,
                Severity::Info,
                Some(grant),
                format!("a `{grant}` answer was seen that the baseline does not have"),
                None,
                Some(af.to_json()),
            ),
            (None, None) => {}
        }
    }
}

/// Both sides of a field that is present on both and differs, as their snapshot JSON.
fn changed<T: PartialEq + Serialize>(
    b: &Option<Merged<T>>,
    a: &Option<Merged<T>>,
) -> Option<(Value, Value)> {
    match (b, a) {
        (Some(bv), Some(av)) if bv != av => Some((json(bv), json(av))),
        _ => None,
    }
}

fn json<T: Serialize>(v: &T) -> Value {
    // Plain enums, strings and bools: serialising cannot fail.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn diff_grant(em: &mut Emitter<'_>, grant: &str, b: &GrantFacts, a: &GrantFacts) {
    if let (Some(bo), Some(ao)) = (&b.outcome, &a.outcome)
        && bo != ao
    {
        let severity = if bo.is(&Outcome::Token) {
            Severity::Breaking
        } else if ao.is(&Outcome::Token) {
            Severity::Info
        } else {
            Severity::Warning
        };
        let (bv, av) = (json(bo), json(ao));
        let msg = format!(
            "`{grant}` now answers {} instead of {}",
            show(&av),
            show(&bv)
        );
        em.push(
            Rule::TokenOutcomeChanged,
            severity,
            Some(grant),
            msg,
            Some(bv),
            Some(av),
        );
    }
    let number = b
        .expires_in
        .as_ref()
        .is_some_and(|e| e.is(&ExpiresIn::Number));
    let expires = if number {
        Severity::Breaking
    } else {
        Severity::Warning
    };
    let simple = [
        (
            Rule::TokenContentTypeChanged,
            Severity::Breaking,
            changed(&b.content_type, &a.content_type),
            "the body encoding",
        ),
        (
            Rule::TokenExpiresInTypeChanged,
            expires,
            changed(&b.expires_in, &a.expires_in),
            "`expires_in`",
        ),
        (
            Rule::TokenTokenTypeChanged,
            Severity::Warning,
            changed(&b.token_type, &a.token_type),
            "`token_type`",
        ),
        (
            Rule::TokenScopeChanged,
            Severity::Warning,
            changed(&b.scope, &a.scope),
            "the returned `scope`",
        ),
        (
            Rule::TokenNoStoreChanged,
            Severity::Info,
            changed(&b.cache_control_no_store, &a.cache_control_no_store),
            "`Cache-Control: no-store`",
        ),
        (
            Rule::TokenRefreshExpiryHintChanged,
            Severity::Info,
            changed(&b.refresh_expiry_hints, &a.refresh_expiry_hints),
            "the set of refresh-token lifetime members",
        ),
    ];
    for (rule, severity, change, what) in simple {
        if let Some((bv, av)) = change {
            // The hints are a list of names, not alternatives: show them as the list.
            let render = |v: &Value| {
                if rule == Rule::TokenRefreshExpiryHintChanged {
                    v.to_string()
                } else {
                    show(v)
                }
            };
            let msg = format!(
                "`{grant}`: {what} is now {} instead of {}",
                render(&av),
                render(&bv)
            );
            em.push(rule, severity, Some(grant), msg, Some(bv), Some(av));
        }
    }
    if let (Some(br), Some(ar)) = (&b.refresh_token, &a.refresh_token)
        && br != ar
    {
        let stopped = issued(br) && !issued(ar);
        let (bv, av) = (json(br), json(ar));
        let (severity, msg) = if stopped {
            (
                Severity::Breaking,
                format!(
                    "`{grant}`: the provider stopped issuing refresh tokens ({} instead of {})",
                    show(&av),
                    show(&bv)
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "`{grant}`: `refresh_token` is now {} instead of {}",
                    show(&av),
                    show(&bv)
                ),
            )
        };
        em.push(
            Rule::TokenRefreshTokenChanged,
            severity,
            Some(grant),
            msg,
            Some(bv),
            Some(av),
        );
    }
    diff_error_format(em, grant, b, a);
}

/// The fields of an error answer, compared together as one `token.error-format-changed`.
fn error_fields(g: &GrantFacts) -> [(&'static str, Option<Value>); 5] {
    [
        ("error", g.error.as_ref().map(json)),
        ("error_json", g.error_json.as_ref().map(json)),
        ("error_status", g.error_status.as_ref().map(json)),
        ("error_with_200", g.error_with_200.as_ref().map(json)),
        ("status_class", g.status_class.as_ref().map(json)),
    ]
}

/// Error answers are compared as a whole: code, status, JSON-ness, 2xx. `error` is optional
/// (an HTML page has none), so a missing code on one side is a change too.
fn diff_error_format(em: &mut Emitter<'_>, grant: &str, b: &GrantFacts, a: &GrantFacts) {
    if b.error_status.is_none() || a.error_status.is_none() {
        return;
    }
    let (bf, af) = (error_fields(b), error_fields(a));
    let changed: Vec<usize> = (0..bf.len()).filter(|&i| bf[i].1 != af[i].1).collect();
    if changed.is_empty() {
        return;
    }
    let pick = |fields: &[(&'static str, Option<Value>); 5]| {
        let m: Map<String, Value> = changed
            .iter()
            .filter_map(|&i| {
                let (name, v) = &fields[i];
                v.clone().map(|v| ((*name).to_owned(), v))
            })
            .collect();
        Value::Object(m)
    };
    let names: Vec<String> = changed.iter().map(|&i| format!("`{}`", bf[i].0)).collect();
    let msg = format!("`{grant}` error answers changed {}", names.join(", "));
    em.push(
        Rule::TokenErrorFormatChanged,
        Severity::Warning,
        Some(grant),
        msg,
        Some(pick(&bf)),
        Some(pick(&af)),
    );
}

/// Whether any merged `refresh_token` value says a token came back.
fn issued(v: &Merged<RefreshToken>) -> bool {
    v.values().iter().any(|r| {
        matches!(
            r,
            RefreshToken::Present | RefreshToken::PresentNew | RefreshToken::PresentSame
        )
    })
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(" or "),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
