//! Exact-result tests of the permissions diff rules, through `diff_observations`.

use crate::baseline::diff_observations;
use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::rules::Rule;
use serde_json::{Value, json};

fn obs(cells: Value, downscoping: &str) -> Observation {
    Observation {
        key: ObservationKey {
            provider: "demo".into(),
            probe: ProbeKind::Permissions,
            subject: "profile".into(),
            connection: None,
        },
        body: json!({"cells": cells, "downscoping": downscoping, "reference": "full"}),
    }
}

fn granted() -> Value {
    json!({"class": "granted", "status": 200})
}

fn partial(paths: &[&str], items: Option<(u64, u64)>) -> Value {
    let mut v = json!({"class": "partial", "status": 200, "missing_paths": paths});
    if let Some((seen, reference)) = items {
        v["missing_items"] = json!([seen, reference]);
    }
    v
}

fn denied(status: u16, signal: &str, code: Option<&str>) -> Value {
    let mut v = json!({"class": "denied", "status": status, "signal": signal});
    if let Some(code) = code {
        v["error_code"] = json!(code);
    }
    v
}

fn error() -> Value {
    json!({"class": "error"})
}

/// Diffs one scope set's cell, before and after.
fn one(before: Value, after: Value) -> Vec<Drift> {
    diff_observations(
        &obs(json!({ "basic": before }), "unknown"),
        &obs(json!({ "basic": after }), "unknown"),
    )
}

fn summary(drifts: &[Drift]) -> Vec<(&str, Severity, Option<&str>, &str)> {
    drifts
        .iter()
        .map(|d| {
            (
                d.rule.as_str(),
                d.severity,
                d.path.as_deref(),
                d.message.as_str(),
            )
        })
        .collect()
}

const BASIC: Option<&str> = Some("basic");

#[test]
fn identical_observations_have_no_drift() {
    let a = obs(
        json!({"basic": partial(&["$.email"], Some((1, 2))), "full": granted(),
               "none": denied(404, "404", Some("not_found")), "broken": error()}),
        "honoured",
    );
    assert_eq!(diff_observations(&a, &a), vec![]);
}

#[test]
fn newly_denied_is_breaking_from_granted_and_partial() {
    let drifts = one(granted(), denied(403, "403-insufficient-scope", None));
    assert_eq!(
        summary(&drifts),
        vec![(
            Rule::PermissionNewlyDenied.id(),
            Severity::Breaking,
            BASIC,
            "scope set `basic` is now denied by `profile` with 403-insufficient-scope; it got the full data before"
        )]
    );
    assert_eq!(drifts[0].before, Some(granted()));
    assert_eq!(
        drifts[0].after,
        Some(denied(403, "403-insufficient-scope", None))
    );
    let drifts = one(partial(&["$.email"], None), denied(404, "404", None));
    assert_eq!(
        summary(&drifts),
        vec![(
            Rule::PermissionNewlyDenied.id(),
            Severity::Breaking,
            BASIC,
            "scope set `basic` is now denied by `profile` with 404; it got partial data (missing `$.email`) before"
        )]
    );
}

#[test]
fn newly_partial_is_breaking_from_granted() {
    assert_eq!(
        summary(&one(granted(), partial(&[], Some((2, 5))))),
        vec![(
            Rule::PermissionNewlyPartial.id(),
            Severity::Breaking,
            BASIC,
            "scope set `basic` now got partial data (2 of 5 items) from `profile`; it got the full data before"
        )]
    );
}

#[test]
fn partial_losing_more_is_a_warning() {
    assert_eq!(
        summary(&one(
            partial(&["$.email"], None),
            partial(&["$.address", "$.email"], None)
        )),
        vec![(
            Rule::PermissionNewlyPartial.id(),
            Severity::Warning,
            BASIC,
            "scope set `basic` now got partial data (missing `$.address`, `$.email`) from `profile`; it got partial data (missing `$.email`) before"
        )]
    );
    let more_items = one(partial(&[], Some((3, 5))), partial(&[], Some((3, 9))));
    assert_eq!(
        summary(&more_items)
            .iter()
            .map(|s| (s.0, s.1))
            .collect::<Vec<_>>(),
        vec![(Rule::PermissionNewlyPartial.id(), Severity::Warning)]
    );
    // Losing less, or the same, is no drift.
    assert_eq!(
        one(
            partial(&["$.address", "$.email"], Some((1, 5))),
            partial(&["$.email"], Some((2, 5)))
        ),
        vec![]
    );
}

#[test]
fn newly_granted_is_info() {
    assert_eq!(
        summary(&one(denied(404, "404", None), granted())),
        vec![(
            Rule::PermissionNewlyGranted.id(),
            Severity::Info,
            BASIC,
            "scope set `basic` now got the full data from `profile`; it was denied with 404 before"
        )]
    );
    assert_eq!(
        summary(&one(partial(&["$.email"], None), granted())),
        vec![(
            Rule::PermissionNewlyGranted.id(),
            Severity::Info,
            BASIC,
            "scope set `basic` now got the full data from `profile`; it got partial data (missing `$.email`) before"
        )]
    );
    assert_eq!(
        summary(&one(denied(404, "404", None), partial(&["$.email"], None))),
        vec![(
            Rule::PermissionNewlyGranted.id(),
            Severity::Info,
            BASIC,
            "scope set `basic` now got partial data (missing `$.email`) from `profile`; it was denied with 404 before"
        )]
    );
}

#[test]
fn denial_signal_or_code_changes_are_warnings() {
    assert_eq!(
        summary(&one(
            denied(403, "403-insufficient-scope", None),
            denied(404, "404", Some("object_not_found"))
        )),
        vec![(
            Rule::PermissionDenialSignalChanged.id(),
            Severity::Warning,
            BASIC,
            "`profile` now denies scope set `basic` with 404 (object_not_found) instead of 403-insufficient-scope"
        )]
    );
    let code_only = one(
        denied(400, "400", Some("4711")),
        denied(400, "400", Some("4700")),
    );
    assert_eq!(code_only.len(), 1);
    assert_eq!(code_only[0].rule, Rule::PermissionDenialSignalChanged.id());
    // The status alone (same signal, same code) is not a signal change.
    assert_eq!(
        one(
            denied(200, "200-error-envelope", None),
            denied(201, "200-error-envelope", None)
        ),
        vec![]
    );
}

#[test]
fn an_error_cell_is_never_newly_denied() {
    for before in [granted(), partial(&["$.x"], None), denied(404, "404", None)] {
        let drifts = one(before, error());
        assert_eq!(
            summary(&drifts),
            vec![(
                Rule::PermissionError.id(),
                Severity::Warning,
                BASIC,
                "scope set `basic` could not be checked against `profile`: it failed without an answer"
            )]
        );
    }
    // Recovering from an error, or erring twice, has no rule.
    assert_eq!(one(error(), denied(404, "404", None)), vec![]);
    assert_eq!(one(error(), error()), vec![]);
}

#[test]
fn scope_sets_added_removed_and_downscoping_changed() {
    let before = obs(json!({"basic": granted(), "old": granted()}), "honoured");
    let after = obs(
        json!({"basic": granted(), "new": denied(404, "404", None)}),
        "ignored",
    );
    let drifts = diff_observations(&before, &after);
    assert_eq!(
        summary(&drifts),
        vec![
            (
                Rule::PermissionDownscopingChanged.id(),
                Severity::Warning,
                None,
                "down-scoping on refresh for `profile` is now `ignored` instead of `honoured`"
            ),
            (
                Rule::PermissionScopeSetAdded.id(),
                Severity::Info,
                Some("new"),
                "scope set `new` was probed against `profile` for the first time"
            ),
            (
                Rule::PermissionScopeSetRemoved.id(),
                Severity::Info,
                Some("old"),
                "scope set `old` was not probed against `profile` in this run"
            ),
        ]
    );
    assert_eq!(drifts[0].before, Some(json!("honoured")));
    assert_eq!(drifts[0].after, Some(json!("ignored")));
}

#[test]
fn drifts_are_sorted_by_rule_then_scope_set() {
    let before = obs(
        json!({"b": granted(), "a": granted(), "c": denied(404, "404", None)}),
        "unknown",
    );
    let after = obs(
        json!({"b": denied(404, "404", None), "a": denied(404, "404", None), "c": granted()}),
        "unknown",
    );
    let drifts = diff_observations(&before, &after);
    let keys: Vec<(&str, Option<&str>)> = drifts
        .iter()
        .map(|d| (d.rule.as_str(), d.path.as_deref()))
        .collect();
    assert_eq!(
        keys,
        vec![
            (Rule::PermissionNewlyDenied.id(), Some("a")),
            (Rule::PermissionNewlyDenied.id(), Some("b")),
            (Rule::PermissionNewlyGranted.id(), Some("c")),
        ]
    );
}

#[test]
fn unreadable_observations_are_reported() {
    let good = obs(json!({"basic": granted()}), "unknown");
    let no_cells = Observation {
        key: good.key.clone(),
        body: json!({"downscoping": "unknown"}),
    };
    assert_eq!(
        summary(&diff_observations(&no_cells, &good)),
        vec![(
            Rule::PermissionObservationUnreadable.id(),
            Severity::Warning,
            None,
            "the baseline permissions observation is unreadable: missing field `cells`"
        )]
    );
    let bad_cell = obs(json!({"basic": {"class": "maybe"}}), "unknown");
    let drifts = diff_observations(&good, &bad_cell);
    assert_eq!(
        summary(&drifts)
            .iter()
            .map(|s| (s.0, s.2))
            .collect::<Vec<_>>(),
        vec![(Rule::PermissionObservationUnreadable.id(), BASIC)]
    );
}
