//! The nightly job end to end, through the binary: a CI run that finds drift
//! fails with JUnit failures and GitHub annotations and writes nothing under
//! `snapshots/`; a developer accepts the change; the next CI run passes.

use crate::support::{World, contains_secret};
use driftwatch::model::Severity;
use driftwatch::sim::ApiVersion;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

/// `driftwatch <args>` in the world's directory, as CI (`CI=true`,
/// `GITHUB_ACTIONS=true`) or as a developer's shell.
async fn driftwatch(w: &World, args: &[&str], ci: bool) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    cmd.current_dir(w.dir.path())
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret())
        .env("DRIFTWATCH_CREDENTIALS", w.credentials())
        .args(args);
    if ci {
        cmd.env("CI", "true").env("GITHUB_ACTIONS", "true");
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    for stream in [&out.stdout, &out.stderr] {
        assert!(!contains_secret(&String::from_utf8_lossy(stream)));
    }
    out
}

fn run_args(suite: &Path) -> Vec<&str> {
    let suite = suite.to_str().unwrap();
    vec![
        "run",
        suite,
        "--format",
        "junit",
        "--output",
        "ci/junit.xml",
        "--format",
        "terminal",
    ]
}

/// Every file under `snapshots/` with its bytes.
fn snapshot_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                files.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

fn latest_run(w: &World) -> driftwatch::run::Run {
    driftwatch::report::json::read_run(&w.reports().join("latest/run.json")).unwrap()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_fails_the_nightly_job_until_a_developer_accepts_it() {
    let w = World::connected().await;
    let suite = w.suite.clone();

    // Day 0: a developer records the baseline and accepts it.
    let first = driftwatch(&w, &run_args(&suite), false).await;
    assert_eq!(code(&first), Some(0), "{first:?}");
    let accept = driftwatch(&w, &["accept"], false).await;
    assert_eq!(code(&accept), Some(0), "{accept:?}");
    let baseline = snapshot_files(&w.snapshots());
    assert!(
        baseline.keys().all(|k| k.ends_with(".snap")),
        "{baseline:?}"
    );

    // Night 1: the provider ships v2; the CI run fails and says why.
    w.sim.set_version(ApiVersion::V2);
    let night = driftwatch(&w, &run_args(&suite), true).await;
    assert_eq!(code(&night), Some(1), "{night:?}");
    let run = latest_run(&w);
    let breaking = run.count_at_least(Severity::Breaking);
    let warning = run.count_at_least(Severity::Warning) - breaking;
    let info = run.count_at_least(Severity::Info) - breaking - warning;
    // The drift set `drift::v1_to_v2_yields_the_exact_drift_set` spells out, by severity.
    assert_eq!((breaking, warning, info), (20, 2, 2));
    let junit = std::fs::read_to_string(w.dir.path().join("ci/junit.xml")).unwrap();
    // One failing case per probe × subject × connection with breaking drift (11 here), each
    // naming every breaking rule it holds; plus one passing case per connection (4).
    assert!(
        junit.contains(r#"<testsuite name="demo" tests="35" skipped="0" errors="0" failures="11""#),
        "{junit}"
    );
    assert_eq!(count(&junit, "<failure"), 11, "{junit}");
    for d in run
        .drifts
        .iter()
        .filter(|d| d.severity == Severity::Breaking)
    {
        assert!(
            junit.contains(&format!("breaking {}", d.rule)),
            "{} not in JUnit",
            d.rule
        );
    }
    let stdout = String::from_utf8_lossy(&night.stdout);
    // GitHub shows 10 annotations of each level per step: the 10 breaking drifts past the cap
    // are counted in one summary notice instead of being dropped silently.
    assert_eq!(count(&stdout, "::error title="), 10, "{stdout}");
    assert_eq!(count(&stdout, "::warning title="), warning, "{stdout}");
    assert_eq!(count(&stdout, "::notice title="), info + 1, "{stdout}");
    assert_eq!(
        count(
            &stdout,
            "::notice title=driftwatch annotations left out::10 error(s) not shown"
        ),
        1,
        "{stdout}"
    );
    assert_eq!(
        snapshot_files(&w.snapshots()),
        baseline,
        "a CI run wrote under snapshots/"
    );

    // Morning: a developer reruns locally, which writes `.snap.new` files, and accepts them.
    let local = driftwatch(&w, &run_args(&suite), false).await;
    assert_eq!(code(&local), Some(1), "{local:?}");
    let pending = snapshot_files(&w.snapshots())
        .into_keys()
        .filter(|k| k.ends_with(".snap.new"))
        .count();
    assert_eq!(pending, latest_run(&w).pending.len());
    assert!(pending > 0);
    let accept = driftwatch(&w, &["accept"], false).await;
    assert_eq!(code(&accept), Some(0), "{accept:?}");

    // Accepting the new shape does not make the suite's declared schema true again: the
    // declared-schema violation is checked every run, so the team suppresses it, with a reason
    // and an expiry, until the suite is fixed.
    let remaining = driftwatch(&w, &run_args(&suite), true).await;
    assert_eq!(code(&remaining), Some(1), "{remaining:?}");
    let rules: Vec<String> = latest_run(&w)
        .drifts
        .into_iter()
        .map(|d| d.rule.to_string())
        .collect();
    assert_eq!(rules, ["schema.declared-violation"]);
    std::fs::write(
        w.dir.path().join("driftwatch.ignore.yaml"),
        "version: 1\nsuppressions:\n\
         \x20 - rule: schema.declared-violation\n    subject: invoices\n\
         \x20   reason: amount_cents became a string; suite fix in PR 42\n    expires: 2099-12-31\n",
    )
    .unwrap();

    // Night 2: the job passes; the suppressed drift is still reported as such.
    let night2 = driftwatch(&w, &run_args(&suite), true).await;
    assert_eq!(code(&night2), Some(0), "{night2:?}");
    let run = latest_run(&w);
    assert_eq!(run.count_at_least(Severity::Info), 0, "{:?}", run.drifts);
    let suppressed: Vec<&str> = run
        .drifts
        .iter()
        .filter(|d| d.suppressed.is_some())
        .map(|d| d.rule.as_str())
        .collect();
    assert_eq!(suppressed, ["schema.declared-violation"]);
    let junit = std::fs::read_to_string(w.dir.path().join("ci/junit.xml")).unwrap();
    assert_eq!(count(&junit, "<failure"), 0, "{junit}");
    let stdout = String::from_utf8_lossy(&night2.stdout);
    assert_eq!(count(&stdout, "::error"), 0, "{stdout}");
}
