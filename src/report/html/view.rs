//! The HTML report's view model: plain serde structs built from a finished run,
//! so the template only lays out. Knows the observation bodies of each probe;
//! never formats markup and never touches files. Every list is capped ([`Caps`]):
//! identical drifts are one card, the most urgent cards come first, and what is
//! left out is counted and stays in `run.json`.

use super::caps::{Caps, clip, keep, pick};
use super::diff::{DiffRow, side_by_side};
use super::groups::{DriftGroup, group};
use super::history::{History, HistoryView, chart, run_needs_attention, token_near_death};
use super::sections::{
    AppRow, DeprecationView, MatrixView, RefreshRow, SchemaView, ScopesView, ValuesView, app_rows,
    deprecations, matrices, refresh_rows, schemas, scope_tables, values,
};
use crate::model::{Drift, Exchange, ProbeKind, Severity};
use crate::run::Run;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

/// One side of a shown evidence diff stops growing at this many bytes.
const EVIDENCE_BYTES: usize = 8 * 1024;
/// Characters of one evidence line.
const EVIDENCE_LINE_CHARS: usize = 300;
/// Headers shown per request or response of an embedded exchange.
const EXCHANGE_HEADERS: usize = 20;

/// Everything the template shows.
#[derive(Debug, Serialize)]
pub(crate) struct Page {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration: String,
    pub suites: usize,
    pub shards: usize,
    /// Relative link to the complete `run.json`, when it sits where the page can reach it.
    pub run_json: Option<String>,
    /// `breaking`, `warning` or `ok`: the worst unsuppressed drift (errors count as breaking).
    pub verdict: &'static str,
    /// The first screen's three answers: API changed, credentials, run errors.
    pub headline: Headline,
    pub totals: Counts,
    pub providers: Vec<ProviderSummary>,
    pub providers_more: usize,
    /// Every connection's state, shown first: credential trouble is never drift.
    pub connections: Vec<ConnectionView>,
    pub connections_more: usize,
    /// Observations left uncompared because a connection was unusable.
    pub not_compared: Vec<NotComparedView>,
    pub not_compared_more: usize,
    pub probes: Vec<&'static str>,
    /// Unsuppressed drifts first reported by this run (all of them without history).
    pub new: Listing,
    /// Unsuppressed drifts reported by an earlier run and still not accepted.
    pub known: Listing,
    pub suppressed: Listing,
    /// Findings: a compact table, not cards.
    pub findings: Listing,
    pub matrices: Vec<MatrixView>,
    pub matrices_more: usize,
    /// "Why each scope", beside the matrix (issue 20).
    pub scopes: Vec<ScopesView>,
    pub scopes_more: usize,
    pub refresh: Vec<RefreshRow>,
    pub refresh_more: usize,
    /// The OAuth apps: client liveness and client secret expiry per provider.
    pub apps: Vec<AppRow>,
    pub apps_more: usize,
    pub schemas: Vec<SchemaView>,
    pub schemas_more: usize,
    pub values: Vec<ValuesView>,
    pub values_more: usize,
    pub deprecations: DeprecationView,
    pub history: HistoryView,
    pub errors: Vec<ErrorView>,
    pub errors_more: usize,
    pub pending: Vec<PendingView>,
    pub pending_more: usize,
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

impl Counts {
    fn total(&self) -> usize {
        self.breaking + self.warning + self.info + self.suppressed + self.findings + self.errors
    }
}

/// The verdict line and its three answers, worded so that a run that could not finish
/// never reads as a clean one.
#[derive(Debug, Serialize)]
pub(crate) struct Headline {
    /// One word for the badge: `breaking`, `incomplete`, `credentials`, `warning`,
    /// `attention`, `info` or `ok`.
    pub badge: &'static str,
    /// The badge's colour: `breaking`, `warning`, `info` or `ok`.
    pub badge_severity: &'static str,
    /// One sentence: what the run says, most serious first.
    pub title: String,
    /// Unsuppressed drifts.
    pub drifts: usize,
    pub new: usize,
    pub known: usize,
    /// Connections whose credentials need attention, the most urgent first.
    pub credentials: Vec<CredentialView>,
    pub credentials_total: usize,
    pub errors: usize,
    /// The first run errors, one line each.
    pub first_errors: Vec<String>,
    /// Observations not compared because a connection was unusable.
    pub not_compared: usize,
}

/// One connection that needs attention and why (its state, its refresh token's health).
#[derive(Debug, Serialize)]
pub(crate) struct CredentialView {
    pub provider: String,
    pub connection: String,
    /// `breaking` when the connection was unusable, else `warning`.
    pub severity: &'static str,
    pub what: String,
}

/// Credential entries named in the verdict.
const HEADLINE_ITEMS: usize = 5;
/// Run errors quoted in the verdict.
const FIRST_ERRORS: usize = 3;

#[derive(Debug, Serialize)]
pub(crate) struct ProviderSummary {
    pub name: String,
    pub file: String,
    pub connections: usize,
    pub endpoints: usize,
    pub counts: Counts,
}

/// The drift (or finding) cards of the page, most urgent first, and what was left out.
#[derive(Debug, Serialize)]
pub(crate) struct Listing {
    pub cards: Vec<DriftView>,
    /// Drifts (or findings) in the run, shown or not.
    pub total: usize,
    /// Groups in the run, shown or not.
    pub groups: usize,
    pub hidden_groups: usize,
    pub hidden_items: usize,
    /// Element id of the note that counts what is not shown.
    pub more_anchor: &'static str,
}

/// One card: a drift, or a group of drifts making the same change on several endpoints
/// or connections (then `count` > 1 and `members` lists the first few).
#[derive(Debug, Serialize)]
pub(crate) struct DriftView {
    /// The element id: `drift-<fingerprint>` (or `finding-…`) of the first member.
    pub anchor: String,
    /// `drift` or `finding`.
    pub kind: &'static str,
    pub rule: String,
    pub severity: &'static str,
    pub probe: &'static str,
    pub provider: String,
    /// The first member's subject.
    pub subject: String,
    pub path: Option<String>,
    /// Drifts in the group.
    pub count: usize,
    /// Distinct endpoints (subjects) and connections of the group.
    pub endpoints: usize,
    pub connection_count: usize,
    /// The first connections by name.
    pub connections: Vec<String>,
    /// The first member's message; `messages_differ` when others word it differently
    /// (they usually name their endpoint).
    pub message: String,
    pub messages_differ: bool,
    pub suppressed: Option<String>,
    /// When the first member was first reported: `None` when this run is the first.
    pub since: Option<String>,
    /// Listed members of a group (empty for a single drift).
    pub members: Vec<MemberView>,
    pub members_more: usize,
    pub diff: Vec<DiffRow>,
    /// Why the evidence is not shown, or that it was cut.
    pub evidence_note: Option<String>,
    /// Ids of the linked exchanges embedded in the page.
    pub exchanges: Vec<String>,
    pub exchanges_more: usize,
}

/// A listed member of a group: its own subject and connections, and its own anchor so
/// that links to it from the other sections land on its line.
#[derive(Debug, Serialize)]
pub(crate) struct MemberView {
    /// `None` for the first member, whose anchor is the card's.
    pub anchor: Option<String>,
    pub subject: String,
    pub connections: String,
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

/// Where each drift or finding links to: its line or card, or the "not shown" note.
type Targets = HashMap<*const Drift, String>;

/// Builds the page of `run`, with `history` (oldest first, ending with `run`).
pub(crate) fn build<'r>(
    run: &'r Run,
    history: &History,
    caps: Caps,
    run_json: Option<&str>,
) -> Page {
    let mut drifts: Vec<&'r Drift> = run.drifts.iter().collect();
    drifts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut findings: Vec<&Drift> = run.findings.iter().collect();
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));

    let known: HashMap<&str, &Exchange> =
        run.exchanges.iter().map(|x| (x.id.as_str(), x)).collect();
    let mut anchors = Anchors::default();
    let mut targets = Targets::new();
    // Exchanges the page may still embed: the most urgent cards get theirs first.
    let mut embed = Embed {
        left: caps.embedded,
        ids: HashSet::new(),
    };
    // New before known before suppressed: the order of the page, and of who gets the
    // embedded exchanges first.
    let (suppressed, unsuppressed): (Vec<&Drift>, Vec<&Drift>) =
        drifts.iter().copied().partition(|d| d.suppressed.is_some());
    let (new, old): (Vec<&Drift>, Vec<&Drift>) = unsuppressed
        .into_iter()
        .partition(|d| d.is_new_in(&run.run_id));
    let (new_count, old_count) = (new.len(), old.len());
    let mut list = |kind, members: &[&'r Drift]| {
        listing(
            &group(members),
            kind,
            &run.run_id,
            caps,
            &mut anchors,
            &known,
            &mut targets,
            &mut embed,
        )
    };
    let new_listing = list(Kind::New, &new);
    let known_listing = list(Kind::Known, &old);
    let suppressed_listing = list(Kind::Suppressed, &suppressed);
    let finding_listing = list(Kind::Finding, &findings);

    // A drift's anchor as the sections see it: `finding…` for findings.
    let anchor_of: Vec<(&Drift, &str)> = drifts
        .iter()
        .chain(&findings)
        .map(|d| {
            let target = targets
                .get(&(*d as *const Drift))
                .map(String::as_str)
                .unwrap_or_default();
            (*d, target)
        })
        .collect();
    let (matrices, matrices_more) = matrices(run, &anchor_of, caps);
    let (scopes, scopes_more) = scope_tables(run, caps);
    let (refresh, refresh_more) = refresh_rows(run, &anchor_of, caps);
    let (apps, apps_more) = app_rows(run, &anchor_of, caps);
    let (schemas, schemas_more) = schemas(run, &anchor_of, caps);
    drop(anchor_of);
    let (values, values_more) = values(run, caps);

    // Every number comes from the one run summary the other reports print.
    let summary = crate::run::RunSummary::of(run);
    let all_providers: Vec<ProviderSummary> = summary
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
    let shown = pick(all_providers.len(), caps.rows, |i| {
        all_providers[i].counts.total()
    });
    let providers_more = all_providers.len() - shown.len();
    let providers = keep(all_providers, &shown);

    // Connections with trouble are kept first when the table must be cut.
    let shown = pick(run.connections.len(), caps.rows, |i| {
        let c = &run.connections[i];
        (!c.usable, c.severity)
    });
    let connections_more = run.connections.len() - shown.len();
    let connections: Vec<ConnectionView> = shown
        .iter()
        .map(|&i| {
            let c = &run.connections[i];
            ConnectionView {
                provider: clip(&c.provider, caps.text),
                connection: clip(&c.connection, caps.text),
                state: c.state.as_str(),
                usable: c.usable,
                severity: c.severity.map(Severity::as_str).unwrap_or("ok"),
                message: c.message.as_deref().map(|m| clip(m, caps.text)),
                error: c.error.as_deref().map(|m| clip(m, caps.text)),
                last_worked_at: c
                    .last_worked_at
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                reconnect: c.reconnect.as_deref().map(|m| clip(m, caps.text)),
                exchanges: c
                    .exchanges
                    .iter()
                    .filter(|id| known.contains_key(id.as_str()))
                    .filter(|id| embed.take(id))
                    .take(caps.exchanges)
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    let not_compared: Vec<NotComparedView> = run
        .not_compared
        .iter()
        .take(caps.rows)
        .map(|n| NotComparedView {
            provider: clip(&n.key.provider, caps.text),
            observation: clip(&n.key.to_string(), caps.text),
            reason: clip(
                &format!("{} ({})", n.reason, n.connections.join(", ")),
                caps.text,
            ),
        })
        .collect();

    // Only exchanges a shown card or connection links to are embedded: a big run stays a
    // small file.
    let linked: BTreeSet<&str> = new_listing
        .cards
        .iter()
        .chain(&known_listing.cards)
        .chain(&suppressed_listing.cards)
        .chain(&finding_listing.cards)
        .flat_map(|d| d.exchanges.iter().map(String::as_str))
        .chain(
            connections
                .iter()
                .flat_map(|c| c.exchanges.iter().map(String::as_str)),
        )
        .collect();
    let exchanges = run
        .exchanges
        .iter()
        .filter(|x| linked.contains(x.id.as_str()))
        .map(|x| exchange_view(x, caps, run.evidence_mode))
        .collect();

    let verdict = summary.verdict.as_str();
    let headline = headline(run, &summary.totals, new_count, old_count, caps);
    let pending_shown = pick(run.pending.len(), caps.rows, |i| {
        run.pending[i].awaits_review()
    });
    Page {
        run_id: clip(&run.run_id, caps.text),
        started_at: run.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        finished_at: run.finished_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        duration: format!("{:.1} s", run.duration_ms as f64 / 1000.0),
        suites: run.suites.len(),
        shards: match (&run.merged, &run.shard) {
            (Some(m), _) => m.shards as usize,
            (None, Some(s)) => s.count as usize,
            (None, None) => 1,
        }
        .max(1),
        run_json: run_json.map(str::to_string),
        verdict,
        headline,
        totals,
        providers,
        providers_more,
        connections,
        connections_more,
        not_compared_more: run.not_compared.len() - not_compared.len(),
        not_compared,
        probes: ALL_PROBES.iter().map(|p| p.as_str()).collect(),
        new: new_listing,
        known: known_listing,
        suppressed: suppressed_listing,
        findings: finding_listing,
        matrices,
        matrices_more,
        scopes,
        scopes_more,
        refresh,
        refresh_more,
        apps,
        apps_more,
        schemas,
        schemas_more,
        values,
        values_more,
        deprecations: deprecations(run, caps),
        history: chart(&history.runs, &history.notes),
        errors_more: run.errors.len().saturating_sub(caps.rows),
        errors: run
            .errors
            .iter()
            .take(caps.rows)
            .map(|e| ErrorView {
                provider: clip(&e.provider, caps.text),
                connection: e.connection.as_deref().map(|m| clip(m, caps.text)),
                probe: e.probe.map(ProbeKind::as_str),
                subject: e.subject.as_deref().map(|m| clip(m, caps.text)),
                class: clip(&e.class, caps.text),
                message: clip(&e.message, caps.text),
            })
            .collect(),
        pending_more: run.pending.len() - pending_shown.len(),
        pending: pending_shown
            .into_iter()
            .map(|i| {
                let p = &run.pending[i];
                PendingView {
                    provider: clip(&p.provider, caps.text),
                    probe: p.probe.as_str(),
                    subject: clip(&p.subject, caps.text),
                    connection: p.connection.as_deref().map(|m| clip(m, caps.text)),
                    status: if p.accepted {
                        format!("{} (written to the baseline)", p.status)
                    } else {
                        clip(&p.status, caps.text)
                    },
                }
            })
            .collect(),
        exchanges,
    }
}

/// `n thing` or `n things`.
fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// The verdict line: drifts (API changed), credentials that need attention (connection
/// states other than ok/refreshed, refresh tokens near death) and run errors, kept apart.
fn headline(
    run: &Run,
    totals: &crate::run::Counts,
    new: usize,
    known: usize,
    caps: Caps,
) -> Headline {
    let drifts = totals.breaking + totals.warning + totals.info;
    // Why each connection needs attention, keyed like `needs_attention` counts them.
    let attention = run_needs_attention(run);
    let mut credentials: Vec<CredentialView> = attention
        .iter()
        .map(|&(provider, connection)| {
            let mut what = Vec::new();
            let mut severity = "warning";
            for c in run
                .connections
                .iter()
                .filter(|c| c.provider == provider && c.connection == connection)
                .filter(|c| super::history::connection_needs_attention(c.state.as_str()))
            {
                if !c.usable {
                    severity = "breaking";
                }
                what.push(match &c.error {
                    Some(e) => format!("{} ({e})", c.state.as_str()),
                    None => c.state.as_str().to_string(),
                });
            }
            for t in run
                .tokens
                .iter()
                .filter(|t| t.provider == provider && t.connection == connection)
                .filter(|t| token_near_death(&t.status))
            {
                what.push(match t.days_left {
                    Some(d) if d < 0 => format!(
                        "refresh token {} {} ago",
                        t.status,
                        count(d.unsigned_abs() as usize, "day")
                    ),
                    Some(d) => format!(
                        "refresh token {}: dies in {}",
                        t.status,
                        count(d as usize, "day")
                    ),
                    None => format!("refresh token {}", t.status),
                });
            }
            CredentialView {
                provider: clip(provider, caps.short),
                connection: clip(connection, caps.short),
                severity,
                what: clip(&what.join("; "), caps.short),
            }
        })
        .collect();
    let credentials_total = credentials.len();
    // Unusable connections first; otherwise by provider and connection.
    credentials.sort_by_key(|c| c.severity != "breaking");
    credentials.truncate(HEADLINE_ITEMS);

    let errors = run.errors.len();
    let mut parts = Vec::new();
    if drifts > 0 {
        parts.push(format!(
            "API changed: {} breaking · {} warning · {} info ({new} new, {known} known)",
            totals.breaking, totals.warning, totals.info
        ));
    }
    if credentials_total > 0 {
        parts.push(format!(
            "credentials need attention: {}",
            count(credentials_total, "connection")
        ));
    }
    if errors > 0 {
        parts.push(format!("run incomplete: {}", count(errors, "error")));
    }
    let mut title = if parts.is_empty() {
        if totals.suppressed > 0 {
            format!(
                "No drift: every compared observation matches its baseline ({} suppressed)",
                totals.suppressed
            )
        } else {
            "No drift: every observation matches its baseline".to_string()
        }
    } else {
        parts.join("; ")
    };
    if let Some(first) = title.get(..1) {
        title = first.to_uppercase() + &title[1..];
    }
    let (badge, badge_severity) = if totals.breaking > 0 {
        ("breaking", "breaking")
    } else if errors > 0 {
        ("incomplete", "breaking")
    } else if totals.failing > 0 {
        ("credentials", "breaking")
    } else if totals.warning > 0 {
        ("warning", "warning")
    } else if credentials_total > 0 {
        ("attention", "warning")
    } else if totals.info > 0 {
        ("info", "info")
    } else {
        ("ok", "ok")
    };
    Headline {
        badge,
        badge_severity,
        title,
        drifts,
        new,
        known,
        credentials,
        credentials_total,
        errors,
        first_errors: run
            .errors
            .iter()
            .take(FIRST_ERRORS)
            .map(|e| {
                let mut at = vec![e.provider.as_str()];
                at.extend(e.connection.as_deref());
                at.extend(e.subject.as_deref());
                clip(
                    &format!("{} · {}: {}", at.join(" · "), e.class, e.message),
                    caps.short,
                )
            })
            .collect(),
        not_compared: run.not_compared.len(),
    }
}

/// The page-wide budget of embedded exchanges: an id already embedded costs nothing.
struct Embed<'a> {
    left: usize,
    ids: HashSet<&'a str>,
}

impl<'a> Embed<'a> {
    /// Whether `id` is (now) embedded.
    fn take(&mut self, id: &'a str) -> bool {
        if self.ids.contains(id) {
            return true;
        }
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        self.ids.insert(id)
    }
}

/// The four listings of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    New,
    Known,
    Suppressed,
    Finding,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::New | Kind::Known | Kind::Suppressed => "drift",
            Kind::Finding => "finding",
        }
    }

    /// The id of the "not shown" note.
    fn more_anchor(self) -> &'static str {
        match self {
            Kind::New => "new-not-shown",
            Kind::Known => "known-not-shown",
            Kind::Suppressed => "suppressed-not-shown",
            Kind::Finding => "findings-not-shown",
        }
    }
}

/// The cards of `groups` (already most urgent first) within `caps`, recording in `targets`
/// where every member links to.
#[allow(clippy::too_many_arguments)]
fn listing<'a>(
    groups: &[DriftGroup<'a>],
    kind: Kind,
    run_id: &str,
    caps: Caps,
    anchors: &mut Anchors,
    known: &HashMap<&str, &Exchange>,
    targets: &mut Targets,
    embed: &mut Embed<'a>,
) -> Listing {
    let mut cards = Vec::new();
    let (mut hidden_groups, mut hidden_items, mut total) = (0, 0, 0);
    for (i, g) in groups.iter().enumerate() {
        total += g.members.len();
        if i >= caps.groups {
            hidden_groups += 1;
            hidden_items += g.members.len();
            for d in &g.members {
                targets.insert(*d as *const Drift, kind.more_anchor().to_string());
            }
            continue;
        }
        cards.push(card(
            g,
            // Findings are facts re-checked every run: their "before" says nothing.
            kind != Kind::Finding && i < caps.evidence,
            kind,
            run_id,
            caps,
            anchors,
            known,
            targets,
            embed,
        ));
    }
    Listing {
        cards,
        total,
        groups: groups.len(),
        hidden_groups,
        hidden_items,
        more_anchor: kind.more_anchor(),
    }
}

#[allow(clippy::too_many_arguments)]
fn card<'a>(
    g: &DriftGroup<'a>,
    with_evidence: bool,
    kind: Kind,
    run_id: &str,
    caps: Caps,
    anchors: &mut Anchors,
    known: &HashMap<&str, &Exchange>,
    targets: &mut Targets,
    embed: &mut Embed<'a>,
) -> DriftView {
    let d = g.first();
    let anchor = anchors.take(kind.prefix(), &clip(&d.fingerprint, 64));
    let grouped = g.members.len() > 1;
    let mut members = Vec::new();
    for (i, m) in g.members.iter().enumerate() {
        let target = if i == 0 {
            anchor.clone()
        } else if i < caps.subjects {
            anchors.take(kind.prefix(), &clip(&m.fingerprint, 64))
        } else {
            anchor.clone()
        };
        if grouped && i < caps.subjects {
            members.push(MemberView {
                anchor: (i > 0).then(|| target.clone()),
                subject: clip(&m.subject, caps.short),
                connections: clip(&m.connections.join(", "), caps.short),
            });
        }
        targets.insert(*m as *const Drift, target);
    }
    let mut exchanges: Vec<String> = Vec::new();
    let mut all_exchanges: HashSet<&str> = HashSet::new();
    for id in g.members.iter().copied().flat_map(|m| m.exchanges.iter()) {
        if known.contains_key(id.as_str())
            && all_exchanges.insert(id)
            && exchanges.len() < caps.exchanges
            && embed.take(id)
        {
            exchanges.push(id.clone());
        }
    }
    let has_evidence = d.before.is_some() || d.after.is_some();
    let (diff, evidence_note) = if !has_evidence {
        (Vec::new(), None)
    } else if with_evidence {
        let (before, cut_b) = evidence(d.before.as_ref(), caps.evidence_lines);
        let (after, cut_a) = evidence(d.after.as_ref(), caps.evidence_lines);
        let note = (cut_b || cut_a)
            .then(|| "evidence shortened; the full before and after are in run.json".to_string());
        (side_by_side(&before, &after), note)
    } else if kind == Kind::Finding {
        (Vec::new(), None)
    } else {
        (
            Vec::new(),
            Some("evidence not shown for lower-ranked drifts; it is in run.json".to_string()),
        )
    };
    DriftView {
        anchor,
        kind: kind.prefix(),
        rule: clip(d.rule.as_str(), caps.text),
        severity: d.severity.as_str(),
        probe: d.probe.as_str(),
        provider: clip(&d.provider, caps.text),
        subject: clip(&d.subject, caps.text),
        path: d.path.as_deref().map(|p| clip(p, caps.text)),
        count: g.members.len(),
        endpoints: g.endpoints,
        connection_count: g.connections.len(),
        connections: g
            .connections
            .iter()
            .take(caps.subjects)
            .map(|c| clip(c, caps.short))
            .collect(),
        message: clip(&d.message, caps.text),
        messages_differ: g.members.iter().any(|m| m.message != d.message),
        suppressed: d.suppressed.as_deref().map(|s| clip(s, caps.text)),
        since: d
            .first_seen
            .as_ref()
            .filter(|_| !d.is_new_in(run_id))
            .map(|f| {
                format!(
                    "{} (run {})",
                    f.at.format("%Y-%m-%d"),
                    clip(&f.run_id, caps.short)
                )
            }),
        members_more: if grouped {
            g.members.len() - members.len()
        } else {
            0
        },
        members,
        diff,
        evidence_note,
        exchanges_more: all_exchanges.len() - exchanges.len(),
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

/// Pretty JSON of one side of the evidence, cut to `max_lines` lines of at most
/// [`EVIDENCE_LINE_CHARS`] characters and about [`EVIDENCE_BYTES`]; and whether it was cut.
fn evidence(v: Option<&serde_json::Value>, max_lines: usize) -> (String, bool) {
    let Some(v) = v else {
        return (String::new(), false);
    };
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    let total = text.lines().count();
    let mut out = String::new();
    let mut shown = 0;
    let mut cut = false;
    for line in text.lines() {
        if shown == max_lines || out.len() >= EVIDENCE_BYTES {
            break;
        }
        let clipped = clip(line, EVIDENCE_LINE_CHARS);
        cut |= clipped.len() != line.len();
        out.push_str(&clipped);
        out.push('\n');
        shown += 1;
    }
    if shown < total {
        out.push_str(&format!("… {} more lines", total - shown));
        cut = true;
    } else {
        out.pop();
    }
    (out, cut)
}

fn exchange_view(x: &Exchange, caps: Caps, mode: crate::run::EvidenceMode) -> ExchangeView {
    let (body, cut) = x
        .response
        .as_ref()
        .and_then(|r| r.body.as_deref())
        .map(|b| cut_body(b, caps.body_bytes))
        .unzip();
    let received = x.response.as_ref().map(|r| r.body_bytes).unwrap_or(0);
    let truncated = x.response.as_ref().is_some_and(|r| r.body_truncated) || cut == Some(true);
    let headers = |h: &[(String, String)]| -> Vec<(String, String)> {
        h.iter()
            .take(EXCHANGE_HEADERS)
            .map(|(k, v)| (clip(k, caps.short), clip(v, caps.short)))
            .collect()
    };
    ExchangeView {
        id: clip(&x.id, caps.text),
        provider: clip(&x.provider, caps.text),
        connection: x.connection.as_deref().map(|c| clip(c, caps.text)),
        purpose: clip(&x.purpose, caps.text),
        method: clip(&x.request.method, caps.text),
        url: clip(&x.request.url, caps.text),
        request_headers: headers(&x.request.headers),
        request_body: x
            .request
            .body
            .as_deref()
            .map(|b| cut_body(b, caps.body_bytes).0),
        status: x.response.as_ref().map(|r| r.status),
        response_headers: x
            .response
            .as_ref()
            .map(|r| headers(&r.headers))
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
        error: x.error.as_deref().map(|e| clip(e, caps.text)),
        duration_ms: x.duration_ms,
    }
}

/// The first `max` bytes of a body (on a char boundary) and whether it was cut.
fn cut_body(b: &str, max: usize) -> (String, bool) {
    if b.len() <= max {
        return (b.to_string(), false);
    }
    let mut end = max;
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
        let max = Caps::DEFAULT.body_bytes;
        let body = "é".repeat(max);
        let (cut, was_cut) = cut_body(&body, max);
        assert!(was_cut);
        assert_eq!(cut.chars().count(), max / 2 + 1);
        assert_eq!(cut_body("short", max), ("short".to_string(), false));
    }

    #[test]
    fn long_evidence_is_cut_with_a_count() {
        let v = serde_json::Value::Array((0..500).map(serde_json::Value::from).collect());
        let (text, cut) = evidence(Some(&v), 200);
        assert!(cut);
        assert_eq!(text.lines().count(), 200 + 1);
        assert!(text.ends_with("… 302 more lines"), "{text}");
    }
}
