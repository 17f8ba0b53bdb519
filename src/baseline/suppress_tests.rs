use super::*;
use std::path::Path;

fn drift(rule: Rule, severity: Severity, subject: &str, path: Option<&str>) -> Drift {
    let mut d = Drift {
        rule: rule.emit(severity),
        severity,
        provider: "demo".into(),
        probe: ProbeKind::Schema,
        subject: subject.into(),
        path: path.map(str::to_string),
        connections: vec!["acme".into(), "globex".into()],
        message: "m".into(),
        before: None,
        after: None,
        exchanges: Vec::new(),
        fingerprint: String::new(),
        suppressed: None,
        first_seen: None,
    };
    d.fingerprint = crate::rules::fingerprint(&d);
    d
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

fn parse(text: &str) -> Result<Vec<Suppression>, SuppressError> {
    parse_suppressions(Path::new("ignore.yaml"), text)
}

fn one(extra: &str) -> Suppression {
    let text = format!(
        "version: 1\nsuppressions:\n  - rule: schema.field-added\n    reason: known\n{extra}"
    );
    parse(&text).expect("valid").remove(0)
}

#[test]
fn parses_the_documented_example() {
    let list = parse(
        "version: 1\nsuppressions:\n  - rule: schema.field-added\n    provider: demo\n    \
         subject: reports-summary\n    path: $.metrics.video_views\n    \
         reason: \"vendor is rolling out video metrics; tracked in JIRA-123\"\n    \
         expires: 2027-01-31\n",
    )
    .expect("valid");
    assert_eq!(
        list,
        vec![Suppression {
            rule: Rule::SchemaFieldAdded,
            provider: Some("demo".into()),
            probe: None,
            subject: Some("reports-summary".into()),
            path: Some("$.metrics.video_views".into()),
            connection: None,
            fingerprint: None,
            reason: "vendor is rolling out video metrics; tracked in JIRA-123".into(),
            expires: Some(day("2027-01-31")),
        }]
    );
}

#[test]
fn each_selector_must_match() {
    let d = drift(
        Rule::SchemaFieldAdded,
        Severity::Info,
        "reports",
        Some("$.views"),
    );
    let fp = d.fingerprint.clone();
    let cases: Vec<(String, bool)> = vec![
        (String::new(), true),
        ("    provider: demo\n".into(), true),
        ("    provider: other\n".into(), false),
        ("    probe: schema\n".into(), true),
        ("    probe: values\n".into(), false),
        ("    subject: reports\n".into(), true),
        ("    subject: profile\n".into(), false),
        ("    path: $.views\n".into(), true),
        ("    path: $.clicks\n".into(), false),
        ("    connection: globex\n".into(), true),
        ("    connection: initech\n".into(), false),
        (format!("    fingerprint: \"{fp}\"\n"), true),
        ("    fingerprint: \"0000000000000000\"\n".into(), false),
    ];
    for (extra, want) in cases {
        assert_eq!(one(&extra).matches(&d), want, "selector {extra:?}");
    }
    let other_rule = drift(
        Rule::SchemaFieldRemoved,
        Severity::Breaking,
        "reports",
        None,
    );
    assert!(!one("").matches(&other_rule));
}

#[test]
fn a_path_selector_never_matches_a_drift_without_a_path() {
    let d = drift(Rule::SchemaFieldAdded, Severity::Info, "reports", None);
    assert!(!one("    path: $.views\n").matches(&d));
}

#[test]
fn matched_drifts_and_findings_are_marked_with_the_reason() {
    let list = vec![one("    subject: reports\n")];
    let mut drifts = vec![
        drift(Rule::SchemaFieldAdded, Severity::Info, "reports", None),
        drift(Rule::SchemaFieldAdded, Severity::Info, "profile", None),
    ];
    let mut findings = vec![drift(
        Rule::SchemaFieldAdded,
        Severity::Info,
        "reports",
        None,
    )];
    apply_suppressions(&list, day("2026-11-27"), &mut drifts, &mut findings);
    assert_eq!(drifts.len(), 2);
    assert_eq!(drifts[0].suppressed.as_deref(), Some("known"));
    assert_eq!(drifts[1].suppressed, None);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].suppressed.as_deref(), Some("known"));
}

#[test]
fn the_expiry_day_still_applies_the_day_after_does_not() {
    let s = one("    expires: 2026-11-27\n");
    assert!(!s.is_expired(day("2026-11-27")));
    assert!(s.is_expired(day("2026-11-28")));

    let mut drifts = vec![drift(
        Rule::SchemaFieldAdded,
        Severity::Info,
        "reports",
        None,
    )];
    let mut findings = Vec::new();
    apply_suppressions(
        std::slice::from_ref(&s),
        day("2026-11-27"),
        &mut drifts,
        &mut findings,
    );
    assert_eq!(drifts.len(), 1);
    assert_eq!(drifts[0].suppressed.as_deref(), Some("known"));
    assert!(findings.is_empty());
}

#[test]
fn an_expired_suppression_stops_applying_and_is_reported() {
    let s = one("    expires: 2026-11-26\n");
    let mut drifts = vec![drift(
        Rule::SchemaFieldAdded,
        Severity::Info,
        "reports",
        None,
    )];
    drifts[0].probe = ProbeKind::Values;
    let mut findings = Vec::new();
    apply_suppressions(&[s], day("2026-11-27"), &mut drifts, &mut findings);
    assert_eq!(drifts.len(), 2);
    assert_eq!(drifts[0].suppressed, None);
    let e = &drifts[1];
    assert_eq!(e.rule, Rule::SuppressionExpired.id());
    assert_eq!(e.severity, Severity::Warning);
    assert_eq!(e.provider, "demo");
    assert_eq!(e.probe, ProbeKind::Values);
    assert_eq!(e.subject, Rule::SchemaFieldAdded.id());
    assert_eq!(
        e.message,
        "suppression of `schema.field-added` expired on 2026-11-26 (reason: known)"
    );
    assert_eq!(e.fingerprint, crate::rules::fingerprint(e));
    assert!(findings.is_empty(), "an expired entry is not also unused");
}

#[test]
fn an_expired_suppression_that_matched_nothing_uses_the_schema_probe() {
    let mut drifts = Vec::new();
    let mut findings = Vec::new();
    apply_suppressions(
        &[one("    expires: 2020-01-01\n")],
        day("2026-11-27"),
        &mut drifts,
        &mut findings,
    );
    assert_eq!(drifts.len(), 1);
    assert_eq!(drifts[0].probe, ProbeKind::Schema);
    assert_eq!(drifts[0].provider, "suppressions");
}

#[test]
fn a_suppression_matching_nothing_is_an_unused_finding() {
    let mut drifts = vec![drift(
        Rule::SchemaFieldAdded,
        Severity::Info,
        "reports",
        None,
    )];
    let mut findings = Vec::new();
    apply_suppressions(
        &[one("    provider: demo\n    subject: profile\n")],
        day("2026-11-27"),
        &mut drifts,
        &mut findings,
    );
    assert_eq!(drifts.len(), 1);
    assert_eq!(drifts[0].suppressed, None);
    assert_eq!(findings.len(), 1);
    let u = &findings[0];
    assert_eq!(u.rule, Rule::SuppressionUnused.id());
    assert_eq!(u.severity, Severity::Info);
    assert_eq!(u.provider, "demo");
    assert_eq!(u.subject, Rule::SchemaFieldAdded.id());
    assert_eq!(
        u.message,
        "suppression of `schema.field-added` matched nothing in this run (reason: known)"
    );
}

#[test]
fn the_first_matching_suppression_gives_the_reason() {
    let a = one("");
    let mut b = one("");
    b.reason = "second".into();
    let mut drifts = vec![drift(
        Rule::SchemaFieldAdded,
        Severity::Info,
        "reports",
        None,
    )];
    let mut findings = Vec::new();
    apply_suppressions(&[a, b], day("2026-11-27"), &mut drifts, &mut findings);
    assert_eq!(drifts[0].suppressed.as_deref(), Some("known"));
    assert!(findings.is_empty());
}

fn message(text: &str) -> String {
    parse(text).expect_err("invalid").to_string()
}

#[test]
fn bad_files_name_the_file_and_the_problem() {
    assert_eq!(
        message("version: 2\nsuppressions: []\n"),
        "invalid suppressions ignore.yaml: unsupported version 2 (expected 1)"
    );
    assert_eq!(
        message("version: 1\nsuppressions:\n  - rule: schema.field-addded\n    reason: r\n"),
        "invalid suppressions ignore.yaml: suppressions[0]: unknown rule `schema.field-addded` \
         (did you mean `schema.field-added`?); `driftwatch rules` lists them"
    );
    assert_eq!(
        message("version: 1\nsuppressions:\n  - rule: schema.field-added\n    reason: \" \"\n"),
        "invalid suppressions ignore.yaml: suppressions[0]: `reason` must not be empty"
    );
    assert_eq!(
        message(
            "version: 1\nsuppressions:\n  - rule: schema.field-added\n    reason: r\n    \
             expires: 31/01/2027\n"
        ),
        "invalid suppressions ignore.yaml: suppressions[0]: `expires` must be a date like \
         2027-01-31, found `31/01/2027`"
    );
}

#[test]
fn yaml_errors_carry_line_and_column() {
    let m = message("version: 1\nsuppressions:\n  - rule: schema.field-added\n    reasn: r\n");
    assert!(
        m.starts_with("invalid suppressions ignore.yaml:4:"),
        "got {m}"
    );
    let m = message("version: 1\nsuppressions:\n  - rule: schema.field-added\n");
    assert!(m.contains("reason"), "got {m}");
}
