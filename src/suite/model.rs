//! The suite model: plain data describing one provider, as the user wrote it.
//!
//! No I/O and no HTTP here (never import reqwest or tokio). Every node a user
//! wrote keeps its position so later errors can point into the YAML file.
//! `${env:VAR}` references are already resolved by the loader; secrets arrive
//! wrapped in [`SecretString`] so `Debug` never prints them.

use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Where a node came from: 1-based line and column in `Suite::file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// A value plus where the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

/// One provider's suite (one YAML file).
#[derive(Debug, Clone)]
pub struct Suite {
    /// The file the suite was loaded from (as given on the command line).
    pub file: PathBuf,
    /// `version: 1`.
    pub version: u32,
    pub provider: Provider,
    /// The default auth: the only one (`auth:`), or of `auths:` the one named `default`, else
    /// the first by name. Per-connection code uses [`Suite::auth_of`] instead.
    pub auth: Auth,
    /// Named scope sets: name → scopes. Sorted by name.
    pub scope_sets: BTreeMap<String, Located<Vec<String>>>,
    /// Connections in file order.
    pub connections: Vec<Connection>,
    /// Endpoints in file order.
    pub endpoints: Vec<Endpoint>,
    pub limits: Limits,
    /// Extra redaction selectors (JSONPath like `$.user.ssn`, or a bare field name
    /// such as `api_key` matching that key at any depth).
    pub redact: Vec<Located<String>>,
    /// `severity:`: rule → severity overrides for this provider, sorted by rule id.
    pub severity: Vec<(crate::rules::Rule, crate::model::Severity)>,
    /// Provider-specific response headers that announce deprecations (`X-API-Warn`).
    pub deprecation_headers: Vec<String>,
    /// Discovery metadata to probe.
    pub metadata: MetadataConfig,
    // ---- several grants per provider (issue 19 item 4) ----
    /// Every auth by name, sorted: `default` alone for the single `auth:` form.
    pub auths: BTreeMap<String, Auth>,
}

/// The auth name of the single `auth:` form (and of a connection that names none).
pub const DEFAULT_AUTH: &str = "default";

impl Suite {
    /// The auth `conn` uses (`connections[].auth`); the default auth when it names an unknown
    /// one (the loader rejects that, so only hand-built suites get there).
    pub fn auth_of(&self, conn: &Connection) -> &Auth {
        self.auths.get(&conn.auth).unwrap_or(&self.auth)
    }

    /// This suite as seen by one of its auths: `auth` is auth `name` and the only one (for
    /// `connect`, which authorises one connection with its own auth).
    pub fn with_only_auth(&self, name: &str) -> Suite {
        let mut out = self.clone();
        if let Some(a) = self.auths.get(name) {
            out.auth = a.clone();
            out.auths = BTreeMap::from([(name.to_string(), a.clone())]);
        }
        out
    }

    /// True when the suite declares more than one auth.
    pub fn has_several_auths(&self) -> bool {
        self.auths.len() > 1
    }
}

/// `metadata:`: which discovery documents the metadata probe fetches.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetadataConfig {
    /// The issuer the documents must name (RFC 8414 §3.3); default: `provider.base_url`.
    pub issuer: Option<String>,
    /// `oauth-authorization-server` and/or `openid-configuration`; empty = the probe is off.
    pub documents: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Provider {
    /// Lowercase identifier `[a-z0-9][a-z0-9_-]*`; used in paths under `snapshots/`.
    pub name: Located<String>,
    /// Absolute base URL of the resource API (after `${env:}` interpolation).
    pub base_url: Located<String>,
}

/// How tokens are obtained for this provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Connections hold user grants (refresh tokens) in the credential store,
    /// obtained through the authorization-code flow with PKCE.
    AuthorizationCode,
    /// App-level tokens from the client-credentials grant.
    ClientCredentials,
    /// A static bearer token per connection, from the credential store or `token:`.
    StaticBearer,
    /// The legacy resource-owner password grant (removed by OAuth 2.1): each
    /// connection names a `username` and a `password`.
    Password,
}

/// What the provider's documentation says about refresh tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentedRefresh {
    /// "We do not issue refresh tokens."
    None,
    /// Refresh tokens can be used again and again.
    Reusable,
    /// Every refresh returns a new refresh token.
    Rotating,
}

impl DocumentedRefresh {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentedRefresh::None => "none",
            DocumentedRefresh::Reusable => "reusable",
            DocumentedRefresh::Rotating => "rotating",
        }
    }
}

/// `auth.refresh`: documented behaviour and the active probe's replay schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefreshDocs {
    pub documented: Option<DocumentedRefresh>,
    /// On disposable connections, replay the rotated-away token a second time
    /// after this delay, to measure a grace window.
    pub replay_delay: Option<Duration>,
    /// How often the replay probe may spend a disposable connection's grant.
    pub replay: ReplayPolicy,
}

/// `auth.refresh.replay`: how often the active refresh probe replays a rotated-away refresh
/// token on a `disposable` connection. A replay can cost the grant: providers that detect
/// reuse (Auth0, Okta after its leeway, Salesforce, OAuth 2.1 servers) revoke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplayPolicy {
    /// Once per grant: the credential store remembers the replay, and `connect` re-arms it.
    #[default]
    Once,
    /// Every run (a reuse-revoking provider needs a `connect` before each run).
    EveryRun,
    /// Never: refresh classes come from passive signals only.
    Never,
}

impl ReplayPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayPolicy::Once => "once",
            ReplayPolicy::EveryRun => "every-run",
            ReplayPolicy::Never => "never",
        }
    }
}

/// Refresh-token lifetimes the provider documents (most never say in the response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefreshLifetime {
    /// The token dies after this long unused (e.g. Salesforce 30 d, Atlassian 90 d).
    pub idle: Option<Duration>,
    /// The token dies this long after the first authorisation, used or not.
    pub absolute: Option<Duration>,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`), the RFC 6749 default.
    #[default]
    Basic,
    /// Credentials in the form body (`client_secret_post`).
    Post,
}

#[derive(Debug, Clone)]
pub struct Auth {
    /// Token endpoint, absolute or relative to `provider.base_url`. At least one of
    /// `token_url` and `discovery_url` is set.
    pub token_url: Option<Located<String>>,
    /// Authorization endpoint (for `authorization_code`), absolute or relative.
    pub authorize_url: Option<Located<String>>,
    /// RFC 8414 / OpenID discovery document URL, absolute or relative.
    pub discovery_url: Option<Located<String>>,
    pub grant: Located<Grant>,
    pub client_id: Option<Located<SecretString>>,
    pub client_secret: Option<Located<SecretString>>,
    pub client_auth: Located<ClientAuth>,
    /// Default scopes requested when a connection names no scope set.
    pub scopes: Vec<String>,
    /// Redirect URI registered for the authorization-code flow.
    pub redirect_uri: Option<Located<String>>,
    /// RFC 8628 device authorization endpoint, absolute or relative (else from discovery).
    pub device_authorization_url: Option<Located<String>>,
    /// Documented refresh-token lifetimes.
    pub refresh_token_lifetime: RefreshLifetime,
    /// What the provider documents about refresh, and how the active refresh probe replays.
    pub refresh: RefreshDocs,
    /// A credential helper command (`<cmd> get <key>` / `<cmd> store <key>`) that holds
    /// this provider's credentials instead of the local store file.
    pub credential_helper: Option<Located<String>>,
    /// `auth.authorize_params`: extra authorization-request parameters (name → value), sorted
    /// by name; never one of the names the flows set themselves.
    pub authorize_params: BTreeMap<String, Located<String>>,
    // ---- issue 20 (app health) ----
    /// `auth.client_secret_expires`: when the client secret stops working.
    pub client_secret_expires: Option<Located<SecretExpiry>>,
    /// `auth.redirect_uris`: the app's registered callbacks the callback probe checks, in
    /// suite order, duplicates dropped.
    pub redirect_uris: Vec<Located<String>>,
    // ---- end issue 20 ----
}

/// When the client secret stops working: a date in the suite, or read at run time from the
/// credential store or helper (`client_secret_expires: stored`, the entry under
/// `<provider>/@app`, field `client_secret_expires_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretExpiry {
    At(chrono::DateTime<chrono::Utc>),
    Stored,
}

#[derive(Debug, Clone)]
pub struct Connection {
    pub id: Located<String>,
    /// Key of the entry in the credential store; defaults to `<provider>/<id>`.
    pub credential: String,
    /// Name of a scope set in `scope_sets` (checked by the loader).
    pub scope_set: Option<Located<String>>,
    /// Destructive probes (replaying an old refresh token) are allowed only when true.
    pub disposable: bool,
    /// A static bearer token (grant `static_bearer` only), normally `${env:VAR}`.
    pub token: Option<Located<SecretString>>,
    /// Resource-owner username (grant `password` only).
    pub username: Option<Located<String>>,
    /// Resource-owner password (grant `password` only), normally `${env:VAR}`.
    pub password: Option<Located<SecretString>>,
    pub pos: Pos,
    // ---- several grants per provider (issue 19 item 4) ----
    /// Name of the auth (`auths:` key) this connection's grant comes from; [`DEFAULT_AUTH`] for
    /// the single `auth:` form.
    pub auth: String,
    // ---- issue 19 (suite): per-connection values ----
    /// `vars:`: values endpoints use as `${conn:NAME}`, sorted by name (after `${env:…}`).
    pub vars: BTreeMap<String, String>,
    /// The values of the environment variables `vars` refer to: scrubbed by value.
    pub var_secrets: Vec<SecretString>,
    // ---- end issue 19 (suite) ----
}

/// A JSON Schema the suite declares for an endpoint's 2xx response.
#[derive(Debug, Clone, PartialEq)]
pub enum DeclaredSchema {
    Inline(serde_json::Value),
    /// Loaded from a file relative to the suite; `path` is as written.
    File {
        path: String,
        schema: serde_json::Value,
    },
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Identifier `[a-z0-9][a-z0-9_.-]*`, unique in the suite; names snapshot files.
    pub id: Located<String>,
    /// Uppercase HTTP method; `GET` by default.
    pub method: String,
    /// Path relative to `provider.base_url` (starts with `/`) or an absolute URL.
    pub path: Located<String>,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    /// The values of the environment variables that `query` and `headers` refer to
    /// (`${env:KEY}`): credentials, registered with the redactor by value.
    pub secrets: Vec<SecretString>,
    /// Documented scopes the endpoint requires.
    pub requires: Vec<String>,
    /// Documented alternatives (`requires_any`): one of these scope lists is enough.
    pub requires_any: Vec<Vec<String>>,
    pub schema: Option<Located<DeclaredSchema>>,
    /// Values to check for zero/empty/null anomalies (`values:`), when given.
    pub values: Option<ValuesConfig>,
    pub pos: Pos,
    // ---- field-level requirements and schema tolerance (issue 19 item 5) ----
    /// `requires_fields`: normalised shape path (`$.email`, `$.data[].email`) → the scopes
    /// without which the provider withholds that field by design.
    pub requires_fields: BTreeMap<String, Vec<String>>,
    /// `tolerate`: normalised shape path → what may vary there without schema drift.
    pub tolerate: BTreeMap<String, Tolerance>,
    // ---- issue 19 (suite): parameter matrices, chained values, endpoint auth ----
    /// The endpoint id as written; differs from `id` for one value set of a `params` matrix
    /// (`id` is then `metrics[period=7d]`).
    pub base: String,
    /// The `params` values of this expansion (name → value, sorted); empty otherwise.
    pub params: BTreeMap<String, String>,
    /// `from:`: path placeholder → where its value comes from (per connection).
    pub from: BTreeMap<String, ChainSource>,
    /// `auth:` (or `endpoint_defaults.auth`).
    pub auth: EndpointAuth,
    // ---- end issue 19 (suite) ----
}

/// `endpoints[].tolerate` levels.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Tolerance {
    /// Type, format, nullability and integer/number widening may vary at the path and
    /// anywhere below it; presence (fields added or removed) is still reported.
    Any,
    /// The JSON type, nullability and string format at exactly this path may vary (not below).
    Type,
    /// Only the string format at exactly this path may vary.
    Format,
}

impl Tolerance {
    pub fn as_str(self) -> &'static str {
        match self {
            Tolerance::Any => "any",
            Tolerance::Type => "type",
            Tolerance::Format => "format",
        }
    }
}

// ---- issue 19 (suite): chained values and endpoint auth ----

/// One chained value: the first node `path` selects in `endpoint`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSource {
    /// Id of the source endpoint (a plain endpoint: no `params`, `auth: token`).
    pub endpoint: String,
    /// RFC 9535 JSONPath (checked by the loader).
    pub path: String,
}

/// How an endpoint's requests are authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointAuth {
    /// The connection's bearer token (the default).
    #[default]
    Token,
    /// No `Authorization` header, no token: probed once per suite, not per connection.
    None,
}

impl Endpoint {
    /// The `${conn:NAME}` names the endpoint's path, query and headers use (sorted).
    pub fn conn_vars(&self) -> std::collections::BTreeSet<String> {
        std::iter::once(self.path.value.as_str())
            .chain(self.query.values().map(String::as_str))
            .chain(self.headers.values().map(String::as_str))
            .flat_map(conn_references)
            .collect()
    }

    /// Whether each connection needs its own URL or headers (`${conn:…}` or `from:`).
    pub fn is_templated(&self) -> bool {
        !self.from.is_empty() || !self.conn_vars().is_empty()
    }
}

/// The names of the well-formed `${conn:NAME}` references in `text`, in order.
pub fn conn_references(text: &str) -> Vec<String> {
    const OPEN: &str = "${conn:";
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find('}') else { break };
        names.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    names
}

/// `text` with every `${conn:NAME}` replaced from `vars`; the first missing name is the error.
pub fn fill_conn_vars(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    const OPEN: &str = "${conn:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        out.push_str(&rest[..start]);
        out.push_str(vars.get(name).ok_or_else(|| name.to_string())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The `{name}` placeholders of a path, in order (`${…}` references are not placeholders).
pub fn path_placeholders(path: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{'
            && (i == 0 || bytes[i - 1] != b'$')
            && let Some(end) = path[i + 1..].find('}')
        {
            let name = &path[i + 1..i + 1 + end];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                names.push(name.to_string());
            }
            i += end + 2;
            continue;
        }
        i += 1;
    }
    names
}

// ---- end issue 19 (suite) ----

/// `endpoints[].values`: what the values probe tracks on an endpoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValuesConfig {
    /// Named metrics: name → RFC 9535 JSONPath.
    pub metrics: BTreeMap<String, String>,
    /// Track every numeric leaf of the response too.
    pub auto: bool,
    /// Implication rules: `then` must be non-zero when `when` > `greater_than`.
    pub rules: Vec<ValueRuleConfig>,
    /// JSONPath of a "data is complete" flag, and the value that claims completeness.
    pub complete_flag: Option<(String, serde_json::Value)>,
}

/// One implication rule of [`ValuesConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValueRuleConfig {
    pub name: String,
    pub when: String,
    pub greater_than: f64,
    pub then: String,
}

/// Per-provider limits; defaults come from [`Limits::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total time for one request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Maximum response body, enforced while streaming.
    pub max_body_bytes: u64,
    /// Requests in flight at once for this provider.
    pub concurrency: usize,
    /// Request rate for this provider; `None`: no limit.
    pub rate: Option<RequestRate>,
    /// Retries after the first attempt (GET/HEAD; token requests on 429 only).
    pub retries: u32,
    /// Longest wait honoured from a 429's `Retry-After` / `X-RateLimit-Reset`,
    /// and the total wait of one request across all its retries.
    pub max_retry_wait: Duration,
}

/// `requests` per `per`, e.g. `50/s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRate {
    /// At least 1.
    pub requests: u32,
    pub per: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 10 * 1024 * 1024,
            concurrency: 4,
            rate: None,
            retries: 3,
            max_retry_wait: Duration::from_secs(60),
        }
    }
}
