//! `--shard i/n`: which connections of a suite a shard probes, and which shard
//! runs the provider-wide probes. Pure: knows nothing about HTTP or baselines.
//!
//! A connection's shard is a stable hash of `provider/connection-id` (sha256,
//! first 8 bytes, mod n), so adding a connection never moves another one. Two
//! exceptions keep a merged run equal to an unsharded one:
//! - provider-wide probes (discovery metadata, the token error probe, suite
//!   configuration errors) run in shard 1 only;
//! - the connections the permissions probe uses (the account whose grant covers
//!   the most scope sets, the first connection granted exactly each scope set,
//!   and the disposable connection narrowed to a set nobody holds) are pinned
//!   to shard 1, because the probe compares their answers with each other.

use crate::suite::{Connection, Suite};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The shard that runs provider-wide probes and the permissions probe.
pub const PROVIDER_WIDE_SHARD: u32 = 1;

/// One shard of a run: `index` of `count`, 1-based (`1/8` … `8/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Why a `--shard` value is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("`{0}` is not a shard: expected `i/n` with 1 <= i <= n, e.g. `1/8`")]
    Syntax(String),
    #[error("shard `{0}` is out of range: the index must be between 1 and the count")]
    Range(String),
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(s.to_string());
        let (i, n) = s.trim().split_once('/').ok_or_else(syntax)?;
        let index: u32 = i.trim().parse().map_err(|_| syntax())?;
        let count: u32 = n.trim().parse().map_err(|_| syntax())?;
        if count == 0 || index == 0 || index > count {
            return Err(ShardError::Range(s.to_string()));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// True when this shard runs the provider-wide probes.
    pub fn is_provider_wide(self) -> bool {
        self.index == PROVIDER_WIDE_SHARD
    }
}

/// The hashed shard (1-based) of `provider/connection`, ignoring pins.
pub fn hashed_shard(provider: &str, connection: &str, count: u32) -> u32 {
    let digest = Sha256::digest(format!("{provider}/{connection}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32 + 1
}

/// The shard (1-based) of every connection of `s`, in suite order.
pub fn assign(s: &Suite, count: u32) -> Vec<u32> {
    let pinned = permission_connections(s);
    s.connections
        .iter()
        .map(|c| {
            if pinned.contains(c.id.value.as_str()) {
                PROVIDER_WIDE_SHARD
            } else {
                hashed_shard(&s.provider.name.value, &c.id.value, count)
            }
        })
        .collect()
}

/// The suite as one shard sees it: only the connections it owns.
pub(crate) fn restrict(s: &Suite, shard: Shard) -> Suite {
    let owners = assign(s, shard.count);
    let mut out = s.clone();
    out.connections = s
        .connections
        .iter()
        .zip(owners)
        .filter(|(_, owner)| *owner == shard.index)
        .map(|(c, _)| c.clone())
        .collect();
    out
}

/// The scopes a connection was granted: its scope set, else its auth's scopes.
pub(crate) fn scopes_of(s: &Suite, conn: &Connection) -> Vec<String> {
    conn.scope_set
        .as_ref()
        .and_then(|name| s.scope_sets.get(&name.value))
        .map(|set| set.value.clone())
        .unwrap_or_else(|| s.auth_of(conn).scopes.clone())
}

/// Ids of the connections the permissions probe would use when every
/// connection gets a token: the same choice `permissions::gather` makes
/// (exact holders first, then disposable grants; the probe account preferred).
/// Grants narrowed because the baseline shows their old refresh token stays
/// valid are known only at run time: the probe account is pinned, the others
/// are not, so a shard run may leave such a set `not-probed`.
fn permission_connections(s: &Suite) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    if s.scope_sets.is_empty() {
        return out;
    }
    let set_of = |v: &[String]| -> BTreeSet<String> { v.iter().cloned().collect() };
    let covers = |c: &Connection| {
        let own = set_of(&scopes_of(s, c));
        s.scope_sets
            .values()
            .filter(|set| set_of(&set.value).is_subset(&own))
            .count()
    };
    let Some(probe) = s
        .connections
        .iter()
        .max_by_key(|c| (covers(c), c.disposable, std::cmp::Reverse(c.pos)))
    else {
        return out;
    };
    out.insert(probe.id.value.as_str());
    let probe_first = |c: &&Connection| (c.id.value != probe.id.value, c.pos);
    for (name, set) in &s.scope_sets {
        let wanted = set_of(&set.value);
        let serves = |c: &&Connection| super::permissions::serves(s, name, c);
        let holder = s
            .connections
            .iter()
            .filter(serves)
            .filter(|c| set_of(&scopes_of(s, c)) == wanted)
            .min_by_key(probe_first);
        let narrowed = || {
            s.connections
                .iter()
                .filter(|c| c.disposable)
                .filter(serves)
                .filter(|c| {
                    let own = set_of(&scopes_of(s, c));
                    wanted.is_subset(&own) && wanted != own
                })
                .min_by_key(probe_first)
        };
        if let Some(c) = holder.or_else(narrowed) {
            out.insert(c.id.value.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_syntax_and_range_are_checked() {
        assert_eq!("1/8".parse(), Ok(Shard { index: 1, count: 8 }));
        assert_eq!(" 8/8 ".parse(), Ok(Shard { index: 8, count: 8 }));
        assert_eq!("0/8".parse::<Shard>(), Err(ShardError::Range("0/8".into())));
        assert_eq!("9/8".parse::<Shard>(), Err(ShardError::Range("9/8".into())));
        assert_eq!("1/0".parse::<Shard>(), Err(ShardError::Range("1/0".into())));
        for bad in ["x/y", "1", "1/", "/8", "-1/8", "1/8/2"] {
            assert_eq!(
                bad.parse::<Shard>(),
                Err(ShardError::Syntax(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(Shard { index: 3, count: 8 }.to_string(), "3/8");
    }

    #[test]
    fn hashing_is_stable_across_processes() {
        // Pinned values: a change here moves every connection of every user.
        assert_eq!(hashed_shard("demo", "acme-corp", 1), 1);
        let got: Vec<u32> = ["acme-corp", "globex", "initech", "umbrella"]
            .iter()
            .map(|c| hashed_shard("demo", c, 8))
            .collect();
        let again: Vec<u32> = ["acme-corp", "globex", "initech", "umbrella"]
            .iter()
            .map(|c| hashed_shard("demo", c, 8))
            .collect();
        assert_eq!(got, again);
        let digest = Sha256::digest(b"demo/acme-corp");
        let mut b = [0u8; 8];
        b.copy_from_slice(&digest[..8]);
        assert_eq!(got[0], (u64::from_be_bytes(b) % 8) as u32 + 1);
    }

    #[test]
    fn every_connection_lands_in_exactly_one_shard() {
        let ids: Vec<String> = (0..200).map(|i| format!("conn-{i}")).collect();
        for n in 1..=8u32 {
            let mut seen = vec![0u32; n as usize];
            for id in &ids {
                let s = hashed_shard("p", id, n);
                assert!((1..=n).contains(&s), "{id} -> {s} of {n}");
                seen[(s - 1) as usize] += 1;
            }
            assert_eq!(seen.iter().sum::<u32>(), 200);
            // 200 ids over ≤ 8 shards: an empty shard would mean a broken hash.
            assert!(seen.iter().all(|&c| c > 0), "n={n}: {seen:?}");
        }
    }

    #[test]
    fn adding_a_connection_moves_no_other() {
        let before: Vec<u32> = (0..50)
            .map(|i| hashed_shard("p", &format!("c{i}"), 5))
            .collect();
        let after: Vec<u32> = (0..51)
            .map(|i| hashed_shard("p", &format!("c{i}"), 5))
            .collect();
        assert_eq!(before[..], after[..50]);
    }

    /// The demo suite with `extra` more full-scope connections.
    fn demo_suite(extra: usize) -> Suite {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::demo::write_demo_suite(dir.path()).unwrap();
        let more: String = (0..extra)
            .map(|i| format!("  - id: extra-{i}\n    scope_set: full\n"))
            .collect();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("endpoints:\n", &format!("{more}endpoints:\n"));
        std::fs::write(&path, text).unwrap();
        let ctx = crate::context::Context::empty(dir.path())
            .with_var("SIM_BASE_URL", "http://127.0.0.1:1")
            .with_var("SIM_CLIENT_ID", "id")
            .with_var("SIM_CLIENT_SECRET", "secret");
        crate::suite::load_suite(&path, &ctx, crate::suite::LoadMode::Run)
            .unwrap()
            .suite
    }

    #[test]
    fn restricted_suites_cover_every_connection_once_and_pin_the_permission_account() {
        let s = demo_suite(20);
        for n in 1..=8u32 {
            let mut seen: Vec<String> = Vec::new();
            for i in 1..=n {
                let part = restrict(&s, Shard { index: i, count: n });
                seen.extend(part.connections.iter().map(|c| c.id.value.clone()));
                // umbrella holds `full`, which covers every scope set, and is disposable:
                // the probe account.
                let has_probe = part.connections.iter().any(|c| c.id.value == "umbrella");
                assert_eq!(has_probe, i == PROVIDER_WIDE_SHARD, "n={n} i={i}");
            }
            seen.sort();
            let mut all: Vec<String> = s.connections.iter().map(|c| c.id.value.clone()).collect();
            all.sort();
            assert_eq!(seen, all, "n={n}");
        }
        // globex holds exactly `basic`; `public-only` is narrowed from umbrella.
        assert_eq!(
            permission_connections(&s).into_iter().collect::<Vec<_>>(),
            vec!["globex", "umbrella"]
        );
    }

    #[test]
    fn a_scope_set_the_probe_account_cannot_reach_pins_its_holder() {
        let mut s = demo_suite(0);
        // `globex` (basic) now holds a scope `full` lacks: only globex can probe `basic`.
        let basic = s.scope_sets.get_mut("basic").unwrap();
        basic.value.push("billing:write".into());
        assert_eq!(
            permission_connections(&s).into_iter().collect::<Vec<_>>(),
            vec!["globex", "umbrella"]
        );
        assert_eq!(assign(&s, 8)[1], PROVIDER_WIDE_SHARD);
    }
}
