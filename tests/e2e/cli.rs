//! The binary as users run it: exit codes, the demo, and no secret on any
//! stdout or stderr.

use crate::support::{World, assert_no_leaks, contains_secret};
use driftwatch::sim::ApiVersion;
use std::process::Output;

use crate::support::driftwatch as bin;

/// Runs `driftwatch run` against the world's sim in a child process.
async fn run_bin(w: &World, extra: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.current_dir(w.dir.path())
        .arg("run")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials())
        .args(["--snapshots", "snapshots", "--reports", "reports"])
        .args(extra)
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret())
        .env("DRIFTWATCH_LOG", "trace");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_no_secret_output(&out);
    out
}

fn assert_no_secret_output(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!contains_secret(&stdout), "secret on stdout:\n{stdout}");
    assert!(!contains_secret(&stderr), "secret on stderr:\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_exit_codes_follow_fail_on() {
    let w = World::connected().await;
    let first = run_bin(&w, &[]).await;
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains("31 pending snapshots (31 new, 0 changed)"),
        "{stdout}"
    );
    assert!(stdout.contains("report: reports/"), "{stdout}");
    assert!(w.reports().join("latest/run.json").is_file());

    let accept = bin()
        .current_dir(w.dir.path())
        .arg("accept")
        .output()
        .unwrap();
    assert_eq!(accept.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&accept.stdout).contains("accepted 31 snapshot(s)"));

    w.sim.set_version(ApiVersion::V2);
    let drifted = run_bin(&w, &[]).await;
    assert_eq!(drifted.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&drifted.stdout);
    assert!(
        stdout.contains("schema.field-renamed  me  $.name"),
        "{stdout}"
    );
    assert!(
        stdout.contains("20 breaking · 2 warning · 2 info · 0 errors"),
        "{stdout}"
    );

    let tolerant = run_bin(&w, &["--fail-on", "never"]).await;
    assert_eq!(tolerant.status.code(), Some(0));
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconnected_account_is_a_runtime_error_naming_the_credential() {
    let w = World::start(Default::default()).await;
    let out = run_bin(&w, &[]).await;
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("[not-connected] acme-corp: no credentials stored for `demo/acme-corp`"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "version: 1\nprovider: [\n").unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["run", "bad.yaml", "--credentials", "c.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:"), "{stderr}");
}

#[test]
fn demo_runs_offline_and_shows_drift() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().current_dir(dir.path()).arg("demo").output().unwrap();
    assert_no_secret_output(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "[1/5] simulated provider listening on http://127.0.0.1:",
        "[3/5] first run: 27 observations; baseline accepted",
        "schema.type-changed  invoices  $.data[].amount_cents",
        "17 breaking · 2 warning · 2 info · 0 errors",
        "permission.newly-denied  invoices  basic",
        "refresh.stopped-issuing  refresh  $.issues_refresh_tokens  [umbrella]",
        "report: reports/",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    assert!(dir.path().join("reports/latest/run.json").is_file());
    assert_no_leaks(dir.path());
}

#[test]
fn schema_command_prints_the_suite_schema() {
    let out = bin().arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v.get("properties")
            .and_then(|p| p.get("endpoints"))
            .is_some()
    );
}

/// The secret canary for this issue's commands: `check`, `reject`, `sim` and
/// `--help` print nothing secret, even with every secret in the environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_commands_print_no_secret() {
    let w = World::connected().await;
    let with_env = |args: &[&str]| {
        let mut c = bin();
        c.current_dir(w.dir.path())
            .args(args)
            .env("SIM_BASE_URL", w.sim.base_url())
            .env("SIM_CLIENT_ID", w.sim.client_id())
            .env("SIM_CLIENT_SECRET", w.sim.client_secret())
            .env("DRIFTWATCH_LOG", "trace");
        c
    };
    let check = with_env(&["check", "suites/demo.yaml"]).output().unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("checked 1 suite: 0 errors, 0 warnings")
    );
    assert_no_secret_output(&check);

    let reject = with_env(&["reject"]).output().unwrap();
    assert_eq!(reject.status.code(), Some(0));
    assert_no_secret_output(&reject);

    let help = with_env(&["--help"]).output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert_no_secret_output(&help);

    // The standalone sim, with its secret given through the environment.
    let mut sim = with_env(&["sim", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = sim.stdout.take().unwrap();
    let banner = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&buf).contains("Ctrl-C") {
            let n = stdout.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
    .await
    .unwrap();
    sim.kill().unwrap();
    let _ = sim.wait();
    assert!(
        banner.contains("client secret:  taken from env var SIM_CLIENT_SECRET"),
        "{banner}"
    );
    assert!(!contains_secret(&banner), "{banner}");
}

/// `report` re-renders a finished run: formats pair with outputs by
/// position, unpaired ones go to stdout, a bad pairing is a usage error.
#[test]
fn report_rerenders_a_finished_run() {
    let dir = tempfile::tempdir().unwrap();
    let demo = bin().current_dir(dir.path()).arg("demo").output().unwrap();
    assert_eq!(demo.status.code(), Some(0));
    let out = bin()
        .current_dir(dir.path())
        .args(["report", "reports/latest/run.json"])
        .args(["--format", "junit", "--format", "markdown"])
        .args(["--output", "ci/run.xml"])
        .output()
        .unwrap();
    assert_no_secret_output(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("# ❌ driftwatch: 17 breaking · 2 warning · 2 info · 0 errors"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(dir.path().join("ci/run.xml")).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    // 17 breaking drifts fall into 8 probe × subject × connection cases (no refresh case
    // for acme-corp: its grant is no longer narrowed, so it does not refresh in the demo);
    // 27 observation cases (the app probe's `client` is the 27th) plus one passing case per
    // connection (4).
    assert!(
        xml.contains(r#"tests="31" skipped="0" failures="8" errors="0""#),
        "{xml}"
    );
    assert_eq!(xml.matches("<failure ").count(), 8, "{xml}");
    assert!(
        xml.contains(r#"<testcase name="refresh refresh@umbrella" classname="#),
        "{xml}"
    );

    let bad = bin()
        .current_dir(dir.path())
        .args([
            "report",
            "reports/latest/run.json",
            "--output",
            "a",
            "--output",
            "b",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let missing = bin()
        .current_dir(dir.path())
        .args(["report", "nope.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

/// `run --format junit --format markdown --output -`: JUnit to its default
/// file, Markdown to stdout, annotations on stdout under GitHub Actions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_writes_requested_formats_and_annotations() {
    let w = World::connected().await;
    let mut cmd = bin();
    cmd.current_dir(w.dir.path())
        .arg("run")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials())
        .args(["--snapshots", "snapshots", "--reports", "reports"])
        .args([
            "--format", "junit", "--format", "markdown", "--output", "ci/j.xml",
        ])
        .args(["--output", "-"])
        .env("GITHUB_ACTIONS", "true")
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_no_secret_output(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("# ✅ driftwatch: 0 breaking"),
        "{stdout}"
    );
    assert!(!stdout.contains("::error"), "{stdout}");
    assert!(w.dir.path().join("ci/j.xml").is_file());
    assert!(w.reports().join("latest/run.json").is_file());
    assert!(!w.reports().join("latest/run.md").exists());
}
