//! The terminal reporter: a finished run, grouped by provider, for humans.
//! Colour only when asked (the CLI asks only on a TTY without `NO_COLOR`).

use crate::model::Severity;
use crate::run::{Run, RunSummary};
use anstyle::{AnsiColor, Style};
use std::fmt::Write;

fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Breaking => AnsiColor::Red.on_default().bold(),
        Severity::Warning => AnsiColor::Yellow.on_default().bold(),
        Severity::Info => AnsiColor::Cyan.on_default(),
    }
}

/// A drift first reported by this run, as the run's history says (no mark without one).
fn marked_new(run: &Run, d: &crate::model::Drift) -> bool {
    d.first_seen
        .as_ref()
        .is_some_and(|f| f.run_id == run.run_id)
}

fn new_style() -> Style {
    AnsiColor::Green.on_default().bold()
}

/// Renders the run; every count comes from `summary` (of the same run).
/// `report_path` is printed last when given.
/// Up to this many connections are listed by name with their state; more are counted.
const LISTED_CONNECTIONS: usize = 12;

/// At most this many drifts, kinds of finding and flagged connections per provider: the
/// rest are in run.json and the HTML report, so a run of thousands stays a readable log.
const LISTED_LINES: usize = 100;

/// Findings of the same severity, rule, subject and path (one per connection) as one entry:
/// the first of them and how many more there are, in first-seen order.
fn alike<'a>(findings: &[&'a crate::model::Drift]) -> Vec<(&'a crate::model::Drift, usize)> {
    let mut groups: Vec<(&crate::model::Drift, usize)> = Vec::new();
    let mut at: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
    for d in findings {
        let key = (
            d.severity,
            d.rule.as_str(),
            d.subject.as_str(),
            d.path.as_deref(),
        );
        match at.get(&key) {
            Some(&i) => groups[i].1 += 1,
            None => {
                at.insert(key, groups.len());
                groups.push((d, 0));
            }
        }
    }
    groups
}

pub fn render(run: &Run, summary: &RunSummary, color: bool, report_path: Option<&str>) -> String {
    let mut out = String::new();
    let connections: usize = run.suites.iter().map(|s| s.connections.len()).sum();
    let endpoints: usize = run.suites.iter().map(|s| s.endpoints.len()).sum();
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let _ = writeln!(
        out,
        "{} run {} · {} · {} · {} · {:.1}s",
        paint(color, bold, "driftwatch"),
        run.run_id,
        plural(run.suites.len(), "suite"),
        plural(connections, "connection"),
        plural(endpoints, "endpoint"),
        run.duration_ms as f64 / 1000.0
    );
    // Expired or unused suppressions without a provider selector belong to no suite.
    let mut groups: Vec<(&str, Option<&str>)> = run
        .suites
        .iter()
        .map(|s| (s.provider.as_str(), Some(s.file.as_str())))
        .collect();
    for d in run.drifts.iter().chain(&run.findings) {
        if !groups.iter().any(|(p, _)| *p == d.provider) {
            groups.push((d.provider.as_str(), None));
        }
    }
    for (p, file) in groups {
        let _ = writeln!(out);
        match file {
            Some(f) => writeln!(out, "{} ({f})", paint(color, bold, p)),
            None => writeln!(out, "{}", paint(color, bold, p)),
        }
        .ok();
        let (suppressed, mut drifts): (Vec<_>, Vec<_>) = run
            .drifts
            .iter()
            .filter(|d| d.provider == p)
            .partition(|d| d.suppressed.is_some());
        // New since the previous run first (stable otherwise).
        drifts.sort_by_key(|d| !marked_new(run, d));
        let errors: Vec<_> = run.errors.iter().filter(|e| e.provider == p).collect();
        let (accepted, pending): (Vec<_>, Vec<_>) = run
            .pending
            .iter()
            .filter(|x| x.provider == p)
            .partition(|x| x.accepted);
        // Connection states first: credential trouble is never drift.
        let conns: Vec<_> = run.connections.iter().filter(|c| c.provider == p).collect();
        if conns.len() > LISTED_CONNECTIONS {
            // Thousands of connections: their states counted, the flagged ones listed below.
            let mut counts: Vec<(String, usize)> = Vec::new();
            for c in &conns {
                let state = c.state.to_string();
                match counts.iter_mut().find(|(s, _)| *s == state) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((state, 1)),
                }
            }
            counts.sort_by_key(|c| std::cmp::Reverse(c.1));
            let states: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
            let _ = writeln!(
                out,
                "  connections: {} — {}",
                conns.len(),
                states.join(" · ")
            );
        } else if !conns.is_empty() {
            let states: Vec<String> = conns
                .iter()
                .map(|c| format!("{} {}", c.connection, c.state))
                .collect();
            let _ = writeln!(out, "  connections: {}", states.join(" · "));
        }
        let flagged: Vec<_> = conns.iter().filter(|c| c.severity.is_some()).collect();
        if flagged.len() > LISTED_LINES {
            let _ = writeln!(
                out,
                "  … {} more flagged connections in run.json (the first {LISTED_LINES} below)",
                flagged.len() - LISTED_LINES
            );
        }
        for c in flagged.iter().take(LISTED_LINES) {
            let sev = c.severity.unwrap_or(Severity::Breaking);
            let _ = writeln!(
                out,
                "  {}  [{}] {}: {}",
                paint(color, severity_style(sev), &format!("{:<8}", sev.as_str())),
                c.state,
                c.connection,
                c.message.as_deref().unwrap_or(if c.usable {
                    "recovered"
                } else {
                    "unusable: not compared"
                })
            );
        }
        let skipped = run
            .not_compared
            .iter()
            .filter(|n| n.key.provider == p)
            .count();
        if skipped > 0 {
            let _ = writeln!(
                out,
                "  {} {}",
                plural(skipped, "observation"),
                crate::model::NOT_COMPARED_UNUSABLE
            );
        }
        if drifts.is_empty() && errors.is_empty() {
            let _ = writeln!(out, "  no drift");
        }
        for d in drifts.iter().take(LISTED_LINES) {
            let sev = format!("{:<8}", d.severity.as_str());
            let mut head = format!("{}  {}", d.rule, d.subject);
            if let Some(path) = &d.path {
                head.push_str("  ");
                head.push_str(path);
            }
            if !d.connections.is_empty() {
                let _ = write!(head, "  [{}]", d.connections.join(", "));
            }
            let mark = match &d.first_seen {
                _ if marked_new(run, d) => format!("{}  ", paint(color, new_style(), "new")),
                Some(f) => format!(
                    "{}  ",
                    paint(color, dim, &format!("since {}", f.at.format("%Y-%m-%d")))
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "  {}  {mark}{head}",
                paint(color, severity_style(d.severity), &sev)
            );
            let _ = writeln!(out, "            {}", paint(color, dim, &d.message));
        }
        if drifts.len() > LISTED_LINES {
            let _ = writeln!(
                out,
                "  … {} more drifts in run.json and the HTML report",
                drifts.len() - LISTED_LINES
            );
        }
        let (suppressed_findings, findings): (Vec<_>, Vec<_>) = run
            .findings
            .iter()
            .filter(|d| d.provider == p)
            .partition(|d| d.suppressed.is_some());
        if !findings.is_empty() {
            let _ = writeln!(
                out,
                "  {} (re-checked every run; not drift):",
                plural(summary.provider(p).findings, "finding")
            );
            // A finding repeated for many connections (no refresh token issued to each of
            // 10,000) is one line and a count.
            let groups = alike(&findings);
            for (d, more) in groups.iter().take(LISTED_LINES) {
                let _ = writeln!(
                    out,
                    "    {:<8}  {}  {}{}  {}",
                    d.severity.as_str(),
                    d.rule,
                    d.subject,
                    d.path
                        .as_deref()
                        .map(|p| format!(" {p}"))
                        .unwrap_or_default(),
                    paint(color, dim, &d.message)
                );
                if *more > 0 {
                    let _ = writeln!(
                        out,
                        "              {}",
                        paint(color, dim, &format!("… and {more} more alike"))
                    );
                }
            }
            if groups.len() > LISTED_LINES {
                let _ = writeln!(
                    out,
                    "    … {} more kinds of finding in run.json and the HTML report",
                    groups.len() - LISTED_LINES
                );
            }
        }
        let suppressed: Vec<_> = suppressed.into_iter().chain(suppressed_findings).collect();
        if !suppressed.is_empty() {
            let _ = writeln!(
                out,
                "  {} suppressed (known; never fail the run):",
                summary.provider(p).suppressed
            );
            for d in &suppressed {
                let line = format!(
                    "    {:<8}  {}  {}{}  — {}",
                    d.severity.as_str(),
                    d.rule,
                    d.subject,
                    d.path
                        .as_deref()
                        .map(|p| format!(" {p}"))
                        .unwrap_or_default(),
                    d.suppressed.as_deref().unwrap_or_default()
                );
                let _ = writeln!(out, "{}", paint(color, dim, &line));
            }
        }
        for e in &errors {
            let mut place = String::new();
            if let Some(c) = &e.connection {
                place.push_str(c);
            }
            if let Some(s) = &e.subject {
                if !place.is_empty() {
                    place.push(' ');
                }
                place.push_str(s);
            }
            let _ = writeln!(
                out,
                "  {}  [{}] {}{}",
                paint(color, AnsiColor::Magenta.on_default().bold(), "error   "),
                e.class,
                if place.is_empty() {
                    String::new()
                } else {
                    format!("{place}: ")
                },
                e.message
            );
        }
        if !accepted.is_empty() {
            let _ = writeln!(
                out,
                "  {} written to the baseline (--update always)",
                plural(accepted.len(), "snapshot")
            );
        }
        if !pending.is_empty() {
            let new = pending.iter().filter(|x| x.status == "new").count();
            let written = pending.iter().filter(|x| x.file.is_some()).count();
            let _ = writeln!(
                out,
                "  {} ({} new, {} changed){}",
                plural(pending.len(), "pending snapshot"),
                new,
                pending.len() - new,
                if written == pending.len() {
                    " — review, then `driftwatch accept`"
                } else {
                    " — not written (CI)"
                }
            );
        }
    }
    let t = &summary.totals;
    let _ = writeln!(out);
    // Only for a run that knows its drifts' history (`run` and `merge` set `first_seen`).
    if run.drifts.iter().any(|d| d.first_seen.is_some()) {
        let new = crate::run::history::new_count(run);
        let open = run.drifts.iter().filter(|d| d.suppressed.is_none()).count();
        let _ = writeln!(
            out,
            "{} since the previous run · {} known",
            paint(color, new_style(), &format!("{new} new")),
            open - new
        );
    }
    let _ = write!(
        out,
        "{} breaking · {} warning · {} info · {}",
        t.breaking,
        t.warning,
        t.info,
        plural(t.errors, "error")
    );
    if t.unusable > 0 {
        let _ = write!(out, " · {}", plural(t.unusable, "unusable connection"));
    }
    // Only mentioned when there are some, so runs without an ignore file read as before.
    if t.suppressed > 0 {
        let _ = write!(out, " · {} suppressed", t.suppressed);
    }

    let _ = writeln!(out);
    if let Some(p) = report_path {
        let _ = writeln!(out, "report: {p}");
    }
    out
}

/// The `driftwatch tokens` table.
pub fn render_tokens(health: &[crate::auth::health::TokenHealth]) -> String {
    let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "-".into())
    };
    let mut rows = vec![[
        "PROVIDER".to_string(),
        "CONNECTION".into(),
        "STATUS".into(),
        "LAST REFRESH".into(),
        "ACCESS EXPIRES".into(),
        "REFRESH DIES".into(),
        "DAYS LEFT".into(),
        "FROM".into(),
    ]];
    for h in health {
        rows.push([
            h.provider.clone(),
            h.connection.clone(),
            h.status.clone(),
            fmt(h.last_refreshed_at),
            fmt(h.access_token_expires_at),
            fmt(h.refresh_token_expires_at),
            h.days_left
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            h.expiry_source.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut widths = [0usize; 8];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    if health.is_empty() {
        let _ = writeln!(out, "(no connections keep refresh tokens)");
    }
    out
}

/// The `driftwatch tokens` rows of the apps' client secrets (issue 20).
pub fn render_client_secrets(health: &[crate::probe::app::ClientSecretHealth]) -> String {
    let mut rows = vec![[
        "PROVIDER".to_string(),
        "CLIENT SECRET".into(),
        "STATUS".into(),
        "EXPIRES".into(),
        "DAYS LEFT".into(),
    ]];
    for h in health {
        rows.push([
            h.provider.clone(),
            "client secret".into(),
            h.status.clone(),
            h.expires_at.format("%Y-%m-%d %H:%M").to_string(),
            h.days_left.to_string(),
        ]);
    }
    let mut widths = [0usize; 5];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::from("\n");
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fixed_run;

    #[test]
    fn terminal_report_plain() {
        let run = fixed_run();
        insta::assert_snapshot!(render(
            &run,
            &RunSummary::of(&run),
            false,
            Some("reports/20261127T210000Z-abcd/run.json")
        ));
    }

    /// Issue 17: a run of thousands of connections stays a readable log: states counted,
    /// findings alike on one line with a count, long lists cut with a pointer to run.json.
    #[test]
    fn thousands_of_connections_are_counted_and_findings_alike_grouped() {
        let mut run = fixed_run();
        run.connections.retain(|c| c.provider == "demo");
        run.drifts.retain(|d| d.provider == "demo");
        run.errors.clear();
        run.pending.clear();
        let template = run.connections[0].clone();
        let broken = run.connections[1].clone();
        run.connections.clear();
        for i in 0..1000 {
            let mut c = if i % 250 == 7 {
                broken.clone()
            } else {
                template.clone()
            };
            c.connection = format!("c{i:04}");
            run.connections.push(c);
        }
        let finding = run.findings[0].clone();
        run.findings.clear();
        for i in 0..1000 {
            let mut f = finding.clone();
            f.connections = vec![format!("c{i:04}")];
            f.message = format!("c{i:04} reads `invoices` without the documented scope");
            run.findings.push(f);
        }
        let drift = run
            .drifts
            .iter()
            .find(|d| d.rule == crate::rules::Rule::SchemaStatusChanged.id())
            .expect("in the fixture")
            .clone();
        run.drifts.clear();
        for i in 0..150 {
            let mut d = drift.clone();
            d.subject = format!("ep{i:03}");
            run.drifts.push(d);
        }
        let text = render(&run, &RunSummary::of(&run), false, None);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.contains(&"  connections: 1000 — 996 ok · 4 access-token-rejected"),
            "{text}"
        );
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains("[access-token-rejected]"))
                .count(),
            4
        );
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains(crate::rules::Rule::SchemaStatusChanged.id()))
                .count(),
            100
        );
        assert!(
            lines.contains(&"  … 50 more drifts in run.json and the HTML report"),
            "{text}"
        );
        assert!(
            lines.contains(&"  1000 findings (re-checked every run; not drift):"),
            "{text}"
        );
        assert!(lines.contains(
            &"    warning   permissions.undocumented-access  invoices  c0000 reads `invoices` without the documented scope"
        ), "{text}");
        assert!(
            lines.contains(&"              … and 999 more alike"),
            "{text}"
        );
        assert!(!text.contains("c0001 reads"), "{text}");
        assert!(lines.len() < 250, "{} lines", lines.len());
    }

    /// Issue 18: new drifts carry a `new` mark and come first; known ones say since when.
    #[test]
    fn terminal_marks_new_drifts_first_and_dates_known_ones() {
        let mut run = fixed_run();
        let earlier = crate::model::FirstSeen {
            run_id: "20261120T210000Z-0001".into(),
            at: run.started_at - chrono::Duration::days(7),
        };
        for d in run.drifts.iter_mut() {
            d.first_seen = Some(if d.severity == Severity::Warning {
                crate::model::FirstSeen {
                    run_id: run.run_id.clone(),
                    at: run.started_at,
                }
            } else {
                earlier.clone()
            });
        }
        let text = render(&run, &RunSummary::of(&run), false, None);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.starts_with("  info") || l.starts_with("  breaking") || l.starts_with("  warning")
            })
            .collect();
        assert_eq!(
            lines,
            [
                "  warning   [access-token-rejected] globex: the provider rejected the access token of connection `globex` before it expired (1 request(s) answered 401); it was refreshed once and the retried request(s) worked",
                "  warning   new  schema.status-changed  me  [globex]",
                "  info      since 2026-11-20  refresh.class-changed  refresh  [acme-corp]",
                "  breaking  since 2026-11-20  schema.type-changed  invoices  $.data[].amount_cents",
                "  breaking  [grant-dead] app: connection `app` cannot be used, the provider refused its grant (`invalid_grant`; last worked on 2026-11-26 21:00 UTC): the refresh token for `quiet/app` was rejected (invalid_grant): it expired, was revoked, or was already used. Re-authorise the connection: `driftwatch connect suites/quiet.yaml app`.",
            ],
            "{text}"
        );
        assert!(
            text.contains("\n1 new since the previous run · 2 known\n"),
            "{text}"
        );
        // Without history (an old run.json) there is no mark and no count.
        let plain = render(&fixed_run(), &RunSummary::of(&fixed_run()), false, None);
        assert!(!plain.contains("new since"), "{plain}");
    }

    #[test]
    fn suppressed_drifts_are_listed_apart_and_not_counted() {
        let mut run = fixed_run();
        let base = render(&run, &RunSummary::of(&run), false, None);
        let d = run
            .drifts
            .iter_mut()
            .find(|d| d.severity == Severity::Breaking)
            .expect("fixture has a breaking drift");
        d.suppressed = Some("tracked in JIRA-123".into());
        let (rule, subject) = (d.rule.clone(), d.subject.clone());
        let text = render(&run, &RunSummary::of(&run), false, None);
        let line = format!("    breaking  {rule}  {subject}");
        let shown: Vec<&str> = text.lines().filter(|l| l.starts_with(&line)).collect();
        assert_eq!(shown.len(), 1, "{text}");
        assert!(shown[0].ends_with("  — tracked in JIRA-123"), "{text}");
        assert!(text.contains("  1 suppressed (known; never fail the run):\n"));
        let breaking = |t: &str| {
            t.lines()
                .last()
                .and_then(|l| l.split(' ').next())
                .and_then(|n| n.parse::<usize>().ok())
        };
        let before = breaking(&base).expect("counts line");
        assert_eq!(breaking(&text), Some(before - 1));
        assert!(
            text.lines()
                .last()
                .is_some_and(|l| l.ends_with(" · 1 suppressed"))
        );
    }

    #[test]
    fn drifts_of_no_suite_get_their_own_group() {
        let mut run = fixed_run();
        let mut d = run.drifts[0].clone();
        d.provider = "suppressions".into();
        d.rule = crate::rules::RuleId::parse(crate::rules::Rule::SuppressionExpired.id());
        run.drifts.push(d);
        let text = render(&run, &RunSummary::of(&run), false, None);
        assert!(text.contains("\nsuppressions\n  "), "{text}");
    }

    #[test]
    fn terminal_report_colour_only_when_asked() {
        let run = fixed_run();
        let summary = RunSummary::of(&run);
        let plain = render(&run, &summary, false, None);
        let coloured = render(&run, &summary, true, None);
        assert!(!plain.contains('\u{1b}'));
        assert!(coloured.contains("\u{1b}["));
    }
}
