//! The secret canary: every command and every output format, against the sim
//! at maximum verbosity (`DRIFTWATCH_LOG=trace`, `RUST_BACKTRACE=1`), with
//! every secret in the environment. No `sim_` secret may appear on any stdout
//! or stderr, nor in any file written under the scratch directory — except
//! the credential store, whose job is to hold them.
//!
//! No command has a legitimate panic path to force, so panic messages are
//! covered by the stderr scan of every command (a panic would print there,
//! with `RUST_BACKTRACE=1` backtraces).

use crate::support::{World, contains_secret};
use driftwatch::sim::{ApiVersion, SimOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn cmd(w: &World, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    c.current_dir(w.dir.path())
        .args(args)
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .env("DRIFTWATCH_LOG", "trace")
        .env("RUST_BACKTRACE", "1")
        .env("DRIFTWATCH_CREDENTIALS", w.credentials())
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret());
    c
}

/// Runs a command to completion (stdin fed `input`), checks its exit code and
/// both streams, and returns its output.
async fn check(mut c: Command, input: &str, codes: &[i32], what: &str) -> Output {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let input = input.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = c.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input.as_bytes());
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some_and(|c| codes.contains(&c)),
        "{what}: exit {:?}\n{stdout}\n{stderr}",
        out.status.code()
    );
    assert!(!stdout.contains("panicked"), "{what}: panicked\n{stdout}");
    assert!(!stderr.contains("panicked"), "{what}: panicked\n{stderr}");
    assert!(
        !contains_secret(&stdout),
        "{what}: secret on stdout\n{stdout}"
    );
    assert!(
        !contains_secret(&stderr),
        "{what}: secret on stderr\n{stderr}"
    );
    // Trace logging really was on: the canary must look at the noisiest output.
    if what.starts_with("run") {
        assert!(
            stderr.contains("TRACE") || stderr.contains("DEBUG"),
            "{what}: no trace log"
        );
    }
    out
}

/// A `connect` child whose stdout is read up to the line `pick` recognises.
struct Interactive {
    child: std::process::Child,
    reader: BufReader<std::process::ChildStdout>,
    seen: String,
}

impl Interactive {
    /// Starts `driftwatch <args>` and reads stdout until `pick` returns a value (the URL to
    /// visit, the user code to enter).
    async fn start(
        w: &World,
        args: &[&str],
        what: &'static str,
        pick: fn(&str) -> Option<String>,
    ) -> (Interactive, String) {
        let mut child = cmd(w, args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (picked, seen, reader) = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut seen = String::new();
            loop {
                let mut line = String::new();
                assert_ne!(
                    reader.read_line(&mut line).unwrap(),
                    0,
                    "no {what} in {seen}"
                );
                seen.push_str(&line);
                if let Some(p) = pick(&line) {
                    return (p, seen, reader);
                }
            }
        })
        .await
        .unwrap();
        (
            Interactive {
                child,
                reader,
                seen,
            },
            picked,
        )
    }

    /// Waits for the child; its exit code and everything it printed.
    async fn finish(self) -> (Option<i32>, String) {
        let Interactive {
            mut child,
            mut reader,
            seen,
        } = self;
        tokio::task::spawn_blocking(move || {
            let mut tail = String::new();
            let _ = std::io::Read::read_to_string(&mut reader, &mut tail);
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err);
            (child.wait().unwrap().code(), format!("{seen}{tail}{err}"))
        })
        .await
        .unwrap()
    }
}

/// `connect` through the consent-header path: the test plays the browser.
async fn connect_with_consent(w: &World, connection: &str) {
    let (run, url) = Interactive::start(
        w,
        &["connect", "suites/demo.yaml", connection, "--no-browser"],
        "URL",
        |line| {
            line.trim_start()
                .starts_with("http")
                .then(|| line.trim().to_string())
        },
    )
    .await;
    let page = reqwest::Client::new()
        .get(format!("{url}&login_hint={connection}"))
        .header("X-Sim-Consent", "approve")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let (code, seen) = run.finish().await;
    assert_eq!(code, Some(0), "connect: {seen}");
    assert!(!contains_secret(&seen), "connect printed a secret:\n{seen}");
}

/// `connect --device`: the test approves the user code.
async fn connect_with_device(w: &World, connection: &str) {
    let (run, code_line) = Interactive::start(
        w,
        &["connect", "suites/demo.yaml", connection, "--device"],
        "code",
        |line| {
            line.trim_end()
                .strip_prefix("and enter the code: ")
                .map(str::to_string)
        },
    )
    .await;
    let approved = reqwest::Client::new()
        .post(format!("{}/device/approve", w.sim.base_url()))
        .form(&[
            ("user_code", code_line.as_str()),
            ("login_hint", connection),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status().as_u16(), 200);
    let (code, seen) = run.finish().await;
    assert_eq!(code, Some(0), "connect --device: {seen}");
    assert!(
        !contains_secret(&seen),
        "connect --device printed a secret:\n{seen}"
    );
}

/// Every file under `dir` holding a secret, except the credential store (and its lock).
fn leaking_files(dir: &Path, store: &Path) -> Vec<PathBuf> {
    crate::support::files_with_secrets(dir)
        .into_iter()
        .filter(|p| p != store)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_or_format_leaks_a_secret() {
    let w = World::start(SimOptions {
        access_token_ttl: Duration::from_secs(30),
        device_interval: Duration::from_secs(1),
        ..SimOptions::default()
    })
    .await;
    let text = std::fs::read_to_string(&w.suite).unwrap();
    std::fs::write(&w.suite, text.replace("127.0.0.1:8765", "127.0.0.1:0")).unwrap();
    // Two connections through the CLI (both flows), the rest through the library.
    connect_with_consent(&w, "acme-corp").await;
    connect_with_device(&w, "globex").await;
    w.connect_all().await;

    let ok = &[0];
    let drift = &[0, 1];
    check(cmd(&w, &["check", "suites/demo.yaml"]), "", ok, "check").await;
    check(cmd(&w, &["schema"]), "", ok, "schema").await;
    check(cmd(&w, &["rules"]), "", ok, "rules").await;
    check(cmd(&w, &["rules", "--json"]), "", ok, "rules --json").await;
    check(cmd(&w, &["tokens", "suites/demo.yaml"]), "", ok, "tokens").await;
    check(
        cmd(&w, &["tokens", "suites/demo.yaml", "--json"]),
        "",
        ok,
        "tokens --json",
    )
    .await;

    // A first run and its baseline, then drift so every report has content.
    check(cmd(&w, &["run", "suites/demo.yaml"]), "", ok, "run").await;
    check(cmd(&w, &["accept"]), "", ok, "accept").await;
    w.sim.set_version(ApiVersion::V2);
    let formats = [
        "--format",
        "terminal",
        "--format",
        "json",
        "--format",
        "junit",
        "--format",
        "markdown",
        "--output",
        "-",
        "--output",
        "out/run.json",
        "--output",
        "out/run.xml",
        "--output",
        "out/run.md",
    ];
    let mut all = vec!["run", "suites/demo.yaml"];
    all.extend(formats);
    check(cmd(&w, &all), "", drift, "run (every format)").await;
    let mut gha = cmd(&w, &["run", "suites/demo.yaml", "--format", "markdown"]);
    gha.env("GITHUB_ACTIONS", "true");
    let annotated = check(gha, "", drift, "run (GitHub Actions)").await;
    assert!(
        String::from_utf8_lossy(&annotated.stdout).contains("::error"),
        "the annotations were not exercised"
    );
    for format in ["terminal", "json", "junit", "markdown"] {
        let args = ["report", "reports/latest/run.json", "--format", format];
        check(cmd(&w, &args), "", ok, &format!("report --format {format}")).await;
    }
    check(cmd(&w, &["review", "--yes"]), "s\na\nr\nq\n", ok, "review").await;
    let rule = ["accept", "--rule", "schema.field-removed"];
    check(cmd(&w, &rule), "", ok, "accept --rule").await;
    check(cmd(&w, &["reject"]), "", ok, "reject").await;
    check(
        cmd(&w, &["demo", "--reports", "demo-reports"]),
        "",
        drift,
        "demo",
    )
    .await;

    // The standalone sim, briefly: its banner names where the secret came from, not the secret.
    let mut sim = cmd(&w, &["sim", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = sim.stdout.take().unwrap();
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
    sim.kill().unwrap();
    let sim_out = sim.wait_with_output().unwrap();
    assert!(banner.contains("Ctrl-C"), "{banner}");
    assert!(!contains_secret(&banner), "{banner}");
    assert!(!contains_secret(&String::from_utf8_lossy(&sim_out.stderr)));

    // Every file any command wrote: reports in every format, snapshots, pending files.
    let store = w.credentials();
    assert!(
        contains_secret(&std::fs::read_to_string(&store).unwrap()),
        "the canary is blind"
    );
    assert_eq!(leaking_files(w.dir.path(), &store), Vec::<PathBuf>::new());
    for f in [
        "out/run.json",
        "out/run.xml",
        "out/run.md",
        "demo-reports/latest/run.json",
    ] {
        assert!(w.dir.path().join(f).is_file(), "{f} was not written");
    }
}
