//! What the HTML report shows of a schema observation: the typed body read once.

use super::body::SchemaBody;
use crate::probe::body::ObservationBody;
use crate::probe::shape::FieldShape;
use serde::Deserialize;
use serde_json::Value;

/// The schema body the report shows; `None` when it cannot be read (the diff reports that as
/// `schema.observation-unreadable`).
pub fn view(body: &Value) -> Option<SchemaBody> {
    SchemaBody::parse(body).ok()
}

/// A shape descriptor (from a body or a drift's evidence) as the report shows it; `None` when
/// it cannot be read (the diff reports that at its path).
pub fn descriptor(v: &Value) -> Option<FieldShape> {
    FieldShape::deserialize(v).ok()
}

impl SchemaBody {
    /// Each path of the merged shape with its descriptor, `None` where it cannot be read.
    pub fn descriptors(&self) -> impl Iterator<Item = (&String, Option<FieldShape>)> {
        self.shape.iter().map(|(p, v)| (p, descriptor(v)))
    }
}
