//! The simulated provider: a real HTTP server on loopback that imitates a messy OAuth provider,
//! for `driftwatch demo`, `driftwatch sim` and the end-to-end tests. It knows nothing about
//! suites, probes or baselines.
//!
//! # OAuth
//!
//! One client, `driftwatch-sim`, with a `sim_cs_…` secret. Discovery is served at
//! `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`; the
//! token endpoint accepts `client_secret_basic` and `client_secret_post`, and the grants
//! `authorization_code` (PKCE S256 required), `refresh_token` and `client_credentials`.
//! Secrets are prefixed `sim_at_`, `sim_rt_`, `sim_cs_` and `sim_code_`.
//!
//! # Consent without a browser
//!
//! `GET /oauth/authorize?response_type=code&client_id=driftwatch-sim&redirect_uri=…&scope=…
//! &state=…&code_challenge=…&code_challenge_method=S256&login_hint=<account>` with the header
//! `X-Sim-Consent: approve` answers `302 Location: <redirect_uri>?code=sim_code_…&state=…`;
//! `X-Sim-Consent: deny` answers with `error=access_denied&state=…`. Without the header the
//! same URL shows an HTML consent page whose form (`POST /oauth/authorize/decision` with
//! `account` and `decision=approve|deny`) ends in the same redirect. `login_hint` must be one
//! of [`ACCOUNTS`].
//!
//! # Resource API
//!
//! `/v1/me`, `/v1/invoices`, `/v1/reports/summary`, `/v1/workspace/settings`,
//! `/v1/audit-log`, each answering a missing scope differently (403 with a challenge, 401,
//! 404, bare 403) and carrying volatile ids, ETags and timestamps. [`Sim::set_version`]
//! switches to [`ApiVersion::V2`], which renames, retypes, removes and adds fields live.
//! `client_credentials` tokens read the app's home account, `acme-corp`.

mod api;
mod data;
mod device;
mod device_state;
mod oauth;
mod options;
mod reply;
mod server;
mod token_endpoint;
mod tokens;

#[cfg(test)]
mod tests_api;
#[cfg(test)]
mod tests_device;
#[cfg(test)]
mod tests_oauth;
#[cfg(test)]
mod tests_profiles;

pub use data::ACCOUNTS;
pub use options::{ApiVersion, ParseOptionError, Profile, SimOptions};
pub use server::{Sim, SimStats, serve_forever};
