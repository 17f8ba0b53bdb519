//! The credential store never loses a grant: runs SIGKILLed at every point of
//! a refresh on a one-time-use provider, a store reached through a symlink by
//! concurrent runs, and a token endpoint failing with a server error.

use crate::support::{World, files_with_secrets};
use driftwatch::auth::store::{InFlight, StoredSecret};
use driftwatch::auth::{AuthError, CredentialStore, Entry};
use driftwatch::context::Context;
use driftwatch::demo::authorize_with_sim;
use driftwatch::run::ProviderSession;
use driftwatch::sim::SimOptions;
use driftwatch::suite::{LoadMode, Suite, load_suite};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A small suite on the simulated one-time-use provider: a run refreshes each
/// connection once (access tokens live 5 s, under the refresh margin).
fn small_suite(connections: &[&str]) -> String {
    let mut s = String::from(
        r#"version: 1
provider:
  name: store
  base_url: ${env:SIM_BASE_URL}
auth:
  grant: authorization_code
  token_url: /oauth/token
  authorize_url: /oauth/authorize
  client_id: ${env:SIM_CLIENT_ID}
  client_secret: ${env:SIM_CLIENT_SECRET}
  client_auth: basic
  redirect_uri: http://127.0.0.1:8765/callback
  scopes: [profile]
connections:
"#,
    );
    for c in connections {
        s.push_str(&format!("  - id: {c}\n"));
    }
    s.push_str("endpoints:\n  - id: me\n    path: /v1/me\n");
    s
}

struct Small {
    w: World,
    suite_path: PathBuf,
    suite: Suite,
}

impl Small {
    async fn start(token_latency: Duration, connections: &[&str]) -> Small {
        let w = World::start(SimOptions {
            access_token_ttl: Duration::from_secs(5),
            token_latency,
            ..SimOptions::default()
        })
        .await;
        let suite_path = w.dir.path().join("store.yaml");
        std::fs::write(&suite_path, small_suite(connections)).unwrap();
        let suite = load_suite(&suite_path, &w.ctx, LoadMode::Run)
            .unwrap()
            .suite;
        Small {
            w,
            suite_path,
            suite,
        }
    }

    fn creds(&self) -> PathBuf {
        self.w.dir.path().join("creds.json")
    }

    async fn session(&self, store: &Path) -> ProviderSession {
        let (session, err) = ProviderSession::open(&self.suite, false, CredentialStore::new(store))
            .await
            .unwrap();
        assert_eq!(err, None);
        session
    }

    async fn connect(&self, id: &str) {
        let session = self.session(&self.creds()).await;
        let conn = self.conn(id);
        authorize_with_sim(&self.suite, &session, conn)
            .await
            .unwrap();
    }

    fn conn(&self, id: &str) -> &driftwatch::suite::Connection {
        self.suite
            .connections
            .iter()
            .find(|c| c.id.value == id)
            .unwrap()
    }

    /// `driftwatch run` of the small suite against `store`.
    fn run_cmd(&self, store: &Path) -> Command {
        let w = &self.w;
        let mut c = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
        c.current_dir(w.dir.path())
            .arg("run")
            .arg(&self.suite_path)
            .arg("--credentials")
            .arg(store)
            .args([
                "--snapshots",
                "snapshots",
                "--reports",
                "reports",
                "--fail-on",
                "never",
            ])
            .env_remove("CI")
            .env_remove(driftwatch::auth::store::kill::VAR)
            .env("NO_COLOR", "1")
            .env("SIM_BASE_URL", w.sim.base_url())
            .env("SIM_CLIENT_ID", w.sim.client_id())
            .env("SIM_CLIENT_SECRET", w.sim.client_secret())
            .stdin(Stdio::null());
        c
    }
}

/// Whether the journal beside `store` holds a record, and how many temp files
/// of interrupted writes lie beside it.
fn leftovers(store: &Path) -> (bool, usize) {
    let mut journal = store.as_os_str().to_os_string();
    journal.push(".journal");
    let journaled = std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0);
    let dir = store.parent().unwrap();
    let temps = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(".creds.json.") && n.ends_with(".tmp")
        })
        .count();
    (journaled, temps)
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    trials: u32,
    /// The child died of SIGKILL (not a normal exit).
    killed: u32,
    /// A journal record was waiting when the next process opened the store.
    journal_found: u32,
    /// A temp file of an interrupted write was waiting.
    temps_found: u32,
    /// Grants lost, each flagged by an `invalid_grant` naming the interrupted refresh.
    lost_flagged: u32,
    /// Grants lost without that explanation, or any other error.
    silent: u32,
}

/// ≥ 100 SIGKILLs of `driftwatch run` on the one-time-use provider, at each
/// kill point of a refresh (deterministic, through the debug-build hook) and at
/// random moments. After every kill, the next process refreshes every
/// connection through the real token manager: a grant is lost only when the
/// kill came before the answer reached the process, and every loss names the
/// interrupted refresh. No temp file or journal record with a secret survives.
#[cfg(all(unix, debug_assertions))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_every_refresh_point_loses_no_answered_grant() {
    use std::os::unix::process::ExitStatusExt;
    let started = std::time::Instant::now();
    let ids = ["acme-corp", "globex"];
    // The sim rotates before its 40 ms latency: an `in-flight` kill (10 ms
    // after sending) lands after the provider spent the token.
    let s = Small::start(Duration::from_millis(40), &ids).await;
    for id in ids {
        s.connect(id).await;
    }
    let points = [
        "before-request",
        "in-flight",
        "after-answer",
        "store-write",
        "after-store-write",
        "random",
    ];
    let mut tallies: Vec<(&str, Tally)> = points.iter().map(|p| (*p, Tally::default())).collect();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut trial = 0u32;
    for round in 0..24 {
        for (p, tally) in tallies.iter_mut() {
            if *p != "random" && round >= 16 {
                continue;
            }
            trial += 1;
            let mut cmd = s.run_cmd(&s.creds());
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
            let status = if *p == "random" {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let delay = Duration::from_millis(5 + seed % 300);
                let mut child = cmd.spawn().unwrap();
                tokio::time::sleep(delay).await;
                let _ = child.kill();
                tokio::task::spawn_blocking(move || child.wait().unwrap())
                    .await
                    .unwrap()
            } else {
                // Alternate between the first and the second refresh of the run.
                cmd.env(
                    driftwatch::auth::store::kill::VAR,
                    format!("{p}:{}", 1 + round % 2),
                );
                tokio::task::spawn_blocking(move || cmd.status().unwrap())
                    .await
                    .unwrap()
            };
            tally.trials += 1;
            if status.signal() == Some(libc::SIGKILL) {
                tally.killed += 1;
            }
            let (journaled, temps) = leftovers(&s.creds());
            tally.journal_found += u32::from(journaled);
            tally.temps_found += temps as u32;

            // The next process: one refresh per connection, through the real token manager.
            let session = s.session(&s.creds()).await;
            for id in ids {
                match session.tokens.access_token(s.conn(id), &[]).await {
                    Ok(_) => {}
                    Err(AuthError::InvalidGrant {
                        in_flight: Some(_), ..
                    }) => {
                        tally.lost_flagged += 1;
                        s.connect(id).await;
                    }
                    Err(e) => {
                        tally.silent += 1;
                        eprintln!("trial {trial} ({p}): {id}: {e}");
                        s.connect(id).await;
                    }
                }
            }
            assert_eq!(
                leftovers(&s.creds()),
                (false, 0),
                "trial {trial} ({p}): leftovers survived the next open"
            );
        }
    }
    eprintln!("kill point         trials killed journal temps lost(flagged) silent");
    for (p, t) in &tallies {
        eprintln!(
            "{p:<18} {:>6} {:>6} {:>7} {:>5} {:>13} {:>6}",
            t.trials, t.killed, t.journal_found, t.temps_found, t.lost_flagged, t.silent
        );
    }
    eprintln!("{trial} trials in {:.1} s", started.elapsed().as_secs_f64());
    assert!(trial >= 100, "{trial}");
    let get = |name: &str| tallies.iter().find(|(p, _)| *p == name).unwrap().1;
    for (p, t) in &tallies {
        assert_eq!(t.silent, 0, "{p}: {t:?}");
        if *p != "random" {
            assert_eq!(
                t.killed, t.trials,
                "{p}: the kill point was not reached: {t:?}"
            );
        }
    }
    // Killed after the answer reached the process: never a loss.
    for p in [
        "before-request",
        "after-answer",
        "store-write",
        "after-store-write",
    ] {
        assert_eq!(get(p).lost_flagged, 0, "{p}: {:?}", get(p));
    }
    // The journal and the temp-file recovery did the work.
    assert_eq!(get("after-answer").journal_found, 16);
    assert_eq!(get("store-write").journal_found, 16);
    assert_eq!(get("store-write").temps_found, 16);
    assert_eq!(get("after-store-write").journal_found, 16);
    assert_eq!(get("before-request").journal_found, 0);
    // Kills before the answer do lose grants (the provider spent the token):
    // the test sees them, and each one was flagged above.
    assert!(get("in-flight").lost_flagged + get("random").lost_flagged > 0);
    // The store file is the only file left holding a secret.
    let holders: Vec<String> = files_with_secrets(s.w.dir.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(holders, vec!["creds.json".to_string()]);
}

/// 8 concurrent runs per round, half through `creds.json` and half through
/// `link.json → creds.json`, 10 rounds, every run refreshing every one-time
/// grant: one lock, one file, no token presented twice, 0 grants lost, and
/// the link is still a link.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_store_shares_one_lock_and_one_file() {
    let ids = ["acme-corp", "globex", "initech"];
    let s = Small::start(Duration::ZERO, &ids).await;
    for id in ids {
        s.connect(id).await;
    }
    let link = s.w.dir.path().join("link.json");
    std::os::unix::fs::symlink("creds.json", &link).unwrap();
    let before = s.w.sim.stats();
    let mut runs = 0u64;
    for round in 0..10 {
        let children: Vec<_> = (0..8)
            .map(|i| {
                let path = if i % 2 == 0 { s.creds() } else { link.clone() };
                let mut c = s.run_cmd(&path);
                c.stdout(Stdio::piped()).stderr(Stdio::piped());
                c.spawn().unwrap()
            })
            .collect();
        let outputs = tokio::task::spawn_blocking(move || {
            children
                .into_iter()
                .map(|c| c.wait_with_output().unwrap())
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        for out in &outputs {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "round {round}: {stdout}");
            assert!(stdout.contains("· 0 errors"), "round {round}: {stdout}");
            runs += 1;
        }
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "round {round}: the link was replaced"
        );
    }
    let after = s.w.sim.stats();
    assert_eq!(runs, 80);
    assert_eq!(
        after.refresh_reuse_rejected - before.refresh_reuse_rejected,
        0
    );
    assert_eq!(after.refresh_replays - before.refresh_replays, 0);
    // Per run: one refresh per connection and the error probe's refresh.
    assert_eq!(
        after.refresh_grants - before.refresh_grants,
        runs * (ids.len() as u64 + 1)
    );
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("creds.json"));
    assert!(!s.w.dir.path().join("link.json.lock").exists());
    assert!(!s.w.dir.path().join("link.json.journal").exists());
    // 0 grants lost: every connection still refreshes, through either path.
    for (i, id) in ids.iter().enumerate() {
        let path = if i % 2 == 0 { s.creds() } else { link.clone() };
        let session = s.session(&path).await;
        session
            .tokens
            .access_token(s.conn(id), &[])
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}

/// A token endpoint answering `status` with an OAuth error body, on port 0.
async fn failing_token_endpoint(status: u16, error: &'static str) -> std::net::SocketAddr {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/oauth/token",
        post(move || async move {
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                format!(r#"{{"error":"{error}"}}"#),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A store holding one connection whose access token has expired, and the
/// suite naming `addr` as its token endpoint.
fn stale_grant(dir: &Path, addr: std::net::SocketAddr) -> (Suite, CredentialStore) {
    let suite_path = dir.join("failing.yaml");
    std::fs::write(
        &suite_path,
        format!(
            "version: 1\nprovider:\n  name: failing\n  base_url: http://{addr}\nauth:\n  grant: authorization_code\n  token_url: /oauth/token\n  client_id: driftwatch-test\n  client_auth: post\nconnections:\n  - id: acme\nendpoints:\n  - id: me\n    path: /v1/me\n"
        ),
    )
    .unwrap();
    let suite = load_suite(&suite_path, &Context::empty(dir), LoadMode::Run)
        .unwrap()
        .suite;
    let store = CredentialStore::new(dir.join("creds.json"));
    let lock = store.lock().unwrap();
    let entry = Entry {
        refresh_token: Some(StoredSecret::new("rt-live")),
        access_token: Some(StoredSecret::new("at-old")),
        access_token_expires_at: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
        ..Entry::default()
    };
    store.put(&lock, "failing/acme", entry).unwrap();
    (suite, store)
}

/// Issue 14: an HTTP 500 with an OAuth error body cleared the in-flight
/// marker, although a provider can fail after rotating. A 5xx keeps it (and
/// the refresh token); the next definite `invalid_grant` (4xx) then names the
/// interrupted refresh and clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_5xx_with_oauth_error_keeps_the_in_flight_marker() {
    let dir = tempfile::tempdir().unwrap();
    for (status, error) in [(500, "invalid_grant"), (502, "server_error")] {
        let addr = failing_token_endpoint(status, error).await;
        let (suite, store) = stale_grant(dir.path(), addr);
        let (session, _) = ProviderSession::open(&suite, false, store.clone())
            .await
            .unwrap();
        let err = session
            .tokens
            .access_token(&suite.connections[0], &[])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AuthError::Refused { status: s, error: e, .. } if *s == status && e == error),
            "{err:?}"
        );
        let entry = store.get("failing/acme").unwrap().unwrap();
        assert_eq!(entry.refresh_token, Some(StoredSecret::new("rt-live")));
        let marker: InFlight = entry.refresh_in_flight.expect("the marker was cleared");
        assert_eq!(marker.pid, std::process::id());

        // The provider now answers a definite 400 invalid_grant.
        let addr = failing_token_endpoint(400, "invalid_grant").await;
        let suite = stale_suite_at(dir.path(), addr);
        let (session, _) = ProviderSession::open(&suite, false, store.clone())
            .await
            .unwrap();
        let err = session
            .tokens
            .access_token(&suite.connections[0], &[])
            .await
            .unwrap_err();
        match err {
            AuthError::InvalidGrant { in_flight, .. } => assert_eq!(in_flight, Some(marker)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            store
                .get("failing/acme")
                .unwrap()
                .unwrap()
                .refresh_in_flight,
            None
        );
    }
}

/// The suite of [`stale_grant`] pointed at `addr`, the store left as it is.
fn stale_suite_at(dir: &Path, addr: std::net::SocketAddr) -> Suite {
    let suite_path = dir.join("failing.yaml");
    let text = std::fs::read_to_string(&suite_path).unwrap();
    let start = text.find("http://127.0.0.1:").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    let text = format!("{}http://{addr}{}", &text[..start], &text[end..]);
    std::fs::write(&suite_path, text).unwrap();
    load_suite(&suite_path, &Context::empty(dir), LoadMode::Run)
        .unwrap()
        .suite
}
