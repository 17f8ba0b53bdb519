//! v1 → v2 yields exactly the expected drifts; v1 → v1 yields none, however
//! volatile the responses.

use crate::support::{World, assert_no_leaks, drift_set};
use driftwatch::model::Severity;
use driftwatch::sim::ApiVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_writes_pending_snapshots_and_no_drift() {
    let w = World::connected().await;
    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    assert_eq!(run.drifts, vec![]);
    let pending: Vec<_> = run
        .pending
        .iter()
        .map(|p| (p.subject.as_str(), p.status.as_str()))
        .collect();
    assert_eq!(
        pending,
        vec![
            ("token-endpoint.error-probe", "new"),
            ("token-endpoint.refresh_token", "new"),
            ("audit-log", "new"),
            ("invoices", "new"),
            ("me", "new"),
            ("reports-summary", "new"),
            ("workspace-settings", "new"),
        ]
    );
    assert!(w.snapshots().join("demo/schema/me.snap.new").is_file());
    assert!(!w.snapshots().join("demo/schema/me.snap").exists());
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_to_v1_reruns_yield_zero_drift() {
    let w = World::connected().await;
    w.run_and_accept().await;
    let accepted =
        std::fs::read_to_string(w.snapshots().join("demo/schema/invoices.snap")).unwrap();
    for i in 0..5 {
        let run = w.run().await;
        assert_eq!(run.errors, vec![], "rerun {i}");
        assert_eq!(drift_set(&run), vec![], "rerun {i}");
        assert_eq!(run.pending, vec![], "rerun {i}");
    }
    // A run never rewrites an accepted file.
    assert_eq!(
        std::fs::read_to_string(w.snapshots().join("demo/schema/invoices.snap")).unwrap(),
        accepted
    );
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_to_v2_yields_the_exact_drift_set() {
    let w = World::connected().await;
    w.run_and_accept().await;
    w.sim.set_version(ApiVersion::V2);
    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    let expected: Vec<(String, String, String)> = [
        (
            "schema.declared-violation",
            "invoices",
            "$.data[].amount_cents",
        ),
        (
            "schema.field-added",
            "reports-summary",
            "$.metrics.video_views",
        ),
        ("schema.field-removed", "invoices", "$.data[].currency"),
        ("schema.field-renamed", "me", "$.name"),
        (
            "schema.nullability-changed",
            "workspace-settings",
            "$.billing_email",
        ),
        ("schema.type-changed", "invoices", "$.data[].amount_cents"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(drift_set(&run), expected);

    let by_rule = |r: &str| run.drifts.iter().find(|d| d.rule == r).unwrap();
    assert_eq!(by_rule("schema.type-changed").severity, Severity::Breaking);
    assert_eq!(by_rule("schema.field-added").severity, Severity::Info);
    assert_eq!(
        by_rule("schema.nullability-changed").severity,
        Severity::Warning
    );
    // globex has no invoices, so only the other three violate the declared schema.
    assert_eq!(
        by_rule("schema.declared-violation").connections,
        vec!["acme-corp", "initech", "umbrella"]
    );
    let renamed = by_rule("schema.field-renamed");
    assert_eq!(renamed.after.as_ref().unwrap()["path"], "$.display_name");
    // Evidence links to recorded exchanges of this run.
    for d in &run.drifts {
        assert!(!d.exchanges.is_empty(), "{} has no exchanges", d.rule);
        for x in &d.exchanges {
            assert!(run.exchanges.iter().any(|e| &e.id == x), "{x} not recorded");
        }
    }
    let pending: Vec<_> = run
        .pending
        .iter()
        .map(|p| (p.subject.as_str(), p.status.as_str()))
        .collect();
    assert_eq!(
        pending,
        vec![
            ("invoices", "changed"),
            ("me", "changed"),
            ("reports-summary", "changed"),
            ("workspace-settings", "changed"),
        ]
    );
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_runs_write_no_pending_files() {
    let w = World::connected().await;
    let quiet = |_e: driftwatch::run::Event| {};
    let run = driftwatch::run::execute(&w.ctx, &w.options(false), &quiet)
        .await
        .unwrap();
    assert_eq!(run.pending.len(), 7);
    assert!(run.pending.iter().all(|p| p.file.is_none()));
    assert!(
        !w.snapshots().exists() || crate::support::files_with_secrets(&w.snapshots()).is_empty()
    );
    let written = driftwatch::baseline::BaselineStore::new(w.snapshots())
        .pending()
        .unwrap();
    assert_eq!(written, Vec::<std::path::PathBuf>::new());
}
