//! Exact-result tests of the deprecation diff rules, through `diff_observations`.

use crate::baseline::diff_observations;
use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::deprecation::{observe, parse};
use crate::rules::Rule;
use serde_json::{Value, json};

fn obs(headers: &[(&str, &str)]) -> Observation {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    observe(
        "demo",
        "orders",
        &[parse(&headers, &["X-Api-Warn".to_owned()])],
    )
}

fn diff(before: &[(&str, &str)], after: &[(&str, &str)]) -> Vec<Drift> {
    diff_observations(&obs(before), &obs(after))
}

/// (rule, path, severity, message) of each drift, in output order.
fn summary(drifts: &[Drift]) -> Vec<(&str, &str, Severity, &str)> {
    drifts
        .iter()
        .map(|d| {
            (
                d.rule.as_str(),
                d.path.as_deref().unwrap_or(""),
                d.severity,
                d.message.as_str(),
            )
        })
        .collect()
}

const DEP: (&str, &str) = ("Deprecation", "@1688169599");
const SUNSET: (&str, &str) = ("Sunset", "Tue, 30 Jun 2026 23:59:59 GMT");

#[test]
fn identical_observations_have_no_drift() {
    let all = [
        DEP,
        SUNSET,
        ("Link", "<https://d.example/dep>; rel=deprecation"),
        ("Warning", "299 - \"old\""),
        ("X-Api-Warn", "v1"),
    ];
    assert_eq!(diff(&all, &all), vec![]);
    assert_eq!(diff(&[], &[]), vec![]);
}

#[test]
fn deprecation_announced_is_breaking() {
    let d = diff(&[], &[DEP]);
    assert_eq!(
        d,
        vec![Drift {
            rule: Rule::DeprecationAnnounced.emit(Severity::Breaking),
            severity: Severity::Breaking,
            provider: "demo".to_owned(),
            probe: ProbeKind::Deprecation,
            subject: "orders".to_owned(),
            path: Some("$.deprecated".to_owned()),
            connections: vec![],
            message: "`orders` is now deprecated (dated 2023-06-30T23:59:59Z)".to_owned(),
            before: None,
            after: Some(json!("2023-06-30T23:59:59Z")),
            exchanges: vec![],
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        }]
    );
    assert_eq!(
        summary(&diff(&[], &[("Deprecation", "true")])),
        vec![(
            Rule::DeprecationAnnounced.id(),
            "$.deprecated",
            Severity::Breaking,
            "`orders` is now deprecated (no date given)"
        )]
    );
}

#[test]
fn sunset_appearing_is_announced() {
    assert_eq!(
        summary(&diff(&[DEP], &[DEP, SUNSET])),
        vec![(
            Rule::DeprecationAnnounced.id(),
            "$.sunset",
            Severity::Breaking,
            "`orders` now has a sunset date: 2026-06-30T23:59:59Z"
        )]
    );
}

#[test]
fn sunset_moved_earlier_is_breaking_later_is_warning() {
    let earlier = ("Sunset", "Mon, 01 Jun 2026 00:00:00 GMT");
    assert_eq!(
        summary(&diff(&[SUNSET], &[earlier])),
        vec![(
            Rule::DeprecationSunsetMoved.id(),
            "$.sunset",
            Severity::Breaking,
            "`orders`: the sunset moved earlier, to 2026-06-01T00:00:00Z from 2026-06-30T23:59:59Z"
        )]
    );
    assert_eq!(
        summary(&diff(&[earlier], &[SUNSET])),
        vec![(
            Rule::DeprecationSunsetMoved.id(),
            "$.sunset",
            Severity::Warning,
            "`orders`: the sunset moved later, to 2026-06-30T23:59:59Z from 2026-06-01T00:00:00Z"
        )]
    );
}

#[test]
fn withdrawn_deprecation_and_sunset_are_info() {
    assert_eq!(
        summary(&diff(&[DEP, SUNSET], &[])),
        vec![
            (
                Rule::DeprecationWithdrawn.id(),
                "$.deprecated",
                Severity::Info,
                "`orders` is no longer marked deprecated (was dated 2023-06-30T23:59:59Z)"
            ),
            (
                Rule::DeprecationWithdrawn.id(),
                "$.sunset",
                Severity::Info,
                "`orders` no longer announces a sunset (was 2026-06-30T23:59:59Z)"
            ),
        ]
    );
}

#[test]
fn deprecation_date_changed_is_info() {
    assert_eq!(
        summary(&diff(&[("Deprecation", "true")], &[DEP])),
        vec![(
            Rule::DeprecationDateChanged.id(),
            "$.deprecated",
            Severity::Info,
            "`orders`: the deprecation is now dated 2023-06-30T23:59:59Z instead of no date given"
        )]
    );
}

#[test]
fn link_changed_names_added_and_removed_links() {
    let d = diff(
        &[("Link", "<https://d.example/old>; rel=deprecation")],
        &[(
            "Link",
            "<https://d.example/new>; rel=deprecation, <https://d.example/s>; rel=sunset",
        )],
    );
    assert_eq!(
        summary(&d),
        vec![(
            Rule::DeprecationLinkChanged.id(),
            "$.links",
            Severity::Info,
            "`orders`: deprecation links changed: added `deprecation <https://d.example/new>`, \
             `sunset <https://d.example/s>`; removed `deprecation <https://d.example/old>`"
        )]
    );
    assert_eq!(
        d[0].before,
        Some(json!([{"rel": "deprecation", "uri": "https://d.example/old"}]))
    );
}

#[test]
fn warnings_added_and_removed() {
    let d = diff(
        &[("Warning", "299 - \"a\", 299 - \"b\"")],
        &[("Warning", "299 - \"b\", 299 - \"c\"")],
    );
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::DeprecationWarningAdded.id(),
                "$.warnings",
                Severity::Warning,
                "`orders` now answers with `Warning: 299` \"c\""
            ),
            (
                Rule::DeprecationWarningRemoved.id(),
                "$.warnings",
                Severity::Info,
                "`orders` no longer answers with `Warning: 299` \"a\""
            ),
        ]
    );
    assert_eq!(d[0].after, Some(json!(["c"])));
    assert_eq!(d[1].before, Some(json!(["a"])));
}

#[test]
fn vendor_headers_count_as_warnings() {
    assert_eq!(
        summary(&diff(&[], &[("x-api-warn", "v1 ends")])),
        vec![(
            Rule::DeprecationWarningAdded.id(),
            "$.vendor['X-Api-Warn']",
            Severity::Warning,
            "`orders` now answers with `X-Api-Warn: v1 ends`"
        )]
    );
    assert_eq!(
        summary(&diff(&[("X-Api-Warn", "a")], &[("X-Api-Warn", "b")])),
        vec![(
            Rule::DeprecationWarningAdded.id(),
            "$.vendor['X-Api-Warn']",
            Severity::Warning,
            "`orders` now answers with `X-Api-Warn: b` instead of `a`"
        )]
    );
    assert_eq!(
        summary(&diff(&[("X-Api-Warn", "a")], &[])),
        vec![(
            Rule::DeprecationWarningRemoved.id(),
            "$.vendor['X-Api-Warn']",
            Severity::Info,
            "`orders` no longer answers with `X-Api-Warn` (was `a`)"
        )]
    );
}

#[test]
fn unreadable_body_is_reported() {
    let key = ObservationKey {
        provider: "demo".to_owned(),
        probe: ProbeKind::Deprecation,
        subject: "orders".to_owned(),
        connection: None,
    };
    let bad = Observation {
        key,
        body: Value::Null,
    };
    assert_eq!(
        summary(&diff_observations(&bad, &obs(&[]))),
        vec![(
            Rule::DeprecationObservationUnreadable.id(),
            "",
            Severity::Warning,
            "the baseline deprecation observation is unreadable: invalid type: null, expected struct DeprecationBody"
        )]
    );
}

/// One verdict per fact (issue 13): a new `Warning: 299` or vendor deprecation header is the
/// drift `deprecation.warning-added`; the same run's findings do not repeat the header.
#[test]
fn deprecation_warning_added_is_one_verdict_not_a_drift_and_a_vendor_warning() {
    let header = [
        ("Warning", "299 - \"this endpoint is deprecated\""),
        ("X-Api-Warn", "v1 is deprecated"),
    ];
    let mut verdicts: Vec<(&str, String, Option<String>)> = diff(&[], &header)
        .into_iter()
        .map(|d| ("drift", d.rule.to_string(), d.path))
        .collect();
    let headers: Vec<(String, String)> = header
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    let signals = parse(&headers, &["X-Api-Warn".to_owned()]);
    let now = chrono::Utc::now();
    verdicts.extend(
        crate::probe::deprecation::findings("demo", "orders", &[signals], now)
            .into_iter()
            .map(|d| ("finding", d.rule.to_string(), d.path)),
    );
    assert_eq!(
        verdicts,
        vec![
            (
                "drift",
                Rule::DeprecationWarningAdded.id().to_owned(),
                Some("$.vendor['X-Api-Warn']".to_owned())
            ),
            (
                "drift",
                Rule::DeprecationWarningAdded.id().to_owned(),
                Some("$.warnings".to_owned())
            ),
        ]
    );
}
