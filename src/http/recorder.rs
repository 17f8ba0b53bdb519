//! Collects the redacted exchanges of a run and hands out their ids.
//!
//! Shared by every client of a run; knows nothing about sending. A response
//! body is redacted in the background (on the rayon pool) as soon as it is
//! recorded, never while the request holds its concurrency slot: parsing and
//! re-serialising every body inside the slot made bursts of answers queue
//! behind each other, and redacting them all when the exchanges are handed out
//! put that work after the last answer. Nothing leaves the recorder
//! unredacted, and a body is scrubbed of every secret its redactor knows when
//! it is handed out: one redacted before a later secret was registered is
//! redacted again then (see [`Redactor::generation`]).
//!
//! Beside the redaction, while there is room for it, the exchange is rendered as `run.json`
//! will hold it ([`crate::report::ahead`]): a text for the exchange as it is handed out, and
//! dropped when its body has to be redacted again.

use crate::http::{REDACTED, Redactor};
use crate::model::Exchange;
use crate::report::ahead::{self, Ahead, Budget, Rendered};
use bytes::Bytes;
use rayon::iter::{IntoParallelIterator, ParallelIterator};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A response body waiting for redaction.
#[derive(Debug, Clone)]
pub(crate) struct RawBody {
    pub redactor: Arc<Redactor>,
    pub content_type: Option<String>,
    pub bytes: Bytes,
    pub max_chars: usize,
}

impl RawBody {
    /// The body as recorded, with every secret known now; the redactor's generation is read
    /// first, so every secret it counts is in the text.
    fn redact(self) -> Redacted {
        let generation = self.redactor.generation();
        let (mut text, truncated) =
            self.redactor
                .redact_body(self.content_type.as_deref(), &self.bytes, self.max_chars);
        // Serialising grows the text by doubling; it is held until run.json is written.
        text.shrink_to_fit();
        // Nothing replaced and nothing cut: the text holds what the body held (re-serialised
        // or decoded), so redacting the text again is redacting the body again, and the bytes
        // can go. Otherwise a later secret could hide in what was cut or across what was
        // replaced: the bytes stay for a second redaction.
        let faithful = !truncated && !text.contains(REDACTED);
        let source = if faithful {
            RawBody {
                bytes: Bytes::new(),
                ..self
            }
        } else {
            self
        };
        Redacted {
            text,
            truncated,
            generation,
            source,
            ahead: None,
        }
    }
}

/// A redacted body and what it takes to redact it again.
#[derive(Debug, Clone)]
struct Redacted {
    text: String,
    truncated: bool,
    /// [`Redactor::generation`] before the text was redacted.
    generation: usize,
    /// The body as recorded; its bytes are dropped (left empty) when the text alone can be
    /// redacted again (see [`RawBody::redact`]). A body recorded empty redacts to an empty
    /// text either way.
    source: RawBody,
    /// The exchange with this text, rendered for `run.json` (while the budget had room).
    ahead: Option<Ahead>,
}

/// A body handed out: its text, whether it was cut, and the exchange rendered with it.
type Finished = (String, bool, Option<Ahead>);

impl Redacted {
    /// The text and whether it was cut, redacted again first if a secret was registered since
    /// (the exchange rendered with the earlier text is kept only if the text is the same).
    fn finish(self) -> Finished {
        if self.source.redactor.generation() == self.generation {
            return (self.text, self.truncated, self.ahead);
        }
        let before = self.ahead.map(|a| (a, self.text.clone(), self.truncated));
        let source = if self.source.bytes.is_empty() {
            RawBody {
                bytes: Bytes::from(self.text.into_bytes()),
                ..self.source
            }
        } else {
            self.source
        };
        let again = source.redact();
        let ahead = before
            .filter(|(_, text, truncated)| *text == again.text && *truncated == again.truncated)
            .map(|(a, ..)| a);
        (again.text, again.truncated, ahead)
    }
}

/// A recorded body: raw until its background redaction is done, taken once handed out.
#[derive(Debug)]
enum Body {
    Raw(RawBody),
    Redacted(Redacted),
    Taken,
}

impl Body {
    fn finish(self) -> Option<Finished> {
        match self {
            Body::Raw(raw) => Some(raw.redact().finish()),
            Body::Redacted(r) => Some(r.finish()),
            Body::Taken => None,
        }
    }

    fn copy(&self) -> Body {
        match self {
            Body::Raw(raw) => Body::Raw(raw.clone()),
            Body::Redacted(r) => Body::Redacted(r.clone()),
            Body::Taken => Body::Taken,
        }
    }
}

type SharedBody = Arc<Mutex<Body>>;

fn lock(body: &SharedBody) -> MutexGuard<'_, Body> {
    // A panicked redaction leaves the state as it was: raw or redacted, both usable.
    body.lock().unwrap_or_else(|e| e.into_inner())
}

/// Bodies handed to the rayon pool at once: one job (one thread wake-up) per batch, not per
/// body. A job per body cost more in wake-ups and context switches than the redaction itself
/// when answers come back at once (10,000 connections at latency 0: +40 % CPU).
const BACKGROUND_BATCH: usize = 32;

/// A recorded body not yet sent to the background, with its exchange to render ahead (a copy,
/// without the body; none once the budget is spent).
#[derive(Debug)]
struct Unsent {
    body: SharedBody,
    template: Option<Exchange>,
}

/// Redacts recorded bodies on the rayon pool, each unless it was handed out meanwhile, and
/// renders each one's exchange ahead with the redacted text.
fn redact_in_background(batch: Vec<Unsent>, budget: &'static Budget) {
    rayon::spawn(move || {
        for Unsent { body, template } in batch {
            let raw = match &*lock(&body) {
                Body::Raw(raw) => raw.clone(),
                _ => continue,
            };
            let mut redacted = raw.redact();
            if let Some(x) = template {
                let x = filled(x, redacted.text.clone(), redacted.truncated);
                redacted.ahead = ahead::render_ahead(&x, budget);
            }
            let mut state = lock(&body);
            if matches!(*state, Body::Raw(_)) {
                *state = Body::Redacted(redacted);
            }
        }
    });
}

/// An exchange whose response body (if any) may not be redacted yet.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub exchange: Exchange,
    body: Option<SharedBody>,
}

impl Recorded {
    /// The exchange with its body redacted, and the exchange rendered ahead if it was; the
    /// recorded body is taken.
    fn finish(self) -> (Exchange, Option<Ahead>) {
        let body = self
            .body
            .map(|b| std::mem::replace(&mut *lock(&b), Body::Taken));
        with_body(self.exchange, body)
    }

    /// A copy of the exchange with its body redacted; the recorded body stays.
    fn copy(&self) -> Exchange {
        let body = self.body.as_ref().map(|b| lock(b).copy());
        with_body(self.exchange.clone(), body).0
    }
}

/// `exchange` with `body` redacted (if it has one), and the exchange rendered ahead with it.
fn with_body(exchange: Exchange, body: Option<Body>) -> (Exchange, Option<Ahead>) {
    match body.and_then(Body::finish) {
        Some((text, truncated, ahead)) => (filled(exchange, text, truncated), ahead),
        None => (exchange, None),
    }
}

/// The exchange with its response's body: the same for the exchange handed out and the one
/// rendered ahead, so that both are found by the same content.
fn filled(mut exchange: Exchange, text: String, truncated: bool) -> Exchange {
    if let Some(resp) = exchange.response.as_mut() {
        resp.body = Some(text);
        resp.body_truncated = truncated;
    }
    exchange
}

/// The budget of the exchanges rendered ahead: the process's, or a test's own.
#[derive(Debug, Clone, Copy)]
struct AheadBudget(&'static Budget);

impl Default for AheadBudget {
    fn default() -> Self {
        AheadBudget(&ahead::PROCESS)
    }
}

/// Collects the exchanges of a run; cheap to clone, shared by all clients.
#[derive(Debug, Clone, Default)]
pub struct ExchangeRecorder {
    pub(crate) exchanges: Arc<Mutex<Vec<Recorded>>>,
    pub(crate) counter: Arc<AtomicU64>,
    /// Bodies recorded since the last batch went to the background.
    unsent: Arc<Mutex<Vec<Unsent>>>,
    budget: AheadBudget,
}

impl ExchangeRecorder {
    /// An empty recorder whose first id is `x0001`.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn next_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        format!("x{n:04}")
    }

    pub(crate) fn push(&self, exchange: Exchange) {
        self.lock().push(Recorded {
            exchange,
            body: None,
        });
    }

    /// Records an exchange whose response body is redacted in the background, with the
    /// next [`BACKGROUND_BATCH`] − 1 bodies recorded (a batch not full when the exchanges are
    /// handed out is redacted then).
    pub(crate) fn push_with_body(&self, exchange: Exchange, body: RawBody) {
        let template = self.budget.0.open().then(|| exchange.clone());
        let body = Arc::new(Mutex::new(Body::Raw(body)));
        self.lock().push(Recorded {
            exchange,
            body: Some(body.clone()),
        });
        let full = {
            let mut unsent = self.unsent.lock().unwrap_or_else(|e| e.into_inner());
            unsent.push(Unsent { body, template });
            (unsent.len() >= BACKGROUND_BATCH).then(|| std::mem::take(&mut *unsent))
        };
        if let Some(batch) = full {
            redact_in_background(batch, self.budget.0);
        }
    }

    /// A recorder whose exchanges rendered ahead count against `budget`.
    #[cfg(test)]
    fn with_budget(budget: &'static Budget) -> Self {
        ExchangeRecorder {
            budget: AheadBudget(budget),
            ..Self::default()
        }
    }

    /// Sends the bodies waiting for a full batch to the background now.
    #[cfg(test)]
    fn send_unsent(&self) {
        let batch = std::mem::take(&mut *self.unsent.lock().unwrap_or_else(|e| e.into_inner()));
        redact_in_background(batch, self.budget.0);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Recorded>> {
        // A panic elsewhere must not lose the evidence gathered so far.
        self.exchanges.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes and returns all exchanges recorded so far, sorted by id.
    ///
    /// The list is held until `run.json` is written, so it is shrunk to its length: collected
    /// in place it would keep the recording's buffer, grown by doubling and sized for the
    /// larger `Recorded`.
    pub fn take(&self) -> Vec<Exchange> {
        self.take_rendered().0
    }

    /// [`take`](Self::take), with the exchanges rendered ahead (found by content: their order
    /// does not matter).
    pub fn take_rendered(&self) -> (Vec<Exchange>, Rendered) {
        let taken = std::mem::take(&mut *self.lock());
        // Bodies still waiting for a batch are redacted below, with the others not done yet.
        self.unsent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        // Bodies not redacted yet (or redacted before a later secret) are redacted here, on
        // every core (rayon collects in place, in order).
        let (mut all, aheads): (Vec<Exchange>, Vec<Option<Ahead>>) =
            taken.into_par_iter().map(Recorded::finish).unzip();
        sort_by_id(&mut all);
        all.shrink_to_fit();
        let mut rendered = Rendered::default();
        for a in aheads.into_iter().flatten() {
            rendered.insert(a);
        }
        (all, rendered)
    }

    /// A copy of all exchanges recorded so far, sorted by id.
    pub fn snapshot(&self) -> Vec<Exchange> {
        let mut all: Vec<Exchange> = self.lock().iter().map(Recorded::copy).collect();
        sort_by_id(&mut all);
        all
    }
}

fn sort_by_id(exchanges: &mut [Exchange]) {
    // `x10000` sorts after `x9999`: shorter ids are smaller. Ids are unique, so an unstable
    // sort gives the same order without the stable sort's scratch copy.
    exchanges.sort_unstable_by(|a, b| (a.id.len(), &a.id).cmp(&(b.id.len(), &b.id)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::REDACTED;

    fn exchange(id: &str) -> Exchange {
        Exchange {
            id: id.into(),
            provider: "p".into(),
            connection: None,
            purpose: "endpoint:me".into(),
            request: crate::model::RecordedRequest {
                method: "GET".into(),
                url: "https://api.example/me".into(),
                headers: vec![],
                body: None,
            },
            response: Some(crate::model::RecordedResponse {
                status: 200,
                headers: vec![],
                body: None,
                body_bytes: 0,
                body_truncated: false,
            }),
            error: None,
            started_at: chrono::DateTime::UNIX_EPOCH,
            duration_ms: 1,
        }
    }

    #[test]
    fn bodies_are_redacted_when_handed_out_with_every_secret_known_by_then() {
        let r = ExchangeRecorder::new();
        let redactor = Arc::new(Redactor::new(&[]).unwrap());
        let body = br#"{"access_token":"sim_at_abcdefgh","note":"echo sim_rt_12345678 echo"}"#;
        r.push_with_body(
            exchange("x0001"),
            RawBody {
                redactor: redactor.clone(),
                content_type: Some("application/json".into()),
                bytes: Bytes::from_static(body),
                max_chars: 1000,
            },
        );
        // Learned after the answer arrived (say, the refresh token a later grant rotated).
        redactor.register_secret("sim_rt_12345678");
        let got = r.take();
        let text = got[0].response.as_ref().unwrap().body.clone().unwrap();
        assert_eq!(
            text,
            format!(r#"{{"access_token":"{REDACTED}","note":"echo {REDACTED} echo"}}"#),
            "{text}"
        );
        assert!(r.take().is_empty());
    }

    fn raw(
        redactor: &Arc<Redactor>,
        content_type: &str,
        bytes: String,
        max_chars: usize,
    ) -> RawBody {
        RawBody {
            redactor: redactor.clone(),
            content_type: Some(content_type.into()),
            bytes: Bytes::from(bytes.into_bytes()),
            max_chars,
        }
    }

    /// Waits until the background redaction of every recorded body is done.
    fn settle(r: &ExchangeRecorder) {
        r.send_unsent();
        for _ in 0..500 {
            let done = r.lock().iter().all(|x| {
                x.body
                    .as_ref()
                    .is_none_or(|b| matches!(*lock(b), Body::Redacted(_)))
            });
            if done {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("recorded bodies still not redacted after 5 s");
    }

    /// Issue 17: each exchange is rendered for `run.json` beside its body's redaction; the
    /// text is found by the exchange handed out and is the one `run.json` holds. An exchange
    /// whose body changes when redacted again (a secret learned late) is handed out without its
    /// early text, which is dropped there and then; one whose body stays the same keeps it.
    #[test]
    fn exchanges_are_rendered_ahead_and_their_texts_dropped_when_their_bodies_are_redacted_again() {
        static B: Budget = Budget::new(1 << 20);
        let r = ExchangeRecorder::with_budget(&B);
        let redactor = Arc::new(Redactor::new(&[]).unwrap());
        let late = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.Zm9vYmFy+/=";
        let plain = r#"{"id":"u1"}"#.to_string();
        let echo = format!(r#"{{"t":"{late}"}}"#);
        r.push_with_body(
            exchange("x0001"),
            raw(&redactor, "application/json", plain, 1000),
        );
        r.push_with_body(
            exchange("x0002"),
            raw(&redactor, "application/json", echo, 1000),
        );
        r.push(exchange("x0003"));
        settle(&r);
        let early = B.held();
        redactor.register_secret(late);
        let (got, rendered) = r.take_rendered();
        let body = |x: &Exchange| x.response.as_ref().unwrap().body.clone();
        assert_eq!(body(&got[0]).as_deref(), Some(r#"{"id":"u1"}"#));
        assert_eq!(body(&got[1]), Some(format!(r#"{{"t":"{REDACTED}"}}"#)));
        assert_eq!(body(&got[2]), None);
        assert_eq!(rendered.len(), 1);
        let text = ahead::render(&got[0]).unwrap();
        assert_eq!(rendered.text_of(&got[0]), Some(&text[..]));
        assert_eq!(rendered.text_of(&got[1]), None);
        assert_eq!(rendered.text_of(&got[2]), None);
        assert!(early > text.len(), "{early}");
        assert_eq!(B.held(), text.len(), "the stale text is still held");
        drop(rendered);
        assert_eq!(B.held(), 0);
    }

    /// With the budget spent, exchanges are handed out as before, with nothing rendered.
    #[test]
    fn with_the_budget_spent_nothing_is_rendered_ahead() {
        static B: Budget = Budget::new(0);
        let r = ExchangeRecorder::with_budget(&B);
        let redactor = Arc::new(Redactor::new(&[]).unwrap());
        let json = r#"{"id":"u1"}"#.to_string();
        r.push_with_body(
            exchange("x0001"),
            raw(&redactor, "application/json", json, 1000),
        );
        settle(&r);
        let (got, rendered) = r.take_rendered();
        let body = got[0].response.as_ref().unwrap().body.as_deref();
        assert_eq!(body, Some(r#"{"id":"u1"}"#));
        assert!(rendered.is_empty());
        assert_eq!(B.held(), 0);
    }

    /// Issue 17 item 2: bodies are redacted in the background as they are recorded; one
    /// redacted before a secret was registered is redacted again when handed out, from its
    /// bytes wherever its text alone could hide the secret (something replaced or cut).
    #[test]
    fn a_body_redacted_before_a_secret_was_registered_is_redacted_again_when_handed_out() {
        let r = ExchangeRecorder::new();
        let redactor = Arc::new(Redactor::new(&[]).unwrap());
        let known = "dGhpcyBpcyBh+c2VjcmV0/w==";
        redactor.register_secret(known);
        // Learned only after the answers were recorded and redacted: a JWT-shaped token, and
        // one that holds the known secret inside it.
        let late = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.Zm9vYmFy+/=";
        let around = format!("A1b2C3d4{known}E5f6G7h8");
        let padding = "x".repeat(20);
        let json = format!(r#"{{"note":"echo {late} echo"}}"#);
        r.push_with_body(
            exchange("x0001"),
            raw(&redactor, "application/json", json, 1000),
        );
        r.push_with_body(
            exchange("x0002"),
            raw(&redactor, "text/plain", around.clone(), 1000),
        );
        // Cut at 30 characters, inside the late token.
        let cut = format!("{padding}{late}");
        r.push_with_body(exchange("x0003"), raw(&redactor, "text/plain", cut, 30));
        settle(&r);
        let kept: Vec<bool> = r
            .lock()
            .iter()
            .map(|x| match &*lock(x.body.as_ref().unwrap()) {
                Body::Redacted(red) => !red.source.bytes.is_empty(),
                _ => unreachable!(),
            })
            .collect();
        // Nothing replaced or cut in the first: its bytes are gone, its text is enough.
        assert_eq!(kept, [false, true, true]);
        let early = r.snapshot();
        let early: Vec<(String, bool)> = early
            .iter()
            .map(|x| {
                let resp = x.response.as_ref().unwrap();
                (resp.body.clone().unwrap(), resp.body_truncated)
            })
            .collect();
        assert_eq!(early[1], (format!("A1b2C3d4{REDACTED}E5f6G7h8"), false));
        assert_eq!(early[2], (format!("{padding}eyJhbGciOi"), true));

        redactor.register_secret(late);
        redactor.register_secret(&around);
        let got: Vec<(String, bool)> = r
            .take()
            .iter()
            .map(|x| {
                let resp = x.response.as_ref().unwrap();
                (resp.body.clone().unwrap(), resp.body_truncated)
            })
            .collect();
        assert_eq!(
            got,
            [
                (format!(r#"{{"note":"echo {REDACTED} echo"}}"#), false),
                (REDACTED.to_string(), false),
                (format!("{padding}{REDACTED}"), false),
            ]
        );
        for (text, _) in &got {
            for piece in [&late[..8], &late[late.len() - 8..], "A1b2C3d4", "E5f6G7h8"] {
                assert!(!text.contains(piece), "{piece} left in {text}");
            }
        }
    }

    #[test]
    fn a_snapshot_leaves_the_bodies_for_the_run() {
        let r = ExchangeRecorder::new();
        let redactor = Arc::new(Redactor::new(&[]).unwrap());
        redactor.register_secret("Zm9vYmFyYmF6+/==");
        let body = r#"{"id":1,"echo":"Zm9vYmFyYmF6+/=="}"#.to_string();
        r.push_with_body(
            exchange("x0001"),
            raw(&redactor, "application/json", body, 1000),
        );
        // Re-serialised compactly, keys sorted.
        let want = Some(format!(r#"{{"echo":"{REDACTED}","id":1}}"#));
        let first = r.snapshot();
        assert_eq!(first[0].response.as_ref().unwrap().body, want);
        let taken = r.take();
        assert_eq!(taken[0].response.as_ref().unwrap().body, want);
        assert!(r.snapshot().is_empty());
    }

    /// Issue 17 item 6: a recorded body is held until run.json is written, so
    /// it keeps no spare capacity from being serialised.
    #[test]
    fn recorded_bodies_hold_no_spare_capacity() {
        let r = ExchangeRecorder::new();
        let redactor = Arc::new(Redactor::new(&[]).unwrap());
        let body: String = format!(
            "{{\"items\":[{}]}}",
            (0..200)
                .map(|i| format!("{{\"id\":{i},\"name\":\"item {i}\"}}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        r.push_with_body(
            exchange("x0001"),
            RawBody {
                redactor,
                content_type: Some("application/json".into()),
                bytes: Bytes::from(body.clone().into_bytes()),
                max_chars: 1_000_000,
            },
        );
        let got = r.take();
        let text = got[0].response.as_ref().unwrap().body.as_ref().unwrap();
        assert_eq!(*text, body);
        assert_eq!(text.capacity(), text.len());
    }

    /// Issue 17 (memory per probe): the handed-out list is held until run.json is written,
    /// so it keeps none of the recording buffer's spare room.
    #[test]
    fn taken_exchanges_hold_no_spare_capacity() {
        let r = ExchangeRecorder::new();
        for i in 1..=5 {
            r.push(exchange(&format!("x{i:04}")));
        }
        let got = r.take();
        assert_eq!(got.len(), 5);
        assert_eq!(got.capacity(), got.len());
    }

    #[test]
    fn recorder_sorts_ids_numerically() {
        let r = ExchangeRecorder::new();
        let ids: Vec<String> = (0..3).map(|_| r.next_id()).collect();
        assert_eq!(ids, vec!["x0001", "x0002", "x0003"]);
        r.counter.store(9_999, Ordering::SeqCst);
        assert_eq!(r.next_id(), "x10000");
    }
}
