//! The HTML report's view model: plain serde structs built from a finished run,
//! so the template only lays out. Knows the observation bodies of each probe;
//! never formats markup and never touches files.

use super::diff::{DiffRow, side_by_side};
use super::history::{History, HistoryView};
use super::sections::{
    DeprecationView, MatrixView, RefreshRow, SchemaView, ValuesView, deprecations, matrices,
    refresh_rows, schemas, values,
};
use crate::model::{Drift, Exchange, ProbeKind, Severity};
use crate::run::Run;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Evidence longer than this many lines is cut before diffing: a report stays readable
/// and small even when a drift carries a whole document.
const EVIDENCE_LINES: usize = 200;
/// Response and request bodies of embedded exchanges are cut to this many bytes.
const EXCHANGE_BODY_BYTES: usize = 4096;

/// Everything the template shows.
#[derive(Debug, Serialize)]
pub(crate) struct Page {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration: String,
    pub suites: usize,
    pub shards: usize,
    /// `breaking`, `warning` or `ok`: the worst unsuppressed drift (errors count as breaking).
    pub verdict: &'static str,
    pub totals: Counts,
    pub providers: Vec<ProviderSummary>,
    /// Every connection's state, shown first: credential trouble is never drift.
    pub connections: Vec<ConnectionView>,
    /// Observations left uncompared because a connection was unusable.
    pub not_compared: Vec<NotComparedView>,
    pub probes: Vec<&'static str>,
    pub drift_groups: Vec<Group>,
    pub finding_groups: Vec<Group>,
    pub matrices: Vec<MatrixView>,
    pub refresh: Vec<RefreshRow>,
    pub schemas: Vec<SchemaView>,
    pub values: Vec<ValuesView>,
    pub deprecations: DeprecationView,
    pub history: HistoryView,
    pub errors: Vec<ErrorView>,
    pub pending: Vec<PendingView>,
    pub exchanges: Vec<ExchangeView>,
}

/// Drift counts by severity (unsuppressed), plus suppressed items, findings and errors:
/// a copy of [`crate::run::Counts`] for the template.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Counts {
    pub breaking: usize,
    pub warning: usize,
    pub info: usize,
    pub suppressed: usize,
    pub findings: usize,
    pub errors: usize,
    pub pending: usize,
}

impl From<&crate::run::Counts> for Counts {
    fn from(c: &crate::run::Counts) -> Self {
        Counts {
            breaking: c.breaking,
            warning: c.warning,
            info: c.info,
            suppressed: c.suppressed,
            findings: c.findings,
            errors: c.errors,
            pending: c.pending,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ProviderSummary {
    pub name: String,
    pub file: String,
    pub connections: usize,
    pub endpoints: usize,
    pub counts: Counts,
}

/// The drifts (or findings) of one provider.
#[derive(Debug, Serialize)]
pub(crate) struct Group {
    pub provider: String,
    pub items: Vec<DriftView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct DriftView {
    /// The element id: `drift-<fingerprint>` (or `finding-…`), unique in the page.
    pub anchor: String,
    pub rule: String,
    pub severity: &'static str,
    pub probe: &'static str,
    pub provider: String,
    pub subject: String,
    pub path: Option<String>,
    pub connections: Vec<String>,
    pub message: String,
    pub suppressed: Option<String>,
    pub diff: Vec<DiffRow>,
    /// Ids of the linked exchanges embedded in the page.
    pub exchanges: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ConnectionView {
    pub provider: String,
    pub connection: String,
    pub state: &'static str,
    pub usable: bool,
    /// `breaking`, `warning` or `ok`.
    pub severity: &'static str,
    pub message: Option<String>,
    pub error: Option<String>,
    pub last_worked_at: Option<String>,
    pub reconnect: Option<String>,
    pub exchanges: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct NotComparedView {
    pub provider: String,
    pub observation: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorView {
    pub provider: String,
    pub connection: Option<String>,
    pub probe: Option<&'static str>,
    pub subject: Option<String>,
    pub class: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct PendingView {
    pub provider: String,
    pub probe: &'static str,
    pub subject: String,
    pub connection: Option<String>,
    pub status: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct ExchangeView {
    pub id: String,
    pub provider: String,
    pub connection: Option<String>,
    pub purpose: String,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    /// Set when the body shown is shorter than what was received.
    pub body_note: Option<String>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// Builds the page of `run`; `shards` is how many shard runs were merged into it.
pub(crate) fn build(run: &Run, history: &History, shards: usize) -> Page {
    let mut drifts: Vec<&Drift> = run.drifts.iter().collect();
    drifts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut findings: Vec<&Drift> = run.findings.iter().collect();
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));

    let known: HashMap<&str, &Exchange> =
        run.exchanges.iter().map(|x| (x.id.as_str(), x)).collect();
    let mut anchors = Anchors::default();
    let drift_views: Vec<DriftView> = drifts
        .iter()
        .map(|d| drift_view(d, "drift", &mut anchors, &known))
        .collect();
    let finding_views: Vec<DriftView> = findings
        .iter()
        .map(|d| drift_view(d, "finding", &mut anchors, &known))
        .collect();
    // Only exchanges a drift links to are embedded: a big run stays a small file.
    let linked: BTreeSet<&str> = drift_views
        .iter()
        .chain(&finding_views)
        .flat_map(|d| d.exchanges.iter().map(String::as_str))
        .collect();
    let exchanges = run
        .exchanges
        .iter()
        .filter(|x| linked.contains(x.id.as_str()))
        .map(|x| exchange_view(x, run.evidence_mode))
        .collect();

    let anchor_of: Vec<(&Drift, &str)> = drifts
        .iter()
        .copied()
        .zip(drift_views.iter().map(|v| v.anchor.as_str()))
        .chain(
            findings
                .iter()
                .copied()
                .zip(finding_views.iter().map(|v| v.anchor.as_str())),
        )
        .collect();

    let (matrices, refresh, schemas) = (
        matrices(run, &anchor_of),
        refresh_rows(run, &anchor_of),
        schemas(run, &anchor_of),
    );
    drop(anchor_of);
    // Every number comes from the one run summary the other reports print.
    let summary = crate::run::RunSummary::of(run);
    let providers: Vec<ProviderSummary> = summary
        .providers
        .iter()
        .map(|p| ProviderSummary {
            name: p.provider.clone(),
            file: p.file.clone().unwrap_or_default(),
            connections: p.planned_connections,
            endpoints: p.endpoints,
            counts: Counts::from(&p.counts),
        })
        .collect();
    let totals = Counts::from(&summary.totals);
    let connections: Vec<ConnectionView> = run
        .connections
        .iter()
        .map(|c| ConnectionView {
            provider: c.provider.clone(),
            connection: c.connection.clone(),
            state: c.state.as_str(),
            usable: c.usable,
            severity: c.severity.map(Severity::as_str).unwrap_or("ok"),
            message: c.message.clone(),
            error: c.error.clone(),
            last_worked_at: c
                .last_worked_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            reconnect: c.reconnect.clone(),
            exchanges: c.exchanges.clone(),
        })
        .collect();
    let not_compared = run
        .not_compared
        .iter()
        .map(|n| NotComparedView {
            provider: n.key.provider.clone(),
            observation: n.key.to_string(),
            reason: format!("{} ({})", n.reason, n.connections.join(", ")),
        })
        .collect();
    let verdict = summary.verdict.as_str();
    Page {
        run_id: run.run_id.clone(),
        started_at: run.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        finished_at: run.finished_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        duration: format!("{:.1} s", run.duration_ms as f64 / 1000.0),
        suites: run.suites.len(),
        shards: shards.max(1),
        verdict,
        totals,
        providers,
        connections,
        not_compared,
        probes: ALL_PROBES.iter().map(|p| p.as_str()).collect(),
        drift_groups: group(drift_views),
        finding_groups: group(finding_views),
        matrices,
        refresh,
        schemas,
        values: values(run),
        deprecations: deprecations(run),
        history: history.view(),
        errors: run
            .errors
            .iter()
            .map(|e| ErrorView {
                provider: e.provider.clone(),
                connection: e.connection.clone(),
                probe: e.probe.map(ProbeKind::as_str),
                subject: e.subject.clone(),
                class: e.class.clone(),
                message: e.message.clone(),
            })
            .collect(),
        pending: run
            .pending
            .iter()
            .map(|p| PendingView {
                provider: p.provider.clone(),
                probe: p.probe.as_str(),
                subject: p.subject.clone(),
                connection: p.connection.clone(),
                status: if p.accepted {
                    format!("{} (written to the baseline)", p.status)
                } else {
                    p.status.clone()
                },
            })
            .collect(),
        exchanges,
    }
}

const ALL_PROBES: [ProbeKind; 7] = [
    ProbeKind::Metadata,
    ProbeKind::Token,
    ProbeKind::Permissions,
    ProbeKind::Refresh,
    ProbeKind::Schema,
    ProbeKind::Values,
    ProbeKind::Deprecation,
];

/// Hands out unique element ids; the fingerprint makes a drift's link stable across runs.
#[derive(Default)]
struct Anchors {
    used: HashSet<String>,
}

impl Anchors {
    fn take(&mut self, kind: &str, fingerprint: &str) -> String {
        let base = if fingerprint.is_empty() {
            format!("{kind}-{}", self.used.len() + 1)
        } else {
            format!("{kind}-{fingerprint}")
        };
        let mut id = base.clone();
        let mut n = 2;
        while self.used.contains(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        self.used.insert(id.clone());
        id
    }
}

fn drift_view(
    d: &Drift,
    kind: &str,
    anchors: &mut Anchors,
    known: &HashMap<&str, &Exchange>,
) -> DriftView {
    DriftView {
        anchor: anchors.take(kind, &d.fingerprint),
        rule: d.rule.to_string(),
        severity: d.severity.as_str(),
        probe: d.probe.as_str(),
        provider: d.provider.clone(),
        subject: d.subject.clone(),
        path: d.path.clone(),
        connections: d.connections.clone(),
        message: d.message.clone(),
        suppressed: d.suppressed.clone(),
        diff: if d.before.is_none() && d.after.is_none() {
            Vec::new()
        } else {
            side_by_side(&evidence(d.before.as_ref()), &evidence(d.after.as_ref()))
        },
        exchanges: d
            .exchanges
            .iter()
            .filter(|id| known.contains_key(id.as_str()))
            .cloned()
            .collect(),
    }
}

/// Pretty JSON of one side of the evidence, cut to [`EVIDENCE_LINES`].
fn evidence(v: Option<&serde_json::Value>) -> String {
    let Some(v) = v else {
        return String::new();
    };
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    let total = text.lines().count();
    if total <= EVIDENCE_LINES {
        return text;
    }
    let mut cut: String = text
        .lines()
        .take(EVIDENCE_LINES)
        .flat_map(|l| [l, "\n"])
        .collect();
    cut.push_str(&format!("… {} more lines", total - EVIDENCE_LINES));
    cut
}

fn group(items: Vec<DriftView>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for d in items {
        match groups.last_mut() {
            Some(g) if g.provider == d.provider => g.items.push(d),
            _ => groups.push(Group {
                provider: d.provider.clone(),
                items: vec![d],
            }),
        }
    }
    groups
}

fn exchange_view(x: &Exchange, mode: crate::run::EvidenceMode) -> ExchangeView {
    let (body, cut) = x
        .response
        .as_ref()
        .and_then(|r| r.body.as_deref())
        .map(cut_body)
        .unzip();
    let received = x.response.as_ref().map(|r| r.body_bytes).unwrap_or(0);
    let truncated = x.response.as_ref().is_some_and(|r| r.body_truncated) || cut == Some(true);
    ExchangeView {
        id: x.id.clone(),
        provider: x.provider.clone(),
        connection: x.connection.clone(),
        purpose: x.purpose.clone(),
        method: x.request.method.clone(),
        url: x.request.url.clone(),
        request_headers: x.request.headers.clone(),
        request_body: x.request.body.as_deref().map(|b| cut_body(b).0),
        status: x.response.as_ref().map(|r| r.status),
        response_headers: x
            .response
            .as_ref()
            .map(|r| r.headers.clone())
            .unwrap_or_default(),
        response_body: body,
        body_note: match mode {
            crate::run::EvidenceMode::Full => {
                truncated.then(|| format!("body shortened; {received} bytes received"))
            }
            crate::run::EvidenceMode::Shapes => Some(format!(
                "evidence: shapes: the body is replaced by its shape (none when not JSON), \
                 other header values omitted; {received} bytes received"
            )),
            crate::run::EvidenceMode::None => Some(format!(
                "evidence: none: no header or body kept; {received} bytes received"
            )),
        },
        error: x.error.clone(),
        duration_ms: x.duration_ms,
    }
}

/// The first [`EXCHANGE_BODY_BYTES`] of a body (on a char boundary) and whether it was cut.
fn cut_body(b: &str) -> (String, bool) {
    if b.len() <= EXCHANGE_BODY_BYTES {
        return (b.to_string(), false);
    }
    let mut end = EXCHANGE_BODY_BYTES;
    while !b.is_char_boundary(end) {
        end -= 1;
    }
    (format!("{}…", &b[..end]), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_use_the_fingerprint_and_stay_unique() {
        let mut a = Anchors::default();
        assert_eq!(a.take("drift", "abc"), "drift-abc");
        assert_eq!(a.take("drift", "abc"), "drift-abc-2");
        assert_eq!(a.take("finding", ""), "finding-3");
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(EXCHANGE_BODY_BYTES);
        let (cut, was_cut) = cut_body(&body);
        assert!(was_cut);
        assert_eq!(cut.chars().count(), EXCHANGE_BODY_BYTES / 2 + 1);
        assert_eq!(cut_body("short"), ("short".to_string(), false));
    }

    #[test]
    fn long_evidence_is_cut_with_a_count() {
        let v = serde_json::Value::Array((0..500).map(serde_json::Value::from).collect());
        let text = evidence(Some(&v));
        assert_eq!(text.lines().count(), EVIDENCE_LINES + 1);
        assert!(text.ends_with("… 302 more lines"), "{text}");
    }
}
