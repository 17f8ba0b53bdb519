//! GitHub Actions workflow-command annotations (`::error title=…::…`) for a
//! finished run: one line per drift and per run error. Knows nothing of how
//! the run was produced.

use crate::model::{Drift, Severity};
use crate::run::Run;
use std::fmt::Write;

/// One annotation per drift (`::error` breaking, `::warning` warning,
/// `::notice` info) and one `::error` per run error, in the run's order.
pub fn render(run: &Run) -> String {
    let mut out = String::new();
    for d in &run.drifts {
        // A suppressed drift is known and does not fail the run: a notice, never an error.
        let level = match (&d.suppressed, d.severity) {
            (Some(_), _) | (None, Severity::Info) => "notice",
            (None, Severity::Breaking) => "error",
            (None, Severity::Warning) => "warning",
        };
        let mut message = drift_message(d);
        let mut title = d.rule.clone();
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
        run.drifts.truncate(1);
        run.drifts[0].rule = "r::x,y".into();
        run.drifts[0].message = "evil\n::error::pwned".into();
        assert_eq!(
            render(&run),
            "::notice title=r%3A%3Ax%2Cy::demo refresh refresh [acme-corp]: evil%0A::error::pwned\n"
        );
    }
}
