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
    /// Provider-specific response headers that announce deprecations (`X-API-Warn`).
    pub deprecation_headers: Vec<String>,
    /// Discovery metadata to probe.
    pub metadata: MetadataConfig,
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
    pub client_secret_expires: Option<Located<chrono::DateTime<chrono::Utc>>>,
    // ---- end issue 20 ----
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
    pub schema: Option<Located<DeclaredSchema>>,
    /// Values to check for zero/empty/null anomalies (`values:`), when given.
    pub values: Option<ValuesConfig>,
    pub pos: Pos,
}

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
