//! The one count of a finished run: drifts by severity (suppressed ones apart),
//! findings, errors, pending snapshots and connection states, per provider and
//! in total, plus the verdict and the exit code. Computed once from a [`Run`];
//! every reporter and the webhook print these numbers and never count for
//! themselves, so no two outputs of one run can disagree.

use super::types::Run;
use crate::error::exit;
use crate::model::Severity;
use crate::settings::FailOn;
use serde::Serialize;
use std::collections::BTreeMap;

/// What one provider (or the whole run) holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Unsuppressed drifts by severity: the only drifts that can fail a run.
    pub breaking: usize,
    pub warning: usize,
    pub info: usize,
    /// Suppressed drifts and findings (known; never fail a run, never counted above).
    pub suppressed: usize,
    /// Every drift, suppressed or not.
    pub drifts: usize,
    /// Unsuppressed findings (re-checked every run; not drift).
    pub findings: usize,
    /// Run errors.
    pub errors: usize,
    /// Pending snapshots awaiting review (not those written by `--update always`).
    pub pending: usize,
    /// Connections whose state was decided, usable or not.
    pub connections: usize,
    /// Connections that could not be used: none of their observations were compared.
    pub unusable: usize,
    /// Unusable connections that fail the run (breaking; a consumed disposable grant is not).
    pub failing: usize,
}

impl Counts {
    /// Unsuppressed drifts of exactly `s`.
    pub fn of(&self, s: Severity) -> usize {
        match s {
            Severity::Breaking => self.breaking,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }

    /// Unsuppressed drifts at or above `threshold`.
    pub fn at_least(&self, threshold: Severity) -> usize {
        [Severity::Info, Severity::Warning, Severity::Breaking]
            .into_iter()
            .filter(|s| *s >= threshold)
            .map(|s| self.of(s))
            .sum()
    }

    fn add(&mut self, o: &Counts) {
        self.breaking += o.breaking;
        self.warning += o.warning;
        self.info += o.info;
        self.suppressed += o.suppressed;
        self.drifts += o.drifts;
        self.findings += o.findings;
        self.errors += o.errors;
        self.pending += o.pending;
        self.connections += o.connections;
        self.unusable += o.unusable;
        self.failing += o.failing;
    }
}

/// One provider's counts and where its suite came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderCounts {
    pub provider: String,
    /// The suite file; `None` for a group no suite names (expired or unused
    /// suppressions without a provider selector).
    pub file: Option<String>,
    /// Connections and endpoints the suite planned.
    pub planned_connections: usize,
    pub endpoints: usize,
    pub counts: Counts,
}

/// The worst thing in the run, as one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing at warning or above.
    Ok,
    /// An unsuppressed warning drift, nothing worse.
    Warning,
    /// An unsuppressed breaking drift, a run error or a failing connection.
    Breaking,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Breaking => "breaking",
        }
    }
}

/// Every number a report shows about a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub totals: Counts,
    /// Sorted by provider name.
    pub providers: Vec<ProviderCounts>,
    pub verdict: Verdict,
    /// A shard run (`run --shard i/n`): it compared nothing, so it has no drift verdict.
    pub shard: bool,
}

impl RunSummary {
    /// Counts `run` once.
    pub fn of(run: &Run) -> RunSummary {
        let mut map: BTreeMap<&str, ProviderCounts> = BTreeMap::new();
        for s in &run.suites {
            map.insert(
                &s.provider,
                ProviderCounts {
                    provider: s.provider.clone(),
                    file: Some(s.file.clone()),
                    planned_connections: s.connections.len(),
                    endpoints: s.endpoints.len(),
                    counts: Counts::default(),
                },
            );
        }
        for d in &run.drifts {
            let c = group(&mut map, &d.provider);
            c.drifts += 1;
            match (&d.suppressed, d.severity) {
                (Some(_), _) => c.suppressed += 1,
                (None, Severity::Breaking) => c.breaking += 1,
                (None, Severity::Warning) => c.warning += 1,
                (None, Severity::Info) => c.info += 1,
            }
        }
        for f in &run.findings {
            let c = group(&mut map, &f.provider);
            if f.suppressed.is_some() {
                c.suppressed += 1;
            } else {
                c.findings += 1;
            }
        }
        for e in &run.errors {
            group(&mut map, &e.provider).errors += 1;
        }
        for p in run.pending.iter().filter(|p| p.awaits_review()) {
            group(&mut map, &p.provider).pending += 1;
        }
        for c in &run.connections {
            let n = group(&mut map, &c.provider);
            n.connections += 1;
            if !c.usable {
                n.unusable += 1;
                if c.severity == Some(Severity::Breaking) {
                    n.failing += 1;
                }
            }
        }
        let providers: Vec<ProviderCounts> = map.into_values().collect();
        let mut totals = Counts::default();
        for p in &providers {
            totals.add(&p.counts);
        }
        let verdict = if totals.breaking > 0 || totals.errors > 0 || totals.failing > 0 {
            Verdict::Breaking
        } else if totals.warning > 0 {
            Verdict::Warning
        } else {
            Verdict::Ok
        };
        RunSummary {
            totals,
            providers,
            verdict,
            shard: run.shard.is_some(),
        }
    }

    /// The documented exit code of the run (README.md): 3 for run errors or a
    /// failing connection, else 1 for an unsuppressed drift at or above `fail_on`,
    /// else 0. A shard run has no drift verdict: 3 or 0.
    pub fn exit_code(&self, fail_on: FailOn) -> i32 {
        if self.totals.errors > 0 || self.totals.failing > 0 {
            return exit::RUNTIME;
        }
        match fail_on.threshold() {
            Some(t) if !self.shard && self.totals.at_least(t) > 0 => exit::DRIFT,
            _ => exit::OK,
        }
    }

    /// One provider's counts; zero for a provider the run never mentions.
    pub fn provider(&self, name: &str) -> Counts {
        self.providers
            .iter()
            .find(|p| p.provider == name)
            .map(|p| p.counts)
            .unwrap_or_default()
    }

    /// Whether this drift fails the run: unsuppressed and at or above `fail_on`.
    pub fn fails(d: &crate::model::Drift, fail_on: FailOn) -> bool {
        d.suppressed.is_none() && fail_on.threshold().is_some_and(|t| d.severity >= t)
    }
}

/// The counts of provider `p`, inserting an empty group for a provider no suite names.
fn group<'m, 'a>(map: &'m mut BTreeMap<&'a str, ProviderCounts>, p: &'a str) -> &'m mut Counts {
    &mut map
        .entry(p)
        .or_insert_with(|| ProviderCounts {
            provider: p.to_string(),
            file: None,
            planned_connections: 0,
            endpoints: 0,
            counts: Counts::default(),
        })
        .counts
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
