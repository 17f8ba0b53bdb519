//! Issue 20, the OAuth app itself, against the simulated provider: client liveness
//! (`app.client-rejected` when the secret is rotated or the app deleted, unclear when the
//! provider answers a bare 400) without spending any grant, and client-secret expiry.

use crate::support::{World, drift_set};
use driftwatch::model::{ProbeKind, Severity};
use driftwatch::rules::Rule;
use driftwatch::run::Run;
use driftwatch::sim::{ClientState, SimOptions};

/// One non-disposable connection: no active refresh probe, and with the sim's one-hour access
/// tokens the second run needs no refresh at all, so every token request it sends is a probe.
const APP_SUITE: &str = r#"version: 1
provider:
  name: appy
  base_url: ${env:SIM_BASE_URL}
auth:
  grant: authorization_code
  token_url: /oauth/token
  authorize_url: /oauth/authorize
  client_id: ${env:SIM_CLIENT_ID}
  client_secret: ${env:SIM_CLIENT_SECRET}
  redirect_uri: http://127.0.0.1:8765/callback
scope_sets:
  basic: [profile]
connections:
  - id: acme-corp
    scope_set: basic
endpoints:
  - id: me
    path: /v1/me
"#;

async fn app_world(extra_auth: &str) -> World {
    let w = World::start(SimOptions::default()).await;
    let suite = APP_SUITE.replace(
        "  redirect_uri: http://127.0.0.1:8765/callback\n",
        &format!("  redirect_uri: http://127.0.0.1:8765/callback\n{extra_auth}"),
    );
    std::fs::write(&w.suite, suite).unwrap();
    w.connect_all().await;
    w
}

/// (grant, token requests, refreshes, replays) of every grant the sim issued.
fn grant_counts(w: &World) -> Vec<(u64, u64, u32, u64)> {
    w.sim
        .grants()
        .iter()
        .map(|g| (g.grant, g.token_requests, g.refreshes, g.replays))
        .collect()
}

fn app_body(run: &Run) -> serde_json::Value {
    let obs: Vec<_> = run
        .observations
        .iter()
        .filter(|o| o.key.probe == ProbeKind::App)
        .collect();
    assert_eq!(obs.len(), 1, "{:?}", run.observations);
    assert_eq!(obs[0].key.subject, "client");
    assert_eq!(obs[0].key.connection, None);
    obs[0].body.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_client_rejected_when_the_secret_is_rotated_and_no_grant_is_spent() {
    let w = app_world("").await;
    let first = w.run_and_accept().await;
    assert_eq!(first.errors, vec![]);
    assert_eq!(
        app_body(&first),
        serde_json::json!({"client": "authenticated", "error": "invalid_grant", "status": 400, "www_authenticate": false})
    );
    let token_requests_before = w.sim.stats().token_requests;
    let grants_before = grant_counts(&w);

    w.sim.set_client_state(ClientState::SecretRotated);
    let run = w.run().await;
    assert_eq!(
        drift_set(&run),
        vec![(
            Rule::AppClientRejected.id().to_string(),
            "client".to_string(),
            String::new()
        )]
    );
    let d = &run.drifts[0];
    assert_eq!(d.severity, Severity::Breaking);
    assert_eq!(d.probe, ProbeKind::App);
    assert_eq!(
        app_body(&run),
        serde_json::json!({"client": "rejected", "error": "invalid_client", "status": 401, "www_authenticate": true})
    );
    assert!(run.findings.iter().all(|f| f.probe != ProbeKind::App));
    // No grant was touched: the app probe's code is not one the provider issued.
    assert_eq!(grant_counts(&w), grants_before);
    // The run's token requests: the app probe and the token probe's error probe, no refresh.
    assert_eq!(w.sim.stats().token_requests - token_requests_before, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_client_rejected_when_the_app_is_deleted() {
    let w = app_world("").await;
    w.run_and_accept().await;
    w.sim.set_client_state(ClientState::Deleted);
    let run = w.run().await;
    assert_eq!(
        drift_set(&run),
        vec![(
            Rule::AppClientRejected.id().to_string(),
            "client".to_string(),
            String::new()
        )]
    );
    assert_eq!(app_body(&run)["client"], "rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_client_liveness_unclear_with_a_generic_400() {
    let w = app_world("").await;
    w.sim.set_generic_errors(true);
    let grants_before = grant_counts(&w);
    let run = w.run().await;
    assert_eq!(
        app_body(&run),
        serde_json::json!({"client": "unclear", "status": 400, "www_authenticate": false})
    );
    let app: Vec<_> = run
        .findings
        .iter()
        .filter(|f| f.probe == ProbeKind::App)
        .map(|f| (f.rule.to_string(), f.severity, f.subject.clone()))
        .collect();
    assert_eq!(
        app,
        vec![(
            Rule::AppClientLivenessUnclear.id().to_string(),
            Severity::Warning,
            "client".to_string()
        )]
    );
    assert_eq!(grant_counts(&w), grants_before);
}

fn secret_drifts(run: &Run) -> Vec<(String, Severity, String)> {
    run.drifts
        .iter()
        .filter(|d| d.rule == Rule::AppClientSecretExpiring)
        .map(|d| (d.subject.clone(), d.severity, d.message.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_client_secret_expiring_warns_in_the_window_and_breaks_once_expired() {
    let in_five_days = chrono::Utc::now().date_naive() + chrono::Days::new(5);
    let w = app_world(&format!("  client_secret_expires: {in_five_days}\n")).await;
    let run = w.run().await;
    let at = format!("{in_five_days} 00:00 UTC");
    assert_eq!(
        secret_drifts(&run),
        vec![(
            "client-secret".to_string(),
            Severity::Warning,
            format!(
                "the OAuth client secret expires on {at} (4 days left): create a new secret \
                 and update the suite's credentials before then"
            )
        )]
    );
    assert_eq!(run.client_secrets.len(), 1);
    assert_eq!(run.client_secrets[0].provider, "appy");
    assert_eq!(run.client_secrets[0].status, "expiring");
    assert_eq!(run.client_secrets[0].days_left, 4);

    let yesterday = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let suite = std::fs::read_to_string(&w.suite)
        .unwrap()
        .replace(&in_five_days.to_string(), &yesterday.to_string());
    std::fs::write(&w.suite, suite).unwrap();
    let run = w.run().await;
    assert_eq!(
        secret_drifts(&run),
        vec![(
            "client-secret".to_string(),
            Severity::Breaking,
            format!(
                "the OAuth client secret expired on {yesterday} 00:00 UTC: every token request \
                 fails until a new secret is configured"
            )
        )]
    );
    assert_eq!(run.client_secrets[0].status, "expired");

    // Outside the window: healthy, no drift.
    let later = chrono::Utc::now().date_naive() + chrono::Days::new(60);
    let suite = std::fs::read_to_string(&w.suite)
        .unwrap()
        .replace(&yesterday.to_string(), &later.to_string());
    std::fs::write(&w.suite, suite).unwrap();
    let run = w.run().await;
    assert_eq!(secret_drifts(&run), vec![]);
    assert_eq!(run.client_secrets[0].status, "ok");
}

/// `driftwatch tokens` covers the app: a "client secret" row after the connections, exit 3
/// once the secret has expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_shows_the_client_secret_row_and_fails_once_expired() {
    let yesterday = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let w = app_world(&format!("  client_secret_expires: {yesterday}\n")).await;
    std::fs::write(
        w.dir.path().join("driftwatch.toml"),
        "credentials = \"credentials.json\"\n",
    )
    .unwrap();
    let mut tokens = w.command();
    tokens.args(["tokens", w.suite.to_str().unwrap()]);
    let out = crate::support::output(tokens).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("PROVIDER  CLIENT SECRET"))
        .collect();
    assert_eq!(
        table,
        vec![
            "PROVIDER  CLIENT SECRET  STATUS   EXPIRES           DAYS LEFT".to_string(),
            format!("appy      client secret  expired  {yesterday} 00:00  -1"),
        ]
    );
}

/// `client_secret_expires: stored`: the date comes from the credential store (or helper),
/// entry `<provider>/@app`, for secrets a vault rotates. Missing, it is a run error naming
/// the entry, never a drift; present, it is judged like a date in the suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_expiry_read_from_the_credential_store() {
    let w = app_world("  client_secret_expires: stored\n").await;
    let run = w.run().await;
    let errors: Vec<(Option<String>, String, String)> = run
        .errors
        .iter()
        .map(|e| (e.subject.clone(), e.class.clone(), e.message.clone()))
        .collect();
    assert_eq!(
        errors,
        vec![(
            Some("client-secret".to_string()),
            "credential-store".to_string(),
            "`auth.client_secret_expires: stored` but the credential entry `appy/@app` has no `client_secret_expires_at`".to_string()
        )]
    );
    assert_eq!(secret_drifts(&run), vec![]);

    let in_five_days = chrono::Utc::now().date_naive() + chrono::Days::new(5);
    let store = driftwatch::auth::CredentialStore::new(w.credentials());
    let lock = store.lock().unwrap();
    store
        .put(
            &lock,
            &driftwatch::probe::app::app_entry_key("appy"),
            driftwatch::auth::store::Entry {
                client_secret_expires_at: Some(
                    in_five_days.and_hms_opt(0, 0, 0).unwrap().and_utc(),
                ),
                ..Default::default()
            },
        )
        .unwrap();
    drop(lock);
    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    assert_eq!(
        secret_drifts(&run),
        vec![(
            "client-secret".to_string(),
            Severity::Warning,
            format!(
                "the OAuth client secret expires on {in_five_days} 00:00 UTC (4 days left): \
                 create a new secret and update the suite's credentials before then"
            )
        )]
    );
}
