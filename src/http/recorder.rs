//! Collects the redacted exchanges of a run and hands out their ids.
//!
//! Shared by every client of a run; knows nothing about sending. A response
//! body is redacted when the exchanges are handed out, not while the request
//! holds its concurrency slot: parsing and re-serialising every body inside
//! the slot made bursts of answers queue behind each other. Nothing leaves the
//! recorder unredacted, and a body is scrubbed of every secret its redactor
//! knows by then (including ones registered after the answer arrived).

use crate::http::Redactor;
use crate::model::Exchange;
use bytes::Bytes;
use rayon::iter::{IntoParallelIterator, ParallelIterator};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A response body waiting for redaction.
#[derive(Debug, Clone)]
pub(crate) struct RawBody {
    pub redactor: Arc<Redactor>,
    pub content_type: Option<String>,
    pub bytes: Bytes,
    pub max_chars: usize,
}

/// An exchange whose response body (if any) is not redacted yet.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub exchange: Exchange,
    pub body: Option<RawBody>,
}

impl Recorded {
    fn finish(self) -> Exchange {
        let mut exchange = self.exchange;
        if let (Some(raw), Some(resp)) = (self.body, exchange.response.as_mut()) {
            let (mut text, truncated) =
                raw.redactor
                    .redact_body(raw.content_type.as_deref(), &raw.bytes, raw.max_chars);
            // Serialising grows the text by doubling; it is held until run.json is written.
            text.shrink_to_fit();
            resp.body = Some(text);
            resp.body_truncated = truncated;
        }
        exchange
    }
}

/// Collects the exchanges of a run; cheap to clone, shared by all clients.
#[derive(Debug, Clone, Default)]
pub struct ExchangeRecorder {
    pub(crate) exchanges: Arc<Mutex<Vec<Recorded>>>,
    pub(crate) counter: Arc<AtomicU64>,
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

    /// Records an exchange whose response body is redacted when handed out.
    pub(crate) fn push_with_body(&self, exchange: Exchange, body: RawBody) {
        self.lock().push(Recorded {
            exchange,
            body: Some(body),
        });
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
        // Redacting every body is the one CPU-bound step between the last answer and the
        // assessment: spread over the cores (rayon collects in place, in order).
        let mut all: Vec<Exchange> = taken.into_par_iter().map(Recorded::finish).collect();
        sort_by_id(&mut all);
        all.shrink_to_fit();
        all
    }

    /// A copy of all exchanges recorded so far, sorted by id.
    pub fn snapshot(&self) -> Vec<Exchange> {
        let copy = self.lock().clone();
        let mut all: Vec<Exchange> = copy.into_iter().map(Recorded::finish).collect();
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
