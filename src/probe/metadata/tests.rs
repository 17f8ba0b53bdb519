//! Exact-result tests of the metadata probe: normalisation, the issuer rule and findings.

use super::*;

const ISSUER: &str = "https://as.example";

fn good() -> Value {
    json!({
        "issuer": ISSUER,
        "authorization_endpoint": "https://as.example/authorize",
        "token_endpoint": "https://as.example/token",
        "grant_types_supported": ["refresh_token", "authorization_code"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "scopes_supported": ["write", "read", "read"],
    })
}

#[test]
fn normalise_sorts_and_deduplicates_every_list_and_keeps_unknown_members() {
    let doc = json!({
        "scopes_supported": ["write", "read", "read"],
        "x_vendor": {"b": [3, 1, 3], "a": [{"z": 1}, "s", {"z": 1}]},
        "issuer": ISSUER,
        "expires": 5,
    });
    let n = normalise(&doc);
    assert_eq!(
        n,
        json!({
            "expires": 5,
            "issuer": ISSUER,
            "scopes_supported": ["read", "write"],
            "x_vendor": {"a": ["s", {"z": 1}], "b": [1, 3]},
        })
    );
    assert_eq!(
        n.to_string(),
        r#"{"expires":5,"issuer":"https://as.example","scopes_supported":["read","write"],"x_vendor":{"a":["s",{"z":1}],"b":[1,3]}}"#
    );
}

#[test]
fn normalise_is_deterministic_and_idempotent() {
    let a = json!({"grant_types_supported": ["b", "a"], "issuer": ISSUER});
    let b = json!({"issuer": ISSUER, "grant_types_supported": ["a", "b", "a"]});
    assert_eq!(normalise(&a).to_string(), normalise(&b).to_string());
    assert_eq!(normalise(&normalise(&a)), normalise(&a));
}

#[test]
fn issuer_must_be_identical() {
    assert!(issuer_ok(&good(), ISSUER));
    assert!(!issuer_ok(&good(), "https://as.example/"));
    assert!(!issuer_ok(&good(), "https://AS.example"));
    assert!(!issuer_ok(&json!({}), ISSUER));
    assert!(!issuer_ok(&json!({"issuer": 5}), ISSUER));
}

#[test]
fn observation_is_keyed_by_subject_and_holds_the_normalised_document() {
    let o = observe("demo", SUBJECT_OAUTH, &good());
    assert_eq!(
        o.key,
        ObservationKey {
            provider: "demo".to_owned(),
            probe: ProbeKind::Metadata,
            subject: "oauth-authorization-server".to_owned(),
            connection: None,
        }
    );
    assert_eq!(o.body, normalise(&good()));
    assert_eq!(o.body["scopes_supported"], json!(["read", "write"]));
}

/// (rule, severity, message) of each finding.
fn summary(d: &[Drift]) -> Vec<(&str, Severity, &str)> {
    d.iter()
        .map(|d| (d.rule.as_str(), d.severity, d.message.as_str()))
        .collect()
}

#[test]
fn a_conformant_document_has_no_findings() {
    assert_eq!(findings("demo", SUBJECT_OAUTH, &good(), ISSUER), vec![]);
}

#[test]
fn issuer_mismatch_is_breaking() {
    let d = findings("demo", SUBJECT_OPENID, &good(), "https://other.example");
    assert_eq!(
        summary(&d),
        vec![(
            Rule::MetadataIssuerMismatch.id(),
            Severity::Breaking,
            "`openid-configuration` names the issuer `https://as.example` instead of \
             `https://other.example`, so clients that check it reject the document"
        )]
    );
    assert_eq!(
        d[0].after,
        Some(json!({"issuer": ISSUER, "expected": "https://other.example"}))
    );
    let mut doc = good();
    doc.as_object_mut().map(|m| m.remove("issuer"));
    assert_eq!(
        findings("demo", SUBJECT_OAUTH, &doc, ISSUER)[0].message,
        "`oauth-authorization-server` names the issuer nothing instead of `https://as.example`, \
         so clients that check it reject the document"
    );
}

#[test]
fn pkce_missing_or_without_s256() {
    let mut doc = good();
    doc["code_challenge_methods_supported"] = json!(["plain"]);
    assert_eq!(
        summary(&findings("demo", SUBJECT_OAUTH, &doc, ISSUER)),
        vec![(
            Rule::MetadataPkceMissing.id(),
            Severity::Warning,
            "`oauth-authorization-server` does not advertise the PKCE method `S256`"
        )]
    );
    doc.as_object_mut()
        .map(|m| m.remove("code_challenge_methods_supported"));
    assert_eq!(
        summary(&findings("demo", SUBJECT_OAUTH, &doc, ISSUER)),
        vec![(
            Rule::MetadataPkceMissing.id(),
            Severity::Warning,
            "`oauth-authorization-server` has no `code_challenge_methods_supported`, so PKCE is \
             not advertised"
        )]
    );
}

#[test]
fn implicit_and_password_are_advertised_removals() {
    let mut doc = good();
    doc["grant_types_supported"] = json!(["authorization_code", "implicit", "password"]);
    doc["response_types_supported"] = json!(["code", "id_token token", "id_token"]);
    assert_eq!(
        summary(&findings("demo", SUBJECT_OPENID, &doc, ISSUER)),
        vec![
            (
                Rule::MetadataImplicitAdvertised.id(),
                Severity::Info,
                "`openid-configuration` advertises the `implicit` grant and response type \
                 `id_token token`, which OAuth 2.1 removes"
            ),
            (
                Rule::MetadataPasswordAdvertised.id(),
                Severity::Info,
                "`openid-configuration` advertises the `password` grant, which OAuth 2.1 removes"
            ),
        ]
    );
}

#[test]
fn the_implicit_default_of_an_omitted_grant_list_does_not_count() {
    let mut doc = good();
    doc.as_object_mut()
        .map(|m| m.remove("grant_types_supported"));
    assert_eq!(findings("demo", SUBJECT_OAUTH, &doc, ISSUER), vec![]);
}

#[test]
fn metadata_snapshot_round_trips_through_the_typed_body() {
    let mut doc = good();
    doc["scopes_supported"] = json!(["b", "a", {"odd": [2, 1.5, null]}]);
    doc["ttl"] = json!(3600);
    let o = observe("demo", SUBJECT_OAUTH, &doc);
    let header = crate::baseline::SnapshotHeader::new("demo", o.key.clone());
    let text = crate::baseline::render_snapshot(&header, &o.body);
    let (_, read) = crate::baseline::parse_snapshot(std::path::Path::new("t.snap"), &text).unwrap();
    let typed = MetadataBody::parse(&read.body).unwrap();
    assert_eq!(typed.0["ttl"], json!(3600));
    assert_eq!(typed.0.len(), 8);
    assert_eq!(
        crate::baseline::render_snapshot(&header, &typed.to_json()),
        text
    );
    assert!(MetadataBody::parse(&json!([1])).is_err());
}
