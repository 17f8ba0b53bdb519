//! The Markdown reporter: a finished run as a GitHub step summary or PR
//! comment. Sized to fit a PR comment; never probes, never diffs.

use super::html::caps::pick;
use crate::model::{Drift, Severity};
use crate::run::{Run, RunSummary, Verdict};
use std::fmt::Write;

/// Budget for the whole document: PR comments stop at 65,536 characters.
const LIMIT: usize = 60_000;
/// Room kept for the closing note once rows stop fitting.
const RESERVE: usize = 200;
/// Connection rows shown (unusable and troubled connections first).
const CONNECTION_ROWS: usize = 20;
/// Provider rows of the counts table (most drifts first).
const PROVIDER_ROWS: usize = 50;
/// Characters of one free-text cell (a connection's message).
const CELL_CHARS: usize = 500;

/// Renders the run as Markdown, truncated to about 60 KB; every count comes from
/// `summary` (of the same run).
pub fn render(run: &Run, summary: &RunSummary) -> String {
    render_within(run, summary, LIMIT)
}

/// Rows are emitted until the next one would leave less than [`RESERVE`]
/// bytes of `limit`; everything after that is only counted.
struct Budget {
    limit: usize,
    omitted_drifts: usize,
    omitted_other: usize,
    full: bool,
}

impl Budget {
    fn push(&mut self, out: &mut String, row: &str, drift: bool) {
        if !self.full && out.len() + row.len() + RESERVE > self.limit {
            self.full = true;
        }
        if self.full {
            if drift {
                self.omitted_drifts += 1;
            } else {
                self.omitted_other += 1;
            }
        } else {
            out.push_str(row);
        }
    }
}

/// `s` cut to [`CELL_CHARS`] characters.
fn short(s: &str) -> String {
    match s.char_indices().nth(CELL_CHARS) {
        None => s.to_string(),
        Some((at, _)) => format!("{}…", &s[..at]),
    }
}

fn render_within(run: &Run, summary: &RunSummary, limit: usize) -> String {
    render_full(run, summary, limit, None)
}

/// [`render`] with a link to the published HTML report (`--report-url`; `{run_id}` is
/// replaced by the run id).
pub fn render_linked(run: &Run, summary: &RunSummary, report_url: Option<&str>) -> String {
    render_full(run, summary, LIMIT, report_url)
}

fn render_full(run: &Run, summary: &RunSummary, limit: usize, report_url: Option<&str>) -> String {
    let t = &summary.totals;
    let icon = match summary.verdict {
        Verdict::Breaking => "❌",
        Verdict::Warning => "⚠️",
        Verdict::Ok => "✅",
    };
    // Suppressed drifts never count as breaking/warning/info; they are named apart
    // (only when there are some, as in the terminal summary).
    let suppressed = if t.suppressed > 0 {
        format!(" · {} suppressed", t.suppressed)
    } else {
        String::new()
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {icon} driftwatch: {} breaking · {} warning · {} info · {}{suppressed}\n",
        t.breaking,
        t.warning,
        t.info,
        plural(t.errors, "error")
    );
    let (new, known): (Vec<&Drift>, Vec<&Drift>) = run
        .drifts
        .iter()
        .partition(|d| d.suppressed.is_none() && d.is_new_in(&run.run_id));
    let _ = write!(
        out,
        "**{} new** since the previous run · {} known · {} · {}",
        new.len(),
        known.len(),
        plural(t.failing, "failing connection"),
        plural(t.errors, "run error")
    );
    if let Some(url) = report_url {
        let url = url.replace("{run_id}", &run.run_id);
        let _ = write!(out, " · [HTML report]({})", link_target(&url));
    }
    out.push_str("\n\n");
    let _ = writeln!(
        out,
        "Run `{}` · started {} · {:.1}s\n",
        run.run_id,
        run.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        run.duration_ms as f64 / 1000.0
    );
    let mut budget = Budget {
        limit,
        omitted_drifts: 0,
        omitted_other: 0,
        full: false,
    };
    // Run errors and credential problems first: neither is the provider's API changing.
    if !run.errors.is_empty() {
        budget.push(
            &mut out,
            "## Run errors\n\n| provider | class | connection | subject | message |\n|---|---|---|---|---|\n",
            false,
        );
        for e in &run.errors {
            let row = format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&e.provider),
                cell(&e.class),
                cell(e.connection.as_deref().unwrap_or("all")),
                cell(e.subject.as_deref().unwrap_or("-")),
                text(&short(&e.message))
            );
            budget.push(&mut out, &row, false);
        }
        budget.push(&mut out, "\n", false);
    }
    // Connection states: an unusable connection is reported here, never as drift.
    if !run.connections.is_empty() {
        out.push_str("## Connections\n\n| provider | connection | state | usable | message |\n|---|---|---|---|---|\n");
        let shown = pick(run.connections.len(), CONNECTION_ROWS, |i| {
            let c = &run.connections[i];
            (!c.usable, c.severity)
        });
        let more = run.connections.len() - shown.len();
        for c in shown.into_iter().map(|i| &run.connections[i]) {
            let _ = writeln!(
                out,
                "| {} | {} | {}{} | {} | {} |",
                cell(&c.provider),
                cell(&c.connection),
                match c.severity {
                    Some(Severity::Breaking) => "❌ ",
                    Some(_) => "⚠️ ",
                    None => "",
                },
                cell(c.state.as_str()),
                if c.usable { "yes" } else { "no: not compared" },
                text(&short(c.message.as_deref().unwrap_or("-")))
            );
        }
        if more > 0 {
            let _ = writeln!(
                out,
                "| … | {more} more connections in run.json, none of them worse than those above | | | |"
            );
        }
        out.push('\n');
    }
    out.push_str("| provider | breaking | warning | info | errors | pending |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|\n");
    // Looked up once per suite: `pick` asks for priorities many times while it sorts.
    let counts: Vec<_> = run
        .suites
        .iter()
        .map(|s| summary.provider(&s.provider))
        .collect();
    let shown = pick(run.suites.len(), PROVIDER_ROWS, |i| {
        let c = &counts[i];
        (c.breaking + c.errors, c.warning, c.info)
    });
    let more = run.suites.len() - shown.len();
    for (s, c) in shown.into_iter().map(|i| (&run.suites[i], &counts[i])) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&short(&s.provider)),
            c.breaking,
            c.warning,
            c.info,
            c.errors,
            c.pending
        );
    }
    if more > 0 {
        let _ = writeln!(out, "| {more} more providers in run.json | | | | | |");
    }
    // New drifts, most severe first; then known ones, collapsed.
    let by_severity = |v: &mut Vec<&Drift>| {
        v.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.sort_key().cmp(&b.sort_key()))
        })
    };
    let (mut new, mut known) = (new, known);
    by_severity(&mut new);
    by_severity(&mut known);
    if !new.is_empty() {
        budget.push(
            &mut out,
            &format!(
                "\n## New since the previous run ({})\n\n{}",
                new.len(),
                drift_header(false)
            ),
            false,
        );
        for d in &new {
            budget.push(&mut out, &drift_row(d, None), true);
        }
    }
    if !known.is_empty() {
        let head = format!(
            "\n<details><summary>{} (still open; not accepted)</summary>\n\n{}",
            plural(known.len(), "known drift"),
            drift_header(true)
        );
        budget.push(&mut out, &head, false);
        for d in &known {
            budget.push(&mut out, &drift_row(d, Some(run)), true);
        }
        budget.push(&mut out, "\n</details>\n", false);
    }
    if !run.findings.is_empty() {
        let head = format!(
            "\n<details><summary>{} (re-checked every run; not drift)</summary>\n\n{}",
            plural(run.findings.len(), "finding"),
            drift_header(true)
        );
        budget.push(&mut out, &head, false);
        for d in &run.findings {
            budget.push(&mut out, &drift_row(d, Some(run)), false);
        }
        budget.push(&mut out, "\n</details>\n", false);
    }
    if budget.full {
        if budget.omitted_drifts > 0 {
            let _ = write!(out, "\n… {} more drifts", budget.omitted_drifts);
        } else {
            out.push_str("\n… output truncated");
        }
        if budget.omitted_other > 0 {
            let _ = write!(out, " (and {} more lines)", budget.omitted_other);
        }
        out.push_str(", see run.json\n");
        // An unclosed <details> would swallow whatever GitHub puts after us.
        if out.matches("<details>").count() > out.matches("</details>").count() {
            out.push_str("\n</details>\n");
        }
    }
    out
}

fn drift_header(since: bool) -> &'static str {
    if since {
        "| severity | provider | rule | subject | path | connections | what changed | since |\n|---|---|---|---|---|---|---|---|\n"
    } else {
        "| severity | provider | rule | subject | path | connections | what changed |\n|---|---|---|---|---|---|---|\n"
    }
}

/// One drift as a table row; with `run`, a last column says since when it is open.
fn drift_row(d: &Drift, run: Option<&Run>) -> String {
    let connections = if d.connections.is_empty() {
        "all".to_string()
    } else {
        d.connections.join(", ")
    };
    let severity = match &d.suppressed {
        Some(_) => format!("{} (suppressed)", d.severity),
        None => d.severity.to_string(),
    };
    let mut row = format!(
        "| {} | {} | {} | {} {} | {} | {} | {} |",
        severity,
        cell(&d.provider),
        code(d.rule.as_str()),
        d.probe,
        code(&d.subject),
        d.path.as_deref().map_or("-".to_string(), code),
        cell(&connections),
        text(&d.message)
    );
    if let Some(run) = run {
        let since = match &d.first_seen {
            Some(f) if f.run_id == run.run_id => "new".to_string(),
            Some(f) => format!("{} ({})", f.at.format("%Y-%m-%d"), code(&f.run_id)),
            None => "-".to_string(),
        };
        let _ = write!(row, " {since} |");
    }
    row.push('\n');
    row
}

/// Makes provider-controlled text safe inside a table cell: no column
/// breaks, no code spans, no HTML, one line.
pub(crate) fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => {}
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `s` as one GitHub code span that is safe in a table cell: the fence is longer than
/// any run of backticks inside, padded when the content starts or ends with a backtick,
/// `|` escaped (GitHub splits cells before it parses spans), one line.
pub(crate) fn code(s: &str) -> String {
    let one_line: String = s
        .chars()
        .filter(|c| *c != '\r')
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    if one_line.is_empty() {
        return "-".into();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in one_line.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if one_line.starts_with('`')
        || one_line.ends_with('`')
        || (one_line.starts_with(' ') && one_line.ends_with(' ') && one_line.trim() != "")
    {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", one_line.replace('|', "\\|"))
}

/// A driftwatch message for a table cell: its `code spans` rendered as code spans
/// (see [`code`]), the text around them as [`cell`] text. A backtick without a partner
/// stays literal.
pub(crate) fn text(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let mut out = String::with_capacity(s.len() + 8);
    // Parts alternate text / span / text …; an even count means the last backtick is unpaired.
    let paired = if parts.len() % 2 == 1 {
        parts.len()
    } else {
        parts.len() - 1
    };
    for (i, p) in parts.iter().enumerate() {
        if i >= paired {
            out.push_str("\\`");
            out.push_str(&cell(p));
        } else if i % 2 == 1 {
            out.push_str(&code(p));
        } else {
            out.push_str(&cell(p));
        }
    }
    out
}

/// A URL as a Markdown link target: spaces and parentheses percent-encoded so the link
/// cannot end early.
fn link_target(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
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
    fn markdown_of_the_fixed_run() {
        let run = fixed_run();
        insta::assert_snapshot!(render(&run, &RunSummary::of(&run)));
    }

    fn md(run: &Run) -> String {
        render(run, &RunSummary::of(run))
    }

    #[test]
    fn cells_escape_pipes_backticks_html_and_newlines() {
        assert_eq!(cell("a|b `c`\n<d>"), "a\\|b \\`c\\` &lt;d&gt;");
    }

    /// Issue 18 item 7: a code span holding a backtick needs a longer fence, and a `|`
    /// anywhere (in a span too) must not split the table cell.
    #[test]
    fn markdown_code_spans_are_github_correct() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("two\nlines"), "`two lines`");
        assert_eq!(
            text("field `$.a|b` is <gone> | now"),
            "field `$.a\\|b` is &lt;gone&gt; \\| now"
        );
        assert_eq!(text("odd ` tick"), "odd \\` tick");
        assert_eq!(text("`a` and `b`"), "`a` and `b`");
    }

    /// Issue 18 item 7: run errors and credential problems come before drifts, new drifts
    /// before known ones (collapsed, with since when), and the HTML report is linked.
    #[test]
    fn markdown_errors_first_then_new_then_known_collapsed() {
        let mut run = fixed_run();
        let earlier = crate::model::FirstSeen {
            run_id: "20261120T210000Z-0001".into(),
            at: run.started_at - chrono::Duration::days(7),
        };
        let here = crate::model::FirstSeen {
            run_id: run.run_id.clone(),
            at: run.started_at,
        };
        // The breaking drift is known; the others are new.
        for d in run.drifts.iter_mut() {
            d.first_seen = Some(if d.severity == Severity::Breaking {
                earlier.clone()
            } else {
                here.clone()
            });
        }
        let text = render_linked(
            &run,
            &RunSummary::of(&run),
            Some("https://ci.example/runs/{run_id}/index.html"),
        );
        assert!(
            text.contains("**2 new** since the previous run · 1 known · 1 failing connection · 1 run error · [HTML report](https://ci.example/runs/20261127T210000Z-abcd/index.html)\n"),
            "{text}"
        );
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("no {needle} in {text}"))
        };
        assert!(at("## Run errors") < at("## Connections"));
        assert!(at("## Connections") < at("## New since the previous run (2)"));
        assert!(at("## New since the previous run (2)") < at("<details><summary>1 known drift"));
        // New: warning before info.
        assert!(
            at("| warning | demo | `schema.status-changed`")
                < at("| info | demo | `refresh.class-changed`")
        );
        assert!(text.contains(
            "| breaking | demo | `schema.type-changed` | schema `invoices` | `$.data[].amount_cents` | all | `$.data[].amount_cents` changed type from integer to string | 2026-11-20 (`20261120T210000Z-0001`) |"
        ), "{text}");
        let new_section = &text[at("## New since")..at("<details><summary>1 known drift")];
        assert!(
            !new_section.contains(crate::rules::Rule::SchemaTypeChanged.id()),
            "{new_section}"
        );
    }

    #[test]
    fn verdict_follows_the_worst_result() {
        let mut run = fixed_run();
        assert!(md(&run).starts_with("# ❌ "));
        run.errors.clear();
        // An unusable connection fails like a run error.
        assert!(md(&run).starts_with("# ❌ "));
        run.connections.retain(|c| c.usable);
        run.drifts.retain(|d| d.severity != Severity::Breaking);
        assert!(md(&run).starts_with("# ⚠️ "));
        run.drifts.retain(|d| d.severity == Severity::Info);
        assert!(md(&run).starts_with("# ✅ "));
    }

    /// Issue 16: a suppressed breaking drift was counted as "❌ 1 breaking".
    #[test]
    fn suppressed_breaking_drift_is_not_counted() {
        let mut run = fixed_run();
        run.errors.clear();
        run.connections.retain(|c| c.usable);
        for d in run
            .drifts
            .iter_mut()
            .filter(|d| d.severity == Severity::Breaking)
        {
            d.suppressed = Some("JIRA-1".into());
        }
        let text = md(&run);
        assert!(
            text.starts_with(
                "# ⚠️ driftwatch: 0 breaking · 1 warning · 1 info · 0 errors · 1 suppressed\n"
            ),
            "{text}"
        );
        assert!(text.contains("| demo | 0 | 1 | 1 | 0 | 1 |"), "{text}");
        assert!(
            text.contains("| breaking (suppressed) | demo | `schema.type-changed` |"),
            "{text}"
        );
    }

    #[test]
    fn long_runs_are_truncated_with_a_count() {
        let mut run = fixed_run();
        let template = run.drifts[1].clone();
        run.drifts = (0..2000)
            .map(|i| Drift {
                path: Some(format!("$.field_{i:04}")),
                ..template.clone()
            })
            .collect();
        let text = md(&run);
        assert!(text.len() <= LIMIT, "{} bytes", text.len());
        let shown = text.matches("| `$.field_").count();
        assert!(shown > 100, "only {shown} rows shown");
        let note = format!("… {} more drifts", 2000 - shown);
        assert!(text.contains(&note), "no `{note}` in the tail");
        assert!(text.ends_with("see run.json\n\n</details>\n") || text.ends_with("see run.json\n"));
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
    }

    /// GitHub rejects comments over 65,536 characters: thousands of connections and
    /// providers, all in trouble, still fit, with counts of what was left out.
    #[test]
    fn markdown_bounded_with_thousands_of_connections_and_providers() {
        let mut run = fixed_run();
        let template = run.connections[2].clone();
        run.connections = (0..5_000)
            .map(|i| crate::model::ConnectionStatus {
                connection: format!("conn-{i:04}"),
                message: Some("x".repeat(2_000)),
                ..template.clone()
            })
            .collect();
        run.connections[4_000].usable = true;
        let suite = run.suites[0].clone();
        run.suites = (0..2_000)
            .map(|i| crate::run::SuiteSummary {
                provider: format!("provider-{i:04}"),
                ..suite.clone()
            })
            .collect();
        // One provider with drifts: it is kept in the counts table.
        run.drifts[0].provider = "provider-1999".into();
        let text = render(&run, &RunSummary::of(&run));
        assert!(
            text.chars().count() <= 65_536,
            "{} chars",
            text.chars().count()
        );
        assert!(text.len() <= LIMIT, "{} bytes", text.len());
        assert_eq!(text.matches("| quiet | conn-").count(), CONNECTION_ROWS);
        assert!(
            !text.contains("conn-4000"),
            "a usable connection is cut first"
        );
        assert!(text.contains(&format!(
            "| … | {} more connections in run.json",
            5_000 - CONNECTION_ROWS
        )));
        assert!(
            text.contains("| provider-1999 | 0 | 0 | 1 |"),
            "the provider with a drift is kept"
        );
        assert!(text.contains(&format!(
            "| {} more providers in run.json |",
            2_000 - PROVIDER_ROWS
        )));
        assert!(!text.contains(&"x".repeat(CELL_CHARS + 1)));
    }

    #[test]
    fn small_limit_keeps_headers_and_counts_everything_else() {
        let run = fixed_run();
        let text = render_within(&run, &RunSummary::of(&run), 0);
        assert!(text.contains("| demo | 1 | 1 | 1 | 1 | 1 |"));
        assert!(text.contains("… 3 more drifts"));
        assert!(!text.contains(crate::rules::Rule::SchemaTypeChanged.id()));
    }
}
