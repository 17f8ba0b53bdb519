//! `driftwatch scopes` (issue 20 item 4): why each scope of the demo suite is needed, read
//! from the run's permission matrix, and `permission.scope-unused` for the scope the demo
//! requests on purpose.

use crate::support::{World, assert_no_leaks, contains_secret, driftwatch as bin};
use std::collections::BTreeMap;
use std::process::Output;

async fn output(mut c: std::process::Command) -> Output {
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!contains_secret(&text), "{text}");
    }
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Scope → [(endpoint, basis, isolated)] of a `--format json` document's only provider, and
/// the unused scopes.
type Table = BTreeMap<String, Vec<(String, String, bool)>>;

fn table(doc: &serde_json::Value) -> (Table, Vec<String>) {
    let providers = doc["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 1, "{doc}");
    assert_eq!(providers[0]["provider"], "demo");
    let mut t = Table::new();
    let mut unused = Vec::new();
    for s in providers[0]["scopes"].as_array().unwrap() {
        let scope = s["scope"].as_str().unwrap().to_owned();
        if s["unused"] == true {
            unused.push(scope.clone());
        }
        let unlocks = s["unlocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["endpoint"].as_str().unwrap().to_owned(),
                    u["basis"].as_str().unwrap().to_owned(),
                    u.get("together_with").is_none(),
                )
            })
            .collect();
        t.insert(scope, unlocks);
    }
    (t, unused)
}

fn unlock(endpoint: &str, basis: &str, isolated: bool) -> (String, String, bool) {
    (endpoint.to_owned(), basis.to_owned(), isolated)
}

/// The demo suite on the undrifted simulator: every scope with the endpoints the matrix
/// credits it with, and exactly the on-purpose `webhooks:read` unused — in the JSON and the
/// Markdown table, and once as a finding in run.json.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_justifies_every_demo_scope_and_flags_the_unused_one() {
    let w = World::connected().await;
    let mut run = w.command();
    run.arg("run")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials())
        .args(["--snapshots", "snapshots", "--reports", "reports"]);
    let out = output(run).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut json = w.command();
    json.args(["scopes", "--format", "json"]);
    let out = output(json).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["format"], "driftwatch-scopes/1");
    let (t, unused) = table(&doc);
    // `me`: `basic` misses `$.email` where `full` and `public-only` get it all, so its full
    // data comes with one of `email`, `channels:read`, `activities:read` (what `basic` lacks
    // and `public-only` holds) — the matrix cannot tell which, and says so. `activities`:
    // only `full` gets the private items `public-only` misses, so each scope `full` has and
    // `public-only` lacks is credited, not isolated. `invoices:read` alone is isolated:
    // `basic` gets the invoices, `public-only` does not.
    let expected: Table = [
        (
            "activities:read",
            vec![
                unlock("me", "observed", false),
                unlock("activities", "observed", false),
            ],
        ),
        (
            "activities:read_all",
            vec![unlock("activities", "observed", false)],
        ),
        (
            "admin:read",
            vec![
                unlock("workspace-settings", "observed", false),
                unlock("activities", "observed", false),
            ],
        ),
        (
            "audit:read",
            vec![
                unlock("audit-log", "observed", false),
                unlock("activities", "observed", false),
            ],
        ),
        (
            "channels:read",
            vec![
                unlock("me", "observed", false),
                unlock("channels", "observed", false),
            ],
        ),
        ("email", vec![unlock("me", "observed", false)]),
        (
            "invoices:read",
            vec![
                unlock("invoices", "observed", true),
                unlock("activities", "observed", false),
            ],
        ),
        ("profile", vec![unlock("me", "documented", true)]),
        (
            "reports:read",
            vec![
                unlock("reports-summary", "observed", false),
                unlock("activities", "observed", false),
            ],
        ),
        ("webhooks:read", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(t, expected, "{doc:#}");
    assert_eq!(unused, ["webhooks:read"]);

    let mut md = w.command();
    md.args(["scopes", "suites/demo.yaml", "--format", "markdown"]);
    let out = output(md).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = stdout(&out);
    assert!(text.starts_with("# Why each scope\n"), "{text}");
    assert!(
        text.contains("| scope | unlocks | basis | note |\n|---|---|---|---|\n"),
        "{text}"
    );
    for row in [
        "| `webhooks:read` | — | — | unused: `permission.scope-unused` (least privilege) |",
        "| `invoices:read` | `invoices` | observed |",
        "| `profile` | `me` | documented, not isolated | no probed scope set lacks it |",
    ] {
        assert!(text.contains(row), "missing {row:?} in:\n{text}");
    }

    let run_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(w.reports().join("latest/run.json")).unwrap(),
    )
    .unwrap();
    let unused_findings: Vec<(&str, &str, &str)> = run_json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "permission.scope-unused")
        .map(|f| {
            (
                f["severity"].as_str().unwrap(),
                f["subject"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(unused_findings, [("info", "scopes", "webhooks:read")]);
    // run.json carries the same justification the command printed.
    assert_eq!(run_json["scopes"], doc["providers"]);
}

/// No run yet: exit 2 with what to do; an unknown suite is refused too; no request is sent
/// (there is no simulator at all here).
#[test]
fn scopes_without_a_run_exits_2_and_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["scopes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no run at `") && err.contains("run `driftwatch run` first"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// The zero-setup demo: its latest run (the drifted simulator) flags exactly the on-purpose
/// scope, and `scopes` prints its table without touching the network.
#[test]
fn demo_flags_the_on_purpose_scope_once_and_scopes_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let demo = bin().current_dir(dir.path()).arg("demo").output().unwrap();
    assert_eq!(demo.status.code(), Some(0));
    let run_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/latest/run.json")).unwrap(),
    )
    .unwrap();
    let unused: Vec<&str> = run_json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "permission.scope-unused")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(unused, ["webhooks:read"]);

    let out = bin()
        .current_dir(dir.path())
        .args(["scopes", "demo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("demo\n  scope "), "{text}");
    let flagged: Vec<&str> = text.lines().filter(|l| l.contains("unused:")).collect();
    assert_eq!(flagged.len(), 1, "{text}");
    assert!(
        flagged[0].trim_start().starts_with("webhooks:read"),
        "{text}"
    );

    let wrong = bin()
        .current_dir(dir.path())
        .args(["scopes", "suites/nope.yaml"])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&wrong.stderr)
            .contains("`suites/nope.yaml` is not a suite of this run"),
        "{wrong:?}"
    );
    assert_no_leaks(dir.path());
}
