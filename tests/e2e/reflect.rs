//! The reflecting-provider canary (issue 15 item 4). A test-only provider on
//! 127.0.0.1:0 issues tokens with no `sim_` prefix — a JWT access token and
//! opaque base64 refresh tokens and a client secret with `+/=` — and hands the
//! caller's token back in 14 ways: a JSON key, a JSON value, a claim of a
//! returned JWT, `text/plain`, `text/html`, a 500 body, `Location:
//! …?access_token=` on a same-origin redirect, `Link`, the vendor deprecation
//! header, a malformed `Sunset`, a custom header, the token endpoint's
//! `error_description`, form-encoded (`+/=` → `%2B%2F%3D`) and in its discovery
//! document. Every command and output format runs at `DRIFTWATCH_LOG=trace`;
//! no form of any secret (raw, URL-encoded, any base64 alignment) may appear
//! on stdout, stderr, in any file written (the credential store excepted) or
//! in any webhook body. The scan looks for the exact values, never a prefix.

use crate::support::{register_known_secret, secret_forms};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The access token the provider issues: a real-looking JWT.
const ACCESS_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Im1pcnJvci0xIn0.eyJpc3MiOiJodHRwczovL21pcnJvci5leGFtcGxlIiwic3ViIjoiYWNjdC00NDExIiwic2NvcGUiOiJyZWFkIiwiZXhwIjoxODkzNDU2MDAwLCJqdGkiOiI5ZjFjMmU3YS01YjNkIn0.ABVHYWN8p0bDVKbZz78doakuea-muxJ7uKHENOnHMXA";
/// The refresh token of the connection `main`: opaque base64 with `+/=`.
const REFRESH_TOKEN: &str = "q7Hk2+Zp/9Lw3Xv8Rt1N0mYb5Cd4Ef6Gh+Jk/Q==";
/// The refresh token of the connection `revoked`, which the provider refuses.
const REVOKED_REFRESH_TOKEN: &str = "Wm9Q+r4/Tt8sKd2Vn7Lp1Hc6Xe9Yb3+Ua/Mq5w==";
/// The client secret, from the environment.
const CLIENT_SECRET: &str = "cs/Ux7+Qe2=Mz8Rk4Tw1Jy5/Nh0Pa+Gv3=";

const SECRETS: [&str; 4] = [
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    REVOKED_REFRESH_TOKEN,
    CLIENT_SECRET,
];

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The provider: `v2` switches on the drift the second run must find.
struct Mirror {
    base: String,
    v2: AtomicBool,
    /// Resource requests that carried the access token: the reflection surface was exercised.
    bearer_calls: AtomicUsize,
    /// Refresh tokens presented to the token endpoint, as received.
    presented: Mutex<Vec<String>>,
}

type Shared = Arc<Mirror>;

async fn start() -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mirror = Arc::new(Mirror {
        base,
        v2: AtomicBool::new(false),
        bearer_calls: AtomicUsize::new(0),
        presented: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/oauth/token", post(token))
        .route("/.well-known/oauth-authorization-server", get(discovery))
        .route("/api/accounts", get(accounts))
        .route("/api/plain", get(plain))
        .route("/api/html", get(html))
        .route("/api/broken", get(broken))
        .route("/api/moved", get(moved))
        .route("/api/landing", get(landing))
        .route("/api/form", get(form))
        .with_state(mirror.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    mirror
}

/// The bearer token of a request (the provider reflects whatever it was given).
fn bearer(m: &Mirror, headers: &HeaderMap) -> String {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    if token == ACCESS_TOKEN {
        m.bearer_calls.fetch_add(1, Ordering::SeqCst);
    }
    token
}

/// A JWT whose claims carry `token` (and the refresh token), as some providers' "session" does.
fn jwt_claiming(token: &str) -> String {
    let claims = json!({"sub": "acct-4411", "tok": token, "rt": REFRESH_TOKEN});
    format!(
        "eyJhbGciOiJub25lIn0.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn token(State(m): State<Shared>, body: String) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |n: &str| {
        form.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let presented = field("refresh_token");
    m.presented.lock().unwrap().push(presented.clone());
    if field("grant_type") == "refresh_token" && presented == REFRESH_TOKEN {
        let answer = json!({
            "access_token": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": REFRESH_TOKEN,
            "scope": "read",
            "renew_hint": format!("{}/oauth/token?rt={}", m.base, form_encode(REFRESH_TOKEN)),
        });
        return ([(header::CACHE_CONTROL, "no-store")], axum::Json(answer)).into_response();
    }
    // The revoked grant and the run's deliberate error probe: the description quotes the
    // caller's credentials, raw and form-encoded.
    let description = format!(
        "refresh token {presented} ({}) is revoked; client secret {CLIENT_SECRET} ({})",
        form_encode(&presented),
        form_encode(CLIENT_SECRET),
    );
    (
        StatusCode::BAD_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"error": "invalid_grant", "error_description": description})),
    )
        .into_response()
}

async fn discovery(State(m): State<Shared>) -> Response {
    axum::Json(json!({
        "issuer": m.base,
        "authorization_endpoint": format!("{}/oauth/authorize", m.base),
        "token_endpoint": format!("{}/oauth/token", m.base),
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["read", ACCESS_TOKEN],
        "service_documentation": format!("{}/docs/{ACCESS_TOKEN}", m.base),
    }))
    .into_response()
}

async fn accounts(State(m): State<Shared>, headers: HeaderMap) -> Response {
    let t = bearer(&m, &headers);
    let owner_key = if m.v2.load(Ordering::SeqCst) {
        "owned_by"
    } else {
        "owner"
    };
    let body = json!({
        "by_token": { t.as_str(): {"scopes": "read", "calls": 5} },
        owner_key: t,
        "session": jwt_claiming(&t),
        "renew": format!("{}/oauth/token?rt={}", m.base, form_encode(REFRESH_TOKEN)),
        "count": 3,
    });
    let mut out = vec![
        (
            header::LINK.to_string(),
            format!("<{}/docs/{t}>; rel=\"deprecation\"", m.base),
        ),
        ("x-api-warn".into(), format!("legacy API for token {t}")),
        ("x-request-owner".into(), t.clone()),
    ];
    if m.v2.load(Ordering::SeqCst) {
        out.push(("sunset".into(), format!("soon for {t}")));
    }
    let mut resp = axum::Json(body).into_response();
    for (name, value) in out {
        resp.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    resp
}

async fn plain(State(m): State<Shared>, headers: HeaderMap) -> Response {
    let t = bearer(&m, &headers);
    (
        [(header::CONTENT_TYPE, "text/plain")],
        format!("token {t} accepted\n"),
    )
        .into_response()
}

async fn html(State(m): State<Shared>, headers: HeaderMap) -> Response {
    let t = bearer(&m, &headers);
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<html><body><p>Signed in with <code>{t}</code></p></body></html>"),
    )
        .into_response()
}

async fn broken(State(m): State<Shared>, headers: HeaderMap) -> Response {
    let t = bearer(&m, &headers);
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(
            json!({"error": "internal", "detail": format!("token {t} crashed the backend")}),
        ),
    )
        .into_response()
}

async fn moved(State(m): State<Shared>, headers: HeaderMap) -> Response {
    let t = bearer(&m, &headers);
    let to = format!(
        "/api/landing?access_token={t}&rt={}",
        form_encode(REFRESH_TOKEN)
    );
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

async fn landing(State(m): State<Shared>, headers: HeaderMap) -> Response {
    let t = bearer(&m, &headers);
    axum::Json(json!({"landed": true, "via": t})).into_response()
}

async fn form(State(m): State<Shared>, headers: HeaderMap) -> Response {
    let t = bearer(&m, &headers);
    (
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        format!(
            "owner={}&refresh={}&secret_hint={}",
            form_encode(&t),
            form_encode(REFRESH_TOKEN),
            form_encode(CLIENT_SECRET)
        ),
    )
        .into_response()
}

const SUITE: &str = "version: 1
provider:
  name: mirror
  base_url: ${env:MIRROR_BASE_URL}
auth:
  grant: authorization_code
  token_url: /oauth/token
  authorize_url: /oauth/authorize
  client_id: mirror-client
  client_secret: ${env:MIRROR_CLIENT_SECRET}
  client_auth: basic
  redirect_uri: http://127.0.0.1:8765/callback
  scopes: [read]
  refresh:
    documented: reusable
scope_sets:
  full: [read]
connections:
  - id: main
    scope_set: full
endpoints:
  - id: accounts
    path: /api/accounts
    values:
      auto: true
  - id: plain
    path: /api/plain
  - id: html
    path: /api/html
  - id: broken
    path: /api/broken
  - id: moved
    path: /api/moved
  - id: form
    path: /api/form
limits:
  timeout: 5s
  retries: 0
deprecation:
  headers: [X-API-Warn]
metadata:
  documents: [oauth-authorization-server]
";

/// A second suite on the same provider whose only grant was revoked: its refresh is refused
/// with an `error_description` quoting the refresh token and the client secret. A suite of
/// its own, because an unusable connection keeps a suite's merged observations from being
/// recorded (safety rule 5).
const REVOKED_SUITE: &str = "version: 1
provider:
  name: mirror-revoked
  base_url: ${env:MIRROR_BASE_URL}
auth:
  grant: authorization_code
  token_url: /oauth/token
  authorize_url: /oauth/authorize
  client_id: mirror-client
  client_secret: ${env:MIRROR_CLIENT_SECRET}
  client_auth: basic
  redirect_uri: http://127.0.0.1:8765/callback
  scopes: [read]
connections:
  - id: revoked
endpoints:
  - id: accounts
    path: /api/accounts
";

/// A webhook receiver keeping every body as received.
struct Hook {
    bodies: Arc<Mutex<Vec<String>>>,
    url: String,
}

async fn hook() -> Hook {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let b = bodies.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: String| {
            let b = b.clone();
            async move {
                b.lock().unwrap().push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Hook { bodies, url }
}

struct Scene {
    dir: tempfile::TempDir,
    mirror: Shared,
    hook: Hook,
    /// Every stdout and stderr so far, labelled.
    streams: Vec<(String, String)>,
}

impl Scene {
    fn suite(&self) -> String {
        self.dir.path().join("mirror.yaml").display().to_string()
    }

    fn revoked_suite(&self) -> String {
        self.dir.path().join("revoked.yaml").display().to_string()
    }

    async fn cmd(&mut self, what: &str, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
        c.current_dir(self.dir.path())
            .args(args)
            .env_remove("CI")
            .env("GITHUB_ACTIONS", "true")
            .env("NO_COLOR", "1")
            .env("DRIFTWATCH_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .env(
                "DRIFTWATCH_CREDENTIALS",
                self.dir.path().join("credentials.json"),
            )
            .env("MIRROR_BASE_URL", &self.mirror.base)
            .env("MIRROR_CLIENT_SECRET", CLIENT_SECRET);
        let out = tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        self.streams.push((
            format!("{what} stdout"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
        self.streams.push((format!("{what} stderr"), stderr));
        out
    }

    async fn run(&mut self, what: &str, update: &str) -> Output {
        let (suite, revoked) = (self.suite(), self.revoked_suite());
        let hook = self.hook.url.clone();
        let args = [
            "run",
            &suite,
            &revoked,
            "--update",
            update,
            "--webhook",
            &hook,
            "--webhook-on",
            "any",
            "--format",
            "terminal",
            "--format",
            "json",
            "--format",
            "junit",
            "--format",
            "markdown",
            "--format",
            "html",
        ];
        self.cmd(what, &args).await
    }

    fn latest_run(&self) -> Value {
        let text =
            std::fs::read_to_string(self.dir.path().join("reports/latest/run.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

/// Every file under `dir`, recursively, but the credential store (and its lock and journal),
/// whose job is to hold the secrets.
fn written_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if !name.starts_with("credentials.json") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Every (secret, form) found in `text`.
fn leaks(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for secret in SECRETS {
        for form in secret_forms(secret) {
            if text.contains(&form) {
                found.push(format!("{secret} as `{form}`"));
            }
        }
    }
    found
}

fn rules(run: &Value, list: &str) -> Vec<String> {
    let mut v: Vec<String> = run[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d["rule"].as_str().unwrap(),
                d["subject"].as_str().unwrap(),
                d["path"].as_str().unwrap_or("-")
            )
        })
        .collect();
    v.sort();
    v
}

fn connection_states(run: &Value) -> Vec<String> {
    let mut v: Vec<String> = run["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["connection"].as_str().unwrap(),
                c["state"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflecting_provider_canary_finds_no_secret_in_any_output() {
    for s in SECRETS {
        register_known_secret(s);
    }
    // The scan finds every form it claims to, so a clean result means something: each
    // secret raw and form-encoded, and both tokens inside the claims of a returned JWT.
    for s in SECRETS {
        assert!(!leaks(&format!("<{s}>")).is_empty() && !leaks(&form_encode(s)).is_empty());
    }
    let in_claim = leaks(&jwt_claiming("acct-4411-access-token-value"));
    assert_eq!(in_claim.len(), 1, "{in_claim:?}");
    assert!(in_claim[0].starts_with(REFRESH_TOKEN), "{in_claim:?}");
    let jwt = jwt_claiming(ACCESS_TOKEN);
    assert!(
        !jwt.contains(ACCESS_TOKEN) && leaks(&jwt).len() == 2,
        "{:?}",
        leaks(&jwt)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mirror.yaml"), SUITE).unwrap();
    std::fs::write(dir.path().join("revoked.yaml"), REVOKED_SUITE).unwrap();
    let store = json!({
        "format": "driftwatch-credentials/1",
        "entries": {
            "mirror/main": {"refresh_token": REFRESH_TOKEN, "scopes": ["read"]},
            "mirror-revoked/revoked": {"refresh_token": REVOKED_REFRESH_TOKEN, "scopes": ["read"]},
        }
    });
    std::fs::write(dir.path().join("credentials.json"), store.to_string()).unwrap();
    let mut scene = Scene {
        dir,
        mirror: start().await,
        hook: hook().await,
        streams: Vec::new(),
    };

    // 1. The baseline, written in place.
    let first = scene.run("run --update always", "always").await;
    assert_eq!(
        first.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let baseline = scene.latest_run();
    assert_eq!(
        connection_states(&baseline),
        vec!["main refreshed", "revoked grant-dead"]
    );
    // The token was really reflected and really observed: the key is there, redacted.
    let snaps = scene.dir.path().join("snapshots");
    let accounts = std::fs::read_to_string(snaps.join("mirror/schema/accounts.snap"))
        .unwrap_or_else(|e| panic!("{e}: {:?}", written_files(&snaps)));
    assert!(
        accounts.contains("\"$.by_token['[REDACTED]'].calls\""),
        "{accounts}"
    );

    // 2. The provider drifts: `.snap.new` files and drift in every format.
    scene.mirror.v2.store(true, Ordering::SeqCst);
    let second = scene.run("run --update new", "new").await;
    assert_eq!(
        second.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let drifted = scene.latest_run();
    let errors: Vec<String> = drifted["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["class"], e["subject"]))
        .collect();
    // The run still does its job: the rename is found, the malformed `Sunset` (it quotes the
    // token) is a finding, the revoked grant is a connection problem, not a run error.
    assert_eq!(
        rules(&drifted, "drifts"),
        ["schema.field-renamed accounts $.owner"]
    );
    assert_eq!(
        rules(&drifted, "findings"),
        ["deprecation.malformed-header accounts Sunset"]
    );
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(
        connection_states(&drifted),
        ["main ok", "revoked grant-dead"]
    );

    // 3. Nothing written at all, then every report re-rendered and the token view.
    let third = scene.run("run --update no", "no").await;
    assert_eq!(third.status.code(), Some(3));
    let run_json = scene
        .dir
        .path()
        .join("reports/latest/run.json")
        .display()
        .to_string();
    for format in ["terminal", "json", "junit", "markdown", "html"] {
        let out = scene
            .cmd(
                &format!("report --format {format}"),
                &["report", &run_json, "--format", format],
            )
            .await;
        assert_eq!(out.status.code(), Some(0), "report {format}");
    }
    let (suite, revoked) = (scene.suite(), scene.revoked_suite());
    let tokens = scene.cmd("tokens", &["tokens", &suite, &revoked]).await;
    assert_eq!(tokens.status.code(), Some(3));
    scene
        .cmd("tokens --json", &["tokens", &suite, &revoked, "--json"])
        .await;

    // The provider was exercised: every resource endpoint twice per run (probe and
    // permissions), and the revoked grant and the error probe were refused.
    assert!(scene.mirror.bearer_calls.load(Ordering::SeqCst) >= 3 * 6);
    assert!(
        scene
            .mirror
            .presented
            .lock()
            .unwrap()
            .iter()
            .any(|p| p == REVOKED_REFRESH_TOKEN)
    );

    // Zero occurrences anywhere.
    let mut found = Vec::new();
    for (what, text) in &scene.streams {
        for leak in leaks(text) {
            found.push(format!("{what}: {leak}"));
        }
    }
    let files = written_files(scene.dir.path());
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        for leak in leaks(&text) {
            found.push(format!("{}: {leak}", f.display()));
        }
    }
    let bodies = scene.hook.bodies.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "the webhook was sent");
    for (i, body) in bodies.iter().enumerate() {
        for leak in leaks(body) {
            found.push(format!("webhook body {i}: {leak}"));
        }
    }
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
    // Every kind of output was really produced and scanned.
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    for want in [
        "run.json",
        "index.html",
        "run.xml",
        "run.md",
        "accounts.snap",
        "accounts.snap.new",
    ] {
        assert!(names.iter().any(|n| n == want), "no {want} in {names:?}");
    }
}
