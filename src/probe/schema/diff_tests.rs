//! Exact-result tests of the schema diff rules.

use super::{name_similarity, split_last};
use crate::baseline::diff_observations;
use crate::model::{Drift, Observation, ProbeKind};
use crate::model::{ObservationKey, Severity};
use crate::probe::shape::infer;
use crate::rules::Rule;
use serde_json::Value;
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
            rule: Rule::SchemaFieldRemoved.emit(Severity::Breaking),
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
            first_seen: None,
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
        vec![(Rule::SchemaFieldAdded.id(), Some("$.meta"), Severity::Info)]
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
        vec![(
            Rule::SchemaFieldRenamed.id(),
            Some("$.name"),
            Severity::Breaking
        )]
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
            Rule::SchemaFieldRenamed.id(),
            Some("$.data[].owner"),
            Severity::Breaking
        )]
    );
    let different = schema(&[json!({"data": [{"user": {"id": "2"}}]})]);
    assert_eq!(
        summary(&diff_observations(&before, &different)),
        vec![
            (
                Rule::SchemaFieldAdded.id(),
                Some("$.data[].user"),
                Severity::Info
            ),
            (
                Rule::SchemaFieldRemoved.id(),
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
            (Rule::SchemaFieldAdded.id(), Some("$.c"), Severity::Info),
            (Rule::SchemaFieldAdded.id(), Some("$.d"), Severity::Info),
            (
                Rule::SchemaFieldRemoved.id(),
                Some("$.a"),
                Severity::Breaking
            ),
            (
                Rule::SchemaFieldRemoved.id(),
                Some("$.b"),
                Severity::Breaking
            ),
        ]
    );
    // Same descriptor but different parents is not a rename either.
    let before = schema(&[json!({"x": {"a": 1}, "y": {}})]);
    let after = schema(&[json!({"x": {}, "y": {"a": 1}})]);
    assert_eq!(
        summary(&diff_observations(&before, &after)),
        vec![
            (Rule::SchemaFieldAdded.id(), Some("$.y.a"), Severity::Info),
            (
                Rule::SchemaFieldRemoved.id(),
                Some("$.x.a"),
                Severity::Breaking
            ),
        ]
    );
}

/// Issue 13: `total` → `total_amount` plus a new sibling `tax` of the same shape is one rename
/// and one addition, not a removal and two additions.
#[test]
fn schema_field_renamed_when_a_sibling_is_added_beside_it() {
    let before = schema(&[json!({"id": 1, "total": 1204.35})]);
    let after = schema(&[json!({"id": 1, "total_amount": 1204.35, "tax": 12.5})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![
            (Rule::SchemaFieldAdded.id(), Some("$.tax"), Severity::Info),
            (
                Rule::SchemaFieldRenamed.id(),
                Some("$.total"),
                Severity::Breaking
            ),
        ]
    );
    assert_eq!(
        drifts[1].message,
        "`$.total` was renamed to `$.total_amount`"
    );
    // The same inside array items, with two renames and an unrelated addition at once.
    let before = schema(&[json!({"data": [{"name": "Ada", "email": "a@b.io", "n": 1}]})]);
    let after = schema(&[json!({"data": [
        {"display_name": "Ada", "email_address": "a@b.io", "n": 1, "note": "x"}
    ]})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![
            (
                Rule::SchemaFieldAdded.id(),
                Some("$.data[].note"),
                Severity::Info
            ),
            (
                Rule::SchemaFieldRenamed.id(),
                Some("$.data[].email"),
                Severity::Breaking
            ),
            (
                Rule::SchemaFieldRenamed.id(),
                Some("$.data[].name"),
                Severity::Breaking
            ),
        ]
    );
    assert_eq!(
        drifts[1].message,
        "`$.data[].email` was renamed to `$.data[].email_address`"
    );
    assert_eq!(
        drifts[2].message,
        "`$.data[].name` was renamed to `$.data[].display_name`"
    );
}

/// With several removed or added siblings a pair needs similar names: `total` and `tax` share too
/// little (0.17 < 0.4), so they stay removed + added.
#[test]
fn schema_field_renamed_needs_similar_names_among_several_candidates() {
    let before = schema(&[json!({"total": 1.5})]);
    let after = schema(&[json!({"tax": 1.5, "note": 2.5})]);
    assert_eq!(
        summary(&diff_observations(&before, &after)),
        vec![
            (Rule::SchemaFieldAdded.id(), Some("$.note"), Severity::Info),
            (Rule::SchemaFieldAdded.id(), Some("$.tax"), Severity::Info),
            (
                Rule::SchemaFieldRemoved.id(),
                Some("$.total"),
                Severity::Breaking
            ),
        ]
    );
    // The parent's only removed and only added field pair whatever the names (as before).
    let after = schema(&[json!({"tax": 1.5})]);
    assert_eq!(
        summary(&diff_observations(&before, &after)),
        vec![(
            Rule::SchemaFieldRenamed.id(),
            Some("$.total"),
            Severity::Breaking
        )]
    );
}

/// Equal similarity is broken by the removed path, then the added path, in sorted order; the
/// result does not depend on the order of samples.
#[test]
fn schema_field_renamed_tie_break_is_sorted_path_order() {
    let before = schema(&[json!({"total": 1})]);
    let after = schema(&[json!({"total_b": 1, "total_a": 1})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![
            (
                Rule::SchemaFieldAdded.id(),
                Some("$.total_b"),
                Severity::Info
            ),
            (
                Rule::SchemaFieldRenamed.id(),
                Some("$.total"),
                Severity::Breaking
            ),
        ]
    );
    assert_eq!(drifts[1].message, "`$.total` was renamed to `$.total_a`");
    let before = schema(&[json!({"amount_b": 1, "amount_a": 1})]);
    let after = schema(&[json!({"amount": 1})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![
            (
                Rule::SchemaFieldRemoved.id(),
                Some("$.amount_b"),
                Severity::Breaking
            ),
            (
                Rule::SchemaFieldRenamed.id(),
                Some("$.amount_a"),
                Severity::Breaking
            ),
        ]
    );
    // The most similar pair is taken first, whatever the path order.
    let before = schema(&[json!({"amount": 1, "amounts": 1})]);
    let after = schema(&[json!({"amount_cents": 1, "amounts_total": 1})]);
    let renamed: Vec<String> = diff_observations(&before, &after)
        .into_iter()
        .map(|d| d.message)
        .collect();
    assert_eq!(
        renamed,
        vec![
            "`$.amount` was renamed to `$.amount_cents`",
            "`$.amounts` was renamed to `$.amounts_total`",
        ]
    );
}

#[test]
fn name_similarity_is_the_mean_dice_of_words_and_character_pairs() {
    let close = |a: &str, b: &str, want: f64| {
        let got = name_similarity(a, b);
        assert!((got - want).abs() < 1e-9, "{a}/{b}: {got} != {want}");
    };
    close("total", "total_amount", (2.0 / 3.0 + 8.0 / 15.0) / 2.0);
    close("name", "display_name", (2.0 / 3.0 + 6.0 / 14.0) / 2.0);
    close("total", "tax", (0.0 + 2.0 / 6.0) / 2.0);
    close("userId", "user_id", (1.0 + 8.0 / 11.0) / 2.0);
    close("totalAmount", "total-amount", (1.0 + 18.0 / 21.0) / 2.0);
    close("Total", "total", 1.0);
    close("a", "a", 1.0);
    close("a", "b", 0.0);
    close("", "", 1.0);
    close("", "x", 0.0);
}

/// Only a change between JSON types (number, string, boolean, object, array, null) is
/// `schema.type-changed`, and it is always breaking; integer counts as number.
#[test]
fn schema_type_changed_only_between_json_types() {
    let cases = [
        (
            json!(1),
            json!("1"),
            "`$.v` changed type from integer to string",
        ),
        (
            json!(1.5),
            json!("1.5"),
            "`$.v` changed type from number to string",
        ),
        (
            json!(1.5),
            json!(true),
            "`$.v` changed type from number to boolean",
        ),
        (
            json!(1),
            json!({}),
            "`$.v` changed type from integer to object",
        ),
        (
            json!(1.5),
            json!([]),
            "`$.v` changed type from number to array",
        ),
        (
            json!("x"),
            json!(2.5),
            "`$.v` changed type from string to number",
        ),
    ];
    for (b, a, message) in cases {
        let drifts = diff_observations(&schema(&[json!({"v": b})]), &schema(&[json!({"v": a})]));
        assert_eq!(
            summary(&drifts),
            vec![(
                Rule::SchemaTypeChanged.id(),
                Some("$.v"),
                Severity::Breaking
            )]
        );
        assert_eq!(drifts[0].message, message);
    }
    // A second JSON type beside the number is a type change too.
    let before = schema(&[json!({"v": 1.5})]);
    let after = schema(&[json!({"v": 1}), json!({"v": "n/a"})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![(
            Rule::SchemaTypeChanged.id(),
            Some("$.v"),
            Severity::Breaking
        )]
    );
    assert_eq!(
        drifts[0].message,
        "`$.v` changed type from number to integer | string"
    );
}

/// `integer` → `number` is an info-level widening, never a type change.
#[test]
fn schema_type_widened_is_info_from_integer_to_number() {
    let before = schema(&[json!({"v": 1})]);
    for after in [
        schema(&[json!({"v": 1.5})]),
        schema(&[json!({"v": 1}), json!({"v": 2.5})]),
        schema(&[json!({"v": 2.5}), json!({"v": 1})]),
    ] {
        let drifts = diff_observations(&before, &after);
        assert_eq!(
            summary(&drifts),
            vec![(Rule::SchemaTypeWidened.id(), Some("$.v"), Severity::Info)]
        );
        assert_eq!(drifts[0].message, "`$.v` widened from integer to number");
        assert_eq!(
            (drifts[0].before.clone(), drifts[0].after.clone()),
            (
                Some(json!({"required": true, "types": ["integer"]})),
                Some(json!({"required": true, "types": ["number"]}))
            )
        );
    }
    // Beside other types and null too.
    let before = schema(&[json!({"v": 1}), json!({"v": "x"}), json!({"v": null})]);
    let after = schema(&[json!({"v": 1.25}), json!({"v": "x"}), json!({"v": null})]);
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![(Rule::SchemaTypeWidened.id(), Some("$.v"), Severity::Info)]
    );
    assert_eq!(
        drifts[0].message,
        "`$.v` widened from integer | string to number | string"
    );
}

/// The whole-valued decimal (issue 13): `1204.35` one night, `1204` the next is no drift at all,
/// in either order and in any mix of samples and connections.
#[test]
fn schema_type_changed_never_fires_for_whole_valued_decimals() {
    let fraction = schema(&[json!({"total": 1204.35})]);
    let whole = schema(&[json!({"total": 1204})]);
    let mixed = schema(&[json!({"total": 1204}), json!({"total": 99.5})]);
    assert_eq!(diff_observations(&fraction, &whole), vec![]);
    assert_eq!(diff_observations(&fraction, &mixed), vec![]);
    assert_eq!(diff_observations(&mixed, &whole), vec![]);
    assert_eq!(diff_observations(&mixed, &fraction), vec![]);
    // A mix is `number`, never `integer | number`.
    assert_eq!(
        mixed.body["shape"]["$.total"],
        json!({"required": true, "types": ["number"]})
    );
}

/// Baselines written before integer became a subtype of number hold `integer | number`: they
/// read as `number`, so neither today's `number` nor today's `integer` is a drift.
#[test]
fn legacy_integer_or_number_baseline_is_number() {
    let legacy = Observation {
        key: key(ProbeKind::Schema),
        body: json!({"responses": {}, "shape": {
            "$": {"required": true, "types": ["object"]},
            "$.total": {"required": true, "types": ["integer", "number"]},
        }}),
    };
    assert_eq!(
        diff_observations(&legacy, &schema(&[json!({"total": 12.5})])),
        vec![]
    );
    assert_eq!(
        diff_observations(&legacy, &schema(&[json!({"total": 12})])),
        vec![]
    );
    assert_eq!(
        summary(&diff_observations(
            &legacy,
            &schema(&[json!({"total": "12.50"})])
        )),
        vec![(
            Rule::SchemaTypeChanged.id(),
            Some("$.total"),
            Severity::Breaking
        )]
    );
}

/// The accepted legacy file itself: compared with today's observation it is unchanged, so no
/// `.snap.new` is written and the accepted bytes stay as they are.
#[test]
fn legacy_integer_or_number_baseline_file_compares_unchanged() {
    use crate::baseline::snapshot::{SnapshotHeader, render_snapshot};
    use crate::baseline::{BaselineStore, Comparison, UpdateMode};
    let dir = tempfile::tempdir().expect("temp dir");
    let store = BaselineStore::new(dir.path());
    let current = schema(&[json!({"total": 1204.35}), json!({"total": 7})]);
    let mut legacy_body = current.body.clone();
    legacy_body["shape"]["$.total"]["types"] = json!(["integer", "number"]);
    let path = store.path_for(&current.key);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let text = render_snapshot(
        &SnapshotHeader::new("suites/demo.yaml", current.key.clone()),
        &legacy_body,
    );
    std::fs::write(&path, &text).expect("write");
    let got = store
        .compare("suites/demo.yaml", &current, UpdateMode::New)
        .expect("compares");
    assert!(matches!(got, Comparison::Unchanged), "{got:?}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
    let mut pending = path.clone().into_os_string();
    pending.push(".new");
    assert!(!std::path::Path::new(&pending).exists());
}

#[test]
fn nullability_changes_both_ways() {
    let plain = schema(&[json!({"v": "x"})]);
    let nullable = schema(&[json!({"v": "x"}), json!({"v": null})]);
    let drifts = diff_observations(&plain, &nullable);
    assert_eq!(
        summary(&drifts),
        vec![(
            Rule::SchemaNullabilityChanged.id(),
            Some("$.v"),
            Severity::Warning
        )]
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
        vec![(
            Rule::SchemaNullabilityChanged.id(),
            Some("$.v"),
            Severity::Info
        )]
    );
}

#[test]
fn optionality_changes_both_ways() {
    let required = schema(&[json!({"v": 1}), json!({"v": 2})]);
    let optional = schema(&[json!({"v": 1}), json!({})]);
    assert_eq!(
        summary(&diff_observations(&required, &optional)),
        vec![(
            Rule::SchemaOptionalityChanged.id(),
            Some("$.v"),
            Severity::Warning
        )]
    );
    let drifts = diff_observations(&optional, &required);
    assert_eq!(
        summary(&drifts),
        vec![(
            Rule::SchemaOptionalityChanged.id(),
            Some("$.v"),
            Severity::Info
        )]
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
        vec![(
            Rule::SchemaFormatChanged.id(),
            Some("$.at"),
            Severity::Warning
        )]
    );
    assert_eq!(
        drifts[0].message,
        "`$.at` changed format from date-time to none"
    );
    // Leaving strings altogether is a type change only.
    let after = schema(&[json!({"at": 1714521600})]);
    assert_eq!(
        summary(&diff_observations(&before, &after)),
        vec![(
            Rule::SchemaTypeChanged.id(),
            Some("$.at"),
            Severity::Breaking
        )]
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
                Rule::SchemaContentTypeChanged.id(),
                c("delta"),
                Severity::Warning,
                None
            ),
            (
                Rule::SchemaStatusChanged.id(),
                c("acme"),
                Severity::Breaking,
                None
            ),
            (
                Rule::SchemaStatusChanged.id(),
                c("beta"),
                Severity::Info,
                None
            ),
            (
                Rule::SchemaStatusChanged.id(),
                c("gamma"),
                Severity::Warning,
                None
            ),
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
            (Rule::SchemaFieldAdded.id(), Some("$.c"), Severity::Info),
            (
                Rule::SchemaFieldRemoved.id(),
                Some("$.z"),
                Severity::Breaking
            ),
            (
                Rule::SchemaNullabilityChanged.id(),
                Some("$.b"),
                Severity::Warning
            ),
            (
                Rule::SchemaOptionalityChanged.id(),
                Some("$.b"),
                Severity::Warning
            ),
            (
                Rule::SchemaTypeChanged.id(),
                Some("$.a"),
                Severity::Breaking
            ),
            (
                Rule::SchemaTypeChanged.id(),
                Some("$.b"),
                Severity::Breaking
            ),
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
            (Rule::SchemaFieldAdded.id(), Some("$.v"), Severity::Info),
            (
                Rule::SchemaObservationUnreadable.id(),
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

mod numeric_noise {
    use super::*;
    use proptest::prelude::*;

    /// One response of one connection: the numeric field `total`, top-level and in items.
    fn sample(whole: bool, cents: i64) -> Value {
        let v = if whole {
            json!(cents / 100)
        } else {
            // Never whole: a value with a fraction of 0.01 to 0.99.
            json!((cents / 100) as f64 + ((cents.rem_euclid(99)) + 1) as f64 / 100.0)
        };
        json!({"total": v, "lines": [{"amount": v}]})
    }

    proptest! {
        /// Issue 13: random whole-valued/fractional mixes of one numeric field, over any number of
        /// samples (pages, connections), never drift against a `number` baseline, nor against
        /// one that has seen both. Whole values only is no drift either (number → integer).
        #[test]
        fn schema_type_changed_never_fires_for_numeric_noise(
            night in prop::collection::vec((any::<bool>(), -10_000_000i64..10_000_000), 1..10),
            baseline in prop::collection::vec((any::<bool>(), -10_000_000i64..10_000_000), 1..10),
        ) {
            let number = schema(&[sample(false, 120_435)]);
            let samples: Vec<Value> = night.iter().map(|(w, c)| sample(*w, *c)).collect();
            let after = schema(&samples);
            prop_assert_eq!(diff_observations(&number, &after), vec![]);
            // Through the streaming path too (what a run uses).
            let mut streamed = crate::probe::shape::Shape::empty();
            for s in &samples {
                let bytes = serde_json::to_vec(s).unwrap();
                streamed.merge_from(crate::probe::shape::infer_slice(&bytes).unwrap());
            }
            let after_streamed = Observation {
                key: key(ProbeKind::Schema),
                body: json!({"responses": {}, "shape": streamed.to_body()}),
            };
            prop_assert_eq!(&after_streamed, &after);
            // A baseline that saw at least one fraction is `number`: no drift either way round
            // except the info widening from an all-whole night back to fractions.
            let mut base_samples: Vec<Value> = baseline.iter().map(|(w, c)| sample(*w, *c)).collect();
            base_samples.push(sample(false, 1));
            let mixed_baseline = schema(&base_samples);
            prop_assert_eq!(diff_observations(&mixed_baseline, &after), vec![]);
            let drifts = diff_observations(&after, &mixed_baseline);
            let rules: Vec<&str> = drifts.iter().map(|d| d.rule.as_str()).collect();
            let all_whole = night.iter().all(|(w, _)| *w);
            if all_whole {
                prop_assert_eq!(rules, vec![Rule::SchemaTypeWidened.id(), Rule::SchemaTypeWidened.id()]);
            } else {
                prop_assert_eq!(rules, Vec::<&str>::new());
            }
        }
    }
}

/// `{"by_id": {"<id>": {"amount": …}, …}}` with ids `from..from + n`.
fn by_id(from: usize, n: usize, amount: Value) -> Value {
    let m: serde_json::Map<String, Value> = (from..from + n)
        .map(|i| (format!("id_{i}"), json!({"amount": amount.clone()})))
        .collect();
    json!({"total": 1, "by_id": m})
}

/// Issue 15: an object whose keys cross the map limit is one info drift, not a removal or an
/// addition per key; its values are then compared as one shape under `{}`.
#[test]
fn schema_map_changed_when_keys_cross_the_limit() {
    use crate::probe::shape::MAP_KEY_LIMIT;
    let object = schema(&[by_id(0, 3, json!(1))]);
    let map = schema(&[by_id(100, MAP_KEY_LIMIT + 1, json!(1))]);
    let drifts = diff_observations(&object, &map);
    assert_eq!(
        summary(&drifts),
        vec![(Rule::SchemaMapChanged.id(), Some("$.by_id"), Severity::Info)]
    );
    assert_eq!(
        drifts[0].message,
        "`$.by_id` is now a map: more than 1000 distinct keys, so its values are compared as one \
         shape (`$.by_id{}`) instead of field by field"
    );
    let drifts = diff_observations(&map, &object);
    assert_eq!(
        summary(&drifts),
        vec![(Rule::SchemaMapChanged.id(), Some("$.by_id"), Severity::Info)]
    );
    assert_eq!(
        drifts[0].message,
        "`$.by_id` has named fields again (1000 distinct keys or fewer) instead of being a map"
    );
    // Other keys of both maps: no drift. A change inside the values: drift at the `{}` path.
    let other_keys = schema(&[by_id(5_000, MAP_KEY_LIMIT + 7, json!(2))]);
    assert_eq!(diff_observations(&map, &other_keys), vec![]);
    let strings = schema(&[by_id(0, MAP_KEY_LIMIT + 1, json!("12"))]);
    assert_eq!(
        summary(&diff_observations(&map, &strings)),
        vec![(
            Rule::SchemaTypeChanged.id(),
            Some("$.by_id{}.amount"),
            Severity::Breaking
        )]
    );
    let without = schema(&[json!({"total": 1})]);
    assert_eq!(
        summary(&diff_observations(&map, &without)),
        vec![(
            Rule::SchemaFieldRemoved.id(),
            Some("$.by_id"),
            Severity::Breaking
        )]
    );
}

#[test]
fn split_last_reads_map_value_segments() {
    assert_eq!(split_last("$.by_id{}"), Some(("$.by_id", "{}")));
    assert_eq!(
        split_last("$.by_id{}.amount"),
        Some(("$.by_id{}", ".amount"))
    );
    assert_eq!(split_last("${}"), Some(("$", "{}")));
}
