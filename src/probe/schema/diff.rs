//! The schema probe's diff rules: status and content type per connection, and the merged
//! shape's fields (removed, added, renamed, type, nullability, optionality, format, maps).

use super::body::{Response, SchemaBody};
use crate::baseline::emit::Emitter;
use crate::model::Severity;
use crate::probe::body::{ObservationBody, unreadable_part};
use crate::probe::shape::{FieldShape, JsonType, MAP_KEY_LIMIT, MAP_VALUES, absorb_integer};
use crate::rules::Rule;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

impl ObservationBody for SchemaBody {
    const NAME: &'static str = "schema";
    const UNREADABLE: Rule = Rule::SchemaObservationUnreadable;

    fn diff(em: &mut Emitter<'_>, before: &Self, after: &Self) {
        diff_responses(em, &before.responses, &after.responses);
        let b = read_shape(em, "baseline", &before.shape);
        let a = read_shape(em, "current", &after.shape);
        diff_shapes(em, &b, &a);
    }
}

/// Adds one drift naming `connections` (the schema key itself has no connection).
#[allow(clippy::too_many_arguments)]
fn push(
    em: &mut Emitter<'_>,
    rule: Rule,
    severity: Severity,
    path: Option<&str>,
    connections: Vec<String>,
    message: String,
    before: Option<Value>,
    after: Option<Value>,
) {
    em.push(rule, severity, path, message, before, after);
    if let Some(d) = em.out.last_mut() {
        d.connections = connections;
    }
}

fn field(
    em: &mut Emitter<'_>,
    rule: Rule,
    severity: Severity,
    path: &str,
    message: String,
    b: &FieldShape,
    a: &FieldShape,
) {
    let (b, a) = (descriptor_json(b), descriptor_json(a));
    push(
        em,
        rule,
        severity,
        Some(path),
        Vec::new(),
        message,
        Some(b),
        Some(a),
    );
}

/// Reads the flattened shape's descriptors; an unreadable one is reported (by the one generic
/// place, at its path) and the rest are still compared, never silently skipped.
fn read_shape(
    em: &mut Emitter<'_>,
    side: &str,
    shape: &BTreeMap<String, Value>,
) -> BTreeMap<String, FieldShape> {
    let mut out = BTreeMap::new();
    for (path, value) in shape {
        match FieldShape::deserialize(value) {
            Ok(mut field) => {
                // Baselines written before integer became a subtype of number hold
                // `["integer", "number"]`: that is `number`.
                absorb_integer(&mut field.types);
                out.insert(path.clone(), field);
            }
            Err(e) => unreadable_part::<SchemaBody>(
                em,
                side,
                path,
                &format!("descriptor for `{path}`"),
                &e.to_string(),
            ),
        }
    }
    out
}

fn diff_responses(
    em: &mut Emitter<'_>,
    before: &BTreeMap<String, Response>,
    after: &BTreeMap<String, Response>,
) {
    // A connection on one side only is sharding or a new account, not drift.
    for (name, b) in before {
        let Some(a) = after.get(name) else {
            continue;
        };
        if b.status != a.status {
            let b_ok = (200..300).contains(&b.status);
            let a_ok = (200..300).contains(&a.status);
            let severity = match (b_ok, a_ok) {
                (true, false) => Severity::Breaking,
                (false, true) => Severity::Info,
                _ => Severity::Warning,
            };
            let msg = format!(
                "connection `{name}` now answers {} instead of {}",
                a.status, b.status
            );
            push(
                em,
                Rule::SchemaStatusChanged,
                severity,
                None,
                vec![name.clone()],
                msg,
                Some(Value::from(b.status)),
                Some(Value::from(a.status)),
            );
        }
        if b.content_type != a.content_type {
            let msg = format!(
                "connection `{name}` now answers with content type {} instead of {}",
                show(a.content_type.as_deref()),
                show(b.content_type.as_deref())
            );
            push(
                em,
                Rule::SchemaContentTypeChanged,
                Severity::Warning,
                None,
                vec![name.clone()],
                msg,
                Some(content_type_json(&b.content_type)),
                Some(content_type_json(&a.content_type)),
            );
        }
    }
}

fn content_type_json(c: &Option<String>) -> Value {
    c.clone().map_or(Value::Null, Value::String)
}

fn show(v: Option<&str>) -> String {
    match v {
        Some(s) => format!("`{s}`"),
        None => "null".to_owned(),
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
            push(
                em,
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
            push(
                em,
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
        push(
            em,
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
        field(
            em,
            Rule::SchemaMapChanged,
            Severity::Info,
            path,
            msg,
            bf,
            af,
        );
        out.push(path.clone());
    }
    out
}

/// `path` is strictly below `ancestor` (next byte starts a segment).
pub(super) fn is_below(path: &str, ancestor: &str) -> bool {
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
            field(
                em,
                Rule::SchemaTypeChanged,
                Severity::Breaking,
                path,
                msg,
                b,
                a,
            );
        } else if bt.contains(&JsonType::Integer) {
            let msg = format!("`{path}` widened from {} to {}", names(&bt), names(&at));
            field(em, Rule::SchemaTypeWidened, Severity::Info, path, msg, b, a);
        }
    }
    match (b.nullable(), a.nullable()) {
        (false, true) => {
            let msg = format!("`{path}` became nullable");
            field(
                em,
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
            field(
                em,
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
            field(
                em,
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
            field(
                em,
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
        field(
            em,
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
