//! Bounded reads (issue 15 item 6, DESIGN.md safety rule 7): a suite,
//! `schema:` file, credential store, snapshot or config that is `/dev/zero`,
//! a FIFO or an oversize file is a clear error naming the file, in under a
//! second — never a read until memory runs out. And a `run.json` of an
//! unknown format version is refused by `report` and `merge` (item 7).

use crate::support::World;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary in `dir`, killed after 20 s (a hang fails the test instead of
/// blocking it); returns its output and how long it took.
fn timed(dir: &Path, args: &[&str], env: &[(&str, String)]) -> (Output, Duration) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    c.current_dir(dir)
        .args(args)
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let t0 = Instant::now();
    let mut child = c.spawn().unwrap();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("`driftwatch {}` hung", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = t0.elapsed();
    (child.wait_with_output().unwrap(), took)
}

fn all(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Exit `code`, the file named with the reason, in under a second.
fn assert_refused(got: &(Output, Duration), code: i32, file: &str, reason: &str, what: &str) {
    let (out, took) = got;
    let text = all(out);
    assert_eq!(out.status.code(), Some(code), "{what}:\n{text}");
    assert!(text.contains(file), "{what}: `{file}` not named:\n{text}");
    assert!(text.contains(reason), "{what}: no `{reason}`:\n{text}");
    assert!(*took < Duration::from_secs(1), "{what}: took {took:?}");
}

const DEVICE: &str = "not a regular file (a device, FIFO or socket): only regular files are read";

fn zero(at: &Path) {
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink("/dev/zero", at).unwrap();
}

const SUITE: &str = "version: 1
provider:
  name: p
  base_url: https://127.0.0.1:9
auth:
  grant: static_bearer
connections:
  - id: app
    token: ${env:P_TOKEN}
endpoints:
  - id: e
    path: /e
    schema: e.schema.json
";

#[test]
fn dev_zero_fifo_or_oversize_suite_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [("P_TOKEN", "tok".to_string())];
    zero(&d.join("zero.yaml"));
    for cmd in ["check", "run"] {
        let got = timed(d, &[cmd, "zero.yaml"], &env);
        assert_refused(&got, 2, "zero.yaml", DEVICE, &format!("{cmd} /dev/zero"));
    }
    let fifo = d.join("fifo.yaml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let got = timed(d, &["check", "fifo.yaml"], &env);
    assert_refused(&got, 2, "fifo.yaml", DEVICE, "check FIFO");
    std::fs::write(d.join("big.yaml"), vec![b'#'; 8 * 1024 * 1024 + 1]).unwrap();
    let got = timed(d, &["check", "big.yaml"], &env);
    assert_refused(
        &got,
        2,
        "big.yaml",
        "larger than the 8 MiB limit",
        "check oversize",
    );
}

#[test]
fn dev_zero_schema_file_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.yaml"), SUITE).unwrap();
    zero(&d.join("e.schema.json"));
    let got = timed(d, &["check", "s.yaml"], &[("P_TOKEN", "tok".into())]);
    assert_refused(&got, 2, "e.schema.json", DEVICE, "check, schema /dev/zero");
    std::fs::remove_file(d.join("e.schema.json")).unwrap();
    std::fs::write(d.join("e.schema.json"), vec![b' '; 8 * 1024 * 1024 + 1]).unwrap();
    let got = timed(d, &["check", "s.yaml"], &[("P_TOKEN", "tok".into())]);
    assert_refused(
        &got,
        2,
        "e.schema.json",
        "larger than the 8 MiB limit",
        "check, oversize schema",
    );
}

#[test]
fn dev_zero_config_file_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("s.yaml"),
        SUITE.replace("    schema: e.schema.json\n", ""),
    )
    .unwrap();
    zero(&d.join("driftwatch.toml"));
    let got = timed(d, &["run", "s.yaml"], &[("P_TOKEN", "tok".into())]);
    assert_refused(&got, 2, "driftwatch.toml", DEVICE, "config /dev/zero");
    zero(&d.join("other.toml"));
    let got = timed(
        d,
        &["run", "s.yaml", "--config", "other.toml"],
        &[("P_TOKEN", "tok".into())],
    );
    assert_refused(&got, 2, "other.toml", DEVICE, "--config /dev/zero");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_zero_store_and_snapshot_are_refused_naming_the_file() {
    let w = World::connected().await;
    w.run_and_accept().await;
    let d = w.dir.path().to_path_buf();
    let env = [
        ("SIM_BASE_URL", w.sim.base_url()),
        ("SIM_CLIENT_ID", w.sim.client_id().to_string()),
        ("SIM_CLIENT_SECRET", w.sim.client_secret().to_string()),
    ];
    let suite = w.suite.to_string_lossy().into_owned();
    let creds = w.credentials().to_string_lossy().into_owned();
    let snapshots = w.snapshots().to_string_lossy().into_owned();

    // The snapshot first, while the store is still good.
    let snap = w.snapshots().join("demo/schema/invoices.snap");
    zero(&snap);
    let args = [
        "run",
        &suite,
        "--credentials",
        &creds,
        "--snapshots",
        &snapshots,
    ];
    let got = tokio::task::spawn_blocking({
        let (d, env) = (d.clone(), env.clone());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            timed(&d, &args, &env)
        }
    })
    .await
    .unwrap();
    // The run itself talks to the sim; the refusal is what is timed here.
    let (out, _) = &got;
    let text = all(out);
    assert_eq!(out.status.code(), Some(3), "snapshot /dev/zero:\n{text}");
    assert!(text.contains("invoices.snap"), "{text}");
    assert!(text.contains(DEVICE), "{text}");
    assert!(
        !snap.with_extension("snap.new").exists(),
        "a pending file replaced the device"
    );

    // The store: `tokens` reads nothing else, so the whole command is timed.
    zero(&w.credentials());
    let got = tokio::task::spawn_blocking({
        let (d, env, suite, creds) = (d.clone(), env.clone(), suite.clone(), creds.clone());
        move || timed(&d, &["tokens", &suite, "--credentials", &creds], &env)
    })
    .await
    .unwrap();
    assert_refused(&got, 3, "credentials", DEVICE, "tokens, store /dev/zero");
}

/// A run.json of another format version: its fields may mean something else.
#[test]
fn unknown_run_json_format_version_is_refused_by_report_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (demo, _) = timed(d, &["demo"], &[]);
    assert_eq!(demo.status.code(), Some(0), "{}", all(&demo));
    let run_json = std::fs::canonicalize(d.join("reports/latest/run.json")).unwrap();
    let text = std::fs::read_to_string(&run_json).unwrap();
    assert!(text.contains(r#""format": "driftwatch-run/1""#));
    std::fs::write(
        d.join("future.json"),
        text.replacen(
            r#""format": "driftwatch-run/1""#,
            r#""format": "driftwatch-run/2""#,
            1,
        ),
    )
    .unwrap();
    let reason = "unsupported format `driftwatch-run/2` (expected `driftwatch-run/1`)";
    let got = timed(d, &["report", "future.json", "--format", "markdown"], &[]);
    assert_refused(&got, 2, "future.json", reason, "report");
    assert!(got.0.stdout.is_empty(), "report rendered something");
    let got = timed(d, &["merge", "future.json"], &[]);
    assert_refused(&got, 2, "future.json", reason, "merge");
    // The same file at version 1 still renders.
    let (ok, _) = timed(
        d,
        &["report", "reports/latest/run.json", "--format", "markdown"],
        &[],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", all(&ok));
}

/// A `run.json` that is a device is refused like any other bounded read.
#[test]
fn dev_zero_run_json_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    zero(&d.join("zero.json"));
    let got = timed(d, &["report", "zero.json", "--format", "markdown"], &[]);
    assert_refused(&got, 2, "zero.json", DEVICE, "report /dev/zero");
    let got = timed(d, &["merge", "zero.json"], &[]);
    assert_refused(&got, 2, "zero.json", DEVICE, "merge /dev/zero");
}

/// A pending snapshot that is `/dev/zero` is named by `accept` and `review`, not
/// skipped and not read until memory runs out.
#[test]
fn dev_zero_pending_snapshot_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("snapshots/demo/schema")).unwrap();
    zero(&d.join("snapshots/demo/schema/invoices.snap.new"));
    let got = timed(d, &["accept"], &[]);
    assert_refused(&got, 3, "invoices.snap.new", DEVICE, "accept");
    let got = timed(d, &["review", "--yes"], &[]);
    assert_refused(&got, 3, "invoices.snap.new", DEVICE, "review --yes");
}
