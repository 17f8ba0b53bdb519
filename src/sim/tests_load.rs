//! Over-the-wire tests of the load knobs: resource-API latency and the sliding-window limit.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::tests_oauth::{SECRET, client, grant};
use super::{Sim, SimOptions, SimStats};

async fn start_loaded(api_latency: Duration, rate_limit: Option<u32>) -> Sim {
    let opts = SimOptions {
        client_secret: Some(SECRET.into()),
        api_latency,
        rate_limit,
        ..SimOptions::default()
    };
    Sim::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap()
}

async fn me(sim: &Sim, token: &str) -> reqwest::Response {
    client()
        .get(format!("{}/v1/me", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn access_token(sim: &Sim) -> String {
    grant(sim, "acme-corp", "profile").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn api_latency_delays_resource_answers_in_parallel_but_not_oauth() {
    let latency = Duration::from_millis(1000);
    let sim = start_loaded(latency, None).await;
    let t0 = Instant::now();
    let token = access_token(&sim).await;
    // The authorize and token endpoints are not delayed.
    assert!(t0.elapsed() < latency, "{:?}", t0.elapsed());
    assert_eq!(sim.first_api_request_at(), None);

    let t1 = Instant::now();
    let answers = futures_util::future::join_all((0..10).map(|_| me(&sim, &token))).await;
    let took = t1.elapsed();
    assert!(answers.iter().all(|r| r.status() == StatusCode::OK));
    // Every answer waited the latency, all ten at once: serial waits would take 10 s.
    assert!(took >= latency, "{took:?}");
    assert!(took < 3 * latency, "{took:?}");
    let first = sim.first_api_request_at().unwrap();
    assert!(first >= t1 && first <= t1 + took, "{first:?}");
    assert_eq!(sim.stats().api_requests, 10);
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_refuses_beyond_n_per_rolling_second_with_retry_after() {
    let sim = start_loaded(Duration::ZERO, Some(5)).await;
    // OAuth requests never count against the resource API's limit.
    for _ in 0..6 {
        access_token(&sim).await;
    }
    let token = access_token(&sim).await;
    let t0 = Instant::now();
    let mut statuses = Vec::new();
    let mut last_accepted = t0;
    for _ in 0..8 {
        let resp = me(&sim, &token).await;
        statuses.push(resp.status().as_u16());
        if resp.status() == StatusCode::OK {
            last_accepted = Instant::now();
        }
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(resp.headers()["retry-after"], "1");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(
                body,
                json!({"error": "rate_limited", "message": "too many requests"})
            );
        }
    }
    // The test relies on eight local requests taking well under a second.
    assert!(
        t0.elapsed() < Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);

    // A second after the accepted requests their slots are free again; the refusals took none.
    tokio::time::sleep_until((last_accepted + Duration::from_millis(1050)).into()).await;
    let mut again = Vec::new();
    for _ in 0..6 {
        again.push(me(&sim, &token).await.status().as_u16());
    }
    assert_eq!(again, [200, 200, 200, 200, 200, 429]);
    assert_eq!(
        sim.stats(),
        SimStats {
            token_requests: 7,
            api_requests: 14,
            rate_limited: 4,
            ..SimStats::default()
        }
    );
    sim.shutdown().await;
}
