//! Over-the-wire tests of what distinguishes each token-lifecycle profile, and of the options
//! that shape the token endpoint (latency, idle expiry, user password).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::tests_oauth::{
    REDIRECT, SECRET, VERIFIER, client, code_for, grant, refresh_form, start_with, token_request,
};
use super::{Profile, Sim, SimOptions, SimStats};

const HOUR: Duration = Duration::from_secs(3600);

async fn start_opts(opts: SimOptions) -> Sim {
    let opts = SimOptions {
        client_secret: Some(SECRET.into()),
        ..opts
    };
    Sim::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap()
}

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn error_body(error: &str, desc: &str) -> Value {
    json!({"error": error, "error_description": desc})
}

#[tokio::test]
async fn client_credentials_only_has_no_users() {
    let sim = start_with(Profile::ClientCredentialsOnly, HOUR).await;
    let base = sim.base_url();
    let doc: Value = client()
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(doc["response_types_supported"], json!([]));
    for absent in [
        "authorization_endpoint",
        "device_authorization_endpoint",
        "code_challenge_methods_supported",
    ] {
        assert!(doc.get(absent).is_none(), "{absent}: {doc}");
    }

    let authorize = client()
        .get(format!("{base}/oauth/authorize"))
        .query(&[("response_type", "code"), ("redirect_uri", REDIRECT)])
        .header("X-Sim-Consent", "approve")
        .send()
        .await
        .unwrap();
    assert!(authorize.headers().get("location").is_none());
    let (status, body) = json_of(authorize).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        error_body(
            "unsupported_response_type",
            "this provider has no authorization endpoint"
        )
    );

    for grant_type in [
        "refresh_token",
        "authorization_code",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let form = [
            ("grant_type", grant_type),
            ("refresh_token", "sim_rt_x"),
            ("code", "sim_code_x"),
        ];
        let (status, body) = json_of(token_request(&sim, &form).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{grant_type}");
        assert_eq!(
            body,
            error_body("unsupported_grant_type", "grant_type is not supported")
        );
    }

    // Narrowed, and still no `scope` member: a conformance mess (RFC 6749 §3.3 requires it).
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "reports:read"),
    ];
    let (status, body) = json_of(token_request(&sim, &form).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sorted_keys(&body),
        ["access_token", "expires_in", "token_type"]
    );
    assert!(
        body["access_token"]
            .as_str()
            .unwrap()
            .starts_with("sim_at_")
    );

    let device = client()
        .post(format!("{base}/oauth/device_authorization"))
        .basic_auth("driftwatch-sim", Some(SECRET))
        .form(&[("scope", "profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(device.status(), StatusCode::NOT_FOUND);
    sim.shutdown().await;
}

fn password_form<'a>(user: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "password"),
        ("username", user),
        ("password", password),
    ]
}

#[tokio::test]
async fn password_grant_issues_rotating_tokens_for_the_right_password() {
    let sim = start_opts(SimOptions {
        profile: Profile::Password,
        user_password: Some("sim_cs_pw_correct-horse".into()),
        ..SimOptions::default()
    })
    .await;
    assert_eq!(sim.user_password(), "sim_cs_pw_correct-horse");
    let mut form = password_form("initech", sim.user_password());
    form.push(("scope", "profile email"));
    let (status, body) = json_of(token_request(&sim, &form).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scope"], "profile email");
    let at = body["access_token"].as_str().unwrap();
    assert!(at.starts_with("sim_at_"));
    let me: Value = client()
        .get(format!("{}/v1/me", sim.base_url()))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["account"], "initech");

    // Without `scope`, every resource scope; the refresh token is one-time.
    let (_, all) =
        json_of(token_request(&sim, &password_form("globex", sim.user_password())).await).await;
    assert_eq!(
        all["scope"],
        "profile email invoices:read reports:read admin:read audit:read channels:read \
         activities:read activities:read_all"
    );
    let rt = all["refresh_token"].as_str().unwrap().to_owned();
    assert!(rt.starts_with("sim_rt_"));
    assert_eq!(token_request(&sim, &refresh_form(&rt)).await.status(), 200);
    let (status, body) = json_of(token_request(&sim, &refresh_form(&rt)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        error_body("invalid_grant", "refresh token already used")
    );

    for (user, password) in [
        ("initech", "sim_cs_pw_wrong"),
        ("hooli", "sim_cs_pw_correct-horse"),
    ] {
        let (status, body) =
            json_of(token_request(&sim, &password_form(user, password)).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            error_body("invalid_grant", "invalid username or password")
        );
    }
    let (status, body) = json_of(token_request(&sim, &[("grant_type", "password")]).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        error_body("invalid_request", "username and password are required")
    );
    assert_eq!(sim.stats().password_grants, 5);
    sim.shutdown().await;
}

#[tokio::test]
async fn password_grant_is_unsupported_in_every_other_profile() {
    for profile in Profile::ALL.into_iter().filter(|p| *p != Profile::Password) {
        let sim = start_with(profile, HOUR).await;
        let form = password_form("initech", sim.user_password());
        let resp = token_request(&sim, &form).await;
        if profile == Profile::FormEncoded {
            assert_eq!(resp.status(), StatusCode::OK);
            assert_eq!(
                resp.text().await.unwrap(),
                "error=unsupported_grant_type&error_description=grant_type+is+not+supported"
            );
        } else {
            let (status, body) = json_of(resp).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{profile}");
            assert_eq!(
                body,
                error_body("unsupported_grant_type", "grant_type is not supported")
            );
        }
        assert_eq!(sim.stats().password_grants, 1);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn short_idle_refresh_tokens_announce_and_enforce_their_expiry() {
    let sim = start_opts(SimOptions {
        profile: Profile::RotatingShortIdle,
        refresh_idle_ttl: Some(Duration::from_millis(300)),
        ..SimOptions::default()
    })
    .await;
    let first = grant(&sim, "acme-corp", "profile").await;
    // 300 ms rounds up: a live token is never announced as already dead.
    assert_eq!(first["refresh_token_expires_in"], json!(1));
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (status, second) = json_of(token_request(&sim, &refresh_form(rt1)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["refresh_token_expires_in"], json!(1));
    assert_eq!(
        sorted_keys(&second),
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "refresh_token_expires_in",
            "scope",
            "token_type"
        ]
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    let rt2 = second["refresh_token"].as_str().unwrap();
    let (status, body) = json_of(token_request(&sim, &refresh_form(rt2)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, error_body("invalid_grant", "refresh token expired"));
    // One-time rotation still applies: the first token reports reuse, not expiry.
    let (_, body) = json_of(token_request(&sim, &refresh_form(rt1)).await).await;
    assert_eq!(
        body,
        error_body("invalid_grant", "refresh token already used")
    );
    // Client-credentials tokens carry no refresh token, so no announcement either.
    let (_, cc) = json_of(token_request(&sim, &[("grant_type", "client_credentials")]).await).await;
    assert!(cc.get("refresh_token_expires_in").is_none(), "{cc}");
    sim.shutdown().await;

    let sim = start_with(Profile::RotatingShortIdle, HOUR).await;
    let first = grant(&sim, "globex", "profile").await;
    assert_eq!(first["refresh_token_expires_in"], json!(10));
    sim.shutdown().await;
}

#[tokio::test]
async fn idle_expiry_is_silent_in_other_profiles() {
    let sim = start_opts(SimOptions {
        refresh_idle_ttl: Some(Duration::from_millis(300)),
        ..SimOptions::default()
    })
    .await;
    let first = grant(&sim, "umbrella", "profile").await;
    assert!(first.get("refresh_token_expires_in").is_none(), "{first}");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let (status, body) = json_of(token_request(&sim, &refresh_form(rt)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, error_body("invalid_grant", "refresh token expired"));
    sim.shutdown().await;
}

#[tokio::test]
async fn token_latency_delays_an_answer_whose_rotation_already_happened() {
    let sim = start_opts(SimOptions {
        token_latency: Duration::from_millis(600),
        ..SimOptions::default()
    })
    .await;
    let t0 = Instant::now();
    let first = grant(&sim, "acme-corp", "profile").await;
    assert!(
        t0.elapsed() >= Duration::from_millis(600),
        "{:?}",
        t0.elapsed()
    );
    let rt = first["refresh_token"].as_str().unwrap().to_owned();
    let in_flight = tokio::spawn({
        let form: Vec<(String, String)> = refresh_form(&rt)
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let url = format!("{}/oauth/token", sim.base_url());
        async move {
            client()
                .post(url)
                .basic_auth("driftwatch-sim", Some(SECRET))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    // While the first answer is still on its way, its refresh token is already spent.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, body) = json_of(token_request(&sim, &refresh_form(&rt)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        error_body("invalid_grant", "refresh token already used")
    );
    assert_eq!(in_flight.await.unwrap(), StatusCode::OK);
    sim.shutdown().await;
}

fn form_pairs(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn form_encoded_answers_like_github() {
    let sim = start_with(Profile::FormEncoded, HOUR).await;
    let code = code_for(&sim, "globex", "profile email").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let resp = token_request(&sim, &form).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert!(resp.headers().get("cache-control").is_none());
    assert!(resp.headers().get("pragma").is_none());
    let text = resp.text().await.unwrap();
    assert!(text.starts_with("access_token=sim_at_"), "{text}");
    assert!(
        text.contains(
            "&token_type=bearer&scope=profile%2Cemail&expires_in=3600&refresh_token=sim_rt_"
        ),
        "{text}"
    );
    let p = form_pairs(&text);
    let mut keys: Vec<&String> = p.keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
    assert_eq!(p["scope"], "profile,email");

    // Rotating one-time, and the reuse error comes with HTTP 200.
    let rt = p["refresh_token"].clone();
    let next = token_request(&sim, &refresh_form(&rt)).await;
    assert!(form_pairs(&next.text().await.unwrap())["refresh_token"].starts_with("sim_rt_"));
    let reuse = token_request(&sim, &refresh_form(&rt)).await;
    assert_eq!(reuse.status(), StatusCode::OK);
    assert_eq!(
        reuse.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    let p = form_pairs(&reuse.text().await.unwrap());
    assert_eq!(p["error"], "invalid_grant");
    assert_eq!(p["error_description"], "refresh token already used");
    assert_eq!(sim.stats().refresh_reuse_rejected, 1);

    // Even a failed client authentication is a 200, without a challenge.
    let bad_client = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth("driftwatch-sim", Some("sim_cs_wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_client.status(), StatusCode::OK);
    assert!(bad_client.headers().get("www-authenticate").is_none());
    assert_eq!(
        bad_client.text().await.unwrap(),
        "error=invalid_client&error_description=client+authentication+failed"
    );
    assert_eq!(
        sim.stats(),
        SimStats {
            token_requests: 4,
            refresh_grants: 2,
            refresh_reuse_rejected: 1,
            refresh_replays: 1,
            ..SimStats::default()
        }
    );
    sim.shutdown().await;
}
