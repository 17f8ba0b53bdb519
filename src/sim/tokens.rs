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
    /// When a refresh replaced this token by a new one, if it did.
    rotated: Option<Instant>,
    /// Issuance or last successful use; the idle clock starts here.
    last_used: Instant,
}

/// Every refresh token descending from one user grant, as far as rotation rules need it.
#[derive(Debug)]
struct Family {
    newest: String,
    refreshes: u32,
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

/// Every live code and token. Lives behind one mutex in the server state.
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
            rotated: None,
            last_used: Instant::now(),
        };
        self.refresh.insert(token.clone(), grant);
        let fam = self.families.entry(family).or_insert(Family {
            newest: String::new(),
            refreshes: 0,
        });
        fam.newest = token.clone();
        Ok(token)
    }

    /// Records that `token` was presented to the refresh grant; `true` when it had been
    /// presented before (a replay), whatever happened then.
    pub(crate) fn note_presented(&mut self, token: &str) -> bool {
        !self.presented.insert(token.to_owned())
    }

    /// Runs a refresh grant under `rules`. A narrower `scope` applies to the new access token
    /// only; refresh tokens keep the whole grant.
    pub(crate) fn refresh(
        &mut self,
        token: &str,
        scope: Option<Vec<String>>,
        rules: RefreshRules,
    ) -> Result<Result<Issued, RefreshError>, RandomUnavailable> {
        let Some(grant) = self.refresh.get(token) else {
            return Ok(Err(RefreshError::Unknown));
        };
        let (account, grant_scopes, family) = (grant.account, grant.scopes.clone(), grant.family);
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
        let at_scopes = match scope {
            Some(req) if !req.iter().all(|s| grant_scopes.contains(s)) => {
                return Ok(Err(RefreshError::ScopeNotGranted));
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
        let refresh_token = if rules.stop_rotation || rules.rotation == Rotation::Never {
            None
        } else if grace_replay || (rules.rotation == Rotation::EveryThird && refreshes % 3 != 0) {
            Some(newest)
        } else {
            Some(self.issue_refresh(account, grant_scopes, family)?)
        };
        let rotated_now = refresh_token.as_deref().is_some_and(|rt| rt != token)
            && !grace_replay
            && matches!(
                rules.rotation,
                Rotation::OneTime | Rotation::Grace | Rotation::RevokeFamilyOnReuse
            );
        if let Some(old) = self.refresh.get_mut(token) {
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
        self.families.remove(&family);
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
        self.access.insert(token.clone(), grant);
        Ok(token)
    }

    /// The grant behind a live access token; expired tokens are forgotten.
    pub(crate) fn access(&mut self, token: &str) -> Option<AccessGrant> {
        let grant = self.access.get(token)?;
        if Instant::now() >= grant.expires {
            self.access.remove(token);
            return None;
        }
        Some(grant.clone())
    }

    /// Forgets an access or refresh token (RFC 7009); unknown tokens are ignored.
    pub(crate) fn revoke(&mut self, token: &str) {
        self.access.remove(token);
        self.refresh.remove(token);
    }
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
