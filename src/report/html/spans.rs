//! Markdown code spans of messages (`` `like this` ``) as `<code>` in the HTML report: the
//! one piece of Markdown the messages use. Everything is HTML-escaped; no other Markdown
//! is interpreted. Knows nothing about runs.

use minijinja::HtmlEscape;
use std::collections::HashMap;
use std::fmt::Write;

/// `text` escaped for HTML, with each CommonMark code span (a run of n backticks up to the
/// next run of exactly n backticks) wrapped in `<code>`. A backtick run without its closing
/// run stays literal. Like CommonMark, one space is stripped from both ends of a span that
/// has a space on both ends and is not all spaces. Linear in the text.
pub(crate) fn code_spans(text: &str) -> String {
    let bytes = text.as_bytes();
    // Every backtick run as (start, length), in order.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let n = bytes[i..].iter().take_while(|b| **b == b'`').count();
            runs.push((i, n));
            i += n;
        } else {
            i += 1;
        }
    }
    // Per run length, the indices (into `runs`) of the runs of that length: a closer is
    // found by moving a cursor forward, so the whole text is scanned a bounded number of times.
    let mut by_len: HashMap<usize, (Vec<usize>, usize)> = HashMap::new();
    for (k, (_, n)) in runs.iter().enumerate() {
        by_len.entry(*n).or_default().0.push(k);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut plain_from = 0;
    let mut k = 0;
    while k < runs.len() {
        let (at, n) = runs[k];
        let (same, cursor) = by_len.get_mut(&n).expect("every run length is indexed");
        while *cursor < same.len() && same[*cursor] <= k {
            *cursor += 1;
        }
        let Some(&close) = same.get(*cursor) else {
            // No later run of this length: this one is literal text.
            k += 1;
            continue;
        };
        let (close_at, _) = runs[close];
        let _ = write!(out, "{}", HtmlEscape(&text[plain_from..at]));
        let mut inner = &text[at + n..close_at];
        if inner.len() >= 2
            && inner.starts_with(' ')
            && inner.ends_with(' ')
            && !inner.trim().is_empty()
        {
            inner = &inner[1..inner.len() - 1];
        }
        let _ = write!(out, "<code>{}</code>", HtmlEscape(inner));
        plain_from = close_at + n;
        k = close + 1;
    }
    let _ = write!(out, "{}", HtmlEscape(&text[plain_from..]));
    out
}

/// The template filter: `{{ message | spans }}`.
pub(crate) fn filter(text: &str) -> minijinja::Value {
    minijinja::Value::from_safe_string(code_spans(text))
}

#[cfg(test)]
mod tests {
    use super::code_spans;

    #[test]
    fn code_spans_become_code_and_everything_is_escaped() {
        assert_eq!(
            code_spans("field `$.data[].x` is <gone> & `a<b`"),
            "field <code>$.data[].x</code> is &lt;gone&gt; &amp; <code>a&lt;b</code>"
        );
    }

    #[test]
    fn unmatched_and_double_backticks_follow_commonmark() {
        assert_eq!(code_spans("a ` b"), "a ` b");
        assert_eq!(
            code_spans("``a ` b`` then `c`"),
            "<code>a ` b</code> then <code>c</code>"
        );
        assert_eq!(code_spans("`` `x` ``"), "<code>`x`</code>");
        assert_eq!(code_spans("```"), "```");
        // Only markdown code spans: no emphasis, links or html.
        assert_eq!(code_spans("*a* [l](u) <b>"), "*a* [l](u) &lt;b&gt;");
    }

    #[test]
    fn an_unclosed_run_stays_literal_while_later_spans_still_open() {
        // One single backtick, then many double runs that never close it.
        let text = format!("`{}", " ``a``".repeat(3));
        assert_eq!(
            code_spans(&text),
            "` <code>a</code> <code>a</code> <code>a</code>"
        );
    }
}
