//! The real-server lane: driftwatch against an authorization server this
//! project did not write — django-oauth-toolkit (DOT) on loopback with a small
//! protected resource (`tests/real-server/server.py`, suite
//! `tests/real-server/dot.yaml`). Connections are obtained with driftwatch's
//! own `connect` (authorization code + PKCE through its loopback callback),
//! the test playing the user's browser: it logs in to Django, opens the
//! authorize URL, allows, and follows the redirect to driftwatch.
//!
//! Needs a Python with the pinned `tests/real-server/requirements.txt`
//! (`.ci/run` installs it into `target/real-server-venv`); without one each
//! test says it did not run, unless the lane is required (`CI=true` or
//! `DRIFTWATCH_REQUIRE_REAL_SERVER=1`), where that is a failure.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const REQUIRE: &str = "DRIFTWATCH_REQUIRE_REAL_SERVER";
const INSTALL: &str = "python3 -m venv target/real-server-venv && \
    target/real-server-venv/bin/pip install -r tests/real-server/requirements.txt \
    (or point DRIFTWATCH_REAL_SERVER_PYTHON at a python that has them)";
const USERS: [&str; 3] = ["alice", "bob", "carol"];

fn lane_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real-server")
}

/// The django-oauth-toolkit version `tests/real-server/requirements.txt` pins.
fn pinned_dot() -> String {
    let req = std::fs::read_to_string(lane_dir().join("requirements.txt")).unwrap();
    req.lines()
        .find_map(|l| l.trim().strip_prefix("django-oauth-toolkit=="))
        .expect("requirements.txt pins django-oauth-toolkit")
        .to_string()
}

/// A Python with Django and the pinned DOT, or why there is none.
fn python() -> Result<PathBuf, String> {
    let pinned = pinned_dot();
    let mut tried = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("DRIFTWATCH_REAL_SERVER_PYTHON") {
        candidates.push(p.into());
    }
    candidates
        .push(Path::new(env!("CARGO_MANIFEST_DIR")).join("target/real-server-venv/bin/python"));
    candidates.push("python3".into());
    for c in candidates {
        let version = Command::new(&c)
            .args([
                "-c",
                "import django, oauth2_provider, sys; sys.stdout.write(oauth2_provider.__version__)",
            ])
            .stderr(Stdio::null())
            .output();
        match version {
            Ok(out) if out.status.success() && out.stdout == pinned.as_bytes() => return Ok(c),
            Ok(out) if out.status.success() => tried.push(format!(
                "{} (django-oauth-toolkit {})",
                c.display(),
                String::from_utf8_lossy(&out.stdout)
            )),
            _ => tried.push(c.display().to_string()),
        }
    }
    Err(format!(
        "no Python with django-oauth-toolkit {pinned} (tried {})",
        tried.join(", ")
    ))
}

/// The lane's Python, or `None` after saying why the lane did not run (a failure where required).
fn lane(test: &str) -> Option<PathBuf> {
    match python() {
        Ok(p) => Some(p),
        Err(why) => {
            crate::lanes::missing(
                &format!("real-server lane `{test}`"),
                REQUIRE,
                &why,
                INSTALL,
            );
            None
        }
    }
}

fn random_hex(prefix: &str) -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{prefix}{hex}")
}

/// How the server treats refresh tokens, and its token lifetimes.
#[derive(Clone, Copy)]
struct Mode {
    /// `DOT_MODE`: non-rotating | one-time | grace | reuse-protection.
    refresh: &'static str,
    access_expire_s: u64,
    refresh_expire_s: Option<u64>,
}

impl Mode {
    fn new(refresh: &'static str) -> Mode {
        Mode {
            refresh,
            access_expire_s: 3600,
            refresh_expire_s: None,
        }
    }
}

/// One DOT server with its own sqlite database and scratch directory (suite
/// copy, credential store, snapshots, reports); killed on drop.
struct Lane {
    child: Child,
    dir: tempfile::TempDir,
    base: String,
    client_id: String,
    client_secret: String,
    passwords: BTreeMap<&'static str, String>,
    /// Every secret this lane handed out or saw in the store: none may reach a report.
    secrets: BTreeSet<String>,
}

impl Drop for Lane {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Lane {
    async fn start(python: &Path, mode: Mode) -> Lane {
        let dir = tempfile::tempdir().unwrap();
        let client_id = random_hex("driftwatch-");
        let client_secret = random_hex("dot_cs_");
        let passwords: BTreeMap<&'static str, String> =
            USERS.iter().map(|u| (*u, random_hex("dot_pw_"))).collect();
        let users: Vec<String> = passwords.iter().map(|(u, p)| format!("{u}:{p}")).collect();
        let stderr = std::fs::File::create(dir.path().join("server.stderr")).unwrap();
        let mut cmd = Command::new(python);
        cmd.arg(lane_dir().join("server.py"))
            .env("DOT_DB", dir.path().join("dot.sqlite3"))
            .env("DOT_CLIENT_ID", &client_id)
            .env("DOT_CLIENT_SECRET", &client_secret)
            .env("DOT_USERS", users.join(","))
            .env("DOT_MODE", mode.refresh)
            .env(
                "DOT_ACCESS_EXPIRE_SECONDS",
                mode.access_expire_s.to_string(),
            )
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        if let Some(s) = mode.refresh_expire_s {
            cmd.env("DOT_REFRESH_EXPIRE_SECONDS", s.to_string());
        }
        let mut child = cmd.spawn().expect("python starts");
        let stdout = child.stdout.take().unwrap();
        let first = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                let _ = BufReader::new(stdout).read_line(&mut line);
                line
            }),
        )
        .await;
        let line = match first {
            Ok(Ok(l)) => l,
            _ => String::new(),
        };
        let Some(base) = line
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_string)
        else {
            let _ = child.kill();
            let _ = child.wait();
            let err = std::fs::read_to_string(dir.path().join("server.stderr")).unwrap_or_default();
            panic!("the DOT server did not start (stdout: {line:?}):\n{err}");
        };
        let suite = std::fs::read_to_string(lane_dir().join("dot.yaml")).unwrap();
        std::fs::write(dir.path().join("dot.yaml"), suite).unwrap();
        let mut secrets: BTreeSet<String> = passwords.values().cloned().collect();
        secrets.insert(client_secret.clone());
        Lane {
            child,
            dir,
            base,
            client_id,
            client_secret,
            passwords,
            secrets,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn driftwatch(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
        // The user's own runs, whatever machine runs the test: every `run` says what it writes.
        c.current_dir(self.dir.path())
            .env_remove("CI")
            .env("NO_COLOR", "1")
            .env("DOT_BASE_URL", &self.base)
            .env("DOT_CLIENT_ID", &self.client_id)
            .env("DOT_CLIENT_SECRET", &self.client_secret)
            .stdin(Stdio::null());
        c
    }

    /// `driftwatch connect dot.yaml USER`, the test acting as USER's browser.
    async fn connect(&mut self, user: &'static str) {
        let mut child = self
            .driftwatch()
            .arg("connect")
            .arg(self.path("dot.yaml"))
            .arg(user)
            .args(["--no-browser", "--timeout", "60s", "--credentials"])
            .arg(self.path("credentials.json"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (url, mut reader) = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut seen = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 {
                    panic!("connect printed no authorize URL: {seen:?}");
                }
                let line = line.trim().to_string();
                if line.starts_with("http") {
                    return (line, reader);
                }
                seen.push(line);
            }
        })
        .await
        .unwrap();
        assert!(url.contains("code_challenge_method=S256"), "{url}");
        let mut browser = Browser::new();
        browser
            .log_in(&self.base, user, &self.passwords[user])
            .await;
        let landing = browser.allow(&url).await;
        assert!(landing.contains("You can close this tab"), "{landing}");
        let (status, out) = tokio::task::spawn_blocking(move || {
            let mut out = String::new();
            let _ = reader.read_to_string(&mut out);
            let _ = child.stderr.take().unwrap().read_to_string(&mut out);
            (child.wait().unwrap(), out)
        })
        .await
        .unwrap();
        assert!(status.success(), "connect {user}: {out}");
        assert!(
            out.contains(&format!("Connected `{user}`; credentials stored.")),
            "{out}"
        );
        self.collect_secrets();
        assert_clean(&out, &self.secrets);
    }

    async fn connect_all(&mut self) {
        for u in USERS {
            self.connect(u).await;
        }
    }

    /// Remembers the store's current tokens, so no report may ever contain them.
    fn collect_secrets(&mut self) {
        let store = driftwatch::auth::CredentialStore::new(self.path("credentials.json"));
        for u in USERS {
            if let Ok(Some(e)) = store.get(&format!("dot/{u}")) {
                if let Some(t) = &e.access_token {
                    self.secrets.insert(t.expose().to_string());
                }
                if let Some(t) = &e.refresh_token {
                    self.secrets.insert(t.expose().to_string());
                }
            }
        }
    }

    /// The access token the store holds for `user`.
    fn access_token(&self, user: &str) -> String {
        let store = driftwatch::auth::CredentialStore::new(self.path("credentials.json"));
        let entry = store.get(&format!("dot/{user}")).unwrap().unwrap();
        entry.access_token.unwrap().expose().to_string()
    }

    /// `driftwatch run`; returns its exit code and `run.json`.
    fn run(&mut self, update: &str) -> (i32, Value) {
        let out = self
            .driftwatch()
            .arg("run")
            .arg(self.path("dot.yaml"))
            .arg("--credentials")
            .arg(self.path("credentials.json"))
            .arg("--snapshots")
            .arg(self.path("snapshots"))
            .arg("--reports")
            .arg(self.path("reports"))
            .args(["--update", update])
            .output()
            .unwrap();
        self.collect_secrets();
        let text = self.output_text(&out);
        let run: Value = serde_json::from_str(
            &std::fs::read_to_string(self.path("reports/latest/run.json"))
                .unwrap_or_else(|e| panic!("no run.json ({e}):\n{text}")),
        )
        .unwrap();
        (out.status.code().unwrap_or(-1), run)
    }

    /// The first run writes the baseline, which is accepted.
    fn baseline(&mut self) -> Value {
        let (code, run) = self.run("new");
        assert_eq!(
            (code, drifts(&run), errors(&run)),
            (0, vec![], vec![]),
            "baseline run"
        );
        let out = self
            .driftwatch()
            .arg("accept")
            .arg("--snapshots")
            .arg(self.path("snapshots"))
            .output()
            .unwrap();
        let text = self.output_text(&out);
        assert!(out.status.success(), "accept: {text}");
        run
    }

    /// `driftwatch tokens --json`: exit code and (connection, status) per connection.
    fn tokens(&mut self) -> (i32, Vec<(String, String)>) {
        let out = self
            .driftwatch()
            .arg("tokens")
            .arg(self.path("dot.yaml"))
            .arg("--json")
            .arg("--credentials")
            .arg(self.path("credentials.json"))
            .output()
            .unwrap();
        let text = self.output_text(&out);
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("`tokens --json` ({e}): {text}"));
        let list = doc.get("tokens").unwrap_or(&doc).clone();
        (out.status.code().unwrap_or(-1), token_statuses(&list))
    }

    fn output_text(&self, out: &Output) -> String {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(&text, &self.secrets);
        text
    }

    /// Test-only control endpoint: every access token the server issued is now expired.
    async fn expire_access_tokens(&self) {
        let r = reqwest::Client::new()
            .post(format!("{}/_control/expire-access-tokens", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }

    /// RFC 7009 revocation at DOT's `/o/revoke_token/`, as the provider's admin (or the user
    /// removing the app) would.
    async fn revoke(&self, token: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/o/revoke_token/", self.base))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }

    /// No secret under reports/ or snapshots/.
    fn assert_no_leaks(&self) {
        for sub in ["reports", "snapshots"] {
            let mut stack = vec![self.path(sub)];
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
                        assert!(
                            !self.secrets.iter().any(|s| text.contains(s.as_str())),
                            "a secret leaked into {}",
                            p.display()
                        );
                    }
                }
            }
        }
    }
}

fn assert_clean(text: &str, secrets: &BTreeSet<String>) {
    assert!(
        !secrets.iter().any(|s| text.contains(s.as_str())),
        "a secret was printed"
    );
}

/// The user's browser: a cookie jar over a client that does not follow redirects.
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Sends, keeps the cookies the answer sets; returns (status, Location, body).
    async fn send(&mut self, req: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
        let resp = req
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap_or_default();
            if let Some((name, value)) = v.split(';').next().and_then(|kv| kv.split_once('=')) {
                self.cookies.insert(name.trim().into(), value.trim().into());
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        (status, location, resp.text().await.unwrap_or_default())
    }

    /// Django's login form: GET (CSRF cookie and field), POST the credentials.
    async fn log_in(&mut self, base: &str, user: &str, password: &str) {
        let url = format!("{base}/accounts/login/");
        let (status, _, page) = self.send(self.http.get(&url)).await;
        assert_eq!(status, 200, "{page}");
        let mut form = hidden_inputs(&page);
        form.insert("username".into(), user.into());
        form.insert("password".into(), password.into());
        form.insert("next".into(), "/".into());
        let (status, location, _) = self.send(self.http.post(&url).form(&form)).await;
        assert_eq!(
            (status, location.as_deref()),
            (302, Some("/")),
            "login as {user}"
        );
    }

    /// Opens the authorize URL, allows on DOT's consent form and follows the redirect to
    /// driftwatch's loopback callback; returns the callback page.
    async fn allow(&mut self, authorize: &str) -> String {
        let (status, _, page) = self.send(self.http.get(authorize)).await;
        assert_eq!(status, 200, "consent page: {page}");
        assert!(page.contains("authorizationForm"), "{page}");
        let mut form = hidden_inputs(&page);
        form.insert("allow".into(), "Authorize".into());
        let (status, location, body) = self.send(self.http.post(authorize).form(&form)).await;
        assert_eq!(status, 302, "consent answer: {body}");
        let callback = location.expect("a redirect to the callback");
        assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
        let (status, _, page) = self.send(self.http.get(&callback)).await;
        assert_eq!(status, 200, "{page}");
        page
    }
}

/// name → value of every `<input>` of a page that is not a submit button.
fn hidden_inputs(page: &str) -> BTreeMap<String, String> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!(" {name}=\"");
        let start = tag.find(&key)? + key.len();
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    page.split("<input")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .filter(|tag| !tag.contains("type=\"submit\""))
        .filter_map(|tag| Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default())))
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// "rule subject path [connections]" per drift, sorted.
fn drifts(run: &Value) -> Vec<String> {
    let mut v: Vec<String> = run["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {} {} {}",
                d["rule"].as_str().unwrap_or("?"),
                d["subject"].as_str().unwrap_or("?"),
                d["path"].as_str().unwrap_or("-"),
                d["connections"]
            )
        })
        .collect();
    v.sort();
    v
}

/// "connection: message" per run error.
fn errors(run: &Value) -> Vec<String> {
    run["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["connection"].as_str().unwrap_or("-"),
                e["message"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// The refresh class observed for `conn`, if it refreshed this run.
fn refresh_class(run: &Value, conn: &str) -> Option<String> {
    run["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"]["probe"] == "refresh" && o["key"]["connection"] == conn)
        .map(|o| o["body"]["class"].as_str().unwrap_or("?").to_string())
}

fn refresh_body(run: &Value, conn: &str) -> Value {
    run["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"]["probe"] == "refresh" && o["key"]["connection"] == conn)
        .map(|o| o["body"].clone())
        .unwrap_or(Value::Null)
}

/// (connection, state, usable) per entry of run.json `connections[]` (issue 13's connection
/// states: ok | refreshed | access-token-rejected | grant-dead | not-connected | consumed).
fn connection_states(run: &Value) -> Vec<(String, String, bool)> {
    let Some(list) = run["connections"].as_array() else {
        panic!(
            "run.json has no `connections[]` (issue 13's connection states); drifts: {:?}",
            drifts(run)
        );
    };
    let mut v: Vec<(String, String, bool)> = list
        .iter()
        .map(|c| {
            (
                c["connection"].as_str().unwrap_or("?").to_string(),
                c["state"].as_str().unwrap_or("?").to_string(),
                c["usable"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    v.sort();
    v
}

/// (connection, status) of a `tokens[]` list (run.json or `driftwatch tokens --json`), sorted.
fn token_statuses(list: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list of token health: {list}"))
        .iter()
        .map(|t| {
            (
                t["connection"].as_str().unwrap_or("?").to_string(),
                t["status"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// One mode's classification: connect all three users, run once, return the run.
async fn classify(test: &str, mode: Mode) -> Option<(Lane, i32, Value)> {
    let python = lane(test)?;
    let mut lane = Lane::start(&python, mode).await;
    lane.connect_all().await;
    let (code, run) = lane.run("new");
    lane.assert_no_leaks();
    Some((lane, code, run))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_non_rotating_is_classified_non_rotating() {
    let Some((_lane, code, run)) = classify("non-rotating", Mode::new("non-rotating")).await else {
        return;
    };
    assert_eq!((code, drifts(&run), errors(&run)), (0, vec![], vec![]));
    assert_eq!(
        refresh_class(&run, "carol").as_deref(),
        Some("non-rotating")
    );
    assert_eq!(refresh_body(&run, "carol")["issues_refresh_tokens"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_rotation_without_grace_is_rotating_one_time() {
    let Some((_lane, code, run)) = classify("one-time", Mode::new("one-time")).await else {
        return;
    };
    assert_eq!((code, drifts(&run), errors(&run)), (0, vec![], vec![]));
    assert_eq!(
        refresh_class(&run, "carol").as_deref(),
        Some("rotating-one-time")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_grace_period_is_rotating_grace() {
    let Some((_lane, code, run)) = classify("grace", Mode::new("grace")).await else {
        return;
    };
    assert_eq!((code, drifts(&run), errors(&run)), (0, vec![], vec![]));
    assert_eq!(
        refresh_class(&run, "carol").as_deref(),
        Some("rotating-grace")
    );
    // The server's grace period is 4 s: the replay at once worked, the one after the suite's
    // 6 s `replay_delay` failed.
    let window = &refresh_body(&run, "carol")["grace_window_ms"];
    let (worked, failed) = (window[0].as_u64().unwrap(), window[1].as_u64().unwrap());
    assert!(worked < 4_000 && failed >= 6_000, "{window}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_reuse_protection_is_rotating_reuse_revokes_grant_then_consumed() {
    let Some((mut lane, code, run)) =
        classify("reuse-protection", Mode::new("reuse-protection")).await
    else {
        return;
    };
    assert_eq!((code, drifts(&run)), (0, vec![]));
    assert_eq!(
        refresh_class(&run, "carol").as_deref(),
        Some("rotating-reuse-revokes-grant")
    );
    // The replay spent carol's disposable grant. Accept the baseline; the next run shows carol
    // as consumed, not as drift, and the other connections work.
    let out = lane
        .driftwatch()
        .arg("accept")
        .arg("--snapshots")
        .arg(lane.path("snapshots"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, run) = lane.run("no");
    assert_eq!((code, drifts(&run)), (0, vec![]), "{:?}", errors(&run));
    // Whether a consumed connection counts as `usable` is not this lane's to say; its state is.
    let states: Vec<(String, String, Option<bool>)> = connection_states(&run)
        .into_iter()
        .map(|(c, s, usable)| {
            let usable = (s != "consumed").then_some(usable);
            (c, s, usable)
        })
        .collect();
    assert_eq!(
        states,
        [
            ("alice".to_string(), "ok".to_string(), Some(true)),
            ("bob".to_string(), "ok".to_string(), Some(true)),
            ("carol".to_string(), "consumed".to_string(), None),
        ]
    );
    lane.assert_no_leaks();
}

/// `REFRESH_TOKEN_EXPIRE_SECONDS`: DOT rejects a refresh token that many seconds after its
/// access token expired. Run 1 classifies; once every grant has died, run 2 reports three
/// connection items (`grant-dead`), no drift, exit 3, and `driftwatch tokens` agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_short_refresh_token_expiry_is_grant_dead_not_drift() {
    let mode = Mode {
        refresh_expire_s: Some(2),
        // Under driftwatch's refresh margin: every run refreshes every connection first.
        access_expire_s: 30,
        ..Mode::new("one-time")
    };
    let Some((mut lane, code, run)) = classify("short-expiry", mode).await else {
        return;
    };
    assert_eq!((code, drifts(&run)), (0, vec![]), "{:?}", errors(&run));
    assert_eq!(
        refresh_class(&run, "carol").as_deref(),
        Some("rotating-one-time")
    );
    let out = lane
        .driftwatch()
        .arg("accept")
        .arg("--snapshots")
        .arg(lane.path("snapshots"))
        .output()
        .unwrap();
    assert!(out.status.success());
    // The night passes: access tokens expire, and 2 s later their refresh tokens.
    lane.expire_access_tokens().await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (code, run) = lane.run("no");
    assert_eq!(drifts(&run), Vec::<String>::new());
    assert_eq!(
        connection_states(&run),
        [
            ("alice".to_string(), "grant-dead".to_string(), false),
            ("bob".to_string(), "grant-dead".to_string(), false),
            ("carol".to_string(), "grant-dead".to_string(), false),
        ]
    );
    assert_eq!(code, 3);
    let dead = pairs(&[("alice", "dead"), ("bob", "dead"), ("carol", "dead")]);
    assert_eq!(token_statuses(&run["tokens"]), dead);
    assert_eq!(lane.tokens(), (3, dead));
    lane.assert_no_leaks();
}

/// Issue 13 (real server): 20 reruns of an unchanged provider whose values move on every call,
/// whole-valued decimals included (`total` is `1204.35` one call and `1204` the next).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_twenty_unchanged_reruns_report_no_drift() {
    let Some(python) = lane("twenty-reruns") else {
        return;
    };
    let mut lane = Lane::start(&python, Mode::new("one-time")).await;
    lane.connect_all().await;
    lane.baseline();
    for i in 1..=20 {
        let (code, run) = lane.run("no");
        assert_eq!(
            (code, drifts(&run), errors(&run)),
            (0, vec![], vec![]),
            "rerun {i}"
        );
    }
    lane.assert_no_leaks();
}

/// The same with every access token expired server-side between runs (and, at a 30 s lifetime,
/// known to the store as expiring): every run refreshes every connection first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_reruns_with_access_tokens_expired_between_runs_report_no_drift() {
    let Some(python) = lane("expired-between-runs") else {
        return;
    };
    let mode = Mode {
        access_expire_s: 30,
        ..Mode::new("one-time")
    };
    let mut lane = Lane::start(&python, mode).await;
    lane.connect_all().await;
    lane.baseline();
    for i in 1..=20 {
        lane.expire_access_tokens().await;
        let (code, run) = lane.run("no");
        assert_eq!(
            (code, drifts(&run), errors(&run)),
            (0, vec![], vec![]),
            "rerun {i}"
        );
        assert_eq!(
            connection_states(&run),
            [
                ("alice".to_string(), "refreshed".to_string(), true),
                ("bob".to_string(), "refreshed".to_string(), true),
                ("carol".to_string(), "refreshed".to_string(), true),
            ],
            "rerun {i}"
        );
    }
    lane.assert_no_leaks();
}

/// A token revoked at the provider (RFC 7009). DOT deletes a revoked access token, which
/// orphans its refresh token: the grant is dead. The run reports one connection item for
/// alice, compares nothing of hers, and reports no drift.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_revoked_token_is_one_connection_item_not_drift() {
    let Some(python) = lane("revoked-token") else {
        return;
    };
    let mut lane = Lane::start(&python, Mode::new("one-time")).await;
    lane.connect_all().await;
    lane.baseline();
    lane.revoke(&lane.access_token("alice")).await;
    let (code, run) = lane.run("no");
    assert_eq!(drifts(&run), Vec::<String>::new());
    assert_eq!(
        connection_states(&run),
        [
            ("alice".to_string(), "grant-dead".to_string(), false),
            ("bob".to_string(), "ok".to_string(), true),
            ("carol".to_string(), "ok".to_string(), true),
        ]
    );
    assert_eq!(code, 3);
    let health = pairs(&[("alice", "dead"), ("bob", "ok"), ("carol", "ok")]);
    assert_eq!(token_statuses(&run["tokens"]), health);
    assert_eq!(lane.tokens(), (3, health));
    lane.assert_no_leaks();
}
