//! Exchanges rendered for `run.json` ahead of time.
//!
//! An exchange's text is most of a `run.json` and depends on nothing but the exchange. The
//! recorder renders each one beside its body's redaction, on the rayon pool, while the run still
//! waits for other answers; writing `run.json` after the last answer then copies those bytes
//! instead of rendering them (issue 17: the rendering was most of the work after the last
//! answer). A text is found again by the exchange's content — a 128-bit XXH3 of every field — so
//! an exchange that changed after it was rendered (a body redacted again, ids prefixed in a
//! shard, bodies reduced by the evidence mode) is rendered again when written, never written
//! stale. What is held is bounded: at most [`BUDGET`] bytes of rendered text in the process at
//! once; past it, exchanges are rendered when `run.json` is written, as before.

use crate::model::Exchange;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rendered text the process holds at most (8 MiB: every exchange of a run of ~5,000 probes;
/// 0.16 KiB per probe of a 50,000-probe run).
pub(crate) const BUDGET: usize = 8 << 20;

/// Bytes of rendered text held, against a limit.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    held: AtomicUsize,
}

impl Budget {
    pub(crate) const fn new(limit: usize) -> Budget {
        Budget {
            limit,
            held: AtomicUsize::new(0),
        }
    }

    /// Whether anything more may be rendered ahead now.
    pub(crate) fn open(&self) -> bool {
        self.held.load(Ordering::Relaxed) < self.limit
    }

    fn reserve(&self, n: usize) -> bool {
        let before = self.held.fetch_add(n, Ordering::Relaxed);
        if before + n > self.limit {
            self.held.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        true
    }

    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

/// The process's budget.
pub(crate) static PROCESS: Budget = Budget::new(BUDGET);

/// One exchange's text in `run.json`: as the pretty printer writes it two levels deep (inside
/// the run's object and its `exchanges` array), without the separator before it. Rendered in
/// one pass into a buffer sized for it (growing it by doubling, then re-indenting, copied each
/// text three to four times).
pub(crate) fn render(x: &Exchange) -> serde_json::Result<Vec<u8>> {
    let bodies = [
        x.request.body.as_ref(),
        x.response.as_ref().and_then(|r| r.body.as_ref()),
    ];
    let estimate = 2048
        + bodies
            .iter()
            .flatten()
            .map(|b| b.len() * 5 / 4)
            .sum::<usize>();
    let mut out = Vec::with_capacity(estimate);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Nested::default());
    serde::Serialize::serialize(x, &mut ser)?;
    Ok(out)
}

/// serde_json's `PrettyFormatter` (two spaces per level) with fewer writes, starting at a given
/// depth: two levels deep by default (an exchange inside run.json), 0 for run.json itself.
pub(crate) struct Nested {
    depth: usize,
    has_value: bool,
}

impl Default for Nested {
    fn default() -> Self {
        Nested::at(2)
    }
}

/// A comma, a newline and the indentation of up to 64 levels, written as one slice of it:
/// serde_json's `PrettyFormatter` writes each level's two spaces apart, a call per level per
/// line (most of the calls when a deep observation is written).
const BREAK: [u8; 130] = {
    let mut b = [b' '; 130];
    b[0] = b',';
    b[1] = b'\n';
    b
};

impl Nested {
    /// The formatter of a value written `depth` levels deep (0: a whole document, as
    /// `to_writer_pretty` writes it).
    pub(crate) fn at(depth: usize) -> Nested {
        Nested {
            depth,
            has_value: false,
        }
    }

    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line_break(w, false)?;
        }
        w.write_all(b)
    }

    /// The separator and indentation before an array value or an object key.
    fn next<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.line_break(w, !first)
    }

    /// A newline (after a comma with `comma`) and the indentation of the current depth.
    fn line_break<W: ?Sized + std::io::Write>(
        &self,
        w: &mut W,
        comma: bool,
    ) -> std::io::Result<()> {
        let from = usize::from(!comma);
        let end = 2 + 2 * self.depth;
        if end <= BREAK.len() {
            return w.write_all(&BREAK[from..end]);
        }
        w.write_all(&BREAK[from..2])?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// What an exchange is found by: a 128-bit XXH3 of every field's bytes, in the order (and with
/// the lengths and string terminators) `Hash` feeds them. Collected into one buffer and hashed
/// at once: the streaming hasher, fed a field at a time, cost 6× more.
fn key(x: &Exchange) -> u128 {
    thread_local! {
        static FIELDS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    FIELDS.with_borrow_mut(|buf| {
        buf.clear();
        x.hash(&mut Fields(buf));
        let key = xxhash_rust::xxh3::xxh3_128(buf);
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        key
    })
}

/// A `Hasher` that only collects what it is fed.
struct Fields<'a>(&'a mut Vec<u8>);

impl std::hash::Hasher for Fields<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("the collected fields are hashed by `key`")
    }
}

/// A rendered text, counted against its budget while it lives.
struct Text {
    bytes: Box<[u8]>,
    budget: &'static Budget,
}

impl Drop for Text {
    fn drop(&mut self) {
        self.budget
            .held
            .fetch_sub(self.bytes.len(), Ordering::Relaxed);
    }
}

/// One exchange rendered ahead.
#[derive(Clone)]
pub(crate) struct Ahead {
    key: u128,
    text: Arc<Text>,
}

impl std::fmt::Debug for Ahead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ahead({} bytes)", self.text.bytes.len())
    }
}

/// Renders `x` ahead, unless `budget` cannot hold its text.
pub(crate) fn render_ahead(x: &Exchange, budget: &'static Budget) -> Option<Ahead> {
    if !budget.open() {
        return None;
    }
    let mut bytes = render(x).ok()?;
    bytes.shrink_to_fit();
    if !budget.reserve(bytes.len()) {
        return None;
    }
    Some(Ahead {
        key: key(x),
        text: Arc::new(Text {
            bytes: bytes.into_boxed_slice(),
            budget,
        }),
    })
}

/// `text` as if it were `x` rendered ahead (a test's way to see which texts are written).
#[cfg(test)]
pub(crate) fn forged(x: &Exchange, text: &str) -> Ahead {
    static UNCOUNTED: Budget = Budget::new(usize::MAX);
    UNCOUNTED.reserve(text.len());
    Ahead {
        key: key(x),
        text: Arc::new(Text {
            bytes: text.as_bytes().into(),
            budget: &UNCOUNTED,
        }),
    }
}

/// The exchanges of a run rendered ahead, found by content. A cache, not part of the run:
/// never serialised, and equal to any other (two runs differ by their exchanges, not by which
/// were rendered early).
#[derive(Clone, Default)]
pub struct Rendered {
    texts: HashMap<u128, Arc<Text>>,
}

impl Rendered {
    pub(crate) fn insert(&mut self, a: Ahead) {
        self.texts.insert(a.key, a.text);
    }

    pub(crate) fn extend(&mut self, other: Rendered) {
        if self.texts.is_empty() {
            *self = other;
        } else {
            self.texts.extend(other.texts);
        }
    }

    /// `x`'s text rendered ahead, if `x` is what was rendered.
    pub(crate) fn text_of(&self, x: &Exchange) -> Option<&[u8]> {
        if self.texts.is_empty() {
            return None;
        }
        self.texts.get(&key(x)).map(|t| &t.bytes[..])
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

impl PartialEq for Rendered {
    fn eq(&self, _: &Rendered) -> bool {
        true
    }
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rendered({} exchanges)", self.texts.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(id: &str, body: &str) -> Exchange {
        Exchange {
            id: id.into(),
            provider: "p".into(),
            connection: Some("c1".into()),
            purpose: "endpoint:me".into(),
            request: crate::model::RecordedRequest {
                method: "GET".into(),
                url: "https://api.example/me?x=\"1\"".into(),
                headers: vec![("accept".into(), "application/json".into())],
                body: None,
            },
            response: Some(crate::model::RecordedResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: Some(body.into()),
                body_bytes: body.len() as u64,
                body_truncated: false,
            }),
            error: None,
            started_at: chrono::DateTime::UNIX_EPOCH,
            duration_ms: 1,
        }
    }

    #[test]
    fn a_text_is_found_by_the_exchange_it_was_rendered_from_and_by_no_other() {
        static B: Budget = Budget::new(1 << 20);
        let x = exchange("x0001", r#"{"id":"u1","name":"Ada\nLovelace"}"#);
        let mut r = Rendered::default();
        r.insert(render_ahead(&x, &B).unwrap());
        assert_eq!(r.text_of(&x), Some(&render(&x).unwrap()[..]));
        assert_eq!(r.text_of(&x.clone()), r.text_of(&x));
        // Any field changed: the text is not this exchange's any more.
        let mut body = x.clone();
        body.response.as_mut().unwrap().body = Some(r#"{"id":"u1"}"#.into());
        let mut id = x.clone();
        id.id = "s1-x0001".into();
        let mut cut = x.clone();
        cut.response.as_mut().unwrap().body_truncated = true;
        let mut header = x.clone();
        header.request.headers[0].1 = "*/*".into();
        for other in [&body, &id, &cut, &header] {
            assert_eq!(r.text_of(other), None, "{other:?}");
        }
    }

    #[test]
    fn the_budget_bounds_what_is_held_and_gets_back_what_is_dropped() {
        static B: Budget = Budget::new(3000);
        let big = "a".repeat(1400);
        let one = render_ahead(&exchange("x0001", &big), &B).unwrap();
        let two = render_ahead(&exchange("x0002", &big), &B);
        let held = B.held();
        assert!((1400..3000).contains(&held), "{held}");
        assert!(two.is_none(), "two texts of over 1,400 bytes fit in 3,000");
        drop(one);
        assert_eq!(B.held(), 0);
        let three = render_ahead(&exchange("x0003", &big), &B).unwrap();
        let mut r = Rendered::default();
        r.insert(three);
        let copy = r.clone();
        drop(r);
        assert!(B.held() > 1400, "a copy of the cache keeps its texts");
        drop(copy);
        assert_eq!(B.held(), 0);
    }

    #[test]
    fn a_rendered_text_is_the_pretty_printers_two_levels_deep() {
        let mut bare = exchange("x0002", "");
        bare.request.headers.clear();
        bare.response = None;
        bare.error = Some("timeout \"after\" 30 s\n".into());
        let mut long = exchange("x0003", &"{\"k\": \"é\\u0000\"}".repeat(2000));
        long.request.body = Some("a=b".into());
        for x in [exchange("x0001", "{}"), bare, long] {
            a_text_is_the_pretty_printers(x);
        }
    }

    /// The formatter writes what serde_json's pretty printer writes, at any depth: the
    /// indentation from its slice up to 64 levels, level by level beyond.
    #[test]
    fn nested_at_the_top_is_the_pretty_printer_at_any_depth() {
        let mut deep = serde_json::json!({"leaf": [1, "two", null, {}, []]});
        for i in 0..70 {
            deep = if i % 2 == 0 {
                serde_json::json!({"k": deep, "empty": {}, "n": i})
            } else {
                serde_json::json!([deep, [], "s\n\"q\""])
            };
        }
        for v in [
            deep,
            serde_json::json!({}),
            serde_json::json!([]),
            serde_json::json!(1),
        ] {
            let mut out = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(&mut out, Nested::at(0));
            serde::Serialize::serialize(&v, &mut ser).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string_pretty(&v).unwrap()
            );
        }
    }

    fn a_text_is_the_pretty_printers(x: Exchange) {
        let text = String::from_utf8(render(&x).unwrap()).unwrap();
        #[derive(serde::Serialize)]
        struct Run<'a> {
            exchanges: [&'a Exchange; 1],
        }
        let whole = serde_json::to_string_pretty(&Run { exchanges: [&x] }).unwrap();
        assert_eq!(
            whole,
            format!("{{\n  \"exchanges\": [\n    {text}\n  ]\n}}")
        );
    }
}
