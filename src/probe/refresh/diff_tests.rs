//! Exact-result tests of the refresh diff rules, through `diff_observations`.

use crate::baseline::diff_observations;
use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::refresh::{Classification, RefreshClass, RefreshTrace, observe};
use crate::rules::Rule;
use serde_json::json;

fn trace() -> RefreshTrace {
    RefreshTrace {
        connection: "alice".to_owned(),
        disposable: true,
        steps: vec![],
        had_refresh_token: true,
        documented: None,
    }
}

fn class(class: RefreshClass) -> Classification {
    Classification {
        class,
        grace_window_ms: None,
        issues_refresh_tokens: true,
        access_token_lifetime_s: Some(3600),
        refresh_token_lifetime_s: Some(5_184_000),
    }
}

fn obs(c: &Classification) -> Observation {
    observe("demo", &trace(), c)
}

fn diff(before: &Classification, after: &Classification) -> Vec<Drift> {
    diff_observations(&obs(before), &obs(after))
}

/// (rule, path, severity) of each drift, in output order.
fn summary(drifts: &[Drift]) -> Vec<(&str, Option<&str>, Severity)> {
    drifts
        .iter()
        .map(|d| (d.rule.as_str(), d.path.as_deref(), d.severity))
        .collect()
}

fn class_change(before: RefreshClass, after: RefreshClass) -> Vec<(String, Severity)> {
    diff(&class(before), &class(after))
        .into_iter()
        .map(|d| (d.rule.to_string(), d.severity))
        .collect()
}

fn changed(severity: Severity) -> Vec<(String, Severity)> {
    vec![(Rule::RefreshClassChanged.id().to_owned(), severity)]
}

#[test]
fn identical_observations_have_no_drift() {
    let mut grace = class(RefreshClass::RotatingGrace);
    grace.grace_window_ms = Some((1_500_000, 1_860_000));
    for c in [
        grace,
        class(RefreshClass::NoRefresh),
        class(RefreshClass::Unknown),
    ] {
        assert_eq!(diff(&c, &c), vec![]);
    }
}

#[test]
fn class_changed_to_one_time_is_breaking() {
    let d = diff(
        &class(RefreshClass::RotatingOldValid),
        &class(RefreshClass::RotatingOneTime),
    );
    assert_eq!(
        d,
        vec![Drift {
            rule: Rule::RefreshClassChanged.emit(Severity::Breaking),
            severity: Severity::Breaking,
            provider: "demo".to_owned(),
            probe: ProbeKind::Refresh,
            subject: "refresh".to_owned(),
            path: Some("$.class".to_owned()),
            connections: vec!["alice".to_owned()],
            message: "connection `alice`: refresh tokens now behave as `rotating-one-time` \
                      instead of `rotating-old-valid`"
                .to_owned(),
            before: Some(json!("rotating-old-valid")),
            after: Some(json!("rotating-one-time")),
            exchanges: vec![],
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        }]
    );
}

#[test]
fn class_changed_to_a_restrictive_class_is_breaking() {
    use RefreshClass::*;
    assert_eq!(
        class_change(NonRotating, RotatingReuseRevokesGrant),
        changed(Severity::Breaking)
    );
    assert_eq!(
        class_change(RotatingGrace, RotatingOneTime),
        changed(Severity::Breaking)
    );
    assert_eq!(
        class_change(NonRotating, NoRefresh),
        changed(Severity::Breaking)
    );
    assert_eq!(
        class_change(LazyRotation, RotatingOneTime),
        changed(Severity::Breaking)
    );
}

#[test]
fn class_changed_elsewhere_is_a_warning() {
    use RefreshClass::*;
    assert_eq!(
        class_change(NonRotating, Rotating),
        changed(Severity::Warning)
    );
    assert_eq!(
        class_change(RotatingOneTime, RotatingOldValid),
        changed(Severity::Warning)
    );
    assert_eq!(
        class_change(RotatingOldValid, RotatingGrace),
        changed(Severity::Warning)
    );
    assert_eq!(
        class_change(Rotating, LazyRotation),
        changed(Severity::Warning)
    );
    assert_eq!(
        class_change(NoRefresh, NonRotating),
        changed(Severity::Warning)
    );
    // Revocation on reuse relaxing to plain one-time use loosens the rules.
    assert_eq!(
        class_change(RotatingReuseRevokesGrant, RotatingOneTime),
        changed(Severity::Warning)
    );
}

#[test]
fn passive_rotating_agrees_with_active_rotating_classes() {
    use RefreshClass::*;
    for active in [
        RotatingOldValid,
        RotatingGrace,
        RotatingOneTime,
        RotatingReuseRevokesGrant,
    ] {
        assert_eq!(class_change(active, Rotating), vec![]);
        assert_eq!(class_change(Rotating, active), vec![]);
    }
    assert_eq!(
        class_change(Rotating, NonRotating),
        changed(Severity::Warning)
    );
}

#[test]
fn stopped_issuing_is_breaking_and_says_when_the_connection_dies() {
    let before = class(RefreshClass::Rotating);
    let mut after = class(RefreshClass::NonRotating);
    after.issues_refresh_tokens = false;
    after.refresh_token_lifetime_s = Some(1_209_600);
    let d = diff(&before, &after);
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::RefreshClassChanged.id(),
                Some("$.class"),
                Severity::Warning
            ),
            (
                Rule::RefreshLifetimeChanged.id(),
                Some("$.refresh_token_lifetime_s"),
                Severity::Warning
            ),
            (
                Rule::RefreshStoppedIssuing.id(),
                Some("$.issues_refresh_tokens"),
                Severity::Breaking
            ),
        ]
    );
    let stopped = &d[2];
    assert_eq!(
        stopped.message,
        "connection `alice`: refresh answers no longer carry a refresh token; the connection \
         dies when its current refresh token expires"
    );
    assert_eq!(stopped.before, Some(json!({"issues_refresh_tokens": true})));
    assert_eq!(stopped.after, Some(json!({"dies_in_s": 1_209_600})));
}

#[test]
fn stopped_issuing_without_a_known_lifetime_has_no_deadline() {
    let before = class(RefreshClass::RotatingOneTime);
    let mut after = before.clone();
    after.issues_refresh_tokens = false;
    after.refresh_token_lifetime_s = None;
    let d = diff(&before, &after);
    assert_eq!(
        summary(&d),
        vec![(
            Rule::RefreshStoppedIssuing.id(),
            Some("$.issues_refresh_tokens"),
            Severity::Breaking
        )]
    );
    assert_eq!(d[0].after, None);
}

#[test]
fn stopped_sending_back_a_non_rotating_token_is_a_warning() {
    let before = class(RefreshClass::NonRotating);
    let mut after = before.clone();
    after.issues_refresh_tokens = false;
    assert_eq!(
        summary(&diff(&before, &after)),
        vec![(
            Rule::RefreshStoppedIssuing.id(),
            Some("$.issues_refresh_tokens"),
            Severity::Warning
        )]
    );
}

#[test]
fn started_issuing_is_info() {
    let mut before = class(RefreshClass::NonRotating);
    before.issues_refresh_tokens = false;
    let after = class(RefreshClass::NonRotating);
    let d = diff(&before, &after);
    assert_eq!(
        summary(&d),
        vec![(
            Rule::RefreshStartedIssuing.id(),
            Some("$.issues_refresh_tokens"),
            Severity::Info
        )]
    );
    assert_eq!(
        d[0].message,
        "connection `alice`: refresh answers now carry a refresh token"
    );
}

/// The observation with exact values, past `observe`'s rounding, to pin the diff's own tolerance.
fn exact(c: &Classification) -> Observation {
    Observation {
        body: serde_json::to_value(c).unwrap_or_default(),
        ..obs(c)
    }
}

#[test]
fn lifetime_within_two_percent_is_not_a_change() {
    let before = class(RefreshClass::NonRotating);
    let mut after = before.clone();
    // 3600 → 3672 is exactly +2%; 5_184_000 → 5_080_320 is exactly −2%.
    after.access_token_lifetime_s = Some(3672);
    after.refresh_token_lifetime_s = Some(5_080_320);
    assert_eq!(diff_observations(&exact(&before), &exact(&after)), vec![]);
    after.access_token_lifetime_s = Some(3673);
    after.refresh_token_lifetime_s = Some(5_080_319);
    assert_eq!(
        summary(&diff_observations(&exact(&before), &exact(&after))),
        vec![
            (
                Rule::RefreshLifetimeChanged.id(),
                Some("$.access_token_lifetime_s"),
                Severity::Warning
            ),
            (
                Rule::RefreshLifetimeChanged.id(),
                Some("$.refresh_token_lifetime_s"),
                Severity::Warning
            ),
        ]
    );
}

#[test]
fn countdown_and_off_by_one_lifetimes_are_not_a_change() {
    let before = class(RefreshClass::NonRotating);
    let mut after = before.clone();
    after.access_token_lifetime_s = Some(3599);
    after.refresh_token_lifetime_s = Some(5_100_000);
    assert_eq!(diff(&before, &after), vec![]);
}

#[test]
fn lifetime_beyond_two_percent_is_a_warning() {
    let before = class(RefreshClass::NonRotating);
    let mut after = before.clone();
    after.access_token_lifetime_s = Some(1800);
    after.refresh_token_lifetime_s = Some(4_924_800);
    let d = diff(&before, &after);
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::RefreshLifetimeChanged.id(),
                Some("$.access_token_lifetime_s"),
                Severity::Warning
            ),
            (
                Rule::RefreshLifetimeChanged.id(),
                Some("$.refresh_token_lifetime_s"),
                Severity::Warning
            ),
        ]
    );
    assert_eq!(
        d[0].message,
        "connection `alice`: the access token lifetime is now 1800 s instead of 3600 s"
    );
    assert_eq!(
        (d[0].before.clone(), d[0].after.clone()),
        (Some(json!(3600)), Some(json!(1800)))
    );
    assert_eq!(
        d[1].message,
        "connection `alice`: the refresh token lifetime is now 4924800 s instead of 5184000 s"
    );
}

#[test]
fn lifetime_seen_on_one_side_only_is_not_a_lifetime_change() {
    let before = class(RefreshClass::NonRotating);
    let mut after = before.clone();
    after.refresh_token_lifetime_s = None;
    assert_eq!(diff(&before, &after), vec![]);
}

fn grace(ok: u64, fail: u64) -> Classification {
    Classification {
        grace_window_ms: Some((ok, fail)),
        ..class(RefreshClass::RotatingGrace)
    }
}

#[test]
fn grace_within_twenty_percent_is_not_a_change() {
    assert_eq!(
        diff(&grace(1_500_000, 1_860_000), &grace(1_800_000, 2_220_000)),
        vec![]
    );
}

#[test]
fn grace_moved_beyond_twenty_percent_is_a_warning() {
    let d = diff(&grace(1_500_000, 1_860_000), &grace(60_000, 300_000));
    assert_eq!(
        summary(&d),
        vec![(
            Rule::RefreshGraceChanged.id(),
            Some("$.grace_window_ms"),
            Severity::Warning
        )]
    );
    assert_eq!(
        d[0].message,
        "connection `alice`: an old refresh token now stops working between 60000 ms and \
         300000 ms after rotation instead of between 1500000 ms and 1860000 ms"
    );
    assert_eq!(d[0].before, Some(json!([1_500_000, 1_860_000])));
    assert_eq!(d[0].after, Some(json!([60_000, 300_000])));
    // One bound is enough.
    assert_eq!(
        summary(&diff(
            &grace(1_500_000, 1_860_000),
            &grace(1_500_000, 3_600_000)
        ))
        .len(),
        1
    );
}

#[test]
fn unreadable_observation_is_reported() {
    let good = obs(&class(RefreshClass::NonRotating));
    let bad = Observation {
        key: good.key.clone(),
        body: json!({"class": "sometimes"}),
    };
    let d = diff_observations(&bad, &good);
    assert_eq!(
        summary(&d),
        vec![(
            Rule::RefreshObservationUnreadable.id(),
            None,
            Severity::Warning
        )]
    );
    assert!(
        d[0].message
            .starts_with("the baseline refresh observation is unreadable: ")
    );
}

#[test]
fn drifts_name_the_connection_of_the_key() {
    let key = ObservationKey {
        provider: "demo".to_owned(),
        probe: ProbeKind::Refresh,
        subject: "refresh".to_owned(),
        connection: Some("bob".to_owned()),
    };
    let with = |c: &Classification| Observation {
        key: key.clone(),
        body: obs(c).body,
    };
    let d = diff_observations(
        &with(&class(RefreshClass::NonRotating)),
        &with(&class(RefreshClass::NoRefresh)),
    );
    assert_eq!(d[0].connections, vec!["bob".to_owned()]);
    assert!(d[0].message.starts_with("connection `bob`: "));
}

/// `refresh.lifetime-changed` needs a move of more than 2 % *and* more than 5 s (issue 13):
/// server rounding of short lifetimes (29 vs 30 s) and countdowns (3599 vs 3600) are no drift.
#[test]
fn refresh_lifetime_changed_needs_more_than_2_percent_and_more_than_5_s() {
    let before = class(RefreshClass::NonRotating);
    let access = |b: u64, a: u64| {
        let mut x = before.clone();
        x.access_token_lifetime_s = Some(b);
        let mut y = before.clone();
        y.access_token_lifetime_s = Some(a);
        summary(&diff_observations(&exact(&x), &exact(&y)))
            .into_iter()
            .map(|(rule, path, severity)| (rule.to_owned(), path.map(str::to_owned), severity))
            .collect::<Vec<_>>()
    };
    let drift = vec![(
        Rule::RefreshLifetimeChanged.id().to_owned(),
        Some("$.access_token_lifetime_s".to_owned()),
        Severity::Warning,
    )];
    // More than 2 % but not more than 5 s.
    assert_eq!(access(30, 29), vec![]);
    assert_eq!(access(29, 30), vec![]);
    assert_eq!(access(100, 105), vec![]);
    assert_eq!(access(100, 95), vec![]);
    // More than 5 s but not more than 2 %.
    assert_eq!(access(3600, 3599), vec![]);
    assert_eq!(access(3600, 3672), vec![]);
    assert_eq!(access(1000, 1020), vec![]);
    // Both.
    assert_eq!(access(100, 106), drift);
    assert_eq!(access(30, 60), drift);
    assert_eq!(access(1000, 1021), drift);
    assert_eq!(access(3600, 1800), drift);
    // The refresh token lifetime follows the same rule.
    let mut x = before.clone();
    x.refresh_token_lifetime_s = Some(30);
    let mut y = before.clone();
    y.refresh_token_lifetime_s = Some(29);
    assert_eq!(diff_observations(&exact(&x), &exact(&y)), vec![]);
    y.refresh_token_lifetime_s = Some(20);
    assert_eq!(
        summary(&diff_observations(&exact(&x), &exact(&y))),
        vec![(
            Rule::RefreshLifetimeChanged.id(),
            Some("$.refresh_token_lifetime_s"),
            Severity::Warning
        )]
    );
}

/// `refresh.class-changed` → `unknown` never: `unknown` means no refresh succeeded this run,
/// which says nothing about how refresh tokens behave (the connection state reports it).
#[test]
fn refresh_class_changed_never_to_unknown() {
    use RefreshClass::*;
    for before in [NonRotating, RotatingOneTime, Rotating, NoRefresh] {
        assert_eq!(class_change(before, Unknown), vec![], "{before:?}");
    }
    // A rotating baseline and an `unknown` run (issues_refresh_tokens false): no stopped-issuing.
    let mut after = class(Unknown);
    after.issues_refresh_tokens = false;
    assert_eq!(diff(&class(RotatingOneTime), &after), vec![]);
}
