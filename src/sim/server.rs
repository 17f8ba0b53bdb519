//! Lifecycle of the simulated provider: shared state, routing, start, live drift switches,
//! counters, shutdown and the `driftwatch sim` banner. Endpoint behaviour lives elsewhere.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::data::ACCOUNTS;
use super::device_state::DeviceStore;
use super::options::{ApiVersion, Profile, SimOptions, Switches};
use super::reply::TokenSpelling;
use super::throttle::{self, Throttle};
use super::tokens::{self, TokenStore};
use super::tokens::{GrantStats, Target};
use super::{admin, api, device, oauth, token_endpoint};

/// The only registered client.
pub(crate) const CLIENT_ID: &str = "driftwatch-sim";

/// Request counters, for tests that must prove what the harness did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Every `POST /oauth/token`, whatever the outcome.
    pub token_requests: u64,
    /// Authenticated `refresh_token` grants, whatever the outcome.
    pub refresh_grants: u64,
    /// Refresh grants refused because the one-time refresh token was already used.
    pub refresh_reuse_rejected: u64,
    /// Refresh grants presenting a refresh token that had been presented before, whatever
    /// the outcome either time: proof that a client never sent a token twice.
    pub refresh_replays: u64,
    /// Every request to the resource API (`/v1/…`), whatever the outcome.
    pub api_requests: u64,
    /// Authenticated device-code grants (polls), whatever the outcome.
    pub device_polls: u64,
    /// Device polls answered `slow_down`.
    pub slow_downs: u64,
    /// Authenticated `password` grants, whatever the outcome (also where unsupported).
    pub password_grants: u64,
    /// Resource-API requests answered 429 by [`SimOptions::rate_limit`] (also counted in
    /// `api_requests`).
    pub rate_limited: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) token_requests: AtomicU64,
    pub(crate) refresh_grants: AtomicU64,
    pub(crate) refresh_reuse_rejected: AtomicU64,
    pub(crate) refresh_replays: AtomicU64,
    pub(crate) api_requests: AtomicU64,
    pub(crate) device_polls: AtomicU64,
    pub(crate) slow_downs: AtomicU64,
    pub(crate) password_grants: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
}

/// Increments a counter; relaxed ordering is enough for statistics.
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// State shared by every handler. Deliberately not `Debug`: it holds the client secret, the
/// users' password and every live token.
pub(crate) struct Shared {
    pub(crate) base_url: String,
    pub(crate) client_secret: String,
    pub(crate) user_password: String,
    pub(crate) profile: Profile,
    pub(crate) access_token_ttl: Duration,
    /// The effective idle lifetime (the profile's default applied).
    pub(crate) refresh_idle_ttl: Option<Duration>,
    pub(crate) token_latency: Duration,
    pub(crate) device_interval: Duration,
    /// How long a rotated refresh token keeps working in `Profile::RotatingGrace`.
    pub(crate) refresh_grace: Duration,
    /// The live [`Switches`], as [`Switches::to_bits`], so one request never sees half a flip.
    switches: AtomicU8,
    /// Latency and rate limit of the resource API.
    pub(crate) throttle: Throttle,
    /// Seeded choice of which money values are answered whole (`SimOptions::whole_decimals`).
    pub(crate) whole_decimals: Option<WholeDecimals>,
    store: Mutex<TokenStore>,
    /// Where the token store is saved after every change (`SimOptions::state_file`).
    state_file: Option<PathBuf>,
    /// Serialises saves so that a later state is never overwritten by an earlier one.
    saving: Mutex<()>,
    devices: Mutex<DeviceStore>,
    pub(crate) counters: Counters,
    /// The OAuth client's state at the provider, as [`ClientState::to_bits`] (issue 20).
    client_state: AtomicU8,
    /// Every token-endpoint error is a bare `400 Bad Request` (a provider that does not
    /// distinguish; issue 20).
    generic_errors: AtomicBool,
    /// The app's registered https callbacks (issue 20 item 3; see `SimOptions::callbacks`).
    callbacks: Mutex<Vec<String>>,
}

/// The simulated OAuth client's state at the provider (issue 20's app behaviours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Registered, with the secret the simulator started with.
    Live,
    /// The secret was rotated: the one the suite holds now gets `invalid_client`.
    SecretRotated,
    /// The app was deleted: every client authentication gets `invalid_client`.
    Deleted,
}

impl ClientState {
    fn to_bits(self) -> u8 {
        match self {
            ClientState::Live => 0,
            ClientState::SecretRotated => 1,
            ClientState::Deleted => 2,
        }
    }

    fn from_bits(b: u8) -> ClientState {
        match b {
            1 => ClientState::SecretRotated,
            2 => ClientState::Deleted,
            _ => ClientState::Live,
        }
    }

    /// The name `POST /_sim/client` takes and `GET /_sim/state` shows.
    pub fn name(self) -> &'static str {
        match self {
            ClientState::Live => "live",
            ClientState::SecretRotated => "secret-rotated",
            ClientState::Deleted => "deleted",
        }
    }

    /// The state named `name`, if any.
    pub fn parse(name: &str) -> Option<ClientState> {
        [
            ClientState::Live,
            ClientState::SecretRotated,
            ClientState::Deleted,
        ]
        .into_iter()
        .find(|c| c.name() == name)
    }
}

impl Shared {
    /// The drifts in force now. Handlers read them once per request.
    pub(crate) fn switches(&self) -> Switches {
        Switches::from_bits(self.switches.load(Ordering::Relaxed))
    }

    /// Applies exactly the drifts in `sw` to all following requests.
    pub(crate) fn set_switches(&self, sw: Switches) {
        self.switches.store(sw.to_bits(), Ordering::Relaxed);
    }

    /// The client's state at the provider now.
    pub(crate) fn client_state(&self) -> ClientState {
        ClientState::from_bits(self.client_state.load(Ordering::Relaxed))
    }

    pub(crate) fn set_client_state(&self, c: ClientState) {
        self.client_state.store(c.to_bits(), Ordering::Relaxed);
    }

    /// Whether every token-endpoint error is a bare `400`.
    pub(crate) fn generic_errors(&self) -> bool {
        self.generic_errors.load(Ordering::Relaxed)
    }

    pub(crate) fn set_generic_errors(&self, on: bool) {
        self.generic_errors.store(on, Ordering::Relaxed);
    }

    /// Whether `redirect_uri` (as sent) is registered: a plain-http loopback callback on any
    /// port and path (RFC 8252 §7.3), or one of the registered https callbacks, exactly.
    pub(crate) fn callback_registered(&self, redirect_uri: &str, parsed: &url::Url) -> bool {
        parsed.scheme() == "http"
            || self
                .callbacks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|c| c == redirect_uri)
    }

    /// The registered https callbacks, in registration order.
    pub(crate) fn callbacks(&self) -> Vec<String> {
        self.callbacks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Removes a registered callback; whether it was registered.
    pub(crate) fn remove_callback(&self, uri: &str) -> bool {
        let mut c = self.callbacks.lock().unwrap_or_else(|e| e.into_inner());
        let before = c.len();
        c.retain(|x| x != uri);
        c.len() != before
    }

    /// Registers an https callback (again); whether it was new.
    pub(crate) fn add_callback(&self, uri: &str) -> bool {
        let mut c = self.callbacks.lock().unwrap_or_else(|e| e.into_inner());
        if c.iter().any(|x| x == uri) {
            return false;
        }
        c.push(uri.to_string());
        true
    }

    /// A snapshot of the request counters.
    pub(crate) fn stats(&self) -> SimStats {
        let c = &self.counters;
        SimStats {
            token_requests: c.token_requests.load(Ordering::Relaxed),
            refresh_grants: c.refresh_grants.load(Ordering::Relaxed),
            refresh_reuse_rejected: c.refresh_reuse_rejected.load(Ordering::Relaxed),
            refresh_replays: c.refresh_replays.load(Ordering::Relaxed),
            api_requests: c.api_requests.load(Ordering::Relaxed),
            device_polls: c.device_polls.load(Ordering::Relaxed),
            slow_downs: c.slow_downs.load(Ordering::Relaxed),
            password_grants: c.password_grants.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// The token store. A panic while holding the lock cannot leave it half-updated in a way
    /// that matters to a simulator, so a poisoned lock is simply reused.
    pub(crate) fn store(&self) -> MutexGuard<'_, TokenStore> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Saves the token store to the state file, if there is one: a temporary file beside
    /// it, then a rename. A failure is logged, never fatal to the request.
    pub(crate) fn save_state(&self) {
        let Some(path) = &self.state_file else {
            return;
        };
        let _order = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        let saved = self.store().save();
        let result = serde_json::to_vec_pretty(&saved)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, bytes)?;
                std::fs::rename(&tmp, path)
            });
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot save the simulator state");
        }
    }

    /// The device grants; a poisoned lock is reused for the same reason as `store`.
    pub(crate) fn devices(&self) -> MutexGuard<'_, DeviceStore> {
        self.devices.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the token responses of this server need to know.
    pub(crate) fn spelling(&self) -> TokenSpelling {
        TokenSpelling {
            profile: self.profile,
            access_token_ttl: self.access_token_ttl,
            refresh_idle_ttl: self.refresh_idle_ttl,
        }
    }
}

pub(crate) type AppState = Arc<Shared>;

/// A seeded pseudo-random sequence (SplitMix64) deciding, call by call, whether a money value
/// is answered whole. The n-th decision depends only on the seed and n.
#[derive(Debug)]
pub(crate) struct WholeDecimals {
    seed: u64,
    calls: AtomicU64,
}

impl WholeDecimals {
    pub(crate) fn new(seed: u64) -> WholeDecimals {
        WholeDecimals {
            seed,
            calls: AtomicU64::new(0),
        }
    }

    /// Whether the next money value is answered whole (about every second call).
    pub(crate) fn next_whole(&self) -> bool {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        splitmix64(
            self.seed
                .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        ) & 1
            == 1
    }
}

/// SplitMix64's output function (Steele, Lea, Flood 2014).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::discovery_oauth),
        )
        .route(
            "/.well-known/openid-configuration",
            get(oauth::discovery_openid),
        )
        .route("/oauth/authorize", get(oauth::authorize))
        .route("/oauth/authorize/decision", post(oauth::decision))
        .route("/oauth/token", post(token_endpoint::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route(
            "/oauth/device_authorization",
            post(device::device_authorization),
        )
        .route("/device", get(device::page))
        .route("/device/approve", post(device::approve))
        .route("/v1/me", get(api::me))
        .route("/v1/invoices", get(api::invoices))
        .route("/v1/reports/summary", get(api::reports))
        .route("/v1/workspace/settings", get(api::workspace))
        .route("/v1/audit-log", get(api::audit_log))
        .route("/v1/channels", get(api::channels))
        .route("/v1/activities", get(api::activities))
        .route("/v1/big", get(api::big))
        .route("/v1/deep", get(api::deep))
        .route("/v1/echo", get(api::echo))
        .route("/v1/echo/{*rest}", get(api::echo))
        .route("/_sim/state", get(admin::state))
        .route("/_sim/version", post(admin::version))
        .route("/_sim/revoke-access", post(admin::revoke_access))
        .route("/_sim/kill-grant", post(admin::kill_grant))
        .route("/_sim/withhold-refresh", post(admin::withhold_refresh))
        .route("/_sim/client", post(admin::client))
        .route("/_sim/callback", post(admin::callback))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            throttle::shape,
        ))
        .with_state(state)
}

/// A running simulated provider. Dropping it stops the server too.
pub struct Sim {
    shared: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sim {
    /// Binds `bind` (use port 0 in tests) and serves in a background task.
    pub async fn start(bind: SocketAddr, opts: SimOptions) -> std::io::Result<Sim> {
        let client_secret = given_or_random(opts.client_secret, "client secret", "")?;
        let user_password = given_or_random(opts.user_password, "user password", "pw_")?;
        let refresh_idle_ttl = opts.profile.refresh_idle_ttl(opts.refresh_idle_ttl);
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            base_url: format!("http://{addr}"),
            client_secret,
            user_password,
            profile: opts.profile,
            access_token_ttl: opts.access_token_ttl,
            refresh_idle_ttl,
            token_latency: opts.token_latency,
            device_interval: opts.device_interval,
            refresh_grace: opts.refresh_grace,
            switches: AtomicU8::new(Switches::from(opts.version).to_bits()),
            throttle: Throttle::new(opts.api_latency, opts.rate_limit),
            whole_decimals: opts.whole_decimals.map(WholeDecimals::new),
            store: Mutex::new({
                let mut store = load_state(opts.state_file.as_deref(), refresh_idle_ttl)?;
                if let Some(after) = opts.withhold_refresh_after {
                    store.withhold_refresh(
                        Some(opts.withheld_refresh_ttl),
                        std::time::Instant::now() + after,
                    );
                }
                store
            }),
            state_file: opts.state_file.clone(),
            saving: Mutex::new(()),
            devices: Mutex::new({
                let mut d = DeviceStore::default();
                d.forced_slow_downs = opts.device_slow_down_polls;
                d
            }),
            counters: Counters::default(),
            client_state: AtomicU8::new(ClientState::Live.to_bits()),
            generic_errors: AtomicBool::new(false),
            callbacks: Mutex::new(opts.callbacks.clone()),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(shared.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                // A dropped sender also means stop.
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "simulated provider stopped with an error");
            }
        });
        Ok(Sim {
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash; also the discovery `issuer`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The registered client id, `driftwatch-sim`.
    pub fn client_id(&self) -> &str {
        CLIENT_ID
    }

    /// The client secret the token endpoint accepts.
    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }

    /// The password of every test user for the password grant (`Profile::Password`).
    pub fn user_password(&self) -> &str {
        &self.shared.user_password
    }

    /// Shortens device-code lifetimes and the `slow_down` step so tests need not wait minutes.
    #[cfg(test)]
    pub(crate) fn set_device_timing(&self, ttl: Duration, slow_down_step: Duration) {
        let mut devices = self.shared.devices();
        devices.ttl = ttl;
        devices.slow_down_step = slow_down_step;
    }

    /// Switches every drift on (`V2`) or off (`V1`) for all following requests, without a
    /// restart; the same as `set_switches(Switches::ALL)` / `set_switches(Switches::NONE)`.
    pub fn set_version(&self, v: ApiVersion) {
        self.set_switches(Switches::from(v));
    }

    /// Applies exactly the drifts in `s` to all following requests, without a restart.
    pub fn set_switches(&self, s: Switches) {
        self.shared.set_switches(s);
    }

    /// The drifts in force now.
    pub fn switches(&self) -> Switches {
        self.shared.switches()
    }

    /// Sets the OAuth client's state at the provider: secret rotated or app deleted make every
    /// client authentication with the secret the suite holds fail with `invalid_client`.
    pub fn set_client_state(&self, c: ClientState) {
        self.shared.set_client_state(c);
    }

    /// Removes a registered https callback of the simulated app ("callback removed"): from now
    /// on an authorization request naming it gets the `400` `redirect_uri_mismatch` page.
    /// Returns whether it was registered.
    pub fn remove_callback(&self, uri: &str) -> bool {
        self.shared.remove_callback(uri)
    }

    /// Registers an https callback of the simulated app; whether it was new.
    pub fn register_callback(&self, uri: &str) -> bool {
        self.shared.add_callback(uri)
    }

    /// The registered https callbacks (loopback http callbacks are always registered).
    pub fn callbacks(&self) -> Vec<String> {
        self.shared.callbacks()
    }

    /// Makes every token-endpoint error a bare `400 Bad Request` (`true`), or the RFC 6749
    /// answers again (`false`).
    pub fn set_generic_errors(&self, on: bool) {
        self.shared.set_generic_errors(on);
    }

    /// Revokes access tokens only, as a provider's admin console would: every live access
    /// token of the account's user grants (`Target::Account`), or the one given. The grants'
    /// refresh tokens stay valid. Returns how many were revoked.
    pub fn revoke_access_tokens(&self, target: Target<'_>) -> usize {
        let revoked = self.shared.store().revoke_access(target);
        self.shared.save_state();
        revoked
    }

    /// Kills grants: every live user grant of the account (`Target::Account`), or the grant
    /// of the access or refresh token given. Their refresh tokens answer `invalid_grant`
    /// ("the grant was revoked") from now on and their access tokens die. Returns the numbers
    /// of the grants killed (see [`Sim::grants`]).
    pub fn kill_grants(&self, target: Target<'_>) -> Vec<u64> {
        let killed = self.shared.store().kill_grants(target);
        self.shared.save_state();
        killed
    }

    /// Withholds refresh tokens from now on: refresh answers carry none (the presented one
    /// stays valid), and every refresh token dies `ttl` from now (or `ttl` after its
    /// issuance, when later) with `invalid_grant` "refresh token expired". `None` ends the
    /// withholding: refresh answers carry refresh tokens again and nothing expires for it.
    pub fn withhold_refresh_tokens(&self, ttl: Option<std::time::Duration>) {
        self.shared
            .store()
            .withhold_refresh(ttl, std::time::Instant::now());
        self.shared.save_state();
    }

    /// What the token endpoint did with every user grant, in order of creation: how often it
    /// was called about each and whether the grant still works.
    pub fn grants(&self) -> Vec<GrantStats> {
        self.shared.store().grant_stats()
    }

    /// A snapshot of the request counters.
    pub fn stats(&self) -> SimStats {
        self.shared.stats()
    }

    /// When the first resource-API request arrived (accepted or not), on the monotonic
    /// clock: where a benchmark's probe phase starts, after token acquisition.
    pub fn first_api_request_at(&self) -> Option<std::time::Instant> {
        self.shared.throttle.first_request()
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// The token store saved in `path`, or an empty one when there is no path or no file yet.
fn load_state(
    path: Option<&std::path::Path>,
    refresh_idle_ttl: Option<Duration>,
) -> std::io::Result<TokenStore> {
    let empty = || TokenStore::with_refresh_idle_ttl(refresh_idle_ttl);
    let Some(path) = path else {
        return Ok(empty());
    };
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(empty()),
        Err(e) => return Err(e),
    };
    TokenStore::restore(&text, refresh_idle_ttl).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("state file {}: {e}", path.display()),
        )
    })
}

/// A configured secret (refused when empty) or a random `sim_cs_<kind>…` one.
fn given_or_random(given: Option<String>, what: &str, kind: &str) -> std::io::Result<String> {
    match given {
        Some(s) if s.is_empty() => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("simulator {what} must not be empty"),
        )),
        Some(s) => Ok(s),
        None => tokens::secret(&format!("{}{kind}", tokens::SECRET_PREFIX))
            .map_err(std::io::Error::other),
    }
}

// Hand-written so that the client secret never reaches a log through `{:?}`.
impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("base_url", &self.shared.base_url)
            .field("profile", &self.shared.profile)
            .field("switches", &self.shared.switches())
            .finish_non_exhaustive()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs the simulator for `driftwatch sim`: prints how to use it, then serves until Ctrl-C.
/// The client secret is never printed; `opts.client_secret` is expected to come from the
/// `SIM_CLIENT_SECRET` environment variable when set.
pub async fn serve_forever(port: u16, opts: SimOptions) -> std::io::Result<()> {
    let secret_from_env = opts.client_secret.is_some();
    let (profile, version) = (opts.profile, opts.version);
    let state = opts.state_file.clone();
    let sim = Sim::start(SocketAddr::from(([127, 0, 0, 1], port)), opts).await?;
    let mut text = banner(&sim.base_url(), secret_from_env, profile, version);
    if let Some(path) = state {
        // After the accounts line: where the grants survive a restart.
        let line = format!(
            "  state file:     {} (grants survive a restart)\n",
            path.display()
        );
        if let Some(at) = text.find("\n\n") {
            text.insert_str(at + 1, &line);
        }
    }
    print!("{text}");
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}

/// The text `driftwatch sim` prints on start: endpoints, the profile's grants and how to
/// approve without a browser. Never a secret.
pub(crate) fn banner(
    base_url: &str,
    secret_from_env: bool,
    profile: Profile,
    version: ApiVersion,
) -> String {
    let secret = if secret_from_env {
        "taken from env var SIM_CLIENT_SECRET"
    } else {
        "generated, not shown; set SIM_CLIENT_SECRET=sim_cs_… to choose one"
    };
    let mut out = format!(
        "driftwatch simulated provider listening on {base_url}\n\
         \n\
         \x20 discovery:      {base_url}/.well-known/oauth-authorization-server\n\
         \x20 client id:      {CLIENT_ID}\n\
         \x20 client secret:  {secret}\n\
         \x20 profile:        {profile}\n\
         \x20 grants:         {grants}\n\
         \x20 api version:    {version}\n\
         \x20 accounts:       {accounts}\n",
        grants = profile.grant_types().join(", "),
        accounts = ACCOUNTS.join(", "),
    );
    if profile == Profile::Password {
        out.push_str("  user password:  not shown (the same for every account)\n");
    }
    out.push('\n');
    if profile.has_users() {
        out.push_str(&format!(
            "Consent without a browser: send\n\
             \x20 GET {base_url}/oauth/authorize?response_type=code&client_id={CLIENT_ID}\
             &redirect_uri=…&scope=…&state=…&code_challenge=…&code_challenge_method=S256\
             &login_hint=<account>\n\
             with the header `X-Sim-Consent: approve` (or `deny`); the answer is a 302 to\n\
             redirect_uri with `code` (or `error=access_denied`) and `state`.\n\
             Without the header the same URL shows a consent page in a browser.\n\
             \n\
             Device login (RFC 8628): POST {base_url}/oauth/device_authorization, then approve\n\
             without a browser with\n\
             \x20 POST {base_url}/device/approve  user_code=…&login_hint=<account>&decision=approve\n\
             (or `decision=deny`), or open {base_url}/device in a browser.\n\
             \n"
        ));
    } else {
        out.push_str(
            "This profile has no users: no authorization endpoint, only\n\
             grant_type=client_credentials at the token endpoint.\n\
             \n",
        );
    }
    out.push_str(&format!(
        "Controls (loopback only; form fields, JSON answers):\n\
         \x20 GET  {base_url}/_sim/state                   version, counters, every grant\n\
         \x20 POST {base_url}/_sim/version                 version=v2 (keeps every grant)\n\
         \x20 POST {base_url}/_sim/revoke-access           account=<account> or token=…\n\
         \x20 POST {base_url}/_sim/kill-grant              account=<account> or token=…\n\
         \x20 POST {base_url}/_sim/withhold-refresh        ttl=30s (or ttl=off)\n\
         \x20 POST {base_url}/_sim/client                  state=live|secret-rotated|deleted, generic_errors=on|off\n\
         \x20 POST {base_url}/_sim/callback                remove=<https callback> or add=<https callback>\n\
         \n"
    ));
    out.push_str("Press Ctrl-C to stop.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_never_contains_a_secret_and_names_the_source() {
        let generated = banner(
            "http://127.0.0.1:1",
            false,
            Profile::default(),
            ApiVersion::V1,
        );
        assert!(generated.contains(
            "client secret:  generated, not shown; set SIM_CLIENT_SECRET=sim_cs_… to choose one"
        ));
        assert!(generated.contains("client id:      driftwatch-sim"));
        assert!(generated.contains("X-Sim-Consent: approve"));
        for control in [
            "GET  http://127.0.0.1:1/_sim/state ",
            "POST http://127.0.0.1:1/_sim/version ",
            "POST http://127.0.0.1:1/_sim/revoke-access ",
            "POST http://127.0.0.1:1/_sim/kill-grant ",
            "POST http://127.0.0.1:1/_sim/withhold-refresh ",
        ] {
            assert!(
                generated.contains(control),
                "{control}
{generated}"
            );
        }
        assert!(generated.contains("accounts:       acme-corp, globex, initech, umbrella"));
        let from_env = banner(
            "http://127.0.0.1:1",
            true,
            Profile::StringExpiresIn,
            ApiVersion::V2,
        );
        assert!(from_env.contains("client secret:  taken from env var SIM_CLIENT_SECRET\n"));
        assert!(from_env.contains("profile:        string-expires-in\n"));
        assert!(from_env.contains("api version:    v2\n"));
        assert!(from_env.contains(
            "grants:         authorization_code, refresh_token, client_credentials, \
             urn:ietf:params:oauth:grant-type:device_code\n"
        ));
        assert!(from_env.contains(
            "  POST http://127.0.0.1:1/device/approve  \
             user_code=…&login_hint=<account>&decision=approve\n"
        ));
        assert!(!from_env.contains("user password"));
    }

    #[test]
    fn banner_follows_the_profile() {
        let cc = banner(
            "http://127.0.0.1:1",
            false,
            Profile::ClientCredentialsOnly,
            ApiVersion::V1,
        );
        assert!(cc.contains("grants:         client_credentials\n"), "{cc}");
        assert!(!cc.contains("X-Sim-Consent"));
        assert!(!cc.contains("/device"));
        assert!(cc.contains("This profile has no users"));
        let pw = banner(
            "http://127.0.0.1:1",
            false,
            Profile::Password,
            ApiVersion::V1,
        );
        assert!(pw.contains(
            "grants:         authorization_code, refresh_token, client_credentials, password, \
             urn:ietf:params:oauth:grant-type:device_code\n"
        ));
        assert!(pw.contains("user password:  not shown (the same for every account)\n"));
    }

    #[tokio::test]
    async fn start_reports_port_and_switches_version() {
        let v2 = Sim::start(
            "127.0.0.1:0".parse().unwrap(),
            SimOptions {
                version: ApiVersion::V2,
                ..SimOptions::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(v2.switches(), Switches::ALL);
        v2.shutdown().await;
        let opts = SimOptions {
            client_secret: Some("sim_cs_fixed".into()),
            ..SimOptions::default()
        };
        let sim = Sim::start("127.0.0.1:0".parse().unwrap(), opts)
            .await
            .unwrap();
        let url = sim.base_url();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert_ne!(url, "http://127.0.0.1:0");
        assert_eq!(sim.client_id(), "driftwatch-sim");
        assert_eq!(sim.client_secret(), "sim_cs_fixed");
        assert_eq!(sim.switches(), Switches::NONE);
        sim.set_version(ApiVersion::V2);
        assert_eq!(sim.switches(), Switches::ALL);
        let only_scopes = Switches {
            scopes: true,
            ..Switches::NONE
        };
        sim.set_switches(only_scopes);
        assert_eq!(sim.switches(), only_scopes);
        sim.set_version(ApiVersion::V1);
        assert_eq!(sim.switches(), Switches::NONE);
        assert_eq!(sim.stats(), SimStats::default());
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn empty_secret_is_refused_and_generated_secret_is_prefixed() {
        let opts = SimOptions {
            client_secret: Some(String::new()),
            ..SimOptions::default()
        };
        let err = Sim::start("127.0.0.1:0".parse().unwrap(), opts)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default())
            .await
            .unwrap();
        assert!(sim.client_secret().starts_with("sim_cs_"));
        assert_eq!(sim.client_secret().len(), "sim_cs_".len() + 32);
        assert!(sim.user_password().starts_with("sim_cs_pw_"));
        assert_eq!(sim.user_password().len(), "sim_cs_pw_".len() + 32);
        assert_ne!(sim.user_password(), sim.client_secret());
        sim.shutdown().await;
    }
}
