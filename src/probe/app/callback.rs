//! The callback probe (issue 20 item 3): is each registered callback (`auth.redirect_uris`)
//! still accepted by the provider's authorization endpoint? One front-channel authorization
//! request per callback per run — never logged in to, never followed past its first answer —
//! is classified as `accepted` (the provider shows its login or consent page, or redirects to
//! its own login, or redirects an error to the callback, which RFC 6749 §4.1.2.1 allows only
//! for a registered redirect URI), `rejected` (a `4xx`, an error page naming the redirect URI
//! or `invalid_request`, or an error about the redirect URI) or `unclear` (anything else).
//!
//! Pure: knows nothing about HTTP, baselines or reports. The observation keeps only stable,
//! secret-free facts (class, signal, status, a fixed-vocabulary error code, the origin and
//! path of the `Location`); the evidence (the `Location` without `state`/`code_challenge`,
//! a short excerpt of the page) is the caller's to redact and is never baselined.

use crate::baseline::emit::Emitter;
use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::body::ObservationBody;
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

/// Every callback observation's subject starts with this (`callback https://app.example/cb`).
pub const CALLBACK_PREFIX: &str = "callback ";

/// How much of a page is read for markers.
const SCAN_BYTES: usize = 64 * 1024;
/// Length of the evidence excerpt, in characters.
const EXCERPT_CHARS: usize = 160;

/// The subject of the observation of callback `uri` (as the redactor lets it through).
pub fn callback_subject(uri: &str) -> String {
    format!("{CALLBACK_PREFIX}{uri}")
}

/// What the authorization endpoint's answer says about one callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallbackClass {
    /// The provider would go on with this callback (login or consent, or it redirected to it).
    Accepted,
    /// The provider refuses this callback.
    Rejected,
    /// The answer does not tell.
    Unclear,
}

impl CallbackClass {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackClass::Accepted => "accepted",
            CallbackClass::Rejected => "rejected",
            CallbackClass::Unclear => "unclear",
        }
    }
}

/// Which part of the answer decided the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signal {
    /// A `2xx` HTML page without an error about the request: the login or consent page.
    ProviderPage,
    /// A `3xx` to a page of the provider (or a known identity origin), not an error page.
    LoginRedirect,
    /// A `3xx` to the callback itself, without an error or with one that is not about the
    /// redirect URI: the provider redirects only to registered URIs.
    CallbackRedirect,
    /// A `3xx` to the callback whose error is about the redirect URI.
    CallbackErrorRedirect,
    /// A `3xx` to an error page of the provider.
    ProviderErrorRedirect,
    /// A `2xx` page whose text names a redirect-URI error or `invalid_request`.
    ErrorPage,
    /// A `4xx` answer (other than `408`/`429`).
    ErrorStatus,
    /// `408` or `429`: the provider did not judge the request.
    NotJudged,
    /// A `5xx` answer.
    ServerError,
    /// A `3xx` to another origin.
    RedirectElsewhere,
    /// Anything else (a `3xx` without `Location`, a `2xx` that is not a page).
    Other,
}

/// The callback observation body: stable across runs, secret-free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackBody {
    pub callback: CallbackClass,
    /// The error code the answer names, from a fixed vocabulary (`redirect_uri_mismatch`,
    /// `AADSTS50011`, RFC 6749 codes, …; anything else is `(unrecognised)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The origin and path of the `Location` (never its query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Why an error redirect still means `accepted`, or what a rejection rests on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub signal: Signal,
    pub status: u16,
}

/// The evidence of one answer, before redaction: never baselined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackEvidence {
    /// The `Location` header with the `state` and `code_challenge` parameters removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// A short excerpt of the page's visible text (around the marker that decided, if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

/// One classified answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackVerdict {
    pub body: CallbackBody,
    pub evidence: CallbackEvidence,
}

/// The answer to one callback request, as received (nothing followed).
pub struct CallbackAnswer<'a> {
    pub status: u16,
    /// Lowercase names.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// The authorization URL the request was sent to (its origin is the provider's).
    pub authorize: &'a Url,
    /// The callback the request named.
    pub redirect_uri: &'a str,
}

/// Error codes kept as they are; any other is [`crate::probe::token::UNRECOGNISED_CODE`].
const KNOWN_CODES: &[&str] = &[
    "access_denied",
    "account_selection_required",
    "consent_required",
    "interaction_required",
    "invalid_client",
    "invalid_redirect_uri",
    "invalid_request",
    "invalid_request_object",
    "invalid_request_uri",
    "invalid_scope",
    "login_required",
    "redirect_uri_mismatch",
    "registration_not_supported",
    "request_not_supported",
    "server_error",
    "temporarily_unavailable",
    "unauthorized_client",
    "unsupported_response_type",
    "bad_redirect_uri",
];

/// Markers in a page's visible text (lowercase), strongest first, and the code each stands for.
const PAGE_CODES: &[(&str, &str)] = &[
    ("redirect_uri_mismatch", "redirect_uri_mismatch"),
    ("aadsts50011", "AADSTS50011"),
    ("aadsts900971", "AADSTS900971"),
    ("bad_redirect_uri", "bad_redirect_uri"),
    ("invalid_redirect_uri", "invalid_redirect_uri"),
    ("invalid_request", "invalid_request"),
    ("unauthorized_client", "unauthorized_client"),
    ("invalid_client", "invalid_client"),
];

/// Hosts of identity services that providers send their login to from another host.
const IDENTITY_HOSTS: &[&str] = &[
    "accounts.google.com",
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.live.com",
    "login.windows.net",
    "login.xero.com",
    "identity.xero.com",
    "slack.com",
];

/// Classifies the answer to one callback request.
pub fn classify(a: &CallbackAnswer<'_>) -> CallbackVerdict {
    let scanned = &a.body[..a.body.len().min(SCAN_BYTES)];
    let text = visible_text(&String::from_utf8_lossy(scanned));
    let location = header(a.headers, "location").and_then(|l| a.authorize.join(l).ok());
    let evidence_location = location.as_ref().map(without_volatile_params);
    let page_code = page_code(&text);
    let excerpt = excerpt(&text, page_code.map(|(marker, _)| marker));
    let mut body = CallbackBody {
        callback: CallbackClass::Unclear,
        error: None,
        location: location.as_ref().map(origin_and_path),
        note: None,
        signal: Signal::Other,
        status: a.status,
    };
    match a.status {
        300..=399 => match &location {
            None => {}
            Some(to) => redirect(&mut body, to, a),
        },
        200..=299 => {
            let names_redirect = names_redirect_uri(&text);
            let error_marked = ["error", "invalid", "mismatch", "does not match", "aadsts"]
                .iter()
                .any(|m| text.contains(m));
            let code = page_code.map(|(_, c)| c.to_string());
            if (names_redirect && error_marked)
                || code.as_deref().is_some_and(|c| c != "invalid_client")
            {
                body.callback = CallbackClass::Rejected;
                body.signal = Signal::ErrorPage;
                body.error = code;
                body.note = Some(if names_redirect {
                    "the page is an error about the redirect URI".into()
                } else {
                    "the page is an authorization error shown instead of a redirect".into()
                });
            } else if is_html(a.headers, scanned) {
                body.callback = CallbackClass::Accepted;
                body.signal = Signal::ProviderPage;
            }
        }
        408 | 429 => body.signal = Signal::NotJudged,
        400..=499 => {
            body.callback = CallbackClass::Rejected;
            body.signal = Signal::ErrorStatus;
            body.error = page_code.map(|(_, c)| c.to_string());
            if names_redirect_uri(&text) {
                body.note = Some("the answer names the redirect URI".into());
            }
        }
        500..=599 => body.signal = Signal::ServerError,
        _ => {}
    }
    CallbackVerdict {
        body,
        evidence: CallbackEvidence {
            location: evidence_location,
            excerpt,
        },
    }
}

/// Classifies a `3xx` to `to`.
fn redirect(body: &mut CallbackBody, to: &Url, a: &CallbackAnswer<'_>) {
    let params: Vec<(String, String)> = to
        .query_pairs()
        .chain(
            to.fragment()
                .map(|f| url::form_urlencoded::parse(f.as_bytes()))
                .into_iter()
                .flatten(),
        )
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if is_callback(to, a.redirect_uri) {
        let Some(error) = get("error") else {
            body.callback = CallbackClass::Accepted;
            body.signal = Signal::CallbackRedirect;
            return;
        };
        let code = known_code(error);
        let description = get("error_description").unwrap_or("").to_ascii_lowercase();
        let about_redirect = matches!(
            error,
            "redirect_uri_mismatch" | "invalid_redirect_uri" | "bad_redirect_uri"
        ) || names_redirect_uri(&description);
        if about_redirect {
            body.callback = CallbackClass::Rejected;
            body.signal = Signal::CallbackErrorRedirect;
            body.note = Some(format!(
                "the provider redirected `{code}` about the redirect URI to the callback: it \
                 knows the callback but refuses it as sent"
            ));
        } else {
            body.callback = CallbackClass::Accepted;
            body.signal = Signal::CallbackRedirect;
            body.note = Some(format!(
                "the provider redirected `{code}` to the callback; RFC 6749 §4.1.2.1 allows \
                 error redirects only to a registered redirect URI, so the callback is registered"
            ));
        }
        body.error = Some(code);
        return;
    }
    if !provider_side(to, a.authorize) {
        body.signal = Signal::RedirectElsewhere;
        return;
    }
    let path_and_names = format!(
        "{} {}",
        to.path(),
        params
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    )
    .to_ascii_lowercase();
    if !path_and_names.contains("error") {
        body.callback = CallbackClass::Accepted;
        body.signal = Signal::LoginRedirect;
        return;
    }
    body.signal = Signal::ProviderErrorRedirect;
    // Google's error page carries the reason base64-encoded (`authError=`).
    let mut said = String::new();
    for (_, v) in &params {
        said.push_str(&v.to_ascii_lowercase());
        said.push(' ');
        if let Some(decoded) = base64_text(v) {
            said.push_str(&decoded.to_ascii_lowercase());
            said.push(' ');
        }
    }
    if let Some((_, code)) = page_code(&said) {
        body.error = Some(code.to_string());
    }
    if names_redirect_uri(&said) {
        body.callback = CallbackClass::Rejected;
        body.note = Some("the provider's error page names the redirect URI".into());
    }
}

/// Whether `to` is the callback (scheme, host, port and path), whatever query it carries.
fn is_callback(to: &Url, redirect_uri: &str) -> bool {
    let Ok(cb) = Url::parse(redirect_uri) else {
        return false;
    };
    to.scheme() == cb.scheme()
        && to.host_str() == cb.host_str()
        && to.port_or_known_default() == cb.port_or_known_default()
        && to.path() == cb.path()
}

/// Whether `to` belongs to the provider: the authorization endpoint's origin, a host of the
/// same site (the last two labels, `login.xero.com` / `identity.xero.com`), or a known
/// identity host.
fn provider_side(to: &Url, authorize: &Url) -> bool {
    if to.origin() == authorize.origin() {
        return true;
    }
    if to.scheme() != "https" {
        return false;
    }
    let Some(host) = to.host_str() else {
        return false;
    };
    if IDENTITY_HOSTS
        .iter()
        .any(|h| host == *h || host.ends_with(&format!(".{h}")))
    {
        return true;
    }
    let site = |h: &str| -> Option<String> {
        let labels: Vec<&str> = h.split('.').collect();
        (labels.len() >= 2 && h.parse::<std::net::IpAddr>().is_err())
            .then(|| labels[labels.len() - 2..].join("."))
    };
    matches!((site(host), authorize.host_str().and_then(site)), (Some(a), Some(b)) if a == b)
}

fn known_code(code: &str) -> String {
    if KNOWN_CODES.contains(&code) {
        code.to_string()
    } else {
        crate::probe::token::UNRECOGNISED_CODE.to_string()
    }
}

/// The first page marker in `text` (lowercase) and its code.
fn page_code(text: &str) -> Option<(&'static str, &'static str)> {
    PAGE_CODES.iter().copied().find(|(m, _)| text.contains(m))
}

/// Whether lowercase `text` names the redirect URI (Microsoft says "reply URL" or "reply
/// address"; its AADSTS50011 and AADSTS900971 are about it too).
fn names_redirect_uri(text: &str) -> bool {
    [
        "redirect_uri",
        "redirect uri",
        "redirect url",
        "redirect-uri",
        "reply url",
        "reply address",
        "aadsts50011",
        "aadsts900971",
    ]
    .iter()
    .any(|m| text.contains(m))
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn is_html(headers: &[(String, String)], body: &[u8]) -> bool {
    if header(headers, "content-type").is_some_and(|c| c.to_ascii_lowercase().contains("html")) {
        return true;
    }
    let start = String::from_utf8_lossy(&body[..body.len().min(64)]).to_ascii_lowercase();
    let start = start.trim_start();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

/// The page's text as a reader sees it, lowercase, whitespace collapsed: tags (and the
/// attribute values inside them: a consent form's hidden `redirect_uri` field is not an
/// error), `<script>` and `<style>` contents dropped, the common entities decoded.
fn visible_text(page: &str) -> String {
    let lower = page.to_ascii_lowercase();
    let mut out = String::with_capacity(lower.len().min(SCAN_BYTES));
    let mut rest = lower.as_str();
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        out.push(' ');
        let after = &rest[lt..];
        let mut from = 0;
        for tag in ["script", "style"] {
            if after[1..].starts_with(tag) {
                // Up to the closing tag (or the end, when there is none).
                from = after.find(&format!("</{tag}")).unwrap_or(after.len() - 1);
            }
        }
        rest = match after[from..].find('>') {
            Some(gt) => &after[from + gt + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    let decoded = out
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// About [`EXCERPT_CHARS`] characters of `text`, starting a little before `marker` if given.
fn excerpt(text: &str, marker: Option<&str>) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    let start_byte = marker
        .and_then(|m| text.find(m))
        .map(|at| {
            let mut s = at.saturating_sub(40);
            while !text.is_char_boundary(s) {
                s -= 1;
            }
            s
        })
        .unwrap_or(0);
    let piece: String = text[start_byte..].chars().take(EXCERPT_CHARS).collect();
    Some(piece)
}

/// The origin and path of `u` (no user info, query or fragment).
fn origin_and_path(u: &Url) -> String {
    format!("{}{}", u.origin().ascii_serialization(), u.path())
}

/// `u` without its `state` and `code_challenge` parameters (query and fragment): the values
/// this request made up, which say nothing and must not be kept.
fn without_volatile_params(u: &Url) -> String {
    const DROP: [&str; 3] = ["state", "code_challenge", "code_challenge_method"];
    let filter = |raw: &str| -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                url::form_urlencoded::parse(raw.as_bytes())
                    .filter(|(k, _)| !DROP.contains(&k.as_ref())),
            )
            .finish()
    };
    let mut out = u.clone();
    let query = u.query().map(filter);
    out.set_query(query.as_deref().filter(|q| !q.is_empty()));
    let fragment = u.fragment().map(filter);
    out.set_fragment(fragment.as_deref().filter(|f| !f.is_empty()));
    out.to_string()
}

/// `v` decoded as (URL-safe or standard) base64 into mostly printable text, if it is.
fn base64_text(v: &str) -> Option<String> {
    use base64::Engine;
    if v.len() < 8 {
        return None;
    }
    let trimmed = v.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .ok()?;
    Some(
        bytes
            .iter()
            .map(|b| {
                if b.is_ascii_graphic() || *b == b' ' {
                    *b as char
                } else {
                    ' '
                }
            })
            .collect(),
    )
}

/// The observation of one callback.
pub fn observe(provider: &str, subject: &str, body: &CallbackBody) -> Observation {
    Observation {
        key: key(provider, subject),
        body: body.to_json(),
    }
}

pub(super) fn key(provider: &str, subject: &str) -> ObservationKey {
    ObservationKey {
        provider: provider.to_owned(),
        probe: ProbeKind::App,
        subject: subject.to_owned(),
        connection: None,
    }
}

/// How the answer showed its class, for messages (`a 400 page naming redirect_uri_mismatch`).
pub fn describe(b: &CallbackBody) -> String {
    let code = b
        .error
        .as_deref()
        .map(|e| format!(" naming `{e}`"))
        .unwrap_or_default();
    match b.signal {
        Signal::ProviderPage => format!("status {} with the provider's page", b.status),
        Signal::LoginRedirect => format!("a {} redirect to the provider's login", b.status),
        Signal::CallbackRedirect => match &b.error {
            Some(e) => format!("a {} redirect of `error={e}` to the callback", b.status),
            None => format!("a {} redirect to the callback", b.status),
        },
        Signal::CallbackErrorRedirect => format!(
            "a {} redirect to the callback with an error about the redirect URI{code}",
            b.status
        ),
        Signal::ProviderErrorRedirect => {
            format!("a {} redirect to the provider's error page{code}", b.status)
        }
        Signal::ErrorPage => format!("a {} error page{code}", b.status),
        Signal::ErrorStatus => format!("status {}{code}", b.status),
        Signal::NotJudged => format!("status {} (not judged)", b.status),
        Signal::ServerError => format!("server error {}", b.status),
        Signal::RedirectElsewhere => format!("a {} redirect to another origin", b.status),
        Signal::Other => format!("status {}", b.status),
    }
}

/// The callback of a subject (`callback <uri>` → `<uri>`).
fn uri_of(subject: &str) -> &str {
    subject.strip_prefix(CALLBACK_PREFIX).unwrap_or(subject)
}

impl ObservationBody for CallbackBody {
    const NAME: &'static str = "app callback";
    const UNREADABLE: Rule = Rule::AppObservationUnreadable;

    fn diff(em: &mut Emitter<'_>, before: &Self, after: &Self) {
        if before.callback == CallbackClass::Accepted && after.callback == CallbackClass::Rejected {
            let uri = uri_of(&em.key.subject).to_string();
            em.push(
                Rule::AppRedirectUriRejected,
                Severity::Breaking,
                None,
                format!(
                    "the authorization endpoint now rejects the callback `{uri}` with {}: \
                     sign-ins that return to it fail (was accepted: {})",
                    describe(after),
                    describe(before)
                ),
                Some(before.to_json()),
                Some(after.to_json()),
            );
        }
    }
}

/// This run's findings for one callback: `app.redirect-uri-unclear` when the answer did not
/// tell; `app.redirect-uri-refused` when it is rejected and `baseline_accepted` is false (a
/// callback the baseline saw accepted is `app.redirect-uri-rejected`, a drift, instead).
pub fn findings(
    provider: &str,
    subject: &str,
    body: &CallbackBody,
    baseline_accepted: bool,
) -> Vec<Drift> {
    let uri = uri_of(subject);
    let (rule, message) = match body.callback {
        CallbackClass::Accepted => return Vec::new(),
        CallbackClass::Rejected if baseline_accepted => return Vec::new(),
        CallbackClass::Rejected => (
            Rule::AppRedirectUriRefused,
            format!(
                "the authorization endpoint rejects the callback `{uri}` with {}: register it \
                 with the provider or remove it from `auth.redirect_uris`",
                describe(body)
            ),
        ),
        CallbackClass::Unclear => (
            Rule::AppRedirectUriUnclear,
            format!(
                "the authorization endpoint answered the request for callback `{uri}` with {}: \
                 it does not tell whether the callback is registered",
                describe(body)
            ),
        ),
    };
    let severity = Severity::Warning;
    vec![Drift {
        rule: rule.emit(severity),
        severity,
        provider: provider.to_owned(),
        probe: ProbeKind::App,
        subject: subject.to_owned(),
        path: None,
        connections: Vec::new(),
        message,
        before: None,
        after: Some(body.to_json()),
        exchanges: Vec::new(),
        fingerprint: String::new(),
        suppressed: None,
        first_seen: None,
    }]
}

/// `body` with the (redacted) evidence beside it, for a drift's or finding's `after`.
pub fn with_evidence(body: &Value, evidence: &CallbackEvidence) -> Value {
    let mut v = body.clone();
    if let (Value::Object(map), Ok(e)) = (&mut v, serde_json::to_value(evidence))
        && e.as_object().is_some_and(|o| !o.is_empty())
    {
        map.insert("evidence".into(), e);
    }
    v
}

#[cfg(test)]
#[path = "callback_tests.rs"]
mod tests;
