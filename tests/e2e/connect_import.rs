//! `driftwatch connect --import`: a token answer the team already holds goes into the store,
//! is validated first, proves itself with `--verify`, and a grant without the refresh token
//! the suite needs is refused (exit 4) unless `--allow-no-refresh`.

use crate::support::{World, contains_secret};
use driftwatch::auth::CredentialStore;
use driftwatch::auth::pkce::Pkce;
use driftwatch::sim::{Profile, SimOptions};
use std::io::Write;
use std::process::{Command, Stdio};

/// The scopes of each demo connection's scope set.
const FULL: &str = "profile email invoices:read reports:read admin:read audit:read channels:read activities:read activities:read_all webhooks:read";
const BASIC: &str = "profile invoices:read webhooks:read";

/// A real token answer from the sim for `account` (the code flow done by hand, outside
/// driftwatch), exactly as the provider sent it.
pub(crate) async fn sim_token_answer(w: &World, account: &str, scopes: &str) -> serde_json::Value {
    let base = w.sim.base_url();
    let redirect = "http://127.0.0.1:9/callback";
    let pkce = Pkce::new();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorized = http
        .get(format!("{base}/oauth/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", w.sim.client_id()),
            ("redirect_uri", redirect),
            ("scope", scopes),
            ("state", "s1"),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("login_hint", account),
        ])
        .header("X-Sim-Consent", "approve")
        .send()
        .await
        .unwrap();
    let location = authorized.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let answer = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(w.sim.client_id(), Some(w.sim.client_secret()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", pkce.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    answer.json().await.unwrap()
}

/// Runs `driftwatch ARGS --credentials <store>` in the world's directory, feeding `stdin`.
/// Returns (exit code, stdout, stderr); asserts no secret was printed.
fn dw(w: &World, args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .current_dir(w.dir.path())
        .args(args)
        .arg("--credentials")
        .arg(w.credentials())
        .env("NO_COLOR", "1")
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        !contains_secret(&stdout) && !contains_secret(&stderr),
        "secret printed:\n{stdout}\n{stderr}"
    );
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

fn import(
    w: &World,
    conn: &str,
    from: &str,
    extra: &[&str],
    stdin: Option<&[u8]>,
) -> (i32, String, String) {
    let mut args = vec!["connect", "suites/demo.yaml", conn, "--import", from];
    args.extend_from_slice(extra);
    dw(w, &args, stdin)
}

fn store(w: &World) -> CredentialStore {
    CredentialStore::new(w.credentials())
}

fn rt(answer: &serde_json::Value) -> String {
    answer["refresh_token"].as_str().unwrap().to_string()
}

/// POSTs a refresh to the sim directly; returns the HTTP status and the `error` member.
async fn refresh_status(w: &World, refresh_token: &str) -> (u16, Option<String>) {
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/token", w.sim.base_url()))
        .basic_auth(w.sim.client_id(), Some(w.sim.client_secret()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap();
    (status, body["error"].as_str().map(str::to_string))
}

fn edit_suite(w: &World, from: &str, to: &str) {
    let text = std::fs::read_to_string(&w.suite).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(&w.suite, text.replacen(from, to, 1)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_import_round_trip_tokens_then_a_run_uses_it() {
    // Access tokens live 30 s (under the refresh margin): the run must refresh every
    // imported grant, so it really uses what was imported.
    let w = World::start(SimOptions {
        access_token_ttl: std::time::Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await;
    let mut imported = Vec::new();
    for (conn, scopes) in [
        ("acme-corp", FULL),
        ("globex", BASIC),
        ("initech", FULL),
        ("umbrella", FULL),
    ] {
        let answer = sim_token_answer(&w, conn, scopes).await;
        let text = answer.to_string();
        // One from a file, the others through stdin.
        let (code, out, err) = if conn == "acme-corp" {
            std::fs::write(w.dir.path().join("answer.json"), &text).unwrap();
            import(&w, conn, "answer.json", &[], None)
        } else {
            import(&w, conn, "-", &[], Some(text.as_bytes()))
        };
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(err, "");
        let want = format!(
            "Imported `{conn}` into `{}`: with a refresh token, scopes: {}, access token expires at ",
            w.credentials().display(),
            {
                let mut s: Vec<&str> = scopes.split(' ').collect();
                s.sort();
                s.join(" ")
            }
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with(&want), "{out}");
        assert!(lines[0].ends_with("Z."), "{out}");
        if conn == "acme-corp" {
            assert_eq!(
                lines[1..],
                ["`answer.json` still holds these tokens in clear text: delete it."]
            );
        } else {
            assert_eq!(lines.len(), 1, "{out}");
        }
        let entry = store(&w).get(&format!("demo/{conn}")).unwrap().unwrap();
        assert_eq!(entry.refresh_token.as_ref().unwrap().expose(), rt(&answer));
        assert_eq!(
            entry.access_token.as_ref().unwrap().expose(),
            answer["access_token"].as_str().unwrap()
        );
        assert!(entry.access_token_expires_at.is_some());
        imported.push((conn, rt(&answer)));
    }

    // `driftwatch tokens` shows every imported grant as healthy.
    let (code, out, err) = dw(&w, &["tokens", "suites/demo.yaml", "--json"], None);
    assert_eq!(code, 0, "{out}{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let got: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["connection"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("acme-corp".to_string(), "ok".to_string()),
            ("globex".to_string(), "ok".to_string()),
            ("initech".to_string(), "ok".to_string()),
            ("umbrella".to_string(), "ok".to_string()),
        ]
    );

    // A run uses the imported grants: no error, and each one-time refresh token rotated.
    let run = w.run().await;
    assert_eq!(run.errors.len(), 0, "{:?}", run.errors);
    for (conn, old) in imported {
        let entry = store(&w).get(&format!("demo/{conn}")).unwrap().unwrap();
        let now = entry.refresh_token.unwrap().expose().to_string();
        assert!(now.starts_with("sim_rt_"), "{conn}");
        assert_ne!(
            now, old,
            "{conn}: the run did not refresh the imported grant"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_import_verify_rotates_and_persists_the_successor() {
    let w = World::start(SimOptions::default()).await; // rotating-one-time
    let answer = sim_token_answer(&w, "acme-corp", FULL).await;
    std::fs::write(w.dir.path().join("answer.json"), answer.to_string()).unwrap();
    let (code, out, err) = import(&w, "acme-corp", "answer.json", &["--verify"], None);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("Imported `acme-corp` into "), "{out}");
    assert_eq!(
        lines[1],
        "`answer.json` still holds these tokens in clear text: delete it."
    );
    assert_eq!(
        lines[2],
        "Verified: the refresh token works; the provider rotated it and the new one is stored."
    );
    let entry = store(&w).get("demo/acme-corp").unwrap().unwrap();
    let successor = entry.refresh_token.unwrap().expose().to_string();
    assert_ne!(successor, rt(&answer));
    assert_eq!(entry.refresh_in_flight, None);
    assert!(entry.last_refreshed_at.is_some());
    assert_eq!(w.sim.stats().refresh_grants, 1);
    // The imported token is spent (one-time use); the stored successor is the live one.
    assert_eq!(
        refresh_status(&w, &rt(&answer)).await,
        (400, Some("invalid_grant".to_string()))
    );
    assert_eq!(refresh_status(&w, &successor).await, (200, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_import_verify_on_a_non_rotating_provider_keeps_the_token() {
    let w = World::start(SimOptions {
        profile: Profile::NonRotating,
        ..SimOptions::default()
    })
    .await;
    let answer = sim_token_answer(&w, "globex", BASIC).await;
    let (code, out, err) = import(
        &w,
        "globex",
        "-",
        &["--verify"],
        Some(answer.to_string().as_bytes()),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().nth(1),
        Some("Verified: the refresh token works; the provider kept it (not rotated).")
    );
    let entry = store(&w).get("demo/globex").unwrap().unwrap();
    assert_eq!(entry.refresh_token.unwrap().expose(), rt(&answer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_import_validation_errors_exit_2_and_store_nothing() {
    let w = World::start(SimOptions::default()).await;
    let cases: [(&str, &str); 7] = [
        (
            r#"{"refresh_token":"sim_rt_aaaaaaaaaaaa","expires_in":3600}"#,
            "`access_token` is missing",
        ),
        (
            r#"{"access_token":"","refresh_token":"sim_rt_aaaaaaaaaaaa"}"#,
            "`access_token` is empty",
        ),
        (
            "{\"access_token\":\"sim_at_aaaa\\u0007\",\"refresh_token\":\"sim_rt_aaaaaaaaaaaa\"}",
            "`access_token` contains whitespace or control characters (a copy-and-paste accident?)",
        ),
        (
            r#"{"access_token":"sim_at_aaaa","refresh_token":"sim_rt_aaaaaaaaaaaa","token_type":"DPoP"}"#,
            "`token_type` is `DPoP`: only bearer tokens (RFC 6750) can be used",
        ),
        (
            r#"{"access_token":"sim_at_aaaa","refresh_token":"sim_rt_aaaaaaaaaaaa","expires_in":"an hour"}"#,
            "`expires_in` is not a number; expected whole seconds such as 3600 or \"3600\"",
        ),
        (
            r#"{"access_token":"sim_at_aaaa","refresh_token":"sim_rt_aaaaaaaaaaaa","obtained_at":"2999-01-01T00:00:00Z"}"#,
            "`obtained_at` (2999-01-01T00:00:00+00:00) is in the future",
        ),
        (
            "access_token=sim_at_aaaa&refresh_token=sim_rt_aaaaaaaaaaaa",
            "it is not JSON (line 1 column 1: not valid JSON)",
        ),
    ];
    for (input, want) in cases {
        let (code, out, err) = import(&w, "acme-corp", "-", &[], Some(input.as_bytes()));
        assert_eq!(code, 2, "{input}: {out}{err}");
        assert_eq!(out, "");
        assert_eq!(
            err,
            format!("error: cannot import a token answer from stdin: {want}\n"),
            "{input}"
        );
    }
    std::fs::write(w.dir.path().join("bad.json"), "[]").unwrap();
    let (code, _, err) = import(&w, "acme-corp", "bad.json", &[], None);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(
            "error: cannot import a token answer from `bad.json`: it is JSON but not an object"
        ),
        "{err}"
    );
    let (code, _, err) = import(&w, "acme-corp", "missing.json", &[], None);
    assert_eq!(code, 3);
    assert!(
        err.starts_with("error: cannot read the token answer `missing.json`: "),
        "{err}"
    );
    assert!(!w.credentials().exists(), "nothing may be stored");
    assert_eq!(w.sim.stats().token_requests, 0, "validation is offline");
}

const GENERIC_HINT: &str = "Check how the provider grants offline access (often an `offline_access` scope, or an authorization parameter such as `access_type: offline` in `auth.authorize_params`); if it never issues refresh tokens, set `auth.refresh.documented: none`.";
const OPENID_HINT: &str = "OpenID Connect servers issue refresh tokens only for the `offline_access` scope, usually only with fresh consent: add `offline_access` to the connection's scope set and set `auth.authorize_params: {prompt: consent}`, then connect again.";
const GOOGLE_HINT: &str = "Google issues refresh tokens only to offline requests, and again only on a new consent: set `auth.authorize_params: {access_type: offline, prompt: consent}` and connect again.";

fn no_refresh_warning(conn: &str, hint: &str) -> String {
    format!(
        "warning: the provider granted `{conn}` no refresh token, so the connection would stop working when its access token expires; nothing was stored. {hint} To store it anyway, pass `--allow-no-refresh`\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_import_without_refresh_token_exits_4_with_the_provider_hint() {
    let w = World::start(SimOptions::default()).await;
    let mut answer = sim_token_answer(&w, "acme-corp", FULL).await;
    answer.as_object_mut().unwrap().remove("refresh_token");
    let text = answer.to_string();

    let (code, out, err) = import(&w, "acme-corp", "-", &[], Some(text.as_bytes()));
    assert_eq!((code, out.as_str()), (4, ""));
    assert_eq!(err, no_refresh_warning("acme-corp", GENERIC_HINT));
    assert!(!w.credentials().exists(), "nothing may be stored");

    // An OpenID provider (its discovery document) gets the offline_access hint …
    edit_suite(
        &w,
        "  token_url: /oauth/token\n",
        "  token_url: /oauth/token\n  discovery_url: /.well-known/openid-configuration\n",
    );
    let (code, _, err) = import(&w, "acme-corp", "-", &[], Some(text.as_bytes()));
    assert_eq!(code, 4);
    assert_eq!(err, no_refresh_warning("acme-corp", OPENID_HINT));

    // … and Google (its authorization endpoint) the access_type=offline one.
    edit_suite(
        &w,
        "  authorize_url: /oauth/authorize\n",
        "  authorize_url: https://accounts.google.com/o/oauth2/v2/auth\n",
    );
    let (code, _, err) = import(&w, "acme-corp", "-", &[], Some(text.as_bytes()));
    assert_eq!(code, 4);
    assert_eq!(err, no_refresh_warning("acme-corp", GOOGLE_HINT));
    assert!(!w.credentials().exists(), "nothing may be stored");

    // --allow-no-refresh stores it, still warning; `tokens` then says what it is.
    let (code, out, err) = import(
        &w,
        "acme-corp",
        "-",
        &["--allow-no-refresh"],
        Some(text.as_bytes()),
    );
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "warning: the provider granted `acme-corp` no refresh token; storing it anyway (--allow-no-refresh): the connection stops working when the access token expires. {GOOGLE_HINT}"
        )
    );
    assert!(
        lines[1].starts_with("Imported `acme-corp` into ")
            && lines[1].contains(": no refresh token, scopes: "),
        "{out}"
    );
    let entry = store(&w).get("demo/acme-corp").unwrap().unwrap();
    assert_eq!(entry.refresh_token, None);
    assert!(entry.access_token.is_some());
    let (_, out, _) = dw(&w, &["tokens", "suites/demo.yaml", "--json"], None);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["connection"], "acme-corp");
    assert_eq!(rows[0]["status"], "no-refresh-token");
    assert_eq!(
        w.sim.stats().token_requests,
        1,
        "only the hand-made exchange"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_import_without_refresh_token_is_fine_when_the_suite_documents_none() {
    let w = World::start(SimOptions::default()).await;
    edit_suite(&w, "    documented: rotating\n", "    documented: none\n");
    let mut answer = sim_token_answer(&w, "globex", BASIC).await;
    answer.as_object_mut().unwrap().remove("refresh_token");
    let (code, out, err) = import(&w, "globex", "-", &[], Some(answer.to_string().as_bytes()));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(err, "");
    assert!(
        out.starts_with("Imported `globex` into ")
            && out.contains(": no refresh token, scopes: invoices:read profile webhooks:read, "),
        "{out}"
    );
}
