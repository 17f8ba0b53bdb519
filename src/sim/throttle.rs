//! Load shaping of the simulated resource API (`/v1/…`): a fixed latency before every answer
//! and a strict sliding-window rate limit answering 429. Knows nothing about tokens, scopes or
//! response shapes; the OAuth endpoints are never shaped.

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::server::{AppState, bump};
use super::timer::ExactTimer;

/// Length of the rate-limit window.
pub(crate) const WINDOW: Duration = Duration::from_millis(1000);

/// The resource API's load settings and state.
#[derive(Debug)]
pub(crate) struct Throttle {
    latency: Duration,
    /// Waits the latency exactly (tokio's own timer answers 1–2 ms late).
    timer: ExactTimer,
    window: Option<Mutex<SlidingWindow>>,
    first_request: OnceLock<Instant>,
}

impl Throttle {
    pub(crate) fn new(latency: Duration, rate_limit: Option<u32>) -> Throttle {
        Throttle {
            latency,
            timer: ExactTimer::new(),
            window: rate_limit.map(|n| Mutex::new(SlidingWindow::new(n))),
            first_request: OnceLock::new(),
        }
    }

    /// When the first resource-API request arrived, accepted or not.
    pub(crate) fn first_request(&self) -> Option<Instant> {
        self.first_request.get().copied()
    }

    /// Whether a request arriving at `now` is within the limit (and then counts against it).
    fn admit(&self, now: Instant) -> bool {
        match &self.window {
            // A panic cannot leave a queue of instants inconsistent, so a poisoned lock is reused.
            Some(w) => w.lock().unwrap_or_else(|e| e.into_inner()).admit(now),
            None => true,
        }
    }
}

/// At most `limit` accepted requests in any window of [`WINDOW`]: a request arriving at `t`
/// is accepted when fewer than `limit` accepted requests arrived in `(t − 1000 ms, t]`.
/// Rejected requests do not count, so a client that backs off is not punished for the
/// rejections themselves.
#[derive(Debug)]
pub(crate) struct SlidingWindow {
    limit: usize,
    accepted: VecDeque<Instant>,
}

impl SlidingWindow {
    pub(crate) fn new(limit: u32) -> SlidingWindow {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        SlidingWindow {
            limit,
            accepted: VecDeque::with_capacity(limit.min(4096)),
        }
    }

    /// Records and accepts a request arriving at `now`, or refuses it. Arrivals must not go
    /// back in time (a monotonic clock read under the lock guarantees it).
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        while self
            .accepted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            self.accepted.pop_front();
        }
        if self.accepted.len() < self.limit {
            self.accepted.push_back(now);
            true
        } else {
            false
        }
    }
}

/// Middleware for every route: shapes `/v1/…` requests, passes everything else through.
pub(crate) async fn shape(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/v1/") {
        return next.run(req).await;
    }
    let arrived = Instant::now();
    let _ = s.throttle.first_request.set(arrived);
    let admitted = s.throttle.admit(arrived);
    // Sleeping in the task, never blocking a worker thread: 50 concurrent requests cost
    // one latency, not fifty. Counted from the arrival, to the microsecond.
    s.throttle
        .timer
        .sleep_until(arrived + s.throttle.latency)
        .await;
    if admitted {
        return next.run(req).await;
    }
    // Never reaches a handler, so counted here to keep `api_requests` "whatever the outcome".
    bump(&s.counters.api_requests);
    bump(&s.counters.rate_limited);
    let mut resp = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({"error": "rate_limited", "message": "too many requests"})),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn window_accepts_exactly_the_limit_and_frees_a_slot_after_1000_ms() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(3);
        let got: Vec<bool> = [0, 10, 20, 30, 999, 1000, 1001, 1009, 1010, 1020]
            .into_iter()
            .map(|t| w.admit(t0 + ms(t)))
            .collect();
        // 0, 10, 20 fill the window; 30 and 999 are refused; at 1000 the one of 0 has aged out,
        // at 1010 the one of 10, at 1020 the one of 20. Refusals never took a slot.
        assert_eq!(
            got,
            [
                true, true, true, false, false, true, false, false, true, true
            ]
        );
    }

    #[test]
    fn window_never_holds_more_than_the_limit_in_any_second() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(50);
        // A client sending every 5 ms for 3 s: 600 attempts.
        let accepted: Vec<u64> = (0..600u64)
            .map(|i| i * 5)
            .filter(|t| w.admit(t0 + ms(*t)))
            .collect();
        assert_eq!(accepted.len(), 150);
        assert_eq!(accepted[..3], [0, 5, 10]);
        assert_eq!(accepted[49], 245);
        assert_eq!(accepted[50], 1000);
        for (i, t) in accepted.iter().enumerate().skip(50) {
            assert!(t - accepted[i - 50] >= 1000, "{i}: {t}");
        }
    }

    #[test]
    fn no_limit_admits_everything() {
        let throttle = Throttle::new(Duration::ZERO, None);
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| throttle.admit(t0)));
        assert_eq!(throttle.first_request(), None);
    }
}
