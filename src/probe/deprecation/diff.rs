//! Diff rules of the deprecation probe: compares an endpoint's baseline deprecation signals with
//! this run's. Knows nothing about HTTP, files, output formats or header syntax (only the
//! observation body written by `probe::deprecation::observe`). A sunset that passed is not a
//! diff rule: it depends on the day, so `probe::deprecation::findings` reports it every run.

use super::emit::Emitter;
use crate::model::{Drift, ObservationKey, Severity};
use crate::rules::Rule;
use chrono::DateTime;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Drifts between two deprecation observations (same key), sorted by [`Drift::sort_key`].
pub(crate) fn diff_deprecation(key: &ObservationKey, before: &Value, after: &Value) -> Vec<Drift> {
    let mut em = Emitter::new(key);
    let b = read(&mut em, "baseline", before);
    let a = read(&mut em, "current", after);
    if let (Some(b), Some(a)) = (b, a) {
        diff_deprecated(&mut em, b, a);
        diff_sunset(&mut em, b, a);
        diff_links(&mut em, b, a);
        diff_warnings(&mut em, b, a);
        diff_vendor(&mut em, b, a);
    }
    em.out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    em.out
}

/// The body object; an unreadable body is reported, never silently skipped.
fn read<'v>(em: &mut Emitter<'_>, side: &str, body: &'v Value) -> Option<&'v Map<String, Value>> {
    em.object(
        Rule::DeprecationObservationUnreadable,
        format!("the {side} deprecation observation is not an object"),
        body,
    )
}

/// A date member: `None` for null or absent.
fn text<'v>(m: &'v Map<String, Value>, name: &str) -> Option<&'v str> {
    m.get(name).and_then(Value::as_str)
}

fn diff_deprecated(em: &mut Emitter<'_>, b: &Map<String, Value>, a: &Map<String, Value>) {
    let subject = em.key.subject.clone();
    let (bv, av) = (text(b, "deprecated"), text(a, "deprecated"));
    let (rule, severity, msg) = match (bv, av) {
        (None, Some(v)) => (
            Rule::DeprecationAnnounced,
            Severity::Breaking,
            format!("`{subject}` is now deprecated ({})", describe(v)),
        ),
        (Some(v), None) => (
            Rule::DeprecationWithdrawn,
            Severity::Info,
            format!(
                "`{subject}` is no longer marked deprecated (was {})",
                describe(v)
            ),
        ),
        // Not in the brief's list: the date of an announced deprecation moved. Info, because
        // the sunset, not the deprecation date, is when anything stops working.
        (Some(x), Some(y)) if x != y => (
            Rule::DeprecationDateChanged,
            Severity::Info,
            format!(
                "`{subject}`: the deprecation is now {} instead of {}",
                describe(y),
                describe(x)
            ),
        ),
        _ => return,
    };
    em.push(
        rule,
        severity,
        Some("$.deprecated"),
        msg,
        bv.map(|v| json!(v)),
        av.map(|v| json!(v)),
    );
}

fn describe(deprecated: &str) -> String {
    if deprecated == "true" {
        "no date given".to_owned()
    } else {
        format!("dated {deprecated}")
    }
}

fn diff_sunset(em: &mut Emitter<'_>, b: &Map<String, Value>, a: &Map<String, Value>) {
    let subject = em.key.subject.clone();
    let (bv, av) = (text(b, "sunset"), text(a, "sunset"));
    let (rule, severity, msg) = match (bv, av) {
        (None, Some(v)) => (
            Rule::DeprecationAnnounced,
            Severity::Breaking,
            format!("`{subject}` now has a sunset date: {v}"),
        ),
        (Some(v), None) => (
            Rule::DeprecationWithdrawn,
            Severity::Info,
            format!("`{subject}` no longer announces a sunset (was {v})"),
        ),
        (Some(x), Some(y)) if x != y => {
            let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok();
            let (severity, how) = match (parse(x), parse(y)) {
                (Some(x), Some(y)) if y < x => (Severity::Breaking, "earlier"),
                (Some(_), Some(_)) => (Severity::Warning, "later"),
                // An unreadable date cannot be ordered; the move itself still matters.
                _ => (Severity::Warning, "elsewhere"),
            };
            (
                Rule::DeprecationSunsetMoved,
                severity,
                format!("`{subject}`: the sunset moved {how}, to {y} from {x}"),
            )
        }
        _ => return,
    };
    em.push(
        rule,
        severity,
        Some("$.sunset"),
        msg,
        bv.map(|v| json!(v)),
        av.map(|v| json!(v)),
    );
}

/// Sorted (rel, uri) pairs of `links`; entries that are not such objects are shown as JSON.
fn links(m: &Map<String, Value>) -> BTreeSet<String> {
    m.get("links")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|l| match (l.get("rel"), l.get("uri")) {
                    (Some(Value::String(r)), Some(Value::String(u))) => format!("{r} <{u}>"),
                    _ => l.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn diff_links(em: &mut Emitter<'_>, b: &Map<String, Value>, a: &Map<String, Value>) {
    let (bl, al) = (links(b), links(a));
    if bl == al {
        return;
    }
    let list = |s: Vec<&String>| {
        s.iter()
            .map(|l| format!("`{l}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let added: Vec<&String> = al.difference(&bl).collect();
    let removed: Vec<&String> = bl.difference(&al).collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added {}", list(added)));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", list(removed)));
    }
    let msg = format!(
        "`{}`: deprecation links changed: {}",
        em.key.subject,
        parts.join("; ")
    );
    em.push(
        Rule::DeprecationLinkChanged,
        Severity::Info,
        Some("$.links"),
        msg,
        b.get("links").cloned(),
        a.get("links").cloned(),
    );
}

fn warnings(m: &Map<String, Value>) -> BTreeSet<&str> {
    m.get("warnings")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn diff_warnings(em: &mut Emitter<'_>, b: &Map<String, Value>, a: &Map<String, Value>) {
    let (bw, aw) = (warnings(b), warnings(a));
    let added: Vec<&str> = aw.difference(&bw).copied().collect();
    let removed: Vec<&str> = bw.difference(&aw).copied().collect();
    let quote = |v: &[&str]| {
        v.iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let subject = em.key.subject.clone();
    if !added.is_empty() {
        em.push(
            Rule::DeprecationWarningAdded,
            Severity::Warning,
            Some("$.warnings"),
            format!(
                "`{subject}` now answers with `Warning: 299` {}",
                quote(&added)
            ),
            None,
            Some(json!(added)),
        );
    }
    if !removed.is_empty() {
        em.push(
            Rule::DeprecationWarningRemoved,
            Severity::Info,
            Some("$.warnings"),
            format!(
                "`{subject}` no longer answers with `Warning: 299` {}",
                quote(&removed)
            ),
            Some(json!(removed)),
            None,
        );
    }
}

/// Vendor headers are the provider's own warnings: one appearing or changing its value is
/// `deprecation.warning-added`, one disappearing `deprecation.warning-removed`.
fn diff_vendor(em: &mut Emitter<'_>, b: &Map<String, Value>, a: &Map<String, Value>) {
    let empty = Map::new();
    let bv = b.get("vendor").and_then(Value::as_object).unwrap_or(&empty);
    let av = a.get("vendor").and_then(Value::as_object).unwrap_or(&empty);
    let names: BTreeSet<&String> = bv.keys().chain(av.keys()).collect();
    let subject = em.key.subject.clone();
    for name in names {
        let path = format!("$.vendor['{}']", name.replace('\'', "\\'"));
        match (bv.get(name), av.get(name)) {
            (None, Some(v)) => em.push(
                Rule::DeprecationWarningAdded,
                Severity::Warning,
                Some(&path),
                format!("`{subject}` now answers with `{name}: {}`", show(v)),
                None,
                Some(v.clone()),
            ),
            (Some(x), Some(y)) if x != y => em.push(
                Rule::DeprecationWarningAdded,
                Severity::Warning,
                Some(&path),
                format!(
                    "`{subject}` now answers with `{name}: {}` instead of `{}`",
                    show(y),
                    show(x)
                ),
                Some(x.clone()),
                Some(y.clone()),
            ),
            (Some(x), None) => em.push(
                Rule::DeprecationWarningRemoved,
                Severity::Info,
                Some(&path),
                format!(
                    "`{subject}` no longer answers with `{name}` (was `{}`)",
                    show(x)
                ),
                Some(x.clone()),
                None,
            ),
            _ => {}
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join("` or `"),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "diff_deprecation_tests.rs"]
mod tests;
