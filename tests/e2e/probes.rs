//! The permissions and refresh probes against the simulated provider: each
//! refresh profile classified exactly, the permission matrix cell by cell,
//! and non-disposable connections never replayed.

use crate::support::World;
use driftwatch::model::ProbeKind;
use driftwatch::run::Run;
use driftwatch::sim::{Profile, SimOptions};
use std::time::Duration;

/// A one-connection suite whose connection is disposable, so the refresh
/// probe runs its active sequence.
const REFRESH_SUITE: &str = r#"version: 1
provider:
  name: refreshy
  base_url: ${env:SIM_BASE_URL}
auth:
  grant: authorization_code
  token_url: /oauth/token
  authorize_url: /oauth/authorize
  client_id: ${env:SIM_CLIENT_ID}
  client_secret: ${env:SIM_CLIENT_SECRET}
  redirect_uri: http://127.0.0.1:8765/callback
  refresh:
    replay_delay: 700ms
scope_sets:
  basic: [profile]
connections:
  - id: acme-corp
    scope_set: basic
    disposable: true
endpoints:
  - id: me
    path: /v1/me
"#;

async fn refresh_class(profile: Profile) -> (String, serde_json::Value, Run) {
    let w = World::start(SimOptions {
        profile,
        refresh_grace: Duration::from_millis(300),
        ..SimOptions::default()
    })
    .await;
    std::fs::write(&w.suite, REFRESH_SUITE).unwrap();
    w.connect_all().await;
    let run = w.run().await;
    assert_eq!(run.errors, vec![], "{profile}");
    let obs = run
        .observations
        .iter()
        .find(|o| o.key.probe == ProbeKind::Refresh)
        .unwrap_or_else(|| panic!("{profile}: no refresh observation"));
    assert_eq!(obs.key.connection.as_deref(), Some("acme-corp"));
    (
        obs.body["class"].as_str().unwrap().to_string(),
        obs.body.clone(),
        run,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refresh_profile_is_classified_exactly() {
    for (profile, class) in [
        (Profile::RotatingOneTime, "rotating-one-time"),
        (Profile::NonRotating, "non-rotating"),
        (Profile::RotatingOldValid, "rotating-old-valid"),
        (Profile::StringExpiresIn, "rotating-old-valid"),
        (Profile::RotatingGrace, "rotating-grace"),
        (Profile::ReuseRevokesFamily, "rotating-reuse-revokes-grant"),
        (Profile::LazyRotation, "lazy-rotation"),
        (Profile::RotatingShortIdle, "rotating-one-time"),
        (Profile::FormEncoded, "rotating-one-time"),
    ] {
        let (got, body, _) = refresh_class(profile).await;
        assert_eq!(got, class, "{profile}: {body}");
        if profile == Profile::RotatingGrace {
            // The old token worked right after the rotation and failed after the 700 ms delay.
            let window = body["grace_window_ms"].as_array().unwrap();
            let (ok, failed) = (window[0].as_u64().unwrap(), window[1].as_u64().unwrap());
            assert!(ok < 300 && failed >= 700, "{body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_disposable_connections_are_never_replayed() {
    let w = World::start(SimOptions {
        access_token_ttl: Duration::from_secs(30),
        ..SimOptions::default()
    })
    .await;
    let suite = std::fs::read_to_string(&w.suite).unwrap();
    std::fs::write(
        &w.suite,
        suite.replace("disposable: true", "disposable: false"),
    )
    .unwrap();
    w.connect_all().await;
    for _ in 0..3 {
        let run = w.run().await;
        assert_eq!(run.errors, vec![]);
        // Passive observation only: rotation seen, replay never tried.
        for o in run
            .observations
            .iter()
            .filter(|o| o.key.probe == ProbeKind::Refresh)
        {
            assert_eq!(o.body["class"], "rotating", "{o:?}");
        }
    }
    let stats = w.sim.stats();
    assert_eq!(stats.refresh_replays, 0, "a refresh token was sent twice");
    assert_eq!(stats.refresh_reuse_rejected, 0);
}

/// (class, signal) of one permission cell.
fn cell(run: &Run, endpoint: &str, set: &str) -> (String, String) {
    let obs = run
        .observations
        .iter()
        .find(|o| o.key.probe == ProbeKind::Permissions && o.key.subject == endpoint)
        .unwrap_or_else(|| panic!("no permissions observation for {endpoint}"));
    let c = &obs.body["cells"][set];
    (
        c["class"].as_str().unwrap_or("?").to_string(),
        c["signal"].as_str().unwrap_or("-").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_permission_matrix_cell_by_cell() {
    let w = World::connected().await;
    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    let expected = [
        // endpoint, scope set, class, signal
        ("me", "full", "granted", "-"),
        ("me", "basic", "partial", "-"),
        ("me", "public-only", "granted", "-"),
        ("invoices", "full", "granted", "-"),
        ("invoices", "basic", "granted", "-"),
        (
            "invoices",
            "public-only",
            "denied",
            "403-insufficient-scope",
        ),
        ("reports-summary", "full", "granted", "-"),
        ("reports-summary", "basic", "denied", "401"),
        ("reports-summary", "public-only", "denied", "401"),
        ("workspace-settings", "full", "granted", "-"),
        ("workspace-settings", "basic", "denied", "404"),
        ("workspace-settings", "public-only", "denied", "404"),
        ("audit-log", "full", "granted", "-"),
        ("audit-log", "basic", "denied", "403"),
        ("audit-log", "public-only", "denied", "403"),
        ("channels", "full", "granted", "-"),
        ("channels", "basic", "denied", "200-error-envelope"),
        ("channels", "public-only", "granted", "-"),
        ("activities", "full", "granted", "-"),
        ("activities", "basic", "denied", "401"),
        ("activities", "public-only", "partial", "-"),
    ];
    for (endpoint, set, class, signal) in expected {
        assert_eq!(
            cell(&run, endpoint, set),
            (class.to_string(), signal.to_string()),
            "{endpoint} × {set}"
        );
    }
    let me = run
        .observations
        .iter()
        .find(|o| o.key.probe == ProbeKind::Permissions && o.key.subject == "me")
        .unwrap();
    assert_eq!(
        me.body["cells"]["basic"]["missing_paths"],
        serde_json::json!(["$.email"])
    );
    assert_eq!(me.body["reference"], "full");
    assert_eq!(me.body["downscoping"], "honoured");
    let activities = run
        .observations
        .iter()
        .find(|o| o.key.probe == ProbeKind::Permissions && o.key.subject == "activities")
        .unwrap();
    // The probe account is the disposable umbrella (the only grant `public-only` may be
    // narrowed from): 1 public and 1 private activity; without read_all the private one vanishes.
    assert_eq!(
        activities.body["cells"]["public-only"]["missing_items"],
        serde_json::json!([1, 2])
    );
    let findings: Vec<String> = run
        .findings
        .iter()
        .filter(|d| d.probe == ProbeKind::Permissions)
        .map(|d| {
            format!(
                "{} {} {}",
                d.rule,
                d.subject,
                d.path.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        findings,
        vec![
            "permission.misleading-denial activities basic",
            "permission.undocumented-requirement activities public-only",
            "permission.insufficient-scope-missing audit-log basic",
            "permission.insufficient-scope-missing audit-log public-only",
            "permission.misleading-denial channels basic",
            "permission.undocumented-requirement me basic",
            "permission.misleading-denial reports-summary basic",
            "permission.misleading-denial reports-summary public-only",
            // The demo requests `webhooks:read` on purpose (issue 20 item 4).
            "permission.scope-unused scopes webhooks:read",
            "permission.misleading-denial workspace-settings basic",
            "permission.misleading-denial workspace-settings public-only",
        ]
    );
}
