//! A generated worst case for the HTML report, shared by `tests/e2e/html.rs` (size, links)
//! and `benches/html.rs` (time, peak RSS): one provider, `connections` connections and
//! `endpoints` endpoints, every endpoint drifting on every connection. Plain data, no I/O.

use chrono::TimeZone;
use driftwatch::model::{
    ConnectionState, ConnectionStatus, Drift, Exchange, Observation, ObservationKey, ProbeKind,
    RecordedRequest, RecordedResponse, Severity,
};
use driftwatch::rules::{Rule, RuleId};
use driftwatch::run::{RUN_FORMAT, Run, SuiteSummary};
use serde_json::{Value, json};

pub const PROVIDER: &str = "big-api";
/// Distinct `schema.type-changed` paths: the type change repeats on every 7th endpoint.
pub const TYPE_CHANGED_PATHS: usize = 7;
/// Distinct sunset dates: every endpoint announces one of these.
pub const SUNSET_DATES: usize = 1_000;

fn endpoint(i: usize) -> String {
    format!("endpoint-{i:05}")
}

fn connection(c: usize) -> String {
    format!("conn-{c}")
}

fn shape(i: usize) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("$".into(), json!({"required": true, "types": ["object"]}));
    m.insert(
        "$.data".into(),
        json!({"required": true, "types": ["array"]}),
    );
    for f in 0..20 {
        let types = if f == i % TYPE_CHANGED_PATHS {
            "string"
        } else {
            "integer"
        };
        m.insert(
            format!("$.data[].field_{f}"),
            json!({"required": f % 3 != 0, "types": [types]}),
        );
    }
    m.insert(
        "$.data[].new_field".into(),
        json!({"required": true, "types": ["string"]}),
    );
    json!({"responses": {"conn-0": {"status": 200}, "conn-1": {"status": 200}}, "shape": m})
}

/// Every endpoint drifts four ways on every connection:
/// - `schema.field-added` of `$.data[].new_field`, the same everywhere (one group);
/// - `schema.type-changed` of `$.data[].field_{i % 7}` (seven groups);
/// - `permission.newly-partial` of scope set `read`, the same everywhere (one group);
/// - `deprecation.announced` with one of [`SUNSET_DATES`] dates (a thousand groups).
pub fn all_drifting(endpoints: usize, connections: usize) -> Run {
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 11, 27, 21, 0, 0)
        .single()
        .expect("a valid fixed timestamp");
    let conns: Vec<String> = (0..connections).map(connection).collect();
    let mut observations = Vec::with_capacity(endpoints * 3);
    let mut drifts = Vec::with_capacity(endpoints * 4);
    let mut exchanges = Vec::with_capacity(endpoints * connections);
    for i in 0..endpoints {
        let subject = endpoint(i);
        let key = |probe| ObservationKey {
            provider: PROVIDER.into(),
            probe,
            subject: subject.clone(),
            connection: None,
        };
        let sunset = (at + chrono::Duration::days(200 + (i % SUNSET_DATES) as i64))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        observations.push(Observation {
            key: key(ProbeKind::Schema),
            body: shape(i),
        });
        observations.push(Observation {
            key: key(ProbeKind::Permissions),
            body: json!({"cells": {
                "full": {"class": "granted", "status": 200},
                "basic": {"class": "denied", "status": 403, "signal": "403-insufficient-scope"},
                "read": {"class": "partial", "status": 200, "missing_paths": ["$.data[].email"]}},
                "reference": "full", "downscoping": "honoured"}),
        });
        observations.push(Observation {
            key: key(ProbeKind::Deprecation),
            body: json!({"deprecated": null, "sunset": sunset, "links": [], "vendor": {}, "warnings": []}),
        });
        let ids: Vec<String> = (0..connections).map(|c| format!("x{i:05}-{c}")).collect();
        let drift = |rule: Rule, severity, probe, path: Option<String>, message: String| Drift {
            rule: RuleId::parse(rule.id()),
            severity,
            provider: PROVIDER.into(),
            probe,
            subject: subject.clone(),
            path,
            connections: conns.clone(),
            message,
            before: None,
            after: None,
            exchanges: ids.clone(),
            fingerprint: format!("{:016x}", drifts_seed(i, rule.id())),
            suppressed: None,
            first_seen: None,
        };
        drifts.push(Drift {
            after: Some(json!({"required": true, "types": ["string"]})),
            ..drift(
                Rule::SchemaFieldAdded,
                Severity::Info,
                ProbeKind::Schema,
                Some("$.data[].new_field".into()),
                "`$.data[].new_field` was added".into(),
            )
        });
        let changed = format!("$.data[].field_{}", i % TYPE_CHANGED_PATHS);
        drifts.push(Drift {
            before: Some(json!({"required": true, "types": ["integer"]})),
            after: Some(json!({"required": true, "types": ["string"]})),
            ..drift(
                Rule::SchemaTypeChanged,
                Severity::Breaking,
                ProbeKind::Schema,
                Some(changed.clone()),
                format!("`{changed}` changed type from integer to string"),
            )
        });
        drifts.push(Drift {
            before: Some(json!({"class": "granted", "status": 200})),
            after: Some(
                json!({"class": "partial", "status": 200, "missing_paths": ["$.data[].email"]}),
            ),
            ..drift(
                Rule::PermissionNewlyPartial,
                Severity::Breaking,
                ProbeKind::Permissions,
                Some("read".into()),
                format!(
                    "scope set `read` now misses `$.data[].email` from `{subject}`; it got the full data before"
                ),
            )
        });
        drifts.push(Drift {
            before: Some(json!({"sunset": null})),
            after: Some(json!({"sunset": sunset})),
            ..drift(
                Rule::DeprecationAnnounced,
                Severity::Warning,
                ProbeKind::Deprecation,
                Some("$.sunset".into()),
                format!("`{subject}` now has a sunset date: {sunset}"),
            )
        });
        for (c, id) in ids.into_iter().enumerate() {
            exchanges.push(Exchange {
                id,
                provider: PROVIDER.into(),
                connection: Some(connection(c)),
                purpose: format!("endpoint:{subject}"),
                request: RecordedRequest {
                    method: "GET".into(),
                    url: format!("https://api.example/v1/{subject}"),
                    headers: vec![("authorization".into(), "Bearer [REDACTED]".into())],
                    body: None,
                },
                response: Some(RecordedResponse {
                    status: 200,
                    headers: vec![
                        ("content-type".into(), "application/json".into()),
                        ("sunset".into(), sunset.clone()),
                    ],
                    body: Some(format!(
                        "{{\"data\":[{}]}}",
                        "{\"field_1\":\"12\",\"new_field\":\"x\"},".repeat(60)
                    )),
                    body_bytes: 2_100,
                    body_truncated: false,
                }),
                error: None,
                started_at: at,
                duration_ms: 40,
            });
        }
    }
    Run {
        format: RUN_FORMAT.into(),
        run_id: "20261127T210000Z-scale".into(),
        started_at: at,
        finished_at: at,
        duration_ms: 60_000,
        suites: vec![SuiteSummary {
            file: format!("suites/{PROVIDER}.yaml"),
            provider: PROVIDER.into(),
            connections: conns.clone(),
            endpoints: (0..endpoints).map(endpoint).collect(),
        }],
        connections: conns
            .iter()
            .map(|c| {
                ConnectionStatus::healthy(
                    PROVIDER,
                    c,
                    &format!("{PROVIDER}/{c}"),
                    ConnectionState::Ok,
                )
            })
            .collect(),
        not_compared: vec![],
        observations,
        drifts,
        findings: vec![],
        pending: vec![],
        errors: vec![],
        tokens: vec![],
        client_secrets: vec![],
        exchanges,
        evidence_mode: Default::default(),
        shard: None,
        merged: None,
        evidence: vec![],
        skipped: Vec::new(),
        expanded: Vec::new(),
        scopes: Vec::new(),
        rendered: Default::default(),
    }
}

/// A fingerprint stand-in, unique per endpoint and rule.
fn drifts_seed(i: usize, rule: &str) -> u64 {
    let r = rule
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    (i as u64) << 32 | (r & 0xffff_ffff)
}
