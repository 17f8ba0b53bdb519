//! The simulated resource API: bearer checks, each endpoint's deliberately inconsistent
//! missing-scope answer, volatile and deprecation headers, pagination cursors and the
//! body-limit test helpers.
//! Response shapes come from `data`; tokens from `tokens`.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration as ChronoDuration, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::data::{self, Account, Metrics, Volatile};
use super::feeds;
use super::options::Switches;
use super::server::{AppState, bump};
use super::tokens::{RandomUnavailable, random_bytes, random_in, uuid_v4};

/// Account an app token (`client_credentials`) reads: the app's own home workspace.
const APP_TOKEN_ACCOUNT: &str = "acme-corp";
const DEFAULT_LIMIT: usize = 2;
const MAX_LIMIT: usize = 50;
const MAX_BIG_MIB: u64 = 1024;
const MAX_DEPTH: usize = 1_000_000;
const CHUNK: usize = 64 * 1024;
/// What every answer of `/v1/invoices` carries under the deprecation drift: an RFC 9745
/// structured date (2026-01-01T00:00:00Z), an RFC 8594 sunset, the links to read and a vendor
/// warning.
const INVOICES_DEPRECATION: [(&str, &str); 4] = [
    ("deprecation", "@1767225600"),
    ("sunset", "Wed, 30 Jun 2027 23:59:59 GMT"),
    (
        "link",
        "<https://developer.sim.example/changelog#invoices-v1>; rel=\"deprecation\", \
         <https://developer.sim.example/migrate/invoices-v2>; rel=\"sunset\"",
    ),
    ("x-api-warn", "invoices v1 is deprecated, use /v2/invoices"),
];
/// A legacy RFC 7234 warning on every `/v1/audit-log` answer in every version: stable noise
/// that a harness must baseline rather than report on each run.
const AUDIT_LOG_WARNING: &str = "299 - \"audit-log pagination will change\"";
static FILLER: [u8; CHUNK] = [b'a'; CHUNK];

/// The per-request volatile values every resource response carries.
struct Req {
    vol: Volatile,
    etag: String,
}

/// Who is calling, from a live bearer token.
struct Caller {
    account: &'static Account,
    scopes: Vec<String>,
}

impl Caller {
    fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

impl Req {
    fn new() -> Result<Req, RandomUnavailable> {
        let tag: String = random_bytes::<8>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Req {
            vol: Volatile {
                request_id: uuid_v4()?,
                now: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            },
            etag: format!("\"{tag}\""),
        })
    }

    /// Adds `X-Request-Id` and `ETag`; hyper adds `Date`.
    fn decorate(&self, mut resp: Response) -> Response {
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.vol.request_id) {
            h.insert("x-request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.etag) {
            h.insert(header::ETAG, v);
        }
        resp
    }

    fn json(&self, status: StatusCode, body: Value, www: Option<&'static str>) -> Response {
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(w) = www {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(w));
        }
        self.decorate(resp)
    }

    fn bad_request(&self, message: &str) -> Response {
        self.json(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "message": message}),
            None,
        )
    }
}

/// Counts the request, creates its volatile values and resolves the bearer token.
/// `Ok(Err(resp))` is the finished 401.
fn authed(
    s: &AppState,
    headers: &HeaderMap,
) -> Result<Result<(Req, Caller), Response>, RandomUnavailable> {
    bump(&s.counters.api_requests);
    let req = Req::new()?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            let (scheme, tok) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| tok.trim())
        });
    let grant = token.and_then(|t| s.store().access(t));
    let caller = grant.and_then(|g| {
        let account = data::account(g.account.unwrap_or(APP_TOKEN_ACCOUNT))?;
        Some(Caller {
            account,
            scopes: g.scopes,
        })
    });
    Ok(match caller {
        Some(c) => Ok((req, c)),
        None => Err(req.json(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_token"}),
            Some("Bearer realm=\"sim\", error=\"invalid_token\""),
        )),
    })
}

macro_rules! authed_or_return {
    ($s:expr, $h:expr) => {
        match authed(&$s, &$h)? {
            Ok(x) => x,
            Err(resp) => return Ok(resp),
        }
    };
}

/// `GET /v1/me`: 403 with an RFC 6750 challenge (no realm) without `profile`; `email` is
/// silently absent without the `email` scope.
pub(crate) async fn me(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, RandomUnavailable> {
    let (req, caller) = authed_or_return!(s, headers);
    if !caller.has("profile") {
        return Ok(req.json(
            StatusCode::FORBIDDEN,
            json!({"error": "insufficient_scope"}),
            Some("Bearer error=\"insufficient_scope\", scope=\"profile\""),
        ));
    }
    let body = data::me(caller.account, s.switches(), caller.has("email"), &req.vol);
    Ok(req.json(StatusCode::OK, body, None))
}

/// An opaque cursor: random bytes followed by the offset, so equal offsets never look equal.
fn encode_cursor(offset: usize) -> Result<String, RandomUnavailable> {
    let mut raw = [0u8; 12];
    raw[..8].copy_from_slice(&random_bytes::<8>()?);
    let off = u32::try_from(offset).unwrap_or(u32::MAX);
    raw[8..].copy_from_slice(&off.to_be_bytes());
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let tail: [u8; 4] = raw.get(8..12)?.try_into().ok()?;
    (raw.len() == 12).then(|| u32::from_be_bytes(tail) as usize)
}

fn query_pairs(q: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn query_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Adds fixed headers to an answer, whatever its status.
fn with_headers(mut resp: Response, pairs: &[(&'static str, &'static str)]) -> Response {
    let h = resp.headers_mut();
    for (name, value) in pairs {
        h.insert(*name, HeaderValue::from_static(value));
    }
    resp
}

/// `GET /v1/invoices?limit=&cursor=`: 403 with a realm'd RFC 6750 challenge without
/// `invoices:read` (scope drift: without `invoices:read` or `email`). Under the deprecation
/// drift every answer, errors included, carries [`INVOICES_DEPRECATION`].
pub(crate) async fn invoices(
    State(s): State<AppState>,
    headers: HeaderMap,
    query: RawQuery,
) -> Result<Response, RandomUnavailable> {
    // Read once so the headers and the body agree even when the switches flip meanwhile.
    let sw = s.switches();
    let resp = invoices_answer(&s, sw, &headers, query)?;
    Ok(if sw.deprecation {
        with_headers(resp, &INVOICES_DEPRECATION)
    } else {
        resp
    })
}

fn invoices_answer(
    s: &AppState,
    sw: Switches,
    headers: &HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, RandomUnavailable> {
    let (req, caller) = authed_or_return!(s, headers);
    let (required, challenge): (&[&str], &'static str) = if sw.scopes {
        (
            &["invoices:read", "email"],
            "Bearer realm=\"sim\", error=\"insufficient_scope\", scope=\"invoices:read email\"",
        )
    } else {
        (
            &["invoices:read"],
            "Bearer realm=\"sim\", error=\"insufficient_scope\", scope=\"invoices:read\"",
        )
    };
    if !required.iter().all(|sc| caller.has(sc)) {
        return Ok(req.json(
            StatusCode::FORBIDDEN,
            json!({"error": "insufficient_scope"}),
            Some(challenge),
        ));
    }
    let pairs = query_pairs(q);
    let limit = match query_get(&pairs, "limit").map(str::parse::<usize>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if n >= 1 => n.min(MAX_LIMIT),
        Some(_) => return Ok(req.bad_request("limit must be a positive integer")),
    };
    let offset = match query_get(&pairs, "cursor").map(decode_cursor) {
        None => 0,
        Some(Some(o)) => o,
        Some(None) => return Ok(req.bad_request("cursor is not valid")),
    };
    let total = data::invoice_count(caller.account);
    let page = data::invoice_page(caller.account, sw, offset, limit);
    let has_more = offset.saturating_add(limit) < total;
    let next_cursor: Value = if has_more {
        encode_cursor(offset + limit)?.into()
    } else {
        Value::Null
    };
    let body = json!({
        "data": page,
        "has_more": has_more,
        "next_cursor": next_cursor,
        "request_id": req.vol.request_id,
    });
    Ok(req.json(StatusCode::OK, body, None))
}

fn random_metrics() -> Result<Metrics, RandomUnavailable> {
    // At least 5 000 impressions leave room for more than 100 clicks at a CTR of at most 5 %,
    // so zero conversions can never be explained by too little traffic.
    let impressions = random_in(5_000, 50_000)?;
    let clicks = random_in(101, impressions / 20)?;
    let conversions = random_in(1, (clicks / 5).max(1))?;
    // Rounded, but never to zero: a zero here is exactly the drift a harness must flag.
    let ctr = ((clicks as f64 / impressions as f64) * 10_000.0).round() / 10_000.0;
    Ok(Metrics {
        impressions,
        clicks,
        conversions,
        // `.25` keeps a fractional part so serde always writes a float.
        spend: random_in(1, 5_000)? as f64 + 0.25,
        ctr: ctr.max(0.0001),
        video_views: random_in(1, 10_000)?,
    })
}

/// `GET /v1/reports/summary`: a 401 "scope does not match" without an error attribute when
/// `reports:read` is missing (Atlassian style).
pub(crate) async fn reports(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, RandomUnavailable> {
    let (req, caller) = authed_or_return!(s, headers);
    if !caller.has("reports:read") {
        return Ok(req.json(
            StatusCode::UNAUTHORIZED,
            json!({"error": "unauthorized", "message": "scope does not match"}),
            Some("Bearer realm=\"sim\""),
        ));
    }
    let today = Utc::now().date_naive();
    let yesterday = today - ChronoDuration::days(1);
    let start = format!("{}T00:00:00Z", yesterday.format("%Y-%m-%d"));
    let end = format!("{}T00:00:00Z", today.format("%Y-%m-%d"));
    let mut metrics = random_metrics()?;
    if s.whole_decimals.as_ref().is_some_and(|w| w.next_whole()) {
        metrics.spend = metrics.spend.trunc();
    }
    let body = data::report(
        caller.account,
        s.switches(),
        (&start, &end),
        &metrics,
        &req.vol,
    );
    Ok(req.json(StatusCode::OK, body, None))
}

/// `GET /v1/workspace/settings`: a GitHub-style 404 when `admin:read` is missing.
pub(crate) async fn workspace(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, RandomUnavailable> {
    let (req, caller) = authed_or_return!(s, headers);
    if !caller.has("admin:read") {
        return Ok(req.json(
            StatusCode::NOT_FOUND,
            json!({"error": "not_found", "message": "Not Found"}),
            None,
        ));
    }
    let body = data::workspace(caller.account, s.switches(), &req.vol);
    Ok(req.json(StatusCode::OK, body, None))
}

/// `GET /v1/audit-log`: a bare 403 without any challenge when `audit:read` is missing. Every
/// answer carries the `Warning` [`AUDIT_LOG_WARNING`].
pub(crate) async fn audit_log(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, RandomUnavailable> {
    let resp = audit_log_answer(&s, &headers)?;
    Ok(with_headers(resp, &[("warning", AUDIT_LOG_WARNING)]))
}

fn audit_log_answer(s: &AppState, headers: &HeaderMap) -> Result<Response, RandomUnavailable> {
    let (req, caller) = authed_or_return!(s, headers);
    if !caller.has("audit:read") {
        return Ok(req.json(StatusCode::FORBIDDEN, json!({"error": "forbidden"}), None));
    }
    Ok(req.json(
        StatusCode::OK,
        data::audit_log(caller.account, &req.vol),
        None,
    ))
}

/// `GET /v1/channels`: Slack's envelope. A missing `channels:read` is HTTP 200 with
/// `ok: false`, naming the needed scope and the token's scopes.
pub(crate) async fn channels(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, RandomUnavailable> {
    let (req, caller) = authed_or_return!(s, headers);
    if !caller.has("channels:read") {
        let body = json!({
            "ok": false,
            "error": "missing_scope",
            "needed": "channels:read",
            "provided": caller.scopes.join(" "),
        });
        return Ok(req.json(StatusCode::OK, body, None));
    }
    let body = json!({
        "ok": true,
        "channels": feeds::channels(caller.account.slug),
        "response_metadata": {"next_cursor": ""},
    });
    Ok(req.json(StatusCode::OK, body, None))
}

/// `GET /v1/activities`: Strava. Without `activities:read` (or `activities:read_all`, which
/// implies it) a 401 "Authorization Error"; without `activities:read_all` the private
/// activities are silently left out of a normal 200.
pub(crate) async fn activities(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, RandomUnavailable> {
    let (req, caller) = authed_or_return!(s, headers);
    let read_all = caller.has("activities:read_all");
    if !read_all && !caller.has("activities:read") {
        let body = json!({
            "message": "Authorization Error",
            "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}],
        });
        return Ok(req.json(StatusCode::UNAUTHORIZED, body, Some("Bearer realm=\"sim\"")));
    }
    let body = json!({
        "data": feeds::activities(caller.account.slug, read_all),
        "request_id": req.vol.request_id,
    });
    Ok(req.json(StatusCode::OK, body, None))
}

/// Chunk `i` of `n` of a JSON string body: a quote opens the first chunk and closes the last.
fn big_chunk(i: u64, n: u64) -> Bytes {
    if i == 0 || i + 1 == n {
        let mut v = FILLER.to_vec();
        if i == 0 {
            v[0] = b'"';
        }
        if i + 1 == n {
            v[CHUNK - 1] = b'"';
        }
        Bytes::from(v)
    } else {
        Bytes::from_static(&FILLER)
    }
}

/// `GET /v1/big?mib=N` (default 1): exactly N MiB, streamed in 64 KiB chunks without a
/// `Content-Length` and never buffered, so a client's body limit can be proven.
pub(crate) async fn big(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, RandomUnavailable> {
    let (req, _caller) = authed_or_return!(s, headers);
    let pairs = query_pairs(q);
    let mib = match query_get(&pairs, "mib").map(str::parse::<u64>) {
        None => 1,
        Some(Ok(n)) if (1..=MAX_BIG_MIB).contains(&n) => n,
        Some(_) => return Ok(req.bad_request("mib must be an integer from 1 to 1024")),
    };
    let n = mib * (1024 * 1024 / CHUNK as u64);
    let stream =
        futures_util::stream::iter((0..n).map(move |i| Ok::<_, Infallible>(big_chunk(i, n))));
    let resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response();
    Ok(req.decorate(resp))
}

/// `GET /v1/deep?depth=N`: `[[…]]` nested N deep, for a client's nesting limit.
pub(crate) async fn deep(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, RandomUnavailable> {
    let (req, _caller) = authed_or_return!(s, headers);
    let pairs = query_pairs(q);
    let depth = match query_get(&pairs, "depth").map(str::parse::<usize>) {
        Some(Ok(n)) if (1..=MAX_DEPTH).contains(&n) => n,
        _ => return Ok(req.bad_request("depth must be an integer from 1 to 1000000")),
    };
    let mut body = "[".repeat(depth);
    body.push_str(&"]".repeat(depth));
    let resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    Ok(req.decorate(resp))
}

/// Any other path.
/// `GET /v1/echo[/…]`: what the request carried, for the suite-feature tests (issue 19):
/// whether an `Authorization` header came, the `X-Tenant-Id` header, the path and the query;
/// `ids=a,b` lists `data: [{id: a}, {id: b}]` for a chained endpoint to read. Needs no token.
pub(crate) async fn echo(
    State(s): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, RandomUnavailable> {
    bump(&s.counters.api_requests);
    let req = Req::new()?;
    let pairs = query_pairs(uri.query().map(str::to_string));
    let data: Vec<Value> = query_get(&pairs, "ids")
        .unwrap_or("")
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| json!({ "id": id }))
        .collect();
    let query: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let body = json!({
        "authorization": headers.contains_key(header::AUTHORIZATION),
        "tenant": headers.get("x-tenant-id").and_then(|v| v.to_str().ok()),
        "path": uri.path(),
        "query": query,
        "data": data,
    });
    Ok(req.json(StatusCode::OK, body, None))
}

pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": "not_found", "message": "Not Found"})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_opaque_random_and_round_trip() {
        let a = encode_cursor(2).unwrap();
        let b = encode_cursor(2).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert_eq!(decode_cursor(&a), Some(2));
        assert_eq!(decode_cursor(&b), Some(2));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor("AAAA"), None);
    }

    #[test]
    fn big_chunks_form_one_json_string() {
        let n = 16;
        let first = big_chunk(0, n);
        let mid = big_chunk(5, n);
        let last = big_chunk(n - 1, n);
        assert_eq!(first.len(), CHUNK);
        assert_eq!(first[0], b'"');
        assert_eq!(first[CHUNK - 1], b'a');
        assert!(mid.iter().all(|b| *b == b'a'));
        assert_eq!(last[0], b'a');
        assert_eq!(last[CHUNK - 1], b'"');
    }

    #[test]
    fn metrics_are_never_zero() {
        for _ in 0..200 {
            let m = random_metrics().unwrap();
            assert!(m.impressions >= 5_000 && m.clicks > 100 && m.conversions >= 1);
            assert!(m.clicks <= m.impressions / 20 && m.conversions <= m.clicks / 5);
            assert!(m.video_views >= 1);
            assert!(m.spend > 0.0 && m.spend.fract() == 0.25);
            assert!(m.ctr > 0.0 && m.ctr < 1.0, "{}", m.ctr);
        }
    }
}
