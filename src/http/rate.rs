//! The per-provider request rate: a token bucket awaited before every request.
//!
//! Knows nothing about retries, responses or what a request is for.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;

/// At most `requests` requests per `per`, spread evenly (no bursts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: NonZeroU32,
    pub per: Duration,
}

/// Awaited before every request of one provider; `None` rate means no limit.
pub(crate) struct Limiter {
    bucket: Option<DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limited", &self.bucket.is_some())
            .finish()
    }
}

impl Limiter {
    pub(crate) fn new(rate: Option<Rate>) -> Self {
        // A burst of one keeps the rate true over every window, not just on
        // average: providers count requests in sliding windows.
        let bucket = rate
            .and_then(|r| Quota::with_period(r.per / r.requests.get()))
            .map(RateLimiter::direct);
        Limiter { bucket }
    }

    /// Waits until the bucket allows one more request.
    pub(crate) async fn acquire(&self) {
        if let Some(bucket) = &self.bucket {
            bucket.until_ready().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn no_rate_never_waits() {
        let limiter = Limiter::new(None);
        let t0 = Instant::now();
        for _ in 0..1000 {
            limiter.acquire().await;
        }
        assert!(t0.elapsed() < Duration::from_millis(500));
    }
}
