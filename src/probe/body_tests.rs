//! The one unreadable-body path, for every probe whose body is typed.

use crate::baseline::diff_observations;
use crate::model::{Observation, ObservationKey, ProbeKind, Severity};
use crate::rules::Rule;
use serde_json::{Value, json};

fn obs(probe: ProbeKind, body: Value) -> Observation {
    Observation {
        key: ObservationKey {
            provider: "demo".into(),
            probe,
            subject: "s".into(),
            connection: None,
        },
        body,
    }
}

/// Each typed probe reports an unreadable side once, with its own rule id, as a warning with
/// no evidence, and compares nothing else.
#[test]
fn observation_unreadable_comes_from_the_one_generic_place_per_probe() {
    let cases = [
        (ProbeKind::Token, Rule::TokenObservationUnreadable, "token"),
        (
            ProbeKind::Schema,
            Rule::SchemaObservationUnreadable,
            "schema",
        ),
        (
            ProbeKind::Refresh,
            Rule::RefreshObservationUnreadable,
            "refresh",
        ),
        (
            ProbeKind::Permissions,
            Rule::PermissionObservationUnreadable,
            "permissions",
        ),
        (
            ProbeKind::Metadata,
            Rule::MetadataObservationUnreadable,
            "metadata",
        ),
        (
            ProbeKind::Deprecation,
            Rule::DeprecationObservationUnreadable,
            "deprecation",
        ),
        (
            ProbeKind::Values,
            Rule::ValuesObservationUnreadable,
            "values",
        ),
    ];
    for (probe, rule, name) in cases {
        let d = diff_observations(&obs(probe, json!("x")), &obs(probe, json!(7)));
        let got: Vec<(&str, Severity, Option<&str>, &str)> = d
            .iter()
            .map(|d| {
                (
                    d.rule.as_str(),
                    d.severity,
                    d.path.as_deref(),
                    d.message.as_str(),
                )
            })
            .collect();
        let baseline = format!("the baseline {name} observation is unreadable: ");
        let current = format!("the current {name} observation is unreadable: ");
        assert_eq!(got.len(), 2, "{name}: {got:?}");
        assert!(
            got.iter()
                .all(|g| g.0 == rule.id() && g.1 == Severity::Warning && g.2.is_none())
        );
        assert!(
            got[0].3.starts_with(&baseline) && got[0].3.contains("string \"x\""),
            "{got:?}"
        );
        assert!(
            got[1].3.starts_with(&current) && got[1].3.contains("integer `7`"),
            "{got:?}"
        );
        assert!(d.iter().all(|d| d.before.is_none() && d.after.is_none()));
    }
}

/// `Merged` writes one value when all agree and the distinct values sorted by JSON text.
#[test]
fn merged_field_is_one_value_or_sorted_distinct_values() {
    use super::Merged;
    assert_eq!(Merged::<bool>::of([]), None);
    assert_eq!(Merged::of(&[true, true]), Some(Merged::One(true)));
    assert_eq!(
        Merged::of(&[true, false, true]),
        Some(Merged::Many(vec![false, true]))
    );
    let m: Merged<Vec<String>> = serde_json::from_value(json!([])).unwrap();
    assert_eq!(m, Merged::One(vec![]));
    let m: Merged<Vec<String>> = serde_json::from_value(json!([["a"], []])).unwrap();
    assert_eq!(m, Merged::Many(vec![vec!["a".to_owned()], vec![]]));
    assert_eq!(serde_json::to_value(&m).unwrap(), json!([["a"], []]));
}
