//! Over-the-wire tests of the simulated device authorization grant (RFC 8628).

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::tests_oauth::{SECRET, client, refresh_form, token_request};
use super::{Profile, Sim, SimOptions, SimStats};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start_device(profile: Profile) -> Sim {
    let opts = SimOptions {
        profile,
        client_secret: Some(SECRET.into()),
        device_interval: Duration::from_millis(300),
        ..SimOptions::default()
    };
    Sim::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap()
}

async fn authorize_device(sim: &Sim, scope: &str) -> reqwest::Response {
    client()
        .post(format!("{}/oauth/device_authorization", sim.base_url()))
        .basic_auth("driftwatch-sim", Some(SECRET))
        .form(&[("scope", scope)])
        .send()
        .await
        .unwrap()
}

/// `(device_code, user_code)` of a fresh device grant.
async fn codes(sim: &Sim, scope: &str) -> (String, String) {
    let body: Value = authorize_device(sim, scope).await.json().await.unwrap();
    let s = |k: &str| body[k].as_str().unwrap().to_owned();
    (s("device_code"), s("user_code"))
}

async fn poll(sim: &Sim, device_code: &str) -> (StatusCode, Value) {
    let form = [("grant_type", DEVICE_GRANT), ("device_code", device_code)];
    let resp = token_request(sim, &form).await;
    (resp.status(), resp.json().await.unwrap())
}

async fn decide(sim: &Sim, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = client()
        .post(format!("{}/device/approve", sim.base_url()))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

fn oauth_error(error: &str, desc: &str) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        json!({"error": error, "error_description": desc}),
    )
}

fn pending() -> (StatusCode, Value) {
    oauth_error("authorization_pending", "the user has not decided yet")
}

fn slow_down() -> (StatusCode, Value) {
    oauth_error("slow_down", "polling too fast; wait longer between polls")
}

#[tokio::test]
async fn device_authorization_response_and_discovery() {
    let sim = start_device(Profile::RotatingOneTime).await;
    let base = sim.base_url();
    let resp = authorize_device(&sim, "profile email").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    let dc = body["device_code"].as_str().unwrap();
    let uc = body["user_code"].as_str().unwrap();
    assert!(dc.starts_with("sim_code_dev_"), "{dc}");
    assert_eq!(uc.len(), 9);
    assert_eq!(uc.as_bytes()[4], b'-');
    assert_eq!(
        body,
        json!({
            "device_code": dc,
            "user_code": uc,
            "verification_uri": format!("{base}/device"),
            "verification_uri_complete": format!("{base}/device?user_code={uc}"),
            "expires_in": 600,
            // 300 ms, announced in whole seconds rounded up.
            "interval": 1,
        })
    );

    let unauthenticated = client()
        .post(format!("{base}/oauth/device_authorization"))
        .form(&[("scope", "profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = {
        let r = authorize_device(&sim, "payroll").await;
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");

    let page = client()
        .get(format!("{base}/device?user_code={uc}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("name=\"user_code\" value=\"{uc}\"")),
        "{page}"
    );
    assert!(page.contains("action=\"/device/approve\""));
    sim.shutdown().await;
}

#[tokio::test]
async fn polling_too_fast_grows_the_interval_by_five_seconds() {
    let sim = start_device(Profile::RotatingOneTime).await;
    let (dc, _) = codes(&sim, "profile").await;
    assert_eq!(poll(&sim, &dc).await, pending());
    assert_eq!(poll(&sim, &dc).await, slow_down());
    // After the announced 300 ms but before 300 ms + 5 s: slow_down again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(poll(&sim, &dc).await, slow_down());
    let stats = sim.stats();
    assert_eq!((stats.device_polls, stats.slow_downs), (3, 2));
    sim.shutdown().await;
}

#[tokio::test]
async fn approved_device_gets_tokens_once() {
    let sim = start_device(Profile::RotatingOneTime).await;
    // A 1.5 s growth step keeps this test short; the 5 s step is tested above.
    sim.set_device_timing(Duration::from_secs(600), Duration::from_millis(1500));
    let (dc, uc) = codes(&sim, "profile invoices:read").await;
    assert_eq!(poll(&sim, &dc).await, pending());
    assert_eq!(poll(&sim, &dc).await, slow_down());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(poll(&sim, &dc).await, slow_down());

    // The user types the code loosely; the approval still finds it.
    let typed = uc.to_ascii_lowercase();
    let approve = [
        ("user_code", typed.as_str()),
        ("login_hint", "umbrella"),
        ("decision", "approve"),
    ];
    assert_eq!(
        decide(&sim, &approve).await,
        (StatusCode::OK, json!({"status": "approved"}))
    );
    // 0.3 s + 2 × 1.5 s since the last poll.
    tokio::time::sleep(Duration::from_millis(3400)).await;
    let (status, tokens) = poll(&sim, &dc).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(
        tokens["access_token"]
            .as_str()
            .unwrap()
            .starts_with("sim_at_")
    );
    assert_eq!(tokens["scope"], "profile invoices:read");
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert!(rt.starts_with("sim_rt_"));

    // Redeemed codes are refused at once, however fast the poll.
    assert_eq!(
        poll(&sim, &dc).await,
        oauth_error("invalid_grant", "device code is invalid or already used")
    );
    // The refresh token rotates one-time.
    assert_eq!(token_request(&sim, &refresh_form(rt)).await.status(), 200);
    assert_eq!(token_request(&sim, &refresh_form(rt)).await.status(), 400);
    let me: Value = client()
        .get(format!("{}/v1/me", sim.base_url()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["account"], "umbrella");
    assert_eq!(
        sim.stats(),
        SimStats {
            token_requests: 7,
            refresh_grants: 2,
            refresh_reuse_rejected: 1,
            refresh_replays: 1,
            api_requests: 1,
            device_polls: 5,
            slow_downs: 2,
            password_grants: 0,
            rate_limited: 0,
        }
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn denied_device_gets_access_denied() {
    let sim = start_device(Profile::RotatingOneTime).await;
    let (dc, uc) = codes(&sim, "profile").await;
    let deny = [("user_code", uc.as_str()), ("decision", "deny")];
    assert_eq!(
        decide(&sim, &deny).await,
        (StatusCode::OK, json!({"status": "denied"}))
    );
    let denied = oauth_error("access_denied", "the user denied the request");
    assert_eq!(poll(&sim, &dc).await, denied);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(poll(&sim, &dc).await, denied);
    // A decided code cannot be decided again.
    let (status, body) = decide(&sim, &deny).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": "not_found", "message": "unknown, expired or already decided user_code"})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn expired_device_code_is_expired_token() {
    let sim = start_device(Profile::RotatingOneTime).await;
    sim.set_device_timing(Duration::from_millis(300), Duration::from_secs(5));
    let body: Value = authorize_device(&sim, "profile")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["expires_in"], json!(1));
    let dc = body["device_code"].as_str().unwrap();
    let uc = body["user_code"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let approve = [
        ("user_code", uc),
        ("login_hint", "globex"),
        ("decision", "approve"),
    ];
    assert_eq!(decide(&sim, &approve).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        poll(&sim, dc).await,
        oauth_error("expired_token", "device code expired")
    );
    sim.shutdown().await;
}

type Form<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn approval_endpoint_rejects_bad_input() {
    let sim = start_device(Profile::RotatingOneTime).await;
    let (_, uc) = codes(&sim, "profile").await;
    let cases: [(Form, StatusCode, &str); 4] = [
        (
            &[("user_code", "BBBB-BBBB"), ("decision", "deny")],
            StatusCode::NOT_FOUND,
            "unknown, expired or already decided user_code",
        ),
        (
            &[("user_code", uc.as_str()), ("decision", "maybe")],
            StatusCode::BAD_REQUEST,
            "decision must be approve or deny",
        ),
        (
            &[
                ("user_code", uc.as_str()),
                ("login_hint", "hooli"),
                ("decision", "approve"),
            ],
            StatusCode::BAD_REQUEST,
            "unknown account in login_hint",
        ),
        (
            &[("decision", "deny")],
            StatusCode::BAD_REQUEST,
            "user_code is required",
        ),
    ];
    for (form, status, message) in cases {
        let (got, body) = decide(&sim, form).await;
        assert_eq!(got, status, "{form:?}");
        assert_eq!(body["message"], message, "{form:?}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn form_encoded_device_flow_answers_with_200_bodies() {
    let sim = start_device(Profile::FormEncoded).await;
    let resp = authorize_device(&sim, "profile").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    let p: HashMap<String, String> =
        url::form_urlencoded::parse(resp.text().await.unwrap().as_bytes())
            .into_owned()
            .collect();
    assert!(p["device_code"].starts_with("sim_code_dev_"));
    assert_eq!(p["interval"], "1");
    assert_eq!(p["expires_in"], "600");
    let form = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", p["device_code"].as_str()),
    ];
    let pending = token_request(&sim, &form).await;
    assert_eq!(pending.status(), StatusCode::OK);
    assert_eq!(
        pending.text().await.unwrap(),
        "error=authorization_pending&error_description=the+user+has+not+decided+yet"
    );
    sim.shutdown().await;
}
