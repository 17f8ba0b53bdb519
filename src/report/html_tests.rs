use super::*;
use crate::model::FirstSeen;
use crate::report::fixture::html_run;
use crate::rules::Rule;
use chrono::TimeZone;

/// The fixture run after one earlier run with two breaking drifts and one warning.
fn fixed_history(run: &Run) -> History {
    History {
        runs: vec![
            HistoryPoint {
                run_id: "20261126T210000Z-0001".into(),
                started_at: chrono::Utc
                    .with_ymd_and_hms(2026, 11, 26, 21, 0, 0)
                    .unwrap(),
                breaking: 2,
                warning: 1,
                info: 0,
                errors: 1,
                credentials: 1,
                new: 3,
                href: Some("../20261126T210000Z-0001/index.html".into()),
            },
            HistoryPoint::of(run),
        ],
        notes: vec!["skipped `broken/run.json`: expected value at line 1 column 1".into()],
    }
}

/// The part of `page` between the opening tags `<section id="{from}"` and the next section.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("section {id}"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").expect("section end")]
}

/// (severity, provider, endpoint) of each drift line in `html`, in order.
fn lines(html: &str) -> Vec<(String, String, String)> {
    let between = |s: &str, a: &str, b: &str| -> String {
        let from = s.find(a).map(|i| i + a.len()).expect(a);
        s[from..from + s[from..].find(b).expect(b)].to_string()
    };
    html.split("<article class=\"drift ")
        .skip(1)
        .map(|a| {
            (
                between(a, "data-severity=\"", "\""),
                between(a, "<span class=\"prov\">", "</span>"),
                between(a, "<span class=\"ep\">", "</span>"),
            )
        })
        .collect()
}

fn first_seen(run_id: &str, day: u32) -> Option<FirstSeen> {
    Some(FirstSeen {
        run_id: run_id.into(),
        at: chrono::Utc
            .with_ymd_and_hms(2026, 11, day, 21, 0, 0)
            .unwrap(),
    })
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
        html.contains(
            "<strong class=\"sev sev-breaking\">breaking</strong> <span id=\"verdict-title\">\
             API changed: 2 breaking · 1 warning · 1 info (4 new, 0 known); \
             credentials need attention: 2 connections; run incomplete: 1 error</span>"
        ),
        "headline"
    );
    assert!(html.contains("<dt>shards</dt><dd>1</dd>"));
    assert!(html.contains("<dt>duration</dt><dd>1.2 s</dd>"));
}

/// Issue 18: a run with no drift and two errors is an incomplete run, not a clean one
/// with a red badge.
#[test]
fn verdict_of_a_run_with_errors_and_no_drift_says_run_incomplete() {
    let mut run = html_run();
    run.drifts.clear();
    run.findings.clear();
    run.tokens.clear();
    run.not_compared.clear();
    run.connections
        .retain(|c| c.state == crate::model::ConnectionState::Ok);
    let error = run.errors[0].clone();
    run.errors = vec![
        error.clone(),
        crate::model::RunError {
            class: "http".into(),
            message: "`GET /me` answered 502".into(),
            ..error
        },
    ];
    let html = render(&run, &History::only(&run)).unwrap();
    assert!(
        html.contains(
            "<strong class=\"sev sev-breaking\">incomplete</strong> \
             <span id=\"verdict-title\">Run incomplete: 2 errors</span>"
        ),
        "{}",
        &html[html.find("<header").unwrap()..html.find("</header>").unwrap()]
    );
    assert!(!html.contains("every observation matches"));
    assert!(!html.contains(">breaking</strong>"));
    let new = section(&html, "new");
    assert!(
        new.contains("No drift in what was compared, but the run is incomplete: 2 errors."),
        "{new}"
    );
    assert!(html.contains("<a href=\"#errors\">2 errors</a>: the run is incomplete"));
    // The run's errors are quoted in the verdict, code spans rendered.
    assert!(html.contains(
        "<small class=\"err\">demo · globex · me · http: <code>GET &#x2f;me</code> answered 502</small>"
    ));
    assert!(html.contains("<strong>Credentials need attention?</strong>\nno:"));
}

#[test]
fn verdict_of_a_clean_run_says_no_drift() {
    let mut run = html_run();
    run.drifts.clear();
    run.errors.clear();
    run.tokens.clear();
    run.not_compared.clear();
    run.connections
        .retain(|c| c.state == crate::model::ConnectionState::Ok);
    let html = render(&run, &History::only(&run)).unwrap();
    assert!(html.contains(
        "<strong class=\"sev sev-ok\">ok</strong> <span id=\"verdict-title\">\
         No drift: every observation matches its baseline</span>"
    ));
    assert!(section(&html, "new").contains("No drift: every observation matches its baseline."));
}

/// Issue 18: new drifts first (breaking, then by connections affected), one collapsed line
/// each; known drifts below, collapsed as a group, with when they were first seen.
#[test]
fn new_drifts_lead_one_line_each_and_known_drifts_are_collapsed() {
    let mut run = html_run();
    let id = run.run_id.clone();
    for d in &mut run.drifts {
        d.first_seen = match d.rule.rule() {
            // Reported by an earlier run: known.
            Some(Rule::SchemaStatusChanged) => first_seen("20261120T210000Z-0001", 20),
            // First reported by this run.
            Some(Rule::RefreshClassChanged) => first_seen(&id, 27),
            _ => None,
        };
    }
    // A second breaking drift on two connections: more connections, so it leads.
    let mut wide = run.drifts[0].clone();
    wide.rule = crate::rules::RuleId::parse(Rule::SchemaFieldRemoved.id());
    wide.severity = crate::model::Severity::Breaking;
    wide.subject = "payments".into();
    wide.connections = vec!["acme-corp".into(), "globex".into()];
    wide.message = "`$.data[].id` was removed".into();
    wide.first_seen = None;
    run.drifts.push(wide);
    let html = render(&run, &History::only(&run)).unwrap();
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        lines(section(&html, "new")),
        [
            s("breaking", "demo", "payments"),
            s("breaking", "demo", "invoices"),
            s("breaking", "demo", "invoices"),
            s("info", "demo", "refresh"),
        ]
    );
    assert_eq!(lines(section(&html, "known")), [s("warning", "demo", "me")]);
    let known = section(&html, "known");
    assert!(known.contains("<details class=\"group\">\n    <summary>1 drift reported by earlier runs and not yet accepted</summary>"));
    assert!(known.contains("first seen 2026-11-20 (run 20261120T210000Z-0001)"));
    // Evidence is there, collapsed: no <details> on the page opens by itself.
    assert!(html.contains("<details class=\"evidence\">"));
    assert!(!html.contains("<details class=\"evidence\" open"));
    assert!(!html.contains("<details class=\"group\" open"));
    // One line: severity, provider · endpoint · what changed, then connections affected.
    assert!(section(&html, "new").contains(
        "<span class=\"what\"><code>$.data[].id</code> was removed</span></span> \
         <span class=\"blast\">2 connections</span></summary>"
    ));
    assert!(html.contains(
        "<a href=\"#new\">4 new since the previous run</a>, <a href=\"#known\">1 known</a>"
    ));
}

/// Issue 18: findings are a compact table (rule, subject, since when), not drift cards.
#[test]
fn findings_are_a_table_with_since_when() {
    let mut run = html_run();
    run.findings[0].first_seen = first_seen("20261101T210000Z-0001", 1);
    let mut fresh = run.findings[0].clone();
    fresh.subject = "payments".into();
    fresh.fingerprint = "f11d".into();
    fresh.first_seen = None;
    fresh.before = Some(serde_json::json!({"x": 2}));
    run.findings.push(fresh);
    let html = render(&run, &History::only(&run)).unwrap();
    let findings = section(&html, "findings");
    assert_eq!(
        findings.matches("<tr class=\"finding ").count(),
        2,
        "{findings}"
    );
    assert!(!findings.contains("<article"));
    assert!(!findings.contains("class=\"diff\""));
    assert!(findings.contains(
        "globex reads <code>invoices</code> without the documented scope | invoices:read"
    ));
    assert!(findings.contains("<td>2026-11-01 (run 20261101T210000Z-0001)</td></tr>"));
    assert!(findings.contains("<td>this run</td></tr>"));
}

#[test]
fn credentials_list_unusable_connections_first_and_dying_tokens() {
    let html = page();
    let header = &html[html.find("<header").unwrap()..html.find("</header>").unwrap()];
    assert!(
        header.contains(
            "<a href=\"#connections\">2 connections</a>:\n\
             <span class=\"cred sev-breaking\" data-provider=\"quiet\">quiet/app</span> grant-dead (invalid_grant) · \
             <span class=\"cred sev-warning\" data-provider=\"demo\">demo/globex</span> \
             access-token-rejected (invalid_token); refresh token expiring: dies in 3 days \
             <small>(1 observations not compared)</small></li>"
        ),
        "{header}"
    );
}

#[test]
fn history_chart_links_earlier_runs_and_stacks_severities() {
    let html = page();
    let history = section(&html, "history");
    assert!(
        history.contains(
            "<a href=\"..&#x2f;20261126T210000Z-0001&#x2f;index.html\"><g class=\"run\">"
        )
    );
    assert!(history.contains("<text class=\"tick\" x=\""));
    assert!(history.contains(">11-26</text>"));
    assert!(history.contains("<rect class=\"seg-errors\""));
    assert_eq!(history.matches("<g class=\"run").count(), 2);
    assert!(history.contains("<g class=\"run current\">"));
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
