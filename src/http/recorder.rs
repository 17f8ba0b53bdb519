//! Collects the redacted exchanges of a run and hands out their ids.
//!
//! Shared by every client of a run; knows nothing about sending or redacting.

use crate::model::Exchange;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Collects the exchanges of a run; cheap to clone, shared by all clients.
#[derive(Debug, Clone, Default)]
pub struct ExchangeRecorder {
    pub(crate) exchanges: Arc<Mutex<Vec<Exchange>>>,
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
        self.lock().push(exchange);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Exchange>> {
        // A panic elsewhere must not lose the evidence gathered so far.
        self.exchanges.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes and returns all exchanges recorded so far, sorted by id.
    pub fn take(&self) -> Vec<Exchange> {
        let mut all = std::mem::take(&mut *self.lock());
        sort_by_id(&mut all);
        all
    }

    /// A copy of all exchanges recorded so far, sorted by id.
    pub fn snapshot(&self) -> Vec<Exchange> {
        let mut all = self.lock().clone();
        sort_by_id(&mut all);
        all
    }
}

fn sort_by_id(exchanges: &mut [Exchange]) {
    // `x10000` sorts after `x9999`: shorter ids are smaller.
    exchanges.sort_by(|a, b| (a.id.len(), &a.id).cmp(&(b.id.len(), &b.id)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_sorts_ids_numerically() {
        let r = ExchangeRecorder::new();
        let ids: Vec<String> = (0..3).map(|_| r.next_id()).collect();
        assert_eq!(ids, vec!["x0001", "x0002", "x0003"]);
        r.counter.store(9_999, Ordering::SeqCst);
        assert_eq!(r.next_id(), "x10000");
    }
}
