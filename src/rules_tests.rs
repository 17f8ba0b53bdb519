use super::*;
use crate::model::Severity;
use std::path::Path;

/// Rule-id prefixes as they appear in ids (`permission`, not `permissions`).
const PREFIXES: [&str; 9] = [
    "app",
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

/// Every `.rs` file under `src/` except the catalogue and its tests, with its text.
fn sources() -> Vec<(std::path::PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(std::path::PathBuf, String)>) {
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
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

/// The production part of a source file: nothing of a test file, and what comes before the
/// first `#[cfg(test)]` of any other (inline test modules close the files that have them).
fn production(path: &Path, text: &str) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with("tests.rs") || name.starts_with("tests_") || name == "fixture.rs" {
        return String::new();
    }
    text.split("#[cfg(test)]").next().unwrap_or("").to_owned()
}

#[test]
fn literal_ids_reads_only_whole_rule_literals() {
    let text = r#"a("token.error-with-200") "schema.json.x" "tokens.x" "values." x"refresh.a b""#;
    assert_eq!(literal_ids(text), vec!["token.error-with-200"]);
}

/// Issue 16: rule ids are values. No code names a rule by its id string: production code
/// writes no `"<probe>.<rule>"` literal at all, and tests write none that is a catalogued id
/// (they say `Rule::SchemaFieldRemoved`; a typo or a retired id as test input is fine).
#[test]
fn no_rule_id_literal_outside_the_catalogue() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        let shown = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&path)
            .display()
            .to_string();
        for id in literal_ids(&production(&path, &text)) {
            found.push(format!("{shown}: \"{id}\""));
        }
        for id in literal_ids(&text) {
            let line = format!("{shown}: \"{id}\"");
            if Rule::from_id(&id).is_some() && !found.contains(&line) {
                found.push(line);
            }
        }
    }
    assert_eq!(
        found,
        Vec::<String>::new(),
        "name rules as `Rule::…` values"
    );
}

/// The type system guarantees every emitted rule is catalogued; this keeps the reverse true:
/// every catalogued rule is named by production code (a rule nothing emits is a stale entry).
#[test]
fn every_catalogued_rule_is_named_by_production_code() {
    let code: Vec<String> = sources()
        .iter()
        .map(|(path, text)| production(path, text))
        .collect();
    let named = |name: &str| {
        code.iter().any(|text| {
            text.match_indices(name).any(|(i, m)| {
                !text[i + m.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
        })
    };
    let stale: Vec<&str> = RULES
        .iter()
        .filter(|r| !named(&format!("Rule::{:?}", r.rule)))
        .map(|r| r.id)
        .collect();
    assert_eq!(
        stale,
        Vec::<&str>::new(),
        "rules::RULES lists rules no code emits"
    );
}

/// `Rule` and `RULES` are one list: each variant indexes its own entry, ids map back.
#[test]
fn every_rule_is_its_own_catalogue_entry() {
    for (i, r) in RULES.iter().enumerate() {
        assert_eq!(r.rule as usize, i, "{}", r.id);
        assert_eq!(r.rule.info(), r);
        assert_eq!(r.rule.id(), r.id);
        assert_eq!(r.rule.to_string(), r.id);
        assert_eq!(Rule::from_id(r.id), Some(r.rule));
        assert_eq!(r.rule.probe(), r.probe);
        assert_eq!(r.rule.kind(), r.kind);
    }
    assert_eq!(Rule::from_id("nope.nothing"), None);
    assert_eq!(Rule::from_id("deprecation.vendor-warning"), None);
}

/// Each rule's allowed severities: non-empty, no repeats, and exactly what `allows` (and
/// therefore the debug check of every emission site, `Rule::emit`) accepts.
#[test]
fn every_rule_allows_exactly_its_catalogued_severities() {
    let all = [Severity::Info, Severity::Warning, Severity::Breaking];
    for r in RULES {
        let mut uniq = r.severities.to_vec();
        uniq.sort();
        uniq.dedup();
        assert_eq!(
            uniq.len(),
            r.severities.len(),
            "{} repeats a severity",
            r.id
        );
        assert!(!r.severities.is_empty(), "{}", r.id);
        for s in all {
            assert_eq!(r.rule.allows(s), r.severities.contains(&s), "{} {s}", r.id);
            if r.rule.allows(s) {
                assert_eq!(r.rule.emit(s), r.rule);
                assert_eq!(r.rule.emit(s).as_str(), r.id);
            }
        }
    }
    let prose: Vec<String> = [
        Rule::SchemaFieldRemoved,
        Rule::TokenRefreshExpiring,
        Rule::SchemaStatusChanged,
    ]
    .iter()
    .map(|r| r.info().severity())
    .collect();
    assert_eq!(
        prose,
        [
            "breaking",
            "warning or breaking",
            "breaking, warning or info"
        ]
    );
}

#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "schema.field-removed emitted as info; the catalogue allows breaking")]
fn emitting_a_severity_the_catalogue_does_not_allow_fails_debug_builds() {
    let _ = Rule::SchemaFieldRemoved.emit(Severity::Info);
}

/// run.json keeps the id string: a known id reads back as its rule, an id this build does not
/// know (retired, or from a newer build) is kept verbatim and written back byte for byte.
#[test]
fn rule_ids_round_trip_through_run_json_known_or_not() {
    let known: RuleId = serde_json::from_str("\"schema.field-removed\"").expect("a string");
    assert_eq!(known, Rule::SchemaFieldRemoved);
    assert_eq!(known.rule(), Some(Rule::SchemaFieldRemoved));
    assert_eq!(
        serde_json::to_string(&known).expect("json"),
        "\"schema.field-removed\""
    );
    let old: RuleId = serde_json::from_str("\"deprecation.vendor-warning\"").expect("a string");
    assert_eq!(old.rule(), None);
    assert_eq!(old.as_str(), "deprecation.vendor-warning");
    assert_eq!(old, "deprecation.vendor-warning");
    assert_eq!(old, RuleId::parse("deprecation.vendor-warning"));
    assert_ne!(old, RuleId::parse(Rule::SchemaFieldRemoved.id()));
    assert!(serde_json::from_str::<RuleId>("42").is_err());

    let text = r#"{"rule":"deprecation.vendor-warning","severity":"warning","provider":"acme","probe":"deprecation","subject":"invoices","message":"m"}"#;
    let d: Drift = serde_json::from_str(text).expect("an old drift");
    assert_eq!(d.rule.rule(), None);
    assert_eq!(serde_json::to_string(&d).expect("json"), text);
    let mut d = d;
    d.rule = Rule::DeprecationWarningAdded.emit(Severity::Warning);
    assert_eq!(
        serde_json::to_string(&d).expect("json"),
        text.replace(
            "deprecation.vendor-warning",
            Rule::DeprecationWarningAdded.id()
        )
    );
}

#[test]
fn suggest_names_the_closest_catalogued_id() {
    assert_eq!(
        suggest("schema.feild-removed"),
        Some("schema.field-removed")
    );
    assert_eq!(
        suggest("permissions.newly-denied"),
        Some("permission.newly-denied")
    );
    assert_eq!(suggest("nothing.like-it-at-all"), None);
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
    assert_eq!(
        Rule::from_id("values.rule-violated"),
        Some(Rule::ValuesRuleViolated)
    );
    assert_eq!(Rule::from_id("deprecation.vendor-warning"), None);
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
            "## app",
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
        rule: Rule::SchemaFieldRemoved.emit(Severity::Breaking),
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
        first_seen: None,
    }
}

#[test]
fn fingerprint_is_pinned() {
    // sha256("acme\0schema\0invoices\0schema.field-removed\0$.email\0a\0b")[..16]: the
    // rule enters the fingerprint as its id string, so fingerprints survive the typed rule.
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
    d.rule = Rule::SchemaFieldAdded.emit(Severity::Info);
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

fn over(
    rule: Rule,
    provider: Option<&str>,
    severity: Severity,
    origin: OverrideOrigin,
) -> SeverityOverride {
    SeverityOverride {
        rule,
        provider: provider.map(str::to_owned),
        severity,
        origin,
    }
}

/// Issue 18 item 5: the most specific layer wins — config `[severity.<provider>]` over
/// config `[severity]` over the suite's `severity:`; other providers and rules are untouched.
#[test]
fn severity_override_precedence_and_scope() {
    let suite = OverrideOrigin::Suite("suites/acme.yaml".into());
    let overrides = SeverityOverrides(vec![
        over(
            Rule::SchemaFieldRemoved,
            Some("acme"),
            Severity::Info,
            suite,
        ),
        over(
            Rule::SchemaFieldRemoved,
            None,
            Severity::Warning,
            OverrideOrigin::ConfigFile,
        ),
        over(
            Rule::SchemaFieldRemoved,
            Some("globex"),
            Severity::Info,
            OverrideOrigin::ConfigFileProvider,
        ),
    ]);
    let mut items = vec![drift(&["a"]), drift(&["b"]), drift(&["c"])];
    items[1].provider = "globex".into();
    items[2].rule = Rule::SchemaFieldAdded.emit(Severity::Info);
    items[2].severity = Severity::Info;
    assert_eq!(overrides.apply(&mut items), 2);
    let got: Vec<(&str, Severity)> = items
        .iter()
        .map(|d| (d.provider.as_str(), d.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("acme", Severity::Warning),
            ("globex", Severity::Info),
            ("acme", Severity::Info)
        ]
    );
    // Applying twice changes nothing more.
    assert_eq!(overrides.apply(&mut items), 0);
}

#[test]
fn severity_override_unknown_rule_suggests_the_closest_id() {
    assert_eq!(
        parse_override("refresh.class-chnaged", "breaking")
            .unwrap_err()
            .to_string(),
        "unknown rule `refresh.class-chnaged` (did you mean `refresh.class-changed`?); \
         `driftwatch rules` lists them"
    );
    assert_eq!(
        parse_override("refresh.class-changed", "fatal")
            .unwrap_err()
            .to_string(),
        "invalid severity `fatal` for `refresh.class-changed`: expected breaking, warning or info"
    );
    assert_eq!(
        parse_override("refresh.class-changed", "breaking"),
        Ok((Rule::RefreshClassChanged, Severity::Breaking))
    );
}
