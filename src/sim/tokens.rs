//! Secrets and grants of the simulated provider: random values, authorization codes, access and
//! refresh tokens, PKCE. Pure state; knows nothing about HTTP or response shapes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

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
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    account: &'static str,
    scopes: Vec<String>,
    used: bool,
    /// Issuance or last successful use; the idle clock starts here.
    last_used: Instant,
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
}

/// Every live code and token. Lives behind one mutex in the server state.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    codes: HashMap<String, CodeGrant>,
    access: HashMap<String, AccessGrant>,
    refresh: HashMap<String, RefreshGrant>,
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
    /// device).
    pub(crate) fn issue_pair(
        &mut self,
        account: &'static str,
        scopes: Vec<String>,
        ttl: Duration,
    ) -> Result<Issued, RandomUnavailable> {
        let access_token = self.issue_access(Some(account), scopes.clone(), ttl)?;
        let refresh_token = self.issue_refresh(account, scopes.clone())?;
        Ok(Issued {
            access_token,
            refresh_token: Some(refresh_token),
            scopes,
        })
    }

    fn issue_refresh(
        &mut self,
        account: &'static str,
        scopes: Vec<String>,
    ) -> Result<String, RandomUnavailable> {
        let token = secret(REFRESH_PREFIX)?;
        let grant = RefreshGrant {
            account,
            scopes,
            used: false,
            last_used: Instant::now(),
        };
        self.refresh.insert(token.clone(), grant);
        Ok(token)
    }

    /// Runs a refresh grant. `rotate_one_time` marks the presented token used (so reuse fails);
    /// otherwise the old token stays valid. A new refresh token is returned either way. A
    /// narrower `scope` applies to the new access token only; the refresh token keeps the grant.
    pub(crate) fn refresh(
        &mut self,
        token: &str,
        scope: Option<Vec<String>>,
        rotate_one_time: bool,
        ttl: Duration,
    ) -> Result<Result<Issued, RefreshError>, RandomUnavailable> {
        let Some(grant) = self.refresh.get(token) else {
            return Ok(Err(RefreshError::Unknown));
        };
        if grant.used {
            return Ok(Err(RefreshError::AlreadyUsed));
        }
        if self
            .refresh_idle_ttl
            .is_some_and(|idle| grant.last_used.elapsed() >= idle)
        {
            return Ok(Err(RefreshError::Expired));
        }
        let at_scopes = match scope {
            Some(req) if !req.iter().all(|s| grant.scopes.contains(s)) => {
                return Ok(Err(RefreshError::ScopeNotGranted));
            }
            Some(req) => req,
            None => grant.scopes.clone(),
        };
        let (account, grant_scopes) = (grant.account, grant.scopes.clone());
        let access_token = self.issue_access(Some(account), at_scopes.clone(), ttl)?;
        let refresh_token = self.issue_refresh(account, grant_scopes)?;
        if let Some(old) = self.refresh.get_mut(token) {
            // A token that stays valid restarts its idle clock on every use.
            old.used = rotate_one_time;
            old.last_used = Instant::now();
        }
        Ok(Ok(Issued {
            access_token,
            refresh_token: Some(refresh_token),
            scopes: at_scopes,
        }))
    }

    /// Issues an access token.
    pub(crate) fn issue_access(
        &mut self,
        account: Option<&'static str>,
        scopes: Vec<String>,
        ttl: Duration,
    ) -> Result<String, RandomUnavailable> {
        let token = secret(ACCESS_PREFIX)?;
        let grant = AccessGrant {
            account,
            scopes,
            expires: Instant::now() + ttl,
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
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn scopes(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn secrets_have_prefix_and_32_url_safe_chars() {
        let s = secret(ACCESS_PREFIX).unwrap();
        assert!(s.starts_with("sim_at_"));
        let tail = &s["sim_at_".len()..];
        assert_eq!(tail.len(), 32);
        assert!(tail.bytes().all(|b| URL_SAFE.contains(&b)), "{s}");
        assert_ne!(s, secret(ACCESS_PREFIX).unwrap());
    }

    #[test]
    fn uuid_is_version_4() {
        let u = uuid_v4().unwrap();
        assert_eq!(u.len(), 36);
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_in_stays_in_range() {
        for _ in 0..200 {
            let x = random_in(3, 5).unwrap();
            assert!((3..=5).contains(&x), "{x}");
        }
    }

    fn store_with_code(verifier: &str) -> (TokenStore, String) {
        let mut store = TokenStore::default();
        let code = store
            .issue_code(
                "globex",
                scopes(&["profile", "email"]),
                "http://127.0.0.1:9/cb".into(),
                s256_challenge(verifier),
            )
            .unwrap();
        (store, code)
    }

    #[test]
    fn code_is_one_time_and_checks_redirect_and_pkce() {
        let (mut store, code) = store_with_code("v".repeat(43).as_str());
        let verifier = "v".repeat(43);
        let issued = store
            .redeem_code(&code, Some("http://127.0.0.1:9/cb"), Some(&verifier), HOUR)
            .unwrap()
            .unwrap();
        assert!(issued.access_token.starts_with(ACCESS_PREFIX));
        assert!(issued.refresh_token.unwrap().starts_with(REFRESH_PREFIX));
        assert_eq!(issued.scopes, scopes(&["profile", "email"]));
        let grant = store.access(&issued.access_token).unwrap();
        assert_eq!(grant.account, Some("globex"));
        let again = store.redeem_code(&code, Some("http://127.0.0.1:9/cb"), Some(&verifier), HOUR);
        assert_eq!(again.unwrap(), Err(CodeError::Unknown));

        let (mut store, code) = store_with_code(&verifier);
        let r = store.redeem_code(
            &code,
            Some("http://127.0.0.1:9/other"),
            Some(&verifier),
            HOUR,
        );
        assert_eq!(r.unwrap(), Err(CodeError::RedirectMismatch));

        let (mut store, code) = store_with_code(&verifier);
        let r = store.redeem_code(&code, Some("http://127.0.0.1:9/cb"), Some("wrong"), HOUR);
        assert_eq!(r.unwrap(), Err(CodeError::PkceMismatch));
        let (mut store, code) = store_with_code(&verifier);
        let r = store.redeem_code(&code, Some("http://127.0.0.1:9/cb"), None, HOUR);
        assert_eq!(r.unwrap(), Err(CodeError::PkceMismatch));
    }

    fn first_refresh_token(store: &mut TokenStore) -> String {
        let verifier = "x".repeat(43);
        let code = store
            .issue_code(
                "acme-corp",
                scopes(&["profile", "invoices:read"]),
                "http://127.0.0.1:9/cb".into(),
                s256_challenge(&verifier),
            )
            .unwrap();
        let issued = store
            .redeem_code(&code, Some("http://127.0.0.1:9/cb"), Some(&verifier), HOUR)
            .unwrap()
            .unwrap();
        issued.refresh_token.unwrap()
    }

    #[test]
    fn one_time_rotation_rejects_reuse() {
        let mut store = TokenStore::default();
        let rt1 = first_refresh_token(&mut store);
        let second = store.refresh(&rt1, None, true, HOUR).unwrap().unwrap();
        let rt2 = second.refresh_token.unwrap();
        assert_ne!(rt1, rt2);
        assert_eq!(
            store.refresh(&rt1, None, true, HOUR).unwrap(),
            Err(RefreshError::AlreadyUsed)
        );
        assert!(store.refresh(&rt2, None, true, HOUR).unwrap().is_ok());
        assert_eq!(
            store.refresh("sim_rt_nope", None, true, HOUR).unwrap(),
            Err(RefreshError::Unknown)
        );
    }

    #[test]
    fn non_one_time_refresh_keeps_old_token_valid() {
        let mut store = TokenStore::default();
        let rt1 = first_refresh_token(&mut store);
        let a = store.refresh(&rt1, None, false, HOUR).unwrap().unwrap();
        let b = store.refresh(&rt1, None, false, HOUR).unwrap().unwrap();
        assert_ne!(a.refresh_token, b.refresh_token);
    }

    #[test]
    fn refresh_can_narrow_but_not_widen_scope() {
        let mut store = TokenStore::default();
        let rt1 = first_refresh_token(&mut store);
        let narrow = store
            .refresh(&rt1, Some(scopes(&["profile"])), true, HOUR)
            .unwrap()
            .unwrap();
        assert_eq!(narrow.scopes, scopes(&["profile"]));
        assert_eq!(
            store.access(&narrow.access_token).unwrap().scopes,
            scopes(&["profile"])
        );
        // The rotated refresh token still carries the full grant.
        let rt2 = narrow.refresh_token.unwrap();
        let full = store.refresh(&rt2, None, true, HOUR).unwrap().unwrap();
        assert_eq!(full.scopes, scopes(&["profile", "invoices:read"]));
        let rt3 = full.refresh_token.unwrap();
        assert_eq!(
            store
                .refresh(&rt3, Some(scopes(&["admin:read"])), true, HOUR)
                .unwrap(),
            Err(RefreshError::ScopeNotGranted)
        );
    }

    #[test]
    fn idle_refresh_tokens_expire_and_use_restarts_the_clock() {
        let mut store = TokenStore::with_refresh_idle_ttl(Some(Duration::from_millis(400)));
        let rt1 = first_refresh_token(&mut store);
        std::thread::sleep(Duration::from_millis(200));
        // Reusable token (no one-time rotation): this use restarts its idle clock.
        let next = store.refresh(&rt1, None, false, HOUR).unwrap().unwrap();
        std::thread::sleep(Duration::from_millis(250));
        assert!(store.refresh(&rt1, None, false, HOUR).unwrap().is_ok());
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            store.refresh(&rt1, None, false, HOUR).unwrap(),
            Err(RefreshError::Expired)
        );
        let rt2 = next.refresh_token.unwrap();
        assert_eq!(
            store.refresh(&rt2, None, true, HOUR).unwrap(),
            Err(RefreshError::Expired)
        );
        assert_eq!(RefreshError::Expired.to_string(), "refresh token expired");
    }

    #[test]
    fn issue_pair_gives_a_user_grant() {
        let mut store = TokenStore::default();
        let issued = store
            .issue_pair("umbrella", scopes(&["email"]), HOUR)
            .unwrap();
        assert_eq!(issued.scopes, scopes(&["email"]));
        let grant = store.access(&issued.access_token).unwrap();
        assert_eq!(grant.account, Some("umbrella"));
        let rt = issued.refresh_token.unwrap();
        assert!(rt.starts_with(REFRESH_PREFIX));
        let next = store.refresh(&rt, None, true, HOUR).unwrap().unwrap();
        assert_eq!(next.scopes, scopes(&["email"]));
    }

    #[test]
    fn access_tokens_expire_and_revoke() {
        let mut store = TokenStore::default();
        let dead = store
            .issue_access(None, scopes(&["profile"]), Duration::ZERO)
            .unwrap();
        assert_eq!(store.access(&dead), None);
        let live = store
            .issue_access(None, scopes(&["profile"]), HOUR)
            .unwrap();
        assert!(store.access(&live).is_some());
        store.revoke(&live);
        assert_eq!(store.access(&live), None);
        store.revoke("unknown");
    }
}
