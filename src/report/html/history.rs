//! Drift counts per provider over the last runs in `reports/`, for the HTML
//! report's history chart. Reads only the few fields it needs of each run.json.

use crate::model::Severity;
use crate::run::Run;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// At most this many runs are shown, the newest last.
pub(crate) const MAX_RUNS: usize = 30;

/// Drift counts of one past (or the current) run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRun {
    pub run_id: String,
    /// Per provider: (breaking, warning, info) of unsuppressed drifts.
    pub counts: BTreeMap<String, [usize; 3]>,
    /// How many shard runs were merged into this one (1 when unsharded).
    pub shards: usize,
}

/// The runs found beside the rendered one, oldest first, and notes about skipped files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub runs: Vec<HistoryRun>,
    pub notes: Vec<String>,
}

/// Only what the history needs; serde skips the rest of a big run.json cheaply.
#[derive(Deserialize)]
struct Slim {
    run_id: String,
    #[serde(default)]
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    drifts: Vec<SlimDrift>,
    /// Written by shard runs (`{"index": i, "count": n}`); read loosely so that any
    /// older or newer shape still gives a count.
    #[serde(default)]
    shard: Option<serde_json::Value>,
    /// Written by `driftwatch merge` (`{"shards": n, "runs": […]}`).
    #[serde(default)]
    merged: Option<serde_json::Value>,
}

/// The timestamp part of a run id (`20261127T233911Z` of `20261127T233911Z-8c5f`).
fn stamp(run_id: &str) -> &str {
    run_id.split('-').next().unwrap_or(run_id)
}

impl Slim {
    fn shards(&self) -> usize {
        self.merged
            .as_ref()
            .or(self.shard.as_ref())
            .and_then(shard_count)
            .unwrap_or(1)
    }
}

#[derive(Deserialize)]
struct SlimDrift {
    provider: String,
    severity: Severity,
    #[serde(default)]
    suppressed: Option<serde_json::Value>,
}

fn counts<'a>(
    drifts: impl Iterator<Item = (&'a str, Severity, bool)>,
) -> BTreeMap<String, [usize; 3]> {
    let mut out: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for (provider, severity, suppressed) in drifts {
        let c = out.entry(provider.to_string()).or_default();
        if suppressed {
            continue;
        }
        match severity {
            Severity::Breaking => c[0] += 1,
            Severity::Warning => c[1] += 1,
            Severity::Info => c[2] += 1,
        }
    }
    out
}

/// Shard count from the loosely-read `shard` field: a number, `"i/n"`, `{total|count|of: n}`
/// or a list of shards.
fn shard_count(v: &serde_json::Value) -> Option<usize> {
    use serde_json::Value;
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.rsplit('/').next().and_then(|n| n.trim().parse().ok()),
        Value::Object(m) => ["total", "count", "of", "shards"]
            .iter()
            .find_map(|k| m.get(*k).and_then(Value::as_u64)),
        Value::Array(a) => Some(a.len() as u64),
        _ => None,
    }?;
    usize::try_from(n).ok().filter(|n| *n > 0)
}

impl History {
    /// The current run alone.
    pub fn only(run: &Run) -> History {
        History {
            runs: vec![HistoryRun::of(run)],
            notes: Vec::new(),
        }
    }

    /// Runs in `reports` (each `<dir>/run.json`, `latest` skipped) up to and including `run`,
    /// oldest first, at most [`MAX_RUNS`]. Unreadable files are skipped with a note.
    pub fn read(reports: &Path, run: &Run) -> History {
        let mut h = History::default();
        let mut found: Vec<HistoryRun> = Vec::new();
        let entries = match std::fs::read_dir(reports) {
            Ok(rd) => rd,
            Err(e) => {
                h.notes
                    .push(format!("cannot list `{}`: {e}", reports.display()));
                h.runs.push(HistoryRun::of(run));
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
        let mut dated = Vec::new();
        for name in &names[skip..] {
            let path = reports.join(name).join("run.json");
            match crate::bounded::read_bounded_string(&path, crate::bounded::RUN_LIMIT)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Slim>(&t).map_err(|e| e.to_string()))
            {
                // Two runs in the same second: the random suffix says nothing of their order.
                Ok(s) if s.started_at.is_some_and(|t| t > run.started_at) => {}
                Ok(s) => {
                    dated.push((
                        s.started_at,
                        HistoryRun {
                            counts: counts(s.drifts.iter().map(|d| {
                                (d.provider.as_str(), d.severity, d.suppressed.is_some())
                            })),
                            shards: s.shards(),
                            run_id: s.run_id,
                        },
                    ))
                }
                Err(e) if path.exists() => h.notes.push(format!("skipped `{name}/run.json`: {e}")),
                Err(_) => {}
            }
        }
        dated.sort_by(|a, b| (a.0, &a.1.run_id).cmp(&(b.0, &b.1.run_id)));
        found.extend(dated.into_iter().map(|(_, r)| r));
        found.push(HistoryRun::of(run));
        let skip = found.len().saturating_sub(MAX_RUNS);
        h.runs = found.split_off(skip);
        h
    }

    /// Shards of the current run as its run.json says (the last run of the history).
    pub fn current_shards(&self) -> usize {
        self.runs.last().map(|r| r.shards).unwrap_or(1)
    }

    /// The table and chart of the page.
    /// At most `columns` providers are charted, those with the most drifts over the runs
    /// shown (alphabetical among equals); the others are counted in a note.
    pub(crate) fn view(&self, columns: usize) -> HistoryView {
        let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &self.runs {
            for (p, c) in &r.counts {
                *totals.entry(p).or_default() += c.iter().sum::<usize>();
            }
        }
        let all: Vec<(&str, usize)> = totals.into_iter().collect();
        let providers: Vec<String> = super::caps::pick(all.len(), columns, |i| all[i].1)
            .into_iter()
            .map(|i| all[i].0.to_string())
            .collect();
        let mut notes = self.notes.clone();
        if all.len() > providers.len() {
            notes.push(format!(
                "{} more providers are not charted; each run's run.json has their counts",
                all.len() - providers.len()
            ));
        }
        let max = self
            .runs
            .iter()
            .flat_map(|r| r.counts.values().map(|c| c.iter().sum::<usize>()))
            .max()
            .unwrap_or(0)
            .max(1);
        let group = (providers.len().max(1) * BAR + GAP) as f64;
        let mut bars = Vec::new();
        let rows = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let cells = providers
                    .iter()
                    .enumerate()
                    .map(|(j, p)| {
                        let c = r.counts.get(p).copied().unwrap_or_default();
                        let total = c.iter().sum::<usize>();
                        let h = (total as f64 / max as f64 * CHART_H as f64).round();
                        bars.push(Bar {
                            x: (i as f64 * group + (j * BAR) as f64) as usize,
                            y: (CHART_H as f64 - h) as usize,
                            h: h as usize,
                            series: j % 6,
                            title: format!("{}: {p}: {total} drifts", r.run_id),
                        });
                        HistoryCell {
                            breaking: c[0],
                            warning: c[1],
                            info: c[2],
                            total,
                        }
                    })
                    .collect();
                HistoryRow {
                    run_id: r.run_id.clone(),
                    cells,
                }
            })
            .collect();
        HistoryView {
            providers,
            rows,
            bars,
            width: ((self.runs.len() as f64 * group) as usize).max(1),
            height: CHART_H,
            max,
            notes,
        }
    }
}

const CHART_H: usize = 80;
const BAR: usize = 8;
const GAP: usize = 6;

impl HistoryRun {
    pub(crate) fn of(run: &Run) -> HistoryRun {
        let mut counts = counts(
            run.drifts
                .iter()
                .map(|d| (d.provider.as_str(), d.severity, d.suppressed.is_some())),
        );
        for s in &run.suites {
            counts.entry(s.provider.clone()).or_default();
        }
        let shards = match (&run.merged, &run.shard) {
            (Some(m), _) => m.shards as usize,
            (None, Some(s)) => s.count as usize,
            (None, None) => 1,
        };
        HistoryRun {
            run_id: run.run_id.clone(),
            counts,
            shards,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct HistoryView {
    pub providers: Vec<String>,
    pub rows: Vec<HistoryRow>,
    pub bars: Vec<Bar>,
    pub width: usize,
    pub height: usize,
    pub max: usize,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct HistoryRow {
    pub run_id: String,
    pub cells: Vec<HistoryCell>,
}

#[derive(Debug, Serialize)]
pub(crate) struct HistoryCell {
    pub breaking: usize,
    pub warning: usize,
    pub info: usize,
    pub total: usize,
}

/// One bar of the SVG chart (SVG units).
#[derive(Debug, Serialize)]
pub(crate) struct Bar {
    pub x: usize,
    pub y: usize,
    pub h: usize,
    /// Colour series (by provider); the title and the table carry the numbers.
    pub series: usize,
    pub title: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fixed_run;

    fn write(dir: &Path, id: &str, text: &str) {
        std::fs::create_dir_all(dir.join(id)).unwrap();
        std::fs::write(dir.join(id).join("run.json"), text).unwrap();
    }

    #[test]
    fn reads_siblings_up_to_the_run_skipping_latest_and_broken_files() {
        let dir = tempfile::tempdir().unwrap();
        let run = fixed_run();
        write(
            dir.path(),
            "20261125T210000Z-0001",
            r#"{"run_id":"20261125T210000Z-0001","drifts":[
                {"provider":"demo","severity":"breaking"},
                {"provider":"demo","severity":"info"},
                {"provider":"demo","severity":"warning","suppressed":"known"}],
              "shard":"2/4","observations":[1,2,3]}"#,
        );
        write(dir.path(), "20261126T210000Z-0002", "{not json");
        write(dir.path(), "latest", r#"{"run_id":"latest"}"#);
        write(dir.path(), "20261128T210000Z-0003", r#"{"run_id":"later"}"#);
        let h = History::read(dir.path(), &run);
        let ids: Vec<&str> = h.runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["20261125T210000Z-0001", "20261127T210000Z-abcd"]);
        assert_eq!(h.runs[0].counts["demo"], [1, 0, 1]);
        assert_eq!(h.runs[0].shards, 4);
        assert_eq!(h.runs[1].counts["demo"], [1, 1, 1]);
        assert_eq!(h.runs[1].counts["quiet"], [0, 0, 0]);
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
        let h = History::read(dir.path(), &run);
        let ids: Vec<&str> = h.runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["20261127T210000Z-ffff", "20261127T210000Z-0001"]);
        assert_eq!(h.runs[0].shards, 8);
    }

    #[test]
    fn keeps_the_newest_thirty() {
        let dir = tempfile::tempdir().unwrap();
        let run = fixed_run();
        for i in 0..40 {
            let id = format!("20261101T0000{i:02}Z-0000");
            write(dir.path(), &id, &format!(r#"{{"run_id":"{id}"}}"#));
        }
        let h = History::read(dir.path(), &run);
        assert_eq!(h.runs.len(), MAX_RUNS);
        assert_eq!(h.runs[0].run_id, "20261101T000011Z-0000");
        assert_eq!(h.runs[MAX_RUNS - 1].run_id, run.run_id);
    }

    #[test]
    fn shard_counts_are_read_from_any_plausible_shape() {
        use serde_json::json;
        assert_eq!(shard_count(&json!(3)), Some(3));
        assert_eq!(shard_count(&json!("1/4")), Some(4));
        assert_eq!(shard_count(&json!({"index": 1, "total": 5})), Some(5));
        assert_eq!(shard_count(&json!([{}, {}])), Some(2));
        assert_eq!(shard_count(&json!(null)), None);
        assert_eq!(shard_count(&json!(0)), None);
    }
}
