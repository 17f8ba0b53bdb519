//! Exact-result tests of value classification, evaluation, observations and findings.

use super::*;
use serde_json::json;

use ValueClass::{Empty, False, Missing, NonEmpty, NonZero, Null, Text, True, Zero};

fn spec(metrics: &[(&str, &str)]) -> ValuesSpec {
    ValuesSpec {
        metrics: metrics
            .iter()
            .map(|(n, p)| ((*n).to_owned(), (*p).to_owned()))
            .collect(),
        ..ValuesSpec::default()
    }
}

fn classes(pairs: &[(&str, ValueClass)]) -> BTreeMap<String, ValueClass> {
    pairs.iter().map(|(m, c)| ((*m).to_owned(), *c)).collect()
}

fn conversions_rule() -> ValueRule {
    ValueRule {
        name: "conversions-need-clicks".to_owned(),
        when: "clicks".to_owned(),
        greater_than: 100.0,
        then: "conversions".to_owned(),
    }
}

fn rule_spec() -> ValuesSpec {
    ValuesSpec {
        rules: vec![conversions_rule()],
        complete_flag: Some(("$.data_complete".to_owned(), json!(true))),
        ..spec(&[
            ("clicks", "$.metrics.clicks"),
            ("conversions", "$.metrics.conversions"),
        ])
    }
}

fn report(clicks: u64, conversions: u64, complete: bool) -> Value {
    json!({"metrics": {"clicks": clicks, "conversions": conversions}, "data_complete": complete})
}

fn cv(
    conn: &str,
    pairs: &[(&str, ValueClass)],
    rules: &[&str],
    complete: Option<bool>,
) -> ConnectionValues {
    ConnectionValues {
        connection: conn.to_owned(),
        classes: classes(pairs),
        rule_violations: rules.iter().map(|r| (*r).to_owned()).collect(),
        claims_complete: complete,
    }
}

#[test]
fn each_json_value_has_its_class() {
    let cases = [
        (json!(0), Zero),
        (json!(0.0), Zero),
        (json!(-0.0), Zero),
        (json!(7), NonZero),
        (json!(-3), NonZero),
        (json!(0.25), NonZero),
        (json!(u64::MAX), NonZero),
        (json!("0"), Zero),
        (json!("0.00"), Zero),
        (json!("-0"), Zero),
        (json!("-12"), NonZero),
        (json!("1e3"), NonZero),
        (json!(""), Empty),
        (json!([]), Empty),
        (json!({}), Empty),
        (json!([0]), NonEmpty),
        (json!({"a": 0}), NonEmpty),
        (json!(null), Null),
        (json!("abc"), Text),
        (json!("inf"), Text),
        (json!("NaN"), Text),
        (json!("+1"), Text),
        (json!(" 1"), Text),
        (json!(true), True),
        (json!(false), False),
    ];
    for (value, class) in cases {
        assert_eq!(ValueClass::of(&value), class, "{value}");
    }
}

#[test]
fn classes_serialise_kebab_case() {
    let all = [
        Zero, NonZero, Empty, Null, Missing, Text, True, False, NonEmpty,
    ];
    let names: Vec<Value> = all.iter().map(|c| json!(c)).collect();
    let strs: Vec<&str> = all.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        strs,
        [
            "zero",
            "non-zero",
            "empty",
            "null",
            "missing",
            "text",
            "true",
            "false",
            "non-empty"
        ]
    );
    assert_eq!(names, strs.iter().map(|s| json!(s)).collect::<Vec<_>>());
}

#[test]
fn fold_keeps_the_class_that_says_most_is_there() {
    assert_eq!(ValueClass::fold([]), Missing);
    assert_eq!(ValueClass::fold([Zero, Zero]), Zero);
    assert_eq!(ValueClass::fold([Zero, NonZero, Zero]), NonZero);
    assert_eq!(ValueClass::fold([Null, Zero]), Zero);
    assert_eq!(ValueClass::fold([Null, Null]), Null);
    assert_eq!(ValueClass::fold([Null, Empty]), Empty);
    assert_eq!(ValueClass::fold([False, True]), True);
    assert_eq!(ValueClass::fold([Text, NonZero]), NonZero);
}

#[test]
fn jsonpath_metrics_are_classified() {
    let s = spec(&[
        ("conversions", "$.metrics.conversions"),
        ("ctr", "$.metrics.ctr"),
        ("gone", "$.metrics.nope"),
        ("label", "$.label"),
        ("rows", "$.rows"),
        ("row_clicks", "$.rows[*].clicks"),
        ("big_rows", "$.rows[?@.clicks > 5].clicks"),
        ("twice", "$.rows[0, 0].clicks"),
    ]);
    let body = json!({
        "metrics": {"conversions": 0, "ctr": 0.031},
        "label": null,
        "rows": [{"clicks": 0}, {"clicks": 4}],
    });
    let v = evaluate(&s, "alice", &body).unwrap();
    assert_eq!(
        v,
        cv(
            "alice",
            &[
                ("big_rows", Missing),
                ("conversions", Zero),
                ("ctr", NonZero),
                ("gone", Missing),
                ("label", Null),
                ("row_clicks", NonZero),
                ("rows", NonEmpty),
                ("twice", Zero),
            ],
            &[],
            None,
        )
    );
}

#[test]
fn a_bad_path_is_an_error_naming_it() {
    let err = evaluate(&spec(&[("m", "$.a[")]), "alice", &json!({})).unwrap_err();
    assert!(
        err.starts_with("metric `m`: `$.a[` is not a JSONPath: "),
        "{err}"
    );
    let mut s = rule_spec();
    s.rules[0].then = "no_such_metric".to_owned();
    let err = evaluate(&s, "alice", &report(1, 1, true)).unwrap_err();
    assert_eq!(
        err,
        "rule `conversions-need-clicks`: `no_such_metric` is neither a metric nor a JSONPath"
    );
    let s = ValuesSpec {
        complete_flag: Some(("data_complete".to_owned(), json!(true))),
        ..ValuesSpec::default()
    };
    let err = evaluate(&s, "alice", &json!({})).unwrap_err();
    assert!(
        err.starts_with("complete flag: `data_complete` is not a JSONPath: "),
        "{err}"
    );
}

#[test]
fn auto_numeric_tracks_every_numeric_leaf_with_arrays_folded() {
    let s = ValuesSpec {
        auto_numeric: true,
        ..spec(&[("conversions", "$.metrics.conversions")])
    };
    let body = json!({
        "metrics": {"conversions": 3, "ctr": 0, "name": "x", "odd key": 2},
        "rows": [
            {"clicks": 0, "spend": 0, "cost": null, "id": "r1", "on": true},
            {"clicks": 0, "spend": 12.5, "cost": 0},
            {"clicks": 0, "spend": 0, "nested": [[1], [0]]}
        ],
        "empty": [],
        "flag": true,
        "blank": null
    });
    let v = evaluate(&s, "alice", &body).unwrap();
    assert_eq!(
        v.classes,
        classes(&[
            ("$.metrics.conversions", NonZero),
            ("$.metrics.ctr", Zero),
            ("$.metrics['odd key']", NonZero),
            ("$.rows[].clicks", Zero),
            ("$.rows[].cost", Zero),
            ("$.rows[].nested[][]", NonZero),
            ("$.rows[].spend", NonZero),
            ("conversions", NonZero),
        ])
    );
}

#[test]
fn auto_numeric_off_tracks_only_named_metrics() {
    let v = evaluate(&spec(&[]), "alice", &json!({"a": 1})).unwrap();
    assert_eq!(v.classes, classes(&[]));
}

#[test]
fn rule_conversions_nonzero_when_clicks_over_100() {
    let s = rule_spec();
    let cases = [
        (report(150, 0, true), vec!["conversions-need-clicks"]),
        (report(150, 3, true), vec![]),
        (report(100, 0, true), vec![]),
        (report(50, 0, true), vec![]),
        (
            json!({"metrics": {"clicks": "150"}}),
            vec!["conversions-need-clicks"],
        ),
        (
            json!({"metrics": {"clicks": 150, "conversions": null}}),
            vec!["conversions-need-clicks"],
        ),
        (json!({"metrics": {"conversions": 0}}), vec![]),
        (
            json!({"metrics": {"clicks": null, "conversions": 0}}),
            vec![],
        ),
    ];
    for (body, expected) in cases {
        let v = evaluate(&s, "alice", &body).unwrap();
        assert_eq!(v.rule_violations, expected, "{body}");
    }
}

#[test]
fn rules_sum_when_over_nodes_and_accept_shape_paths() {
    let s = ValuesSpec {
        rules: vec![ValueRule {
            name: "rows".to_owned(),
            when: "$.rows[].clicks".to_owned(),
            greater_than: 100.0,
            then: "$.rows[*].conversions".to_owned(),
        }],
        ..ValuesSpec::default()
    };
    let rows = |c: &[(u64, u64)]| {
        let items: Vec<Value> = c
            .iter()
            .map(|(cl, co)| json!({"clicks": cl, "conversions": co}))
            .collect();
        json!({ "rows": items })
    };
    let violated = |body: &Value| evaluate(&s, "alice", body).unwrap().rule_violations;
    assert_eq!(violated(&rows(&[(60, 0), (60, 0)])), vec!["rows"]);
    assert_eq!(violated(&rows(&[(60, 0), (60, 1)])), Vec::<String>::new());
    assert_eq!(violated(&rows(&[(60, 0), (40, 0)])), Vec::<String>::new());
    // An empty list is not an error: the shape path has no nodes, so the rule is unchecked.
    assert_eq!(violated(&rows(&[])), Vec::<String>::new());
}

#[test]
fn complete_flag_claims() {
    let s = rule_spec();
    let claim = |body: &Value| evaluate(&s, "alice", body).unwrap().claims_complete;
    assert_eq!(claim(&report(1, 1, true)), Some(true));
    assert_eq!(claim(&report(1, 1, false)), Some(false));
    assert_eq!(claim(&json!({"data_complete": "yes"})), Some(false));
    assert_eq!(claim(&json!({"metrics": {}})), None);
    assert_eq!(
        evaluate(&spec(&[]), "alice", &report(1, 1, true))
            .unwrap()
            .claims_complete,
        None
    );
}

fn two_connections() -> Vec<ConnectionValues> {
    vec![
        cv(
            "bob",
            &[("clicks", NonZero), ("conversions", Zero)],
            &["conversions-need-clicks"],
            Some(true),
        ),
        cv(
            "alice",
            &[("clicks", NonZero), ("conversions", NonZero)],
            &[],
            None,
        ),
    ]
}

#[test]
fn observe_is_one_sorted_observation_per_endpoint() {
    let o = observe("demo", "report", &two_connections());
    assert_eq!(
        o.key,
        ObservationKey {
            provider: "demo".to_owned(),
            probe: ProbeKind::Values,
            subject: "report".to_owned(),
            connection: None,
        }
    );
    assert_eq!(
        o.body,
        json!({
            "connections": {
                "alice": {"clicks": "non-zero", "conversions": "non-zero"},
                "bob": {"clicks": "non-zero", "conversions": "zero"},
            },
            "rules": {"conversions-need-clicks": ["bob"]},
            "complete_flag": {"bob": true},
        })
    );
    assert_eq!(
        serde_json::to_string(&o.body).unwrap(),
        r#"{"complete_flag":{"bob":true},"connections":{"alice":{"clicks":"non-zero","conversions":"non-zero"},"bob":{"clicks":"non-zero","conversions":"zero"}},"rules":{"conversions-need-clicks":["bob"]}}"#
    );
}

#[test]
fn observe_and_findings_do_not_depend_on_input_order() {
    let v = two_connections();
    let mut r = v.clone();
    r.reverse();
    assert_eq!(observe("demo", "report", &v), observe("demo", "report", &r));
    assert_eq!(
        findings("demo", "report", &v),
        findings("demo", "report", &r)
    );
}

#[test]
fn no_raw_value_reaches_observation_or_findings() {
    let s = ValuesSpec {
        auto_numeric: true,
        ..rule_spec()
    };
    let body = json!({
        "metrics": {"clicks": 987654, "conversions": 0, "note": "987654"},
        "rows": [{"v": 987654.5}],
        "data_complete": true,
    });
    let a = evaluate(&s, "alice", &body).unwrap();
    let b = evaluate(&s, "bob", &report(3, 1, true)).unwrap();
    let o = observe("demo", "report", &[a.clone(), b.clone()]);
    let f = findings("demo", "report", &[a, b]);
    let text = format!("{}{}", o.body, serde_json::to_string(&f).unwrap());
    assert!(!text.contains("987654"), "{text}");
    let rules: Vec<&str> = f.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(rules, [Rule::ValuesIncompleteFlagContradicted.id()]);
}

/// A violated rule is not a finding of its own (it is `values.rule-violated` drift against the
/// baseline); it shows in the contradicted-flag finding's reasons.
#[test]
fn findings_name_violated_rules_and_contradicted_flags() {
    let f = findings("demo", "report", &two_connections());
    let base = Drift {
        rule: Rule::ValuesIncompleteFlagContradicted.emit(Severity::Warning),
        severity: Severity::Warning,
        provider: "demo".to_owned(),
        probe: ProbeKind::Values,
        subject: "report".to_owned(),
        path: None,
        connections: vec!["bob".to_owned()],
        message: String::new(),
        before: None,
        after: None,
        exchanges: Vec::new(),
        fingerprint: String::new(),
        suppressed: None,
        first_seen: None,
    };
    assert_eq!(
        f,
        vec![Drift {
            message: "connection `bob` claims complete data but violates \
                          `conversions-need-clicks` and has `conversions` at zero while other \
                          connections have it non-zero"
                .to_owned(),
            after: Some(json!({
                "claims_complete": true,
                "violated_rules": ["conversions-need-clicks"],
                "zero_metrics": ["conversions"],
            })),
            ..base
        },]
    );
}

#[test]
fn flag_is_contradicted_by_a_zero_alone_and_not_without_a_claim() {
    let zero_only = vec![
        cv("a", &[("m", Zero)], &[], Some(true)),
        cv("b", &[("m", NonZero)], &[], Some(true)),
        cv("c", &[("m", Zero)], &[], Some(false)),
        cv("d", &[("m", Zero)], &["r"], None),
    ];
    let f = findings("demo", "report", &zero_only);
    let got: Vec<(&str, &[String], &str)> = f
        .iter()
        .map(|d| {
            (
                d.rule.as_str(),
                d.connections.as_slice(),
                d.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(
            Rule::ValuesIncompleteFlagContradicted.id(),
            &["a".to_owned()][..],
            "connection `a` claims complete data but has `m` at zero while other \
                 connections have it non-zero"
        ),]
    );
    // Every connection at zero: nothing says the zero is wrong.
    let all_zero = vec![
        cv("a", &[("m", Zero)], &[], Some(true)),
        cv("b", &[("m", Zero)], &[], Some(true)),
    ];
    assert_eq!(findings("demo", "report", &all_zero), vec![]);
}

#[test]
fn values_snapshot_round_trips_through_the_typed_body() {
    let o = observe("demo", "report", &two_connections());
    let header = crate::baseline::SnapshotHeader::new("demo", o.key.clone());
    let text = crate::baseline::render_snapshot(&header, &o.body);
    let (_, read) = crate::baseline::parse_snapshot(std::path::Path::new("t.snap"), &text).unwrap();
    let typed = ValuesBody::parse(&read.body).unwrap();
    assert_eq!(typed.connections["bob"]["conversions"], Zero);
    assert_eq!(
        crate::baseline::render_snapshot(&header, &typed.to_json()),
        text
    );
    assert_eq!(view::view(&o.body), Some(typed));
    assert_eq!(view::view(&json!({"connections": []})), None);
}
