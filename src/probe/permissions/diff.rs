//! Diff rules of the permissions probe: compares the baseline's and this run's scope set ×
//! endpoint matrix cell by cell. Knows nothing about HTTP, files, output formats or how the
//! cells were classified (only the observation body written by `probe::permissions::observe`).

use super::emit::Emitter;
use crate::model::{Drift, ObservationKey, Severity};
use crate::probe::permissions::{Cell, CellClass, describe_signal, evidence};
use crate::rules::Rule;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Drifts between two permissions observations (same key), sorted by [`Drift::sort_key`].
pub(crate) fn diff_permissions(key: &ObservationKey, before: &Value, after: &Value) -> Vec<Drift> {
    let mut em = Emitter::new(key);
    let b = cells(&mut em, "baseline", before);
    let a = cells(&mut em, "current", after);
    if let (Some(b), Some(a)) = (b, a) {
        let sets: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        for set in sets {
            match (b.get(set), a.get(set)) {
                // An unreadable cell is already reported; comparing it would only add noise.
                (Some(None), _) | (_, Some(None)) => {}
                // Only probed cells are compared: a set left unprobed (no grant could be
                // narrowed safely) keeps whatever the baseline knew, and is no drift.
                (Some(Some(c)), _) | (_, Some(Some(c))) if c.class == CellClass::NotProbed => {}
                (Some(Some(bc)), Some(Some(ac))) => diff_cell(&mut em, set, bc, ac),
                (Some(Some(bc)), None) => {
                    let msg = format!(
                        "scope set `{set}` was not probed against `{}` in this run",
                        key.subject
                    );
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
                    let msg = format!(
                        "scope set `{set}` was probed against `{}` for the first time",
                        key.subject
                    );
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
    }
    let (bd, ad) = (before.get("downscoping"), after.get("downscoping"));
    let not_probed = |v: Option<&Value>| v.and_then(Value::as_str) == Some("not-probed");
    if bd != ad && !not_probed(bd) && !not_probed(ad) {
        let msg = format!(
            "down-scoping on refresh for `{}` is now {} instead of {}",
            key.subject,
            show(ad),
            show(bd)
        );
        em.push(
            Rule::PermissionDownscopingChanged,
            Severity::Warning,
            None,
            msg,
            bd.cloned(),
            ad.cloned(),
        );
    }
    em.out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    em.out
}

/// The `cells` map, `None` for a cell that cannot be read; an unreadable body or cell is
/// reported, never silently skipped.
fn cells(em: &mut Emitter<'_>, side: &str, body: &Value) -> Option<BTreeMap<String, Option<Cell>>> {
    let Some(map) = body.get("cells").and_then(Value::as_object) else {
        em.push(
            Rule::PermissionObservationUnreadable,
            Severity::Warning,
            None,
            format!("the {side} permissions observation has no `cells` object"),
            None,
            None,
        );
        return None;
    };
    let mut out = BTreeMap::new();
    for (set, value) in map {
        match serde_json::from_value::<Cell>(value.clone()) {
            Ok(cell) => {
                out.insert(set.clone(), Some(cell));
            }
            Err(e) => {
                out.insert(set.clone(), None);
                em.push(
                Rule::PermissionObservationUnreadable,
                Severity::Warning,
                Some(set),
                format!("the {side} permissions observation has an unreadable cell for scope set `{set}`: {e}"),
                None,
                None,
            );
            }
        }
    }
    Some(out)
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

fn show(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => format!("`{s}`"),
        Some(other) => other.to_string(),
        None => "nothing".to_owned(),
    }
}

#[cfg(test)]
#[path = "diff_permissions_tests.rs"]
mod tests;
