//! The simulated provider: a real HTTP server on loopback that imitates a messy OAuth provider,
//! for `driftwatch demo`, `driftwatch sim` and the end-to-end tests. It knows nothing about
//! suites, probes or baselines.
//!
//! # OAuth
//!
//! One client, `driftwatch-sim`, with a `sim_cs_…` secret. Discovery is served at
//! `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`; the
//! token endpoint accepts `client_secret_basic` and `client_secret_post`, and the grants
//! `authorization_code` (PKCE S256 required), `refresh_token`, `client_credentials` and
//! `urn:ietf:params:oauth:grant-type:device_code`; [`Profile`] removes or adds some (the
//! legacy `password` grant exists only in `Profile::Password`, with `username=<account>` and
//! the password [`Sim::user_password`]). Secrets are prefixed `sim_at_`, `sim_rt_`, `sim_cs_`
//! (the users' password `sim_cs_pw_`) and `sim_code_` (device codes `sim_code_dev_`).
//!
//! Redirect URIs may be any `https` URI, or plain `http` to `127.0.0.1`, `[::1]` or
//! `localhost` on any port and path (RFC 8252 §7.3); the code exchange must repeat the exact
//! string. Other `http` redirect URIs get a plain 400, never a redirect.
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
//! # Device login without a browser (RFC 8628)
//!
//! `POST /oauth/device_authorization` (client authentication, optional `scope`) answers
//! `device_code`, `user_code` (`ABCD-EFGH`), `verification_uri` (`<base>/device`),
//! `verification_uri_complete`, `expires_in` (600) and `interval`
//! ([`SimOptions::device_interval`], in seconds rounded up). The user's side is
//! `POST /device/approve` with the form `user_code=…&login_hint=<account>&decision=approve`
//! (or `decision=deny`, no `login_hint` needed) → 200 `{"status":"approved"}` /
//! `{"status":"denied"}`; an unknown, expired or already decided code → 404. User codes are
//! matched ignoring case and separators. `GET /device[?user_code=…]` shows the same form in
//! a browser. Polling the token endpoint sooner than the interval after the previous poll of
//! the same device code answers `slow_down` and adds 5 s to that code's interval for good;
//! the first poll is never too early.
//!
//! # Resource API
//!
//! `/v1/me`, `/v1/invoices`, `/v1/reports/summary`, `/v1/workspace/settings`,
//! `/v1/audit-log`, each answering a missing scope differently (403 with a challenge, 401,
//! 404, bare 403) and carrying volatile ids, ETags and timestamps. Two more mirror famous
//! permission messes: `/v1/channels` (Slack: HTTP 200 `{"ok":false,"error":"missing_scope"}`
//! without `channels:read`) and `/v1/activities` (Strava: 401 without `activities:read`,
//! private activities silently dropped without `activities:read_all`).
//! `/v1/audit-log` answers always carry `Warning: 299 - "audit-log pagination will change"`.
//! `client_credentials` tokens read the app's home account, `acme-corp`.
//!
//! # Load
//!
//! For benchmarks, every `/v1/…` answer can wait [`SimOptions::api_latency`] (in the
//! request's task, so concurrent requests overlap; counted from the request's arrival and
//! kept to the microsecond by one timer thread, not rounded up to tokio's 1 ms tick), and [`SimOptions::rate_limit`] N accepts
//! at most N resource-API requests in any rolling 1,000 ms window: a request arriving at `t`
//! is accepted when fewer than N accepted requests arrived in `(t − 1000 ms, t]`; otherwise
//! it gets 429 `{"error":"rate_limited"}` with `Retry-After: 1`, counted in
//! [`SimStats::rate_limited`]. Refused requests do not count against the window. OAuth
//! endpoints are never delayed or limited by these. [`Sim::first_api_request_at`] tells
//! when the resource API was first called.
//!
//! # Drift
//!
//! [`Sim::set_switches`] applies [`Switches`] live, each drift independently: `schema`
//! renames, retypes, removes and adds fields and nulls some; `scopes` makes `/v1/invoices`
//! also require `email`; `rotation` stops returning refresh tokens from refresh grants in
//! every profile (the presented one stays valid); `zeroed_metric` reports
//! `metrics.conversions: 0` for globex and umbrella while everything else looks healthy;
//! `deprecation` adds `Deprecation`, `Sunset`, `Link` and `X-API-Warn` to `/v1/invoices`;
//! `metadata` unlists one grant, the `audit:read` scope and `client_secret_post` from
//! discovery while all keep working. [`Sim::set_version`] turns all of them on
//! ([`ApiVersion::V2`]) or off.
//!
//! # Refresh behaviour
//!
//! [`Profile`] chooses how refresh tokens rotate: one-time (reuse is `invalid_grant`), never
//! (Google), old ones stay valid (Entra), a grace window ([`SimOptions::refresh_grace`],
//! Xero), reuse revokes the whole grant (Auth0), or a new value every third refresh
//! (Intuit), or a narrowed refresh narrows the refresh token for good (django-oauth-toolkit:
//! a later wider request is `invalid_scope` "Unable to add extra scopes").
//! [`SimStats::refresh_replays`] counts refresh tokens presented more than once.
//!
//! # Credential and value trouble
//!
//! [`Sim::revoke_access_tokens`] revokes access tokens only (their refresh tokens keep
//! working); [`Sim::kill_grants`] kills grants (refresh: `invalid_grant` "the grant was
//! revoked", access tokens dead); [`Sim::withhold_refresh_tokens`] (or
//! [`SimOptions::withhold_refresh_after`]) stops returning refresh tokens and lets every
//! issued one die a set time later (`invalid_grant` "refresh token expired");
//! [`SimOptions::whole_decimals`] answers a money value whole on about every second call, in a
//! seeded order. [`Sim::grants`] tells, per user grant, how often the token endpoint was
//! called about it and whether it ended ([`GrantEnd`]).
//!
//! # Admin endpoint
//!
//! The same controls over HTTP for a separately running simulator, loopback clients only:
//! `GET /_sim/state`, `POST /_sim/version` (`version=v1|v2`, keeping every grant),
//! `/_sim/revoke-access` and `/_sim/kill-grant` (`account=…` or `token=…`),
//! `/_sim/withhold-refresh` (`ttl=30s` or `ttl=off`). Answers are JSON and never carry a
//! token.
//!
//! # State file
//!
//! With [`SimOptions::state_file`] the token store (grants, refresh and access tokens as
//! SHA-256 hashes, counters, withholding) is rewritten after every change and read at start,
//! so a restarted simulator keeps honouring the tokens it issued. Authorization and device
//! codes are not kept.

mod admin;
mod api;
mod data;
mod device;
mod device_state;
mod feeds;
mod oauth;
mod options;
mod reply;
mod server;
mod throttle;
mod timer;
mod token_endpoint;
mod tokens;

#[cfg(test)]
mod tests_api;
#[cfg(test)]
mod tests_device;
#[cfg(test)]
mod tests_load;
#[cfg(test)]
mod tests_oauth;
#[cfg(test)]
mod tests_profiles;
#[cfg(test)]
mod tests_refresh;
#[cfg(test)]
mod tests_switches;
#[cfg(test)]
mod tests_trouble;

pub use data::ACCOUNTS;
pub use options::{
    ApiVersion, DEFAULT_CALLBACKS, DEFAULT_WITHHELD_TTL, ParseOptionError, Profile, SimOptions,
    Switches,
};
pub use server::{ClientState, Sim, SimStats, serve_forever};
pub use tokens::{GrantEnd, GrantStats, SECRET_PREFIXES, Target};
