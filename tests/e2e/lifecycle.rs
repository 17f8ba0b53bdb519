//! Token lifecycle under fire: runs killed mid-refresh never lose a rotated
//! refresh token silently, and concurrent runs never spend one twice.

use crate::support::{World, contains_secret};
use driftwatch::sim::SimOptions;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A world whose access tokens are always stale (every run refreshes every
/// connection) and whose token endpoint takes 40 ms, so a kill has a wide
/// window in which a refresh is in flight.
async fn refreshing_world() -> World {
    let w = World::start(SimOptions {
        access_token_ttl: Duration::from_secs(5),
        token_latency: Duration::from_millis(40),
        ..SimOptions::default()
    })
    .await;
    w.connect_all().await;
    w
}

fn run_cmd(w: &World) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    c.current_dir(w.dir.path())
        .arg("run")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials())
        .args([
            "--snapshots",
            "snapshots",
            "--reports",
            "reports",
            "--fail-on",
            "never",
        ])
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret())
        .stdin(Stdio::null());
    c
}

/// Connections whose refresh is marked in flight in the store file.
fn in_flight(w: &World) -> Vec<String> {
    let text = std::fs::read_to_string(w.credentials()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out: Vec<String> = v["entries"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, e)| !e["refresh_in_flight"].is_null())
        .map(|(k, _)| k.clone())
        .collect();
    out.sort();
    out
}

#[derive(Debug, Default)]
struct Tally {
    kills: u32,
    killed_mid_refresh: u32,
    recovered_by_next_run: u32,
    named_in_flight: u32,
    silent_losses: u32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_refresh_never_loses_a_token_silently() {
    let w = refreshing_world().await;
    let mut tally = Tally::default();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..50 {
        // xorshift: a kill moment between 5 and 230 ms after start.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(5 + seed % 225);
        let mut cmd = run_cmd(&w);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        tokio::time::sleep(delay).await;
        let _ = child.kill(); // SIGKILL
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        tally.kills += 1;
        let marked = in_flight(&w);
        if !marked.is_empty() {
            tally.killed_mid_refresh += 1;
        }

        // The next run either works or names the credential explicitly.
        let mut next = run_cmd(&w);
        let out = tokio::task::spawn_blocking(move || next.output().unwrap())
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            !contains_secret(&stdout) && !contains_secret(&String::from_utf8_lossy(&out.stderr))
        );
        let run = driftwatch::report::read_run(&w.reports().join("latest/run.json")).unwrap();
        let mut reconnect = false;
        // A lost grant is its connection's one item (`grant-dead`), never a run error.
        for c in run.unusable_connections() {
            let message = c.message.as_deref().unwrap_or_default();
            let named = c.error.as_deref() == Some("invalid_grant")
                && message.contains("never completed")
                && message.contains("driftwatch connect");
            if named {
                tally.named_in_flight += 1;
                reconnect = true;
            } else {
                tally.silent_losses += 1;
                eprintln!("silent loss: {c:?}");
            }
        }
        for e in &run.errors {
            tally.silent_losses += 1;
            eprintln!("silent loss: {e:?}");
        }
        if run.errors.is_empty() && run.unusable_connections().next().is_none() {
            tally.recovered_by_next_run += 1;
        }
        if reconnect {
            // What the error message tells the user to do.
            w.connect_all().await;
        }
    }
    eprintln!("crash safety: {tally:?}");
    assert_eq!(tally.kills, 50);
    assert_eq!(tally.silent_losses, 0, "{tally:?}");
    assert!(
        tally.killed_mid_refresh >= 10,
        "kills rarely hit a refresh: {tally:?}"
    );
    assert!(in_flight(&w).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_runs_never_spend_a_token_twice() {
    let w = refreshing_world().await;
    let before = w.sim.stats();
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut c = run_cmd(&w);
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for out in &outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains("· 0 errors"), "{stdout}");
        assert!(!stdout.contains("invalid_grant") && !stdout.contains("invalid-grant"));
    }
    let after = w.sim.stats();
    // The only rejected reuse is the refresh probe's deliberate replay of the
    // disposable `umbrella`'s old token: once for its grant (`auth.refresh.replay:
    // once`, checked under the store lock), whichever run came first.
    assert_eq!(
        after.refresh_reuse_rejected - before.refresh_reuse_rejected,
        1
    );
    assert_eq!(after.refresh_replays - before.refresh_replays, 1);
    // Per run: 4 connections refreshing with the newest token, 1 narrowed refresh
    // of the disposable umbrella for the permissions probe (`public-only`; `basic`
    // comes from globex, which holds exactly it) followed by 1 refresh of its rotated
    // successor asking the whole grant back (which shows whether the narrowing stuck),
    // and 1 error probe; once: umbrella's active sequence (3 refreshes, 1 replay, 1
    // check of the newest).
    assert_eq!(after.refresh_grants - before.refresh_grants, 8 * 7 + 5);
    // The store ends holding a valid grant: one more run works.
    let out = run_cmd(&w).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("· 0 errors"));
    assert!(in_flight(&w).is_empty());
}
