//! Compares a baseline observation with the current one and names each difference as a drift
//! with a rule id and severity; knows nothing about HTTP, files or output formats.

use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::shape::{FieldShape, JsonType, MAP_KEY_LIMIT, MAP_VALUES, absorb_integer};
use crate::rules::Rule;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Drifts between a baseline observation and the current one (same key), sorted by
/// [`Drift::sort_key`]. Dispatches on `key.probe`.
pub fn diff_observations(before: &Observation, after: &Observation) -> Vec<Drift> {
    let mut drifts = match before.key.probe {
        ProbeKind::Schema => diff_schema(&before.key, &before.body, &after.body),
        ProbeKind::Token => crate::probe::body::diff_bodies::<crate::probe::token::TokenBody>(
            &before.key,
            &before.body,
            &after.body,
        ),
        ProbeKind::Permissions => crate::probe::body::diff_bodies::<
            crate::probe::permissions::PermissionsBody,
        >(&before.key, &before.body, &after.body),
        ProbeKind::Refresh => crate::probe::body::diff_bodies::<
            crate::probe::refresh::Classification,
        >(&before.key, &before.body, &after.body),
        ProbeKind::Metadata => crate::probe::body::diff_bodies::<
            crate::probe::metadata::MetadataBody,
        >(&before.key, &before.body, &after.body),
        ProbeKind::Deprecation => crate::probe::body::diff_bodies::<
            crate::probe::deprecation::DeprecationBody,
        >(&before.key, &before.body, &after.body),
        ProbeKind::Values => crate::probe::body::diff_bodies::<crate::probe::values::ValuesBody>(
            &before.key,
            &before.body,
            &after.body,
        ),
    };
    // Stable sort: drifts with equal keys keep their (deterministic) emission order.
    drifts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    drifts
}

struct Emitter<'a> {
    key: &'a ObservationKey,
    out: Vec<Drift>,
}

impl Emitter<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        rule: Rule,
        severity: Severity,
        path: Option<&str>,
        connections: Vec<String>,
        message: String,
        before: Option<Value>,
        after: Option<Value>,
    ) {
        self.out.push(Drift {
            rule: rule.emit(severity),
            severity,
            provider: self.key.provider.clone(),
            probe: self.key.probe,
            subject: self.key.subject.clone(),
            path: path.map(str::to_owned),
            connections,
            message,
            before,
            after,
            exchanges: Vec::new(),
            fingerprint: String::new(),
            suppressed: None,
        });
    }

    fn field(
        &mut self,
        rule: Rule,
        severity: Severity,
        path: &str,
        message: String,
        b: &FieldShape,
        a: &FieldShape,
    ) {
        let (b, a) = (descriptor_json(b), descriptor_json(a));
        self.push(
            rule,
            severity,
            Some(path),
            Vec::new(),
            message,
            Some(b),
            Some(a),
        );
    }
}

fn diff_schema(key: &ObservationKey, before: &Value, after: &Value) -> Vec<Drift> {
    let mut em = Emitter {
        key,
        out: Vec::new(),
    };
    diff_responses(&mut em, before.get("responses"), after.get("responses"));
    let b = read_shape(&mut em, "baseline", before.get("shape"));
    let a = read_shape(&mut em, "current", after.get("shape"));
    diff_shapes(&mut em, &b, &a);
    em.out
}

/// Reads the flattened shape; unreadable entries are reported, never silently skipped.
fn read_shape(
    em: &mut Emitter<'_>,
    side: &str,
    shape: Option<&Value>,
) -> BTreeMap<String, FieldShape> {
    let mut out = BTreeMap::new();
    let Some(map) = shape.and_then(Value::as_object) else {
        if shape.is_some() {
            let msg = format!("the {side} observation's `shape` is not an object");
            em.push(
                Rule::SchemaObservationUnreadable,
                Severity::Warning,
                None,
                Vec::new(),
                msg,
                None,
                None,
            );
        }
        return out;
    };
    for (path, value) in map {
        match serde_json::from_value::<FieldShape>(value.clone()) {
            Ok(mut field) => {
                // Baselines written before integer became a subtype of number hold
                // `["integer", "number"]`: that is `number`.
                absorb_integer(&mut field.types);
                out.insert(path.clone(), field);
            }
            Err(e) => {
                let msg = format!(
                    "the {side} observation has an unreadable descriptor for `{path}`: {e}"
                );
                em.push(
                    Rule::SchemaObservationUnreadable,
                    Severity::Warning,
                    Some(path),
                    Vec::new(),
                    msg,
                    None,
                    None,
                );
            }
        }
    }
    out
}

fn diff_responses(em: &mut Emitter<'_>, before: Option<&Value>, after: Option<&Value>) {
    let (Some(before), Some(after)) = (
        before.and_then(Value::as_object),
        after.and_then(Value::as_object),
    ) else {
        return;
    };
    // Sorted so output does not depend on the JSON map implementation.
    let names: BTreeSet<&String> = before.keys().collect();
    for name in names {
        // A connection on one side only is sharding or a new account, not drift.
        let (Some(b), Some(a)) = (before.get(name), after.get(name)) else {
            continue;
        };
        let (bs, as_) = (b.get("status"), a.get("status"));
        if bs != as_ {
            let b_ok = bs
                .and_then(Value::as_u64)
                .is_some_and(|s| (200..300).contains(&s));
            let a_ok = as_
                .and_then(Value::as_u64)
                .is_some_and(|s| (200..300).contains(&s));
            let severity = match (b_ok, a_ok) {
                (true, false) => Severity::Breaking,
                (false, true) => Severity::Info,
                _ => Severity::Warning,
            };
            let msg = format!(
                "connection `{name}` now answers {} instead of {}",
                show(as_),
                show(bs)
            );
            em.push(
                Rule::SchemaStatusChanged,
                severity,
                None,
                vec![name.clone()],
                msg,
                bs.cloned(),
                as_.cloned(),
            );
        }
        let (bc, ac) = (b.get("content_type"), a.get("content_type"));
        if bc != ac {
            let msg = format!(
                "connection `{name}` now answers with content type {} instead of {}",
                show(ac),
                show(bc)
            );
            em.push(
                Rule::SchemaContentTypeChanged,
                Severity::Warning,
                None,
                vec![name.clone()],
                msg,
                bc.cloned(),
                ac.cloned(),
            );
        }
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => format!("`{s}`"),
        Some(other) => other.to_string(),
        None => "nothing".to_owned(),
    }
}

fn diff_shapes(
    em: &mut Emitter<'_>,
    before: &BTreeMap<String, FieldShape>,
    after: &BTreeMap<String, FieldShape>,
) {
    for (path, b) in before {
        if let Some(a) = after.get(path) {
            diff_field(em, path, b, a);
        }
    }
    // A node that is a map on one side only: one drift for it, and its keys on the object side
    // (and the map's `{}` values) are not compared one by one.
    let folded = map_changes(em, before, after);
    let under_folded = |p: &String| {
        folded
            .iter()
            .any(|f| p.starts_with(f.as_str()) && is_below(p, f))
    };
    let removed: Vec<String> = topmost(before, after)
        .into_iter()
        .filter(|p| !under_folded(p))
        .collect();
    let added: Vec<String> = topmost(after, before)
        .into_iter()
        .filter(|p| !under_folded(p))
        .collect();
    let renames = find_renames(before, after, &removed, &added);
    for path in &removed {
        if let Some(new) = renames.get(path.as_str()) {
            let msg = format!("`{path}` was renamed to `{new}`");
            let b = with_path(path, &before[path.as_str()]);
            let a = with_path(new, &after[*new]);
            em.push(
                Rule::SchemaFieldRenamed,
                Severity::Breaking,
                Some(path),
                Vec::new(),
                msg,
                Some(b),
                Some(a),
            );
        } else {
            let msg = format!("`{path}` was removed");
            let b = descriptor_json(&before[path.as_str()]);
            em.push(
                Rule::SchemaFieldRemoved,
                Severity::Breaking,
                Some(path),
                Vec::new(),
                msg,
                Some(b),
                None,
            );
        }
    }
    let renamed_to: BTreeSet<&str> = renames.values().copied().collect();
    for path in added.iter().filter(|p| !renamed_to.contains(p.as_str())) {
        let msg = format!("`{path}` was added");
        let a = descriptor_json(&after[path.as_str()]);
        em.push(
            Rule::SchemaFieldAdded,
            Severity::Info,
            Some(path),
            Vec::new(),
            msg,
            None,
            Some(a),
        );
    }
}

/// Paths that are a map (have `{}` values) on exactly one side, each reported as
/// `schema.map-changed` (info: a key set crossing [`MAP_KEY_LIMIT`] is how id-keyed data
/// grows, not a change of contract).
fn map_changes(
    em: &mut Emitter<'_>,
    before: &BTreeMap<String, FieldShape>,
    after: &BTreeMap<String, FieldShape>,
) -> Vec<String> {
    let maps = |side: &BTreeMap<String, FieldShape>| -> BTreeSet<String> {
        side.keys()
            .filter_map(|p| p.strip_suffix(MAP_VALUES))
            .filter(|p| side.contains_key(*p))
            .map(str::to_owned)
            .collect()
    };
    let (b, a) = (maps(before), maps(after));
    let mut out = Vec::new();
    for path in b.symmetric_difference(&a) {
        let (Some(bf), Some(af)) = (before.get(path), after.get(path)) else {
            continue;
        };
        let msg = if a.contains(path) {
            format!(
                "`{path}` is now a map: more than {MAP_KEY_LIMIT} distinct keys, so its values \
                 are compared as one shape (`{path}{MAP_VALUES}`) instead of field by field"
            )
        } else {
            format!(
                "`{path}` has named fields again ({MAP_KEY_LIMIT} distinct keys or fewer) instead \
                 of being a map"
            )
        };
        em.field(Rule::SchemaMapChanged, Severity::Info, path, msg, bf, af);
        out.push(path.clone());
    }
    out
}

/// `path` is strictly below `ancestor` (next byte starts a segment).
fn is_below(path: &str, ancestor: &str) -> bool {
    matches!(
        path.as_bytes().get(ancestor.len()),
        Some(b'.' | b'[' | b'{')
    )
}

fn diff_field(em: &mut Emitter<'_>, path: &str, b: &FieldShape, a: &FieldShape) {
    let (bt, at) = (b.non_null_types(), a.non_null_types());
    if bt != at {
        // JSON has one number type: only a change between JSON types is a type change.
        // Between the same JSON types, integer → number is a widening (info) and number →
        // integer is no change at all (a decimal that happened to be whole every time).
        if json_types(&bt) != json_types(&at) {
            let msg = format!(
                "`{path}` changed type from {} to {}",
                names(&bt),
                names(&at)
            );
            em.field(Rule::SchemaTypeChanged, Severity::Breaking, path, msg, b, a);
        } else if bt.contains(&JsonType::Integer) {
            let msg = format!("`{path}` widened from {} to {}", names(&bt), names(&at));
            em.field(Rule::SchemaTypeWidened, Severity::Info, path, msg, b, a);
        }
    }
    match (b.nullable(), a.nullable()) {
        (false, true) => {
            let msg = format!("`{path}` became nullable");
            em.field(
                Rule::SchemaNullabilityChanged,
                Severity::Warning,
                path,
                msg,
                b,
                a,
            );
        }
        (true, false) => {
            let msg = format!("`{path}` is no longer nullable");
            em.field(
                Rule::SchemaNullabilityChanged,
                Severity::Info,
                path,
                msg,
                b,
                a,
            );
        }
        _ => {}
    }
    match (b.required, a.required) {
        (true, false) => {
            let msg = format!("`{path}` became optional");
            em.field(
                Rule::SchemaOptionalityChanged,
                Severity::Warning,
                path,
                msg,
                b,
                a,
            );
        }
        (false, true) => {
            let msg = format!("`{path}` became required");
            em.field(
                Rule::SchemaOptionalityChanged,
                Severity::Info,
                path,
                msg,
                b,
                a,
            );
        }
        _ => {}
    }
    // A format only means something for strings; a type change away from string says it all.
    let strings = b.types.contains(&JsonType::String) && a.types.contains(&JsonType::String);
    if strings && b.format != a.format {
        let fmt = |f: Option<crate::probe::shape::StringFormat>| f.map_or("none", |f| f.as_str());
        let msg = format!(
            "`{path}` changed format from {} to {}",
            fmt(b.format),
            fmt(a.format)
        );
        em.field(
            Rule::SchemaFormatChanged,
            Severity::Warning,
            path,
            msg,
            b,
            a,
        );
    }
}

/// The JSON types of a set: `integer` counts as `number`.
fn json_types(types: &BTreeSet<JsonType>) -> BTreeSet<JsonType> {
    types
        .iter()
        .map(|t| match t {
            JsonType::Integer => JsonType::Number,
            other => *other,
        })
        .collect()
}

fn names(types: &BTreeSet<JsonType>) -> String {
    if types.is_empty() {
        return "null".to_owned();
    }
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Paths of `from` missing in `other` whose parent is not missing too.
fn topmost(
    from: &BTreeMap<String, FieldShape>,
    other: &BTreeMap<String, FieldShape>,
) -> Vec<String> {
    from.keys()
        .filter(|p| !other.contains_key(*p))
        .filter(|p| match split_last(p) {
            Some((parent, _)) => other.contains_key(parent),
            None => true,
        })
        .cloned()
        .collect()
}

/// Name similarity a removed and an added sibling need to pair as a rename when their parent
/// has more than one removed or added field (see [`find_renames`]).
pub(crate) const RENAME_MIN_SIMILARITY: f64 = 0.4;

/// Old path → new path. A removed and an added sibling (same parent, not array items) pair as a
/// rename only when their whole subtrees are identical, and either they are the parent's only
/// removed and only added field (whatever the names, as `id` → `uuid`), or their names are
/// similar: [`name_similarity`] at least [`RENAME_MIN_SIMILARITY`]. Candidates are taken
/// greedily, most similar first; equal similarity is broken by the removed path, then the added
/// path, in sorted (byte) order, so the result never depends on anything but the two shapes.
/// Everything left over stays removed + added.
fn find_renames<'a>(
    before: &BTreeMap<String, FieldShape>,
    after: &'a BTreeMap<String, FieldShape>,
    removed: &'a [String],
    added: &'a [String],
) -> BTreeMap<String, &'a str> {
    let by_parent = |paths: &'a [String]| {
        let mut m: BTreeMap<&'a str, Vec<(&'a str, &'a str)>> = BTreeMap::new();
        for p in paths {
            if let Some((parent, last)) = split_last(p)
                && last != "[]"
                && last != MAP_VALUES
            {
                m.entry(parent).or_default().push((p, last));
            }
        }
        m
    };
    let gone = by_parent(removed);
    let new = by_parent(added);
    let mut out = BTreeMap::new();
    for (parent, olds) in &gone {
        let Some(news) = new.get(parent) else {
            continue;
        };
        let only_one_each = olds.len() == 1 && news.len() == 1;
        // (similarity, old, new) of every identical-shape pair that may be a rename.
        let mut candidates: Vec<(f64, &str, &'a str)> = Vec::new();
        for (old, old_name) in olds {
            let old_tree = subtree(before, old);
            for (new_path, new_name) in news {
                if old_tree != subtree(after, new_path) {
                    continue;
                }
                let similarity = name_similarity(segment_name(old_name), segment_name(new_name));
                if only_one_each || similarity >= RENAME_MIN_SIMILARITY {
                    candidates.push((similarity, old, new_path));
                }
            }
        }
        candidates.sort_by(|x, y| {
            y.0.total_cmp(&x.0)
                .then_with(|| x.1.cmp(y.1))
                .then_with(|| x.2.cmp(y.2))
        });
        let mut taken: BTreeSet<&str> = BTreeSet::new();
        for (_, old, new_path) in candidates {
            if out.contains_key(old) || taken.contains(new_path) {
                continue;
            }
            taken.insert(new_path);
            out.insert(old.to_owned(), new_path);
        }
    }
    out
}

/// The key of a path segment: `.total` → `total`, `['odd key']` → `odd key`.
fn segment_name(segment: &str) -> &str {
    segment
        .strip_prefix('.')
        .or_else(|| {
            segment
                .strip_prefix("['")
                .and_then(|s| s.strip_suffix("']"))
        })
        .unwrap_or(segment)
}

/// How alike two field names are, from 0 (nothing shared) to 1 (equal ignoring case): the mean
/// of two Sørensen–Dice coefficients, over the names' words (split at `_`, `-`, other
/// punctuation and lower→upper case changes, lowercased) and over their sets of adjacent
/// character pairs (lowercased; a one-character name is its own pair). Words make `amount` →
/// `amount_cents` beat `amounts` → `amount_cents`; character pairs still see `total` → `totals`.
/// `total`/`total_amount` 0.60, `name`/`display_name` 0.55, `total`/`tax` 0.17.
pub(crate) fn name_similarity(a: &str, b: &str) -> f64 {
    fn dice<T: Ord>(x: &BTreeSet<T>, y: &BTreeSet<T>) -> f64 {
        if x.is_empty() && y.is_empty() {
            return 1.0;
        }
        let shared = x.intersection(y).count();
        (2 * shared) as f64 / (x.len() + y.len()) as f64
    }
    fn words(s: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut word = String::new();
        let mut prev_lower = false;
        for c in s.chars() {
            let boundary = !c.is_alphanumeric() || (prev_lower && c.is_uppercase());
            if boundary && !word.is_empty() {
                out.insert(std::mem::take(&mut word));
            }
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        }
        if !word.is_empty() {
            out.insert(word);
        }
        out
    }
    fn pairs(s: &str) -> BTreeSet<(char, char)> {
        let chars: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
        match chars.as_slice() {
            [] => BTreeSet::new(),
            [c] => BTreeSet::from([(*c, *c)]),
            _ => chars.windows(2).map(|w| (w[0], w[1])).collect(),
        }
    }
    (dice(&words(a), &words(b)) + dice(&pairs(a), &pairs(b))) / 2.0
}

/// The node at `root` and its descendants, keyed by path relative to `root`.
fn subtree<'m>(
    map: &'m BTreeMap<String, FieldShape>,
    root: &str,
) -> Vec<(&'m str, &'m FieldShape)> {
    map.range(root.to_owned()..)
        .take_while(|(p, _)| p.starts_with(root))
        .filter_map(|(p, f)| {
            let rest = &p[root.len()..];
            // A complete path followed by `.` or `[` is a descendant; `$.ab` is not under `$.a`.
            (rest.is_empty() || rest.starts_with(['.', '[', '{'])).then_some((rest, f))
        })
        .collect()
}

/// Splits a path into its parent path and last segment; `None` for the root `$`.
pub(crate) fn split_last(path: &str) -> Option<(&str, &str)> {
    let bytes = path.as_bytes();
    let mut i = 1;
    let mut last = None;
    while i < bytes.len() {
        last = Some(i);
        if bytes[i] == b'.' {
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
        } else if bytes[i..].starts_with(b"[]") || bytes[i..].starts_with(b"{}") {
            i += 2;
        } else if bytes[i..].starts_with(b"['") {
            i += 2;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'\'' if bytes.get(i + 1) == Some(&b']') => {
                        i += 2;
                        break;
                    }
                    _ => i += 1,
                }
            }
        } else {
            // Not a path we wrote: treat the rest as one segment rather than guess.
            i = bytes.len();
        }
    }
    let start = last?;
    let end = i.min(bytes.len());
    Some((path.get(..start)?, path.get(start..end)?))
}

fn descriptor_json(field: &FieldShape) -> Value {
    crate::probe::shape::field_to_json(field)
}

fn with_path(path: &str, field: &FieldShape) -> Value {
    let mut v = descriptor_json(field);
    if let Value::Object(map) = &mut v {
        map.insert("path".to_owned(), Value::String(path.to_owned()));
    }
    v
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
