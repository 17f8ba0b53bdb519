//! Gather's planning (which calls a suite and a connection set plan, in what order, per
//! shard), its per-endpoint evidence, and concurrent token acquisition against the simulated
//! provider (exact counts from recorded exchanges, no timing thresholds).

use super::*;
use crate::run::shard::{PROVIDER_WIDE_SHARD, Shard, restrict};
use crate::suite::Located;
use serde_json::json;

const DEMO_ENDPOINTS: [&str; 7] = [
    "me",
    "invoices",
    "reports-summary",
    "workspace-settings",
    "audit-log",
    "channels",
    "activities",
];

fn demo_suite() -> Suite {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::demo::write_demo_suite(dir.path()).unwrap();
    let ctx = crate::context::Context::empty(dir.path())
        .with_var("SIM_BASE_URL", "http://127.0.0.1:1/api")
        .with_var("SIM_CLIENT_ID", "id")
        .with_var("SIM_CLIENT_SECRET", "secret");
    crate::suite::load_suite(&path, &ctx, crate::suite::LoadMode::Run)
        .unwrap()
        .suite
}

fn base(s: &Suite) -> Url {
    Url::parse(&s.provider.base_url.value).unwrap()
}

fn named(p: &Plan, calls: Vec<PlannedCall>) -> Vec<(String, String)> {
    calls
        .into_iter()
        .map(|c| (p.endpoints[c.endpoint].id.clone(), c.connection))
        .collect()
}

fn calls(p: &Plan, conn: &str) -> Vec<(String, String)> {
    named(p, p.calls_of(Some(conn)))
}

#[test]
fn plan_calls_every_endpoint_once_per_connection_in_suite_order_and_auth_none_once() {
    let mut s = demo_suite();
    let p = plan(&s, &base(&s));
    let ids: Vec<&str> = p.endpoints.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, DEMO_ENDPOINTS);
    let want = |conn: &str, skip: usize| -> Vec<(String, String)> {
        DEMO_ENDPOINTS[skip..]
            .iter()
            .map(|e| (e.to_string(), conn.to_string()))
            .collect()
    };
    assert_eq!(calls(&p, "globex"), want("globex", 0));
    assert_eq!(calls(&p, "acme-corp"), want("acme-corp", 0));
    assert_eq!(calls(&p, "globex").len(), 7);
    assert_eq!(named(&p, p.calls_of(None)), vec![]);
    // An `auth: none` endpoint is called once without a connection, never per connection.
    s.endpoints[0].auth = crate::suite::EndpointAuth::None;
    let p = plan(&s, &base(&s));
    assert_eq!(calls(&p, "globex"), want("globex", 1));
    assert_eq!(
        named(&p, p.calls_of(None)),
        vec![(DEMO_ENDPOINTS[0].to_string(), NO_CONNECTION.to_string())]
    );
}

#[test]
fn plan_keeps_the_base_path_and_the_query_in_each_url() {
    let s = demo_suite();
    let p = plan(&s, &base(&s));
    let urls: Vec<String> = p
        .urls()
        .into_iter()
        .map(|u| u.map(|u| u.to_string()).unwrap_or_default())
        .collect();
    assert_eq!(urls[0], "http://127.0.0.1:1/api/v1/me");
    assert_eq!(urls[1], "http://127.0.0.1:1/api/v1/invoices?limit=2");
    assert_eq!(p.url_errors("demo"), vec![]);
    assert_eq!(p.declared_errors("demo"), vec![]);
}

#[test]
fn plan_never_calls_an_endpoint_whose_url_cannot_be_built_and_reports_it_once() {
    let mut s = demo_suite();
    s.endpoints[1].path.value = "https://[::1".into();
    let p = plan(&s, &base(&s));
    let got = calls(&p, "acme-corp");
    let endpoints: Vec<&str> = got.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        endpoints,
        vec![
            "me",
            "reports-summary",
            "workspace-settings",
            "audit-log",
            "channels",
            "activities"
        ]
    );
    assert_eq!(p.urls()[1], None);
    let errors = p.url_errors("demo");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (
            errors[0].class.as_str(),
            errors[0].subject.as_deref(),
            errors[0].connection.as_deref(),
            errors[0].probe
        ),
        ("config", Some("invoices"), None, Some(ProbeKind::Schema))
    );
    assert!(
        errors[0]
            .message
            .starts_with("endpoint `invoices`: bad path `https://[::1`"),
        "{}",
        errors[0].message
    );
}

#[test]
fn plan_reads_values_and_declared_schemas_only_where_the_suite_asks() {
    let mut s = demo_suite();
    let p = plan(&s, &base(&s));
    let needs: Vec<bool> = p
        .endpoints
        .iter()
        .map(PlannedEndpoint::needs_value)
        .collect();
    // invoices has a declared schema, reports-summary `values:`; the rest need only a shape.
    assert_eq!(needs, vec![false, true, true, false, false, false, false]);
    // A declared schema that does not compile: a run error, and the answer needs no value.
    s.endpoints[1].schema = Some(Located {
        value: DeclaredSchema::Inline(json!({"type": 5})),
        pos: s.endpoints[1].pos,
    });
    let p = plan(&s, &base(&s));
    assert!(!p.endpoints[1].needs_value());
    let errors = p.declared_errors("demo");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].class.as_str(), errors[0].subject.as_deref()),
        ("declared-schema", Some("invoices"))
    );
    assert!(
        errors[0]
            .message
            .starts_with("declared schema cannot be compiled: "),
        "{}",
        errors[0].message
    );
}

#[test]
fn a_shard_plans_only_its_own_connections_and_every_endpoint() {
    let s = demo_suite();
    let mut seen = Vec::new();
    for index in 1..=3 {
        let part = restrict(&s, Shard { index, count: 3 });
        let conns: Vec<&str> = part
            .connections
            .iter()
            .map(|c| c.id.value.as_str())
            .collect();
        let p = plan(&part, &base(&part));
        let got: Vec<(String, String)> = conns.iter().flat_map(|c| calls(&p, c)).collect();
        assert_eq!(
            got.len(),
            DEMO_ENDPOINTS.len() * conns.len(),
            "shard {index}"
        );
        assert!(got.iter().all(|(_, c)| conns.contains(&c.as_str())));
        // umbrella (disposable, full scope) is the permissions account: pinned to shard 1.
        assert_eq!(
            conns.contains(&"umbrella"),
            index == PROVIDER_WIDE_SHARD,
            "shard {index}"
        );
        seen.extend(conns.iter().map(|c| c.to_string()));
    }
    seen.sort();
    assert_eq!(seen, vec!["acme-corp", "globex", "initech", "umbrella"]);
}

fn answer(status: u16, exchange: &str) -> Answer {
    Answer {
        status,
        exchange_id: exchange.into(),
        headers: Vec::new(),
        signals: Signals::default(),
        content_type: Some("application/json".into()),
        shape: Some(shape::infer(&json!({"id": 1})).unwrap()),
        values: None,
        violations: Some(vec![Violation {
            path: "$.id".into(),
            message: "bad".into(),
        }]),
        errors: Vec::new(),
        chained: None,
    }
}

#[test]
fn collect_files_each_endpoint_evidence_at_its_suite_position() {
    let s = demo_suite();
    let mut evidence: Vec<EndpointEvidence> = (0..s.endpoints.len())
        .map(|_| EndpointEvidence::default())
        .collect();
    let mut errors = Vec::new();
    evidence[2].add("globex".into(), answer(200, "x0003"), &mut errors);
    evidence[2].add("acme-corp".into(), answer(403, "x0002"), &mut errors);
    evidence[6].add("globex".into(), answer(200, "x0009"), &mut errors);
    let all: Vec<String> = s.connections.iter().map(|c| c.id.value.clone()).collect();
    let ev = collect(&s, &all, true, evidence);
    assert_eq!(errors, vec![]);
    let lens = |v: &[usize]| v.to_vec();
    assert_eq!(
        lens(&ev.samples.iter().map(Vec::len).collect::<Vec<_>>()),
        vec![0, 0, 2, 0, 0, 0, 1]
    );
    assert_eq!(
        ev.signals.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![0, 0, 2, 0, 0, 0, 1]
    );
    assert_eq!(
        ev.violations.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![0, 0, 2, 0, 0, 0, 1]
    );
    assert_eq!(
        ev.values.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![0; 7]
    );
    let s2: Vec<(&str, u16, Option<&str>)> = ev.samples[2]
        .iter()
        .map(|x| (x.connection.as_str(), x.status, x.exchange_id.as_deref()))
        .collect();
    assert_eq!(
        s2,
        vec![
            ("globex", 200, Some("x0003")),
            ("acme-corp", 403, Some("x0002"))
        ]
    );
    assert_eq!(ev.violations[6][0].exchange_id.as_deref(), Some("x0009"));
    assert_eq!(ev.endpoints.len(), 7);
    assert_eq!(ev.all_connections, all);
}

/// A client-credentials suite of `n` connections; `shared` of them share one credential.
fn cc_suite(n: usize, shared: usize, concurrency: usize) -> String {
    let mut y = String::from(
        "version: 1\nprovider:\n  name: cc\n  base_url: ${env:SIM_BASE_URL}\n\
         auth:\n  grant: client_credentials\n  token_url: /oauth/token\n\
         \x20 client_id: ${env:SIM_CLIENT_ID}\n  client_secret: ${env:SIM_CLIENT_SECRET}\n\
         \x20 scopes: [profile]\nconnections:\n",
    );
    for c in 0..n {
        y.push_str(&format!("  - id: conn-{c}\n"));
        if c < shared {
            y.push_str("    credential: cc/shared\n");
        }
    }
    y.push_str("endpoints:\n  - id: me\n    path: /v1/me\n");
    y.push_str(&format!("limits:\n  concurrency: {concurrency}\n"));
    y
}

/// Runs `yaml` against a simulated provider whose token endpoint takes `token_latency`.
fn run_cc(yaml: &str, token_latency: std::time::Duration) -> crate::run::Run {
    run_sim(
        yaml,
        crate::sim::SimOptions {
            token_latency,
            ..crate::sim::SimOptions::default()
        },
    )
}

/// Runs `yaml` against a simulated provider started with `sim_options`.
fn run_sim(yaml: &str, sim_options: crate::sim::SimOptions) -> crate::run::Run {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = crate::sim::Sim::start(([127, 0, 0, 1], 0).into(), sim_options)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let suite = dir.path().join("cc.yaml");
        std::fs::write(&suite, yaml).unwrap();
        let ctx = crate::demo::sim_context(&crate::context::Context::empty(dir.path()), &sim);
        let opts = RunOptions {
            suites: vec![suite],
            snapshots: dir.path().join("snapshots"),
            reports: dir.path().join("reports"),
            credentials: dir.path().join("credentials.json"),
            credential_helper: None,
            allow_insecure_http: false,
            update: crate::baseline::UpdateMode::No,
            expiry_window: std::time::Duration::from_secs(7 * 86_400),
            suppressions: None,
        };
        crate::run::execute(&ctx, &opts, &|_| {}).await.unwrap()
    })
}

/// The most requests of `purpose` (a prefix) in flight at once, from the recorded exchanges.
fn max_in_flight(run: &crate::run::Run, purpose: &str) -> usize {
    let spans: Vec<(i64, i64)> = run
        .exchanges
        .iter()
        .filter(|x| x.purpose.starts_with(purpose))
        .map(|x| {
            let start = x.started_at.timestamp_micros();
            (start, start + x.duration_ms as i64 * 1000)
        })
        .collect();
    spans
        .iter()
        .map(|(s, _)| spans.iter().filter(|(a, b)| a <= s && s < b).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn tokens_are_acquired_concurrently_bounded_by_limits_concurrency() {
    // 6 connections, 3 at once, 300 ms per token answer: serial fetching could never have two
    // requests in flight; concurrent fetching has exactly 3 (the bound), never 4.
    let run = run_cc(&cc_suite(6, 0, 3), std::time::Duration::from_millis(300));
    let tokens = run
        .exchanges
        .iter()
        .filter(|x| x.purpose == "token:client_credentials")
        .count();
    assert_eq!(tokens, 6);
    assert_eq!(max_in_flight(&run, "token:client_credentials"), 3);
    let states: Vec<(&str, ConnectionState)> = run
        .connections
        .iter()
        .map(|c| (c.connection.as_str(), c.state))
        .collect();
    assert_eq!(
        states,
        (0..6)
            .map(|i| (
                ["conn-0", "conn-1", "conn-2", "conn-3", "conn-4", "conn-5"][i],
                ConnectionState::Ok
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(run.errors, vec![]);
    let me = run
        .exchanges
        .iter()
        .filter(|x| x.purpose == "endpoint:me")
        .count();
    assert_eq!(me, 6);
}

#[test]
fn calls_beyond_the_tasks_at_once_wait_and_every_one_is_made_once() {
    // 3 connections × 12 endpoints at concurrency 2: at most 4 calls are tasks at once, so
    // most wait in the queue. Every call is made exactly once, and 2 are in flight at once,
    // never more.
    let mut yaml = cc_suite(3, 0, 2).replace("endpoints:\n  - id: me\n    path: /v1/me\n", "");
    let mut eps = String::from("endpoints:\n");
    for e in 0..12 {
        eps.push_str(&format!("  - id: e{e:02}\n    path: /v1/me?page={e}\n"));
    }
    yaml = yaml.replace("limits:", &format!("{eps}limits:"));
    // Each answer takes 20 ms, so calls in flight overlap measurably.
    let run = run_sim(
        &yaml,
        crate::sim::SimOptions {
            api_latency: std::time::Duration::from_millis(20),
            ..crate::sim::SimOptions::default()
        },
    );
    assert_eq!(run.errors, vec![]);
    let mut made: Vec<(String, String)> = run
        .exchanges
        .iter()
        .filter(|x| x.purpose.starts_with("endpoint:"))
        .map(|x| (x.connection.clone().unwrap_or_default(), x.purpose.clone()))
        .collect();
    made.sort();
    let expected: Vec<(String, String)> = ["conn-0", "conn-1", "conn-2"]
        .iter()
        .flat_map(|c| (0..12).map(move |e| (c.to_string(), format!("endpoint:e{e:02}"))))
        .collect();
    assert_eq!(made, expected);
    assert_eq!(max_in_flight(&run, "endpoint:"), 2);
}

#[test]
fn connections_sharing_a_credential_fetch_one_token_as_a_serial_run_did() {
    // conn-0..2 share `cc/shared`: one request serves all three (the cache), conn-3 its own.
    let run = run_cc(&cc_suite(4, 3, 8), std::time::Duration::from_millis(50));
    let tokens: Vec<Option<&str>> = run
        .exchanges
        .iter()
        .filter(|x| x.purpose == "token:client_credentials")
        .map(|x| x.connection.as_deref())
        .collect::<Vec<_>>();
    let mut sorted = tokens.clone();
    sorted.sort();
    assert_eq!(sorted, vec![Some("conn-0"), Some("conn-3")]);
    assert_eq!(run.connections.iter().filter(|c| c.usable).count(), 4);
    // One token-endpoint observation from both answers, none lost to the concurrency.
    let token_obs: Vec<String> = run
        .observations
        .iter()
        .filter(|o| o.key.probe == ProbeKind::Token)
        .map(|o| o.key.to_string())
        .collect();
    assert_eq!(
        token_obs,
        vec![
            "cc/token/token-endpoint.client_credentials",
            "cc/token/token-endpoint.error-probe"
        ]
    );
}

/// Issue 19: `${conn:…}` values come from the credential entry's `vars` (what a credential
/// helper answers), and the suite's own `vars` win over them.
#[test]
fn connection_vars_merge_the_credential_entry_under_the_suite() {
    let mut s = demo_suite();
    s.endpoints[0]
        .headers
        .insert("X-Tenant-Id".into(), "${conn:tenant}/${conn:region}".into());
    s.connections[0].vars = BTreeMap::from([("region".to_string(), "eu".to_string())]);
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::new(dir.path().join("credentials.json"));
    let lock = store.lock().unwrap();
    let entry = crate::auth::Entry {
        vars: BTreeMap::from([
            ("tenant".to_string(), "t-acme".to_string()),
            ("region".to_string(), "us".to_string()),
        ]),
        ..Default::default()
    };
    store
        .put(&lock, &s.connections[0].credential, entry)
        .unwrap();
    drop(lock);
    let vars = connection_vars(&s, &store);
    let of = |c: &str| vars.get(c).cloned().unwrap_or_default();
    assert_eq!(
        of("acme-corp"),
        BTreeMap::from([
            ("region".to_string(), "eu".to_string()),
            ("tenant".to_string(), "t-acme".to_string()),
        ])
    );
    assert_eq!(of("globex"), BTreeMap::new());
    let target = super::super::chain::resolve(
        &base(&s),
        &s.endpoints[0],
        &of("acme-corp"),
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(
        target.headers.get("X-Tenant-Id").map(String::as_str),
        Some("t-acme/eu")
    );
    assert_eq!(
        super::super::chain::resolve(&base(&s), &s.endpoints[0], &of("globex"), &BTreeMap::new()),
        Err(super::super::chain::Unresolved::Config(
            "endpoint `me`: the connection defines no `tenant` for `${conn:tenant}`".into()
        ))
    );
}
