//! The token probe: classifies each token-endpoint answer against RFC 6749 §5 and OAuth 2.1
//! §3.2.3 into value-free facts, merges them into one observation per provider and names the
//! non-conformances. Pure: knows nothing about HTTP, baselines or reports, and keeps no secret.

mod body;
mod diff;

pub use body::{GrantFacts, Outcome, TokenBody};

use crate::auth::response::split_scope;
use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::body::ObservationBody;
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use std::collections::{BTreeMap, BTreeSet};

/// The observation subject of the token probe.
pub const SUBJECT: &str = "token-endpoint";

/// The `grant` label of the deliberate error probe (a refresh with an invalid token).
pub use crate::auth::ERROR_PROBE_GRANT;

/// Vendor names for the refresh token's lifetime; no standard one exists (OAuth 2.1 §1.3.2).
const REFRESH_EXPIRY_HINTS: [&str; 3] = [
    "refresh_expires_in",
    "refresh_token_expires_in",
    "x_refresh_token_expires_in",
];

/// Larger `expires_in` values are points in time, not lifetimes (10^9 s is ~31 years; TikTok's
/// Merchant API sends a Unix timestamp).
const TIMESTAMP_THRESHOLD: f64 = 1e9;

/// What one token-endpoint answer looked like, with every secret value dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFacts {
    /// `authorization_code`, `refresh_token`, … or [`ERROR_PROBE_GRANT`].
    pub grant: String,
    pub status_class: StatusClass,
    pub content_type: ContentKind,
    /// `Cache-Control` contains `no-store` (RFC 6749 §5.1 requires it).
    pub cache_control_no_store: bool,
    /// What the body said; serialised flat with an `outcome` tag.
    #[serde(flatten)]
    pub answer: Answer,
}

/// The class of the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StatusClass {
    #[serde(rename = "1xx")]
    Informational,
    #[serde(rename = "2xx")]
    Success,
    #[serde(rename = "3xx")]
    Redirection,
    #[serde(rename = "4xx")]
    ClientError,
    #[serde(rename = "5xx")]
    ServerError,
    #[serde(rename = "other")]
    Other,
}

impl StatusClass {
    /// The class of `status`.
    pub fn of(status: u16) -> StatusClass {
        match status {
            100..=199 => StatusClass::Informational,
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirection,
            400..=499 => StatusClass::ClientError,
            500..=599 => StatusClass::ServerError,
            _ => StatusClass::Other,
        }
    }
}

/// How the body was encoded, judged by the bytes and then by the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContentKind {
    Json,
    Form,
    /// A form-encoded body whose `Content-Type` claims JSON (GitHub).
    FormLabelledJson,
    Other,
}

/// What the body said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Answer {
    /// A token was issued.
    Token(TokenAnswer),
    /// An error: an `error` member, or a non-2xx answer without a token.
    Error(ErrorAnswer),
    /// A 2xx answer carrying neither a token nor an error.
    Unreadable,
}

/// The conformance facts of an issued token (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAnswer {
    pub token_type: TokenType,
    pub expires_in: ExpiresIn,
    pub refresh_token: RefreshToken,
    pub scope: ScopeKind,
    /// Names of the vendor refresh-token lifetime members present, sorted.
    pub refresh_expiry_hints: Vec<String>,
}

/// The facts of an error answer (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// The `error` code, a fixed vocabulary; `None` when there is none (an HTML page).
    /// Anything that does not look like a code is replaced by [`UNRECOGNISED_CODE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The body is a JSON object.
    pub error_json: bool,
    pub error_status: ErrorStatus,
    /// The error arrived with a 2xx status (GitHub).
    pub error_with_200: bool,
}

/// Stands in for an `error` member that is not a plain code, so no value is ever kept.
pub const UNRECOGNISED_CODE: &str = "(unrecognised)";

/// The status of an error answer: RFC 6749 §5.2 allows 400, and 401 for `invalid_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorStatus {
    #[serde(rename = "400")]
    BadRequest,
    #[serde(rename = "401")]
    Unauthorized,
    #[serde(rename = "other")]
    Other,
}

/// `token_type`: `bearer` in any case, something else, or missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenType {
    Bearer,
    Other,
    Absent,
}

/// How `expires_in` was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpiresIn {
    Number,
    /// A numeric JSON string (Microsoft v1, Reddit).
    String,
    /// A value above 10^9: a Unix time, not a lifetime.
    Timestamp,
    Absent,
    Other,
}

impl ExpiresIn {
    fn describe(self) -> &'static str {
        match self {
            ExpiresIn::Number => "a number",
            ExpiresIn::String => "a string",
            ExpiresIn::Timestamp => "a Unix timestamp",
            ExpiresIn::Absent => "nothing",
            ExpiresIn::Other => "a value that is not a number",
        }
    }
}

/// What came back as `refresh_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshToken {
    Absent,
    /// `null` or empty: the member is there, no token is.
    Null,
    /// Differs from the one sent (rotation).
    PresentNew,
    /// Equals the one sent.
    PresentSame,
    /// Returned, but there was nothing to compare it with.
    Present,
}

/// `scope` compared with the request, as sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeKind {
    Absent,
    Echoed,
    /// A strict subset of the request (Google granular consent).
    Narrowed,
    /// Holds a scope that was not requested.
    Widened,
    /// Returned although the request named none.
    Returned,
}

/// Classifies one answer the token manager recorded ([`analyse`] over its parts).
pub fn analyse_answer(a: &crate::auth::TokenAnswer) -> TokenFacts {
    use secrecy::ExposeSecret;
    analyse(
        &a.grant,
        &a.requested_scopes,
        a.previous_refresh_token.as_ref().map(|t| t.expose_secret()),
        a.status,
        &a.headers,
        &a.body,
    )
}

/// Classifies one token-endpoint answer. `grant`: "authorization_code" | "refresh_token" |
/// "client_credentials" | "password" | "device_code" | [`ERROR_PROBE_GRANT`].
/// `requested_scopes`: what the request asked for (empty = none). `previous_refresh_token`: for
/// refresh grants, the token sent, so a returned one can be compared — it is never stored.
pub fn analyse(
    grant: &str,
    requested_scopes: &[String],
    previous_refresh_token: Option<&str>,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> TokenFacts {
    let labelled_json = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .any(|(_, v)| is_json_media_type(v));
    let cache_control_no_store = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cache-control"))
        .any(|(_, v)| v.to_ascii_lowercase().contains("no-store"));
    let (content_type, map) = read_body(body, labelled_json);
    let success = (200..300).contains(&status);
    let error = |code: Option<String>| {
        Answer::Error(ErrorAnswer {
            error: code,
            error_json: content_type == ContentKind::Json && map.is_some(),
            error_status: match status {
                400 => ErrorStatus::BadRequest,
                401 => ErrorStatus::Unauthorized,
                _ => ErrorStatus::Other,
            },
            error_with_200: success,
        })
    };
    let answer = match &map {
        Some(m) if m.get("error").is_some_and(|v| !v.is_null()) => {
            error(Some(error_code(m.get("error"))))
        }
        Some(m)
            if m.get("access_token")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty()) =>
        {
            let form = content_type != ContentKind::Json;
            Answer::Token(token_answer(
                m,
                form,
                requested_scopes,
                previous_refresh_token,
            ))
        }
        _ if success => Answer::Unreadable,
        _ => error(None),
    };
    TokenFacts {
        grant: grant.to_owned(),
        status_class: StatusClass::of(status),
        content_type,
        cache_control_no_store,
        answer,
    }
}

fn is_json_media_type(value: &str) -> bool {
    let media = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || media.ends_with("+json")
}

/// The body's encoding and its members; members only for an object or a form.
fn read_body(body: &[u8], labelled_json: bool) -> (ContentKind, Option<Map<String, Value>>) {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => (ContentKind::Json, Some(m)),
        Ok(_) => (ContentKind::Json, None),
        Err(_) => match parse_form(body) {
            Some(m) if labelled_json => (ContentKind::FormLabelledJson, Some(m)),
            Some(m) => (ContentKind::Form, Some(m)),
            None => (ContentKind::Other, None),
        },
    }
}

/// The same leniency as `auth::response`: anything with `=` that is not JSON or markup.
fn parse_form(body: &[u8]) -> Option<Map<String, Value>> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() || !text.contains('=') || text.starts_with(['{', '[', '<']) {
        return None;
    }
    let mut m = Map::new();
    for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
        m.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    Some(m)
}

/// Real codes are words (`invalid_grant`, `bad_verification_code`); anything else might be a
/// value a provider echoed, so it is not kept.
fn error_code(v: Option<&Value>) -> String {
    match v.and_then(Value::as_str) {
        Some(s)
            if !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphabetic() || b"_-.".contains(&b)) =>
        {
            s.to_owned()
        }
        _ => UNRECOGNISED_CODE.to_owned(),
    }
}

fn token_answer(
    m: &Map<String, Value>,
    form: bool,
    requested: &[String],
    previous: Option<&str>,
) -> TokenAnswer {
    let token_type = match m.get("token_type") {
        None | Some(Value::Null) => TokenType::Absent,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("bearer") => TokenType::Bearer,
        Some(_) => TokenType::Other,
    };
    let refresh_token = match m.get("refresh_token") {
        None => RefreshToken::Absent,
        Some(Value::Null) => RefreshToken::Null,
        // An empty value issues no token, exactly like `null`.
        Some(Value::String(s)) if s.is_empty() => RefreshToken::Null,
        Some(Value::String(s)) => match previous {
            Some(p) if p == s => RefreshToken::PresentSame,
            Some(_) => RefreshToken::PresentNew,
            None => RefreshToken::Present,
        },
        Some(_) => RefreshToken::Present,
    };
    let refresh_expiry_hints = REFRESH_EXPIRY_HINTS
        .iter()
        .filter(|k| m.get(**k).is_some_and(|v| !v.is_null()))
        .map(|k| (*k).to_owned())
        .collect();
    TokenAnswer {
        token_type,
        expires_in: expires_in(m.get("expires_in"), form),
        refresh_token,
        scope: scope(m.get("scope"), requested),
        refresh_expiry_hints,
    }
}

/// A form body can only carry strings, so there a numeric string counts as a number (the
/// form encoding is its own finding). A timestamp is named as such whatever carried it: the
/// meaning is wrong even for a client that parses strings.
fn expires_in(v: Option<&Value>, form: bool) -> ExpiresIn {
    let numeric = |f: f64| {
        if f > TIMESTAMP_THRESHOLD {
            Some(ExpiresIn::Timestamp)
        } else if f >= 0.0 {
            Some(ExpiresIn::Number)
        } else {
            None
        }
    };
    match v {
        None | Some(Value::Null) => ExpiresIn::Absent,
        Some(Value::Number(n)) => n.as_f64().and_then(numeric).unwrap_or(ExpiresIn::Other),
        Some(Value::String(s)) => match s.trim().parse::<u64>() {
            Ok(n) => match numeric(n as f64) {
                Some(ExpiresIn::Number) if !form => ExpiresIn::String,
                Some(kind) => kind,
                None => ExpiresIn::Other,
            },
            Err(_) => ExpiresIn::Other,
        },
        Some(_) => ExpiresIn::Other,
    }
}

fn scope(v: Option<&Value>, requested: &[String]) -> ScopeKind {
    let granted: BTreeSet<String> = match v {
        Some(Value::String(s)) => split_scope(s).into_iter().collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(split_scope)
            .collect(),
        _ => return ScopeKind::Absent,
    };
    // Requested scopes are normalised the same way, so "a b" and ["b", "a"] compare equal.
    let requested: BTreeSet<String> = requested.iter().flat_map(|s| split_scope(s)).collect();
    if requested.is_empty() {
        ScopeKind::Returned
    } else if granted == requested {
        ScopeKind::Echoed
    } else if granted.is_subset(&requested) {
        ScopeKind::Narrowed
    } else {
        ScopeKind::Widened
    }
}

/// One observation for the provider: per grant the facts merged over connections. A field on
/// which connections disagree holds the sorted set of their values, so the order of `facts`
/// never matters. Holds no values and no timestamps.
pub fn observe(provider: &str, facts: &[TokenFacts]) -> Observation {
    let grants = by_grant(facts)
        .into_iter()
        .map(|(grant, group)| (grant.to_owned(), GrantFacts::merge(&group)))
        .collect();
    Observation {
        key: ObservationKey {
            provider: provider.to_owned(),
            probe: ProbeKind::Token,
            subject: SUBJECT.to_owned(),
            connection: None,
        },
        body: TokenBody { grants }.to_json(),
    }
}

fn by_grant(facts: &[TokenFacts]) -> BTreeMap<&str, Vec<&TokenFacts>> {
    let mut out: BTreeMap<&str, Vec<&TokenFacts>> = BTreeMap::new();
    for f in facts {
        out.entry(f.grant.as_str()).or_default().push(f);
    }
    out
}

/// Non-conformance findings of this run, one drift per grant and rule (connections that agree
/// collapse into one), sorted by [`Drift::sort_key`]. Rule ids are `token.*`.
pub fn findings(provider: &str, facts: &[TokenFacts]) -> Vec<Drift> {
    let mut out = Vec::new();
    for (grant, group) in by_grant(facts) {
        let mut fired: BTreeMap<Rule, Vec<&TokenFacts>> = BTreeMap::new();
        for f in &group {
            for rule in rules(f) {
                fired.entry(rule).or_default().push(f);
            }
        }
        for (rule, firing) in fired {
            let (severity, message) = describe(rule, grant, &firing);
            out.push(Drift {
                rule: rule.emit(severity),
                severity,
                provider: provider.to_owned(),
                probe: ProbeKind::Token,
                subject: SUBJECT.to_owned(),
                path: Some(grant.to_owned()),
                connections: Vec::new(),
                message,
                before: None,
                after: Some(GrantFacts::merge(&firing).to_json()),
                exchanges: Vec::new(),
                fingerprint: String::new(),
                suppressed: None,
                first_seen: None,
            });
        }
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// The rules one answer breaks.
fn rules(f: &TokenFacts) -> Vec<Rule> {
    let mut out = Vec::new();
    match &f.answer {
        Answer::Token(t) => {
            match t.expires_in {
                ExpiresIn::Number => {}
                ExpiresIn::Absent => out.push(Rule::TokenExpiresInMissing),
                _ => out.push(Rule::TokenExpiresInNotNumber),
            }
            if t.token_type == TokenType::Absent {
                out.push(Rule::TokenTokenTypeMissing);
            }
            if t.scope == ScopeKind::Absent {
                out.push(Rule::TokenScopeNotReturned);
            }
            if !f.cache_control_no_store {
                out.push(Rule::TokenNoStoreMissing);
            }
            // Only for tokens: an error body in a form is already `token.error-not-json`.
            if matches!(
                f.content_type,
                ContentKind::Form | ContentKind::FormLabelledJson
            ) {
                out.push(Rule::TokenFormEncoded);
            }
        }
        Answer::Error(e) => {
            if e.error_with_200 {
                out.push(Rule::TokenErrorWith200);
            } else if e.error_status == ErrorStatus::Other {
                out.push(Rule::TokenErrorStatus);
            }
            if !e.error_json {
                out.push(Rule::TokenErrorNotJson);
            }
        }
        Answer::Unreadable => out.push(Rule::TokenResponseUnreadable),
    }
    out
}

fn describe(rule: Rule, grant: &str, firing: &[&TokenFacts]) -> (Severity, String) {
    let tokens = || {
        firing.iter().filter_map(|f| match &f.answer {
            Answer::Token(t) => Some(t),
            _ => None,
        })
    };
    match rule {
        Rule::TokenExpiresInNotNumber => {
            let kinds: BTreeSet<ExpiresIn> = tokens().map(|t| t.expires_in).collect();
            let kinds: Vec<&str> = kinds.into_iter().map(ExpiresIn::describe).collect();
            (
                Severity::Warning,
                format!(
                    "`{grant}` answers carry `expires_in` as {} instead of a number",
                    kinds.join(" or ")
                ),
            )
        }
        Rule::TokenExpiresInMissing => (
            Severity::Info,
            format!("`{grant}` answers have no `expires_in`, so the token lifetime is unknown"),
        ),
        Rule::TokenTokenTypeMissing => (
            Severity::Warning,
            format!("`{grant}` answers have no `token_type`, which RFC 6749 §5.1 requires"),
        ),
        Rule::TokenScopeNotReturned => (
            Severity::Info,
            format!("`{grant}` answers do not return `scope`, so a narrowed grant goes unseen"),
        ),
        Rule::TokenNoStoreMissing => (
            Severity::Info,
            format!("`{grant}` answers lack `Cache-Control: no-store`"),
        ),
        Rule::TokenFormEncoded => {
            if firing
                .iter()
                .any(|f| f.content_type == ContentKind::FormLabelledJson)
            {
                (
                    Severity::Warning,
                    format!("`{grant}` answers are form-encoded but labelled as JSON"),
                )
            } else {
                (
                    Severity::Info,
                    format!("`{grant}` answers are form-encoded instead of JSON"),
                )
            }
        }
        Rule::TokenErrorWith200 => (
            Severity::Warning,
            format!("`{grant}` answered an error with a 2xx status"),
        ),
        Rule::TokenErrorStatus => (
            Severity::Info,
            format!("`{grant}` answered an error with a status other than 400 or 401"),
        ),
        Rule::TokenErrorNotJson => (
            Severity::Warning,
            format!("`{grant}` answered an error without a JSON body"),
        ),
        _ => (
            Severity::Warning,
            format!("`{grant}` answered 2xx with neither a token nor an error"),
        ),
    }
}

#[cfg(test)]
mod tests;
