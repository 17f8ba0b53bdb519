//! The drift webhook through the binary and the sim: a local receiver on
//! 127.0.0.1:0 records every POST; the payload carries drift metadata only.

use crate::support::{WebhookReceiver as Receiver, World, contains_secret};
use driftwatch::sim::ApiVersion;
use serde_json::Value;
use std::process::Output;
use std::sync::atomic::Ordering;

async fn run_bin(w: &World, hook: &Receiver, extra: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    cmd.env_remove("CI")
        .env("NO_COLOR", "1")
        .current_dir(w.dir.path())
        .arg("run")
        .arg(&w.suite)
        .arg("--credentials")
        .arg(w.credentials())
        .args(["--webhook", &hook.url])
        .args(extra)
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret())
        .env("DRIFTWATCH_LOG", "trace");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for text in [&stdout, &stderr] {
        assert!(!contains_secret(text), "secret printed:\n{text}");
        assert!(
            !text.contains("capability9xyz"),
            "webhook URL printed:\n{text}"
        );
    }
    out
}

/// The world after an accepted v1 baseline, switched to API v2.
async fn drifted() -> World {
    let w = World::connected().await;
    w.run_and_accept().await;
    w.sim.set_version(ApiVersion::V2);
    w
}

/// Values a customer's responses carry in the sim (emails, invoice ids, numbers,
/// amounts, user ids): none may reach the message.
const CUSTOMER_VALUES: [&str; 7] = [
    "@acme-corp.example",
    "@globex.example",
    "@umbrella.example",
    "INV-1001",
    "inv_a1x7k2m9q4",
    "12500",
    "usr_ac9k2",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_on_drift_carries_metadata_only() {
    let w = drifted().await;
    let hook = Receiver::start(200).await;
    // The severity threshold (the default `new` is covered in history.rs).
    let out = run_bin(&w, &hook, &["--webhook-on", "breaking"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("webhook: sent to {}", hook.shown())),
        "{stderr}"
    );
    let got = hook.received();
    assert_eq!(got.len(), 1);
    let p = &got[0];
    let run: Value = serde_json::from_str(
        &std::fs::read_to_string(w.reports().join("latest/run.json")).unwrap(),
    )
    .unwrap();
    let id = run["run_id"].as_str().unwrap();
    assert_eq!(
        p["text"],
        format!(
            "driftwatch: 20 drifts at or above breaking (20 breaking · 2 warning · 2 info) in run {id}"
        )
    );
    assert_eq!(p["blocks"][0]["type"], "header");
    assert_eq!(
        p["blocks"][0]["text"]["text"],
        "driftwatch: 20 drifts at or above breaking"
    );
    assert_eq!(
        p["blocks"][1]["fields"],
        serde_json::json!([{"type": "mrkdwn", "text": "*demo*\n20 breaking · 2 warning · 2 info"}])
    );
    let lines: Vec<&str> = p["blocks"][2]["text"]["text"]
        .as_str()
        .unwrap()
        .lines()
        .collect();
    assert_eq!(lines.len(), 11, "{lines:#?}");
    assert_eq!(
        lines[0],
        "• *breaking* `metadata.auth-method-removed` demo/metadata `oauth-authorization-server` `token_endpoint_auth_methods_supported`"
    );
    assert_eq!(lines[10], "… and 10 more");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("• *breaking* ") || l.starts_with('…'))
    );
    assert_eq!(
        p["blocks"][3]["elements"][0]["text"],
        format!("run `{id}` · 20 breaking · 2 warning · 2 info")
    );
    let text = p.to_string();
    assert!(!contains_secret(&text), "{text}");
    for v in CUSTOMER_VALUES {
        assert!(!text.contains(v), "customer value {v} in {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_is_not_sent_without_drift() {
    let w = World::connected().await;
    w.run_and_accept().await;
    let hook = Receiver::start(200).await;
    // `any`: even an info drift would send; the unchanged world has none.
    let out = run_bin(&w, &hook, &["--webhook-on", "any"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(hook.received().len(), 0);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("webhook"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_receiver_500_is_a_warning_and_keeps_the_exit_code() {
    let w = drifted().await;
    let hook = Receiver::start(500).await;
    let out = run_bin(&w, &hook, &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("warning: webhook {} answered 500", hook.shown())),
        "{stderr}"
    );
    // One retry on 5xx, then give up.
    assert_eq!(hook.received().len(), 2);
    hook.status.store(200, Ordering::SeqCst);
}
