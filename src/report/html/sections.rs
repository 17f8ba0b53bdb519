//! The probe-specific sections of the HTML report's view model: permission
//! matrix, refresh table, schema trees, value anomalies, deprecation timeline.
//! Reads observation bodies as the probes write them; tolerant of missing fields.

use super::caps::{Caps, clip, keep, pick};
use crate::model::{Drift, Observation, ProbeKind};
use crate::probe::deprecation;
use crate::probe::permissions::{self, view::CellView, view::PermissionsView};
use crate::probe::refresh::{self, view::RefreshView};
use crate::probe::schema;
use crate::probe::shape::FieldShape;
use crate::probe::values::{self, ValueClass, ValuesBody};
use crate::rules::Rule;
use crate::run::Run;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A drift (or finding) and the element id it links to in the page (its card, its line in
/// a card, or the note counting what is not shown: `finding…` for findings).
pub(crate) type Anchored<'a> = (&'a Drift, &'a str);

/// Links shown per matrix cell, schema field or refresh row.
const LINKS: usize = 10;

fn is_finding(anchor: &str) -> bool {
    anchor.starts_with("finding")
}

/// Adds `l` to `links` unless an equal link is there or the list is full.
fn add_link(links: &mut Vec<Link>, l: Link) {
    if links.len() < LINKS
        && !links
            .iter()
            .any(|x| x.anchor == l.anchor && x.rule == l.rule)
    {
        links.push(l);
    }
}

/// A link to a drift or finding in the page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Link {
    pub anchor: String,
    pub rule: String,
}

fn link((d, a): &Anchored<'_>) -> Link {
    Link {
        anchor: a.to_string(),
        rule: d.rule.to_string(),
    }
}

fn observed(run: &Run, probe: ProbeKind) -> impl Iterator<Item = &Observation> {
    run.observations
        .iter()
        .filter(move |o| o.key.probe == probe)
}

fn title(o: &Observation) -> String {
    match &o.key.connection {
        Some(c) => format!("{} @ {c}", o.key.subject),
        None => o.key.subject.clone(),
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct MatrixView {
    pub provider: String,
    pub scope_sets: Vec<String>,
    pub rows: Vec<MatrixRow>,
    /// Endpoints and scope sets of this provider that were cut.
    pub more_rows: usize,
    pub more_columns: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct MatrixRow {
    pub endpoint: String,
    pub reference: Option<String>,
    pub downscoping: Option<String>,
    pub cells: Vec<MatrixCell>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MatrixCell {
    /// `granted`, `partial`, `denied`, `error` or `unobserved`.
    pub class: String,
    pub status: Option<String>,
    /// Signal, error code or what was missing.
    pub detail: Option<String>,
    /// Drifts of this cell against the baseline (`changed` when non-empty).
    pub changed: Vec<Link>,
    /// Findings of this cell against the suite's documented requirements.
    pub documented: Vec<Link>,
}

/// One provider's "Why each scope" table (issue 20): the rows of `driftwatch scopes`.
#[derive(Debug, Serialize)]
pub(crate) struct ScopesView {
    pub provider: String,
    pub rows: Vec<crate::report::scopes::ScopeRow>,
    /// Rows of this provider that were cut.
    pub more_rows: usize,
}

/// One "Why each scope" table per provider with a justification in the run, within `caps`
/// (tables, rows per table; unused scopes are kept first); the second value counts the
/// tables left out.
pub(crate) fn scope_tables(run: &Run, caps: Caps) -> (Vec<ScopesView>, usize) {
    let shown = pick(run.scopes.len(), caps.tables, |i| {
        run.scopes[i].scopes.iter().any(|s| s.unused)
    });
    let hidden = run.scopes.len() - shown.len();
    let views = shown
        .into_iter()
        .map(|i| {
            let p = &run.scopes[i];
            let all = crate::report::scopes::rows(p);
            let kept = pick(all.len(), caps.table_rows, |j| all[j].unused);
            let more_rows = all.len() - kept.len();
            let rows = keep(all, &kept)
                .into_iter()
                .map(|mut r| {
                    // Markdown's code quotes mean nothing on the page.
                    let plain = |s: &str, max: usize| clip(&s.replace('`', ""), max);
                    r.scope = plain(&r.scope, caps.short);
                    r.unlocks = plain(&r.unlocks, caps.short);
                    r.basis = plain(&r.basis, caps.text);
                    r.note = plain(&r.note, caps.text);
                    r
                })
                .collect();
            ScopesView {
                provider: clip(&p.provider, caps.short),
                rows,
                more_rows,
            }
        })
        .collect();
    (views, hidden)
}

/// One matrix per provider: endpoints × scope sets from the permissions observations.
/// Within `caps`, endpoints and scope sets with a drift or finding are kept first; the
/// second value counts the matrices (providers) left out.
pub(crate) fn matrices(
    run: &Run,
    anchors: &[Anchored<'_>],
    caps: Caps,
) -> (Vec<MatrixView>, usize) {
    // (provider, subject, scope set) → (drift links, finding links), built once.
    type CellLinks = (Vec<Link>, Vec<Link>);
    let mut links: HashMap<(&str, &str, &str), CellLinks> = HashMap::new();
    let mut touched: HashSet<(&str, &str)> = HashSet::new();
    let mut touched_sets: HashSet<(&str, &str)> = HashSet::new();
    for a @ (d, anchor) in anchors {
        if d.probe != ProbeKind::Permissions {
            continue;
        }
        let Some(set) = d.path.as_deref() else {
            continue;
        };
        let entry = links.entry((&d.provider, &d.subject, set)).or_default();
        let list = if is_finding(anchor) {
            &mut entry.1
        } else {
            &mut entry.0
        };
        add_link(list, link(a));
        touched.insert((&d.provider, &d.subject));
        touched_sets.insert((&d.provider, set));
    }
    // Each body is read once, through the permissions probe's typed view.
    type Viewed<'r> = (&'r Observation, Option<PermissionsView>);
    let mut by_provider: BTreeMap<&str, Vec<Viewed<'_>>> = BTreeMap::new();
    for o in observed(run, ProbeKind::Permissions) {
        by_provider
            .entry(&o.key.provider)
            .or_default()
            .push((o, permissions::view::view(&o.body)));
    }
    let all: Vec<(&str, Vec<Viewed<'_>>)> = by_provider.into_iter().collect();
    let shown = pick(all.len(), caps.tables, |i| {
        let (p, obs) = &all[i];
        obs.iter()
            .any(|(o, _)| touched.contains(&(*p, o.key.subject.as_str())))
    });
    let hidden = all.len() - shown.len();
    let mut cells_left = caps.cells;
    let views = shown
        .into_iter()
        .map(|i| {
            let (provider, obs) = &all[i];
            let provider = *provider;
            let sets: Vec<String> = obs
                .iter()
                .filter_map(|(_, v)| v.as_ref())
                .flat_map(|v| v.cells.keys().cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let kept = pick(sets.len(), caps.columns, |j| {
                touched_sets.contains(&(provider, sets[j].as_str()))
            });
            let scope_sets: Vec<String> = kept.iter().map(|&j| sets[j].clone()).collect();
            // All matrices together hold at most `caps.cells` cells.
            let fit = cells_left / scope_sets.len().max(1);
            let rows_kept = pick(obs.len(), caps.table_rows.min(fit), |j| {
                touched.contains(&(provider, obs[j].0.key.subject.as_str()))
            });
            cells_left -= rows_kept.len() * scope_sets.len();
            let rows = rows_kept
                .iter()
                .map(|&j| {
                    let (o, v) = &obs[j];
                    let cells = scope_sets
                        .iter()
                        .map(|set| {
                            let cell = v.as_ref().and_then(|v| v.cells.get(set));
                            let (changed, documented) = links
                                .get(&(provider, o.key.subject.as_str(), set.as_str()))
                                .cloned()
                                .unwrap_or_default();
                            matrix_cell(cell, changed, documented, caps)
                        })
                        .collect();
                    MatrixRow {
                        endpoint: clip(&title(o), caps.short),
                        reference: v
                            .as_ref()
                            .and_then(|v| v.reference.as_deref())
                            .map(|t| clip(t, caps.short)),
                        downscoping: v
                            .as_ref()
                            .and_then(|v| v.downscoping.as_deref())
                            .map(|t| clip(t, caps.short)),
                        cells,
                    }
                })
                .collect();
            MatrixView {
                provider: clip(provider, caps.text),
                scope_sets: scope_sets.iter().map(|s| clip(s, caps.short)).collect(),
                rows,
                more_rows: obs.len() - rows_kept.len(),
                more_columns: sets.len() - kept.len(),
            }
        })
        .collect();
    (views, hidden)
}

fn matrix_cell(
    cell: Option<&CellView>,
    changed: Vec<Link>,
    documented: Vec<Link>,
    caps: Caps,
) -> MatrixCell {
    match cell {
        None => MatrixCell {
            class: "unobserved".into(),
            status: None,
            detail: None,
            changed,
            documented,
        },
        Some(c) => MatrixCell {
            class: c.class.to_string(),
            status: c.status.as_deref().map(|t| clip(t, caps.short)),
            detail: c.detail.as_deref().map(|t| clip(t, caps.short)),
            changed,
            documented,
        },
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct RefreshRow {
    pub provider: String,
    pub connection: String,
    pub class: Option<String>,
    pub rotation: String,
    pub reuse: String,
    pub issues_refresh_tokens: Option<bool>,
    pub access_lifetime: Option<String>,
    pub refresh_lifetime: Option<String>,
    pub grace: Option<String>,
    pub health: Option<String>,
    pub expires_at: Option<String>,
    /// `ok`, `soon` (≤ 7 days), `dead` or `unknown`: the countdown's urgency.
    pub urgency: &'static str,
    pub countdown: String,
    pub drifts: Vec<Link>,
}

/// One row per provider whose OAuth app the `app` probe looked at (issue 20): the client
/// liveness class and, when the suite dates it, the client secret's countdown.
#[derive(Debug, Serialize)]
pub(crate) struct AppRow {
    pub provider: String,
    /// `authenticated`, `rejected` or `unclear`; `None` when liveness was not probed.
    pub client: Option<String>,
    /// The `error` code the liveness request got back.
    pub error: Option<String>,
    /// `ok`, `expiring` or `expired`; `None` when the suite does not date its secret.
    pub secret: Option<String>,
    pub secret_expires_at: Option<String>,
    /// `ok`, `soon`, `dead` or `unknown`, as for refresh tokens.
    pub urgency: &'static str,
    pub countdown: String,
    pub drifts: Vec<Link>,
}

/// The OAuth apps of the run, one row per provider (at most `caps.rows`; the second value
/// counts the rows left out).
pub(crate) fn app_rows(run: &Run, anchors: &[Anchored<'_>], caps: Caps) -> (Vec<AppRow>, usize) {
    let mut rows: BTreeMap<&str, AppRow> = BTreeMap::new();
    let row = |provider: &str| AppRow {
        provider: provider.to_owned(),
        client: None,
        error: None,
        secret: None,
        secret_expires_at: None,
        urgency: "unknown",
        countdown: "—".to_owned(),
        drifts: Vec::new(),
    };
    for o in run
        .observations
        .iter()
        .filter(|o| o.key.probe == ProbeKind::App && o.key.subject == crate::probe::app::SUBJECT)
    {
        let r = rows
            .entry(o.key.provider.as_str())
            .or_insert_with(|| row(&o.key.provider));
        let text = |k: &str| o.body.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        r.client = text("client");
        r.error = text("error");
    }
    for h in &run.client_secrets {
        let r = rows
            .entry(h.provider.as_str())
            .or_insert_with(|| row(&h.provider));
        r.secret = Some(h.status.clone());
        r.secret_expires_at = Some(h.expires_at.format("%Y-%m-%d %H:%M UTC").to_string());
        (r.urgency, r.countdown) = match h.status.as_str() {
            "expired" => ("dead", format!("expired {} days ago", -h.days_left)),
            "expiring" => ("soon", format!("{} days", h.days_left)),
            _ => ("ok", format!("{} days", h.days_left)),
        };
    }
    for a @ (d, _) in anchors.iter().filter(|(d, _)| d.probe == ProbeKind::App) {
        if let Some(r) = rows.get_mut(d.provider.as_str()) {
            add_link(&mut r.drifts, link(a));
        }
    }
    let total = rows.len();
    let kept: Vec<AppRow> = rows.into_values().take(caps.rows).collect();
    let more = total - kept.len();
    (kept, more)
}

/// Seconds as `3600 s (1 h)`.
pub(crate) fn human_secs(s: u64) -> String {
    let unit = [(86_400, "d"), (3_600, "h"), (60, "min")]
        .into_iter()
        .find(|(n, _)| s >= *n && s.is_multiple_of(*n));
    match unit {
        Some((n, u)) => format!("{s} s ({} {u})", s / n),
        None => format!("{s} s"),
    }
}

/// One row per connection with a refresh observation or a token-health entry. Within
/// `caps.rows`, dead and soon-dying tokens and rows with a drift are kept first; the
/// second value counts the rows left out. Linear in the connections.
pub(crate) fn refresh_rows(
    run: &Run,
    anchors: &[Anchored<'_>],
    caps: Caps,
) -> (Vec<RefreshRow>, usize) {
    let mut keys: BTreeSet<(&str, &str)> = BTreeSet::new();
    // The first of each, as a linear search would find it, read through the refresh probe's
    // typed view (`None` when unreadable).
    let mut bodies: HashMap<(&str, &str), Option<RefreshView>> = HashMap::new();
    for o in observed(run, ProbeKind::Refresh) {
        if let Some(c) = &o.key.connection {
            keys.insert((&o.key.provider, c));
            bodies
                .entry((&o.key.provider, c))
                .or_insert_with(|| refresh::view::view(&o.body));
        }
    }
    let mut tokens = HashMap::new();
    for t in &run.tokens {
        keys.insert((&t.provider, &t.connection));
        tokens
            .entry((t.provider.as_str(), t.connection.as_str()))
            .or_insert(t);
    }
    let mut states = HashMap::new();
    for c in &run.connections {
        states
            .entry((c.provider.as_str(), c.connection.as_str()))
            .or_insert(c);
    }
    let mut drift_links: HashMap<(&str, &str), Vec<Link>> = HashMap::new();
    for a @ (d, _) in anchors {
        if !matches!(d.probe, ProbeKind::Refresh | ProbeKind::Token) {
            continue;
        }
        for c in &d.connections {
            add_link(drift_links.entry((&d.provider, c)).or_default(), link(a));
        }
    }
    let rows: Vec<RefreshRow> = keys
        .into_iter()
        .map(|(provider, connection)| {
            let body = bodies.get(&(provider, connection)).cloned().flatten();
            let health = tokens.get(&(provider, connection)).copied();
            let state = states.get(&(provider, connection)).copied();
            // An unusable connection's refresh observation was not compared: say so, or
            // name the class its failure establishes (`withheld-expiring`).
            let class = match state.filter(|c| !c.usable) {
                Some(c) => Some(
                    c.refresh_class
                        .clone()
                        .unwrap_or_else(|| crate::model::NOT_COMPARED_UNUSABLE.to_string()),
                ),
                None => body.as_ref().map(|b| b.class.to_string()),
            };
            let body = body.filter(|_| state.is_none_or(|c| c.usable));
            let (rotation, reuse) = class
                .as_deref()
                .map(refresh::view::class_words)
                .unwrap_or(("—", "—"));
            let grace = body
                .as_ref()
                .and_then(|b| b.grace_window_ms)
                .map(|(from, to)| format!("{from}–{to} ms"));
            let days = health.and_then(|h| h.days_left);
            let (urgency, countdown) = match (days, health.map(|h| h.status.as_str())) {
                (_, Some("dead")) => (
                    "dead",
                    format!(
                        "dead: the provider refused it ({})",
                        health
                            .and_then(|h| h.rejected.as_ref())
                            .map(|r| r.error.as_str())
                            .unwrap_or("rejected")
                    ),
                ),
                (Some(d), _) if d < 0 => ("dead", format!("died {} days ago", -d)),
                (_, Some("expired")) => ("dead", "expired".to_string()),
                (Some(d), _) if d <= 7 => ("soon", format!("{d} days left")),
                (Some(d), _) => ("ok", format!("{d} days left")),
                (None, Some("no-refresh-token")) => ("unknown", "no refresh token".to_string()),
                (None, Some("not-connected")) => ("dead", "not connected".to_string()),
                (None, _) => ("unknown", "lifetime unknown".to_string()),
            };
            RefreshRow {
                provider: clip(provider, caps.text),
                connection: clip(connection, caps.text),
                rotation: rotation.to_string(),
                reuse: reuse.to_string(),
                class: class.map(|c| clip(&c, caps.text)),
                issues_refresh_tokens: body.as_ref().map(|b| b.issues_refresh_tokens),
                access_lifetime: body
                    .as_ref()
                    .and_then(|b| b.access_token_lifetime_s)
                    .map(human_secs),
                refresh_lifetime: body
                    .as_ref()
                    .and_then(|b| b.refresh_token_lifetime_s)
                    .map(human_secs),
                grace,
                health: health.map(|h| clip(&h.status, caps.text)),
                expires_at: health
                    .and_then(|h| h.refresh_token_expires_at)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                urgency,
                countdown: clip(&countdown, caps.text),
                drifts: drift_links
                    .remove(&(provider, connection))
                    .unwrap_or_default(),
            }
        })
        .collect();
    let shown = pick(rows.len(), caps.rows, |i| {
        let r = &rows[i];
        (
            r.urgency == "dead",
            r.urgency == "soon",
            !r.drifts.is_empty(),
        )
    });
    let hidden = rows.len() - shown.len();
    (keep(rows, &shown), hidden)
}

#[derive(Debug, Serialize)]
pub(crate) struct SchemaView {
    pub provider: String,
    pub endpoint: String,
    /// `connection status` pairs, as observed.
    pub responses: Vec<String>,
    /// Set when nothing changed: the tree as indented text, a fraction of the markup's size.
    pub plain: Option<String>,
    pub nodes: Vec<SchemaNode>,
    /// Fields cut from the tree (changed fields are kept first).
    pub more_nodes: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct SchemaNode {
    pub path: String,
    pub label: String,
    /// Nesting depth, capped for layout.
    pub depth: usize,
    pub types: String,
    pub required: bool,
    pub format: Option<String>,
    /// `added`, `removed`, `changed` or empty.
    pub status: &'static str,
    pub note: Option<String>,
    pub drifts: Vec<Link>,
}

/// Depth and last segment of a shape path: `$.data[].id` → (3, `id`).
fn segments(path: &str) -> (usize, String) {
    let rest = path.strip_prefix('$').unwrap_or(path);
    let depth = rest.matches('.').count() + rest.matches("[]").count();
    let label = match rest.rfind(['.', '[']) {
        Some(i) => rest[i..].trim_start_matches('.').to_string(),
        None => path.to_string(),
    };
    (
        depth.min(12),
        if label.is_empty() {
            path.to_string()
        } else {
            label
        },
    )
}

fn shape_node(path: &str, v: Option<&FieldShape>) -> SchemaNode {
    let (depth, label) = segments(path);
    let types = v
        .map(|v| {
            v.types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default();
    SchemaNode {
        path: path.to_string(),
        label,
        depth,
        types,
        required: v.is_some_and(|v| v.required),
        format: v.and_then(|v| v.format).map(|f| f.as_str().to_owned()),
        status: "",
        note: None,
        drifts: Vec::new(),
    }
}

/// One tree per schema observation, with removed fields put back from the drifts' evidence.
/// Within `caps`, trees and fields with a drift are kept first; the second value counts
/// the trees left out.
pub(crate) fn schemas(run: &Run, anchors: &[Anchored<'_>], caps: Caps) -> (Vec<SchemaView>, usize) {
    let mut about: HashMap<(&str, &str), Vec<&Anchored<'_>>> = HashMap::new();
    for a @ (d, anchor) in anchors {
        if !is_finding(anchor) && d.probe == ProbeKind::Schema {
            about.entry((&d.provider, &d.subject)).or_default().push(a);
        }
    }
    let all: Vec<&Observation> = observed(run, ProbeKind::Schema).collect();
    let shown = pick(all.len(), caps.tables, |i| {
        about.contains_key(&(all[i].key.provider.as_str(), all[i].key.subject.as_str()))
    });
    let hidden = all.len() - shown.len();
    let mut nodes_left = caps.nodes;
    let views = shown
        .into_iter()
        .map(|i| all[i])
        .map(|o| {
            let body = schema::view::view(&o.body);
            let mut nodes: BTreeMap<String, SchemaNode> = body
                .as_ref()
                .map(|body| {
                    body.descriptors()
                        .map(|(p, v)| (p.clone(), shape_node(p, v.as_ref())))
                        .collect()
                })
                .unwrap_or_default();
            let mine = about
                .get(&(o.key.provider.as_str(), o.key.subject.as_str()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            for a @ (d, _) in mine.iter().copied() {
                let Some(path) = &d.path else { continue };
                let renamed_to = (d.rule == Rule::SchemaFieldRenamed)
                    .then(|| d.after.as_ref().and_then(|a| text(a.get("path"))))
                    .flatten();
                let (status, note) = match d.rule.rule() {
                    Some(Rule::SchemaFieldAdded) => ("added", None),
                    Some(Rule::SchemaFieldRemoved) => ("removed", None),
                    Some(Rule::SchemaFieldRenamed) => (
                        "removed",
                        renamed_to.as_ref().map(|to| format!("renamed to {to}")),
                    ),
                    _ => ("changed", None),
                };
                let node = nodes.entry(path.clone()).or_insert_with(|| {
                    let evidence = d.before.as_ref().or(d.after.as_ref());
                    shape_node(path, evidence.and_then(schema::view::descriptor).as_ref())
                });
                // `added`/`removed` say more than a `changed` of the same field.
                if status != "changed" || node.status.is_empty() {
                    node.status = status;
                }
                node.note = node.note.take().or(note);
                add_link(&mut node.drifts, link(a));
                if let Some(to) = renamed_to {
                    let node = nodes.entry(to.clone()).or_insert_with(|| {
                        let evidence = d.after.as_ref().and_then(schema::view::descriptor);
                        shape_node(&to, evidence.as_ref())
                    });
                    node.status = "added";
                    node.note = Some(format!("renamed from {path}"));
                    add_link(&mut node.drifts, link(a));
                }
            }
            let responses = body
                .as_ref()
                .map(|body| {
                    body.responses
                        .iter()
                        .take(caps.columns)
                        .map(|(c, r)| clip(&format!("{c} {}", r.status), caps.short))
                        .collect()
                })
                .unwrap_or_default();
            let all_nodes: Vec<SchemaNode> = nodes.into_values().collect();
            // All trees together hold at most `caps.nodes` fields.
            let kept = pick(all_nodes.len(), caps.table_rows.min(nodes_left), |j| {
                !all_nodes[j].status.is_empty()
            });
            nodes_left -= kept.len();
            let more_nodes = all_nodes.len() - kept.len();
            let nodes: Vec<SchemaNode> = keep(all_nodes, &kept)
                .into_iter()
                .map(|n| SchemaNode {
                    path: clip(&n.path, caps.short),
                    label: clip(&n.label, caps.short),
                    types: clip(&n.types, caps.short),
                    format: n.format.map(|f| clip(&f, caps.short)),
                    note: n.note.map(|f| clip(&f, caps.short)),
                    ..n
                })
                .collect();
            let plain = (!nodes.is_empty() && nodes.iter().all(|n| n.status.is_empty()))
                .then(|| plain_tree(&nodes));
            SchemaView {
                provider: clip(&o.key.provider, caps.text),
                endpoint: clip(&title(o), caps.text),
                responses,
                nodes: if plain.is_some() { Vec::new() } else { nodes },
                plain,
                more_nodes,
            }
        })
        .collect();
    (views, hidden)
}

/// An unchanged shape as indented lines: `  data: array`.
fn plain_tree(nodes: &[SchemaNode]) -> String {
    let mut out = String::new();
    for n in nodes {
        out.push_str(&"  ".repeat(n.depth));
        out.push_str(&n.label);
        out.push_str(": ");
        out.push_str(&n.types);
        if let Some(f) = &n.format {
            out.push_str(&format!(" ({f})"));
        }
        if !n.required {
            out.push_str(" optional");
        }
        out.push('\n');
    }
    out
}

#[derive(Debug, Serialize)]
pub(crate) struct ValuesView {
    pub provider: String,
    pub endpoint: String,
    pub metrics: Vec<String>,
    pub rows: Vec<ValuesRow>,
    /// Declared rules and the connections violating them.
    pub rules: Vec<(String, String)>,
    /// Connections and metrics cut from the table (anomalies are kept first).
    pub more_rows: usize,
    pub more_metrics: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct ValuesRow {
    pub connection: String,
    /// The API's own completeness flag, when it sends one.
    pub complete: Option<String>,
    pub cells: Vec<ValueCell>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ValueCell {
    pub class: String,
    /// Zero here while a peer is non-zero.
    pub anomaly: bool,
}

/// Per metric of one values observation: how many connections see it non-zero.
/// Per metric, how many connections of `body` saw it non-zero.
fn nonzero_counts(body: Option<&ValuesBody>) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    for m in body.into_iter().flat_map(|b| b.connections.values()) {
        for (metric, v) in m {
            let n = out.entry(metric.clone()).or_default();
            if *v == ValueClass::NonZero {
                *n += 1;
            }
        }
    }
    out
}

/// Whether connection values `c` are zero for `metric` while a peer's are not.
fn anomaly(
    c: &BTreeMap<String, ValueClass>,
    metric: &str,
    nonzero: &BTreeMap<String, usize>,
) -> bool {
    c.get(metric) == Some(&ValueClass::Zero) && nonzero.get(metric).copied().unwrap_or(0) > 0
}

/// One table per values observation. Within `caps`, tables, connections and metrics with
/// an anomaly are kept first; the second value counts the tables left out. Linear in the
/// connections × metrics. Each body is read once, through the values probe's typed view.
pub(crate) fn values(run: &Run, caps: Caps) -> (Vec<ValuesView>, usize) {
    let all: Vec<(&Observation, Option<ValuesBody>)> = observed(run, ProbeKind::Values)
        .map(|o| (o, values::view::view(&o.body)))
        .collect();
    let counts: Vec<BTreeMap<String, usize>> = all
        .iter()
        .map(|(_, b)| nonzero_counts(b.as_ref()))
        .collect();
    let flagged = |b: Option<&ValuesBody>, nonzero: &BTreeMap<String, usize>| -> bool {
        b.is_some_and(|b| {
            b.connections
                .values()
                .any(|c| nonzero.keys().any(|metric| anomaly(c, metric, nonzero)))
        })
    };
    let shown = pick(all.len(), caps.tables, |i| {
        flagged(all[i].1.as_ref(), &counts[i])
    });
    let hidden = all.len() - shown.len();
    let mut cells_left = caps.cells;
    let views = shown
        .into_iter()
        .map(|i| {
            let ((o, body), nonzero) = (&all[i], &counts[i]);
            let body = body.as_ref();
            let all_metrics: Vec<&String> = nonzero.keys().collect();
            let anomalous = |m: &str| {
                body.into_iter()
                    .flat_map(|b| b.connections.values())
                    .any(|c| anomaly(c, m, nonzero))
            };
            let kept = pick(all_metrics.len(), caps.columns, |j| {
                anomalous(all_metrics[j])
            });
            let metrics: Vec<&String> = kept.iter().map(|&j| all_metrics[j]).collect();
            let entries: Vec<(&String, &BTreeMap<String, ValueClass>)> = body
                .into_iter()
                .flat_map(|b| b.connections.iter())
                .collect();
            // All value tables together hold at most `caps.cells` cells.
            let fit = cells_left / (metrics.len() + 1);
            let rows_kept = pick(entries.len(), caps.table_rows.min(fit), |j| {
                metrics.iter().any(|m| anomaly(entries[j].1, m, nonzero))
            });
            cells_left -= rows_kept.len() * (metrics.len() + 1);
            let rows = rows_kept
                .iter()
                .map(|&j| {
                    let (name, c) = entries[j];
                    ValuesRow {
                        connection: clip(name, caps.short),
                        complete: body
                            .and_then(|b| b.complete_flag.get(name))
                            .map(|f| f.to_string()),
                        cells: metrics
                            .iter()
                            .map(|m| {
                                let mine = c.get(*m).copied();
                                // A peer is another connection: discount this one's own count.
                                let own = usize::from(mine == Some(ValueClass::NonZero));
                                let peers = nonzero.get(*m).copied().unwrap_or(0) - own;
                                ValueCell {
                                    anomaly: mine == Some(ValueClass::Zero) && peers > 0,
                                    class: mine.map(ValueClass::as_str).unwrap_or("—").into(),
                                }
                            })
                            .collect(),
                    }
                })
                .collect();
            let rules = body
                .map(|b| {
                    b.rules
                        .iter()
                        .take(caps.rows)
                        .map(|(r, who)| (clip(r, caps.text), clip(&who.join(", "), caps.text)))
                        .collect()
                })
                .unwrap_or_default();
            ValuesView {
                provider: clip(&o.key.provider, caps.text),
                endpoint: clip(&title(o), caps.text),
                metrics: metrics.iter().map(|m| clip(m, caps.short)).collect(),
                rows,
                rules,
                more_rows: entries.len() - rows_kept.len(),
                more_metrics: all_metrics.len() - kept.len(),
            }
        })
        .collect();
    (views, hidden)
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct DeprecationView {
    /// Dated events, oldest first, with the run's own date among them.
    pub events: Vec<TimelineEvent>,
    /// Warnings and vendor headers without a date.
    pub undated: Vec<TimelineEvent>,
    pub width: usize,
    /// Dated and undated events cut from the page.
    pub more: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct TimelineEvent {
    pub provider: String,
    pub endpoint: String,
    /// `deprecated`, `sunset`, `warning` or `run` (this run's date).
    pub kind: &'static str,
    pub date: Option<String>,
    pub detail: Option<String>,
    pub past: bool,
    /// Position on the SVG timeline (SVG units).
    pub x: usize,
}

const TIMELINE_W: usize = 600;

/// The timeline of deprecations and sunsets; the run's own date marks "now". Within
/// `caps.rows` dated events (the ones nearest the run kept) and as many undated ones.
pub(crate) fn deprecations(run: &Run, caps: Caps) -> DeprecationView {
    let mut dated: Vec<(DateTime<Utc>, TimelineEvent)> = Vec::new();
    let mut undated = Vec::new();
    let event =
        |o: &Observation, kind, date: Option<String>, detail: Option<String>| TimelineEvent {
            provider: clip(&o.key.provider, caps.short),
            endpoint: clip(&title(o), caps.short),
            kind,
            date: date.map(|d| clip(&d, caps.short)),
            detail: detail.map(|d| clip(&d, caps.text)),
            past: false,
            x: 0,
        };
    for o in observed(run, ProbeKind::Deprecation) {
        // Read once, through the deprecation probe's typed view; an unreadable body shows
        // nothing (its diff reports `deprecation.observation-unreadable`).
        let Some(signals) = deprecation::view::view(&o.body) else {
            continue;
        };
        for (value, kind) in [
            (signals.deprecated, "deprecated"),
            (signals.sunset, "sunset"),
        ] {
            let Some(v) = value else {
                continue;
            };
            match DateTime::parse_from_rfc3339(&v) {
                Ok(at) => dated.push((at.with_timezone(&Utc), event(o, kind, Some(v), None))),
                Err(_) => undated.push(event(o, kind, None, Some(v))),
            }
        }
        for w in signals.warnings {
            undated.push(event(o, "warning", None, Some(w)));
        }
        for (h, v) in signals.vendor {
            undated.push(event(o, "warning", None, Some(format!("{h}: {v}"))));
        }
    }
    let mut more = undated.len().saturating_sub(caps.rows);
    undated.truncate(caps.rows);
    if dated.is_empty() {
        return DeprecationView {
            events: Vec::new(),
            undated,
            width: TIMELINE_W,
            more,
        };
    }
    dated.push((
        run.started_at,
        TimelineEvent {
            provider: String::new(),
            endpoint: String::new(),
            kind: "run",
            date: Some(run.started_at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            detail: Some("this run".into()),
            past: false,
            x: 0,
        },
    ));
    dated.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.endpoint.cmp(&b.1.endpoint)));
    if dated.len() > caps.rows {
        // Keep the events nearest to the run (the run's own marker among them).
        let now = run.started_at;
        let kept = pick(dated.len(), caps.rows.max(1), |i| {
            (
                dated[i].1.kind == "run",
                std::cmp::Reverse((dated[i].0 - now).num_seconds().unsigned_abs()),
            )
        });
        more += dated.len() - kept.len();
        dated = keep(dated, &kept);
    }
    let (first, last) = (dated[0].0, dated[dated.len() - 1].0);
    let span = (last - first).num_seconds().max(1) as f64;
    let margin = 20.0;
    let events = dated
        .into_iter()
        .map(|(at, mut e)| {
            e.past = at < run.started_at;
            e.x = (margin
                + (at - first).num_seconds() as f64 / span * (TIMELINE_W as f64 - 2.0 * margin))
                as usize;
            e
        })
        .collect();
    DeprecationView {
        events,
        undated,
        width: TIMELINE_W,
        more,
    }
}

#[cfg(test)]
#[path = "sections_tests.rs"]
mod tests;
