//! The token store as a state file (`SimOptions::state_file`), so a restarted simulator keeps
//! the grants it issued. Tokens appear only as the SHA-256 hashes the store keys them by;
//! instants become milliseconds since the Unix epoch. Authorization codes are not kept.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{AccessGrant, Family, GrantEnd, RefreshGrant, TokenStore, Withheld};

/// Format number of the state file.
const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Saved {
    format: u32,
    next_family: u64,
    families: Vec<SavedFamily>,
    refresh: Vec<SavedRefresh>,
    access: Vec<SavedAccess>,
    presented: Vec<String>,
    withheld: Option<SavedWithheld>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedFamily {
    grant: u64,
    account: String,
    refreshes: u32,
    token_requests: u64,
    replays: u64,
    ended: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedRefresh {
    sha256: String,
    account: String,
    scopes: Vec<String>,
    grant: u64,
    issued_ms: i64,
    rotated_ms: Option<i64>,
    last_used_ms: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedAccess {
    sha256: String,
    account: Option<String>,
    scopes: Vec<String>,
    expires_ms: i64,
    grant: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedWithheld {
    since_ms: i64,
    ttl_ms: u64,
}

/// A state file this simulator cannot use.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("not a simulator state file: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("unsupported state file format {0} (expected {FORMAT})")]
    Format(u32),
}

/// Converts between the monotonic clock and wall-clock milliseconds, at one moment.
#[derive(Clone, Copy)]
struct Clock {
    now: Instant,
    now_ms: i64,
}

impl Clock {
    fn new() -> Clock {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Clock {
            now: Instant::now(),
            now_ms,
        }
    }

    fn ms(self, at: Instant) -> i64 {
        let delta = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        if at <= self.now {
            self.now_ms.saturating_sub(delta(self.now - at))
        } else {
            self.now_ms.saturating_add(delta(at - self.now))
        }
    }

    fn instant(self, ms: i64) -> Instant {
        let diff = Duration::from_millis(ms.abs_diff(self.now_ms));
        if ms <= self.now_ms {
            self.now.checked_sub(diff).unwrap_or(self.now)
        } else {
            self.now + diff
        }
    }
}

fn end_name(e: GrantEnd) -> String {
    e.name().to_owned()
}

fn end_of(name: &str) -> Option<GrantEnd> {
    [GrantEnd::ReuseDetected, GrantEnd::Killed]
        .into_iter()
        .find(|e| e.name() == name)
}

/// The simulated account of a saved slug; entries of unknown accounts are dropped.
fn account(slug: &str) -> Option<&'static str> {
    crate::sim::data::account(slug).map(|a| a.slug)
}

impl TokenStore {
    /// Everything a restarted simulator needs, without a token.
    pub(crate) fn save(&self) -> Saved {
        let clock = Clock::new();
        let mut families: Vec<SavedFamily> = self
            .families
            .iter()
            .map(|(id, f)| SavedFamily {
                grant: *id,
                account: f.account.to_owned(),
                refreshes: f.refreshes,
                token_requests: f.token_requests,
                replays: f.replays,
                ended: f.ended.map(end_name),
            })
            .collect();
        families.sort_by_key(|f| f.grant);
        let mut refresh: Vec<SavedRefresh> = self
            .refresh
            .iter()
            .map(|(k, g)| SavedRefresh {
                sha256: k.clone(),
                account: g.account.to_owned(),
                scopes: g.scopes.clone(),
                grant: g.family,
                issued_ms: clock.ms(g.issued),
                rotated_ms: g.rotated.map(|r| clock.ms(r)),
                last_used_ms: clock.ms(g.last_used),
            })
            .collect();
        refresh.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        let mut access: Vec<SavedAccess> = self
            .access
            .iter()
            .filter(|(_, g)| g.expires > clock.now)
            .map(|(k, g)| SavedAccess {
                sha256: k.clone(),
                account: g.account.map(str::to_owned),
                scopes: g.scopes.clone(),
                expires_ms: clock.ms(g.expires),
                grant: g.family,
            })
            .collect();
        access.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        let mut presented: Vec<String> = self.presented.iter().cloned().collect();
        presented.sort();
        Saved {
            format: FORMAT,
            next_family: self.next_family,
            families,
            refresh,
            access,
            presented,
            withheld: self.withheld.map(|w| SavedWithheld {
                since_ms: clock.ms(w.since),
                ttl_ms: u64::try_from(w.ttl.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    /// The store a saved state describes, with this run's idle lifetime.
    pub(crate) fn restore(
        text: &[u8],
        refresh_idle_ttl: Option<Duration>,
    ) -> Result<TokenStore, LoadError> {
        let saved: Saved = serde_json::from_slice(text)?;
        if saved.format != FORMAT {
            return Err(LoadError::Format(saved.format));
        }
        let clock = Clock::new();
        let mut store = TokenStore::with_refresh_idle_ttl(refresh_idle_ttl);
        store.next_family = saved.next_family;
        for f in saved.families {
            let Some(acct) = account(&f.account) else {
                continue;
            };
            let fam = Family {
                account: acct,
                newest: None,
                refreshes: f.refreshes,
                token_requests: f.token_requests,
                replays: f.replays,
                ended: f.ended.as_deref().and_then(end_of),
            };
            store.next_family = store.next_family.max(f.grant);
            store.families.insert(f.grant, fam);
        }
        for r in saved.refresh {
            let Some(acct) = account(&r.account) else {
                continue;
            };
            let grant = RefreshGrant {
                account: acct,
                scopes: r.scopes,
                family: r.grant,
                issued: clock.instant(r.issued_ms),
                rotated: r.rotated_ms.map(|ms| clock.instant(ms)),
                last_used: clock.instant(r.last_used_ms),
            };
            store.refresh.insert(r.sha256, grant);
        }
        for a in saved.access {
            let acct = match a.account.as_deref() {
                Some(slug) => match account(slug) {
                    Some(acct) => Some(acct),
                    None => continue,
                },
                None => None,
            };
            let grant = AccessGrant {
                account: acct,
                scopes: a.scopes,
                expires: clock.instant(a.expires_ms),
                family: a.grant,
            };
            store.access.insert(a.sha256, grant);
        }
        store.presented = saved.presented.into_iter().collect();
        store.withheld = saved.withheld.map(|w| Withheld {
            since: clock.instant(w.since_ms),
            ttl: Duration::from_millis(w.ttl_ms),
        });
        Ok(store)
    }
}
