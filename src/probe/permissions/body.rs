//! The permissions observation body of one endpoint: the scope set × endpoint cells, how
//! down-scoping on refresh behaved, and which scope set was the reference. Its serde form is
//! the snapshot JSON (fields by name; `reference` is `null` when there was none).

use super::Cell;
use crate::baseline::emit::Emitter;
use crate::probe::body::ObservationBody;
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One endpoint's permissions observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionsBody {
    /// Cells by scope set name.
    pub cells: BTreeMap<String, CellEntry>,
    /// `honoured`, `ignored`, `unknown`, `not-probed`, …; absent in a hand-trimmed baseline.
    #[serde(default)]
    pub downscoping: Option<String>,
    /// The scope set whose answer was the reference.
    #[serde(default)]
    pub reference: Option<String>,
}

/// A stored cell: readable, or kept as written so one bad cell does not hide the others (the
/// diff reports it as `permission.observation-unreadable` for that scope set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CellEntry {
    Cell(Cell),
    Unreadable(Value),
}

impl CellEntry {
    /// The cell, when it could be read.
    pub fn cell(&self) -> Option<&Cell> {
        match self {
            CellEntry::Cell(c) => Some(c),
            CellEntry::Unreadable(_) => None,
        }
    }
}

impl ObservationBody for PermissionsBody {
    const NAME: &'static str = "permissions";
    const UNREADABLE: Rule = Rule::PermissionObservationUnreadable;

    fn diff(em: &mut Emitter<'_>, before: &Self, after: &Self) {
        super::diff::diff_permissions(em, before, after);
    }
}
