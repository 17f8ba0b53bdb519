//! Suppressions through the binary: known drifts are shown as suppressed, never fail a
//! run, and a bad ignore file is a usage error naming the file.

use crate::support::{WebhookReceiver, World, contains_secret};
use driftwatch::model::Severity;
use driftwatch::run::Run;
use driftwatch::sim::ApiVersion;
use std::fmt::Write as _;
use std::process::Output;

/// `driftwatch run` against the world's sim, in a child process.
async fn run_bin(w: &World, extra: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    cmd.env_remove("CI")
        .env("NO_COLOR", "1")
        .current_dir(w.dir.path())
        .arg("run")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials())
        .args(["--snapshots", "snapshots", "--reports", "reports"])
        .args(extra)
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(!contains_secret(&String::from_utf8_lossy(&out.stdout)));
    assert!(!contains_secret(&String::from_utf8_lossy(&out.stderr)));
    out
}

fn latest(w: &World) -> Run {
    driftwatch::report::read_run(&w.reports().join("latest/run.json")).unwrap()
}

/// Connected demo world, baseline accepted at v1, provider now at v2.
async fn drifted_world() -> World {
    let w = World::connected().await;
    w.run_and_accept().await;
    w.sim.set_version(ApiVersion::V2);
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_ignore_file_suppresses_only_what_it_names() {
    let w = drifted_world().await;
    std::fs::write(
        w.dir.path().join("driftwatch.ignore.yaml"),
        "version: 1\nsuppressions:\n\
         \x20 - rule: schema.field-renamed\n    provider: demo\n    subject: me\n\
         \x20   reason: display_name rename tracked in JIRA-123\n\
         \x20 - rule: schema.field-added\n    subject: nowhere\n    reason: never matches\n\
         \x20 - rule: schema.field-removed\n    reason: too late\n    expires: 2020-01-31\n",
    )
    .unwrap();
    let out = run_bin(&w, &["--fail-on", "breaking"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Other breaking drifts remain.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "    breaking  schema.field-renamed  me $.name  — display_name rename tracked in JIRA-123"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("19 breaking · 3 warning · 2 info · 0 errors · 1 suppressed"),
        "{stdout}"
    );

    let run = latest(&w);
    let suppressed: Vec<(&str, &str)> = run
        .drifts
        .iter()
        .chain(&run.findings)
        .filter_map(|d| Some((d.rule.as_str(), d.suppressed.as_deref()?)))
        .collect();
    assert_eq!(
        suppressed,
        vec![(
            "schema.field-renamed",
            "display_name rename tracked in JIRA-123"
        )]
    );
    let removed = run
        .drifts
        .iter()
        .find(|d| d.rule == "schema.field-removed")
        .unwrap();
    assert_eq!(
        removed.suppressed, None,
        "an expired entry no longer applies"
    );
    let expired: Vec<_> = run
        .drifts
        .iter()
        .filter(|d| d.rule == "suppression.expired")
        .map(|d| (d.severity, d.subject.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(
        expired,
        vec![(
            Severity::Warning,
            "schema.field-removed",
            "suppression of `schema.field-removed` expired on 2020-01-31 (reason: too late)"
        )]
    );
    let unused: Vec<_> = run
        .findings
        .iter()
        .filter(|d| d.rule == "suppression.unused")
        .map(|d| (d.severity, d.provider.as_str(), d.subject.as_str()))
        .collect();
    assert_eq!(
        unused,
        vec![(Severity::Info, "suppressions", "schema.field-added")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_breaking_drifts_are_all_suppressed_passes() {
    let w = drifted_world().await;
    let first = run_bin(&w, &[]).await;
    assert_eq!(first.status.code(), Some(1));
    let run = latest(&w);
    let mut yaml = String::from("version: 1\nsuppressions:\n");
    let breaking: Vec<_> = run
        .drifts
        .iter()
        .filter(|d| d.severity == Severity::Breaking)
        .collect();
    assert!(breaking.len() > 1);
    for d in &breaking {
        let _ = write!(
            yaml,
            "  - rule: {}\n    fingerprint: \"{}\"\n    reason: accepted for the migration\n",
            d.rule, d.fingerprint
        );
    }
    std::fs::write(w.dir.path().join("known.yaml"), yaml).unwrap();
    let out = run_bin(&w, &["--suppressions", "known.yaml"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let run = latest(&w);
    assert!(
        run.drifts
            .iter()
            .filter(|d| d.severity == Severity::Breaking)
            .all(|d| d.suppressed.is_some())
    );
    assert_eq!(
        run.drifts.iter().filter(|d| d.suppressed.is_some()).count(),
        breaking.len()
    );
    assert!(run.findings.iter().all(|d| d.rule != "suppression.unused"));
    // Without the file the same run fails again: nothing was accepted into the baseline.
    let again = run_bin(&w, &[]).await;
    assert_eq!(again.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_ignore_file_exits_2_naming_the_file() {
    let w = World::start(Default::default()).await;
    std::fs::write(
        w.dir.path().join("bad-ignore.yaml"),
        "version: 1\nsuppressions:\n  - rule: schema.field-renamed\n",
    )
    .unwrap();
    let out = run_bin(&w, &["--suppressions", "bad-ignore.yaml"]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid suppressions bad-ignore.yaml:3:"),
        "{stderr}"
    );
    assert!(stderr.contains("reason"), "{stderr}");

    let missing = run_bin(&w, &["--suppressions", "nope.yaml"]).await;
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("cannot read suppressions `nope.yaml`"),
        "{stderr}"
    );
}

/// Issue 16: Markdown counted a suppressed breaking drift ("❌ 1 breaking") while the
/// terminal said "0 breaking · 1 suppressed" and JUnit `failures="0"`. Every output of
/// one run with suppressed drifts now prints the same numbers: those of the run summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_and_the_webhook_agree_on_counts_with_suppressed_drifts() {
    let w = drifted_world().await;
    let first = run_bin(&w, &[]).await;
    assert_eq!(first.status.code(), Some(1));
    let mut yaml = String::from("version: 1\nsuppressions:\n");
    let run = latest(&w);
    let breaking: Vec<_> = run
        .drifts
        .iter()
        .filter(|d| d.severity == Severity::Breaking)
        .collect();
    assert_eq!(breaking.len(), 20);
    for d in &breaking {
        let _ = write!(
            yaml,
            "  - rule: {}\n    fingerprint: \"{}\"\n    reason: accepted for the migration\n",
            d.rule, d.fingerprint
        );
    }
    std::fs::write(w.dir.path().join("known.yaml"), yaml).unwrap();
    let hook = WebhookReceiver::start(200).await;
    let out = run_bin(
        &w,
        &[
            "--suppressions",
            "known.yaml",
            "--format",
            "terminal",
            "--format",
            "markdown",
            "--format",
            "junit",
            "--format",
            "html",
            "--webhook",
            &hook.url,
            "--webhook-on",
            "warning",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let run = latest(&w);
    let dir = w.reports().join(&run.run_id);
    let counts = "0 breaking · 2 warning · 2 info · 0 errors · 20 suppressed";

    // Terminal: the closing counts line.
    assert_eq!(stdout.lines().rev().nth(1), Some(counts), "{stdout}");
    // Markdown: the headline and the provider row (breaking, warning, info, errors).
    let md = std::fs::read_to_string(dir.join("run.md")).unwrap();
    assert_eq!(
        md.lines().next(),
        Some(format!("# ⚠️ driftwatch: {counts}").as_str())
    );
    assert_eq!(md.matches("\n| demo | 0 | 2 | 2 | 0 | ").count(), 1, "{md}");
    // JUnit: no failing case, and the provider's counts as properties.
    let xml = std::fs::read_to_string(dir.join("run.xml")).unwrap();
    assert_eq!(xml.matches("<failure").count(), 0, "{xml}");
    assert!(xml.contains(r#"failures="0""#), "{xml}");
    for p in [
        r#"<property name="drifts.breaking" value="0"/>"#,
        r#"<property name="drifts.warning" value="2"/>"#,
        r#"<property name="drifts.info" value="2"/>"#,
        r#"<property name="drifts.suppressed" value="20"/>"#,
    ] {
        assert_eq!(xml.matches(p).count(), 1, "{p} in {xml}");
    }
    // HTML: the verdict and the headline.
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains(r#"class="verdict verdict-warning""#));
    assert_eq!(html.matches(counts).count(), 1);
    // Webhook: the same totals, and the same per-provider field.
    let got = hook.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0]["text"],
        format!(
            "driftwatch: 2 drifts at or above warning (0 breaking · 2 warning · 2 info · 20 suppressed) in run {}",
            run.run_id
        )
    );
    assert_eq!(
        got[0]["blocks"][1]["fields"],
        serde_json::json!([{"type": "mrkdwn", "text": "*demo*\n0 breaking · 2 warning · 2 info · 20 suppressed"}])
    );
}
