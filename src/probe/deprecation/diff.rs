//! Diff rules of the deprecation probe: compares an endpoint's baseline deprecation signals with
//! this run's. Knows nothing about HTTP, files, output formats or header syntax (only the
//! observation body written by `probe::deprecation::observe`). A sunset that passed is not a
//! diff rule: it depends on the day, so `probe::deprecation::findings` reports it every run.

use super::body::DeprecationBody;
use crate::baseline::emit::Emitter;
use crate::model::Severity;
use crate::rules::Rule;
use chrono::DateTime;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Pushes the drifts between two readable deprecation bodies (same key) onto `em`.
pub(super) fn diff_deprecation(em: &mut Emitter<'_>, b: &DeprecationBody, a: &DeprecationBody) {
    diff_deprecated(em, b, a);
    diff_sunset(em, b, a);
    diff_links(em, b, a);
    diff_warnings(em, b, a);
    diff_vendor(em, b, a);
}

fn diff_deprecated(em: &mut Emitter<'_>, b: &DeprecationBody, a: &DeprecationBody) {
    let subject = em.key.subject.clone();
    let (bv, av) = (b.deprecated.as_deref(), a.deprecated.as_deref());
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

fn diff_sunset(em: &mut Emitter<'_>, b: &DeprecationBody, a: &DeprecationBody) {
    let subject = em.key.subject.clone();
    let (bv, av) = (b.sunset.as_deref(), a.sunset.as_deref());
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

/// Sorted `rel <uri>` texts of `links`.
fn links(body: &DeprecationBody) -> BTreeSet<String> {
    body.links
        .iter()
        .map(|l| format!("{} <{}>", l.rel, l.uri))
        .collect()
}

fn diff_links(em: &mut Emitter<'_>, b: &DeprecationBody, a: &DeprecationBody) {
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
        Some(json!(b.links)),
        Some(json!(a.links)),
    );
}

fn warnings(body: &DeprecationBody) -> BTreeSet<&str> {
    body.warnings.iter().map(String::as_str).collect()
}

fn diff_warnings(em: &mut Emitter<'_>, b: &DeprecationBody, a: &DeprecationBody) {
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
fn diff_vendor(em: &mut Emitter<'_>, b: &DeprecationBody, a: &DeprecationBody) {
    let (bv, av) = (&b.vendor, &a.vendor);
    let names: BTreeSet<&String> = bv.keys().chain(av.keys()).collect();
    let subject = em.key.subject.clone();
    for name in names {
        let path = format!("$.vendor['{}']", name.replace('\'', "\\'"));
        match (
            bv.get(name).map(|v| json!(v)),
            av.get(name).map(|v| json!(v)),
        ) {
            (None, Some(v)) => em.push(
                Rule::DeprecationWarningAdded,
                Severity::Warning,
                Some(&path),
                format!("`{subject}` now answers with `{name}: {}`", show(&v)),
                None,
                Some(v),
            ),
            (Some(x), Some(y)) if x != y => em.push(
                Rule::DeprecationWarningAdded,
                Severity::Warning,
                Some(&path),
                format!(
                    "`{subject}` now answers with `{name}: {}` instead of `{}`",
                    show(&y),
                    show(&x)
                ),
                Some(x),
                Some(y),
            ),
            (Some(x), None) => em.push(
                Rule::DeprecationWarningRemoved,
                Severity::Info,
                Some(&path),
                format!(
                    "`{subject}` no longer answers with `{name}` (was `{}`)",
                    show(&x)
                ),
                Some(x),
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
#[path = "diff_tests.rs"]
mod tests;
