//! Exact-result tests of the token diff rules, through `diff_observations`.

use crate::baseline::diff_observations;
use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::token::{ERROR_PROBE_GRANT, analyse, observe};
use crate::rules::Rule;
use serde_json::{Value, json};

fn key() -> ObservationKey {
    ObservationKey {
        provider: "demo".into(),
        probe: ProbeKind::Token,
        subject: "token-endpoint".into(),
        connection: None,
    }
}

fn obs(grants: Value) -> Observation {
    Observation {
        key: key(),
        body: json!({ "grants": grants }),
    }
}

/// A conformant merged token answer with `changes` applied.
fn token(changes: Value) -> Value {
    let mut v = json!({
        "cache_control_no_store": true, "content_type": "json", "expires_in": "number",
        "outcome": "token", "refresh_expiry_hints": [], "refresh_token": "present-new",
        "scope": "echoed", "status_class": "2xx", "token_type": "bearer"
    });
    merge_into(&mut v, changes);
    v
}

/// A conformant error answer (RFC 6749 §5.2) with `changes` applied.
fn error(changes: Value) -> Value {
    let mut v = json!({
        "cache_control_no_store": true, "content_type": "json", "error": "invalid_grant",
        "error_json": true, "error_status": "400", "error_with_200": false,
        "outcome": "error", "status_class": "4xx"
    });
    merge_into(&mut v, changes);
    v
}

fn merge_into(v: &mut Value, changes: Value) {
    if let (Value::Object(m), Value::Object(c)) = (v, changes) {
        for (k, x) in c {
            if x.is_null() {
                m.remove(&k);
            } else {
                m.insert(k, x);
            }
        }
    }
}

/// Diffs one grant's facts, before and after.
fn one(before: Value, after: Value) -> Vec<Drift> {
    diff_observations(
        &obs(json!({ "refresh_token": before })),
        &obs(json!({ "refresh_token": after })),
    )
}

/// (rule, path, severity) of each drift, in output order.
fn summary(drifts: &[Drift]) -> Vec<(&str, Option<&str>, Severity)> {
    drifts
        .iter()
        .map(|d| (d.rule.as_str(), d.path.as_deref(), d.severity))
        .collect()
}

const RT: Option<&str> = Some("refresh_token");

#[test]
fn identical_observations_have_no_drift() {
    let a = obs(json!({
        "authorization_code": token(json!({"refresh_token": ["absent", "present"]})),
        "refresh_token": token(json!({})),
        ERROR_PROBE_GRANT: error(json!({})),
    }));
    assert_eq!(diff_observations(&a, &a), vec![]);
}

#[test]
fn expires_in_type_changed() {
    let d = one(token(json!({})), token(json!({"expires_in": "string"})));
    assert_eq!(
        d,
        vec![Drift {
            rule: Rule::TokenExpiresInTypeChanged.emit(Severity::Breaking),
            severity: Severity::Breaking,
            provider: "demo".into(),
            probe: ProbeKind::Token,
            subject: "token-endpoint".into(),
            path: Some("refresh_token".into()),
            connections: vec![],
            message: "`refresh_token`: `expires_in` is now `string` instead of `number`".into(),
            before: Some(json!("number")),
            after: Some(json!("string")),
            exchanges: vec![],
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        }]
    );
    let d = one(
        token(json!({"expires_in": "string"})),
        token(json!({"expires_in": ["number", "string"]})),
    );
    assert_eq!(
        summary(&d),
        vec![(Rule::TokenExpiresInTypeChanged.id(), RT, Severity::Warning)]
    );
    assert_eq!(
        d[0].message,
        "`refresh_token`: `expires_in` is now `number` or `string` instead of `string`"
    );
}

#[test]
fn refresh_token_stopped_is_breaking() {
    for after in [json!("absent"), json!("null"), json!(["absent", "null"])] {
        let d = one(token(json!({})), token(json!({ "refresh_token": after })));
        assert_eq!(
            summary(&d),
            vec![(Rule::TokenRefreshTokenChanged.id(), RT, Severity::Breaking)]
        );
    }
    let d = one(
        token(json!({"refresh_token": "present"})),
        token(json!({"refresh_token": "null"})),
    );
    assert_eq!(
        d[0].message,
        "`refresh_token`: the provider stopped issuing refresh tokens (`null` instead of `present`)"
    );
}

#[test]
fn refresh_token_other_changes_are_warnings() {
    let d = one(
        token(json!({})),
        token(json!({"refresh_token": "present-same"})),
    );
    assert_eq!(
        summary(&d),
        vec![(Rule::TokenRefreshTokenChanged.id(), RT, Severity::Warning)]
    );
    // Some connections still get one: not (yet) stopped.
    let d = one(
        token(json!({})),
        token(json!({"refresh_token": ["absent", "present-new"]})),
    );
    assert_eq!(
        summary(&d),
        vec![(Rule::TokenRefreshTokenChanged.id(), RT, Severity::Warning)]
    );
    let d = one(token(json!({"refresh_token": "absent"})), token(json!({})));
    assert_eq!(
        summary(&d),
        vec![(Rule::TokenRefreshTokenChanged.id(), RT, Severity::Warning)]
    );
}

#[test]
fn content_token_type_scope_no_store_and_hints() {
    let d = one(
        token(json!({})),
        token(json!({
            "content_type": "form-labelled-json", "token_type": "absent", "scope": "absent",
            "cache_control_no_store": false, "refresh_expiry_hints": ["refresh_token_expires_in"]
        })),
    );
    assert_eq!(
        summary(&d),
        vec![
            (Rule::TokenContentTypeChanged.id(), RT, Severity::Breaking),
            (Rule::TokenNoStoreChanged.id(), RT, Severity::Info),
            (Rule::TokenRefreshExpiryHintChanged.id(), RT, Severity::Info),
            (Rule::TokenScopeChanged.id(), RT, Severity::Warning),
            (Rule::TokenTokenTypeChanged.id(), RT, Severity::Warning),
        ]
    );
    assert_eq!(
        d[2].message,
        "`refresh_token`: the set of refresh-token lifetime members is now \
         [\"refresh_token_expires_in\"] instead of []"
    );
}

#[test]
fn error_format_changed_is_one_drift_with_the_changed_fields() {
    let d = diff_observations(
        &obs(json!({ ERROR_PROBE_GRANT: error(json!({})) })),
        &obs(
            json!({ ERROR_PROBE_GRANT: error(json!({"error_status": "other", "status_class": "2xx", "error_with_200": true})) }),
        ),
    );
    assert_eq!(
        summary(&d),
        vec![(
            Rule::TokenErrorFormatChanged.id(),
            Some(ERROR_PROBE_GRANT),
            Severity::Warning
        )]
    );
    assert_eq!(
        d[0].before,
        Some(json!({"error_status": "400", "error_with_200": false, "status_class": "4xx"}))
    );
    assert_eq!(
        d[0].after,
        Some(json!({"error_status": "other", "error_with_200": true, "status_class": "2xx"}))
    );
    assert_eq!(
        d[0].message,
        "`refresh_token (invalid, probe)` error answers changed `error_status`, \
         `error_with_200`, `status_class`"
    );
    // An HTML page instead of a JSON code: the missing `error` counts as a change.
    let d = one(
        error(json!({})),
        error(json!({"error": null, "error_json": false, "content_type": "other"})),
    );
    assert_eq!(
        summary(&d),
        vec![
            (Rule::TokenContentTypeChanged.id(), RT, Severity::Breaking),
            (Rule::TokenErrorFormatChanged.id(), RT, Severity::Warning),
        ]
    );
    assert_eq!(
        d[1].before,
        Some(json!({"error": "invalid_grant", "error_json": true}))
    );
    assert_eq!(d[1].after, Some(json!({"error_json": false})));
}

#[test]
fn outcome_changed() {
    let d = one(token(json!({})), error(json!({})));
    assert_eq!(
        summary(&d),
        vec![(Rule::TokenOutcomeChanged.id(), RT, Severity::Breaking)]
    );
    let d = one(error(json!({})), token(json!({})));
    assert_eq!(
        summary(&d),
        vec![(Rule::TokenOutcomeChanged.id(), RT, Severity::Info)]
    );
    let d = one(
        error(json!({})),
        json!({"outcome": "unreadable", "status_class": "2xx", "content_type": "json", "cache_control_no_store": true}),
    );
    assert_eq!(
        summary(&d),
        vec![(Rule::TokenOutcomeChanged.id(), RT, Severity::Warning)]
    );
    assert_eq!(
        d[0].message,
        "`refresh_token` now answers `unreadable` instead of `error`"
    );
}

#[test]
fn grant_appeared_and_disappeared() {
    let d = diff_observations(
        &obs(json!({"authorization_code": token(json!({})), "refresh_token": token(json!({}))})),
        &obs(
            json!({"authorization_code": token(json!({})), "client_credentials": token(json!({}))}),
        ),
    );
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::TokenGrantAppeared.id(),
                Some("client_credentials"),
                Severity::Info
            ),
            (Rule::TokenGrantDisappeared.id(), RT, Severity::Info),
        ]
    );
    assert_eq!(d[0].before, None);
    assert_eq!(d[0].after, Some(token(json!({}))));
    assert_eq!(d[1].before, Some(token(json!({}))));
}

#[test]
fn unreadable_observation_is_reported() {
    let broken = Observation {
        key: key(),
        body: json!({"grants": []}),
    };
    let d = diff_observations(&broken, &obs(json!({})));
    assert_eq!(
        summary(&d),
        vec![(
            Rule::TokenObservationUnreadable.id(),
            None,
            Severity::Warning
        )]
    );
    assert_eq!(
        d[0].message,
        "the baseline token observation is unreadable: invalid type: sequence, expected a map"
    );
}

#[test]
fn analysed_answers_diff_without_leaking_values() {
    let json = [("Content-Type".to_owned(), "application/json".to_owned())];
    let old = "sim_rt_1111aaaa";
    let rotated = analyse(
        "refresh_token",
        &[],
        Some(old),
        200,
        &json,
        br#"{"access_token":"sim_at_9999","token_type":"bearer","expires_in":3600,"refresh_token":"sim_rt_2222bbbb"}"#,
    );
    let stopped = analyse(
        "refresh_token",
        &[],
        Some(old),
        200,
        &json,
        br#"{"access_token":"sim_at_9999","token_type":"bearer","expires_in":"3600"}"#,
    );
    let d = diff_observations(&observe("demo", &[rotated]), &observe("demo", &[stopped]));
    assert_eq!(
        summary(&d),
        vec![
            (Rule::TokenExpiresInTypeChanged.id(), RT, Severity::Breaking),
            (Rule::TokenRefreshTokenChanged.id(), RT, Severity::Breaking),
        ]
    );
    let text = serde_json::to_string(&d).unwrap();
    assert!(!text.contains("sim_"), "{text}");
}
