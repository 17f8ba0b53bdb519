//! Scale benchmark of the HTML report: a run with 10,000 observations and 500
//! drifts must render in under 2 s into a file under 10 MB (issue 7).
//! `cargo bench --bench html` prints the figures; not a timed test.

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
        exchanges,
        evidence_mode: driftwatch::run::EvidenceMode::Full,
        shard: None,
        merged: None,
        evidence: vec![],
    }
}

fn main() {
    let run = big_run();
    let history = History::only(&run);
    let mut best = f64::MAX;
    let mut size = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let html = render(&run, &history).expect("renders");
        best = best.min(t.elapsed().as_secs_f64());
        size = html.len();
    }
    println!(
        "html report: {OBSERVATIONS} observations, {DRIFTS} drifts, {} exchanges: best of 3 {:.0} ms, {:.2} MB",
        run.exchanges.len(),
        best * 1000.0,
        size as f64 / 1_000_000.0
    );
    assert!(best < 2.0, "rendering took {best:.2} s (budget 2 s)");
    assert!(size < 10_000_000, "{size} bytes (budget 10 MB)");
}
