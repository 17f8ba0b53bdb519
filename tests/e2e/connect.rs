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
            "reports:read"
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
