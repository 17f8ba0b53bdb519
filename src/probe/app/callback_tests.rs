//! Exact classification of callback answers (the provider families of docs/app-health.md),
//! the `app.redirect-uri-*` rules, and the snapshot round trip.

use super::*;
use crate::probe::body::diff_bodies;

const CALLBACK: &str = "https://app.example.com/cb";

fn authorize() -> Url {
    Url::parse("https://auth.example.com/oauth/authorize").unwrap()
}

fn html() -> Vec<(String, String)> {
    vec![("content-type".into(), "text/html; charset=utf-8".into())]
}

fn located(to: &str) -> Vec<(String, String)> {
    vec![("location".into(), to.into())]
}

fn classify_answer(status: u16, headers: &[(String, String)], body: &str) -> CallbackVerdict {
    let authorize = authorize();
    classify(&CallbackAnswer {
        status,
        headers,
        body: body.as_bytes(),
        authorize: &authorize,
        redirect_uri: CALLBACK,
    })
}

#[test]
fn google_style_400_redirect_uri_mismatch_page_is_rejected() {
    let page = "<!doctype html><html><head><title>Error 400: redirect_uri_mismatch</title></head>\
        <body><h1>Access blocked: This app's request is invalid</h1>\
        <p>You can't sign in because this app sent an invalid request.</p>\
        <p>Error 400: redirect_uri_mismatch</p>\
        <p>Request details: redirect_uri=https://app.example.com/cb</p></body></html>";
    let v = classify_answer(400, &html(), page);
    assert_eq!(
        v.body,
        CallbackBody {
            callback: CallbackClass::Rejected,
            error: Some("redirect_uri_mismatch".into()),
            location: None,
            note: Some("the answer names the redirect URI".into()),
            signal: Signal::ErrorStatus,
            status: 400,
        }
    );
    assert_eq!(v.evidence.location, None);
    let excerpt = v.evidence.excerpt.unwrap();
    assert!(
        excerpt.contains("error 400: redirect_uri_mismatch"),
        "{excerpt}"
    );
    assert!(excerpt.chars().count() <= 160);
}

#[test]
fn microsoft_style_200_page_with_aadsts50011_is_rejected() {
    let page = "<html><head><title>Sign in to your account</title>\
        <script>var $Config={\"strServiceExceptionMessage\":\"x\"};</script></head><body>\
        <div>Sorry, but we're having trouble signing you in.</div>\
        <div>AADSTS50011: The redirect URI 'https://app.example.com/cb' specified in the request \
        does not match the redirect URIs configured for the application \
        '00000000-0000-0000-0000-000000000000'.</div></body></html>";
    let v = classify_answer(200, &html(), page);
    assert_eq!(
        v.body,
        CallbackBody {
            callback: CallbackClass::Rejected,
            error: Some("AADSTS50011".into()),
            location: None,
            note: Some("the page is an error about the redirect URI".into()),
            signal: Signal::ErrorPage,
            status: 200,
        }
    );
}

#[test]
fn a_302_to_the_providers_login_page_is_accepted() {
    let v = classify_answer(
        302,
        &located("https://login.example.com/signin?continue=abc&state=st-1"),
        "",
    );
    assert_eq!(
        v.body,
        CallbackBody {
            callback: CallbackClass::Accepted,
            error: None,
            location: Some("https://login.example.com/signin".into()),
            note: None,
            signal: Signal::LoginRedirect,
            status: 302,
        }
    );
    assert_eq!(
        v.evidence.location.as_deref(),
        Some("https://login.example.com/signin?continue=abc")
    );
    // A relative Location is the authorization endpoint's own origin.
    let v = classify_answer(302, &located("/login?next=%2Foauth"), "");
    assert_eq!(v.body.callback, CallbackClass::Accepted);
    assert_eq!(
        v.body.location.as_deref(),
        Some("https://auth.example.com/login")
    );
    // Microsoft's and Google's identity hosts are the provider's login too.
    let v = classify_answer(
        302,
        &located("https://accounts.google.com/v3/signin/identifier?x=1"),
        "",
    );
    assert_eq!(v.body.signal, Signal::LoginRedirect);
}

#[test]
fn a_302_to_the_callback_with_invalid_scope_means_registered() {
    let v = classify_answer(
        302,
        &located(
            "https://app.example.com/cb?error=invalid_scope&error_description=unknown+scope\
             &state=st-secret-1&code_challenge=abcdefgh",
        ),
        "",
    );
    assert_eq!(
        v.body,
        CallbackBody {
            callback: CallbackClass::Accepted,
            error: Some("invalid_scope".into()),
            location: Some(CALLBACK.into()),
            note: Some(
                "the provider redirected `invalid_scope` to the callback; RFC 6749 §4.1.2.1 \
                 allows error redirects only to a registered redirect URI, so the callback is \
                 registered"
                    .into()
            ),
            signal: Signal::CallbackRedirect,
            status: 302,
        }
    );
    assert_eq!(
        v.evidence.location.as_deref(),
        Some("https://app.example.com/cb?error=invalid_scope&error_description=unknown+scope")
    );
    // access_denied likewise; an unknown code is kept as unrecognised.
    let v = classify_answer(
        303,
        &located("https://app.example.com/cb?error=access_denied"),
        "",
    );
    assert_eq!(v.body.callback, CallbackClass::Accepted);
    let v = classify_answer(
        302,
        &located("https://app.example.com/cb?error=weird_thing"),
        "",
    );
    assert_eq!(v.body.error.as_deref(), Some("(unrecognised)"));
    assert_eq!(v.body.callback, CallbackClass::Accepted);
    // Without an error, a redirect to the callback is accepted too.
    let v = classify_answer(
        302,
        &located("https://app.example.com/cb?code=x&state=y"),
        "",
    );
    assert_eq!(
        (v.body.callback, v.body.signal, v.body.error),
        (CallbackClass::Accepted, Signal::CallbackRedirect, None)
    );
}

#[test]
fn a_302_to_the_callback_with_invalid_request_about_the_redirect_uri_is_rejected() {
    let v = classify_answer(
        302,
        &located(
            "https://app.example.com/cb?error=invalid_request\
             &error_description=The+redirect_uri+is+not+allowed+for+this+client&state=s1",
        ),
        "",
    );
    assert_eq!(
        v.body,
        CallbackBody {
            callback: CallbackClass::Rejected,
            error: Some("invalid_request".into()),
            location: Some(CALLBACK.into()),
            note: Some(
                "the provider redirected `invalid_request` about the redirect URI to the \
                 callback: it knows the callback but refuses it as sent"
                    .into()
            ),
            signal: Signal::CallbackErrorRedirect,
            status: 302,
        }
    );
    // invalid_request about something else (PKCE) says the callback is registered.
    let v = classify_answer(
        302,
        &located(
            "https://app.example.com/cb?error=invalid_request&error_description=code_challenge+required",
        ),
        "",
    );
    assert_eq!(v.body.callback, CallbackClass::Accepted);
}

#[test]
fn a_500_is_unclear() {
    let v = classify_answer(
        500,
        &html(),
        "<html><body>Internal Server Error</body></html>",
    );
    assert_eq!(
        v.body,
        CallbackBody {
            callback: CallbackClass::Unclear,
            error: None,
            location: None,
            note: None,
            signal: Signal::ServerError,
            status: 500,
        }
    );
    assert_eq!(v.evidence.excerpt.as_deref(), Some("internal server error"));
    assert_eq!(classify_answer(429, &[], "").body.signal, Signal::NotJudged);
    assert_eq!(
        classify_answer(429, &[], "").body.callback,
        CallbackClass::Unclear
    );
}

#[test]
fn a_consent_page_carrying_the_redirect_uri_in_a_hidden_field_is_accepted() {
    let page = "<!doctype html>\n<html><head><title>Simulated consent</title></head>\n\
        <body><h1>driftwatch-sim wants access</h1><p>Scopes: <code>profile</code></p>\
        <form method=\"post\"><input type=\"hidden\" name=\"redirect_uri\" value=\"https://app.example.com/cb\">\
        <button>Approve</button></form></body></html>";
    let v = classify_answer(200, &html(), page);
    assert_eq!(
        (v.body.callback, v.body.signal, v.body.error),
        (CallbackClass::Accepted, Signal::ProviderPage, None)
    );
    // A 200 that is not a page says nothing.
    let v = classify_answer(
        200,
        &[("content-type".into(), "application/json".into())],
        "{}",
    );
    assert_eq!(
        (v.body.callback, v.body.signal),
        (CallbackClass::Unclear, Signal::Other)
    );
}

#[test]
fn provider_error_redirects_are_read_base64_included() {
    use base64::Engine;
    let reason = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode("\u{8}redirect_uri_mismatch\u{12}bad redirect_uri");
    let v = classify_answer(
        302,
        &located(&format!(
            "https://accounts.google.com/signin/oauth/error?authError={reason}&client_id=1"
        )),
        "",
    );
    assert_eq!(
        v.body,
        CallbackBody {
            callback: CallbackClass::Rejected,
            error: Some("redirect_uri_mismatch".into()),
            location: Some("https://accounts.google.com/signin/oauth/error".into()),
            note: Some("the provider's error page names the redirect URI".into()),
            signal: Signal::ProviderErrorRedirect,
            status: 302,
        }
    );
    let v = classify_answer(302, &located("https://auth.example.com/error?code=42"), "");
    assert_eq!(
        (v.body.callback, v.body.signal),
        (CallbackClass::Unclear, Signal::ProviderErrorRedirect)
    );
    // Another origin, and a 3xx without Location, do not tell.
    let v = classify_answer(302, &located("https://evil.example.net/x"), "");
    assert_eq!(
        (v.body.callback, v.body.signal),
        (CallbackClass::Unclear, Signal::RedirectElsewhere)
    );
    let v = classify_answer(302, &[], "");
    assert_eq!(
        (v.body.callback, v.body.signal),
        (CallbackClass::Unclear, Signal::Other)
    );
}

#[test]
fn other_4xx_are_rejected_and_say_what_they_name() {
    let v = classify_answer(
        400,
        &[("content-type".into(), "application/json".into())],
        r#"{"error":"invalid_request","error_description":"Invalid redirect_uri"}"#,
    );
    assert_eq!(
        v.body,
        CallbackBody {
            callback: CallbackClass::Rejected,
            error: Some("invalid_request".into()),
            location: None,
            note: Some("the answer names the redirect URI".into()),
            signal: Signal::ErrorStatus,
            status: 400,
        }
    );
}

fn accepted() -> CallbackBody {
    classify_answer(200, &html(), "<html><body>Sign in</body></html>").body
}

fn rejected() -> CallbackBody {
    classify_answer(
        400,
        &html(),
        "<html><body>Error 400: redirect_uri_mismatch</body></html>",
    )
    .body
}

#[test]
fn app_redirect_uri_rejected_when_the_baseline_was_accepted() {
    let k = key("acme", &callback_subject(CALLBACK));
    let d = diff_bodies::<CallbackBody>(&k, &accepted().to_json(), &rejected().to_json());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].rule, Rule::AppRedirectUriRejected);
    assert_eq!(d[0].severity, Severity::Breaking);
    assert_eq!(d[0].subject, "callback https://app.example.com/cb");
    assert_eq!(
        d[0].message,
        "the authorization endpoint now rejects the callback `https://app.example.com/cb` with \
         status 400 naming `redirect_uri_mismatch`: sign-ins that return to it fail (was \
         accepted: status 200 with the provider's page)"
    );
    // Still rejected, unclear now, or accepted again: no drift.
    for (b, a) in [
        (rejected(), rejected()),
        (accepted(), classify_answer(503, &[], "").body),
        (rejected(), accepted()),
    ] {
        assert_eq!(
            diff_bodies::<CallbackBody>(&k, &b.to_json(), &a.to_json()),
            vec![]
        );
    }
}

#[test]
fn app_redirect_uri_refused_and_unclear_are_findings() {
    let subject = callback_subject(CALLBACK);
    let f = findings("acme", &subject, &rejected(), false);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, Rule::AppRedirectUriRefused);
    assert_eq!(
        (f[0].severity, f[0].subject.as_str()),
        (Severity::Warning, subject.as_str())
    );
    assert_eq!(
        f[0].message,
        "the authorization endpoint rejects the callback `https://app.example.com/cb` with \
         status 400 naming `redirect_uri_mismatch`: register it with the provider or remove it \
         from `auth.redirect_uris`"
    );
    // The drift says it when the baseline saw it accepted.
    assert_eq!(findings("acme", &subject, &rejected(), true), vec![]);
    assert_eq!(findings("acme", &subject, &accepted(), false), vec![]);
    let f = findings("acme", &subject, &classify_answer(503, &[], "").body, false);
    assert_eq!(f[0].rule, Rule::AppRedirectUriUnclear);
    assert_eq!(
        f[0].message,
        "the authorization endpoint answered the request for callback \
         `https://app.example.com/cb` with server error 503: it does not tell whether the \
         callback is registered"
    );
}

#[test]
fn snapshot_round_trip_and_evidence_beside_it() {
    let b = rejected();
    let text = serde_json::to_string_pretty(&b.to_json()).unwrap();
    assert_eq!(
        text,
        "{\n  \"callback\": \"rejected\",\n  \"error\": \"redirect_uri_mismatch\",\n  \"note\": \"the answer names the redirect URI\",\n  \"signal\": \"error-status\",\n  \"status\": 400\n}"
    );
    let back = CallbackBody::parse(&serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(back, b);
    let with = with_evidence(
        &b.to_json(),
        &CallbackEvidence {
            location: None,
            excerpt: Some("error 400".into()),
        },
    );
    assert_eq!(
        with["evidence"],
        serde_json::json!({"excerpt": "error 400"})
    );
    assert!(
        with_evidence(&b.to_json(), &CallbackEvidence::default())
            .get("evidence")
            .is_none()
    );
}
