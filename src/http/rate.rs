//! The per-provider request rate: a sliding-window limiter awaited before every request.
//!
//! Knows nothing about retries, responses or what a request is for.
//!
//! `rate: N/per` means never more than N sends in any window of `per`: the
//! limiter keeps the time of every send of the last window and lets a request
//! go only when fewer than N went in the window ending now. The window it
//! enforces is 1 % longer than `per` ([`JITTER_MARGIN`]), so that a provider
//! counting *arrivals* still sees at most N per `per` when requests take
//! unequal time to reach it.
//!
//! Within the window, sends are paced on a schedule one `window / N` apart
//! (no bursts from a cold start). A send that happens late — its task was woken
//! late on a busy machine, or the process stalled — does not push the schedule
//! back: the waiters queued behind it go at once until the schedule is met
//! again, as far as the window allows, so the budget a stall would lose is
//! used. Only lateness up to a quarter window is made up (a backlog leaves as
//! one burst, so bursts stay at most N/4), and only for requests that were
//! waiting: an idle limiter does not bank sends. Waiters are served in arrival
//! order.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// At most `requests` requests in any window of `per`, paced evenly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: NonZeroU32,
    pub per: Duration,
}

/// The window enforced is `per + per / JITTER_MARGIN` (1 %): a request sent
/// late in one window must not arrive early in the next one.
const JITTER_MARGIN: u32 = 100;

/// A backlog is made up for at most `window / CATCH_UP_DIVISOR` of lateness.
const CATCH_UP_DIVISOR: u32 = 4;

/// Awaited before every request of one provider; `None` rate means no limit.
#[derive(Debug)]
pub(crate) struct Limiter {
    window: Option<Mutex<Window>>,
}

impl Limiter {
    pub(crate) fn new(rate: Option<Rate>) -> Self {
        let window = rate
            .filter(|r| !r.per.is_zero())
            .map(|r| Mutex::new(Window::new(r)));
        Limiter { window }
    }

    /// Waits until one more request may be sent now, and counts it as sent.
    ///
    /// Cancel-safe: a waiter dropped before it returns has sent nothing and
    /// counts for nothing.
    pub(crate) async fn acquire(&self) {
        let Some(window) = &self.window else {
            return;
        };
        let wanted = Instant::now();
        // A fair (FIFO) lock: the head of the queue sleeps, the others wait
        // behind it; no thundering herd when a slot frees.
        let mut window = window.lock().await;
        loop {
            let now = Instant::now();
            let ready = window.ready_at(now);
            if ready <= now {
                window.send(now, wanted);
                return;
            }
            tokio::time::sleep_until(ready).await;
        }
    }
}

/// The sends of the last window and the pacing schedule.
#[derive(Debug)]
struct Window {
    limit: usize,
    /// `per` plus the jitter margin.
    length: Duration,
    /// `length / limit`: the pacing step.
    step: Duration,
    /// How far behind `now` the schedule may fall and still be made up.
    catch_up: Duration,
    /// Send times within the last `length`, oldest first; never more than `limit`.
    sent: VecDeque<Instant>,
    /// When the schedule allows the next send (`None` before the first).
    next: Option<Instant>,
}

impl Window {
    fn new(rate: Rate) -> Window {
        let length = rate.per + rate.per / JITTER_MARGIN;
        Window {
            limit: rate.requests.get() as usize,
            length,
            step: length / rate.requests.get(),
            catch_up: length / CATCH_UP_DIVISOR,
            sent: VecDeque::new(),
            next: None,
        }
    }

    /// The earliest time, not before `now`, at which a send is allowed, if
    /// that is `now`; otherwise the time to sleep until.
    fn ready_at(&mut self, now: Instant) -> Instant {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.length)
        {
            self.sent.pop_front();
        }
        let window_ready = if self.sent.len() < self.limit {
            now
        } else {
            // Full: the oldest send leaves the window at `oldest + length`.
            self.sent.front().map_or(now, |t| *t + self.length)
        };
        let paced = self.next.unwrap_or(now);
        window_ready.max(paced).max(now)
    }

    /// Counts a send at `now` by a request that wanted to go at `wanted`.
    fn send(&mut self, now: Instant, wanted: Instant) {
        self.sent.push_back(now);
        // The slot this send used: its scheduled time, or later if nobody
        // wanted to send then (an idle limiter does not bank sends for later).
        // A send made late because its task woke late keeps the schedule.
        let slot = self.next.unwrap_or(now).max(wanted);
        // After a long stall the schedule catches up at most a quarter window:
        // a backlog goes out as one burst, and bursts stay bounded.
        let floor = now.checked_sub(self.catch_up).unwrap_or(slot);
        self.next = Some(slot.max(floor) + self.step);
    }
}

#[cfg(test)]
#[path = "rate_tests.rs"]
mod tests;
