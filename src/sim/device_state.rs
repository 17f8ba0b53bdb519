//! Device authorization grants (RFC 8628) of the simulated provider: device and user codes,
//! the user's decision, polling with `slow_down` interval growth, expiry and one-time
//! redemption. Pure state with the clock passed in; knows nothing about HTTP or tokens.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::tokens::{CODE_PREFIX, RandomUnavailable, random_bytes, secret};

/// How long a device code and its user code live (RFC 8628 §3.2 `expires_in`).
pub(crate) const DEVICE_CODE_TTL: Duration = Duration::from_secs(600);
/// How much a `slow_down` answer adds to that device code's interval (RFC 8628 §3.5).
pub(crate) const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// RFC 8628 §6.1: consonants only, so that no user code spells a word, and no look-alikes.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;

/// What the device authorization endpoint hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceCodes {
    /// `sim_code_dev_…`, for the polling client only.
    pub(crate) device_code: String,
    /// `ABCD-EFGH`, for the user.
    pub(crate) user_code: String,
    pub(crate) expires_in: Duration,
    pub(crate) interval: Duration,
}

/// The user's answer on the verification page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Approve(&'static str),
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Decided(Decision),
    Redeemed,
}

#[derive(Debug, Clone)]
struct DeviceGrant {
    /// Normalised: upper case, no separator.
    user_code: String,
    scopes: Vec<String>,
    expires: Instant,
    /// Grows by the slow-down step on every `slow_down`.
    interval: Duration,
    last_poll: Option<Instant>,
    /// Polls still to be answered `slow_down` regardless of timing.
    forced_slow_downs: u32,
    status: Status,
}

/// The answer to one poll of the token endpoint with a device code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Poll {
    /// Unknown or already redeemed: `invalid_grant`.
    Invalid,
    /// `expired_token`.
    Expired,
    /// `slow_down`; the interval has grown.
    SlowDown,
    /// `authorization_pending`.
    Pending,
    /// `access_denied`.
    Denied,
    /// Redeemed now; issue tokens for this user.
    Approved {
        account: &'static str,
        scopes: Vec<String>,
    },
}

/// A user code that is unknown, expired or already decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown, expired or already decided user_code")]
pub(crate) struct UnknownUserCode;

/// Every device grant. Lives behind one mutex in the server state.
#[derive(Debug)]
pub(crate) struct DeviceStore {
    grants: HashMap<String, DeviceGrant>,
    /// Normalised user code → device code.
    by_user: HashMap<String, String>,
    /// Lifetime of new device codes; tests shorten it.
    pub(crate) ttl: Duration,
    /// Interval growth per `slow_down`; tests shorten it.
    pub(crate) slow_down_step: Duration,
    /// How many initial polls of each device code get `slow_down` (a busy provider).
    pub(crate) forced_slow_downs: u32,
}

impl Default for DeviceStore {
    fn default() -> Self {
        DeviceStore {
            grants: HashMap::new(),
            by_user: HashMap::new(),
            ttl: DEVICE_CODE_TTL,
            slow_down_step: SLOW_DOWN_STEP,
            forced_slow_downs: 0,
        }
    }
}

/// Upper case without separators, so `abcd-efgh`, `ABCD EFGH` and `ABCDEFGH` are one code
/// (RFC 8628 §6.1 asks servers to forgive such typing).
fn normalise(user_code: &str) -> String {
    user_code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn random_user_code() -> Result<String, RandomUnavailable> {
    // 256 is not a multiple of 20; the slight bias does not matter for a simulator.
    let raw = random_bytes::<USER_CODE_LEN>()?;
    Ok(raw
        .iter()
        .map(|b| USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()] as char)
        .collect())
}

/// `ABCDEFGH` → `ABCD-EFGH`.
fn display(user_code: &str) -> String {
    let (a, b) = user_code.split_at(user_code.len() / 2);
    format!("{a}-{b}")
}

impl DeviceStore {
    /// Starts a device grant for `scopes`, polled no faster than `interval`.
    pub(crate) fn issue(
        &mut self,
        scopes: Vec<String>,
        interval: Duration,
        now: Instant,
    ) -> Result<DeviceCodes, RandomUnavailable> {
        self.forget_stale(now);
        let mut user_code = random_user_code()?;
        while self.by_user.contains_key(&user_code) {
            user_code = random_user_code()?;
        }
        let device_code = secret(&format!("{CODE_PREFIX}dev_"))?;
        self.by_user.insert(user_code.clone(), device_code.clone());
        self.grants.insert(
            device_code.clone(),
            DeviceGrant {
                user_code: user_code.clone(),
                scopes,
                expires: now + self.ttl,
                interval,
                last_poll: None,
                forced_slow_downs: self.forced_slow_downs,
                status: Status::Pending,
            },
        );
        Ok(DeviceCodes {
            device_code,
            user_code: display(&user_code),
            expires_in: self.ttl,
            interval,
        })
    }

    /// Records the user's decision on a pending, unexpired user code.
    pub(crate) fn decide(
        &mut self,
        user_code: &str,
        decision: Decision,
        now: Instant,
    ) -> Result<(), UnknownUserCode> {
        let grant = self
            .by_user
            .get(&normalise(user_code))
            .and_then(|dc| self.grants.get_mut(dc))
            .filter(|g| g.status == Status::Pending && now < g.expires)
            .ok_or(UnknownUserCode)?;
        grant.status = Status::Decided(decision);
        Ok(())
    }

    /// One poll of the token endpoint. Every poll, even a refused one, counts as the previous
    /// poll for the next interval check; the first poll is never too early.
    pub(crate) fn poll(&mut self, device_code: &str, now: Instant) -> Poll {
        let step = self.slow_down_step;
        let Some(grant) = self.grants.get_mut(device_code) else {
            return Poll::Invalid;
        };
        if grant.status == Status::Redeemed {
            return Poll::Invalid;
        }
        if now >= grant.expires {
            return Poll::Expired;
        }
        let mut too_fast = grant
            .last_poll
            .is_some_and(|last| now.saturating_duration_since(last) < grant.interval);
        if grant.forced_slow_downs > 0 {
            grant.forced_slow_downs -= 1;
            too_fast = true;
        }
        grant.last_poll = Some(now);
        if too_fast {
            grant.interval += step;
            return Poll::SlowDown;
        }
        match grant.status {
            Status::Pending => Poll::Pending,
            Status::Decided(Decision::Deny) => Poll::Denied,
            Status::Decided(Decision::Approve(account)) => {
                grant.status = Status::Redeemed;
                Poll::Approved {
                    account,
                    scopes: grant.scopes.clone(),
                }
            }
            Status::Redeemed => Poll::Invalid,
        }
    }

    /// Drops grants that expired more than one lifetime ago; until then a poll still learns
    /// `expired_token` rather than `invalid_grant`.
    fn forget_stale(&mut self, now: Instant) {
        let ttl = self.ttl;
        let by_user = &mut self.by_user;
        self.grants.retain(|_, g| {
            let keep = now < g.expires + ttl;
            if !keep {
                by_user.remove(&g.user_code);
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn issue(store: &mut DeviceStore, t0: Instant) -> DeviceCodes {
        store.issue(vec!["profile".into()], 300 * MS, t0).unwrap()
    }

    #[test]
    fn codes_have_the_documented_shapes() {
        let mut store = DeviceStore::default();
        let codes = issue(&mut store, Instant::now());
        assert!(codes.device_code.starts_with("sim_code_dev_"), "{codes:?}");
        assert_eq!(codes.device_code.len(), "sim_code_dev_".len() + 32);
        let uc = codes.user_code.as_bytes();
        assert_eq!(uc.len(), 9);
        assert_eq!(uc[4], b'-');
        assert!(
            uc.iter()
                .enumerate()
                .all(|(i, b)| i == 4 || USER_CODE_ALPHABET.contains(b)),
            "{codes:?}"
        );
        assert_eq!(codes.expires_in, Duration::from_secs(600));
        assert_eq!(codes.interval, 300 * MS);
    }

    #[test]
    fn slow_down_grows_the_interval_by_five_seconds_each_time() {
        let mut store = DeviceStore::default();
        let t0 = Instant::now();
        let dc = issue(&mut store, t0).device_code;
        assert_eq!(store.poll(&dc, t0), Poll::Pending);
        assert_eq!(store.poll(&dc, t0 + 100 * MS), Poll::SlowDown);
        // After the old 300 ms but before 5.3 s: still too fast, and it grows again.
        assert_eq!(store.poll(&dc, t0 + 500 * MS), Poll::SlowDown);
        // 10.3 s is required now; 10.2 s after the poll at 0.5 s is too early.
        assert_eq!(store.poll(&dc, t0 + 10_700 * MS), Poll::SlowDown);
        // 15.3 s now.
        assert_eq!(store.poll(&dc, t0 + 25_999 * MS), Poll::SlowDown);
        // 20.3 s now; exactly the interval is soon enough.
        assert_eq!(store.poll(&dc, t0 + 46_299 * MS), Poll::Pending);
        assert_eq!(store.poll(&dc, t0 + 66_599 * MS), Poll::Pending);
    }

    #[test]
    fn approval_is_redeemed_once_and_user_codes_forgive_typing() {
        let mut store = DeviceStore::default();
        let t0 = Instant::now();
        let codes = issue(&mut store, t0);
        let typed = codes.user_code.to_ascii_lowercase().replace('-', " ");
        store
            .decide(&typed, Decision::Approve("globex"), t0)
            .unwrap();
        // A decided code cannot be decided again.
        assert_eq!(
            store.decide(&codes.user_code, Decision::Deny, t0),
            Err(UnknownUserCode)
        );
        assert_eq!(
            store.poll(&codes.device_code, t0),
            Poll::Approved {
                account: "globex",
                scopes: vec!["profile".into()]
            }
        );
        assert_eq!(store.poll(&codes.device_code, t0 + 400 * MS), Poll::Invalid);
        assert_eq!(store.poll("sim_code_dev_nope", t0), Poll::Invalid);
        assert_eq!(
            store.decide("ZZZZ-ZZZZ", Decision::Deny, t0),
            Err(UnknownUserCode)
        );
    }

    #[test]
    fn denial_and_expiry() {
        let mut store = DeviceStore::default();
        let t0 = Instant::now();
        let denied = issue(&mut store, t0);
        store.decide(&denied.user_code, Decision::Deny, t0).unwrap();
        assert_eq!(store.poll(&denied.device_code, t0), Poll::Denied);
        assert_eq!(store.poll(&denied.device_code, t0 + 400 * MS), Poll::Denied);
        assert_eq!(
            store.poll(&denied.device_code, t0 + Duration::from_secs(600)),
            Poll::Expired
        );

        let late = issue(&mut store, t0);
        let after = t0 + Duration::from_secs(600);
        assert_eq!(
            store.decide(&late.user_code, Decision::Approve("globex"), after),
            Err(UnknownUserCode)
        );
        assert_eq!(store.poll(&late.device_code, after), Poll::Expired);
        // Stale grants are forgotten one lifetime after expiry.
        issue(&mut store, t0 + Duration::from_secs(1200));
        assert_eq!(
            store.poll(&late.device_code, t0 + Duration::from_secs(1200)),
            Poll::Invalid
        );
    }
}
