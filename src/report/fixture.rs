//! A fixed, finished run shared by the reporters' snapshot tests.
//! Test-only: no clock, no randomness, no secrets.

use crate::model::{Drift, Observation, ObservationKey, ProbeKind, RunError, Severity};
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
        rule: rule.into(),
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
                "refresh.class-changed",
                Severity::Info,
                ProbeKind::Refresh,
                "refresh",
                None,
                &["acme-corp"],
                "acme-corp: refresh tokens now rotate",
            ),
            drift(
                "schema.type-changed",
                Severity::Breaking,
                ProbeKind::Schema,
                "invoices",
                Some("$.data[].amount_cents"),
                &[],
                "`$.data[].amount_cents` changed type from integer to string",
            ),
            drift(
                "schema.status-changed",
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
        exchanges: vec![],
        shard: None,
        merged: None,
        evidence: vec![],
    }
}
