use super::*;
use crate::report::fixture::fixed_run;
use chrono::TimeZone;

/// The fixed run, fingerprinted as `finalise` leaves it, under another id and date.
fn run_at(id: &str, day: u32) -> Run {
    let mut run = fixed_run();
    run.run_id = id.into();
    run.started_at = chrono::Utc
        .with_ymd_and_hms(2026, 11, day, 21, 0, 0)
        .single()
        .unwrap();
    run.finished_at = run.started_at;
    for d in run.drifts.iter_mut().chain(run.findings.iter_mut()) {
        d.fingerprint = crate::rules::fingerprint(d);
    }
    run
}

fn firsts(run: &Run) -> Vec<&str> {
    run.drifts
        .iter()
        .chain(&run.findings)
        .map(|d| d.first_seen.as_ref().unwrap().run_id.as_str())
        .collect()
}

#[test]
fn first_seen_without_history_is_this_run() {
    let mut run = run_at("r1", 1);
    carry_first_seen(&mut run, None);
    assert_eq!(firsts(&run), ["r1"; 4]);
    assert_eq!(new_count(&run), 3);
    let e = HistoryEntry::of(&run, 3, None);
    assert_eq!(e.new, 3);
    assert_eq!(e.drifts.len(), 3);
    assert_eq!(e.findings.len(), 1);
    assert_eq!(e.verdict, "breaking");
    assert_eq!(e.exit_code, 3);
    assert_eq!(
        e.counts,
        HistoryCounts {
            breaking: 1,
            warning: 1,
            info: 1,
            suppressed: 0,
            findings: 1,
            errors: 1,
            unusable: 1
        }
    );
    assert_eq!(e.problems.len(), 2, "{:?}", e.problems);
}

#[test]
fn first_seen_is_carried_from_the_previous_entry_and_a_returning_drift_is_new_again() {
    let mut night1 = run_at("r1", 1);
    carry_first_seen(&mut night1, None);
    let e1 = HistoryEntry::of(&night1, 1, None);
    // Night 2: the first drift was accepted (absent); the rest still open.
    let mut night2 = run_at("r2", 2);
    let gone = night2.drifts.remove(0);
    carry_first_seen(&mut night2, Some(&Previous::from_entry(&e1)));
    assert_eq!(firsts(&night2), ["r1"; 3]);
    assert_eq!(new_count(&night2), 0);
    let e2 = HistoryEntry::of(&night2, 1, None);
    // Night 3: it comes back; only it is new.
    let mut night3 = run_at("r3", 3);
    carry_first_seen(&mut night3, Some(&Previous::from_entry(&e2)));
    let back = night3
        .drifts
        .iter()
        .find(|d| d.fingerprint == gone.fingerprint)
        .unwrap();
    assert_eq!(back.first_seen.as_ref().unwrap().run_id, "r3");
    assert_eq!(new_count(&night3), 1);
    let known = night3.drifts.iter().filter(|d| !d.is_new_in("r3")).count();
    assert_eq!(known, 2);
}

#[test]
fn previous_run_json_carries_first_seen_like_history() {
    let mut night1 = run_at("r1", 1);
    carry_first_seen(&mut night1, None);
    let mut night2 = run_at("r2", 2);
    carry_first_seen(&mut night2, Some(&Previous::from_run(&night1)));
    assert_eq!(firsts(&night2), ["r1"; 4]);
    // A run.json without first_seen (older format): its own run is the first sighting.
    let mut old = run_at("r0", 1);
    for d in old.drifts.iter_mut() {
        d.fingerprint.clear();
    }
    let mut night2 = run_at("r2", 2);
    carry_first_seen(&mut night2, Some(&Previous::from_run(&old)));
    assert_eq!(firsts(&night2), ["r0"; 4]);
}

#[test]
fn suppressed_drifts_carry_first_seen_too() {
    let mut night1 = run_at("r1", 1);
    night1.drifts[1].suppressed = Some("JIRA-1".into());
    carry_first_seen(&mut night1, None);
    let e1 = HistoryEntry::of(&night1, 1, None);
    assert!(e1.drifts[1].suppressed);
    let mut night2 = run_at("r2", 2);
    night2.drifts[1].suppressed = Some("JIRA-1".into());
    carry_first_seen(&mut night2, Some(&Previous::from_entry(&e1)));
    assert_eq!(night2.drifts[1].first_seen.as_ref().unwrap().run_id, "r1");
}

#[test]
fn changes_name_new_worse_and_new_connection_problems_only() {
    let mut night1 = run_at("r1", 1);
    carry_first_seen(&mut night1, None);
    let c1 = Changes::of(&night1, None);
    assert_eq!(c1.new.len(), 3);
    assert_eq!(c1.new_problems.len(), 2);
    let prev = Previous::from_entry(&HistoryEntry::of(&night1, 1, None));
    // Same world: nothing new.
    let mut same = run_at("r2", 2);
    carry_first_seen(&mut same, Some(&prev));
    assert!(!Changes::of(&same, Some(&prev)).any());
    // The info drift becomes breaking: worse, not new.
    let mut worse = run_at("r2", 2);
    let info = worse
        .drifts
        .iter_mut()
        .find(|d| d.severity == Severity::Info)
        .unwrap();
    info.severity = Severity::Breaking;
    let fp = info.fingerprint.clone();
    carry_first_seen(&mut worse, Some(&prev));
    let c = Changes::of(&worse, Some(&prev));
    assert_eq!(c.worse, BTreeSet::from([fp]));
    assert!(c.new.is_empty() && c.new_problems.is_empty());
    // A connection problem changes state: new.
    let mut dead = run_at("r2", 2);
    dead.connections[1].state = crate::model::ConnectionState::GrantDead;
    dead.connections[1].usable = false;
    carry_first_seen(&mut dead, Some(&prev));
    let c = Changes::of(&dead, Some(&prev));
    assert_eq!(c.new_problems, [("demo".to_string(), "globex".to_string())]);
}

#[test]
fn history_entry_holds_no_message_or_evidence() {
    let mut run = run_at("r1", 1);
    carry_first_seen(&mut run, None);
    let line = serde_json::to_string(&HistoryEntry::of(&run, 1, None)).unwrap();
    for d in run.drifts.iter().chain(&run.findings) {
        assert!(!line.contains(&d.message), "{line}");
    }
    assert!(!line.contains("integer"), "{line}");
    assert!(!line.contains("x0001"), "{line}");
}

#[test]
fn history_appends_one_line_per_run_and_reads_newest_last() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/history.jsonl");
    assert!(read_history(&path).unwrap().entries.is_empty());
    for (i, id) in ["r1", "r2", "r3"].into_iter().enumerate() {
        let mut run = run_at(id, i as u32 + 1);
        carry_first_seen(&mut run, None);
        append(&path, &HistoryEntry::of(&run, 0, None)).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3);
    let h = read_history(&path).unwrap();
    assert!(h.warnings.is_empty());
    let ids: Vec<_> = h.entries.iter().map(|e| e.run_id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2", "r3"]);
    assert_eq!(history_entries(&path).len(), 3);
}

/// A crash mid-append leaves a torn last line: reading warns and skips it, and the next
/// append starts on a line of its own.
#[test]
fn history_torn_last_line_is_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let mut run = run_at("r1", 1);
    carry_first_seen(&mut run, None);
    append(&path, &HistoryEntry::of(&run, 0, None)).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(br#"{"format":"driftwatch-history/1","run_id":"r2","sta"#)
        .unwrap();
    drop(f);
    let h = read_history(&path).unwrap();
    assert_eq!(h.entries.len(), 1);
    assert_eq!(h.warnings.len(), 1);
    assert!(
        h.warnings[0].contains("ignoring its last line"),
        "{:?}",
        h.warnings
    );
    let mut run = run_at("r3", 3);
    carry_first_seen(&mut run, None);
    append(&path, &HistoryEntry::of(&run, 0, None)).unwrap();
    let h = read_history(&path).unwrap();
    let ids: Vec<_> = h.entries.iter().map(|e| e.run_id.as_str()).collect();
    assert_eq!(ids, ["r1", "r3"]);
    assert_eq!(h.warnings.len(), 1);
    assert!(
        h.warnings[0].contains("line 2 of the last 3"),
        "{:?}",
        h.warnings
    );
}

#[test]
fn history_reading_keeps_the_last_max_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let mut run = run_at("r", 1);
    run.drifts.clear();
    run.findings.clear();
    let mut text = String::new();
    for i in 0..MAX_RUNS + 5 {
        run.run_id = format!("r{i:04}");
        text.push_str(&serde_json::to_string(&HistoryEntry::of(&run, 0, None)).unwrap());
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    let h = read_history(&path).unwrap();
    assert_eq!(h.entries.len(), MAX_RUNS);
    assert_eq!(h.entries[0].run_id, "r0005");
    assert_eq!(
        h.entries[MAX_RUNS - 1].run_id,
        format!("r{:04}", MAX_RUNS + 4)
    );
}

#[test]
fn history_that_is_a_directory_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_history(dir.path()).unwrap_err();
    assert!(e.to_string().contains("is not a regular file"), "{e}");
}

/// An outage hides a drift for one night (a run error on its subject): the history keeps
/// it, unconfirmed, so it is not new again when the subject answers the night after.
#[test]
fn history_keeps_drifts_a_run_could_not_look_at() {
    let mut night1 = run_at("r1", 1);
    carry_first_seen(&mut night1, None);
    let p1 = Previous::from_entry(&HistoryEntry::of(&night1, 1, None));
    // Night 2: `me` timed out (the fixture's error), so its status drift is not reported;
    // the drift on `invoices` was fixed for real.
    let mut night2 = run_at("r2", 2);
    night2.drifts.retain(|d| d.subject == "refresh");
    carry_first_seen(&mut night2, Some(&p1));
    let e2 = HistoryEntry::of(&night2, 3, Some(&p1));
    let subjects: Vec<(&str, bool)> = e2
        .drifts
        .iter()
        .map(|i| (i.subject.as_str(), i.unconfirmed))
        .collect();
    assert_eq!(subjects, [("refresh", false), ("me", true)]);
    // Night 3: `me` answers again and still drifts: known since night 1.
    let mut night3 = run_at("r3", 3);
    night3.errors.clear();
    carry_first_seen(&mut night3, Some(&Previous::from_entry(&e2)));
    let me = night3.drifts.iter().find(|d| d.subject == "me").unwrap();
    assert_eq!(me.first_seen.as_ref().unwrap().run_id, "r1");
    let inv = night3
        .drifts
        .iter()
        .find(|d| d.subject == "invoices")
        .unwrap();
    assert_eq!(inv.first_seen.as_ref().unwrap().run_id, "r3");
}
