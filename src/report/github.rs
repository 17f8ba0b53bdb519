//! GitHub Actions workflow-command annotations (`::error title=…::…`) for a
//! finished run, capped to what GitHub shows of one step. Knows nothing of how
//! the run was produced.

use crate::model::{ConnectionStatus, Drift, Severity};
use crate::run::Run;
use std::fmt::Write;

/// How many annotations of one level GitHub shows per step: 10 errors, 10 warnings (GitHub's
/// documented limit, `actions/toolkit` docs/problem-matchers.md; 50 per job) and, by the same
/// rule, 10 notices. Lines past the cap would be dropped silently, so `render` picks what to
/// keep and says what it left out.
pub const PER_LEVEL: usize = 10;

/// Levels in the order they are printed: most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// One annotation: its level, its rank inside the level (lower first) and its line.
struct Item {
    level: Level,
    rank: u8,
    line: String,
}

/// At most [`PER_LEVEL`] annotations of each level, errors first, then warnings, then notices.
/// Inside a level: connection items (a connection's state is decided before anything is
/// compared; an unusable one names its reconnect command), then run errors, then drifts new in
/// this run ([`Drift::is_new_in`]) before known ones, then suppressed drifts (always notices);
/// the run's order otherwise. Breaking drift is an error, warning a warning, info a notice. When
/// anything was left out, the last notice slot holds one summary notice counting it by level.
pub fn render(run: &Run) -> String {
    let mut items = Vec::new();
    for c in &run.connections {
        let Some(severity) = c.severity else {
            continue;
        };
        items.push(Item {
            level: level(severity),
            rank: 0,
            line: line(
                level(severity),
                &format!("driftwatch connection {}", c.state),
                &connection_message(c),
            ),
        });
    }
    for e in &run.errors {
        let mut place = e.provider.clone();
        if let Some(s) = &e.subject {
            let _ = write!(place, " {s}");
        }
        if let Some(c) = &e.connection {
            let _ = write!(place, "@{c}");
        }
        items.push(Item {
            level: Level::Error,
            rank: 1,
            line: line(
                Level::Error,
                &format!("driftwatch {} error", e.class),
                &format!("{place}: {}", e.message),
            ),
        });
    }
    for d in &run.drifts {
        // A suppressed drift is known and does not fail the run: a notice, never an error.
        let (level, rank) = match &d.suppressed {
            Some(_) => (Level::Notice, 4),
            None if d.is_new_in(&run.run_id) => (level(d.severity), 2),
            None => (level(d.severity), 3),
        };
        let mut message = drift_message(d);
        let mut title = d.rule.to_string();
        if let Some(reason) = &d.suppressed {
            title.push_str(" (suppressed)");
            let _ = write!(message, " — suppressed: {reason}");
        }
        items.push(Item {
            level,
            rank,
            line: line(level, &title, &message),
        });
    }
    // Stable: the run's order survives inside one (level, rank).
    items.sort_by_key(|i| (i.level, i.rank));
    let total = |l: Level| items.iter().filter(|i| i.level == l).count();
    let (errors, warnings, notices) = (
        total(Level::Error),
        total(Level::Warning),
        total(Level::Notice),
    );
    let over = errors > PER_LEVEL || warnings > PER_LEVEL || notices > PER_LEVEL;
    // The summary takes the last notice slot.
    let notice_cap = if over { PER_LEVEL - 1 } else { PER_LEVEL };
    let cap = |l: Level| match l {
        Level::Notice => notice_cap,
        _ => PER_LEVEL,
    };
    let mut out = String::new();
    let mut shown = [0usize; 3];
    for i in &items {
        let n = &mut shown[i.level as usize];
        if *n < cap(i.level) {
            *n += 1;
            out.push_str(&i.line);
        }
    }
    if over {
        let left = [
            (errors - shown[0], "error"),
            (warnings - shown[1], "warning"),
            (notices - shown[2], "notice"),
        ];
        let counts: Vec<String> = left
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}(s)"))
            .collect();
        out.push_str(&line(
            Level::Notice,
            "driftwatch annotations left out",
            &format!(
                "{} not shown (GitHub shows {PER_LEVEL} annotations of each level per step); \
                 the job log, the step summary and the report list everything",
                counts.join(", ")
            ),
        ));
    }
    out
}

/// One workflow-command line.
fn line(level: Level, title: &str, message: &str) -> String {
    format!(
        "::{} title={}::{}\n",
        level.as_str(),
        escape_property(title),
        escape_data(message)
    )
}

fn level(severity: Severity) -> Level {
    match severity {
        Severity::Breaking => Level::Error,
        Severity::Warning => Level::Warning,
        Severity::Info => Level::Notice,
    }
}

/// Which connection, then its own (redacted) sentence; an unusable one always ends with the
/// command that re-authorises it.
fn connection_message(c: &ConnectionStatus) -> String {
    let mut m = format!("{} connection {}", c.provider, c.connection);
    match &c.message {
        Some(text) => {
            let _ = write!(m, ": {text}");
        }
        None => {
            let _ = write!(m, ": {}", c.state);
        }
    }
    if let Some(cmd) = &c.reconnect
        && !c.usable
        && !c
            .message
            .as_deref()
            .is_some_and(|t| t.contains(cmd.as_str()))
    {
        let _ = write!(m, " — reconnect: `{cmd}`");
    }
    m
}

/// Where the drift is, then what changed: annotations carry no file, so the
/// message itself has to say which provider and endpoint.
fn drift_message(d: &Drift) -> String {
    let mut m = format!("{} {} {}", d.provider, d.probe, d.subject);
    if let Some(p) = &d.path {
        let _ = write!(m, " {p}");
    }
    if !d.connections.is_empty() {
        let _ = write!(m, " [{}]", d.connections.join(", "));
    }
    let _ = write!(m, ": {}", d.message);
    m
}

/// Escapes a command's data (after `::`), per the workflow-command spec.
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: data escapes plus `:` and `,`, which would
/// otherwise end the value.
pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fixed_run;

    #[test]
    fn annotations_of_the_fixed_run() {
        insta::assert_snapshot!(render(&fixed_run()));
    }

    #[test]
    fn a_suppressed_breaking_drift_is_a_notice_with_its_reason() {
        let mut run = fixed_run();
        run.errors.clear();
        run.connections.clear();
        run.drifts.truncate(1);
        run.drifts[0].severity = Severity::Breaking;
        run.drifts[0].message = "gone".into();
        run.drifts[0].suppressed = Some("JIRA-1".into());
        assert_eq!(
            render(&run),
            format!(
                "::notice title={} (suppressed)::demo refresh refresh [acme-corp]: gone — suppressed: JIRA-1\n",
                run.drifts[0].rule
            )
        );
    }

    #[test]
    fn connection_items_are_annotated_by_severity_before_drifts() {
        use crate::model::{ConnectionState, ConnectionStatus};
        let mut run = fixed_run();
        run.drifts.clear();
        run.errors.clear();
        let mut consumed =
            ConnectionStatus::healthy("demo", "burner", "demo/burner", ConnectionState::Consumed);
        consumed.severity = Some(Severity::Info);
        consumed.message = Some("spent".into());
        run.connections.push(consumed);
        // An unusable connection whose message does not name the command gets it appended.
        run.connections[2].message = Some("connection `app` cannot be used".into());
        assert_eq!(
            render(&run),
            "::error title=driftwatch connection grant-dead::quiet connection app: connection `app` cannot be used — reconnect: `driftwatch connect suites/quiet.yaml app`\n\
             ::warning title=driftwatch connection access-token-rejected::demo connection globex: the provider rejected the access token of connection `globex` before it expired (1 request(s) answered 401); it was refreshed once and the retried request(s) worked\n\
             ::notice title=driftwatch connection consumed::demo connection burner: spent\n"
        );
        // A message that already names the command is not repeated.
        let run = fixed_run();
        let out = render(&run);
        let errors: Vec<_> = out.lines().filter(|l| l.contains("grant-dead")).collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0]
                .matches("driftwatch connect suites/quiet.yaml app")
                .count(),
            1
        );
    }

    /// A run of `n` drifts of `severity` named `<prefix>1..n` (message `m<prefix>N`), first seen
    /// in `first_seen` (`None`: new).
    fn drifts(n: usize, severity: Severity, prefix: &str, first_seen: Option<&str>) -> Vec<Drift> {
        let template = fixed_run().drifts[0].clone();
        (1..=n)
            .map(|i| {
                let mut d = template.clone();
                d.rule = crate::rules::RuleId::parse(&format!("{prefix}{i}"));
                d.severity = severity;
                d.connections.clear();
                d.path = None;
                d.message = format!("m{prefix}{i}");
                d.first_seen = first_seen.map(|run_id| crate::model::FirstSeen {
                    run_id: run_id.into(),
                    at: template_time(),
                });
                d
            })
            .collect()
    }

    fn template_time() -> chrono::DateTime<chrono::Utc> {
        fixed_run().started_at
    }

    /// The annotation line of one drift made by `drifts`.
    fn drift_line(level: &str, name: &str) -> String {
        format!("::{level} title={name}::demo refresh refresh: m{name}\n")
    }

    #[test]
    fn annotations_capped_at_ten_per_level_new_before_known_then_one_summary_notice() {
        let mut run = fixed_run();
        run.connections.clear();
        run.errors.clear();
        let this = run.run_id.clone();
        // In the run's order: known breaking first, then new breaking (first seen now, and
        // with no history), warnings, and more info drifts than notices fit.
        run.drifts = drifts(4, Severity::Breaking, "k", Some("20261126T210000Z-prev"));
        run.drifts
            .extend(drifts(5, Severity::Breaking, "n", Some(&this)));
        run.drifts.extend(drifts(3, Severity::Breaking, "h", None));
        run.drifts.extend(drifts(11, Severity::Warning, "w", None));
        run.drifts.extend(drifts(12, Severity::Info, "i", None));
        let mut expected = String::new();
        for name in ["n1", "n2", "n3", "n4", "n5", "h1", "h2", "h3", "k1", "k2"] {
            expected.push_str(&drift_line("error", name));
        }
        for i in 1..=10 {
            expected.push_str(&drift_line("warning", &format!("w{i}")));
        }
        for i in 1..=9 {
            expected.push_str(&drift_line("notice", &format!("i{i}")));
        }
        expected.push_str(
            "::notice title=driftwatch annotations left out::2 error(s), 1 warning(s), 3 notice(s) \
             not shown (GitHub shows 10 annotations of each level per step); the job log, the \
             step summary and the report list everything\n",
        );
        let out = render(&run);
        assert_eq!(out, expected);
        assert_eq!(out.lines().filter(|l| l.starts_with("::error")).count(), 10);
        assert_eq!(
            out.lines().filter(|l| l.starts_with("::warning")).count(),
            10
        );
        assert_eq!(
            out.lines().filter(|l| l.starts_with("::notice")).count(),
            10
        );
    }

    #[test]
    fn connection_items_and_run_errors_outrank_drifts_under_the_cap() {
        let mut run = fixed_run();
        // One unusable connection (error), one recovered (warning), one run error.
        run.drifts = drifts(10, Severity::Breaking, "b", None);
        let out = render(&run);
        let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("::error")).collect();
        assert_eq!(errors.len(), 10, "{out}");
        assert!(errors[0].starts_with("::error title=driftwatch connection grant-dead::"));
        assert_eq!(
            errors[1],
            "::error title=driftwatch timeout error::demo me@globex: request timed out after 10s"
        );
        assert_eq!(errors[9].to_owned() + "\n", drift_line("error", "b8"));
        assert_eq!(
            out.lines().last(),
            Some(
                "::notice title=driftwatch annotations left out::2 error(s) not shown (GitHub \
                 shows 10 annotations of each level per step); the job log, the step summary \
                 and the report list everything"
            )
        );
    }

    #[test]
    fn no_summary_when_everything_fits() {
        let mut run = fixed_run();
        run.connections.clear();
        run.errors.clear();
        run.drifts = drifts(10, Severity::Breaking, "b", None);
        run.drifts.extend(drifts(10, Severity::Info, "i", None));
        let out = render(&run);
        assert_eq!(out.lines().count(), 20, "{out}");
        assert!(!out.contains("left out"), "{out}");
    }

    #[test]
    fn data_escapes_percent_and_line_breaks_only() {
        assert_eq!(escape_data("50% a,b:c\r\nd"), "50%25 a,b:c%0D%0Ad");
    }

    #[test]
    fn property_escapes_colon_and_comma_too() {
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn an_injected_command_stays_on_its_line() {
        let mut run = fixed_run();
        run.errors.clear();
        run.connections.clear();
        run.drifts.truncate(1);
        run.drifts[0].rule = crate::rules::RuleId::parse("r::x,y");
        run.drifts[0].message = "evil\n::error::pwned".into();
        assert_eq!(
            render(&run),
            "::notice title=r%3A%3Ax%2Cy::demo refresh refresh [acme-corp]: evil%0A::error::pwned\n"
        );
    }
}
