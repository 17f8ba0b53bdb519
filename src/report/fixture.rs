//! A fixed, finished run shared by the reporters' snapshot tests.
//! Test-only: no clock, no randomness, no secrets.

use crate::model::{Drift, Observation, ObservationKey, ProbeKind, RunError, Severity};
use crate::rules::{Rule, RuleId};
use crate::run::{PendingSnapshot, Run, SuiteSummary};
use chrono::TimeZone;
use serde_json::json;

fn drift(
    rule: &str,
    severity: Severity,
    probe: ProbeKind,
    subject: &str,
    path: Option<&str>,
    conns: &[&str],
    message: &str,
) -> Drift {
    Drift {
        // As read from a stored run.json: any id, any severity.
        rule: RuleId::parse(rule),
        severity,
        provider: "demo".into(),
        probe,
        subject: subject.into(),
        path: path.map(str::to_string),
        connections: conns.iter().map(|c| c.to_string()).collect(),
        message: message.into(),
        before: Some(json!({"types": ["integer"]})),
        after: Some(json!({"types": ["string"]})),
        exchanges: vec!["x0001".into()],
        fingerprint: String::new(),
        suppressed: None,
        first_seen: None,
    }
}

fn observed(provider: &str, probe: ProbeKind, subject: &str, conn: Option<&str>) -> Observation {
    Observation {
        key: ObservationKey {
            provider: provider.into(),
            probe,
            subject: subject.into(),
            connection: conn.map(str::to_string),
        },
        body: json!({}),
    }
}

/// Two suites: `demo` with a breaking and a warning drift, an info drift on a
/// refresh observation, a finding, an error and a pending snapshot; `quiet`
/// with nothing to say.
/// One connection of each kind a report shows: fine, recovered, unusable.
fn fixed_connections(at: chrono::DateTime<chrono::Utc>) -> Vec<crate::model::ConnectionStatus> {
    use crate::model::{ConnectionState, ConnectionStatus};
    let mut recovered = ConnectionStatus::healthy(
        "demo",
        "globex",
        "demo/globex",
        ConnectionState::AccessTokenRejected,
    );
    recovered.severity = Some(Severity::Warning);
    recovered.error = Some("invalid_token".into());
    recovered.message = Some("the provider rejected the access token of connection `globex` before it expired (1 request(s) answered 401); it was refreshed once and the retried request(s) worked".into());
    recovered.exchanges = vec!["x0001".into()];
    vec![
        ConnectionStatus::healthy("demo", "acme-corp", "demo/acme-corp", ConnectionState::Ok),
        recovered,
        ConnectionStatus {
            provider: "quiet".into(),
            connection: "app".into(),
            credential: "quiet/app".into(),
            state: ConnectionState::GrantDead,
            usable: false,
            severity: Some(Severity::Breaking),
            message: Some("connection `app` cannot be used, the provider refused its grant (`invalid_grant`; last worked on 2026-11-26 21:00 UTC): the refresh token for `quiet/app` was rejected (invalid_grant): it expired, was revoked, or was already used. Re-authorise the connection: `driftwatch connect suites/quiet.yaml app`.".into()),
            error: Some("invalid_grant".into()),
            last_worked_at: Some(at - chrono::Duration::days(1)),
            reconnect: Some("driftwatch connect suites/quiet.yaml app".into()),
            refresh_class: None,
            exchanges: Vec::new(),
        },
    ]
}

pub(crate) fn fixed_run() -> Run {
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 11, 27, 21, 0, 0)
        .single()
        .expect("a valid fixed timestamp");
    Run {
        format: crate::run::RUN_FORMAT.into(),
        run_id: "20261127T210000Z-abcd".into(),
        started_at: at,
        finished_at: at,
        duration_ms: 1234,
        suites: vec![
            SuiteSummary {
                file: "suites/demo.yaml".into(),
                provider: "demo".into(),
                connections: vec!["acme-corp".into(), "globex".into()],
                endpoints: vec!["invoices".into(), "me".into()],
            },
            SuiteSummary {
                file: "suites/quiet.yaml".into(),
                provider: "quiet".into(),
                connections: vec!["app".into()],
                endpoints: vec!["status".into()],
            },
        ],
        connections: fixed_connections(at),
        not_compared: vec![crate::model::NotCompared {
            key: crate::model::ObservationKey {
                provider: "quiet".into(),
                probe: ProbeKind::Values,
                subject: "status".into(),
                connection: None,
            },
            connections: vec!["app".into()],
            reason: crate::model::NOT_COMPARED_UNUSABLE.into(),
        }],
        observations: vec![
            observed("demo", ProbeKind::Refresh, "refresh", Some("acme-corp")),
            observed("demo", ProbeKind::Schema, "invoices", None),
            observed("demo", ProbeKind::Schema, "me", None),
            observed("quiet", ProbeKind::Schema, "status", None),
        ],
        findings: vec![drift(
            "permissions.undocumented-access",
            Severity::Warning,
            ProbeKind::Permissions,
            "invoices",
            None,
            &["globex"],
            "globex reads `invoices` without the documented scope | invoices:read",
        )],
        drifts: vec![
            drift(
                Rule::RefreshClassChanged.id(),
                Severity::Info,
                ProbeKind::Refresh,
                "refresh",
                None,
                &["acme-corp"],
                "acme-corp: refresh tokens now rotate",
            ),
            drift(
                Rule::SchemaTypeChanged.id(),
                Severity::Breaking,
                ProbeKind::Schema,
                "invoices",
                Some("$.data[].amount_cents"),
                &[],
                "`$.data[].amount_cents` changed type from integer to string",
            ),
            drift(
                Rule::SchemaStatusChanged.id(),
                Severity::Warning,
                ProbeKind::Schema,
                "me",
                None,
                &["globex"],
                "globex: status 404 → 403",
            ),
        ],
        pending: vec![PendingSnapshot {
            provider: "demo".into(),
            probe: ProbeKind::Schema,
            subject: "invoices".into(),
            connection: None,
            status: "changed".into(),
            file: Some("snapshots/demo/schema/invoices.snap.new".into()),
            accepted: false,
        }],
        errors: vec![RunError {
            provider: "demo".into(),
            connection: Some("globex".into()),
            probe: Some(ProbeKind::Schema),
            subject: Some("me".into()),
            class: "timeout".into(),
            message: "request timed out after 10s".into(),
        }],
        tokens: vec![],
        client_secrets: vec![],
        exchanges: vec![],
        evidence_mode: crate::run::EvidenceMode::Full,
        shard: None,
        merged: None,
        evidence: vec![],
        skipped: Vec::new(),
        expanded: Vec::new(),
        scopes: Vec::new(),
        rendered: Default::default(),
    }
}

/// [`fixed_run`] with the observation bodies, token health and exchanges the HTML
/// report lays out: a permission matrix with a changed and an undocumented cell,
/// refresh classes, a schema shape, zeroed values and a dated deprecation.
pub(crate) fn html_run() -> Run {
    use crate::auth::health::TokenHealth;
    use crate::model::{Exchange, RecordedRequest, RecordedResponse};
    let mut run = fixed_run();
    let at = run.started_at;
    let with = |probe, subject: &str, conn: Option<&str>, body| Observation {
        body,
        ..observed("demo", probe, subject, conn)
    };
    run.observations = vec![
        with(
            ProbeKind::Permissions,
            "invoices",
            None,
            json!({"cells": {
                "basic": {"class": "denied", "error_code": "insufficient_scope",
                          "signal": "403-insufficient-scope", "status": 403},
                "full": {"class": "granted", "status": 200},
                "public-only": {"class": "partial", "missing_paths": ["$.data[].amount_cents"], "status": 200}},
                "downscoping": "honoured", "reference": "full"}),
        ),
        with(
            ProbeKind::Refresh,
            "refresh",
            Some("acme-corp"),
            json!({"access_token_lifetime_s": 3600, "class": "rotating-one-time",
                   "issues_refresh_tokens": true, "refresh_token_lifetime_s": 2_592_000}),
        ),
        with(
            ProbeKind::Refresh,
            "refresh",
            Some("globex"),
            json!({"access_token_lifetime_s": 3600, "class": "non-rotating", "issues_refresh_tokens": false}),
        ),
        with(
            ProbeKind::Schema,
            "invoices",
            None,
            json!({"responses": {"acme-corp": {"status": 200}, "globex": {"status": 200}},
                   "shape": {"$": {"required": true, "types": ["object"]},
                             "$.data": {"required": true, "types": ["array"]},
                             "$.data[]": {"required": true, "types": ["object"]},
                             "$.data[].amount_cents": {"required": true, "types": ["string"]},
                             "$.data[].due": {"format": "date", "required": false, "types": ["null", "string"]}}}),
        ),
        with(ProbeKind::Schema, "me", None, json!({})),
        with(
            ProbeKind::Values,
            "reports-summary",
            None,
            json!({"complete_flag": {"acme-corp": true, "globex": true},
                   "connections": {"acme-corp": {"clicks": "non-zero", "conversions": "non-zero"},
                                   "globex": {"clicks": "non-zero", "conversions": "zero"}},
                   "rules": {"conversions-follow-clicks": ["globex"]}}),
        ),
        with(
            ProbeKind::Deprecation,
            "invoices",
            None,
            json!({"deprecated": "2026-01-01T00:00:00Z", "links": [], "sunset": "2027-06-30T23:59:59Z",
                   "vendor": {"X-API-Warn": "use /v2/invoices"}, "warnings": []}),
        ),
        observed("quiet", ProbeKind::Schema, "status", None),
    ];
    run.drifts.push(drift(
        Rule::PermissionNewlyDenied.id(),
        Severity::Breaking,
        ProbeKind::Permissions,
        "invoices",
        Some("basic"),
        &[],
        "scope set `basic` is now denied by `invoices` <script>alert(1)</script>",
    ));
    run.drifts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    run.findings[0].path = Some("public-only".into());
    run.findings[0].fingerprint = "f00d".into();
    run.drifts[0].fingerprint = "beef".into();
    let days = |d: i64| at + chrono::Duration::days(d);
    run.tokens = vec![
        TokenHealth {
            provider: "demo".into(),
            connection: "acme-corp".into(),
            credential: "demo/acme-corp".into(),
            status: "ok".into(),
            last_refreshed_at: Some(at),
            access_token_expires_at: Some(at),
            refresh_token_expires_at: Some(days(30)),
            expiry_source: Some("response".into()),
            days_left: Some(30),
            rejected: None,
        },
        TokenHealth {
            provider: "demo".into(),
            connection: "globex".into(),
            credential: "demo/globex".into(),
            status: "expiring".into(),
            last_refreshed_at: None,
            access_token_expires_at: None,
            refresh_token_expires_at: Some(days(3)),
            expiry_source: Some("idle".into()),
            days_left: Some(3),
            rejected: None,
        },
    ];
    run.exchanges = vec![Exchange {
        id: "x0001".into(),
        provider: "demo".into(),
        connection: Some("acme-corp".into()),
        purpose: "endpoint:invoices".into(),
        request: RecordedRequest {
            method: "GET".into(),
            url: "http://127.0.0.1:[PORT]/v1/invoices".into(),
            headers: vec![("authorization".into(), "Bearer [REDACTED]".into())],
            body: None,
        },
        response: Some(RecordedResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(
                r#"{"data":[{"amount_cents":"990000"}],"leak":"sim_at_should_never_show"}"#.into(),
            ),
            body_bytes: 70,
            body_truncated: false,
        }),
        error: None,
        started_at: at,
        duration_ms: 12,
    }];
    run.scopes = vec![fixture_scopes()];
    run
}

/// The "Why each scope" table of [`html_run`]'s matrix: `invoices:read` and `email` observed,
/// `webhooks:read` unused.
fn fixture_scopes() -> crate::probe::permissions::scopes::ProviderScopes {
    use crate::probe::permissions::scopes::{EndpointScopes, justify};
    use crate::probe::permissions::{Cell, CellClass};
    use std::collections::BTreeMap;
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let sets = BTreeMap::from([
        ("basic".to_owned(), strings(&["webhooks:read"])),
        (
            "full".to_owned(),
            strings(&["email", "invoices:read", "webhooks:read"]),
        ),
        (
            "public-only".to_owned(),
            strings(&["email", "webhooks:read"]),
        ),
    ]);
    let cell = |class| Cell {
        class,
        ..Cell::not_probed()
    };
    let cells = BTreeMap::from([
        ("basic".to_owned(), cell(CellClass::Denied)),
        ("full".to_owned(), cell(CellClass::Granted)),
        ("public-only".to_owned(), cell(CellClass::Partial)),
    ]);
    let requires = strings(&["invoices:read"]);
    let endpoints = [EndpointScopes {
        id: "invoices",
        requires: &requires,
        requires_any: &[],
        requires_fields: &BTreeMap::new(),
        cells: Some(&cells),
    }];
    let requested = BTreeMap::from([("auth.scopes".to_owned(), strings(&["webhooks:read"]))]);
    justify("demo", &endpoints, &sets, &requested)
}
