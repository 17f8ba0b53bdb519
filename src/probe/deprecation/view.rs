//! What the HTML report shows of a deprecation observation: the typed body read once.

use super::body::DeprecationBody;
use crate::probe::body::{Merged, ObservationBody};
use serde_json::Value;

/// One endpoint's deprecation signals as the timeline shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprecationSignals {
    /// `"true"` or an RFC 3339 date.
    pub deprecated: Option<String>,
    /// An RFC 3339 date.
    pub sunset: Option<String>,
    /// `Warning: 299` texts.
    pub warnings: Vec<String>,
    /// Vendor headers as `(name, value)`; values connections disagree on as a JSON list.
    pub vendor: Vec<(String, String)>,
}

/// The view of a deprecation observation body; `None` when it cannot be read (the diff
/// reports that as `deprecation.observation-unreadable`).
pub fn view(body: &Value) -> Option<DeprecationSignals> {
    let b = DeprecationBody::parse(body).ok()?;
    Some(DeprecationSignals {
        deprecated: b.deprecated,
        sunset: b.sunset,
        warnings: b.warnings,
        vendor: b
            .vendor
            .into_iter()
            .map(|(name, v)| {
                let shown = match v {
                    Merged::One(s) => s,
                    many => serde_json::to_string(&many).unwrap_or_default(),
                };
                (name, shown)
            })
            .collect(),
    })
}
