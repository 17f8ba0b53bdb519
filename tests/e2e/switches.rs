//! Each drift switch of the simulated provider, alone, yields exactly its
//! expected drifts; v1 → v1 reruns whose metric values move yield none.

use crate::support::{World, drift_lines};
use driftwatch::sim::Switches;

/// The connected demo world with `globex` granted the full scope set too, so
/// every account can read the report metrics.
async fn world() -> World {
    let w = World::start(driftwatch::sim::SimOptions {
        access_token_ttl: std::time::Duration::from_secs(30),
        ..Default::default()
    })
    .await;
    let text = std::fs::read_to_string(&w.suite).unwrap();
    let text = text.replace(
        "  - id: globex\n    scope_set: basic",
        "  - id: globex\n    scope_set: full",
    );
    std::fs::write(&w.suite, text).unwrap();
    w.connect_all().await;
    w.run_and_accept().await;
    w
}

async fn drifts_with(switches: Switches) -> Vec<String> {
    let w = world().await;
    w.sim.set_switches(switches);
    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    drift_lines(&run)
}

fn only(f: fn(&mut Switches)) -> Switches {
    let mut s = Switches::NONE;
    f(&mut s);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeroed_metric_names_exactly_the_affected_connections() {
    assert_eq!(
        drifts_with(only(|s| s.zeroed_metric = true)).await,
        vec![
            "values.rule-violated reports-summary conversions-follow-clicks [globex,umbrella]",
            "values.zeroed-for-subset reports-summary conversions [globex,umbrella]",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deprecation_headers_are_announced() {
    assert_eq!(
        drifts_with(only(|s| s.deprecation = true)).await,
        vec![
            "deprecation.announced invoices $.deprecated",
            "deprecation.announced invoices $.sunset",
            "deprecation.link-changed invoices $.links",
            "deprecation.warning-added invoices $.vendor['X-API-Warn']",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_changes_are_metadata_drift() {
    assert_eq!(
        drifts_with(only(|s| s.metadata = true)).await,
        vec![
            "metadata.auth-method-removed oauth-authorization-server token_endpoint_auth_methods_supported",
            "metadata.auth-method-removed openid-configuration token_endpoint_auth_methods_supported",
            "metadata.grant-removed oauth-authorization-server grant_types_supported",
            "metadata.grant-removed openid-configuration grant_types_supported",
            "metadata.scope-removed oauth-authorization-server scopes_supported",
            "metadata.scope-removed openid-configuration scopes_supported",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_requirement_change_is_permission_drift() {
    assert_eq!(
        drifts_with(only(|s| s.scopes = true)).await,
        vec!["permission.newly-denied invoices basic"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_stop_is_refresh_drift() {
    // One verdict per connection: no `refresh.class-changed` guessed from the same fact (no
    // replay ran), no second token-endpoint verdict.
    let expected: Vec<String> = ["acme-corp", "globex", "initech", "umbrella"]
        .iter()
        .map(|c| format!("refresh.stopped-issuing refresh $.issues_refresh_tokens [{c}]"))
        .collect();
    assert_eq!(drifts_with(only(|s| s.rotation = true)).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_metric_values_are_never_drift() {
    let w = world().await;
    let mut clicks = std::collections::BTreeSet::new();
    for i in 0..5 {
        let run = w.run().await;
        assert_eq!(run.errors, vec![], "rerun {i}");
        assert_eq!(drift_lines(&run), Vec::<String>::new(), "rerun {i}");
        // The metric values really moved between runs (the recorded, redacted bodies show them).
        for x in run
            .exchanges
            .iter()
            .filter(|x| x.purpose == "endpoint:reports-summary")
        {
            let body = x.response.as_ref().and_then(|r| r.body.clone()).unwrap();
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            clicks.insert(v["metrics"]["clicks"].as_u64().unwrap());
        }
    }
    assert!(clicks.len() > 5, "metric values never moved: {clicks:?}");
    // Baselines store classes, never the customers' values.
    let snap =
        std::fs::read_to_string(w.snapshots().join("demo/values/reports-summary.snap")).unwrap();
    for c in &clicks {
        assert!(
            !snap.contains(&c.to_string()),
            "raw value {c} in the baseline:\n{snap}"
        );
    }
}
