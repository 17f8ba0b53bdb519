//! `driftwatch sim` as a separate process, driven through its loopback admin
//! endpoint (`/_sim/…`): switching v1 → v2 keeps every grant it issued, so the
//! second run shows exactly the demo's real drifts and no credential trouble.

use crate::drift::V1_TO_V2_DRIFTS;
use crate::support::{assert_no_leaks, contains_secret, drift_lines};
use driftwatch::auth::CredentialStore;
use driftwatch::baseline::UpdateMode;
use driftwatch::context::Context;
use driftwatch::demo::{authorize_with_sim, write_demo_suite};
use driftwatch::run::{Event, ProviderSession, Run, RunOptions};
use driftwatch::suite::{LoadMode, load_suite};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const SECRET: &str = "sim_cs_e2e_process_secret";

/// A `driftwatch sim` child process, killed when dropped.
struct SimProcess {
    child: Child,
    base_url: String,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `driftwatch sim --port PORT ARGS` and reads its address from the banner.
async fn spawn_sim(dir: &Path, port: u16, args: &[&str]) -> SimProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .current_dir(dir)
        .args(["sim", "--port", &port.to_string()])
        .args(args)
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .env("SIM_CLIENT_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let banner = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut seen = String::new();
        while !seen.contains("Ctrl-C") {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            seen.push_str(&line);
        }
        seen
    })
    .await
    .unwrap();
    assert!(!contains_secret(&banner), "{banner}");
    let base_url = banner
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("driftwatch simulated provider listening on "))
        .unwrap_or_else(|| panic!("no address in the banner:\n{banner}"))
        .to_string();
    assert!(
        banner.contains(&format!("POST {base_url}/_sim/version")),
        "{banner}"
    );
    SimProcess { child, base_url }
}

async fn admin(sim: &SimProcess, path: &str, form: &[(&str, &str)]) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}/_sim/{path}", sim.base_url))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn sim_state(sim: &SimProcess) -> Value {
    reqwest::get(format!("{}/_sim/state", sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn run(ctx: &Context, opts: &RunOptions) -> Run {
    let quiet = |_e: Event| {};
    driftwatch::run::execute(ctx, opts, &quiet).await.unwrap()
}

/// The demo suite pointed at `sim`, its four accounts connected, a first run
/// accepted as the baseline. Returns the context and the run options.
async fn connected_baseline(dir: &Path, sim: &SimProcess) -> (Context, RunOptions) {
    let suite_path = write_demo_suite(dir).unwrap();
    let ctx = sim_ctx(dir, sim);
    let credentials = dir.join("credentials.json");
    let suite = load_suite(&suite_path, &ctx, LoadMode::Run).unwrap().suite;
    let (session, err) =
        ProviderSession::open(&suite, false, CredentialStore::new(credentials.clone()))
            .await
            .unwrap();
    assert_eq!(err, None);
    for c in &suite.connections {
        authorize_with_sim(&suite, &session, c).await.unwrap();
    }
    let snapshots = dir.join("snapshots");
    let opts = RunOptions {
        suites: vec![suite_path],
        snapshots: snapshots.clone(),
        reports: dir.join("reports"),
        credentials,
        credential_helper: None,
        allow_insecure_http: false,
        update: UpdateMode::New,
        expiry_window: std::time::Duration::from_secs(7 * 86_400),
        suppressions: None,
    };
    let first = run(&ctx, &opts).await;
    assert_eq!(first.errors, vec![]);
    assert_eq!(first.drifts, vec![]);
    driftwatch::baseline::BaselineStore::new(&snapshots)
        .accept(&driftwatch::baseline::Filter::default())
        .unwrap();
    (ctx, opts)
}

fn sim_ctx(dir: &Path, sim: &SimProcess) -> Context {
    Context::empty(dir)
        .with_var("SIM_BASE_URL", sim.base_url.clone())
        .with_var("SIM_CLIENT_ID", "driftwatch-sim")
        .with_var("SIM_CLIENT_SECRET", SECRET)
}

/// The second run shows exactly the demo's real drifts, and the simulator
/// still holds exactly the connections' four grants, none ended: no
/// re-connect was needed and the runs spent none (the disposable one's replay
/// is refused without revoking it).
async fn assert_only_real_drift(ctx: &Context, opts: &RunOptions, sim: &SimProcess) {
    let second = run(ctx, opts).await;
    assert_eq!(second.errors, vec![]);
    assert_eq!(drift_lines(&second), V1_TO_V2_DRIFTS);
    let state = sim_state(sim).await;
    assert_eq!(state["version"], "v2");
    let grants = state["grants"].as_array().unwrap();
    let accounts: Vec<&str> = grants
        .iter()
        .map(|g| g["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["acme-corp", "globex", "initech", "umbrella"]);
    for g in grants {
        assert_eq!(g["ended"], Value::Null, "{g}");
    }
}

// Access tokens shorter than the refresh margin, as in the in-process demo
// world, so every run refreshes every connection.
const SHORT_ACCESS: [&str; 2] = ["--access-token-ttl", "30s"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v2_switch_by_admin_endpoint_keeps_the_grants_and_shows_only_real_drift() {
    let dir = tempfile::tempdir().unwrap();
    let sim = spawn_sim(dir.path(), 0, &SHORT_ACCESS).await;
    let (ctx, opts) = connected_baseline(dir.path(), &sim).await;
    assert_eq!(
        admin(&sim, "version", &[("version", "v2")]).await,
        json!({"version": "v2"})
    );
    assert_only_real_drift(&ctx, &opts, &sim).await;
    assert_no_leaks(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_drift_v2_and_a_state_file_keeps_the_grants() {
    let dir = tempfile::tempdir().unwrap();
    let state = ["--state", "sim-state.json"];
    let sim = spawn_sim(dir.path(), 0, &[&SHORT_ACCESS[..], &state[..]].concat()).await;
    let (ctx, opts) = connected_baseline(dir.path(), &sim).await;
    // The same address again (discovery documents name it), so only the API drifts.
    let port: u16 = sim.base_url.rsplit(':').next().unwrap().parse().unwrap();
    // Killed, not stopped: the state file is rewritten after every change.
    drop(sim);
    let v2 = [&SHORT_ACCESS[..], &state[..], &["--drift", "v2"][..]].concat();
    let sim = spawn_sim(dir.path(), port, &v2).await;
    assert_only_real_drift(&ctx, &opts, &sim).await;
    let saved = std::fs::read_to_string(dir.path().join("sim-state.json")).unwrap();
    assert!(!contains_secret(&saved), "a token in the state file");
    assert_no_leaks(dir.path());
}

#[test]
fn a_state_file_needs_the_client_secret_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .current_dir(dir.path())
        .args(["sim", "--port", "0", "--state", "sim-state.json"])
        .env_remove("CI")
        .env_remove("SIM_CLIENT_SECRET")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: `driftwatch sim --state` needs SIM_CLIENT_SECRET, so that a restarted \
         simulator accepts the same client\n"
    );
    assert!(!dir.path().join("sim-state.json").exists());
}
