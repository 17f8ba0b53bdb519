//! `driftwatch.toml` through the binary: each layer of the settings chain
//! (defaults → config file → `DRIFTWATCH_*` → flags) overrides the one before,
//! `driftwatch config` shows where each value came from, and a bad file exits 2.

use crate::support::{World, output};
use driftwatch::sim::ApiVersion;
use std::process::Command;

fn run(w: &World) -> Command {
    let mut c = w.command();
    c.arg("run")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials());
    c
}

const CONFIG: &str = r#"# team defaults
reports = "cfg-reports"
snapshots = "snapshots"
fail_on = "never"
expiry_window = "3d"
"#;

/// [`CONFIG`] plus a webhook (for `config` only: nothing may leave the machine).
const WITH_WEBHOOK: &str = r#"# team defaults
reports = "cfg-reports"
snapshots = "snapshots"
fail_on = "never"
expiry_window = "3d"

[webhook]
url = "https://hooks.example/services/T1/B2/capability9xyz"
on = "warning"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_then_env_then_flag_decide_fail_on_and_reports() {
    let w = World::connected().await;
    w.run_and_accept().await;
    w.sim.set_version(ApiVersion::V2);
    std::fs::write(w.dir.path().join("driftwatch.toml"), CONFIG).unwrap();
    // config file over defaults: fail_on = never → exit 0 despite breaking drift;
    // reports go to cfg-reports/.
    let out = output(run(&w)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(w.dir.path().join("cfg-reports/latest/run.json").is_file());
    assert!(!w.dir.path().join("reports").exists());

    // environment over the config file.
    let mut c = run(&w);
    c.env("DRIFTWATCH_FAIL_ON", "breaking")
        .env("DRIFTWATCH_REPORTS", "env-reports");
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(w.dir.path().join("env-reports/latest/run.json").is_file());

    // flags over the environment.
    let mut c = run(&w);
    c.env("DRIFTWATCH_FAIL_ON", "breaking")
        .env("DRIFTWATCH_REPORTS", "env-reports")
        .args(["--fail-on", "never", "--reports", "flag-reports"]);
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(w.dir.path().join("flag-reports/latest/run.json").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_command_names_each_source_and_masks_the_webhook() {
    let w = World::start(Default::default()).await;
    std::fs::write(w.dir.path().join("team.toml"), WITH_WEBHOOK).unwrap();
    let mut c = w.command();
    c.args(["config", "--fail-on", "info"])
        .env("DRIFTWATCH_CONFIG", "team.toml")
        .env("DRIFTWATCH_REPORTS", "env-reports");
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("capability9xyz"), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..8],
        [
            "# config file: team.toml",
            "snapshots          = \"snapshots\"                  # config file",
            "reports            = \"env-reports\"                # env DRIFTWATCH_REPORTS",
            "credentials        = (platform data directory)    # default",
            "credential_helper  = (each suite's auth.credential_helper) # suite",
            "fail_on            = \"info\"                       # flag --fail-on",
            "expiry_window      = \"3d\"                         # config file",
            "suppressions       = (driftwatch.ignore.yaml when it exists) # default",
        ]
    );
    assert!(
        stdout.contains("webhook.url        = \"https://hooks.example/…\"    # config file"),
        "{stdout}"
    );
    assert!(
        stdout.contains("webhook.on         = \"warning\"                    # config file"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_file_exits_2_before_any_request() {
    let w = World::start(Default::default()).await;
    std::fs::write(
        w.dir.path().join("driftwatch.toml"),
        "reports = \"r\"\nfail-on = \"never\"\n",
    )
    .unwrap();
    let out = output(run(&w)).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown field `fail-on`"), "{stderr}");
    assert!(stderr.contains("--> driftwatch.toml:2:1"), "{stderr}");
    assert!(stderr.contains("did you mean `fail_on`?"), "{stderr}");
    let stats = w.sim.stats();
    assert_eq!((stats.token_requests, stats.api_requests), (0, 0));
}

/// Issue 16: with `credentials = …` in driftwatch.toml, `tokens` opened the platform
/// default store while `run` used the configured one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_honours_the_config_file_credentials() {
    let w = World::connected().await;
    std::fs::write(
        w.dir.path().join("driftwatch.toml"),
        "credentials = \"credentials.json\"\nexpiry_window = \"3d\"\n",
    )
    .unwrap();
    let mut tokens = w.command();
    tokens.args(["tokens", "suites/demo.yaml", "--json"]);
    let out = output(tokens).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["connection"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("acme-corp", "ok"),
            ("globex", "ok"),
            ("initech", "ok"),
            ("umbrella", "ok")
        ]
    );
    // `config --command tokens` shows exactly what `tokens` used.
    let mut config = w.command();
    config.args(["config", "--command", "tokens"]);
    let out = output(config).await;
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "# config file: driftwatch.toml",
            "credentials        = \"credentials.json\"           # config file",
            "credential_helper  = (each suite's auth.credential_helper) # suite",
            "expiry_window      = \"3d\"                         # config file",
        ],
        "{text}"
    );
    // Without the file the platform store (empty, inside the world) is used: not connected.
    std::fs::remove_file(w.dir.path().join("driftwatch.toml")).unwrap();
    let mut tokens = w.command();
    tokens.args(["tokens", "suites/demo.yaml", "--json"]);
    let out = output(tokens).await;
    assert_eq!(out.status.code(), Some(3));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        rows.iter().all(|r| r["status"] == "not-connected"),
        "{rows:?}"
    );
    assert_eq!(rows.len(), 4);
}

/// Issue 16: `connect` stored grants into the platform default store although
/// driftwatch.toml named the team's store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_stores_into_the_config_file_credentials() {
    let w = World::start(Default::default()).await;
    std::fs::write(
        w.dir.path().join("driftwatch.toml"),
        "credentials = \"team.json\"\n",
    )
    .unwrap();
    let answer =
        crate::connect_import::sim_token_answer(&w, "globex", "profile invoices:read").await;
    std::fs::write(w.dir.path().join("answer.json"), answer.to_string()).unwrap();
    let mut connect = w.command();
    connect.args([
        "connect",
        "suites/demo.yaml",
        "globex",
        "--import",
        "answer.json",
    ]);
    let out = output(connect).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!(
        "Imported `globex` into `{}`: with a refresh token",
        w.dir.path().join("team.json").display()
    );
    assert!(stdout.starts_with(&want), "{stdout}");
    let team = driftwatch::auth::CredentialStore::new(w.dir.path().join("team.json"));
    let entry = team.get("demo/globex").unwrap().unwrap();
    assert_eq!(
        entry.refresh_token.as_ref().unwrap().expose(),
        answer["refresh_token"].as_str().unwrap()
    );
    // Nothing went to the platform data directory.
    assert!(!w.home().join("data/driftwatch/credentials.json").exists());
    // A typed --credentials still wins over the file.
    let mut connect = w.command();
    connect.args([
        "connect",
        "suites/demo.yaml",
        "globex",
        "--import",
        "answer.json",
        "--credentials",
        "mine.json",
    ]);
    let out = output(connect).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(w.dir.path().join("mine.json").is_file());
}
