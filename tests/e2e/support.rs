//! Shared fixtures: a simulated provider on port 0, a scratch directory with
//! the demo suite, connected accounts, and a secret scanner.

use driftwatch::auth::CredentialStore;
use driftwatch::baseline::UpdateMode;
use driftwatch::context::Context;
use driftwatch::demo::{authorize_with_sim, sim_context, write_demo_suite};
use driftwatch::run::{Event, ProviderSession, Run, RunOptions};
use driftwatch::sim::{Sim, SimOptions};
use driftwatch::suite::{LoadMode, load_suite};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

/// Prefixes every simulated-provider secret carries.
pub use driftwatch::sim::SECRET_PREFIXES;

pub struct World {
    pub dir: tempfile::TempDir,
    pub sim: Sim,
    pub ctx: Context,
    pub suite: PathBuf,
}

impl World {
    /// Starts the sim and writes the demo suite; accounts are not connected yet.
    pub async fn start(opts: SimOptions) -> World {
        let dir = tempfile::tempdir().unwrap();
        let sim = Sim::start(([127, 0, 0, 1], 0).into(), opts).await.unwrap();
        let suite = write_demo_suite(dir.path()).unwrap();
        let ctx = sim_context(&Context::empty(dir.path()), &sim);
        World {
            dir,
            sim,
            ctx,
            suite,
        }
    }

    /// The demo world with all four accounts connected. Access tokens live
    /// 30 s, under the refresh margin, so every run spends and rotates each
    /// one-time refresh token.
    pub async fn connected() -> World {
        let w = World::start(SimOptions {
            access_token_ttl: std::time::Duration::from_secs(30),
            ..SimOptions::default()
        })
        .await;
        w.connect_all().await;
        w
    }

    pub fn credentials(&self) -> PathBuf {
        self.dir.path().join("credentials.json")
    }

    pub fn snapshots(&self) -> PathBuf {
        self.dir.path().join("snapshots")
    }

    pub fn reports(&self) -> PathBuf {
        self.dir.path().join("reports")
    }

    pub async fn connect_all(&self) {
        let suite = load_suite(&self.suite, &self.ctx, LoadMode::Run)
            .unwrap()
            .suite;
        let (session, err) =
            ProviderSession::open(&suite, false, CredentialStore::new(self.credentials()))
                .await
                .unwrap();
        assert_eq!(err, None);
        for c in &suite.connections {
            authorize_with_sim(&suite, &session, c).await.unwrap();
        }
    }

    pub fn options(&self, write_pending: bool) -> RunOptions {
        RunOptions {
            suites: vec![self.suite.clone()],
            snapshots: self.snapshots(),
            reports: self.reports(),
            credentials: self.credentials(),
            credential_helper: None,
            allow_insecure_http: false,
            update: if write_pending {
                UpdateMode::New
            } else {
                UpdateMode::No
            },
            expiry_window: std::time::Duration::from_secs(7 * 86_400),
            suppressions: None,
        }
    }

    pub async fn run(&self) -> Run {
        let quiet = |_e: Event| {};
        driftwatch::run::execute(&self.ctx, &self.options(true), &quiet)
            .await
            .unwrap()
    }

    /// The `driftwatch` binary in the world's directory: colours off, not under CI, the
    /// sim's variables set, no `DRIFTWATCH_*` from the developer's shell, and the platform
    /// data directory inside the world, so no test ever opens the real credential store.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
        c.env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path())
            .env("HOME", self.home())
            .env("XDG_DATA_HOME", self.home().join("data"))
            .env("SIM_BASE_URL", self.sim.base_url())
            .env("SIM_CLIENT_ID", self.sim.client_id())
            .env("SIM_CLIENT_SECRET", self.sim.client_secret());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("DRIFTWATCH_") {
                c.env_remove(k);
            }
        }
        c
    }

    /// The home directory [`World::command`] gives the binary.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Runs, then accepts every pending snapshot.
    pub async fn run_and_accept(&self) -> Run {
        let run = self.run().await;
        driftwatch::baseline::BaselineStore::new(self.snapshots())
            .accept(&driftwatch::baseline::Filter::default())
            .unwrap();
        run
    }
}

/// The `driftwatch` binary outside any world: colours off, not under CI.
pub fn driftwatch() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    c.env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1");
    c
}

/// Runs `cmd` off the async runtime and returns its output; asserts that nothing it
/// printed holds a simulated secret.
pub async fn output(mut cmd: Command) -> Output {
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        assert!(!contains_secret(&text), "secret printed:\n{text}");
    }
    out
}

/// [`output`] for tests that are not async: runs `cmd` on this thread.
pub fn output_blocking(mut cmd: Command) -> Output {
    let out = cmd.output().unwrap();
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        assert!(!contains_secret(&text), "secret printed:\n{text}");
    }
    out
}

/// Every file under `dir` (recursively) that contains a simulated secret.
pub fn files_with_secrets(dir: &Path) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                let text = String::from_utf8_lossy(&bytes);
                if contains_secret(&text) {
                    hits.push(p);
                }
            }
        }
    }
    hits
}

/// True when `text` holds a simulated secret (by its `sim_` prefix) or any form
/// (see [`secret_forms`]) of a secret a test registered with [`register_known_secret`]:
/// providers that are not the sim issue tokens without a recognisable prefix, so
/// the scan must know their exact values.
pub fn contains_secret(text: &str) -> bool {
    SECRET_PREFIXES.iter().any(|p| text.contains(p))
        || known_secrets()
            .iter()
            .any(|forms| forms.iter().any(|f| text.contains(f.as_str())))
}

/// Secrets without a `sim_` prefix every scan of this test binary looks for, each with its forms.
static KNOWN_SECRETS: std::sync::Mutex<Vec<Vec<String>>> = std::sync::Mutex::new(Vec::new());

/// Makes every later [`contains_secret`] look for `secret` (all its forms), whichever test scans.
pub fn register_known_secret(secret: &str) {
    let mut known = KNOWN_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let forms = secret_forms(secret);
    if !known.contains(&forms) {
        known.push(forms);
    }
}

fn known_secrets() -> Vec<Vec<String>> {
    KNOWN_SECRETS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// The forms in which a secret can leak: raw, form-URL-encoded (`+/=` → `%2B%2F%3D`), and
/// its base64 encodings (standard and URL-safe) at each of the three byte alignments, cut to
/// the characters that do not depend on what surrounds it — what a JWT claim or any base64
/// blob holding the secret contains. Computed here, independently of the redactor.
pub fn secret_forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut forms = vec![
        secret.to_string(),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
    ];
    let bytes = secret.as_bytes();
    // A short secret's stable base64 characters are too few to mean anything.
    let shifts = if bytes.len() >= 16 { 0..3 } else { 0..0 };
    for shift in shifts {
        let mut input = vec![b'.'; shift];
        input.extend_from_slice(bytes);
        // Character j covers input bits 6j..6j+6: keep those inside the secret.
        let (start, end) = ((8 * shift).div_ceil(6), 8 * (shift + bytes.len()) / 6);
        for encoded in [
            STANDARD_NO_PAD.encode(&input),
            URL_SAFE_NO_PAD.encode(&input),
        ] {
            forms.push(encoded[start..end].to_string());
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

/// Asserts that nothing under `reports/` and `snapshots/` of `root` leaks a secret.
pub fn assert_no_leaks(root: &Path) {
    for sub in ["reports", "snapshots"] {
        let hits = files_with_secrets(&root.join(sub));
        assert!(hits.is_empty(), "secrets leaked into {hits:?}");
    }
}

/// (probe, subject, connection, status) of a run's pending snapshots, in order.
pub fn pending_set(run: &Run) -> Vec<(String, String, String, String)> {
    run.pending
        .iter()
        .map(|p| {
            (
                p.probe.to_string(),
                p.subject.clone(),
                p.connection.clone().unwrap_or_default(),
                p.status.clone(),
            )
        })
        .collect()
}

/// (rule, subject, path) triples of a run's drifts, sorted.
pub fn drift_set(run: &Run) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = run
        .drifts
        .iter()
        .map(|d| {
            (
                d.rule.to_string(),
                d.subject.clone(),
                d.path.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

/// "rule subject path [connections]" lines of a run's drifts, sorted: compact
/// enough to assert a whole run's drift set exactly.
pub fn drift_lines(run: &Run) -> Vec<String> {
    let mut v: Vec<String> = run
        .drifts
        .iter()
        .map(|d| {
            let mut line = format!(
                "{} {} {}",
                d.rule,
                d.subject,
                d.path.as_deref().unwrap_or("-")
            );
            if !d.connections.is_empty() {
                line.push_str(&format!(" [{}]", d.connections.join(",")));
            }
            line
        })
        .collect();
    v.sort();
    v
}

/// A Slack-like incoming-webhook receiver answering `status` to every POST.
pub struct WebhookReceiver {
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    pub status: Arc<AtomicU16>,
    /// The URL handed to driftwatch; its path plays the bearer capability.
    pub url: String,
}

impl WebhookReceiver {
    pub async fn start(status: u16) -> WebhookReceiver {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(status));
        let (b, s) = (bodies.clone(), status.clone());
        let app = axum::Router::new().route(
            "/services/T0001/B0002/capability9xyz",
            axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
                let (b, s) = (b.clone(), s.clone());
                async move {
                    b.lock().unwrap().push(v);
                    axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        WebhookReceiver {
            bodies,
            status,
            url: format!("http://{addr}/services/T0001/B0002/capability9xyz"),
        }
    }

    pub fn received(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// `http://127.0.0.1:PORT/…`: how driftwatch may show the URL.
    pub fn shown(&self) -> String {
        let rest = self.url.trim_start_matches("http://");
        format!("http://{}/…", rest.split('/').next().unwrap_or_default())
    }
}
