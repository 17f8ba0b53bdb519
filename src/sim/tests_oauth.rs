//! Over-the-wire tests of the simulated OAuth side, plus helpers the resource API tests share.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::tokens::s256_challenge;
use super::{Profile, Sim, SimOptions, SimStats};

pub(super) const SECRET: &str = "sim_cs_testsecret";
pub(super) const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub(super) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub(super) async fn start_with(profile: Profile, ttl: Duration) -> Sim {
    let opts = SimOptions {
        profile,
        access_token_ttl: ttl,
        client_secret: Some(SECRET.into()),
        ..SimOptions::default()
    };
    Sim::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap()
}

pub(super) async fn start() -> Sim {
    start_with(Profile::RotatingOneTime, Duration::from_secs(3600)).await
}

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn authorize_query<'a>(scope: &'a str, account: &'a str) -> Vec<(&'a str, String)> {
    authorize_query_to(REDIRECT, scope, account)
}

fn authorize_query_to<'a>(
    redirect: &str,
    scope: &'a str,
    account: &'a str,
) -> Vec<(&'a str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", "driftwatch-sim".into()),
        ("redirect_uri", redirect.into()),
        ("scope", scope.into()),
        ("state", "st-42".into()),
        ("code_challenge", s256_challenge(VERIFIER)),
        ("code_challenge_method", "S256".into()),
        ("login_hint", account.into()),
    ]
}

/// The query pairs of a 302's Location, after checking it points at `REDIRECT`.
fn location_params(resp: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = resp.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(loc).unwrap();
    assert_eq!(&loc[..REDIRECT.len()], REDIRECT, "{loc}");
    url.query_pairs().into_owned().collect()
}

async fn consent(sim: &Sim, query: &[(&str, String)], decision: &str) -> reqwest::Response {
    client()
        .get(format!("{}/oauth/authorize", sim.base_url()))
        .query(query)
        .header("X-Sim-Consent", decision)
        .send()
        .await
        .unwrap()
}

pub(super) async fn token_request(sim: &Sim, form: &[(&str, &str)]) -> reqwest::Response {
    client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth("driftwatch-sim", Some(SECRET))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// An approved code for `account` with `scope`, via the non-browser consent path.
pub(super) async fn code_for(sim: &Sim, account: &str, scope: &str) -> String {
    let resp = consent(sim, &authorize_query(scope, account), "approve").await;
    let p = location_params(&resp);
    assert_eq!(p["state"], "st-42");
    p["code"].clone()
}

/// The token response body for a fresh grant of `scope` on `account`.
pub(super) async fn grant(sim: &Sim, account: &str, scope: &str) -> Value {
    let code = code_for(sim, account, scope).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let resp = token_request(sim, &form).await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

pub(super) fn refresh_form(rt: &str) -> [(&str, &str); 2] {
    [("grant_type", "refresh_token"), ("refresh_token", rt)]
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap()
}

#[tokio::test]
async fn authorization_code_with_pkce_via_non_browser_consent() {
    let sim = start().await;
    let code = code_for(&sim, "acme-corp", "profile email").await;
    assert!(code.starts_with("sim_code_") && code.len() == "sim_code_".len() + 32);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let resp = token_request(&sim, &form).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["pragma"], "no-cache");
    let body: Value = resp.json().await.unwrap();
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
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
    assert!(str_of(&body, "access_token").starts_with("sim_at_"));
    assert!(str_of(&body, "refresh_token").starts_with("sim_rt_"));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], json!(3600));
    assert_eq!(body["scope"], "profile email");

    // The code is one-time.
    let again = token_request(&sim, &form).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let err: Value = again.json().await.unwrap();
    assert_eq!(err["error"], "invalid_grant");
    assert_eq!(sim.stats().token_requests, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn deny_and_missing_or_plain_pkce_redirect_with_errors() {
    let sim = start().await;
    let p = location_params(&consent(&sim, &authorize_query("profile", "globex"), "deny").await);
    assert_eq!(p.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(p["state"], "st-42");
    assert!(!p.contains_key("code"));

    let mut plain = authorize_query("profile", "globex");
    plain[6].1 = "plain".into();
    let p = location_params(&consent(&sim, &plain, "approve").await);
    assert_eq!(p["error"], "invalid_request");
    assert_eq!(p["state"], "st-42");
    let missing: Vec<_> = authorize_query("profile", "globex")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let p = location_params(&consent(&sim, &missing, "approve").await);
    assert_eq!(p["error"], "invalid_request");

    let p = location_params(&consent(&sim, &authorize_query("profile", "hooli"), "approve").await);
    assert_eq!(p["error"], "invalid_request");
    let p = location_params(&consent(&sim, &authorize_query("payroll", "globex"), "approve").await);
    assert_eq!(p["error"], "invalid_scope");
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_pkce_verifier_and_wrong_redirect_are_invalid_grant() {
    let sim = start().await;
    for (verifier, redirect) in [
        ("wrong-verifier-wrong-verifier-wrong-verifier", REDIRECT),
        (VERIFIER, "http://127.0.0.1:9/elsewhere"),
    ] {
        let code = code_for(&sim, "initech", "profile").await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ];
        let resp = token_request(&sim, &form).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn refresh_rotates_and_rejects_reuse() {
    let sim = start().await;
    let first = grant(&sim, "acme-corp", "profile invoices:read offline_access").await;
    let rt1 = str_of(&first, "refresh_token").to_owned();
    let resp = token_request(&sim, &refresh_form(&rt1)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let second: Value = resp.json().await.unwrap();
    let rt2 = str_of(&second, "refresh_token");
    assert!(rt2.starts_with("sim_rt_"));
    assert_ne!(rt2, rt1);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(second["scope"], "profile invoices:read offline_access");

    let reuse = token_request(&sim, &refresh_form(&rt1)).await;
    assert_eq!(reuse.status(), StatusCode::BAD_REQUEST);
    let body: Value = reuse.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "refresh token already used"})
    );
    assert_eq!(
        sim.stats(),
        SimStats {
            token_requests: 3,
            refresh_grants: 2,
            refresh_reuse_rejected: 1,
            refresh_replays: 1,
            api_requests: 0,
            ..SimStats::default()
        }
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn refresh_can_narrow_scope_but_not_widen_it() {
    let sim = start().await;
    let first = grant(&sim, "acme-corp", "profile email").await;
    let rt1 = str_of(&first, "refresh_token");
    let mut form = refresh_form(rt1).to_vec();
    form.push(("scope", "email"));
    let narrow: Value = token_request(&sim, &form).await.json().await.unwrap();
    assert_eq!(narrow["scope"], "email");
    let rt2 = str_of(&narrow, "refresh_token");
    let full: Value = token_request(&sim, &refresh_form(rt2))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(full["scope"], "profile email");
    let mut wide = refresh_form(str_of(&full, "refresh_token")).to_vec();
    wide.push(("scope", "profile admin:read"));
    let resp = token_request(&sim, &wide).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_scope");
    sim.shutdown().await;
}

#[tokio::test]
async fn string_expires_in_profile() {
    let sim = start_with(Profile::StringExpiresIn, Duration::from_secs(3600)).await;
    let first = grant(&sim, "umbrella", "profile").await;
    assert_eq!(first["expires_in"], json!("3600"));
    let rt1 = str_of(&first, "refresh_token").to_owned();
    let refreshed: Value = token_request(&sim, &refresh_form(&rt1))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refreshed["expires_in"], json!("3600"));
    // This profile rotates without invalidating: the old refresh token still works.
    let reuse = token_request(&sim, &refresh_form(&rt1)).await;
    assert_eq!(reuse.status(), StatusCode::OK);
    assert_eq!(sim.stats().refresh_reuse_rejected, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn client_authentication_basic_post_and_failures() {
    let sim = start().await;
    let url = format!("{}/oauth/token", sim.base_url());
    let post = client()
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "reports:read"),
            ("client_id", "driftwatch-sim"),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::OK);
    let body: Value = post.json().await.unwrap();
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "reports:read");
    assert!(str_of(&body, "access_token").starts_with("sim_at_"));

    for builder in [
        client()
            .post(&url)
            .basic_auth("driftwatch-sim", Some("sim_cs_wrong")),
        client().post(&url),
        client().post(&url).basic_auth("someone-else", Some(SECRET)),
    ] {
        let resp = builder
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(resp.headers()["www-authenticate"], "Basic realm=\"sim\"");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }

    let resp = token_request(&sim, &[("grant_type", "password")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    sim.shutdown().await;
}

#[tokio::test]
async fn revoke_is_200_for_unknown_tokens_and_kills_known_ones() {
    let sim = start().await;
    let tokens = grant(&sim, "globex", "profile").await;
    let at = str_of(&tokens, "access_token");
    let revoke = |token: String| {
        client()
            .post(format!("{}/oauth/revoke", sim.base_url()))
            .basic_auth("driftwatch-sim", Some(SECRET))
            .form(&[("token", token)])
            .send()
    };
    assert_eq!(revoke("sim_at_unknown".into()).await.unwrap().status(), 200);
    assert_eq!(revoke(at.into()).await.unwrap().status(), 200);
    let me = client()
        .get(format!("{}/v1/me", sim.base_url()))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    sim.shutdown().await;
}

#[tokio::test]
async fn discovery_documents_name_this_server() {
    let sim = start().await;
    let base = sim.base_url();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let doc: Value = client()
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], json!(base));
        assert_eq!(
            doc["authorization_endpoint"],
            json!(format!("{base}/oauth/authorize"))
        );
        assert_eq!(
            doc["revocation_endpoint"],
            json!(format!("{base}/oauth/revoke"))
        );
        assert_eq!(
            doc["grant_types_supported"],
            json!([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        assert_eq!(
            doc["device_authorization_endpoint"],
            json!(format!("{base}/oauth/device_authorization"))
        );
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post"])
        );
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        let is_openid = path.contains("openid");
        assert_eq!(doc.get("subject_types_supported").is_some(), is_openid);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn browser_consent_page_posts_a_decision() {
    let sim = start().await;
    let query = authorize_query("profile", "initech");
    let page = client()
        .get(format!("{}/oauth/authorize", sim.base_url()))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\" action=\"/oauth/authorize/decision\">"));
    let mut form: Vec<(&str, String)> = query
        .into_iter()
        .filter(|(k, _)| *k != "login_hint")
        .collect();
    form.push(("account", "initech".into()));
    form.push(("decision", "approve".into()));
    let resp = client()
        .post(format!("{}/oauth/authorize/decision", sim.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let p = location_params(&resp);
    assert!(p["code"].starts_with("sim_code_"));
    assert_eq!(p["state"], "st-42");
    sim.shutdown().await;
}

#[tokio::test]
async fn loopback_redirect_uris_take_any_port_and_must_match_exactly() {
    let sim = start().await;
    for redirect in [
        "http://127.0.0.1:53127/oauth/callback?app=cli",
        "http://localhost:1/",
        "http://[::1]:65535/cb",
        "https://app.example.com/cb",
    ] {
        let query = authorize_query_to(redirect, "profile", "globex");
        let page = client()
            .get(format!("{}/oauth/authorize", sim.base_url()))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{redirect}");
        let resp = consent(&sim, &query, "approve").await;
        assert_eq!(resp.status(), StatusCode::FOUND, "{redirect}");
        let loc = resp.headers()["location"].to_str().unwrap();
        assert!(loc.starts_with(redirect), "{loc}");
        let p: HashMap<String, String> = url::Url::parse(loc)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", p["code"].as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
        ];
        let ok = token_request(&sim, &form).await;
        assert_eq!(ok.status(), StatusCode::OK, "{redirect}");
    }
    // Another port at the exchange is another redirect URI.
    let query = authorize_query_to("http://127.0.0.1:40001/cb", "profile", "globex");
    let resp = consent(&sim, &query, "approve").await;
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    let code = url::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:40002/cb"),
        ("code_verifier", VERIFIER),
    ];
    let body: Value = token_request(&sim, &form).await.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_grant",
               "error_description": "redirect_uri does not match the authorization request"})
    );
    // Plain http elsewhere is refused without a redirect, on both consent paths.
    for redirect in [
        "http://example.com:8080/cb",
        "http://127.0.0.1.nip.io/cb",
        "http://10.0.0.1/cb",
    ] {
        let query = authorize_query_to(redirect, "profile", "globex");
        let resp = consent(&sim, &query, "approve").await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{redirect}");
        assert!(resp.headers().get("location").is_none());
        assert_eq!(
            resp.text().await.unwrap(),
            "authorization error: missing or invalid redirect_uri\n"
        );
        let page = client()
            .get(format!("{}/oauth/authorize", sim.base_url()))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);
        let mut form: Vec<(&str, String)> = query;
        form.push(("account", "globex".into()));
        form.push(("decision", "approve".into()));
        let resp = client()
            .post(format!("{}/oauth/authorize/decision", sim.base_url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{redirect}");
    }
    sim.shutdown().await;
}

/// Issue 20 item 3: the app's registered https callbacks; an unregistered one gets Google's
/// `400` `redirect_uri_mismatch` page on both consent paths, never a redirect; "callback
/// removed" at run time, in process and over the admin endpoint.
#[tokio::test]
async fn unregistered_and_removed_callbacks_get_a_redirect_uri_mismatch_page() {
    let sim = start().await;
    assert_eq!(
        sim.callbacks(),
        vec![
            "https://app.example.com/callback".to_string(),
            "https://app.example.com/cb".to_string()
        ]
    );
    let mismatch = |resp: reqwest::Response| async move {
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(resp.headers().get("location").is_none());
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        resp.text().await.unwrap()
    };
    for redirect in [
        "https://other.example.com/cb",
        "https://app.example.com/cb/",
    ] {
        let query = authorize_query_to(redirect, "profile", "globex");
        let page = mismatch(consent(&sim, &query, "approve").await).await;
        assert!(page.contains("Error 400: redirect_uri_mismatch"), "{page}");
        assert!(page.contains(&format!("redirect_uri={redirect}")), "{page}");
        let page = client()
            .get(format!("{}/oauth/authorize", sim.base_url()))
            .query(&query)
            .send()
            .await
            .unwrap();
        mismatch(page).await;
    }
    // Registered: the consent page; removed: the mismatch page.
    let query = authorize_query_to("https://app.example.com/cb", "profile", "globex");
    let get = || async {
        client()
            .get(format!("{}/oauth/authorize", sim.base_url()))
            .query(&query)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(get().await.status(), StatusCode::OK);
    assert!(sim.remove_callback("https://app.example.com/cb"));
    assert!(!sim.remove_callback("https://app.example.com/cb"));
    mismatch(get().await).await;
    assert!(sim.register_callback("https://app.example.com/cb"));
    assert_eq!(get().await.status(), StatusCode::OK);
    // Over the admin endpoint.
    let admin = |form: Vec<(&'static str, &'static str)>| {
        let url = format!("{}/_sim/callback", sim.base_url());
        async move { client().post(url).form(&form).send().await.unwrap() }
    };
    let resp = admin(vec![("remove", "https://app.example.com/cb")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"callbacks": ["https://app.example.com/callback"]})
    );
    mismatch(get().await).await;
    let resp = admin(vec![("remove", "https://app.example.com/cb")]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = admin(vec![("add", "http://example.com/cb")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = admin(vec![]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = admin(vec![("add", "https://app.example.com/cb")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(get().await.status(), StatusCode::OK);
    // Loopback http stays registered on any port.
    let query = authorize_query_to("http://127.0.0.1:40123/callback", "profile", "globex");
    let page = client()
        .get(format!("{}/oauth/authorize", sim.base_url()))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    sim.shutdown().await;
}
