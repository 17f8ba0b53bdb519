//! The redactor's hot path (issue 17 item 1, 10,000 connections): texts without a
//! secret are handed back borrowed, tokens registered again cost one lookup, and
//! every shortcut gives exactly what the full path gives.

use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

const TOKEN: &str = "sim_at_Q2hhbmdlZEF0VGhlRWRnZV9vZl90aGVfcnVu";

fn redactor() -> Redactor {
    Redactor::new(&[]).expect("no selectors")
}

/// A JWT-like blob whose payload carries `secret` one byte in (the second alignment).
fn blob_with(secret: &str) -> String {
    let mut payload = b"{".to_vec();
    payload.extend_from_slice(secret.as_bytes());
    payload.extend_from_slice(b"}");
    format!(
        "eyJhbGciOiJub25lIn0.{}.sig",
        STANDARD_NO_PAD.encode(&payload)
    )
}

#[test]
fn register_token_after_register_secret_still_registers_the_base64_forms() {
    let r = redactor();
    r.register_secret(TOKEN);
    let blob = blob_with(TOKEN);
    assert!(!r.scrub(&blob).contains(REDACTED), "no form registered yet");
    r.register_token(TOKEN);
    let scrubbed = r.scrub(&blob);
    assert!(scrubbed.contains(REDACTED), "{scrubbed}");
}

#[test]
fn register_token_again_adds_nothing_and_keeps_every_form() {
    let r = redactor();
    r.register_token(TOKEN);
    let known = r.secrets.read().expect("lock").known.len();
    // Raw (needs no URL encoding) plus each distinct base64 form and its encoding.
    let mut expected: HashSet<String> = HashSet::from([TOKEN.to_string()]);
    for form in base64_forms(TOKEN) {
        expected.insert(url::form_urlencoded::byte_serialize(form.as_bytes()).collect());
        expected.insert(form);
    }
    assert_eq!(known, expected.len());
    r.register_token(TOKEN);
    assert_eq!(r.secrets.read().expect("lock").known.len(), known);
    assert_eq!(
        r.scrub(&format!("a {TOKEN} b {}", blob_with(TOKEN))),
        format!("a {REDACTED} b {}", r.scrub(&blob_with(TOKEN)))
    );
    assert!(r.scrub(&blob_with(TOKEN)).contains(REDACTED));
}

#[test]
fn scrub_cow_borrows_text_without_anything_to_replace() {
    let r = redactor();
    r.register_token(TOKEN);
    for clean in [
        "",
        "abc",
        "application/json; charset=utf-8",
        "invalid bearer token",
        "basic auth is disabled",
        "Bearer realm=\"api\", error=\"invalid_token\"",
        "https://api.example.test/v1/invoices?page=3",
    ] {
        assert!(
            matches!(r.scrub_cow(clean), Cow::Borrowed(_)),
            "{clean:?} was copied"
        );
        assert_eq!(r.scrub(clean), clean);
    }
    for (dirty, want) in [
        (format!("x {TOKEN} y"), format!("x {REDACTED} y")),
        (
            "Authorization: BEARER abcdefgh12345".to_string(),
            format!("Authorization: BEARER {REDACTED}"),
        ),
    ] {
        let got = r.scrub_cow(&dirty);
        assert!(matches!(got, Cow::Owned(_)), "{dirty:?}");
        assert_eq!(got, want);
    }
}

/// `may_hold_scheme` only skips texts the full `Bearer`/`Basic` scan leaves unchanged.
#[test]
fn may_hold_scheme_never_skips_a_text_the_scheme_scan_changes() {
    let words = [
        "Bearer",
        "bEaReR",
        "BASIC",
        "basic",
        "bear",
        "bas",
        "b",
        "ba",
        " ",
        "\t",
        "x",
        "é",
        "abc123",
        "dXNlcjpwYXNz",
        "token",
        "realm=x",
        "_",
        "\u{130}",
    ];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..20_000 {
        let mut text = String::new();
        for _ in 0..(x % 6) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.push_str(words[(x % words.len() as u64) as usize]);
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if !may_hold_scheme(&text) {
            assert_eq!(scrub_scheme(&text), text, "{text:?}");
        }
    }
    assert!(may_hold_scheme("x Bearer y"));
    assert!(may_hold_scheme("BASIC"));
    assert!(!may_hold_scheme("bear basi"));
}

#[test]
fn observed_headers_in_place_rewrite_only_headers_holding_a_secret() {
    let r = redactor();
    r.register_token(TOKEN);
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("link".to_string(), format!("</v1/x?t={TOKEN}>; rel=next")),
        (format!("x-{TOKEN}"), "1".to_string()),
    ];
    let want = r.redact_observed_headers(&headers);
    r.redact_observed_headers_in_place(&mut headers);
    assert_eq!(headers, want);
    assert_eq!(
        headers,
        vec![
            ("content-type".to_string(), "application/json".to_string()),
            (
                "link".to_string(),
                format!("</v1/x?t={REDACTED}>; rel=next")
            ),
            (format!("x-{REDACTED}"), "1".to_string()),
        ]
    );
}

#[test]
fn recorded_response_headers_scrub_names_and_redact_values() {
    let r = redactor();
    r.register_token(TOKEN);
    let headers = vec![
        ("Set-Cookie".to_string(), "sid=abc".to_string()),
        ("X-Echo".to_string(), format!("got {TOKEN}")),
        (format!("X-{TOKEN}"), "plain".to_string()),
        (
            "WWW-Authenticate".to_string(),
            "Bearer realm=\"api\"".to_string(),
        ),
    ];
    assert_eq!(
        r.redact_response_headers(&headers),
        vec![
            ("Set-Cookie".to_string(), REDACTED.to_string()),
            ("X-Echo".to_string(), format!("got {REDACTED}")),
            (format!("X-{REDACTED}"), "plain".to_string()),
            (
                "WWW-Authenticate".to_string(),
                "Bearer realm=\"api\"".to_string()
            ),
        ]
    );
}

/// Key names are compared lowercased (Unicode) without copying lowercase keys.
#[test]
fn secret_names_match_in_any_case() {
    let r = redactor();
    assert!(r.is_secret_param("ACCESS_TOKEN"));
    assert!(r.is_secret_param("Client_Secret"));
    assert!(r.is_secret_param("token"));
    assert!(!r.is_secret_param("page"));
    assert_eq!(lowercase("already"), "already");
    assert!(matches!(lowercase("already"), Cow::Borrowed(_)));
    assert_eq!(lowercase("ÀΣ\u{1C5}"), "àς\u{1C6}".replace('ς', "σ"));
    assert!(matches!(lowercase("\u{1C5}x"), Cow::Owned(_)));
    let mut v = serde_json::json!({"Access_Token": "x", "PAGE": 1});
    r.redact_json(&mut v);
    assert_eq!(v, serde_json::json!({"Access_Token": REDACTED, "PAGE": 1}));
}
