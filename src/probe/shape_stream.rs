//! Infers a shape while deserialising JSON, without building a `serde_json::Value`: the result
//! is exactly `infer(&serde_json::from_slice(bytes)?)`, errors included, with one exception: in
//! an object past `MAP_KEY_LIMIT` keys a repeated key's earlier value has already merged into
//! the map's value shape, where `Value` keeps only the last (RFC 8259 leaves repeated names
//! undefined; keeping every key to undo that would cost the memory the map limit saves). Knows
//! nothing about HTTP or where the bytes came from.

use super::{JsonType, MAX_DEPTH, Shape, ShapeError, StringFormat, push_key};
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
/// `Value` and calling [`super::infer`], at a fraction of the allocations: array items merge into
/// one shape in place instead of being kept.
pub fn infer_slice(bytes: &[u8]) -> Result<Shape, InferError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let shape = infer_from(&mut de)?;
    de.end().map_err(InferError::Json)?;
    Ok(shape)
}

/// The shape of the next value of any JSON deserializer (also `&serde_json::Value`, whose
/// recursion serde_json does not bound, so the depth limit is checked here too).
pub(crate) fn infer_from<'de, D>(de: D) -> Result<Shape, InferError>
where
    D: Deserializer<'de, Error = serde_json::Error>,
{
    let mut deep = None;
    match (Node {
        depth: 0,
        deep: &mut deep,
    })
    .deserialize(de)
    {
        Ok(shape) => Ok(shape),
        Err(e) => match deep {
            // Segments were collected innermost first while the error unwound.
            Some(segments) => {
                let mut path = String::from("$");
                segments.iter().rev().for_each(|s| path.push_str(s));
                Err(ShapeError::TooDeep {
                    max: MAX_DEPTH,
                    path,
                }
                .into())
            }
            None => Err(InferError::Json(e)),
        },
    }
}

/// One node at `depth`. `deep` becomes `Some` when the depth limit was hit; each container then
/// adds its path segment on the way out, so the happy path never builds a path.
struct Node<'a> {
    depth: usize,
    deep: &'a mut Option<Vec<String>>,
}

impl Node<'_> {
    fn too_deep<E: de::Error>(self) -> Result<Shape, E> {
        *self.deep = Some(Vec::new());
        Err(E::custom("json nested too deeply"))
    }

    fn child(&mut self) -> Node<'_> {
        Node {
            depth: self.depth + 1,
            deep: self.deep,
        }
    }
}

/// Adds `segment` to the path of a depth error unwinding through this container.
fn on_the_way_out<T, E>(
    deep: &mut Option<Vec<String>>,
    r: Result<T, E>,
    segment: impl FnOnce() -> String,
) -> Result<T, E> {
    if r.is_err()
        && let Some(segments) = deep
    {
        segments.push(segment());
    }
    r
}

fn leaf(t: JsonType) -> Shape {
    let mut shape = Shape::empty();
    shape.types.insert(t);
    shape
}

fn string(s: &str) -> Shape {
    let mut shape = leaf(JsonType::String);
    shape.formats.insert(StringFormat::detect(s));
    shape
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Shape;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Shape, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Shape;

    // The same words as serde_json's own `Value` visitor, so type errors read the same.
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(leaf(JsonType::Boolean))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(leaf(JsonType::Integer))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(leaf(JsonType::Integer))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Shape, E> {
        // `Value` turns a non-finite float into null.
        Ok(leaf(if v.is_finite() {
            JsonType::Number
        } else {
            JsonType::Null
        }))
    }

    fn visit_str<E>(self, v: &str) -> Result<Shape, E> {
        Ok(string(v))
    }

    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(leaf(JsonType::Null))
    }

    fn visit_none<E>(self) -> Result<Shape, E> {
        Ok(leaf(JsonType::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Shape, D::Error> {
        de.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Shape, A::Error> {
        if self.depth >= MAX_DEPTH {
            return self.too_deep();
        }
        let mut items = Shape::empty();
        loop {
            let next = seq.next_element_seed(self.child());
            match on_the_way_out(self.deep, next, || "[]".to_owned())? {
                Some(item) => items.merge_from(item),
                None => break,
            }
        }
        let mut shape = leaf(JsonType::Array);
        shape.items = Some(Box::new(items));
        Ok(shape)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Shape, A::Error> {
        if self.depth >= MAX_DEPTH {
            return self.too_deep();
        }
        let mut shape = leaf(JsonType::Object);
        shape.objects = 1;
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            // serde_json's `Value` reads an object whose first key is its raw-value token as the
            // JSON text in that member's string; follow it so both paths agree on every input.
            if first && key == RAW_VALUE_TOKEN {
                let text = map.next_value_seed(RawText)?;
                return infer_slice(text.as_bytes()).map_err(de::Error::custom);
            }
            first = false;
            let value = map.next_value_seed(self.child());
            let child = on_the_way_out(self.deep, value, || {
                let mut segment = String::new();
                push_key(&mut segment, &key);
                segment
            })?;
            // Past `MAP_KEY_LIMIT` keys this merges into the map's value shape, so memory stays
            // bounded however many keys the object has.
            shape.add_field(key, child);
        }
        Ok(shape)
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
