//! Scale benchmark of the HTML report (issues 7 and 17): a run with 10,000 observations
//! and 500 drifts, and a 2 × 5,000-endpoint run where every endpoint drifts on both
//! connections, must each render in under 1 s into a page under 10 MB.
//! `cargo bench --bench html` prints time, size and the render's peak RSS; not a timed test.

#[path = "../tests/e2e/html_run.rs"]
mod html_run;

use chrono::TimeZone;
use driftwatch::model::{
    Drift, Exchange, Observation, ObservationKey, ProbeKind, RecordedRequest, RecordedResponse,
    Severity,
};
use driftwatch::report::html::{History, render};
use driftwatch::rules::{Rule, RuleId};
use driftwatch::run::{RUN_FORMAT, Run, SuiteSummary};
use serde_json::{Value, json};
use std::time::Instant;

const PROVIDERS: usize = 10;
const OBSERVATIONS: usize = 10_000;
const DRIFTS: usize = 500;

fn shape(i: usize) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("$".into(), json!({"required": true, "types": ["object"]}));
    m.insert(
        "$.data".into(),
        json!({"required": true, "types": ["array"]}),
    );
    for f in 0..20 {
        m.insert(
            format!("$.data[].field_{f}"),
            json!({"required": f % 3 != 0, "types": [if (f + i).is_multiple_of(2) { "string" } else { "integer" }]}),
        );
    }
    json!({"responses": {"c0": {"status": 200}, "c1": {"status": 200}}, "shape": m})
}

fn big_run() -> Run {
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 11, 27, 21, 0, 0)
        .unwrap();
    let probes = [
        ProbeKind::Schema,
        ProbeKind::Permissions,
        ProbeKind::Values,
        ProbeKind::Deprecation,
        ProbeKind::Refresh,
    ];
    let observations = (0..OBSERVATIONS)
        .map(|i| {
            let probe = probes[i % probes.len()];
            let provider = format!("provider-{:02}", i % PROVIDERS);
            let body = match probe {
                ProbeKind::Schema => shape(i),
                ProbeKind::Permissions => json!({"cells": {
                    "full": {"class": "granted", "status": 200},
                    "basic": {"class": "denied", "status": 403, "signal": "403-insufficient-scope"},
                    "read": {"class": "partial", "status": 200, "missing_paths": ["$.email"]}},
                    "reference": "full", "downscoping": "honoured"}),
                ProbeKind::Values => json!({"connections": {
                    "c0": {"clicks": "non-zero", "conversions": "zero"},
                    "c1": {"clicks": "non-zero", "conversions": "non-zero"}}}),
                ProbeKind::Deprecation => json!({"deprecated": null, "sunset": if i % 500 == 3 { json!("2027-06-30T23:59:59Z") } else { Value::Null }, "links": [], "vendor": {}, "warnings": []}),
                _ => json!({"class": "rotating-one-time", "issues_refresh_tokens": true, "access_token_lifetime_s": 3600}),
            };
            Observation {
                key: ObservationKey {
                    provider,
                    probe,
                    subject: format!("endpoint-{i:05}"),
                    connection: (probe == ProbeKind::Refresh).then(|| format!("conn-{i:05}")),
                },
                body,
            }
        })
        .collect();
    let drifts = (0..DRIFTS)
        .map(|i| Drift {
            // A stored run: any severity, as run.json may hold it.
            rule: RuleId::parse(Rule::SchemaTypeChanged.id()),
            severity: [Severity::Breaking, Severity::Warning, Severity::Info][i % 3],
            provider: format!("provider-{:02}", (i * 5) % PROVIDERS),
            probe: ProbeKind::Schema,
            subject: format!("endpoint-{:05}", i * 5),
            path: Some("$.data[].field_1".into()),
            connections: vec!["c0".into(), "c1".into()],
            message: "`$.data[].field_1` changed type from integer to string".into(),
            before: Some(json!({"required": true, "types": ["integer"]})),
            after: Some(json!({"required": true, "types": ["string"]})),
            exchanges: vec![format!("x{i:05}")],
            fingerprint: format!("{i:016x}"),
            suppressed: None,
            first_seen: None,
        })
        .collect();
    let exchanges = (0..OBSERVATIONS)
        .map(|i| Exchange {
            id: format!("x{i:05}"),
            provider: format!("provider-{:02}", i % PROVIDERS),
            connection: Some("c0".into()),
            purpose: "endpoint:x".into(),
            request: RecordedRequest {
                method: "GET".into(),
                url: format!("https://api.example/v1/endpoint-{i:05}"),
                headers: vec![("authorization".into(), "Bearer [REDACTED]".into())],
                body: None,
            },
            response: Some(RecordedResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: Some(format!(
                    "{{\"data\":[{}]}}",
                    "{\"field_1\":\"12\"},".repeat(150)
                )),
                body_bytes: 2400,
                body_truncated: false,
            }),
            error: None,
            started_at: at,
            duration_ms: 40,
        })
        .collect();
    Run {
        format: RUN_FORMAT.into(),
        run_id: "20261127T210000Z-bench".into(),
        started_at: at,
        finished_at: at,
        duration_ms: 60_000,
        suites: (0..PROVIDERS)
            .map(|p| SuiteSummary {
                file: format!("suites/provider-{p:02}.yaml"),
                provider: format!("provider-{p:02}"),
                connections: vec!["c0".into(), "c1".into()],
                endpoints: vec![],
            })
            .collect(),
        connections: vec![],
        not_compared: vec![],
        observations,
        drifts,
        findings: vec![],
        pending: vec![],
        errors: vec![],
        tokens: vec![],
        client_secrets: vec![],
        exchanges,
        evidence_mode: driftwatch::run::EvidenceMode::Full,
        shard: None,
        merged: None,
        evidence: vec![],
        skipped: Vec::new(),
        expanded: Vec::new(),
        scopes: Vec::new(),
        rendered: Default::default(),
    }
}

/// Peak resident set (VmHWM) of this process in KiB, after resetting it when `reset`.
/// Linux only; `None` elsewhere.
fn peak_rss_kib(reset: bool) -> Option<u64> {
    if reset {
        // "5" resets the peak RSS counter (Linux ≥ 4.0).
        std::fs::write("/proc/self/clear_refs", "5").ok()?;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Renders `run` three times: best time, page size, and the peak RSS above the run itself.
fn measure(name: &str, run: &Run) -> (f64, usize) {
    let history = History::only(run);
    let before = peak_rss_kib(true);
    let mut best = f64::MAX;
    let mut size = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let html = render(run, &history).expect("renders");
        best = best.min(t.elapsed().as_secs_f64());
        size = html.len();
    }
    let after = peak_rss_kib(false);
    let rss = match (before, after) {
        (Some(b), Some(a)) => format!(
            "peak RSS {:.0} MiB ({:.0} MiB above the run in memory)",
            a as f64 / 1024.0,
            a.saturating_sub(b) as f64 / 1024.0
        ),
        _ => "peak RSS unknown".into(),
    };
    println!(
        "html report, {name}: best of 3 {:.0} ms, {:.2} MB, {rss}",
        best * 1000.0,
        size as f64 / 1_000_000.0
    );
    (best, size)
}

fn main() {
    let mut failed = Vec::new();
    let run = big_run();
    let name = format!(
        "{OBSERVATIONS} observations, {DRIFTS} drifts, {} exchanges",
        run.exchanges.len()
    );
    let figures = measure(&name, &run);
    drop(run);
    failed.extend(check(&name, figures));
    let run = html_run::all_drifting(5_000, 2);
    let name = format!(
        "2 × 5,000 endpoints all drifting ({} drifts, {} observations, {} exchanges)",
        run.drifts.len(),
        run.observations.len(),
        run.exchanges.len()
    );
    let figures = measure(&name, &run);
    failed.extend(check(&name, figures));
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// The budget: under 1 s and under 10 MB.
fn check(name: &str, (best, size): (f64, usize)) -> Vec<String> {
    let mut out = Vec::new();
    if best >= 1.0 {
        out.push(format!("{name}: rendering took {best:.2} s (budget 1 s)"));
    }
    if size >= 10_000_000 {
        out.push(format!("{name}: {size} bytes (budget 10 MB)"));
    }
    out
}
