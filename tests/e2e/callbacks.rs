//! Issue 20 item 3, the callback URL probe, against the simulated provider: two registered
//! callbacks are accepted on night 1; one is removed at the provider ("callback removed");
//! night 2 reports exactly that callback as `app.redirect-uri-rejected`, without a single
//! token-endpoint request of its own, and nothing it made up (`state`, `code_challenge`) or
//! held (the client secret) reaches run.json.

use crate::support::{World, assert_no_leaks, drift_set};
use driftwatch::model::{ProbeKind, Severity};
use driftwatch::rules::Rule;
use driftwatch::run::Run;
use driftwatch::sim::SimOptions;

const KEPT: &str = "https://app.example.com/callback";
const REMOVED: &str = "https://app.example.com/cb";

/// The app suite of `app.rs` with two registered callbacks; one non-disposable connection.
const CALLBACK_SUITE: &str = r#"version: 1
provider:
  name: appy
  base_url: ${env:SIM_BASE_URL}
auth:
  grant: authorization_code
  token_url: /oauth/token
  authorize_url: /oauth/authorize
  client_id: ${env:SIM_CLIENT_ID}
  client_secret: ${env:SIM_CLIENT_SECRET}
  redirect_uri: http://127.0.0.1:8765/callback
  redirect_uris:
    - https://app.example.com/callback
    - https://app.example.com/cb
scope_sets:
  basic: [profile]
connections:
  - id: acme-corp
    scope_set: basic
endpoints:
  - id: me
    path: /v1/me
"#;

async fn callback_world() -> World {
    let w = World::start(SimOptions::default()).await;
    std::fs::write(&w.suite, CALLBACK_SUITE).unwrap();
    w.connect_all().await;
    w
}

/// (subject, body) of the run's callback observations, sorted.
fn callback_bodies(run: &Run) -> Vec<(String, serde_json::Value)> {
    let mut v: Vec<_> = run
        .observations
        .iter()
        .filter(|o| o.key.probe == ProbeKind::App && o.key.subject.starts_with("callback "))
        .map(|o| (o.key.subject.clone(), o.body.clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn accepted_page() -> serde_json::Value {
    serde_json::json!({"callback": "accepted", "signal": "provider-page", "status": 200})
}

/// Writes run.json as `driftwatch run` does and reads it back as text and JSON.
fn run_json(w: &World, run: &Run) -> (String, serde_json::Value) {
    let path = driftwatch::report::write_run(&w.reports(), run).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let json = serde_json::from_str(&text).unwrap();
    (text, json)
}

/// Runs of 20+ base64url characters (what a JWT segment, a `state`, a PKCE challenge or a
/// token looks like), outside the exchange ids, fingerprints and run ids run.json has anyway.
fn base64_looking(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            cur.push(c);
            continue;
        }
        let mixed = cur.chars().any(|c| c.is_ascii_uppercase())
            && cur.chars().any(|c| c.is_ascii_lowercase())
            && cur.chars().any(|c| c.is_ascii_digit());
        if cur.len() >= 20 && mixed {
            out.push(cur.clone());
        }
        cur.clear();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_redirect_uri_rejected_names_only_the_removed_callback_and_spends_nothing() {
    let w = callback_world().await;
    let first = w.run_and_accept().await;
    assert_eq!(first.errors, vec![]);
    assert_eq!(
        callback_bodies(&first),
        vec![
            (format!("callback {KEPT}"), accepted_page()),
            (format!("callback {REMOVED}"), accepted_page()),
        ]
    );
    assert!(
        first.findings.iter().all(|f| f.probe != ProbeKind::App),
        "{:?}",
        first.findings
    );

    let token_requests_before = w.sim.stats().token_requests;
    let grants_before: Vec<_> = w
        .sim
        .grants()
        .iter()
        .map(|g| (g.grant, g.token_requests, g.refreshes, g.replays))
        .collect();
    assert!(w.sim.remove_callback(REMOVED));
    assert_eq!(w.sim.callbacks(), vec![KEPT.to_string()]);

    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    assert_eq!(
        drift_set(&run),
        vec![(
            Rule::AppRedirectUriRejected.id().to_string(),
            format!("callback {REMOVED}"),
            String::new()
        )]
    );
    let d = &run.drifts[0];
    assert_eq!((d.severity, d.probe), (Severity::Breaking, ProbeKind::App));
    assert_eq!(
        d.message,
        "the authorization endpoint now rejects the callback `https://app.example.com/cb` with \
         status 400 naming `redirect_uri_mismatch`: sign-ins that return to it fail (was \
         accepted: status 200 with the provider's page)"
    );
    assert_eq!(d.exchanges.len(), 1);
    let after = d.after.as_ref().unwrap();
    assert_eq!(after["callback"], "rejected");
    assert!(
        after["evidence"]["excerpt"]
            .as_str()
            .unwrap()
            .contains("error 400: redirect_uri_mismatch"),
        "{after}"
    );
    assert_eq!(
        callback_bodies(&run),
        vec![
            (format!("callback {KEPT}"), accepted_page()),
            (
                format!("callback {REMOVED}"),
                serde_json::json!({"callback": "rejected", "error": "redirect_uri_mismatch",
                    "note": "the answer names the redirect URI", "signal": "error-status",
                    "status": 400})
            ),
        ]
    );
    // The drift says it; no finding repeats it.
    assert!(run.findings.iter().all(|f| f.probe != ProbeKind::App));

    // No grant was touched and the callback probe sent nothing to the token endpoint: the
    // night's token requests are the liveness probe's and the token probe's error probe.
    let grants_after: Vec<_> = w
        .sim
        .grants()
        .iter()
        .map(|g| (g.grant, g.token_requests, g.refreshes, g.replays))
        .collect();
    assert_eq!(grants_after, grants_before);
    assert_eq!(w.sim.stats().token_requests - token_requests_before, 2);
    let callback_exchanges: Vec<_> = run
        .exchanges
        .iter()
        .filter(|x| x.purpose == "authorize:callback-probe")
        .collect();
    assert_eq!(callback_exchanges.len(), 2);
    for x in &callback_exchanges {
        assert_eq!(x.request.method, "GET");
        assert!(
            x.request
                .headers
                .iter()
                .all(|(n, _)| n != "cookie" && n != "authorization")
        );
        let url = url::Url::parse(&x.request.url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["scope"], "profile");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], "[REDACTED]");
        assert_eq!(q["code_challenge"], "[REDACTED]");
        assert!(!q.contains_key("client_secret"));
    }

    // Nothing secret or made up in run.json (nor anywhere under reports/ and snapshots/).
    let (text, json) = run_json(&w, &run);
    assert_no_leaks(w.dir.path());
    assert!(!text.contains(w.sim.client_secret()));
    assert!(!text.contains("eyJ"), "a JWT-looking value in run.json");
    let exchanges = json["exchanges"].as_array().unwrap();
    let mut looked = 0;
    for x in exchanges
        .iter()
        .filter(|x| x["purpose"] == "authorize:callback-probe")
    {
        looked += 1;
        let hits = base64_looking(&x.to_string());
        assert_eq!(hits, Vec::<String>::new(), "{x}");
    }
    assert_eq!(looked, 2);
    for d in json["drifts"].as_array().unwrap() {
        assert_eq!(
            base64_looking(&d["after"].to_string()),
            Vec::<String>::new()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_redirect_uri_refused_on_first_sight_of_an_unregistered_callback() {
    let w = World::start(SimOptions::default()).await;
    std::fs::write(
        &w.suite,
        CALLBACK_SUITE.replace(REMOVED, "https://old.example.com/cb"),
    )
    .unwrap();
    w.connect_all().await;
    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    let app: Vec<_> = run
        .findings
        .iter()
        .filter(|f| f.probe == ProbeKind::App)
        .map(|f| (f.rule.to_string(), f.severity, f.subject.clone()))
        .collect();
    assert_eq!(
        app,
        vec![(
            Rule::AppRedirectUriRefused.id().to_string(),
            Severity::Warning,
            "callback https://old.example.com/cb".to_string()
        )]
    );
    assert_eq!(drift_set(&run), vec![]);
}
