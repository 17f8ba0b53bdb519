//! Start-up options of the simulated provider: refresh profile, API version, lifetimes.
//! Knows nothing about HTTP or the token store.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How the simulated token endpoint behaves on refresh and how it spells `expires_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// Every refresh returns a new refresh token; the old one is one-time and rejected on reuse
    /// (Box / GitHub App style). `expires_in` is a number.
    #[default]
    RotatingOneTime,
    /// `expires_in` is sent as a string (`"3600"`, Microsoft v1 / Reddit style). Refresh returns
    /// a new refresh token but the old one stays valid (Entra style), so reuse is accepted.
    StringExpiresIn,
}

impl Profile {
    /// Every profile, in documentation order.
    pub const ALL: [Profile; 2] = [Profile::RotatingOneTime, Profile::StringExpiresIn];

    fn name(self) -> &'static str {
        match self {
            Profile::RotatingOneTime => "rotating-one-time",
            Profile::StringExpiresIn => "string-expires-in",
        }
    }
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
    /// Renamed fields, changed types, a removed field, a new metric, newly null values.
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

/// A profile or version name that the simulator does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseOptionError {
    /// Unknown `Profile` name.
    #[error("unknown simulator profile `{0}` (expected rotating-one-time or string-expires-in)")]
    Profile(String),
    /// Unknown `ApiVersion` name.
    #[error("unknown simulator api version `{0}` (expected v1 or v2)")]
    Version(String),
}

/// Everything `Sim::start` needs besides the bind address.
#[derive(Clone)]
pub struct SimOptions {
    /// Refresh behaviour and `expires_in` spelling.
    pub profile: Profile,
    /// Initial API version; change it later with `Sim::set_version`.
    pub version: ApiVersion,
    /// Lifetime of issued access tokens (also the `expires_in` value, in whole seconds).
    pub access_token_ttl: Duration,
    /// The client secret to accept; `None` generates a random `sim_cs_…` value.
    pub client_secret: Option<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            profile: Profile::default(),
            version: ApiVersion::default(),
            access_token_ttl: Duration::from_secs(3600),
            client_secret: None,
        }
    }
}

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
    }

    #[test]
    fn unknown_names_are_rejected_with_a_helpful_message() {
        let err = "rotating".parse::<Profile>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown simulator profile `rotating` (expected rotating-one-time or string-expires-in)"
        );
        let err = "v3".parse::<ApiVersion>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown simulator api version `v3` (expected v1 or v2)"
        );
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
            ..SimOptions::default()
        };
        assert_eq!(opts.profile, Profile::RotatingOneTime);
        assert_eq!(opts.version, ApiVersion::V1);
        assert_eq!(opts.access_token_ttl, Duration::from_secs(3600));
        let dbg = format!("{opts:?}");
        assert!(!dbg.contains("topsecret"), "{dbg}");
        assert!(dbg.contains("<redacted>"), "{dbg}");
    }
}
