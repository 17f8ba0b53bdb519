//! Grants beyond the authorization code, credential helpers, refresh-token
//! health and the token probe, end to end.

use crate::support::{World, assert_no_leaks, contains_secret, drift_set};
use driftwatch::model::Severity;
use driftwatch::sim::{Profile, SimOptions};
use std::process::{Command, Output};
use std::time::Duration;

/// `driftwatch ARGS` in the world's directory, with the sim's settings in the environment.
fn command(w: &World, args: &[&str]) -> Command {
    let mut c = w.command();
    c.args(args)
        .env("SIM_USER_PASSWORD", w.sim.user_password())
        .env("DRIFTWATCH_LOG", "debug");
    c
}

/// Asserts that neither output stream carries a secret.
fn no_secrets(out: Output) -> Output {
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        !contains_secret(&o) && !contains_secret(&e),
        "secret printed:\n{o}\n{e}"
    );
    out
}

fn bin(w: &World, args: &[&str]) -> Output {
    no_secrets(command(w, args).output().unwrap())
}

/// Like [`bin`], off the async workers (the sim runs on them).
async fn bin_async(w: &World, args: &[&str]) -> Output {
    let mut cmd = command(w, args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    no_secrets(out)
}

const PASSWORD_SUITE: &str = r#"version: 1
provider:
  name: legacy
  base_url: ${env:SIM_BASE_URL}
auth:
  grant: password
  token_url: /oauth/token
  client_id: ${env:SIM_CLIENT_ID}
  client_secret: ${env:SIM_CLIENT_SECRET}
  client_auth: post
connections:
  - id: acme-corp
    username: acme-corp
    password: ${env:SIM_USER_PASSWORD}
endpoints:
  - id: me
    path: /v1/me
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_grant_signs_in_once_then_refreshes() {
    let w = World::start(SimOptions {
        profile: Profile::Password,
        access_token_ttl: Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await;
    std::fs::write(w.dir.path().join("legacy.yaml"), PASSWORD_SUITE).unwrap();
    let check = bin_async(&w, &["check", "legacy.yaml"]).await;
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains("warning: the password grant is deprecated"),
        "{stderr}"
    );
    for _ in 0..2 {
        let out = bin_async(&w, &["run", "legacy.yaml", "--credentials", "creds.json"]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let stats = w.sim.stats();
    assert_eq!(
        stats.password_grants, 1,
        "the second run must refresh, not sign in again"
    );
    let run = driftwatch::report::read_run(&w.dir.path().join("reports/latest/run.json")).unwrap();
    let subjects: Vec<_> = run
        .observations
        .iter()
        .map(|o| format!("{} {}", o.key.probe, o.key.subject))
        .collect();
    assert_eq!(
        subjects,
        vec![
            "token token-endpoint.error-probe",
            "token token-endpoint.refresh_token",
            "refresh refresh",
            "schema me",
            "deprecation me",
            "app client"
        ]
    );
    assert!(!contains_secret(
        &std::fs::read_to_string(w.dir.path().join("reports/latest/run.json")).unwrap()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_helper_keeps_rotated_tokens() {
    let w = World::start(SimOptions {
        access_token_ttl: Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await;
    let vault = w.dir.path().join("vault");
    std::fs::create_dir_all(&vault).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/helpers/file-helper.sh");
    let helper = format!(
        "env DRIFTWATCH_TEST_HELPER_DIR={} sh {}",
        vault.display(),
        script.display()
    );
    // Connect through the helper, then run twice: each run rotates every
    // one-time refresh token and must write the new one back through the helper.
    let suite = driftwatch::suite::load_suite(&w.suite, &w.ctx, driftwatch::suite::LoadMode::Run)
        .unwrap()
        .suite;
    let store =
        driftwatch::auth::CredentialStore::with_helper(&helper, w.dir.path().join("helper.lock"))
            .unwrap();
    let (session, _) = driftwatch::run::ProviderSession::open(&suite, false, store)
        .await
        .unwrap();
    for c in &suite.connections {
        driftwatch::demo::authorize_with_sim(&suite, &session, c)
            .await
            .unwrap();
    }
    let before = std::fs::read_to_string(vault.join("demo__acme-corp")).unwrap();
    for _ in 0..2 {
        let out = bin_async(
            &w,
            &[
                "run",
                "suites/demo.yaml",
                "--credential-helper",
                &helper,
                "--credentials",
                "unused.json",
            ],
        )
        .await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains("· 0 errors"), "{stdout}");
    }
    let after = std::fs::read_to_string(vault.join("demo__acme-corp")).unwrap();
    assert_ne!(
        before, after,
        "the rotated refresh token was not stored through the helper"
    );
    assert!(!w.dir.path().join("unused.json").exists());
    // Only the disposable `umbrella` had its old token replayed, on purpose, and only
    // once for its grant (`auth.refresh.replay: once`): the second run did not replay it.
    assert_eq!(w.sim.stats().refresh_reuse_rejected, 1);
    assert_eq!(w.sim.stats().refresh_replays, 1);
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_near_death_warn_and_can_fail_the_run() {
    // Idle expiry of 1 hour, announced by the provider in `refresh_token_expires_in`.
    let w = World::start(SimOptions {
        profile: Profile::RotatingShortIdle,
        refresh_idle_ttl: Some(Duration::from_secs(3600)),
        access_token_ttl: Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await;
    w.connect_all().await;
    let creds = w.credentials().display().to_string();
    let out = bin_async(
        &w,
        &[
            "run",
            "suites/demo.yaml",
            "--credentials",
            &creds,
            "--expiry-window",
            "2h",
            "--fail-on",
            "warning",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let run = driftwatch::report::read_run(&w.dir.path().join("reports/latest/run.json")).unwrap();
    let expiring: Vec<_> = run
        .drifts
        .iter()
        .filter(|d| d.rule == "token.refresh-expiring")
        .collect();
    assert_eq!(expiring.len(), 4);
    assert!(expiring.iter().all(|d| d.severity == Severity::Warning));
    assert_eq!(
        expiring
            .iter()
            .map(|d| d.connections[0].as_str())
            .collect::<Vec<_>>(),
        vec!["acme-corp", "globex", "initech", "umbrella"]
    );
    assert!(
        run.tokens
            .iter()
            .all(|t| t.status == "expiring" && t.expiry_source.as_deref() == Some("response"))
    );

    // Outside the window: no warning.
    let calm = bin_async(
        &w,
        &[
            "run",
            "suites/demo.yaml",
            "--credentials",
            &creds,
            "--expiry-window",
            "30m",
            "--fail-on",
            "warning",
        ],
    )
    .await;
    assert_eq!(
        calm.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&calm.stdout)
    );

    // `driftwatch tokens` lists every connection with its countdown.
    let tokens = bin(
        &w,
        &[
            "tokens",
            "suites/demo.yaml",
            "--credentials",
            &creds,
            "--window",
            "2h",
        ],
    );
    let table = String::from_utf8_lossy(&tokens.stdout);
    assert_eq!(tokens.status.code(), Some(0), "{table}");
    assert!(table.starts_with("PROVIDER  CONNECTION  STATUS"), "{table}");
    assert_eq!(
        table
            .lines()
            .filter(|l| l.starts_with("demo ") && l.contains(" expiring "))
            .count(),
        4,
        "{table}"
    );
    let json = bin(
        &w,
        &[
            "tokens",
            "suites/demo.yaml",
            "--credentials",
            &creds,
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
    assert_eq!(v[0]["days_left"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_starts_sending_string_expires_in_is_drift() {
    let a = World::connected().await;
    a.run_and_accept().await;
    // The same provider (same baseline), now answering like Microsoft v1.
    let b = World::start(SimOptions {
        profile: Profile::StringExpiresIn,
        access_token_ttl: Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await;
    b.connect_all().await;
    let quiet = |_e: driftwatch::run::Event| {};
    let mut opts = b.options(true);
    opts.snapshots = a.snapshots();
    let run = driftwatch::run::execute(&b.ctx, &opts, &quiet)
        .await
        .unwrap();
    let token_drifts: Vec<_> = drift_set(&run)
        .into_iter()
        .filter(|(r, _, _)| r.starts_with("token."))
        .collect();
    assert_eq!(
        token_drifts,
        vec![(
            "token.expires-in-type-changed".to_string(),
            "token-endpoint.refresh_token".to_string(),
            "refresh_token".to_string()
        )]
    );
    // The non-conformance itself is a finding, re-checked every run.
    let findings: Vec<_> = run
        .findings
        .iter()
        .filter(|d| d.probe == driftwatch::model::ProbeKind::Token)
        .map(|d| (d.rule.as_str(), d.subject.as_str()))
        .collect();
    assert_eq!(
        findings,
        vec![(
            "token.expires-in-not-number",
            "token-endpoint.refresh_token"
        )]
    );
    let changed = run
        .drifts
        .iter()
        .find(|d| d.rule == "token.expires-in-type-changed")
        .unwrap();
    assert_eq!(changed.severity, Severity::Breaking);
}
