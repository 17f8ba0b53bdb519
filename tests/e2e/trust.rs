//! Issue 13 acceptance: a red night means the provider changed. Whole-valued decimals
//! never drift, a provider that withholds refresh tokens is reported as
//! `refresh.stopped-issuing` and then as a `grant-dead` connection of refresh class
//! `withheld-expiring`, and GitHub annotations carry connection states.

use crate::support::{World, assert_no_leaks, contains_secret, drift_lines};
use driftwatch::auth::CredentialStore;
use driftwatch::cli::FailOn;
use driftwatch::error::exit;
use driftwatch::model::{ConnectionState, Severity};
use driftwatch::run::Run;
use driftwatch::sim::{SimOptions, Target};
use std::time::{Duration, Instant};

/// (connection, state, usable, severity) of a run's connection items (those with a severity).
fn items(run: &Run) -> Vec<(String, ConnectionState, bool, Option<Severity>)> {
    run.connections
        .iter()
        .filter(|c| c.severity.is_some())
        .map(|c| (c.connection.clone(), c.state, c.usable, c.severity))
        .collect()
}

/// Keeps only the `acme-corp` connection in the world's demo suite.
fn only_acme(w: &World) {
    let yaml = std::fs::read_to_string(&w.suite).unwrap();
    let others = "  - id: globex\n    scope_set: basic\n  - id: initech\n    scope_set: full\n  \
                  - id: umbrella\n    scope_set: full\n    disposable: true   # a test account: \
                  the refresh probe may replay its old tokens\n";
    assert!(yaml.contains(others));
    std::fs::write(&w.suite, yaml.replace(others, "")).unwrap();
}

/// `driftwatch <args>` in the world's directory, as a developer's shell (not CI), or
/// under GitHub Actions with `gha`.
async fn driftwatch(w: &World, args: &[&str], gha: bool) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    cmd.current_dir(w.dir.path())
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret())
        .env("DRIFTWATCH_CREDENTIALS", w.credentials())
        .args(args);
    if gha {
        cmd.env("GITHUB_ACTIONS", "true");
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    for stream in [&out.stdout, &out.stderr] {
        assert!(!contains_secret(&String::from_utf8_lossy(stream)));
    }
    out
}

/// (whole, with a fraction) counts of the `metrics.spend` values the run's
/// `/v1/reports/summary` answers carried, by their JSON type.
fn spends(run: &Run) -> (usize, usize) {
    let mut counts = (0, 0);
    for x in &run.exchanges {
        let Some(body) = x.response.as_ref().and_then(|r| r.body.as_deref()) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
            continue;
        };
        match v.pointer("/metrics/spend") {
            Some(s) if s.is_u64() || s.is_i64() => counts.0 += 1,
            Some(s) if s.is_f64() => counts.1 += 1,
            _ => {}
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_valued_decimals_twenty_unchanged_reruns_zero_drift() {
    let w = World::start(SimOptions {
        whole_decimals: Some(13),
        ..SimOptions::default()
    })
    .await;
    w.connect_all().await;
    let first = w.run_and_accept().await;
    assert_eq!(drift_lines(&first), Vec::<String>::new());
    assert_eq!(first.errors, vec![]);
    let mut seen = spends(&first);
    for i in 1..=20 {
        // `--update auto` outside CI writes `.snap.new` files: pending snapshots would show.
        let run = w.run().await;
        assert_eq!(drift_lines(&run), Vec::<String>::new(), "rerun {i}");
        assert_eq!(run.errors, vec![], "rerun {i}");
        assert_eq!(run.pending, vec![], "rerun {i}");
        assert_eq!(
            driftwatch::app::run_exit_code(&run, FailOn::Breaking),
            exit::OK,
            "rerun {i}"
        );
        let (whole, fraction) = spends(&run);
        seen = (seen.0 + whole, seen.1 + fraction);
    }
    // The sim really answered both spellings, many times each.
    assert!(seen.0 >= 10 && seen.1 >= 10, "{seen:?}");
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_withheld_expiring_is_reached_through_grant_dead() {
    const TTL: Duration = Duration::from_secs(3);
    // Access tokens live 30 s, under the refresh margin: every run refreshes.
    let w = World::start(SimOptions {
        access_token_ttl: Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await;
    only_acme(&w);
    w.connect_all().await;
    let first = w.run_and_accept().await;
    assert_eq!(drift_lines(&first), Vec::<String>::new());
    assert_eq!(first.errors, vec![]);

    w.sim.withhold_refresh_tokens(Some(TTL));
    let withheld_at = Instant::now();
    let stopped = w.run().await;
    // One fact, one verdict: no class guessed from it, no second token-endpoint verdict.
    assert_eq!(
        drift_lines(&stopped),
        vec!["refresh.stopped-issuing refresh $.issues_refresh_tokens [acme-corp]"]
    );
    assert_eq!(stopped.errors, vec![]);
    assert_eq!(items(&stopped), vec![]);
    let d = stopped
        .drifts
        .iter()
        .find(|d| d.rule == "refresh.stopped-issuing")
        .unwrap();
    assert_eq!(d.severity, Severity::Breaking);
    // docs/rules.md: the death date with its source, or that it is unknown. The sim gives no
    // hint and the demo suite documents no lifetime: unknown, never a guessed date.
    assert_eq!(
        d.message,
        "connection `acme-corp`: refresh answers no longer carry a refresh token; the connection \
         dies when its current refresh token expires. Its current refresh token's lifetime is \
         unknown (the provider does not say and the suite documents no \
         `auth.refresh_token_lifetime`): `acme-corp` dies whenever that token expires."
    );
    assert_eq!(
        driftwatch::app::run_exit_code(&stopped, FailOn::Breaking),
        exit::DRIFT
    );

    tokio::time::sleep((withheld_at + TTL + Duration::from_millis(300)) - Instant::now()).await;
    let dead = w.run().await;
    assert_eq!(drift_lines(&dead), Vec::<String>::new());
    assert_eq!(dead.errors, vec![]);
    assert_eq!(
        items(&dead),
        vec![(
            "acme-corp".to_string(),
            ConnectionState::GrantDead,
            false,
            Some(Severity::Breaking)
        )]
    );
    let acme = &dead.connections[0];
    assert_eq!(acme.error.as_deref(), Some("invalid_grant"));
    assert_eq!(acme.refresh_class.as_deref(), Some("withheld-expiring"));
    let grant = CredentialStore::new(w.credentials())
        .get("demo/acme-corp")
        .unwrap()
        .unwrap()
        .grant
        .unwrap();
    let lived = grant.observed_withheld_lifetime().unwrap();
    assert!(lived >= chrono::Duration::from_std(TTL).unwrap(), "{lived}");
    let minute = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let message = acme.message.as_deref().unwrap();
    assert!(
        message.starts_with(
            "connection `acme-corp` cannot be used, the provider refused its grant \
             (`invalid_grant`; last worked on "
        ),
        "{message}"
    );
    assert_eq!(
        acme.reconnect.as_deref(),
        Some(format!("driftwatch connect {} acme-corp", w.suite.display()).as_str())
    );
    assert!(
        message.ends_with(&format!(
            " The provider stopped issuing refresh tokens on {} and the last one expired: it \
             lived {} s (observed: issued {}, refused {}). Refresh class: `withheld-expiring`",
            minute(grant.withheld_since.unwrap()),
            lived.num_seconds(),
            minute(grant.refresh_token_issued_at.unwrap()),
            minute(grant.rejected.as_ref().unwrap().at),
        )),
        "{message}"
    );
    assert_eq!(
        driftwatch::app::run_exit_code(&dead, FailOn::Breaking),
        exit::RUNTIME
    );

    let suite = w.suite.to_str().unwrap();
    let out = driftwatch(&w, &["tokens", suite], false).await;
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dead_lines: Vec<&str> = stdout.lines().filter(|l| l.contains(" dead ")).collect();
    assert_eq!(dead_lines.len(), 1, "{stdout}");
    let fields: Vec<&str> = dead_lines[0].split_whitespace().collect();
    assert_eq!(
        (fields[0], fields[1], fields[2], fields[fields.len() - 1]),
        ("demo", "acme-corp", "dead", "rejected"),
        "{stdout}"
    );
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_annotations_name_a_dead_connection_once_and_no_drift() {
    let w = World::connected().await;
    let first = w.run_and_accept().await;
    assert_eq!(drift_lines(&first), Vec::<String>::new());
    assert_eq!(w.sim.kill_grants(Target::Account("globex")), vec![2]);

    let suite = w.suite.to_str().unwrap();
    let out = driftwatch(&w, &["run", suite], true).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 1, "{stdout}");
    let reconnect = format!("`driftwatch connect {suite} globex`");
    assert!(
        annotations[0]
            .starts_with("::error title=driftwatch connection grant-dead::demo connection globex: connection `globex` cannot be used, the provider refused its grant (`invalid_grant`; last worked on "),
        "{stdout}"
    );
    assert_eq!(annotations[0].matches(&reconnect).count(), 1, "{stdout}");
    assert_no_leaks(w.dir.path());
}
