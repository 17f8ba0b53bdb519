//! The one contract every probe's observation body keeps: a serde type that serialises to
//! exactly the snapshot JSON, reads back from it, and diffs against the baseline's body. The
//! one place that reports a body that cannot be read is [`diff_bodies`]; each probe only names
//! its `*.observation-unreadable` rule.

use crate::baseline::emit::Emitter;
use crate::model::{Drift, ObservationKey};
use crate::rules::Rule;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A probe's typed observation body.
pub(crate) trait ObservationBody: Serialize + DeserializeOwned {
    /// The probe's name in messages (`token`, `refresh`, …).
    const NAME: &'static str;
    /// The rule reported when a stored or fresh body cannot be read (users may suppress it).
    const UNREADABLE: Rule;

    /// Reads a body from its snapshot JSON.
    fn parse(body: &Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(body)
    }

    /// The snapshot JSON of this body.
    fn to_json(&self) -> Value {
        // The bodies are plain data with string keys, so serialising cannot fail; if it ever
        // did, the null body is reported as unreadable by the next diff, never dropped.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Pushes the drifts from `before` (the baseline) to `after` (this run) onto `em`.
    fn diff(em: &mut Emitter<'_>, before: &Self, after: &Self);
}

/// Drifts between two bodies of probe `B` (same key), sorted by [`Drift::sort_key`]. A side
/// that cannot be read is reported once as `B::UNREADABLE` (a warning), and nothing is
/// compared.
pub(crate) fn diff_bodies<B: ObservationBody>(
    key: &ObservationKey,
    before: &Value,
    after: &Value,
) -> Vec<Drift> {
    let mut em = Emitter::new(key);
    let b = read::<B>(&mut em, "baseline", before);
    let a = read::<B>(&mut em, "current", after);
    if let (Some(b), Some(a)) = (b, a) {
        B::diff(&mut em, &b, &a);
    }
    em.out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    em.out
}

fn read<B: ObservationBody>(em: &mut Emitter<'_>, side: &str, body: &Value) -> Option<B> {
    match B::parse(body) {
        Ok(b) => Some(b),
        Err(e) => {
            unreadable::<B>(
                em,
                None,
                format!("the {side} {} observation is unreadable: {e}", B::NAME),
            );
            None
        }
    }
}

/// Reports one unreadable part of a readable body (a permissions cell), at `path`, with the
/// probe's own rule; the rest of the body is still compared.
pub(crate) fn unreadable_part<B: ObservationBody>(
    em: &mut Emitter<'_>,
    side: &str,
    path: &str,
    what: &str,
    reason: &str,
) {
    let msg = format!(
        "the {side} {} observation has an unreadable {what}: {reason}",
        B::NAME
    );
    unreadable::<B>(em, Some(path), msg);
}

/// The one place an `*.observation-unreadable` drift is pushed, for every probe.
fn unreadable<B: ObservationBody>(em: &mut Emitter<'_>, path: Option<&str>, message: String) {
    em.push(
        B::UNREADABLE,
        crate::model::Severity::Warning,
        path,
        message,
        None,
        None,
    );
}

/// A field merged over several answers: one value when all agree, else the distinct values
/// sorted by their JSON text (how merged observation fields are written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Merged<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Serialize + Clone> Merged<T> {
    /// The merge of `values`; `None` when there are none.
    pub fn of<'a>(values: impl IntoIterator<Item = &'a T>) -> Option<Merged<T>>
    where
        T: 'a,
    {
        let mut distinct: std::collections::BTreeMap<String, T> = Default::default();
        for v in values {
            // Plain enums, strings and bools always serialise; a failure would only drop one.
            if let Ok(text) = serde_json::to_string(v) {
                distinct.entry(text).or_insert_with(|| v.clone());
            }
        }
        let mut values: Vec<T> = distinct.into_values().collect();
        match values.len() {
            0 => None,
            1 => values.pop().map(Merged::One),
            _ => Some(Merged::Many(values)),
        }
    }
}

impl<T> Merged<T> {
    /// Every value, one or many.
    pub fn values(&self) -> &[T] {
        match self {
            Merged::One(v) => std::slice::from_ref(v),
            Merged::Many(vs) => vs,
        }
    }

    /// Whether this is exactly the single value `v`.
    pub fn is(&self, v: &T) -> bool
    where
        T: PartialEq,
    {
        matches!(self, Merged::One(x) if x == v)
    }
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;
