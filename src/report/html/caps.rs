//! How much of a run the HTML page shows: every list and text has a cap, so the page stays
//! under [`MAX_PAGE_BYTES`] and renders in well under a second whatever the run holds.
//! What a cap leaves out is counted on the page and stays complete in `run.json`.

/// The page budget; a page over it is rendered again with [`Caps::TIGHT`].
pub(crate) const MAX_PAGE_BYTES: usize = 10_000_000;

/// Caps of one rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caps {
    /// Drift groups (cards) shown; so many finding groups too.
    pub groups: usize,
    /// Cards, from the top, that carry their evidence diff.
    pub evidence: usize,
    /// Lines of each side of a shown evidence diff.
    pub evidence_lines: usize,
    /// Subjects listed by name on a card.
    pub subjects: usize,
    /// Exchanges linked (and embedded) per card or connection row.
    pub exchanges: usize,
    /// Exchanges embedded in the whole page (cards first, most urgent first).
    pub embedded: usize,
    /// Bytes of an embedded exchange's request or response body.
    pub body_bytes: usize,
    /// Rows of a plain table (connections, refresh, errors, pending, deprecations, …).
    pub rows: usize,
    /// Tables of one kind (permission matrices, value tables, schema trees).
    pub tables: usize,
    /// Rows of one permission matrix or value table, and fields of one schema tree.
    pub table_rows: usize,
    /// Columns of a matrix or value table (scope sets, metrics).
    pub columns: usize,
    /// Cells of all permission matrices together, and of all value tables together.
    pub cells: usize,
    /// Fields of all schema trees together.
    pub nodes: usize,
    /// Characters of one free text shown once per card or row (message, error).
    pub text: usize,
    /// Characters of a text that repeats many times (cell detail, field path, header,
    /// subject in a list, scope set).
    pub short: usize,
}

impl Caps {
    pub const DEFAULT: Caps = Caps {
        groups: 100,
        evidence: 30,
        evidence_lines: 200,
        subjects: 10,
        exchanges: 2,
        embedded: 100,
        body_bytes: 4096,
        rows: 200,
        tables: 50,
        table_rows: 200,
        columns: 30,
        cells: 5_000,
        nodes: 3_000,
        text: 2_000,
        short: 200,
    };

    /// The fallback when a page at [`Caps::DEFAULT`] is still over budget (only runs with
    /// very long texts everywhere get here).
    pub const TIGHT: Caps = Caps {
        groups: 20,
        evidence: 5,
        evidence_lines: 40,
        subjects: 3,
        exchanges: 1,
        embedded: 10,
        body_bytes: 512,
        rows: 20,
        tables: 5,
        table_rows: 20,
        columns: 10,
        cells: 200,
        nodes: 100,
        text: 200,
        short: 80,
    };
}

/// Indices of at most `n` of `len` items: every item when they fit, else the `n` with the
/// highest `priority` (ties in input order), returned in input order.
pub(crate) fn pick<P: Ord>(len: usize, n: usize, priority: impl Fn(usize) -> P) -> Vec<usize> {
    if len <= n {
        return (0..len).collect();
    }
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(priority(i)));
    order.truncate(n);
    order.sort_unstable();
    order
}

/// The items of `all` at the (ascending) indices `shown`.
pub(crate) fn keep<T>(all: Vec<T>, shown: &[usize]) -> Vec<T> {
    let mut next = shown.iter().peekable();
    all.into_iter()
        .enumerate()
        .filter_map(|(i, x)| {
            if next.peek() == Some(&&i) {
                next.next();
                Some(x)
            } else {
                None
            }
        })
        .collect()
}

/// `s` cut to `max` characters, with an ellipsis and the count of what was cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!(
            "{}… ({} more characters)",
            &s[..at],
            s[at..].chars().count()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_keeps_everything_that_fits_else_the_most_important_in_order() {
        assert_eq!(pick(3, 5, |i| i), [0, 1, 2]);
        let urgent = [false, true, false, true, true, false];
        assert_eq!(pick(6, 2, |i| urgent[i]), [1, 3]);
        assert_eq!(pick(6, 4, |i| urgent[i]), [0, 1, 3, 4]);
    }

    #[test]
    fn clip_cuts_on_a_char_boundary_and_counts() {
        assert_eq!(clip("short", 5), "short");
        assert_eq!(clip("éééé", 2), "éé… (2 more characters)");
    }
}
