//! Secrets and grants of the simulated provider: random values, authorization codes, access and
//! refresh tokens, PKCE. Pure state; knows nothing about HTTP or response shapes.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::options::Rotation;

/// Prefix of every issued access token.
pub(crate) const ACCESS_PREFIX: &str = "sim_at_";
/// Prefix of every issued refresh token.
pub(crate) const REFRESH_PREFIX: &str = "sim_rt_";
/// Prefix of every generated client secret.
pub(crate) const SECRET_PREFIX: &str = "sim_cs_";
/// Prefix of every authorization code.
pub(crate) const CODE_PREFIX: &str = "sim_code_";
/// Every prefix a simulated-provider secret carries: the one list scanners and
/// last-line-of-defence scrubbers use.
pub const SECRET_PREFIXES: [&str; 4] = [ACCESS_PREFIX, REFRESH_PREFIX, SECRET_PREFIX, CODE_PREFIX];

/// How long an authorization code may wait for its exchange.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(60);

const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The operating system's random source failed; the server answers 500.
#[derive(Debug, thiserror::Error)]
#[error("operating system random source failed: {0}")]
pub(crate) struct RandomUnavailable(getrandom::Error);

/// Fills `N` random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], RandomUnavailable> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(RandomUnavailable)?;
    Ok(buf)
}

/// A uniformly random integer in `lo..=hi`; the tiny modulo bias is irrelevant for fake metrics.
pub(crate) fn random_in(lo: u64, hi: u64) -> Result<u64, RandomUnavailable> {
    let x = u64::from_le_bytes(random_bytes::<8>()?);
    Ok(lo + x % (hi - lo + 1))
}

/// `prefix` followed by 32 random URL-safe characters.
pub(crate) fn secret(prefix: &str) -> Result<String, RandomUnavailable> {
    // 256 is a multiple of 64, so masking keeps every character equally likely.
    let raw = random_bytes::<32>()?;
    let mut out = String::with_capacity(prefix.len() + 32);
    out.push_str(prefix);
    out.extend(raw.iter().map(|b| URL_SAFE[usize::from(b & 63)] as char));
    Ok(out)
}

/// A random RFC 4122 version 4 UUID in lowercase hyphenated form.
pub(crate) fn uuid_v4() -> Result<String, RandomUnavailable> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// The S256 code challenge for `verifier` (RFC 7636 §4.2).
pub(crate) fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What a user approved on the consent page, waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub(crate) account: &'static str,
    pub(crate) scopes: Vec<String>,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    issued: Instant,
}

/// Who an access token acts for and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessGrant {
    /// `None` for an app token from `client_credentials`.
    pub(crate) account: Option<&'static str>,
    pub(crate) scopes: Vec<String>,
    expires: Instant,
    /// The user grant it was issued under; `None` for app tokens.
    family: Option<u64>,
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    account: &'static str,
    scopes: Vec<String>,
    /// The user grant (code, password or device approval) this token descends from.
    family: u64,
    /// When it was issued: withheld refresh tokens die `ttl` after this or after withholding
    /// began, whichever is later.
    issued: Instant,
    /// When a refresh replaced this token by a new one, if it did.
    rotated: Option<Instant>,
    /// Issuance or last successful use; the idle clock starts here.
    last_used: Instant,
}

/// Every refresh token descending from one user grant, as far as rotation rules need it,
/// and what the token endpoint did with the grant.
#[derive(Debug)]
struct Family {
    account: &'static str,
    /// The newest refresh token itself; `None` after a reload from a state file, which keeps
    /// hashes only.
    newest: Option<String>,
    refreshes: u32,
    /// Token-endpoint calls about this grant: the one that created it and every refresh
    /// grant presenting one of its refresh tokens, whatever the outcome.
    token_requests: u64,
    /// Refresh grants presenting a refresh token of this grant that had been presented before.
    replays: u64,
    /// Why the grant stopped working, if it did.
    ended: Option<GrantEnd>,
}

/// Why a grant stopped working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantEnd {
    /// A used refresh token was presented again under `reuse-revokes-family`.
    ReuseDetected,
    /// Killed by a control (`Sim::kill_grants`, `POST /_sim/kill-grant`).
    Killed,
}

impl GrantEnd {
    /// The name the admin endpoint answers.
    pub fn name(self) -> &'static str {
        match self {
            GrantEnd::ReuseDetected => "reuse-detected",
            GrantEnd::Killed => "killed",
        }
    }
}

/// What the token endpoint did with one user grant, for tests that must prove a harness
/// spent nothing ("0 grants ended"). Never carries a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantStats {
    /// The grant's number, in order of creation, from 1.
    pub grant: u64,
    /// The account that approved it.
    pub account: &'static str,
    /// Token-endpoint calls about it: the one that created it plus every refresh grant
    /// presenting one of its refresh tokens, whatever the outcome.
    pub token_requests: u64,
    /// Successful refreshes.
    pub refreshes: u32,
    /// Refresh grants presenting one of its refresh tokens a second time or more.
    pub replays: u64,
    /// Why it stopped working; `None` while it works.
    pub ended: Option<GrantEnd>,
}

/// Refresh tokens withheld: refresh answers carry none, and every refresh token dies `ttl`
/// after `since` (or after its issuance, when later).
#[derive(Debug, Clone, Copy)]
struct Withheld {
    since: Instant,
    ttl: Duration,
}

/// Who a control acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// Every user grant (or live access token) of this account.
    Account(&'a str),
    /// The grant of this access or refresh token (or just this access token).
    Token(&'a str),
}

/// How a refresh grant treats the presented token and what it returns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefreshRules {
    pub(crate) rotation: Rotation,
    /// How long a rotated token keeps working under `Rotation::Grace`.
    pub(crate) grace: Duration,
    /// API v2: no profile returns a refresh token any more; the presented one stays valid.
    pub(crate) stop_rotation: bool,
    /// Lifetime of the new access token.
    pub(crate) access_ttl: Duration,
    /// A narrowed refresh rotates into a refresh token scoped to the narrowed request, and
    /// a later wider request is `invalid_scope` (django-oauth-toolkit).
    pub(crate) narrowing: bool,
}

/// Why a code exchange failed; every case is `invalid_grant` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CodeError {
    #[error("authorization code is invalid, expired or already used")]
    Unknown,
    #[error("redirect_uri does not match the authorization request")]
    RedirectMismatch,
    #[error("code_verifier does not match the code_challenge")]
    PkceMismatch,
}

/// Why a refresh grant failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RefreshError {
    #[error("refresh token is invalid")]
    Unknown,
    #[error("refresh token already used")]
    AlreadyUsed,
    #[error("refresh token already used; every token of the grant is revoked")]
    ReuseRevokedGrant,
    #[error("refresh token expired")]
    Expired,
    #[error("requested scope exceeds the granted scope")]
    ScopeNotGranted,
    /// django-oauth-toolkit's words for a refresh asking more than its narrowed token holds.
    #[error("Unable to add extra scopes")]
    ExtraScopes,
    #[error("the grant was revoked")]
    GrantRevoked,
}

/// What a successful grant hands to the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) scopes: Vec<String>,
    /// No refresh token returned, but the presented one stays valid (non-rotating, API v2).
    pub(crate) refresh_kept: bool,
}

/// The key a token is kept under: its SHA-256, hex, so that a saved state file holds no
/// token (as providers keep only hashes of refresh tokens).
fn key(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every live code and token, tokens keyed by [`key`]. Lives behind one mutex in the server
/// state.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    codes: HashMap<String, CodeGrant>,
    access: HashMap<String, AccessGrant>,
    refresh: HashMap<String, RefreshGrant>,
    families: HashMap<u64, Family>,
    next_family: u64,
    /// Every refresh token ever presented, to count replays.
    presented: HashSet<String>,
    /// A refresh token unused for this long is dead; `None` = never.
    refresh_idle_ttl: Option<Duration>,
    /// Refresh tokens withheld since when, and how long the issued ones live on.
    withheld: Option<Withheld>,
}

impl TokenStore {
    /// An empty store whose refresh tokens die after `refresh_idle_ttl` without use.
    pub(crate) fn with_refresh_idle_ttl(refresh_idle_ttl: Option<Duration>) -> TokenStore {
        TokenStore {
            refresh_idle_ttl,
            ..TokenStore::default()
        }
    }

    /// Records an approved authorization and returns its one-time code.
    pub(crate) fn issue_code(
        &mut self,
        account: &'static str,
        scopes: Vec<String>,
        redirect_uri: String,
        code_challenge: String,
    ) -> Result<String, RandomUnavailable> {
        let code = secret(CODE_PREFIX)?;
        let grant = CodeGrant {
            account,
            scopes,
            redirect_uri,
            code_challenge,
            issued: Instant::now(),
        };
        self.codes.insert(code.clone(), grant);
        Ok(code)
    }

    /// Exchanges a code. The code is consumed by the first attempt, successful or not, so a
    /// leaked code cannot be brute-forced against the verifier.
    pub(crate) fn redeem_code(
        &mut self,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        ttl: Duration,
    ) -> Result<Result<Issued, CodeError>, RandomUnavailable> {
        let Some(grant) = self.codes.remove(code) else {
            return Ok(Err(CodeError::Unknown));
        };
        if grant.issued.elapsed() > CODE_TTL {
            return Ok(Err(CodeError::Unknown));
        }
        if redirect_uri != Some(grant.redirect_uri.as_str()) {
            return Ok(Err(CodeError::RedirectMismatch));
        }
        match verifier {
            Some(v) if s256_challenge(v) == grant.code_challenge => {}
            _ => return Ok(Err(CodeError::PkceMismatch)),
        }
        self.issue_pair(grant.account, grant.scopes, ttl).map(Ok)
    }

    /// Issues an access token and a fresh refresh token for a user grant (code, password,
    /// device); the pair starts a new token family.
    pub(crate) fn issue_pair(
        &mut self,
        account: &'static str,
        scopes: Vec<String>,
        ttl: Duration,
    ) -> Result<Issued, RandomUnavailable> {
        self.next_family += 1;
        let family = self.next_family;
        let access_token =
            self.issue_access_in(Some(account), scopes.clone(), ttl, Some(family))?;
        let refresh_token = self.issue_refresh(account, scopes.clone(), family)?;
        Ok(Issued {
            access_token,
            refresh_token: Some(refresh_token),
            scopes,
            refresh_kept: false,
        })
    }

    /// A new refresh token, which becomes its family's newest.
    fn issue_refresh(
        &mut self,
        account: &'static str,
        scopes: Vec<String>,
        family: u64,
    ) -> Result<String, RandomUnavailable> {
        let token = secret(REFRESH_PREFIX)?;
        let grant = RefreshGrant {
            account,
            scopes,
            family,
            issued: Instant::now(),
            rotated: None,
            last_used: Instant::now(),
        };
        self.refresh.insert(key(&token), grant);
        let fam = self.families.entry(family).or_insert(Family {
            account,
            newest: None,
            refreshes: 0,
            token_requests: 1,
            replays: 0,
            ended: None,
        });
        fam.newest = Some(token.clone());
        Ok(token)
    }

    /// Records that `token` was presented to the refresh grant; `true` when it had been
    /// presented before (a replay), whatever happened then.
    /// The presentation also counts as a token-endpoint call of the token's grant.
    pub(crate) fn note_presented(&mut self, token: &str) -> bool {
        let replay = !self.presented.insert(key(token));
        let family = self.refresh.get(&key(token)).map(|g| g.family);
        if let Some(fam) = family.and_then(|f| self.families.get_mut(&f)) {
            fam.token_requests += 1;
            fam.replays += u64::from(replay);
        }
        replay
    }

    /// Runs a refresh grant under `rules`. A narrower `scope` applies to the new access token
    /// only; refresh tokens keep the whole grant, unless `rules.narrowing`, where the new
    /// refresh token holds only the narrowed scope.
    pub(crate) fn refresh(
        &mut self,
        token: &str,
        scope: Option<Vec<String>>,
        rules: RefreshRules,
    ) -> Result<Result<Issued, RefreshError>, RandomUnavailable> {
        let Some(grant) = self.refresh.get(&key(token)) else {
            return Ok(Err(RefreshError::Unknown));
        };
        let (account, grant_scopes, family) = (grant.account, grant.scopes.clone(), grant.family);
        let issued_at = grant.issued;
        if self
            .families
            .get(&family)
            .is_some_and(|f| f.ended == Some(GrantEnd::Killed))
        {
            return Ok(Err(RefreshError::GrantRevoked));
        }
        // A replay of a rotated token inside its grace gets the family's newest token back.
        let mut grace_replay = false;
        if let Some(rotated) = grant.rotated {
            match rules.rotation {
                Rotation::RevokeFamilyOnReuse => {
                    self.revoke_family(family);
                    return Ok(Err(RefreshError::ReuseRevokedGrant));
                }
                Rotation::Grace if rotated.elapsed() < rules.grace => grace_replay = true,
                _ => return Ok(Err(RefreshError::AlreadyUsed)),
            }
        }
        if self
            .refresh_idle_ttl
            .is_some_and(|idle| grant.last_used.elapsed() >= idle)
        {
            return Ok(Err(RefreshError::Expired));
        }
        let withholding = self.withheld.filter(|w| Instant::now() >= w.since);
        if withholding.is_some_and(|w| Instant::now() >= w.since.max(issued_at) + w.ttl) {
            return Ok(Err(RefreshError::Expired));
        }
        let at_scopes = match scope {
            Some(req) if !req.iter().all(|s| grant_scopes.contains(s)) => {
                return Ok(Err(if rules.narrowing {
                    RefreshError::ExtraScopes
                } else {
                    RefreshError::ScopeNotGranted
                }));
            }
            Some(req) => req,
            None => grant_scopes.clone(),
        };
        let Some(fam) = self.families.get_mut(&family) else {
            return Ok(Err(RefreshError::Unknown));
        };
        fam.refreshes += 1;
        let (refreshes, newest) = (fam.refreshes, fam.newest.clone());
        let access_token = self.issue_access_in(
            Some(account),
            at_scopes.clone(),
            rules.access_ttl,
            Some(family),
        )?;
        let refresh_token =
            if rules.stop_rotation || rules.rotation == Rotation::Never || withholding.is_some() {
                None
            } else if grace_replay || (rules.rotation == Rotation::EveryThird && refreshes % 3 != 0)
            {
                // Reloaded from a state file the newest value is unknown; the presented one
                // is valid too in both cases.
                Some(newest.unwrap_or_else(|| token.to_owned()))
            } else {
                let rt_scopes = if rules.narrowing {
                    at_scopes.clone()
                } else {
                    grant_scopes
                };
                Some(self.issue_refresh(account, rt_scopes, family)?)
            };
        let rotated_now = refresh_token.as_deref().is_some_and(|rt| rt != token)
            && !grace_replay
            && matches!(
                rules.rotation,
                Rotation::OneTime | Rotation::Grace | Rotation::RevokeFamilyOnReuse
            );
        if let Some(old) = self.refresh.get_mut(&key(token)) {
            // A token that stays valid restarts its idle clock on every use.
            old.last_used = Instant::now();
            if rotated_now {
                old.rotated = Some(Instant::now());
            }
        }
        Ok(Ok(Issued {
            access_token,
            refresh_kept: refresh_token.is_none(),
            refresh_token,
            scopes: at_scopes,
        }))
    }

    /// Reuse detection: every refresh and access token of the family dies.
    fn revoke_family(&mut self, family: u64) {
        self.refresh.retain(|_, g| g.family != family);
        self.access.retain(|_, g| g.family != Some(family));
        if let Some(f) = self.families.get_mut(&family) {
            f.ended = Some(GrantEnd::ReuseDetected);
        }
    }

    /// The user grants `target` names: every live one of an account, or the one an access or
    /// refresh token belongs to.
    fn families_of(&self, target: Target<'_>) -> Vec<u64> {
        let mut out: Vec<u64> = match target {
            Target::Account(a) => self
                .families
                .iter()
                .filter(|(_, f)| f.account == a && f.ended.is_none())
                .map(|(id, _)| *id)
                .collect(),
            Target::Token(t) => self
                .refresh
                .get(&key(t))
                .map(|g| g.family)
                .or_else(|| self.access.get(&key(t)).and_then(|g| g.family))
                .into_iter()
                .collect(),
        };
        out.sort_unstable();
        out
    }

    /// Revokes access tokens only: every access token of the account's user grants, or the
    /// one given. Refresh tokens stay valid. Returns how many were revoked.
    pub(crate) fn revoke_access(&mut self, target: Target<'_>) -> usize {
        let before = self.access.len();
        match target {
            Target::Account(a) => self
                .access
                .retain(|_, g| !(g.family.is_some() && g.account == Some(a))),
            Target::Token(t) => {
                self.access.remove(&key(t));
            }
        }
        before - self.access.len()
    }

    /// Kills grants: their refresh tokens answer `invalid_grant` from now on and their access
    /// tokens die. Returns the numbers of the grants killed (already ended ones excluded).
    pub(crate) fn kill_grants(&mut self, target: Target<'_>) -> Vec<u64> {
        let mut killed = Vec::new();
        for id in self.families_of(target) {
            let Some(f) = self.families.get_mut(&id) else {
                continue;
            };
            if f.ended.is_some() {
                continue;
            }
            f.ended = Some(GrantEnd::Killed);
            self.access.retain(|_, g| g.family != Some(id));
            killed.push(id);
        }
        killed
    }

    /// From now on refresh answers carry no refresh token, and every refresh token dies `ttl`
    /// after now (or after its issuance, when later); `None` ends the withholding.
    pub(crate) fn withhold_refresh(&mut self, ttl: Option<Duration>, since: Instant) {
        self.withheld = ttl.map(|ttl| Withheld { since, ttl });
    }

    /// Whether refresh tokens are withheld now.
    pub(crate) fn refresh_withheld(&self) -> bool {
        self.withheld.is_some_and(|w| Instant::now() >= w.since)
    }

    /// What the token endpoint did with every user grant, in order of creation.
    pub(crate) fn grant_stats(&self) -> Vec<GrantStats> {
        let mut out: Vec<GrantStats> = self
            .families
            .iter()
            .map(|(id, f)| GrantStats {
                grant: *id,
                account: f.account,
                token_requests: f.token_requests,
                refreshes: f.refreshes,
                replays: f.replays,
                ended: f.ended,
            })
            .collect();
        out.sort_by_key(|g| g.grant);
        out
    }

    /// Issues an access token outside any user grant (`client_credentials`).
    pub(crate) fn issue_access(
        &mut self,
        account: Option<&'static str>,
        scopes: Vec<String>,
        ttl: Duration,
    ) -> Result<String, RandomUnavailable> {
        self.issue_access_in(account, scopes, ttl, None)
    }

    fn issue_access_in(
        &mut self,
        account: Option<&'static str>,
        scopes: Vec<String>,
        ttl: Duration,
        family: Option<u64>,
    ) -> Result<String, RandomUnavailable> {
        let token = secret(ACCESS_PREFIX)?;
        let grant = AccessGrant {
            account,
            scopes,
            expires: Instant::now() + ttl,
            family,
        };
        self.access.insert(key(&token), grant);
        Ok(token)
    }

    /// The grant behind a live access token; expired tokens are forgotten.
    pub(crate) fn access(&mut self, token: &str) -> Option<AccessGrant> {
        let grant = self.access.get(&key(token))?;
        if Instant::now() >= grant.expires {
            self.access.remove(&key(token));
            return None;
        }
        Some(grant.clone())
    }

    /// Forgets an access or refresh token (RFC 7009); unknown tokens are ignored.
    pub(crate) fn revoke(&mut self, token: &str) {
        self.access.remove(&key(token));
        self.refresh.remove(&key(token));
    }
}

#[path = "tokens_saved.rs"]
mod saved;

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
