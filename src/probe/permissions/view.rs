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
    // Fields `requires_fields` explains: left out by design for this scope set.
    let withheld = (!cell.fields_withheld.is_empty())
        .then(|| format!("withheld by design: {}", cell.fields_withheld.join(", ")));
    let with_withheld = |text: String| match &withheld {
        Some(w) => format!("{text}; {w}"),
        None => text,
    };
    if !cell.missing_paths.is_empty() {
        return Some(with_withheld(format!(
            "missing fields: {}",
            cell.missing_paths.join(", ")
        )));
    }
    if let Some((seen, reference)) = cell.missing_items {
        return Some(with_withheld(format!("{seen} of {reference} items")));
    }
    if withheld.is_some() {
        return withheld;
    }
    match (&cell.signal, &cell.error_code) {
        (Some(s), Some(c)) => Some(format!("{s} ({c})")),
        (s, c) => s.clone().or_else(|| c.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requires_fields_withheld_fields_are_named_in_the_cell_detail() {
        let body = json!({
            "cells": {
                "profile": {"class": "granted", "status": 200, "fields_withheld": ["$.email"]},
                "basic": {"class": "partial", "status": 200, "missing_paths": ["$.phone"],
                          "fields_withheld": ["$.email"]},
                "full": {"class": "granted", "status": 200},
            },
            "downscoping": "not-needed",
            "reference": "full",
        });
        let v = view(&body).expect("readable");
        let details: Vec<(&str, &str, Option<&str>)> = v
            .cells
            .iter()
            .map(|(set, c)| (set.as_str(), c.class, c.detail.as_deref()))
            .collect();
        assert_eq!(
            details,
            [
                (
                    "basic",
                    "partial",
                    Some("missing fields: $.phone; withheld by design: $.email")
                ),
                ("full", "granted", None),
                ("profile", "granted", Some("withheld by design: $.email")),
            ]
        );
    }
}
