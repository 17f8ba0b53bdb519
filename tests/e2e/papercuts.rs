//! Issue 18 items 5 and 6: severity overrides and the papercuts — unknown filters, exit codes
//! of `run` without suites and of `report --fail-on`, `check` collecting every error, a closed
//! pipe, review's bad key, and one table of exit codes and environment variables.

use crate::support::{World, driftwatch};
use driftwatch::model::Severity;
use driftwatch::run::Run;
use driftwatch::sim::ApiVersion;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Output, Stdio};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `driftwatch run` of the world (in its directory, so `driftwatch.toml` there is read).
async fn run_bin(w: &World) -> Output {
    let mut cmd = w.command();
    cmd.arg("run")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials())
        .args(["--snapshots", "snapshots", "--reports", "reports"])
        .args(["--fail-on", "breaking"]);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn latest(w: &World) -> Run {
    driftwatch::report::read_run(&w.reports().join("latest/run.json")).unwrap()
}

/// Rule ids of the run's unsuppressed drifts with exactly this severity (findings never
/// fail a run, whatever their severity).
fn rules_at(run: &Run, s: Severity) -> BTreeSet<String> {
    run.drifts
        .iter()
        .filter(|d| d.severity == s && d.suppressed.is_none())
        .map(|d| d.rule.as_str().to_string())
        .collect()
}

/// Issue 18 item 5: a `[severity]` override turning a warning into breaking changes the exit
/// code of `run` and of `report --fail-on`; `driftwatch config` shows each override and where
/// it came from; a bad key in `review` says which keys exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn severity_override_changes_the_exit_code_of_run_and_report() {
    let w = World::connected().await;
    w.run_and_accept().await;
    w.sim.set_version(ApiVersion::V2);

    let out = run_bin(&w).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let first = latest(&w);
    let first_json = w
        .reports()
        .join(&first.run_id)
        .join("run.json")
        .display()
        .to_string();
    let breaking = rules_at(&first, Severity::Breaking);
    let warning: BTreeSet<String> = rules_at(&first, Severity::Warning)
        .difference(&breaking)
        .cloned()
        .collect();
    assert!(!breaking.is_empty());
    let promoted = warning.iter().next().expect("a warning-only rule").clone();
    let promoted_count = first
        .drifts
        .iter()
        .filter(|d| d.rule == promoted.as_str())
        .count();

    // Every breaking rule downgraded: nothing fails at `--fail-on breaking`.
    let mut toml = String::from("[severity]\n");
    for r in &breaking {
        toml.push_str(&format!("\"{r}\" = \"warning\"\n"));
    }
    std::fs::write(w.dir.path().join("driftwatch.toml"), &toml).unwrap();
    let out = run_bin(&w).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let second = latest(&w);
    assert_eq!(rules_at(&second, Severity::Breaking), BTreeSet::new());
    let report = |fail_on: &str| {
        let mut c = w.command();
        c.args([
            "report",
            &first_json,
            "--format",
            "json",
            "--fail-on",
            fail_on,
        ]);
        c.output().unwrap()
    };
    assert_eq!(report("breaking").status.code(), Some(0));

    // One warning rule promoted for the `demo` provider: `run` and `report` fail again.
    toml.push_str(&format!(
        "\n[severity.demo]\n\"{promoted}\" = \"breaking\"\n"
    ));
    std::fs::write(w.dir.path().join("driftwatch.toml"), &toml).unwrap();
    let out = run_bin(&w).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let third = latest(&w);
    assert_eq!(
        rules_at(&third, Severity::Breaking),
        BTreeSet::from([promoted.clone()])
    );
    assert_eq!(
        third
            .drifts
            .iter()
            .filter(|d| d.severity == Severity::Breaking)
            .count(),
        promoted_count
    );
    assert_eq!(report("breaking").status.code(), Some(1));
    assert_eq!(report("never").status.code(), Some(0));
    // Without a threshold (flag, environment or config file) re-rendering is no verdict.
    let mut c = w.command();
    c.args(["report", &first_json, "--format", "json"]);
    assert_eq!(c.output().unwrap().status.code(), Some(0));

    let mut c = w.command();
    c.arg("config");
    let shown = text(&c.output().unwrap().stdout);
    let line = format!("severity.demo.\"{promoted}\"");
    assert!(
        shown.lines().any(|l| l.starts_with(&line)
            && l.contains("= \"breaking\"")
            && l.ends_with("# config file")),
        "{shown}"
    );
    assert_eq!(
        shown.lines().filter(|l| l.starts_with("severity.")).count(),
        breaking.len() + 1,
        "{shown}"
    );

    // Review through a pipe: a bad key names the keys that exist, then `q` quits.
    let mut c = w.command();
    c.args(["review", "--yes", "--snapshots", "snapshots"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"x\nq\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains(
            "`x` is not an answer: press a (accept), r (reject), s (skip), A (accept all), \
             R (reject all) or q (quit)\n"
        ),
        "{}",
        text(&out.stdout)
    );
}

/// Issue 18 item 5: an unknown rule id in `[severity]` is a usage error with the closest id.
#[test]
fn severity_override_unknown_rule_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("driftwatch.toml"),
        "[severity]\n\"refresh.class-chnaged\" = \"breaking\"\n",
    )
    .unwrap();
    let out = driftwatch()
        .current_dir(dir.path())
        .arg("config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: unknown rule `refresh.class-chnaged` (did you mean `refresh.class-changed`?); \
         `driftwatch rules` lists them\n \
         --> driftwatch.toml:2:27\n  |\n2 | \"refresh.class-chnaged\" = \"breaking\"\n  \
         |                           ^^^^^^^^^^ not a rule id\n"
    );
}

fn minimal_run(dir: &Path) {
    let reports = dir.join("reports/latest");
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::write(
        reports.join("run.json"),
        r#"{"format": "driftwatch-run/1", "run_id": "20261127T210000Z-abcd",
            "started_at": "2026-11-27T21:00:00Z", "finished_at": "2026-11-27T21:00:00Z",
            "duration_ms": 1, "suites": [], "observations": [], "drifts": [],
            "pending": [], "errors": [], "exchanges": []}"#,
    )
    .unwrap();
}

/// Issue 18: `accept --rule schema.feild-added` or `--provider dmeo` printed "no pending
/// snapshots" and exited 0; an unknown filter is now exit 2 with the closest name.
#[test]
fn unknown_filter_is_a_usage_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("snapshots/demo/schema")).unwrap();
    minimal_run(dir.path());
    let cases: [(&[&str], &str); 4] = [
        (
            &["accept", "--provider", "dmeo"],
            "error: unknown provider `dmeo` (did you mean `demo`?): `snapshots` has snapshots of demo\n",
        ),
        (
            &["reject", "--provider", "globex"],
            "error: unknown provider `globex`: `snapshots` has snapshots of demo\n",
        ),
        (
            &["accept", "--probe", "shcema"],
            "error: unknown probe `shcema` (did you mean `schema`?) (expected metadata, token, \
             permissions, refresh, schema, values or deprecation)\n",
        ),
        (
            &["accept", "--rule", "schema.feild-added"],
            "error: unknown rule `schema.feild-added` (did you mean `schema.field-added`?); \
             `driftwatch rules` lists them\n",
        ),
    ];
    for (args, want) in cases {
        let out = driftwatch()
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&out.stderr), want, "{args:?}");
        assert_eq!(text(&out.stdout), "", "{args:?}");
    }
}

/// Issue 18: `run` in a directory without `suites/` exited 3 with a doubled cause; it is a
/// usage error (2) with one line, as a missing suite file is.
#[test]
fn run_without_suites_dir_exits_2_with_one_cause() {
    let dir = tempfile::tempdir().unwrap();
    let out = driftwatch()
        .current_dir(dir.path())
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: no suites given and no `suites/` directory in `")
            && err.ends_with(
                "`: pass suite files or create `suites/<provider>.yaml` (`driftwatch init` writes one)\n"
            ),
        "{err}"
    );
}

/// Issue 18: `driftwatch run 2>&1 | head -1` could exit 101 (a panic writing to a closed
/// stderr). With both pipes closed before the first write, the exit code is the command's own.
#[test]
fn closed_stdout_and_stderr_exit_quietly_with_the_command_code() {
    let dir = tempfile::tempdir().unwrap();
    for (args, code) in [(&["run"][..], 2), (&["rules"][..], 0), (&["man"][..], 0)] {
        let mut child = driftwatch()
            .current_dir(dir.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Drop the read ends: every write the child makes meets a closed pipe.
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
}

/// Issue 18: `check` reported only the first structural error of a suite; it now reports every
/// one it can (a misspelt key is read as the key meant, a wrong value is blanked) and the
/// checks of meaning after them, across several files.
#[test]
fn check_collects_every_structural_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "version: 1\nprovider:\n  name: acme\n  base_urll: https://api.acme.test\nauth:\n  \
         grant: static_bearer\n  token: literal\nendpoints:\n  - id: a\n    path: /a\n    \
         methodd: GET\n  - id: b\n    path: /b\n    requires: {a: b}\nseverity:\n  \
         refresh.class-chnaged: breaking\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        "version: 1\nprovider:\n  name: b\n  base_url: https://b.test\n  colour: red\n",
    )
    .unwrap();
    let out = driftwatch()
        .current_dir(dir.path())
        .args(["check", "a.yaml", "b.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let messages: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with(" --> ") || l.starts_with("  --> "))
        .collect();
    assert_eq!(
        messages,
        [
            "error: unknown key `base_urll`",
            " --> a.yaml:4:3",
            "error: unknown key `token`",
            " --> a.yaml:7:3",
            "error: unknown key `methodd`",
            "  --> a.yaml:11:5",
            "error: wrong type for `requires`",
            "  --> a.yaml:14:15",
            "error: unknown rule `refresh.class-chnaged` (did you mean `refresh.class-changed`?); `driftwatch rules` lists them",
            "  --> a.yaml:16:26",
            "error: missing `auth`",
            " --> b.yaml:1:1",
            "error: unknown key `colour`",
            " --> b.yaml:5:3",
        ],
        "{err}"
    );
    assert!(err.contains("\nchecked 2 suites: 7 errors, "), "{err}");
}

/// Issue 18: exit codes and environment variables come from one table in `cli.rs`; README's
/// tables and `--help` are that table.
#[test]
fn readme_exit_codes_and_environment_match_the_source() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains(&driftwatch::cli::exit_codes_markdown()),
        "README's exit-code table differs from cli::EXIT_CODES:\n{}",
        driftwatch::cli::exit_codes_markdown()
    );
    assert!(
        readme.contains(&driftwatch::cli::env_vars_markdown()),
        "README's environment table differs from cli::ENV_VARS:\n{}",
        driftwatch::cli::env_vars_markdown()
    );
    for args in [&["--help"][..], &["run", "--help"][..]] {
        let out = driftwatch().args(args).output().unwrap();
        assert!(
            text(&out.stdout).contains(&driftwatch::cli::exit_and_env_help()),
            "{args:?}"
        );
    }
}
