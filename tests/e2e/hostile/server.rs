//! A hostile provider on loopback: raw HTTP/1.1 over TCP (or TLS with a
//! self-signed certificate) so that it can misbehave below the level any HTTP
//! framework allows — lying lengths, endless trickles, garbage status lines.
//! `/api/<behaviour>` serves resource answers, `/token/<behaviour>` token
//! answers; every request's path and whether it carried `Authorization` is
//! remembered so tests can prove where credentials went.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// A self-signed certificate for `127.0.0.1` that no client trusts.
const CERT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBjzCCATagAwIBAgIUOhF4LApsjXrDQPTwnzbTjTExqxIwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNzIzNDA0NVoYDzIxMjYxMTAz
MjM0MDQ1WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQaOXVSDWr2WKZOWJZRkWl0iWuu0J0dDL38kSR4L4ZBYG+NPZ6E8y46
PWFs3yll5gwLPnAMLdn875Rqu54SYauwo2QwYjAdBgNVHQ4EFgQURe7t1ZdJV5Jn
TpmuAtmAfBhNMIIwHwYDVR0jBBgwFoAURe7t1ZdJV5JnTpmuAtmAfBhNMIIwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0cAMEQC
IFASfUgeEiflteQcJTXAhbzsMpgc3UQF6Ldnu/BTKhG5AiA6oGMNlGSYQKWmFYeY
pe6yfPfkYOndN9PS8gE+lYMuVA==
-----END CERTIFICATE-----
";

/// Test-only key of [`CERT_PEM`]; it protects nothing.
const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYllJvaXQRwIez4dt
Bw+/fObRn+vv7FWgvStZXzlpK22hRANCAAQaOXVSDWr2WKZOWJZRkWl0iWuu0J0d
DL38kSR4L4ZBYG+NPZ6E8y46PWFs3yll5gwLPnAMLdn875Rqu54SYauw
-----END PRIVATE KEY-----
";

/// 16 MiB of zeros, gzip-compressed to 16 KB.
const GZIP_BOMB: &[u8] = include_bytes!("bomb.json.gz");

/// The access token every good token answer issues (a `sim_at_` secret, so leaks are found).
pub const ACCESS_TOKEN: &str = "sim_at_hostile_0f1e2d3c4b5a";

/// The `WWW-Authenticate` challenge of `/api/challenge`.
pub const CHALLENGE: &str =
    r#"Bearer realm="analytics", error="insufficient_scope", scope="reports.read""#;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    pub authorization: bool,
    /// Which of [`API_KEY_HEADERS`] the request carried (lowercase).
    pub api_keys: Vec<String>,
}

/// API-key headers real providers use (issue 15 item 3): a suite fills them from `${env:…}`.
/// Sorted, as a suite's headers are sent.
pub const API_KEY_HEADERS: [&str; 4] = [
    "api-key",
    "ocp-apim-subscription-key",
    "x-api-key",
    "x-goog-api-key",
];

/// A running hostile server.
pub struct Hostile {
    addr: SocketAddr,
    tls: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Base URL of another origin, the target of `/api/redirect-cross-host`.
    peer: Option<String>,
}

impl Hostile {
    /// A plain-HTTP server; `peer` is the base URL cross-host redirects point to.
    pub async fn start(peer: Option<String>) -> Hostile {
        Self::spawn(peer, None).await
    }

    /// The same server behind TLS with a certificate that does not verify.
    pub async fn start_tls() -> Hostile {
        use tokio_rustls::rustls;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = vec![CertificateDer::from_pem_slice(CERT_PEM.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(KEY_PEM.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        Self::spawn(None, Some(acceptor)).await
    }

    async fn spawn(peer: Option<String>, tls: Option<tokio_rustls::TlsAcceptor>) -> Hostile {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            seen: seen.clone(),
            peer,
        };
        let is_tls = tls.is_some();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            // The client rejects the certificate: the handshake fails here.
                            if let Ok(s) = acceptor.accept(stream).await {
                                serve(s, &shared).await;
                            }
                        }
                        None => serve(stream, &shared).await,
                    }
                });
            }
        });
        Hostile {
            addr,
            tls: is_tls,
            seen,
        }
    }

    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A loopback port on which nothing listens.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    l.local_addr().unwrap().port()
}

struct Head {
    path: String,
    body: String,
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, shared: &Shared) {
    let Some(head) = read_request(&mut s, shared).await else {
        return;
    };
    let path = head.path.split('?').next().unwrap_or("").to_string();
    if let Some(b) = path.strip_prefix("/token/") {
        token(&mut s, b, &head.body).await;
    } else if let Some(b) = path.strip_prefix("/api/") {
        api(&mut s, b, shared).await;
    } else if path == "/landing" {
        json(&mut s, 200, r#"{"landed":true}"#).await;
    } else {
        respond(&mut s, "404 Not Found", &[], b"").await;
    }
}

/// Reads the request head (and a form body), recording what was seen.
async fn read_request<S: AsyncRead + Unpin>(s: &mut S, shared: &Shared) -> Option<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let mut authorization = false;
    let mut api_keys = Vec::new();
    let mut length = 0usize;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if API_KEY_HEADERS.contains(&name.as_str()) {
            api_keys.push(name.clone());
        }
        if name == "authorization" {
            authorization = true;
        } else if name == "content-length" {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = buf[end..].to_vec();
    while body.len() < length.min(64 * 1024) {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    shared.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        authorization,
        api_keys,
    });
    Some(Head {
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

async fn respond<S: AsyncWrite + Unpin>(
    s: &mut S,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let _ = s.write_all(out.as_bytes()).await;
    let _ = s.write_all(body).await;
    let _ = s.shutdown().await;
}

async fn json<S: AsyncWrite + Unpin>(s: &mut S, status: u16, body: &str) {
    let line = match status {
        200 => "200 OK",
        400 => "400 Bad Request",
        _ => "500 Internal Server Error",
    };
    respond(
        s,
        line,
        &[
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
        ],
        body.as_bytes(),
    )
    .await;
}

/// Writes raw bytes and closes: for answers that are not valid HTTP.
async fn raw<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) {
    let _ = s.write_all(bytes).await;
    let _ = s.shutdown().await;
}

/// Writes `piece` every `every` until the client hangs up (bounded by the test's timeout).
async fn trickle<S: AsyncWrite + Unpin>(s: &mut S, head: &str, piece: &[u8], every: Duration) {
    if s.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for _ in 0..600 {
        tokio::time::sleep(every).await;
        if s.write_all(piece).await.is_err() || s.flush().await.is_err() {
            return;
        }
    }
}

/// Streams `total` bytes of a JSON array without ever holding more than 64 KiB.
async fn stream_gigabyte<S: AsyncWrite + Unpin>(s: &mut S, declare_length: bool) {
    const GIB: u64 = 1 << 30;
    let head = if declare_length {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {GIB}\r\n\r\n"
        )
    } else {
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_string()
    };
    if s.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let piece = vec![b' '; 64 * 1024];
    let chunk_head = format!("{:x}\r\n", piece.len());
    let mut sent = 0u64;
    while sent < GIB {
        let ok = if declare_length {
            s.write_all(&piece).await.is_ok()
        } else {
            s.write_all(chunk_head.as_bytes()).await.is_ok()
                && s.write_all(&piece).await.is_ok()
                && s.write_all(b"\r\n").await.is_ok()
        };
        if !ok {
            return; // the client stopped reading at its limit
        }
        sent += piece.len() as u64;
    }
}

async fn api<S: AsyncWrite + Unpin>(s: &mut S, behaviour: &str, shared: &Shared) {
    let ok_json: &[(&str, &str)] = &[("content-type", "application/json")];
    match behaviour {
        "ok" => json(s, 200, r#"{"id":1,"name":"ok"}"#).await,
        "html-200" => {
            let page = b"<html><body><h1>We'll be right back</h1></body></html>";
            respond(
                s,
                "200 OK",
                &[("content-type", "text/html; charset=utf-8")],
                page,
            )
            .await
        }
        "wrong-content-type" => {
            respond(
                s,
                "200 OK",
                &[("content-type", "text/plain")],
                br#"{"id":1}"#,
            )
            .await
        }
        "truncated-json" => respond(s, "200 OK", ok_json, br#"{"items":[1,2,"#).await,
        "truncated-body" => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n";
            raw(s, format!("{head}{{\"items\":[1,2").as_bytes()).await
        }
        "invalid-utf8" => respond(s, "200 OK", ok_json, b"{\"name\":\"caf\xe9 \xff\"}").await,
        "bom" => respond(s, "200 OK", ok_json, b"\xef\xbb\xbf{\"id\":1}").await,
        "empty-json" => respond(s, "200 OK", ok_json, b"").await,
        "nan" => respond(s, "200 OK", ok_json, br#"{"rate":NaN}"#).await,
        "huge-number" => respond(s, "200 OK", ok_json, br#"{"n":1e400}"#).await,
        "deep" => {
            let body = "[".repeat(100_000);
            respond(s, "200 OK", ok_json, body.as_bytes()).await
        }
        "million-array" => {
            let mut body = String::with_capacity(2_000_002);
            body.push('[');
            body.push_str(&"0,".repeat(999_999));
            body.push_str("0]");
            respond(s, "200 OK", ok_json, body.as_bytes()).await
        }
        "gigabyte-chunked" => stream_gigabyte(s, false).await,
        "gigabyte-declared" => stream_gigabyte(s, true).await,
        "gzip-bomb" => {
            let headers = [
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ];
            respond(s, "200 OK", &headers, GZIP_BOMB).await
        }
        "slowloris" => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n";
            trickle(s, head, b" ", Duration::from_millis(200)).await
        }
        "slow-headers" => trickle(s, "HTTP/1.1 200 OK\r\n", b"x", Duration::from_millis(200)).await,
        "no-response" => tokio::time::sleep(Duration::from_secs(120)).await,
        "close-immediately" => {
            let _ = s.shutdown().await;
        }
        "garbage" => raw(s, b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await,
        "bad-status-line" => raw(s, b"HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n").await,
        "bad-chunked" => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            raw(s, format!("{head}zz\r\n{{}}\r\n0\r\n\r\n").as_bytes()).await
        }
        "huge-headers" => {
            let value = "v".repeat(8 * 1024);
            let mut head = String::from("HTTP/1.1 200 OK\r\n");
            for i in 0..256 {
                head.push_str(&format!("x-filler-{i}: {value}\r\n"));
            }
            head.push_str("content-length: 2\r\n\r\n{}");
            raw(s, head.as_bytes()).await
        }
        "redirect-loop" => {
            respond(s, "302 Found", &[("location", "/api/redirect-loop")], b"").await
        }
        "redirect-cross-host" => {
            let target = format!("{}/landing", shared.peer.as_deref().unwrap_or(""));
            respond(s, "302 Found", &[("location", &target)], b"").await
        }
        "redirect-file" => {
            respond(s, "302 Found", &[("location", "file:///etc/passwd")], b"").await
        }
        "redirect-insecure" => {
            let to = [("location", "http://provider.example/api/ok")];
            respond(s, "302 Found", &to, b"").await
        }
        "rate-limit-storm" => {
            let headers = [("retry-after", "0"), ("content-type", "text/plain")];
            respond(s, "429 Too Many Requests", &headers, b"slow down").await
        }
        // Issue 15 item 7: a Retry-After of 31 years; the total wait per request is capped.
        "retry-after-huge" => {
            let headers = [("retry-after", "999999999"), ("content-type", "text/plain")];
            respond(s, "429 Too Many Requests", &headers, b"come back later").await
        }
        // Issue 15 item 5: 20,000 items with a key each took minutes to infer.
        "distinct-key-records" => {
            let items: Vec<String> = (0..20_000).map(|i| format!("{{\"f{i}\":1}}")).collect();
            json(s, 200, &format!("[{}]", items.join(","))).await
        }
        // Issue 15 item 7: the challenge was recorded as `Bearer [REDACTED]"analytics"`.
        "challenge" => {
            let headers = [
                ("content-type", "application/json"),
                ("www-authenticate", CHALLENGE),
            ];
            respond(s, "403 Forbidden", &headers, br#"{"error":"forbidden"}"#).await
        }
        "unavailable-retry-after" => {
            let headers = [("retry-after", "1"), ("content-type", "text/plain")];
            respond(s, "503 Service Unavailable", &headers, b"maintenance").await
        }
        _ => respond(s, "404 Not Found", &[], b"").await,
    }
}

async fn token<S: AsyncWrite + Unpin>(s: &mut S, behaviour: &str, form: &str) {
    // Only the grant under test misbehaves; the run's deliberate error probe
    // (an invalid refresh token) gets a textbook answer so it adds no noise.
    if !form.contains("grant_type=client_credentials") {
        return json(s, 400, r#"{"error":"invalid_grant"}"#).await;
    }
    let good = format!(
        r#"{{"access_token":"{ACCESS_TOKEN}","token_type":"Bearer","expires_in":3600,"scope":"profile"}}"#
    );
    let form_body =
        format!("access_token={ACCESS_TOKEN}&token_type=bearer&expires_in=3600&scope=profile");
    let form_type = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("cache-control", "no-store"),
    ];
    let labelled_json = [
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
    ];
    let html = [("content-type", "text/html")];
    let page = b"<html><body>Sign-in service unavailable</body></html>";
    let with = |field: &str| good.replacen(r#""expires_in":3600"#, field, 1);
    match behaviour {
        "good" => json(s, 200, &good).await,
        "error-200" => {
            json(
                s,
                200,
                r#"{"error":"invalid_client","error_description":"bad client"}"#,
            )
            .await
        }
        "form-encoded" => respond(s, "200 OK", &form_type, form_body.as_bytes()).await,
        "form-labelled-json" => respond(s, "200 OK", &labelled_json, form_body.as_bytes()).await,
        "expires-in-string" => json(s, 200, &with(r#""expires_in":"3600""#)).await,
        "expires-in-timestamp" => {
            let at = chrono::Utc::now().timestamp() + 3600;
            json(s, 200, &with(&format!(r#""expires_in":{at}"#))).await
        }
        "expires-in-missing" => json(s, 200, &with(r#""x":0"#)).await,
        "token-type-missing" => {
            json(s, 200, &good.replacen(r#""token_type":"Bearer","#, "", 1)).await
        }
        "refresh-token-null" => {
            json(s, 200, &with(r#""expires_in":3600,"refresh_token":null"#)).await
        }
        "html-200" => respond(s, "200 OK", &html, page).await,
        "html-500" => respond(s, "500 Internal Server Error", &html, page).await,
        "json-array" => json(s, 200, "[]").await,
        "no-access-token" => json(s, 200, r#"{"token_type":"Bearer","expires_in":3600}"#).await,
        // Answers that cannot be a bearer token (issue 15 item 7).
        "access-token-empty" => json(s, 200, &good.replacen(ACCESS_TOKEN, "", 1)).await,
        "access-token-crlf" => {
            let injected = format!("{ACCESS_TOKEN}\\r\\nX-Injected: 1");
            json(s, 200, &good.replacen(ACCESS_TOKEN, &injected, 1)).await
        }
        "access-token-17k" => {
            let long = format!("{ACCESS_TOKEN}{}", "A".repeat(17 * 1024));
            json(s, 200, &good.replacen(ACCESS_TOKEN, &long, 1)).await
        }
        "no-response" => tokio::time::sleep(Duration::from_secs(120)).await,
        "rate-limit-storm" => {
            let headers = [("retry-after", "0"), ("content-type", "text/plain")];
            respond(s, "429 Too Many Requests", &headers, b"slow down").await
        }
        _ => respond(s, "404 Not Found", &[], b"").await,
    }
}
