use super::*;
use crate::model::Severity;
use std::collections::BTreeSet;
use std::path::Path;

/// Rule-id prefixes as they appear in the code (`permission`, not `permissions`).
const PREFIXES: [&str; 8] = [
    "schema",
    "token",
    "permission",
    "refresh",
    "values",
    "deprecation",
    "metadata",
    "suppression",
];

/// Every string literal `"<prefix>.<lowercase, digits, dashes>"` in `text`.
fn literal_ids(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices('"') {
        let rest = &text[i + 1..];
        let Some(prefix) = PREFIXES
            .iter()
            .find(|p| rest.starts_with(*p) && rest[p.len()..].starts_with('.'))
        else {
            continue;
        };
        let tail = &rest[prefix.len() + 1..];
        let len = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(tail.len());
        if len > 0 && tail[len..].starts_with('"') {
            out.push(format!("{prefix}.{}", &tail[..len]));
        }
    }
    out
}

/// Rule ids written anywhere under `src/`, except in the catalogue itself.
fn ids_in_source() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("src/ is readable")
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("src/rules.rs")
                && !path.ends_with("src/rules_tests.rs")
            {
                let text = std::fs::read_to_string(&path).expect("source is UTF-8");
                out.extend(literal_ids(&text));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

fn catalogued() -> BTreeSet<String> {
    RULES.iter().map(|r| r.id.to_owned()).collect()
}

#[test]
fn literal_ids_reads_only_whole_rule_literals() {
    let text = r#"a("token.error-with-200") "schema.json.x" "tokens.x" "values." x"refresh.a b""#;
    assert_eq!(literal_ids(text), vec!["token.error-with-200"]);
}

#[test]
fn every_emitted_rule_id_is_catalogued() {
    let missing: Vec<String> = ids_in_source().difference(&catalogued()).cloned().collect();
    assert!(
        missing.is_empty(),
        "rule ids in src/ missing from rules::RULES: {missing:?}"
    );
}

#[test]
fn every_catalogued_rule_id_is_emitted() {
    let stale: Vec<String> = catalogued().difference(&ids_in_source()).cloned().collect();
    assert!(
        stale.is_empty(),
        "rules::RULES lists ids no code emits: {stale:?}"
    );
}

#[test]
fn catalogue_is_sorted_unique_and_consistent() {
    let keys: Vec<(ProbeKind, RuleKind, &str)> =
        RULES.iter().map(|r| (r.probe, r.kind, r.id)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        keys, sorted,
        "RULES must be sorted by probe, kind, id, without duplicates"
    );
    for r in RULES {
        let prefix = r.id.split('.').next().unwrap_or("");
        let expected = match prefix {
            "permission" => "permissions",
            // Suppression entries are not a probe; they are filed under schema.
            "suppression" => "schema",
            other => other,
        };
        assert_eq!(
            r.probe.as_str(),
            expected,
            "{} is filed under the wrong probe",
            r.id
        );
        let words: Vec<&str> = r
            .severity
            .split([',', ' '])
            .filter(|w| !w.is_empty() && *w != "or")
            .collect();
        assert!(
            !words.is_empty()
                && words
                    .iter()
                    .all(|w| ["breaking", "warning", "info"].contains(w)),
            "{}: bad severity `{}`",
            r.id,
            r.severity
        );
        assert!(
            !r.description.is_empty() && !r.example.is_empty(),
            "{}",
            r.id
        );
    }
    // One fact, one verdict: no id is both a drift and a finding (values.rule-violated and
    // deprecation.vendor-warning used to double a drift in the same run, issue 13).
    let both: Vec<&str> = RULES
        .iter()
        .filter(|r| r.kind == RuleKind::Finding)
        .filter(|f| {
            RULES
                .iter()
                .any(|d| d.kind == RuleKind::Drift && d.id == f.id)
        })
        .map(|r| r.id)
        .collect();
    assert_eq!(both, Vec::<&str>::new());
    assert_eq!(lookup("values.rule-violated").count(), 1);
    assert_eq!(lookup("deprecation.vendor-warning").count(), 0);
    assert_eq!(lookup("nope.nothing").count(), 0);
}

#[test]
fn docs_rules_md_matches_the_catalogue() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
    let rendered = render_markdown();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &rendered).expect("docs/rules.md is writable");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/rules.md is out of date: run `UPDATE_GOLDEN=1 cargo test --lib rules`"
    );
}

#[test]
fn markdown_has_a_section_per_probe_and_a_row_per_rule() {
    let md = render_markdown();
    let sections: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        sections,
        vec![
            "## metadata",
            "## token",
            "## permissions",
            "## refresh",
            "## schema",
            "## values",
            "## deprecation",
            "## Connection states",
            "## Refresh classes"
        ]
    );
    let rows = md.lines().filter(|l| l.starts_with("| `")).count();
    assert_eq!(
        rows,
        RULES.len() + CONNECTION_STATES.len() + REFRESH_CLASSES.len()
    );
    assert!(md.contains(
        "| `schema.field-removed` | drift | breaking | a field of the baseline is gone \
         (reported at the top-most path) | `$.email` was removed |\n"
    ));
}

#[test]
fn table_lists_every_rule_aligned() {
    let table = render_table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), RULES.len() + 1);
    assert!(lines[0].starts_with("ID  ") && lines[0].ends_with("  DESCRIPTION"));
    let col = lines[0].find("PROBE").unwrap_or(0);
    for (line, r) in lines[1..].iter().zip(RULES) {
        assert!(line.starts_with(r.id), "{line}");
        assert_eq!(&line[col..col + r.probe.as_str().len()], r.probe.as_str());
        assert!(line.ends_with(r.description), "{line}");
    }
}

#[test]
fn json_lists_every_rule() {
    let v: serde_json::Value = serde_json::from_str(&render_json()).expect("valid JSON");
    let items = v.as_array().expect("an array");
    assert_eq!(items.len(), RULES.len());
    assert_eq!(
        items[0],
        serde_json::json!({
            "id": "metadata.auth-method-removed",
            "probe": "metadata",
            "severity": "breaking",
            "kind": "drift",
            "description": "discovery no longer lists a token-endpoint auth method",
            "example": "`token_endpoint_auth_methods_supported` no longer lists `client_secret_post`",
        })
    );
}

fn drift(connections: &[&str]) -> Drift {
    Drift {
        rule: "schema.field-removed".into(),
        severity: Severity::Breaking,
        provider: "acme".into(),
        probe: ProbeKind::Schema,
        subject: "invoices".into(),
        path: Some("$.email".into()),
        connections: connections.iter().map(|c| (*c).to_owned()).collect(),
        message: "`$.email` was removed".into(),
        before: Some(serde_json::json!({"type": "string"})),
        after: None,
        exchanges: vec!["x0001".into()],
        fingerprint: String::new(),
        suppressed: None,
    }
}

#[test]
fn fingerprint_is_pinned() {
    // sha256("acme\0schema\0invoices\0schema.field-removed\0$.email\0a\0b")[..16]
    assert_eq!(fingerprint(&drift(&["a", "b"])), "ed8bed066e9a1c52");
}

#[test]
fn fingerprint_ignores_message_evidence_exchanges_and_connection_order() {
    let a = drift(&["a", "b"]);
    let mut b = drift(&["b", "a"]);
    b.message = "something else entirely".into();
    b.severity = Severity::Warning;
    b.before = None;
    b.after = Some(serde_json::json!({"x": 1}));
    b.exchanges = vec!["x0099".into()];
    b.fingerprint = "stale".into();
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_eq!(fingerprint(&a).len(), 16);
}

#[test]
fn fingerprint_changes_with_identity() {
    let base = fingerprint(&drift(&["a", "b"]));
    assert_ne!(base, fingerprint(&drift(&["a", "c"])));
    assert_ne!(base, fingerprint(&drift(&["a"])));
    let mut d = drift(&["a", "b"]);
    d.path = None;
    assert_ne!(base, fingerprint(&d));
    let mut d = drift(&["a", "b"]);
    d.rule = "schema.field-added".into();
    assert_ne!(base, fingerprint(&d));
    let mut d = drift(&["a", "b"]);
    d.subject = "me".into();
    assert_ne!(base, fingerprint(&d));
    let mut d = drift(&["a", "b"]);
    d.provider = "globex".into();
    assert_ne!(base, fingerprint(&d));
    let mut d = drift(&["a", "b"]);
    d.probe = ProbeKind::Values;
    assert_ne!(base, fingerprint(&d));
}

#[test]
fn every_refresh_class_and_connection_state_is_documented() {
    use crate::model::ConnectionState as S;
    use crate::probe::refresh::RefreshClass as C;
    let classes: Vec<&str> = REFRESH_CLASSES.iter().map(|(c, _)| *c).collect();
    let all = [
        C::NoRefresh,
        C::NonRotating,
        C::RotatingOldValid,
        C::RotatingGrace,
        C::RotatingOneTime,
        C::RotatingReuseRevokesGrant,
        C::LazyRotation,
        C::Rotating,
        C::WithheldExpiring,
        C::Unknown,
    ];
    assert_eq!(classes, all.map(C::as_str).to_vec());
    let states: Vec<&str> = CONNECTION_STATES.iter().map(|(s, _)| *s).collect();
    let all = [
        S::Ok,
        S::Refreshed,
        S::AccessTokenRejected,
        S::GrantDead,
        S::NotConnected,
        S::Consumed,
        S::TokenError,
    ];
    assert_eq!(states, all.map(S::as_str).to_vec());
}
