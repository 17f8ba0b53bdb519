//! Issue 19's suite features against the simulated provider: two tenants through
//! `${conn:…}`, a `params` matrix, a chained id (`from:`) with its empty-source skip, and an
//! `auth: none` endpoint that reaches the provider without an `Authorization` header.

use crate::support::World;
use driftwatch::model::{Exchange, ProbeKind};
use driftwatch::run::{ExpandedSubject, Run, SkippedProbe};
use driftwatch::sim::SimOptions;
use std::collections::BTreeMap;

const SUITE: &str = r#"version: 1
provider:
  name: demo
  base_url: ${env:SIM_BASE_URL}
auth:
  grant: authorization_code
  token_url: /oauth/token
  authorize_url: /oauth/authorize
  client_id: ${env:SIM_CLIENT_ID}
  client_secret: ${env:SIM_CLIENT_SECRET}
  redirect_uri: http://127.0.0.1:8765/callback
  scopes: [profile]
connections:
  - id: acme-corp
    vars: {tenant: t-acme, campaigns: "c-1,c-2"}
  - id: globex
    vars: {tenant: t-globex, campaigns: ""}
endpoints:
  - id: tenant
    path: /v1/echo/tenant
    headers: {X-Tenant-Id: "${conn:tenant}"}
  - id: metrics
    path: /v1/echo/metrics
    params: {period: [7d, 30d, 90d]}
  - id: stats
    path: /v1/echo/campaigns/{id}/stats
    from: {endpoint: campaigns, path: "$.data[0].id"}
  - id: campaigns
    path: /v1/echo/campaigns
    query: {ids: "${conn:campaigns}"}
  - id: health
    path: /v1/echo/health
    auth: none
"#;

async fn world() -> World {
    let w = World::start(SimOptions::default()).await;
    std::fs::write(&w.suite, SUITE).unwrap();
    w.connect_all().await;
    w
}

/// The endpoint exchanges of `purpose`, as (connection, request URL path and query, answer).
fn answers(run: &Run, endpoint: &str) -> Vec<(Option<String>, String, serde_json::Value)> {
    let mut out: Vec<_> = run
        .exchanges
        .iter()
        .filter(|x: &&Exchange| x.purpose == format!("endpoint:{endpoint}"))
        .map(|x| {
            let url = url::Url::parse(&x.request.url).unwrap();
            let at = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            let body = x
                .response
                .as_ref()
                .and_then(|r| r.body.as_deref())
                .map(|b| serde_json::from_str(b).unwrap())
                .unwrap_or_default();
            (x.connection.clone(), at, body)
        })
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

fn schema_subjects(run: &Run) -> Vec<String> {
    run.observations
        .iter()
        .filter(|o| o.key.probe == ProbeKind::Schema)
        .map(|o| o.key.subject.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conn_vars_params_chains_and_auth_none_against_the_sim() {
    let w = world().await;
    let run = w.run_and_accept().await;
    assert_eq!(run.errors, vec![]);
    assert_eq!(run.drifts, vec![]);

    // Two tenants: each connection's own `${conn:tenant}` reached the provider.
    let tenants: Vec<(Option<String>, serde_json::Value, serde_json::Value)> =
        answers(&run, "tenant")
            .into_iter()
            .map(|(c, _, b)| (c, b["tenant"].clone(), b["authorization"].clone()))
            .collect();
    assert_eq!(
        tenants,
        vec![
            (Some("acme-corp".into()), "t-acme".into(), true.into()),
            (Some("globex".into()), "t-globex".into(), true.into()),
        ]
    );

    // The params matrix: three subjects, each its own probe and baseline file.
    assert_eq!(
        schema_subjects(&run),
        vec![
            "campaigns",
            "health",
            "metrics[period=30d]",
            "metrics[period=7d]",
            "metrics[period=90d]",
            "stats",
            "tenant",
        ]
    );
    let mut queried: Vec<String> = ["7d", "30d", "90d"]
        .iter()
        .flat_map(|p| answers(&run, &format!("metrics[period={p}]")))
        .filter(|(c, ..)| c.as_deref() == Some("acme-corp"))
        .map(|(_, at, _)| at)
        .collect();
    queried.sort();
    assert_eq!(
        queried,
        vec![
            "/v1/echo/metrics?period=30d",
            "/v1/echo/metrics?period=7d",
            "/v1/echo/metrics?period=90d",
        ]
    );
    let expanded: Vec<(String, String, BTreeMap<String, String>)> = run
        .expanded
        .iter()
        .map(|e: &ExpandedSubject| (e.subject.clone(), e.endpoint.clone(), e.params.clone()))
        .collect();
    let period = |v: &str| BTreeMap::from([("period".to_string(), v.to_string())]);
    assert_eq!(
        expanded,
        vec![
            (
                "metrics[period=30d]".into(),
                "metrics".into(),
                period("30d")
            ),
            ("metrics[period=7d]".into(), "metrics".into(), period("7d")),
            (
                "metrics[period=90d]".into(),
                "metrics".into(),
                period("90d")
            ),
        ]
    );
    for file in [
        "metrics_period_7d_.snap",
        "metrics_period_30d_.snap",
        "metrics_period_90d_.snap",
    ] {
        let path = w.snapshots().join("demo/schema").join(file);
        assert!(path.is_file(), "{}", path.display());
    }

    // The chained id: acme-corp's first campaign; globex has none, so its call is skipped.
    let stats: Vec<(Option<String>, String)> = answers(&run, "stats")
        .into_iter()
        .map(|(c, at, _)| (c, at))
        .collect();
    assert_eq!(
        stats,
        vec![(
            Some("acme-corp".into()),
            "/v1/echo/campaigns/c-1/stats".into()
        )]
    );
    assert_eq!(
        run.skipped,
        vec![SkippedProbe {
            provider: "demo".into(),
            subject: "stats".into(),
            connection: "globex".into(),
            endpoint: "stats".into(),
            reason: "`$.data[0].id` selects nothing in the answer of `campaigns`".into(),
        }]
    );

    // `auth: none`: probed once, for no connection, and the sim saw no Authorization header.
    let health: Vec<(Option<String>, serde_json::Value)> = answers(&run, "health")
        .into_iter()
        .map(|(c, _, b)| (c, b["authorization"].clone()))
        .collect();
    assert_eq!(health, vec![(None, false.into())]);
    let health_request = run
        .exchanges
        .iter()
        .find(|x| x.purpose == "endpoint:health")
        .unwrap();
    assert_eq!(
        health_request
            .request
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .count(),
        0
    );

    // The same world again: nothing drifts, the skip is reported again, never as an error.
    let again = w.run().await;
    assert_eq!(again.errors, vec![]);
    assert_eq!(again.drifts, vec![]);
    assert_eq!(again.skipped, run.skipped);
}
