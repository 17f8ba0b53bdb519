//! The schema observation's typed body: each connection's answer and the merged shape,
//! flattened to one descriptor per JSON path (`$.data[].amount`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One endpoint's schema observation. Serialises to exactly the snapshot JSON
/// (`{"responses": {…}, "shape": {…}}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SchemaBody {
    /// Each connection's answer, by connection name.
    #[serde(default)]
    pub responses: BTreeMap<String, Response>,
    /// The merged shape's descriptors by path, as written by `Shape::to_body`. Each is read
    /// on its own when diffing, so one unreadable descriptor is reported at its path while the
    /// others are still compared.
    #[serde(default)]
    pub shape: BTreeMap<String, Value>,
}

/// One connection's answer to the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub status: u16,
    /// Media type without parameters, lowercased; `null` when the answer had none.
    pub content_type: Option<String>,
}

impl SchemaBody {
    /// The body of `responses` and a shape as `Shape::to_body` writes it (an object; anything
    /// else leaves the shape empty).
    pub fn of(responses: BTreeMap<String, Response>, shape: Value) -> SchemaBody {
        let shape = match shape {
            Value::Object(map) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        SchemaBody { responses, shape }
    }
}
