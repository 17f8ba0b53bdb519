//! `run --update` modes, filtered accept/reject and a scripted `review`, through the binary.

use crate::support::World;
use driftwatch::sim::ApiVersion;
use std::path::Path;
use std::process::{Output, Stdio};

fn bin(w: &World) -> std::process::Command {
    w.command()
}

async fn run_bin(w: &World, extra: &[&str], ci: bool) -> Output {
    let mut cmd = bin(w);
    cmd.arg("run")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials())
        .args(["--snapshots", "snapshots", "--reports", "reports"])
        .args(["--fail-on", "never"])
        .args(extra)
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret());
    if ci {
        cmd.env("CI", "true");
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// (accepted, pending) snapshot counts under `dir`.
fn counts(dir: &Path) -> (usize, usize) {
    let (mut accepted, mut pending) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = p.to_string_lossy().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".snap.new") {
                pending += 1;
            } else if name.ends_with(".snap") {
                accepted += 1;
            }
        }
    }
    (accepted, pending)
}

fn review(w: &World, args: &[&str], answers: &str) -> Output {
    use std::io::Write;
    let mut child = bin(w)
        .arg("review")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_modes_no_always_and_always_in_ci() {
    let w = World::connected().await;
    run_bin(&w, &["--update", "no"], false).await;
    assert!(!w.snapshots().exists());

    let ci = run_bin(&w, &["--update", "always"], true).await;
    assert!(
        String::from_utf8_lossy(&ci.stderr)
            .contains("warning: --update always is ignored when CI=true"),
        "{}",
        String::from_utf8_lossy(&ci.stderr)
    );
    assert!(!w.snapshots().exists());

    run_bin(&w, &["--update", "new"], true).await;
    assert_eq!(counts(&w.snapshots()), (0, 31));

    let always = run_bin(&w, &["--update", "always"], false).await;
    assert_eq!(counts(&w.snapshots()), (31, 0));
    // Written in place: reported as such, never as pending review.
    let stdout = String::from_utf8_lossy(&always.stdout);
    assert!(
        stdout.contains("  31 snapshots written to the baseline (--update always)\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("pending snapshot"), "{stdout}");
    let run = driftwatch::report::json::read_run(&w.reports().join("latest/run.json")).unwrap();
    assert_eq!(run.pending.len(), 31);
    assert!(run.pending.iter().all(|p| p.accepted && p.file.is_none()));
    let me = w.snapshots().join("demo/schema/me.snap");
    let v1 = std::fs::read_to_string(&me).unwrap();

    w.sim.set_version(ApiVersion::V2);
    run_bin(&w, &["--update", "no"], false).await;
    assert_eq!(counts(&w.snapshots()), (31, 0));
    assert_eq!(std::fs::read_to_string(&me).unwrap(), v1);
    run_bin(&w, &["--update", "always"], false).await;
    assert_eq!(counts(&w.snapshots()).1, 0);
    assert_ne!(std::fs::read_to_string(&me).unwrap(), v1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_filter_and_scripted_review() {
    let w = World::connected().await;
    run_bin(&w, &["--update", "always"], false).await;
    w.sim.set_version(ApiVersion::V2);
    run_bin(&w, &[], false).await;
    let (_, before) = counts(&w.snapshots());
    assert!(before > 1, "{before}");

    // A mistyped rule is refused with the closest id, and accepts nothing.
    let typo = bin(&w)
        .args(["accept", "--rule", "schema.feild-renamed"])
        .output()
        .unwrap();
    assert_eq!(typo.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&typo.stderr).lines().next(),
        Some(
            "error: unknown rule `schema.feild-renamed` (did you mean `schema.field-renamed`?); \
             `driftwatch rules` lists them"
        )
    );
    assert_eq!(counts(&w.snapshots()).1, before);

    let accept = bin(&w)
        .args(["accept", "--rule", "schema.field-renamed"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&accept.stdout);
    assert_eq!(accept.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("demo/schema/me.snap\n"), "{stdout}");
    assert!(!w.snapshots().join("demo/schema/me.snap.new").exists());
    let (_, after) = counts(&w.snapshots());
    assert!(after < before && after > 0, "{before} → {after}");

    let no_tty = review(&w, &[], "");
    assert_eq!(no_tty.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&no_tty.stderr).contains("use `driftwatch accept`/`reject`"),
        "{}",
        String::from_utf8_lossy(&no_tty.stderr)
    );
    assert_eq!(counts(&w.snapshots()).1, after);

    let out = review(&w, &["--yes"], "r\nq\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.ends_with(&format!("accepted 0, rejected 1, skipped {}\n", after - 1)),
        "{stdout}"
    );
    assert!(stdout.contains("--- accepted\n+++ pending\n"), "{stdout}");
    assert_eq!(counts(&w.snapshots()).1, after - 1);

    let bad = bin(&w)
        .args(["reject", "--probe", "nope"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let probe = bin(&w)
        .args(["reject", "--probe", "schema", "--provider", "demo"])
        .output()
        .unwrap();
    assert_eq!(probe.status.code(), Some(0));
    let left = counts(&w.snapshots()).1;
    assert!(left < after - 1, "{left}");
    let all = review(&w, &["--yes"], "A\n");
    assert!(
        String::from_utf8_lossy(&all.stdout)
            .ends_with(&format!("accepted {left}, rejected 0, skipped 0\n"))
    );
    assert_eq!(counts(&w.snapshots()).1, 0);
}

/// Issue 18 item 4: an unsharded CI run keeps what it would have left for review in its
/// report folder; `accept --from` (with `--rule`) and `review --from` take it into
/// `snapshots/` locally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_pending_in_the_report_folder_accepted_with_from() {
    let w = World::connected().await;
    run_bin(&w, &["--update", "always"], false).await;
    let accepted = counts(&w.snapshots());
    w.sim.set_version(ApiVersion::V2);
    let ci = run_bin(&w, &[], true).await;
    let run = driftwatch::report::json::read_run(&w.reports().join("latest/run.json")).unwrap();
    let dir = w.reports().join(&run.run_id);
    let n = run.pending.len();
    assert!(n > 1, "{n}");
    // Nothing under snapshots/; everything under the report's pending/.
    assert_eq!(counts(&w.snapshots()), accepted);
    assert_eq!(counts(&dir.join("pending")).1, n);
    let stderr = String::from_utf8_lossy(&ci.stderr);
    assert!(
        stderr.contains(&format!(
            "pending: {} ({n} snapshot(s); review with `driftwatch review --from {}`)\n",
            Path::new("reports")
                .join(&run.run_id)
                .join("pending")
                .display(),
            Path::new("reports").join(&run.run_id).display()
        )),
        "{stderr}"
    );

    let from = dir.display().to_string();
    let one = bin(&w)
        .args(["accept", "--from", &from, "--rule", "schema.field-renamed"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&one.stdout);
    assert_eq!(one.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("demo/schema/me.snap\n"), "{stdout}");
    let k = stdout
        .lines()
        .filter(|l| l.starts_with("accepted "))
        .count()
        - 1;
    assert!(
        stdout.ends_with(&format!("accepted {k} snapshot(s)\n")),
        "{stdout}"
    );
    assert!(k >= 1 && k < n, "{k} of {n}");
    assert_eq!(counts(&dir.join("pending")).1, n - k);
    assert!(!w.snapshots().join("demo/schema/me.snap.new").exists());

    let out = review(&w, &["--from", &from, "--yes"], "A\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.ends_with(&format!("accepted {}, rejected 0, skipped 0\n", n - k)),
        "{stdout}"
    );
    assert_eq!(counts(&dir.join("pending")).1, 0);
    assert_eq!(counts(&w.snapshots()), (accepted.0 + new_count(&run), 0));
    // Everything decided has left the report folder: a second pass finds nothing.
    let again = bin(&w).args(["accept", "--from", &from]).output().unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        format!(
            "no pending snapshots under {}\n",
            dir.join("pending").display()
        )
    );
    let missing = bin(&w)
        .args(["review", "--from", "nowhere", "--yes"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("--from `nowhere` is not a directory"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

/// Pending snapshots of `run` for observations that had no baseline yet.
fn new_count(run: &driftwatch::run::Run) -> usize {
    run.pending.iter().filter(|p| p.status == "new").count()
}
