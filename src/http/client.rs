//! The HTTP client every provider call goes through: limits, redirects, recording.
//!
//! It enforces https (loopback excepted), a total time budget, a body size
//! limit and credential-safe redirects, and records every hop as a redacted
//! [`Exchange`]. It knows nothing about OAuth grants, probes or reports.

use crate::http::origin::{self, Refusal};
use crate::http::rate::{Limiter, Rate};
use crate::http::recorder::{ExchangeRecorder, RawBody};
use crate::http::redact::Redactor;
use crate::http::retry::{self, Backoff, Outcome, Retry};
use crate::model::{Exchange, RecordedRequest, RecordedResponse};
use bytes::{Bytes, BytesMut};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// Settings of one provider's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Provider id, copied into every exchange.
    pub provider: String,
    /// Total budget of one `send`, all redirect hops and body reads included.
    pub timeout: Duration,
    /// Budget for establishing one connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Largest response body accepted, per hop.
    pub max_body_bytes: u64,
    /// Allow plain http to non-loopback hosts.
    pub allow_insecure_http: bool,
    /// Redirects followed before [`HttpError::TooManyRedirects`].
    pub max_redirects: usize,
    /// Sent (and recorded) as `user-agent` on every request.
    pub user_agent: String,
    /// How many characters of each (redacted) body an exchange keeps.
    pub record_body_chars: usize,
    /// Requests allowed per period, awaited before every hop; `None`: no limit.
    pub rate: Option<Rate>,
    /// Further attempts after the first, for requests that may be retried.
    pub retries: u32,
    /// Longest wait honoured from a 429's `Retry-After` or `X-RateLimit-Reset`,
    /// and the total one request may spend waiting across all its retries
    /// (server-given and backoff waits alike): once spent, the last answer
    /// stands (a surviving 429 is `rate-limited`).
    pub max_retry_wait: Duration,
    /// First backoff delay before full jitter; it doubles per retry.
    pub backoff_base: Duration,
    /// Largest backoff delay before full jitter.
    pub backoff_max: Duration,
}

impl ClientConfig {
    /// Built-in defaults: 30 s total, 10 s connect, 10 MiB bodies, 10 redirects,
    /// no rate limit, 3 retries, 429 waits up to 60 s, backoff 200 ms doubling to 5 s.
    pub fn new(provider: impl Into<String>) -> Self {
        ClientConfig {
            provider: provider.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 10 * 1024 * 1024,
            allow_insecure_http: false,
            max_redirects: 10,
            user_agent: concat!("driftwatch/", env!("CARGO_PKG_VERSION")).to_string(),
            record_body_chars: 64 * 1024,
            rate: None,
            retries: 3,
            max_retry_wait: Duration::from_secs(60),
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// Credentials sent in the `Authorization` header.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// RFC 6750 `Bearer <token>`.
    Bearer(SecretString),
    /// Sent as RFC 7617 Basic; callers apply any OAuth form-encoding of the parts.
    Basic {
        user: String,
        password: SecretString,
    },
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    /// Extra headers, sent in this order after `user-agent`.
    pub headers: Vec<(String, String)>,
    pub auth: Auth,
    /// Sent as `application/x-www-form-urlencoded` when set.
    pub form: Option<Vec<(String, String)>>,
    /// Why the request is made, e.g. `token:refresh`; recorded in the exchange.
    /// A `token:` prefix marks a token-endpoint request: retried after a 429
    /// (the server did not process it), never after anything else.
    /// Requests that carry client or grant credentials (`token:`, `device:`,
    /// `revoke:`, `introspect:`) never follow a redirect to another origin
    /// (see [`HttpError::CrossOriginRedirect`]). An `authorize:` request is never
    /// redirected: its `3xx` is the answer.
    pub purpose: String,
    /// The connection the request acts for; recorded in the exchange.
    pub connection: Option<String>,
}

impl Request {
    /// A request without headers, credentials or body.
    pub fn new(method: Method, url: Url, purpose: impl Into<String>) -> Self {
        Request {
            method,
            url,
            headers: Vec::new(),
            auth: Auth::None,
            form: None,
            purpose: purpose.into(),
            connection: None,
        }
    }
}

/// A complete response (after redirects), body fully read within the limits.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status of the final hop.
    pub status: u16,
    /// Names are lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The final URL, after redirects.
    pub url: Url,
    /// Id of the exchange recording the final hop.
    pub exchange_id: String,
    /// Attempts made, the first included (retries are `attempts - 1`).
    pub attempts: u32,
}

/// Why a response body is not usable JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Deeper than serde_json's recursion limit.
    #[error("json nested deeper than 128 levels")]
    TooDeep,
    /// Any other parse failure; the reason never quotes the body.
    #[error("invalid json at line {line}, column {column}: {reason}")]
    Syntax {
        line: usize,
        column: usize,
        reason: String,
    },
}

impl Response {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `content-type` header, parameters included.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The response, unless it says the provider would not answer: a 429 or
    /// 503 that survived every retry is [`HttpError::Unavailable`], because
    /// such a status is about load, not about the API, and must never be
    /// observed (or baselined) as the endpoint's answer.
    pub fn into_available(self) -> Result<Response, HttpError> {
        match self.status {
            429 | 503 => Err(HttpError::Unavailable {
                status: self.status,
                attempts: self.attempts,
            }),
            _ => Ok(self),
        }
    }

    /// Parses the body as JSON; serde_json's recursion limit becomes
    /// [`JsonError::TooDeep`], anything else [`JsonError::Syntax`].
    pub fn json(&self) -> Result<serde_json::Value, JsonError> {
        serde_json::from_slice(&self.body).map_err(JsonError::from_serde)
    }
}

impl JsonError {
    /// Classifies a serde_json parse error (from [`Response::json`] or a streaming parse).
    pub fn from_serde(e: serde_json::Error) -> JsonError {
        let full = e.to_string();
        if full.starts_with("recursion limit exceeded") {
            return JsonError::TooDeep;
        }
        // The message never quotes the body; drop serde's position suffix
        // because the variant carries it.
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let reason = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
        JsonError::Syntax {
            line: e.line(),
            column: e.column(),
            reason,
        }
    }
}

/// A request that did not produce a usable response. Messages carry no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("refusing plain http to non-loopback host in `{url}`; pass --allow-insecure-http")]
    InsecureUrl { url: String },
    #[error("request timed out after {after:?}")]
    Timeout { after: Duration },
    #[error("could not connect: {reason}")]
    Connect { reason: String },
    /// The TLS handshake failed, typically a certificate that does not verify.
    #[error("tls handshake failed: {reason}")]
    Tls { reason: String },
    #[error("response body larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: u64 },
    #[error("more than {max} redirects")]
    TooManyRedirects { max: usize },
    #[error("bad redirect: {reason}")]
    BadRedirect { reason: String },
    #[error("transport error: {reason}")]
    Transport { reason: String },
    #[error("invalid request: {reason}")]
    Client { reason: String },
    /// A `Content-Encoding` that was never asked for (no `Accept-Encoding` is
    /// sent): the body is not read, so a compression bomb costs nothing.
    #[error("response body has content-encoding `{encoding}`, which was not requested")]
    ContentEncoding { encoding: String },
    /// A token, revocation, introspection or device-authorization request was
    /// redirected to another origin. Nothing is sent there: its credentials
    /// (form body, client authentication) belong to the origin the suite names.
    #[error(
        "the token endpoint at `{from}` redirected to another origin `{to}`; credentials are never sent there"
    )]
    CrossOriginRedirect { from: String, to: String },
    /// 429 or 503 after every allowed attempt; see [`Response::into_available`].
    #[error("{}: HTTP {status} after {attempts} attempt{}", if *.status == 429 { "rate limited" } else { "unavailable" }, if *.attempts == 1 { "" } else { "s" })]
    Unavailable { status: u16, attempts: u32 },
}

impl HttpError {
    /// Short machine-readable class, used in exchanges and run errors.
    pub fn class(&self) -> &'static str {
        match self {
            HttpError::InsecureUrl { .. } => "insecure-url",
            HttpError::Timeout { .. } => "timeout",
            HttpError::Connect { .. } => "connect",
            HttpError::Tls { .. } => "tls",
            HttpError::BodyTooLarge { .. } => "body-too-large",
            HttpError::TooManyRedirects { .. } | HttpError::BadRedirect { .. } => "redirects",
            HttpError::Transport { .. } => "transport",
            HttpError::Client { .. } => "client",
            HttpError::ContentEncoding { .. } => "content-encoding",
            HttpError::CrossOriginRedirect { .. } => "token-endpoint-redirected",
            HttpError::Unavailable { status: 429, .. } => "rate-limited",
            HttpError::Unavailable { .. } => "unavailable",
        }
    }
}

/// One provider's HTTP client.
#[derive(Debug)]
pub struct HttpClient {
    cfg: ClientConfig,
    redactor: Arc<Redactor>,
    recorder: ExchangeRecorder,
    limiter: Limiter,
    /// Honours the system proxy settings.
    remote: LazyClient,
    /// Never proxied: loopback traffic (the simulated provider) must stay local.
    direct: LazyClient,
    /// Loopback over plain `http`: never proxied, and no TLS, so no root store to load.
    direct_plain: LazyClient,
}

/// Which connections a [`LazyClient`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Through the system proxy settings, verified against the platform's roots.
    Remote,
    /// To a loopback address, never proxied, verified against the platform's roots (a
    /// local HTTPS server whose CA the machine trusts, as `mkcert` sets up).
    Loopback,
    /// To a loopback address over plain `http`: trusts no certificate at all, so it never
    /// loads the root store (it is never handed an `https` URL).
    LoopbackPlain,
}

/// A reqwest client built on its first request. Building one with TLS loads the platform's
/// root certificates (about 5–10 ms of a run's start-up on Linux, each time), and a run
/// nearly always needs one route only: remote for a real provider, plain loopback for the
/// simulated one.
#[derive(Debug)]
struct LazyClient {
    route: Route,
    connect_timeout: Duration,
    built: std::sync::OnceLock<Result<reqwest::Client, String>>,
}

impl Route {
    /// The route of `url`: only a plain `http` URL to a loopback address goes without TLS.
    fn of(url: &Url) -> Route {
        if !origin::is_loopback(url) {
            Route::Remote
        } else if url.scheme() == "http" {
            Route::LoopbackPlain
        } else {
            Route::Loopback
        }
    }
}

impl LazyClient {
    fn new(route: Route, connect_timeout: Duration) -> LazyClient {
        LazyClient {
            route,
            connect_timeout,
            built: std::sync::OnceLock::new(),
        }
    }

    /// The client, built now if it was not; a TLS backend that cannot be set up is a
    /// `client` error of the request that needed it (the message scrubbed).
    fn get(&self, redactor: &Redactor) -> Result<&reqwest::Client, HttpError> {
        let built = self.built.get_or_init(|| {
            let mut b = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(self.connect_timeout);
            match self.route {
                Route::Remote => {}
                Route::Loopback => b = b.no_proxy(),
                Route::LoopbackPlain => b = b.no_proxy().tls_certs_only([]),
            }
            b.build().map_err(error_chain)
        });
        built.as_ref().map_err(|reason| HttpError::Client {
            reason: redactor.scrub(reason),
        })
    }
}

/// What one hop is about to send.
struct Hop {
    method: Method,
    url: Url,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

/// What one hop received, kept even when it fails halfway.
#[derive(Default)]
struct Received {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: BytesMut,
    body_bytes: u64,
}

impl HttpClient {
    /// Builds the client. Its reqwest clients are built on first use (see [`LazyClient`]).
    pub fn new(cfg: ClientConfig, redactor: Arc<Redactor>, recorder: ExchangeRecorder) -> Self {
        HttpClient {
            limiter: Limiter::new(cfg.rate),
            remote: LazyClient::new(Route::Remote, cfg.connect_timeout),
            direct: LazyClient::new(Route::Loopback, cfg.connect_timeout),
            direct_plain: LazyClient::new(Route::LoopbackPlain, cfg.connect_timeout),
            cfg,
            redactor,
            recorder,
        }
    }

    /// The redactor shared with everything that records or prints.
    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.redactor
    }

    /// Sends, following redirects by hand and retrying what may be retried
    /// (see [`Request::purpose`]); records one Exchange per hop and attempt
    /// (redacted), success or not. The result is the last attempt's.
    pub async fn send(&self, req: Request) -> Result<Response, HttpError> {
        self.register_secrets(&req);
        let max = self.cfg.retries;
        let mut backoff = Backoff::new(self.cfg.backoff_base, self.cfg.backoff_max, max);
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            let result = self.attempt(&req).await;
            let outcome = match &result {
                Ok(resp) => Outcome::Status(resp.status, &resp.headers),
                Err(
                    e @ (HttpError::Connect { .. }
                    | HttpError::Timeout { .. }
                    | HttpError::Transport { .. }),
                ) => Outcome::Failed { class: e.class() },
                Err(_) => Outcome::Final,
            };
            let decision = retry::decide(
                &req.method,
                &req.purpose,
                &outcome,
                self.cfg.max_retry_wait,
                chrono::Utc::now(),
            );
            let planned = decision.filter(|_| attempt < max).map(|d| match d {
                Retry::After { wait, reason } => (wait, reason),
                Retry::Backoff { reason } => (backoff.next_wait(), reason),
            });
            // Whatever `Retry-After` says, one request waits at most `max_retry_wait` in
            // all: once that is spent, a wait still wanted ends the retries.
            let budget = self.cfg.max_retry_wait.saturating_sub(waited);
            let Some((wanted, reason)) =
                planned.filter(|(wanted, _)| wanted.is_zero() || !budget.is_zero())
            else {
                return result.map(|resp| {
                    self.observable(
                        &req,
                        Response {
                            attempts: attempt + 1,
                            ..resp
                        },
                    )
                });
            };
            attempt += 1;
            let wait = wanted.min(budget);
            waited += wait;
            tracing::info!(
                provider = %self.cfg.provider,
                purpose = %req.purpose,
                "retry {attempt}/{max} after {reason}, waiting {} ms",
                wait.as_millis()
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: the request and its redirect hops, each recorded.
    async fn attempt(&self, req: &Request) -> Result<Response, HttpError> {
        self.limiter.acquire().await;
        let deadline = Instant::now() + self.cfg.timeout;
        let original = req.url.clone();
        let mut hop = Hop {
            method: req.method.clone(),
            url: req.url.clone(),
            headers: self.initial_headers(req),
            body: req.form.as_ref().map(|pairs| encode_form(pairs)),
        };
        let mut redirects = 0usize;
        loop {
            if redirects > 0 {
                self.limiter.acquire().await;
            }
            let id = self.recorder.next_id();
            let started_at = chrono::Utc::now();
            let t0 = Instant::now();
            let mut got = Received::default();
            let result = match tokio::time::timeout_at(deadline, self.hop(&hop, &mut got)).await {
                Ok(r) => r,
                Err(_) => Err(HttpError::Timeout {
                    after: self.cfg.timeout,
                }),
            };
            let next = result
                .and_then(|()| {
                    if never_follows(&req.purpose) {
                        Ok(None)
                    } else {
                        self.redirect_target(&hop, &got, redirects)
                    }
                })
                .and_then(|target| guard_origin(req, &original, target));
            let error = next.as_ref().err().map(|e| format!("{}: {e}", e.class()));
            let body = std::mem::take(&mut got.body).freeze();
            self.record(
                req,
                &hop,
                &got,
                &body,
                id.clone(),
                error,
                started_at,
                t0.elapsed(),
            );
            let Some(target) = next? else {
                return Ok(Response {
                    status: got.status.unwrap_or_default(),
                    headers: got.headers,
                    body,
                    url: hop.url,
                    exchange_id: id,
                    attempts: 1,
                });
            };
            redirects += 1;
            hop = self.follow(req, hop, &got, target, &original);
        }
    }

    /// Remembers every credential of the request, before it is sent, so that no
    /// later text leaks it — the answer to this very request included, however
    /// the provider spells it back (raw, URL-encoded, inside a base64 blob).
    fn register_secrets(&self, req: &Request) {
        match &req.auth {
            Auth::None => {}
            Auth::Bearer(token) => self.redactor.register_token(token.expose_secret()),
            Auth::Basic { user, password } => {
                self.redactor.register_token(password.expose_secret());
                self.redactor
                    .register_secret(&basic_credentials(user, password));
            }
        }
        for (name, value) in req.form.iter().flatten() {
            if self.redactor.is_secret_param(name) {
                self.redactor.register_token(value);
            }
        }
    }

    /// The answer as probes may observe it. A resource, discovery or probe
    /// answer is where a provider reflects the caller's token (a JSON key, a
    /// deprecation or `Link` header, an error text): every registered secret
    /// is scrubbed from its headers and body here, once, so every observation
    /// (shapes, values, signals, permission cells, messages) is built from
    /// the redacted copy. The answers of credential requests (see
    /// [`origin_locked`]) are handed over as received: the token manager
    /// reads the credentials they carry and observes only secret-free facts.
    fn observable(&self, req: &Request, mut resp: Response) -> Response {
        if origin_locked(&req.purpose) {
            return resp;
        }
        self.redactor
            .redact_observed_headers_in_place(&mut resp.headers);
        if let Some(body) = self.redactor.redact_observed_body(&resp.body) {
            resp.body = Bytes::from(body);
        }
        resp
    }

    /// The headers as they go on the wire, so the recording shows exactly what was sent.
    fn initial_headers(&self, req: &Request) -> Vec<(String, String)> {
        let mut headers = vec![("user-agent".to_string(), self.cfg.user_agent.clone())];
        headers.extend(req.headers.iter().cloned());
        match &req.auth {
            Auth::None => {}
            Auth::Bearer(token) => headers.push((
                "authorization".to_string(),
                format!("Bearer {}", token.expose_secret()),
            )),
            Auth::Basic { user, password } => headers.push((
                "authorization".to_string(),
                format!("Basic {}", basic_credentials(user, password)),
            )),
        }
        let has_content_type = headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if req.form.is_some() && !has_content_type {
            headers.push((
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ));
        }
        headers
    }

    /// Sends one hop and reads its body into `got` within the limits.
    async fn hop(&self, hop: &Hop, got: &mut Received) -> Result<(), HttpError> {
        if let Err(refusal) = origin::check_url(&hop.url, self.cfg.allow_insecure_http) {
            return Err(match refusal {
                Refusal::Insecure => HttpError::InsecureUrl {
                    url: self.redactor.redact_url(&hop.url),
                },
                Refusal::Scheme(scheme) => HttpError::Client {
                    reason: format!("unsupported url scheme `{scheme}`"),
                },
            });
        }
        let client = match Route::of(&hop.url) {
            Route::Remote => &self.remote,
            Route::Loopback => &self.direct,
            Route::LoopbackPlain => &self.direct_plain,
        }
        .get(&self.redactor)?;
        let mut builder = client
            .request(hop.method.clone(), hop.url.clone())
            .headers(header_map(&hop.headers)?);
        if let Some(body) = &hop.body {
            builder = builder.body(body.clone());
        }
        let mut resp = builder.send().await.map_err(|e| self.classify(e))?;
        got.status = Some(resp.status().as_u16());
        got.headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (n.as_str().to_string(), value)
            })
            .collect();
        if let Some(encoding) = resp
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|e| !e.is_empty() && e != "identity")
        {
            return Err(HttpError::ContentEncoding { encoding });
        }
        let limit = self.cfg.max_body_bytes;
        if let Some(len) = resp.content_length() {
            if len > limit {
                return Err(HttpError::BodyTooLarge { limit });
            }
            // The body is kept until the exchanges are handed out: one exact
            // allocation instead of a buffer doubled chunk by chunk (up to 2×
            // the body, held for the whole run).
            got.body.reserve(usize::try_from(len).unwrap_or(0));
        }
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(e))? {
            got.body_bytes += chunk.len() as u64;
            if got.body_bytes > limit {
                // Dropping `resp` closes the connection: the rest is never read.
                return Err(HttpError::BodyTooLarge { limit });
            }
            got.body.extend_from_slice(&chunk);
        }
        Ok(())
    }

    /// `Some(url)` when the hop's response is a redirect to follow.
    fn redirect_target(
        &self,
        hop: &Hop,
        got: &Received,
        redirects: usize,
    ) -> Result<Option<Url>, HttpError> {
        if !matches!(got.status, Some(301 | 302 | 303 | 307 | 308)) {
            return Ok(None);
        }
        let Some((_, location)) = got.headers.iter().find(|(n, _)| n == "location") else {
            // A 3xx without a target is the provider's answer, not a redirect.
            return Ok(None);
        };
        if redirects >= self.cfg.max_redirects {
            return Err(HttpError::TooManyRedirects {
                max: self.cfg.max_redirects,
            });
        }
        let target = hop.url.join(location).map_err(|e| HttpError::BadRedirect {
            reason: format!("unusable location header: {e}"),
        })?;
        match origin::check_url(&target, self.cfg.allow_insecure_http) {
            Ok(()) => Ok(Some(target)),
            Err(Refusal::Insecure) => Err(HttpError::InsecureUrl {
                url: self.redactor.redact_url(&target),
            }),
            Err(Refusal::Scheme(scheme)) => Err(HttpError::BadRedirect {
                reason: format!("redirect to unsupported scheme `{scheme}`"),
            }),
        }
    }

    /// The next hop: method rewritten per RFC 9110 §15.4, credentials dropped
    /// for good once the chain leaves the original origin: `Authorization`,
    /// `Proxy-Authorization`, `Cookie` and every header the request declared
    /// (suite `headers:` may carry API keys under any name).
    fn follow(
        &self,
        req: &Request,
        mut hop: Hop,
        got: &Received,
        target: Url,
        original: &Url,
    ) -> Hop {
        let status = got.status.unwrap_or_default();
        let to_get = (status == 303 && hop.method != Method::HEAD)
            || (matches!(status, 301 | 302) && hop.method == Method::POST);
        if to_get {
            hop.method = Method::GET;
            hop.body = None;
            hop.headers.retain(|(n, _)| {
                !n.eq_ignore_ascii_case("content-type") && !n.eq_ignore_ascii_case("content-length")
            });
        }
        if !origin::same_origin(&target, original) {
            hop.headers.retain(|(n, _)| {
                let declared = req.headers.iter().any(|(d, _)| d.eq_ignore_ascii_case(n));
                let n = n.to_ascii_lowercase();
                !declared && n != "authorization" && n != "proxy-authorization" && n != "cookie"
            });
        }
        hop.url = target;
        hop
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        req: &Request,
        hop: &Hop,
        got: &Received,
        body_bytes: &bytes::Bytes,
        id: String,
        error: Option<String>,
        started_at: chrono::DateTime<chrono::Utc>,
        elapsed: Duration,
    ) {
        let r = &self.redactor;
        let body = match (&hop.body, &req.form) {
            (None, _) => None,
            (Some(_), Some(pairs)) => Some(r.redact_form(pairs)),
            (Some(raw), None) => Some(r.scrub(raw)),
        };
        let request = RecordedRequest {
            method: hop.method.to_string(),
            url: r.redact_url(&hop.url),
            headers: r.redact_headers(&hop.headers),
            body,
        };
        // The body is redacted when the exchanges are handed out (see `recorder`),
        // outside the request's concurrency slot.
        let response = got.status.map(|status| RecordedResponse {
            status,
            // A provider may reflect a token in a header's name, too.
            headers: r.redact_response_headers(&got.headers),
            body: None,
            body_bytes: got.body_bytes,
            body_truncated: false,
        });
        let exchange = Exchange {
            id,
            provider: self.cfg.provider.clone(),
            connection: req.connection.clone(),
            purpose: req.purpose.clone(),
            request,
            response,
            error: error.map(|e| r.scrub(&e)),
            started_at,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        };
        if got.status.is_some() && !body_bytes.is_empty() {
            let content_type = got
                .headers
                .iter()
                .find(|(n, _)| n == "content-type")
                .map(|(_, v)| v.clone());
            self.recorder.push_with_body(
                exchange,
                RawBody {
                    redactor: self.redactor.clone(),
                    content_type,
                    bytes: body_bytes.clone(),
                    max_chars: self.cfg.record_body_chars,
                },
            );
        } else {
            self.recorder.push(exchange);
        }
    }

    fn classify(&self, e: reqwest::Error) -> HttpError {
        let timeout = e.is_timeout();
        let connect = e.is_connect();
        let reason = self.redactor.scrub(&error_chain(e));
        if connect && is_tls_failure(&reason) {
            return HttpError::Tls { reason };
        }
        match (connect, timeout) {
            (true, true) => HttpError::Timeout {
                after: self.cfg.connect_timeout,
            },
            (true, false) => HttpError::Connect { reason },
            (false, true) => HttpError::Timeout {
                after: self.cfg.timeout,
            },
            (false, false) => HttpError::Transport { reason },
        }
    }
}

/// True for requests that carry client or grant credentials in their body or
/// client authentication: they stay on the origin they were addressed to.
fn origin_locked(purpose: &str) -> bool {
    ["token:", "device:", "revoke:", "introspect:"]
        .iter()
        .any(|p| purpose.starts_with(p))
}

/// True for requests whose redirect is the answer itself: a front-channel authorization
/// request (`authorize:`) is never followed past the provider's first answer (the app probe's
/// callback probe reads the `Location` itself; following it could reach the callback).
fn never_follows(purpose: &str) -> bool {
    purpose.starts_with("authorize:")
}

/// Refuses a redirect of an origin-locked request (see [`origin_locked`]) that
/// leaves the original origin. Only origins are named: no path or query.
fn guard_origin(
    req: &Request,
    original: &Url,
    target: Option<Url>,
) -> Result<Option<Url>, HttpError> {
    match target {
        Some(t) if origin_locked(&req.purpose) && !origin::same_origin(&t, original) => {
            Err(HttpError::CrossOriginRedirect {
                from: original.origin().ascii_serialization(),
                to: t.origin().ascii_serialization(),
            })
        }
        other => Ok(other),
    }
}

/// The error and its sources, without the URL (which may carry a code or token).
fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// rustls reports certificate and handshake failures through an `io::Error`
/// whose text is all that survives hyper's connector; these are its wordings
/// (`invalid peer certificate: UnknownIssuer`, `received fatal alert: …`).
fn is_tls_failure(chain: &str) -> bool {
    const MARKERS: [&str; 5] = [
        "invalid peer certificate",
        "peer sent no certificates",
        "peer is incompatible",
        "received fatal alert",
        "tls handshake",
    ];
    let lower = chain.to_ascii_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

fn basic_credentials(user: &str, password: &SecretString) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password.expose_secret()))
}

fn encode_form(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Header values are never quoted in the error: they may be credentials.
fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, HttpError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let header_name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| HttpError::Client {
                reason: "invalid header name".to_string(),
            })?;
        let header_value = HeaderValue::from_str(value).map_err(|_| HttpError::Client {
            reason: format!("invalid value for header `{header_name}`"),
        })?;
        map.append(header_name, header_value);
    }
    Ok(map)
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "client_retry_tests.rs"]
mod retry_tests;
