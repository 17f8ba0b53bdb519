//! Hostile bodies: a 200 MB response is cut at the limit with bounded memory,
//! and JSON nested 100,000 deep is a clear error, not a stack overflow.

use crate::support::{assert_no_leaks, contains_secret};
use driftwatch::run::Run;
use driftwatch::sim::{Sim, SimOptions};

const SUITE: &str = r#"version: 1
provider:
  name: hostile
  base_url: ${env:SIM_BASE_URL}
auth:
  grant: client_credentials
  token_url: /oauth/token
  client_id: ${env:SIM_CLIENT_ID}
  client_secret: ${env:SIM_CLIENT_SECRET}
  scopes: [profile]
connections:
  - id: app
endpoints:
  - id: big
    path: /v1/big
    query: { mib: "200" }
  - id: deep
    path: /v1/deep
    query: { depth: "100000" }
limits:
  timeout: 60s
  max_body: 10MiB
"#;

/// The child's own report of its peak resident set (`VmHWM`, KiB), logged at
/// debug level. (`wait4`'s `ru_maxrss` would count the test process's memory
/// at fork time, which other tests inflate.)
fn peak_rss_kib(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.split("peak_rss_kib=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak_rss_kib in stderr:\n{stderr}"))
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_deep_bodies_are_classified_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(([127, 0, 0, 1], 0).into(), SimOptions::default())
        .await
        .unwrap();
    std::fs::write(dir.path().join("hostile.yaml"), SUITE).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    cmd.current_dir(dir.path())
        .args(["run", "hostile.yaml", "--credentials", "creds.json"])
        .env_remove("CI")
        .env("SIM_BASE_URL", sim.base_url())
        .env("SIM_CLIENT_ID", sim.client_id())
        .env("SIM_CLIENT_SECRET", sim.client_secret())
        .env("DRIFTWATCH_LOG", "driftwatch=debug")
        .env("NO_COLOR", "1");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!contains_secret(&stderr));
    let maxrss_kib = peak_rss_kib(&stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "both endpoints must fail as runtime errors"
    );
    // 200 MiB were offered; buffering them would push the peak far above this.
    assert!(
        maxrss_kib < 64 * 1024,
        "peak RSS {maxrss_kib} KiB: the body was not cut at the 10 MiB limit"
    );
    let run: Run =
        driftwatch::report::read_run(&dir.path().join("reports/latest/run.json")).unwrap();
    let errors: Vec<_> = run
        .errors
        .iter()
        .map(|e| (e.subject.clone().unwrap_or_default(), e.class.clone()))
        .collect();
    assert_eq!(
        errors,
        vec![
            ("big".to_string(), "body-too-large".to_string()),
            ("deep".to_string(), "json".to_string())
        ]
    );
    let deep = run.errors.iter().find(|e| e.class == "json").unwrap();
    assert!(
        deep.message.contains("nested deeper than"),
        "{}",
        deep.message
    );
    assert!(!contains_secret(&serde_json::to_string(&run).unwrap()));
    assert_no_leaks(dir.path());
    eprintln!("peak RSS with a 200 MiB response: {maxrss_kib} KiB");
}
