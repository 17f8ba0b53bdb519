//! Exact classification of liveness answers, the `app.*` rules, and the snapshot round trip.

use super::{AppBody, Liveness, classify, findings, key};
use crate::probe::body::{ObservationBody, diff_bodies};
use crate::rules::Rule;
use serde_json::json;

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "application/json".into())]
}

fn body(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn invalid_grant_means_authenticated() {
    let b = classify(
        400,
        &json_headers(),
        &body(json!({"error": "invalid_grant"})),
    );
    assert_eq!(
        b,
        AppBody {
            client: Liveness::Authenticated,
            error: Some("invalid_grant".into()),
            status: 400,
            www_authenticate: false,
        }
    );
}

#[test]
fn invalid_request_naming_the_code_means_authenticated() {
    let named =
        body(json!({"error": "invalid_request", "error_description": "The code is malformed"}));
    assert_eq!(
        classify(400, &json_headers(), &named).client,
        Liveness::Authenticated
    );
    let other =
        body(json!({"error": "invalid_request", "error_description": "grant_type is required"}));
    assert_eq!(
        classify(400, &json_headers(), &other).client,
        Liveness::Unclear
    );
}

#[test]
fn invalid_client_or_401_with_www_authenticate_means_rejected() {
    let b = classify(
        401,
        &json_headers(),
        &body(json!({"error": "invalid_client"})),
    );
    assert_eq!(b.client, Liveness::Rejected);
    assert_eq!(b.error.as_deref(), Some("invalid_client"));
    let b = classify(
        400,
        &json_headers(),
        &body(json!({"error": "invalid_client"})),
    );
    assert_eq!(b.client, Liveness::Rejected);
    let mut h = json_headers();
    h.push(("WWW-Authenticate".into(), "Basic realm=\"x\"".into()));
    let b = classify(401, &h, b"Unauthorized");
    assert_eq!(
        b,
        AppBody {
            client: Liveness::Rejected,
            error: None,
            status: 401,
            www_authenticate: true,
        }
    );
}

#[test]
fn a_generic_400_is_unclear_and_keeps_its_evidence() {
    let b = classify(
        400,
        &[("content-type".into(), "text/plain".into())],
        b"Bad Request",
    );
    assert_eq!(
        b,
        AppBody {
            client: Liveness::Unclear,
            error: None,
            status: 400,
            www_authenticate: false,
        }
    );
    // A 401 without `WWW-Authenticate` and without a code does not say who was refused.
    assert_eq!(classify(401, &[], b"").client, Liveness::Unclear);
    // A server error naming invalid_grant says nothing reliable either.
    let b = classify(
        500,
        &json_headers(),
        &body(json!({"error": "invalid_grant"})),
    );
    assert_eq!(b.client, Liveness::Unclear);
}

#[test]
fn no_description_or_unrecognised_code_is_kept() {
    let b = classify(
        400,
        &json_headers(),
        &body(json!({"error": "sk_live_secret value", "error_description": "code sk_live_x"})),
    );
    assert_eq!(
        b.error.as_deref(),
        Some(crate::probe::token::UNRECOGNISED_CODE)
    );
    assert!(!b.to_json().to_string().contains("sk_live"));
}

#[test]
fn app_client_liveness_unclear_is_a_finding_only_when_unclear() {
    let unclear = classify(400, &[], b"Bad Request");
    let f = findings("acme", &unclear);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, Rule::AppClientLivenessUnclear);
    assert_eq!(f[0].severity, crate::model::Severity::Warning);
    assert_eq!(f[0].subject, "client");
    assert_eq!(
        f[0].message,
        "the token endpoint answered a code that cannot exist with status 400 and no `error` \
         code: it does not tell a live client from a rejected one"
    );
    let live = classify(
        400,
        &json_headers(),
        &body(json!({"error": "invalid_grant"})),
    );
    assert_eq!(findings("acme", &live), vec![]);
}

#[test]
fn app_client_rejected_when_the_baseline_was_authenticated() {
    let k = key("acme");
    let before = classify(
        400,
        &json_headers(),
        &body(json!({"error": "invalid_grant"})),
    );
    let after = classify(
        401,
        &json_headers(),
        &body(json!({"error": "invalid_client"})),
    );
    let d = diff_bodies::<AppBody>(&k, &before.to_json(), &after.to_json());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].rule, Rule::AppClientRejected);
    assert_eq!(d[0].severity, crate::model::Severity::Breaking);
    assert_eq!(d[0].subject, "client");
    assert_eq!(d[0].path, None);
    assert_eq!(
        d[0].message,
        "the token endpoint now rejects the OAuth client with `invalid_client` (status 401): \
         the app was deleted or its client secret is no longer valid"
    );
    // Rejected in the baseline too, or unclear now: nothing to report as a change.
    assert_eq!(
        diff_bodies::<AppBody>(&k, &after.to_json(), &after.to_json()),
        vec![]
    );
    let unclear = classify(400, &[], b"Bad Request");
    assert_eq!(
        diff_bodies::<AppBody>(&k, &before.to_json(), &unclear.to_json()),
        vec![]
    );
}

#[test]
fn app_observation_unreadable_on_a_bad_baseline() {
    let k = key("acme");
    let ok = classify(
        400,
        &json_headers(),
        &body(json!({"error": "invalid_grant"})),
    );
    let d = diff_bodies::<AppBody>(&k, &json!([1]), &ok.to_json());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].rule, Rule::AppObservationUnreadable);
}

#[test]
fn snapshot_round_trip() {
    let b = classify(
        401,
        &json_headers(),
        &body(json!({"error": "invalid_client"})),
    );
    let text = serde_json::to_string_pretty(&b.to_json()).unwrap();
    assert_eq!(
        text,
        "{\n  \"client\": \"rejected\",\n  \"error\": \"invalid_client\",\n  \"status\": 401,\n  \"www_authenticate\": false\n}"
    );
    let back = AppBody::parse(&serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(serde_json::to_string_pretty(&back.to_json()).unwrap(), text);
}

#[test]
fn client_secret_health_ok_expiring_expired() {
    use super::client_secret_health;
    let now = chrono::DateTime::parse_from_rfc3339("2027-02-24T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let at = chrono::DateTime::parse_from_rfc3339("2027-03-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let week = chrono::Duration::days(7);
    let h = client_secret_health("acme", at, week, now);
    assert_eq!((h.status.as_str(), h.days_left), ("expiring", 4));
    let h = client_secret_health("acme", at, chrono::Duration::days(3), now);
    assert_eq!((h.status.as_str(), h.days_left), ("ok", 4));
    let h = client_secret_health("acme", at, week, at);
    assert_eq!((h.status.as_str(), h.days_left), ("expired", 0));
    let h = client_secret_health("acme", at, week, at + chrono::Duration::days(2));
    assert_eq!((h.status.as_str(), h.days_left), ("expired", -2));
}

#[test]
fn app_client_secret_expiring_severity_follows_the_status() {
    use super::{client_secret_health, secret_expiry_drifts};
    let at = chrono::DateTime::parse_from_rfc3339("2027-03-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let week = chrono::Duration::days(7);
    let ok = client_secret_health("acme", at, week, at - chrono::Duration::days(30));
    let soon = client_secret_health("acme", at, week, at - chrono::Duration::days(5));
    let gone = client_secret_health("acme", at, week, at + chrono::Duration::hours(1));
    let d = secret_expiry_drifts(&[ok, soon, gone]);
    let got: Vec<_> = d
        .iter()
        .map(|d| (d.rule.clone(), d.severity, d.subject.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Rule::AppClientSecretExpiring.emit(crate::model::Severity::Warning),
                crate::model::Severity::Warning,
                "client-secret"
            ),
            (
                Rule::AppClientSecretExpiring.emit(crate::model::Severity::Breaking),
                crate::model::Severity::Breaking,
                "client-secret"
            ),
        ]
    );
    assert_eq!(
        d[0].message,
        "the OAuth client secret expires on 2027-03-01 00:00 UTC (5 days left): create a new \
         secret and update the suite's credentials before then"
    );
}
