//! Crash injection for the crash-safety tests, compiled into debug builds
//! only: `DRIFTWATCH_TEST_KILL_AT=<point>[:<n>]` makes the process SIGKILL
//! itself the `n`-th time (default: the first) it reaches `<point>`.
//!
//! Points, in the order a refresh passes them: `before-request` (the marker is
//! in the store, nothing sent), `in-flight` (the request was sent; the kill
//! comes [`IN_FLIGHT_DELAY`] later from a timer, while the answer is awaited),
//! `after-answer` (the answer is journaled, the store not yet rewritten),
//! `store-write` (the new store is in its temp file, fsync'd, not renamed) and
//! `after-store-write` (the store holds the answer, the journal is not yet
//! emptied). In release builds every call is a no-op and the variable is never read.

use std::time::Duration;

/// How long after sending an `in-flight` kill strikes.
pub const IN_FLIGHT_DELAY: Duration = Duration::from_millis(10);

/// The variable naming the kill point.
pub const VAR: &str = "DRIFTWATCH_TEST_KILL_AT";

/// Kills the process here when [`VAR`] names `name` and this is its `n`-th visit.
pub fn point(name: &str) {
    #[cfg(debug_assertions)]
    if armed(name) {
        die();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// For `in-flight`: when [`VAR`] names it (and this is its `n`-th visit),
/// starts a timer that kills the process [`IN_FLIGHT_DELAY`] from now.
pub fn in_flight() {
    #[cfg(debug_assertions)]
    if armed("in-flight") {
        std::thread::spawn(|| {
            std::thread::sleep(IN_FLIGHT_DELAY);
            die();
        });
    }
}

#[cfg(debug_assertions)]
fn armed(name: &str) -> bool {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    static SPEC: OnceLock<Option<(String, u32)>> = OnceLock::new();
    static VISITS: AtomicU32 = AtomicU32::new(0);
    let spec = SPEC.get_or_init(|| {
        let raw = std::env::var(VAR).ok()?;
        let (point, nth) = match raw.split_once(':') {
            Some((p, n)) => (p.to_string(), n.parse().ok()?),
            None => (raw, 1),
        };
        Some((point, nth))
    });
    match spec {
        Some((point, nth)) if point == name => VISITS.fetch_add(1, Ordering::SeqCst) + 1 == *nth,
        _ => false,
    }
}

#[cfg(debug_assertions)]
fn die() -> ! {
    #[cfg(unix)]
    // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    // SIGKILL is delivered asynchronously; never run on meanwhile.
    std::process::abort()
}
