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

/// Waits for `child` and returns its exit code and peak resident set (KiB).
#[cfg(target_os = "linux")]
fn wait_with_maxrss(child: std::process::Child) -> (i32, i64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `usage` and `status` are valid out-pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    std::mem::forget(child);
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
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
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let (code, maxrss_kib) = tokio::task::spawn_blocking(move || {
        let child = cmd.spawn().unwrap();
        wait_with_maxrss(child)
    })
    .await
    .unwrap();
    assert_eq!(code, 3, "both endpoints must fail as runtime errors");
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
