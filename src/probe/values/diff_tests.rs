//! Exact-result tests of the values diff rules, through `diff_observations`.

use crate::baseline::diff_observations;
use crate::model::{Drift, Observation, ProbeKind, Severity};
use crate::probe::values::{
    ConnectionValues, ValueClass, ValueRule, ValuesSpec, evaluate, observe,
};
use crate::rules::Rule;
use serde_json::{Value, json};

use ValueClass::{Empty, False, Missing, NonEmpty, NonZero, Null, Text, True, Zero};

/// One connection's classes of one metric `m`, plus violated rules.
fn cv(conn: &str, m: Option<ValueClass>, rules: &[&str]) -> ConnectionValues {
    ConnectionValues {
        connection: conn.to_owned(),
        classes: m.into_iter().map(|c| ("m".to_owned(), c)).collect(),
        rule_violations: rules.iter().map(|r| (*r).to_owned()).collect(),
        claims_complete: None,
    }
}

fn obs(rows: &[(&str, Option<ValueClass>)]) -> Observation {
    let v: Vec<ConnectionValues> = rows.iter().map(|(c, m)| cv(c, *m, &[])).collect();
    observe("demo", "report", &v)
}

fn diff(before: &[(&str, Option<ValueClass>)], after: &[(&str, Option<ValueClass>)]) -> Vec<Drift> {
    diff_observations(&obs(before), &obs(after))
}

/// (rule, path, severity, connections) of each drift, in output order.
fn summary(drifts: &[Drift]) -> Vec<(&str, Option<&str>, Severity, Vec<&str>)> {
    drifts
        .iter()
        .map(|d| {
            let conns = d.connections.iter().map(String::as_str).collect();
            (d.rule.as_str(), d.path.as_deref(), d.severity, conns)
        })
        .collect()
}

/// The single rule (if any) a one-connection transition of `m` gives.
fn transition(b: Option<ValueClass>, a: Option<ValueClass>) -> Option<String> {
    let d = diff(&[("alice", b)], &[("alice", a)]);
    assert!(d.len() <= 1, "{d:?}");
    d.into_iter().next().map(|d| d.rule.to_string())
}

#[test]
fn identical_observations_have_no_drift() {
    for c in [
        Zero, NonZero, Empty, Null, Missing, Text, True, False, NonEmpty,
    ] {
        let rows = [("alice", Some(c)), ("bob", Some(NonZero))];
        assert_eq!(diff(&rows, &rows), vec![]);
    }
    let v = vec![cv("alice", Some(Zero), &["r"]), cv("bob", None, &[])];
    let o = observe("demo", "report", &v);
    assert_eq!(diff_observations(&o, &o), vec![]);
}

#[test]
fn zeroed_is_one_breaking_drift_with_exact_evidence() {
    let d = diff(&[("alice", Some(NonZero))], &[("alice", Some(Zero))]);
    assert_eq!(
        d,
        vec![Drift {
            rule: Rule::ValuesZeroed.emit(Severity::Breaking),
            severity: Severity::Breaking,
            provider: "demo".to_owned(),
            probe: ProbeKind::Values,
            subject: "report".to_owned(),
            path: Some("m".to_owned()),
            connections: vec!["alice".to_owned()],
            message: "`m` is now zero for `alice` (was non-zero)".to_owned(),
            before: Some(json!({"alice": "non-zero"})),
            after: Some(json!({"alice": "zero"})),
            exchanges: vec![],
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        }]
    );
}

#[test]
fn each_transition_gives_its_rule() {
    let rule = |r: &str| Some(r.to_owned());
    let cases = [
        (Some(NonZero), Some(Zero), rule(Rule::ValuesZeroed.id())),
        (Some(NonZero), Some(Empty), rule(Rule::ValuesEmptied.id())),
        (Some(Text), Some(Empty), rule(Rule::ValuesEmptied.id())),
        (Some(True), Some(Empty), rule(Rule::ValuesEmptied.id())),
        (Some(NonEmpty), Some(Empty), rule(Rule::ValuesEmptied.id())),
        (Some(NonZero), Some(Null), rule(Rule::ValuesNulled.id())),
        (Some(Zero), Some(Missing), rule(Rule::ValuesNulled.id())),
        (Some(False), Some(Null), rule(Rule::ValuesNulled.id())),
        (Some(Text), None, rule(Rule::ValuesNulled.id())),
        (Some(Zero), Some(NonZero), rule(Rule::ValuesRecovered.id())),
        (Some(Empty), Some(Text), rule(Rule::ValuesRecovered.id())),
        (Some(Null), Some(NonZero), rule(Rule::ValuesRecovered.id())),
        (
            Some(Missing),
            Some(NonEmpty),
            rule(Rule::ValuesRecovered.id()),
        ),
        // Not the zero/empty/null transitions the probe is about.
        (None, Some(NonZero), None),
        (Some(Zero), Some(Empty), None),
        (Some(Null), Some(Zero), None),
        (Some(Null), Some(Missing), None),
        (Some(Null), None, None),
        (Some(True), Some(False), None),
        (Some(NonZero), Some(Text), None),
    ];
    for (b, a, expected) in cases {
        assert_eq!(transition(b, a), expected, "{b:?} -> {a:?}");
    }
}

#[test]
fn severities_per_rule() {
    let d = diff(
        &[
            ("a", Some(NonZero)),
            ("b", Some(Text)),
            ("c", Some(NonZero)),
            ("d", Some(Zero)),
        ],
        &[
            ("a", Some(Zero)),
            ("b", Some(Empty)),
            ("c", Some(Null)),
            ("d", Some(NonZero)),
        ],
    );
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::ValuesEmptied.id(),
                Some("m"),
                Severity::Breaking,
                vec!["b"]
            ),
            (
                Rule::ValuesNulled.id(),
                Some("m"),
                Severity::Warning,
                vec!["c"]
            ),
            (
                Rule::ValuesRecovered.id(),
                Some("m"),
                Severity::Info,
                vec!["d"]
            ),
            (
                Rule::ValuesZeroed.id(),
                Some("m"),
                Severity::Breaking,
                vec!["a"]
            ),
        ]
    );
}

#[test]
fn zeroed_for_subset_names_exactly_the_two_of_four() {
    let before = [
        ("a", Some(NonZero)),
        ("b", Some(NonZero)),
        ("c", Some(NonZero)),
        ("d", Some(NonZero)),
    ];
    let after = [
        ("a", Some(NonZero)),
        ("b", Some(Zero)),
        ("c", Some(NonZero)),
        ("d", Some(Zero)),
    ];
    let d = diff(&before, &after);
    assert_eq!(
        d,
        vec![Drift {
            rule: Rule::ValuesZeroedForSubset.emit(Severity::Breaking),
            severity: Severity::Breaking,
            provider: "demo".to_owned(),
            probe: ProbeKind::Values,
            subject: "report".to_owned(),
            path: Some("m".to_owned()),
            connections: vec!["b".to_owned(), "d".to_owned()],
            message: "`m` is now zero for 2 of 4 connections (`b`, `d`) while the other 2 stay \
                      non-zero"
                .to_owned(),
            before: Some(
                json!({"a": "non-zero", "b": "non-zero", "c": "non-zero", "d": "non-zero"})
            ),
            after: Some(json!({"a": "non-zero", "b": "zero", "c": "non-zero", "d": "zero"})),
            exchanges: vec![],
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        }]
    );
}

#[test]
fn zeroed_for_all_is_one_zeroed_drift_naming_all() {
    let d = diff(
        &[("a", Some(NonZero)), ("b", Some(NonZero))],
        &[("a", Some(Zero)), ("b", Some(Zero))],
    );
    assert_eq!(
        summary(&d),
        vec![(
            Rule::ValuesZeroed.id(),
            Some("m"),
            Severity::Breaking,
            vec!["a", "b"]
        )]
    );
}

#[test]
fn subset_needs_every_connection_non_zero_before_and_the_rest_after() {
    // One connection was already zero in the baseline: plain `values.zeroed`.
    let d = diff(
        &[
            ("a", Some(NonZero)),
            ("b", Some(NonZero)),
            ("c", Some(Zero)),
        ],
        &[("a", Some(Zero)), ("b", Some(NonZero)), ("c", Some(Zero))],
    );
    assert_eq!(
        summary(&d),
        vec![(
            Rule::ValuesZeroed.id(),
            Some("m"),
            Severity::Breaking,
            vec!["a"]
        )]
    );
    // The others did not stay non-zero (one went null): zeroed and nulled, no subset.
    let d = diff(
        &[
            ("a", Some(NonZero)),
            ("b", Some(NonZero)),
            ("c", Some(NonZero)),
        ],
        &[("a", Some(Zero)), ("b", Some(NonZero)), ("c", Some(Null))],
    );
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::ValuesNulled.id(),
                Some("m"),
                Severity::Warning,
                vec!["c"]
            ),
            (
                Rule::ValuesZeroed.id(),
                Some("m"),
                Severity::Breaking,
                vec!["a"]
            ),
        ]
    );
}

#[test]
fn connections_on_one_side_only_are_not_drift() {
    let d = diff(
        &[("a", Some(NonZero)), ("gone", Some(NonZero))],
        &[("a", Some(NonZero)), ("new", Some(Zero))],
    );
    assert_eq!(d, vec![]);
    // Only `a` and `b` are on both sides, so 1 of 2 went to zero: a subset of the common ones.
    let d = diff(
        &[
            ("a", Some(NonZero)),
            ("b", Some(NonZero)),
            ("gone", Some(Zero)),
        ],
        &[("a", Some(Zero)), ("b", Some(NonZero))],
    );
    assert_eq!(
        summary(&d),
        vec![(
            Rule::ValuesZeroedForSubset.id(),
            Some("m"),
            Severity::Breaking,
            vec!["a"]
        )]
    );
}

fn rules_obs(rows: &[(&str, &[&str])]) -> Observation {
    let v: Vec<ConnectionValues> = rows.iter().map(|(c, r)| cv(c, Some(NonZero), r)).collect();
    observe("demo", "report", &v)
}

#[test]
fn rule_violated_when_it_held_for_every_connection() {
    let before = rules_obs(&[("a", &[]), ("b", &[]), ("c", &[])]);
    let after = rules_obs(&[("a", &["r"]), ("b", &[]), ("c", &["r"])]);
    assert_eq!(
        diff_observations(&before, &after),
        vec![Drift {
            rule: Rule::ValuesRuleViolated.emit(Severity::Breaking),
            severity: Severity::Breaking,
            provider: "demo".to_owned(),
            probe: ProbeKind::Values,
            subject: "report".to_owned(),
            path: Some("r".to_owned()),
            connections: vec!["a".to_owned(), "c".to_owned()],
            message: "rule `r` held for every connection in the baseline and is now violated by \
                      `a`, `c`"
                .to_owned(),
            before: Some(json!({"violated_by": []})),
            after: Some(json!({"violated_by": ["a", "c"]})),
            exchanges: vec![],
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        }]
    );
    // Already violated by the same connections in the baseline: not a new breakage.
    let before = rules_obs(&[("a", &[]), ("b", &["r"])]);
    let after = rules_obs(&[("a", &[]), ("b", &["r"]), ("c", &[])]);
    assert_eq!(diff_observations(&before, &after), vec![]);
    // A violator that only exists now is not drift.
    let before = rules_obs(&[("a", &[])]);
    let after = rules_obs(&[("a", &[]), ("new", &["r"])]);
    assert_eq!(diff_observations(&before, &after), vec![]);
}

fn spec() -> ValuesSpec {
    ValuesSpec {
        metrics: [("clicks".to_owned(), "$.clicks".to_owned())].into(),
        auto_numeric: true,
        rules: vec![ValueRule {
            name: "r".to_owned(),
            when: "clicks".to_owned(),
            greater_than: 100.0,
            then: "$.conversions".to_owned(),
        }],
        complete_flag: None,
    }
}

fn run(bodies: &[(&str, Value)]) -> Observation {
    let v: Vec<ConnectionValues> = bodies
        .iter()
        .map(|(c, b)| evaluate(&spec(), c, b).unwrap())
        .collect();
    observe("demo", "report", &v)
}

#[test]
fn values_that_move_never_drift() {
    let before = run(&[
        (
            "a",
            json!({"clicks": 1200, "conversions": 7, "rows": [{"x": 1}]}),
        ),
        ("b", json!({"clicks": 0, "conversions": 0, "rows": []})),
    ]);
    let after = run(&[
        (
            "a",
            json!({"clicks": 1337, "conversions": 9, "rows": [{"x": 4}, {"x": 0}]}),
        ),
        ("b", json!({"clicks": 0, "conversions": 0, "rows": []})),
    ]);
    assert_eq!(diff_observations(&before, &after), vec![]);
}

#[test]
fn evaluated_auto_leaf_that_disappears_is_nulled() {
    let before = run(&[("a", json!({"clicks": 5, "rows": [{"x": 1}]}))]);
    let after = run(&[("a", json!({"clicks": 5, "rows": []}))]);
    assert_eq!(
        summary(&diff_observations(&before, &after)),
        vec![(
            Rule::ValuesNulled.id(),
            Some("$.rows[].x"),
            Severity::Warning,
            vec!["a"]
        )]
    );
}

#[test]
fn diff_is_deterministic_and_never_shows_a_raw_value() {
    let before = run(&[
        ("a", json!({"clicks": 987654, "conversions": 987654})),
        ("b", json!({"clicks": 987654, "conversions": 987654})),
        ("c", json!({"clicks": 987654, "conversions": 987654})),
    ]);
    let after = run(&[
        ("c", json!({"clicks": 987654, "conversions": 0})),
        ("b", json!({"clicks": 0, "conversions": null})),
        ("a", json!({"clicks": 987654, "conversions": 987654})),
    ]);
    let d = diff_observations(&before, &after);
    assert_eq!(d, diff_observations(&before, &after));
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::ValuesNulled.id(),
                Some("$.conversions"),
                Severity::Warning,
                vec!["b"]
            ),
            (
                Rule::ValuesRuleViolated.id(),
                Some("r"),
                Severity::Breaking,
                vec!["c"]
            ),
            (
                Rule::ValuesZeroed.id(),
                Some("$.conversions"),
                Severity::Breaking,
                vec!["c"]
            ),
            (
                Rule::ValuesZeroedForSubset.id(),
                Some("$.clicks"),
                Severity::Breaking,
                vec!["b"]
            ),
            (
                Rule::ValuesZeroedForSubset.id(),
                Some("clicks"),
                Severity::Breaking,
                vec!["b"]
            ),
        ]
    );
    let text = format!(
        "{}{}{}",
        before.body,
        after.body,
        serde_json::to_string(&d).unwrap()
    );
    assert!(!text.contains("987654"), "{text}");
}

#[test]
fn unreadable_observations_are_reported() {
    let good = obs(&[("a", Some(NonZero))]);
    let mut bad = good.clone();
    bad.body["connections"]["a"]["m"] = json!("huge");
    let d = diff_observations(&bad, &good);
    assert_eq!(
        summary(&d),
        vec![(
            Rule::ValuesObservationUnreadable.id(),
            None,
            Severity::Warning,
            vec![]
        )]
    );
    assert!(
        d[0].message
            .starts_with("the baseline values observation is unreadable: ")
    );
}

/// (kind, rule, connections) of every verdict a run gives about one values observation: its
/// drifts against the baseline and its findings.
fn verdicts(
    before: &[ConnectionValues],
    after: &[ConnectionValues],
) -> Vec<(String, String, Vec<String>)> {
    let drifts = diff_observations(
        &observe("demo", "report", before),
        &observe("demo", "report", after),
    );
    let findings = crate::probe::values::findings("demo", "report", after);
    drifts
        .into_iter()
        .map(|d| ("drift", d))
        .chain(findings.into_iter().map(|d| ("finding", d)))
        .map(|(kind, d)| (kind.to_owned(), d.rule.to_string(), d.connections))
        .collect()
}

/// One verdict per fact (issue 13): a rule that held in the baseline and breaks now is the drift
/// `values.rule-violated`, and the same run's findings do not repeat it.
#[test]
fn values_rule_violated_is_one_verdict_not_a_drift_and_a_finding() {
    let before = [cv("a", Some(NonZero), &[]), cv("b", Some(NonZero), &[])];
    let after = [cv("a", Some(NonZero), &["r"]), cv("b", Some(NonZero), &[])];
    assert_eq!(
        verdicts(&before, &after),
        vec![(
            "drift".to_owned(),
            Rule::ValuesRuleViolated.id().to_owned(),
            vec!["a".to_owned()]
        )]
    );
    // A violation the accepted baseline already holds is not reported again, in either list.
    assert_eq!(verdicts(&after, &after), vec![]);
}

/// `values.rule-violated` is per connection: a connection for which the rule held in the
/// baseline and fails now is named even when another connection already violated it.
#[test]
fn values_rule_violated_names_only_newly_violating_connections() {
    let before = rules_obs(&[("a", &[]), ("b", &["r"]), ("c", &[])]);
    let after = rules_obs(&[("a", &["r"]), ("b", &["r"]), ("c", &[])]);
    let d = diff_observations(&before, &after);
    assert_eq!(
        summary(&d),
        vec![(
            Rule::ValuesRuleViolated.id(),
            Some("r"),
            Severity::Breaking,
            vec!["a"]
        )]
    );
    assert_eq!(
        d[0].message,
        "rule `r` held for `a` in the baseline and is now violated by it (already violated by `b` \
         in the baseline)"
    );
    assert_eq!(d[0].before, Some(json!({"violated_by": ["b"]})));
    assert_eq!(d[0].after, Some(json!({"violated_by": ["a", "b"]})));
    // Fewer violators is no breakage.
    assert_eq!(diff_observations(&after, &before), vec![]);
}
