//! `driftwatch merge`: folds shard runs (`run --shard i/n`) into one run and
//! assesses the merged evidence against the baseline, exactly as an unsharded
//! run would. Reads files and the baseline; never talks to a provider.

use super::evidence::{MergeEvidenceError, SuiteEvidence};
use super::evidence_mode::{EvidenceMode, evidence_vendor_headers, reduce};
use super::execute::{add_assessed, empty_run, finalise};
use super::types::{MergedFrom, Run, SuiteSummary};
use crate::baseline::{BaselineStore, UpdateMode};
use crate::context::Context;
use crate::error::Error;
use crate::model::Exchange;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to merge and how to assess it.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// The shard runs' `run.json` files, in any order.
    pub runs: Vec<PathBuf>,
    pub snapshots: PathBuf,
    /// Already resolved for CI, as for `run`.
    pub update: UpdateMode,
    pub suppressions: Option<PathBuf>,
    /// What the merged run keeps of each exchange; `None`: the strictest of the shards'.
    /// A shard's stricter mode always wins (what it left out cannot come back).
    pub evidence: Option<EvidenceMode>,
}

/// Why shard runs cannot be merged. Every message names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no shard runs given")]
    Empty,
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a driftwatch run file ({reason})", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("`{}` is not a shard run (no `shard` field): only `driftwatch run --shard i/n` output can be merged", path.display())]
    NotShard { path: PathBuf },
    #[error("`{}` is shard {index}/{count}, but `{}` is of {first_count} shards", path.display(), first.display())]
    CountMismatch {
        path: PathBuf,
        index: u32,
        count: u32,
        first: PathBuf,
        first_count: u32,
    },
    #[error("shard {index}/{count} is given twice: `{}` and `{}`", first.display(), path.display())]
    Duplicate {
        index: u32,
        count: u32,
        first: PathBuf,
        path: PathBuf,
    },
    #[error("shard {missing} of {count} is missing: merge needs every shard's run")]
    Missing { missing: String, count: u32 },
    #[error("`{}` ran suites [{theirs}], but `{}` ran [{ours}]", path.display(), first.display())]
    Suites {
        path: PathBuf,
        theirs: String,
        first: PathBuf,
        ours: String,
    },
    #[error("`{}`: {source}", path.display())]
    Evidence {
        path: PathBuf,
        #[source]
        source: MergeEvidenceError,
    },
}

/// Everything folded so far; one shard's parsed run is dropped after folding.
struct Accumulator {
    count: u32,
    first: PathBuf,
    seen: BTreeMap<u32, PathBuf>,
    run_ids: BTreeMap<u32, String>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    evidence: Vec<SuiteEvidence>,
    errors: Vec<crate::model::RunError>,
    skipped: Vec<super::types::SkippedProbe>,
    expanded: Vec<super::types::ExpandedSubject>,
    /// Each shard's exchanges and the evidence mode they were recorded under.
    exchanges: BTreeMap<u32, (EvidenceMode, Vec<Exchange>)>,
}

/// Reads one run file without holding its text: the parser reads the file in chunks.
fn read(path: &Path) -> Result<Run, MergeError> {
    let file = crate::bounded::open_bounded(path, crate::bounded::RUN_LIMIT).map_err(|source| {
        MergeError::Read {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let run: Run = serde_json::from_reader(std::io::BufReader::new(file)).map_err(|e| {
        MergeError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("line {} column {}: {e}", e.line(), e.column()),
        }
    })?;
    if run.format != crate::run::RUN_FORMAT {
        return Err(MergeError::Corrupt {
            path: path.to_path_buf(),
            reason: crate::report::json::unknown_format(&run.format),
        });
    }
    Ok(run)
}

fn suite_list(ev: &[SuiteEvidence]) -> String {
    ev.iter()
        .map(|e| e.file.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the shard runs and folds them into one accumulator.
fn fold(paths: &[PathBuf], resolve: &dyn Fn(&Path) -> PathBuf) -> Result<Accumulator, MergeError> {
    let mut acc: Option<Accumulator> = None;
    for path in paths {
        let run = read(&resolve(path))?;
        let Some(shard) = run.shard else {
            return Err(MergeError::NotShard { path: path.clone() });
        };
        let acc = acc.get_or_insert_with(|| Accumulator {
            count: shard.count,
            first: path.clone(),
            seen: BTreeMap::new(),
            run_ids: BTreeMap::new(),
            started_at: None,
            finished_at: None,
            evidence: Vec::new(),
            errors: Vec::new(),
            skipped: Vec::new(),
            expanded: Vec::new(),
            exchanges: BTreeMap::new(),
        });
        if shard.count != acc.count {
            return Err(MergeError::CountMismatch {
                path: path.clone(),
                index: shard.index,
                count: shard.count,
                first: acc.first.clone(),
                first_count: acc.count,
            });
        }
        if let Some(first) = acc.seen.get(&shard.index) {
            return Err(MergeError::Duplicate {
                index: shard.index,
                count: shard.count,
                first: first.clone(),
                path: path.clone(),
            });
        }
        acc.seen.insert(shard.index, path.clone());
        acc.run_ids.insert(shard.index, run.run_id);
        acc.started_at = Some(
            acc.started_at
                .map_or(run.started_at, |t| t.min(run.started_at)),
        );
        acc.finished_at = Some(
            acc.finished_at
                .map_or(run.finished_at, |t| t.max(run.finished_at)),
        );
        if acc.evidence.is_empty() && acc.seen.len() == 1 {
            acc.evidence = run.evidence;
        } else {
            let same = acc.evidence.len() == run.evidence.len()
                && acc
                    .evidence
                    .iter()
                    .zip(&run.evidence)
                    .all(|(a, b)| a.file == b.file);
            if !same {
                return Err(MergeError::Suites {
                    path: path.clone(),
                    theirs: suite_list(&run.evidence),
                    first: acc.first.clone(),
                    ours: suite_list(&acc.evidence),
                });
            }
            for (a, b) in acc.evidence.iter_mut().zip(run.evidence) {
                a.absorb(b).map_err(|source| MergeError::Evidence {
                    path: path.clone(),
                    source,
                })?;
            }
        }
        acc.errors.extend(run.errors);
        acc.skipped.extend(run.skipped);
        acc.expanded.extend(run.expanded);
        acc.exchanges
            .insert(shard.index, (run.evidence_mode, run.exchanges));
    }
    let acc = acc.ok_or(MergeError::Empty)?;
    let missing: Vec<String> = (1..=acc.count)
        .filter(|i| !acc.seen.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing: missing.join(", "),
            count: acc.count,
        });
    }
    Ok(acc)
}

/// Merges the shard runs and assesses them against the baseline. A bad set of
/// shard files is a usage error; a baseline problem is what it is for `run`.
pub fn merge(ctx: &Context, opts: &MergeOptions) -> Result<Run, Error> {
    // A bad ignore file is a usage error and must fail before anything is written.
    let suppressions = match &opts.suppressions {
        Some(path) => crate::baseline::load_suppressions(path, ctx)?,
        None => Vec::new(),
    };
    let acc = fold(&opts.runs, &|p| ctx.resolve(p))?;
    let store = BaselineStore::new(ctx.resolve(&opts.snapshots));
    let now = Utc::now();
    let mut run = empty_run(now);
    run.started_at = acc.started_at.unwrap_or(now);
    run.finished_at = acc.finished_at.unwrap_or(now);
    run.duration_ms = (run.finished_at - run.started_at).num_milliseconds().max(0) as u64;
    run.merged = Some(MergedFrom {
        shards: acc.count,
        runs: acc.run_ids.into_values().collect(),
    });
    run.errors = acc.errors;
    run.skipped = acc.skipped;
    run.expanded = acc.expanded;
    // One mode for the whole merged run: the strictest of the shards' and the one asked for.
    let mode = acc
        .exchanges
        .values()
        .map(|(m, _)| *m)
        .chain(opts.evidence)
        .max()
        .unwrap_or_default();
    let vendor = evidence_vendor_headers(&acc.evidence);
    run.exchanges = acc
        .exchanges
        .into_values()
        .flat_map(|(from, mut xs)| {
            reduce(&mut xs, from, mode, &vendor);
            xs
        })
        .collect();
    run.evidence_mode = mode;
    for mut ev in acc.evidence {
        ev.normalise();
        run.suites.push(SuiteSummary {
            file: ev.file.clone(),
            provider: ev.provider.clone(),
            connections: ev.all_connections.clone(),
            endpoints: ev.endpoints.iter().map(|e| e.id.clone()).collect(),
        });
        let a = super::assess::assess(ev, &store, opts.update, now)?;
        add_assessed(&mut run, a);
    }
    finalise(&mut run, &suppressions, &[]);
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::super::evidence::EndpointInfo;
    use super::super::shard::Shard;
    use super::*;

    fn evidence(file: &str) -> SuiteEvidence {
        SuiteEvidence {
            file: file.into(),
            provider: "demo".into(),
            all_connections: vec!["a".into(), "b".into()],
            endpoints: vec![EndpointInfo {
                id: "me".into(),
                requires: vec![],
                requires_any: vec![],
                requires_fields: BTreeMap::new(),
                tolerate: BTreeMap::new(),
            }],
            scope_sets: BTreeMap::new(),
            auth_scopes: BTreeMap::new(),
            provider_wide: false,
            token_facts: vec![],
            samples: vec![vec![]],
            violations: vec![vec![]],
            values: vec![vec![]],
            signals: vec![vec![]],
            metadata: vec![],
            metadata_findings: vec![],
            app: None,
            client_secret: None,
            callbacks: Vec::new(),
            permissions: None,
            refresh: vec![],
            tokens: vec![],
            connections: vec![],
            skipped: Vec::new(),
        }
    }

    /// Writes a shard run file and returns its path.
    fn shard_file(dir: &Path, name: &str, shard: Option<(u32, u32)>, suites: &[&str]) -> PathBuf {
        let mut run = empty_run(Utc::now());
        run.shard = shard.map(|(index, count)| Shard { index, count });
        run.evidence = suites.iter().map(|f| evidence(f)).collect();
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_string(&run).unwrap()).unwrap();
        path
    }

    fn fold_err(paths: &[PathBuf]) -> String {
        match fold(paths, &|p| p.to_path_buf()) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn merge_rejects_bad_shard_sets_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        let s1 = shard_file(dir, "s1.json", Some((1, 2)), &["suites/a.yaml"]);
        let s2 = shard_file(dir, "s2.json", Some((2, 2)), &["suites/a.yaml"]);
        let plain = shard_file(dir, "plain.json", None, &[]);
        let of3 = shard_file(dir, "of3.json", Some((2, 3)), &["suites/a.yaml"]);
        let other = shard_file(dir, "other.json", Some((2, 2)), &["suites/b.yaml"]);
        let show = |p: &PathBuf| p.display().to_string();

        assert_eq!(fold_err(&[]), "no shard runs given");
        assert_eq!(
            fold_err(&[s1.clone(), plain.clone()]),
            format!(
                "`{}` is not a shard run (no `shard` field): only `driftwatch run --shard i/n` output can be merged",
                show(&plain)
            )
        );
        assert_eq!(
            fold_err(&[s1.clone(), of3.clone()]),
            format!(
                "`{}` is shard 2/3, but `{}` is of 2 shards",
                show(&of3),
                show(&s1)
            )
        );
        assert_eq!(
            fold_err(&[s1.clone(), s1.clone()]),
            format!(
                "shard 1/2 is given twice: `{}` and `{}`",
                show(&s1),
                show(&s1)
            )
        );
        assert_eq!(
            fold_err(std::slice::from_ref(&s1)),
            "shard 2 of 2 is missing: merge needs every shard's run"
        );
        assert_eq!(
            fold_err(&[s1.clone(), other.clone()]),
            format!(
                "`{}` ran suites [suites/b.yaml], but `{}` ran [suites/a.yaml]",
                show(&other),
                show(&s1)
            )
        );
        let broken = dir.join("broken.json");
        std::fs::write(&broken, "{\"format\": ").unwrap();
        assert!(
            fold_err(std::slice::from_ref(&broken)).starts_with(&format!(
                "`{}` is not a driftwatch run file (line 1",
                show(&broken)
            )),
        );
        let acc = fold(&[s2, s1], &|p| p.to_path_buf()).unwrap();
        assert_eq!(acc.count, 2);
        assert_eq!(acc.seen.len(), 2);
        assert_eq!(acc.evidence.len(), 1);
    }

    #[test]
    fn evidence_of_a_different_suite_version_is_refused() {
        let mut a = evidence("suites/a.yaml");
        let mut b = evidence("suites/a.yaml");
        b.all_connections.push("c".into());
        assert_eq!(
            a.absorb(b).unwrap_err().to_string(),
            "suite `suites/a.yaml`: the shards disagree about its connections; were they run from the same suites?"
        );
    }
}
