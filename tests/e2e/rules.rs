//! `driftwatch rules`: the catalogue as users see it.

use driftwatch::rules::{RULES, RuleKind, fingerprint};

fn rules_output(json: bool) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    cmd.arg("rules").env("NO_COLOR", "1");
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().expect("driftwatch runs");
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn rules_table_lists_every_rule_id() {
    let text = rules_output(false);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("ID ") && header.contains("SEVERITY"),
        "{header}"
    );
    for r in RULES {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{} ", r.id)) && l.contains(r.kind.as_str())),
            "`driftwatch rules` lacks {} ({})",
            r.id,
            r.kind.as_str()
        );
    }
    assert_eq!(lines.count(), RULES.len());
}

#[test]
fn rules_json_lists_every_rule_id() {
    let v: serde_json::Value = serde_json::from_str(&rules_output(true)).expect("valid JSON");
    let ids: Vec<&str> = v
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    let expected: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids, expected);
}

/// Fingerprints are filled on every drift and finding of a run, identify each drift
/// uniquely, and come out the same when the same world is probed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_fingerprints_every_drift_and_finding_stably() {
    let w = crate::support::World::connected().await;
    w.run_and_accept().await;
    w.sim.set_version(driftwatch::sim::ApiVersion::V2);
    let first = w.run().await;
    assert!(!first.drifts.is_empty() && !first.findings.is_empty());
    for d in first.drifts.iter().chain(&first.findings) {
        assert_eq!(d.fingerprint, fingerprint(d), "{} {}", d.rule, d.subject);
        assert_eq!(d.fingerprint.len(), 16);
    }
    // Every rule a run emits is catalogued, with a severity the catalogue allows, and lands
    // where its kind says: drifts in `drifts`, findings in `findings`.
    for (list, kind) in [
        (&first.drifts, RuleKind::Drift),
        (&first.findings, RuleKind::Finding),
    ] {
        for d in list {
            let rule = d.rule.rule().expect("a catalogued rule");
            assert_eq!(rule.kind(), kind, "{}", d.rule);
            assert!(rule.allows(d.severity), "{} as {}", d.rule, d.severity);
        }
    }
    let mut unique: Vec<&str> = first
        .drifts
        .iter()
        .map(|d| d.fingerprint.as_str())
        .collect();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        first.drifts.len(),
        "two drifts share a fingerprint"
    );
    let again = w.run().await;
    let prints = |run: &driftwatch::run::Run| -> Vec<String> {
        run.drifts.iter().map(|d| d.fingerprint.clone()).collect()
    };
    assert_eq!(prints(&again), prints(&first));
}
