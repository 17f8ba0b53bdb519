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

#[test]
fn run_json_href_is_relative_and_percent_encoded() {
    use std::path::Path;
    let href = |page: &str, json: &str| run_json_href(Path::new(page), Path::new(json));
    assert_eq!(
        href("/r/x/index.html", "/r/x/run.json").as_deref(),
        Some("run.json")
    );
    assert_eq!(
        href("/w/artifact/page.html", "/w/reports/r 1/run.json").as_deref(),
        Some("../reports/r%201/run.json")
    );
    // No relative path between an absolute and a relative path, or through `..`.
    assert_eq!(href("/w/page.html", "w/run.json"), None);
    assert_eq!(href("/w/a/../page.html", "/w/run.json"), None);
}

/// A run whose texts are long everywhere (each `/` escapes to six bytes) overshoots the
/// budget at the default caps: the page is rendered again with the tight ones.
#[test]
fn html_over_budget_is_rendered_again_with_tight_caps() {
    let mut run = html_run();
    let long = "/".repeat(5_000);
    let error = run.errors[0].clone();
    run.errors = (0..300)
        .map(|_| crate::model::RunError {
            message: long.clone(),
            ..error.clone()
        })
        .collect();
    let pending = run.pending[0].clone();
    run.pending = (0..300)
        .map(|i| crate::run::PendingSnapshot {
            subject: format!("s{i}"),
            status: long.clone(),
            ..pending.clone()
        })
        .collect();
    let conn = run.connections[2].clone();
    run.connections = (0..300)
        .map(|i| crate::model::ConnectionStatus {
            connection: format!("c{i}"),
            message: Some(long.clone()),
            error: Some(long.clone()),
            ..conn.clone()
        })
        .collect();
    let skipped = run.not_compared[0].clone();
    run.not_compared = (0..300)
        .map(|_| crate::model::NotCompared {
            connections: vec![long.clone()],
            ..skipped.clone()
        })
        .collect();
    let history = History::only(&run);
    let default = render_with(&run, &history, Some("run.json"), Caps::DEFAULT).unwrap();
    assert!(default.len() >= MAX_PAGE_BYTES, "{} bytes", default.len());
    let page = render(&run, &history).unwrap();
    assert!(page.len() < MAX_PAGE_BYTES, "{} bytes", page.len());
    let tight = Caps::TIGHT.rows;
    assert!(page.contains(&format!(
        "{} more errors in <a href=\"run.json\">run.json</a>",
        300 - tight
    )));
    assert!(page.contains(&format!(
        "{} more connections in <a href=\"run.json\">run.json</a>",
        300 - tight
    )));
}
