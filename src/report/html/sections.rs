//! The probe-specific sections of the HTML report's view model: permission
//! matrix, refresh table, schema trees, value anomalies, deprecation timeline.
//! Reads each probe's typed body through its `probe::<name>::view` (the schema section still
//! reads the schema body's JSON).

use crate::model::{Drift, Observation, ProbeKind};
use crate::probe::deprecation;
use crate::probe::permissions::{self, view::CellView, view::PermissionsView};
use crate::probe::refresh;
use crate::probe::values::{self, ValueClass};
use crate::rules::Rule;
use crate::run::Run;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A drift (or finding) and the element id it got in the page.
pub(crate) type Anchored<'a> = (&'a Drift, &'a str);

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

/// One matrix per provider: endpoints × scope sets from the permissions observations.
pub(crate) fn matrices(run: &Run, anchors: &[Anchored<'_>]) -> Vec<MatrixView> {
    let mut by_provider: BTreeMap<&str, Vec<(&Observation, Option<PermissionsView>)>> =
        BTreeMap::new();
    for o in observed(run, ProbeKind::Permissions) {
        by_provider
            .entry(&o.key.provider)
            .or_default()
            .push((o, permissions::view::view(&o.body)));
    }
    by_provider
        .into_iter()
        .map(|(provider, obs)| {
            let scope_sets: Vec<String> = obs
                .iter()
                .filter_map(|(_, v)| v.as_ref())
                .flat_map(|v| v.cells.keys().cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let rows = obs
                .iter()
                .map(|(o, v)| {
                    let cells = scope_sets
                        .iter()
                        .map(|set| {
                            let cell = v.as_ref().and_then(|v| v.cells.get(set));
                            let about = |finding: bool| -> Vec<Link> {
                                anchors
                                    .iter()
                                    .filter(|(d, a)| {
                                        a.starts_with("finding-") == finding
                                            && d.provider == provider
                                            && d.probe == ProbeKind::Permissions
                                            && d.subject == o.key.subject
                                            && d.path.as_deref() == Some(set.as_str())
                                    })
                                    .map(link)
                                    .collect()
                            };
                            matrix_cell(cell, about(false), about(true))
                        })
                        .collect();
                    MatrixRow {
                        endpoint: title(o),
                        reference: v.as_ref().and_then(|v| v.reference.clone()),
                        downscoping: v.as_ref().and_then(|v| v.downscoping.clone()),
                        cells,
                    }
                })
                .collect();
            MatrixView {
                provider: provider.to_string(),
                scope_sets,
                rows,
            }
        })
        .collect()
}

fn matrix_cell(cell: Option<&CellView>, changed: Vec<Link>, documented: Vec<Link>) -> MatrixCell {
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
            status: c.status.clone(),
            detail: c.detail.clone(),
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

/// One row per connection with a refresh observation or a token-health entry.
pub(crate) fn refresh_rows(run: &Run, anchors: &[Anchored<'_>]) -> Vec<RefreshRow> {
    let mut keys: BTreeSet<(&str, &str)> = BTreeSet::new();
    for o in observed(run, ProbeKind::Refresh) {
        if let Some(c) = &o.key.connection {
            keys.insert((&o.key.provider, c));
        }
    }
    for t in &run.tokens {
        keys.insert((&t.provider, &t.connection));
    }
    keys.into_iter()
        .map(|(provider, connection)| {
            let body = observed(run, ProbeKind::Refresh)
                .find(|o| {
                    o.key.provider == provider && o.key.connection.as_deref() == Some(connection)
                })
                .map(|o| &o.body);
            let view = body.and_then(refresh::view::view);
            let health = run
                .tokens
                .iter()
                .find(|t| t.provider == provider && t.connection == connection);
            let state = run
                .connections
                .iter()
                .find(|c| c.provider == provider && c.connection == connection);
            // An unusable connection's refresh observation was not compared: say so, or
            // name the class its failure establishes (`withheld-expiring`).
            let class = match state.filter(|c| !c.usable) {
                Some(c) => Some(
                    c.refresh_class
                        .clone()
                        .unwrap_or_else(|| crate::model::NOT_COMPARED_UNUSABLE.to_string()),
                ),
                None => view.as_ref().map(|v| v.class.to_owned()),
            };
            let view = view.filter(|_| state.is_none_or(|c| c.usable));
            let (rotation, reuse) = class
                .as_deref()
                .map(refresh::view::class_words)
                .unwrap_or(("—", "—"));
            let access_lifetime = view
                .as_ref()
                .and_then(|v| v.access_token_lifetime_s)
                .map(human_secs);
            let refresh_lifetime = view
                .as_ref()
                .and_then(|v| v.refresh_token_lifetime_s)
                .map(human_secs);
            let grace = view
                .as_ref()
                .and_then(|v| v.grace_window_ms)
                .map(|(a, b)| format!("{a}–{b} ms"));
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
                provider: provider.to_string(),
                connection: connection.to_string(),
                rotation: rotation.to_string(),
                reuse: reuse.to_string(),
                class,
                issues_refresh_tokens: view.as_ref().map(|v| v.issues_refresh_tokens),
                access_lifetime,
                refresh_lifetime,
                grace,
                health: health.map(|h| h.status.clone()),
                expires_at: health
                    .and_then(|h| h.refresh_token_expires_at)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                urgency,
                countdown,
                drifts: anchors
                    .iter()
                    .filter(|(d, _)| {
                        d.provider == provider
                            && matches!(d.probe, ProbeKind::Refresh | ProbeKind::Token)
                            && d.connections.iter().any(|c| c == connection)
                    })
                    .map(link)
                    .collect(),
            }
        })
        .collect()
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

fn shape_node(path: &str, v: Option<&Value>) -> SchemaNode {
    let (depth, label) = segments(path);
    let types = v
        .and_then(|v| v.get("types"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| text(Some(t)))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default();
    SchemaNode {
        path: path.to_string(),
        label,
        depth,
        types,
        required: v
            .and_then(|v| v.get("required"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        format: v.and_then(|v| text(v.get("format"))),
        status: "",
        note: None,
        drifts: Vec::new(),
    }
}

/// One tree per schema observation, with removed fields put back from the drifts' evidence.
pub(crate) fn schemas(run: &Run, anchors: &[Anchored<'_>]) -> Vec<SchemaView> {
    observed(run, ProbeKind::Schema)
        .map(|o| {
            let mut nodes: BTreeMap<String, SchemaNode> = o
                .body
                .get("shape")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(p, v)| (p.clone(), shape_node(p, Some(v))))
                        .collect()
                })
                .unwrap_or_default();
            for a @ (d, _) in anchors.iter().filter(|(d, a)| {
                !a.starts_with("finding-")
                    && d.provider == o.key.provider
                    && d.probe == ProbeKind::Schema
                    && d.subject == o.key.subject
            }) {
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
                let node = nodes
                    .entry(path.clone())
                    .or_insert_with(|| shape_node(path, d.before.as_ref().or(d.after.as_ref())));
                // `added`/`removed` say more than a `changed` of the same field.
                if status != "changed" || node.status.is_empty() {
                    node.status = status;
                }
                node.note = node.note.take().or(note);
                node.drifts.push(link(a));
                if let Some(to) = renamed_to {
                    let node = nodes
                        .entry(to.clone())
                        .or_insert_with(|| shape_node(&to, d.after.as_ref()));
                    node.status = "added";
                    node.note = Some(format!("renamed from {path}"));
                    node.drifts.push(link(a));
                }
            }
            let responses = o
                .body
                .get("responses")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(c, r)| format!("{c} {}", text(r.get("status")).unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            let nodes: Vec<SchemaNode> = nodes.into_values().collect();
            let plain = (!nodes.is_empty() && nodes.iter().all(|n| n.status.is_empty()))
                .then(|| plain_tree(&nodes));
            SchemaView {
                provider: o.key.provider.clone(),
                endpoint: title(o),
                responses,
                nodes: if plain.is_some() { Vec::new() } else { nodes },
                plain,
            }
        })
        .collect()
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

pub(crate) fn values(run: &Run) -> Vec<ValuesView> {
    observed(run, ProbeKind::Values)
        .map(|o| {
            let body = values::view::view(&o.body).unwrap_or_default();
            let metrics: Vec<String> = body
                .connections
                .values()
                .flat_map(|m| m.keys().cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let class = |c: &BTreeMap<String, ValueClass>, m: &str| {
                c.get(m).map_or("—", |v| v.as_str()).to_owned()
            };
            let rows = body
                .connections
                .iter()
                .map(|(name, c)| ValuesRow {
                    connection: name.clone(),
                    complete: body.complete_flag.get(name).map(bool::to_string),
                    cells: metrics
                        .iter()
                        .map(|m| {
                            let mine = class(c, m);
                            let peer_nonzero = body
                                .connections
                                .iter()
                                .any(|(other, oc)| other != name && class(oc, m) == "non-zero");
                            ValueCell {
                                anomaly: mine == "zero" && peer_nonzero,
                                class: mine,
                            }
                        })
                        .collect(),
                })
                .collect();
            let rules = body
                .rules
                .iter()
                .map(|(r, who)| (r.clone(), who.join(", ")))
                .collect();
            ValuesView {
                provider: o.key.provider.clone(),
                endpoint: title(o),
                metrics,
                rows,
                rules,
            }
        })
        .collect()
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct DeprecationView {
    /// Dated events, oldest first, with the run's own date among them.
    pub events: Vec<TimelineEvent>,
    /// Warnings and vendor headers without a date.
    pub undated: Vec<TimelineEvent>,
    pub width: usize,
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

/// The timeline of deprecations and sunsets; the run's own date marks "now".
pub(crate) fn deprecations(run: &Run) -> DeprecationView {
    let mut dated: Vec<(DateTime<Utc>, TimelineEvent)> = Vec::new();
    let mut undated = Vec::new();
    let event = |o: &Observation, kind, date: Option<String>, detail| TimelineEvent {
        provider: o.key.provider.clone(),
        endpoint: title(o),
        kind,
        date,
        detail,
        past: false,
        x: 0,
    };
    for o in observed(run, ProbeKind::Deprecation) {
        let Some(signals) = deprecation::view::view(&o.body) else {
            continue;
        };
        for (date, kind) in [
            (signals.deprecated, "deprecated"),
            (signals.sunset, "sunset"),
        ] {
            let Some(v) = date else {
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
    if dated.is_empty() {
        return DeprecationView {
            events: Vec::new(),
            undated,
            width: TIMELINE_W,
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
    }
}

#[cfg(test)]
#[path = "sections_tests.rs"]
mod tests;
