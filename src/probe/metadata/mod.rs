//! The metadata probe: normalises RFC 8414 / OpenID Connect discovery documents into one
//! deterministic observation each and names what the document itself gets wrong. Pure: knows
//! nothing about HTTP (the caller fetched the document), baselines or reports.

mod diff;

use crate::baseline::emit::Emitter;
use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::body::ObservationBody;
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Subject of the RFC 8414 document.
pub const SUBJECT_OAUTH: &str = "oauth-authorization-server";
/// Subject of the OpenID Connect Discovery document.
pub const SUBJECT_OPENID: &str = "openid-configuration";

/// Normalises an RFC 8414 or OpenID discovery document: every list (at any depth) sorted by its
/// members' JSON text and deduplicated, objects keyed in sorted order, unknown members kept.
/// No value is rewritten: discovery documents carry no volatile members.
pub fn normalise(doc: &Value) -> Value {
    match doc {
        Value::Array(items) => {
            let sorted: BTreeMap<String, Value> = items
                .iter()
                .map(normalise)
                .map(|v| (v.to_string(), v))
                .collect();
            Value::Array(sorted.into_values().collect())
        }
        Value::Object(m) => {
            let sorted: BTreeMap<&String, Value> =
                m.iter().map(|(k, v)| (k, normalise(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        other => other.clone(),
    }
}

/// RFC 8414 §3.3 / OIDC Discovery §4.3: `issuer` must be identical to the issuer the URL was
/// built from (simple string comparison: no trailing-slash or case leniency).
pub fn issuer_ok(doc: &Value, expected_issuer: &str) -> bool {
    doc.get("issuer").and_then(Value::as_str) == Some(expected_issuer)
}

/// The metadata observation body: the normalised discovery document, member by member. Its
/// members are the provider's, so they stay JSON values; the diff compares them generically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MetadataBody(pub BTreeMap<String, Value>);

impl ObservationBody for MetadataBody {
    const NAME: &'static str = "metadata";
    const UNREADABLE: Rule = Rule::MetadataObservationUnreadable;

    fn diff(em: &mut Emitter<'_>, before: &Self, after: &Self) {
        diff::diff_metadata(em, before, after);
    }
}

/// One observation per document: key (provider, Metadata, `subject`: [`SUBJECT_OAUTH`] or
/// [`SUBJECT_OPENID`]), body = the normalised document.
pub fn observe(provider: &str, subject: &str, doc: &Value) -> Observation {
    Observation {
        key: ObservationKey {
            provider: provider.to_owned(),
            probe: ProbeKind::Metadata,
            subject: subject.to_owned(),
            connection: None,
        },
        body: normalise(doc),
    }
}

/// The string members of the list `member`; empty when absent or not a list.
pub(crate) fn strings<'v>(doc: &'v Value, member: &str) -> Vec<&'v str> {
    doc.get(member)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Findings of this run, sorted by [`Drift::sort_key`]:
/// - `metadata.issuer-mismatch` (breaking): `issuer` missing or not `expected_issuer`; a client
///   that checks it (RFC 8414 §3.3, mix-up defence) rejects the whole document;
/// - `metadata.pkce-missing` (warning): no `code_challenge_methods_supported`, or no `S256`;
/// - `metadata.implicit-advertised` (info): `grant_types_supported` lists `implicit`, or a
///   response type includes `token`. The RFC 8414 default of `grant_types_supported` (which
///   includes `implicit`) does not count: most servers omit the member without meaning it;
/// - `metadata.password-advertised` (info): `grant_types_supported` lists `password`.
///
/// OAuth 2.1 removes both grants, hence the last two.
pub fn findings(provider: &str, subject: &str, doc: &Value, expected_issuer: &str) -> Vec<Drift> {
    let mut out = Vec::new();
    let mut push = |rule: Rule, severity, path: &str, message: String, after: Value| {
        out.push(Drift {
            rule: rule.emit(severity),
            severity,
            provider: provider.to_owned(),
            probe: ProbeKind::Metadata,
            subject: subject.to_owned(),
            path: Some(path.to_owned()),
            connections: Vec::new(),
            message,
            before: None,
            after: Some(after),
            exchanges: Vec::new(),
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        });
    };
    if !issuer_ok(doc, expected_issuer) {
        let found = doc.get("issuer").cloned().unwrap_or(Value::Null);
        let shown = match &found {
            Value::String(s) => format!("`{s}`"),
            Value::Null => "nothing".to_owned(),
            other => other.to_string(),
        };
        push(
            Rule::MetadataIssuerMismatch,
            Severity::Breaking,
            "issuer",
            format!(
                "`{subject}` names the issuer {shown} instead of `{expected_issuer}`, so clients \
                 that check it reject the document"
            ),
            json!({"issuer": found, "expected": expected_issuer}),
        );
    }
    let pkce = doc.get("code_challenge_methods_supported");
    if pkce.is_none() {
        push(
            Rule::MetadataPkceMissing,
            Severity::Warning,
            "code_challenge_methods_supported",
            format!(
                "`{subject}` has no `code_challenge_methods_supported`, so PKCE is not advertised"
            ),
            Value::Null,
        );
    } else if !strings(doc, "code_challenge_methods_supported").contains(&"S256") {
        push(
            Rule::MetadataPkceMissing,
            Severity::Warning,
            "code_challenge_methods_supported",
            format!("`{subject}` does not advertise the PKCE method `S256`"),
            pkce.cloned().map(|v| normalise(&v)).unwrap_or(Value::Null),
        );
    }
    let grants = strings(doc, "grant_types_supported");
    let token_types: Vec<&str> = strings(doc, "response_types_supported")
        .into_iter()
        .filter(|t| t.split_whitespace().any(|p| p == "token"))
        .collect();
    if grants.contains(&"implicit") || !token_types.is_empty() {
        let mut what = Vec::new();
        if grants.contains(&"implicit") {
            what.push("the `implicit` grant".to_owned());
        }
        what.extend(token_types.iter().map(|t| format!("response type `{t}`")));
        push(
            Rule::MetadataImplicitAdvertised,
            Severity::Info,
            "grant_types_supported",
            format!(
                "`{subject}` advertises {}, which OAuth 2.1 removes",
                what.join(" and ")
            ),
            json!({"implicit": grants.contains(&"implicit"), "response_types": token_types}),
        );
    }
    if grants.contains(&"password") {
        push(
            Rule::MetadataPasswordAdvertised,
            Severity::Info,
            "grant_types_supported",
            format!("`{subject}` advertises the `password` grant, which OAuth 2.1 removes"),
            json!({"grant_types_supported": ["password"]}),
        );
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

#[cfg(test)]
mod tests;
