//! Start-up options of the simulated provider: token-lifecycle profile, API version and its
//! drift switches, lifetimes, latencies, the resource API's rate limit and the test users'
//! password. Knows nothing about HTTP
//! or the token store.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// `grant_type` of the RFC 8628 device authorization grant.
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// How the simulated token endpoint behaves: which grants it offers, how refresh tokens rotate
/// and expire, and how it spells its answers. Each profile imitates real providers.
///
/// Every profile except `ClientCredentialsOnly` also offers the device authorization grant
/// (RFC 8628); only `Password` offers the resource-owner password grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// `rotating-one-time`: every refresh returns a new refresh token; the old one is one-time
    /// and rejected on reuse (Box / GitHub App style). `expires_in` is a number.
    #[default]
    RotatingOneTime,
    /// `string-expires-in`: `expires_in` is sent as a string (`"3600"`, Microsoft v1 / Reddit
    /// style). Refresh returns a new refresh token but the old one stays valid (Entra style),
    /// so reuse is accepted.
    StringExpiresIn,
    /// `client-credentials-only`: an API that "calls itself OAuth" but only exchanges client
    /// credentials for app tokens (X's app-only bearer endpoint, many B2B APIs). Discovery
    /// lists only `client_credentials` and no authorization endpoint, `/oauth/authorize`
    /// answers 400 `unsupported_response_type`, every other grant is `unsupported_grant_type`,
    /// and token responses never carry `scope`, even when the request narrowed it.
    ClientCredentialsOnly,
    /// `password`: the legacy resource-owner password grant is enabled (Auth0 / Okta ROPC,
    /// Salesforce's username-password flow): `username=<account>`, `password=<user password>`.
    /// Refresh tokens rotate one-time like `RotatingOneTime`.
    Password,
    /// `rotating-short-idle`: `RotatingOneTime` plus idle expiry (Okta custom authorization
    /// servers, Auth0, Salesforce's idle TTL): a refresh token unused for
    /// [`SimOptions::refresh_idle_ttl`] (10 s when unset) is dead, and every response carrying
    /// a refresh token announces `refresh_token_expires_in` (GitHub App / LinkedIn style).
    RotatingShortIdle,
    /// `form-encoded`: GitHub's token endpoint. Token responses, success and error, are
    /// `application/x-www-form-urlencoded` with `token_type=bearer` and a comma-separated
    /// `scope`; errors come with HTTP 200; no `Cache-Control: no-store`. Refresh tokens rotate
    /// one-time like `RotatingOneTime`.
    FormEncoded,
    /// `non-rotating`: Google. A refresh answer has no `refresh_token` member at all and the
    /// one refresh token of a grant stays valid for ever.
    NonRotating,
    /// `rotating-old-valid`: Microsoft Entra. Every refresh returns a new refresh token and
    /// the server never revokes the old ones; unlike `StringExpiresIn`, `expires_in` is a
    /// number (Entra v2).
    RotatingOldValid,
    /// `rotating-grace`: Xero's 30-minute grace, compressed to [`SimOptions::refresh_grace`].
    /// Every refresh returns a new refresh token; the previous one keeps working for the grace
    /// after it was rotated (a replay answers a new access token and the family's newest
    /// refresh token, not yet another one), then `invalid_grant`.
    RotatingGrace,
    /// `reuse-revokes-family`: Auth0 reuse detection (Okta and Salesforce after their leeway;
    /// OAuth 2.1 §4.3.1). One-time rotation, and presenting a used refresh token is
    /// `invalid_grant` that also revokes the whole grant: its newest refresh token and every
    /// access token issued under it.
    ReuseRevokesFamily,
    /// `lazy-rotation`: Intuit's "the value changes about every 24 hours", compressed: only
    /// every third refresh of a grant returns a new refresh token value; the others return
    /// the current one. Every value the grant ever had stays valid.
    LazyRotation,
    /// `narrowing-rotation`: django-oauth-toolkit with rotation. One-time rotation, and a
    /// refresh with a narrower `scope` rotates into a refresh token holding only the narrowed
    /// scope, for good: a later refresh asking for more is `invalid_scope` ("Unable to add
    /// extra scopes"), and the presented token is spent like any rotated one.
    NarrowingRotation,
}

/// What a refresh does to the presented refresh token and which one it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rotation {
    /// A new refresh token each time; the presented one is dead (reuse: `invalid_grant`).
    OneTime,
    /// A new refresh token each time; old ones stay valid.
    OldStaysValid,
    /// No refresh token in the answer; the presented one stays valid.
    Never,
    /// A new refresh token each time; the presented one works for a grace period.
    Grace,
    /// `OneTime`, and reuse revokes every token of the grant.
    RevokeFamilyOnReuse,
    /// A new value only on every third refresh of a grant; old values stay valid.
    EveryThird,
}

/// Idle lifetime of refresh tokens in `RotatingShortIdle` when the option leaves it unset.
const SHORT_IDLE_DEFAULT: Duration = Duration::from_secs(10);

impl Profile {
    /// Every profile, in documentation order.
    pub const ALL: [Profile; 12] = [
        Profile::RotatingOneTime,
        Profile::StringExpiresIn,
        Profile::ClientCredentialsOnly,
        Profile::Password,
        Profile::RotatingShortIdle,
        Profile::FormEncoded,
        Profile::NonRotating,
        Profile::RotatingOldValid,
        Profile::RotatingGrace,
        Profile::ReuseRevokesFamily,
        Profile::LazyRotation,
        Profile::NarrowingRotation,
    ];

    fn name(self) -> &'static str {
        match self {
            Profile::RotatingOneTime => "rotating-one-time",
            Profile::StringExpiresIn => "string-expires-in",
            Profile::ClientCredentialsOnly => "client-credentials-only",
            Profile::Password => "password",
            Profile::RotatingShortIdle => "rotating-short-idle",
            Profile::FormEncoded => "form-encoded",
            Profile::NonRotating => "non-rotating",
            Profile::RotatingOldValid => "rotating-old-valid",
            Profile::RotatingGrace => "rotating-grace",
            Profile::ReuseRevokesFamily => "reuse-revokes-family",
            Profile::LazyRotation => "lazy-rotation",
            Profile::NarrowingRotation => "narrowing-rotation",
        }
    }

    /// The `grant_type` values the token endpoint accepts, in discovery order.
    pub(crate) fn grant_types(self) -> &'static [&'static str] {
        match self {
            Profile::ClientCredentialsOnly => &["client_credentials"],
            Profile::Password => &[
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
                DEVICE_GRANT,
            ],
            _ => &[
                "authorization_code",
                "refresh_token",
                "client_credentials",
                DEVICE_GRANT,
            ],
        }
    }

    /// Whether the token endpoint accepts `grant_type`.
    pub(crate) fn allows(self, grant_type: &str) -> bool {
        self.grant_types().contains(&grant_type)
    }

    /// Whether users can authorize at all (authorize endpoint and device grant).
    pub(crate) fn has_users(self) -> bool {
        self != Profile::ClientCredentialsOnly
    }

    /// How refresh tokens rotate in this profile (API v1; v2 stops rotation everywhere).
    pub(crate) fn rotation(self) -> Rotation {
        match self {
            Profile::StringExpiresIn | Profile::RotatingOldValid => Rotation::OldStaysValid,
            Profile::NonRotating => Rotation::Never,
            Profile::RotatingGrace => Rotation::Grace,
            Profile::ReuseRevokesFamily => Rotation::RevokeFamilyOnReuse,
            Profile::LazyRotation => Rotation::EveryThird,
            Profile::RotatingOneTime
            | Profile::ClientCredentialsOnly
            | Profile::Password
            | Profile::RotatingShortIdle
            | Profile::FormEncoded
            | Profile::NarrowingRotation => Rotation::OneTime,
        }
    }

    /// Whether a narrowed refresh narrows the refresh token too (`NarrowingRotation`).
    pub(crate) fn narrows_refresh_tokens(self) -> bool {
        self == Profile::NarrowingRotation
    }

    /// The refresh-token idle lifetime this profile runs with, given the option.
    pub(crate) fn refresh_idle_ttl(self, option: Option<Duration>) -> Option<Duration> {
        match (self, option) {
            (_, Some(ttl)) => Some(ttl),
            (Profile::RotatingShortIdle, None) => Some(SHORT_IDLE_DEFAULT),
            _ => None,
        }
    }
}

/// Every profile name, comma-separated, for error messages.
fn profile_names() -> String {
    Profile::ALL.map(Profile::name).join(", ")
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = ParseOptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| ParseOptionError::Profile(s.to_owned()))
    }
}

/// The shape of the resource API. Switching V1 → V2 applies the documented drift live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ApiVersion {
    /// The baseline shape.
    #[default]
    V1,
    /// Every drift of [`Switches`]: renamed fields, changed types, a removed field, a new
    /// metric, newly null values, a metric zeroed for some accounts; refresh answers stop
    /// carrying refresh tokens in every profile, `/v1/invoices` also requires `email` and
    /// announces its deprecation, and discovery stops listing a grant, a scope and an
    /// authentication method.
    V2,
}

impl ApiVersion {
    fn name(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1",
            ApiVersion::V2 => "v2",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ApiVersion {
    type Err = ParseOptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [ApiVersion::V1, ApiVersion::V2]
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| ParseOptionError::Version(s.to_owned()))
    }
}

/// Which drifts the provider applies, each independently of the others, so a test can prove
/// that a harness attributes every change to the right cause. [`ApiVersion::V1`] is
/// [`Switches::NONE`], [`ApiVersion::V2`] is [`Switches::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Switches {
    /// Response shapes: `/v1/me` renames `name` to `display_name`, invoices retype
    /// `amount_cents` to a string and lose `currency`, reports gain `metrics.video_views`,
    /// and `billing_email` turns null for globex and umbrella.
    pub schema: bool,
    /// `/v1/invoices` also requires the `email` scope.
    pub scopes: bool,
    /// Refresh answers stop carrying refresh tokens in every profile (the presented one stays
    /// valid).
    pub rotation: bool,
    /// `metrics.conversions` of `/v1/reports/summary` is silently `0` for globex and umbrella.
    pub zeroed_metric: bool,
    /// `/v1/invoices` answers announce their deprecation and sunset (RFC 9745, RFC 8594).
    pub deprecation: bool,
    /// The discovery documents stop listing a grant, the `audit:read` scope and the
    /// `client_secret_post` authentication method, although all keep working.
    pub metadata: bool,
}

impl Switches {
    /// Every drift on: API v2.
    pub const ALL: Switches = Switches {
        schema: true,
        scopes: true,
        rotation: true,
        zeroed_metric: true,
        deprecation: true,
        metadata: true,
    };
    /// Every drift off: API v1.
    pub const NONE: Switches = Switches {
        schema: false,
        scopes: false,
        rotation: false,
        zeroed_metric: false,
        deprecation: false,
        metadata: false,
    };

    /// The switches as bits, in field order, so the server can swap them atomically.
    pub(crate) fn to_bits(self) -> u8 {
        [
            self.schema,
            self.scopes,
            self.rotation,
            self.zeroed_metric,
            self.deprecation,
            self.metadata,
        ]
        .iter()
        .enumerate()
        .fold(0, |bits, (i, on)| bits | (u8::from(*on) << i))
    }

    /// The inverse of [`Switches::to_bits`]; unknown bits are ignored.
    pub(crate) fn from_bits(bits: u8) -> Switches {
        let on = |i: u8| bits & (1 << i) != 0;
        Switches {
            schema: on(0),
            scopes: on(1),
            rotation: on(2),
            zeroed_metric: on(3),
            deprecation: on(4),
            metadata: on(5),
        }
    }
}

impl From<ApiVersion> for Switches {
    fn from(v: ApiVersion) -> Switches {
        match v {
            ApiVersion::V1 => Switches::NONE,
            ApiVersion::V2 => Switches::ALL,
        }
    }
}

/// A profile or version name that the simulator does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseOptionError {
    /// Unknown `Profile` name.
    #[error("unknown simulator profile `{0}` (expected one of {names})", names = profile_names())]
    Profile(String),
    /// Unknown `ApiVersion` name.
    #[error("unknown simulator api version `{0}` (expected v1 or v2)")]
    Version(String),
}

/// Everything `Sim::start` needs besides the bind address.
#[derive(Clone)]
pub struct SimOptions {
    /// Grants, refresh behaviour and response spelling.
    pub profile: Profile,
    /// Initial API version, i.e. the initial [`Switches`]; change them later with
    /// `Sim::set_version` or `Sim::set_switches`.
    pub version: ApiVersion,
    /// Lifetime of issued access tokens (also the `expires_in` value, in whole seconds).
    pub access_token_ttl: Duration,
    /// The client secret to accept; `None` generates a random `sim_cs_…` value.
    pub client_secret: Option<String>,
    /// How long the token endpoint waits after doing its work and before answering, so that
    /// crash-safety tests can act while a refresh is in flight (already rotated server-side).
    pub token_latency: Duration,
    /// A refresh token unused for this long is dead (`invalid_grant`, "refresh token
    /// expired"). `None` means no idle expiry, except in `Profile::RotatingShortIdle` (10 s).
    pub refresh_idle_ttl: Option<Duration>,
    /// The `interval` the device authorization endpoint announces (RFC 8628 §3.2).
    pub device_interval: Duration,
    /// The password of every test user for the password grant; `None` generates a random
    /// `sim_cs_pw_…` value. Never printed.
    pub user_password: Option<String>,
    /// A busy provider: the first this-many polls of every device code are answered
    /// `slow_down` whatever their timing (each one still grows the interval).
    pub device_slow_down_polls: u32,
    /// How long a rotated refresh token keeps working in `Profile::RotatingGrace`.
    pub refresh_grace: Duration,
    /// A fixed delay before every resource-API (`/v1/…`) answer, 429s included; awaited in
    /// the request's task, so concurrent requests wait in parallel. The OAuth endpoints are
    /// not delayed (see `token_latency`).
    pub api_latency: Duration,
    /// At most this many resource-API requests are accepted in any rolling 1,000 ms window
    /// (a sliding window over the arrival times of the accepted requests); any other gets
    /// 429 with `Retry-After: 1` and counts in `SimStats::rate_limited`. `None`: no limit.
    pub rate_limit: Option<u32>,
    /// Withhold refresh tokens this long after start: from then on refresh answers carry no
    /// refresh token (the presented one stays valid) and every refresh token dies
    /// [`SimOptions::withheld_refresh_ttl`] later (or that long after its issuance, when
    /// later), answering `invalid_grant`. `None`: only when `Sim::withhold_refresh_tokens`
    /// says so.
    pub withhold_refresh_after: Option<Duration>,
    /// How long refresh tokens live once withheld (see `withhold_refresh_after`).
    pub withheld_refresh_ttl: Duration,
    /// Money values with a fraction (`metrics.spend` of `/v1/reports/summary`, always
    /// `….25`) are answered whole (`1204`) on about every second call, decided by a
    /// pseudo-random sequence from this seed, so a run is reproducible call by call. `None`:
    /// always with their fraction.
    pub whole_decimals: Option<u64>,
    /// Keep every grant in this file (tokens only as SHA-256 hashes), rewritten after every
    /// change and read at start, so a restarted simulator (`--drift v2`) still honours the
    /// tokens it issued. Give the same `client_secret` to the restarted one.
    pub state_file: Option<std::path::PathBuf>,
    /// The https callbacks registered for the simulated app (exact match, OAuth 2.1), besides
    /// plain-http loopback callbacks on any port (RFC 8252 §7.3), which are always registered.
    /// An authorization request naming another `redirect_uri` gets a `400` page
    /// (`redirect_uri_mismatch`) and is never redirected. Remove one at run time with
    /// `Sim::remove_callback` or `POST /_sim/callback remove=<uri>`.
    pub callbacks: Vec<String>,
}

/// The https callbacks the simulated app has registered by default.
pub const DEFAULT_CALLBACKS: [&str; 2] = [
    "https://app.example.com/callback",
    "https://app.example.com/cb",
];

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            profile: Profile::default(),
            version: ApiVersion::default(),
            access_token_ttl: Duration::from_secs(3600),
            client_secret: None,
            token_latency: Duration::ZERO,
            refresh_idle_ttl: None,
            device_interval: Duration::from_secs(5),
            user_password: None,
            device_slow_down_polls: 0,
            refresh_grace: Duration::from_secs(2),
            api_latency: Duration::ZERO,
            rate_limit: None,
            withhold_refresh_after: None,
            withheld_refresh_ttl: DEFAULT_WITHHELD_TTL,
            whole_decimals: None,
            state_file: None,
            callbacks: DEFAULT_CALLBACKS.iter().map(|c| c.to_string()).collect(),
        }
    }
}

/// Default lifetime of withheld refresh tokens: the provider whose integration died two
/// weeks after it stopped issuing refresh tokens.
pub const DEFAULT_WITHHELD_TTL: Duration = Duration::from_secs(14 * 86_400);

// Hand-written so that a configured secret never reaches a log through `{:?}`.
impl fmt::Debug for SimOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimOptions")
            .field("profile", &self.profile)
            .field("version", &self.version)
            .field("access_token_ttl", &self.access_token_ttl)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("token_latency", &self.token_latency)
            .field("refresh_idle_ttl", &self.refresh_idle_ttl)
            .field("device_interval", &self.device_interval)
            .field(
                "user_password",
                &self.user_password.as_ref().map(|_| "<redacted>"),
            )
            .field("device_slow_down_polls", &self.device_slow_down_polls)
            .field("refresh_grace", &self.refresh_grace)
            .field("api_latency", &self.api_latency)
            .field("rate_limit", &self.rate_limit)
            .field("withhold_refresh_after", &self.withhold_refresh_after)
            .field("withheld_refresh_ttl", &self.withheld_refresh_ttl)
            .field("whole_decimals", &self.whole_decimals)
            .field("state_file", &self.state_file)
            .field("callbacks", &self.callbacks)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_round_trip() {
        for p in Profile::ALL {
            assert_eq!(p.to_string().parse::<Profile>(), Ok(p));
        }
        assert_eq!(
            "rotating-one-time".parse::<Profile>(),
            Ok(Profile::RotatingOneTime)
        );
        assert_eq!(
            "string-expires-in".parse::<Profile>(),
            Ok(Profile::StringExpiresIn)
        );
        for (name, p) in [
            ("client-credentials-only", Profile::ClientCredentialsOnly),
            ("password", Profile::Password),
            ("rotating-short-idle", Profile::RotatingShortIdle),
            ("form-encoded", Profile::FormEncoded),
            ("non-rotating", Profile::NonRotating),
            ("rotating-old-valid", Profile::RotatingOldValid),
            ("rotating-grace", Profile::RotatingGrace),
            ("reuse-revokes-family", Profile::ReuseRevokesFamily),
            ("lazy-rotation", Profile::LazyRotation),
            ("narrowing-rotation", Profile::NarrowingRotation),
        ] {
            assert_eq!(name.parse::<Profile>(), Ok(p));
            assert_eq!(p.to_string(), name);
        }
    }

    #[test]
    fn grants_per_profile() {
        assert_eq!(
            Profile::RotatingOneTime.grant_types(),
            [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                DEVICE_GRANT
            ]
        );
        assert_eq!(
            Profile::ClientCredentialsOnly.grant_types(),
            ["client_credentials"]
        );
        assert!(Profile::Password.allows("password"));
        for p in Profile::ALL {
            assert_eq!(p.allows("password"), p == Profile::Password, "{p}");
            assert_eq!(p.allows(DEVICE_GRANT), p.has_users(), "{p}");
        }
    }

    #[test]
    fn rotation_per_profile() {
        let got: Vec<Rotation> = Profile::ALL.map(Profile::rotation).to_vec();
        assert_eq!(
            got,
            [
                Rotation::OneTime,
                Rotation::OldStaysValid,
                Rotation::OneTime,
                Rotation::OneTime,
                Rotation::OneTime,
                Rotation::OneTime,
                Rotation::Never,
                Rotation::OldStaysValid,
                Rotation::Grace,
                Rotation::RevokeFamilyOnReuse,
                Rotation::EveryThird,
                Rotation::OneTime,
            ]
        );
        for p in Profile::ALL {
            assert_eq!(
                p.narrows_refresh_tokens(),
                p == Profile::NarrowingRotation,
                "{p}"
            );
        }
    }

    #[test]
    fn idle_ttl_defaults_only_for_the_short_idle_profile() {
        let ms = Duration::from_millis(300);
        assert_eq!(Profile::RotatingOneTime.refresh_idle_ttl(None), None);
        assert_eq!(
            Profile::RotatingOneTime.refresh_idle_ttl(Some(ms)),
            Some(ms)
        );
        assert_eq!(
            Profile::RotatingShortIdle.refresh_idle_ttl(None),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            Profile::RotatingShortIdle.refresh_idle_ttl(Some(ms)),
            Some(ms)
        );
    }

    #[test]
    fn unknown_names_are_rejected_with_a_helpful_message() {
        let err = "rotating".parse::<Profile>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown simulator profile `rotating` (expected one of rotating-one-time, \
             string-expires-in, client-credentials-only, password, rotating-short-idle, form-encoded, \
             non-rotating, rotating-old-valid, rotating-grace, reuse-revokes-family, lazy-rotation, \
             narrowing-rotation)"
        );
        let err = "v3".parse::<ApiVersion>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown simulator api version `v3` (expected v1 or v2)"
        );
    }

    #[test]
    fn switches_follow_the_version_and_round_trip_through_bits() {
        assert_eq!(Switches::from(ApiVersion::V1), Switches::NONE);
        assert_eq!(Switches::from(ApiVersion::V2), Switches::ALL);
        assert_eq!(Switches::default(), Switches::NONE);
        assert_eq!(Switches::NONE.to_bits(), 0);
        assert_eq!(Switches::ALL.to_bits(), 0b11_1111);
        let only_rotation = Switches {
            rotation: true,
            ..Switches::NONE
        };
        assert_eq!(only_rotation.to_bits(), 0b100);
        let only_metadata = Switches {
            metadata: true,
            ..Switches::NONE
        };
        assert_eq!(only_metadata.to_bits(), 0b10_0000);
        for bits in 0..64u8 {
            assert_eq!(Switches::from_bits(bits).to_bits(), bits);
        }
        assert_eq!(Switches::from_bits(0b1100_0000), Switches::NONE);
    }

    #[test]
    fn versions_round_trip() {
        assert_eq!("v1".parse::<ApiVersion>(), Ok(ApiVersion::V1));
        assert_eq!("v2".parse::<ApiVersion>(), Ok(ApiVersion::V2));
        assert_eq!(ApiVersion::V2.to_string(), "v2");
    }

    #[test]
    fn defaults_and_debug_hide_the_secret() {
        let opts = SimOptions {
            client_secret: Some("sim_cs_topsecret".into()),
            user_password: Some("sim_cs_pw_hunter2".into()),
            ..SimOptions::default()
        };
        assert_eq!(opts.profile, Profile::RotatingOneTime);
        assert_eq!(opts.version, ApiVersion::V1);
        assert_eq!(opts.access_token_ttl, Duration::from_secs(3600));
        let dbg = format!("{opts:?}");
        assert_eq!(opts.token_latency, Duration::ZERO);
        assert_eq!(opts.refresh_idle_ttl, None);
        assert_eq!(opts.device_interval, Duration::from_secs(5));
        assert_eq!(opts.refresh_grace, Duration::from_secs(2));
        assert_eq!(opts.api_latency, Duration::ZERO);
        assert_eq!(opts.rate_limit, None);
        assert_eq!(opts.withhold_refresh_after, None);
        assert_eq!(opts.withheld_refresh_ttl, Duration::from_secs(14 * 86_400));
        assert_eq!(opts.whole_decimals, None);
        assert_eq!(opts.state_file, None);
        assert!(dbg.contains("api_latency: 0ns, rate_limit: None"), "{dbg}");
        assert!(!dbg.contains("topsecret"), "{dbg}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("<redacted>"), "{dbg}");
    }
}
