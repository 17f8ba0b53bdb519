//! The JUnit XML reporter: one `<testsuite>` per provider, one `<testcase>`
//! per probe × subject × connection observed in a finished run, so CI test
//! dashboards show drift as failing tests. Never probes, never diffs.

use crate::model::{ConnectionStatus, Drift, ProbeKind, RunError, Severity};
use crate::run::{Run, RunSummary};
use crate::settings::FailOn;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Where a test case points: the observation key without the provider.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CaseKey {
    probe: ProbeKind,
    subject: String,
    connection: Option<String>,
}

impl CaseKey {
    /// `schema me`, `refresh refresh@umbrella`.
    fn name(&self) -> String {
        match &self.connection {
            Some(c) => format!("{} {}@{c}", self.probe, self.subject),
            None => format!("{} {}", self.probe, self.subject),
        }
    }

    /// A drift belongs to a merged observation of its subject, or to the
    /// per-connection observations of the connections that show it.
    fn holds(&self, d: &Drift) -> bool {
        self.probe == d.probe
            && self.subject == d.subject
            && match &self.connection {
                None => true,
                Some(c) => d.connections.is_empty() || d.connections.contains(c),
            }
    }
}

/// One provider's view: its cases with their drifts, and its run errors.
struct SuiteView<'a> {
    provider: &'a str,
    cases: BTreeMap<CaseKey, Vec<&'a Drift>>,
    errors: Vec<&'a RunError>,
}

fn view<'a>(run: &'a Run, provider: &'a str) -> SuiteView<'a> {
    let mut cases: BTreeMap<CaseKey, Vec<&Drift>> = run
        .observations
        .iter()
        .filter(|o| o.key.provider == provider)
        .map(|o| {
            let key = CaseKey {
                probe: o.key.probe,
                subject: o.key.subject.clone(),
                connection: o.key.connection.clone(),
            };
            (key, Vec::new())
        })
        .collect();
    for d in run.drifts.iter().filter(|d| d.provider == provider) {
        let mut placed = false;
        for (k, v) in cases.iter_mut() {
            if k.holds(d) {
                v.push(d);
                placed = true;
            }
        }
        // A drift about something not observed this run (an endpoint that
        // vanished) still needs a case, or the failure would be invisible.
        if !placed {
            let key = CaseKey {
                probe: d.probe,
                subject: d.subject.clone(),
                connection: None,
            };
            cases.entry(key).or_default().push(d);
        }
    }
    SuiteView {
        provider,
        cases,
        errors: run
            .errors
            .iter()
            .filter(|e| e.provider == provider)
            .collect(),
    }
}

/// Renders the run as JUnit XML. Unsuppressed drifts at or above `fail_on` are
/// `<failure>`s ([`RunSummary::fails`]), lower ones `<system-out>`; run errors are
/// `<error>` cases. Each `<testsuite>` carries the provider's drift counts from
/// `summary` as properties (`drifts.breaking`, `drifts.warning`, `drifts.info`,
/// `drifts.suppressed`), the same numbers every other report shows.
pub fn render(run: &Run, counts: &RunSummary, fail_on: FailOn) -> String {
    let mut report = Report::new("driftwatch");
    report.set_timestamp(run.started_at);
    report.set_time(std::time::Duration::from_millis(run.duration_ms));
    for summary in &run.suites {
        let v = view(run, &summary.provider);
        let mut suite = TestSuite::new(v.provider);
        suite.set_timestamp(run.started_at);
        suite.add_property(("file", summary.file.as_str()));
        let c = counts.provider(&summary.provider);
        for (name, n) in [
            ("drifts.breaking", c.breaking),
            ("drifts.warning", c.warning),
            ("drifts.info", c.info),
            ("drifts.suppressed", c.suppressed),
        ] {
            suite.add_property((name, n.to_string().as_str()));
        }
        // Only for a run that knows its drifts' history (`run` and `merge` set `first_seen`).
        let provider_drifts = || run.drifts.iter().filter(|d| d.provider == summary.provider);
        if provider_drifts().any(|d| d.first_seen.is_some()) {
            let new = provider_drifts()
                .filter(|d| d.suppressed.is_none() && d.is_new_in(&run.run_id))
                .count();
            suite.add_property(("drifts.new", new.to_string().as_str()));
        }
        // Connection states first: an unusable connection is one failing case, never drift.
        for c in run
            .connections
            .iter()
            .filter(|c| c.provider == summary.provider)
        {
            suite.add_test_case(connection_case(c));
        }
        for n in run
            .not_compared
            .iter()
            .filter(|n| n.key.provider == summary.provider)
        {
            let key = CaseKey {
                probe: n.key.probe,
                subject: n.key.subject.clone(),
                connection: n.key.connection.clone(),
            };
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!("{} ({})", n.reason, n.connections.join(", ")));
            let mut case = TestCase::new(key.name(), status);
            case.set_classname(summary.provider.as_str());
            suite.add_test_case(case);
        }
        for (key, drifts) in &v.cases {
            suite.add_test_case(drift_case(run, v.provider, key, drifts, fail_on));
        }
        for e in &v.errors {
            suite.add_test_case(error_case(e));
        }
        report.add_test_suite(suite);
    }
    match report.to_string() {
        Ok(mut s) => {
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        // Serialising to a String only fails on I/O, which a String never has.
        Err(e) => format!("<!-- cannot serialise the JUnit report: {e} -->\n"),
    }
}

fn drift_case(
    run: &Run,
    provider: &str,
    key: &CaseKey,
    drifts: &[&Drift],
    fail_on: FailOn,
) -> TestCase {
    let failing: Vec<&&Drift> = drifts
        .iter()
        .filter(|d| RunSummary::fails(d, fail_on))
        .collect();
    let status = match failing.first() {
        None => TestCaseStatus::success(),
        Some(first) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let mut message = first.rule.to_string();
            if let Some(p) = &first.path {
                let _ = write!(message, " {p}");
            }
            if failing.len() > 1 {
                let _ = write!(message, " (+{} more)", failing.len() - 1);
            }
            s.set_message(message);
            s.set_type(first.severity.as_str());
            s.set_description(drifts.iter().map(|d| describe(run, d)).collect::<String>());
            s
        }
    };
    let mut case = TestCase::new(key.name(), status);
    case.set_classname(provider);
    if failing.is_empty() && !drifts.is_empty() {
        case.set_system_out(drifts.iter().map(|d| describe(run, d)).collect::<String>());
    }
    // Identity across runs: `new` (any drift of the case first reported by this run) and
    // one `first_seen` per drift: `<time> <run id> <rule>[ <path>]`.
    if drifts.iter().any(|d| d.first_seen.is_some()) {
        let new = drifts.iter().any(|d| is_new(run, d));
        case.add_property(("new", if new { "true" } else { "false" }));
        for d in drifts {
            if let Some(f) = &d.first_seen {
                let mut v = format!(
                    "{} {} {}",
                    f.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    f.run_id,
                    d.rule
                );
                if let Some(p) = &d.path {
                    let _ = write!(v, " {p}");
                }
                case.add_property(("first_seen", v.as_str()));
            }
        }
    }
    case
}

/// First reported by this run, as its history says.
fn is_new(run: &Run, d: &Drift) -> bool {
    d.first_seen
        .as_ref()
        .is_some_and(|f| f.run_id == run.run_id)
}

/// `connection <id>`: a failure when the connection is unusable, else a success (with the
/// recovered trouble, if any, as output).
fn connection_case(c: &ConnectionStatus) -> TestCase {
    let status = if c.usable {
        TestCaseStatus::success()
    } else {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        s.set_message(format!(
            "{}{}",
            c.state,
            c.error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ));
        s.set_type(Severity::Breaking.as_str());
        s.set_description(c.message.clone().unwrap_or_default());
        s
    };
    let mut case = TestCase::new(format!("connection {}", c.connection), status);
    case.set_classname(c.provider.as_str());
    if c.usable
        && let Some(m) = &c.message
    {
        case.set_system_out(format!("{}: {m}\n", c.state));
    }
    case
}

fn error_case(e: &RunError) -> TestCase {
    let mut name = e.probe.map(|p| p.as_str()).unwrap_or("run").to_string();
    if let Some(s) = &e.subject {
        let _ = write!(name, " {s}");
    }
    if let Some(c) = &e.connection {
        let _ = write!(name, "@{c}");
    }
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status.set_message(e.message.as_str());
    status.set_type(e.class.as_str());
    let mut case = TestCase::new(name, status);
    case.set_classname(e.provider.as_str());
    case
}

/// One drift as plain text: headline (`new` when first reported by this run), message,
/// evidence.
fn describe(run: &Run, d: &Drift) -> String {
    let mut s = format!("{} {}", d.severity, d.rule);
    if is_new(run, d) {
        s.insert_str(0, "new ");
    }
    if let Some(p) = &d.path {
        let _ = write!(s, " {p}");
    }
    if !d.connections.is_empty() {
        let _ = write!(s, " [{}]", d.connections.join(", "));
    }
    let _ = write!(s, "\n  {}\n", d.message);
    for (label, value) in [("before", &d.before), ("after", &d.after)] {
        if let Some(v) = value {
            let _ = writeln!(s, "  {label}: {v}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fixed_run;

    fn j(run: &Run, fail_on: FailOn) -> String {
        render(run, &RunSummary::of(run), fail_on)
    }

    /// Issue 18: each drift case says whether it is new and since when each drift is open.
    #[test]
    fn junit_carries_first_seen_and_new_properties() {
        let mut run = fixed_run();
        let earlier = crate::model::FirstSeen {
            run_id: "20261120T210000Z-0001".into(),
            at: run.started_at - chrono::Duration::days(7),
        };
        for d in run.drifts.iter_mut() {
            d.first_seen = Some(if d.severity == Severity::Breaking {
                earlier.clone()
            } else {
                crate::model::FirstSeen {
                    run_id: run.run_id.clone(),
                    at: run.started_at,
                }
            });
        }
        let xml = j(&run, FailOn::Breaking);
        assert!(
            xml.contains(r#"<property name="drifts.new" value="2"/>"#),
            "{xml}"
        );
        assert_eq!(
            xml.matches(r#"<property name="new" value="true"/>"#)
                .count(),
            2,
            "{xml}"
        );
        assert_eq!(
            xml.matches(r#"<property name="new" value="false"/>"#)
                .count(),
            1,
            "{xml}"
        );
        assert!(xml.contains(
            r#"<property name="first_seen" value="2026-11-20T21:00:00Z 20261120T210000Z-0001 schema.type-changed $.data[].amount_cents"/>"#
        ), "{xml}");
        assert!(xml.contains("new warning schema.status-changed"), "{xml}");
        // A run without history (an old run.json) carries none of them.
        let plain = j(&fixed_run(), FailOn::Breaking);
        assert!(
            !plain.contains("first_seen") && !plain.contains(r#"name="new""#),
            "{plain}"
        );
    }

    #[test]
    fn suites_carry_the_summary_counts_as_properties() {
        let mut run = fixed_run();
        run.drifts[1].suppressed = Some("JIRA-1".into());
        let xml = j(&run, FailOn::Breaking);
        let demo = &xml[xml.find(r#"<testsuite name="demo""#).unwrap()..];
        for p in [
            r#"<property name="drifts.breaking" value="0"/>"#,
            r#"<property name="drifts.warning" value="1"/>"#,
            r#"<property name="drifts.info" value="1"/>"#,
            r#"<property name="drifts.suppressed" value="1"/>"#,
        ] {
            assert!(demo.contains(p), "missing {p} in\n{demo}");
        }
        // The suppressed breaking drift is no failure: only the unusable connection fails.
        assert_eq!(xml.matches("<failure").count(), 1);
    }

    #[test]
    fn junit_of_the_fixed_run() {
        insta::assert_snapshot!(j(&fixed_run(), FailOn::Breaking));
    }

    #[test]
    fn threshold_decides_failure_or_system_out() {
        let run = fixed_run();
        let count = |s: &str, pat: &str| s.matches(pat).count();
        // The unusable connection (`quiet/app`) fails whatever the threshold: it is no drift.
        let never = j(&run, FailOn::Never);
        assert_eq!(count(&never, "<failure"), 1);
        assert_eq!(count(&never, "<error"), 1);
        let warning = j(&run, FailOn::Warning);
        assert_eq!(count(&warning, "<failure"), 3);
        let info = j(&run, FailOn::Info);
        assert_eq!(count(&info, "<failure"), 4);
    }

    #[test]
    fn an_unusable_connection_is_one_failing_case_first() {
        let xml = j(&fixed_run(), FailOn::Never);
        let quiet = &xml[xml.find(r#"<testsuite name="quiet""#).unwrap()..];
        let first = quiet.find("<testcase").unwrap();
        assert!(
            quiet[first..].starts_with(r#"<testcase name="connection app" classname="quiet">"#),
            "{quiet}"
        );
        assert_eq!(
            xml.matches(r#"<failure message="grant-dead (invalid_grant)""#)
                .count(),
            1
        );
        assert_eq!(
            xml.matches("not compared: connection unusable (app)")
                .count(),
            1
        );
    }

    #[test]
    fn case_names_follow_probe_subject_connection() {
        let xml = j(&fixed_run(), FailOn::Breaking);
        for name in [
            r#"name="refresh refresh@acme-corp" classname="demo""#,
            r#"name="schema invoices" classname="demo""#,
            r#"name="schema me" classname="demo""#,
            r#"name="schema me@globex" classname="demo""#,
            r#"name="schema status" classname="quiet""#,
        ] {
            assert!(xml.contains(name), "missing {name} in\n{xml}");
        }
    }

    #[test]
    fn unobserved_drift_still_gets_a_case_and_xml_is_escaped() {
        let mut run = fixed_run();
        run.observations.clear();
        run.errors.clear();
        run.drifts.truncate(2);
        run.drifts[1].message = "<b>&</b>".into();
        let xml = j(&run, FailOn::Breaking);
        assert!(xml.contains(r#"<testcase name="schema invoices" classname="demo">"#));
        assert!(xml.contains("&lt;b&gt;&amp;&lt;/b&gt;"));
        assert!(!xml.contains("<b>"));
    }
}
