//! `driftwatch rules`: the catalogue as users see it.

use driftwatch::rules::RULES;

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
