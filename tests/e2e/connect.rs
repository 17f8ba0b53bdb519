//! `driftwatch connect` end to end: the test plays the browser.

use crate::support::{World, contains_secret};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The demo world with a redirect URI on a free port (`:0`), so parallel
/// tests never fight over one.
async fn world() -> World {
    let w = World::start(Default::default()).await;
    let text = std::fs::read_to_string(&w.suite).unwrap();
    std::fs::write(&w.suite, text.replace("127.0.0.1:8765", "127.0.0.1:0")).unwrap();
    w
}

fn connect(w: &World, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .current_dir(w.dir.path())
        .arg("connect")
        .arg(&w.suite)
        .args(extra)
        .arg("--credentials")
        .arg(w.credentials())
        .env("NO_COLOR", "1")
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads stdout lines until one satisfies `pick`; returns (that line, all lines so far).
async fn read_until(
    child: &mut Child,
    pick: fn(&str) -> bool,
) -> (String, Vec<String>, Box<dyn BufRead + Send>) {
    let stdout = child.stdout.take().unwrap();
    tokio::task::spawn_blocking(move || {
        let mut reader: Box<dyn BufRead + Send> = Box::new(BufReader::new(stdout));
        let mut seen = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                panic!("stdout closed before the expected line: {seen:?}");
            }
            let line = line.trim_end().to_string();
            seen.push(line.clone());
            if pick(&line) {
                return (line, seen, reader);
            }
        }
    })
    .await
    .unwrap()
}

async fn finish(
    mut child: Child,
    mut rest: Box<dyn BufRead + Send>,
    mut seen: Vec<String>,
) -> (i32, String) {
    let (code, text) = tokio::task::spawn_blocking(move || {
        let mut tail = String::new();
        let _ = std::io::Read::read_to_string(&mut rest, &mut tail);
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err);
        let status = child.wait().unwrap();
        seen.push(tail);
        seen.push(err);
        (status.code().unwrap_or(-1), seen.join("\n"))
    })
    .await
    .unwrap();
    assert!(!contains_secret(&text), "secret printed:\n{text}");
    (code, text)
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_with_pkce_through_the_loopback_callback() {
    let w = world().await;
    let mut child = connect(&w, &["acme-corp", "--no-browser"]);
    let (url, seen, rest) = read_until(&mut child, |l| l.trim_start().starts_with("http")).await;
    let url = format!("{}&login_hint=acme-corp", url.trim());
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    // Follow the authorize redirect all the way to driftwatch's listener.
    let page = browser()
        .get(&url)
        .header("X-Sim-Consent", "approve")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("You can close this tab")
    );
    let (code, text) = finish(child, rest, seen).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Connected `acme-corp`; credentials stored."),
        "{text}"
    );
    let store = driftwatch::auth::CredentialStore::new(w.credentials());
    let entry = store.get("demo/acme-corp").unwrap().unwrap();
    assert!(entry.refresh_token.unwrap().expose().starts_with("sim_rt_"));
    assert_eq!(
        entry.scopes,
        [
            "activities:read",
            "activities:read_all",
            "admin:read",
            "audit:read",
            "channels:read",
            "email",
            "invoices:read",
            "profile",
            "reports:read",
            "webhooks:read"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_consent_is_a_clear_error() {
    let w = world().await;
    let mut child = connect(&w, &["globex", "--no-browser"]);
    let (url, seen, rest) = read_until(&mut child, |l| l.trim_start().starts_with("http")).await;
    let _ = browser()
        .get(format!("{}&login_hint=globex", url.trim()))
        .header("X-Sim-Consent", "deny")
        .send()
        .await
        .unwrap();
    let (code, text) = finish(child, rest, seen).await;
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("authorization was refused (`access_denied`)"),
        "{text}"
    );
    assert_eq!(
        driftwatch::auth::CredentialStore::new(w.credentials())
            .get("demo/globex")
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_callback_with_the_wrong_state_is_rejected() {
    let w = world().await;
    let mut child = connect(&w, &["initech", "--no-browser"]);
    let (_url, seen, rest) = read_until(&mut child, |l| {
        l.starts_with("Waiting for the redirect to ")
    })
    .await;
    let redirect = seen
        .last()
        .unwrap()
        .trim_start_matches("Waiting for the redirect to ")
        .trim_end_matches(" …")
        .to_string();
    let _ = browser()
        .get(format!(
            "{redirect}?code=sim_code_forged0000&state=not-ours"
        ))
        .send()
        .await
        .unwrap();
    let (code, text) = finish(child, rest, seen).await;
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("`state` does not match"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_times_out() {
    let w = world().await;
    let mut child = connect(&w, &["umbrella", "--no-browser", "--timeout", "1s"]);
    let (_l, seen, rest) = read_until(&mut child, |l| l.starts_with("Waiting")).await;
    let (code, text) = finish(child, rest, seen).await;
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("no authorization arrived within 1s"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_honours_slow_down() {
    let w = World::start(driftwatch::sim::SimOptions {
        device_interval: std::time::Duration::from_secs(1),
        device_slow_down_polls: 1,
        ..Default::default()
    })
    .await;
    let mut child = connect(&w, &["acme-corp", "--device"]);
    let (line, seen, rest) =
        read_until(&mut child, |l| l.starts_with("and enter the code: ")).await;
    let user_code = line.trim_start_matches("and enter the code: ").to_string();
    let approved = browser()
        .post(format!("{}/device/approve", w.sim.base_url()))
        .form(&[
            ("user_code", user_code.as_str()),
            ("login_hint", "acme-corp"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status().as_u16(), 200);
    let (code, text) = finish(child, rest, seen).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("(the provider asked to slow down; polling every 6s)"),
        "{text}"
    );
    assert!(
        text.contains("Connected `acme-corp`; credentials stored."),
        "{text}"
    );
    assert_eq!(w.sim.stats().slow_downs, 1);
    let entry = driftwatch::auth::CredentialStore::new(w.credentials())
        .get("demo/acme-corp")
        .unwrap()
        .unwrap();
    assert!(entry.refresh_token.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_denied_is_a_clear_error() {
    let w = World::start(driftwatch::sim::SimOptions {
        device_interval: std::time::Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let mut child = connect(&w, &["globex", "--device"]);
    let (line, seen, rest) =
        read_until(&mut child, |l| l.starts_with("and enter the code: ")).await;
    let user_code = line.trim_start_matches("and enter the code: ").to_string();
    browser()
        .post(format!("{}/device/approve", w.sim.base_url()))
        .form(&[
            ("user_code", user_code.as_str()),
            ("login_hint", "globex"),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    let (code, text) = finish(child, rest, seen).await;
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("authorization was refused (`access_denied`)"),
        "{text}"
    );
}

/// Serves `app` on a free loopback port; returns its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A token endpoint in front of the sim that drops `refresh_token` from every answer: a
/// provider that grants no offline access for the requested scopes.
async fn token_endpoint_without_refresh_tokens(sim_base: String) -> String {
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let sim_base = sim_base.clone();
                async move {
                    let mut req = reqwest::Client::new()
                        .post(format!("{sim_base}/oauth/token"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body.to_vec());
                    if let Some(auth) = headers.get("authorization") {
                        req = req.header("authorization", auth.to_str().unwrap());
                    }
                    let resp = req.send().await.unwrap();
                    let status = resp.status().as_u16();
                    let mut json: serde_json::Value = resp.json().await.unwrap();
                    if let Some(o) = json.as_object_mut() {
                        o.remove("refresh_token");
                    }
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        axum::Json(json),
                    )
                }
            },
        ),
    );
    format!("{}/token", serve(app).await)
}

fn edit_suite(w: &World, from: &str, to: &str) {
    let text = std::fs::read_to_string(&w.suite).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(&w.suite, text.replacen(from, to, 1)).unwrap();
}

fn entry(w: &World, conn: &str) -> Option<driftwatch::auth::Entry> {
    driftwatch::auth::CredentialStore::new(w.credentials())
        .get(&format!("demo/{conn}"))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_without_refresh_token_exits_4_and_stores_nothing() {
    let w = world().await;
    let token_url = token_endpoint_without_refresh_tokens(w.sim.base_url()).await;
    edit_suite(
        &w,
        "  token_url: /oauth/token\n",
        &format!("  token_url: {token_url}\n  discovery_url: /.well-known/openid-configuration\n"),
    );
    let mut child = connect(&w, &["acme-corp", "--no-browser"]);
    let (url, seen, rest) = read_until(&mut child, |l| l.trim_start().starts_with("http")).await;
    let page = browser()
        .get(format!("{}&login_hint=acme-corp", url.trim()))
        .header("X-Sim-Consent", "approve")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let (code, text) = finish(child, rest, seen).await;
    assert_eq!(code, 4, "{text}");
    assert!(
        text.contains("warning: the provider granted `acme-corp` no refresh token, so the connection would stop working when its access token expires; nothing was stored. OpenID Connect servers issue refresh tokens only for the `offline_access` scope"),
        "{text}"
    );
    assert!(!text.contains("Connected"), "{text}");
    assert_eq!(entry(&w, "acme-corp"), None);
    assert_eq!(w.sim.stats().token_requests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_without_refresh_token_is_stored_with_allow_no_refresh() {
    let w = World::start(driftwatch::sim::SimOptions {
        device_interval: std::time::Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let token_url = token_endpoint_without_refresh_tokens(w.sim.base_url()).await;
    edit_suite(
        &w,
        "  token_url: /oauth/token\n",
        &format!("  token_url: {token_url}\n"),
    );
    let mut child = connect(&w, &["globex", "--device", "--allow-no-refresh"]);
    let (line, seen, rest) =
        read_until(&mut child, |l| l.starts_with("and enter the code: ")).await;
    let user_code = line.trim_start_matches("and enter the code: ").to_string();
    let approved = browser()
        .post(format!("{}/device/approve", w.sim.base_url()))
        .form(&[
            ("user_code", user_code.as_str()),
            ("login_hint", "globex"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status().as_u16(), 200);
    let (code, text) = finish(child, rest, seen).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("warning: the provider granted `globex` no refresh token; storing it anyway (--allow-no-refresh): the connection stops working when the access token expires. Check how the provider grants offline access"),
        "{text}"
    );
    assert!(
        text.contains("Connected `globex`; credentials stored."),
        "{text}"
    );
    let stored = entry(&w, "globex").unwrap();
    assert_eq!(stored.refresh_token, None);
    assert!(stored.access_token.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_params_reach_the_authorization_request() {
    let w = world().await;
    // An authorization endpoint in front of the sim that records each query it receives.
    let seen_queries = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen_queries.clone();
    let sim_base = w.sim.base_url();
    let app = axum::Router::new().route(
        "/authorize",
        axum::routing::get(move |q: axum::extract::RawQuery| {
            let q = q.0.unwrap_or_default();
            record.lock().unwrap().push(q.clone());
            let to = format!("{sim_base}/oauth/authorize?{q}");
            async move { axum::response::Redirect::to(&to) }
        }),
    );
    let authorize = format!("{}/authorize", serve(app).await);
    edit_suite(
        &w,
        "  authorize_url: /oauth/authorize\n",
        &format!(
            "  authorize_url: {authorize}\n  authorize_params: {{access_type: offline, prompt: consent}}\n"
        ),
    );
    let mut child = connect(
        &w,
        &["acme-corp", "--no-browser", "--login-hint", "acme-corp"],
    );
    let (url, seen, rest) = read_until(&mut child, |l| l.trim_start().starts_with("http")).await;
    let page = browser()
        .get(url.trim())
        .header("X-Sim-Consent", "approve")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let (code, text) = finish(child, rest, seen).await;
    assert_eq!(code, 0, "{text}");
    let queries = seen_queries.lock().unwrap().clone();
    assert_eq!(queries.len(), 1);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(queries[0].as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "access_type",
            "prompt",
            "login_hint"
        ]
    );
    let value = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(value("access_type"), Some("offline"));
    assert_eq!(value("prompt"), Some("consent"));
    assert_eq!(value("login_hint"), Some("acme-corp"));
    assert!(entry(&w, "acme-corp").unwrap().refresh_token.is_some());
}

/// The redirect URI a `connect` child waits on, from its "Waiting for the redirect to …" line.
fn waiting_on(seen: &[String]) -> url::Url {
    let line = seen.last().unwrap();
    url::Url::parse(
        line.trim_start_matches("Waiting for the redirect to ")
            .trim_end_matches(" …"),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_port_and_uri_let_two_connects_run_at_once() {
    // The suite keeps its fixed `127.0.0.1:8765`; each connect overrides it.
    let w = World::start(Default::default()).await;
    let mut a = connect(&w, &["acme-corp", "--no-browser", "--redirect-port", "0"]);
    let mut b = connect(
        &w,
        &[
            "globex",
            "--no-browser",
            "--redirect-uri",
            "http://localhost:0/elsewhere",
        ],
    );
    let (_, seen_a, rest_a) =
        read_until(&mut a, |l| l.starts_with("Waiting for the redirect")).await;
    let (_, seen_b, rest_b) =
        read_until(&mut b, |l| l.starts_with("Waiting for the redirect")).await;
    let (ra, rb) = (waiting_on(&seen_a), waiting_on(&seen_b));
    assert_eq!((ra.host_str(), ra.path()), (Some("127.0.0.1"), "/callback"));
    assert_eq!(
        (rb.host_str(), rb.path()),
        (Some("localhost"), "/elsewhere")
    );
    for port in [ra.port(), rb.port()] {
        assert!(port.is_some_and(|p| p != 8765 && p != 0), "{port:?}");
    }
    // Both listen at once; finish the second first.
    for (seen, account) in [(&seen_b, "globex"), (&seen_a, "acme-corp")] {
        let url = seen[seen.len() - 2].trim().to_string();
        assert!(
            url.contains(&format!(
                "redirect_uri={}",
                if account == "globex" {
                    "http%3A%2F%2Flocalhost%3A"
                } else {
                    "http%3A%2F%2F127.0.0.1%3A"
                }
            )),
            "{url}"
        );
        let page = browser()
            .get(format!("{url}&login_hint={account}"))
            .header("X-Sim-Consent", "approve")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 200);
    }
    let (code_b, text_b) = finish(b, rest_b, seen_b).await;
    let (code_a, text_a) = finish(a, rest_a, seen_a).await;
    assert_eq!((code_a, code_b), (0, 0), "{text_a}\n{text_b}");
    assert!(entry(&w, "acme-corp").unwrap().refresh_token.is_some());
    assert!(entry(&w, "globex").unwrap().refresh_token.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_uri_override_must_be_loopback_http() {
    let w = World::start(Default::default()).await;
    let child = connect(
        &w,
        &[
            "acme-corp",
            "--no-browser",
            "--redirect-uri",
            "https://example.com/cb",
        ],
    );
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: `--redirect-uri` must be a loopback http URL (http://127.0.0.1:PORT/path) for `connect`, not `https://example.com/cb`\n"
    );
    assert_eq!(entry(&w, "acme-corp"), None);
}
