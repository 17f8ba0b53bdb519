use super::*;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::any;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Fast waits so that every test stays well under a second of sleeping.
fn fast_cfg() -> ClientConfig {
    ClientConfig {
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        ..ClientConfig::new("sim")
    }
}

fn client_with(cfg: ClientConfig) -> (HttpClient, ExchangeRecorder) {
    let recorder = ExchangeRecorder::new();
    let redactor = Arc::new(Redactor::new(&[]).expect("redactor"));
    let client = HttpClient::new(cfg, redactor, recorder.clone());
    (client, recorder)
}

/// Answers the first `failures` requests with `status` and `headers`, then 200 `ok`.
async fn flaky(
    failures: usize,
    status: u16,
    headers: &'static [(&'static str, &'static str)],
) -> SocketAddr {
    let seen = Arc::new(AtomicUsize::new(0));
    let app = Router::new().route(
        "/r",
        any(move || {
            let seen = seen.clone();
            async move {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                if n < failures {
                    let code = StatusCode::from_u16(status).expect("status");
                    let mut resp = (code, "busy").into_response();
                    for (name, value) in headers {
                        resp.headers_mut()
                            .insert(*name, value.parse().expect("header value"));
                    }
                    resp
                } else {
                    (StatusCode::OK, "ok").into_response()
                }
            }
        }),
    );
    serve(app).await
}

fn req(method: Method, addr: SocketAddr, purpose: &str) -> Request {
    let url = Url::parse(&format!("http://{addr}/r")).expect("url");
    Request::new(method, url, purpose)
}

fn statuses(recorder: &ExchangeRecorder) -> Vec<Option<u16>> {
    recorder
        .snapshot()
        .iter()
        .map(|x| x.response.as_ref().map(|r| r.status))
        .collect()
}

#[tokio::test]
async fn get_429_with_retry_after_is_retried_and_succeeds() {
    let addr = flaky(1, 429, &[("retry-after", "0")]).await;
    let (client, recorder) = client_with(fast_cfg());
    let resp = client
        .send(req(Method::GET, addr, "endpoint:r"))
        .await
        .expect("response");
    assert_eq!(resp.status, 200);
    assert_eq!(statuses(&recorder), vec![Some(429), Some(200)]);
    let exchanges = recorder.snapshot();
    assert_eq!(resp.exchange_id, exchanges[1].id);
    assert_eq!(exchanges[1].purpose, "endpoint:r");
}

#[tokio::test]
async fn x_ratelimit_reset_seconds_are_waited() {
    let addr = flaky(1, 429, &[("x-ratelimit-reset", "1")]).await;
    let (client, recorder) = client_with(fast_cfg());
    let t0 = Instant::now();
    let resp = client
        .send(req(Method::GET, addr, "endpoint:r"))
        .await
        .expect("response");
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(resp.status, 200);
    assert_eq!(statuses(&recorder), vec![Some(429), Some(200)]);
}

#[tokio::test]
async fn a_long_retry_after_is_capped_by_max_retry_wait() {
    let addr = flaky(1, 429, &[("retry-after", "3600")]).await;
    let cfg = ClientConfig {
        max_retry_wait: Duration::from_millis(20),
        ..fast_cfg()
    };
    let (client, recorder) = client_with(cfg);
    let t0 = Instant::now();
    let resp = client
        .send(req(Method::GET, addr, "endpoint:r"))
        .await
        .expect("response");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(resp.status, 200);
    assert_eq!(statuses(&recorder), vec![Some(429), Some(200)]);
}

#[tokio::test]
async fn get_503_then_200_is_retried() {
    let addr = flaky(1, 503, &[]).await;
    let (client, recorder) = client_with(fast_cfg());
    let resp = client
        .send(req(Method::GET, addr, "endpoint:r"))
        .await
        .expect("response");
    assert_eq!(resp.status, 200);
    assert_eq!(statuses(&recorder), vec![Some(503), Some(200)]);
}

#[tokio::test]
async fn post_500_is_never_retried() {
    let addr = flaky(1, 500, &[]).await;
    let (client, recorder) = client_with(fast_cfg());
    let resp = client
        .send(req(Method::POST, addr, "endpoint:r"))
        .await
        .expect("response");
    assert_eq!(resp.status, 500);
    assert_eq!(statuses(&recorder), vec![Some(500)]);
}

#[tokio::test]
async fn token_request_is_retried_on_429_only() {
    let addr = flaky(1, 429, &[("retry-after", "0")]).await;
    let (client, recorder) = client_with(fast_cfg());
    let resp = client
        .send(req(Method::POST, addr, "token:refresh"))
        .await
        .expect("response");
    assert_eq!(resp.status, 200);
    assert_eq!(statuses(&recorder), vec![Some(429), Some(200)]);

    let addr = flaky(1, 503, &[]).await;
    let (client, recorder) = client_with(fast_cfg());
    let resp = client
        .send(req(Method::POST, addr, "token:refresh"))
        .await
        .expect("response");
    assert_eq!(resp.status, 503);
    assert_eq!(statuses(&recorder), vec![Some(503)]);

    // A 429 on a POST that is not a token request is not retried either.
    let addr = flaky(1, 429, &[("retry-after", "0")]).await;
    let (client, recorder) = client_with(fast_cfg());
    let resp = client
        .send(req(Method::POST, addr, "endpoint:r"))
        .await
        .expect("response");
    assert_eq!(resp.status, 429);
    assert_eq!(statuses(&recorder), vec![Some(429)]);
}

#[tokio::test]
async fn connection_refused_is_retried_for_get_and_the_last_error_returned() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let cfg = ClientConfig {
        retries: 2,
        ..fast_cfg()
    };
    let (client, recorder) = client_with(cfg);
    let err = client
        .send(req(Method::GET, addr, "endpoint:r"))
        .await
        .expect_err("refused");
    assert_eq!(err.class(), "connect");
    let exchanges = recorder.snapshot();
    assert_eq!(exchanges.len(), 3);
    for x in &exchanges {
        assert!(x.response.is_none());
        assert!(
            x.error
                .as_deref()
                .is_some_and(|e| e.starts_with("connect: ")),
            "{:?}",
            x.error
        );
    }

    // The same failure on a POST is attempted once.
    let (client, recorder) = client_with(fast_cfg());
    let err = client
        .send(req(Method::POST, addr, "token:refresh"))
        .await
        .expect_err("refused");
    assert_eq!(err.class(), "connect");
    assert_eq!(recorder.snapshot().len(), 1);
}

#[tokio::test]
async fn exhausted_retries_return_the_last_response() {
    let addr = flaky(usize::MAX, 503, &[]).await;
    let cfg = ClientConfig {
        retries: 2,
        ..fast_cfg()
    };
    let (client, recorder) = client_with(cfg);
    let resp = client
        .send(req(Method::GET, addr, "endpoint:r"))
        .await
        .expect("response");
    assert_eq!(resp.status, 503);
    assert_eq!(statuses(&recorder), vec![Some(503); 3]);
    assert_eq!(resp.exchange_id, recorder.snapshot()[2].id);
    assert_eq!(resp.attempts, 3);
    let err = resp.into_available().expect_err("still unavailable");
    assert_eq!(
        err,
        HttpError::Unavailable {
            status: 503,
            attempts: 3
        }
    );
    assert_eq!(err.class(), "unavailable");
    assert_eq!(err.to_string(), "unavailable: HTTP 503 after 3 attempts");

    let (client, recorder) = client_with(ClientConfig {
        retries: 0,
        ..fast_cfg()
    });
    let resp = client
        .send(req(Method::GET, addr, "endpoint:r"))
        .await
        .expect("response");
    assert_eq!(resp.status, 503);
    assert_eq!(statuses(&recorder), vec![Some(503)]);
    assert_eq!(resp.attempts, 1);
}

#[test]
fn a_surviving_429_is_rate_limited_and_other_statuses_are_answers() {
    let resp = |status: u16, attempts: u32| Response {
        status,
        headers: vec![],
        body: Bytes::new(),
        url: Url::parse("http://127.0.0.1/").expect("url"),
        exchange_id: "x0001".into(),
        attempts,
    };
    let err = resp(429, 1).into_available().expect_err("429");
    assert_eq!(err.class(), "rate-limited");
    assert_eq!(err.to_string(), "rate limited: HTTP 429 after 1 attempt");
    for status in [200, 404, 500, 502] {
        assert_eq!(
            resp(status, 4).into_available().map(|r| r.status),
            Ok(status)
        );
    }
}

#[tokio::test]
async fn rate_limit_spaces_requests() {
    let addr = flaky(0, 200, &[]).await;
    let cfg = ClientConfig {
        rate: Some(Rate {
            requests: NonZeroU32::new(10).expect("non-zero"),
            per: Duration::from_secs(1),
        }),
        ..fast_cfg()
    };
    let (client, recorder) = client_with(cfg);
    let t0 = Instant::now();
    for _ in 0..20 {
        let resp = client
            .send(req(Method::GET, addr, "endpoint:r"))
            .await
            .expect("response");
        assert_eq!(resp.status, 200);
    }
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(1800), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(recorder.snapshot().len(), 20);
}

/// Issue 15 item 7: `429` with `Retry-After: 999999999` held each request
/// `retries × max_retry_wait` (180 s by default). The total wait of one
/// request is capped by `max_retry_wait`, then the 429 stands as rate-limited.
#[tokio::test]
async fn retry_after_cap_is_a_total_per_request() {
    let addr = flaky(usize::MAX, 429, &[("retry-after", "999999999")]).await;
    let cfg = ClientConfig {
        retries: 3,
        max_retry_wait: Duration::from_millis(300),
        ..fast_cfg()
    };
    let (client, recorder) = client_with(cfg);
    let t0 = Instant::now();
    let resp = client
        .send(req(Method::GET, addr, "endpoint:r"))
        .await
        .expect("response");
    let took = t0.elapsed();
    // One wait of the whole cap, then no budget left: 2 attempts, not 4 (≥ 900 ms).
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_millis(600), "{took:?}");
    assert_eq!(statuses(&recorder), vec![Some(429), Some(429)]);
    let err = resp.into_available().expect_err("rate limited");
    assert_eq!(err.class(), "rate-limited");
    assert_eq!(err.to_string(), "rate limited: HTTP 429 after 2 attempts");
}

/// Backoff waits share the same budget: many retries cannot add up past it.
#[tokio::test]
async fn backoff_waits_count_against_the_total_wait_cap() {
    let addr = flaky(usize::MAX, 503, &[]).await;
    let cfg = ClientConfig {
        retries: 1000,
        backoff_base: Duration::from_millis(40),
        backoff_max: Duration::from_millis(40),
        max_retry_wait: Duration::from_millis(200),
        ..fast_cfg()
    };
    let (client, _recorder) = client_with(cfg);
    let t0 = Instant::now();
    let resp = client
        .send(req(Method::GET, addr, "endpoint:r"))
        .await
        .expect("response");
    assert_eq!(resp.status, 503);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert!(resp.attempts < 1001, "{}", resp.attempts);
}

/// A spent budget stops only retries that would wait: `Retry-After: 0` is still retried.
#[tokio::test]
async fn a_spent_wait_budget_still_retries_what_needs_no_wait() {
    let addr = flaky(1, 429, &[("retry-after", "0")]).await;
    let cfg = ClientConfig {
        max_retry_wait: Duration::ZERO,
        ..fast_cfg()
    };
    let (client, recorder) = client_with(cfg);
    let resp = client
        .send(req(Method::GET, addr, "endpoint:r"))
        .await
        .expect("response");
    assert_eq!(resp.status, 200);
    assert_eq!(statuses(&recorder), vec![Some(429), Some(200)]);
}
