//! Side-by-side line diff of a drift's before/after evidence, as rows the
//! template lays out in a two-column table. Knows nothing about HTML.

use serde::Serialize;
use similar::{DiffTag, TextDiff};

/// One row of the side-by-side table; a side is `None` where the line exists on the other only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DiffRow {
    /// `equal`, `delete`, `insert` or `replace`.
    pub tag: &'static str,
    pub left_no: Option<usize>,
    pub left: Option<String>,
    pub right_no: Option<usize>,
    pub right: Option<String>,
}

/// Rows of a line diff between `before` and `after` (replaced lines are paired up).
pub(crate) fn side_by_side(before: &str, after: &str) -> Vec<DiffRow> {
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    let diff = TextDiff::from_slices(&old, &new);
    let mut rows = Vec::new();
    for op in diff.ops() {
        let (tag, o, n) = op.as_tag_tuple();
        let name = match tag {
            DiffTag::Equal => "equal",
            DiffTag::Delete => "delete",
            DiffTag::Insert => "insert",
            DiffTag::Replace => "replace",
        };
        let len = o.len().max(n.len());
        for i in 0..len {
            let l = o.start + i;
            let r = n.start + i;
            let left = (i < o.len()).then(|| old[l].to_string());
            let right = (i < n.len()).then(|| new[r].to_string());
            rows.push(DiffRow {
                tag: match (&left, &right) {
                    (Some(_), None) => "delete",
                    (None, Some(_)) => "insert",
                    _ => name,
                },
                left_no: left.is_some().then_some(l + 1),
                left,
                right_no: right.is_some().then_some(r + 1),
                right,
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tag: &'static str, l: Option<(usize, &str)>, r: Option<(usize, &str)>) -> DiffRow {
        DiffRow {
            tag,
            left_no: l.map(|x| x.0),
            left: l.map(|x| x.1.to_string()),
            right_no: r.map(|x| x.0),
            right: r.map(|x| x.1.to_string()),
        }
    }

    #[test]
    fn replaced_lines_pair_up_and_extra_lines_stand_alone() {
        let rows = side_by_side(
            "{\n  \"a\": 1,\n  \"b\": 2\n}",
            "{\n  \"a\": \"1\",\n  \"c\": 3,\n  \"d\": 4\n}",
        );
        assert_eq!(
            rows,
            vec![
                row("equal", Some((1, "{")), Some((1, "{"))),
                row(
                    "replace",
                    Some((2, "  \"a\": 1,")),
                    Some((2, "  \"a\": \"1\","))
                ),
                row("replace", Some((3, "  \"b\": 2")), Some((3, "  \"c\": 3,"))),
                row("insert", None, Some((4, "  \"d\": 4"))),
                row("equal", Some((4, "}")), Some((5, "}"))),
            ]
        );
    }

    #[test]
    fn a_missing_side_is_all_inserts() {
        let rows = side_by_side("", "\"x\"");
        assert_eq!(rows, vec![row("insert", None, Some((1, "\"x\"")))]);
    }
}
