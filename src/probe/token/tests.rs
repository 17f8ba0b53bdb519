//! Exact-result tests of the token probe's classification, observation and findings.

use super::*;
use serde_json::json;

const AT: &str = "sim_at_4f2a9c1e";
const RT: &str = "sim_rt_77b0d3aa";
const OLD_RT: &str = "sim_rt_0c0ffee1";

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn json_headers() -> Vec<(String, String)> {
    h(&[
        ("Content-Type", "application/json;charset=UTF-8"),
        ("Cache-Control", "no-store"),
    ])
}

fn scopes(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

fn analyse_json(
    grant: &str,
    requested: &[&str],
    previous: Option<&str>,
    body: Value,
) -> TokenFacts {
    analyse(
        grant,
        &scopes(requested),
        previous,
        200,
        &json_headers(),
        body.to_string().as_bytes(),
    )
}

fn token(f: &TokenFacts) -> &TokenAnswer {
    match &f.answer {
        Answer::Token(t) => t,
        other => panic!("expected a token answer, got {other:?}"),
    }
}

fn conformant() -> TokenFacts {
    analyse_json(
        "authorization_code",
        &["read", "write"],
        None,
        json!({"access_token": AT, "token_type": "Bearer", "expires_in": 3600,
               "refresh_token": RT, "scope": "write read"}),
    )
}

#[test]
fn conformant_json_answer() {
    assert_eq!(
        conformant(),
        TokenFacts {
            grant: "authorization_code".into(),
            status_class: StatusClass::Success,
            content_type: ContentKind::Json,
            cache_control_no_store: true,
            answer: Answer::Token(TokenAnswer {
                token_type: TokenType::Bearer,
                expires_in: ExpiresIn::Number,
                refresh_token: RefreshToken::Present,
                scope: ScopeKind::Echoed,
                refresh_expiry_hints: vec![],
            }),
        }
    );
    assert_eq!(findings("demo", &[conformant()]), vec![]);
}

#[test]
fn facts_serialise_flat_in_kebab_case() {
    assert_eq!(
        serde_json::to_value(conformant()).unwrap(),
        json!({"grant": "authorization_code", "status_class": "2xx", "content_type": "json",
               "cache_control_no_store": true, "outcome": "token", "token_type": "bearer",
               "expires_in": "number", "refresh_token": "present", "scope": "echoed",
               "refresh_expiry_hints": []})
    );
    let back: TokenFacts =
        serde_json::from_value(serde_json::to_value(conformant()).unwrap()).expect("round trip");
    assert_eq!(back, conformant());
}

#[test]
fn string_expires_in() {
    let f = analyse_json(
        "refresh_token",
        &[],
        None,
        json!({"access_token": AT, "token_type": "bearer", "expires_in": "3600"}),
    );
    assert_eq!(token(&f).expires_in, ExpiresIn::String);
}

#[test]
fn timestamp_expires_in() {
    let f = analyse_json(
        "refresh_token",
        &[],
        None,
        json!({"access_token": AT, "expires_in": 1_767_225_600u64}),
    );
    assert_eq!(token(&f).expires_in, ExpiresIn::Timestamp);
    let f = analyse_json(
        "refresh_token",
        &[],
        None,
        json!({"access_token": AT, "expires_in": "1767225600"}),
    );
    assert_eq!(token(&f).expires_in, ExpiresIn::Timestamp);
}

#[test]
fn missing_and_odd_expires_in() {
    let f = analyse_json("password", &[], None, json!({"access_token": AT}));
    assert_eq!(token(&f).expires_in, ExpiresIn::Absent);
    let f = analyse_json(
        "password",
        &[],
        None,
        json!({"access_token": AT, "expires_in": "soon"}),
    );
    assert_eq!(token(&f).expires_in, ExpiresIn::Other);
    let f = analyse_json(
        "password",
        &[],
        None,
        json!({"access_token": AT, "expires_in": -5}),
    );
    assert_eq!(token(&f).expires_in, ExpiresIn::Other);
}

#[test]
fn missing_and_other_token_type() {
    let f = analyse_json(
        "client_credentials",
        &[],
        None,
        json!({"access_token": AT, "expires_in": 60}),
    );
    assert_eq!(token(&f).token_type, TokenType::Absent);
    let f = analyse_json(
        "client_credentials",
        &[],
        None,
        json!({"access_token": AT, "token_type": "DPoP"}),
    );
    assert_eq!(token(&f).token_type, TokenType::Other);
    let f = analyse_json(
        "client_credentials",
        &[],
        None,
        json!({"access_token": AT, "token_type": "BEARER"}),
    );
    assert_eq!(token(&f).token_type, TokenType::Bearer);
}

#[test]
fn refresh_token_null_absent_empty() {
    let body = |rt: Value| json!({"access_token": AT, "refresh_token": rt});
    let f = analyse_json("refresh_token", &[], Some(OLD_RT), body(Value::Null));
    assert_eq!(token(&f).refresh_token, RefreshToken::Null);
    let f = analyse_json("refresh_token", &[], Some(OLD_RT), body(json!("")));
    assert_eq!(token(&f).refresh_token, RefreshToken::Null);
    let f = analyse_json(
        "refresh_token",
        &[],
        Some(OLD_RT),
        json!({"access_token": AT}),
    );
    assert_eq!(token(&f).refresh_token, RefreshToken::Absent);
}

#[test]
fn same_versus_new_refresh_token() {
    let f = analyse_json(
        "refresh_token",
        &[],
        Some(OLD_RT),
        json!({"access_token": AT, "refresh_token": OLD_RT}),
    );
    assert_eq!(token(&f).refresh_token, RefreshToken::PresentSame);
    let f = analyse_json(
        "refresh_token",
        &[],
        Some(OLD_RT),
        json!({"access_token": AT, "refresh_token": RT}),
    );
    assert_eq!(token(&f).refresh_token, RefreshToken::PresentNew);
}

#[test]
fn refresh_expiry_hints_are_named_sorted() {
    let f = analyse_json(
        "refresh_token",
        &[],
        None,
        json!({"access_token": AT, "x_refresh_token_expires_in": 8_726_400,
               "refresh_expires_in": "15552000", "refresh_token_expires_in": null}),
    );
    assert_eq!(
        token(&f).refresh_expiry_hints,
        vec!["refresh_expires_in", "x_refresh_token_expires_in"]
    );
}

#[test]
fn github_form_body_labelled_json() {
    let body = format!(
        "access_token={AT}&scope=repo%2Cuser&token_type=bearer&expires_in=28800&refresh_token={RT}&refresh_token_expires_in=15811200"
    );
    let f = analyse(
        "authorization_code",
        &scopes(&["repo", "user"]),
        None,
        200,
        &h(&[("content-type", "application/json; charset=utf-8")]),
        body.as_bytes(),
    );
    assert_eq!(f.content_type, ContentKind::FormLabelledJson);
    let t = token(&f);
    // A form can only carry strings: the form encoding is the finding, not `expires_in`.
    assert_eq!(t.expires_in, ExpiresIn::Number);
    assert_eq!(t.scope, ScopeKind::Echoed);
    assert_eq!(t.refresh_expiry_hints, vec!["refresh_token_expires_in"]);
    let d = findings("github", std::slice::from_ref(&f));
    assert_eq!(
        summary(&d),
        vec![
            (Rule::TokenFormEncoded.id(), Severity::Warning),
            (Rule::TokenNoStoreMissing.id(), Severity::Info),
        ]
    );
    let plain = analyse(
        "authorization_code",
        &[],
        None,
        200,
        &h(&[("Content-Type", "application/x-www-form-urlencoded")]),
        body.as_bytes(),
    );
    assert_eq!(plain.content_type, ContentKind::Form);
    assert_eq!(findings("github", &[plain])[0].severity, Severity::Info);
}

#[test]
fn github_error_with_200() {
    let f = analyse_json(
        "device_code",
        &[],
        None,
        json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}),
    );
    assert_eq!(
        f.answer,
        Answer::Error(ErrorAnswer {
            error: Some("bad_verification_code".into()),
            error_json: true,
            error_status: ErrorStatus::Other,
            error_with_200: true,
        })
    );
    assert_eq!(
        summary(&findings("github", &[f])),
        vec![(Rule::TokenErrorWith200.id(), Severity::Warning)]
    );
}

#[test]
fn atlassian_403_invalid_grant() {
    let f = analyse(
        ERROR_PROBE_GRANT,
        &[],
        Some(OLD_RT),
        403,
        &json_headers(),
        br#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#,
    );
    assert_eq!(f.status_class, StatusClass::ClientError);
    assert_eq!(
        f.answer,
        Answer::Error(ErrorAnswer {
            error: Some("invalid_grant".into()),
            error_json: true,
            error_status: ErrorStatus::Other,
            error_with_200: false,
        })
    );
    let d = findings("atlassian", &[f]);
    assert_eq!(
        summary(&d),
        vec![(Rule::TokenErrorStatus.id(), Severity::Info)]
    );
    assert_eq!(d[0].path.as_deref(), Some(ERROR_PROBE_GRANT));
}

#[test]
fn html_error_page() {
    let f = analyse(
        "refresh_token",
        &[],
        Some(OLD_RT),
        502,
        &h(&[("Content-Type", "text/html")]),
        format!("<html><body>Bad gateway {RT}</body></html>").as_bytes(),
    );
    assert_eq!(f.content_type, ContentKind::Other);
    assert_eq!(f.status_class, StatusClass::ServerError);
    assert_eq!(
        f.answer,
        Answer::Error(ErrorAnswer {
            error: None,
            error_json: false,
            error_status: ErrorStatus::Other,
            error_with_200: false,
        })
    );
    assert_eq!(
        summary(&findings("demo", &[f])),
        vec![
            (Rule::TokenErrorNotJson.id(), Severity::Warning),
            (Rule::TokenErrorStatus.id(), Severity::Info),
        ]
    );
}

#[test]
fn conformant_errors_and_unreadable_success() {
    let f = analyse(
        ERROR_PROBE_GRANT,
        &[],
        None,
        400,
        &json_headers(),
        br#"{"error":"invalid_grant"}"#,
    );
    assert_eq!(findings("demo", &[f]), vec![]);
    let f = analyse(
        "authorization_code",
        &[],
        None,
        401,
        &json_headers(),
        br#"{"error":"invalid_client"}"#,
    );
    assert_eq!(findings("demo", &[f]), vec![]);
    let f = analyse("authorization_code", &[], None, 200, &json_headers(), b"[]");
    assert_eq!(f.answer, Answer::Unreadable);
    assert_eq!(
        summary(&findings("demo", &[f])),
        vec![(Rule::TokenResponseUnreadable.id(), Severity::Warning)]
    );
}

#[test]
fn error_codes_that_look_like_values_are_not_kept() {
    for code in [json!(AT), json!("x".repeat(65)), json!(42)] {
        let body = json!({ "error": code }).to_string();
        let f = analyse(
            "refresh_token",
            &[],
            None,
            400,
            &json_headers(),
            body.as_bytes(),
        );
        let Answer::Error(e) = f.answer else { panic!() };
        assert_eq!(e.error.as_deref(), Some(UNRECOGNISED_CODE));
    }
}

#[test]
fn scope_echoed_narrowed_widened_absent_returned() {
    let kind = |requested: &[&str], body: Value| {
        token(&analyse_json("authorization_code", requested, None, body)).scope
    };
    let with = |s: Value| json!({"access_token": AT, "scope": s});
    assert_eq!(kind(&["a", "b"], with(json!("b a"))), ScopeKind::Echoed);
    assert_eq!(kind(&["a b"], with(json!(["b", "a"]))), ScopeKind::Echoed);
    assert_eq!(kind(&["a", "b"], with(json!("a"))), ScopeKind::Narrowed);
    assert_eq!(kind(&["a"], with(json!("a c"))), ScopeKind::Widened);
    assert_eq!(kind(&["a"], json!({"access_token": AT})), ScopeKind::Absent);
    assert_eq!(kind(&[], with(json!("a"))), ScopeKind::Returned);
    assert_eq!(kind(&[], json!({"access_token": AT})), ScopeKind::Absent);
}

#[test]
fn no_store_header_present_or_absent() {
    let body = json!({"access_token": AT}).to_string();
    let with = |headers: &[(&str, &str)]| {
        analyse("password", &[], None, 200, &h(headers), body.as_bytes()).cache_control_no_store
    };
    assert!(with(&[("cache-control", "private, No-Store")]));
    assert!(with(&[
        ("Cache-Control", "private"),
        ("Cache-Control", "no-store")
    ]));
    assert!(!with(&[("Cache-Control", "no-cache")]));
    assert!(!with(&[]));
}

/// (rule, severity) of each drift, in output order.
fn summary(drifts: &[Drift]) -> Vec<(&str, Severity)> {
    drifts
        .iter()
        .map(|d| (d.rule.as_str(), d.severity))
        .collect()
}

fn sloppy() -> TokenFacts {
    // Everything wrong at once (Microsoft v1 style, no no-store, no token_type, no scope).
    analyse(
        "refresh_token",
        &scopes(&["a"]),
        Some(OLD_RT),
        200,
        &h(&[("Content-Type", "application/json")]),
        json!({"access_token": AT, "expires_in": "3599", "refresh_token": RT})
            .to_string()
            .as_bytes(),
    )
}

#[test]
fn findings_exact_rule_ids() {
    let d = findings("ms", &[sloppy()]);
    assert_eq!(
        summary(&d),
        vec![
            (Rule::TokenExpiresInNotNumber.id(), Severity::Warning),
            (Rule::TokenNoStoreMissing.id(), Severity::Info),
            (Rule::TokenScopeNotReturned.id(), Severity::Info),
            (Rule::TokenTokenTypeMissing.id(), Severity::Warning),
        ]
    );
    assert!(d.iter().all(|x| x.provider == "ms"
        && x.probe == ProbeKind::Token
        && x.subject == "token-endpoint"
        && x.path.as_deref() == Some("refresh_token")
        && x.before.is_none()));
    assert_eq!(
        d[0].message,
        "`refresh_token` answers carry `expires_in` as a string instead of a number"
    );
    let missing = analyse_json(
        "password",
        &[],
        None,
        json!({"access_token": AT, "token_type": "bearer", "scope": "x"}),
    );
    assert_eq!(
        summary(&findings("demo", &[missing])),
        vec![(Rule::TokenExpiresInMissing.id(), Severity::Info)]
    );
}

#[test]
fn findings_collapse_connections_and_name_every_kind() {
    let ts = analyse(
        "refresh_token",
        &scopes(&["a"]),
        Some(OLD_RT),
        200,
        &h(&[("Content-Type", "application/json")]),
        json!({"access_token": AT, "expires_in": 1_767_225_600u64, "refresh_token": RT})
            .to_string()
            .as_bytes(),
    );
    let d = findings("ms", &[sloppy(), ts, sloppy()]);
    assert_eq!(d.len(), 4);
    assert_eq!(
        d[0].message,
        "`refresh_token` answers carry `expires_in` as a string or a Unix timestamp instead of a number"
    );
    assert_eq!(
        d[0].after.as_ref().unwrap()["expires_in"],
        json!(["string", "timestamp"])
    );
}

#[test]
fn observe_is_deterministic_and_merges_disagreement() {
    let a = conformant();
    let b = sloppy();
    let c = analyse_json(
        "authorization_code",
        &["read", "write"],
        None,
        json!({"access_token": AT, "token_type": "bearer", "expires_in": "3600", "scope": "read"}),
    );
    let err = analyse(
        ERROR_PROBE_GRANT,
        &[],
        None,
        400,
        &json_headers(),
        br#"{"error":"invalid_grant"}"#,
    );
    let one = observe("demo", &[a.clone(), b.clone(), c.clone(), err.clone()]);
    let two = observe("demo", &[err, c, b, a]);
    assert_eq!(one, two);
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&two).unwrap()
    );
    assert_eq!(
        one.key,
        ObservationKey {
            provider: "demo".into(),
            probe: ProbeKind::Token,
            subject: "token-endpoint".into(),
            connection: None,
        }
    );
    assert_eq!(
        one.body,
        json!({"grants": {
            "authorization_code": {
                "cache_control_no_store": true, "content_type": "json",
                "expires_in": ["number", "string"], "outcome": "token",
                "refresh_expiry_hints": [], "refresh_token": ["absent", "present"],
                "scope": ["echoed", "narrowed"], "status_class": "2xx", "token_type": "bearer"
            },
            "refresh_token": {
                "cache_control_no_store": false, "content_type": "json",
                "expires_in": "string", "outcome": "token", "refresh_expiry_hints": [],
                "refresh_token": "present-new", "scope": "absent", "status_class": "2xx",
                "token_type": "absent"
            },
            "refresh_token (invalid, probe)": {
                "cache_control_no_store": true, "content_type": "json",
                "error": "invalid_grant", "error_json": true, "error_status": "400",
                "error_with_200": false, "outcome": "error", "status_class": "4xx"
            }
        }})
    );
}

#[test]
fn no_token_value_reaches_observation_or_findings() {
    let form = format!("access_token={AT}&refresh_token={RT}&token_type=bearer");
    let facts = vec![
        conformant(),
        sloppy(),
        analyse(
            "authorization_code",
            &[],
            None,
            200,
            &h(&[("Content-Type", "application/json")]),
            form.as_bytes(),
        ),
        analyse(
            "refresh_token",
            &[],
            Some(RT),
            400,
            &json_headers(),
            json!({"error": RT, "error_description": AT})
                .to_string()
                .as_bytes(),
        ),
        analyse(
            "refresh_token",
            &[],
            Some(RT),
            500,
            &[],
            format!("<p>{AT}</p>").as_bytes(),
        ),
        analyse_json(
            "device_code",
            &[],
            Some(OLD_RT),
            json!({"access_token": AT, "refresh_token": OLD_RT}),
        ),
    ];
    let text = format!(
        "{}\n{}\n{:?}",
        serde_json::to_string(&observe("demo", &facts)).unwrap(),
        serde_json::to_string(&findings("demo", &facts)).unwrap(),
        facts
    );
    assert!(!findings("demo", &facts).is_empty());
    for secret in [AT, RT, OLD_RT, "sim_at_", "sim_rt_"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

/// The merge `observe` used before bodies were typed (`main` at 41c1dbe): every serialised
/// fact field, one value or the distinct values sorted by JSON text. Kept here as the oracle
/// the typed body must reproduce byte for byte.
fn untyped_merge(facts: &[&TokenFacts]) -> Value {
    let mut fields: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for f in facts {
        let Value::Object(m) = serde_json::to_value(f).unwrap() else {
            panic!("facts serialise to an object")
        };
        for (k, v) in m.into_iter().filter(|(k, _)| k != "grant") {
            fields.entry(k).or_default().insert(v.to_string(), v);
        }
    }
    let merged = fields
        .into_iter()
        .map(|(k, values)| {
            let mut values: Vec<Value> = values.into_values().collect();
            let v = if values.len() == 1 {
                values.remove(0)
            } else {
                Value::Array(values)
            };
            (k, v)
        })
        .collect();
    Value::Object(merged)
}

/// Every kind of answer the tests above build, under one grant label per case, plus mixes.
fn every_kind_of_answer() -> Vec<TokenFacts> {
    let relabel = |mut f: TokenFacts, grant: &str| {
        f.grant = grant.to_owned();
        f
    };
    let html = analyse(
        "refresh_token",
        &[],
        None,
        502,
        &h(&[("Content-Type", "text/html")]),
        b"<html>bad gateway</html>",
    );
    let github = analyse(
        "authorization_code",
        &[],
        None,
        200,
        &h(&[("Content-Type", "application/json")]),
        format!("access_token={AT}&scope=repo&token_type=bearer").as_bytes(),
    );
    let hinted = analyse_json(
        "refresh_token",
        &[],
        Some(OLD_RT),
        json!({"access_token": AT, "token_type": "bearer", "expires_in": 1_900_000_000u64,
               "refresh_token": OLD_RT, "refresh_token_expires_in": 86400,
               "x_refresh_token_expires_in": 86400, "scope": "a b"}),
    );
    let unreadable = analyse("password", &[], None, 200, &json_headers(), b"{}");
    let error_200 = analyse(
        "device_code",
        &[],
        None,
        200,
        &json_headers(),
        br#"{"error":"bad_verification_code"}"#,
    );
    vec![
        conformant(),
        sloppy(),
        html.clone(),
        github.clone(),
        hinted.clone(),
        unreadable.clone(),
        error_200.clone(),
        relabel(html, "mixed"),
        relabel(github, "mixed"),
        relabel(hinted, "mixed"),
        relabel(unreadable, "mixed"),
        relabel(error_200, "mixed"),
        relabel(conformant(), "mixed"),
    ]
}

#[test]
fn token_body_serialises_byte_identically_to_the_untyped_merge() {
    let facts = every_kind_of_answer();
    let obs = observe("demo", &facts);
    let mut grants = serde_json::Map::new();
    for (grant, group) in by_grant(&facts) {
        grants.insert(grant.to_owned(), untyped_merge(&group));
    }
    let expected = json!({ "grants": grants });
    assert_eq!(grants.len(), 5);
    assert_eq!(obs.body, expected);
    let header = crate::baseline::SnapshotHeader::new("demo", obs.key.clone());
    assert_eq!(
        crate::baseline::render_snapshot(&header, &obs.body),
        crate::baseline::render_snapshot(&header, &expected)
    );
    // Findings carry the same merged facts as their evidence.
    for d in findings("demo", &facts) {
        let grant = d.path.as_deref().unwrap();
        let firing: Vec<&TokenFacts> = facts
            .iter()
            .filter(|f| f.grant == grant && rules(f).iter().any(|r| d.rule == *r))
            .collect();
        assert_eq!(d.after, Some(untyped_merge(&firing)), "{}", d.rule);
    }
}

#[test]
fn token_snapshot_round_trips_through_the_typed_body() {
    let obs = observe("demo", &every_kind_of_answer());
    let header = crate::baseline::SnapshotHeader::new("demo", obs.key.clone());
    let text = crate::baseline::render_snapshot(&header, &obs.body);
    let (_, read) = crate::baseline::parse_snapshot(std::path::Path::new("t.snap"), &text).unwrap();
    let body = TokenBody::parse(&read.body).unwrap();
    assert_eq!(
        body.grants["mixed"]
            .outcome
            .as_ref()
            .map(|o| o.values().len()),
        Some(3)
    );
    assert_eq!(
        crate::baseline::render_snapshot(&header, &body.to_json()),
        text
    );
}
