//! Several grants per provider (`auths:`), field-level requirements (`requires_fields`) and
//! schema tolerance (`tolerate`) against the simulated provider, end to end (issue 19).

use crate::support::{World, assert_no_leaks, drift_lines};
use driftwatch::auth::CredentialStore;
use driftwatch::demo::authorize_with_sim;
use driftwatch::run::{ProviderSession, Run};
use driftwatch::sim::{SimOptions, Switches};
use driftwatch::suite::{LoadMode, load_suite};
use std::time::Duration;

const HEAD: &str = "version: 1
provider:
  name: demo
  base_url: ${env:SIM_BASE_URL}
";

const USER_AUTH: &str = "  grant: authorization_code
  token_url: /oauth/token
  authorize_url: /oauth/authorize
  client_id: ${env:SIM_CLIENT_ID}
  client_secret: ${env:SIM_CLIENT_SECRET}
  client_auth: basic
  redirect_uri: http://127.0.0.1:8765/callback
  refresh:
    documented: rotating
";

/// The single-auth form the user connections were first authorised with.
fn single_auth_suite() -> String {
    format!(
        "{HEAD}auth:\n{USER_AUTH}scope_sets:
  profile-email: [profile, email]
  profile: [profile]
connections:
  - id: acme-corp
    scope_set: profile-email
  - id: globex
    scope_set: profile
endpoints:
  - id: me
    path: /v1/me
    requires: [profile]
"
    )
}

/// The same provider with a second grant: an app (`client_credentials`, `client_secret_post`)
/// beside the users; `me` says `email` needs scope `email`, `me-mislabelled` (the same
/// endpoint) wrongly documents it under `profile`.
fn two_auth_suite() -> String {
    let user = USER_AUTH
        .replace("\n  ", "\n      ")
        .replacen("  ", "      ", 1);
    format!(
        "{HEAD}auths:
  user:
{user}  service:
    grant: client_credentials
    token_url: /oauth/token
    client_id: ${{env:SIM_CLIENT_ID}}
    client_secret: ${{env:SIM_CLIENT_SECRET}}
    client_auth: post
scope_sets:
  profile-email: [profile, email]
  profile: [profile]
  reporting: [profile, reports:read]
connections:
  - id: acme-corp
    auth: user
    scope_set: profile-email
  - id: globex
    auth: user
    scope_set: profile
  - id: robot
    auth: service
    scope_set: reporting
endpoints:
  - id: me
    path: /v1/me
    requires: [profile]
    requires_fields: {{\"$.email\": [email]}}
  - id: me-mislabelled
    path: /v1/me
    requires: [profile]
    requires_fields: {{\"$.email\": [profile]}}
"
    )
}

async fn connect_users(w: &World) {
    let suite = load_suite(&w.suite, &w.ctx, LoadMode::Run).unwrap().suite;
    let (session, err) =
        ProviderSession::open(&suite, false, CredentialStore::new(w.credentials()))
            .await
            .unwrap();
    assert_eq!(err, None);
    for c in &suite.connections {
        authorize_with_sim(&suite, &session, c).await.unwrap();
    }
}

fn states(run: &Run) -> Vec<String> {
    run.connections
        .iter()
        .map(|c| format!("{} {} {}", c.connection, c.credential, c.state.as_str()))
        .collect()
}

fn observation_keys(run: &Run) -> Vec<String> {
    let mut v: Vec<String> = run
        .observations
        .iter()
        .map(|o| {
            format!(
                "{} {}{}",
                o.key.probe,
                o.key.subject,
                o.key
                    .connection
                    .as_deref()
                    .map(|c| format!("@{c}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    v.sort();
    v
}

fn finding_lines(run: &Run) -> Vec<String> {
    let mut v: Vec<String> = run
        .findings
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d.rule,
                d.subject,
                d.path.as_deref().unwrap_or("-")
            )
        })
        .collect();
    v.sort();
    v
}

fn cells(run: &Run, endpoint: &str) -> serde_json::Value {
    run.observations
        .iter()
        .find(|o| o.key.probe.to_string() == "permissions" && o.key.subject == endpoint)
        .map(|o| o.body["cells"].clone())
        .unwrap_or_else(|| panic!("no permissions observation for `{endpoint}`"))
}

/// Issue 19: one suite with a user grant (authorization code) and an app grant (client
/// credentials, another client authentication): one provider, one baseline folder, each
/// connection served by its own auth, store entries written under the single-auth form
/// still used, the token endpoint's error probe sent once per auth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_service_auths_share_one_provider_and_baseline() {
    let w = World::start(SimOptions {
        access_token_ttl: Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await;
    std::fs::write(&w.suite, single_auth_suite()).unwrap();
    connect_users(&w).await;
    // The same store entries serve the suite once it declares a second auth: no migration.
    std::fs::write(&w.suite, two_auth_suite()).unwrap();
    let run = w.run_and_accept().await;
    assert_eq!(run.errors, vec![]);
    assert_eq!(
        states(&run),
        [
            "acme-corp demo/acme-corp refreshed",
            "globex demo/globex refreshed",
            "robot demo/robot ok",
        ]
    );
    assert_eq!(
        observation_keys(&run),
        [
            // One liveness probe: the default auth's client (issue 20).
            "app client",
            "deprecation me",
            "deprecation me-mislabelled",
            "permissions me",
            "permissions me-mislabelled",
            "refresh refresh@acme-corp",
            "refresh refresh@globex",
            "refresh refresh@robot",
            "schema me",
            "schema me-mislabelled",
            "token token-endpoint.client_credentials",
            "token token-endpoint.error-probe",
            "token token-endpoint.refresh_token",
        ]
    );
    // Each connection's grant went through its own auth; the error probe once per auth.
    let mut token_requests: Vec<String> = run
        .exchanges
        .iter()
        .filter(|e| e.purpose.starts_with("token:"))
        .map(|e| format!("{} {}", e.purpose, e.connection.as_deref().unwrap_or("-")))
        .collect();
    token_requests.sort();
    assert_eq!(
        token_requests,
        [
            // The app probe's one request with a code that cannot exist (default auth).
            "token:app-probe -",
            "token:client_credentials robot",
            "token:error-probe -",
            "token:error-probe -",
            "token:refresh acme-corp",
            "token:refresh globex",
        ]
    );
    let refresh_classes: Vec<String> = run
        .observations
        .iter()
        .filter(|o| o.key.probe.to_string() == "refresh")
        .map(|o| {
            format!(
                "{} {}",
                o.key.connection.as_deref().unwrap_or("-"),
                o.body["class"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        refresh_classes,
        ["acme-corp rotating", "globex rotating", "robot no-refresh"]
    );
    // The service's scope set is probed with the service's token, the users' with theirs.
    let mut permission_calls: Vec<String> = run
        .exchanges
        .iter()
        .filter(|e| e.purpose.starts_with("permissions:me:"))
        .map(|e| format!("{} {}", e.purpose, e.connection.as_deref().unwrap_or("-")))
        .collect();
    permission_calls.sort();
    assert_eq!(
        permission_calls,
        [
            "permissions:me:profile globex",
            "permissions:me:profile-email acme-corp",
            "permissions:me:reporting robot",
        ]
    );
    // One provider, one baseline folder.
    let providers: Vec<String> = std::fs::read_dir(w.snapshots())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(providers, ["demo"]);

    // A second run against the accepted baseline: nothing moved.
    let again = w.run().await;
    assert_eq!(drift_lines(&again), Vec::<String>::new());
    assert_eq!(states(&again), states(&run));
    assert_no_leaks(w.dir.path());
}

/// Issue 19: `/v1/me` leaves `email` out without scope `email`. With `requires_fields:
/// {"$.email": [email]}` the cells of scope sets lacking `email` are `granted` with the field
/// in `fields_withheld`, and `permission.undocumented-requirement` does not fire; the same
/// answers under a requirement the scope sets do hold (`[profile]`) stay `partial` and fire it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_undocumented_requirement_requires_fields_withheld_is_granted() {
    let w = World::start(SimOptions {
        access_token_ttl: Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await;
    std::fs::write(&w.suite, single_auth_suite()).unwrap();
    connect_users(&w).await;
    std::fs::write(&w.suite, two_auth_suite()).unwrap();
    let run = w.run().await;
    assert_eq!(
        cells(&run, "me"),
        serde_json::json!({
            "profile": {"class": "granted", "fields_withheld": ["$.email"], "status": 200},
            "profile-email": {"class": "granted", "status": 200},
            "reporting": {"class": "granted", "fields_withheld": ["$.email"], "status": 200},
        })
    );
    assert_eq!(
        cells(&run, "me-mislabelled"),
        serde_json::json!({
            "profile": {"class": "partial", "missing_paths": ["$.email"], "status": 200},
            "profile-email": {"class": "granted", "status": 200},
            "reporting": {"class": "partial", "missing_paths": ["$.email"], "status": 200},
        })
    );
    assert_eq!(
        finding_lines(&run),
        [
            // No endpoint here needs `reports:read`, which scope set `reporting` requests.
            "permission.scope-unused scopes reports:read",
            "permission.undocumented-requirement me-mislabelled profile",
            "permission.undocumented-requirement me-mislabelled reporting",
            // The app grant has no refresh token by design.
            "refresh.not-issuing refresh -",
        ]
    );
    let not_issuing: Vec<&Vec<String>> = run
        .findings
        .iter()
        .filter(|d| d.rule.as_str() == "refresh.not-issuing")
        .map(|d| &d.connections)
        .collect();
    assert_eq!(not_issuing, [&vec!["robot".to_string()]]);
}

fn invoices_suite() -> String {
    format!(
        "{HEAD}auth:\n{USER_AUTH}scope_sets:
  billing: [profile, invoices:read]
connections:
  - id: acme-corp
    scope_set: billing
endpoints:
  - id: invoices
    path: /v1/invoices
    query: {{ limit: \"2\" }}
    requires: [invoices:read]
    tolerate: {{\"$.data[*].amount_cents\": type}}
  - id: invoices-strict
    path: /v1/invoices
    query: {{ limit: \"2\" }}
    requires: [invoices:read]
"
    )
}

/// Issue 19: `tolerate` accepts the simulated provider's retyped `amount_cents` (integer to
/// string) on `invoices`, while the same endpoint without it reports `schema.type-changed`;
/// both still report the removed `currency`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_type_changed_tolerate_suppresses_type_but_not_presence() {
    let w = World::start(SimOptions {
        access_token_ttl: Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await;
    std::fs::write(&w.suite, invoices_suite()).unwrap();
    connect_users(&w).await;
    let first = w.run_and_accept().await;
    assert_eq!(drift_lines(&first), Vec::<String>::new());
    w.sim.set_switches(Switches {
        schema: true,
        ..Switches::NONE
    });
    let run = w.run().await;
    assert_eq!(
        drift_lines(&run),
        [
            "schema.field-removed invoices $.data[].currency",
            "schema.field-removed invoices-strict $.data[].currency",
            "schema.type-changed invoices-strict $.data[].amount_cents",
        ]
    );
}

/// `driftwatch connect SUITE CONN --import -` in the world's directory, the token answer on
/// stdin. Returns (exit code, stdout, stderr).
fn connect_import(w: &World, conn: &str, answer: &str) -> (i32, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = w
        .command()
        .args([
            "connect",
            "suites/demo.yaml",
            conn,
            "--import",
            "-",
            "--credentials",
        ])
        .arg(w.credentials())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        !crate::support::contains_secret(&stdout) && !crate::support::contains_secret(&stderr),
        "secret printed:\n{stdout}\n{stderr}"
    );
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// `connect` authorises a connection with the auth it names: a user connection of a
/// two-auth suite imports its grant under its own store key, a service connection is told
/// that its `client_credentials` grant has nothing to import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_uses_the_connections_own_auth() {
    let w = World::start(SimOptions::default()).await;
    std::fs::write(&w.suite, two_auth_suite()).unwrap();
    let answer = crate::connect_import::sim_token_answer(&w, "globex", "profile").await;
    let (code, out, err) = connect_import(&w, "globex", &answer.to_string());
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let entry = CredentialStore::new(w.credentials())
        .get("demo/globex")
        .unwrap()
        .unwrap();
    assert_eq!(
        entry.refresh_token.as_ref().unwrap().expose(),
        answer["refresh_token"].as_str().unwrap()
    );
    // The suite's default auth is `service` (the first by name): only the connection's own
    // auth let `globex` import above. `robot`'s own auth has nothing to import.
    let (code, out, err) = connect_import(&w, "robot", &answer.to_string());
    assert_eq!(
        (code, out.as_str(), err.trim_end()),
        (
            3,
            "",
            "error: the suite's grant is `client_credentials`: driftwatch obtains those tokens \
             itself, there is nothing to import"
        )
    );
    assert!(
        CredentialStore::new(w.credentials())
            .get("demo/robot")
            .unwrap()
            .is_none()
    );
}
