//! Connection states (DESIGN.md safety rule 5): credential trouble is decided before
//! anything is compared, reported once per connection, and never as drift.

use crate::support::{World, assert_no_leaks, drift_lines};
use driftwatch::auth::CredentialStore;
use driftwatch::cli::FailOn;
use driftwatch::model::{ConnectionState, ProbeKind, Severity};
use driftwatch::sim::SimOptions;

/// The demo world, connected, with access tokens that outlive a run (so the store
/// believes them fresh), and its first run accepted as the baseline.
async fn baselined() -> (World, driftwatch::run::Run) {
    let w = World::start(SimOptions::default()).await;
    w.connect_all().await;
    let first = w.run_and_accept().await;
    assert_eq!(first.errors, vec![]);
    assert!(first.connections.iter().all(|c| c.usable));
    (w, first)
}

/// Revokes a token at the sim's RFC 7009 endpoint.
async fn revoke(w: &World, token: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/revoke", w.sim.base_url()))
        .basic_auth(w.sim.client_id(), Some(w.sim.client_secret()))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

fn stored(w: &World, key: &str) -> driftwatch::auth::Entry {
    CredentialStore::new(w.credentials())
        .get(key)
        .unwrap()
        .unwrap()
}

/// (connection, state, usable, severity) of a run's connection items (those with a severity).
fn items(run: &driftwatch::run::Run) -> Vec<(String, ConnectionState, bool, Option<Severity>)> {
    run.connections
        .iter()
        .filter(|c| c.severity.is_some())
        .map(|c| (c.connection.clone(), c.state, c.usable, c.severity))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_rejected_is_refreshed_once_retried_and_no_drift() {
    let (w, first) = baselined().await;
    let at = stored(&w, "demo/acme-corp").access_token.unwrap();
    revoke(&w, at.expose()).await;

    let run = w.run().await;
    assert_eq!(drift_lines(&run), Vec::<String>::new());
    assert_eq!(run.errors, vec![]);
    assert_eq!(
        items(&run),
        vec![(
            "acme-corp".to_string(),
            ConnectionState::AccessTokenRejected,
            true,
            Some(Severity::Warning)
        )]
    );
    let acme = &run.connections[0];
    assert_eq!(acme.error.as_deref(), Some("invalid_token"));
    // Every endpoint answered 401 once (7) and was retried once (7).
    assert_eq!(acme.exchanges.len(), 14);
    let purposes: Vec<_> = run
        .exchanges
        .iter()
        .filter(|x| acme.exchanges.contains(&x.id))
        .map(|x| x.response.as_ref().map(|r| r.status))
        .collect();
    assert_eq!(purposes.iter().filter(|s| **s == Some(401)).count(), 7);
    // One refresh for the connection, however many of its requests were rejected (the
    // permissions probe's down-scoping refreshes happen in every run).
    let refreshes = |r: &driftwatch::run::Run| {
        r.exchanges
            .iter()
            .filter(|x| {
                x.connection.as_deref() == Some("acme-corp") && x.purpose == "token:refresh"
            })
            .count()
    };
    assert_eq!(refreshes(&run), refreshes(&first) + 1);
    let states: Vec<_> = run
        .connections
        .iter()
        .map(|c| (c.connection.as_str(), c.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("acme-corp", ConnectionState::AccessTokenRejected),
            ("globex", ConnectionState::Ok),
            ("initech", ConnectionState::Ok),
            ("umbrella", ConnectionState::Ok),
        ]
    );
    assert_eq!(
        driftwatch::app::run_exit_code(&run, FailOn::Breaking),
        driftwatch::error::exit::OK
    );
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_dead_is_one_connection_item_no_drift_exit_3_and_tokens_dead() {
    let (w, first) = baselined().await;
    let entry = stored(&w, "demo/globex");
    revoke(&w, entry.refresh_token.as_ref().unwrap().expose()).await;
    revoke(&w, entry.access_token.as_ref().unwrap().expose()).await;

    let run = w.run().await;
    assert_eq!(drift_lines(&run), Vec::<String>::new());
    assert_eq!(run.errors, vec![]);
    assert_eq!(
        items(&run),
        vec![(
            "globex".to_string(),
            ConnectionState::GrantDead,
            false,
            Some(Severity::Breaking)
        )]
    );
    let globex = run.unusable_connections().next().unwrap();
    assert_eq!(globex.error.as_deref(), Some("invalid_grant"));
    assert_eq!(
        globex.reconnect.as_deref(),
        Some(format!("driftwatch connect {} globex", w.suite.display()).as_str())
    );
    let message = globex.message.as_deref().unwrap();
    assert!(message.contains("`globex`"), "{message}");
    assert!(message.contains("invalid_grant"), "{message}");
    assert!(message.contains("last worked on "), "{message}");
    assert!(message.contains("driftwatch connect "), "{message}");
    assert!(globex.last_worked_at.is_some());
    assert_eq!(
        driftwatch::app::run_exit_code(&run, FailOn::Breaking),
        driftwatch::error::exit::RUNTIME
    );

    // Every merged observation that holds globex waits: schema (its baselines name globex),
    // deprecation and permissions; values of reports-summary (globex cannot read it) and the
    // provider-wide ones are compared. Nothing new is written for review.
    let mut expected: Vec<_> = first
        .observations
        .iter()
        .filter(|o| {
            matches!(
                o.key.probe,
                ProbeKind::Schema | ProbeKind::Deprecation | ProbeKind::Permissions
            )
        })
        .map(|o| o.key.clone())
        .collect();
    expected.sort();
    let skipped: Vec<_> = run.not_compared.iter().map(|n| n.key.clone()).collect();
    assert_eq!(skipped, expected);
    assert_eq!(run.pending, vec![]);
    assert!(
        run.observations
            .iter()
            .all(|o| o.key.connection.as_deref() != Some("globex"))
    );

    // Token health is the provider's verdict: globex is dead until re-connected.
    let health: Vec<_> = run
        .tokens
        .iter()
        .map(|h| (h.connection.as_str(), h.status.as_str()))
        .collect();
    assert_eq!(
        health,
        vec![
            ("acme-corp", "ok"),
            ("globex", "dead"),
            ("initech", "ok"),
            ("umbrella", "ok")
        ]
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .current_dir(w.dir.path())
        .arg("tokens")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials())
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dead: Vec<&str> = stdout.lines().filter(|l| l.contains(" dead ")).collect();
    assert_eq!(dead.len(), 1, "{stdout}");
    assert!(dead[0].contains("globex"), "{stdout}");

    // Re-connecting clears the verdict.
    w.connect_all().await;
    assert_eq!(
        stored(&w, "demo/globex").grant.and_then(|g| g.rejected),
        None
    );
    assert_no_leaks(w.dir.path());
}
