//! Issue 18 item 2: drift identity across nights, through the binary and the sim.
//! Night 1 drifts → new and the webhook posts; night 2 the same drifts → known, the
//! webhook stays silent; night 3 one more drift → only it is new. `reports/history.jsonl`
//! holds one dated line per run; shard runs add none and their merge adds exactly one.

use crate::support::{WebhookReceiver, World, output};
use driftwatch::model::ProbeKind;
use driftwatch::run::Run;
use driftwatch::run::history::{HistoryEntry, read_history};
use driftwatch::sim::Switches;
use std::collections::BTreeSet;
use std::process::Output;

async fn bin(w: &World, args: &[&str]) -> Output {
    let mut c = w.command();
    c.arg(args[0])
        .args(&args[1..])
        .env("DRIFTWATCH_CREDENTIALS", w.credentials());
    output(c).await
}

async fn night(w: &World, hook: &WebhookReceiver) -> (Output, Run) {
    let suite = w.suite.display().to_string();
    let out = bin(
        w,
        &["run", &suite, "--update", "no", "--webhook", &hook.url],
    )
    .await;
    let run = driftwatch::report::read_run(&w.reports().join("latest/run.json")).unwrap();
    (out, run)
}

fn history(w: &World) -> Vec<HistoryEntry> {
    let h = read_history(&w.reports().join("history.jsonl")).unwrap();
    assert_eq!(h.warnings, Vec::<String>::new());
    h.entries
}

fn fingerprints<'a>(v: impl Iterator<Item = &'a driftwatch::model::Drift>) -> BTreeSet<String> {
    v.map(|d| d.fingerprint.clone()).collect()
}

fn new_in(run: &Run) -> BTreeSet<String> {
    fingerprints(run.drifts.iter().filter(|d| d.is_new_in(&run.run_id)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_three_nights_new_then_known_webhook_silent_then_only_the_new_drift() {
    let w = World::connected().await;
    w.run_and_accept().await;
    let hook = WebhookReceiver::start(200).await;

    // Night 1: the schema changes.
    w.sim.set_switches(Switches {
        schema: true,
        ..Switches::NONE
    });
    let (out, n1) = night(&w, &hook).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!n1.drifts.is_empty());
    assert!(n1.drifts.iter().all(|d| d.probe == ProbeKind::Schema));
    assert_eq!(new_in(&n1), fingerprints(n1.drifts.iter()));
    for d in n1.drifts.iter().chain(&n1.findings) {
        let f = d.first_seen.as_ref().unwrap();
        assert_eq!(
            (f.run_id.as_str(), f.at),
            (n1.run_id.as_str(), n1.started_at)
        );
    }
    assert_eq!(hook.received().len(), 1, "{stderr}");
    let header = hook.received()[0]["blocks"][0]["text"]["text"].clone();
    assert_eq!(
        header,
        format!("driftwatch: {0} new drifts · {0} open", n1.drifts.len())
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "\n{} new since the previous run · 0 known\n",
            n1.drifts.len()
        )),
        "{stdout}"
    );

    // Night 2: nothing changed since night 1: every drift is known, the webhook is silent.
    let (out, n2) = night(&w, &hook).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_ne!(n2.run_id, n1.run_id);
    assert_eq!(
        fingerprints(n2.drifts.iter()),
        fingerprints(n1.drifts.iter())
    );
    assert_eq!(new_in(&n2), BTreeSet::new());
    for d in n2.drifts.iter().chain(&n2.findings) {
        let f = d.first_seen.as_ref().unwrap();
        assert_eq!(
            (f.run_id.as_str(), f.at),
            (n1.run_id.as_str(), n1.started_at)
        );
    }
    assert_eq!(
        hook.received().len(),
        1,
        "webhook re-posted known drift: {stderr}"
    );
    assert!(!stderr.contains("webhook"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!(
        "\n0 new since the previous run · {} known\n",
        n2.drifts.len()
    )));

    // Night 3: invoices also announce their deprecation: only those drifts are new.
    w.sim.set_switches(Switches {
        schema: true,
        deprecation: true,
        ..Switches::NONE
    });
    let (out, n3) = night(&w, &hook).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let added: BTreeSet<String> = fingerprints(n3.drifts.iter())
        .difference(&fingerprints(n2.drifts.iter()))
        .cloned()
        .collect();
    assert!(!added.is_empty(), "the deprecation switch must drift");
    assert_eq!(new_in(&n3), added);
    for d in n3.drifts.iter().filter(|d| added.contains(&d.fingerprint)) {
        assert_eq!(d.probe, ProbeKind::Deprecation, "{d:?}");
    }
    assert_eq!(hook.received().len(), 2, "{stderr}");
    let p = &hook.received()[1];
    assert_eq!(
        p["blocks"][0]["text"]["text"],
        format!(
            "driftwatch: {} new drift{} · {} open",
            added.len(),
            if added.len() == 1 { "" } else { "s" },
            n3.drifts.len()
        )
    );
    let lines = p["blocks"][2]["text"]["text"].as_str().unwrap();
    assert_eq!(
        lines.matches("🆕 new").count(),
        added.len().min(10),
        "{lines}"
    );
    assert!(lines.starts_with("• 🆕 new "), "{lines}");

    // The history: three dated runs, newest last, with their new counts.
    let h = history(&w);
    let ids: Vec<&str> = h.iter().map(|e| e.run_id.as_str()).collect();
    assert_eq!(ids, [&n1.run_id, &n2.run_id, &n3.run_id]);
    assert_eq!(
        h.iter().map(|e| e.started_at).collect::<Vec<_>>(),
        [n1.started_at, n2.started_at, n3.started_at]
    );
    assert!(h[0].started_at <= h[1].started_at && h[1].started_at <= h[2].started_at);
    assert_eq!(
        h.iter().map(|e| e.new).collect::<Vec<_>>(),
        [n1.drifts.len(), 0, added.len()]
    );
    assert_eq!(h.iter().map(|e| e.exit_code).collect::<Vec<_>>(), [1, 1, 1]);
    assert_eq!(h[2].drifts.len(), n3.drifts.len());
    let text = std::fs::read_to_string(w.reports().join("history.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 3);
    for d in &n3.drifts {
        assert!(
            !text.contains(&d.message),
            "a drift message reached the history"
        );
    }
    assert!(!crate::support::contains_secret(&text));

    // run.json carries first_seen (docs/run-json.md); `--previous` gives the same answer
    // as the history, and `--no-history` leaves no line.
    let suite = w.suite.display().to_string();
    let prev = w.reports().join(&n2.run_id).join("run.json");
    let out = bin(
        &w,
        &[
            "run",
            &suite,
            "--update",
            "no",
            "--no-history",
            "--previous",
            prev.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let n4 = driftwatch::report::read_run(&w.reports().join("latest/run.json")).unwrap();
    assert_eq!(new_in(&n4), added);
    assert_eq!(history(&w).len(), 3, "--no-history appended a line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_shards_add_no_line_and_their_merge_exactly_one() {
    let w = World::connected().await;
    w.run_and_accept().await;
    w.sim.set_switches(Switches {
        schema: true,
        ..Switches::NONE
    });
    let suite = w.suite.display().to_string();
    let mut files = Vec::new();
    for i in 1..=2 {
        let json = format!("shard-{i}.json");
        let out = bin(
            &w,
            &[
                "run",
                &suite,
                "--shard",
                &format!("{i}/2"),
                "--update",
                "no",
                "--format",
                "json",
                "--output",
                &json,
            ],
        )
        .await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        files.push(json);
    }
    assert!(
        !w.reports().join("history.jsonl").exists(),
        "a shard wrote history"
    );
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--update", "no"]);
    let out = bin(&w, &args).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = driftwatch::report::read_run(&w.reports().join("latest/run.json")).unwrap();
    let h = history(&w);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].run_id, merged.run_id);
    assert_eq!(h[0].shards, Some(2));
    assert_eq!(h[0].new, merged.drifts.len());
    assert!(merged.drifts.iter().all(|d| d.is_new_in(&merged.run_id)));
    // The next night's merge finds them known.
    let out = bin(&w, &args).await;
    assert_eq!(out.status.code(), Some(1));
    let again = driftwatch::report::read_run(&w.reports().join("latest/run.json")).unwrap();
    assert_eq!(new_in(&again), BTreeSet::new());
    assert_eq!(history(&w).len(), 2);
}

/// `--no-history` is typed over a `DRIFTWATCH_HISTORY` the CI environment sets: it wins,
/// it is not a clap conflict.
#[test]
fn history_no_history_flag_wins_over_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = crate::support::driftwatch();
    c.current_dir(dir.path())
        .env("DRIFTWATCH_HISTORY", "ci/history.jsonl")
        .args(["config", "--command", "merge", "--no-history"]);
    let out = crate::support::output_blocking(c);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("history            = false                        # flag --no-history\n"),
        "{stdout}"
    );
}
