//! Over-the-wire tests of the credential and value trouble the simulator plays: revoked access
//! tokens, killed grants, withheld refresh tokens, whole-valued decimals, the
//! `narrowing-rotation` profile, the per-grant counters and the `/_sim/…` admin endpoint.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::tests_oauth::{SECRET, client, grant, refresh_form, start_with, token_request};
use super::{GrantEnd, GrantStats, Profile, Sim, SimOptions, Target};

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

async fn refresh(sim: &Sim, rt: &str) -> (StatusCode, Value) {
    json_of(token_request(sim, &refresh_form(rt)).await).await
}

async fn refresh_scoped(sim: &Sim, rt: &str, scope: &str) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("scope", scope),
    ];
    json_of(token_request(sim, &form).await).await
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

async fn admin(sim: &Sim, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = client()
        .post(format!("{}/_sim/{path}", sim.base_url()))
        .form(form)
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

async fn state(sim: &Sim) -> Value {
    let resp = client()
        .get(format!("{}/_sim/state", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap().to_owned()
}

fn error(error: &str, desc: &str) -> (StatusCode, Value) {
    let status = StatusCode::BAD_REQUEST;
    (status, json!({"error": error, "error_description": desc}))
}

fn grant_stats(
    grant: u64,
    account: &'static str,
    token_requests: u64,
    refreshes: u32,
    replays: u64,
    ended: Option<GrantEnd>,
) -> GrantStats {
    GrantStats {
        grant,
        account,
        token_requests,
        refreshes,
        replays,
        ended,
    }
}

#[tokio::test]
async fn revoking_access_tokens_keeps_the_refresh_token_valid() {
    let sim = start_with(Profile::RotatingOneTime, HOUR).await;
    let globex = grant(&sim, "globex", "profile").await;
    let acme = grant(&sim, "acme-corp", "profile").await;
    assert_eq!(sim.revoke_access_tokens(Target::Account("globex")), 1);
    assert_eq!(me_status(&sim, &s(&globex, "access_token")).await, 401);
    assert_eq!(me_status(&sim, &s(&acme, "access_token")).await, 200);
    // The connection's refresh token still works and its new access token too.
    let (status, body) = refresh(&sim, &s(&globex, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(s(&body, "refresh_token").starts_with("sim_rt_"));
    assert_eq!(me_status(&sim, &s(&body, "access_token")).await, 200);
    // By token, through the admin endpoint: exactly that one.
    let at = s(&acme, "access_token");
    let (status, body) = admin(&sim, "revoke-access", &[("token", at.as_str())]).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"revoked": 1})));
    assert_eq!(me_status(&sim, &at).await, 401);
    let (status, body) = admin(&sim, "revoke-access", &[("token", at.as_str())]).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"revoked": 0})));
    // A refresh token given as the target is not an access token: nothing happens.
    let rt = s(&acme, "refresh_token");
    assert_eq!(sim.revoke_access_tokens(Target::Token(&rt)), 0);
    assert_eq!(refresh(&sim, &rt).await.0, StatusCode::OK);
    assert_eq!(
        sim.grants(),
        vec![
            grant_stats(1, "globex", 2, 1, 0, None),
            grant_stats(2, "acme-corp", 2, 1, 0, None),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_killed_grant_answers_invalid_grant_from_now_on() {
    let sim = start_with(Profile::NonRotating, HOUR).await;
    let first = grant(&sim, "umbrella", "profile").await;
    let second = grant(&sim, "umbrella", "profile").await;
    let other = grant(&sim, "initech", "profile").await;
    assert_eq!(sim.kill_grants(Target::Account("umbrella")), vec![1, 2]);
    for g in [&first, &second] {
        assert_eq!(
            refresh(&sim, &s(g, "refresh_token")).await,
            error("invalid_grant", "the grant was revoked")
        );
        assert_eq!(me_status(&sim, &s(g, "access_token")).await, 401);
    }
    assert_eq!(me_status(&sim, &s(&other, "access_token")).await, 200);
    // By token through the admin endpoint; a grant dies once.
    let rt = s(&other, "refresh_token");
    let (status, body) = admin(&sim, "kill-grant", &[("token", rt.as_str())]).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"killed": [3]})));
    let (status, body) = admin(&sim, "kill-grant", &[("token", rt.as_str())]).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"killed": []})));
    assert_eq!(
        refresh(&sim, &rt).await,
        error("invalid_grant", "the grant was revoked")
    );
    let killed = Some(GrantEnd::Killed);
    assert_eq!(
        sim.grants(),
        vec![
            grant_stats(1, "umbrella", 2, 0, 0, killed),
            grant_stats(2, "umbrella", 2, 0, 0, killed),
            grant_stats(3, "initech", 2, 0, 0, killed),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn withheld_refresh_tokens_stop_coming_then_expire() {
    let sim = start_with(Profile::RotatingOneTime, HOUR).await;
    let rt = s(&grant(&sim, "acme-corp", "profile").await, "refresh_token");
    let (status, body) = admin(&sim, "withhold-refresh", &[("ttl", "1500ms")]).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"withheld": true})));
    assert_eq!(state(&sim).await["refresh_withheld"], json!(true));
    // Refresh answers carry no refresh token; the presented one stays valid until the ttl.
    for _ in 0..2 {
        let (status, body) = refresh(&sim, &rt).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("refresh_token").is_none(), "{body}");
        assert_eq!(me_status(&sim, &s(&body, "access_token")).await, 200);
    }
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(
        refresh(&sim, &rt).await,
        error("invalid_grant", "refresh token expired")
    );
    // Ending the withholding issues refresh tokens again.
    sim.withhold_refresh_tokens(None);
    assert_eq!(state(&sim).await["refresh_withheld"], json!(false));
    let rt2 = s(&grant(&sim, "acme-corp", "profile").await, "refresh_token");
    let (status, body) = refresh(&sim, &rt2).await;
    assert_eq!(status, StatusCode::OK);
    assert!(s(&body, "refresh_token").starts_with("sim_rt_"));
    sim.shutdown().await;
}

#[tokio::test]
async fn withholding_can_start_by_option_after_a_delay() {
    let sim = start_opts(SimOptions {
        withhold_refresh_after: Some(Duration::from_millis(1000)),
        withheld_refresh_ttl: Duration::from_millis(1000),
        ..SimOptions::default()
    })
    .await;
    let rt1 = s(&grant(&sim, "globex", "profile").await, "refresh_token");
    let (status, body) = refresh(&sim, &rt1).await;
    assert_eq!(status, StatusCode::OK);
    let rt2 = s(&body, "refresh_token");
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (status, body) = refresh(&sim, &rt2).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("refresh_token").is_none(), "{body}");
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(
        refresh(&sim, &rt2).await,
        error("invalid_grant", "refresh token expired")
    );
    sim.shutdown().await;
}

/// Whether each of `n` report answers carried a whole `spend`, checking its JSON type.
async fn whole_spends(sim: &Sim, n: usize) -> Vec<bool> {
    let at = s(&grant(sim, "initech", "reports:read").await, "access_token");
    let mut out = Vec::new();
    for _ in 0..n {
        let resp = client()
            .get(format!("{}/v1/reports/summary", sim.base_url()))
            .bearer_auth(&at)
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        let spend = &body["metrics"]["spend"];
        let whole = spend.is_u64();
        let frac = spend.as_f64().unwrap().fract();
        assert_eq!(frac, if whole { 0.0 } else { 0.25 }, "{spend}");
        // `ctr` is never touched.
        assert!(body["metrics"]["ctr"].is_f64(), "{body}");
        out.push(whole);
    }
    out
}

#[tokio::test]
async fn whole_decimals_follow_the_seed_call_by_call() {
    let seeded = |seed| SimOptions {
        whole_decimals: Some(seed),
        ..SimOptions::default()
    };
    let a = start_opts(seeded(7)).await;
    let b = start_opts(seeded(7)).await;
    let c = start_opts(seeded(8)).await;
    let off = start_opts(SimOptions::default()).await;
    let (wa, wb, wc) = (
        whole_spends(&a, 24).await,
        whole_spends(&b, 24).await,
        whole_spends(&c, 24).await,
    );
    assert_eq!(wa, wb);
    assert_ne!(wa, wc);
    let whole = wa.iter().filter(|w| **w).count();
    assert!((6..=18).contains(&whole), "{wa:?}");
    assert_eq!(whole_spends(&off, 24).await, vec![false; 24]);
    for sim in [a, b, c, off] {
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn narrowing_rotation_narrows_the_refresh_token_for_good() {
    let sim = start_with(Profile::NarrowingRotation, HOUR).await;
    let first = grant(&sim, "acme-corp", "profile email invoices:read").await;
    let rt1 = s(&first, "refresh_token");
    let (status, narrowed) = refresh_scoped(&sim, &rt1, "profile").await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["scope"], "profile");
    let rt2 = s(&narrowed, "refresh_token");
    // The old token is spent; the new one refuses to widen again, without being spent.
    assert_eq!(
        refresh(&sim, &rt1).await,
        error("invalid_grant", "refresh token already used")
    );
    assert_eq!(
        refresh_scoped(&sim, &rt2, "profile email").await,
        error("invalid_scope", "Unable to add extra scopes")
    );
    let (status, plain) = refresh(&sim, &rt2).await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert_eq!(plain["scope"], "profile");
    let rt3 = s(&plain, "refresh_token");
    let (status, _) = refresh_scoped(&sim, &rt3, "profile invoices:read").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // In the default profile the rotated token keeps the whole grant.
    let other = start_with(Profile::RotatingOneTime, HOUR).await;
    let rt = s(
        &grant(&other, "acme-corp", "profile email").await,
        "refresh_token",
    );
    let (_, narrowed) = refresh_scoped(&other, &rt, "profile").await;
    let (status, wide) = refresh(&other, &s(&narrowed, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(wide["scope"], "profile email");
    other.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn reuse_detection_ends_the_whole_grant_in_the_counters() {
    let sim = start_with(Profile::ReuseRevokesFamily, HOUR).await;
    let first = grant(&sim, "umbrella", "profile").await;
    let rt1 = s(&first, "refresh_token");
    let (_, second) = refresh(&sim, &rt1).await;
    let (rt2, at2) = (s(&second, "refresh_token"), s(&second, "access_token"));
    assert_eq!(
        refresh(&sim, &rt1).await,
        error(
            "invalid_grant",
            "refresh token already used; every token of the grant is revoked"
        )
    );
    assert_eq!(
        refresh(&sim, &rt2).await.0,
        StatusCode::BAD_REQUEST,
        "the newest refresh token must die with its grant"
    );
    assert_eq!(me_status(&sim, &at2).await, 401);
    // The dead newest token no longer belongs to a known grant, so it is not counted there.
    assert_eq!(
        sim.grants(),
        vec![grant_stats(
            1,
            "umbrella",
            3,
            1,
            1,
            Some(GrantEnd::ReuseDetected)
        )]
    );
    let st = state(&sim).await;
    assert_eq!(
        st["grants"],
        json!([{"grant": 1, "account": "umbrella", "token_requests": 3, "refreshes": 1,
                "replays": 1, "ended": "reuse-detected"}])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn switching_versions_by_admin_keeps_every_grant() {
    let sim = start_with(Profile::RotatingOneTime, HOUR).await;
    let g = grant(&sim, "globex", "profile").await;
    let (status, body) = admin(&sim, "version", &[("version", "v2")]).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"version": "v2"})));
    let st = state(&sim).await;
    assert_eq!(st["version"], "v2");
    assert_eq!(st["switches"]["rotation"], json!(true));
    assert_eq!(me_status(&sim, &s(&g, "access_token")).await, 200);
    let (status, body) = refresh(&sim, &s(&g, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let (status, body) = admin(&sim, "version", &[("version", "v1")]).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"version": "v1"})));
    let st = state(&sim).await;
    assert_eq!(st["version"], "v1");
    assert_eq!(st["stats"]["refresh_grants"], 1);
    assert_eq!(st["stats"]["token_requests"], 2);
    assert_eq!(st["grants"][0]["token_requests"], 2);
    assert_eq!(st["grants"][0]["ended"], Value::Null);
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_requests_are_checked() {
    let sim = start().await;
    let refused = |msg: &str| (StatusCode::BAD_REQUEST, json!({"error": msg}));
    assert_eq!(
        admin(&sim, "version", &[("version", "v3")]).await,
        refused("unknown simulator api version `v3` (expected v1 or v2)")
    );
    assert_eq!(
        admin(&sim, "version", &[]).await,
        refused("`version` is required (v1 or v2)")
    );
    assert_eq!(
        admin(&sim, "kill-grant", &[("account", "hooli")]).await,
        refused("unknown account `hooli` (expected one of acme-corp, globex, initech, umbrella)")
    );
    assert_eq!(
        admin(
            &sim,
            "revoke-access",
            &[("account", "globex"), ("token", "x")]
        )
        .await,
        refused("give exactly one of `account` and `token`")
    );
    assert_eq!(
        admin(&sim, "withhold-refresh", &[("ttl", "soon")]).await,
        refused("`ttl` must be a duration such as 30s, 500ms or 14d, or off; got `soon`")
    );
    assert_eq!(
        admin(&sim, "withhold-refresh", &[("ttl", "off")]).await,
        (StatusCode::OK, json!({"withheld": false}))
    );
    // A client that is not on loopback is refused before anything is read.
    let far: std::net::SocketAddr = "192.0.2.7:5000".parse().unwrap();
    let resp = axum::response::IntoResponse::into_response(
        super::admin::admin_form(far, b"version=v2").unwrap_err(),
    );
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let near: std::net::SocketAddr = "[::1]:5000".parse().unwrap();
    assert_eq!(
        super::admin::admin_form(near, b"version=v2").unwrap()["version"],
        "v2"
    );
    sim.shutdown().await;
}

async fn start() -> Sim {
    start_with(Profile::RotatingOneTime, HOUR).await
}

#[tokio::test]
async fn a_state_file_keeps_every_grant_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim-state.json");
    let with_state = |version| SimOptions {
        state_file: Some(path.clone()),
        version,
        ..SimOptions::default()
    };
    let sim = start_opts(with_state(super::ApiVersion::V1)).await;
    let first = grant(&sim, "globex", "profile").await;
    let rt1 = s(&first, "refresh_token");
    let (_, second) = refresh(&sim, &rt1).await;
    let (rt2, at2) = (s(&second, "refresh_token"), s(&second, "access_token"));
    let killed = grant(&sim, "initech", "profile").await;
    assert_eq!(sim.kill_grants(Target::Account("initech")), vec![2]);
    sim.shutdown().await;
    // The file holds hashes, never a token.
    let text = std::fs::read_to_string(&path).unwrap();
    for prefix in ["sim_at_", "sim_rt_", "sim_cs_", "sim_code_"] {
        assert!(
            !text.contains(prefix),
            "{prefix} in the state file:\n{text}"
        );
    }

    let sim = start_opts(with_state(super::ApiVersion::V2)).await;
    assert_eq!(me_status(&sim, &at2).await, 200);
    let (status, body) = refresh(&sim, &rt2).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "v2 stops rotation: {body}"
    );
    assert_eq!(
        refresh(&sim, &rt1).await,
        error("invalid_grant", "refresh token already used")
    );
    assert_eq!(
        refresh(&sim, &s(&killed, "refresh_token")).await,
        error("invalid_grant", "the grant was revoked")
    );
    // New grants continue the numbering.
    grant(&sim, "umbrella", "profile").await;
    assert_eq!(
        sim.grants(),
        vec![
            grant_stats(1, "globex", 4, 2, 1, None),
            grant_stats(2, "initech", 2, 0, 0, Some(GrantEnd::Killed)),
            grant_stats(3, "umbrella", 1, 0, 0, None),
        ]
    );
    sim.shutdown().await;

    std::fs::write(&path, "{\"format\": 9}").unwrap();
    let err = Sim::start(
        "127.0.0.1:0".parse().unwrap(),
        with_state(super::ApiVersion::V1),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        err.to_string().starts_with(&format!(
            "state file {}: not a simulator state file: missing field",
            path.display()
        )),
        "{err}"
    );
}
