//! The one redactor: removes secrets from headers, bodies, URLs, forms and free text.
//!
//! It knows where OAuth puts secrets (header names, token fields, `code`, client
//! secrets, cookies) plus suite-configured selectors, and it remembers concrete
//! secret values seen at run time so that they can be scrubbed from any text.
//! It never fails and never knows about HTTP transport, probes or reports.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde_json::Value;
use serde_json_path::JsonPath;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, RwLock};

/// What every redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Key names (compared case-insensitively) whose values are secrets wherever they appear.
const SECRET_NAMES: &[&str] = &[
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

/// Names that are secret only in forms and query strings: as a JSON key `token`
/// is too often a harmless field name (pagination tokens are not credentials we hold).
const FORM_ONLY_SECRET_NAMES: &[&str] = &["token"];

/// Header names whose whole value is secret: cookies and the API-key headers
/// of common gateways (Azure API Management, Google, generic).
const SECRET_HEADERS: &[&str] = &[
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "ocp-apim-subscription-key",
    "x-goog-api-key",
];

/// Header names whose value is `<scheme> <credentials>`: the scheme word is kept.
const AUTH_HEADERS: &[&str] = &["authorization", "proxy-authorization"];

/// Headers carrying a URL whose query may hold an authorization code or token.
const URL_HEADERS: &[&str] = &["location", "content-location"];

/// Registered secrets shorter than this are ignored: scrubbing two-letter
/// strings out of every message would destroy the text and protect nothing.
const MIN_SECRET_LEN: usize = 4;

/// A suite selector that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactError {
    #[error("invalid redaction selector `{selector}`: {reason}")]
    Selector { selector: String, reason: String },
}

/// Removes secrets from everything driftwatch records or prints.
///
/// `Send + Sync`; share it with `Arc`. Registered secrets use interior mutability.
#[derive(Debug)]
pub struct Redactor {
    /// Lowercase key names redacted in JSON, forms and query strings.
    names: BTreeSet<String>,
    /// Lowercase key names redacted only in forms and query strings.
    form_names: BTreeSet<String>,
    paths: Vec<JsonPath>,
    /// Concrete secret values registered at run time and the automata that find them.
    secrets: RwLock<Secrets>,
}

impl Redactor {
    /// Builds a redactor with the default secret names plus `selectors`.
    ///
    /// `selectors`: extra suite-configured selectors: an RFC 9535 JSONPath
    /// (`$.user.ssn`) or a bare key name (`api_key`) matching that key at any
    /// depth in JSON and form bodies and URL query strings.
    pub fn new(selectors: &[String]) -> Result<Redactor, RedactError> {
        let mut names: BTreeSet<String> = SECRET_NAMES.iter().map(|n| n.to_string()).collect();
        let form_names = FORM_ONLY_SECRET_NAMES
            .iter()
            .map(|n| n.to_string())
            .collect();
        let mut paths = Vec::new();
        for selector in selectors {
            let error = |reason: &str| RedactError::Selector {
                selector: selector.clone(),
                reason: reason.to_string(),
            };
            if selector.starts_with('$') {
                let path = JsonPath::parse(selector).map_err(|e| error(&e.to_string()))?;
                paths.push(path);
            } else if selector.trim().is_empty() {
                return Err(error("a key name must not be empty"));
            } else if selector
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(error(
                    "a key name must not contain whitespace (JSONPath selectors start with `$`)",
                ));
            } else {
                names.insert(selector.to_lowercase());
            }
        }
        Ok(Redactor {
            names,
            form_names,
            paths,
            secrets: RwLock::new(Secrets::default()),
        })
    }

    /// True when a form field or query parameter of this name holds a secret.
    pub(crate) fn is_secret_param(&self, name: &str) -> bool {
        let lower = lowercase(name);
        self.names.contains(lower.as_ref()) || self.form_names.contains(lower.as_ref())
    }

    /// Redacts header values: credentials, cookies and any header whose name
    /// mentions a token or secret; other values are scrubbed.
    pub fn redact_headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(name, value)| (name.clone(), self.redact_header(name, value)))
            .collect()
    }

    fn redact_header(&self, name: &str, value: &str) -> String {
        let lower = ascii_lowercase(name);
        let lower = lower.as_ref();
        if AUTH_HEADERS.contains(&lower) {
            // Keep the scheme word: whether Bearer or Basic was sent is evidence.
            return match value.trim_start().split_once(char::is_whitespace) {
                Some((scheme, _)) if !scheme.is_empty() => format!("{scheme} {REDACTED}"),
                _ => REDACTED.to_string(),
            };
        }
        if SECRET_HEADERS.contains(&lower) || lower.contains("token") || lower.contains("secret") {
            return REDACTED.to_string();
        }
        if URL_HEADERS.contains(&lower) {
            return self.scrub(&self.redact_url_str(value));
        }
        self.scrub(value)
    }

    /// Response headers as recorded: values redacted like
    /// [`redact_headers`](Self::redact_headers), and registered secrets scrubbed
    /// from the names too (a provider may reflect a token in a header's name).
    pub(crate) fn redact_response_headers(
        &self,
        headers: &[(String, String)],
    ) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(name, value)| {
                (
                    self.scrub_cow(name).into_owned(),
                    self.redact_header(name, value),
                )
            })
            .collect()
    }

    /// Redacts a JSON value in place: secret keys at any depth, suite JSONPath
    /// selectors, and registered secrets inside any string — object keys included
    /// (a provider may hand a token back as a key: `{"by_token": {"<token>": …}}`).
    pub fn redact_json(&self, value: &mut Value) {
        // Selectors first: they address the document as the provider sent it.
        for path in &self.paths {
            let pointers: Vec<String> = path
                .query_located(value)
                .locations()
                .map(|l| l.to_json_pointer())
                .collect();
            for pointer in pointers {
                if let Some(target) = value.pointer_mut(&pointer) {
                    *target = Value::String(REDACTED.to_string());
                }
            }
        }
        self.walk_json(value, true);
    }

    /// Replaces every registered secret (and `Bearer <token>`) in the object
    /// keys and string values of `value`, and nothing else: unlike
    /// [`redact_json`](Self::redact_json) no field is redacted for its name, so
    /// the shape a probe infers stays what the provider sent (a `code: 404`
    /// stays a number). What observations are built from.
    pub fn scrub_json(&self, value: &mut Value) {
        self.walk_json(value, false);
    }

    /// Scrubs keys and strings at any depth; with `by_name`, the values of
    /// secret-named keys are redacted whole.
    fn walk_json(&self, value: &mut Value, by_name: bool) {
        // An explicit stack: a value handed to us may be nested arbitrarily deep.
        let mut stack = vec![value];
        while let Some(node) = stack.pop() {
            match node {
                Value::Object(map) => {
                    self.scrub_keys(map);
                    for (key, child) in map.iter_mut() {
                        if by_name && self.names.contains(lowercase(key).as_ref()) {
                            *child = Value::String(REDACTED.to_string());
                        } else {
                            stack.push(child);
                        }
                    }
                }
                Value::Array(items) => stack.extend(items.iter_mut()),
                Value::String(s) => {
                    if let Cow::Owned(scrubbed) = self.scrub_cow(s) {
                        *s = scrubbed;
                    }
                }
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
            }
        }
    }

    /// Rewrites the keys of `map` that hold a registered secret. Keys that
    /// become equal after redaction merge (the later value wins): the key was
    /// the secret, not a field name worth keeping apart.
    fn scrub_keys(&self, map: &mut serde_json::Map<String, Value>) {
        if !map
            .keys()
            .any(|k| matches!(self.scrub_cow(k), Cow::Owned(_)))
        {
            return;
        }
        let old = std::mem::take(map);
        for (key, child) in old {
            map.insert(self.scrub(&key), child);
        }
    }

    /// A response body as a probe may observe it: registered secrets (the
    /// access token the request carried among them) and `Bearer <token>`
    /// replaced in JSON keys and string values, or in the text of any other
    /// body. `None` when there is nothing to replace, the common case: the
    /// body is then used as received, without a copy or a parse.
    ///
    /// JSON escapes cannot hide a secret: a body with backslashes is checked
    /// with its escapes decoded (`\u0041`, `\/`). A JSON body is parsed and
    /// re-serialised only when it holds a secret, so its shape is unchanged.
    pub fn redact_observed_body(&self, body: &[u8]) -> Option<Vec<u8>> {
        let text = String::from_utf8_lossy(body);
        let unescaped = json_unescaped(&text);
        if matches!(self.scrub_cow(&unescaped), Cow::Borrowed(_)) {
            return None;
        }
        if let Ok(mut value) = serde_json::from_slice::<Value>(body) {
            self.scrub_json(&mut value);
            if let Ok(bytes) = serde_json::to_vec(&value) {
                return Some(bytes);
            }
        }
        let scrubbed = self.scrub(&text);
        if scrubbed != *text {
            return Some(scrubbed.into_bytes());
        }
        // Only an escaped form held the secret: give the decoded text, scrubbed.
        Some(self.scrub(&unescaped).into_bytes())
    }

    /// Response headers as a probe may observe them (deprecation, `Link`,
    /// `Location`, `WWW-Authenticate`, vendor headers): registered secrets
    /// scrubbed from names and values; nothing is redacted for its name, so
    /// the signals stay readable.
    pub fn redact_observed_headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        let mut headers = headers.to_vec();
        self.redact_observed_headers_in_place(&mut headers);
        headers
    }

    /// [`redact_observed_headers`](Self::redact_observed_headers) in place: a
    /// header is rewritten only when it held a secret, so the common answer
    /// costs no allocation.
    pub(crate) fn redact_observed_headers_in_place(&self, headers: &mut [(String, String)]) {
        for (name, value) in headers.iter_mut() {
            if let Cow::Owned(scrubbed) = self.scrub_cow(name) {
                *name = scrubbed;
            }
            if let Cow::Owned(scrubbed) = self.scrub_cow(value) {
                *value = scrubbed;
            }
        }
    }

    /// Registers a token (access or refresh token, client secret, code) like
    /// [`register_secret`](Self::register_secret), together with the base64
    /// forms under which a provider can hand it back inside a JWT claim or
    /// another base64 blob (see [`base64_forms`]).
    ///
    /// A token registered before costs one hash lookup: every request
    /// registers its credentials again, and computing the base64 forms each
    /// time was a dozen allocations per request.
    pub fn register_token(&self, token: &str) {
        {
            let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
            if secrets.tokens.contains(token) {
                return;
            }
        }
        self.register_secret(token);
        for form in base64_forms(token) {
            self.register_secret(&form);
        }
        // Only now: a concurrent caller that finds the token here finds its
        // forms registered too.
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        secrets.tokens.insert(token.to_string());
    }

    /// Body for recording: JSON → parsed, redacted, re-serialised compactly;
    /// form-encoded → fields redacted; anything else → text (lossy UTF-8) with
    /// registered secrets scrubbed. Cut to `max_chars`; returns (text, truncated).
    pub fn redact_body(
        &self,
        content_type: Option<&str>,
        body: &[u8],
        max_chars: usize,
    ) -> (String, bool) {
        // A huge body (say, cut at a 10 MiB limit) is recorded only as a prefix:
        // redact that prefix lexically instead of copying the whole body several
        // times. The cut backs off to before any token-like run, so no secret is
        // ever recorded half-redacted.
        if body.len() > LARGE_BODY.max(max_chars.saturating_mul(4)) {
            let mut end = max_chars.saturating_add(4096).min(body.len());
            while end > 0 && is_token_byte(body[end - 1]) {
                end -= 1;
            }
            let prefix = String::from_utf8_lossy(&body[..end]);
            let text = self.scrub(&self.redact_json_text(&prefix));
            return (truncate_chars(text, max_chars).0, true);
        }
        let mime = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let text = if mime == "application/x-www-form-urlencoded" {
            self.redact_form_bytes(body)
        } else if mime.ends_with("json") || (mime.is_empty() && looks_like_json(body)) {
            match serde_json::from_slice::<Value>(body) {
                Ok(mut value) => {
                    self.redact_json(&mut value);
                    serde_json::to_string(&value)
                        .unwrap_or_else(|_| self.scrub(&String::from_utf8_lossy(body)))
                }
                // Cut off at the body limit or broken: still hide secret fields.
                Err(_) => self.scrub(&self.redact_json_text(&String::from_utf8_lossy(body))),
            }
        } else {
            self.redact_text(body)
        };
        truncate_chars(text, max_chars)
    }

    /// Free text; providers that answer a token request with a form body but a
    /// `text/plain` type (a common sight) are recognised and redacted as forms.
    fn redact_text(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim();
        let form_like = trimmed.contains('=') && !trimmed.contains(char::is_whitespace);
        if form_like
            && url::form_urlencoded::parse(trimmed.as_bytes())
                .any(|(name, _)| self.is_secret_param(&name))
        {
            return self.redact_form_bytes(trimmed.as_bytes());
        }
        self.scrub(&text)
    }

    /// Redacts `"secret_name": value` in text that is JSON-like but does not
    /// parse (a body cut at the size limit, or a broken one), without parsing.
    fn redact_json_text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(quote) = rest.find('"') {
            out.push_str(&rest[..quote]);
            let (key, after) = split_json_string(&rest[quote..]);
            out.push_str(key);
            rest = after;
            let inner = key.trim_start_matches('"').trim_end_matches('"');
            let gap = rest.len() - rest.trim_start().len();
            let is_key = rest.trim_start().starts_with(':');
            if !(is_key && self.names.contains(&inner.to_lowercase())) {
                continue;
            }
            // Copy `<ws>:<ws>`, then replace the value (string or scalar).
            let colon = gap + 1;
            let value_start = colon + (rest[colon..].len() - rest[colon..].trim_start().len());
            out.push_str(&rest[..value_start]);
            rest = &rest[value_start..];
            if rest.starts_with('"') {
                let (_, after) = split_json_string(rest);
                out.push('"');
                out.push_str(REDACTED);
                out.push('"');
                rest = after;
            } else if !rest.starts_with(['{', '[']) {
                let end = rest
                    .find(|c: char| matches!(c, ',' | '}' | ']') || c.is_whitespace())
                    .unwrap_or(rest.len());
                if end > 0 {
                    out.push_str(REDACTED);
                    rest = &rest[end..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn redact_form_bytes(&self, body: &[u8]) -> String {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        self.redact_form(&pairs)
    }

    /// A URL as recorded: secret query (and fragment) parameters and any
    /// password in the user info redacted, registered secrets scrubbed.
    pub fn redact_url(&self, url: &url::Url) -> String {
        let mut url = url.clone();
        if url.password().is_some() {
            // Only fails for URLs that cannot have credentials, which have no password.
            let _ = url.set_password(Some(REDACTED));
        }
        self.scrub(&self.redact_url_str(url.as_str()))
    }

    /// Redacts the query and fragment parameters of a (possibly relative) URL
    /// string without reformatting the rest of it.
    fn redact_url_str(&self, url: &str) -> String {
        let (before_fragment, fragment) = match url.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (url, None),
        };
        let mut out = match before_fragment.split_once('?') {
            Some((base, query)) => format!("{base}?{}", self.redact_query(query)),
            None => before_fragment.to_string(),
        };
        if let Some(fragment) = fragment {
            // The implicit grant returns `#access_token=…`.
            out.push('#');
            out.push_str(&self.redact_query(fragment));
        }
        out
    }

    /// Redacts `name=value` pairs, keeping the original encoding of everything else.
    fn redact_query(&self, query: &str) -> String {
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if self.is_secret_param(&decode_component(name)) => {
                    format!("{name}={REDACTED}")
                }
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A form body as recorded: secret fields shown as `[REDACTED]` (not
    /// percent-encoded, so recordings stay readable), other values encoded and scrubbed.
    pub fn redact_form(&self, pairs: &[(String, String)]) -> String {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let fields: Vec<String> = pairs
            .iter()
            .map(|(name, value)| {
                if self.is_secret_param(name) {
                    format!("{}={REDACTED}", encode(name))
                } else {
                    format!("{}={}", encode(name), self.scrub(&encode(value)))
                }
            })
            .collect();
        self.scrub(&fields.join("&"))
    }

    /// Remember a concrete secret value (token, client secret) so `scrub`
    /// removes it from free text. Its URL-encoded form is remembered too.
    ///
    /// One hash lookup when the value is already known (every request registers
    /// its credentials again); otherwise one insert. The automata are rebuilt
    /// by the next `scrub`, not here.
    pub fn register_secret(&self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_LEN {
            return;
        }
        // Most tokens need no encoding: then the encoded form is the secret.
        let encoded: Cow<'_, str> = if secret.bytes().all(is_form_unreserved) {
            Cow::Borrowed(secret)
        } else {
            Cow::Owned(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect())
        };
        // A poisoned lock still holds usable sets; redaction must never fail.
        {
            let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
            if secrets.known.contains(secret) && secrets.known.contains(encoded.as_ref()) {
                return;
            }
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        secrets.add(secret);
        secrets.add(&encoded);
    }

    /// Replace every occurrence of every registered secret, and any
    /// `Bearer <token>` / `Basic <b64>` substring, by [`REDACTED`].
    ///
    /// Where occurrences overlap (one secret inside or across another) their
    /// union becomes one [`REDACTED`], so no part of any secret is left behind.
    /// Time is linear in the text for any number of secrets: one pass of each
    /// automaton (see [`Secrets`]).
    pub fn scrub(&self, text: &str) -> String {
        self.scrub_cow(text).into_owned()
    }

    /// [`scrub`](Self::scrub), borrowing `text` when there is nothing to
    /// replace (the common case: no allocation at all). `Owned` means
    /// something was replaced.
    pub(crate) fn scrub_cow<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut found: Vec<(usize, usize)> = Vec::new();
        // No registered secret is shorter than this: short texts (most header
        // values, JSON keys and strings) skip the automata.
        if text.len() >= MIN_SECRET_LEN {
            let levels = self.secret_levels();
            for level in levels.iter() {
                level.find_all(text, &mut found);
            }
        }
        if found.is_empty() {
            return scrub_scheme(text);
        }
        found.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut i = 0;
        while i < found.len() {
            let (start, mut end) = found[i];
            i += 1;
            while i < found.len() && found[i].0 < end {
                end = end.max(found[i].1);
                i += 1;
            }
            // Matches of whole UTF-8 strings start and end on char boundaries.
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
        }
        out.push_str(&text[copied..]);
        let schemed = match scrub_scheme(&out) {
            Cow::Borrowed(_) => None,
            Cow::Owned(schemed) => Some(schemed),
        };
        Cow::Owned(schemed.unwrap_or(out))
    }

    /// How many secret values are known (raw and encoded forms). It only grows: a text
    /// redacted when it was `n` needs redacting again only if it is no longer `n`.
    pub(crate) fn generation(&self) -> usize {
        self.secrets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .known
            .len()
    }

    /// The automata covering every secret registered so far, built first if a
    /// secret was registered since the last build.
    fn secret_levels(&self) -> Arc<Vec<Arc<Level>>> {
        {
            let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
            if secrets.pending.is_empty() {
                return secrets.levels.clone();
            }
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        secrets.build_pending();
        secrets.levels.clone()
    }
}

/// The registered secret values and the Aho-Corasick automata that find them.
///
/// Registration is one hash insert; `scrub` builds what was registered since
/// the last build. A run registers secrets all along (one access token per
/// connection, scrubs in between), so one automaton rebuilt over every secret
/// at each change would cost O(n²). Instead the secrets are split into levels
/// (the logarithmic method, a binary counter over the sizes' bit lengths): new
/// secrets form a new level, merged with every trailing level whose size has
/// no more bits than its own. Levels then have strictly decreasing bit lengths,
/// so there are at most log₂ n + 1 of them (one pass of a scrub each), and a
/// secret is rebuilt only when its level's bit length grows: at most
/// log₂ n + 1 times over a run. (Merging every level not more than twice the
/// new one's size rebuilt each secret up to log₁.₅ n times, about 28 times at
/// the 70,000 values of 10,000 connections, and building automata was the
/// largest CPU cost of such a run.)
#[derive(Debug, Default)]
struct Secrets {
    /// Every registered value, raw and URL-encoded.
    known: HashSet<String>,
    /// Tokens registered with their base64 forms (see `register_token`).
    tokens: HashSet<String>,
    /// Registered but in no level yet.
    pending: Vec<String>,
    /// Disjoint parts of `known`, largest first; shared with scrubs in progress.
    levels: Arc<Vec<Arc<Level>>>,
}

impl Secrets {
    fn add(&mut self, value: &str) {
        if !self.known.contains(value) {
            self.known.insert(value.to_string());
            self.pending.push(value.to_string());
        }
    }

    /// Turns `pending` into a level, merged with the smaller levels. Nothing
    /// is taken out of `pending` until the new level exists.
    fn build_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut levels: Vec<Arc<Level>> = self.levels.iter().cloned().collect();
        let mut patterns = self.pending.clone();
        // Bit length: levels of one rank hold between 2^(r-1) and 2^r - 1 values.
        let rank = |n: usize| usize::BITS - n.leading_zeros();
        while let Some(last) = levels.last() {
            if rank(last.patterns.len()) > rank(patterns.len()) {
                break;
            }
            patterns.extend(last.patterns.iter().cloned());
            levels.pop();
        }
        levels.push(Arc::new(Level::build(patterns)));
        self.levels = Arc::new(levels);
        self.pending.clear();
    }
}

/// Some secrets and one automaton over them.
#[derive(Debug)]
struct Level {
    patterns: Vec<String>,
    /// `None` only if the automaton could not be built (a size limit of the
    /// crate); the patterns are then searched one by one.
    automaton: Option<AhoCorasick>,
}

impl Level {
    fn build(patterns: Vec<String>) -> Level {
        // Standard semantics: every occurrence is reported, overlapping ones
        // too. A contiguous NFA: cheap to build (levels are rebuilt as secrets
        // arrive), fast enough to search.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&patterns)
            .ok();
        Level {
            patterns,
            automaton,
        }
    }

    /// Appends the byte range of every occurrence of every pattern in `text`.
    fn find_all(&self, text: &str, found: &mut Vec<(usize, usize)>) {
        if let Some(automaton) = &self.automaton {
            // Shorter than every pattern: nothing to find, no search set up.
            if text.len() < automaton.min_pattern_len() {
                return;
            }
        }
        if let Some(automaton) = &self.automaton
            && let Ok(matches) = automaton.try_find_overlapping_iter(text)
        {
            found.extend(matches.map(|m| (m.start(), m.end())));
            return;
        }
        let haystack = text.as_bytes();
        for pattern in &self.patterns {
            let needle = pattern.as_bytes();
            if needle.is_empty() || needle.len() > haystack.len() {
                continue;
            }
            found.extend(
                haystack
                    .windows(needle.len())
                    .enumerate()
                    .filter(|(_, w)| *w == needle)
                    .map(|(i, _)| (i, i + needle.len())),
            );
        }
    }
}

/// True for the characters of an RFC 6750 `b64token`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '=')
}

/// Redacts the credentials after `Bearer ` and `Basic ` (any case) in free text.
///
/// Prose such as "invalid bearer token" or "basic auth" is left alone: for
/// Bearer the bare words `token(s)` are skipped; for Basic the word must look
/// like real credentials (decodes to `user:password`, or is long).
fn scrub_scheme(text: &str) -> Cow<'_, str> {
    if !may_hold_scheme(text) {
        return Cow::Borrowed(text);
    }
    let lower = text.to_ascii_lowercase();
    let mut changed = false;
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &lower[i..];
        let scheme_len = if rest.starts_with("bearer") {
            6
        } else if rest.starts_with("basic") {
            5
        } else {
            0
        };
        let at_boundary = i == 0
            || !text[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if scheme_len > 0 && at_boundary {
            let after_scheme = i + scheme_len;
            let ws: usize = text[after_scheme..]
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .map(char::len_utf8)
                .sum();
            let token_start = after_scheme + ws;
            let token_len: usize = text[token_start..]
                .chars()
                .take_while(|c| is_token_char(*c))
                .map(char::len_utf8)
                .sum();
            let token = &text[token_start..token_start + token_len];
            let secret = ws > 0
                && token_len > 0
                && !is_challenge_param(token)
                && if scheme_len == 6 {
                    !matches!(token.to_ascii_lowercase().as_str(), "token" | "tokens")
                } else {
                    looks_like_basic_credentials(token)
                };
            if secret {
                out.push_str(&text[i..token_start]);
                out.push_str(REDACTED);
                i = token_start + token_len;
                changed = true;
                continue;
            }
        }
        // Advance by one whole character; `i` is always at a char boundary.
        let c = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + c]);
        i += c;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// False when `text` cannot hold `Bearer …` or `Basic …` (any case): no `b`
/// followed by `asic` or `earer`. One pass over the bytes, no allocation.
fn may_hold_scheme(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, b)| {
        (b | 0x20) == b'b' && {
            let rest = &bytes[i + 1..];
            let starts = |word: &[u8]| {
                rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word)
            };
            starts(b"earer") || starts(b"asic")
        }
    })
}

/// Bytes `form_urlencoded::byte_serialize` leaves as they are.
fn is_form_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_')
}

/// `s` in lowercase (Unicode), borrowed when it has no uppercase letter.
fn lowercase(s: &str) -> Cow<'_, str> {
    let changes = |c: char| {
        if c.is_ascii() {
            c.is_ascii_uppercase()
        } else {
            let mut lower = c.to_lowercase();
            !(lower.next() == Some(c) && lower.next().is_none())
        }
    };
    if s.chars().any(changes) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` with ASCII letters lowercased, borrowed when it has no uppercase ASCII letter.
fn ascii_lowercase(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Parameters of a `WWW-Authenticate` challenge (RFC 6750 §3, RFC 9728 §5.1,
/// RFC 7235): `Bearer realm="api", error="invalid_token"` names no credential,
/// so `realm=`… after the scheme word is kept readable.
const CHALLENGE_PARAMS: &[&str] = &[
    "realm",
    "scope",
    "error",
    "error_description",
    "error_uri",
    "resource_metadata",
    "charset",
    "algs",
    "max_age",
];

/// True when the word after `Bearer`/`Basic` is `<challenge-param>=…`, the
/// start of a challenge's parameters rather than a credential.
fn is_challenge_param(token: &str) -> bool {
    token.split_once('=').is_some_and(|(name, _)| {
        CHALLENGE_PARAMS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name))
    })
}

fn looks_like_basic_credentials(token: &str) -> bool {
    use base64::Engine as _;
    if token.len() >= 16 {
        return true;
    }
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .is_ok_and(|bytes| bytes.contains(&b':'))
}

/// Splits `"…"…` after the closing quote (escapes honoured); an unterminated
/// string takes the whole text.
fn split_json_string(text: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return text.split_at(i + 1),
            _ => {}
        }
    }
    (text, "")
}

fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{') | Some(b'[')
    )
}

fn decode_component(s: &str) -> String {
    url::form_urlencoded::parse(s.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

fn truncate_chars(text: String, max_chars: usize) -> (String, bool) {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => (text[..cut].to_string(), true),
        None => (text, false),
    }
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;

/// Bodies larger than this are redacted and recorded from a prefix only.
const LARGE_BODY: usize = 1 << 20;

/// Bytes that can be part of a token (base64url, base64, JWT, opaque ids).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'~' | b'+' | b'/' | b'=' | b'-')
}

/// Secrets shorter than this get no base64 forms: the stable part of a short
/// secret's encoding is a few characters that ordinary text contains by chance.
const BASE64_MIN_SECRET: usize = 16;

/// The parts of `secret`'s base64 encodings (standard and URL-safe alphabet,
/// at each of the three byte alignments) that do not depend on the bytes
/// around it: whatever a JWT payload or another base64 blob holds besides the
/// secret, its encoding contains one of these. Character `j` of an encoding
/// covers bits `6j..6j+6` of the input, so with `shift` bytes before the
/// secret the characters fully inside it run from `ceil(8·shift/6)` to
/// `floor(8·(shift+len)/6)` (exclusive).
pub(crate) fn base64_forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let bytes = secret.as_bytes();
    if bytes.len() < BASE64_MIN_SECRET {
        return Vec::new();
    }
    let mut forms = Vec::new();
    for shift in 0..3usize {
        let mut input = vec![0u8; shift];
        input.extend_from_slice(bytes);
        let start = (8 * shift).div_ceil(6);
        let end = 8 * (shift + bytes.len()) / 6;
        for encoded in [
            STANDARD_NO_PAD.encode(&input),
            URL_SAFE_NO_PAD.encode(&input),
        ] {
            if let Some(form) = encoded.get(start..end)
                && !forms.iter().any(|f| f == form)
            {
                forms.push(form.to_string());
            }
        }
    }
    forms
}

/// `text` with JSON string escapes decoded (`\uXXXX`, surrogate pairs
/// included, `\/`, `\"`, `\n`, …), for finding a secret a JSON body spells
/// with escapes; borrowed when there is no backslash. Not a JSON parser: an
/// escape it cannot decode is kept as written.
fn json_unescaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('u') => {
                chars.next();
                let hex = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                    let digits: String = chars.clone().take(4).collect();
                    let n = (digits.len() == 4)
                        .then(|| u32::from_str_radix(&digits, 16).ok())
                        .flatten()?;
                    for _ in 0..4 {
                        chars.next();
                    }
                    Some(n)
                };
                match hex(&mut chars) {
                    Some(high @ 0xD800..=0xDBFF) => {
                        let mut look = chars.clone();
                        let low = (look.next() == Some('\\') && look.next() == Some('u'))
                            .then(|| hex(&mut look))
                            .flatten()
                            .filter(|l| (0xDC00..=0xDFFF).contains(l));
                        match low {
                            Some(low) => {
                                chars = look;
                                let cp = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                            }
                            None => out.push('\u{FFFD}'),
                        }
                    }
                    Some(n) => out.push(char::from_u32(n).unwrap_or('\u{FFFD}')),
                    None => out.push_str("\\u"),
                }
            }
            Some(e @ ('"' | '\\' | '/')) => {
                chars.next();
                out.push(e);
            }
            Some(e @ ('b' | 'f' | 'n' | 'r' | 't')) => {
                chars.next();
                out.push(match e {
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    _ => '\t',
                });
            }
            _ => out.push('\\'),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
#[path = "redact_observe_tests.rs"]
mod observe_tests;

#[cfg(test)]
#[path = "redact_hot_tests.rs"]
mod hot_tests;
