//! Infers a shape while deserialising JSON, without building a `serde_json::Value`: the result
//! is exactly `infer(&serde_json::from_slice(bytes)?)`, errors included, with one exception: in
//! a node that became a map (its keys, over all its object samples, grew past
//! `MAP_KEY_LIMIT`) a repeated key's earlier value has already merged into the map's value
//! shape, where `Value` keeps only the last (RFC 8259 leaves repeated names undefined; keeping
//! every key to undo that would cost the memory the map limit saves). Knows nothing about HTTP
//! or where the bytes came from.
//!
//! Every sample accumulates straight into the shape of its node (array items into the one item
//! shape, an object's values into its fields' shapes), so inference allocates only for keys
//! and nodes it has not seen before; keys are compared where serde_json borrows them.

use super::{JsonType, MAX_DEPTH, Segment, Shape, ShapeError, infer, too_deep};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Why bytes have no shape.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// Not JSON; the message is serde_json's, as `from_slice` reports it.
    #[error(transparent)]
    Json(serde_json::Error),
    /// JSON, but nested deeper than [`MAX_DEPTH`].
    #[error(transparent)]
    Shape(#[from] ShapeError),
}

/// The shape of one JSON document, inferred while it is parsed. Same result as parsing to a
/// `Value` and calling [`super::infer`], at a fraction of the allocations.
pub fn infer_slice(bytes: &[u8]) -> Result<Shape, InferError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut walk = Walk::default();
    match infer_with(&mut de, &mut walk) {
        Err(_) if walk.repeated => {
            // A key repeated within one object: `Value` keeps its last value only, which an
            // in-place accumulation cannot undo. Rare; answer exactly as parse + `infer`.
            let value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(InferError::Json)?;
            Ok(infer(&value)?)
        }
        Err(e) => Err(e),
        Ok(shape) => {
            de.end().map_err(InferError::Json)?;
            Ok(shape)
        }
    }
}

/// The shape of the next value of any JSON deserializer (also `&serde_json::Value`, whose
/// recursion serde_json does not bound, so the depth limit is checked here too). A key repeated
/// within one object is an error here; [`infer_slice`] handles it.
#[cfg(test)]
pub(crate) fn infer_from<'de, D>(de: D) -> Result<Shape, InferError>
where
    D: Deserializer<'de, Error = serde_json::Error>,
{
    infer_with(de, &mut Walk::default())
}

fn infer_with<'de, D>(de: D, walk: &mut Walk) -> Result<Shape, InferError>
where
    D: Deserializer<'de, Error = serde_json::Error>,
{
    let mut shape = Shape::empty();
    let r = Node {
        into: &mut shape,
        walk,
        depth: 0,
    }
    .deserialize(de);
    match r {
        Ok(()) => Ok(shape),
        Err(e) => match walk.deep.take() {
            Some(deep) => Err(deep.into()),
            None => Err(InferError::Json(e)),
        },
    }
}

/// State shared by every node of one document.
#[derive(Default)]
struct Walk {
    /// What each depth's container is reading: its path segment, so that a depth error can
    /// name its path without a path being built on the way there.
    levels: Vec<Level>,
    /// Set when the depth limit was hit.
    deep: Option<ShapeError>,
    /// Set when a key repeated within one object.
    repeated: bool,
}

/// The container at one depth: an object reading `key` (copied into a buffer reused for every
/// key at this depth) or an array.
#[derive(Default)]
struct Level {
    object: bool,
    key: String,
}

impl Walk {
    /// The level of a container at `depth`, made an array's or an object's.
    fn enter(&mut self, depth: usize, object: bool) {
        if self.levels.len() <= depth {
            self.levels.resize_with(depth + 1, Level::default);
        }
        self.levels[depth].object = object;
    }

    fn too_deep<E: de::Error>(&mut self, depth: usize) -> E {
        let path = self.levels[..depth].iter().map(|l| {
            if l.object {
                Segment::Key(&l.key)
            } else {
                Segment::Items
            }
        });
        self.deep = Some(too_deep(path));
        E::custom("json nested too deeply")
    }
}

/// One sample of the node `into`, at `depth` containers below the root.
struct Node<'a, 'w> {
    into: &'a mut Shape,
    walk: &'w mut Walk,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = ();

    // The same words as serde_json's own `Value` visitor, so type errors read the same.
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.into.add_type(JsonType::Boolean);
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.into.add_type(JsonType::Integer);
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.into.add_type(JsonType::Integer);
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // `Value` turns a non-finite float into null.
        self.into.add_type(if v.is_finite() {
            JsonType::Number
        } else {
            JsonType::Null
        });
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.into.add_string(v);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.into.add_type(JsonType::Null);
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        self.into.add_type(JsonType::Null);
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Node { into, walk, depth } = self;
        if depth >= MAX_DEPTH {
            return Err(walk.too_deep(depth));
        }
        walk.enter(depth, false);
        let items = into.add_array();
        while seq
            .next_element_seed(Node {
                into: &mut *items,
                walk: &mut *walk,
                depth: depth + 1,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Node { into, walk, depth } = self;
        if depth >= MAX_DEPTH {
            return Err(walk.too_deep(depth));
        }
        walk.enter(depth, true);
        if map
            .next_key_seed(Key(&mut walk.levels[depth].key))?
            .is_none()
        {
            into.add_object();
            return Ok(());
        }
        // serde_json's `Value` reads an object whose first key is its raw-value token as the
        // JSON text in that member's string; follow it so both paths agree on every input.
        if walk.levels[depth].key == RAW_VALUE_TOKEN {
            let text = map.next_value_seed(RawText)?;
            let shape = infer_slice(text.as_bytes()).map_err(de::Error::custom)?;
            into.merge_from(shape);
            return Ok(());
        }
        let sample = into.add_object();
        loop {
            let key = walk.levels[depth].key.as_str();
            // Past `MAP_KEY_LIMIT` keys this is the map's value shape, so memory stays bounded
            // however many keys the object has.
            let Some(slot) = into.field_slot(key, sample) else {
                walk.repeated = true;
                return Err(de::Error::custom("repeated key"));
            };
            map.next_value_seed(Node {
                into: slot,
                walk: &mut *walk,
                depth: depth + 1,
            })?;
            if map
                .next_key_seed(Key(&mut walk.levels[depth].key))?
                .is_none()
            {
                return Ok(());
            }
        }
    }
}

/// Reads one key into its level's buffer.
struct Key<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for Key<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.clear();
        self.0.push_str(v);
        Ok(())
    }
}

/// `serde_json::raw::TOKEN`, which serde_json does not export.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A string member read the way serde_json's raw-value seed reads it (same expectation text).
struct RawText;

impl<'de> DeserializeSeed<'de> for RawText {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<String, D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for RawText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("raw value")
    }

    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
}
