//! An exact timer for the simulated latency: tasks wake at their deadline, not at the next
//! millisecond tick.
//!
//! tokio's timer rounds every deadline up to its 1 ms tick and is only looked at when a worker
//! parks, so a `--latency-ms 20` answer took 21.5–22.5 ms (measured with hey): the simulator
//! answered 8–12 % slower than it was asked to, and every client's "ideal" was out of reach.
//! Here one thread sleeps until the earliest deadline (the kernel's high-resolution timer,
//! tens of microseconds late at most) and wakes the tasks that are due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use tokio::sync::oneshot;

/// Wakes tasks at exact instants. The thread starts on first use and stops when the timer is
/// dropped (a simulator shut down leaves no thread behind).
pub(crate) struct ExactTimer {
    shared: Arc<Shared>,
    thread: OnceLock<()>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    due: BinaryHeap<Reverse<Due>>,
    /// Ties between equal deadlines are broken by arrival order.
    seq: u64,
    closed: bool,
}

struct Due {
    at: Instant,
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl std::fmt::Debug for ExactTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactTimer")
            .field("waiting", &self.shared.lock().due.len())
            .finish()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic cannot leave a heap of deadlines inconsistent: a poisoned lock is reused.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The timer thread: wakes whatever is due, then sleeps until the next deadline (or a new,
    /// earlier one arrives).
    fn run(&self) {
        let mut state = self.lock();
        while !state.closed {
            let now = Instant::now();
            while state.due.peek().is_some_and(|d| d.0.at <= now) {
                if let Some(Reverse(d)) = state.due.pop() {
                    // The task may be gone (its request was cancelled): nothing to wake.
                    let _ = d.wake.send(());
                }
            }
            state = match state.due.peek().map(|d| d.0.at - now) {
                Some(wait) => {
                    self.changed
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

impl ExactTimer {
    pub(crate) fn new() -> ExactTimer {
        ExactTimer {
            shared: Arc::new(Shared::default()),
            thread: OnceLock::new(),
        }
    }

    /// Waits until `at` (at once if it has passed).
    pub(crate) async fn sleep_until(&self, at: Instant) {
        if at <= Instant::now() {
            return;
        }
        self.thread.get_or_init(|| {
            let shared = self.shared.clone();
            // Without its thread the timer falls back to tokio's (below).
            let _ = std::thread::Builder::new()
                .name("sim-timer".into())
                .spawn(move || shared.run());
        });
        let (wake, woken) = oneshot::channel();
        {
            let mut state = self.shared.lock();
            let seq = state.seq;
            state.seq += 1;
            let earliest = state.due.peek().is_none_or(|d| at < d.0.at);
            state.due.push(Reverse(Due { at, seq, wake }));
            if earliest {
                self.shared.changed.notify_one();
            }
        }
        if woken.await.is_err() {
            // The thread could not start or has stopped: never answer early.
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

impl Drop for ExactTimer {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn tasks_wake_at_their_deadline_never_before_and_in_deadline_order() {
        let timer = Arc::new(ExactTimer::new());
        let t0 = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        // Registered out of order: 60, 20, 40, 20 ms.
        let tasks: Vec<_> = [(0u32, 60u64), (1, 20), (2, 40), (3, 20)]
            .into_iter()
            .map(|(id, ms)| {
                let (timer, order) = (timer.clone(), order.clone());
                tokio::spawn(async move {
                    let at = t0 + Duration::from_millis(ms);
                    timer.sleep_until(at).await;
                    let woke = Instant::now();
                    assert!(woke >= at, "task {id} woke {:?} early", at - woke);
                    order.lock().unwrap().push(id);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // One runtime thread runs woken tasks in the order they were woken: by deadline, equal
        // deadlines in the order they were registered.
        assert_eq!(*order.lock().unwrap(), [1, 3, 2, 0]);
    }

    #[tokio::test]
    async fn a_passed_deadline_is_ready_at_once_without_a_thread() {
        let timer = ExactTimer::new();
        timer.sleep_until(Instant::now()).await;
        assert!(timer.thread.get().is_none());
    }

    #[tokio::test]
    async fn dropping_the_timer_stops_its_thread() {
        let timer = ExactTimer::new();
        timer
            .sleep_until(Instant::now() + Duration::from_millis(5))
            .await;
        let shared = Arc::downgrade(&timer.shared);
        drop(timer);
        // The thread holds the other reference until it has seen `closed` and returned.
        for _ in 0..500 {
            if shared.upgrade().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the timer thread is still running 5 s after the timer was dropped");
    }
}
