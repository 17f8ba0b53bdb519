//! Exact-result tests of the metadata diff rules, through `diff_observations`.

use crate::baseline::diff_observations;
use crate::model::{Drift, Observation, ProbeKind, Severity};
use crate::probe::metadata::{SUBJECT_OAUTH, observe};
use crate::rules::Rule;
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "issuer": "https://as.example",
        "authorization_endpoint": "https://as.example/authorize",
        "token_endpoint": "https://as.example/token",
        "jwks_uri": "https://as.example/jwks",
        "grant_types_supported": ["authorization_code", "refresh_token", "password"],
        "scopes_supported": ["read", "write"],
        "response_types_supported": ["code", "token"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "ui_locales_supported": ["en"],
        "service_documentation": "https://as.example/docs",
    })
}

fn obs(doc: &Value) -> Observation {
    observe("demo", SUBJECT_OAUTH, doc)
}

fn diff_with(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<Drift> {
    let mut after = base();
    if let Some(m) = after.as_object_mut() {
        change(m);
    }
    diff_observations(&obs(&base()), &obs(&after))
}

/// (rule, path, severity, message) of each drift, in output order.
fn summary(drifts: &[Drift]) -> Vec<(&str, &str, Severity, &str)> {
    drifts
        .iter()
        .map(|d| {
            (
                d.rule.as_str(),
                d.path.as_deref().unwrap_or(""),
                d.severity,
                d.message.as_str(),
            )
        })
        .collect()
}

#[test]
fn identical_and_reordered_documents_have_no_drift() {
    let mut shuffled = base();
    shuffled["scopes_supported"] = json!(["write", "read", "write"]);
    assert_eq!(diff_observations(&obs(&base()), &obs(&shuffled)), vec![]);
}

#[test]
fn grants_removed_and_added() {
    let d = diff_with(|m| {
        m.insert(
            "grant_types_supported".into(),
            json!(["authorization_code", "client_credentials"]),
        );
    });
    assert_eq!(
        d,
        vec![
            Drift {
                rule: Rule::MetadataGrantAdded.emit(Severity::Info),
                severity: Severity::Info,
                provider: "demo".to_owned(),
                probe: ProbeKind::Metadata,
                subject: "oauth-authorization-server".to_owned(),
                path: Some("grant_types_supported".to_owned()),
                connections: vec![],
                message: "`grant_types_supported` now lists `client_credentials`".to_owned(),
                before: None,
                after: Some(json!(["client_credentials"])),
                exchanges: vec![],
                fingerprint: String::new(),
                suppressed: None,
                first_seen: None,
            },
            Drift {
                rule: Rule::MetadataGrantRemoved.emit(Severity::Breaking),
                severity: Severity::Breaking,
                provider: "demo".to_owned(),
                probe: ProbeKind::Metadata,
                subject: "oauth-authorization-server".to_owned(),
                path: Some("grant_types_supported".to_owned()),
                connections: vec![],
                message: "`grant_types_supported` no longer lists `password`, `refresh_token`"
                    .to_owned(),
                before: Some(json!(["password", "refresh_token"])),
                after: None,
                exchanges: vec![],
                fingerprint: String::new(),
                suppressed: None,
                first_seen: None,
            },
        ]
    );
}

#[test]
fn omitted_grant_list_compares_as_the_rfc_default() {
    let d = diff_with(|m| {
        m.remove("grant_types_supported");
    });
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::MetadataGrantAdded.id(),
                "grant_types_supported",
                Severity::Info,
                "`grant_types_supported` now lists `implicit`"
            ),
            (
                Rule::MetadataGrantRemoved.id(),
                "grant_types_supported",
                Severity::Breaking,
                "`grant_types_supported` no longer lists `password`, `refresh_token`"
            ),
        ]
    );
}

#[test]
fn scopes_removed_and_added() {
    let d = diff_with(|m| {
        m.insert("scopes_supported".into(), json!(["read", "admin"]));
    });
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::MetadataScopeAdded.id(),
                "scopes_supported",
                Severity::Info,
                "`scopes_supported` now lists `admin`"
            ),
            (
                Rule::MetadataScopeRemoved.id(),
                "scopes_supported",
                Severity::Breaking,
                "`scopes_supported` no longer lists `write`"
            ),
        ]
    );
}

#[test]
fn endpoints_changed_removed_and_added() {
    let d = diff_with(|m| {
        m.insert(
            "token_endpoint".into(),
            json!("https://as.example/v2/token"),
        );
        m.remove("jwks_uri");
        m.insert(
            "revocation_endpoint".into(),
            json!("https://as.example/revoke"),
        );
        m.insert("issuer".into(), json!("https://as.example/v2"));
    });
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::MetadataEndpointChanged.id(),
                "issuer",
                Severity::Breaking,
                "`issuer` changed from `https://as.example` to `https://as.example/v2`"
            ),
            (
                Rule::MetadataEndpointChanged.id(),
                "jwks_uri",
                Severity::Breaking,
                "`jwks_uri` was removed (was `https://as.example/jwks`)"
            ),
            (
                Rule::MetadataEndpointChanged.id(),
                "revocation_endpoint",
                Severity::Info,
                "`revocation_endpoint` was added: `https://as.example/revoke`"
            ),
            (
                Rule::MetadataEndpointChanged.id(),
                "token_endpoint",
                Severity::Breaking,
                "`token_endpoint` changed from `https://as.example/token` to \
                 `https://as.example/v2/token`"
            ),
        ]
    );
}

#[test]
fn pkce_auth_and_response_type_removals() {
    let d = diff_with(|m| {
        m.insert("code_challenge_methods_supported".into(), json!(["plain"]));
        m.insert(
            "token_endpoint_auth_methods_supported".into(),
            json!(["client_secret_post", "private_key_jwt"]),
        );
        m.insert("response_types_supported".into(), json!(["code"]));
    });
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::MetadataAuthMethodRemoved.id(),
                "token_endpoint_auth_methods_supported",
                Severity::Breaking,
                "`token_endpoint_auth_methods_supported` no longer lists `client_secret_basic`"
            ),
            (
                Rule::MetadataFieldChanged.id(),
                "token_endpoint_auth_methods_supported",
                Severity::Info,
                "`token_endpoint_auth_methods_supported` now lists `private_key_jwt`"
            ),
            (
                Rule::MetadataPkceMethodRemoved.id(),
                "code_challenge_methods_supported",
                Severity::Breaking,
                "`code_challenge_methods_supported` no longer lists `S256`"
            ),
            (
                Rule::MetadataResponseTypeRemoved.id(),
                "response_types_supported",
                Severity::Warning,
                "`response_types_supported` no longer lists `token`"
            ),
        ]
    );
}

#[test]
fn additions_to_pkce_and_response_types_are_field_changes() {
    let d = diff_with(|m| {
        m.insert(
            "code_challenge_methods_supported".into(),
            json!(["S256", "plain", "S512"]),
        );
        m.insert(
            "response_types_supported".into(),
            json!(["code", "token", "id_token"]),
        );
    });
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::MetadataFieldChanged.id(),
                "code_challenge_methods_supported",
                Severity::Info,
                "`code_challenge_methods_supported` now lists `S512`"
            ),
            (
                Rule::MetadataFieldChanged.id(),
                "response_types_supported",
                Severity::Info,
                "`response_types_supported` now lists `id_token`"
            ),
        ]
    );
}

#[test]
fn anything_else_is_a_field_change() {
    let d = diff_with(|m| {
        m.insert("ui_locales_supported".into(), json!(["de"]));
        m.insert(
            "service_documentation".into(),
            json!("https://as.example/v2/docs"),
        );
        m.insert("x_vendor_flag".into(), json!(true));
    });
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::MetadataFieldChanged.id(),
                "service_documentation",
                Severity::Info,
                "`service_documentation` changed from `https://as.example/docs` to \
                 `https://as.example/v2/docs`"
            ),
            (
                Rule::MetadataFieldChanged.id(),
                "ui_locales_supported",
                Severity::Info,
                "`ui_locales_supported` now lists `de` and no longer lists `en`"
            ),
            (
                Rule::MetadataFieldChanged.id(),
                "x_vendor_flag",
                Severity::Info,
                "`x_vendor_flag` was added: `true`"
            ),
        ]
    );
}

#[test]
fn unreadable_body_is_reported() {
    let mut bad = obs(&base());
    bad.body = json!([1]);
    assert_eq!(
        summary(&diff_observations(&obs(&base()), &bad)),
        vec![(
            Rule::MetadataObservationUnreadable.id(),
            "",
            Severity::Warning,
            "the current metadata observation is unreadable: invalid type: sequence, expected a map"
        )]
    );
}
