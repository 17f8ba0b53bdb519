use super::*;
use crate::report::fixture::html_run;
use std::collections::BTreeMap;

/// The fixture run after one earlier run with two breaking drifts and one warning.
fn fixed_history(run: &Run) -> History {
    History {
        runs: vec![
            HistoryRun {
                run_id: "20261126T210000Z-0001".into(),
                counts: BTreeMap::from([("demo".to_string(), [2, 1, 0])]),
                shards: 1,
            },
            HistoryRun::of(run),
        ],
        notes: vec!["skipped `broken/run.json`: expected value at line 1 column 1".into()],
    }
}

fn page() -> String {
    let run = html_run();
    render(&run, &fixed_history(&run)).unwrap()
}

#[test]
fn html_of_the_fixed_run() {
    insta::assert_snapshot!(page());
}

#[test]
fn provider_text_is_escaped_and_secrets_never_appear() {
    let html = page();
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "escaped message missing"
    );
    for p in SECRET_PREFIXES {
        assert!(!html.contains(p), "{p} leaked");
    }
    assert!(
        html.contains(r#""leak":"[REDACTED]"}"#)
            || html.contains("&quot;leak&quot;:&quot;[REDACTED]&quot;")
    );
}

#[test]
fn the_page_is_self_contained_behind_a_strict_csp() {
    let html = page();
    assert!(html.contains(
        r#"content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:""#
    ));
    for external in [
        "src=\"http",
        "href=\"http",
        "<link",
        "@import",
        "url(",
        "src=\"//",
    ] {
        assert!(!html.contains(external), "external reference `{external}`");
    }
    // Every in-page link has a target.
    let ids: std::collections::HashSet<&str> = html
        .split("id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    for target in html
        .split("href=\"#")
        .skip(1)
        .filter_map(|s| s.split('"').next())
    {
        assert!(ids.contains(target), "dangling link #{target}");
    }
}

#[test]
fn header_counts_and_shards() {
    let html = page();
    assert!(
        html.contains("2 breaking · 1 warning · 1 info · 1 errors"),
        "headline"
    );
    assert!(html.contains("<dt>shards</dt><dd>1</dd>"));
    assert!(html.contains("<dt>duration</dt><dd>1.2 s</dd>"));
}

#[test]
fn scrub_redacts_every_simulated_secret_and_nothing_else() {
    assert_eq!(
        scrub("a sim_at_abc-1.2 b sim_rt_x\"c sim_code_ sim_cs_Z9".into()),
        "a [REDACTED] b [REDACTED]\"c [REDACTED] [REDACTED]"
    );
    assert_eq!(scrub("simulated sim_ at".into()), "simulated sim_ at");
}
