//! Diff rules of the values probe: compares an endpoint's baseline value classes with this
//! run's, per metric and connection. Knows nothing about HTTP, files, output formats or how the
//! classes were computed (only the typed [`Body`] that `observe` writes).
//!
//! Every rule emits at most one drift per metric (or rule), naming all affected connections,
//! so `(rule, path)` identifies a drift. Values that only move (1200 → 1337) never drift, and
//! a connection seen on one side only is sharding or a new account, not drift.

use super::body::ValuesBody as Body;
use super::{ValueClass, list};
use crate::baseline::emit::Emitter;
use crate::model::Severity;
use crate::rules::Rule;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// One connection's class of one metric on each side; `None` = not in the observation.
type Row<'a> = (&'a str, Option<ValueClass>, Option<ValueClass>);

/// Pushes the drifts between two readable values bodies (same key) onto `em`.
pub(super) fn diff_values(em: &mut Emitter<'_>, b: &Body, a: &Body) {
    let common: Vec<&str> = b
        .connections
        .keys()
        .filter(|c| a.connections.contains_key(*c))
        .map(String::as_str)
        .collect();
    let metrics: BTreeSet<&str> = common
        .iter()
        .flat_map(|c| b.connections[*c].keys().chain(a.connections[*c].keys()))
        .map(String::as_str)
        .collect();
    for metric in metrics {
        let rows: Vec<Row<'_>> = common
            .iter()
            .map(|c| {
                let class = |body: &Body| body.connections[*c].get(metric).copied();
                (*c, class(b), class(a))
            })
            .collect();
        diff_metric(em, metric, &rows);
    }
    diff_rules(em, &common, b, a);
}

fn zeroed(r: &Row<'_>) -> bool {
    r.1 == Some(ValueClass::NonZero) && r.2 == Some(ValueClass::Zero)
}

fn emptied(r: &Row<'_>) -> bool {
    r.1.is_some_and(ValueClass::has_data) && r.2 == Some(ValueClass::Empty)
}

/// Present (even zero, empty or false) → null, missing, or gone from the observation (an
/// auto-tracked leaf that is no longer a number).
fn nulled(r: &Row<'_>) -> bool {
    let absent = |c: Option<ValueClass>| {
        matches!(c, None | Some(ValueClass::Null) | Some(ValueClass::Missing))
    };
    !absent(r.1) && absent(r.2)
}

/// Zero/empty/null/missing → data. A metric that was not in the baseline at all is a new field
/// (the schema probe's business), so it does not "recover".
fn recovered(r: &Row<'_>) -> bool {
    let blank = matches!(
        r.1,
        Some(ValueClass::Zero | ValueClass::Empty | ValueClass::Null | ValueClass::Missing)
    );
    blank && r.2.is_some_and(ValueClass::has_data)
}

fn diff_metric(em: &mut Emitter<'_>, metric: &str, rows: &[Row<'_>]) {
    let zero: Vec<Row<'_>> = rows.iter().copied().filter(zeroed).collect();
    let (n, k) = (rows.len(), zero.len());
    // Zero for some while the rest of the data stays non-zero: the silent per-account breakage.
    let subset = k > 0
        && k < n
        && rows.iter().all(|r| r.1 == Some(ValueClass::NonZero))
        && rows
            .iter()
            .all(|r| matches!(r.2, Some(ValueClass::Zero | ValueClass::NonZero)));
    if subset {
        let msg = format!(
            "`{metric}` is now zero for {k} of {n} connections ({}) while the other {} stay \
             non-zero",
            names(&zero),
            n - k
        );
        emit(
            em,
            Rule::ValuesZeroedForSubset,
            Severity::Breaking,
            metric,
            msg,
            (&zero, rows),
        );
    } else if k > 0 {
        let msg = format!("`{metric}` is now zero for {} (was non-zero)", names(&zero));
        emit_rows(
            em,
            Rule::ValuesZeroed,
            Severity::Breaking,
            metric,
            msg,
            &zero,
        );
    }
    let gone: Vec<Row<'_>> = rows.iter().copied().filter(emptied).collect();
    if !gone.is_empty() {
        let msg = format!("`{metric}` is now empty for {} (had data)", names(&gone));
        emit_rows(
            em,
            Rule::ValuesEmptied,
            Severity::Breaking,
            metric,
            msg,
            &gone,
        );
    }
    let gone: Vec<Row<'_>> = rows.iter().copied().filter(nulled).collect();
    if !gone.is_empty() {
        let msg = format!("`{metric}` is now null or missing for {}", names(&gone));
        emit_rows(
            em,
            Rule::ValuesNulled,
            Severity::Warning,
            metric,
            msg,
            &gone,
        );
    }
    let back: Vec<Row<'_>> = rows.iter().copied().filter(recovered).collect();
    if !back.is_empty() {
        let msg = format!("`{metric}` has data again for {}", names(&back));
        emit_rows(
            em,
            Rule::ValuesRecovered,
            Severity::Info,
            metric,
            msg,
            &back,
        );
    }
}

/// A rule that held for a connection in the baseline and fails for it now (connections seen on
/// both sides only). One drift per rule, naming the newly violating connections; a violation the
/// baseline already holds is accepted and never reported again (nor as a finding: one verdict
/// per fact).
fn diff_rules(em: &mut Emitter<'_>, common: &[&str], b: &Body, a: &Body) {
    let on_both = |body: &Body, rule: &str| -> Vec<String> {
        let mut v: Vec<String> = body
            .rules
            .get(rule)
            .into_iter()
            .flatten()
            .filter(|c| common.contains(&c.as_str()))
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    };
    for rule in a.rules.keys() {
        let (was, now) = (on_both(b, rule), on_both(a, rule));
        let new: Vec<String> = now.iter().filter(|c| !was.contains(c)).cloned().collect();
        if new.is_empty() {
            continue;
        }
        let refs: Vec<&str> = new.iter().map(String::as_str).collect();
        let msg = if was.is_empty() {
            format!(
                "rule `{rule}` held for every connection in the baseline and is now violated by {}",
                list(&refs)
            )
        } else {
            let old: Vec<&str> = was.iter().map(String::as_str).collect();
            let whom = if refs.len() == 1 { "it" } else { "them" };
            format!(
                "rule `{rule}` held for {} in the baseline and is now violated by {whom} \
                 (already violated by {} in the baseline)",
                list(&refs),
                list(&old)
            )
        };
        em.push(
            Rule::ValuesRuleViolated,
            Severity::Breaking,
            Some(rule),
            msg,
            Some(json!({ "violated_by": was })),
            Some(json!({ "violated_by": now })),
        );
        name_connections(em, new);
    }
}

fn names(rows: &[Row<'_>]) -> String {
    let conns: Vec<&str> = rows.iter().map(|r| r.0).collect();
    list(&conns)
}

/// `{connection: class}` evidence for one side; absent metrics show as `missing`.
fn evidence(rows: &[Row<'_>], side: impl Fn(&Row<'_>) -> Option<ValueClass>) -> Value {
    let map: Map<String, Value> = rows
        .iter()
        .map(|r| {
            let class = side(r).unwrap_or(ValueClass::Missing);
            (r.0.to_owned(), json!(class))
        })
        .collect();
    Value::Object(map)
}

/// A drift naming `rows`' connections, with their classes before and after as evidence.
fn emit_rows(
    em: &mut Emitter<'_>,
    rule: Rule,
    severity: Severity,
    metric: &str,
    msg: String,
    rows: &[Row<'_>],
) {
    emit(em, rule, severity, metric, msg, (rows, rows));
}

/// A drift naming `affected`'s connections, with `shown`'s classes as evidence.
fn emit(
    em: &mut Emitter<'_>,
    rule: Rule,
    severity: Severity,
    metric: &str,
    msg: String,
    (affected, shown): (&[Row<'_>], &[Row<'_>]),
) {
    let before = evidence(shown, |r| r.1);
    let after = evidence(shown, |r| r.2);
    em.push(rule, severity, Some(metric), msg, Some(before), Some(after));
    name_connections(em, affected.iter().map(|r| r.0.to_owned()).collect());
}

/// The observation key has no connection, so the emitter's drift names none: set them.
fn name_connections(em: &mut Emitter<'_>, mut connections: Vec<String>) {
    connections.sort();
    if let Some(d) = em.out.last_mut() {
        d.connections = connections;
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
