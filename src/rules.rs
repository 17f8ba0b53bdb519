//! The catalogue of every rule driftwatch can emit, its renderings, and drift fingerprints.
//!
//! Plain data about rules: it never decides whether a rule fires (the probes and the
//! baseline diff do) and never does I/O. Code names a rule by its [`Rule`] value; the id
//! string (`schema.field-removed`) exists only here, in output and in what users type.

use crate::model::{Drift, ProbeKind, Severity};
use ProbeKind::{App, Deprecation, Metadata, Permissions, Refresh, Schema, Token, Values};
use RuleKind::{Drift as D, Finding as F};
use Severity::{Breaking, Info, Warning};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;

/// Whether a rule compares with the baseline or is re-checked from scratch every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// Reported in `Run::drifts`: a change against the baseline (or a declared contract).
    Drift,
    /// Reported in `Run::findings`: a fact about the provider, re-checked every run.
    Finding,
}

impl RuleKind {
    /// The lowercase name used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Drift => "drift",
            RuleKind::Finding => "finding",
        }
    }
}

/// One rule with what it means. Every rule is exactly one kind: one fact gets one verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    pub rule: Rule,
    /// The stable id users see, suppress and accept by (`schema.field-removed`).
    pub id: &'static str,
    pub probe: ProbeKind,
    pub kind: RuleKind,
    /// Every severity the rule may be emitted with, the usual one first.
    pub severities: &'static [Severity],
    pub description: &'static str,
    /// A message as the rule prints it.
    pub example: &'static str,
}

impl RuleInfo {
    /// The severities as prose: `breaking`, `breaking or warning`, `breaking, warning or info`.
    pub fn severity(&self) -> String {
        let words: Vec<&str> = self.severities.iter().map(|s| s.as_str()).collect();
        match words.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// Declares [`Rule`] and [`RULES`] from one list, so every variant has exactly one catalogue
/// entry and `RULES[rule as usize]` is that entry.
macro_rules! catalogue {
    ($(
        $variant:ident = $id:literal, $probe:ident, $kind:ident, [$($sev:ident),+],
        $description:literal,
        $example:literal;
    )*) => {
        /// Every rule the code can emit. Emission sites name a variant; its id, probe, kind,
        /// allowed severities and meaning live in [`RULES`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $(
                #[doc = $description]
                $variant,
            )*
        }

        /// Every rule, sorted by probe, kind and id (the order of [`Rule`]'s variants).
        pub const RULES: &[RuleInfo] = &[$(
            RuleInfo {
                rule: Rule::$variant,
                id: $id,
                probe: $probe,
                kind: $kind,
                severities: &[$($sev),+],
                description: $description,
                example: $example,
            },
        )*];
    };
}

catalogue! {
    // metadata
    MetadataAuthMethodRemoved = "metadata.auth-method-removed", Metadata, D, [Breaking],
        "discovery no longer lists a token-endpoint auth method",
        "`token_endpoint_auth_methods_supported` no longer lists `client_secret_post`";
    MetadataEndpointChanged = "metadata.endpoint-changed", Metadata, D, [Breaking, Info],
        "an endpoint URL, `jwks_uri` or the issuer changed or vanished (info when one was added)",
        "`token_endpoint` changed from `https://id.example.com/token` to `https://id.example.com/oauth2/token`";
    MetadataFieldChanged = "metadata.field-changed", Metadata, D, [Info],
        "any other discovery member changed, appeared or vanished",
        "`service_documentation` was added: `https://docs.example.com`";
    MetadataGrantAdded = "metadata.grant-added", Metadata, D, [Info],
        "discovery now lists a new grant type",
        "`grant_types_supported` now lists `urn:ietf:params:oauth:grant-type:device_code`";
    MetadataGrantRemoved = "metadata.grant-removed", Metadata, D, [Breaking],
        "discovery no longer lists a grant type",
        "`grant_types_supported` no longer lists `refresh_token`";
    MetadataObservationUnreadable = "metadata.observation-unreadable", Metadata, D, [Warning],
        "a stored or fresh metadata observation cannot be read, so it was not compared",
        "the current metadata observation is unreadable: invalid type: sequence, expected a map";
    MetadataPkceMethodRemoved = "metadata.pkce-method-removed", Metadata, D, [Breaking],
        "discovery no longer lists a PKCE code challenge method",
        "`code_challenge_methods_supported` no longer lists `S256`";
    MetadataResponseTypeRemoved = "metadata.response-type-removed", Metadata, D, [Warning],
        "discovery no longer lists a response type",
        "`response_types_supported` no longer lists `code id_token`";
    MetadataScopeAdded = "metadata.scope-added", Metadata, D, [Info],
        "discovery now lists a new scope",
        "`scopes_supported` now lists `reports:write`";
    MetadataScopeRemoved = "metadata.scope-removed", Metadata, D, [Breaking],
        "discovery no longer lists a scope",
        "`scopes_supported` no longer lists `offline_access`";
    MetadataImplicitAdvertised = "metadata.implicit-advertised", Metadata, F, [Info],
        "discovery advertises the implicit grant or a `token` response type, which OAuth 2.1 removes",
        "`openid-configuration` advertises the `implicit` grant, which OAuth 2.1 removes";
    MetadataIssuerMismatch = "metadata.issuer-mismatch", Metadata, F, [Breaking],
        "the document's `issuer` differs from the issuer it was fetched for (RFC 8414 §3.3)",
        "`oauth-authorization-server` names the issuer `https://login.example.com` instead of `https://id.example.com`, so clients that check it reject the document";
    MetadataPasswordAdvertised = "metadata.password-advertised", Metadata, F, [Info],
        "discovery advertises the resource owner password grant, which OAuth 2.1 removes",
        "`openid-configuration` advertises the `password` grant, which OAuth 2.1 removes";
    MetadataPkceMissing = "metadata.pkce-missing", Metadata, F, [Warning],
        "discovery does not advertise PKCE, or not the `S256` method",
        "`oauth-authorization-server` does not advertise the PKCE method `S256`";
    // token
    TokenContentTypeChanged = "token.content-type-changed", Token, D, [Breaking],
        "the token endpoint's body format changed (JSON, form, form labelled as JSON)",
        "`refresh_token`: content type is now `form` instead of `json`";
    TokenErrorFormatChanged = "token.error-format-changed", Token, D, [Warning],
        "how the token endpoint reports errors changed (status, JSON body, `error` member)",
        "`refresh_token` error answers changed `status`, `json`";
    TokenExpiresInTypeChanged = "token.expires-in-type-changed", Token, D, [Breaking, Warning],
        "`expires_in` changed its JSON type (breaking when it was a number)",
        "`authorization_code`: `expires_in` is now `string` instead of `number`";
    TokenGrantAppeared = "token.grant-appeared", Token, D, [Info],
        "a grant's answers were seen that the baseline does not have",
        "a `client_credentials` answer was seen that the baseline does not have";
    TokenGrantDisappeared = "token.grant-disappeared", Token, D, [Info],
        "a grant of the baseline was not seen in this run",
        "no `authorization_code` answer was seen in this run";
    TokenNoStoreChanged = "token.no-store-changed", Token, D, [Info],
        "token answers started or stopped carrying `Cache-Control: no-store`",
        "`refresh_token`: `Cache-Control: no-store` is now `false` instead of `true`";
    TokenObservationUnreadable = "token.observation-unreadable", Token, D, [Warning],
        "a stored or fresh token observation cannot be read, so it was not compared",
        "the baseline token observation is unreadable: invalid type: sequence, expected a map";
    TokenOutcomeChanged = "token.outcome-changed", Token, D, [Breaking, Warning, Info],
        "a grant that gave tokens now gives errors (breaking), or the reverse (info)",
        "`refresh_token` now answers `error` instead of `token`";
    TokenRefreshExpiring = "token.refresh-expiring", Token, D, [Warning, Breaking],
        "a connection's refresh token dies within `--expiry-window` (breaking once expired)",
        "the refresh token of `acme` dies on 2026-03-01 12:00 UTC (5 days left, documented lifetime) unless it is refreshed";
    TokenRefreshExpiryHintChanged = "token.refresh-expiry-hint-changed", Token, D, [Info],
        "the refresh-token expiry hint in token answers changed",
        "`refresh_token`: the refresh-token expiry hint is now `absent` instead of `refresh_token_expires_in`";
    TokenRefreshTokenChanged = "token.refresh-token-changed", Token, D, [Breaking, Warning],
        "what a grant returns as `refresh_token` changed (breaking when refresh tokens stop coming)",
        "`refresh_token`: the provider stopped issuing refresh tokens (`absent` instead of `new`)";
    TokenScopeChanged = "token.scope-changed", Token, D, [Warning],
        "how token answers return `scope` changed",
        "`authorization_code`: `scope` is now `absent` instead of `same`";
    TokenTokenTypeChanged = "token.token-type-changed", Token, D, [Warning],
        "the `token_type` of token answers changed",
        "`refresh_token`: `token_type` is now `bearer` instead of `Bearer`";
    TokenErrorNotJson = "token.error-not-json", Token, F, [Warning],
        "the token endpoint answers an error without a JSON body (RFC 6749 §5.2)",
        "`refresh_token` answered an error without a JSON body";
    TokenErrorStatus = "token.error-status", Token, F, [Info],
        "the token endpoint answers an error with a status other than 400 or 401",
        "`refresh_token` answered an error with a status other than 400 or 401";
    TokenErrorWith200 = "token.error-with-200", Token, F, [Warning],
        "the token endpoint answers an error with a 2xx status",
        "`refresh_token` answered an error with a 2xx status";
    TokenExpiresInMissing = "token.expires-in-missing", Token, F, [Info],
        "token answers have no `expires_in`, so the token lifetime is unknown",
        "`client_credentials` answers have no `expires_in`, so the token lifetime is unknown";
    TokenExpiresInNotNumber = "token.expires-in-not-number", Token, F, [Warning],
        "token answers carry `expires_in` as something other than a JSON number",
        "`refresh_token` answers carry `expires_in` as a string instead of a number";
    TokenFormEncoded = "token.form-encoded", Token, F, [Warning, Info],
        "token answers are form-encoded instead of JSON (warning when labelled as JSON)",
        "`authorization_code` answers are form-encoded instead of JSON";
    TokenNoStoreMissing = "token.no-store-missing", Token, F, [Info],
        "token answers lack `Cache-Control: no-store`",
        "`refresh_token` answers lack `Cache-Control: no-store`";
    TokenResponseUnreadable = "token.response-unreadable", Token, F, [Warning],
        "the token endpoint answered 2xx with neither a token nor an error",
        "`refresh_token` answered 2xx with neither a token nor an error";
    TokenScopeNotReturned = "token.scope-not-returned", Token, F, [Info],
        "token answers do not return `scope`, so a narrowed grant goes unseen",
        "`authorization_code` answers do not return `scope`, so a narrowed grant goes unseen";
    TokenTokenTypeMissing = "token.token-type-missing", Token, F, [Warning],
        "token answers have no `token_type`, which RFC 6749 §5.1 requires",
        "`refresh_token` answers have no `token_type`, which RFC 6749 §5.1 requires";
    // permissions
    PermissionDenialSignalChanged = "permission.denial-signal-changed", Permissions, D, [Warning],
        "a denial now comes with another status, error code or `WWW-Authenticate` error",
        "`me` now denies scope set `basic` with 404 instead of 403 insufficient_scope";
    PermissionDownscopingChanged = "permission.downscoping-changed", Permissions, D, [Warning],
        "the provider started or stopped honouring down-scoping on refresh",
        "down-scoping on refresh for `acme` is now `ignored` instead of `honoured`";
    PermissionError = "permission.error", Permissions, D, [Warning],
        "a scope set now gets a 5xx, unreadable data or a network error",
        "scope set `basic` could not be checked against `invoices`: it answered 503";
    PermissionNewlyDenied = "permission.newly-denied", Permissions, D, [Breaking],
        "a scope set that got data is now denied",
        "scope set `read` is now denied by `invoices` with 403; it got the full data before";
    PermissionNewlyGranted = "permission.newly-granted", Permissions, D, [Info],
        "a scope set gets more data than before",
        "scope set `basic` now gets the full data from `me`; it was denied before";
    PermissionNewlyPartial = "permission.newly-partial", Permissions, D, [Breaking, Warning],
        "a scope set now gets fields or items less than before (warning when already partial)",
        "scope set `basic` now misses `$.email` from `me`; it got the full data before";
    PermissionObservationUnreadable = "permission.observation-unreadable", Permissions, D, [Warning],
        "a stored or fresh permissions observation cannot be read, so it was not compared",
        "the baseline permissions observation is unreadable: missing field `cells`";
    PermissionScopeSetAdded = "permission.scope-set-added", Permissions, D, [Info],
        "the suite probes a scope set the baseline does not have",
        "scope set `admin` was probed against `invoices` for the first time";
    PermissionScopeSetRemoved = "permission.scope-set-removed", Permissions, D, [Info],
        "a scope set of the baseline was not probed in this run",
        "scope set `legacy` was not probed against `invoices` in this run";
    PermissionInsufficientScopeMissing = "permission.insufficient-scope-missing", Permissions, F, [Info],
        "a 403 denial lacks `WWW-Authenticate: Bearer error=\"insufficient_scope\"`",
        "`invoices` denies scope set `basic` with 403 but WWW-Authenticate has no error=\"insufficient_scope\"";
    PermissionMisleadingDenial = "permission.misleading-denial", Permissions, F, [Warning],
        "a denial uses 404, 401, 400 or a 200 error envelope instead of 403 insufficient_scope",
        "`invoices` denies scope set `basic` with 404 instead of 403 insufficient_scope";
    PermissionNotProbed = "permission.not-probed", Permissions, F, [Info],
        "no token for a scope set could be got without risking a grant (no connection holds exactly the set, none is disposable or known to keep its old refresh token valid); the set is not probed and never compared",
        "scope set `public-only` was not probed against `invoices`: no connection holds exactly these scopes, and narrowing another grant could narrow it for good; add a connection granted exactly `public-only`, or mark a test connection that holds more `disposable: true`";
    PermissionScopeUnused = "permission.scope-unused", Permissions, F, [Info],
        "a requested scope (`auth.scopes` or a scope set) unlocks nothing the suite probes: no comparison of the permission matrix credits it with an endpoint and no endpoint documents it (least privilege); the token-endpoint scopes `openid`, `offline_access`, `profile`, `email`, `address`, `phone` are never flagged (see docs/scopes.md)",
        "scope `webhooks:read` is requested (`auth.scopes`, `basic`, `full`) but unlocks nothing the suite probes: every scope set holds it, so no comparison can isolate it, and no endpoint documents it; drop it (least privilege) or probe what needs it";
    PermissionUndocumentedRequirement = "permission.undocumented-requirement", Permissions, F, [Warning],
        "a scope set holding every documented scope is denied or gets partial data; a field the endpoint's `requires_fields` ties to scopes the set lacks is withheld by design (the cell is `granted`, the field in `fields_withheld`), not partial",
        "scope set `read` holds every documented scope of `invoices` (`invoices:read`) but is denied with 403";
    PermissionWorksWithoutDocumentedScope = "permission.works-without-documented-scope", Permissions, F, [Info],
        "a scope set gets the full data without a scope the suite documents as required (with `requires_any`, without meeting any of the alternatives)",
        "scope set `basic` gets the full data of `invoices` without documented scope `invoices:read`";
    // refresh
    RefreshClassChanged = "refresh.class-changed", Refresh, D, [Breaking, Warning],
        "a connection's refresh class changed (breaking towards one-time, reuse-revokes or no-refresh); a run whose refreshes were all rejected establishes no class and never yields it, and answers that stop carrying a refresh token are `refresh.stopped-issuing` alone (without a replay they do not show whether the last token stays valid)",
        "acme: refresh tokens now behave as `rotating-one-time` instead of `non-rotating`";
    RefreshGraceChanged = "refresh.grace-changed", Refresh, D, [Warning],
        "the grace window of rotated-away refresh tokens moved by more than 20 %",
        "acme: an old refresh token now stops working between 1000 ms and 2000 ms after rotation instead of between 30000 ms and 60000 ms";
    RefreshLifetimeChanged = "refresh.lifetime-changed", Refresh, D, [Warning],
        "the access or refresh token lifetime moved by more than 2 % and more than 5 s (29 vs 30 s or 3599 vs 3600 s is the same lifetime)",
        "acme: the access token lifetime is now 1800 s instead of 3600 s";
    RefreshObservationUnreadable = "refresh.observation-unreadable", Refresh, D, [Warning],
        "a stored or fresh refresh observation cannot be read, so it was not compared",
        "the before refresh observation is unreadable: missing field `class`";
    RefreshStartedIssuing = "refresh.started-issuing", Refresh, D, [Info],
        "refresh answers now carry a refresh token",
        "acme: refresh answers now carry a refresh token";
    RefreshStoppedIssuing = "refresh.stopped-issuing", Refresh, D, [Breaking, Warning],
        "a successful refresh answer no longer carries a refresh token (a rejected refresh never is this rule); the message states the date the connection dies and where that date comes from (the provider's hint, the suite's documented lifetime) or that it is unknown (warning for non-rotating)",
        "acme: refresh answers no longer carry a refresh token. The connection `acme` dies on 2026-03-01 12:00 UTC unless it is re-authorised (source: the suite's documented idle lifetime, `auth.refresh_token_lifetime`).";
    RefreshDocumentedMismatch = "refresh.documented-mismatch", Refresh, F, [Info],
        "refresh tokens behave other than `auth.refresh.documented` says",
        "connection `acme`: refresh tokens behave as `rotating-one-time` but the suite documents `reusable`";
    RefreshNotIssuing = "refresh.not-issuing", Refresh, F, [Info, Breaking],
        "no refresh token is issued (info), or one refresh dropped it while others rotated it (breaking)",
        "no refresh token was issued to connection `acme`, so it needs a new grant whenever its access token expires";
    RefreshUndocumentedRefresh = "refresh.undocumented-refresh", Refresh, F, [Warning],
        "refresh works although the suite documents no refresh",
        "connection `acme` refreshed its token although the suite documents no refresh";
    // schema
    SchemaContentTypeChanged = "schema.content-type-changed", Schema, D, [Warning],
        "a connection's response media type changed",
        "connection `acme` now answers with content type `text/html` instead of `application/json`";
    SchemaDeclaredViolation = "schema.declared-violation", Schema, D, [Breaking],
        "a response violates the suite's declared JSON Schema (checked every run, names the connections)",
        "response violates the declared schema at `/data/0/amount`: \"12.5\" is not of type \"integer\"";
    SchemaFieldAdded = "schema.field-added", Schema, D, [Info],
        "a new field appeared",
        "`$.data[].currency` was added";
    SchemaFieldRemoved = "schema.field-removed", Schema, D, [Breaking],
        "a field of the baseline is gone (reported at the top-most path)",
        "`$.email` was removed";
    SchemaFieldRenamed = "schema.field-renamed", Schema, D, [Breaking],
        "a removed and an added sibling with identical shapes and similar names (or the only removed and the only added one); most similar pair first, ties by path order",
        "`$.data[].amount` was renamed to `$.data[].amount_cents`";
    SchemaFormatChanged = "schema.format-changed", Schema, D, [Warning],
        "a string format changed (e.g. `date-time` to none); not at a path the endpoint's `tolerate` accepts (`any` at or above it, `type` or `format` at it)",
        "`$.created_at` changed format from `date-time` to nothing";
    SchemaMapChanged = "schema.map-changed", Schema, D, [Info],
        "an object's distinct keys crossed the map limit (1,000): it is now a map whose values are compared as one shape (`{}`), or has named fields again",
        "`$.by_id` is now a map: more than 1000 distinct keys, so its values are compared as one shape (`$.by_id{}`) instead of field by field";
    SchemaNullabilityChanged = "schema.nullability-changed", Schema, D, [Warning, Info],
        "a field became nullable (info when no longer nullable); not at a path the endpoint's `tolerate` accepts (`any` at or above it, `type` at it)",
        "`$.phone` became nullable";
    SchemaObservationUnreadable = "schema.observation-unreadable", Schema, D, [Warning],
        "a stored or fresh schema observation cannot be read, so it was not compared",
        "the baseline schema observation has an unreadable descriptor for `$.amount`: missing field `required`";
    SchemaOptionalityChanged = "schema.optionality-changed", Schema, D, [Warning, Info],
        "a required field became optional (info when now required)",
        "`$.name` became optional";
    SchemaStatusChanged = "schema.status-changed", Schema, D, [Breaking, Warning, Info],
        "a connection's HTTP status changed (breaking 2xx to error, info error to 2xx)",
        "connection `globex` now answers 403 instead of 200";
    SchemaTypeChanged = "schema.type-changed", Schema, D, [Breaking],
        "the non-null JSON types of a field changed (number, string, boolean, object, array; integer counts as number); not at a path the endpoint's `tolerate` accepts (`any` at or above it, `type` at it)",
        "`$.data[].amount_cents` changed type from integer to string";
    SchemaTypeWidened = "schema.type-widened", Schema, D, [Info],
        "a field seen only with whole numbers now has fractions (integer to number); the reverse is no drift, and neither is a path the endpoint's `tolerate` accepts",
        "`$.data[].total` widened from integer to number";
    // suppressions: filed under schema, the probe used when an entry matched nothing
    SuppressionExpired = "suppression.expired", Schema, D, [Warning],
        "an ignore-file entry is past its `expires` date and no longer silences its drifts (filed under the matched drift's probe)",
        "suppression of `schema.field-added` expired on 2027-01-31 (reason: vendor is rolling out video metrics)";
    SuppressionUnused = "suppression.unused", Schema, F, [Info],
        "an ignore-file entry matched no drift or finding in the whole run",
        "suppression of `schema.field-renamed` matched nothing in this run (reason: tracked in JIRA-123)";
    // values
    ValuesEmptied = "values.emptied", Values, D, [Breaking],
        "a non-empty value is now empty",
        "`$.items` is now empty for `acme` (had data)";
    ValuesNulled = "values.nulled", Values, D, [Warning],
        "a value became null or missing",
        "`$.totals.revenue` is now null or missing for `acme`";
    ValuesObservationUnreadable = "values.observation-unreadable", Values, D, [Warning],
        "a stored or fresh values observation cannot be read, so it was not compared",
        "the before values observation has no `connections` object";
    ValuesRecovered = "values.recovered", Values, D, [Info],
        "a zero, empty or null value has data again",
        "`conversions` has data again for `acme`";
    ValuesRuleViolated = "values.rule-violated", Values, D, [Breaking],
        "a declared implication rule that held for a connection in the baseline now fails for it (those connections named); a violation already in the baseline is not reported again",
        "rule `conversions-follow-clicks` held for every connection in the baseline and is now violated by `acme`";
    ValuesZeroed = "values.zeroed", Values, D, [Breaking],
        "a metric non-zero in the baseline is now zero for every connection",
        "`conversions` is now zero for `acme`, `globex` (was non-zero)";
    ValuesZeroedForSubset = "values.zeroed-for-subset", Values, D, [Breaking],
        "a metric non-zero everywhere in the baseline is now zero for some connections only (named)",
        "`conversions` is now zero for `globex` only; 2 other connections still have it non-zero";
    ValuesIncompleteFlagContradicted = "values.incomplete-flag-contradicted", Values, F, [Warning],
        "the provider flags the data as complete while a rule fails or a metric is zero against its peers",
        "connection `globex` claims complete data but has `conversions` at zero while other connections have it non-zero";
    // deprecation
    DeprecationAnnounced = "deprecation.announced", Deprecation, D, [Breaking],
        "an endpoint starts announcing a deprecation or a sunset date",
        "`invoices` now has a sunset date: 2026-06-30T00:00:00Z";
    DeprecationDateChanged = "deprecation.date-changed", Deprecation, D, [Info],
        "the announced deprecation date changed",
        "`invoices`: the deprecation is now dated 2026-02-01T00:00:00Z instead of dated 2026-03-01T00:00:00Z";
    DeprecationLinkChanged = "deprecation.link-changed", Deprecation, D, [Info],
        "the `Link` relations `deprecation` or `sunset` changed",
        "`invoices`: deprecation links changed: added `sunset <https://docs.example.com/sunset>`";
    DeprecationObservationUnreadable = "deprecation.observation-unreadable", Deprecation, D, [Warning],
        "a stored or fresh deprecation observation cannot be read, so it was not compared",
        "the baseline deprecation observation is unreadable: invalid type: null, expected struct DeprecationBody";
    DeprecationSunsetMoved = "deprecation.sunset-moved", Deprecation, D, [Breaking, Warning],
        "the sunset date moved (breaking when earlier)",
        "`invoices`: the sunset moved earlier, to 2026-04-30T00:00:00Z from 2026-06-30T00:00:00Z";
    DeprecationWarningAdded = "deprecation.warning-added", Deprecation, D, [Warning],
        "a new `Warning: 299` or vendor deprecation header",
        "`invoices` now answers with `Warning: 299` \"this endpoint is deprecated\"";
    DeprecationWarningRemoved = "deprecation.warning-removed", Deprecation, D, [Info],
        "a `Warning: 299` or vendor deprecation header is gone",
        "`invoices` no longer answers with `X-API-Warn` (was `v1 is deprecated`)";
    DeprecationWithdrawn = "deprecation.withdrawn", Deprecation, D, [Info],
        "an endpoint no longer announces its deprecation or sunset",
        "`invoices` no longer announces a sunset (was 2026-06-30T00:00:00Z)";
    DeprecationDeprecated = "deprecation.deprecated", Deprecation, F, [Warning],
        "an endpoint is (or will be) deprecated, with the date and days since or left",
        "`invoices` is deprecated since 2026-01-01T00:00:00Z (30 days ago)";
    DeprecationMalformedHeader = "deprecation.malformed-header", Deprecation, F, [Info],
        "a malformed `Deprecation`, `Sunset` or `Link` value, or a sunset before the deprecation date",
        "`invoices` sent a malformed `Sunset` header: not an HTTP-date";
    DeprecationSunsetPassed = "deprecation.sunset-passed", Deprecation, F, [Breaking],
        "an endpoint passed its sunset date and may stop answering at any time",
        "`invoices` passed its sunset date 2026-01-31T00:00:00Z 3 days ago and may stop answering at any time";
    DeprecationSunsetScheduled = "deprecation.sunset-scheduled", Deprecation, F, [Warning, Breaking],
        "an endpoint announces a future sunset date (breaking with fewer than 30 days left)",
        "`invoices` sunsets on 2026-06-30T00:00:00Z (120 days left)";
    // app
    AppClientRejected = "app.client-rejected", App, D, [Breaking],
        "the token endpoint now rejects the OAuth client (`invalid_client`, or `401` with `WWW-Authenticate`) that the baseline saw authenticated",
        "the token endpoint now rejects the OAuth client with `invalid_client` (status 401): the app was deleted or its client secret is no longer valid";
    AppClientSecretExpiring = "app.client-secret-expiring", App, D, [Warning, Breaking],
        "the client secret (`auth.client_secret_expires`) expires within `--expiry-window` (breaking once expired)",
        "the OAuth client secret expires on 2027-03-01 00:00 UTC (5 days left): create a new secret and update the suite's credentials before then";
    AppObservationUnreadable = "app.observation-unreadable", App, D, [Warning],
        "a stored or fresh app observation cannot be read, so it was not compared",
        "the baseline app observation is unreadable: invalid type: sequence, expected struct AppBody";
    AppRedirectUriRejected = "app.redirect-uri-rejected", App, D, [Breaking],
        "the authorization endpoint now rejects a callback of `auth.redirect_uris` that the baseline saw accepted (a `4xx`, an error page naming the redirect URI or `invalid_request`, or an error redirect about the redirect URI)",
        "the authorization endpoint now rejects the callback `https://app.example.com/callback` with status 400 naming `redirect_uri_mismatch`: sign-ins that return to it fail (was accepted: status 200 with the provider's page)";
    AppClientLivenessUnclear = "app.client-liveness-unclear", App, F, [Warning],
        "the token endpoint's answer to a code that cannot exist does not tell a live client from a rejected one",
        "the token endpoint answered a code that cannot exist with status 400 and no `error` code: it does not tell a live client from a rejected one";
    AppRedirectUriRefused = "app.redirect-uri-refused", App, F, [Warning],
        "the authorization endpoint rejects a callback of `auth.redirect_uris` that no accepted baseline saw accepted (first sight, or still rejected)",
        "the authorization endpoint rejects the callback `https://old.example.com/cb` with status 400 naming `redirect_uri_mismatch`: register it with the provider or remove it from `auth.redirect_uris`";
    AppRedirectUriUnclear = "app.redirect-uri-unclear", App, F, [Warning],
        "the authorization endpoint's answer for a callback of `auth.redirect_uris` does not tell whether it is registered (a `5xx`, `429`, a redirect to another origin, a non-page answer)",
        "the authorization endpoint answered the request for callback `https://app.example.com/cb` with server error 503: it does not tell whether the callback is registered";
}

impl Rule {
    /// The catalogue entry of this rule.
    pub fn info(self) -> &'static RuleInfo {
        &RULES[self as usize]
    }

    /// The stable id, such as `schema.field-removed`.
    pub fn id(self) -> &'static str {
        self.info().id
    }

    /// The probe the rule is filed under (suppression rules: `schema`).
    pub fn probe(self) -> ProbeKind {
        self.info().probe
    }

    pub fn kind(self) -> RuleKind {
        self.info().kind
    }

    /// Whether the catalogue allows emitting this rule with `severity`.
    pub fn allows(self, severity: Severity) -> bool {
        self.info().severities.contains(&severity)
    }

    /// The rule with this id, if the catalogue has one.
    pub fn from_id(id: &str) -> Option<Rule> {
        RULES.iter().find(|r| r.id == id).map(|r| r.rule)
    }

    /// The `Drift::rule` value of this rule emitted with `severity`: every emission site goes
    /// through here, and debug builds (every test) check the severity against the catalogue.
    pub fn emit(self, severity: Severity) -> RuleId {
        debug_assert!(
            self.allows(severity),
            "{} emitted as {severity}; the catalogue allows {}",
            self.id(),
            self.info().severity()
        );
        RuleId(Repr::Known(self))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The rule of a drift or finding as stored: a catalogued [`Rule`], or an id this build does
/// not know, kept verbatim (a `run.json` written by a build that had a rule since retired is
/// still read, merged and re-rendered byte for byte). Serialises as the id string.
///
/// Code gets one from [`Rule::emit`] (checked against the catalogue) or by reading stored text
/// ([`RuleId::parse`], serde); it compares with a [`Rule`] directly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleId(Repr);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Repr {
    Known(Rule),
    Unknown(Box<str>),
}

impl RuleId {
    /// Reads a stored id: the catalogued rule, or the unknown id kept as written.
    pub fn parse(id: &str) -> RuleId {
        RuleId(match Rule::from_id(id) {
            Some(rule) => Repr::Known(rule),
            None => Repr::Unknown(id.into()),
        })
    }

    /// The id as written in run.json.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Known(rule) => rule.id(),
            Repr::Unknown(id) => id,
        }
    }

    /// The catalogued rule; `None` for an id this build does not know.
    pub fn rule(&self) -> Option<Rule> {
        match &self.0 {
            Repr::Known(rule) => Some(*rule),
            Repr::Unknown(_) => None,
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<Rule> for RuleId {
    fn eq(&self, other: &Rule) -> bool {
        self.rule() == Some(*other)
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        Ok(RuleId::parse(&id))
    }
}

/// The catalogued id closest to `word`, for "did you mean" on a mistyped rule.
pub fn suggest(word: &str) -> Option<&'static str> {
    crate::suite::did_you_mean(word, RULES.iter().map(|r| r.id))
}

/// A stable identity of a drift across runs, so review decisions carry over: the first
/// 16 hex digits of SHA-256 over provider, probe, subject, rule, path and the sorted
/// connections. Message and evidence are left out on purpose: they change with the data.
pub fn fingerprint(d: &Drift) -> String {
    let mut conns: Vec<&str> = d.connections.iter().map(String::as_str).collect();
    conns.sort_unstable();
    let mut h = Sha256::new();
    for part in [
        d.provider.as_str(),
        d.probe.as_str(),
        d.subject.as_str(),
        d.rule.as_str(),
        d.path.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.update(conns.join("\0").as_bytes());
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `driftwatch rules`: one line per rule under a header, columns aligned.
pub fn render_table() -> String {
    let headers = ["ID", "PROBE", "KIND", "SEVERITY", "DESCRIPTION"];
    let severities: Vec<String> = RULES.iter().map(RuleInfo::severity).collect();
    let rows: Vec<[&str; 5]> = RULES
        .iter()
        .zip(&severities)
        .map(|(r, severity)| {
            [
                r.id,
                r.probe.as_str(),
                r.kind.as_str(),
                severity,
                r.description,
            ]
        })
        .collect();
    let mut widths = [0usize; 4];
    for row in std::iter::once(&headers).chain(rows.iter()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&headers).chain(rows.iter()) {
        for (w, cell) in widths.iter().zip(row) {
            out.push_str(&format!("{cell:<w$}  "));
        }
        out.push_str(row[4]);
        out.push('\n');
    }
    out
}

/// `driftwatch rules --json`: the catalogue as a pretty JSON array.
pub fn render_json() -> String {
    #[derive(Serialize)]
    struct Entry<'a> {
        id: &'a str,
        probe: ProbeKind,
        severity: String,
        kind: RuleKind,
        description: &'a str,
        example: &'a str,
    }
    let entries: Vec<Entry<'_>> = RULES
        .iter()
        .map(|r| Entry {
            id: r.id,
            probe: r.probe,
            severity: r.severity(),
            kind: r.kind,
            description: r.description,
            example: r.example,
        })
        .collect();
    // Serialising strings and unit enums cannot fail.
    let mut text = serde_json::to_string_pretty(&entries).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}

/// Every refresh class (`RefreshClass`) with its meaning, as docs/rules.md lists them.
pub const REFRESH_CLASSES: &[(&str, &str)] = &[
    (
        "no-refresh",
        "no refresh token is issued (client credentials, GitHub OAuth apps), or the token endpoint does not support the grant",
    ),
    (
        "non-rotating",
        "refresh answers return the same refresh token, or none (the old one is kept and stays valid)",
    ),
    (
        "rotating-old-valid",
        "a new refresh token every time, and the old one keeps working",
    ),
    (
        "rotating-grace",
        "a new refresh token every time; the old one works for a measured grace window, then fails",
    ),
    (
        "rotating-one-time",
        "a new refresh token every time; the old one fails at once, the grant lives on",
    ),
    (
        "rotating-reuse-revokes-grant",
        "a new refresh token every time; replaying the old one revokes the whole grant",
    ),
    (
        "lazy-rotation",
        "some refreshes rotate and some do not (a value that changes about once a day)",
    ),
    (
        "rotating",
        "every refresh rotated; no replay was tried (the connection is not disposable)",
    ),
    (
        "withheld-expiring",
        "refresh tokens withheld, the last one expires: successful refreshes stopped carrying a refresh token and the last one issued was then refused (`invalid_grant`). Reported through the connection's `grant-dead` state, with the observed lifetime of that last token (from the last answer that carried it to the refusal)",
    ),
    (
        "unknown",
        "no successful refresh this run: nothing to classify (never compared as a change)",
    ),
];

/// Every connection state (`run.json` `connections[].state`) with its meaning.
pub const CONNECTION_STATES: &[(&str, &str)] = &[
    ("ok", "the cached access token worked"),
    (
        "refreshed",
        "the access token was refreshed this run and worked",
    ),
    (
        "access-token-rejected",
        "an endpoint answered `401` (`invalid_token`, or every request `401`) for a token believed fresh: one refresh, one retry of each rejected request. Usable (warning) when the retry worked; unusable (breaking) when the refresh failed or the retry was refused again",
    ),
    (
        "grant-dead",
        "the refresh was answered `invalid_grant`, or the client was refused (`invalid_client`): unusable until `driftwatch connect`",
    ),
    (
        "not-connected",
        "no credentials are stored: unusable until `driftwatch connect`",
    ),
    (
        "consumed",
        "a disposable grant spent by a probe (revoked by the refresh replay probe, or narrowed for good by the permissions probe): skipped without drift until `driftwatch connect`",
    ),
    (
        "token-error",
        "no token could be obtained for another reason (network, unreadable answer, another refusal): unusable this run",
    ),
];

/// `docs/rules.md`: a section per probe with every rule's kind, severity, meaning and example.
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Drift rules\n\n\
         <!-- Generated from `src/rules.rs` (`driftwatch::rules::render_markdown`). Do not edit: \
         run `UPDATE_GOLDEN=1 cargo test --lib rules` to rewrite. -->\n\n\
         Every rule id driftwatch can emit. A **drift** compares an observation with its \
         accepted baseline (or a declared contract) and counts towards `--fail-on`; a \
         **finding** is re-checked from scratch every run and listed apart, without failing \
         the run by itself (a change in it shows up as drift of the baselined observation). \
         `driftwatch rules` prints the same catalogue; `--json` as JSON.\n",
    );
    let mut probes: Vec<ProbeKind> = RULES.iter().map(|r| r.probe).collect();
    probes.dedup();
    for probe in probes {
        out.push_str(&format!(
            "\n## {probe}\n\n| rule | kind | severity | description | example |\n|---|---|---|---|---|\n"
        ));
        for r in RULES.iter().filter(|r| r.probe == probe) {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                r.id,
                r.kind.as_str(),
                r.severity(),
                cell(r.description),
                cell(r.example)
            ));
        }
    }
    out.push_str(
        "\n## Connection states\n\nDecided for every connection before anything is compared. \
         An unusable connection is one breaking item (run exit code 3), never drift: none of its \
         observations are compared.\n\n| state | meaning |\n|---|---|\n",
    );
    for (state, meaning) in CONNECTION_STATES {
        out.push_str(&format!("| `{state}` | {} |\n", cell(meaning)));
    }
    out.push_str("\n## Refresh classes\n\n| class | meaning |\n|---|---|\n");
    for (class, meaning) in REFRESH_CLASSES {
        out.push_str(&format!("| `{class}` | {} |\n", cell(meaning)));
    }
    out
}

/// Escapes a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;

// ---- polish: per-rule severity overrides (issue 18 item 5) ----

/// A severity level as users write it in an override: `breaking`, `warning` or `info`.
pub fn parse_severity(level: &str) -> Option<Severity> {
    match level {
        "breaking" => Some(Breaking),
        "warning" => Some(Warning),
        "info" => Some(Info),
        _ => None,
    }
}

/// Why an override entry cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("unknown rule `{rule}`{hint}; `driftwatch rules` lists them")]
    UnknownRule {
        rule: String,
        /// ` (did you mean `…`?)` when a catalogued id is close, else empty.
        hint: String,
    },
    #[error("invalid severity `{level}` for `{rule}`: expected breaking, warning or info")]
    Level { rule: String, level: String },
}

/// Checks one `rule = level` entry a user wrote.
pub fn parse_override(rule: &str, level: &str) -> Result<(Rule, Severity), OverrideError> {
    let found = Rule::from_id(rule).ok_or_else(|| OverrideError::UnknownRule {
        rule: rule.to_owned(),
        hint: suggest(rule)
            .map(|id| format!(" (did you mean `{id}`?)"))
            .unwrap_or_default(),
    })?;
    let severity = parse_severity(level).ok_or_else(|| OverrideError::Level {
        rule: rule.to_owned(),
        level: level.to_owned(),
    })?;
    Ok((found, severity))
}

/// Where an override was written. Later variants win over earlier ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum OverrideOrigin {
    /// A suite's `severity:` map (applies to that suite's provider only).
    Suite(std::path::PathBuf),
    /// `[severity]` of the config file (every provider).
    ConfigFile,
    /// `[severity.<provider>]` of the config file.
    ConfigFileProvider,
}

impl fmt::Display for OverrideOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OverrideOrigin::Suite(p) => write!(f, "suite {}", p.display()),
            OverrideOrigin::ConfigFile | OverrideOrigin::ConfigFileProvider => {
                f.write_str("config file")
            }
        }
    }
}

/// One severity override: drifts and findings of `rule` (of `provider`, when set) get
/// `severity` instead of the one the rule emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityOverride {
    pub rule: Rule,
    /// `None`: every provider.
    pub provider: Option<String>,
    pub severity: Severity,
    pub origin: OverrideOrigin,
}

/// Every severity override of a run. The most specific layer wins: the config file's
/// `[severity.<provider>]`, then its `[severity]`, then the suite's `severity:`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeverityOverrides(pub Vec<SeverityOverride>);

impl SeverityOverrides {
    /// The override that applies to `rule` of `provider`, if any.
    pub fn lookup(&self, provider: &str, rule: Rule) -> Option<&SeverityOverride> {
        self.0
            .iter()
            .filter(|o| o.rule == rule && o.provider.as_deref().is_none_or(|p| p == provider))
            .max_by(|a, b| a.origin.cmp(&b.origin))
    }

    /// Sets the severity of every drift or finding an override names, before `--fail-on`
    /// and suppressions are counted; returns how many changed. Ids this build does not know
    /// are left alone.
    pub fn apply(&self, items: &mut [Drift]) -> usize {
        if self.0.is_empty() {
            return 0;
        }
        let mut changed = 0;
        for d in items {
            let Some(rule) = d.rule.rule() else { continue };
            if let Some(o) = self.lookup(&d.provider, rule)
                && o.severity != d.severity
            {
                d.severity = o.severity;
                changed += 1;
            }
        }
        changed
    }

    pub fn extend(&mut self, more: impl IntoIterator<Item = SeverityOverride>) {
        self.0.extend(more);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
