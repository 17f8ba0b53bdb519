//! Infers the shape of JSON responses (types, required/optional, nullable, array items, string
//! formats) and merges shapes over samples; knows nothing about HTTP, baselines or drift rules.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[path = "shape_stream.rs"]
mod stream;
pub use stream::{InferError, infer_slice};

/// Deepest container nesting `infer` accepts; deeper input is an error, never a stack overflow.
pub const MAX_DEPTH: usize = 128;

/// Most distinct keys an object node keeps as named fields. An object (or the merged objects of
/// an array, pages or connections) whose key set grows past this is folded into a map shape:
/// keys vary, and every value merges into one value shape, flattened under `{}`
/// (`$.by_id{}.amount`). Id-keyed records and per-item custom fields are maps; folding keeps
/// inference linear in the keys seen and memory bounded, and keeps values (a reflected token,
/// say) from becoming field names. Documented in docs/shapes.md.
pub const MAP_KEY_LIMIT: usize = 1000;

/// Why a JSON value has no shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("json nested deeper than {max} levels at {path}")]
    TooDeep { max: usize, path: String },
}

/// A JSON type as seen in samples. `Integer` is a number written without a fraction or exponent
/// that fits i64/u64; `Number` any other number. JSON has one number type, so `Integer` is a
/// subtype of `Number`: a merged shape never holds both (see [`absorb_integer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    /// The lowercase name used in bodies and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "boolean",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

/// A recognised string format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StringFormat {
    DateTime,
    Date,
    Uri,
    Email,
    Uuid,
}

impl StringFormat {
    /// The kebab-case name used in bodies and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            StringFormat::DateTime => "date-time",
            StringFormat::Date => "date",
            StringFormat::Uri => "uri",
            StringFormat::Email => "email",
            StringFormat::Uuid => "uuid",
        }
    }

    /// The format of one string sample, if any. Opaque tokens (base64 cursors, ids) match none.
    pub fn detect(s: &str) -> Option<StringFormat> {
        if is_uuid(s) {
            Some(StringFormat::Uuid)
        } else if is_date(s) {
            Some(StringFormat::Date)
        } else if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
            Some(StringFormat::DateTime)
        } else if is_email(s) {
            Some(StringFormat::Email)
        } else if is_uri(s) {
            Some(StringFormat::Uri)
        } else {
            None
        }
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn is_date(s: &str) -> bool {
    // chrono's %Y also takes signs and long years, so pin the exact layout first.
    s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
        && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if local.is_empty() || domain.contains('@') || s.chars().any(|c| c.is_whitespace()) {
        return false;
    }
    // At least two labels, none empty, the last two or more ASCII letters.
    let Some((_, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    domain.split('.').all(|l| !l.is_empty())
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_uri(s: &str) -> bool {
    if !has_known_scheme(s) || s.chars().any(|c| c.is_whitespace()) {
        return false;
    }
    match url::Url::parse(s) {
        Ok(u) => match u.scheme() {
            "http" | "https" => u.host_str().is_some_and(|h| !h.is_empty()),
            "urn" => !u.path().is_empty(),
            _ => false,
        },
        Err(_) => false,
    }
}

/// Whether `s` can be a URI `is_uri` accepts, without the cost of `Url::parse` (most strings are
/// not URIs). Exact: the parser only skips leading C0 controls and spaces before the scheme, and
/// it lowercases the scheme.
fn has_known_scheme(s: &str) -> bool {
    let t = s.trim_start_matches(|c: char| c <= ' ');
    ["http:", "https:", "urn:"]
        .iter()
        .any(|p| t.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))
}

/// A set of [`JsonType`]s as one bit each: no allocation per node. Serialises like the
/// `BTreeSet<JsonType>` it replaces (a sorted list), so stored shapes read the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct TypeSet(u8);

const ALL_TYPES: [JsonType; 7] = [
    JsonType::Null,
    JsonType::Boolean,
    JsonType::Integer,
    JsonType::Number,
    JsonType::String,
    JsonType::Array,
    JsonType::Object,
];

impl TypeSet {
    fn bit(t: JsonType) -> u8 {
        1 << (t as u8)
    }

    fn is_empty(&self) -> bool {
        self.0 == 0
    }

    fn contains(self, t: JsonType) -> bool {
        self.0 & Self::bit(t) != 0
    }

    /// Adds `t`, keeping the set canonical (integer absorbed by number).
    fn insert(&mut self, t: JsonType) {
        self.0 |= Self::bit(t);
        self.absorb_integer();
    }

    fn union(&mut self, other: TypeSet) {
        self.0 |= other.0;
        self.absorb_integer();
    }

    fn absorb_integer(&mut self) {
        if self.contains(JsonType::Number) {
            self.0 &= !Self::bit(JsonType::Integer);
        }
    }

    fn iter(self) -> impl Iterator<Item = JsonType> {
        ALL_TYPES.into_iter().filter(move |t| self.contains(*t))
    }
}

impl Serialize for TypeSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for TypeSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Not canonicalised: an older body may hold `integer` and `number`; `descriptor`
        // absorbs on the way out, as it did for the set this replaces.
        let types = BTreeSet::<JsonType>::deserialize(d)?;
        Ok(TypeSet(
            types.into_iter().fold(0, |acc, t| acc | TypeSet::bit(t)),
        ))
    }
}

/// A set of `Option<StringFormat>` (`None`: a string with no format) as one bit each, sorted
/// and serialised like the `BTreeSet<Option<StringFormat>>` it replaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FormatSet(u8);

const ALL_FORMATS: [Option<StringFormat>; 6] = [
    None,
    Some(StringFormat::DateTime),
    Some(StringFormat::Date),
    Some(StringFormat::Uri),
    Some(StringFormat::Email),
    Some(StringFormat::Uuid),
];

impl FormatSet {
    fn bit(f: Option<StringFormat>) -> u8 {
        match f {
            None => 1,
            Some(f) => 2 << (f as u8),
        }
    }

    fn is_empty(&self) -> bool {
        self.0 == 0
    }

    fn insert(&mut self, f: Option<StringFormat>) {
        self.0 |= Self::bit(f);
    }

    fn iter(self) -> impl Iterator<Item = Option<StringFormat>> {
        ALL_FORMATS
            .into_iter()
            .filter(move |f| self.0 & Self::bit(*f) != 0)
    }

    /// The one format all samples share (`None` when they share none or have none).
    fn only(self) -> Option<StringFormat> {
        if self.0.count_ones() == 1 {
            self.iter().next().flatten()
        } else {
            None
        }
    }
}

impl Serialize for FormatSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for FormatSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let formats = BTreeSet::<Option<StringFormat>>::deserialize(d)?;
        Ok(FormatSet(
            formats
                .into_iter()
                .fold(0, |acc, f| acc | FormatSet::bit(f)),
        ))
    }
}

/// The shape of one node, accumulated over samples. The representation is canonical so that
/// `merge` is exactly commutative and associative: fields and a map exist only when `Object`
/// was seen (never both: a map has no named fields), items only when `Array` was seen, formats
/// only when `String` was seen. Requiredness is counted (object samples here, samples with each
/// field) so merging costs only the other side's keys, never a walk over this side's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    #[serde(default, skip_serializing_if = "TypeSet::is_empty")]
    types: TypeSet,
    /// Formats of all string samples; `None` stands for "no format" so a mix stays visible.
    #[serde(default, skip_serializing_if = "FormatSet::is_empty")]
    formats: FormatSet,
    /// How many object samples this node had: a field is required when it was in all of them.
    #[serde(default, skip_serializing_if = "is_zero")]
    objects: u64,
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    fields: Fields,
    /// The merged shape of every value once the key set grew past [`MAP_KEY_LIMIT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    map: Option<Box<Shape>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    items: Option<Box<Shape>>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A field of an object node: its shape and in how many of the node's object samples it was.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FieldEntry {
    seen: u64,
    shape: Shape,
    /// The node's object sample that last had this key, while one inference accumulates into
    /// the node: the same number twice is a repeated key within one object. Not part of the
    /// shape (not compared, not stored).
    #[serde(skip)]
    last: u64,
}

impl PartialEq for FieldEntry {
    fn eq(&self, other: &Self) -> bool {
        self.seen == other.seen && self.shape == other.shape
    }
}

/// The named fields of an object node, in the order their keys were first seen. Keys live in one
/// text buffer per node (no allocation per key); a per-node cursor makes the common case, a new
/// object sample with the same keys in the same order as the last, one comparison per key.
/// Above [`INDEX_FROM`] keys a sorted index of positions answers every other lookup in
/// O(log n); below it a scan of a few short keys is cheaper. Compared as a set, stored as a
/// map sorted by key, exactly as the `BTreeMap` it replaces.
#[derive(Debug, Clone, Default)]
struct Fields {
    /// Every key's text, back to back.
    names: String,
    entries: Vec<Field>,
    /// Positions in `entries`, sorted by key; empty below `INDEX_FROM` keys.
    index: Vec<usize>,
    /// The position after the last key found or added: where the next key is looked for first.
    /// Not part of the fields (not compared, not stored).
    cursor: usize,
}

/// One named field: its key (a range of [`Fields::names`]) and entry.
#[derive(Debug, Clone)]
struct Field {
    start: usize,
    end: usize,
    entry: FieldEntry,
}

/// From this many keys on, [`Fields`] keeps a sorted index.
const INDEX_FROM: usize = 16;

impl Fields {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key(&self, i: usize) -> &str {
        let f = &self.entries[i];
        &self.names[f.start..f.end]
    }

    /// Looks for the next key of an object sample from the start.
    fn rewind(&mut self) {
        self.cursor = 0;
    }

    /// The position of `key`, or where it belongs in the index (`Err`).
    fn find(&mut self, key: &str) -> Result<usize, usize> {
        if self.cursor < self.entries.len() && self.key(self.cursor) == key {
            let i = self.cursor;
            self.cursor += 1;
            return Ok(i);
        }
        let found = if self.index.is_empty() {
            (0..self.entries.len())
                .find(|&i| self.key(i) == key)
                .ok_or(0)
        } else {
            match self.index.binary_search_by(|&i| self.key(i).cmp(key)) {
                Ok(at) => Ok(self.index[at]),
                Err(at) => Err(at),
            }
        };
        if let Ok(i) = found {
            self.cursor = i + 1;
        }
        found
    }

    /// Adds `key`, absent, at index slot `at` (from [`Fields::find`]); returns its position.
    fn push(&mut self, key: &str, at: usize, entry: FieldEntry) -> usize {
        let start = self.names.len();
        self.names.push_str(key);
        let i = self.entries.len();
        self.entries.push(Field {
            start,
            end: self.names.len(),
            entry,
        });
        if !self.index.is_empty() {
            self.index.insert(at, i);
        } else if self.entries.len() >= INDEX_FROM {
            self.build_index();
        }
        self.cursor = i + 1;
        i
    }

    fn build_index(&mut self) {
        let mut index: Vec<usize> = (0..self.entries.len()).collect();
        index.sort_unstable_by(|&a, &b| self.key(a).cmp(self.key(b)));
        self.index = index;
    }

    fn entry_mut(&mut self, i: usize) -> &mut FieldEntry {
        &mut self.entries[i].entry
    }

    /// Adds `entry` under `key`, or merges it into the entry already there.
    fn merge_entry(&mut self, key: &str, b: FieldEntry) {
        match self.find(key) {
            Ok(i) => {
                let a = self.entry_mut(i);
                a.seen = a.seen.saturating_add(b.seen);
                a.shape.merge_from(b.shape);
            }
            Err(at) => {
                self.push(key, at, b);
            }
        }
    }

    /// Every key and entry, in first-seen order.
    fn iter(&self) -> impl Iterator<Item = (&str, &FieldEntry)> {
        self.entries
            .iter()
            .map(|f| (&self.names[f.start..f.end], &f.entry))
    }

    /// Every field, emptying the fields.
    fn take_entries(&mut self) -> Vec<Field> {
        std::mem::take(self).entries
    }

    /// Every key and entry sorted by key.
    fn sorted(&self) -> Vec<(&str, &FieldEntry)> {
        let mut all: Vec<(&str, &FieldEntry)> = self.iter().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all
    }
}

impl PartialEq for Fields {
    /// Equal as maps: the same keys with equal entries, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.sorted() == other.sorted()
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.sorted())
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, FieldEntry>::deserialize(d)?;
        let mut fields = Fields::default();
        for (key, entry) in map {
            // Sorted and unique already: each key goes last in the index.
            let at = fields.index.len();
            fields.push(&key, at, entry);
        }
        fields.rewind();
        Ok(fields)
    }
}

/// Integer is a subtype of number: a set holding `number` drops `integer`, so the merged type of
/// `{integer, number}` is `number` (a money field that is whole on one call is still a number).
/// Union followed by this absorption is still commutative, associative and idempotent.
pub fn absorb_integer(types: &mut BTreeSet<JsonType>) {
    if types.contains(&JsonType::Number) {
        types.remove(&JsonType::Integer);
    }
}

/// The flattened descriptor of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldShape {
    pub types: BTreeSet<JsonType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<StringFormat>,
    pub required: bool,
}

impl FieldShape {
    /// True when `null` was seen.
    pub fn nullable(&self) -> bool {
        self.types.contains(&JsonType::Null)
    }

    /// The types seen, without `null`.
    pub fn non_null_types(&self) -> BTreeSet<JsonType> {
        self.types
            .iter()
            .copied()
            .filter(|t| *t != JsonType::Null)
            .collect()
    }
}

/// Infers the shape of one sample. Nesting deeper than [`MAX_DEPTH`] containers is an error.
pub fn infer(value: &serde_json::Value) -> Result<Shape, ShapeError> {
    let mut shape = Shape::empty();
    let mut path = Vec::new();
    walk(value, &mut shape, &mut path)?;
    Ok(shape)
}

/// One step of the path from the root to the node being walked.
pub(crate) enum Segment<'a> {
    Items,
    Key(&'a str),
}

/// The depth error at the container reached by `path` (one segment per enclosing container).
pub(crate) fn too_deep<'a>(path: impl IntoIterator<Item = Segment<'a>>) -> ShapeError {
    let mut p = String::from("$");
    for segment in path {
        match segment {
            Segment::Items => p.push_str("[]"),
            Segment::Key(k) => push_key(&mut p, k),
        }
    }
    ShapeError::TooDeep {
        max: MAX_DEPTH,
        path: p,
    }
}

/// Accumulates one sample into `into`. Depth-bounded recursion: at most `MAX_DEPTH` frames, so
/// the stack stays small; `path` holds one segment per enclosing container.
fn walk<'v>(
    value: &'v serde_json::Value,
    into: &mut Shape,
    path: &mut Vec<Segment<'v>>,
) -> Result<(), ShapeError> {
    use serde_json::Value;
    match value {
        Value::Null => into.add_type(JsonType::Null),
        Value::Bool(_) => into.add_type(JsonType::Boolean),
        Value::Number(n) => into.add_type(if n.is_i64() || n.is_u64() {
            JsonType::Integer
        } else {
            JsonType::Number
        }),
        Value::String(s) => into.add_string(s),
        Value::Array(items) => {
            if path.len() >= MAX_DEPTH {
                return Err(too_deep(path.drain(..)));
            }
            let acc = into.add_array();
            path.push(Segment::Items);
            for item in items {
                walk(item, acc, path)?;
            }
            path.pop();
        }
        Value::Object(map) => {
            if path.len() >= MAX_DEPTH {
                return Err(too_deep(path.drain(..)));
            }
            let sample = into.add_object();
            for (key, child) in map {
                // A `Map` has unique keys: never a repeat.
                let Some(slot) = into.field_slot(key, sample) else {
                    continue;
                };
                path.push(Segment::Key(key));
                walk(child, slot, path)?;
                path.pop();
            }
        }
    }
    Ok(())
}

/// The path segment of a map's values: `$.by_id{}`. No key renders as `{}` (`push_key` brackets
/// odd keys), so it cannot collide with a field.
pub const MAP_VALUES: &str = "{}";

/// Appends `.key` for identifier-like keys, `['key']` (with `\` and `'` escaped) otherwise.
pub(crate) fn push_key(path: &mut String, key: &str) {
    let mut chars = key.chars();
    let ident = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str("['");
        for c in key.chars() {
            if c == '\\' || c == '\'' {
                path.push('\\');
            }
            path.push(c);
        }
        path.push_str("']");
    }
}

impl Shape {
    /// The shape of no samples: the identity of [`Shape::merge`].
    pub fn empty() -> Shape {
        Shape {
            types: TypeSet::default(),
            formats: FormatSet::default(),
            objects: 0,
            fields: Fields::default(),
            map: None,
            items: None,
        }
    }

    /// True when no sample contributed to this shape.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// Accumulates a scalar sample of type `t` (not a string).
    pub(crate) fn add_type(&mut self, t: JsonType) {
        self.types.insert(t);
    }

    /// Accumulates a string sample.
    pub(crate) fn add_string(&mut self, s: &str) {
        self.types.insert(JsonType::String);
        self.formats.insert(StringFormat::detect(s));
    }

    /// Accumulates an array sample; its items accumulate into the returned shape.
    pub(crate) fn add_array(&mut self) -> &mut Shape {
        self.types.insert(JsonType::Array);
        self.items.get_or_insert_with(|| Box::new(Shape::empty()))
    }

    /// Accumulates an object sample; returns its number, which [`Shape::field_slot`] takes for
    /// each of its keys.
    pub(crate) fn add_object(&mut self) -> u64 {
        self.types.insert(JsonType::Object);
        self.objects = self.objects.saturating_add(1);
        self.fields.rewind();
        self.objects
    }

    /// The shape the value of `key` in object sample `sample` accumulates into: the field's
    /// (counting it as seen), or the map's value shape. `None` when the key already appeared in
    /// this sample: a repeated key, which `Value` resolves to its last value (the map's value
    /// shape takes repeats without noticing).
    pub(crate) fn field_slot(&mut self, key: &str, sample: u64) -> Option<&mut Shape> {
        if self.map.is_some() {
            return self.map.as_deref_mut();
        }
        match self.fields.find(key) {
            Ok(i) => {
                let entry = self.fields.entry_mut(i);
                if entry.last == sample {
                    return None;
                }
                entry.last = sample;
                entry.seen = entry.seen.saturating_add(1);
                Some(&mut entry.shape)
            }
            Err(at) if self.fields.len() < MAP_KEY_LIMIT => {
                let entry = FieldEntry {
                    seen: 1,
                    shape: Shape::empty(),
                    last: sample,
                };
                let i = self.fields.push(key, at, entry);
                Some(&mut self.fields.entry_mut(i).shape)
            }
            Err(_) => {
                // One key too many: fold (the new key's shape is still empty, so folding before
                // it is added is the same as after).
                self.fold_into_map();
                self.map.as_deref_mut()
            }
        }
    }

    /// The shape of all samples of `self` and `other` together.
    pub fn merge(&self, other: &Shape) -> Shape {
        let mut out = self.clone();
        out.merge_from(other.clone());
        out
    }

    /// Merges `other` into `self` in place, leaving exactly `self.merge(&other)`. Costs `other`'s
    /// keys (each looked up here), never a walk over `self`'s, so folding a million array items
    /// into one shape stays linear in what was seen.
    pub fn merge_from(&mut self, other: Shape) {
        let Shape {
            types,
            formats,
            objects,
            fields,
            map,
            items,
        } = other;
        self.types.union(types);
        self.formats.0 |= formats.0;
        self.objects = self.objects.saturating_add(objects);
        if self.map.is_some() || map.is_some() {
            // A map on either side makes the result a map: every value of both sides merges
            // into the one value shape.
            let value = self.map.get_or_insert_with(|| Box::new(Shape::empty()));
            for f in self.fields.take_entries() {
                value.merge_from(f.entry.shape);
            }
            if let Some(m) = map {
                value.merge_from(*m);
            }
            for f in fields.entries {
                value.merge_from(f.entry.shape);
            }
        } else {
            let Fields { names, entries, .. } = fields;
            for f in entries {
                self.fields.merge_entry(&names[f.start..f.end], f.entry);
            }
            self.fold_if_too_many_keys();
        }
        match (&mut self.items, items) {
            (Some(a), Some(b)) => a.merge_from(*b),
            (None, Some(b)) => self.items = Some(b),
            (_, None) => {}
        }
    }

    /// Folds the named fields into a map shape once there are more than [`MAP_KEY_LIMIT`].
    fn fold_if_too_many_keys(&mut self) {
        if self.fields.len() > MAP_KEY_LIMIT {
            self.fold_into_map();
        }
    }

    /// Makes the node a map: every named field's shape merges into the map's value shape.
    fn fold_into_map(&mut self) {
        let value = self.map.get_or_insert_with(|| Box::new(Shape::empty()));
        for f in self.fields.take_entries() {
            value.merge_from(f.entry.shape);
        }
    }

    /// True when the node's keys vary so much that it is compared as a map (see
    /// [`MAP_KEY_LIMIT`]).
    pub fn is_map(&self) -> bool {
        self.map.is_some()
    }

    /// Every node (object, array, leaf) by path: `$`, `$.a.b`, `$.data[]`, `$['odd key']`, and
    /// `$.by_id{}` for the values of a map. Array items never seen (only empty arrays) have no
    /// entry.
    pub fn flatten(&self) -> BTreeMap<String, FieldShape> {
        let mut out = BTreeMap::new();
        self.flatten_into(String::from("$"), true, &mut out);
        out
    }

    fn flatten_into(&self, path: String, required: bool, out: &mut BTreeMap<String, FieldShape>) {
        if self.is_empty() {
            return;
        }
        for (key, entry) in self.fields.iter() {
            let mut child = path.clone();
            push_key(&mut child, key);
            entry
                .shape
                .flatten_into(child, entry.seen >= self.objects, out);
        }
        if let Some(map) = &self.map {
            // Every key of a map has a value: the value shape is required.
            map.flatten_into(format!("{path}{MAP_VALUES}"), true, out);
        }
        if let Some(items) = &self.items {
            items.flatten_into(format!("{path}[]"), true, out);
        }
        out.insert(path, self.descriptor(required));
    }

    fn descriptor(&self, required: bool) -> FieldShape {
        // Canonical already when built by `infer`/`merge`; a deserialised shape may not be.
        let mut types: BTreeSet<JsonType> = self.types.iter().collect();
        absorb_integer(&mut types);
        FieldShape {
            types,
            format: self.formats.only(),
            required,
        }
    }

    /// The flattened map as a JSON object (sorted keys): the `shape` of a schema observation.
    pub fn to_body(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .flatten()
            .into_iter()
            .map(|(path, field)| (path, field_to_json(&field)))
            .collect();
        serde_json::Value::Object(map)
    }
}

/// A descriptor as JSON; it has no maps with non-string keys, so this cannot fail.
pub(crate) fn field_to_json(field: &FieldShape) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    if let Some(format) = field.format {
        map.insert("format".into(), format.as_str().into());
    }
    map.insert("required".into(), field.required.into());
    let types = field.types.iter().map(|t| t.as_str().into()).collect();
    map.insert("types".into(), serde_json::Value::Array(types));
    serde_json::Value::Object(map)
}

#[cfg(test)]
#[path = "shape_tests.rs"]
pub(crate) mod tests;
