//! The deprecation observation body of one endpoint. Its serde form is the snapshot JSON:
//! `{"deprecated": null|"true"|"<RFC3339>", "links": [{"rel", "uri"}…], "sunset":
//! null|"<RFC3339>", "vendor": {name: value | [values…]}, "warnings": [...]}`; a member a
//! hand-trimmed baseline lacks reads as empty.

use crate::baseline::emit::Emitter;
use crate::probe::body::{Merged, ObservationBody};
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One endpoint's deprecation signals, merged over connections.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeprecationBody {
    /// `"true"` (no date) or the RFC 3339 deprecation date; `null` when not deprecated.
    #[serde(default)]
    pub deprecated: Option<String>,
    /// `Link` members with a deprecation relation, sorted.
    #[serde(default)]
    pub links: Vec<DeprecationLink>,
    /// The RFC 3339 sunset date; `null` when none was announced.
    #[serde(default)]
    pub sunset: Option<String>,
    /// Vendor deprecation headers by name: one value, or the sorted values connections saw.
    #[serde(default)]
    pub vendor: BTreeMap<String, Merged<String>>,
    /// `Warning: 299` texts, sorted.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One deprecation link.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeprecationLink {
    pub rel: String,
    pub uri: String,
}

impl ObservationBody for DeprecationBody {
    const NAME: &'static str = "deprecation";
    const UNREADABLE: Rule = Rule::DeprecationObservationUnreadable;

    fn diff(em: &mut Emitter<'_>, before: &Self, after: &Self) {
        super::diff::diff_deprecation(em, before, after);
    }
}
