//! Diff rules of the metadata probe: compares a baseline discovery document with this run's,
//! member by member, naming the values each list gained or lost. Knows nothing about HTTP,
//! files or output formats (only the normalised document `probe::metadata::observe` wrote).

use super::MetadataBody;
use crate::baseline::emit::Emitter;
use crate::model::Severity;
use crate::rules::Rule;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Rule and severity for values a list lost, and for values it gained.
struct ListRules {
    removed: (Rule, Severity),
    added: (Rule, Severity),
}

const FIELD_CHANGED: (Rule, Severity) = (Rule::MetadataFieldChanged, Severity::Info);

fn list_rules(member: &str) -> ListRules {
    let (removed, added) = match member {
        "grant_types_supported" => (
            (Rule::MetadataGrantRemoved, Severity::Breaking),
            (Rule::MetadataGrantAdded, Severity::Info),
        ),
        "scopes_supported" => (
            (Rule::MetadataScopeRemoved, Severity::Breaking),
            (Rule::MetadataScopeAdded, Severity::Info),
        ),
        "code_challenge_methods_supported" => (
            (Rule::MetadataPkceMethodRemoved, Severity::Breaking),
            FIELD_CHANGED,
        ),
        "token_endpoint_auth_methods_supported" => (
            (Rule::MetadataAuthMethodRemoved, Severity::Breaking),
            FIELD_CHANGED,
        ),
        "response_types_supported" => (
            (Rule::MetadataResponseTypeRemoved, Severity::Warning),
            FIELD_CHANGED,
        ),
        _ => (FIELD_CHANGED, FIELD_CHANGED),
    };
    ListRules { removed, added }
}

/// RFC 8414 §2 defaults of omitted lists: an omitted member still advertises these values, so
/// omitting it is compared as these, not as an empty list.
fn default_of(member: &str) -> Option<Value> {
    match member {
        "grant_types_supported" => Some(json!(["authorization_code", "implicit"])),
        "token_endpoint_auth_methods_supported" => Some(json!(["client_secret_basic"])),
        _ => None,
    }
}

/// Members whose change moves where clients send requests or what they trust.
fn is_endpoint(member: &str) -> bool {
    member.ends_with("_endpoint") || member == "jwks_uri" || member == "issuer"
}

/// Pushes the drifts between two readable metadata documents (same key) onto `em`.
pub(super) fn diff_metadata(em: &mut Emitter<'_>, before: &MetadataBody, after: &MetadataBody) {
    let (b, a) = (&before.0, &after.0);
    let members: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for member in members {
        let fallback = default_of(member);
        let bv = b.get(member).or(fallback.as_ref());
        let av = a.get(member).or(fallback.as_ref());
        if bv == av {
            continue;
        }
        match (bv, av) {
            (Some(Value::Array(bl)), Some(Value::Array(al))) => {
                diff_list(em, member, bl, al);
            }
            _ => diff_value(em, member, bv, av),
        }
    }
}

/// A list member as text: strings as they are, anything else as JSON.
fn member_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn names(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn diff_list(em: &mut Emitter<'_>, member: &str, before: &[Value], after: &[Value]) {
    let b: BTreeSet<String> = before.iter().map(member_text).collect();
    let a: BTreeSet<String> = after.iter().map(member_text).collect();
    let removed: Vec<String> = b.difference(&a).cloned().collect();
    let added: Vec<String> = a.difference(&b).cloned().collect();
    let rules = list_rules(member);
    let evidence = |v: &[String]| Some(json!(v));
    if rules.removed == FIELD_CHANGED && rules.added == FIELD_CHANGED {
        // One change of one member: say both halves in one drift.
        let mut parts = Vec::new();
        if !added.is_empty() {
            parts.push(format!("now lists {}", names(&added)));
        }
        if !removed.is_empty() {
            parts.push(format!("no longer lists {}", names(&removed)));
        }
        if parts.is_empty() {
            // Same members, different order or duplicates: normalisation makes this rare.
            parts.push("changed order or duplicates".to_owned());
        }
        em.push(
            FIELD_CHANGED.0,
            FIELD_CHANGED.1,
            Some(member),
            format!("`{member}` {}", parts.join(" and ")),
            Some(Value::Array(before.to_vec())),
            Some(Value::Array(after.to_vec())),
        );
        return;
    }
    if !removed.is_empty() {
        em.push(
            rules.removed.0,
            rules.removed.1,
            Some(member),
            format!("`{member}` no longer lists {}", names(&removed)),
            evidence(&removed),
            None,
        );
    }
    if !added.is_empty() {
        em.push(
            rules.added.0,
            rules.added.1,
            Some(member),
            format!("`{member}` now lists {}", names(&added)),
            None,
            evidence(&added),
        );
    }
}

fn show(v: &Value) -> String {
    format!("`{}`", member_text(v))
}

fn diff_value(em: &mut Emitter<'_>, member: &str, before: Option<&Value>, after: Option<&Value>) {
    let msg = match (before, after) {
        (Some(b), Some(a)) => format!("`{member}` changed from {} to {}", show(b), show(a)),
        (Some(b), None) => format!("`{member}` was removed (was {})", show(b)),
        (None, Some(a)) => format!("`{member}` was added: {}", show(a)),
        (None, None) => return,
    };
    let (rule, severity) = match (is_endpoint(member), before) {
        // A new endpoint breaks nobody; a moved or vanished one breaks every client using it.
        (true, None) => (Rule::MetadataEndpointChanged, Severity::Info),
        (true, Some(_)) => (Rule::MetadataEndpointChanged, Severity::Breaking),
        (false, _) => FIELD_CHANGED,
    };
    em.push(
        rule,
        severity,
        Some(member),
        msg,
        before.cloned(),
        after.cloned(),
    );
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
