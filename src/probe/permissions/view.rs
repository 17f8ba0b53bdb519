//! What the HTML report shows of a permissions observation: the typed body read once, each
//! cell as a class, a status and one line of detail.

use super::body::{CellEntry, PermissionsBody};
use super::{Cell, CellClass};
use crate::probe::body::ObservationBody;
use serde_json::Value;
use std::collections::BTreeMap;

/// One endpoint's row of the permission matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionsView {
    /// Cells by scope set.
    pub cells: BTreeMap<String, CellView>,
    pub reference: Option<String>,
    pub downscoping: Option<String>,
}

/// One cell as the matrix shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellView {
    /// `granted`, `partial`, `denied`, or `error` for anything else (also an unreadable cell).
    pub class: &'static str,
    pub status: Option<String>,
    /// What was missing, or how a denial was signalled.
    pub detail: Option<String>,
}

/// The view of a permissions observation body; `None` when it cannot be read (the diff
/// reports that as `permission.observation-unreadable`).
pub fn view(body: &Value) -> Option<PermissionsView> {
    let b = PermissionsBody::parse(body).ok()?;
    Some(PermissionsView {
        cells: b
            .cells
            .iter()
            .map(|(set, entry)| (set.clone(), cell_view(entry)))
            .collect(),
        reference: b.reference,
        downscoping: b.downscoping,
    })
}

fn cell_view(entry: &CellEntry) -> CellView {
    let Some(cell) = entry.cell() else {
        return CellView {
            class: "error",
            status: None,
            detail: None,
        };
    };
    let class = match cell.class {
        CellClass::Granted => "granted",
        CellClass::Partial => "partial",
        CellClass::Denied => "denied",
        CellClass::Error | CellClass::NotProbed => "error",
    };
    CellView {
        class,
        status: cell.status.map(|s| s.to_string()),
        detail: detail(cell),
    }
}

fn detail(cell: &Cell) -> Option<String> {
    if !cell.missing_paths.is_empty() {
        return Some(format!("missing fields: {}", cell.missing_paths.join(", ")));
    }
    if let Some((seen, reference)) = cell.missing_items {
        return Some(format!("{seen} of {reference} items"));
    }
    match (&cell.signal, &cell.error_code) {
        (Some(s), Some(c)) => Some(format!("{s} ({c})")),
        (s, c) => s.clone().or_else(|| c.clone()),
    }
}
