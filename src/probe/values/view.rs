//! What the HTML report shows of a values observation: the typed body read once.

use super::body::ValuesBody;
use crate::probe::body::ObservationBody;
use serde_json::Value;

/// The values body the report tabulates; `None` when it cannot be read (the diff reports that
/// as `values.observation-unreadable`).
pub fn view(body: &Value) -> Option<ValuesBody> {
    ValuesBody::parse(body).ok()
}
