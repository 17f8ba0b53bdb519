//! When a finished attempt is tried again, and after how long.
//!
//! Pure decisions over one attempt's outcome; knows nothing about sending,
//! recording or OAuth beyond the `token:` purpose prefix.

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use reqwest::Method;
use std::time::Duration;

/// What one attempt ended with, as far as retrying is concerned.
pub(crate) enum Outcome<'a> {
    /// A response with this status and these (lowercase-named) headers.
    Status(u16, &'a [(String, String)]),
    /// No response: the connection failed, timed out or broke.
    Failed { class: &'static str },
    /// A failure that another attempt cannot fix (bad URL, body too large…).
    Final,
}

/// Why the next attempt is made, and how it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Retry {
    /// The server said when: wait exactly this long (already capped).
    After { wait: Duration, reason: String },
    /// Wait the next jittered backoff delay.
    Backoff { reason: String },
}

/// Decides whether to retry. GET and HEAD are retried on 429, 5xx and
/// connection failures (waiting a 429's or 503's `Retry-After` when given); a token request (`token:` purpose) only on 429, which
/// means the server did not process it, so its refresh token is unspent. Any
/// other POST is never retried: its first attempt may have had an effect.
pub(crate) fn decide(
    method: &Method,
    purpose: &str,
    outcome: &Outcome<'_>,
    max_wait: Duration,
    now: DateTime<Utc>,
) -> Option<Retry> {
    let idempotent = *method == Method::GET || *method == Method::HEAD;
    match outcome {
        Outcome::Status(429, headers) if idempotent || purpose.starts_with("token:") => {
            let reason = "status 429".to_string();
            Some(match server_wait(headers, now) {
                Some(wait) => Retry::After {
                    wait: wait.min(max_wait),
                    reason,
                },
                None => Retry::Backoff { reason },
            })
        }
        Outcome::Status(status @ (500 | 502 | 503 | 504), headers) if idempotent => {
            let reason = format!("status {status}");
            // RFC 9110 §10.2.3: a 503's Retry-After says when the service is back.
            let wait = (*status == 503)
                .then(|| retry_after(headers, now))
                .flatten();
            Some(match wait {
                Some(wait) => Retry::After {
                    wait: wait.min(max_wait),
                    reason,
                },
                None => Retry::Backoff { reason },
            })
        }
        Outcome::Failed { class } if idempotent => Some(Retry::Backoff {
            reason: (*class).to_string(),
        }),
        _ => None,
    }
}

/// The wait a 429 asks for: `Retry-After` (seconds or HTTP-date), else
/// `X-RateLimit-Reset` (epoch seconds, or seconds from now when < 10^9).
/// A time in the past means no wait.
pub(crate) fn server_wait(headers: &[(String, String)], now: DateTime<Utc>) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let until = |at: DateTime<Utc>| (at - now).to_std().unwrap_or(Duration::ZERO);
    if let Some(wait) = retry_after(headers, now) {
        return Some(wait);
    }
    let v = header("x-ratelimit-reset")?;
    let n: u64 = v.parse().ok()?;
    if n < 1_000_000_000 {
        return Some(Duration::from_secs(n));
    }
    let at = DateTime::from_timestamp(i64::try_from(n).ok()?, 0)?;
    Some(until(at))
}

/// The wait of a `Retry-After` header: delay seconds or an HTTP-date.
fn retry_after(headers: &[(String, String)], now: DateTime<Utc>) -> Option<Duration> {
    let v = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
        .map(|(_, v)| v.trim())?;
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Bounded exponential backoff with full jitter (each wait uniform in
/// `[0, delay]`): retrying clients then spread out instead of hitting a
/// recovering server in lockstep.
pub(crate) struct Backoff {
    delays: backon::ExponentialBackoff,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration, retries: u32) -> Self {
        // backon's own jitter adds to the delay; full jitter replaces it, so
        // backon supplies only the capped exponential schedule.
        let delays = ExponentialBuilder::default()
            .with_min_delay(base)
            .with_factor(2.0)
            .with_max_delay(max)
            .with_max_times(usize::try_from(retries).unwrap_or(usize::MAX))
            .build();
        Backoff { delays, max }
    }

    /// The next un-jittered delay (the cap once the schedule is spent).
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.delays.next().unwrap_or(self.max)
    }

    /// The next delay with full jitter applied.
    pub(crate) fn next_wait(&mut self) -> Duration {
        full_jitter(self.next_delay())
    }
}

fn full_jitter(delay: Duration) -> Duration {
    // Without randomness, waiting the full delay is still correct, only less spread.
    match getrandom::u64() {
        Ok(r) => delay.mul_f64(r as f64 / u64::MAX as f64),
        Err(_) => delay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("valid")
    }

    const CAP: Duration = Duration::from_secs(60);

    #[test]
    fn retry_after_seconds_and_http_date() {
        assert_eq!(
            server_wait(&h(&[("retry-after", "7")]), now()),
            Some(Duration::from_secs(7))
        );
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        assert_eq!(
            server_wait(
                &h(&[("Retry-After", "Tue, 14 Nov 2023 22:13:50 GMT")]),
                now()
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            server_wait(
                &h(&[("retry-after", "Tue, 14 Nov 2023 22:00:00 GMT")]),
                now()
            ),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn ratelimit_reset_epoch_or_delta() {
        assert_eq!(
            server_wait(&h(&[("x-ratelimit-reset", "1700000012")]), now()),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            server_wait(&h(&[("X-RateLimit-Reset", "5")]), now()),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            server_wait(&h(&[("x-ratelimit-reset", "1600000000")]), now()),
            Some(Duration::ZERO)
        );
        // Retry-After wins over the reset time.
        assert_eq!(
            server_wait(
                &h(&[("x-ratelimit-reset", "9"), ("retry-after", "2")]),
                now()
            ),
            Some(Duration::from_secs(2))
        );
        assert_eq!(server_wait(&h(&[("retry-after", "soon")]), now()), None);
        assert_eq!(server_wait(&[], now()), None);
    }

    #[test]
    fn decisions_by_method_purpose_and_outcome() {
        let ra = h(&[("retry-after", "120")]);
        let none: Vec<(String, String)> = Vec::new();
        let get = |o: &Outcome<'_>| decide(&Method::GET, "endpoint:x", o, CAP, now());
        assert_eq!(
            get(&Outcome::Status(429, &ra)),
            Some(Retry::After {
                wait: CAP,
                reason: "status 429".into()
            })
        );
        assert_eq!(
            get(&Outcome::Status(503, &none)),
            Some(Retry::Backoff {
                reason: "status 503".into()
            })
        );
        assert_eq!(
            get(&Outcome::Failed { class: "connect" }),
            Some(Retry::Backoff {
                reason: "connect".into()
            })
        );
        assert_eq!(
            get(&Outcome::Status(503, &h(&[("retry-after", "2")]))),
            Some(Retry::After {
                wait: Duration::from_secs(2),
                reason: "status 503".into()
            })
        );
        // Only a 503 names when the service is back; other 5xx back off.
        assert_eq!(
            get(&Outcome::Status(502, &h(&[("retry-after", "2")]))),
            Some(Retry::Backoff {
                reason: "status 502".into()
            })
        );
        assert_eq!(get(&Outcome::Status(501, &none)), None);
        assert_eq!(get(&Outcome::Status(404, &none)), None);
        assert_eq!(get(&Outcome::Final), None);

        let post = |purpose: &str, o: &Outcome<'_>| decide(&Method::POST, purpose, o, CAP, now());
        assert_eq!(
            post("token:refresh", &Outcome::Status(429, &none)),
            Some(Retry::Backoff {
                reason: "status 429".into()
            })
        );
        assert_eq!(post("token:refresh", &Outcome::Status(503, &none)), None);
        assert_eq!(
            post("token:refresh", &Outcome::Failed { class: "timeout" }),
            None
        );
        assert_eq!(post("endpoint:x", &Outcome::Status(429, &ra)), None);
        assert_eq!(post("endpoint:x", &Outcome::Status(500, &none)), None);
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(200), Duration::from_secs(5), 7);
        let delays: Vec<u128> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, vec![200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    }

    #[test]
    fn full_jitter_stays_within_the_delay() {
        let delay = Duration::from_millis(800);
        for _ in 0..200 {
            assert!(full_jitter(delay) <= delay);
        }
    }
}
