//! The runs before the rendered one, for the HTML report's history chart: one
//! [`HistoryPoint`] per run (severity counts, errors, credential trouble, new drifts, a link
//! to its page). Building the points (from earlier `run.json` files, reading only the few
//! fields needed) is kept apart from drawing them ([`chart`]), so points may come from any
//! source (a history file, say).

use crate::model::Severity;
use crate::run::Run;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// At most this many runs are shown, the newest last.
pub(crate) const MAX_RUNS: usize = 30;

/// One run of the history: what the chart and its table show of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPoint {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    /// Unsuppressed drifts by severity.
    pub breaking: usize,
    pub warning: usize,
    pub info: usize,
    /// Run errors (`run.errors`).
    pub errors: usize,
    /// Connections whose credentials need attention ([`needs_attention`]).
    pub credentials: usize,
    /// Unsuppressed drifts first reported by this run.
    pub new: usize,
    /// Link to the run's page (or its run.json) relative to the rendered page; `None` for
    /// the rendered run itself, or when nothing of it can be reached.
    pub href: Option<String>,
}

/// The runs up to the rendered one, oldest first, and notes about skipped files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub runs: Vec<HistoryPoint>,
    pub notes: Vec<String>,
}

/// Whether a connection in `state` needs someone to look at its credentials: anything but
/// `ok` and `refreshed`.
pub(crate) fn connection_needs_attention(state: &str) -> bool {
    !matches!(state, "ok" | "refreshed")
}

/// Whether a refresh token with health `status` is about to die or dead (`run.tokens`).
pub(crate) fn token_near_death(status: &str) -> bool {
    matches!(
        status,
        "expiring" | "expired" | "dead" | "refresh-in-flight"
    )
}

/// The distinct (provider, connection) pairs whose credentials need attention: a
/// connection state other than ok/refreshed, or a refresh token near death.
pub(crate) fn needs_attention<'a>(
    connections: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
    tokens: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) -> BTreeSet<(&'a str, &'a str)> {
    connections
        .filter(|(_, _, state)| connection_needs_attention(state))
        .chain(tokens.filter(|(_, _, status)| token_near_death(status)))
        .map(|(p, c, _)| (p, c))
        .collect()
}

/// [`needs_attention`] of a run's own connections and tokens.
pub(crate) fn run_needs_attention(run: &Run) -> BTreeSet<(&str, &str)> {
    needs_attention(
        run.connections
            .iter()
            .map(|c| (c.provider.as_str(), c.connection.as_str(), c.state.as_str())),
        run.tokens.iter().map(|t| {
            (
                t.provider.as_str(),
                t.connection.as_str(),
                t.status.as_str(),
            )
        }),
    )
}

/// Only what the history needs; serde skips the rest of a big run.json cheaply.
#[derive(Deserialize)]
struct Slim {
    run_id: String,
    #[serde(default)]
    started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    drifts: Vec<SlimDrift>,
    #[serde(default)]
    errors: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    connections: Vec<SlimConnection>,
    #[serde(default)]
    tokens: Vec<SlimToken>,
}

#[derive(Deserialize)]
struct SlimDrift {
    severity: Severity,
    #[serde(default)]
    suppressed: Option<serde_json::Value>,
    #[serde(default)]
    first_seen: Option<SlimFirstSeen>,
}

#[derive(Deserialize)]
struct SlimFirstSeen {
    run_id: String,
}

#[derive(Deserialize)]
struct SlimConnection {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    connection: String,
    state: String,
}

#[derive(Deserialize)]
struct SlimToken {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    connection: String,
    status: String,
}

/// The timestamp part of a run id (`20261127T233911Z` of `20261127T233911Z-8c5f`).
fn stamp(run_id: &str) -> &str {
    run_id.split('-').next().unwrap_or(run_id)
}

/// The start time a run id encodes, for run.json files without `started_at`.
fn stamp_time(run_id: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(stamp(run_id), "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// (breaking, warning, info, new) of unsuppressed drifts.
fn tally<'a>(
    run_id: &str,
    drifts: impl Iterator<Item = (Severity, bool, Option<&'a str>)>,
) -> [usize; 4] {
    let mut c = [0; 4];
    for (severity, suppressed, first_seen) in drifts {
        if suppressed {
            continue;
        }
        match severity {
            Severity::Breaking => c[0] += 1,
            Severity::Warning => c[1] += 1,
            Severity::Info => c[2] += 1,
        }
        // As `Drift::is_new_in`: no first-seen means no history to say it is known.
        if first_seen.is_none_or(|f| f == run_id) {
            c[3] += 1;
        }
    }
    c
}

impl HistoryPoint {
    /// The point of the rendered run (no link: it is this page).
    pub fn of(run: &Run) -> HistoryPoint {
        let [breaking, warning, info, new] = tally(
            &run.run_id,
            run.drifts.iter().map(|d| {
                (
                    d.severity,
                    d.suppressed.is_some(),
                    d.first_seen.as_ref().map(|f| f.run_id.as_str()),
                )
            }),
        );
        HistoryPoint {
            run_id: run.run_id.clone(),
            started_at: run.started_at,
            breaking,
            warning,
            info,
            errors: run.errors.len(),
            credentials: run_needs_attention(run).len(),
            new,
            href: None,
        }
    }

    /// A run's point from its history line: the same counts as from its `run.json`
    /// (`counts` leave suppressed drifts out, `new` counts unsuppressed ones), the
    /// credentials from `attention`, or from the flagged connections for a line written
    /// before `attention` existed.
    fn of_entry(e: &crate::run::history::HistoryEntry, href: Option<String>) -> HistoryPoint {
        HistoryPoint {
            run_id: e.run_id.clone(),
            started_at: e.started_at,
            breaking: e.counts.breaking,
            warning: e.counts.warning,
            info: e.counts.info,
            errors: e.counts.errors,
            credentials: e.attention.unwrap_or_else(|| {
                e.problems
                    .iter()
                    .map(|p| (p.provider.as_str(), p.connection.as_str()))
                    .collect::<BTreeSet<_>>()
                    .len()
            }),
            new: e.new,
            href,
        }
    }

    /// The point of an earlier run read from its run.json; `None` without a start time.
    fn of_slim(s: Slim, href: Option<String>) -> Option<HistoryPoint> {
        let started_at = s.started_at.or_else(|| stamp_time(&s.run_id))?;
        let [breaking, warning, info, new] = tally(
            &s.run_id,
            s.drifts.iter().map(|d| {
                (
                    d.severity,
                    d.suppressed.is_some(),
                    d.first_seen.as_ref().map(|f| f.run_id.as_str()),
                )
            }),
        );
        let credentials = needs_attention(
            s.connections
                .iter()
                .map(|c| (c.provider.as_str(), c.connection.as_str(), c.state.as_str())),
            s.tokens.iter().map(|t| {
                (
                    t.provider.as_str(),
                    t.connection.as_str(),
                    t.status.as_str(),
                )
            }),
        )
        .len();
        Some(HistoryPoint {
            started_at,
            breaking,
            warning,
            info,
            errors: s.errors.len(),
            credentials,
            new,
            href,
            run_id: s.run_id,
        })
    }
}

impl History {
    /// The current run alone.
    pub fn only(run: &Run) -> History {
        History {
            runs: vec![HistoryPoint::of(run)],
            notes: Vec::new(),
        }
    }

    /// Runs in `reports` (each `<dir>/run.json`, `latest` skipped) up to and including `run`,
    /// oldest first, at most [`MAX_RUNS`]. Unreadable files are skipped with a note. Each
    /// earlier run links to `../<dir>/index.html` (else its `run.json`): the page is
    /// written in a sibling directory of `reports`.
    ///
    /// A run with a line in `entries` (the history file) that carries `attention` is
    /// charted from that line: its `run.json`, which holds every exchange of the run, is
    /// not read (30 of them, each megabytes, were read for every page before).
    pub fn read(
        reports: &Path,
        run: &Run,
        entries: &[crate::run::history::HistoryEntry],
    ) -> History {
        let lines: std::collections::HashMap<&str, &crate::run::history::HistoryEntry> = entries
            .iter()
            .filter(|e| e.attention.is_some())
            .map(|e| (e.run_id.as_str(), e))
            .collect();
        let mut h = History::default();
        let entries = match std::fs::read_dir(reports) {
            Ok(rd) => rd,
            Err(e) => {
                h.notes
                    .push(format!("cannot list `{}`: {e}", reports.display()));
                h.runs.push(HistoryPoint::of(run));
                return h;
            }
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            // The rendered run counts from memory, not from its file.
            .filter(|n| n != "latest" && !n.starts_with('.') && n != &run.run_id)
            // Run ids start with their UTC timestamp to the second: a cheap first cut.
            .filter(|n| stamp(n) <= stamp(&run.run_id))
            .collect();
        names.sort();
        let skip = names.len().saturating_sub(MAX_RUNS);
        let mut found = Vec::new();
        for name in &names[skip..] {
            let dir = reports.join(name);
            let href = || {
                ["index.html", "run.json"]
                    .into_iter()
                    .find(|f| dir.join(f).is_file())
                    .map(|f| format!("../{}/{f}", super::encode(name)))
            };
            if let Some(line) = lines.get(name.as_str()) {
                // Two runs in the same second: the random suffix says nothing of their order.
                if line.started_at <= run.started_at {
                    found.push(HistoryPoint::of_entry(line, href()));
                }
                continue;
            }
            let path = dir.join("run.json");
            match crate::bounded::read_bounded_string(&path, crate::bounded::RUN_LIMIT)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Slim>(&t).map_err(|e| e.to_string()))
            {
                // Two runs in the same second: the random suffix says nothing of their order.
                Ok(s) if s.started_at.is_some_and(|t| t > run.started_at) => {}
                Ok(s) => match HistoryPoint::of_slim(s, href()) {
                    Some(p) => found.push(p),
                    None => h
                        .notes
                        .push(format!("skipped `{name}/run.json`: no start time")),
                },
                Err(e) if path.exists() => h.notes.push(format!("skipped `{name}/run.json`: {e}")),
                Err(_) => {}
            }
        }
        found.sort_by(|a, b| (a.started_at, &a.run_id).cmp(&(b.started_at, &b.run_id)));
        found.push(HistoryPoint::of(run));
        let skip = found.len().saturating_sub(MAX_RUNS);
        h.runs = found.split_off(skip);
        h
    }
}

impl History {
    /// Adds the runs of a history file (`reports/history.jsonl`) that the reports directory
    /// did not hold, up to `run`'s start, oldest first, at most [`MAX_RUNS`] in all: a CI
    /// job starts with an empty `reports/` and carries only that file between nights. Each
    /// links to its published report when `report_url` (`{run_id}` replaced) is known.
    pub fn add_entries(
        &mut self,
        entries: &[crate::run::history::HistoryEntry],
        run: &Run,
        report_url: Option<&str>,
    ) {
        let known: BTreeSet<String> = self.runs.iter().map(|p| p.run_id.clone()).collect();
        let mut added: Vec<HistoryPoint> = entries
            .iter()
            .filter(|e| !known.contains(&e.run_id) && e.started_at <= run.started_at)
            .map(|e| {
                let href = report_url.map(|u| u.replace("{run_id}", &super::encode(&e.run_id)));
                HistoryPoint::of_entry(e, href)
            })
            .collect();
        if added.is_empty() {
            return;
        }
        // A history file may hold a line twice (a re-run merge): keep the first.
        let mut seen = BTreeSet::new();
        added.retain(|p| seen.insert(p.run_id.clone()));
        self.runs.append(&mut added);
        self.runs
            .sort_by(|a, b| (a.started_at, &a.run_id).cmp(&(b.started_at, &b.run_id)));
        // The rendered run stays last, whatever its clock said.
        if let Some(i) = self.runs.iter().position(|p| p.run_id == run.run_id) {
            let current = self.runs.remove(i);
            self.runs.push(current);
        }
        let skip = self.runs.len().saturating_sub(MAX_RUNS);
        self.runs.drain(..skip);
    }
}

/// The chart's plot area (SVG units): bars stand on `BASE`, the tallest reaches `TOP`.
const CHART_W: usize = 800;
const LEFT: usize = 40;
const RIGHT: usize = 10;
const TOP: usize = 10;
const BASE: usize = 110;
const CHART_H: usize = 140;
/// At most this many date labels under the bars.
const LABELS: usize = 10;

/// The chart and table of the page, drawn from `points` (oldest first; the last one is
/// the rendered run): one bar per run, stacked breaking, warning, info and errors, on a
/// dated axis, each bar a link to its run.
pub(crate) fn chart(points: &[HistoryPoint], notes: &[String]) -> HistoryView {
    let n = points.len().max(1);
    let stack = |p: &HistoryPoint| p.breaking + p.warning + p.info + p.errors;
    let max = points.iter().map(stack).max().unwrap_or(0).max(1);
    let plot_w = (CHART_W - LEFT - RIGHT) as f64;
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.7).clamp(2.0, 40.0);
    let scale = (BASE - TOP) as f64 / max as f64;
    let every = n.div_ceil(LABELS).max(1);
    let columns = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = LEFT as f64 + slot * i as f64 + (slot - bar_w) / 2.0;
            let mut y = BASE as f64;
            let mut segments = Vec::new();
            for (kind, count) in [
                ("breaking", p.breaking),
                ("warning", p.warning),
                ("info", p.info),
                ("errors", p.errors),
            ] {
                if count == 0 {
                    continue;
                }
                let h = count as f64 * scale;
                y -= h;
                segments.push(Segment {
                    kind,
                    y: round1(y),
                    h: round1(h),
                });
            }
            let date = p.started_at.format("%m-%d").to_string();
            ChartColumn {
                x: round1(x),
                w: round1(bar_w),
                label_x: round1(x + bar_w / 2.0),
                label: (i % every == 0 || i + 1 == points.len()).then_some(date),
                title: format!(
                    "{} ({}): {} breaking, {} warning, {} info, {} errors, {} credential problems, {} new",
                    p.run_id,
                    p.started_at.format("%Y-%m-%d %H:%M UTC"),
                    p.breaking,
                    p.warning,
                    p.info,
                    p.errors,
                    p.credentials,
                    p.new
                ),
                href: p.href.clone(),
                current: i + 1 == points.len(),
                segments,
            }
        })
        .collect();
    let rows = points
        .iter()
        .map(|p| HistoryRow {
            run_id: p.run_id.clone(),
            started_at: p.started_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            datetime: p.started_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            href: p.href.clone(),
            breaking: p.breaking,
            warning: p.warning,
            info: p.info,
            errors: p.errors,
            credentials: p.credentials,
            new: p.new,
        })
        .collect();
    HistoryView {
        columns,
        rows,
        width: CHART_W,
        height: CHART_H,
        left: LEFT,
        base: BASE,
        top: TOP,
        right: CHART_W - RIGHT,
        label_y: BASE + 16,
        max,
        notes: notes.to_vec(),
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[derive(Debug, Serialize)]
pub(crate) struct HistoryView {
    pub columns: Vec<ChartColumn>,
    pub rows: Vec<HistoryRow>,
    pub width: usize,
    pub height: usize,
    /// The plot area: x from `left` to `right`, bars from `base` up to `top`.
    pub left: usize,
    pub right: usize,
    pub base: usize,
    pub top: usize,
    pub label_y: usize,
    /// The y axis's top value (the tallest stack).
    pub max: usize,
    pub notes: Vec<String>,
}

/// One run's bar: stacked segments, a date label (every few runs) and a link.
#[derive(Debug, Serialize)]
pub(crate) struct ChartColumn {
    pub x: f64,
    pub w: f64,
    pub label_x: f64,
    pub label: Option<String>,
    pub title: String,
    pub href: Option<String>,
    pub current: bool,
    pub segments: Vec<Segment>,
}

/// One severity (or the errors) of a bar, in SVG units.
#[derive(Debug, Serialize)]
pub(crate) struct Segment {
    /// `breaking`, `warning`, `info` or `errors`.
    pub kind: &'static str,
    pub y: f64,
    pub h: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct HistoryRow {
    pub run_id: String,
    pub started_at: String,
    /// RFC 3339, for `<time datetime>`.
    pub datetime: String,
    pub href: Option<String>,
    pub breaking: usize,
    pub warning: usize,
    pub info: usize,
    pub errors: usize,
    pub credentials: usize,
    pub new: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fixed_run;

    fn write(dir: &Path, id: &str, text: &str) {
        std::fs::create_dir_all(dir.join(id)).unwrap();
        std::fs::write(dir.join(id).join("run.json"), text).unwrap();
    }

    fn point(id: &str, day: u32, counts: [usize; 6], href: Option<&str>) -> HistoryPoint {
        use chrono::TimeZone;
        let [breaking, warning, info, errors, credentials, new] = counts;
        HistoryPoint {
            run_id: id.into(),
            started_at: Utc.with_ymd_and_hms(2026, 11, day, 21, 0, 0).unwrap(),
            breaking,
            warning,
            info,
            errors,
            credentials,
            new,
            href: href.map(str::to_string),
        }
    }

    #[test]
    fn reads_siblings_up_to_the_run_skipping_latest_and_broken_files() {
        let dir = tempfile::tempdir().unwrap();
        let run = fixed_run();
        write(
            dir.path(),
            "20261125T210000Z-0001",
            r#"{"run_id":"20261125T210000Z-0001","drifts":[
                {"provider":"demo","severity":"breaking","first_seen":{"run_id":"20261124T210000Z-0000","at":"2026-11-24T21:00:00Z"}},
                {"provider":"demo","severity":"info"},
                {"provider":"demo","severity":"warning","suppressed":"known"}],
              "errors":[{"provider":"demo"},{"provider":"demo"}],
              "connections":[{"provider":"demo","connection":"a","state":"grant-dead"},
                             {"provider":"demo","connection":"b","state":"refreshed"},
                             {"provider":"demo","connection":"c","state":"ok"}],
              "tokens":[{"provider":"demo","connection":"a","status":"dead"},
                        {"provider":"demo","connection":"c","status":"expiring"},
                        {"provider":"demo","connection":"b","status":"ok"}],
              "shard":"2/4","observations":[1,2,3]}"#,
        );
        std::fs::write(
            dir.path().join("20261125T210000Z-0001").join("index.html"),
            "<!doctype html>",
        )
        .unwrap();
        write(dir.path(), "20261126T210000Z-0002", "{not json");
        write(dir.path(), "latest", r#"{"run_id":"latest"}"#);
        write(dir.path(), "20261128T210000Z-0003", r#"{"run_id":"later"}"#);
        let h = History::read(dir.path(), &run, &[]);
        let ids: Vec<&str> = h.runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["20261125T210000Z-0001", "20261127T210000Z-abcd"]);
        // The start time comes from the run id when run.json has none; `a` is counted
        // once (grant dead and token dead), `c` for its expiring token.
        assert_eq!(
            h.runs[0],
            point(
                "20261125T210000Z-0001",
                25,
                [1, 0, 1, 2, 2, 1],
                Some("../20261125T210000Z-0001/index.html")
            )
        );
        let current = &h.runs[1];
        assert_eq!(
            (
                current.breaking,
                current.warning,
                current.info,
                current.errors
            ),
            (1, 1, 1, 1)
        );
        assert_eq!((current.new, current.href.as_deref()), (3, None));
        assert_eq!(h.notes.len(), 1);
        assert!(
            h.notes[0].starts_with("skipped `20261126T210000Z-0002/run.json`: "),
            "{:?}",
            h.notes
        );
    }

    #[test]
    fn runs_in_the_same_second_are_ordered_by_start_time_not_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = fixed_run();
        run.run_id = "20261127T210000Z-0001".into();
        // Earlier run, same second, larger random suffix.
        write(
            dir.path(),
            "20261127T210000Z-ffff",
            r#"{"run_id":"20261127T210000Z-ffff","started_at":"2026-11-27T20:59:59.500Z",
               "merged":{"shards":8,"runs":[]}}"#,
        );
        // Later run, same second: not history of this one.
        let later = format!(
            r#"{{"run_id":"20261127T210000Z-0000","started_at":"{}"}}"#,
            (run.started_at + chrono::Duration::milliseconds(300)).to_rfc3339()
        );
        write(dir.path(), "20261127T210000Z-0000", &later);
        let h = History::read(dir.path(), &run, &[]);
        let ids: Vec<&str> = h.runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["20261127T210000Z-ffff", "20261127T210000Z-0001"]);
        assert_eq!(
            h.runs[0].href.as_deref(),
            Some("../20261127T210000Z-ffff/run.json")
        );
    }

    /// A history line, as `run` writes it (`attention` given or not).
    fn line(id: &str, day: u32, attention: Option<usize>) -> crate::run::history::HistoryEntry {
        let mut v = serde_json::json!({
            "format": "driftwatch.history/1", "run_id": id,
            "started_at": format!("2026-11-{day:02}T21:00:00Z"),
            "finished_at": format!("2026-11-{day:02}T21:00:05Z"),
            "exit_code": 1, "verdict": "breaking",
            "counts": {"breaking": 2, "warning": 1, "info": 0, "suppressed": 4, "findings": 3,
                       "errors": 1, "unusable": 1},
            "new": 2,
            "problems": [{"provider": "demo", "connection": "a", "state": "grant-dead", "usable": false}]
        });
        if let Some(n) = attention {
            v["attention"] = n.into();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn runs_with_a_history_line_are_charted_from_it_without_reading_their_run_json() {
        let dir = tempfile::tempdir().unwrap();
        let run = fixed_run();
        // Unreadable files: read, each would be skipped with a note.
        write(dir.path(), "20261125T210000Z-0001", "{not json");
        write(dir.path(), "20261126T210000Z-0002", "{not json");
        let entries = [
            line("20261125T210000Z-0001", 25, Some(3)),
            // Written before `attention` existed: the run.json is read, as before.
            line("20261126T210000Z-0002", 26, None),
        ];
        let h = History::read(dir.path(), &run, &entries);
        let ids: Vec<&str> = h.runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["20261125T210000Z-0001", "20261127T210000Z-abcd"]);
        assert_eq!(
            h.runs[0],
            point(
                "20261125T210000Z-0001",
                25,
                [2, 1, 0, 1, 3, 2],
                Some("../20261125T210000Z-0001/run.json")
            )
        );
        assert_eq!(h.notes.len(), 1, "{:?}", h.notes);
        assert!(h.notes[0].starts_with("skipped `20261126T210000Z-0002/run.json`: "));
        // The old line still charts when only the history file has it: credentials from
        // its flagged connections.
        let mut only = History::only(&run);
        only.add_entries(&entries[1..], &run, None);
        assert_eq!(
            only.runs[0],
            point("20261126T210000Z-0002", 26, [2, 1, 0, 1, 1, 2], None)
        );
    }

    #[test]
    fn keeps_the_newest_thirty() {
        let dir = tempfile::tempdir().unwrap();
        let run = fixed_run();
        for i in 0..40 {
            let id = format!("20261101T0000{i:02}Z-0000");
            write(dir.path(), &id, &format!(r#"{{"run_id":"{id}"}}"#));
        }
        let h = History::read(dir.path(), &run, &[]);
        assert_eq!(h.runs.len(), MAX_RUNS);
        assert_eq!(h.runs[0].run_id, "20261101T000011Z-0000");
        assert_eq!(h.runs[MAX_RUNS - 1].run_id, run.run_id);
    }

    #[test]
    fn chart_stacks_severities_and_errors_on_a_dated_axis_with_links() {
        let points = [
            point("r1", 25, [2, 1, 0, 0, 0, 3], Some("../r1/index.html")),
            point("r2", 26, [0, 0, 0, 2, 1, 0], Some("../r2/run.json")),
            point("r3", 27, [1, 0, 1, 0, 0, 1], None),
        ];
        let v = chart(&points, &[]);
        assert_eq!(v.max, 3);
        let stacks: Vec<Vec<(&str, f64, f64)>> = v
            .columns
            .iter()
            .map(|c| c.segments.iter().map(|s| (s.kind, s.y, s.h)).collect())
            .collect();
        // 100 SVG units for 3 items: breaking at the base, then warning, info, errors.
        assert_eq!(
            stacks,
            [
                vec![("breaking", 43.3, 66.7), ("warning", 10.0, 33.3)],
                vec![("errors", 43.3, 66.7)],
                vec![("breaking", 76.7, 33.3), ("info", 43.3, 33.3)],
            ]
        );
        let labels: Vec<Option<&str>> = v.columns.iter().map(|c| c.label.as_deref()).collect();
        assert_eq!(labels, [Some("11-25"), Some("11-26"), Some("11-27")]);
        let links: Vec<Option<&str>> = v.columns.iter().map(|c| c.href.as_deref()).collect();
        assert_eq!(
            links,
            [Some("../r1/index.html"), Some("../r2/run.json"), None]
        );
        assert!(v.columns[2].current && !v.columns[1].current);
        assert_eq!(
            v.columns[1].title,
            "r2 (2026-11-26 21:00 UTC): 0 breaking, 0 warning, 0 info, 2 errors, 1 credential problems, 0 new"
        );
    }

    #[test]
    fn chart_labels_every_few_runs_and_the_last() {
        let points: Vec<HistoryPoint> = (1..=30)
            .map(|d| point(&format!("r{d}"), d, [0; 6], None))
            .collect();
        let v = chart(&points, &[]);
        let labelled = v.columns.iter().filter(|c| c.label.is_some()).count();
        // Every third run, and the last one.
        assert_eq!(labelled, 11);
        assert_eq!(v.columns[29].label.as_deref(), Some("11-30"));
        assert!(v.columns.iter().all(|c| c.segments.is_empty()));
    }
}
