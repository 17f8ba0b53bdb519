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

use crate::http::{REDACTED, Redactor};
use crate::model::Exchange;
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
}

impl Redacted {
    /// The text and whether it was cut, redacted again first if a secret was registered since.
    fn finish(self) -> (String, bool) {
        if self.source.redactor.generation() == self.generation {
            return (self.text, self.truncated);
        }
        let source = if self.source.bytes.is_empty() {
            RawBody {
                bytes: Bytes::from(self.text.into_bytes()),
                ..self.source
            }
        } else {
            self.source
        };
        let again = source.redact();
        (again.text, again.truncated)
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
    fn finish(self) -> Option<(String, bool)> {
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

/// Redacts recorded bodies on the rayon pool, each unless it was handed out meanwhile.
fn redact_in_background(batch: Vec<SharedBody>) {
    rayon::spawn(move || {
        for body in batch {
            let raw = match &*lock(&body) {
                Body::Raw(raw) => raw.clone(),
                _ => continue,
            };
            let redacted = raw.redact();
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
    /// The exchange with its body redacted; the recorded body is taken.
    fn finish(self) -> Exchange {
        let body = self
            .body
            .map(|b| std::mem::replace(&mut *lock(&b), Body::Taken));
        with_body(self.exchange, body)
    }

    /// A copy of the exchange with its body redacted; the recorded body stays.
    fn copy(&self) -> Exchange {
        let body = self.body.as_ref().map(|b| lock(b).copy());
        with_body(self.exchange.clone(), body)
    }
}

fn with_body(mut exchange: Exchange, body: Option<Body>) -> Exchange {
    if let (Some((text, truncated)), Some(resp)) =
        (body.and_then(Body::finish), exchange.response.as_mut())
    {
        resp.body = Some(text);
        resp.body_truncated = truncated;
    }
    exchange
}

/// Collects the exchanges of a run; cheap to clone, shared by all clients.
#[derive(Debug, Clone, Default)]
pub struct ExchangeRecorder {
    pub(crate) exchanges: Arc<Mutex<Vec<Recorded>>>,
    pub(crate) counter: Arc<AtomicU64>,
    /// Bodies recorded since the last batch went to the background.
    unsent: Arc<Mutex<Vec<SharedBody>>>,
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
        let body = Arc::new(Mutex::new(Body::Raw(body)));
        self.lock().push(Recorded {
            exchange,
            body: Some(body.clone()),
        });
        let full = {
            let mut unsent = self.unsent.lock().unwrap_or_else(|e| e.into_inner());
            unsent.push(body);
            (unsent.len() >= BACKGROUND_BATCH).then(|| std::mem::take(&mut *unsent))
        };
        if let Some(batch) = full {
            redact_in_background(batch);
        }
    }

    /// Sends the bodies waiting for a full batch to the background now.
    #[cfg(test)]
    fn send_unsent(&self) {
        let batch = std::mem::take(&mut *self.unsent.lock().unwrap_or_else(|e| e.into_inner()));
        redact_in_background(batch);
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
        let taken = std::mem::take(&mut *self.lock());
        // Bodies still waiting for a batch are redacted below, with the others not done yet.
        self.unsent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        // Bodies not redacted yet (or redacted before a later secret) are redacted here, on
        // every core (rayon collects in place, in order).
        let mut all: Vec<Exchange> = taken.into_par_iter().map(Recorded::finish).collect();
        sort_by_id(&mut all);
        all.shrink_to_fit();
        all
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
