//! Exact-result tests of the refresh classifier, its observation and its findings. Traces
//! mirror the providers in oauth-facts.md.

use super::*;
use serde_json::Value;

const MINUTE: u64 = 60_000;

/// A successful refresh answer.
fn refresh(at_ms: u64, returned: bool, rotated: bool) -> RefreshStep {
    RefreshStep {
        kind: StepKind::Refresh,
        at_ms,
        ok: true,
        error: None,
        returned_refresh_token: returned,
        rotated,
        expires_in: Some(3599),
        refresh_token_expires_in: None,
    }
}

fn failed(kind: StepKind, at_ms: u64, error: &str) -> RefreshStep {
    RefreshStep {
        kind,
        at_ms,
        ok: false,
        error: Some(error.to_owned()),
        returned_refresh_token: false,
        rotated: false,
        expires_in: None,
        refresh_token_expires_in: None,
    }
}

/// A replay of the old token that worked (and, like Microsoft, rotated again).
fn replay_ok(at_ms: u64) -> RefreshStep {
    RefreshStep {
        kind: StepKind::ReplayOld,
        ..refresh(at_ms, true, true)
    }
}

fn replay_failed(at_ms: u64) -> RefreshStep {
    failed(StepKind::ReplayOld, at_ms, "invalid_grant")
}

fn check_newest(at_ms: u64, ok: bool) -> RefreshStep {
    if ok {
        RefreshStep {
            kind: StepKind::CheckNewest,
            ..refresh(at_ms, true, true)
        }
    } else {
        failed(StepKind::CheckNewest, at_ms, "invalid_grant")
    }
}

fn trace(steps: Vec<RefreshStep>) -> RefreshTrace {
    RefreshTrace {
        connection: "alice".to_owned(),
        disposable: true,
        steps,
        had_refresh_token: true,
        documented: None,
    }
}

fn documented(mut t: RefreshTrace, doc: &str) -> RefreshTrace {
    t.documented = Some(doc.to_owned());
    t
}

fn class(t: &RefreshTrace) -> RefreshClass {
    classify(t).class
}

fn google() -> RefreshTrace {
    RefreshTrace {
        disposable: false,
        ..trace(vec![refresh(0, false, false), refresh(1_000, false, false)])
    }
}

fn microsoft() -> RefreshTrace {
    trace(vec![
        refresh(0, true, true),
        replay_ok(1_000),
        replay_ok(MINUTE),
        replay_ok(31 * MINUTE),
        check_newest(31 * MINUTE + 1_000, true),
    ])
}

fn xero() -> RefreshTrace {
    trace(vec![
        refresh(0, true, true),
        replay_ok(1_000),
        replay_ok(25 * MINUTE),
        replay_failed(31 * MINUTE),
        replay_failed(40 * MINUTE),
        check_newest(40 * MINUTE + 1_000, true),
    ])
}

fn auth0_reuse_detection() -> RefreshTrace {
    trace(vec![
        refresh(0, true, true),
        replay_failed(1_000),
        check_newest(2_000, false),
    ])
}

fn box_one_time() -> RefreshTrace {
    let mut first = refresh(0, true, true);
    first.refresh_token_expires_in = Some(5_184_000);
    trace(vec![first, replay_failed(1_000), check_newest(2_000, true)])
}

fn intuit_lazy() -> RefreshTrace {
    let mut steps = vec![refresh(0, true, true), refresh(1_000, true, false)];
    steps[0].refresh_token_expires_in = Some(8_726_400);
    steps[1].refresh_token_expires_in = Some(8_726_399);
    RefreshTrace {
        disposable: false,
        ..trace(steps)
    }
}

fn github_oauth_app() -> RefreshTrace {
    RefreshTrace {
        had_refresh_token: false,
        disposable: false,
        ..trace(vec![])
    }
}

#[test]
fn google_never_rotates() {
    assert_eq!(
        classify(&google()),
        Classification {
            class: RefreshClass::NonRotating,
            grace_window_ms: None,
            issues_refresh_tokens: false,
            access_token_lifetime_s: Some(3599),
            refresh_token_lifetime_s: None,
        }
    );
}

#[test]
fn same_value_returned_is_non_rotating_and_issuing() {
    let c = classify(&trace(vec![refresh(0, true, false)]));
    assert_eq!(
        (c.class, c.issues_refresh_tokens),
        (RefreshClass::NonRotating, true)
    );
}

#[test]
fn microsoft_keeps_old_tokens_valid() {
    assert_eq!(class(&microsoft()), RefreshClass::RotatingOldValid);
    assert_eq!(classify(&microsoft()).grace_window_ms, None);
}

#[test]
fn xero_has_a_grace_window() {
    assert_eq!(
        classify(&xero()),
        Classification {
            class: RefreshClass::RotatingGrace,
            grace_window_ms: Some((25 * MINUTE, 31 * MINUTE)),
            issues_refresh_tokens: true,
            access_token_lifetime_s: Some(3599),
            refresh_token_lifetime_s: None,
        }
    );
}

#[test]
fn grace_window_is_timed_from_the_rotation() {
    let t = trace(vec![
        refresh(0, false, false),
        refresh(5_000, true, true),
        replay_ok(6_000),
        replay_failed(65_000),
    ]);
    // Mixed rotation wins over the replays.
    assert_eq!(class(&t), RefreshClass::LazyRotation);
    let t = trace(vec![
        refresh(5_000, true, true),
        replay_ok(6_000),
        replay_failed(65_000),
    ]);
    assert_eq!(classify(&t).grace_window_ms, Some((1_000, MINUTE)));
}

#[test]
fn auth0_reuse_revokes_the_grant() {
    assert_eq!(
        class(&auth0_reuse_detection()),
        RefreshClass::RotatingReuseRevokesGrant
    );
}

#[test]
fn box_tokens_are_one_time_use() {
    assert_eq!(
        classify(&box_one_time()),
        Classification {
            class: RefreshClass::RotatingOneTime,
            grace_window_ms: None,
            issues_refresh_tokens: true,
            access_token_lifetime_s: Some(3599),
            // The check's answer declared none; the latest successful answer counts.
            refresh_token_lifetime_s: None,
        }
    );
}

#[test]
fn lifetimes_come_from_the_latest_successful_answer() {
    let c = classify(&intuit_lazy());
    assert_eq!(c.refresh_token_lifetime_s, Some(8_726_399));
    let mut t = intuit_lazy();
    t.steps
        .push(failed(StepKind::Refresh, 2_000, "server_error"));
    assert_eq!(classify(&t).refresh_token_lifetime_s, Some(8_726_399));
}

#[test]
fn intuit_rotates_lazily() {
    assert_eq!(class(&intuit_lazy()), RefreshClass::LazyRotation);
}

#[test]
fn lazy_rotation_wins_even_when_active() {
    let t = trace(vec![
        refresh(0, true, true),
        refresh(1_000, true, false),
        replay_failed(2_000),
        check_newest(3_000, true),
    ]);
    assert_eq!(class(&t), RefreshClass::LazyRotation);
}

#[test]
fn github_oauth_app_has_no_refresh() {
    assert_eq!(
        classify(&github_oauth_app()),
        Classification {
            class: RefreshClass::NoRefresh,
            grace_window_ms: None,
            issues_refresh_tokens: false,
            access_token_lifetime_s: None,
            refresh_token_lifetime_s: None,
        }
    );
}

#[test]
fn unsupported_grant_type_is_no_refresh() {
    let t = trace(vec![failed(StepKind::Refresh, 0, "unsupported_grant_type")]);
    assert_eq!(class(&t), RefreshClass::NoRefresh);
}

#[test]
fn passive_rotation_is_rotating() {
    let t = RefreshTrace {
        disposable: false,
        ..trace(vec![refresh(0, true, true), refresh(1_000, true, true)])
    };
    assert_eq!(class(&t), RefreshClass::Rotating);
}

#[test]
fn first_replay_failed_without_a_check_is_rotating() {
    let t = trace(vec![refresh(0, true, true), replay_failed(1_000)]);
    assert_eq!(class(&t), RefreshClass::Rotating);
}

#[test]
fn no_successful_refresh_is_unknown() {
    let t = trace(vec![failed(StepKind::Refresh, 0, "invalid_grant")]);
    assert_eq!(class(&t), RefreshClass::Unknown);
    assert_eq!(class(&trace(vec![])), RefreshClass::Unknown);
}

#[test]
fn classes_serialise_kebab_case() {
    let all = [
        (RefreshClass::NoRefresh, "no-refresh"),
        (RefreshClass::NonRotating, "non-rotating"),
        (RefreshClass::RotatingOldValid, "rotating-old-valid"),
        (RefreshClass::RotatingGrace, "rotating-grace"),
        (RefreshClass::RotatingOneTime, "rotating-one-time"),
        (
            RefreshClass::RotatingReuseRevokesGrant,
            "rotating-reuse-revokes-grant",
        ),
        (RefreshClass::LazyRotation, "lazy-rotation"),
        (RefreshClass::Rotating, "rotating"),
        (RefreshClass::Unknown, "unknown"),
    ];
    for (class, name) in all {
        assert_eq!(json!(class), json!(name));
        assert_eq!(class.as_str(), name);
    }
}

#[test]
fn bucket_rounds_to_the_coarsest_close_unit() {
    let s = |v| bucket(v, &SECOND_UNITS, LIFETIME_TOLERANCE_PERMILLE);
    assert_eq!(s(3599), 3600);
    assert_eq!(s(28_800), 28_800);
    assert_eq!(s(8_726_399), 8_726_400);
    assert_eq!(s(1_799), 1_800);
    assert_eq!(s(90), 90);
    assert_eq!(s(7), 7);
    assert_eq!(s(0), 0);
    let ms = |v| bucket(v, &MILLI_UNITS, GRACE_TOLERANCE_PERMILLE);
    assert_eq!(ms(1_860_412), 31 * MINUTE);
    assert_eq!(ms(1_012), 1_000);
    // Rounding near the top of u64 neither overflows nor panics.
    assert_eq!(ms(u64::MAX), 18_446_744_073_708_000_000);
}

#[test]
fn observe_writes_the_rounded_classification() {
    let t = xero();
    let mut c = classify(&t);
    c.refresh_token_lifetime_s = Some(5_183_999);
    let o = observe("xero", &t, &c);
    assert_eq!(
        o.key,
        ObservationKey {
            provider: "xero".to_owned(),
            probe: ProbeKind::Refresh,
            subject: "refresh".to_owned(),
            connection: Some("alice".to_owned()),
        }
    );
    assert_eq!(
        o.body,
        json!({
            "class": "rotating-grace",
            "grace_window_ms": [1_500_000, 1_860_000],
            "issues_refresh_tokens": true,
            "access_token_lifetime_s": 3600,
            "refresh_token_lifetime_s": 5_184_000,
        })
    );
    let github = github_oauth_app();
    assert_eq!(
        observe("github", &github, &classify(&github)).body,
        json!({"class": "no-refresh", "issues_refresh_tokens": false})
    );
}

#[test]
fn observe_is_deterministic_under_jitter() {
    let jittered = |ms: u64, expires: u64| {
        let mut t = xero();
        for s in &mut t.steps {
            if s.at_ms > 0 {
                s.at_ms += ms;
            }
            if s.expires_in.is_some() {
                s.expires_in = Some(expires);
            }
        }
        t
    };
    let a = jittered(0, 3600);
    let b = jittered(734, 3599);
    let oa = observe("xero", &a, &classify(&a));
    let ob = observe("xero", &b, &classify(&b));
    assert_ne!(classify(&a), classify(&b));
    assert_eq!(oa, ob);
    assert_eq!(
        serde_json::to_string(&oa.body).ok(),
        serde_json::to_string(&ob.body).ok()
    );
}

/// (rule, severity) of each finding, in output order.
fn summary(drifts: &[Drift]) -> Vec<(&str, Severity)> {
    drifts
        .iter()
        .map(|d| (d.rule.as_str(), d.severity))
        .collect()
}

fn run(t: &RefreshTrace) -> Vec<Drift> {
    findings("demo", t, &classify(t))
}

#[test]
fn undocumented_refresh_is_a_warning() {
    let t = documented(google(), "none");
    assert_eq!(
        run(&t),
        vec![Drift {
            rule: Rule::RefreshUndocumentedRefresh.emit(Severity::Warning),
            severity: Severity::Warning,
            provider: "demo".to_owned(),
            probe: ProbeKind::Refresh,
            subject: "refresh".to_owned(),
            path: None,
            connections: vec!["alice".to_owned()],
            message: "connection `alice` refreshed its token although the suite documents no \
                      refresh"
                .to_owned(),
            before: Some(json!({"documented": "none"})),
            after: Some(json!({"class": "non-rotating"})),
            exchanges: vec![],
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        }]
    );
}

#[test]
fn documented_none_and_no_refresh_is_only_not_issuing() {
    let t = documented(github_oauth_app(), "none");
    assert_eq!(
        summary(&run(&t)),
        vec![(Rule::RefreshNotIssuing.id(), Severity::Info)]
    );
}

#[test]
fn documented_reusable_but_rotating_is_a_mismatch() {
    let d = run(&documented(box_one_time(), "reusable"));
    assert_eq!(
        summary(&d),
        vec![(Rule::RefreshDocumentedMismatch.id(), Severity::Info)]
    );
    assert_eq!(
        d[0].message,
        "connection `alice`: refresh tokens behave as `rotating-one-time` but the suite \
         documents `reusable`"
    );
    assert_eq!(
        summary(&run(&documented(intuit_lazy(), "reusable"))),
        vec![(Rule::RefreshDocumentedMismatch.id(), Severity::Info)]
    );
}

#[test]
fn documented_rotating_but_non_rotating_is_a_mismatch() {
    assert_eq!(
        summary(&run(&documented(google(), "rotating"))),
        vec![(Rule::RefreshDocumentedMismatch.id(), Severity::Info)]
    );
}

#[test]
fn matching_documentation_has_no_findings() {
    assert_eq!(run(&documented(google(), "reusable")), vec![]);
    assert_eq!(run(&documented(microsoft(), "rotating")), vec![]);
    assert_eq!(run(&documented(intuit_lazy(), "rotating")), vec![]);
    assert_eq!(run(&xero()), vec![]);
}

#[test]
fn no_refresh_token_at_all_is_info() {
    let d = run(&github_oauth_app());
    assert_eq!(
        summary(&d),
        vec![(Rule::RefreshNotIssuing.id(), Severity::Info)]
    );
    assert_eq!(
        d[0].message,
        "no refresh token was issued to connection `alice`, so it needs a new grant whenever \
         its access token expires"
    );
}

#[test]
fn rotation_then_no_token_is_breaking() {
    let t = trace(vec![refresh(0, true, true), refresh(1_000, false, false)]);
    assert_eq!(class(&t), RefreshClass::LazyRotation);
    let d = run(&t);
    assert_eq!(
        summary(&d),
        vec![(Rule::RefreshNotIssuing.id(), Severity::Breaking)]
    );
    assert_eq!(
        d[0].message,
        "a refresh of connection `alice` returned no refresh token although others rotated it; \
         the connection dies when its current refresh token expires"
    );
}

#[test]
fn findings_are_sorted_by_rule() {
    let t = documented(
        trace(vec![refresh(0, true, true), refresh(1_000, false, false)]),
        "none",
    );
    assert_eq!(
        summary(&run(&t)),
        vec![
            (Rule::RefreshNotIssuing.id(), Severity::Breaking),
            (Rule::RefreshUndocumentedRefresh.id(), Severity::Warning),
        ]
    );
}

fn body_of(c: Classification) -> Value {
    observe("xero", &trace(Vec::new()), &c).body
}

fn every_shape_of_body() -> Vec<Value> {
    let full = Classification {
        class: RefreshClass::RotatingGrace,
        grace_window_ms: Some((1000, 3000)),
        issues_refresh_tokens: true,
        access_token_lifetime_s: Some(3600),
        refresh_token_lifetime_s: Some(8_640_000),
    };
    let bare = Classification {
        class: RefreshClass::NoRefresh,
        grace_window_ms: None,
        issues_refresh_tokens: false,
        access_token_lifetime_s: None,
        refresh_token_lifetime_s: None,
    };
    vec![body_of(full), body_of(bare)]
}

#[test]
fn refresh_snapshot_round_trips_through_the_typed_body() {
    let key = observe("xero", &trace(Vec::new()), &classify(&trace(Vec::new()))).key;
    let header = crate::baseline::SnapshotHeader::new("xero", key);
    let bodies = every_shape_of_body();
    assert_eq!(
        crate::baseline::render_snapshot(&header, &bodies[0])
            .split_once("---\n{")
            .map(|(_, b)| b),
        Some(
            "\n  \"access_token_lifetime_s\": 3600,\n  \"class\": \"rotating-grace\",\n  \"grace_window_ms\": [\n    1000,\n    3000\n  ],\n  \"issues_refresh_tokens\": true,\n  \"refresh_token_lifetime_s\": 8640000\n}\n"
        )
    );
    for body in bodies {
        let text = crate::baseline::render_snapshot(&header, &body);
        let (_, read) =
            crate::baseline::parse_snapshot(std::path::Path::new("t.snap"), &text).unwrap();
        let typed = Classification::parse(&read.body).unwrap();
        assert_eq!(
            crate::baseline::render_snapshot(&header, &typed.to_json()),
            text
        );
    }
}

#[test]
fn refresh_view_reads_the_typed_body() {
    let bodies = every_shape_of_body();
    assert_eq!(
        view::view(&bodies[0]),
        Some(view::RefreshView {
            class: "rotating-grace",
            issues_refresh_tokens: true,
            access_token_lifetime_s: Some(3600),
            refresh_token_lifetime_s: Some(8_640_000),
            grace_window_ms: Some((1000, 3000)),
        })
    );
    assert_eq!(
        view::view(&bodies[1]).map(|v| (v.class, v.issues_refresh_tokens, v.grace_window_ms)),
        Some(("no-refresh", false, None))
    );
    assert_eq!(view::view(&json!({"class": "sideways"})), None);
    assert_eq!(
        view::class_words("rotating-grace"),
        ("rotates", "old token valid for a grace period")
    );
}
