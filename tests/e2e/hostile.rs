//! The hostile-provider corpus: every misbehaviour of `hostile/server.rs`
//! ends in its own classified run error (or, where tolerated by design, its
//! exact token finding or recorded answer) — no crash, no hang past the
//! timeout, no leaked secret. Endpoint cases share one run (one suite with an
//! endpoint per behaviour, probed concurrently); token cases run one suite
//! each, concurrently.
//!
//! Issue 15's cases, and where each is pinned: token-endpoint 302/307/308 to another origin,
//! foreign-issuer discovery and `${env:…}` headers after a cross-origin probe redirect:
//! `origin.rs` (two real origins) and here (`redirect-cross-host`: the bearer and all four
//! API-key headers stay home, recorded only by name); `/dev/zero`, FIFO and oversize suite,
//! schema, config, store, snapshot and run.json, and run.json of an unknown version:
//! `bounded.rs`; 200 MB and 100,000-deep bodies: `limits.rs`; empty, CR/LF and 17 KiB access
//! tokens, and a timed-out endpoint not called again by the permissions probe: here;
//! `Retry-After: 999999999`, 20,000 distinct-key items and the `WWW-Authenticate` challenge:
//! here (`retry-after-huge`, `distinct-key-records`, `challenge`); the exact 16 KiB / 16 KiB + 1
//! boundary and the 500,000-key object: the fuzz seeds (`src/fuzzing_tests.rs`) and
//! `benches/shape.rs`.

mod server;

use crate::support::{contains_secret, files_with_secrets};
use driftwatch::context::Context;
use driftwatch::run::{Event, Run, RunOptions};
use server::{ACCESS_TOKEN, Hostile, closed_port};

/// The value of every API-key header the suite declares (a `sim_` secret, so a leak is found).
const API_KEY: &str = "sim_cs_hostile_api_key_42";
use std::path::Path;
use std::time::{Duration, Instant};

/// What one endpoint behaviour must yield.
enum Expect {
    /// A run error of this class on the endpoint whose message contains the text.
    Error(&'static str, &'static str),
    /// Tolerated by design: no error; the schema observation records this
    /// connection's status and media type (a later change of either is the
    /// `schema.content-type-changed` / status drift against the baseline).
    Answered(u16, &'static str),
}

struct Case {
    /// The endpoint id, also the behaviour served at `/api/<name>` unless `path` is set.
    name: &'static str,
    path: Option<String>,
    expect: Expect,
}

fn case(name: &'static str, expect: Expect) -> Case {
    Case {
        name,
        path: None,
        expect,
    }
}

fn endpoint_cases(tls: &Hostile) -> Vec<Case> {
    use Expect::{Answered, Error};
    vec![
        case("ok", Answered(200, "application/json")),
        case("html-200", Answered(200, "text/html")),
        case("wrong-content-type", Answered(200, "text/plain")),
        case(
            "truncated-json",
            Error("json", "line 1, column 14: EOF while parsing a value"),
        ),
        case(
            "truncated-body",
            Error("transport", "error decoding response body"),
        ),
        case("invalid-utf8", Error("json", "invalid unicode code point")),
        case("bom", Error("json", "line 1, column 1: expected value")),
        case("empty-json", Error("json", "EOF while parsing a value")),
        case("nan", Error("json", "line 1, column 9: expected value")),
        case("huge-number", Error("json", "number out of range")),
        case("deep", Error("json", "json nested deeper than 128 levels")),
        case("million-array", Answered(200, "application/json")),
        case(
            "gigabyte-chunked",
            Error("body-too-large", "limit of 4194304 bytes"),
        ),
        case(
            "gigabyte-declared",
            Error("body-too-large", "limit of 4194304 bytes"),
        ),
        case("gzip-bomb", Error("content-encoding", "`gzip`")),
        case("slowloris", Error("timeout", "timed out after 2s")),
        case("slow-headers", Error("timeout", "timed out after 2s")),
        case("no-response", Error("timeout", "timed out after 2s")),
        case(
            "close-immediately",
            Error("transport", "connection closed before message completed"),
        ),
        case("garbage", Error("transport", "invalid HTTP version")),
        case(
            "bad-status-line",
            Error("transport", "invalid HTTP status-code"),
        ),
        case("bad-chunked", Error("transport", "Invalid chunk size")),
        case(
            "huge-headers",
            Error("transport", "message head is too large"),
        ),
        case(
            "redirect-loop",
            Error("redirects", "more than 10 redirects"),
        ),
        case("redirect-cross-host", Answered(200, "application/json")),
        case(
            "redirect-file",
            Error("redirects", "unsupported scheme `file`"),
        ),
        case(
            "redirect-insecure",
            Error("insecure-url", "refusing plain http"),
        ),
        case(
            "rate-limit-storm",
            Error("rate-limited", "HTTP 429 after 2 attempts"),
        ),
        case(
            "retry-after-huge",
            Error("rate-limited", "HTTP 429 after 2 attempts"),
        ),
        case("distinct-key-records", Answered(200, "application/json")),
        case("challenge", Answered(403, "application/json")),
        case(
            "unavailable-retry-after",
            Error("unavailable", "HTTP 503 after 2 attempts"),
        ),
        Case {
            name: "tls-unverified",
            path: Some(format!("{}/api/ok", tls.base_url())),
            expect: Error("tls", "certificate"),
        },
        Case {
            name: "connection-refused",
            path: Some(format!("http://127.0.0.1:{}/api/ok", closed_port())),
            expect: Error("connect", "could not connect"),
        },
    ]
}

const LIMITS: &str = "limits:
  timeout: 2s
  connect_timeout: 2s
  max_body: 4MiB
  concurrency: 64
  retries: 1
  max_retry_wait: 2s
";

fn endpoint_suite(base: &str, cases: &[Case]) -> String {
    let mut s = format!(
        "version: 1\nprovider:\n  name: hostile\n  base_url: {base}\nauth:\n  grant: static_bearer\n\
         connections:\n  - id: app\n    token: ${{env:HOSTILE_TOKEN}}\nendpoints:\n"
    );
    for c in cases {
        let path = c.path.clone().unwrap_or_else(|| format!("/api/{}", c.name));
        s.push_str(&format!("  - id: {}\n    path: {path}\n", c.name));
        if c.name == "redirect-cross-host" {
            // Issue 15 item 3: every suite-declared header stays with the origin it names.
            s.push_str("    headers:\n");
            for h in server::API_KEY_HEADERS {
                s.push_str(&format!("      {h}: ${{env:HOSTILE_API_KEY}}\n"));
            }
        }
    }
    s.push_str(LIMITS);
    s
}

async fn run_suite(dir: &Path, file: &str, yaml: &str) -> Run {
    std::fs::write(dir.join(file), yaml).unwrap();
    let ctx = Context::empty(dir)
        .with_var("HOSTILE_TOKEN", ACCESS_TOKEN)
        .with_var("HOSTILE_API_KEY", API_KEY);
    let opts = RunOptions {
        suites: vec![dir.join(file)],
        snapshots: dir.join("snapshots"),
        reports: dir.join("reports"),
        credentials: dir.join("credentials.json"),
        credential_helper: None,
        allow_insecure_http: false,
        update: driftwatch::baseline::UpdateMode::No,
        expiry_window: Duration::from_secs(7 * 86_400),
        suppressions: None,
    };
    let quiet = |_e: Event| {};
    driftwatch::run::execute(&ctx, &opts, &quiet).await.unwrap()
}

/// The whole run, serialised, must not hold the access token or any `sim_` secret.
fn assert_secret_free(run: &Run, dir: &Path) {
    let text = serde_json::to_string(run).unwrap();
    assert!(!contains_secret(&text), "a secret leaked into the run");
    assert_eq!(
        files_with_secrets(&dir.join("reports")),
        Vec::<std::path::PathBuf>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_endpoint_behaviour_is_classified() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Hostile::start(None).await;
    let hostile = Hostile::start(Some(peer.base_url())).await;
    let tls = Hostile::start_tls().await;
    let cases = endpoint_cases(&tls);
    let yaml = endpoint_suite(&hostile.base_url(), &cases);
    let t0 = Instant::now();
    let run = run_suite(dir.path(), "hostile.yaml", &yaml).await;
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(30), "the corpus took {took:?}");

    let mut failures = Vec::new();
    for c in &cases {
        let errors: Vec<_> = run
            .errors
            .iter()
            .filter(|e| e.subject.as_deref() == Some(c.name))
            .collect();
        let schema = run.observations.iter().find(|o| {
            o.key.subject == c.name && o.key.probe == driftwatch::model::ProbeKind::Schema
        });
        match &c.expect {
            Expect::Error(class, text) => {
                let ok = errors.len() == 1
                    && errors[0].class == *class
                    && errors[0].message.contains(text)
                    && errors[0].connection.as_deref() == Some("app")
                    && errors[0].probe == Some(driftwatch::model::ProbeKind::Schema);
                if !ok {
                    failures.push(format!("{}: want {class} `{text}`, got {errors:?}", c.name));
                }
            }
            Expect::Answered(status, media) => {
                let answered = schema.map(|o| o.body["responses"]["app"].clone());
                let want = serde_json::json!({ "status": status, "content_type": media });
                if !errors.is_empty() || answered.as_ref() != Some(&want) {
                    failures.push(format!(
                        "{}: want {want}, got {answered:?} {errors:?}",
                        c.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "misclassified:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        run.errors.len(),
        cases
            .iter()
            .filter(|c| matches!(c.expect, Expect::Error(..)))
            .count()
    );

    // The 429 storm: bounded retries, every attempt recorded.
    let storm = run
        .exchanges
        .iter()
        .filter(|x| x.purpose == "endpoint:rate-limit-storm")
        .count();
    assert_eq!(storm, 2, "one attempt and one retry");
    // Retry-After: 999999999 waited at most `max_retry_wait` (2 s) in all, not 31 years.
    let huge = run
        .exchanges
        .iter()
        .filter(|x| x.purpose == "endpoint:retry-after-huge")
        .count();
    assert_eq!(huge, 2, "one attempt and one capped retry");
    // 20,000 distinct-key items fold into one map shape.
    let records = run
        .observations
        .iter()
        .find(|o| o.key.subject == "distinct-key-records")
        .map(|o| {
            o.body["shape"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        });
    assert_eq!(
        records,
        Some(vec![
            "$".to_string(),
            "$[]".to_string(),
            "$[]{}".to_string()
        ])
    );
    // The challenge is recorded verbatim: it carries no credential.
    let challenge: Vec<&str> = run
        .exchanges
        .iter()
        .filter(|x| x.purpose == "endpoint:challenge")
        .flat_map(|x| x.response.iter().flat_map(|r| r.headers.iter()))
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(challenge, vec![server::CHALLENGE]);
    // No credential followed the redirect to the other origin: neither the bearer token nor
    // any of the four API-key headers the suite declares (issue 15 items 1-3).
    assert_eq!(
        peer.seen(),
        vec![server::Seen {
            path: "/landing".into(),
            authorization: false,
            api_keys: vec![],
        }]
    );
    let first_hop: Vec<_> = hostile
        .seen()
        .into_iter()
        .filter(|s| s.path == "/api/redirect-cross-host")
        .collect();
    assert_eq!(first_hop.len(), 1);
    assert!(first_hop[0].authorization);
    assert_eq!(first_hop[0].api_keys, server::API_KEY_HEADERS);
    // Recorded by name, never in clear (`assert_secret_free` below scans for the value).
    let recorded: Vec<(String, String)> = run
        .exchanges
        .iter()
        .filter(|x| x.purpose == "endpoint:redirect-cross-host")
        .flat_map(|x| x.request.headers.clone())
        .filter(|(n, _)| server::API_KEY_HEADERS.contains(&n.to_ascii_lowercase().as_str()))
        .collect();
    assert_eq!(
        recorded,
        server::API_KEY_HEADERS
            .iter()
            .map(|h| (h.to_string(), "[REDACTED]".to_string()))
            .collect::<Vec<_>>()
    );
    assert!(!serde_json::to_string(&run).unwrap().contains(API_KEY));
    assert_secret_free(&run, dir.path());
}

/// What one token-endpoint behaviour must yield for the connection `app`.
struct TokenCase {
    behaviour: &'static str,
    /// The connection's run error (class, message part); `None`: the token was accepted.
    error: Option<(&'static str, &'static str)>,
    /// The `client_credentials` token findings, sorted.
    findings: &'static [&'static str],
}

const fn tc(
    behaviour: &'static str,
    error: Option<(&'static str, &'static str)>,
    findings: &'static [&'static str],
) -> TokenCase {
    TokenCase {
        behaviour,
        error,
        findings,
    }
}

const TOKEN_CASES: &[TokenCase] = &[
    tc("good", None, &[]),
    tc(
        "error-200",
        Some(("invalid_client", "HTTP 200, error `invalid_client`")),
        &["token.error-with-200"],
    ),
    tc("form-encoded", None, &["token.form-encoded"]),
    tc("form-labelled-json", None, &["token.form-encoded"]),
    tc("expires-in-string", None, &["token.expires-in-not-number"]),
    tc(
        "expires-in-timestamp",
        None,
        &["token.expires-in-not-number"],
    ),
    tc("expires-in-missing", None, &["token.expires-in-missing"]),
    tc("token-type-missing", None, &["token.token-type-missing"]),
    tc("refresh-token-null", None, &[]),
    tc(
        "html-200",
        Some(("token-unreadable", "neither JSON nor form-encoded")),
        &["token.response-unreadable"],
    ),
    tc(
        "html-500",
        Some(("token-unreadable", "HTTP 500")),
        &["token.error-not-json", "token.error-status"],
    ),
    tc(
        "json-array",
        Some(("token-unreadable", "JSON but not an object")),
        &["token.response-unreadable"],
    ),
    tc(
        "no-access-token",
        Some(("token-unreadable", "no `access_token`")),
        &["token.response-unreadable"],
    ),
    tc(
        "no-response",
        Some((
            "timeout",
            "token request for `hostile/app` failed: request timed out after 2s",
        )),
        &[],
    ),
    tc(
        "rate-limit-storm",
        Some(("rate-limited", "HTTP 429 after 2 attempts")),
        &[],
    ),
];

fn token_suite(base: &str, behaviour: &str) -> String {
    format!(
        "version: 1\nprovider:\n  name: hostile\n  base_url: {base}\nauth:\n  grant: client_credentials\n  \
         token_url: /token/{behaviour}\n  client_id: hostile-client\n  client_secret: ${{env:HOSTILE_TOKEN}}\n  \
         scopes: [profile]\nconnections:\n  - id: app\nendpoints:\n  - id: ok\n    path: /api/ok\n{LIMITS}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_token_behaviour_is_classified() {
    let hostile = Hostile::start(None).await;
    let base = hostile.base_url();
    let t0 = Instant::now();
    let runs = futures_util::future::join_all(TOKEN_CASES.iter().map(|c| {
        let base = base.clone();
        async move {
            let dir = tempfile::tempdir().unwrap();
            let run = run_suite(dir.path(), "t.yaml", &token_suite(&base, c.behaviour)).await;
            (dir, run)
        }
    }))
    .await;
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "the token corpus took {took:?}"
    );
    let mut failures = Vec::new();
    for (c, (dir, run)) in TOKEN_CASES.iter().zip(&runs) {
        // A connection that gets no token is its one unusable connection item (error: the
        // provider's OAuth error or the failure's class), never also a run error.
        let errors: Vec<(String, String)> = run
            .unusable_connections()
            .map(|c| {
                (
                    c.error.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default(),
                )
            })
            .chain(
                run.errors
                    .iter()
                    .map(|e| (e.class.clone(), e.message.clone())),
            )
            .collect();
        let error_ok = match c.error {
            None => errors.is_empty(),
            Some((class, text)) => {
                errors.len() == 1
                    && errors[0].0 == class
                    && errors[0].1.contains(text)
                    && run
                        .unusable_connections()
                        .next()
                        .is_some_and(|u| u.connection == "app")
            }
        };
        let findings: Vec<&str> = run
            .findings
            .iter()
            .filter(|f| f.path.as_deref() == Some("client_credentials"))
            .map(|f| f.rule.as_str())
            .collect();
        if !error_ok || findings != c.findings {
            failures.push(format!(
                "{}: want {:?} {:?}, got {errors:?} {findings:?}",
                c.behaviour, c.error, c.findings
            ));
        }
        assert_secret_free(run, dir.path());
    }
    assert!(
        failures.is_empty(),
        "misclassified:\n{}",
        failures.join("\n")
    );
    // A client-credentials suite has no refresh tokens by design: its refresh class is
    // `no-refresh` (issue 13).
    let (_, good) = &runs[0];
    let classes: Vec<(Option<&str>, &serde_json::Value)> = good
        .observations
        .iter()
        .filter(|o| o.key.probe == driftwatch::model::ProbeKind::Refresh)
        .map(|o| (o.key.connection.as_deref(), &o.body["class"]))
        .collect();
    assert_eq!(
        classes,
        vec![(Some("app"), &serde_json::json!("no-refresh"))]
    );
    // A Unix time in `expires_in` is named for what it is.
    let (_, ts) = &runs[5];
    let f = ts
        .findings
        .iter()
        .find(|f| f.rule == "token.expires-in-not-number")
        .unwrap();
    assert!(f.message.contains("a Unix timestamp"), "{}", f.message);
    // `refresh_token: null` issues no refresh token: the observation says `null`.
    let (_, null_run) = &runs[8];
    let obs = null_run
        .observations
        .iter()
        .find(|o| o.key.subject == "token-endpoint.client_credentials")
        .unwrap();
    assert_eq!(
        obs.body["grants"]["client_credentials"]["refresh_token"],
        "null"
    );
}

/// Issue 15 item 7: an empty `access_token` was sent as `Bearer `, one with
/// CR/LF broke every later request, a huge one was stored and sent. Each is
/// `token-unreadable`: the connection is unusable, nothing is stored, and no
/// request carries an `Authorization` header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_unreadable_empty_crlf_or_17k_access_token_is_never_sent() {
    let hostile = Hostile::start(None).await;
    let base = hostile.base_url();
    let cases = [
        ("access-token-empty", "the `access_token` is empty"),
        (
            "access-token-crlf",
            "the `access_token` contains control characters",
        ),
        (
            "access-token-17k",
            "the `access_token` is longer than 16 KiB",
        ),
    ];
    for (behaviour, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let run = run_suite(dir.path(), "t.yaml", &token_suite(&base, behaviour)).await;
        assert!(t0.elapsed() < Duration::from_secs(10), "{behaviour}");
        let unusable: Vec<(String, Option<String>, Option<String>)> = run
            .unusable_connections()
            .map(|c| (c.connection.clone(), c.error.clone(), c.message.clone()))
            .collect();
        assert_eq!(unusable.len(), 1, "{behaviour}: {unusable:?}");
        assert_eq!(unusable[0].0, "app", "{behaviour}");
        assert_eq!(
            unusable[0].1.as_deref(),
            Some("token-unreadable"),
            "{behaviour}"
        );
        let message = unusable[0].2.clone().unwrap_or_default();
        assert!(
            message.contains(&format!("HTTP 200 and an unreadable body: {reason}")),
            "{behaviour}: {message}"
        );
        assert!(!message.contains("X-Injected"), "{behaviour}: {message}");
        assert!(run.errors.is_empty(), "{behaviour}: {:?}", run.errors);
        // Nothing of the answer was stored.
        assert!(
            !dir.path().join("credentials.json").exists(),
            "{behaviour}: the store was written"
        );
        assert_secret_free(&run, dir.path());
    }
    // No token of these answers was ever sent: no request carried `Authorization`
    // (the token requests authenticate the client with Basic only: none here either
    // beyond the token endpoint).
    let sent_bearer: Vec<_> = hostile
        .seen()
        .into_iter()
        .filter(|s| !s.path.starts_with("/token/") && s.authorization)
        .collect();
    assert_eq!(sent_bearer, Vec::new());
    let token_requests = hostile
        .seen()
        .iter()
        .filter(|s| s.path.starts_with("/token/access-token-"))
        .count();
    assert!(token_requests >= 3, "{token_requests}");
}

/// Issue 15 item 7: the permissions probe called again, once per scope set, an
/// endpoint that had already timed out in the same run. Now the endpoint is
/// called only by the schema probe (1 + `retries` attempts), and one run error
/// of the permissions probe says why it was not called again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_timed_out_is_not_called_again_by_the_permissions_probe() {
    let hostile = Hostile::start(None).await;
    let base = hostile.base_url();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "version: 1\nprovider:\n  name: hostile\n  base_url: {base}\nauth:\n  grant: static_bearer\n\
         scope_sets:\n  read: [profile]\n  admin: [profile, admin]\n\
         connections:\n  - id: app\n    token: ${{env:HOSTILE_TOKEN}}\n    scope_set: read\n\
         \x20 - id: boss\n    token: ${{env:HOSTILE_TOKEN}}\n    scope_set: admin\n\
         endpoints:\n  - id: ok\n    path: /api/ok\n  - id: no-response\n    path: /api/no-response\n{LIMITS}"
    );
    let t0 = Instant::now();
    let run = run_suite(dir.path(), "p.yaml", &yaml).await;
    let took = t0.elapsed();
    let calls = |path: &str| hostile.seen().iter().filter(|s| s.path == path).count();
    // Schema probe: 2 connections × (1 + 1 retry); the permissions probe adds none.
    assert_eq!(calls("/api/no-response"), 4);
    // The endpoint that answers is still probed per scope set: 2 schema + 2 permissions.
    assert_eq!(calls("/api/ok"), 4);
    let perm_errors: Vec<(Option<&str>, &str, &str)> = run
        .errors
        .iter()
        .filter(|e| e.probe == Some(driftwatch::model::ProbeKind::Permissions))
        .map(|e| (e.subject.as_deref(), e.class.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        perm_errors,
        vec![(
            Some("no-response"),
            "timeout",
            "not called for the scope sets: the endpoint failed (timeout) earlier in this run"
        )]
    );
    // Two timed-out attempts per connection, concurrently: nothing after them.
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_secret_free(&run, dir.path());
}
