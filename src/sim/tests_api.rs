//! Over-the-wire tests of the simulated resource API.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::tests_oauth::{client, grant, start, start_with};
use super::{ApiVersion, Profile, Sim};

const ALL_SCOPES: &str = "profile email invoices:read reports:read admin:read audit:read";

async fn token(sim: &Sim, account: &str, scope: &str) -> String {
    let body = grant(sim, account, scope).await;
    body["access_token"].as_str().unwrap().to_owned()
}

async fn get(sim: &Sim, path: &str, token: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn www(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get("www-authenticate")
        .map(|h| h.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn missing_scope_answers_differ_per_endpoint() {
    let sim = start().await;
    let at = token(&sim, "acme-corp", "offline_access").await;
    let cases: [(&str, u16, Value, Option<&str>); 5] = [
        (
            "/v1/me",
            403,
            json!({"error": "insufficient_scope"}),
            Some("Bearer error=\"insufficient_scope\", scope=\"profile\""),
        ),
        (
            "/v1/invoices",
            403,
            json!({"error": "insufficient_scope"}),
            Some("Bearer realm=\"sim\", error=\"insufficient_scope\", scope=\"invoices:read\""),
        ),
        (
            "/v1/reports/summary",
            401,
            json!({"error": "unauthorized", "message": "scope does not match"}),
            Some("Bearer realm=\"sim\""),
        ),
        (
            "/v1/workspace/settings",
            404,
            json!({"error": "not_found", "message": "Not Found"}),
            None,
        ),
        ("/v1/audit-log", 403, json!({"error": "forbidden"}), None),
    ];
    for (path, status, body, challenge) in cases {
        let resp = get(&sim, path, &at).await;
        assert_eq!(resp.status().as_u16(), status, "{path}");
        assert_eq!(www(&resp).as_deref(), challenge, "{path}");
        assert!(resp.headers().contains_key("x-request-id"), "{path}");
        let got: Value = resp.json().await.unwrap();
        assert_eq!(got, body, "{path}");
    }
    assert_eq!(sim.stats().api_requests, 5);
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_unknown_and_expired_tokens_are_invalid_token() {
    let sim = start_with(Profile::RotatingOneTime, Duration::from_millis(300)).await;
    let at = token(&sim, "globex", "profile").await;
    assert_eq!(get(&sim, "/v1/me", &at).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let expired = get(&sim, "/v1/me", &at).await;
    let unknown = get(&sim, "/v1/me", "sim_at_unknown").await;
    let missing = client()
        .get(format!("{}/v1/invoices", sim.base_url()))
        .send()
        .await
        .unwrap();
    for resp in [expired, unknown, missing] {
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            www(&resp).as_deref(),
            Some("Bearer realm=\"sim\", error=\"invalid_token\"")
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn me_carries_volatile_values_and_hides_email_without_scope() {
    let sim = start().await;
    let at = token(&sim, "initech", "profile").await;
    let resp = get(&sim, "/v1/me", &at).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(resp.headers().contains_key("etag"));
    assert!(resp.headers().contains_key("date"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["request_id"], json!(request_id));
    assert!(body.get("email").is_none());
    assert_eq!(body["name"], "Initech");
    assert_eq!(body["phone"], "+1-555-0142");
    assert_eq!(body["plan"], json!({"name": "pro", "seats": 10}));

    let again: Value = get(&sim, "/v1/me", &at).await.json().await.unwrap();
    assert_ne!(again["request_id"], body["request_id"]);
    assert_eq!(again["id"], body["id"]);

    let with_email = token(&sim, "initech", "profile email").await;
    let body: Value = get(&sim, "/v1/me", &with_email).await.json().await.unwrap();
    assert_eq!(body["email"], "ops@initech.example");
    sim.shutdown().await;
}

#[tokio::test]
async fn invoices_paginate_with_fresh_opaque_cursors() {
    let sim = start().await;
    let mut cursor_kinds = Vec::new();
    for account in super::ACCOUNTS {
        let at = token(&sim, account, "invoices:read").await;
        let page: Value = get(&sim, "/v1/invoices", &at).await.json().await.unwrap();
        cursor_kinds.push(page["next_cursor"].is_string());
    }
    assert_eq!(cursor_kinds, [true, false, true, false]);

    let at = token(&sim, "acme-corp", "invoices:read").await;
    let mut numbers = Vec::new();
    let mut path = "/v1/invoices?limit=2".to_string();
    loop {
        let page: Value = get(&sim, &path, &at).await.json().await.unwrap();
        for inv in page["data"].as_array().unwrap() {
            numbers.push(inv["number"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(page["has_more"], true);
                path = format!("/v1/invoices?limit=2&cursor={c}");
            }
            None => {
                assert_eq!(page["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(
        numbers,
        ["INV-1001", "INV-1002", "INV-1003", "INV-1004", "INV-1005"]
    );
    let a: Value = get(&sim, "/v1/invoices", &at).await.json().await.unwrap();
    let b: Value = get(&sim, "/v1/invoices", &at).await.json().await.unwrap();
    assert_ne!(a["next_cursor"], b["next_cursor"]);
    let bad = get(&sim, "/v1/invoices?cursor=garbage", &at).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}

#[tokio::test]
async fn v2_drift_is_visible_after_a_live_switch() {
    let sim = start().await;
    let globex = token(&sim, "globex", ALL_SCOPES).await;
    let acme = token(&sim, "acme-corp", ALL_SCOPES).await;

    let me: Value = get(&sim, "/v1/me", &globex).await.json().await.unwrap();
    assert_eq!(me["name"], "Globex");
    let inv: Value = get(&sim, "/v1/invoices", &acme).await.json().await.unwrap();
    assert_eq!(inv["data"][0]["amount_cents"], 12500);
    assert_eq!(inv["data"][0]["currency"], "EUR");
    let rep: Value = get(&sim, "/v1/reports/summary", &acme)
        .await
        .json()
        .await
        .unwrap();
    assert!(rep["metrics"].get("video_views").is_none());
    let ws: Value = get(&sim, "/v1/workspace/settings", &globex)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ws["billing_email"], "billing@globex.example");

    sim.set_version(ApiVersion::V2);
    let me: Value = get(&sim, "/v1/me", &globex).await.json().await.unwrap();
    assert!(me.get("name").is_none());
    assert_eq!(me["display_name"], "Globex");
    let inv: Value = get(&sim, "/v1/invoices", &acme).await.json().await.unwrap();
    assert_eq!(inv["data"][0]["amount_cents"], "12500");
    assert!(inv["data"][0].get("currency").is_none());
    let rep: Value = get(&sim, "/v1/reports/summary", &acme)
        .await
        .json()
        .await
        .unwrap();
    assert!(rep["metrics"]["video_views"].as_u64().unwrap() >= 1);
    let ws: Value = get(&sim, "/v1/workspace/settings", &globex)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ws["billing_email"], Value::Null);
    let ws: Value = get(&sim, "/v1/workspace/settings", &acme)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ws["billing_email"], "billing@acme-corp.example");
    sim.shutdown().await;
}

#[tokio::test]
async fn report_metrics_are_non_zero_floats_with_fractions() {
    let sim = start().await;
    let at = token(&sim, "umbrella", "reports:read").await;
    let resp = get(&sim, "/v1/reports/summary", &at).await;
    let text = resp.text().await.unwrap();
    let rep: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(rep["account"], "umbrella");
    assert_eq!(rep["data_complete"], true);
    for k in ["impressions", "clicks", "conversions"] {
        assert!(rep["metrics"][k].as_u64().unwrap() >= 1, "{k}");
    }
    assert!(rep["metrics"]["spend"].is_f64());
    assert!(rep["metrics"]["ctr"].as_f64().unwrap() > 0.0);
    assert!(text.contains(".25,") || text.contains(".25}"), "{text}");
    sim.shutdown().await;
}

#[tokio::test]
async fn audit_log_and_app_tokens() {
    let sim = start().await;
    let at = token(&sim, "umbrella", "audit:read").await;
    let log: Value = get(&sim, "/v1/audit-log", &at).await.json().await.unwrap();
    assert_eq!(log["events"].as_array().unwrap().len(), 3);
    assert_eq!(log["next_cursor"], Value::Null);

    let resp = super::tests_oauth::token_request(
        &sim,
        &[("grant_type", "client_credentials"), ("scope", "profile")],
    )
    .await;
    let app: Value = resp.json().await.unwrap();
    let me: Value = get(&sim, "/v1/me", app["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["account"], "acme-corp");
    sim.shutdown().await;
}

#[tokio::test]
async fn big_streams_without_length_and_deep_nests() {
    let sim = start().await;
    let at = token(&sim, "globex", "profile").await;
    let resp = get(&sim, "/v1/big?mib=2", &at).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("content-length").is_none());
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), 2 * 1024 * 1024);
    let parsed: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(parsed.as_str().unwrap().len(), 2 * 1024 * 1024 - 2);

    let deep = get(&sim, "/v1/deep?depth=3", &at)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(deep, "[[[]]]");
    let bad = get(&sim, "/v1/deep", &at).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let anon = client()
        .get(format!("{}/v1/big", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    sim.shutdown().await;
}

#[tokio::test]
async fn v2_invoices_also_require_email() {
    let sim = start().await;
    let without_email = token(&sim, "initech", "invoices:read").await;
    let with_email = token(&sim, "initech", "invoices:read email").await;
    let email_only = token(&sim, "initech", "email").await;
    assert_eq!(
        get(&sim, "/v1/invoices", &without_email).await.status(),
        200
    );

    sim.set_version(ApiVersion::V2);
    let challenge =
        "Bearer realm=\"sim\", error=\"insufficient_scope\", scope=\"invoices:read email\"";
    for at in [&without_email, &email_only] {
        let resp = get(&sim, "/v1/invoices", at).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(www(&resp).as_deref(), Some(challenge));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, json!({"error": "insufficient_scope"}));
    }
    let ok: Value = get(&sim, "/v1/invoices", &with_email)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["data"][0]["number"], "INV-2001");
    sim.shutdown().await;
}

#[tokio::test]
async fn channels_answer_missing_scope_with_a_200_envelope() {
    let sim = start().await;
    let without = token(&sim, "globex", "profile email").await;
    let resp = get(&sim, "/v1/channels", &without).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(www(&resp), None);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"ok": false, "error": "missing_scope", "needed": "channels:read",
               "provided": "profile email"})
    );

    let with = token(&sim, "globex", "channels:read").await;
    let body: Value = get(&sim, "/v1/channels", &with).await.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "ok": true,
            "channels": [
                {"id": "C03GLBX0GNRL", "name": "general", "is_private": false, "created": 1658241000},
                {"id": "C03GLBX0RNDM", "name": "random", "is_private": false, "created": 1658241060},
                {"id": "C04GLBX0SALE", "name": "sales", "is_private": false, "created": 1660000000},
            ],
            "response_metadata": {"next_cursor": ""},
        })
    );
    // A missing bearer is still a 401, not an envelope.
    let resp = get(&sim, "/v1/channels", "sim_at_unknown").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    sim.shutdown().await;
}

fn activity_names(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn activities_drop_private_items_silently_without_read_all() {
    let sim = start().await;
    let none = token(&sim, "acme-corp", "profile").await;
    let resp = get(&sim, "/v1/activities", &none).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www(&resp).as_deref(), Some("Bearer realm=\"sim\""));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"message": "Authorization Error",
               "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}]})
    );

    let read = token(&sim, "acme-corp", "activities:read").await;
    let resp = get(&sim, "/v1/activities", &read).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let partial: Value = resp.json().await.unwrap();
    assert_eq!(partial["request_id"], request_id.as_str());
    assert_eq!(
        activity_names(&partial),
        ["Morning Run", "Lunch Ride", "Hill Repeats", "Long Run"]
    );
    assert_eq!(
        partial["data"][0],
        json!({"id": 9101000001_u64, "name": "Morning Run", "visibility": "everyone",
               "distance": 5012.4, "start_date": "2024-05-01T06:30:00Z"})
    );

    let all = token(&sim, "acme-corp", "activities:read activities:read_all").await;
    let full: Value = get(&sim, "/v1/activities", &all)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(full["data"].as_array().unwrap().len(), 6);
    assert_eq!(full["data"][2]["visibility"], "only_me");
    // `read_all` implies `read`, as on Strava.
    let read_all_only = token(&sim, "umbrella", "activities:read_all").await;
    let body: Value = get(&sim, "/v1/activities", &read_all_only)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(activity_names(&body), ["Lab Loop", "City Run"]);
    let read_only = token(&sim, "umbrella", "activities:read").await;
    let body: Value = get(&sim, "/v1/activities", &read_only)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(activity_names(&body), ["City Run"]);
    sim.shutdown().await;
}
