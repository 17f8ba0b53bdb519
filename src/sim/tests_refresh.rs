//! Over-the-wire tests of the refresh-token rotation profiles, the replay counter and the v2
//! switch that stops rotation.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use super::tests_oauth::{
    REDIRECT, SECRET, VERIFIER, client, code_for, grant, refresh_form, start_with, token_request,
};
use super::{ApiVersion, Profile, Sim, SimOptions, SimStats};

const HOUR: Duration = Duration::from_secs(3600);

/// A refresh answer as `(status, body)`; form-encoded bodies become a JSON object of strings.
async fn refresh(sim: &Sim, rt: &str) -> (StatusCode, Value) {
    answer(token_request(sim, &refresh_form(rt)).await).await
}

/// A code grant in any profile, JSON or form-encoded.
async fn grant_any(sim: &Sim, account: &str, scope: &str) -> Value {
    let code = code_for(sim, account, scope).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = answer(token_request(sim, &form).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn answer(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| {
        let pairs: Map<String, Value> = url::form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(pairs)
    });
    (status, body)
}

fn str_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap().to_owned()
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn invalid_grant(desc: &str) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_grant", "error_description": desc}),
    )
}

async fn me_status(sim: &Sim, at: &str) -> StatusCode {
    client()
        .get(format!("{}/v1/me", sim.base_url()))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .status()
}

fn stats(refresh_grants: u64, reuse_rejected: u64, replays: u64) -> SimStats {
    SimStats {
        token_requests: refresh_grants + 1,
        refresh_grants,
        refresh_reuse_rejected: reuse_rejected,
        refresh_replays: replays,
        ..SimStats::default()
    }
}

#[tokio::test]
async fn non_rotating_never_returns_a_refresh_token_and_keeps_the_old_one() {
    let sim = start_with(Profile::NonRotating, HOUR).await;
    let rt = str_of(&grant(&sim, "acme-corp", "profile").await, "refresh_token");
    for _ in 0..3 {
        let (status, body) = refresh(&sim, &rt).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            sorted_keys(&body),
            ["access_token", "expires_in", "scope", "token_type"]
        );
        assert_eq!(body["expires_in"], json!(3600));
        assert_eq!(me_status(&sim, &str_of(&body, "access_token")).await, 200);
    }
    assert_eq!(sim.stats().api_requests, 3);
    assert_eq!(
        SimStats {
            api_requests: 0,
            ..sim.stats()
        },
        stats(3, 0, 2)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn rotating_old_valid_accepts_replays_with_a_numeric_expires_in() {
    let sim = start_with(Profile::RotatingOldValid, HOUR).await;
    let rt1 = str_of(&grant(&sim, "globex", "profile").await, "refresh_token");
    let (status, second) = refresh(&sim, &rt1).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["expires_in"], json!(3600));
    let rt2 = str_of(&second, "refresh_token");
    assert_ne!(rt2, rt1);
    let (status, replay) = refresh(&sim, &rt1).await;
    assert_eq!(status, StatusCode::OK);
    let rt3 = str_of(&replay, "refresh_token");
    assert!(rt3 != rt1 && rt3 != rt2);
    assert_eq!(refresh(&sim, &rt2).await.0, StatusCode::OK);
    assert_eq!(sim.stats(), stats(3, 0, 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn rotating_grace_replays_get_the_newest_token_until_the_grace_ends() {
    let opts = SimOptions {
        profile: Profile::RotatingGrace,
        client_secret: Some(SECRET.into()),
        refresh_grace: Duration::from_millis(300),
        ..SimOptions::default()
    };
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    let rt1 = str_of(&grant(&sim, "initech", "profile").await, "refresh_token");
    let (status, second) = refresh(&sim, &rt1).await;
    assert_eq!(status, StatusCode::OK);
    let rt2 = str_of(&second, "refresh_token");
    assert_ne!(rt2, rt1);
    // Inside the grace: a new access token, and the same newest refresh token.
    let (status, replay) = refresh(&sim, &rt1).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(str_of(&replay, "refresh_token"), rt2);
    assert_ne!(
        str_of(&replay, "access_token"),
        str_of(&second, "access_token")
    );
    assert_eq!(me_status(&sim, &str_of(&replay, "access_token")).await, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        refresh(&sim, &rt1).await,
        invalid_grant("refresh token already used")
    );
    let (status, third) = refresh(&sim, &rt2).await;
    assert_eq!(status, StatusCode::OK);
    assert!(![rt1, rt2].contains(&str_of(&third, "refresh_token")));
    assert_eq!(
        SimStats {
            api_requests: 0,
            ..sim.stats()
        },
        stats(4, 1, 2)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn reuse_revokes_the_whole_family() {
    let sim = start_with(Profile::ReuseRevokesFamily, HOUR).await;
    let first = grant(&sim, "umbrella", "profile").await;
    let bystander = grant(&sim, "umbrella", "profile").await;
    let rt1 = str_of(&first, "refresh_token");
    let (status, second) = refresh(&sim, &rt1).await;
    assert_eq!(status, StatusCode::OK);
    let (rt2, at2) = (
        str_of(&second, "refresh_token"),
        str_of(&second, "access_token"),
    );
    assert_eq!(me_status(&sim, &at2).await, 200);
    assert_eq!(
        refresh(&sim, &rt1).await,
        invalid_grant("refresh token already used; every token of the grant is revoked")
    );
    // The newest refresh token and every access token of the grant are dead.
    assert_eq!(
        refresh(&sim, &rt2).await,
        invalid_grant("refresh token is invalid")
    );
    let dead = client()
        .get(format!("{}/v1/me", sim.base_url()))
        .bearer_auth(&at2)
        .send()
        .await
        .unwrap();
    assert_eq!(dead.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        dead.json::<Value>().await.unwrap(),
        json!({"error": "invalid_token"})
    );
    assert_eq!(me_status(&sim, &str_of(&first, "access_token")).await, 401);
    // Another grant of the same account is untouched.
    assert_eq!(
        me_status(&sim, &str_of(&bystander, "access_token")).await,
        200
    );
    let (status, _) = refresh(&sim, &str_of(&bystander, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    let s = sim.stats();
    assert_eq!(
        (
            s.refresh_grants,
            s.refresh_reuse_rejected,
            s.refresh_replays
        ),
        (4, 1, 1)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn lazy_rotation_changes_the_value_on_every_third_refresh_only() {
    let sim = start_with(Profile::LazyRotation, HOUR).await;
    let rt0 = str_of(&grant(&sim, "acme-corp", "profile").await, "refresh_token");
    let mut current = rt0.clone();
    let mut seen = Vec::new();
    for _ in 0..6 {
        let (status, body) = refresh(&sim, &current).await;
        assert_eq!(status, StatusCode::OK);
        current = str_of(&body, "refresh_token");
        seen.push(current.clone());
    }
    assert_eq!(seen[0], rt0);
    assert_eq!(seen[1], rt0);
    assert_ne!(seen[2], rt0);
    assert_eq!(seen[3], seen[2]);
    assert_eq!(seen[4], seen[2]);
    assert!(seen[5] != seen[2] && seen[5] != rt0);
    // Every value the grant had stays valid.
    assert_eq!(refresh(&sim, &rt0).await.0, StatusCode::OK);
    // rt0 presented 4 times, the second value 3 times.
    assert_eq!(sim.stats(), stats(7, 0, 5));
    sim.shutdown().await;
}

#[tokio::test]
async fn v2_stops_issuing_refresh_tokens_in_every_profile() {
    for profile in Profile::ALL.into_iter().filter(|p| p.has_users()) {
        let sim = start_with(profile, HOUR).await;
        let rt = str_of(&grant_any(&sim, "globex", "profile").await, "refresh_token");
        sim.set_version(ApiVersion::V2);
        for _ in 0..2 {
            let (status, body) = refresh(&sim, &rt).await;
            assert_eq!(status, StatusCode::OK, "{profile}: {body}");
            assert!(body.get("refresh_token").is_none(), "{profile}: {body}");
            assert!(str_of(&body, "access_token").starts_with("sim_at_"));
            let announced = body.get("refresh_token_expires_in");
            if profile == Profile::RotatingShortIdle {
                assert_eq!(announced, Some(&json!(10)), "{profile}");
            } else {
                assert_eq!(announced, None, "{profile}");
            }
        }
        assert_eq!(sim.stats(), stats(2, 0, 1), "{profile}");
        // Back in v1, the never-rotated token still works and rotation resumes.
        sim.set_version(ApiVersion::V1);
        let (status, body) = refresh(&sim, &rt).await;
        assert_eq!(status, StatusCode::OK, "{profile}");
        assert_eq!(
            body.get("refresh_token").is_some(),
            profile != Profile::NonRotating,
            "{profile}: {body}"
        );
        sim.shutdown().await;
    }
}
