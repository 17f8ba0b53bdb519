//! The per-provider request rate: a sliding-window limiter awaited before every request.
//!
//! Knows nothing about retries, responses or what a request is for.
//!
//! `rate: N/per` means never more than N sends in any window of `per`: the
//! limiter keeps the send of the last window and lets a request go only when
//! fewer than N are in the window ending now. A provider counts *arrivals*,
//! and a request that reaches it late (its task was preempted between the
//! limiter and the socket, the network or the provider was slow to take it)
//! lands in a later window than it was sent in. So a send stays in the window
//! a little longer than `per` — its *hold* — as long as its own round trip
//! says it may have arrived late: the time from its send to its answer beyond
//! the fastest round trip seen (at least [`FLOOR_DIVISOR`], at most
//! [`CAP_DIVISOR`] of `per`; [`UNANSWERED_DIVISOR`], 1 %, until it is
//! answered). A fixed 1 % margin held every send 10 ms at 50/s — too long for
//! the requests that arrived on time, too short for the few that did not.
//!
//! Within the window, sends are paced on a schedule one `(per + floor) / N`
//! apart (no bursts from a cold start). A send that happens late — its task
//! was woken late on a busy machine, or the process stalled — does not push
//! the schedule back: the waiters queued behind it go at once until the
//! schedule is met again, as far as the window allows, so the budget a stall
//! would lose is used. Only lateness up to a quarter window is made up (a
//! backlog leaves as one burst, so bursts stay at most N/4), and only for
//! requests that were waiting: an idle limiter does not bank sends. Waiters
//! are served in arrival order.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// At most `requests` requests in any window of `per`, paced evenly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: NonZeroU32,
    pub per: Duration,
}

/// The shortest hold, `per / 500` (2 ms at a 1 s window): an answered send's round trip
/// cannot tell lateness finer than the time it takes to read the answer.
const FLOOR_DIVISOR: u32 = 500;

/// The hold of a send not answered yet, `per / 100` (1 %).
const UNANSWERED_DIVISOR: u32 = 100;

/// The longest hold, `per / 20` (5 %): a slow answer (a slow endpoint, not a late arrival)
/// costs at most that much of the budget.
const CAP_DIVISOR: u32 = 20;

/// A backlog is made up for at most `window / CATCH_UP_DIVISOR` of lateness.
const CATCH_UP_DIVISOR: u32 = 4;

/// No answer yet (a hold in nanoseconds otherwise).
const UNANSWERED: u64 = u64::MAX;

/// Awaited before every request of one provider; `None` rate means no limit.
#[derive(Debug)]
pub(crate) struct Limiter {
    window: Option<(Mutex<Window>, Arc<Holds>)>,
}

/// One send the limiter let go; [`Permit::answered`] tells it how long the round trip took.
/// Dropped unanswered (the request failed before any answer, or was cancelled), the send
/// keeps the unanswered hold.
#[derive(Debug)]
pub(crate) struct Permit {
    slot: Option<(Instant, Arc<AtomicU64>, Arc<Holds>)>,
}

impl Permit {
    /// The answer (or the failure) of the request arrived now.
    pub(crate) fn answered(&self) {
        if let Some((sent, hold, holds)) = &self.slot {
            holds.record(hold, sent.elapsed());
        }
    }
}

impl Limiter {
    pub(crate) fn new(rate: Option<Rate>) -> Self {
        let window = rate.filter(|r| !r.per.is_zero()).map(|r| {
            let holds = Arc::new(Holds::new(r.per));
            (Mutex::new(Window::new(r, holds.clone())), holds)
        });
        Limiter { window }
    }

    /// Waits until one more request may be sent now, and counts it as sent.
    ///
    /// Cancel-safe: a waiter dropped before it returns has sent nothing and
    /// counts for nothing.
    pub(crate) async fn acquire(&self) -> Permit {
        let Some((window, holds)) = &self.window else {
            return Permit { slot: None };
        };
        let wanted = Instant::now();
        // A fair (FIFO) lock: the head of the queue sleeps, the others wait
        // behind it; no thundering herd when a slot frees.
        let mut window = window.lock().await;
        loop {
            let now = Instant::now();
            let ready = window.ready_at(now);
            if ready <= now {
                let hold = window.send(now, wanted);
                return Permit {
                    slot: Some((now, hold, holds.clone())),
                };
            }
            tokio::time::sleep_until(ready).await;
        }
    }
}

/// How long sends stay in the window beyond `per`, from their round trips.
#[derive(Debug)]
struct Holds {
    floor: Duration,
    unanswered: Duration,
    cap: Duration,
    /// The fastest round trip so far, in nanoseconds (`u64::MAX` before the first).
    fastest: AtomicU64,
}

impl Holds {
    fn new(per: Duration) -> Holds {
        Holds {
            floor: per / FLOOR_DIVISOR,
            unanswered: per / UNANSWERED_DIVISOR,
            cap: per / CAP_DIVISOR,
            fastest: AtomicU64::new(u64::MAX),
        }
    }

    /// A send answered after `round_trip`: held for as long as it may have arrived late.
    fn record(&self, hold: &AtomicU64, round_trip: Duration) {
        let rtt = u64::try_from(round_trip.as_nanos()).unwrap_or(u64::MAX - 1);
        let fastest = self.fastest.fetch_min(rtt, Ordering::Relaxed).min(rtt);
        let late = Duration::from_nanos(rtt - fastest);
        let held = late.clamp(self.floor, self.cap);
        hold.store(
            u64::try_from(held.as_nanos()).unwrap_or(UNANSWERED - 1),
            Ordering::Relaxed,
        );
    }

    fn of(&self, hold: &AtomicU64) -> Duration {
        match hold.load(Ordering::Relaxed) {
            UNANSWERED => self.unanswered,
            nanos => Duration::from_nanos(nanos),
        }
    }
}

/// One send in the window.
#[derive(Debug)]
struct Slot {
    at: Instant,
    hold: Arc<AtomicU64>,
}

/// The sends of the last window and the pacing schedule.
#[derive(Debug)]
struct Window {
    limit: usize,
    per: Duration,
    /// `(per + floor) / limit`: the pacing step.
    step: Duration,
    /// How far behind `now` the schedule may fall and still be made up.
    catch_up: Duration,
    holds: Arc<Holds>,
    /// Sends still in the window (sent at `at`, in until `at + per + hold`), oldest first;
    /// never more than `limit`.
    sent: VecDeque<Slot>,
    /// When the schedule allows the next send (`None` before the first).
    next: Option<Instant>,
}

impl Window {
    fn new(rate: Rate, holds: Arc<Holds>) -> Window {
        let paced = rate.per + holds.floor;
        Window {
            limit: rate.requests.get() as usize,
            per: rate.per,
            step: paced / rate.requests.get(),
            catch_up: paced / CATCH_UP_DIVISOR,
            holds,
            sent: VecDeque::new(),
            next: None,
        }
    }

    /// When `slot` leaves the window.
    fn leaves(&self, slot: &Slot) -> Instant {
        slot.at + self.per + self.holds.of(&slot.hold)
    }

    /// The earliest time, not before `now`, at which a send is allowed, if
    /// that is `now`; otherwise the time to sleep until.
    fn ready_at(&mut self, now: Instant) -> Instant {
        // Holds differ, so a later send may leave before an earlier one.
        let (per, holds) = (self.per, self.holds.clone());
        self.sent.retain(|s| now < s.at + per + holds.of(&s.hold));
        let window_ready = if self.sent.len() < self.limit {
            now
        } else {
            // Full: the first send to leave frees a place.
            self.sent
                .iter()
                .map(|s| self.leaves(s))
                .min()
                .unwrap_or(now)
        };
        let paced = self.next.unwrap_or(now);
        window_ready.max(paced).max(now)
    }

    /// Counts a send at `now` by a request that wanted to go at `wanted`; returns where its
    /// hold goes once it is answered.
    fn send(&mut self, now: Instant, wanted: Instant) -> Arc<AtomicU64> {
        let hold = Arc::new(AtomicU64::new(UNANSWERED));
        self.sent.push_back(Slot {
            at: now,
            hold: hold.clone(),
        });
        // The slot this send used: its scheduled time, or later if nobody
        // wanted to send then (an idle limiter does not bank sends for later).
        // A send made late because its task woke late keeps the schedule.
        let slot = self.next.unwrap_or(now).max(wanted);
        // After a long stall the schedule catches up at most a quarter window:
        // a backlog goes out as one burst, and bursts stay bounded.
        let floor = now.checked_sub(self.catch_up).unwrap_or(slot);
        self.next = Some(slot.max(floor) + self.step);
        hold
    }
}

#[cfg(test)]
#[path = "rate_tests.rs"]
mod tests;
