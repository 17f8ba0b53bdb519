//! The terminal reporter: a finished run, grouped by provider, for humans.
//! Colour only when asked (the CLI asks only on a TTY without `NO_COLOR`).

use crate::model::Severity;
use crate::run::Run;
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

/// Renders the run summary. `report_path` is printed last when given.
pub fn render(run: &Run, color: bool, report_path: Option<&str>) -> String {
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
    for suite in &run.suites {
        let p = &suite.provider;
        let _ = writeln!(out);
        let _ = writeln!(out, "{} ({})", paint(color, bold, p), suite.file);
        let drifts: Vec<_> = run.drifts.iter().filter(|d| &d.provider == p).collect();
        let errors: Vec<_> = run.errors.iter().filter(|e| &e.provider == p).collect();
        let pending: Vec<_> = run.pending.iter().filter(|x| &x.provider == p).collect();
        if drifts.is_empty() && errors.is_empty() {
            let _ = writeln!(out, "  no drift");
        }
        for d in &drifts {
            let sev = format!("{:<8}", d.severity.as_str());
            let mut head = format!("{}  {}", d.rule, d.subject);
            if let Some(path) = &d.path {
                head.push_str("  ");
                head.push_str(path);
            }
            if !d.connections.is_empty() {
                let _ = write!(head, "  [{}]", d.connections.join(", "));
            }
            let _ = writeln!(
                out,
                "  {}  {head}",
                paint(color, severity_style(d.severity), &sev)
            );
            let _ = writeln!(out, "            {}", paint(color, dim, &d.message));
        }
        let findings: Vec<_> = run.findings.iter().filter(|d| &d.provider == p).collect();
        if !findings.is_empty() {
            let _ = writeln!(
                out,
                "  {} (re-checked every run; not drift):",
                plural(findings.len(), "finding")
            );
            for d in &findings {
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
    let count = |s: Severity| run.drifts.iter().filter(|d| d.severity == s).count();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} breaking · {} warning · {} info · {}",
        count(Severity::Breaking),
        count(Severity::Warning),
        count(Severity::Info),
        plural(run.errors.len(), "error")
    );
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
        insta::assert_snapshot!(render(
            &fixed_run(),
            false,
            Some("reports/20261127T210000Z-abcd/run.json")
        ));
    }

    #[test]
    fn terminal_report_colour_only_when_asked() {
        let plain = render(&fixed_run(), false, None);
        let coloured = render(&fixed_run(), true, None);
        assert!(!plain.contains('\u{1b}'));
        assert!(coloured.contains("\u{1b}["));
    }
}
