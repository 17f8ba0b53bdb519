//! The values observation body of one endpoint. Its serde form is the snapshot JSON:
//! `{"complete_flag": {connection: bool}, "connections": {connection: {metric: class}},
//! "rules": {rule: [violating connections]}}`; a member a hand-trimmed baseline lacks reads as
//! empty.

use super::ValueClass;
use crate::baseline::emit::Emitter;
use crate::probe::body::ObservationBody;
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One endpoint's value classes per connection and metric.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ValuesBody {
    /// The API's own "data complete" flag per connection that sends one (a per-run finding,
    /// never compared).
    #[serde(default)]
    pub complete_flag: BTreeMap<String, bool>,
    /// Class of every tracked metric, per connection.
    #[serde(default)]
    pub connections: BTreeMap<String, BTreeMap<String, ValueClass>>,
    /// Declared rule → connections violating it.
    #[serde(default)]
    pub rules: BTreeMap<String, Vec<String>>,
}

impl ObservationBody for ValuesBody {
    const NAME: &'static str = "values";
    const UNREADABLE: Rule = Rule::ValuesObservationUnreadable;

    fn diff(em: &mut Emitter<'_>, before: &Self, after: &Self) {
        super::diff::diff_values(em, before, after);
    }
}
