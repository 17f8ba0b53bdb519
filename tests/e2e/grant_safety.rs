//! Probes never harm the grants they watch (issue 14 items 1 and 2): the
//! permissions probe never narrows a non-disposable grant it cannot prove safe
//! (`permission.not-probed` instead), and the replay probe spends a disposable
//! grant once (`auth.refresh.replay`), after which the consumed connection is
//! skipped without drift until `connect` re-arms it. A disposable grant that the
//! permissions probe's narrowed refresh left narrowed for good is consumed the same way.

use crate::support::{World, assert_no_leaks};
use driftwatch::auth::CredentialStore;
use driftwatch::auth::store::{Entry, NarrowedCause, ReplayOutcome};
use driftwatch::model::ProbeKind;
use driftwatch::run::Run;
use driftwatch::sim::{Profile, SimOptions};
use std::process::{Command, Stdio};
use std::time::Duration;

const CONNECTIONS: [&str; 4] = ["acme-corp", "globex", "initech", "umbrella"];
const ENDPOINTS: [&str; 7] = [
    "activities",
    "audit-log",
    "channels",
    "invoices",
    "me",
    "reports-summary",
    "workspace-settings",
];

/// A world whose access tokens are always stale, so every run refreshes every connection.
async fn world(profile: Profile) -> World {
    World::start(SimOptions {
        profile,
        access_token_ttl: Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await
}

fn entry(w: &World, connection: &str) -> Entry {
    CredentialStore::new(w.credentials())
        .get(&format!("demo/{connection}"))
        .unwrap()
        .unwrap_or_else(|| panic!("no entry for {connection}"))
}

/// The class of one permission cell.
fn cell_class(run: &Run, endpoint: &str, set: &str) -> String {
    let obs = run
        .observations
        .iter()
        .find(|o| o.key.probe == ProbeKind::Permissions && o.key.subject == endpoint)
        .unwrap_or_else(|| panic!("no permissions observation for {endpoint}"));
    obs.body["cells"][set]["class"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

/// Connections a narrowed refresh (`grant_type=refresh_token` with a `scope`) was sent for.
fn narrowed_refreshes(run: &Run) -> Vec<String> {
    let mut v: Vec<String> = run
        .exchanges
        .iter()
        .filter(|x| x.purpose == "token:refresh")
        .filter(|x| {
            x.request
                .body
                .as_deref()
                .is_some_and(|b| b.contains("scope="))
        })
        .map(|x| x.connection.clone().unwrap_or_default())
        .collect();
    v.sort();
    v
}

fn rules_of(findings: &[driftwatch::model::Drift], rule: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|d| d.rule == rule)
        .map(|d| format!("{} {}", d.subject, d.path.as_deref().unwrap_or("-")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_not_probed_five_runs_keep_every_full_scope_grant() {
    five_runs_keep_every_full_scope_grant(Profile::RotatingOneTime).await;
}

/// Issue 14's acceptance profile: a narrowed refresh would rotate into a refresh token
/// narrowed for good (django-oauth-toolkit's behaviour), so narrowing a customer grant once
/// would kill it; five runs must leave every full-scope grant intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_not_probed_five_runs_on_narrowing_rotation_keep_every_full_scope_grant() {
    five_runs_keep_every_full_scope_grant(Profile::NarrowingRotation).await;
}

/// No disposable connection and rotating refresh tokens: no grant may be narrowed,
/// so `public-only` (held by no connection) is never probed, and no narrowed
/// refresh is ever sent. Any rotating profile (e.g. one whose narrowed refresh
/// rotates into a narrowed refresh token) must pass it unchanged.
async fn five_runs_keep_every_full_scope_grant(profile: Profile) {
    let w = world(profile).await;
    let suite = std::fs::read_to_string(&w.suite).unwrap();
    std::fs::write(
        &w.suite,
        suite.replace("disposable: true", "disposable: false"),
    )
    .unwrap();
    w.connect_all().await;
    let granted: Vec<Vec<String>> = CONNECTIONS.iter().map(|c| entry(&w, c).scopes).collect();
    assert_eq!(granted[0].len(), 10, "acme-corp holds the full scope set");
    let replays_before = w.sim.stats().refresh_replays;
    for n in 1..=5 {
        let run = w.run_and_accept().await;
        assert_eq!(run.errors, vec![], "run {n}");
        assert_eq!(run.drifts, vec![], "run {n}");
        assert_eq!(narrowed_refreshes(&run), Vec::<String>::new(), "run {n}");
        for ep in ENDPOINTS {
            assert_eq!(
                cell_class(&run, ep, "public-only"),
                "not-probed",
                "run {n} {ep}"
            );
            assert_ne!(cell_class(&run, ep, "basic"), "not-probed", "run {n} {ep}");
            assert_ne!(cell_class(&run, ep, "full"), "not-probed", "run {n} {ep}");
        }
        let me = run
            .observations
            .iter()
            .find(|o| o.key.probe == ProbeKind::Permissions && o.key.subject == "me")
            .unwrap();
        assert_eq!(me.body["downscoping"], "not-probed", "run {n}");
        let mut expected: Vec<String> = ENDPOINTS
            .iter()
            .map(|ep| format!("{ep} public-only"))
            .collect();
        expected.sort();
        assert_eq!(
            rules_of(&run.findings, "permission.not-probed"),
            expected,
            "run {n}"
        );
        // Every connection refreshed this run, with its whole grant.
        let refreshed: Vec<String> = run
            .exchanges
            .iter()
            .filter(|x| x.purpose == "token:refresh")
            .filter_map(|x| x.connection.clone())
            .collect();
        for c in CONNECTIONS {
            assert!(
                refreshed.iter().any(|r| r == c),
                "run {n}: {c} did not refresh"
            );
        }
        for (c, scopes) in CONNECTIONS.iter().zip(&granted) {
            assert_eq!(&entry(&w, c).scopes, scopes, "run {n}: {c}");
        }
    }
    assert_eq!(w.sim.stats().refresh_replays, replays_before);
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_rotating_baseline_lets_a_grant_be_narrowed_without_drift() {
    // (c): Google-style refresh tokens stay valid, so once the baseline says so, the
    // full-scope acme-corp may be narrowed to `public-only`; before that it is not probed.
    let w = world(Profile::NonRotating).await;
    let suite = std::fs::read_to_string(&w.suite).unwrap();
    std::fs::write(
        &w.suite,
        suite
            .replace("disposable: true", "disposable: false")
            .replace("documented: rotating", "documented: reusable"),
    )
    .unwrap();
    w.connect_all().await;
    let before = entry(&w, "acme-corp");
    let first = w.run_and_accept().await;
    assert_eq!(first.errors, vec![]);
    assert_eq!(narrowed_refreshes(&first), Vec::<String>::new());
    assert_eq!(cell_class(&first, "me", "public-only"), "not-probed");
    for n in 2..=3 {
        let run = w.run_and_accept().await;
        assert_eq!(run.errors, vec![], "run {n}");
        assert_eq!(run.drifts, vec![], "run {n}");
        assert_eq!(narrowed_refreshes(&run), vec!["acme-corp"], "run {n}");
        assert_eq!(cell_class(&run, "me", "public-only"), "granted", "run {n}");
        assert_eq!(
            cell_class(&run, "invoices", "public-only"),
            "denied",
            "run {n}"
        );
        assert_eq!(
            rules_of(&run.findings, "permission.not-probed"),
            Vec::<String>::new()
        );
        let after = entry(&w, "acme-corp");
        assert_eq!(after.scopes, before.scopes, "run {n}");
        assert_eq!(after.refresh_token, before.refresh_token, "run {n}");
    }
}

fn run_cmd(w: &World) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    c.current_dir(w.dir.path())
        .arg("run")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials())
        .args(["--snapshots", "snapshots", "--reports", "reports"])
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret())
        .stdin(Stdio::null());
    c
}

fn umbrella_class(run: &Run) -> Option<String> {
    run.observations
        .iter()
        .find(|o| {
            o.key.probe == ProbeKind::Refresh && o.key.connection.as_deref() == Some("umbrella")
        })
        .map(|o| o.body["class"].as_str().unwrap_or("?").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_consumed_replay_once_then_connect_rearms() {
    let w = world(Profile::ReuseRevokesFamily).await;
    w.connect_all().await;

    // Run 1 classifies: the replay revokes umbrella's grant, and the store remembers it.
    let run1 = w.run_and_accept().await;
    assert_eq!(run1.errors, vec![]);
    assert_eq!(
        umbrella_class(&run1).as_deref(),
        Some("rotating-reuse-revokes-grant")
    );
    assert_eq!(w.sim.stats().refresh_replays, 1);
    let replayed = entry(&w, "umbrella")
        .replayed
        .expect("the replay is remembered");
    assert_eq!(replayed.outcome, ReplayOutcome::GrantRevoked);
    assert_eq!(entry(&w, "acme-corp").replayed, None);

    // Run 2: umbrella is consumed — one info line, no drift, exit 0, nothing spent.
    let token_requests = w.sim.stats().token_requests;
    let out = run_cmd(&w).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let line = format!(
        "disposable connection `umbrella` consumed by the replay probe on {}; `driftwatch connect {} umbrella` re-arms it",
        replayed.at.format("%Y-%m-%d"),
        w.suite.display()
    );
    assert_eq!(stdout.matches(&line).count(), 1, "{stdout}");
    assert!(
        stdout.contains("0 breaking · 0 warning · 0 info · 0 errors"),
        "{stdout}"
    );
    let run2: Run = serde_json::from_str(
        &std::fs::read_to_string(w.reports().join("latest/run.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(run2.drifts, vec![]);
    assert_eq!(run2.errors, vec![]);
    // One connection item, `consumed` (info, not a failure), carrying the line.
    let items: Vec<_> = run2
        .connections
        .iter()
        .filter(|c| c.severity.is_some())
        .map(|c| (c.connection.as_str(), c.state.to_string(), c.usable))
        .collect();
    assert_eq!(items, vec![("umbrella", "consumed".to_string(), false)]);
    assert_eq!(
        run2.connections
            .iter()
            .find(|c| c.connection == "umbrella")
            .unwrap()
            .message
            .as_deref(),
        Some(line.as_str())
    );
    assert_eq!(
        rules_of(&run2.findings, "refresh.consumed"),
        Vec::<String>::new()
    );
    assert_eq!(
        umbrella_class(&run2),
        None,
        "its class stays in the baseline"
    );
    assert!(
        run2.exchanges
            .iter()
            .all(|x| x.connection.as_deref() != Some("umbrella")),
        "a consumed connection sends nothing"
    );
    // The three others refreshed (passive signals), one error probe; nothing replayed.
    assert_eq!(w.sim.stats().refresh_replays, 1);
    assert!(w.sim.stats().token_requests > token_requests);

    // `connect` stores a new grant without the replay mark: the probe is re-armed.
    let suite = driftwatch::suite::load_suite(&w.suite, &w.ctx, driftwatch::suite::LoadMode::Run)
        .unwrap()
        .suite;
    let (session, _) = driftwatch::run::ProviderSession::open(
        &suite,
        false,
        CredentialStore::new(w.credentials()),
    )
    .await
    .unwrap();
    let umbrella = suite
        .connections
        .iter()
        .find(|c| c.id.value == "umbrella")
        .unwrap();
    driftwatch::demo::authorize_with_sim(&suite, &session, umbrella)
        .await
        .unwrap();
    assert_eq!(entry(&w, "umbrella").replayed, None);

    // Run 3 replays again and classifies the same: no drift.
    let run3 = w.run().await;
    assert_eq!(run3.errors, vec![]);
    assert_eq!(run3.drifts, vec![]);
    assert_eq!(
        umbrella_class(&run3).as_deref(),
        Some("rotating-reuse-revokes-grant")
    );
    assert_eq!(w.sim.stats().refresh_replays, 2);
    assert_eq!(
        entry(&w, "umbrella").replayed.map(|r| r.outcome),
        Some(ReplayOutcome::GrantRevoked)
    );
    assert_no_leaks(w.dir.path());
}

/// Stores a new grant for one connection, as `driftwatch connect` does.
async fn reconnect(w: &World, connection: &str) {
    let suite = driftwatch::suite::load_suite(&w.suite, &w.ctx, driftwatch::suite::LoadMode::Run)
        .unwrap()
        .suite;
    let (session, _) = driftwatch::run::ProviderSession::open(
        &suite,
        false,
        CredentialStore::new(w.credentials()),
    )
    .await
    .unwrap();
    let conn = suite
        .connections
        .iter()
        .find(|c| c.id.value == connection)
        .unwrap();
    driftwatch::demo::authorize_with_sim(&suite, &session, conn)
        .await
        .unwrap();
}

fn latest_run(w: &World) -> Run {
    serde_json::from_str(&std::fs::read_to_string(w.reports().join("latest/run.json")).unwrap())
        .unwrap()
}

/// The state and message of one connection's item in a run.
fn connection_item(run: &Run, connection: &str) -> (String, bool, Option<String>) {
    let c = run
        .connections
        .iter()
        .find(|c| c.connection == connection)
        .unwrap_or_else(|| panic!("no connection item for {connection}"));
    (c.state.to_string(), c.usable, c.message.clone())
}

/// The refresh request bodies' `scope` flags of one connection, in order.
fn scoped_refreshes(run: &Run, connection: &str) -> Vec<bool> {
    run.exchanges
        .iter()
        .filter(|x| x.purpose == "token:refresh" && x.connection.as_deref() == Some(connection))
        .map(|x| {
            x.request
                .body
                .as_deref()
                .is_some_and(|b| b.contains("scope="))
        })
        .collect()
}

/// django-oauth-toolkit with rotation: the permissions probe's narrowed refresh of the
/// disposable `umbrella` (`full` → `public-only`) rotates into a refresh token narrowed
/// for good. Asking the whole grant back at once is refused (`invalid_scope`), which the
/// store records; later runs skip umbrella as `consumed` — no drift, exit 0 — instead of
/// comparing its narrowed data, until `connect` re-arms it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_narrowed_for_good_disposable_is_consumed_until_connect() {
    let w = world(Profile::NarrowingRotation).await;
    w.connect_all().await;
    let granted: Vec<Vec<String>> = CONNECTIONS.iter().map(|c| entry(&w, c).scopes).collect();
    let public_only: Vec<String> = [
        "profile",
        "email",
        "channels:read",
        "activities:read",
        "webhooks:read",
    ]
    .map(String::from)
    .to_vec();

    // Run 1: the baseline. umbrella is narrowed once, then asked for its whole grant back.
    let run1 = w.run_and_accept().await;
    assert_eq!(run1.errors, vec![]);
    assert_eq!(run1.drifts, vec![]);
    assert_eq!(narrowed_refreshes(&run1), vec!["umbrella", "umbrella"]);
    assert_eq!(cell_class(&run1, "me", "public-only"), "granted");
    assert_eq!(cell_class(&run1, "invoices", "public-only"), "denied");
    let narrowed = entry(&w, "umbrella")
        .narrowed
        .expect("the narrowing is remembered");
    assert_eq!(narrowed.cause, NarrowedCause::WideningRefused);
    assert_eq!(narrowed.scopes, public_only);
    for (c, scopes) in CONNECTIONS.iter().zip(&granted) {
        let e = entry(&w, c);
        if *c != "umbrella" {
            assert_eq!(e.narrowed, None, "{c}");
            assert_eq!(&e.scopes, scopes, "{c}");
        }
    }
    let line = format!(
        "disposable connection `umbrella` narrowed for good by the permissions probe on {}; `driftwatch connect {} umbrella` re-arms it",
        narrowed.at.format("%Y-%m-%d"),
        w.suite.display()
    );

    // Runs 2..4: umbrella is consumed — one info line, no drift, exit 0, nothing sent for it.
    for n in 2..=4 {
        let out = run_cmd(&w).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "run {n}: {stdout}");
        assert_eq!(stdout.matches(&line).count(), 1, "run {n}: {stdout}");
        assert!(
            stdout.contains("0 breaking · 0 warning · 0 info · 0 errors"),
            "run {n}: {stdout}"
        );
        let run = latest_run(&w);
        assert_eq!(run.drifts, vec![], "run {n}");
        assert_eq!(run.errors, vec![], "run {n}");
        assert_eq!(
            connection_item(&run, "umbrella"),
            ("consumed".to_string(), false, Some(line.clone())),
            "run {n}"
        );
        let unusable: Vec<&str> = run
            .connections
            .iter()
            .filter(|c| !c.usable)
            .map(|c| c.connection.as_str())
            .collect();
        assert_eq!(unusable, vec!["umbrella"], "run {n}");
        assert!(
            run.exchanges
                .iter()
                .all(|x| x.connection.as_deref() != Some("umbrella")),
            "run {n}: a consumed connection sends nothing"
        );
        assert_eq!(
            cell_class(&run, "me", "public-only"),
            "not-probed",
            "run {n}"
        );
        assert_eq!(entry(&w, "umbrella").narrowed, Some(narrowed.clone()));
    }

    // `connect` stores a new, whole grant: the record is gone and umbrella is used again.
    reconnect(&w, "umbrella").await;
    let fresh = entry(&w, "umbrella");
    assert_eq!((fresh.narrowed, fresh.replayed), (None, None));
    assert_eq!(fresh.scopes, granted[3]);
    let run5 = w.run().await;
    assert_eq!(run5.errors, vec![]);
    assert_eq!(run5.drifts, vec![]);
    assert_eq!(
        connection_item(&run5, "umbrella"),
        ("refreshed".to_string(), true, None)
    );
    // Its normal refresh, the narrowed one and the refused widening; then the replay
    // sequence (the new grant was never replayed): three refreshes, the replay of the
    // rotated-away token and the check of the newest.
    assert_eq!(
        scoped_refreshes(&run5, "umbrella"),
        vec![false, true, true, false, false, false, false, false]
    );
    assert_eq!(cell_class(&run5, "me", "public-only"), "granted");
    assert_eq!(
        entry(&w, "umbrella").narrowed.map(|n| n.cause),
        Some(NarrowedCause::WideningRefused)
    );
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_never_and_every_run_cost_what_they_say() {
    // `never`: a disposable connection is observed passively only.
    let w = world(Profile::RotatingOneTime).await;
    let suite = std::fs::read_to_string(&w.suite).unwrap();
    std::fs::write(
        &w.suite,
        suite.replace(
            "documented: rotating",
            "documented: rotating\n    replay: never",
        ),
    )
    .unwrap();
    w.connect_all().await;
    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    assert_eq!(umbrella_class(&run).as_deref(), Some("rotating"));
    assert_eq!(w.sim.stats().refresh_replays, 0);
    assert_eq!(entry(&w, "umbrella").replayed, None);

    // `every-run`: a replay each run on a provider whose grant survives it.
    let suite = std::fs::read_to_string(&w.suite).unwrap();
    std::fs::write(
        &w.suite,
        suite.replace("replay: never", "replay: every-run"),
    )
    .unwrap();
    for n in 1..=2 {
        let run = w.run().await;
        assert_eq!(run.errors, vec![], "run {n}");
        assert_eq!(umbrella_class(&run).as_deref(), Some("rotating-one-time"));
        assert_eq!(w.sim.stats().refresh_replays, n);
        assert_eq!(
            entry(&w, "umbrella").replayed.map(|r| r.outcome),
            Some(ReplayOutcome::GrantSurvived)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotating_grant_whose_old_token_stays_valid_is_rewidened_after_narrowing() {
    // (c) on an Entra-style provider: the disposable umbrella (granted `basic` only)
    // shows by replay that old refresh tokens stay valid, so acme-corp may be narrowed
    // to `public-only`; the narrowed successor is never stored — the old, full token is
    // refreshed again at once and its successor kept.
    let w = world(Profile::RotatingOldValid).await;
    let suite = std::fs::read_to_string(&w.suite).unwrap();
    std::fs::write(
        &w.suite,
        suite.replace(
            "  - id: umbrella\n    scope_set: full\n",
            "  - id: umbrella\n    scope_set: basic\n",
        ),
    )
    .unwrap();
    w.connect_all().await;
    let first = w.run_and_accept().await;
    assert_eq!(first.errors, vec![]);
    assert_eq!(cell_class(&first, "me", "public-only"), "not-probed");
    assert_eq!(
        umbrella_class(&first).as_deref(),
        Some("rotating-old-valid")
    );
    let granted = entry(&w, "acme-corp").scopes;
    for n in 2..=3 {
        let before = entry(&w, "acme-corp");
        let run = w.run_and_accept().await;
        assert_eq!(run.errors, vec![], "run {n}");
        assert_eq!(run.drifts, vec![], "run {n}");
        assert_eq!(narrowed_refreshes(&run), vec!["acme-corp"], "run {n}");
        assert_eq!(cell_class(&run, "me", "public-only"), "granted", "run {n}");
        // acme-corp: its normal refresh, the narrowed one, then the re-widening one.
        let acme: Vec<bool> = run
            .exchanges
            .iter()
            .filter(|x| {
                x.purpose == "token:refresh" && x.connection.as_deref() == Some("acme-corp")
            })
            .map(|x| {
                x.request
                    .body
                    .as_deref()
                    .is_some_and(|b| b.contains("scope="))
            })
            .collect();
        assert_eq!(acme, vec![false, true, false], "run {n}");
        let after = entry(&w, "acme-corp");
        assert_eq!(after.scopes, granted, "run {n}");
        assert_ne!(after.refresh_token, before.refresh_token, "run {n}");
    }
}
