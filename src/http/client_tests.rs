use super::*;
use crate::model::Exchange;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap as AxHeaders, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;

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

fn client_with(cfg: ClientConfig) -> (HttpClient, ExchangeRecorder) {
    let recorder = ExchangeRecorder::new();
    let redactor = Arc::new(Redactor::new(&[]).expect("redactor"));
    let client = HttpClient::new(cfg, redactor, recorder.clone());
    (client, recorder)
}

fn client() -> (HttpClient, ExchangeRecorder) {
    client_with(ClientConfig::new("sim"))
}

fn get_req(addr: SocketAddr, path: &str) -> Request {
    let url = Url::parse(&format!("http://{addr}{path}")).expect("url");
    Request::new(Method::GET, url, "test")
}

fn bearer(token: &str) -> Auth {
    Auth::Bearer(SecretString::from(token.to_string()))
}

/// Echoes the authorization header it received as JSON.
async fn echo_auth(headers: AxHeaders) -> impl IntoResponse {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_string();
    axum::Json(serde_json::json!({ "authorization": auth }))
}

#[tokio::test]
async fn body_limit_stops_a_200_mib_stream_early() {
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let app = Router::new().route(
        "/big",
        get(move || {
            let counter = counter.clone();
            async move {
                let chunk = Bytes::from(vec![b'a'; 64 * 1024]);
                let total = 200u64 * 1024 * 1024;
                let stream = futures_util::stream::unfold(0u64, move |done| {
                    let chunk = chunk.clone();
                    let counter = counter.clone();
                    async move {
                        if done >= total {
                            return None;
                        }
                        counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                        Some((
                            Ok::<_, Infallible>(chunk.clone()),
                            done + chunk.len() as u64,
                        ))
                    }
                });
                Body::from_stream(stream)
            }
        }),
    );
    let addr = serve(app).await;
    let mut cfg = ClientConfig::new("sim");
    cfg.max_body_bytes = 1024 * 1024;
    let (client, recorder) = client_with(cfg);
    let err = client
        .send(get_req(addr, "/big"))
        .await
        .expect_err("too large");
    assert_eq!(err, HttpError::BodyTooLarge { limit: 1024 * 1024 });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server_sent = sent.load(Ordering::SeqCst);
    assert!(
        server_sent < 32 * 1024 * 1024,
        "server produced {server_sent} bytes"
    );
    let ex = recorder.take();
    assert_eq!(ex.len(), 1);
    assert_eq!(
        ex[0].error.as_deref(),
        Some("body-too-large: response body larger than the limit of 1048576 bytes")
    );
    let resp = ex[0].response.as_ref().expect("status was received");
    assert_eq!(resp.status, 200);
    assert!(resp.body_bytes > 1024 * 1024);
}

/// A raw server announcing a huge Content-Length and then sending nothing.
#[tokio::test]
async fn content_length_over_the_limit_fails_before_reading() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        if let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut sock, &mut buf).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 209715200\r\n\r\n";
            let _ = sock.write_all(head.as_bytes()).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    });
    let mut cfg = ClientConfig::new("sim");
    cfg.max_body_bytes = 1000;
    cfg.timeout = Duration::from_secs(20);
    let (client, _) = client_with(cfg);
    let t0 = std::time::Instant::now();
    let err = client
        .send(get_req(addr, "/"))
        .await
        .expect_err("too large");
    assert_eq!(err, HttpError::BodyTooLarge { limit: 1000 });
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn total_timeout_covers_a_slow_trickle() {
    let app = Router::new().route(
        "/slow",
        get(|| async {
            let stream = futures_util::stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Some((Ok::<_, Infallible>(Bytes::from_static(b"x")), ()))
            });
            Body::from_stream(stream)
        }),
    );
    let addr = serve(app).await;
    let mut cfg = ClientConfig::new("sim");
    cfg.timeout = Duration::from_millis(400);
    let (client, recorder) = client_with(cfg);
    let t0 = std::time::Instant::now();
    let err = client
        .send(get_req(addr, "/slow"))
        .await
        .expect_err("timeout");
    assert_eq!(
        err,
        HttpError::Timeout {
            after: Duration::from_millis(400)
        }
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    let ex = recorder.take();
    assert_eq!(
        ex[0].error.as_deref(),
        Some("timeout: request timed out after 400ms")
    );
    let resp = ex[0].response.as_ref().expect("headers arrived");
    assert_eq!(resp.status, 200);
    assert!(resp.body_bytes > 0);
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_connecting() {
    let (client, recorder) = client();
    let url = Url::parse("http://provider.invalid/token?code=sim_code_1").expect("url");
    let err = client
        .send(Request::new(Method::GET, url, "token:exchange"))
        .await
        .expect_err("insecure");
    assert_eq!(
        err.to_string(),
        "refusing plain http to non-loopback host in `http://provider.invalid/token?code=[REDACTED]`; pass --allow-insecure-http"
    );
    assert_eq!(err.class(), "insecure-url");
    let ex = recorder.take();
    assert_eq!(ex.len(), 1);
    assert!(ex[0].response.is_none());
    assert_eq!(
        ex[0].request.url,
        "http://provider.invalid/token?code=[REDACTED]"
    );
}

#[tokio::test]
async fn redirect_to_a_remote_plain_http_host_is_refused() {
    let app = Router::new().route(
        "/go",
        get(|| async {
            (
                StatusCode::FOUND,
                [("location", "http://provider.invalid/x")],
            )
        }),
    );
    let addr = serve(app).await;
    let (client, recorder) = client();
    let err = client
        .send(get_req(addr, "/go"))
        .await
        .expect_err("insecure hop");
    assert_eq!(err.class(), "insecure-url");
    assert_eq!(recorder.take().len(), 1);
}

#[tokio::test]
async fn same_origin_redirect_keeps_authorization() {
    let app = Router::new()
        .route(
            "/start",
            get(|| async { (StatusCode::FOUND, [("location", "/end")]) }),
        )
        .route("/end", get(echo_auth));
    let addr = serve(app).await;
    let (client, recorder) = client();
    let mut req = get_req(addr, "/start");
    req.auth = bearer("sim_at_same");
    let resp = client.send(req).await.expect("ok");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.url.path(), "/end");
    assert_eq!(resp.exchange_id, "x0002");
    // The echo proves the header reached `/end`; the answer a probe observes has the
    // reflected token redacted (issue 15: redaction where observations are made).
    assert_eq!(
        resp.json().expect("json"),
        serde_json::json!({"authorization": "Bearer [REDACTED]"})
    );
    let ex = recorder.take();
    assert_eq!(
        ex.iter()
            .map(|e| e.response.as_ref().map(|r| r.status))
            .collect::<Vec<_>>(),
        vec![Some(302), Some(200)]
    );
    let auth = |e: &Exchange| {
        e.request
            .headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(auth(&ex[1]).as_deref(), Some("Bearer [REDACTED]"));
    assert_eq!(
        ex[1].response.as_ref().and_then(|r| r.body.as_deref()),
        Some(r#"{"authorization":"Bearer [REDACTED]"}"#)
    );
    let all = serde_json::to_string(&ex).expect("serialise");
    assert!(!all.contains("sim_at_"), "{all}");
}

#[tokio::test]
async fn cross_origin_redirect_drops_credentials() {
    let seen: Arc<Mutex<Vec<AxHeaders>>> = Arc::default();
    let other = Router::new()
        .route(
            "/capture",
            any(
                |State(seen): State<Arc<Mutex<Vec<AxHeaders>>>>, headers: AxHeaders| async move {
                    seen.lock().expect("lock").push(headers);
                    "captured"
                },
            ),
        )
        .with_state(seen.clone());
    let other_addr = serve(other).await;
    let target = format!("http://{other_addr}/capture");
    let app = Router::new().route(
        "/start",
        any(move || {
            let target = target.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [("location", target)]) }
        }),
    );
    let addr = serve(app).await;
    let (client, recorder) = client();
    for auth in [
        bearer("sim_at_cross"),
        Auth::Basic {
            user: "client".to_string(),
            password: SecretString::from("sim_cs_cross".to_string()),
        },
    ] {
        let mut req = get_req(addr, "/start");
        req.auth = auth;
        req.headers
            .push(("Cookie".to_string(), "sid=1".to_string()));
        req.headers.push(("x-trace".to_string(), "t".to_string()));
        req.headers.push((
            "Ocp-Apim-Subscription-Key".to_string(),
            "k-cross".to_string(),
        ));
        let resp = client.send(req).await.expect("ok");
        assert_eq!(resp.body, Bytes::from_static(b"captured"));
    }
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 2);
    // Every header the request declared stays behind, whatever its name (issue 15).
    for headers in seen.iter() {
        assert!(headers.get("authorization").is_none(), "{headers:?}");
        assert!(headers.get("cookie").is_none(), "{headers:?}");
        assert!(headers.get("x-trace").is_none(), "{headers:?}");
        assert!(
            headers.get("ocp-apim-subscription-key").is_none(),
            "{headers:?}"
        );
        assert!(headers.get("user-agent").is_some(), "{headers:?}");
    }
    let ex = recorder.take();
    assert_eq!(ex.len(), 4);
    assert!(
        ex[1]
            .request
            .headers
            .iter()
            .all(|(n, _)| n != "authorization")
    );
}

/// `token-endpoint-redirected`: a token request answered with a redirect to
/// another origin is refused whatever the status; nothing reaches the other origin.
#[tokio::test]
async fn token_endpoint_redirected_to_another_origin_is_refused() {
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let other = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "{}"
        }
    });
    let other_addr = serve(other).await;
    let target = format!("http://{other_addr}/token");
    let app = Router::new()
        .route(
            "/same/{status}",
            post(
                |axum::extract::Path(status): axum::extract::Path<u16>| async move {
                    let status = StatusCode::from_u16(status).expect("status");
                    (status, [("location", "/token")])
                },
            ),
        )
        .route("/token", any(|| async { "here" }))
        .route(
            "/{status}",
            post(
                move |axum::extract::Path(status): axum::extract::Path<u16>| {
                    let target = target.clone();
                    async move {
                        let status = StatusCode::from_u16(status).expect("status");
                        (status, [("location", target)])
                    }
                },
            ),
        );
    let addr = serve(app).await;
    let (client, recorder) = client();
    for (purpose, status) in [
        ("token:refresh", 302u16),
        ("token:refresh", 307),
        ("token:refresh", 308),
        ("device:authorization", 307),
        ("revoke:refresh_token", 308),
        ("introspect:access_token", 301),
    ] {
        let mut req = Request::new(
            Method::POST,
            Url::parse(&format!("http://{addr}/{status}")).expect("url"),
            purpose,
        );
        req.form = Some(vec![("refresh_token".into(), "rt-secret-1".into())]);
        let err = client.send(req).await.expect_err("refused");
        assert_eq!(
            err.class(),
            "token-endpoint-redirected",
            "{purpose} {status}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "the token endpoint at `http://{addr}` redirected to another origin \
                 `http://{other_addr}`; credentials are never sent there"
            )
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    // One recorded hop each (the redirect), carrying the error class.
    let ex = recorder.take();
    assert_eq!(ex.len(), 6);
    assert!(ex.iter().all(|x| {
        x.error
            .as_deref()
            .is_some_and(|e| e.starts_with("token-endpoint-redirected: "))
    }));
    // A same-origin redirect of a token request is still followed.
    let req = Request::new(
        Method::POST,
        Url::parse(&format!("http://{addr}/same/307")).expect("url"),
        "token:refresh",
    );
    let resp = client.send(req).await.expect("same origin");
    assert_eq!(resp.body, Bytes::from_static(b"here"));
    // A probe's cross-origin redirect is followed (without its credentials).
    let req = Request::new(
        Method::POST,
        Url::parse(&format!("http://{addr}/307")).expect("url"),
        "endpoint:me",
    );
    let resp = client.send(req).await.expect("probe follows");
    assert_eq!(resp.status, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// The callback probe (issue 20 item 3): an `authorize:` request's `3xx` is the answer, read
/// but never followed, so the callback it points at is never called.
#[tokio::test]
async fn an_authorize_request_is_never_redirected() {
    let called = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route(
            "/authorize",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [("location", "/callback?error=access_denied")],
                )
            }),
        )
        .route(
            "/callback",
            get(|State(n): State<Arc<AtomicU64>>| async move {
                n.fetch_add(1, Ordering::Relaxed);
                "called"
            }),
        )
        .with_state(called.clone());
    let addr = serve(app).await;
    let (client, recorder) = client();
    let url = Url::parse(&format!("http://{addr}/authorize")).expect("url");
    let resp = client
        .send(Request::new(Method::GET, url, "authorize:callback-probe"))
        .await
        .expect("ok");
    assert_eq!(resp.status, 302);
    assert_eq!(resp.url.path(), "/authorize");
    assert_eq!(
        resp.header("location"),
        Some("/callback?error=access_denied")
    );
    assert_eq!(recorder.take().len(), 1);
    assert_eq!(called.load(Ordering::Relaxed), 0);
    // Any other purpose follows it.
    let url = Url::parse(&format!("http://{addr}/authorize")).expect("url");
    let resp = client
        .send(Request::new(Method::GET, url, "test"))
        .await
        .expect("ok");
    assert_eq!(resp.status, 200);
    assert_eq!(called.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn redirect_loop_is_cut_at_max_redirects() {
    let app = Router::new().route(
        "/loop",
        get(|| async { (StatusCode::FOUND, [("location", "/loop")]) }),
    );
    let addr = serve(app).await;
    let mut cfg = ClientConfig::new("sim");
    cfg.max_redirects = 3;
    let (client, recorder) = client_with(cfg);
    let err = client.send(get_req(addr, "/loop")).await.expect_err("loop");
    assert_eq!(err, HttpError::TooManyRedirects { max: 3 });
    let ex = recorder.take();
    assert_eq!(
        ex.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        vec!["x0001", "x0002", "x0003", "x0004"]
    );
    assert_eq!(
        ex[3].error.as_deref(),
        Some("redirects: more than 3 redirects")
    );
    assert_eq!(ex[2].error, None);
}

#[tokio::test]
async fn see_other_after_post_becomes_get_without_body() {
    let app = Router::new()
        .route(
            "/form",
            post(|| async { (StatusCode::SEE_OTHER, [("location", "/after")]) }),
        )
        .route(
            "/after",
            any(
                |method: Method, headers: AxHeaders, body: Bytes| async move {
                    format!(
                        "{method} {} {}",
                        body.len(),
                        headers.contains_key("content-type")
                    )
                },
            ),
        );
    let addr = serve(app).await;
    let (client, recorder) = client();
    let mut req = get_req(addr, "/form");
    req.method = Method::POST;
    req.form = Some(vec![("a".to_string(), "b".to_string())]);
    let resp = client.send(req).await.expect("ok");
    assert_eq!(resp.body, Bytes::from_static(b"GET 0 false"));
    let ex = recorder.take();
    assert_eq!(ex[0].request.method, "POST");
    assert_eq!(ex[0].request.body.as_deref(), Some("a=b"));
    assert_eq!(ex[1].request.method, "GET");
    assert_eq!(ex[1].request.body, None);
}

#[tokio::test]
async fn exchanges_are_recorded_without_any_secret() {
    let app = Router::new().route(
        "/token",
        post(|body: String| async move {
            (
                [
                    ("set-cookie", "sid=sim_at_cookie"),
                    ("x-echo", "got sim_rt_old"),
                ],
                axum::Json(serde_json::json!({
                    "access_token": "sim_at_new",
                    "refresh_token": "sim_rt_new",
                    "token_type": "Bearer",
                    "echo": body,
                })),
            )
        }),
    );
    let addr = serve(app).await;
    let (client, recorder) = client();
    let mut req = get_req(addr, "/token?code=sim_code_q");
    req.method = Method::POST;
    req.purpose = "token:refresh".to_string();
    req.connection = Some("alice".to_string());
    req.auth = Auth::Basic {
        user: "app".to_string(),
        password: SecretString::from("sim_cs_basic".to_string()),
    };
    req.form = Some(vec![
        ("grant_type".to_string(), "refresh_token".to_string()),
        ("refresh_token".to_string(), "sim_rt_old".to_string()),
        ("client_secret".to_string(), "sim_cs_form".to_string()),
    ]);
    let resp = client.send(req).await.expect("ok");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.content_type(), Some("application/json"));
    assert_eq!(resp.header("X-ECHO"), Some("got sim_rt_old"));
    let ex = recorder.snapshot();
    assert_eq!(ex.len(), 1);
    let e = &ex[0];
    assert_eq!((e.id.as_str(), e.provider.as_str()), ("x0001", "sim"));
    assert_eq!(e.connection.as_deref(), Some("alice"));
    assert_eq!(e.purpose, "token:refresh");
    assert_eq!(
        e.request.url,
        format!("http://{addr}/token?code=[REDACTED]")
    );
    assert_eq!(
        e.request.body.as_deref(),
        Some("grant_type=refresh_token&refresh_token=[REDACTED]&client_secret=[REDACTED]")
    );
    let all = serde_json::to_string(&ex).expect("serialise");
    assert!(!all.contains("sim_"), "{all}");
    assert_eq!(recorder.take().len(), 1);
    assert!(recorder.take().is_empty());
}

#[tokio::test]
async fn connect_failure_is_classified_and_recorded() {
    // Bind then drop: nothing listens on that port any more.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let (client, recorder) = client();
    let err = client
        .send(get_req(addr, "/?access_token=sim_at_url"))
        .await
        .expect_err("refused");
    assert_eq!(err.class(), "connect");
    assert!(!err.to_string().contains("sim_at_url"), "{err}");
    let ex = recorder.take();
    assert!(
        ex[0]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("connect: "))
    );
}

fn response_with(body: impl Into<Bytes>) -> Response {
    Response {
        status: 200,
        headers: vec![],
        body: body.into(),
        url: Url::parse("http://127.0.0.1/").expect("url"),
        exchange_id: "x0001".to_string(),
        attempts: 1,
    }
}

#[test]
fn json_too_deep_for_100_000_levels() {
    let depth = 100_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(response_with(body).json(), Err(JsonError::TooDeep));
}

#[test]
fn json_syntax_error_has_position() {
    let err = response_with("{\n  \"a\": @\n}")
        .json()
        .expect_err("syntax");
    assert_eq!(
        err,
        JsonError::Syntax {
            line: 2,
            column: 8,
            reason: "expected value".to_string()
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid json at line 2, column 8: expected value"
    );
}

#[tokio::test]
async fn an_unrequested_content_encoding_is_refused_unread() {
    let app = Router::new().route(
        "/gz",
        get(|| async {
            // Only the header matters: the body must never be read.
            (
                [("content-encoding", "gzip")],
                vec![0x1fu8, 0x8b, 0x08, 0x00],
            )
        }),
    );
    let addr = serve(app).await;
    let (client, recorder) = client();
    let err = client.send(get_req(addr, "/gz")).await.expect_err("gzip");
    assert_eq!(
        err,
        HttpError::ContentEncoding {
            encoding: "gzip".into()
        }
    );
    assert_eq!(err.class(), "content-encoding");
    let ex = recorder.snapshot();
    assert_eq!(ex.len(), 1, "a refused encoding is not retried");
    assert_eq!(ex[0].response.as_ref().map(|r| r.body_bytes), Some(0));
}

#[test]
fn tls_failures_are_told_from_other_connect_errors() {
    assert!(is_tls_failure(
        "client error (Connect): invalid peer certificate: UnknownIssuer"
    ));
    assert!(is_tls_failure("received fatal alert: HandshakeFailure"));
    assert!(!is_tls_failure(
        "client error (Connect): tcp connect error: Connection refused (os error 111)"
    ));
}

/// Only plain `http` to a loopback address goes through the client without a root store;
/// loopback `https` is verified like any other host, and nothing remote skips the proxy.
#[test]
fn only_plain_http_to_loopback_takes_the_route_without_tls() {
    let route = |u: &str| super::Route::of(&Url::parse(u).expect("url"));
    assert_eq!(
        route("http://127.0.0.1:8080/x"),
        super::Route::LoopbackPlain
    );
    assert_eq!(route("http://localhost/x"), super::Route::LoopbackPlain);
    assert_eq!(route("http://[::1]:9/x"), super::Route::LoopbackPlain);
    assert_eq!(route("https://127.0.0.1:8443/x"), super::Route::Loopback);
    assert_eq!(route("https://localhost/x"), super::Route::Loopback);
    assert_eq!(route("https://api.example.com/x"), super::Route::Remote);
    assert_eq!(route("http://api.example.com/x"), super::Route::Remote);
}
