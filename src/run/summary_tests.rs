use super::*;
use crate::report::fixture::fixed_run;

#[test]
fn fixed_run_counts_per_provider_and_in_total() {
    let s = RunSummary::of(&fixed_run());
    let names: Vec<&str> = s.providers.iter().map(|p| p.provider.as_str()).collect();
    assert_eq!(names, ["demo", "quiet"]);
    let demo = s.provider("demo");
    assert_eq!(
        (demo.breaking, demo.warning, demo.info, demo.suppressed),
        (1, 1, 1, 0)
    );
    assert_eq!((demo.findings, demo.errors, demo.pending), (1, 1, 1));
    assert_eq!((demo.connections, demo.unusable, demo.failing), (2, 0, 0));
    let quiet = s.provider("quiet");
    assert_eq!(
        (
            quiet.drifts,
            quiet.connections,
            quiet.unusable,
            quiet.failing
        ),
        (0, 1, 1, 1)
    );
    assert_eq!(s.totals.drifts, 3);
    assert_eq!(s.totals.at_least(Severity::Warning), 2);
    assert_eq!(s.verdict, Verdict::Breaking);
    assert_eq!(s.exit_code(FailOn::Breaking), exit::RUNTIME);
}

/// Issue 16: Markdown counted a suppressed breaking drift while terminal and JUnit did not.
#[test]
fn suppressed_drift_is_counted_apart_and_never_fails() {
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
    let s = RunSummary::of(&run);
    assert_eq!(
        (
            s.totals.breaking,
            s.totals.warning,
            s.totals.info,
            s.totals.suppressed
        ),
        (0, 1, 1, 1)
    );
    assert_eq!(s.totals.drifts, 3);
    assert_eq!(s.verdict, Verdict::Warning);
    assert_eq!(s.exit_code(FailOn::Breaking), exit::OK);
    assert_eq!(
        run.drifts
            .iter()
            .filter(|d| RunSummary::fails(d, FailOn::Breaking))
            .count(),
        0
    );
    assert_eq!(
        run.drifts
            .iter()
            .filter(|d| RunSummary::fails(d, FailOn::Warning))
            .count(),
        1
    );
    assert_eq!(s.exit_code(FailOn::Warning), exit::DRIFT);
    assert_eq!(s.exit_code(FailOn::Never), exit::OK);
}

#[test]
fn suppressed_finding_is_suppressed_not_a_finding() {
    let mut run = fixed_run();
    run.findings[0].suppressed = Some("known".into());
    let s = RunSummary::of(&run);
    assert_eq!((s.totals.findings, s.totals.suppressed), (0, 1));
}

#[test]
fn a_provider_only_in_drifts_gets_a_group_without_a_file() {
    let mut run = fixed_run();
    let mut d = run.drifts[0].clone();
    d.provider = "suppressions".into();
    d.severity = Severity::Info;
    run.drifts.push(d);
    let s = RunSummary::of(&run);
    let g = s
        .providers
        .iter()
        .find(|p| p.provider == "suppressions")
        .expect("group");
    assert_eq!((g.file.as_deref(), g.counts.info), (None, 1));
    assert_eq!(s.totals.drifts, 4);
}

#[test]
fn a_shard_run_exits_on_trouble_only() {
    let mut run = fixed_run();
    run.shard = Some("1/2".parse().expect("shard"));
    assert_eq!(RunSummary::of(&run).exit_code(FailOn::Info), exit::RUNTIME);
    run.errors.clear();
    run.connections.retain(|c| c.usable);
    assert_eq!(RunSummary::of(&run).exit_code(FailOn::Info), exit::OK);
}
