//! Redaction where observations are made (issue 15 item 4): JSON keys, observed
//! bodies and headers, base64 forms of tokens.

use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

/// A JWT-shaped access token without any well-known prefix.
const AT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3IxIiwianRpIjoiYTFiMmMzIn0.c2lnbmF0dXJlLXZhbHVl";
/// An opaque refresh token with the characters form-encoding changes.
const RT: &str = "Zm9vYmFy+/x9QmF6cXV4=";

fn redactor() -> Redactor {
    let r = Redactor::new(&[]).expect("no selectors");
    r.register_token(AT);
    r.register_token(RT);
    r
}

#[test]
fn redact_json_replaces_a_secret_used_as_an_object_key() {
    let r = redactor();
    let mut v = json!({"by_token": {AT: {"scopes": "read"}, "other": 1}, "list": [{RT: true}]});
    r.redact_json(&mut v);
    assert_eq!(
        v,
        json!({"by_token": {REDACTED: {"scopes": "read"}, "other": 1}, "list": [{REDACTED: true}]})
    );
}

#[test]
fn redact_json_replaces_a_secret_inside_a_key() {
    let r = redactor();
    let mut v = json!({ format!("session:{AT}"): 1 });
    r.redact_json(&mut v);
    assert_eq!(v, json!({ format!("session:{REDACTED}"): 1 }));
}

#[test]
fn scrub_json_replaces_secrets_but_redacts_nothing_by_name() {
    let r = redactor();
    let mut v = json!({"code": 404, "secret": false, "owner": AT, AT: {"n": 1}});
    r.scrub_json(&mut v);
    assert_eq!(
        v,
        json!({"code": 404, "secret": false, "owner": REDACTED, REDACTED: {"n": 1}})
    );
}

#[test]
fn observed_body_without_a_secret_is_used_as_received() {
    let r = redactor();
    assert_eq!(
        r.redact_observed_body(br#"{"id":1,"name":"a\/b \u00e9"}"#),
        None
    );
    assert_eq!(r.redact_observed_body(b"plain text"), None);
    assert_eq!(r.redact_observed_body(b"\xff\xfe not utf-8"), None);
    assert_eq!(r.redact_observed_body(b""), None);
}

#[test]
fn observed_json_body_loses_the_token_in_keys_and_values_and_keeps_its_shape() {
    let r = redactor();
    let body = format!(r#"{{"by_token":{{"{AT}":{{"n":1}}}},"owner":"{AT}","code":404}}"#);
    let got = r.redact_observed_body(body.as_bytes()).expect("redacted");
    let v: Value = serde_json::from_slice(&got).expect("still json");
    assert_eq!(
        v,
        json!({"by_token": {REDACTED: {"n": 1}}, "owner": REDACTED, "code": 404})
    );
}

#[test]
fn observed_json_body_cannot_hide_the_token_behind_escapes() {
    let r = redactor();
    // `\/` for `/` and `\u0041`-style escapes for every character of the token.
    let slash = RT.replace('/', "\\/");
    let unicode: String = AT.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    let body = format!(r#"{{"a":"{slash}","{unicode}":2}}"#);
    let got = r.redact_observed_body(body.as_bytes()).expect("redacted");
    let v: Value = serde_json::from_slice(&got).expect("still json");
    assert_eq!(v, json!({"a": REDACTED, REDACTED: 2}));
}

#[test]
fn observed_text_body_is_scrubbed_including_the_url_encoded_form() {
    let r = redactor();
    let encoded: String = url::form_urlencoded::byte_serialize(RT.as_bytes()).collect();
    assert_eq!(encoded, "Zm9vYmFy%2B%2Fx9QmF6cXV4%3D");
    let body = format!("<p>token {AT} and {encoded}</p>");
    let got = r.redact_observed_body(body.as_bytes()).expect("redacted");
    assert_eq!(
        String::from_utf8(got).unwrap(),
        format!("<p>token {REDACTED} and {REDACTED}</p>")
    );
}

#[test]
fn observed_headers_lose_the_token_in_names_and_values_and_keep_the_rest() {
    let r = redactor();
    let headers = vec![
        (
            "link".to_string(),
            format!("<https://api.example/v2?t={AT}>; rel=\"successor-version\""),
        ),
        ("x-echo".to_string(), RT.to_string()),
        (format!("x-{AT}"), "1".to_string()),
        (
            "www-authenticate".to_string(),
            "Bearer realm=\"api\", error=\"insufficient_scope\"".to_string(),
        ),
    ];
    assert_eq!(
        r.redact_observed_headers(&headers),
        vec![
            (
                "link".to_string(),
                format!("<https://api.example/v2?t={REDACTED}>; rel=\"successor-version\"")
            ),
            ("x-echo".to_string(), REDACTED.to_string()),
            (format!("x-{REDACTED}"), "1".to_string()),
            (
                "www-authenticate".to_string(),
                "Bearer realm=\"api\", error=\"insufficient_scope\"".to_string()
            ),
        ]
    );
}

#[test]
fn a_token_inside_a_jwt_claim_is_found_at_every_alignment() {
    let r = redactor();
    for pad in ["", "x", "xy", "xyz"] {
        let payload = format!(r#"{{"sub":"{pad}","tok":"{AT}","rt":"{RT}{pad}"}}"#);
        let jwt = format!(
            "eyJhbGciOiJub25lIn0.{}.c2ln",
            URL_SAFE_NO_PAD.encode(payload.as_bytes())
        );
        let scrubbed = r.scrub(&jwt);
        assert_ne!(scrubbed, jwt, "{pad:?}");
        for form in base64_forms(AT).iter().chain(base64_forms(RT).iter()) {
            assert!(!scrubbed.contains(form.as_str()), "{pad:?}: {form}");
        }
    }
}

#[test]
fn base64_forms_are_exactly_the_alignment_independent_characters() {
    // 18 bytes: shift 0 → 24 chars, shift 1 → chars 2..26, shift 2 → chars 3..26.
    let forms = base64_forms("abcdefghijklmnopqr");
    assert_eq!(
        forms,
        vec![
            "YWJjZGVmZ2hpamtsbW5vcHFy",
            "FiY2RlZmdoaWprbG1ub3Bxc",
            "hYmNkZWZnaGlqa2xtbm9wcX"
        ]
    );
    // Where the alphabets differ both spellings are kept.
    let q = base64_forms("????????????????");
    assert_eq!(q.len(), 6, "{q:?}");
    assert!(q.iter().any(|f| f.contains('/')) && q.iter().any(|f| f.contains('_')));
    assert!(base64_forms("short-secret").is_empty());
}

#[test]
fn json_unescaped_decodes_every_json_escape() {
    assert_eq!(
        json_unescaped(r#"a\/b \"q\" \\ \n\t \u0041\u00e9 \ud83d\ude00 \uzzzz"#),
        "a/b \"q\" \\ \n\t Aé 😀 \\uzzzz"
    );
    assert!(matches!(
        json_unescaped("plain"),
        std::borrow::Cow::Borrowed(_)
    ));
}
