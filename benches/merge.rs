//! Merge benchmark: 8 shard runs × 1,250 connections, each with 6 endpoints of
//! evidence (shape, deprecation signals, value classes on one endpoint, token
//! health) and one recorded exchange per call, merged by the release binary.
//! Prints the merge wall time and the merge process's peak RSS (VmHWM, logged
//! by `DRIFTWATCH_LOG=debug`). Run: `cargo bench --bench merge`.

use driftwatch::auth::health::TokenHealth;
use driftwatch::model::{Exchange, RecordedRequest, RecordedResponse};
use driftwatch::probe::shape;
use driftwatch::probe::values::{ConnectionValues, ValueClass};
use driftwatch::run::{
    EndpointInfo, PermissionEvidence, RUN_FORMAT, Run, SampleEvidence, Shard, SignalsEvidence,
    SuiteEvidence, SuiteSummary,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

const SHARDS: u32 = 8;
const PER_SHARD: usize = 1_250;
const ENDPOINTS: [&str; 6] = [
    "me",
    "invoices",
    "reports-summary",
    "workspace-settings",
    "audit-log",
    "channels",
];

fn body(endpoint: &str, conn: usize) -> serde_json::Value {
    json!({
        "request_id": "2f1c9a7e-0000-4000-8000-000000000000",
        "account": format!("acct-{conn}"),
        "endpoint": endpoint,
        "data": (0..5).map(|i| json!({
            "id": format!("in_{conn}_{i}"),
            "amount_cents": 1000 + i,
            "currency": "EUR",
            "issued_at": "2026-11-27T21:00:00Z",
            "customer": {"id": format!("cus_{i}"), "name": "Example GmbH"},
            "status": "paid"
        })).collect::<Vec<_>>(),
        "has_more": false,
        "next_cursor": null
    })
}

fn shard_run(index: u32, conns: &[String], all: &[String]) -> Run {
    let now = chrono::Utc::now();
    let mut samples = vec![Vec::new(); ENDPOINTS.len()];
    let mut signals = vec![Vec::new(); ENDPOINTS.len()];
    let mut values = vec![Vec::new(); ENDPOINTS.len()];
    let mut exchanges = Vec::new();
    let mut tokens = Vec::new();
    let mut n = 0u64;
    for (ci, c) in conns.iter().enumerate() {
        for (ei, ep) in ENDPOINTS.iter().enumerate() {
            n += 1;
            let id = format!("s{index}-x{n:04}");
            let b = body(ep, ci);
            samples[ei].push(SampleEvidence {
                connection: c.clone(),
                status: 200,
                content_type: Some("application/json".into()),
                shape: shape::infer(&b).ok().map(std::sync::Arc::new),
                exchange_id: Some(id.clone()),
            });
            signals[ei].push(SignalsEvidence {
                connection: c.clone(),
                deprecation: (ei == 1).then(|| "2026-01-01T00:00:00+00:00".into()),
                sunset: None,
                links: vec![],
                warnings: vec![],
                vendor: BTreeMap::new(),
                malformed: vec![],
            });
            if ei == 2 {
                values[ei].push(ConnectionValues {
                    connection: c.clone(),
                    classes: ["impressions", "clicks", "conversions"]
                        .iter()
                        .map(|m| (m.to_string(), ValueClass::NonZero))
                        .collect(),
                    rule_violations: vec![],
                    claims_complete: Some(true),
                });
            }
            exchanges.push(Exchange {
                id,
                provider: "bench".into(),
                connection: Some(c.clone()),
                purpose: format!("endpoint:{ep}"),
                request: RecordedRequest {
                    method: "GET".into(),
                    url: format!("https://api.example/v1/{ep}"),
                    headers: vec![("authorization".into(), "Bearer [REDACTED]".into())],
                    body: None,
                },
                response: Some(RecordedResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: Some(b.to_string()),
                    body_bytes: 1200,
                    body_truncated: false,
                }),
                error: None,
                started_at: now,
                duration_ms: 42,
            });
        }
        tokens.push(TokenHealth {
            provider: "bench".into(),
            connection: c.clone(),
            credential: format!("bench/{c}"),
            status: "ok".into(),
            last_refreshed_at: Some(now),
            access_token_expires_at: Some(now),
            refresh_token_expires_at: None,
            expiry_source: None,
            days_left: None,
            rejected: None,
        });
    }
    let evidence = SuiteEvidence {
        file: "suites/bench.yaml".into(),
        provider: "bench".into(),
        all_connections: all.to_vec(),
        endpoints: ENDPOINTS
            .iter()
            .map(|e| EndpointInfo {
                id: e.to_string(),
                requires: vec![],
                requires_any: vec![],
                requires_fields: BTreeMap::new(),
                tolerate: BTreeMap::new(),
            })
            .collect(),
        scope_sets: BTreeMap::new(),
        auth_scopes: BTreeMap::new(),
        provider_wide: index == 1,
        token_facts: vec![],
        samples,
        violations: vec![Vec::new(); ENDPOINTS.len()],
        values,
        signals,
        metadata: vec![],
        metadata_findings: vec![],
        app: None,
        client_secret: None,
        callbacks: Vec::new(),
        permissions: (index == 1).then(|| PermissionEvidence {
            cells: vec![None; ENDPOINTS.len()],
            references: vec![None; ENDPOINTS.len()],
            downscoping: "not-needed".into(),
        }),
        refresh: vec![],
        tokens,
        connections: vec![],
        skipped: Vec::new(),
    };
    Run {
        format: RUN_FORMAT.into(),
        run_id: format!("20261127T210000Z-000{index}"),
        started_at: now,
        finished_at: now,
        duration_ms: 0,
        suites: vec![SuiteSummary {
            file: "suites/bench.yaml".into(),
            provider: "bench".into(),
            connections: conns.to_vec(),
            endpoints: ENDPOINTS.iter().map(|e| e.to_string()).collect(),
        }],
        connections: vec![],
        not_compared: vec![],
        observations: vec![],
        drifts: vec![],
        findings: vec![],
        pending: vec![],
        errors: vec![],
        tokens: vec![],
        client_secrets: vec![],
        exchanges,
        evidence_mode: driftwatch::run::EvidenceMode::Full,
        shard: Some(Shard {
            index,
            count: SHARDS,
        }),
        merged: None,
        evidence: vec![evidence],
        skipped: Vec::new(),
        expanded: Vec::new(),
        scopes: Vec::new(),
        rendered: Default::default(),
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let all: Vec<String> = (0..SHARDS as usize * PER_SHARD)
        .map(|i| format!("conn-{i:05}"))
        .collect();
    let mut files = Vec::new();
    let mut bytes = 0u64;
    for i in 1..=SHARDS {
        let start = (i as usize - 1) * PER_SHARD;
        let run = shard_run(i, &all[start..start + PER_SHARD], &all);
        let path = dir.path().join(format!("shard-{i}.json"));
        let text = serde_json::to_string_pretty(&run).expect("serialise");
        bytes += text.len() as u64;
        std::fs::write(&path, text).expect("write shard");
        files.push(path);
    }
    println!(
        "input: {SHARDS} shard runs × {PER_SHARD} connections × {} endpoints, {:.1} MiB of run.json",
        ENDPOINTS.len(),
        bytes as f64 / 1_048_576.0
    );
    for round in 1..=3 {
        let t = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"))
            .current_dir(dir.path())
            .env("DRIFTWATCH_LOG", "debug")
            .env_remove("CI")
            .arg("merge")
            .args(&files)
            .args([
                "--update", "no", "--format", "markdown", "--output", "run.md",
            ])
            .output()
            .expect("run driftwatch merge");
        let ms = t.elapsed().as_millis();
        let stderr = strip_ansi(&String::from_utf8_lossy(&out.stderr));
        let peak_kib: Option<u64> = stderr
            .lines()
            .find_map(|l| l.split("peak_rss_kib=").nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok());
        println!(
            "round {round}: merge + report {ms} ms, peak RSS {} (exit {:?})",
            peak_kib.map_or("unknown".to_string(), |k| format!(
                "{:.1} MiB",
                k as f64 / 1024.0
            )),
            out.status.code()
        );
        if !matches!(out.status.code(), Some(0 | 1)) {
            eprintln!("{stderr}");
            std::process::exit(1);
        }
    }
}

/// The log line without terminal colour codes (`ESC [ … m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
