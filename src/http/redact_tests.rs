use super::*;
use proptest::prelude::*;
use serde_json::json;

fn redactor() -> Redactor {
    Redactor::new(&[]).expect("no selectors")
}

const JSON_NAMES: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code",
    "code_verifier",
    "device_code",
    "password",
    "client_assertion",
    "assertion",
    "api_key",
    "apikey",
    "secret",
];

#[test]
fn every_default_name_is_redacted_in_json_at_any_depth() {
    let r = redactor();
    for name in JSON_NAMES {
        let upper = name.to_uppercase();
        let mut v = json!({ *name: "s1", "outer": [{ "inner": { upper.as_str(): {"x": 1} } }], "keep": "v" });
        r.redact_json(&mut v);
        assert_eq!(
            v,
            json!({ *name: REDACTED, "outer": [{ "inner": { upper.as_str(): REDACTED } }], "keep": "v" }),
            "{name}"
        );
    }
}

#[test]
fn token_is_a_secret_in_forms_and_queries_but_not_json_keys() {
    let r = redactor();
    let mut v = json!({"token": "next-page"});
    r.redact_json(&mut v);
    assert_eq!(v, json!({"token": "next-page"}));
    assert_eq!(
        r.redact_form(&[("token".into(), "t1".into())]),
        "token=[REDACTED]"
    );
    let url = url::Url::parse("https://h/revoke?token=t1&x=1").expect("url");
    assert_eq!(r.redact_url(&url), "https://h/revoke?token=[REDACTED]&x=1");
}

#[test]
fn every_default_name_is_redacted_in_forms_and_queries() {
    let r = redactor();
    for name in JSON_NAMES.iter().chain(["token"].iter()) {
        let form = r.redact_form(&[
            ("grant_type".into(), "refresh token".into()),
            (name.to_string(), "v a/l".into()),
        ]);
        assert_eq!(form, format!("grant_type=refresh+token&{name}=[REDACTED]"));
        let url = url::Url::parse(&format!(
            "https://h:8443/cb?state=s&{}=abc#frag",
            name.to_uppercase()
        ))
        .expect("url");
        assert_eq!(
            r.redact_url(&url),
            format!(
                "https://h:8443/cb?state=s&{}=[REDACTED]#frag",
                name.to_uppercase()
            )
        );
    }
}

#[test]
fn url_fragment_tokens_and_passwords_are_redacted() {
    let r = redactor();
    let url = url::Url::parse("https://u:pw@h/cb#access_token=abc&token_type=bearer").expect("url");
    assert_eq!(
        r.redact_url(&url),
        "https://u:%5BREDACTED%5D@h/cb#access_token=[REDACTED]&token_type=bearer"
    );
}

#[test]
fn headers_are_redacted_by_name_keeping_the_auth_scheme() {
    let r = redactor();
    let h = |n: &str, v: &str| (n.to_string(), v.to_string());
    let got = r.redact_headers(&[
        h("Authorization", "Bearer abc.def"),
        h("proxy-authorization", "Basic dXNlcjpwdw=="),
        h("authorization", "opaque"),
        h("Cookie", "sid=1"),
        h("set-cookie", "sid=1; HttpOnly"),
        h("X-Api-Key", "k"),
        h("api-key", "k1"),
        h("Ocp-Apim-Subscription-Key", "k2"),
        h("X-Goog-Api-Key", "k3"),
        h("X-Refresh-Token", "r"),
        h("x-client-secret", "c"),
        h("location", "https://app/cb?code=abc&state=s"),
        h("content-type", "application/json"),
    ]);
    assert_eq!(
        got,
        vec![
            h("Authorization", "Bearer [REDACTED]"),
            h("proxy-authorization", "Basic [REDACTED]"),
            h("authorization", "[REDACTED]"),
            h("Cookie", "[REDACTED]"),
            h("set-cookie", "[REDACTED]"),
            h("X-Api-Key", "[REDACTED]"),
            h("api-key", "[REDACTED]"),
            h("Ocp-Apim-Subscription-Key", "[REDACTED]"),
            h("X-Goog-Api-Key", "[REDACTED]"),
            h("X-Refresh-Token", "[REDACTED]"),
            h("x-client-secret", "[REDACTED]"),
            h("location", "https://app/cb?code=[REDACTED]&state=s"),
            h("content-type", "application/json"),
        ]
    );
}

#[test]
fn suite_selectors_jsonpath_and_bare_key() {
    let r = Redactor::new(&["$.user.ssn".to_string(), "Employee_Id".to_string()]).expect("valid");
    let mut v =
        json!({"user": {"ssn": "123", "name": "n"}, "ssn": "top", "list": [{"employee_id": 7}]});
    r.redact_json(&mut v);
    assert_eq!(
        v,
        json!({"user": {"ssn": REDACTED, "name": "n"}, "ssn": "top", "list": [{"employee_id": REDACTED}]})
    );
    assert_eq!(
        r.redact_form(&[("employee_id".into(), "7".into())]),
        "employee_id=[REDACTED]"
    );
    let url = url::Url::parse("https://h/?employee_id=7").expect("url");
    assert_eq!(r.redact_url(&url), "https://h/?employee_id=[REDACTED]");
}

#[test]
fn jsonpath_selector_with_wildcards_redacts_every_match() {
    let r = Redactor::new(&["$.items[*].email".to_string()]).expect("valid");
    let mut v = json!({"items": [{"email": "a"}, {"email": "b"}, {"id": 1}]});
    r.redact_json(&mut v);
    assert_eq!(
        v,
        json!({"items": [{"email": REDACTED}, {"email": REDACTED}, {"id": 1}]})
    );
}

#[test]
fn invalid_selectors_are_errors() {
    let err = Redactor::new(&["$.[".to_string()]).expect_err("bad path");
    assert!(
        err.to_string()
            .starts_with("invalid redaction selector `$.[`: "),
        "{err}"
    );
    assert_eq!(
        Redactor::new(&["a key".to_string()])
            .expect_err("space")
            .to_string(),
        "invalid redaction selector `a key`: a key name must not contain whitespace (JSONPath selectors start with `$`)"
    );
    assert_eq!(
        Redactor::new(&[String::new()])
            .expect_err("empty")
            .to_string(),
        "invalid redaction selector ``: a key name must not be empty"
    );
}

#[test]
fn scrub_removes_registered_secrets_and_auth_credentials() {
    let r = redactor();
    r.register_secret("sim_at_abc");
    r.register_secret("sim_rt_a+b/c");
    r.register_secret("ab"); // too short to scrub
    assert_eq!(
        r.scrub("token sim_at_abc leaked; rt=sim_rt_a%2Bb%2Fc; raw sim_rt_a+b/c; ab"),
        "token [REDACTED] leaked; rt=[REDACTED]; raw [REDACTED]; ab"
    );
    assert_eq!(
        r.scrub("sent Authorization: Bearer eyJ.x-y_z~ and bearer\tq, then Basic dXNlcjpwdw== ok"),
        "sent Authorization: Bearer [REDACTED] and bearer\t[REDACTED], then Basic [REDACTED] ok"
    );
    assert_eq!(
        r.scrub("invalid bearer token; basic auth required; unbearer x"),
        "invalid bearer token; basic auth required; unbearer x"
    );
}

#[test]
fn body_json_is_redacted_and_compact() {
    let r = redactor();
    r.register_secret("sim_at_xyz");
    let body =
        br#"{ "access_token": "sim_at_xyz", "error_description": "bad sim_at_xyz", "n": 1 }"#;
    assert_eq!(
        r.redact_body(Some("application/json; charset=utf-8"), body, 1000),
        (
            r#"{"access_token":"[REDACTED]","error_description":"bad [REDACTED]","n":1}"#
                .to_string(),
            false
        )
    );
    // No content type, but JSON-looking.
    assert_eq!(
        r.redact_body(None, br#"{"code":"c"}"#, 1000),
        (r#"{"code":"[REDACTED]"}"#.to_string(), false)
    );
}

#[test]
fn body_form_and_form_looking_text_are_redacted() {
    let r = redactor();
    let body = b"access_token=abc&scope=repo&token_type=bearer";
    let expected = "access_token=[REDACTED]&scope=repo&token_type=bearer".to_string();
    assert_eq!(
        r.redact_body(Some("application/x-www-form-urlencoded"), body, 1000),
        (expected.clone(), false)
    );
    assert_eq!(
        r.redact_body(Some("text/plain"), body, 1000),
        (expected, false)
    );
}

#[test]
fn body_unparsable_json_falls_back_to_scrubbing_and_truncates_by_chars() {
    let r = redactor();
    r.register_secret("sim_rt_123");
    assert_eq!(
        r.redact_body(
            Some("application/json"),
            b"{\"refresh_token\": \"sim_rt_123\"",
            1000
        ),
        ("{\"refresh_token\": \"[REDACTED]\"".to_string(), false)
    );
    assert_eq!(
        r.redact_body(Some("text/html"), "h\u{e9}llo world".as_bytes(), 4),
        ("h\u{e9}ll".to_string(), true)
    );
    assert_eq!(
        r.redact_body(Some("text/plain"), b"\xff\xfe ok", 100),
        ("\u{fffd}\u{fffd} ok".to_string(), false)
    );
}

#[test]
fn deeply_nested_json_value_does_not_overflow() {
    let r = redactor();
    let mut v = json!("leaf");
    for _ in 0..100_000 {
        v = Value::Array(vec![v]);
    }
    r.redact_json(&mut v);
    // Tear down iteratively; the recursive drop of serde_json would overflow.
    let mut cur = v;
    while let Value::Array(mut items) = cur {
        cur = items.pop().unwrap_or(Value::Null);
    }
    assert_eq!(cur, json!("leaf"));
}

proptest! {
    #[test]
    fn never_panics_on_garbage(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        text in ".{0,200}",
        max in 0usize..50,
    ) {
        let r = Redactor::new(&["$..x".to_string(), "k".to_string()]).expect("valid");
        r.register_secret(&text);
        for ct in [None, Some("application/json"), Some("application/x-www-form-urlencoded"), Some("text/plain"), Some(";;")] {
            let (out, _) = r.redact_body(ct, &body, max);
            prop_assert!(out.chars().count() <= max);
        }
        let _ = r.scrub(&text);
        let _ = r.redact_headers(&[(text.clone(), text.clone()), ("authorization".into(), text.clone())]);
        let _ = Redactor::new(std::slice::from_ref(&text));
        if text.chars().count() >= 4 {
            prop_assert_eq!(r.scrub(&text), REDACTED);
        }
    }
}

#[test]
fn broken_or_cut_json_still_hides_secret_fields() {
    let r = redactor();
    let cut = br#"{"token_type":"bearer","access_token":"unregistered-secr"#;
    assert_eq!(
        r.redact_body(Some("application/json"), cut, 1000),
        (
            r#"{"token_type":"bearer","access_token":"[REDACTED]""#.to_string(),
            false
        )
    );
    let broken =
        br#"{"note": "code", "Code" : 12345, "id_token": "a\"b", "secret": {"x": 1}, "n": 2,"#;
    assert_eq!(
        r.redact_body(None, broken, 1000),
        (
            r#"{"note": "code", "Code" : [REDACTED], "id_token": "[REDACTED]", "secret": {"x": 1}, "n": 2,"#
                .to_string(),
            false
        )
    );
}

#[test]
fn plain_text_without_secret_fields_is_kept_verbatim() {
    let r = redactor();
    for text in ["a=b", "abc==", "x=1&y=%20"] {
        assert_eq!(
            r.redact_body(Some("text/plain"), text.as_bytes(), 100),
            (text.to_string(), false)
        );
    }
}

#[test]
fn huge_bodies_are_recorded_from_a_prefix_without_half_secrets() {
    let r = Redactor::new(&[]).unwrap();
    let max = 100;
    let mut body = vec![b' '; max + 4090];
    body.extend_from_slice(b"sim_at_ABCDEFGHIJKLMNOPQRSTUV ");
    body.extend(std::iter::repeat_n(b'x', 2 << 20));
    let (text, truncated) = r.redact_body(Some("application/json"), &body, max);
    assert!(truncated);
    assert!(!text.contains("sim_at_"), "{text:?}");
    assert_eq!(text.chars().count(), max);
}

/// Issue 15 item 7: `Bearer realm="analytics"` came out as
/// `Bearer [REDACTED]"analytics"`. A challenge carries no credential: its
/// parameters stay readable, and only secret values in it are replaced.
#[test]
fn www_authenticate_over_redaction_keeps_challenge_params_readable() {
    let r = redactor();
    r.register_secret("eyJhbGciOi.reflected.secret");
    let headers = vec![
        (
            "WWW-Authenticate".to_string(),
            r#"Bearer realm="analytics", scope="reports.read", error="invalid_token", error_description="The access token expired""#
                .to_string(),
        ),
        (
            "www-authenticate".to_string(),
            r#"Bearer realm="analytics", error_description="token eyJhbGciOi.reflected.secret revoked""#
                .to_string(),
        ),
        (
            "WWW-Authenticate".to_string(),
            "Bearer error=invalid_token".to_string(),
        ),
    ];
    assert_eq!(
        r.redact_headers(&headers),
        vec![
            (
                "WWW-Authenticate".to_string(),
                r#"Bearer realm="analytics", scope="reports.read", error="invalid_token", error_description="The access token expired""#
                    .to_string(),
            ),
            (
                "www-authenticate".to_string(),
                r#"Bearer realm="analytics", error_description="token [REDACTED] revoked""#
                    .to_string(),
            ),
            (
                "WWW-Authenticate".to_string(),
                "Bearer error=invalid_token".to_string(),
            ),
        ]
    );
    // A credential after the scheme word is still a credential.
    assert_eq!(
        r.scrub("sent Bearer abc.def-ghi= and Basic dXNlcjpwYXNz"),
        "sent Bearer [REDACTED] and Basic [REDACTED]"
    );
}

/// Deterministic distinct tokens: `tok<i>_` padded with base64 characters.
fn tokens(n: usize) -> Vec<String> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|i| {
            let mut t = format!("tok{i}_");
            while t.len() < 40 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                t.push(alphabet[(x % 64) as usize] as char);
            }
            t
        })
        .collect()
}

/// Issue 17 item 1: one secret inside another, or overlapping it, is replaced
/// whole: the longest occurrence wins and no part of either is left behind.
#[test]
fn scrub_overlapping_secrets_leave_no_residue() {
    let r = redactor();
    r.register_secret("abcd1234");
    r.register_secret("abcd1234efgh5678");
    r.register_secret("1234efgh");
    assert_eq!(
        r.scrub("x abcd1234efgh5678 y abcd1234 z 1234efgh w"),
        "x [REDACTED] y [REDACTED] z [REDACTED] w"
    );
    // Neither contains the other, but they overlap in the text: one replacement.
    r.register_secret("tok_AAAABBBB");
    r.register_secret("BBBBCCCC_x");
    assert_eq!(r.scrub("<tok_AAAABBBBCCCC_x>"), "<[REDACTED]>");
    // Repeats of one secret that overlap themselves, and adjacent secrets.
    r.register_secret("zzzz");
    assert_eq!(r.scrub("zzzzzz|zzzz"), "[REDACTED]|[REDACTED]");
    assert_eq!(r.scrub("abcd1234zzzz"), "[REDACTED][REDACTED]");
}

/// Issue 17 item 1: 10,000 registered secrets (20,000 with their URL-encoded
/// forms) are all found, raw and encoded, in one text.
#[test]
fn scrub_finds_every_one_of_10000_registered_secrets() {
    let r = redactor();
    let secrets = tokens(10_000);
    for s in &secrets {
        r.register_secret(s);
    }
    let mut text = String::new();
    let mut expected = String::new();
    for (i, s) in secrets.iter().enumerate().filter(|(i, _)| i % 7 == 0) {
        let form = if i % 2 == 0 {
            s.clone()
        } else {
            url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
        };
        text.push_str(&format!("[{i}:{form}] "));
        expected.push_str(&format!("[{i}:{REDACTED}] "));
    }
    assert_eq!(r.scrub(&text), expected);
    // Text without any secret comes back unchanged.
    let clean = "GET /v1/invoices?page=3 200 {\"id\":\"inv_123\"}";
    assert_eq!(r.scrub(clean), clean);
}

/// Issue 17 item 1: the automata are rebuilt for secrets registered after a
/// scrub, at every step of a run that interleaves registrations and scrubs,
/// and the number of automata stays logarithmic in the number of secrets.
#[test]
fn scrub_finds_secrets_registered_after_earlier_scrubs() {
    let r = redactor();
    let secrets = tokens(1_000);
    let mut text = String::new();
    for (i, s) in secrets.iter().enumerate() {
        r.register_secret(s);
        text.push_str(s);
        text.push(' ');
        if i % 37 == 0 || i < 40 {
            // Every secret registered so far, none left half-replaced.
            assert_eq!(r.scrub(&text), format!("{REDACTED} ").repeat(i + 1), "{i}");
        } else {
            assert_eq!(r.scrub(s), REDACTED, "{i}");
        }
    }
    let secrets = r.secrets.read().expect("lock");
    let (levels, known) = (secrets.levels.len(), secrets.known.len());
    // Raw and URL-encoded forms: between 1,000 and 2,000 values.
    assert!((1_000..=2_000).contains(&known), "{known}");
    assert!(
        levels as f64 <= (known as f64).log2() + 1.0,
        "{levels} automata"
    );
    let sizes: Vec<usize> = secrets.levels.iter().map(|l| l.patterns.len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), known);
    // A binary counter: every level larger than the next.
    assert!(sizes.windows(2).all(|w| w[0] > w[1]), "{sizes:?}");
}

/// Issue 17 item 1: the URL-encoded form of a registered secret is replaced,
/// as are the raw form and secrets registered only in their encoded spelling.
#[test]
fn scrub_replaces_the_url_encoded_form_of_a_secret() {
    let r = redactor();
    r.register_secret("a+b/c=d?e&f g");
    assert_eq!(
        r.scrub("raw a+b/c=d?e&f g; form a%2Bb%2Fc%3Dd%3Fe%26f+g; end"),
        "raw [REDACTED]; form [REDACTED]; end"
    );
}

/// Registration and scrubbing from many threads at once: every thread finds
/// its own secret redacted right after registering it.
#[test]
fn scrub_is_thread_safe_while_secrets_are_registered() {
    let r = std::sync::Arc::new(redactor());
    let secrets = tokens(800);
    std::thread::scope(|scope| {
        for chunk in secrets.chunks(100) {
            let r = r.clone();
            scope.spawn(move || {
                for s in chunk {
                    r.register_secret(s);
                    assert_eq!(r.scrub(&format!("<{s}>")), "<[REDACTED]>");
                }
            });
        }
    });
    let all: String = secrets.join(",");
    assert_eq!(r.scrub(&all), vec![REDACTED; 800].join(","));
}

/// A panic while the secret lock was held (poisoning it) never makes a later
/// registration or scrub panic, and no secret is lost.
#[test]
fn poisoned_secret_lock_never_panics() {
    let r = redactor();
    r.register_secret("first-secret");
    let poisoned = std::thread::scope(|s| {
        s.spawn(|| {
            let _guard = r.secrets.write().unwrap_or_else(|e| e.into_inner());
            panic!("poison the lock");
        })
        .join()
    });
    assert!(poisoned.is_err());
    assert!(r.secrets.is_poisoned());
    r.register_secret("second-secret");
    assert_eq!(
        r.scrub("first-secret second-secret"),
        "[REDACTED] [REDACTED]"
    );
}

/// The fallback used if an automaton cannot be built finds the same
/// (overlapping) occurrences.
#[test]
fn level_without_automaton_finds_overlapping_occurrences() {
    let level = Level {
        patterns: vec!["aaaa".to_string(), "aab".to_string()],
        automaton: None,
    };
    let mut found = Vec::new();
    level.find_all("aaaaab", &mut found);
    found.sort_unstable();
    assert_eq!(found, vec![(0, 4), (1, 5), (3, 6)]);
}
