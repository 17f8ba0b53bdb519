//! Credentials go only to the origin the suite names (DESIGN.md safety rule 3, issue 15):
//! a token endpoint that redirects to another origin gets the run error
//! `token-endpoint-redirected` and the other origin receives nothing; a discovery document
//! that names a foreign issuer supplies no endpoint; a probe redirected to another origin
//! drops every header the suite declares, and `${env:…}` header values never appear in clear.
//!
//! Each test starts two small servers on 127.0.0.1 port 0 (two ports: two origins) and runs
//! the binary as users do.

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use driftwatch::auth::store::StoredSecret;
use driftwatch::auth::{CredentialStore, Entry};
use driftwatch::run::Run;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

/// The refresh token seeded in the store: what a followed redirect would hand over.
const REFRESH_TOKEN: &str = "rt-origin-7f3a9c2e5b1d";
/// The client secret (sent in the form body: `client_auth: post`).
const CLIENT_SECRET: &str = "cs-origin-4e8b2a6d0c9f";
/// The API key a suite header carries as `${env:ORIGIN_API_KEY}`.
const API_KEY: &str = "ak-origin-1c5e9a3f7b2d";
/// A query value the suite fills as `${env:ORIGIN_QUERY_KEY}` (under a name no redactor knows).
const QUERY_KEY: &str = "qk-origin+8a1b/3c5d=7e9f";
/// [`QUERY_KEY`] as it goes on the wire.
const QUERY_KEY_ENCODED: &str = "qk-origin%2B8a1b%2F3c5d%3D7e9f";
/// The static bearer token of the header test.
const BEARER: &str = "at-origin-6d2f8b4a0e3c";

/// What the other origin answered with, were it ever asked: a token answer that must never be
/// stored.
const FOREIGN_TOKEN: &str = r#"{"access_token":"foreign-at-99","refresh_token":"foreign-rt-99","token_type":"Bearer","expires_in":3600}"#;

/// One request as a server saw it: (path, lowercase header names and values).
type Request = (String, Vec<(String, String)>);

/// Every request one server received.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Request>>>);

impl Seen {
    fn push(&self, uri: &Uri, headers: &HeaderMap) {
        let headers = headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        self.0
            .lock()
            .unwrap()
            .push((uri.path().to_string(), headers));
    }

    fn all(&self) -> Vec<Request> {
        self.0.lock().unwrap().clone()
    }

    fn paths(&self) -> Vec<String> {
        self.all().into_iter().map(|(p, _)| p).collect()
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// The other origin: counts every request and answers each with a token answer and a JSON body.
async fn other_origin() -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let router = Router::new()
        .fallback(
            |State(seen): State<Seen>, uri: Uri, headers: HeaderMap| async move {
                seen.push(&uri, &headers);
                ([(header::CONTENT_TYPE, "application/json")], FOREIGN_TOKEN)
            },
        )
        .with_state(seen.clone());
    (serve(router).await, seen)
}

#[derive(Clone)]
struct Provider {
    seen: Seen,
    /// Base URL of the other origin.
    other: String,
}

/// The provider the suite names: `/token/<status>` redirects to the other origin's `/token`,
/// `/api/leak` 307s to the other origin's `/landing`, `/api/me` answers, and the discovery
/// document names a foreign issuer and the other origin's token endpoint.
async fn provider(other: SocketAddr) -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let state = Provider {
        seen: seen.clone(),
        other: format!("http://{other}"),
    };
    let router = Router::new()
        .route("/token/{status}", get(token_redirect).post(token_redirect))
        .route("/api/leak", get(leak))
        .route("/api/me", get(me))
        .route("/.well-known/openid-configuration", get(discovery))
        .fallback(
            |State(p): State<Provider>, uri: Uri, headers: HeaderMap| async move {
                p.seen.push(&uri, &headers);
                StatusCode::NOT_FOUND
            },
        )
        .with_state(state);
    (serve(router).await, seen)
}

async fn token_redirect(
    State(p): State<Provider>,
    UrlPath(status): UrlPath<u16>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    p.seen.push(&uri, &headers);
    let status = StatusCode::from_u16(status).unwrap();
    (status, [(header::LOCATION, format!("{}/token", p.other))]).into_response()
}

async fn leak(State(p): State<Provider>, uri: Uri, headers: HeaderMap) -> Response {
    p.seen.push(&uri, &headers);
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, format!("{}/landing", p.other))],
    )
        .into_response()
}

async fn me(State(p): State<Provider>, uri: Uri, headers: HeaderMap) -> Response {
    p.seen.push(&uri, &headers);
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"id":"u1"}"#,
    )
        .into_response()
}

async fn discovery(State(p): State<Provider>, uri: Uri, headers: HeaderMap) -> Response {
    p.seen.push(&uri, &headers);
    let doc = serde_json::json!({
        "issuer": "https://issuer.foreign.example",
        "token_endpoint": format!("{}/token", p.other),
        "authorization_endpoint": format!("{}/authorize", p.other),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

const LIMITS: &str = "limits:\n  timeout: 5s\n  retries: 0\n";

/// Runs `driftwatch run suite.yaml` in `dir`; returns the output and the run read back
/// from `reports/latest/run.json`.
async fn run(dir: &Path) -> (Output, Run, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    cmd.current_dir(dir)
        .args(["run", "suite.yaml", "--credentials", "credentials.json"])
        .args(["--snapshots", "snapshots", "--reports", "reports"])
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .env("DRIFTWATCH_LOG", "trace")
        .env("ORIGIN_CLIENT_SECRET", CLIENT_SECRET)
        .env("ORIGIN_API_KEY", API_KEY)
        .env("ORIGIN_QUERY_KEY", QUERY_KEY)
        .env("ORIGIN_BEARER", BEARER);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let text = std::fs::read_to_string(dir.join("reports/latest/run.json")).unwrap_or_else(|e| {
        panic!(
            "no run.json ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let run: Run = serde_json::from_str(&text).unwrap();
    (out, run, text)
}

/// Every file under `dir/reports`, concatenated.
fn reports_text(dir: &Path) -> String {
    let mut text = String::new();
    let mut stack = vec![dir.join("reports")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    text
}

fn token_suite(base: SocketAddr, token_path: &str) -> String {
    format!(
        "version: 1\nprovider:\n  name: origin\n  base_url: http://{base}\nauth:\n  \
         grant: authorization_code\n  token_url: {token_path}\n  client_id: origin-client\n  \
         client_secret: ${{env:ORIGIN_CLIENT_SECRET}}\n  client_auth: post\n  scopes: [profile]\n\
         connections:\n  - id: alice\nendpoints:\n  - id: me\n    path: /api/me\n{LIMITS}"
    )
}

/// Seeds `origin/alice` with a refresh token only, so the run must refresh first.
fn seed_store(dir: &Path) -> Vec<u8> {
    let store = CredentialStore::new(dir.join("credentials.json"));
    let lock = store.lock().unwrap();
    store
        .put(
            &lock,
            "origin/alice",
            Entry {
                refresh_token: Some(StoredSecret::new(REFRESH_TOKEN)),
                scopes: vec!["profile".into()],
                ..Entry::default()
            },
        )
        .unwrap();
    drop(lock);
    std::fs::read(dir.join("credentials.json")).unwrap()
}

fn assert_no_credential(out: &Output, run_json: &str, dir: &Path, secrets: &[&str]) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reports = reports_text(dir);
    for s in secrets {
        assert!(!stdout.contains(s), "`{s}` on stdout:\n{stdout}");
        assert!(!stderr.contains(s), "`{s}` on stderr");
        assert!(!run_json.contains(s), "`{s}` in run.json");
        assert!(!reports.contains(s), "`{s}` in a report file");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_redirected_to_another_origin_sends_nothing_there() {
    for status in [302u16, 307, 308] {
        let dir = tempfile::tempdir().unwrap();
        let (other, other_seen) = other_origin().await;
        let (base, provider_seen) = provider(other).await;
        std::fs::write(
            dir.path().join("suite.yaml"),
            token_suite(base, &format!("/token/{status}")),
        )
        .unwrap();
        let before = seed_store(dir.path());

        let (out, run, run_json) = run(dir.path()).await;

        let from = format!("http://{base}");
        let to = format!("http://{other}");
        // The one unusable connection names the class and both origins.
        let items: Vec<_> = run.unusable_connections().collect();
        assert_eq!(items.len(), 1, "{status}: {:?}", run.connections);
        assert_eq!(items[0].connection, "alice");
        assert_eq!(
            items[0].error.as_deref(),
            Some("token-endpoint-redirected"),
            "{status}"
        );
        let message = items[0].message.clone().unwrap_or_default();
        assert!(
            message.contains(&format!(
                "the token endpoint at `{from}` redirected to another origin `{to}`"
            )),
            "{status}: {message}"
        );
        // The token probe's error probe is refused the same way: the one run error.
        let errors: Vec<(Option<&str>, &str, &str)> = run
            .errors
            .iter()
            .map(|e| (e.subject.as_deref(), e.class.as_str(), e.message.as_str()))
            .collect();
        let want = format!(
            "token request for `token-endpoint` failed: the token endpoint at `{from}` \
             redirected to another origin `{to}`; credentials are never sent there"
        );
        assert_eq!(
            errors,
            vec![(
                Some("token-endpoint"),
                "token-endpoint-redirected",
                want.as_str()
            )],
            "{status}"
        );
        // Nothing reached the other origin; the provider saw only token requests.
        assert_eq!(other_seen.all().len(), 0, "{status}");
        assert!(
            provider_seen
                .paths()
                .iter()
                .all(|p| *p == format!("/token/{status}")),
            "{status}: {:?}",
            provider_seen.paths()
        );
        assert!(!provider_seen.paths().is_empty());
        // Nothing the other origin could have said is stored: the store is byte-identical.
        assert_eq!(
            std::fs::read(dir.path().join("credentials.json")).unwrap(),
            before,
            "{status}"
        );
        assert_no_credential(
            &out,
            &run_json,
            dir.path(),
            &[REFRESH_TOKEN, CLIENT_SECRET, "foreign-rt-99"],
        );
        // Exit 3: no connection could be used.
        assert_eq!(out.status.code(), Some(3), "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_issuer_mismatch_supplies_no_token_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (other, other_seen) = other_origin().await;
    let (base, provider_seen) = provider(other).await;
    let yaml = format!(
        "version: 1\nprovider:\n  name: origin\n  base_url: http://{base}\nauth:\n  \
         grant: client_credentials\n  discovery_url: /.well-known/openid-configuration\n  \
         client_id: origin-client\n  client_secret: ${{env:ORIGIN_CLIENT_SECRET}}\n  \
         client_auth: post\n  scopes: [profile]\nmetadata:\n  documents: [openid-configuration]\n\
         connections:\n  - id: app\nendpoints:\n  - id: me\n    path: /api/me\n{LIMITS}"
    );
    std::fs::write(dir.path().join("suite.yaml"), yaml).unwrap();

    let (out, run, run_json) = run(dir.path()).await;

    let mismatch: Vec<_> = run
        .errors
        .iter()
        .filter(|e| e.class == "discovery-issuer-mismatch")
        .collect();
    assert_eq!(mismatch.len(), 1, "{:?}", run.errors);
    assert_eq!(
        mismatch[0].message,
        format!(
            "discovery document `http://{base}/.well-known/openid-configuration` names \
             `https://issuer.foreign.example` instead of `http://{base}`; its endpoints are not used"
        )
    );
    // No token request went anywhere: the foreign token endpoint received nothing.
    assert_eq!(other_seen.all().len(), 0);
    // The document was fetched twice (token endpoint, metadata probe), nothing else.
    assert_eq!(
        provider_seen.paths(),
        vec!["/.well-known/openid-configuration".to_string(); 2]
    );
    // The metadata probe reports the mismatch as breaking.
    let findings: Vec<(&str, &str)> = run
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.message.as_str()))
        .collect();
    let mismatch_finding = format!(
        "`openid-configuration` names the issuer `https://issuer.foreign.example` instead of \
         `http://{base}`, so clients that check it reject the document"
    );
    assert_eq!(
        findings,
        vec![
            ("metadata.issuer-mismatch", mismatch_finding.as_str()),
            (
                "metadata.pkce-missing",
                "`openid-configuration` has no `code_challenge_methods_supported`, so PKCE is not advertised"
            ),
        ]
    );
    let f = run
        .findings
        .iter()
        .find(|f| f.rule == "metadata.issuer-mismatch")
        .unwrap();
    assert_eq!(f.severity, driftwatch::model::Severity::Breaking);
    // The connection gets no token, and its item says why.
    let items: Vec<_> = run.unusable_connections().collect();
    assert_eq!(items.len(), 1, "{:?}", run.connections);
    assert_eq!(items[0].connection, "app");
    assert_eq!(items[0].error.as_deref(), Some("discovery-issuer-mismatch"));
    let message = items[0].message.clone().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "suite `origin`: no usable token endpoint: {}",
            mismatch[0].message
        )),
        "{message}"
    );
    assert_no_credential(&out, &run_json, dir.path(), &[CLIENT_SECRET]);
    assert_eq!(out.status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_headers_are_dropped_on_a_cross_origin_redirect_and_never_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (other, other_seen) = other_origin().await;
    let (base, provider_seen) = provider(other).await;
    let yaml = format!(
        "version: 1\nprovider:\n  name: origin\n  base_url: http://{base}\nauth:\n  \
         grant: static_bearer\nconnections:\n  - id: app\n    token: ${{env:ORIGIN_BEARER}}\n\
         endpoints:\n  - id: leak\n    path: /api/leak\n    query:\n      sig: ${{env:ORIGIN_QUERY_KEY}}\n    headers:\n      \
         api-key: ${{env:ORIGIN_API_KEY}}\n      x-tenant: acme\n{LIMITS}"
    );
    std::fs::write(dir.path().join("suite.yaml"), yaml).unwrap();

    let (out, run, run_json) = run(dir.path()).await;

    // The provider got the declared headers; the other origin got none of them.
    let provider_req = provider_seen.all();
    assert_eq!(provider_req.len(), 1);
    let header = |h: &[(String, String)], name: &str| {
        h.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    };
    assert_eq!(
        header(&provider_req[0].1, "api-key").as_deref(),
        Some(API_KEY)
    );
    assert_eq!(
        header(&provider_req[0].1, "x-tenant").as_deref(),
        Some("acme")
    );
    let other_req = other_seen.all();
    assert_eq!(other_req.len(), 1);
    assert_eq!(other_req[0].0, "/landing");
    for name in ["api-key", "x-tenant", "authorization"] {
        assert_eq!(
            header(&other_req[0].1, name),
            None,
            "{name} reached the other origin"
        );
    }
    assert!(
        other_req[0]
            .1
            .iter()
            .all(|(_, v)| !v.contains(API_KEY) && !v.contains(BEARER))
    );
    // The recorded first hop shows the header, redacted by name.
    let first = run
        .exchanges
        .iter()
        .find(|x| x.request.url.contains("/api/leak"))
        .unwrap();
    assert_eq!(
        first
            .request
            .headers
            .iter()
            .find(|(n, _)| n == "api-key")
            .map(|(_, v)| v.as_str()),
        Some("[REDACTED]")
    );
    assert_eq!(
        first.request.url,
        format!("http://{base}/api/leak?sig=[REDACTED]")
    );
    assert_no_credential(
        &out,
        &run_json,
        dir.path(),
        &[API_KEY, BEARER, QUERY_KEY, QUERY_KEY_ENCODED],
    );
    assert_eq!(out.status.code(), Some(0));
}
