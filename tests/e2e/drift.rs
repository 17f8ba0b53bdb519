//! v1 → v2 yields exactly the expected drifts; v1 → v1 yields none, however
//! volatile the responses.

use crate::support::{World, assert_no_leaks, drift_lines, pending_set};
use driftwatch::model::Severity;
use driftwatch::sim::ApiVersion;

const ENDPOINTS: [&str; 7] = [
    "activities",
    "audit-log",
    "channels",
    "invoices",
    "me",
    "reports-summary",
    "workspace-settings",
];

fn expected_first_pending() -> Vec<(String, String, String, String)> {
    let mut v = vec![
        ("metadata", "oauth-authorization-server", ""),
        ("metadata", "openid-configuration", ""),
        ("token", "token-endpoint.error-probe", ""),
        ("token", "token-endpoint.refresh_token", ""),
    ];
    v.extend(ENDPOINTS.iter().map(|e| ("permissions", *e, "")));
    for c in ["acme-corp", "globex", "initech", "umbrella"] {
        v.push(("refresh", "refresh", c));
    }
    v.extend(ENDPOINTS.iter().map(|e| ("schema", *e, "")));
    v.push(("values", "reports-summary", ""));
    v.extend(ENDPOINTS.iter().map(|e| ("deprecation", *e, "")));
    v.push(("app", "client", ""));
    v.into_iter()
        .map(|(p, s, c)| {
            (
                p.to_string(),
                s.to_string(),
                c.to_string(),
                "new".to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_writes_pending_snapshots_and_no_drift() {
    let w = World::connected().await;
    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    assert_eq!(run.drifts, vec![]);
    assert_eq!(pending_set(&run), expected_first_pending());
    assert!(w.snapshots().join("demo/schema/me.snap.new").is_file());
    assert!(
        w.snapshots()
            .join("demo/refresh/refresh@umbrella.snap.new")
            .is_file()
    );
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
        assert_eq!(drift_lines(&run), Vec::<String>::new(), "rerun {i}");
        assert_eq!(run.pending, vec![], "rerun {i}");
    }
    // A run never rewrites an accepted file.
    assert_eq!(
        std::fs::read_to_string(w.snapshots().join("demo/schema/invoices.snap")).unwrap(),
        accepted
    );
    assert_no_leaks(w.dir.path());
}

/// Every drift a v1 → v2 switch of the simulated provider yields for the demo
/// suite with access tokens shorter than the refresh margin (the demo's real
/// drifts), as `drift_lines` prints them. Also what a v2 switch of a separately
/// running `driftwatch sim` must yield (`sim_process.rs`).
pub const V1_TO_V2_DRIFTS: &[&str] = &[
    // `/v1/invoices` announces its deprecation and sunset.
    "deprecation.announced invoices $.deprecated",
    "deprecation.announced invoices $.sunset",
    "deprecation.link-changed invoices $.links",
    "deprecation.warning-added invoices $.vendor['X-API-Warn']",
    // Discovery drops a grant type, a scope and an auth method.
    "metadata.auth-method-removed oauth-authorization-server token_endpoint_auth_methods_supported",
    "metadata.auth-method-removed openid-configuration token_endpoint_auth_methods_supported",
    "metadata.grant-removed oauth-authorization-server grant_types_supported",
    "metadata.grant-removed openid-configuration grant_types_supported",
    "metadata.scope-removed oauth-authorization-server scopes_supported",
    "metadata.scope-removed openid-configuration scopes_supported",
    // v2 tightens `/v1/invoices` (now also needs `email`): `basic` loses it.
    "permission.newly-denied invoices basic",
    // v2 stops issuing refresh tokens: one verdict per connection (no class guessed from the
    // same fact, no second token-endpoint verdict).
    "refresh.stopped-issuing refresh $.issues_refresh_tokens [acme-corp]",
    "refresh.stopped-issuing refresh $.issues_refresh_tokens [globex]",
    "refresh.stopped-issuing refresh $.issues_refresh_tokens [initech]",
    "refresh.stopped-issuing refresh $.issues_refresh_tokens [umbrella]",
    // The response-shape changes.
    "schema.declared-violation invoices $.data[].amount_cents [acme-corp,initech,umbrella]",
    "schema.field-added reports-summary $.metrics.video_views",
    "schema.field-removed invoices $.data[].currency",
    "schema.field-renamed me $.name",
    "schema.nullability-changed workspace-settings $.billing_email",
    "schema.status-changed invoices - [globex]",
    "schema.type-changed invoices $.data[].amount_cents",
    // The token endpoint's own view of the same stop.
    // `conversions` silently zero for umbrella (globex, also zeroed, cannot read reports).
    "values.rule-violated reports-summary conversions-follow-clicks [umbrella]",
    "values.zeroed-for-subset reports-summary conversions [umbrella]",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_to_v2_yields_the_exact_drift_set() {
    let w = World::connected().await;
    w.run_and_accept().await;
    w.sim.set_version(ApiVersion::V2);
    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    assert_eq!(drift_lines(&run), V1_TO_V2_DRIFTS);

    let by_rule = |r: &str| run.drifts.iter().find(|d| d.rule == r).unwrap();
    assert_eq!(by_rule("schema.type-changed").severity, Severity::Breaking);
    assert_eq!(by_rule("schema.field-added").severity, Severity::Info);
    assert_eq!(
        by_rule("schema.nullability-changed").severity,
        Severity::Warning
    );
    assert_eq!(
        by_rule("permission.newly-denied").severity,
        Severity::Breaking
    );
    assert_eq!(
        by_rule("refresh.stopped-issuing").severity,
        Severity::Breaking
    );
    let renamed = by_rule("schema.field-renamed");
    assert_eq!(renamed.after.as_ref().unwrap()["path"], "$.display_name");
    // Schema evidence links to recorded exchanges of this run.
    for d in run
        .drifts
        .iter()
        .filter(|d| d.rule.as_str().starts_with("schema."))
    {
        assert!(!d.exchanges.is_empty(), "{} has no exchanges", d.rule);
        for x in &d.exchanges {
            assert!(run.exchanges.iter().any(|e| &e.id == x), "{x} not recorded");
        }
    }
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_runs_write_no_pending_files() {
    let w = World::connected().await;
    let quiet = |_e: driftwatch::run::Event| {};
    let run = driftwatch::run::execute(&w.ctx, &w.options(false), &quiet)
        .await
        .unwrap();
    assert_eq!(pending_set(&run), expected_first_pending());
    assert!(run.pending.iter().all(|p| p.file.is_none()));
    let written = driftwatch::baseline::BaselineStore::new(w.snapshots())
        .pending()
        .unwrap();
    assert_eq!(written, Vec::<std::path::PathBuf>::new());
}
