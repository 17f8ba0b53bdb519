//! Field-level requirements (`endpoints[].requires_fields`): a field the provider leaves out
//! by design for a scope set lacking its scopes (`/me` returns `email` only with scope
//! `email`) explains a partial answer. Pure: works on classified cells only.

use super::{Cell, CellClass, is_ancestor};
use std::collections::BTreeMap;

/// Moves every missing path of a `partial` cell that a field requirement explains into
/// `fields_withheld`; a cell whose every missing path is explained (and that misses no array
/// items) becomes `granted`. A path is explained when it is a required field or lies below
/// one, and the cell's scope set lacks at least one of that field's scopes. A field missing
/// under a scope set that holds all its scopes stays `partial`. Cells of scope sets the suite
/// does not name are left alone.
pub fn apply_field_requirements(
    cells: &mut BTreeMap<String, Cell>,
    requires_fields: &BTreeMap<String, Vec<String>>,
    scope_sets: &BTreeMap<String, Vec<String>>,
) {
    if requires_fields.is_empty() {
        return;
    }
    for (set, cell) in cells.iter_mut() {
        if cell.class != CellClass::Partial {
            continue;
        }
        let Some(scopes) = scope_sets.get(set) else {
            continue;
        };
        let withheld_by_design = |path: &str| {
            requires_fields.iter().any(|(field, needs)| {
                (field == path || is_ancestor(field, path))
                    && needs.iter().any(|scope| !scopes.contains(scope))
            })
        };
        let (withheld, rest): (Vec<String>, Vec<String>) = std::mem::take(&mut cell.missing_paths)
            .into_iter()
            .partition(|p| withheld_by_design(p));
        cell.missing_paths = rest;
        cell.fields_withheld = withheld;
        if cell.missing_paths.is_empty() && cell.missing_items.is_none() {
            cell.class = CellClass::Granted;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn partial(missing: &[&str]) -> Cell {
        Cell {
            missing_paths: missing.iter().map(|p| (*p).to_owned()).collect(),
            class: CellClass::Partial,
            status: Some(200),
            ..Cell::not_probed()
        }
    }

    fn sets() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([
            ("profile".to_owned(), vec!["profile".to_owned()]),
            (
                "profile-email".to_owned(),
                vec!["profile".to_owned(), "email".to_owned()],
            ),
        ])
    }

    fn fields() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([("$.email".to_owned(), vec!["email".to_owned()])])
    }

    #[test]
    fn requires_fields_withheld_field_is_granted_without_the_scope() {
        let mut cells = BTreeMap::from([("profile".to_owned(), partial(&["$.email"]))]);
        apply_field_requirements(&mut cells, &fields(), &sets());
        assert_eq!(
            cells["profile"].to_json(),
            json!({"class": "granted", "status": 200, "fields_withheld": ["$.email"]})
        );
    }

    #[test]
    fn requires_fields_missing_with_the_scope_stays_partial() {
        let mut cells = BTreeMap::from([("profile-email".to_owned(), partial(&["$.email"]))]);
        apply_field_requirements(&mut cells, &fields(), &sets());
        assert_eq!(
            cells["profile-email"].to_json(),
            json!({"class": "partial", "status": 200, "missing_paths": ["$.email"]})
        );
    }

    #[test]
    fn requires_fields_explains_only_its_own_paths_and_items_keep_a_cell_partial() {
        let mut cells = BTreeMap::from([
            ("profile".to_owned(), partial(&["$.email", "$.phone"])),
            ("unnamed".to_owned(), partial(&["$.email"])),
        ]);
        let mut by_items = partial(&["$.email.verified"]);
        by_items.missing_items = Some((1, 3));
        cells.insert("profile-items".to_owned(), by_items);
        let mut sets = sets();
        sets.insert("profile-items".to_owned(), vec!["profile".to_owned()]);
        apply_field_requirements(&mut cells, &fields(), &sets);
        assert_eq!(
            cells["profile"].to_json(),
            json!({"class": "partial", "status": 200, "missing_paths": ["$.phone"],
                   "fields_withheld": ["$.email"]})
        );
        // A path below a required field is explained by it; items still make it partial.
        assert_eq!(
            cells["profile-items"].to_json(),
            json!({"class": "partial", "status": 200, "missing_items": [1, 3],
                   "fields_withheld": ["$.email.verified"]})
        );
        // A scope set the suite does not name is not judged.
        assert_eq!(cells["unnamed"].class, CellClass::Partial);
        assert_eq!(cells["unnamed"].fields_withheld, Vec::<String>::new());
    }
}
