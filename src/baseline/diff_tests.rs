//! Exact-result tests of the schema diff rules.

use super::*;
use crate::probe::shape::infer;
use serde_json::json;

fn key(probe: ProbeKind) -> ObservationKey {
    ObservationKey {
        provider: "demo".into(),
        probe,
        subject: "invoices".into(),
        connection: None,
    }
}

fn schema(samples: &[Value]) -> Observation {
    let mut shape = crate::probe::shape::Shape::empty();
    for s in samples {
        shape = shape.merge(&infer(s).expect("shallow"));
    }
    Observation {
        key: key(ProbeKind::Schema),
        body: json!({"responses": {}, "shape": shape.to_body()}),
    }
}

fn responses(r: Value) -> Observation {
    Observation {
        key: key(ProbeKind::Schema),
        body: json!({"responses": r, "shape": {}}),
    }
}

/// (rule, path, severity) of each drift, in output order.
fn summary(drifts: &[Drift]) -> Vec<(&str, Option<&str>, Severity)> {
    drifts
        .iter()
        .map(|d| (d.rule.as_str(), d.path.as_deref(), d.severity))
        .collect()
}

#[test]
fn identical_observations_have_no_drift() {
    let a = schema(&[json!({"id": 1, "tags": ["x"], "who": {"email": "a@b.io"}})]);
    assert_eq!(diff_observations(&a, &a), vec![]);
}

#[test]
fn field_removed_reports_only_the_topmost_path() {
    let before = schema(&[json!({"id": 1, "customer": {"name": "x", "tags": ["a"]}})]);
    let after = schema(&[json!({"id": 1})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        drifts,
        vec![Drift {
            rule: "schema.field-removed".into(),
            severity: Severity::Breaking,
            provider: "demo".into(),
            probe: ProbeKind::Schema,
            subject: "invoices".into(),
            path: Some("$.customer".into()),
            connections: vec![],
            message: "`$.customer` was removed".into(),
            before: Some(json!({"required": true, "types": ["object"]})),
            after: None,
            exchanges: vec![],
            fingerprint: String::new(),
            suppressed: None,
        }]
    );
}

#[test]
fn field_added_reports_only_the_topmost_path() {
    let before = schema(&[json!({"id": 1})]);
    let after = schema(&[json!({"id": 1, "meta": {"page": 1}})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![("schema.field-added", Some("$.meta"), Severity::Info)]
    );
    assert_eq!(
        drifts[0].after,
        Some(json!({"required": true, "types": ["object"]}))
    );
    assert_eq!(drifts[0].message, "`$.meta` was added");
}

#[test]
fn rename_with_identical_descriptor_is_one_drift() {
    let before = schema(&[json!({"id": 1, "name": "Ada"})]);
    let after = schema(&[json!({"id": 1, "display_name": "Ada"})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![("schema.field-renamed", Some("$.name"), Severity::Breaking)]
    );
    assert_eq!(
        drifts[0].message,
        "`$.name` was renamed to `$.display_name`"
    );
    assert_eq!(
        drifts[0].before,
        Some(json!({"path": "$.name", "required": true, "types": ["string"]}))
    );
    assert_eq!(
        drifts[0].after,
        Some(json!({"path": "$.display_name", "required": true, "types": ["string"]}))
    );
}

#[test]
fn rename_compares_whole_subtrees() {
    let before = schema(&[json!({"data": [{"owner": {"id": 1}}]})]);
    let same = schema(&[json!({"data": [{"user": {"id": 2}}]})]);
    assert_eq!(
        summary(&diff_observations(&before, &same)),
        vec![(
            "schema.field-renamed",
            Some("$.data[].owner"),
            Severity::Breaking
        )]
    );
    let different = schema(&[json!({"data": [{"user": {"id": "2"}}]})]);
    assert_eq!(
        summary(&diff_observations(&before, &different)),
        vec![
            ("schema.field-added", Some("$.data[].user"), Severity::Info),
            (
                "schema.field-removed",
                Some("$.data[].owner"),
                Severity::Breaking
            ),
        ]
    );
}

#[test]
fn ambiguous_renames_fall_back_to_removed_and_added() {
    let before = schema(&[json!({"a": 1, "b": 2})]);
    let after = schema(&[json!({"c": 1, "d": 2})]);
    assert_eq!(
        summary(&diff_observations(&before, &after)),
        vec![
            ("schema.field-added", Some("$.c"), Severity::Info),
            ("schema.field-added", Some("$.d"), Severity::Info),
            ("schema.field-removed", Some("$.a"), Severity::Breaking),
            ("schema.field-removed", Some("$.b"), Severity::Breaking),
        ]
    );
    // Same descriptor but different parents is not a rename either.
    let before = schema(&[json!({"x": {"a": 1}, "y": {}})]);
    let after = schema(&[json!({"x": {}, "y": {"a": 1}})]);
    assert_eq!(
        summary(&diff_observations(&before, &after)),
        vec![
            ("schema.field-added", Some("$.y.a"), Severity::Info),
            ("schema.field-removed", Some("$.x.a"), Severity::Breaking),
        ]
    );
}

#[test]
fn type_changes_and_integer_widening() {
    let cases = [
        (
            json!(1),
            json!("1"),
            Severity::Breaking,
            "`$.v` changed type from integer to string",
        ),
        (
            json!(1),
            json!(1.5),
            Severity::Warning,
            "`$.v` widened from integer to number",
        ),
        (
            json!(1.5),
            json!(1),
            Severity::Breaking,
            "`$.v` changed type from number to integer",
        ),
    ];
    for (b, a, severity, message) in cases {
        let drifts = diff_observations(&schema(&[json!({"v": b})]), &schema(&[json!({"v": a})]));
        assert_eq!(
            summary(&drifts),
            vec![("schema.type-changed", Some("$.v"), severity)]
        );
        assert_eq!(drifts[0].message, message);
    }
    let before = schema(&[json!({"v": 1})]);
    let after = schema(&[json!({"v": 1}), json!({"v": 2.5})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![("schema.type-changed", Some("$.v"), Severity::Warning)]
    );
    assert_eq!(
        drifts[0].message,
        "`$.v` widened from integer to integer | number"
    );
}

#[test]
fn nullability_changes_both_ways() {
    let plain = schema(&[json!({"v": "x"})]);
    let nullable = schema(&[json!({"v": "x"}), json!({"v": null})]);
    let drifts = diff_observations(&plain, &nullable);
    assert_eq!(
        summary(&drifts),
        vec![("schema.nullability-changed", Some("$.v"), Severity::Warning)]
    );
    assert_eq!(
        drifts[0].before,
        Some(json!({"required": true, "types": ["string"]}))
    );
    assert_eq!(
        drifts[0].after,
        Some(json!({"required": true, "types": ["null", "string"]}))
    );
    assert_eq!(
        summary(&diff_observations(&nullable, &plain)),
        vec![("schema.nullability-changed", Some("$.v"), Severity::Info)]
    );
}

#[test]
fn optionality_changes_both_ways() {
    let required = schema(&[json!({"v": 1}), json!({"v": 2})]);
    let optional = schema(&[json!({"v": 1}), json!({})]);
    assert_eq!(
        summary(&diff_observations(&required, &optional)),
        vec![("schema.optionality-changed", Some("$.v"), Severity::Warning)]
    );
    let drifts = diff_observations(&optional, &required);
    assert_eq!(
        summary(&drifts),
        vec![("schema.optionality-changed", Some("$.v"), Severity::Info)]
    );
    assert_eq!(drifts[0].message, "`$.v` became required");
}

#[test]
fn format_changes() {
    let before = schema(&[json!({"at": "2024-05-01T00:00:00Z"})]);
    let after = schema(&[json!({"at": "1714521600"})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![("schema.format-changed", Some("$.at"), Severity::Warning)]
    );
    assert_eq!(
        drifts[0].message,
        "`$.at` changed format from date-time to none"
    );
    // Leaving strings altogether is a type change only.
    let after = schema(&[json!({"at": 1714521600})]);
    assert_eq!(
        summary(&diff_observations(&before, &after)),
        vec![("schema.type-changed", Some("$.at"), Severity::Breaking)]
    );
}

#[test]
fn status_and_content_type_changes_per_connection() {
    let r = |s: u16, ct: &str| json!({"status": s, "content_type": ct});
    let before = responses(json!({
        "acme": r(200, "application/json"), "beta": r(403, "application/json"),
        "gamma": r(200, "application/json"), "delta": r(200, "application/json"),
        "only-before": r(200, "application/json"),
    }));
    let after = responses(json!({
        "acme": r(404, "application/json"), "beta": r(200, "application/json"),
        "gamma": r(201, "application/json"), "delta": r(200, "text/html"),
        "only-after": r(500, "text/html"),
    }));
    let drifts = diff_observations(&before, &after);
    let got: Vec<_> = drifts
        .iter()
        .map(|d| {
            (
                d.rule.as_str(),
                d.connections.clone(),
                d.severity,
                d.path.clone(),
            )
        })
        .collect();
    let c = |s: &str| vec![s.to_owned()];
    assert_eq!(
        got,
        vec![
            (
                "schema.content-type-changed",
                c("delta"),
                Severity::Warning,
                None
            ),
            ("schema.status-changed", c("acme"), Severity::Breaking, None),
            ("schema.status-changed", c("beta"), Severity::Info, None),
            ("schema.status-changed", c("gamma"), Severity::Warning, None),
        ]
    );
    assert_eq!(
        drifts[1].message,
        "connection `acme` now answers 404 instead of 200"
    );
    assert_eq!(
        (drifts[1].before.clone(), drifts[1].after.clone()),
        (Some(json!(200)), Some(json!(404)))
    );
}

#[test]
fn output_is_sorted_by_rule_then_path() {
    let before = schema(&[json!({"a": 1, "b": "x", "z": true})]);
    let after = schema(&[json!({"a": "1", "b": null, "c": 1}), json!({"a": "2"})]);
    assert_eq!(
        summary(&diff_observations(&before, &after)),
        vec![
            ("schema.field-added", Some("$.c"), Severity::Info),
            ("schema.field-removed", Some("$.z"), Severity::Breaking),
            ("schema.nullability-changed", Some("$.b"), Severity::Warning),
            ("schema.optionality-changed", Some("$.b"), Severity::Warning),
            ("schema.type-changed", Some("$.a"), Severity::Breaking),
            ("schema.type-changed", Some("$.b"), Severity::Breaking),
        ]
    );
}

#[test]
fn unreadable_descriptors_are_reported() {
    let good = schema(&[json!({"v": 1})]);
    let mut bad = good.clone();
    bad.body["shape"]["$.v"] = json!({"types": "integer"});
    let drifts = diff_observations(&bad, &good);
    assert_eq!(
        summary(&drifts),
        vec![
            ("schema.field-added", Some("$.v"), Severity::Info),
            (
                "schema.observation-unreadable",
                Some("$.v"),
                Severity::Warning
            ),
        ]
    );
}

#[test]
fn split_last_handles_every_segment_kind() {
    assert_eq!(split_last("$"), None);
    assert_eq!(split_last("$.a.b"), Some(("$.a", ".b")));
    assert_eq!(split_last("$.data[]"), Some(("$.data", "[]")));
    assert_eq!(split_last("$['a.b'].c"), Some(("$['a.b']", ".c")));
    assert_eq!(split_last("$['it\\'s]']"), Some(("$", "['it\\'s]']")));
    assert_eq!(split_last("$.x['é b']"), Some(("$.x", "['é b']")));
}

mod properties {
    //! `diff(a, a)` is empty for observations the probes themselves produce.
    use super::*;
    use crate::probe::deprecation::{self, DateValue, DeprecationValue, Signals};
    use crate::probe::permissions::{self, PermissionSample};
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            (-1e6f64..1e6).prop_map(|f| json!(f)),
            prop::sample::select(vec![
                "",
                "2024-05-01",
                "a@b.io",
                "https://e.com",
                "sim_at_x"
            ])
            .prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]|odd key|it's|x\\.y", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn date() -> impl Strategy<Value = chrono::DateTime<chrono::Utc>> {
        (0i64..4_000_000_000)
            .prop_map(|s| chrono::DateTime::from_timestamp(s, 0).unwrap_or_default())
    }

    fn signals() -> impl Strategy<Value = Signals> {
        let text = "[a-z ]{0,8}";
        (
            prop::option::of(prop_oneof![
                Just(DeprecationValue::True),
                date().prop_map(DeprecationValue::Date)
            ]),
            prop::option::of(date().prop_map(DateValue::Date)),
            prop::collection::vec(
                (prop::sample::select(vec!["deprecation", "sunset"]), text),
                0..3,
            ),
            prop::collection::vec(text, 0..3),
            prop::collection::btree_map("X-[A-C]", text, 0..3),
            prop::collection::vec((Just("Sunset".to_owned()), text), 0..2),
        )
            .prop_map(
                |(deprecation, sunset, links, warnings, vendor, malformed)| Signals {
                    deprecation,
                    sunset,
                    links: links.into_iter().map(|(r, u)| (r.to_owned(), u)).collect(),
                    warnings,
                    vendor,
                    malformed,
                },
            )
    }

    fn sample() -> impl Strategy<Value = PermissionSample> {
        (
            prop::sample::select(vec!["full", "basic", "none"]),
            prop::collection::vec("[a-d]", 0..4),
            prop::option::of(prop::sample::select(vec![200u16, 204, 401, 403, 404, 500])),
            prop::option::of(json_value()),
        )
            .prop_map(|(set, scopes, status, body)| PermissionSample {
                scope_set: set.to_owned(),
                scopes,
                connection: "acme".to_owned(),
                status,
                headers: vec![(
                    "WWW-Authenticate".to_owned(),
                    "Bearer error=\"insufficient_scope\"".to_owned(),
                )],
                body,
                transport_error: status.is_none().then(|| "timeout".to_owned()),
            })
    }

    proptest! {
        #[test]
        fn schema_diff_with_itself_is_empty(samples in prop::collection::vec(json_value(), 0..4)) {
            let obs = schema(&samples);
            prop_assert_eq!(diff_observations(&obs, &obs), Vec::new());
        }

        #[test]
        fn deprecation_diff_with_itself_is_empty(s in prop::collection::vec(signals(), 0..3)) {
            let obs = deprecation::observe("demo", "invoices", &s);
            prop_assert_eq!(diff_observations(&obs, &obs), Vec::new());
        }

        #[test]
        fn permissions_diff_with_itself_is_empty(samples in prop::collection::vec(sample(), 0..4)) {
            let cells = permissions::classify(&samples);
            let obs = permissions::observe("demo", "invoices", &cells, "unknown");
            prop_assert_eq!(diff_observations(&obs, &obs), Vec::new());
        }
    }
}
