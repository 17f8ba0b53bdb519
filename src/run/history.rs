//! Drift identity across runs: `reports/history.jsonl`, one summary line per
//! verdict run (`run` and `merge`, never a shard), and the `first_seen` each drift
//! and finding carries from the previous run.
//!
//! A line holds counts, the connection problems and the open drifts and findings as
//! `{fingerprint, rule, severity, first_seen}`: enough to carry identity, nothing
//! secret (no message, no evidence value). Appending is one `O_APPEND` write; reading
//! takes at most the last [`MAX_RUNS`] lines within [`READ_LIMIT`] bytes and skips (with
//! a warning) a torn or invalid line instead of failing. Knows nothing about reports.

use super::summary::RunSummary;
use super::types::Run;
use crate::model::{Drift, FirstSeen, Severity};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Version tag of one history line.
pub const HISTORY_FORMAT: &str = "driftwatch-history/1";
/// The history file inside the reports directory when no other is configured.
pub const DEFAULT_HISTORY_FILE: &str = "history.jsonl";
/// Runs kept when reading: older lines are skipped (the file itself is never rewritten).
pub const MAX_RUNS: usize = 400;
/// Bytes read from the end of the history file at most.
pub const READ_LIMIT: u64 = 64 * 1024 * 1024;

/// A history file that cannot be read or appended to.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot read history `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot append to history `{}`: {source}", path.display())]
    Append {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("history `{}` is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("cannot read previous run `{}`: {source}", path.display())]
    Previous {
        path: PathBuf,
        #[source]
        source: crate::report::ReportError,
    },
    #[error("cannot encode a history line: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Drift counts of one run (the numbers of [`RunSummary`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryCounts {
    pub breaking: usize,
    pub warning: usize,
    pub info: usize,
    pub suppressed: usize,
    pub findings: usize,
    pub errors: usize,
    /// Connections that could not be used.
    pub unusable: usize,
}

/// A connection the run flagged (`severity` set): unusable, or recovered from trouble.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnectionProblem {
    pub provider: String,
    pub connection: String,
    pub state: crate::model::ConnectionState,
    pub usable: bool,
}

/// One open drift or finding: its identity, never its message or evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenItem {
    pub fingerprint: String,
    pub rule: String,
    pub severity: Severity,
    pub provider: String,
    pub probe: crate::model::ProbeKind,
    pub subject: String,
    pub first_seen: FirstSeen,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    /// Carried over from the previous run because this run could not look at its subject
    /// (a run error or an unusable connection): still open as far as anyone knows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unconfirmed: bool,
}

impl OpenItem {
    fn of(d: &Drift, run: &Run) -> OpenItem {
        OpenItem {
            fingerprint: fingerprint_of(d),
            rule: d.rule.as_str().to_string(),
            severity: d.severity,
            provider: d.provider.clone(),
            probe: d.probe,
            subject: d.subject.clone(),
            first_seen: d.first_seen.clone().unwrap_or_else(|| here(run)),
            suppressed: d.suppressed.is_some(),
            unconfirmed: false,
        }
    }

    /// Whether `run` failed to look at this item's subject: an observation it did not
    /// compare, or a run error on the subject (or on the whole provider).
    fn unseen_by(&self, run: &Run) -> bool {
        run.not_compared.iter().any(|n| {
            n.key.provider == self.provider
                && n.key.probe == self.probe
                && n.key.subject == self.subject
        }) || run.errors.iter().any(|e| {
            e.provider == self.provider
                && e.probe.is_none_or(|p| p == self.probe)
                && e.subject.as_ref().is_none_or(|s| *s == self.subject)
        })
    }
}

/// One line of `history.jsonl`: one verdict run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub format: String,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub exit_code: i32,
    /// `ok`, `warning` or `breaking` (see [`super::Verdict`]).
    pub verdict: String,
    /// Set for a run produced by `merge`: its shard count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
    pub counts: HistoryCounts,
    /// Unsuppressed drifts first reported by this run.
    pub new: usize,
    #[serde(default)]
    pub problems: Vec<ConnectionProblem>,
    /// Connections whose credentials need attention as the HTML history counts them (a
    /// flagged connection, or a token expiring, expired, dead or with a refresh in
    /// flight). With it, the HTML page charts this run from its line alone instead of
    /// parsing the run's whole `run.json`; lines written before it existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<usize>,
    #[serde(default)]
    pub drifts: Vec<OpenItem>,
    #[serde(default)]
    pub findings: Vec<OpenItem>,
}

impl HistoryEntry {
    /// The line a finished run (after [`carry_first_seen`]) leaves in the history.
    /// Open items of `previous` whose subject this run could not look at (a run error, an
    /// unusable connection) are kept, marked `unconfirmed`, so a drift hidden for one night
    /// by an outage is not new again the night after.
    pub fn of(run: &Run, exit_code: i32, previous: Option<&Previous>) -> HistoryEntry {
        let s = RunSummary::of(run);
        let t = &s.totals;
        let items = |v: &[Drift], findings: bool| -> Vec<OpenItem> {
            let mut out: Vec<OpenItem> = v.iter().map(|d| OpenItem::of(d, run)).collect();
            let here: BTreeSet<&str> = v.iter().map(|d| d.fingerprint.as_str()).collect();
            let mut carried: Vec<OpenItem> = previous
                .iter()
                .flat_map(|p| p.items.values())
                .filter(|k| {
                    k.finding == findings
                        && !here.contains(k.item.fingerprint.as_str())
                        && k.item.unseen_by(run)
                })
                .map(|k| OpenItem {
                    unconfirmed: true,
                    ..k.item.clone()
                })
                .collect();
            // The previous run's items sit in a map: sorted, so the line is deterministic.
            carried.sort_by(|a, b| {
                (&a.provider, a.probe, &a.subject, &a.rule, &a.fingerprint).cmp(&(
                    &b.provider,
                    b.probe,
                    &b.subject,
                    &b.rule,
                    &b.fingerprint,
                ))
            });
            out.extend(carried);
            out
        };
        let mut problems: Vec<ConnectionProblem> = run
            .connections
            .iter()
            .filter(|c| c.severity.is_some())
            .map(|c| ConnectionProblem {
                provider: c.provider.clone(),
                connection: c.connection.clone(),
                state: c.state,
                usable: c.usable,
            })
            .collect();
        problems.sort();
        HistoryEntry {
            format: HISTORY_FORMAT.into(),
            run_id: run.run_id.clone(),
            started_at: run.started_at,
            finished_at: run.finished_at,
            exit_code,
            verdict: s.verdict.as_str().into(),
            shards: run.merged.as_ref().map(|m| m.shards),
            counts: HistoryCounts {
                breaking: t.breaking,
                warning: t.warning,
                info: t.info,
                suppressed: t.suppressed,
                findings: t.findings,
                errors: t.errors,
                unusable: t.unusable,
            },
            new: new_count(run),
            problems,
            attention: Some(crate::report::html::run_needs_attention(run).len()),
            drifts: items(&run.drifts, false),
            findings: items(&run.findings, true),
        }
    }
}

/// What a previous run knew: each drift's and finding's identity and severity, and its
/// connection problems. Read from the last history line or a previous `run.json`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Previous {
    pub run_id: String,
    items: HashMap<String, Known>,
    problems: BTreeSet<(String, String, crate::model::ConnectionState)>,
}

/// One open item of the previous run.
#[derive(Debug, Clone, PartialEq)]
struct Known {
    item: OpenItem,
    finding: bool,
}

impl Previous {
    /// The state a history line records.
    pub fn from_entry(e: &HistoryEntry) -> Previous {
        Previous {
            run_id: e.run_id.clone(),
            items: e
                .drifts
                .iter()
                .map(|i| (i, false))
                .chain(e.findings.iter().map(|i| (i, true)))
                .map(|(i, finding)| {
                    let known = Known {
                        item: i.clone(),
                        finding,
                    };
                    (i.fingerprint.clone(), known)
                })
                .collect(),
            problems: e
                .problems
                .iter()
                .map(|p| (p.provider.clone(), p.connection.clone(), p.state))
                .collect(),
        }
    }

    /// The state a previous `run.json` records (`--previous`); a drift without
    /// `first_seen` was first seen by that run.
    pub fn from_run(run: &Run) -> Previous {
        Previous {
            run_id: run.run_id.clone(),
            items: run
                .drifts
                .iter()
                .map(|d| (d, false))
                .chain(run.findings.iter().map(|d| (d, true)))
                .map(|(d, finding)| {
                    let known = Known {
                        item: OpenItem::of(d, run),
                        finding,
                    };
                    (fingerprint_of(d), known)
                })
                .collect(),
            problems: run
                .connections
                .iter()
                .filter(|c| c.severity.is_some())
                .map(|c| (c.provider.clone(), c.connection.clone(), c.state))
                .collect(),
        }
    }

    /// Reads `--previous RUN.JSON`.
    pub fn read_run(path: &Path) -> Result<Previous, HistoryError> {
        let run = crate::report::read_run(path).map_err(|source| HistoryError::Previous {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Previous::from_run(&run))
    }
}

/// The fingerprint of a drift, computed when a run file predates fingerprints.
fn fingerprint_of(d: &Drift) -> String {
    if d.fingerprint.is_empty() {
        crate::rules::fingerprint(d)
    } else {
        d.fingerprint.clone()
    }
}

/// This run as a first sighting.
fn here(run: &Run) -> FirstSeen {
    FirstSeen {
        run_id: run.run_id.clone(),
        at: run.started_at,
    }
}

/// Sets `first_seen` on every drift and finding (suppressed ones too): carried from
/// `previous` when it holds the same fingerprint, else this run. A drift absent from the
/// previous run (accepted, then back) is new again.
pub fn carry_first_seen(run: &mut Run, previous: Option<&Previous>) {
    let now = here(run);
    for d in run.drifts.iter_mut().chain(run.findings.iter_mut()) {
        let carried = previous
            .and_then(|p| p.items.get(&fingerprint_of(d)))
            .map(|k| k.item.first_seen.clone());
        d.first_seen = Some(carried.unwrap_or_else(|| now.clone()));
    }
}

/// Unsuppressed drifts first reported by `run`.
pub fn new_count(run: &Run) -> usize {
    run.drifts
        .iter()
        .filter(|d| d.suppressed.is_none() && d.is_new_in(&run.run_id))
        .count()
}

/// What changed since the previous run, as the webhook's `on = "new"` reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Fingerprints of unsuppressed drifts first reported by this run.
    pub new: BTreeSet<String>,
    /// Fingerprints of unsuppressed known drifts whose severity rose.
    pub worse: BTreeSet<String>,
    /// Flagged connections (provider, connection) whose problem the previous run did not have.
    pub new_problems: Vec<(String, String)>,
}

impl Changes {
    /// Compares a finished run (after [`carry_first_seen`]) with what came before.
    pub fn of(run: &Run, previous: Option<&Previous>) -> Changes {
        let mut c = Changes::default();
        for d in run.drifts.iter().filter(|d| d.suppressed.is_none()) {
            let fp = fingerprint_of(d);
            if d.is_new_in(&run.run_id) {
                c.new.insert(fp);
            } else if previous
                .and_then(|p| p.items.get(&fp))
                .is_some_and(|k| k.item.severity < d.severity)
            {
                c.worse.insert(fp);
            }
        }
        for conn in run.connections.iter().filter(|c| c.severity.is_some()) {
            let key = (conn.provider.clone(), conn.connection.clone(), conn.state);
            if !previous.is_some_and(|p| p.problems.contains(&key)) {
                c.new_problems
                    .push((conn.provider.clone(), conn.connection.clone()));
            }
        }
        c
    }

    /// Whether the drift with this fingerprint is new or worse.
    pub fn is_new_or_worse(&self, fingerprint: &str) -> bool {
        self.new.contains(fingerprint) || self.worse.contains(fingerprint)
    }

    /// Whether anything is new or worse.
    pub fn any(&self) -> bool {
        !self.new.is_empty() || !self.worse.is_empty() || !self.new_problems.is_empty()
    }
}

/// The last [`MAX_RUNS`] entries of a history file, oldest first, and a warning for each
/// line that could not be read. A missing file is an empty history.
#[derive(Debug, Default)]
pub struct HistoryRead {
    pub entries: Vec<HistoryEntry>,
    pub warnings: Vec<String>,
}

/// Reads the history at `path` (bounded: the last [`READ_LIMIT`] bytes, the last
/// [`MAX_RUNS`] valid lines); newest last. Invalid lines are skipped with a warning.
pub fn read_history(path: &Path) -> Result<HistoryRead, HistoryError> {
    let read_err = |source| HistoryError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HistoryRead::default()),
        Err(e) => return Err(read_err(e)),
    };
    if !meta.is_file() {
        return Err(HistoryError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    let start = len.saturating_sub(READ_LIMIT);
    file.seek(SeekFrom::Start(start)).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(READ_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    // Started mid-file: the first (partial) line is older than what we keep anyway.
    let body: &[u8] = if start > 0 {
        match bytes.iter().position(|b| *b == b'\n') {
            Some(i) => &bytes[i + 1..],
            None => &[],
        }
    } else {
        &bytes
    };
    let mut out = HistoryRead::default();
    let lines: Vec<&[u8]> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    let total = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        match serde_json::from_slice::<HistoryEntry>(line) {
            Ok(e) => out.entries.push(e),
            Err(err) => {
                let which = if i + 1 == total {
                    "its last line".to_string()
                } else {
                    format!("line {} of the last {total}", i + 1)
                };
                out.warnings.push(format!(
                    "history `{}`: ignoring {which}: {err}",
                    path.display()
                ));
            }
        }
    }
    if out.entries.len() > MAX_RUNS {
        out.entries.drain(..out.entries.len() - MAX_RUNS);
    }
    Ok(out)
}

/// The history entries at `path`, newest last (what the HTML report plots); warnings are
/// dropped. A missing or unreadable file is an empty history.
pub fn history_entries(path: &Path) -> Vec<HistoryEntry> {
    read_history(path).map(|h| h.entries).unwrap_or_default()
}

/// Appends one line for `entry` to `path` in a single `O_APPEND` write (creating the
/// file and its directory). A torn last line left by a crash is closed first, in the
/// same write, so the new line stays valid.
pub fn append(path: &Path, entry: &HistoryEntry) -> Result<(), HistoryError> {
    let err = |source| HistoryError::Append {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    if path.exists() && !path.is_file() {
        return Err(HistoryError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let mut line = serde_json::to_vec(entry)?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(err)?;
    let len = file.metadata().map_err(err)?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1)).map_err(err)?;
        file.read_exact(&mut last).map_err(err)?;
        if last[0] != b'\n' {
            line.insert(0, b'\n');
        }
    }
    file.write_all(&line).map_err(err)?;
    file.sync_data().map_err(err)
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
