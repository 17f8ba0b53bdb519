//! `driftwatch review`: walks pending snapshots one by one, shows their drifts and a diff
//! against the accepted file, and accepts or rejects each on the user's answer. Reads answers
//! from any `BufRead` so it knows nothing about terminals or where the drifts came from.
//! Pending snapshots come from `snapshots/` itself or, for a CI run that may not write there,
//! from the `pending/` folder of its report ([`Pending::carried`]).

use super::snapshot::{SnapshotError, SnapshotHeader, parse_snapshot, render_snapshot};
use super::store::{BaselineStore, Filter, SnapshotBatch, accepted_path};
use crate::model::{Drift, Observation, ObservationKey};
use anstyle::{AnsiColor, Style};
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The folder of a run's report (`reports/<run-id>/pending/`) where a run that writes no
/// `.snap.new` under `snapshots/` (every CI run, `--update no`) keeps them instead.
pub const CARRIED_DIR: &str = "pending";

/// Writes what a run would have left for review into `<report_dir>/pending/`, laid out like
/// `snapshots/`: `<subject>.snap.new` is the observation (as `--update new` writes it) and
/// `<subject>.snap`, when the observation had a baseline, a copy of the accepted file it was
/// compared with, so a later `review --from` can tell whether that baseline changed since.
/// `observations` are `(suite file, observation)` pairs. Nothing under `snapshots` is written.
/// Returns how many pending snapshots were written.
pub fn write_carried<'a>(
    snapshots: &BaselineStore,
    report_dir: &Path,
    observations: impl IntoIterator<Item = (&'a str, &'a Observation)>,
) -> Result<usize, SnapshotError> {
    let carried = BaselineStore::new(report_dir.join(CARRIED_DIR));
    let mut batch = SnapshotBatch::default();
    let mut written = 0;
    for (suite, obs) in observations {
        let at = carried.path_for(&obs.key);
        let header = SnapshotHeader::new(suite, obs.key.clone());
        batch.write(pending_of(&at), render_snapshot(&header, &obs.body));
        if let Some(base) = read_optional(&snapshots.path_for(&obs.key))? {
            batch.write(at, base);
        }
        written += 1;
    }
    batch.commit()?;
    Ok(written)
}

/// `<accepted>.new`.
fn pending_of(accepted: &Path) -> PathBuf {
    let mut s = accepted.as_os_str().to_owned();
    s.push(".new");
    PathBuf::from(s)
}

/// A snapshot file's text, `None` when there is no such file.
fn read_optional(path: &Path) -> Result<Option<String>, SnapshotError> {
    match crate::bounded::read_bounded_string(path, crate::bounded::SNAPSHOT_LIMIT) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SnapshotError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Where the pending snapshots of a review, `accept` or `reject` live, and what accepting one
/// means: local `.snap.new` files under `snapshots/` (renamed into place), or those a CI run
/// carried in its report folder (copied into `snapshots/`, only while the baseline they were
/// compared with is still the accepted one).
#[derive(Debug)]
pub struct Pending<'a> {
    store: &'a BaselineStore,
    from: Option<BaselineStore>,
}

impl<'a> Pending<'a> {
    /// The `.snap.new` files under `store`'s root.
    pub fn local(store: &'a BaselineStore) -> Self {
        Pending { store, from: None }
    }

    /// The snapshots a run carried in `report_dir` (`reports/<run-id>/` or a downloaded
    /// artifact of it), to be accepted into `store`.
    pub fn carried(store: &'a BaselineStore, report_dir: &Path) -> Self {
        Pending {
            store,
            from: Some(BaselineStore::new(report_dir.join(CARRIED_DIR))),
        }
    }

    /// The store the pending files are listed from.
    pub fn source(&self) -> &BaselineStore {
        self.from.as_ref().unwrap_or(self.store)
    }

    /// The pending files `filter` selects, with their keys, sorted by path.
    pub fn items(&self, filter: &Filter) -> Result<Vec<(PathBuf, ObservationKey)>, SnapshotError> {
        self.source().pending_matching(filter)
    }

    /// For a carried snapshot whose baseline changed since the run (accepted, edited or
    /// removed, or created where the run saw none): the accepted file's path. Accepting it would
    /// overwrite a decision made after the run without anyone seeing that difference.
    pub fn stale(
        &self,
        pending: &Path,
        key: &ObservationKey,
    ) -> Result<Option<PathBuf>, SnapshotError> {
        if self.from.is_none() {
            return Ok(None);
        }
        let accepted = self.store.path_for(key);
        let then = read_optional(&accepted_path(pending))?;
        let now = read_optional(&accepted)?;
        Ok((then != now).then_some(accepted))
    }

    /// Makes `pending` the accepted baseline of `key`; returns the accepted path. A carried file
    /// is written atomically into `snapshots/` (replacing a local `.snap.new` of the same key)
    /// and then removed from the report folder, so accepting twice finds nothing left.
    pub fn accept(&self, pending: &Path, key: &ObservationKey) -> Result<PathBuf, SnapshotError> {
        let Some(from) = &self.from else {
            return self.store.accept_one(pending);
        };
        let text = read_optional(pending)?.ok_or_else(|| SnapshotError::Io {
            action: "read",
            path: pending.to_path_buf(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        parse_snapshot(pending, &text)?;
        let accepted = self.store.path_for(key);
        let mut batch = SnapshotBatch::default();
        batch.write(accepted.clone(), text);
        batch.remove(pending_of(&accepted));
        batch.commit()?;
        let mut done = SnapshotBatch::default();
        done.remove(pending.to_path_buf());
        done.remove(from.path_for(key));
        done.commit()?;
        Ok(accepted)
    }

    /// Drops `pending` (a carried one only from the report folder: `snapshots/` is untouched).
    pub fn reject(&self, pending: &Path, key: &ObservationKey) -> Result<(), SnapshotError> {
        let Some(from) = &self.from else {
            return self.store.reject_one(pending);
        };
        let mut done = SnapshotBatch::default();
        done.remove(pending.to_path_buf());
        done.remove(from.path_for(key));
        done.commit()
    }
}

/// The line that refuses a carried snapshot whose baseline changed since the run.
pub fn refused_line(key: &ObservationKey, accepted: &Path) -> String {
    format!(
        "refused {key}: its baseline {} changed since the run; run driftwatch again to review \
         the difference from the current baseline",
        accepted.display()
    )
}

/// Why a review stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("cannot talk to the terminal")]
    Terminal(#[source] std::io::Error),
}

/// What a review did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewSummary {
    pub accepted: usize,
    pub rejected: usize,
    /// Skipped, or left when the user quit.
    pub skipped: usize,
    /// Carried from a CI run, but their baseline changed since (see [`Pending::stale`]).
    pub refused: usize,
}

impl std::fmt::Display for ReviewSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "accepted {}, rejected {}, skipped {}",
            self.accepted, self.rejected, self.skipped
        )?;
        if self.refused > 0 {
            write!(f, ", refused {}", self.refused)?;
        }
        Ok(())
    }
}

/// Whether `drift` concerns the snapshot `key`: same provider, probe and subject, and for a
/// per-connection snapshot, a drift naming that connection (or naming none).
pub fn drift_concerns(drift: &Drift, key: &ObservationKey) -> bool {
    drift.provider == key.provider
        && drift.probe == key.probe
        && drift.subject == key.subject
        && key
            .connection
            .as_ref()
            .is_none_or(|c| drift.connections.is_empty() || drift.connections.contains(c))
}

/// `accept --rule` named a rule that is neither catalogued nor in the run's drifts.
#[derive(Debug, thiserror::Error)]
#[error("unknown rule `{rule}`{hint}; `driftwatch rules` lists them")]
pub struct UnknownRule {
    pub rule: String,
    /// ` (did you mean `…`?)` when a catalogued id is close, else empty.
    hint: String,
}

/// Checks the rule id a user typed for `accept --rule`/`reject --rule`: a catalogued id, or
/// one the run's `drifts` carry (a run written by an older build may hold a retired id).
/// A typo is refused with the closest catalogued id, instead of silently selecting nothing.
pub fn check_rule(rule: &str, drifts: &[Drift]) -> Result<(), UnknownRule> {
    if crate::rules::Rule::from_id(rule).is_some() || drifts.iter().any(|d| d.rule == rule) {
        return Ok(());
    }
    Err(UnknownRule {
        rule: rule.to_owned(),
        hint: crate::rules::suggest(rule)
            .map(|id| format!(" (did you mean `{id}`?)"))
            .unwrap_or_default(),
    })
}

/// Keys of the pending snapshots (in `store`: where they are listed from, see
/// [`Pending::source`]) that `drifts` (a run's) show a drift of `rule` for.
pub fn keys_with_rule(
    store: &BaselineStore,
    drifts: &[Drift],
    rule: &str,
) -> Result<BTreeSet<ObservationKey>, SnapshotError> {
    Ok(store
        .pending_matching(&Filter::default())?
        .into_iter()
        .map(|(_, key)| key)
        .filter(|key| {
            drifts
                .iter()
                .any(|d| d.rule == rule && drift_concerns(d, key))
        })
        .collect())
}

#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Accept,
    Reject,
    Skip,
    AcceptAll,
    RejectAll,
    Quit,
}

const PROMPT: &str = "[a]ccept  [r]eject  [s]kip  [A]ccept all  [R]eject all  [q]uit: ";

/// Reviews every pending snapshot `filter` selects, in path order, printing to `out` and
/// reading one answer per line from `input`. End of input counts as quit. A carried snapshot
/// whose baseline changed since its run is refused first, with a line saying so.
pub fn review(
    pending: &Pending<'_>,
    filter: &Filter,
    drifts: &[Drift],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    color: bool,
) -> Result<ReviewSummary, ReviewError> {
    let mut summary = ReviewSummary::default();
    let mut items = Vec::new();
    for (path, key) in pending.items(filter)? {
        match pending.stale(&path, &key)? {
            Some(accepted) => {
                writeln!(out, "{}", refused_line(&key, &accepted))
                    .map_err(ReviewError::Terminal)?;
                summary.refused += 1;
            }
            None => items.push((path, key)),
        }
    }
    let mut all: Option<Answer> = None;
    for (i, (path, key)) in items.iter().enumerate() {
        let answer = match all {
            Some(a) => a,
            None => {
                show(path, key, drifts, i + 1, items.len(), out, color)?;
                ask(input, out)?
            }
        };
        match answer {
            Answer::Accept | Answer::AcceptAll => {
                pending.accept(path, key)?;
                summary.accepted += 1;
            }
            Answer::Reject | Answer::RejectAll => {
                pending.reject(path, key)?;
                summary.rejected += 1;
            }
            Answer::Skip => summary.skipped += 1,
            Answer::Quit => {
                summary.skipped += items.len() - i;
                break;
            }
        }
        if matches!(answer, Answer::AcceptAll | Answer::RejectAll) {
            all = Some(answer);
        }
    }
    writeln!(out, "{summary}").map_err(ReviewError::Terminal)?;
    Ok(summary)
}

fn ask(input: &mut dyn BufRead, out: &mut dyn Write) -> Result<Answer, ReviewError> {
    loop {
        write!(out, "{PROMPT}")
            .and_then(|()| out.flush())
            .map_err(ReviewError::Terminal)?;
        let mut line = String::new();
        if input.read_line(&mut line).map_err(ReviewError::Terminal)? == 0 {
            writeln!(out).map_err(ReviewError::Terminal)?;
            return Ok(Answer::Quit);
        }
        let answer = match line.trim() {
            "a" => Answer::Accept,
            "r" => Answer::Reject,
            "s" => Answer::Skip,
            "A" => Answer::AcceptAll,
            "R" => Answer::RejectAll,
            "q" => Answer::Quit,
            other => {
                // Issue 18: a bad key says which keys exist instead of re-prompting silently.
                let other = if other.is_empty() { "Enter" } else { other };
                writeln!(
                    out,
                    "`{other}` is not an answer: press a (accept), r (reject), s (skip), \
                     A (accept all), R (reject all) or q (quit)"
                )
                .map_err(ReviewError::Terminal)?;
                continue;
            }
        };
        return Ok(answer);
    }
}

fn show(
    pending: &std::path::Path,
    key: &ObservationKey,
    drifts: &[Drift],
    n: usize,
    total: usize,
    out: &mut dyn Write,
    color: bool,
) -> Result<(), ReviewError> {
    let paint = |style: Style, text: &str| {
        if color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    };
    let bold = Style::new().bold();
    let mut text = format!(
        "\n{} {}\n",
        paint(bold, &format!("[{n}/{total}]")),
        paint(bold, &key.to_string())
    );
    for d in drifts.iter().filter(|d| drift_concerns(d, key)) {
        text.push_str(&format!(
            "  {} {} {} {}\n",
            d.severity,
            d.rule,
            d.path.as_deref().unwrap_or("-"),
            d.message
        ));
    }
    let accepted = accepted_path(pending);
    let old = match crate::bounded::read_bounded_string(&accepted, crate::bounded::SNAPSHOT_LIMIT) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            text.push_str("  (new: no accepted baseline yet)\n");
            String::new()
        }
        Err(source) => {
            return Err(SnapshotError::Io {
                action: "read",
                path: accepted,
                source,
            }
            .into());
        }
    };
    let new = crate::bounded::read_bounded_string(pending, crate::bounded::SNAPSHOT_LIMIT)
        .map_err(|source| SnapshotError::Io {
            action: "read",
            path: pending.to_path_buf(),
            source,
        })?;
    let diff = TextDiff::from_lines(&old, &new);
    text.push_str(&paint(bold, "--- accepted\n+++ pending\n"));
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        text.push_str(&paint(
            AnsiColor::Cyan.on_default(),
            &format!("{}", hunk.header()),
        ));
        text.push('\n');
        for change in hunk.iter_changes() {
            let (sign, style) = match change.tag() {
                ChangeTag::Delete => ("-", AnsiColor::Red.on_default()),
                ChangeTag::Insert => ("+", AnsiColor::Green.on_default()),
                ChangeTag::Equal => (" ", Style::new()),
            };
            let line = format!("{sign}{}", change.value().trim_end_matches('\n'));
            text.push_str(&paint(style, &line));
            text.push('\n');
        }
    }
    out.write_all(text.as_bytes())
        .map_err(ReviewError::Terminal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::UpdateMode;
    use crate::model::{Observation, ProbeKind, Severity};
    use crate::rules::{Rule, RuleId};
    use serde_json::json;
    use std::path::{Path, PathBuf};

    fn key(subject: &str, connection: Option<&str>) -> ObservationKey {
        ObservationKey {
            provider: "demo".into(),
            probe: ProbeKind::Schema,
            subject: subject.into(),
            connection: connection.map(str::to_owned),
        }
    }

    fn drift(rule: Rule, subject: &str, connections: &[&str]) -> Drift {
        Drift {
            rule: rule.emit(Severity::Breaking),
            severity: Severity::Breaking,
            provider: "demo".into(),
            probe: ProbeKind::Schema,
            subject: subject.into(),
            path: Some("$.id".into()),
            connections: connections.iter().map(|c| c.to_string()).collect(),
            message: "`$.id` changed type".into(),
            before: None,
            after: None,
            exchanges: Vec::new(),
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        }
    }

    /// A schema observation body of one answer (a change of it is drift, so it is pending).
    fn schema_body(answer: &serde_json::Value) -> serde_json::Value {
        let shape = crate::probe::shape::infer(answer).expect("shape");
        json!({"responses": {}, "shape": shape.to_body()})
    }

    /// Three pending snapshots: `a` and `b` change an accepted baseline, `c@x` is new.
    fn world(dir: &Path) -> BaselineStore {
        let store = BaselineStore::new(dir);
        for k in [key("a", None), key("b", None)] {
            let o = Observation {
                key: k,
                body: schema_body(&json!({"id": 1})),
            };
            store
                .compare("s.yaml", &o, UpdateMode::Always)
                .expect("seed");
        }
        for k in [key("a", None), key("b", None), key("c", Some("x"))] {
            let o = Observation {
                key: k,
                body: schema_body(&json!({"id": "one"})),
            };
            store
                .compare("s.yaml", &o, UpdateMode::New)
                .expect("pending");
        }
        store
    }

    fn run(store: &BaselineStore, answers: &str) -> (ReviewSummary, String) {
        let mut out = Vec::new();
        let drifts = [drift(Rule::SchemaTypeChanged, "a", &[])];
        let got = review(
            &Pending::local(store),
            &Filter::default(),
            &drifts,
            &mut answers.as_bytes(),
            &mut out,
            false,
        )
        .expect("review");
        (got, String::from_utf8(out).expect("utf-8"))
    }

    fn pending(store: &BaselineStore) -> Vec<PathBuf> {
        store.pending().expect("pending")
    }

    #[test]
    fn accept_reject_skip_act_on_one_file_each() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = world(dir.path());
        let (got, out) = run(&store, "a\nnonsense\nr\ns\n");
        assert_eq!(
            got,
            ReviewSummary {
                accepted: 1,
                rejected: 1,
                skipped: 1,
                refused: 0
            }
        );
        assert!(
            out.ends_with("accepted 1, rejected 1, skipped 1\n"),
            "{out}"
        );
        assert!(out.contains("[1/3] demo/schema/a\n  breaking schema.type-changed $.id `$.id` changed type\n--- accepted\n+++ pending\n@@ -17,7 +17,7 @@\n"), "{out}");
        assert!(
            out.contains("\n-        \"integer\"\n+        \"string\"\n"),
            "{out}"
        );
        assert!(
            out.contains("[3/3] demo/schema/c@x\n  (new: no accepted baseline yet)\n"),
            "{out}"
        );
        // The unknown answer was asked again, not taken as skip.
        assert_eq!(out.matches(PROMPT).count(), 4);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("demo/schema/a.snap")).expect("a"),
            std::fs::read_to_string(dir.path().join("demo/schema/c@x.snap.new"))
                .expect("c")
                .replace("c\nconnection: x\n", "a\n")
        );
        assert!(!dir.path().join("demo/schema/b.snap.new").exists());
        assert!(dir.path().join("demo/schema/b.snap").exists());
        assert_eq!(
            pending(&store),
            vec![dir.path().join("demo/schema/c@x.snap.new")]
        );
    }

    #[test]
    fn accept_all_and_reject_all_cover_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = world(dir.path());
        let (got, out) = run(&store, "s\nA\n");
        assert_eq!(
            got,
            ReviewSummary {
                accepted: 2,
                rejected: 0,
                skipped: 1,
                refused: 0
            }
        );
        assert_eq!(out.matches(PROMPT).count(), 2);
        assert_eq!(
            pending(&store),
            vec![dir.path().join("demo/schema/a.snap.new")]
        );
        assert!(dir.path().join("demo/schema/c@x.snap").exists());

        let (got, _) = run(&store, "R\n");
        assert_eq!(got.rejected, 1);
        assert_eq!(pending(&store), Vec::<PathBuf>::new());
        assert!(dir.path().join("demo/schema/a.snap").exists());
    }

    #[test]
    fn quit_and_end_of_input_leave_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = world(dir.path());
        let (got, out) = run(&store, "r\nq\n");
        assert_eq!(
            got,
            ReviewSummary {
                accepted: 0,
                rejected: 1,
                skipped: 2,
                refused: 0
            }
        );
        assert!(
            out.ends_with("accepted 0, rejected 1, skipped 2\n"),
            "{out}"
        );
        assert_eq!(pending(&store).len(), 2);
        let (got, _) = run(&store, "");
        assert_eq!(got.skipped, 2);
        assert_eq!(pending(&store).len(), 2);
    }

    #[test]
    fn colour_only_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = world(dir.path());
        let mut out = Vec::new();
        review(
            &Pending::local(&store),
            &Filter::default(),
            &[],
            &mut "q\n".as_bytes(),
            &mut out,
            true,
        )
        .expect("review");
        let out = String::from_utf8(out).expect("utf-8");
        assert!(
            out.contains("\u{1b}[31m-        \"integer\"\u{1b}[0m"),
            "{out}"
        );
        let (_, plain) = run(&store, "q\n");
        assert!(!plain.contains('\u{1b}'), "{plain}");
    }

    #[test]
    fn accept_rule_typo_is_refused_with_did_you_mean() {
        let drifts = [drift(Rule::SchemaTypeChanged, "a", &[])];
        let err = check_rule("schema.feild-removed", &drifts).expect_err("a typo");
        assert_eq!(
            err.to_string(),
            "unknown rule `schema.feild-removed` (did you mean `schema.field-removed`?); \
             `driftwatch rules` lists them"
        );
        let err = check_rule("nothing-like-a-rule", &drifts).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown rule `nothing-like-a-rule`; `driftwatch rules` lists them"
        );
        // Every catalogued id is accepted, whether or not this run has it.
        assert!(check_rule(Rule::SchemaFieldRemoved.id(), &drifts).is_ok());
    }

    #[test]
    fn accept_rule_takes_a_retired_id_the_run_carries() {
        // A run.json written by an older build may carry an id this build no longer has.
        let mut old = drift(Rule::SchemaTypeChanged, "a", &[]);
        old.rule = RuleId::parse("deprecation.vendor-warning");
        assert_eq!(old.rule.rule(), None);
        assert!(check_rule("deprecation.vendor-warning", &[old]).is_ok());
        assert!(check_rule("deprecation.vendor-warning", &[]).is_err());
    }

    #[test]
    fn rule_selects_keys_by_subject_and_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = world(dir.path());
        let drifts = [
            drift(Rule::SchemaTypeChanged, "a", &[]),
            drift(Rule::SchemaTypeChanged, "c", &["y"]),
            drift(Rule::SchemaFieldRemoved, "b", &[]),
        ];
        let got = keys_with_rule(&store, &drifts, Rule::SchemaTypeChanged.id()).expect("keys");
        assert_eq!(got, BTreeSet::from([key("a", None)]));
        let drifts = [drift(Rule::SchemaTypeChanged, "c", &["x", "y"])];
        let got = keys_with_rule(&store, &drifts, Rule::SchemaTypeChanged.id()).expect("keys");
        assert_eq!(got, BTreeSet::from([key("c", Some("x"))]));
        assert_eq!(
            keys_with_rule(&store, &drifts, "nope").expect("keys"),
            BTreeSet::new()
        );
        let filter = Filter {
            keys: Some(got),
            ..Filter::default()
        };
        assert_eq!(
            store.reject(&filter).expect("reject"),
            vec![dir.path().join("demo/schema/c@x.snap.new")]
        );
    }

    /// Accepted `a` and `b` (`id` an integer) and nothing pending.
    fn accepted_world(dir: &Path) -> BaselineStore {
        let store = BaselineStore::new(dir);
        for k in [key("a", None), key("b", None)] {
            let o = Observation {
                key: k,
                body: schema_body(&json!({"id": 1})),
            };
            store
                .compare("s.yaml", &o, UpdateMode::Always)
                .expect("seed");
        }
        store
    }

    #[test]
    fn ci_pending_is_carried_in_the_report_folder_never_under_snapshots() {
        let dir = tempfile::tempdir().expect("tempdir");
        let snapshots = dir.path().join("snapshots");
        let store = accepted_world(&snapshots);
        let before = std::fs::read_to_string(snapshots.join("demo/schema/a.snap")).expect("a");
        let report = dir.path().join("reports/run-1");
        let changed = Observation {
            key: key("a", None),
            body: schema_body(&json!({"id": "one"})),
        };
        let new = Observation {
            key: key("c", Some("x")),
            body: schema_body(&json!({"id": "one"})),
        };
        let n = write_carried(&store, &report, [("s.yaml", &changed), ("s.yaml", &new)])
            .expect("carry");
        assert_eq!(n, 2);
        let carried = report.join(CARRIED_DIR).join("demo/schema");
        let mut files: Vec<String> = std::fs::read_dir(&carried)
            .expect("carried")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["a.snap", "a.snap.new", "c@x.snap.new"]);
        // The copy of the baseline the run compared with, and what `--update new` would write.
        assert_eq!(
            std::fs::read_to_string(carried.join("a.snap")).expect("copy"),
            before
        );
        assert_eq!(
            std::fs::read_to_string(carried.join("a.snap.new")).expect("pending"),
            render_snapshot(
                &SnapshotHeader::new("s.yaml", key("a", None)),
                &changed.body
            )
        );
        assert_eq!(store.pending().expect("pending"), Vec::<PathBuf>::new());
    }

    #[test]
    fn review_from_accepts_carried_pending_and_refuses_a_changed_baseline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let snapshots = dir.path().join("snapshots");
        let store = accepted_world(&snapshots);
        let report = dir.path().join("artifact");
        let obs = |subject: &str, conn: Option<&str>| Observation {
            key: key(subject, conn),
            body: schema_body(&json!({"id": "one"})),
        };
        let (a, b, c) = (obs("a", None), obs("b", None), obs("c", Some("x")));
        write_carried(
            &store,
            &report,
            [("s.yaml", &a), ("s.yaml", &b), ("s.yaml", &c)],
        )
        .expect("carry");
        // After the run, someone accepted another baseline of `b`.
        let b_path = snapshots.join("demo/schema/b.snap");
        let edited = std::fs::read_to_string(&b_path)
            .expect("b")
            .replace("integer", "number");
        std::fs::write(&b_path, &edited).expect("edit b");

        let pending = Pending::carried(&store, &report);
        let mut out = Vec::new();
        let drifts = [drift(Rule::SchemaTypeChanged, "a", &[])];
        let got = review(
            &pending,
            &Filter::default(),
            &drifts,
            &mut "a\nr\n".as_bytes(),
            &mut out,
            false,
        )
        .expect("review");
        let out = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            got,
            ReviewSummary {
                accepted: 1,
                rejected: 1,
                skipped: 0,
                refused: 1
            }
        );
        assert!(
            out.starts_with(&format!(
                "refused demo/schema/b: its baseline {} changed since the run; run driftwatch \
                 again to review the difference from the current baseline\n\n[1/2] demo/schema/a\n",
                b_path.display()
            )),
            "{out}"
        );
        assert!(
            out.contains("\n-        \"integer\"\n+        \"string\"\n"),
            "{out}"
        );
        assert!(
            out.ends_with("accepted 1, rejected 1, skipped 0, refused 1\n"),
            "{out}"
        );
        // `a` is accepted from the carried file; `b` keeps its newer baseline; `c@x` was
        // rejected, which leaves snapshots/ alone.
        assert_eq!(
            std::fs::read_to_string(snapshots.join("demo/schema/a.snap")).expect("a"),
            render_snapshot(&SnapshotHeader::new("s.yaml", key("a", None)), &a.body)
        );
        assert_eq!(std::fs::read_to_string(&b_path).expect("b"), edited);
        assert!(!snapshots.join("demo/schema/c@x.snap").exists());
        assert_eq!(store.pending().expect("pending"), Vec::<PathBuf>::new());
        // What was decided left the report folder; the refused one stays.
        let left: Vec<ObservationKey> = pending
            .items(&Filter::default())
            .expect("items")
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        assert_eq!(left, [key("b", None)]);
    }
}
