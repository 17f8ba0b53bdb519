//! What the HTML report shows of a schema observation: the typed body read once.

use super::body::SchemaBody;
use crate::probe::body::ObservationBody;
use serde_json::Value;

/// The schema body the report shows; `None` when it cannot be read (the diff reports that as
/// `schema.observation-unreadable`).
pub fn view(body: &Value) -> Option<SchemaBody> {
    SchemaBody::parse(body).ok()
}
