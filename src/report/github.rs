//! GitHub Actions workflow-command annotations (`::error title=…::…`) for a
//! finished run: one line per connection item, per drift and per run error.
//! Knows nothing of how the run was produced.

use crate::model::{ConnectionStatus, Drift, Severity};
use crate::run::Run;
use std::fmt::Write;

/// Connection items first (a connection's state is decided before anything is compared):
/// one `::error` per unusable connection naming it and its reconnect command, `::warning`
/// for a recovered one (`access-token-rejected`), `::notice` for an informational one
/// (`consumed`). Then one annotation per drift (`::error` breaking, `::warning` warning,
/// `::notice` info) and one `::error` per run error, in the run's order.
pub fn render(run: &Run) -> String {
    let mut out = String::new();
    for c in &run.connections {
        let Some(severity) = c.severity else {
            continue;
        };
        let _ = writeln!(
            out,
            "::{} title={}::{}",
            level(severity),
            escape_property(&format!("driftwatch connection {}", c.state)),
            escape_data(&connection_message(c))
        );
    }
    for d in &run.drifts {
        // A suppressed drift is known and does not fail the run: a notice, never an error.
        let level = match (&d.suppressed, d.severity) {
            (Some(_), _) | (None, Severity::Info) => "notice",
            (None, Severity::Breaking) => "error",
            (None, Severity::Warning) => "warning",
        };
        let mut message = drift_message(d);
        let mut title = d.rule.to_string();
        if let Some(reason) = &d.suppressed {
            title.push_str(" (suppressed)");
            let _ = write!(message, " — suppressed: {reason}");
        }
        let _ = writeln!(
            out,
            "::{level} title={}::{}",
            escape_property(&title),
            escape_data(&message)
        );
    }
    for e in &run.errors {
        let mut place = e.provider.clone();
        if let Some(s) = &e.subject {
            let _ = write!(place, " {s}");
        }
        if let Some(c) = &e.connection {
            let _ = write!(place, "@{c}");
        }
        let _ = writeln!(
            out,
            "::error title={}::{}",
            escape_property(&format!("driftwatch {} error", e.class)),
            escape_data(&format!("{place}: {}", e.message))
        );
    }
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Breaking => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
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
            "::warning title=driftwatch connection access-token-rejected::demo connection globex: the provider rejected the access token of connection `globex` before it expired (1 request(s) answered 401); it was refreshed once and the retried request(s) worked\n\
             ::error title=driftwatch connection grant-dead::quiet connection app: connection `app` cannot be used — reconnect: `driftwatch connect suites/quiet.yaml app`\n\
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
