//! The suite file exactly as written: serde structs that mirror the YAML keys,
//! with source positions, and the JSON Schema derived from them.
//!
//! Nothing here validates meaning or resolves `${env:VAR}`; `convert` turns these
//! into the plain model. Doc comments become the descriptions in `driftwatch schema`.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// A driftwatch suite: one provider, how to get its tokens and what to probe.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "driftwatch suite (format version 1)")]
pub(crate) struct RawSuite {
    /// Suite format version; must be `1`.
    #[schemars(with = "u32", range(min = 1, max = 1))]
    pub version: Spanned<u32>,
    /// The third-party API under test.
    #[schemars(with = "RawProvider")]
    pub provider: Spanned<RawProvider>,
    /// How tokens are obtained for this provider (one auth, named `default`). Exactly one of
    /// `auth` and `auths` is required.
    #[serde(default)]
    #[schemars(with = "Option<RawAuth>")]
    pub auth: Option<Spanned<RawAuth>>,
    // ---- several grants per provider (issue 19 item 4) ----
    /// Several named auths (name → auth), e.g. `user` (authorization code) and `service`
    /// (client credentials), or two clients; each connection names the one it uses
    /// (`connections[].auth`). One provider, one baseline. Instead of `auth`.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, RawAuth>>")]
    pub auths: Option<Spanned<BTreeMap<String, Spanned<RawAuth>>>>,
    /// Named scope sets (name → scopes); tokens are obtained per scope set.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Vec<String>>")]
    pub scope_sets: BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
    /// Granted accounts of the provider, probed one by one.
    #[serde(default)]
    #[schemars(with = "Vec<RawConnection>")]
    pub connections: Vec<Spanned<RawConnection>>,
    /// Resource API endpoints to probe.
    #[serde(default)]
    #[schemars(with = "Vec<RawEndpoint>")]
    pub endpoints: Vec<Spanned<RawEndpoint>>,
    /// Per-provider request limits.
    #[serde(default)]
    pub limits: Option<RawLimits>,
    /// Extra redaction selectors: a JSONPath like `$.user.ssn`, or a bare key name
    /// matched at any depth.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub redact: Vec<Spanned<String>>,
    /// Deprecation signals: provider-specific headers to watch besides `Deprecation`, `Sunset`,
    /// `Link` and `Warning`.
    #[serde(default)]
    pub deprecation: Option<RawDeprecation>,
    /// Discovery metadata to probe (RFC 8414 / OpenID Connect Discovery).
    #[serde(default)]
    pub metadata: Option<RawMetadata>,
    // ---- issue 19 (suite): endpoint defaults ----
    /// Defaults for every endpoint: `{auth: none}` probes every endpoint without a token unless
    /// the endpoint says `auth: token`.
    #[serde(default)]
    pub endpoint_defaults: Option<RawEndpointDefaults>,
    // ---- end issue 19 (suite) ----
    /// Severity overrides for this provider: rule id → `breaking`, `warning` or `info`
    /// (`driftwatch rules` lists the ids). The config file's `[severity]` wins over these.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub severity: BTreeMap<String, Spanned<String>>,
}

/// `deprecation:`: vendor headers that announce deprecations.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Deprecation")]
pub(crate) struct RawDeprecation {
    /// Header names, e.g. `X-API-Warn`.
    #[serde(default)]
    pub headers: Vec<String>,
}

/// `metadata:`: which discovery documents to fetch and the issuer they must name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Metadata")]
pub(crate) struct RawMetadata {
    /// The issuer identifier (default: `provider.base_url`); documents are fetched from its
    /// `/.well-known/` URLs and must name exactly this issuer.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub issuer: Option<Spanned<String>>,
    /// `oauth-authorization-server` (RFC 8414) and/or `openid-configuration`. Default: both.
    #[serde(default)]
    pub documents: Option<Vec<RawMetadataDocument>>,
}

/// A discovery document kind.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawMetadataDocument {
    /// `/.well-known/oauth-authorization-server` (RFC 8414).
    OauthAuthorizationServer,
    /// `/.well-known/openid-configuration` (OpenID Connect Discovery).
    OpenidConfiguration,
}

/// The provider under test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Provider")]
pub(crate) struct RawProvider {
    /// Lowercase identifier `[a-z0-9][a-z0-9_-]*`; names directories under `snapshots/`.
    #[schemars(with = "String", regex(pattern = r"^[a-z0-9][a-z0-9_-]*$"))]
    pub name: Spanned<String>,
    /// Absolute http(s) base URL of the resource API, often `${env:VAR}`.
    #[schemars(with = "String")]
    pub base_url: Spanned<String>,
}

/// The OAuth grant used to obtain tokens.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Grant")]
pub(crate) enum RawGrant {
    /// User grants (refresh tokens) obtained through the authorization-code flow with PKCE.
    AuthorizationCode,
    /// App-level tokens from the client-credentials grant.
    ClientCredentials,
    /// A static bearer token per connection.
    StaticBearer,
    /// The legacy resource-owner password grant (OAuth 2.1 removes it; accepted with a warning).
    Password,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "ClientAuth")]
pub(crate) enum RawClientAuth {
    /// HTTP Basic (`client_secret_basic`).
    Basic,
    /// Credentials in the form body (`client_secret_post`).
    Post,
}

/// How tokens are obtained. `token_url` or `discovery_url` is required.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Auth")]
pub(crate) struct RawAuth {
    /// `authorization_code`, `client_credentials`, `password` (legacy, warned) or `static_bearer`.
    #[schemars(with = "RawGrant")]
    pub grant: Spanned<RawGrant>,
    /// Token endpoint, absolute or relative to `provider.base_url`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub token_url: Option<Spanned<String>>,
    /// Authorization endpoint (authorization_code), absolute or relative.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub authorize_url: Option<Spanned<String>>,
    /// RFC 8414 / OpenID discovery document URL, absolute or relative. Used for endpoints only
    /// when its `issuer` matches (`metadata.issuer`, else the issuer the well-known URL was built
    /// from); otherwise the run error `discovery-issuer-mismatch`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub discovery_url: Option<Spanned<String>>,
    /// OAuth client id; required for authorization_code and client_credentials.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub client_id: Option<Spanned<String>>,
    /// OAuth client secret; write it as `${env:VAR}`, never literally.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub client_secret: Option<Spanned<String>>,
    /// `basic` (default) or `post`.
    #[serde(default)]
    #[schemars(with = "Option<RawClientAuth>")]
    pub client_auth: Option<Spanned<RawClientAuth>>,
    /// Scopes requested when a connection names no scope set.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub scopes: Vec<Spanned<String>>,
    /// Redirect URI registered for the authorization-code flow.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub redirect_uri: Option<Spanned<String>>,
    /// RFC 8628 device authorization endpoint, absolute or relative (else from discovery).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub device_authorization_url: Option<Spanned<String>>,
    /// Refresh-token lifetimes the provider documents, for token-health warnings.
    #[serde(default)]
    pub refresh_token_lifetime: Option<RawLifetime>,
    /// What the provider documents about refresh tokens, and the active refresh probe's schedule.
    #[serde(default)]
    pub refresh: Option<RawRefresh>,
    /// Credential helper command: driftwatch runs `<cmd> get <key>` and `<cmd> store <key>`
    /// instead of using the local credential store file (see docs/credential-helpers.md).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub credential_helper: Option<Spanned<String>>,
    /// Extra parameters of the authorization request (`connect`), name → value, e.g.
    /// `{access_type: offline, prompt: consent}` for Google. Also sent with the device
    /// authorization request. Never secrets: the authorize URL is printed. Names the flow sets
    /// itself (`client_id`, `redirect_uri`, `response_type`, `scope`, `state`,
    /// `code_challenge`, `code_challenge_method`) are rejected.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub authorize_params: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    // ---- issue 20 (app health) ----
    /// When the client secret stops working: a date (`2027-03-01`, midnight UTC), an RFC 3339
    /// time, or `stored`: read when a run starts from the credential store or helper, entry
    /// `<provider>/@app`, field `client_secret_expires_at` (for secrets a vault rotates).
    /// Warned within `--expiry-window`, breaking once passed.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub client_secret_expires: Option<Spanned<String>>,
    /// The app's registered callback URLs (absolute; `http` only on loopback), each checked
    /// once per run by the app probe's callback probe: an authorization request that is never
    /// logged in to nor followed. Per environment through `${env:…}` values.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub redirect_uris: Vec<Spanned<String>>,
    // ---- end issue 20 ----
}

/// Documented refresh behaviour.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "DocumentedRefresh")]
pub(crate) enum RawDocumentedRefresh {
    /// The provider says it issues no refresh tokens.
    None,
    /// Refresh tokens are reusable (non-rotating).
    Reusable,
    /// Every refresh returns a new refresh token.
    Rotating,
}

/// `auth.refresh`: documented behaviour and the active probe's replay schedule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Refresh")]
pub(crate) struct RawRefresh {
    /// `none`, `reusable` or `rotating`, as the provider documents it.
    #[serde(default)]
    pub documented: Option<RawDocumentedRefresh>,
    /// On `disposable` connections, replay the rotated-away refresh token again after this
    /// delay (e.g. `5s`) to measure a grace window.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[0-9]+(ms|s|m|h|d)$"))]
    pub replay_delay: Option<Spanned<String>>,
    /// How often the replay probe may replay an old refresh token on a `disposable` connection
    /// (default `once`). A replay can cost the grant where reuse revokes it (Auth0, Okta,
    /// Salesforce, OAuth 2.1 servers); see docs/faq.md.
    #[serde(default)]
    pub replay: Option<RawReplay>,
}

/// `auth.refresh.replay`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "Replay")]
pub(crate) enum RawReplay {
    /// Once per grant: the credential store remembers the replay; `driftwatch connect` re-arms it.
    Once,
    /// Every run: a provider whose reuse detection revokes the grant needs a `connect` before every run.
    EveryRun,
    /// Never: the refresh class comes from passive signals only (`rotating`, `non-rotating`).
    Never,
}

/// Documented refresh-token lifetimes: `idle` (dies unused) and `absolute` (dies regardless).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RefreshTokenLifetime")]
pub(crate) struct RawLifetime {
    /// Lifetime when unused, e.g. `90d`.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[0-9]+(ms|s|m|h|d)$"))]
    pub idle: Option<Spanned<String>>,
    /// Lifetime from the first authorisation, e.g. `365d`.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[0-9]+(ms|s|m|h|d)$"))]
    pub absolute: Option<Spanned<String>>,
}

/// One granted account of the provider.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Connection")]
pub(crate) struct RawConnection {
    /// Identifier, unique in the suite.
    #[schemars(with = "String", regex(pattern = r"^[a-z0-9][a-z0-9_.-]*$"))]
    pub id: Spanned<String>,
    /// Credential store key; defaults to `<provider>/<id>`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub credential: Option<Spanned<String>>,
    /// Name of an entry of `scope_sets`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub scope_set: Option<Spanned<String>>,
    /// Allows probes that may spend the grant: replaying an old refresh token
    /// (`auth.refresh.replay`) and narrowed refreshes for the permissions probe. Default false.
    #[serde(default)]
    pub disposable: bool,
    /// Static bearer token (grant `static_bearer` only); write it as `${env:VAR}`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub token: Option<Spanned<String>>,
    /// Resource-owner username (grant `password` only).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub username: Option<Spanned<String>>,
    /// Resource-owner password (grant `password` only); write it as `${env:VAR}`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub password: Option<Spanned<String>>,
    // ---- several grants per provider (issue 19 item 4) ----
    /// Name of the `auths` entry this connection's grant comes from; required when the suite
    /// declares several auths, else `default`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub auth: Option<Spanned<String>>,
    // ---- issue 19 (suite): per-connection values ----
    /// Per-connection values (name → value) that endpoints use as `${conn:NAME}` in `path`,
    /// `query` and `headers`, e.g. `{tenant_id: 4f2c…}` for Xero's `Xero-tenant-id` header. Names
    /// are `[A-Za-z_][A-Za-z0-9_]*`. Not secrets: they appear in URLs, exchanges and reports; a
    /// value written as `${env:VAR}` is treated as a secret and scrubbed by value. A credential
    /// helper's answer may add `vars` too (see docs/credential-helpers.md); the suite's win.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub vars: BTreeMap<String, Spanned<String>>,
    // ---- end issue 19 (suite) ----
}

/// One resource API endpoint to probe.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Endpoint")]
pub(crate) struct RawEndpoint {
    /// Identifier `[a-z0-9][a-z0-9_.-]*`, unique in the suite; names snapshot files.
    #[schemars(with = "String", regex(pattern = r"^[a-z0-9][a-z0-9_.-]*$"))]
    pub id: Spanned<String>,
    /// HTTP method; default `GET`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub method: Option<Spanned<String>>,
    /// Path relative to `provider.base_url` (starting with `/`), or an absolute URL.
    #[schemars(with = "String")]
    pub path: Spanned<String>,
    /// Query parameters.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub query: BTreeMap<String, Spanned<String>>,
    /// Request headers. Never sent to another origin after a redirect; values from `${env:…}` are
    /// secrets, scrubbed from everything recorded or printed.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: BTreeMap<String, Spanned<String>>,
    /// Scopes the provider documents as required for this endpoint.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub requires: Vec<Spanned<String>>,
    /// Alternatives of scope lists, any one of which the provider documents as enough (OpenAPI
    /// `security: [{oauth: [a]}, {oauth: [b]}]`): `[[files.ui_hidden.read], [files]]`. A scope set
    /// meets the endpoint's documented requirement when it holds every `requires` scope and every
    /// scope of at least one alternative.
    #[serde(default)]
    #[schemars(with = "Vec<Vec<String>>")]
    pub requires_any: Vec<Spanned<Vec<Spanned<String>>>>,
    /// JSON Schema of a 2xx response: a file path relative to the suite, or inline.
    #[serde(default)]
    #[schemars(with = "Option<SchemaRef>")]
    pub schema: Option<Spanned<serde_json::Value>>,
    /// Zero-value anomaly checks on this endpoint's data.
    #[serde(default)]
    pub values: Option<RawValues>,
    // ---- field-level requirements and schema tolerance (issue 19 item 5) ----
    /// Field-level scope requirements: JSONPath of a field (`$.email`, `$.data[*].email`) →
    /// the scopes without which the provider leaves that field out by design. A 2xx answer
    /// missing the field under a scope set that lacks one of them is `granted`, the field
    /// listed in the cell's `fields_withheld`; missing under a scope set that holds them all,
    /// it stays `partial`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Vec<String>>")]
    pub requires_fields: BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
    /// Schema tolerance: JSONPath → `any` (type, nullability and format may vary at the path
    /// and below it), `type` (type, nullability and format at exactly this path) or `format`
    /// (only the string format at exactly this path). Fields added or removed are still
    /// reported.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawTolerance>")]
    pub tolerate: BTreeMap<String, Spanned<RawTolerance>>,
    // ---- issue 19 (suite): parameter matrices, chained values, endpoint auth ----
    /// Parameter matrix: name → values. The endpoint is probed once per combination of values
    /// (the cartesian product, at most 64), each as its own subject `id[name=value,…]` (names
    /// sorted), e.g. `metrics[period=7d]`, with its own baseline file. A name that appears as
    /// `{name}` in `path` fills that path segment (percent-encoded); otherwise it is sent as a
    /// query parameter.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Vec<String>>")]
    pub params: BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
    /// Chained values for `{name}` placeholders of `path`, taken per connection from another
    /// endpoint's answer: `{endpoint: campaigns, path: "$.data[0].id"}` when the path has one
    /// placeholder, else a map placeholder → `{endpoint, path}`. The JSONPath (RFC 9535) takes
    /// the first node it selects (`$.data[*].id` → the first id); a string or number is used.
    /// The source endpoint is probed first. When it has no such value (no 2xx answer, no node,
    /// `null`, an object, or a redacted value) the probe is `skipped` with the reason, never an
    /// error or a drift. A cycle of `from:` is a `check` error.
    #[serde(default)]
    #[schemars(with = "Option<RawFromDoc>")]
    pub from: Option<Spanned<RawFrom>>,
    /// `token` (default: the connection's bearer token) or `none`: no `Authorization` header and
    /// no token needed; such an endpoint is probed once per suite (subject connection `-`), not
    /// per connection, so it cannot use `${conn:…}` or `from:`, and the permissions probe skips
    /// it.
    #[serde(default)]
    #[schemars(with = "Option<RawEndpointAuth>")]
    pub auth: Option<Spanned<RawEndpointAuth>>,
    // ---- end issue 19 (suite) ----
}

/// A `tolerate` level.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Tolerance")]
pub(crate) enum RawTolerance {
    /// Type, nullability and format may vary at the path and anywhere below it.
    Any,
    /// Type, nullability and format may vary at exactly this path.
    Type,
    /// Only the string format may vary at exactly this path.
    Format,
}

// ---- issue 19 (suite): types of `params`, `from`, `auth` and `endpoint_defaults` ----

/// `endpoints[].auth`: how an endpoint's requests are authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "EndpointAuth")]
pub(crate) enum RawEndpointAuth {
    /// The connection's bearer token in `Authorization` (the default).
    Token,
    /// No `Authorization` header, no token: probed once per suite.
    None,
}

/// `endpoint_defaults:`: defaults for every endpoint.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EndpointDefaults")]
pub(crate) struct RawEndpointDefaults {
    /// Default `auth` of every endpoint: `token` (default) or `none`.
    #[serde(default)]
    #[schemars(with = "Option<RawEndpointAuth>")]
    pub auth: Option<Spanned<RawEndpointAuth>>,
}

/// One chained value: which endpoint's answer, and where in it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ChainSource")]
pub(crate) struct RawSource {
    /// Id of the source endpoint (not itself a parameter matrix or `auth: none`).
    pub endpoint: String,
    /// RFC 9535 JSONPath into the source's answer; the first node selected is used.
    pub path: String,
}

/// `from:` as written: one source, or placeholder → source.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawFrom {
    One(RawSource),
    Map(BTreeMap<String, RawSource>),
}

/// `from:` (documentation type only).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
#[schemars(rename = "ChainFrom")]
enum RawFromDoc {
    /// The source of the path's only placeholder.
    One(RawSource),
    /// Placeholder name → source.
    Map(BTreeMap<String, RawSource>),
}

// ---- end issue 19 (suite) ----

/// `values:` of an endpoint: metrics to track and rules that must hold.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Values")]
pub(crate) struct RawValues {
    /// Named metrics: name → RFC 9535 JSONPath, e.g. `conversions: $.metrics.conversions`.
    #[serde(default)]
    pub metrics: BTreeMap<String, String>,
    /// Track every numeric leaf of the response as well. Default false.
    #[serde(default)]
    pub auto: bool,
    /// Implication rules: `then` must be non-zero when `when` > `greater_than`.
    #[serde(default)]
    pub rules: Vec<RawValueRule>,
    /// A "data is complete" flag the provider sends, e.g. `{path: $.data_complete, complete_when: true}`.
    #[serde(default)]
    pub complete_flag: Option<RawCompleteFlag>,
}

/// One implication rule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ValueRule")]
pub(crate) struct RawValueRule {
    /// Rule name, used in findings and drifts.
    pub name: String,
    /// A metric name or JSONPath.
    pub when: String,
    /// The threshold `when` must exceed for the rule to apply.
    pub greater_than: f64,
    /// A metric name or JSONPath that must then be non-zero.
    pub then: String,
}

/// A completeness flag.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CompleteFlag")]
pub(crate) struct RawCompleteFlag {
    /// JSONPath of the flag.
    pub path: String,
    /// The value that claims complete data. Default `true`.
    #[serde(default = "default_true")]
    pub complete_when: serde_json::Value,
}

fn default_true() -> serde_json::Value {
    serde_json::Value::Bool(true)
}

/// A declared JSON Schema (documentation type only).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
#[schemars(rename = "DeclaredSchema")]
enum SchemaRef {
    /// Path of a JSON Schema file, relative to the suite file.
    File(String),
    /// An inline JSON Schema.
    Inline(serde_json::Map<String, serde_json::Value>),
}

/// A size: a byte count, or a number with `KiB`, `MiB` or `GiB`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
#[schemars(rename = "Size")]
enum SizeDoc {
    /// A byte count.
    Bytes(u64),
    /// A number with a unit, e.g. `10MiB`.
    Text(String),
}

/// Per-provider request limits.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Limits")]
pub(crate) struct RawLimits {
    /// Total time for one request, body included: `500ms`, `30s`, `2m`. Default 30s.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[0-9]+(ms|s|m|h)$"))]
    pub timeout: Option<Spanned<String>>,
    /// Time to establish a connection. Default 10s.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[0-9]+(ms|s|m|h)$"))]
    pub connect_timeout: Option<Spanned<String>>,
    /// Maximum response body, e.g. `10MiB`. Default 10MiB.
    #[serde(default)]
    #[schemars(with = "Option<SizeDoc>")]
    pub max_body: Option<Spanned<String>>,
    /// Requests in flight at once for this provider. Default 4.
    #[serde(default)]
    #[schemars(with = "Option<u32>", range(min = 1))]
    pub concurrency: Option<Spanned<u32>>,
    /// Requests per second or minute for this provider, e.g. `50/s`, `600/m`. Default: no limit.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[0-9]+/(s|m)$"))]
    pub rate: Option<Spanned<String>>,
    /// Retries of a GET/HEAD after 429, 5xx or a connection failure, and of a token
    /// request after 429. Default 3.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub retries: Option<Spanned<u32>>,
    /// Longest wait honoured from a 429's `Retry-After` or `X-RateLimit-Reset`, and the total one request waits across all its retries, whatever the server asks: once spent, a surviving 429 is `rate-limited`. Default 60s.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[0-9]+(ms|s|m|h)$"))]
    pub max_retry_wait: Option<Spanned<String>>,
}
