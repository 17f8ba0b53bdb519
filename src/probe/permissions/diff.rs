//! Diff rules of the permissions probe: compares the baseline's and this run's scope set ×
//! endpoint matrix cell by cell. Knows nothing about HTTP, files, output formats or how the
//! cells were classified (only the typed [`PermissionsBody`] that `observe` writes).

use super::body::{CellEntry, PermissionsBody};
use super::{Cell, CellClass, describe_signal, evidence};
use crate::baseline::emit::Emitter;
use crate::model::Severity;
use crate::probe::body::unreadable_part;
use crate::rules::Rule;
use serde_json::Value;
use std::collections::BTreeSet;

/// Pushes the drifts between two readable permissions bodies (same key) onto `em`.
pub(super) fn diff_permissions(
    em: &mut Emitter<'_>,
    before: &PermissionsBody,
    after: &PermissionsBody,
) {
    let subject = em.key.subject.clone();
    report_unreadable(em, "baseline", before);
    report_unreadable(em, "current", after);
    let (b, a) = (&before.cells, &after.cells);
    let sets: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for set in sets {
        match (
            b.get(set).map(CellEntry::cell),
            a.get(set).map(CellEntry::cell),
        ) {
            // An unreadable cell is already reported; comparing it would only add noise.
            (Some(None), _) | (_, Some(None)) => {}
            // Only probed cells are compared: a set left unprobed (no grant could be
            // narrowed safely) keeps whatever the baseline knew, and is no drift.
            (Some(Some(c)), _) | (_, Some(Some(c))) if c.class == CellClass::NotProbed => {}
            (Some(Some(bc)), Some(Some(ac))) => diff_cell(em, set, bc, ac),
            (Some(Some(bc)), None) => {
                let msg =
                    format!("scope set `{set}` was not probed against `{subject}` in this run");
                em.push(
                    Rule::PermissionScopeSetRemoved,
                    Severity::Info,
                    Some(set),
                    msg,
                    Some(bc.to_json()),
                    None,
                );
            }
            (None, Some(Some(ac))) => {
                let msg =
                    format!("scope set `{set}` was probed against `{subject}` for the first time");
                em.push(
                    Rule::PermissionScopeSetAdded,
                    Severity::Info,
                    Some(set),
                    msg,
                    None,
                    Some(ac.to_json()),
                );
            }
            (None, None) => {}
        }
    }
    let (bd, ad) = (before.downscoping.as_deref(), after.downscoping.as_deref());
    let not_probed = |v: Option<&str>| v == Some("not-probed");
    if bd != ad && !not_probed(bd) && !not_probed(ad) {
        let msg = format!(
            "down-scoping on refresh for `{subject}` is now {} instead of {}",
            show(ad),
            show(bd)
        );
        let value = |v: Option<&str>| v.map(|s| Value::String(s.to_owned()));
        em.push(
            Rule::PermissionDownscopingChanged,
            Severity::Warning,
            None,
            msg,
            value(bd),
            value(ad),
        );
    }
}

/// Each cell of `body` that cannot be read, reported with the reason; never silently skipped.
fn report_unreadable(em: &mut Emitter<'_>, side: &str, body: &PermissionsBody) {
    for (set, entry) in &body.cells {
        if let CellEntry::Unreadable(value) = entry {
            let reason = match serde_json::from_value::<Cell>(value.clone()) {
                Err(e) => e.to_string(),
                Ok(_) => "not a cell".to_owned(),
            };
            unreadable_part::<PermissionsBody>(
                em,
                side,
                set,
                &format!("cell for scope set `{set}`"),
                &reason,
            );
        }
    }
}

fn diff_cell(em: &mut Emitter<'_>, set: &str, b: &Cell, a: &Cell) {
    use CellClass::{Denied, Error, Granted, Partial};
    let endpoint = em.key.subject.clone();
    let (rule, severity, msg) = match (b.class, a.class) {
        (Granted | Partial, Denied) => (
            Rule::PermissionNewlyDenied,
            Severity::Breaking,
            format!(
                "scope set `{set}` is now denied by `{endpoint}` with {}; it {} before",
                describe_signal(a),
                evidence(b)
            ),
        ),
        (Granted, Partial) => (
            Rule::PermissionNewlyPartial,
            Severity::Breaking,
            format!(
                "scope set `{set}` now {} from `{endpoint}`; it got the full data before",
                evidence(a)
            ),
        ),
        (Partial, Partial) if lost_more(b, a) => (
            Rule::PermissionNewlyPartial,
            Severity::Warning,
            format!(
                "scope set `{set}` now {} from `{endpoint}`; it {} before",
                evidence(a),
                evidence(b)
            ),
        ),
        // Denied → partial gains access too, if not all of it; it is named the same way.
        (Denied | Partial, Granted) | (Denied, Partial) => (
            Rule::PermissionNewlyGranted,
            Severity::Info,
            format!(
                "scope set `{set}` now {} from `{endpoint}`; it {} before",
                evidence(a),
                evidence(b)
            ),
        ),
        (Denied, Denied) if b.signal != a.signal || b.error_code != a.error_code => (
            Rule::PermissionDenialSignalChanged,
            Severity::Warning,
            format!(
                "`{endpoint}` now denies scope set `{set}` with {} instead of {}",
                describe_signal(a),
                describe_signal(b)
            ),
        ),
        // An error says nothing about permissions: never a denial, always its own rule.
        (Granted | Partial | Denied, Error) => (
            Rule::PermissionError,
            Severity::Warning,
            format!(
                "scope set `{set}` could not be checked against `{endpoint}`: it {}",
                evidence(a)
            ),
        ),
        _ => return,
    };
    em.push(
        rule,
        severity,
        Some(set),
        msg,
        Some(b.to_json()),
        Some(a.to_json()),
    );
}

/// A partial cell lacks something now that it did not lack before.
fn lost_more(b: &Cell, a: &Cell) -> bool {
    let new_path = a.missing_paths.iter().any(|p| !b.missing_paths.contains(p));
    let gap = |c: &Cell| {
        c.missing_items
            .map_or(0, |(seen, reference)| reference - seen.min(reference))
    };
    new_path || gap(a) > gap(b)
}

fn show(v: Option<&str>) -> String {
    match v {
        Some(s) => format!("`{s}`"),
        None => "nothing".to_owned(),
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
