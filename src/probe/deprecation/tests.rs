//! Exact-result tests of the deprecation probe: header syntaxes, malformed values, the merged
//! observation and the findings on a fixed day.

use super::*;
use chrono::TimeZone;

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn p(pairs: &[(&str, &str)]) -> Signals {
    parse(&h(pairs), &[])
}

fn at(y: i32, mo: u32, d: u32, hh: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, hh, mi, s)
        .single()
        .expect("valid test date")
}

fn dep(d: DateTime<Utc>) -> Option<DeprecationValue> {
    Some(DeprecationValue::Date(d))
}

fn links(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    h(pairs)
}

fn malformed(header: &str, reason: &str) -> Vec<(String, String)> {
    vec![(header.to_owned(), reason.to_owned())]
}

#[test]
fn sf_date_deprecation() {
    let s = p(&[("Deprecation", "@1688169599")]);
    assert_eq!(s.deprecation, dep(at(2023, 6, 30, 23, 59, 59)));
    assert_eq!(s.malformed, vec![]);
}

#[test]
fn sf_date_with_spaces_and_any_header_case() {
    for v in ["  @1688169599 ", "@ 1688169599", "@1688169599;foo=1"] {
        let s = p(&[("DEPRECATION", v)]);
        assert_eq!(s.deprecation, dep(at(2023, 6, 30, 23, 59, 59)), "{v}");
    }
}

#[test]
fn legacy_true_deprecation() {
    assert_eq!(
        p(&[("deprecation", "true")]).deprecation,
        Some(DeprecationValue::True)
    );
}

#[test]
fn legacy_http_date_deprecation() {
    let s = p(&[("Deprecation", "Sun, 30 Jun 2024 23:59:59 GMT")]);
    assert_eq!(s.deprecation, dep(at(2024, 6, 30, 23, 59, 59)));
}

#[test]
fn sunset_gmt_and_utc_with_the_rfc_example_weekday() {
    // RFC 8594's example says Saturday; 31 Dec 2018 was a Monday. The date wins.
    for v in [
        "Sat, 31 Dec 2018 23:59:59 GMT",
        "Sat, 31 Dec 2018 23:59:59 UTC",
    ] {
        let s = p(&[("Sunset", v)]);
        assert_eq!(
            s.sunset,
            Some(DateValue::Date(at(2018, 12, 31, 23, 59, 59))),
            "{v}"
        );
        assert_eq!(s.malformed, vec![]);
    }
}

#[test]
fn malformed_deprecation_values() {
    assert_eq!(
        p(&[("Deprecation", "yes")]).malformed,
        malformed(
            "Deprecation",
            "`yes` is neither an sf-date (`@<seconds>`), the legacy `true` nor an HTTP-date"
        )
    );
    assert_eq!(
        p(&[("Deprecation", "@abc")]).malformed,
        malformed(
            "Deprecation",
            "`@abc` is not an sf-date (`@` and whole seconds since 1970)"
        )
    );
    for v in [
        "@",
        "@1.5",
        "@1234567890123456",
        "Sun, 30 Jun 2024 23:59:59 CET",
    ] {
        let s = p(&[("Deprecation", v)]);
        assert_eq!(s.deprecation, None, "{v}");
        assert_eq!(s.malformed.len(), 1, "{v}");
    }
}

#[test]
fn malformed_sunset_values() {
    assert_eq!(
        p(&[("Sunset", "tomorrow")]).malformed,
        malformed("Sunset", "`tomorrow` is not an HTTP-date")
    );
    for v in [
        "31 Dec 2018 23:59:59 GMT",
        "Xyz, 31 Dec 2018 23:59:59 GMT",
        "Mon, 31 Dec 2018 23:59:59",
        "Mon, 32 Dec 2018 23:59:59 GMT",
        "2018-12-31T23:59:59Z",
    ] {
        let s = p(&[("Sunset", v)]);
        assert_eq!(s.sunset, None, "{v}");
        assert_eq!(s.malformed.len(), 1, "{v}");
    }
}

#[test]
fn repeated_header_lines_keep_the_first_and_report_a_conflict() {
    let s = p(&[
        ("Deprecation", "@1688169599"),
        ("Deprecation", "@1688169599"),
        ("Sunset", "Sun, 30 Jun 2024 23:59:59 GMT"),
        ("sunset", "Mon, 01 Jul 2024 00:00:00 GMT"),
    ]);
    assert_eq!(s.deprecation, dep(at(2023, 6, 30, 23, 59, 59)));
    assert_eq!(s.sunset, Some(DateValue::Date(at(2024, 6, 30, 23, 59, 59))));
    assert_eq!(
        s.malformed,
        malformed(
            "Sunset",
            "repeated with a different value; the first one counts"
        )
    );
}

#[test]
fn link_relations_in_any_form() {
    let s = p(&[
        (
            "Link",
            "<https://d.example/next?a=1,2>; rel=\"next\", <https://d.example/dep>; \
             type=\"text/html\"; REL=\"Deprecation alternate\", <https://d.example/sun>;rel=sunset",
        ),
        (
            "link",
            "<https://d.example/dep2>; title=\"a, b; c\"; rel=deprecation",
        ),
    ]);
    assert_eq!(
        s.links,
        links(&[
            ("deprecation", "https://d.example/dep"),
            ("deprecation", "https://d.example/dep2"),
            ("sunset", "https://d.example/sun"),
        ])
    );
    assert_eq!(s.malformed, vec![]);
}

#[test]
fn only_the_first_rel_parameter_counts() {
    let s = p(&[("Link", "<https://d.example/x>; rel=next; rel=deprecation")]);
    assert_eq!(s.links, vec![]);
}

#[test]
fn link_without_angle_brackets_is_malformed() {
    let s = p(&[(
        "Link",
        "https://d.example/dep; rel=\"deprecation\", <https://d.example/sun>; rel=\"sunset\"",
    )]);
    assert_eq!(s.links, links(&[("sunset", "https://d.example/sun")]));
    assert_eq!(
        s.malformed,
        malformed(
            "Link",
            "`https://d.example/dep; rel=\"deprecation\"` has no target in `<…>`"
        )
    );
    assert_eq!(
        p(&[("Link", "<https://d.example/dep; rel=deprecation")]).malformed,
        malformed(
            "Link",
            "`<https://d.example/dep; rel=deprecation` has no target in `<…>`"
        )
    );
}

#[test]
fn warning_299_texts() {
    let s = p(&[
        (
            "Warning",
            "299 - \"Deprecated API, use \\\"v2\\\"\", 199 proxy \"misc\", \
             299 api.example.com \"Sunset soon\" \"Sat, 31 Dec 2018 23:59:59 GMT\"",
        ),
        ("warning", "299 - \"Deprecated API, use \\\"v2\\\"\""),
    ]);
    assert_eq!(
        s.warnings,
        vec![
            "Deprecated API, use \"v2\"".to_owned(),
            "Sunset soon".to_owned()
        ]
    );
    assert_eq!(s.malformed, vec![]);
}

#[test]
fn malformed_warning_values() {
    assert_eq!(
        p(&[("Warning", "299 - unquoted text")]).malformed,
        malformed(
            "Warning",
            "`299 - unquoted text` has no quoted warning text"
        )
    );
    assert_eq!(
        p(&[("Warning", "deprecated")]).malformed,
        malformed(
            "Warning",
            "`deprecated` does not start with a 3-digit code and an agent"
        )
    );
    assert_eq!(p(&[("Warning", "299 - \"open")]).malformed.len(), 1);
}

#[test]
fn vendor_headers_are_matched_case_insensitively_and_joined() {
    let s = parse(
        &h(&[
            ("x-api-warn", "v1 is going away"),
            ("X-API-WARN", "see docs"),
            ("X-Other", "ignored"),
        ]),
        &["X-Api-Warn".to_owned()],
    );
    assert_eq!(
        s.vendor,
        BTreeMap::from([(
            "X-Api-Warn".to_owned(),
            "v1 is going away, see docs".to_owned()
        )])
    );
}

#[test]
fn long_malformed_values_are_cut() {
    let long = "x".repeat(200);
    let s = p(&[("Sunset", &long)]);
    let reason = &s.malformed[0].1;
    assert_eq!(
        reason,
        &format!("`{}…` is not an HTTP-date", "x".repeat(80))
    );
}

fn signals_a() -> Signals {
    p(&[
        ("Deprecation", "true"),
        ("Sunset", "Tue, 30 Jun 2026 23:59:59 GMT"),
        ("Link", "<https://d.example/b>; rel=deprecation"),
        ("Warning", "299 - \"b\""),
    ])
}

fn signals_b() -> Signals {
    let mut s = p(&[
        ("Deprecation", "@1688169599"),
        ("Sunset", "Wed, 01 Jul 2026 00:00:00 GMT"),
        ("Link", "<https://d.example/a>; rel=deprecation"),
        ("Warning", "299 - \"a\""),
        ("Date", "Mon, 01 Jun 2026 10:00:00 GMT"),
    ]);
    s.vendor.insert("X-Api-Warn".to_owned(), "soon".to_owned());
    s
}

#[test]
fn observation_merges_connections_deterministically() {
    let o = observe("demo", "orders", &[signals_a(), signals_b()]);
    assert_eq!(
        o.key,
        ObservationKey {
            provider: "demo".to_owned(),
            probe: ProbeKind::Deprecation,
            subject: "orders".to_owned(),
            connection: None,
        }
    );
    assert_eq!(
        o.body,
        json!({
            "deprecated": "2023-06-30T23:59:59Z",
            "sunset": "2026-06-30T23:59:59Z",
            "links": [
                {"rel": "deprecation", "uri": "https://d.example/a"},
                {"rel": "deprecation", "uri": "https://d.example/b"},
            ],
            "warnings": ["a", "b"],
            "vendor": {"X-Api-Warn": "soon"},
        })
    );
    assert_eq!(o, observe("demo", "orders", &[signals_b(), signals_a()]));
}

#[test]
fn observation_of_a_clean_endpoint_and_disagreeing_vendor_values() {
    let mut a = Signals::default();
    a.vendor.insert("X-W".to_owned(), "2".to_owned());
    let mut b = Signals::default();
    b.vendor.insert("X-W".to_owned(), "1".to_owned());
    assert_eq!(
        observe("demo", "orders", &[a, b, Signals::default()]).body,
        json!({"deprecated": null, "sunset": null, "links": [], "warnings": [],
               "vendor": {"X-W": ["1", "2"]}})
    );
    assert_eq!(
        observe("demo", "orders", &[p(&[("Deprecation", "true")])]).body["deprecated"],
        json!("true")
    );
}

/// (rule, path, severity, message) of each finding.
fn summary(d: &[Drift]) -> Vec<(&str, &str, Severity, &str)> {
    d.iter()
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

#[test]
fn findings_on_a_fixed_day() {
    let now = at(2026, 6, 1, 0, 0, 0);
    let d = findings("demo", "orders", &[signals_a(), signals_b()], now);
    assert_eq!(
        summary(&d),
        vec![
            (
                Rule::DeprecationDeprecated.id(),
                "$.deprecated",
                Severity::Warning,
                "`orders` is deprecated since 2023-06-30T23:59:59Z (1066 days ago)"
            ),
            (
                Rule::DeprecationSunsetScheduled.id(),
                "$.sunset",
                Severity::Breaking,
                "`orders` sunsets on 2026-06-30T23:59:59Z (29 days left)"
            ),
            // `Warning: 299` "a"/"b" and `X-Api-Warn: soon` are in the observation: their one
            // verdict is the diff's `deprecation.warning-added`, not a finding every run.
        ]
    );
    assert_eq!(
        d[0].after,
        Some(json!({"deprecated": "2023-06-30T23:59:59Z", "days_since": 1066}))
    );
    assert_eq!(d[0].probe, ProbeKind::Deprecation);
    assert_eq!(d[0].subject, "orders");
}

#[test]
fn sunset_within_thirty_days_is_breaking() {
    let s = [p(&[("Sunset", "Tue, 30 Jun 2026 23:59:59 GMT")])];
    let sev = |now| findings("demo", "orders", &s, now)[0].severity;
    assert_eq!(sev(at(2026, 5, 31, 23, 59, 59)), Severity::Warning);
    assert_eq!(sev(at(2026, 6, 1, 0, 0, 0)), Severity::Breaking);
}

#[test]
fn sunset_passed_fires_on_and_after_the_date() {
    let s = [p(&[("Sunset", "Sat, 31 Dec 2018 23:59:59 GMT")])];
    let d = findings("demo", "orders", &s, at(2019, 1, 10, 23, 59, 59));
    assert_eq!(
        summary(&d),
        vec![(
            Rule::DeprecationSunsetPassed.id(),
            "$.sunset",
            Severity::Breaking,
            "`orders` passed its sunset date 2018-12-31T23:59:59Z 10 days ago and may stop \
             answering at any time"
        )]
    );
    let d = findings("demo", "orders", &s, at(2018, 12, 31, 23, 59, 59));
    assert_eq!(d[0].rule, Rule::DeprecationSunsetPassed.id());
}

#[test]
fn future_and_dateless_deprecation() {
    let now = at(2023, 6, 1, 0, 0, 0);
    let d = findings(
        "demo",
        "orders",
        &[p(&[("Deprecation", "@1688169599")])],
        now,
    );
    assert_eq!(
        d[0].message,
        "`orders` will be deprecated on 2023-06-30T23:59:59Z (in 29 days)"
    );
    let d = findings("demo", "orders", &[p(&[("Deprecation", "true")])], now);
    assert_eq!(
        summary(&d),
        vec![(
            Rule::DeprecationDeprecated.id(),
            "$.deprecated",
            Severity::Warning,
            "`orders` is deprecated (the legacy `Deprecation: true` gives no date)"
        )]
    );
}

#[test]
fn malformed_headers_and_sunset_before_deprecation_are_info_findings() {
    let s = [p(&[
        ("Deprecation", "@1719791999"),
        ("Sunset", "Sun, 30 Jun 2024 00:00:00 GMT"),
        ("Warning", "nonsense"),
    ])];
    let d = findings("demo", "orders", &s, at(2024, 1, 1, 0, 0, 0));
    assert_eq!(
        summary(&d)
            .into_iter()
            .filter(|(r, ..)| *r == Rule::DeprecationMalformedHeader.id())
            .collect::<Vec<_>>(),
        vec![
            (
                Rule::DeprecationMalformedHeader.id(),
                "Sunset",
                Severity::Info,
                "`orders`: the sunset date 2024-06-30T00:00:00Z is before the deprecation date \
                 2024-06-30T23:59:59Z, which RFC 9745 §4 forbids"
            ),
            (
                Rule::DeprecationMalformedHeader.id(),
                "Warning",
                Severity::Info,
                "`orders` sent a malformed `Warning` header: `nonsense` does not start with a \
                 3-digit code and an agent"
            ),
        ]
    );
}

#[test]
fn no_signals_no_findings() {
    assert_eq!(
        findings(
            "demo",
            "orders",
            &[Signals::default()],
            at(2024, 1, 1, 0, 0, 0)
        ),
        vec![]
    );
    assert_eq!(
        findings("demo", "orders", &[], at(2024, 1, 1, 0, 0, 0)),
        vec![]
    );
}

#[test]
fn deprecation_snapshot_round_trips_through_the_typed_body() {
    // Vendor values that JSON escaping would order differently (`"` sorts before `#` as text,
    // after it as escaped JSON): the body keeps the probe's string order.
    let mut a = signals_a();
    a.vendor.insert("X-Q".to_owned(), "a\"".to_owned());
    let mut b = signals_b();
    b.vendor.insert("X-Q".to_owned(), "a#".to_owned());
    let observations = [
        observe("demo", "orders", &[a, b]),
        observe("demo", "clean", &[Signals::default()]),
    ];
    assert_eq!(observations[0].body["vendor"]["X-Q"], json!(["a\"", "a#"]));
    for o in observations {
        let header = crate::baseline::SnapshotHeader::new("demo", o.key.clone());
        let text = crate::baseline::render_snapshot(&header, &o.body);
        let (_, read) =
            crate::baseline::parse_snapshot(std::path::Path::new("t.snap"), &text).unwrap();
        let typed = DeprecationBody::parse(&read.body).unwrap();
        assert_eq!(
            crate::baseline::render_snapshot(&header, &typed.to_json()),
            text
        );
    }
}

#[test]
fn deprecation_view_reads_the_typed_body() {
    let mut a = signals_a();
    a.vendor.insert("X-W".to_owned(), "2".to_owned());
    let mut b = signals_b();
    b.vendor.insert("X-W".to_owned(), "1".to_owned());
    let v = view::view(&observe("demo", "orders", &[a, b]).body).unwrap();
    assert_eq!(
        v,
        view::DeprecationSignals {
            deprecated: Some("2023-06-30T23:59:59Z".into()),
            sunset: Some("2026-06-30T23:59:59Z".into()),
            warnings: vec!["a".into(), "b".into()],
            vendor: vec![
                ("X-Api-Warn".into(), "soon".into()),
                ("X-W".into(), r#"["1","2"]"#.into()),
            ],
        }
    );
    assert_eq!(view::view(&Value::Null), None);
}
