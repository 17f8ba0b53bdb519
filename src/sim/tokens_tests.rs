//! Unit tests of the token store: secrets, codes, refresh rotation rules, expiry.

use super::*;

const HOUR: Duration = Duration::from_secs(3600);
const ONE_TIME: RefreshRules = rules(Rotation::OneTime);
const OLD_VALID: RefreshRules = rules(Rotation::OldStaysValid);

const fn rules(rotation: Rotation) -> RefreshRules {
    RefreshRules {
        rotation,
        grace: Duration::from_millis(300),
        stop_rotation: false,
        access_ttl: HOUR,
        narrowing: false,
    }
}

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
    let second = store.refresh(&rt1, None, ONE_TIME).unwrap().unwrap();
    let rt2 = second.refresh_token.unwrap();
    assert_ne!(rt1, rt2);
    assert_eq!(
        store.refresh(&rt1, None, ONE_TIME).unwrap(),
        Err(RefreshError::AlreadyUsed)
    );
    assert!(store.refresh(&rt2, None, ONE_TIME).unwrap().is_ok());
    assert_eq!(
        store.refresh("sim_rt_nope", None, ONE_TIME).unwrap(),
        Err(RefreshError::Unknown)
    );
}

#[test]
fn non_one_time_refresh_keeps_old_token_valid() {
    let mut store = TokenStore::default();
    let rt1 = first_refresh_token(&mut store);
    let a = store.refresh(&rt1, None, OLD_VALID).unwrap().unwrap();
    let b = store.refresh(&rt1, None, OLD_VALID).unwrap().unwrap();
    assert_ne!(a.refresh_token, b.refresh_token);
}

#[test]
fn refresh_can_narrow_but_not_widen_scope() {
    let mut store = TokenStore::default();
    let rt1 = first_refresh_token(&mut store);
    let narrow = store
        .refresh(&rt1, Some(scopes(&["profile"])), ONE_TIME)
        .unwrap()
        .unwrap();
    assert_eq!(narrow.scopes, scopes(&["profile"]));
    assert_eq!(
        store.access(&narrow.access_token).unwrap().scopes,
        scopes(&["profile"])
    );
    // The rotated refresh token still carries the full grant.
    let rt2 = narrow.refresh_token.unwrap();
    let full = store.refresh(&rt2, None, ONE_TIME).unwrap().unwrap();
    assert_eq!(full.scopes, scopes(&["profile", "invoices:read"]));
    let rt3 = full.refresh_token.unwrap();
    assert_eq!(
        store
            .refresh(&rt3, Some(scopes(&["admin:read"])), ONE_TIME)
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
    let next = store.refresh(&rt1, None, OLD_VALID).unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(250));
    assert!(store.refresh(&rt1, None, OLD_VALID).unwrap().is_ok());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        store.refresh(&rt1, None, OLD_VALID).unwrap(),
        Err(RefreshError::Expired)
    );
    let rt2 = next.refresh_token.unwrap();
    assert_eq!(
        store.refresh(&rt2, None, ONE_TIME).unwrap(),
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
    let next = store.refresh(&rt, None, ONE_TIME).unwrap().unwrap();
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

fn rt_of(r: Result<Result<Issued, RefreshError>, RandomUnavailable>) -> Option<String> {
    r.unwrap().unwrap().refresh_token
}

#[test]
fn never_rotating_returns_no_token_and_keeps_the_old_one() {
    let mut store = TokenStore::default();
    let rt = first_refresh_token(&mut store);
    for _ in 0..3 {
        let issued = store
            .refresh(&rt, None, rules(Rotation::Never))
            .unwrap()
            .unwrap();
        assert_eq!(issued.refresh_token, None);
        assert!(issued.refresh_kept);
    }
}

#[test]
fn stop_rotation_overrides_every_rotation() {
    let mut store = TokenStore::default();
    let rt = first_refresh_token(&mut store);
    let v2 = RefreshRules {
        stop_rotation: true,
        ..ONE_TIME
    };
    assert_eq!(rt_of(store.refresh(&rt, None, v2)), None);
    // Not rotated, so still valid even under one-time rules.
    assert!(rt_of(store.refresh(&rt, None, ONE_TIME)).is_some());
}

#[test]
fn grace_replay_returns_the_newest_token_until_the_grace_ends() {
    let mut store = TokenStore::default();
    let rt1 = first_refresh_token(&mut store);
    let grace = rules(Rotation::Grace);
    let rt2 = rt_of(store.refresh(&rt1, None, grace)).unwrap();
    assert_ne!(rt1, rt2);
    assert_eq!(rt_of(store.refresh(&rt1, None, grace)), Some(rt2.clone()));
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(
        store.refresh(&rt1, None, grace).unwrap(),
        Err(RefreshError::AlreadyUsed)
    );
    let rt3 = rt_of(store.refresh(&rt2, None, grace)).unwrap();
    assert_ne!(rt3, rt2);
}

#[test]
fn reuse_revokes_the_whole_family_but_not_other_grants() {
    let mut store = TokenStore::default();
    let other = first_refresh_token(&mut store);
    let rt1 = first_refresh_token(&mut store);
    let family = rules(Rotation::RevokeFamilyOnReuse);
    let second = store.refresh(&rt1, None, family).unwrap().unwrap();
    let rt2 = second.refresh_token.unwrap();
    assert!(store.access(&second.access_token).is_some());
    assert_eq!(
        store.refresh(&rt1, None, family).unwrap(),
        Err(RefreshError::ReuseRevokedGrant)
    );
    assert_eq!(store.access(&second.access_token), None);
    assert_eq!(
        store.refresh(&rt2, None, family).unwrap(),
        Err(RefreshError::Unknown)
    );
    assert!(rt_of(store.refresh(&other, None, family)).is_some());
}

#[test]
fn lazy_rotation_changes_the_value_every_third_refresh() {
    let mut store = TokenStore::default();
    let rt1 = first_refresh_token(&mut store);
    let lazy = rules(Rotation::EveryThird);
    let got: Vec<String> = (0..6)
        .map(|_| rt_of(store.refresh(&rt1, None, lazy)).unwrap())
        .collect();
    assert_eq!(got[0], rt1);
    assert_eq!(got[1], rt1);
    assert_ne!(got[2], rt1);
    assert_eq!(got[3], got[2]);
    assert_eq!(got[4], got[2]);
    assert_ne!(got[5], got[2]);
    // Every value stays valid.
    assert!(rt_of(store.refresh(&got[2], None, lazy)).is_some());
}

#[test]
fn presented_tokens_are_remembered() {
    let mut store = TokenStore::default();
    assert!(!store.note_presented("sim_rt_a"));
    assert!(store.note_presented("sim_rt_a"));
    assert!(!store.note_presented("sim_rt_b"));
}
