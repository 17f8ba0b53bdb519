//! Assess is pure: evidence in, drifts out. These pin DESIGN.md safety rule 5: an unusable
//! connection's evidence yields no drift of any probe, and a rejected refresh is never
//! evidence about refresh tokens.

use super::*;
use crate::auth::health::TokenHealth;
use crate::model::{ConnectionState, ConnectionStatus, ObservationKey};
use crate::probe::deprecation::{DeprecationValue, Signals};
use crate::probe::refresh::{RefreshStep, RefreshTrace, StepKind};
use crate::probe::values::ValuesSpec;
use crate::run::evidence::{EndpointInfo, SampleEvidence, SignalsEvidence};
use serde_json::json;
use std::collections::BTreeMap;

const CONNS: [&str; 2] = ["a", "b"];

fn refresh_step(ok: bool) -> RefreshStep {
    RefreshStep {
        kind: StepKind::Refresh,
        at_ms: 0,
        ok,
        error: (!ok).then(|| "invalid_grant".to_string()),
        returned_refresh_token: ok,
        rotated: ok,
        expires_in: ok.then_some(3600),
        refresh_token_expires_in: None,
    }
}

fn trace(conn: &str, ok: bool) -> RefreshTrace {
    RefreshTrace {
        connection: conn.into(),
        disposable: false,
        steps: vec![refresh_step(ok)],
        had_refresh_token: true,
        documented: None,
    }
}

fn token_facts(ok: bool) -> crate::probe::token::TokenFacts {
    let headers = [("content-type".to_string(), "application/json".to_string())];
    let (status, body): (u16, &[u8]) = if ok {
        (
            200,
            br#"{"access_token":"t","token_type":"Bearer","expires_in":3600,"refresh_token":"r"}"#,
        )
    } else {
        (400, br#"{"error":"invalid_grant"}"#)
    };
    crate::probe::token::analyse("refresh_token", &[], Some("old"), status, &headers, body)
}

fn health(conn: &str, status: &str) -> TokenHealth {
    TokenHealth {
        provider: "p".into(),
        connection: conn.into(),
        credential: format!("p/{conn}"),
        status: status.into(),
        last_refreshed_at: None,
        access_token_expires_at: None,
        refresh_token_expires_at: None,
        expiry_source: None,
        days_left: None,
        rejected: None,
    }
}

fn sample(conn: &str, status: u16, body: Option<serde_json::Value>) -> SampleEvidence {
    SampleEvidence {
        connection: conn.into(),
        status,
        content_type: body.as_ref().map(|_| "application/json".to_string()),
        shape: body.map(|b| std::sync::Arc::new(crate::probe::shape::infer(&b).unwrap())),
        exchange_id: None,
    }
}

fn values(conn: &str, n: u64) -> crate::probe::values::ConnectionValues {
    let spec = ValuesSpec {
        metrics: BTreeMap::from([("n".to_string(), "$.n".to_string())]),
        auto_numeric: false,
        rules: Vec::new(),
        complete_flag: None,
    };
    crate::probe::values::evaluate(&spec, conn, &json!({ "n": n })).unwrap()
}

/// Both connections fine: `b` answers a field `a` does not.
fn healthy_evidence() -> SuiteEvidence {
    SuiteEvidence {
        file: "suites/p.yaml".into(),
        provider: "p".into(),
        all_connections: CONNS.iter().map(|c| c.to_string()).collect(),
        endpoints: vec![EndpointInfo {
            id: "me".into(),
            requires: Vec::new(),
            requires_any: Vec::new(),
            requires_fields: BTreeMap::new(),
            tolerate: BTreeMap::new(),
        }],
        scope_sets: BTreeMap::new(),
        auth_scopes: BTreeMap::new(),
        provider_wide: true,
        token_facts: vec![(0, token_facts(true)), (1, token_facts(true))],
        samples: vec![vec![
            sample("a", 200, Some(json!({"id": 1}))),
            sample("b", 200, Some(json!({"id": 2, "b_only": "x"}))),
        ]],
        violations: vec![Vec::new()],
        values: vec![vec![values("a", 5), values("b", 7)]],
        signals: vec![vec![
            SignalsEvidence::new("a".into(), Signals::default()),
            SignalsEvidence::new("b".into(), Signals::default()),
        ]],
        metadata: Vec::new(),
        metadata_findings: Vec::new(),
        app: None,
        client_secret: None,
        callbacks: Vec::new(),
        permissions: None,
        refresh: vec![trace("a", true), trace("b", true)],
        tokens: vec![health("a", "ok"), health("b", "ok")],
        connections: CONNS
            .iter()
            .map(|c| ConnectionStatus::healthy("p", c, &format!("p/{c}"), ConnectionState::Ok))
            .collect(),
        skipped: Vec::new(),
    }
}

/// A baseline accepted from `healthy_evidence` in a fresh store.
fn baseline() -> (tempfile::TempDir, BaselineStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = BaselineStore::new(dir.path());
    let a = assess(healthy_evidence(), &store, UpdateMode::Always, Utc::now()).unwrap();
    assert_eq!(a.drifts, vec![]);
    (dir, store)
}

#[test]
fn an_unusable_connection_yields_no_drift_of_any_probe() {
    let (_dir, store) = baseline();
    // `b`'s grant died: everything it gathered is what a credential failure looks like.
    let mut ev = healthy_evidence();
    ev.token_facts[1].1 = token_facts(false);
    ev.samples[0][1] = sample("b", 401, Some(json!({"error": "invalid_token"})));
    ev.values[0][1] = values("b", 0);
    ev.signals[0][1] = SignalsEvidence::new(
        "b".into(),
        Signals {
            deprecation: Some(DeprecationValue::True),
            ..Signals::default()
        },
    );
    ev.refresh[1] = trace("b", false);
    ev.tokens[1] = health("b", "expired");
    ev.connections[1].state = ConnectionState::GrantDead;
    ev.connections[1].usable = false;

    let a = assess(ev, &store, UpdateMode::New, Utc::now()).unwrap();
    assert_eq!(a.drifts, vec![]);
    // Findings are re-checked conformance of what usable connections showed (`a`'s token
    // answers here); none comes from `b`'s failure (no `values.*`, no error-answer finding).
    let findings: Vec<&str> = a.findings.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(
        findings,
        vec![
            Rule::TokenNoStoreMissing.id(),
            Rule::TokenScopeNotReturned.id()
        ]
    );
    assert_eq!(a.pending, vec![]);
    let key = |probe, connection: Option<&str>| ObservationKey {
        provider: "p".into(),
        probe,
        subject: "me".into(),
        connection: connection.map(str::to_string),
    };
    let skipped: Vec<ObservationKey> = a.not_compared.iter().map(|n| n.key.clone()).collect();
    assert_eq!(
        skipped,
        vec![
            key(ProbeKind::Schema, None),
            key(ProbeKind::Values, None),
            key(ProbeKind::Deprecation, None),
        ]
    );
    assert!(a.not_compared.iter().all(|n| n.connections == ["b"]));
    // What is compared comes from `a` only: its refresh and the token endpoint.
    let compared: Vec<String> = a.observations.iter().map(|o| o.key.to_string()).collect();
    assert_eq!(
        compared,
        vec![
            "p/token/token-endpoint.refresh_token",
            "p/refresh/refresh@a"
        ]
    );
}

#[test]
fn without_the_unusable_connection_the_same_evidence_is_drift() {
    // The control: the very same evidence from a usable `b` is drift, so the test above
    // passes because `b` is unusable, not because nothing changed.
    let (_dir, store) = baseline();
    let mut ev = healthy_evidence();
    ev.samples[0][1] = sample("b", 401, Some(json!({"error": "invalid_token"})));
    let a = assess(ev, &store, UpdateMode::No, Utc::now()).unwrap();
    assert!(
        a.drifts
            .iter()
            .any(|d| d.rule == Rule::SchemaStatusChanged.id()),
        "{:?}",
        a.drifts
    );
}

#[test]
fn refresh_stopped_issuing_never_comes_from_a_rejected_refresh() {
    let (_dir, store) = baseline();
    // `a` is usable (its access token was fresh) but a refresh this run was rejected.
    let mut ev = healthy_evidence();
    ev.refresh[0] = trace("a", false);
    let a = assess(ev, &store, UpdateMode::No, Utc::now()).unwrap();
    let rules: Vec<&str> = a.drifts.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(rules, Vec::<&str>::new());
}

#[test]
fn refresh_stopped_issuing_still_comes_from_a_successful_answer_without_one() {
    let (_dir, store) = baseline();
    let mut ev = healthy_evidence();
    ev.refresh[0].steps[0].returned_refresh_token = false;
    ev.refresh[0].steps[0].rotated = false;
    let a = assess(ev, &store, UpdateMode::No, Utc::now()).unwrap();
    let rules: Vec<&str> = a.drifts.iter().map(|d| d.rule.as_str()).collect();
    // One fact, one verdict: no replay ran, so no class is guessed from the same answers.
    assert_eq!(rules, vec![Rule::RefreshStoppedIssuing.id()]);
    let stopped = a
        .drifts
        .iter()
        .find(|d| d.rule == Rule::RefreshStoppedIssuing.id())
        .unwrap();
    assert!(
        stopped.message.contains("lifetime is unknown"),
        "{}",
        stopped.message
    );
}

/// One row of the assess table: a change to the healthy evidence and what assess makes of it
/// against the baseline accepted from the healthy evidence.
struct Row {
    name: &'static str,
    change: fn(&mut SuiteEvidence),
    drifts: &'static [Rule],
    /// `(observation key, status)` of the pending snapshots (`--update new`).
    pending: &'static [(&'static str, &'static str)],
}

#[test]
fn assess_table_evidence_in_drifts_and_pending_snapshots_out() {
    let rows = [
        Row {
            name: "unchanged",
            change: |_| {},
            drifts: &[],
            pending: &[],
        },
        Row {
            name: "a field only b answered is gone",
            change: |ev| ev.samples[0][1] = sample("b", 200, Some(json!({"id": 2}))),
            drifts: &[Rule::SchemaFieldRemoved],
            pending: &[("p/schema/me", "changed")],
        },
        Row {
            name: "a field changes type",
            change: |ev| ev.samples[0][0] = sample("a", 200, Some(json!({"id": "1"}))),
            drifts: &[Rule::SchemaTypeChanged],
            pending: &[("p/schema/me", "changed")],
        },
        Row {
            name: "a metric becomes zero for one connection",
            change: |ev| ev.values[0][0] = values("a", 0),
            drifts: &[Rule::ValuesZeroedForSubset],
            pending: &[("p/values/me", "changed")],
        },
        Row {
            name: "a metric becomes zero for every connection",
            change: |ev| ev.values[0] = vec![values("a", 0), values("b", 0)],
            drifts: &[Rule::ValuesZeroed],
            pending: &[("p/values/me", "changed")],
        },
        Row {
            name: "an answer announces deprecation",
            change: |ev| {
                ev.signals[0][0] = SignalsEvidence::new(
                    "a".into(),
                    Signals {
                        deprecation: Some(DeprecationValue::True),
                        ..Signals::default()
                    },
                )
            },
            drifts: &[Rule::DeprecationAnnounced],
            pending: &[("p/deprecation/me", "changed")],
        },
        Row {
            name: "nothing answered the endpoint: nothing compared, nothing removed",
            change: |ev| {
                ev.samples[0].clear();
                ev.values[0].clear();
                ev.signals[0].clear();
            },
            drifts: &[],
            pending: &[],
        },
    ];
    for row in rows {
        let (_dir, store) = baseline();
        let mut ev = healthy_evidence();
        (row.change)(&mut ev);
        let a = assess(ev, &store, UpdateMode::New, Utc::now()).unwrap();
        let mut rules: Vec<&str> = a.drifts.iter().map(|d| d.rule.as_str()).collect();
        rules.sort();
        let mut expected: Vec<&str> = row.drifts.iter().map(|r| r.id()).collect();
        expected.sort();
        assert_eq!(rules, expected, "{}", row.name);
        let pending: Vec<(String, &str)> = a
            .pending
            .iter()
            .map(|p| {
                (
                    format!("{}/{}/{}", p.provider, p.probe.as_str(), p.subject),
                    p.status.as_str(),
                )
            })
            .collect();
        let want: Vec<(String, &str)> = row
            .pending
            .iter()
            .map(|(k, s)| (k.to_string(), *s))
            .collect();
        assert_eq!(pending, want, "{}", row.name);
        // Every pending snapshot is on disk once assess returns (the batch is committed).
        for p in &a.pending {
            let file = p.file.as_deref().expect("`new` writes a .snap.new");
            assert!(std::path::Path::new(file).is_file(), "{}: {file}", row.name);
        }
    }
}

#[test]
fn assess_table_first_run_every_observation_is_new_and_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = BaselineStore::new(dir.path());
    for (mode, written) in [
        (UpdateMode::New, true),
        (UpdateMode::Always, true),
        (UpdateMode::No, false),
    ] {
        let a = assess(healthy_evidence(), &store, mode, Utc::now()).unwrap();
        let keys: Vec<String> = a
            .pending
            .iter()
            .map(|p| {
                let conn = p
                    .connection
                    .as_deref()
                    .map(|c| format!("@{c}"))
                    .unwrap_or_default();
                format!(
                    "{}/{}/{}{conn}:{}",
                    p.provider,
                    p.probe.as_str(),
                    p.subject,
                    p.status
                )
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                "p/token/token-endpoint.refresh_token:new",
                "p/schema/me:new",
                "p/values/me:new",
                "p/deprecation/me:new",
                "p/refresh/refresh@a:new",
                "p/refresh/refresh@b:new",
            ],
            "{mode:?}"
        );
        assert_eq!(a.drifts, vec![], "{mode:?}");
        let on_disk = a
            .pending
            .iter()
            .filter(|p| {
                p.file
                    .as_deref()
                    .is_some_and(|f| std::path::Path::new(f).is_file())
            })
            .count();
        assert_eq!(
            on_disk,
            if mode == UpdateMode::New { 6 } else { 0 },
            "{mode:?}"
        );
        if mode == UpdateMode::Always {
            // Written in place: the accepted files, no pending ones.
            assert!(a.pending.iter().all(|p| p.accepted && p.file.is_none()));
            assert!(store.pending().unwrap().is_empty());
            let _ = std::fs::remove_dir_all(dir.path().join("p"));
        } else if written {
            assert_eq!(store.pending().unwrap().len(), 6);
            store.reject(&crate::baseline::Filter::default()).unwrap();
        }
    }
}

/// Samples of one endpoint with equal shapes share one `Arc` (memory per probe, issue 17); a
/// different shape gets its own, and sharing changes nothing stored.
#[test]
fn push_shared_shares_equal_shapes() {
    let mut ev = SuiteEvidence {
        samples: vec![Vec::new()],
        ..healthy_evidence()
    };
    for s in [
        sample("a", 200, Some(json!({"n": 1}))),
        sample("b", 200, Some(json!({"n": 2}))),
        sample("c", 200, Some(json!({"n": "x"}))),
    ] {
        crate::run::evidence::push_shared(&mut ev.samples[0], s);
    }
    let shapes: Vec<_> = ev.samples[0]
        .iter()
        .map(|s| s.shape.clone().unwrap())
        .collect();
    assert!(std::sync::Arc::ptr_eq(&shapes[0], &shapes[1]));
    assert!(!std::sync::Arc::ptr_eq(&shapes[1], &shapes[2]));
    let stored = serde_json::to_value(&ev.samples[0][1]).unwrap();
    assert_eq!(
        stored["shape"],
        serde_json::to_value(crate::probe::shape::infer(&json!({"n": 2})).unwrap()).unwrap()
    );
    let back: SampleEvidence = serde_json::from_value(stored).unwrap();
    assert_eq!(back, ev.samples[0][1]);
}

/// Issue 19: a chained call skipped for `b` leaves the schema and values baselines that hold
/// `b` uncompared ("never an error or a drift").
#[test]
fn not_compared_chained_value_missing_yields_no_drift() {
    let (_dir, store) = baseline();
    let without_b = || {
        let mut ev = healthy_evidence();
        ev.samples[0].truncate(1);
        ev.values[0].truncate(1);
        ev
    };
    let mut ev = without_b();
    ev.skipped = vec![("me".into(), "b".into())];
    let a = assess(ev, &store, UpdateMode::No, Utc::now()).unwrap();
    assert_eq!(a.drifts, vec![]);
    let got: Vec<(ProbeKind, Vec<String>, String)> = a
        .not_compared
        .iter()
        .map(|n| (n.key.probe, n.connections.clone(), n.reason.clone()))
        .collect();
    let why = crate::model::NOT_COMPARED_SKIPPED.to_string();
    assert_eq!(
        got,
        vec![
            (ProbeKind::Schema, vec!["b".to_string()], why.clone()),
            (ProbeKind::Values, vec!["b".to_string()], why),
        ]
    );
    // The control: the same evidence without the skip record is drift (`b_only` removed).
    let a = assess(without_b(), &store, UpdateMode::No, Utc::now()).unwrap();
    assert!(
        a.drifts
            .iter()
            .any(|d| d.rule == Rule::SchemaFieldRemoved.id()),
        "{:?}",
        a.drifts
    );
}

/// Issue 20 item 4: the permission matrix justifies each requested scope, and a scope nothing
/// justifies is `permission.scope-unused`, once, among the findings (so every report has it).
#[test]
fn permission_scope_unused_comes_from_the_matrix_once() {
    use crate::probe::permissions::{Cell, CellClass};
    use crate::run::evidence::PermissionEvidence;
    let cell = |class| Cell {
        class,
        status: Some(200),
        ..Cell::not_probed()
    };
    let mut ev = healthy_evidence();
    ev.endpoints[0].requires = vec!["read".into()];
    ev.scope_sets = BTreeMap::from([
        (
            "full".to_owned(),
            vec!["read".to_owned(), "webhooks".to_owned()],
        ),
        ("none".to_owned(), vec![]),
    ]);
    ev.auth_scopes = BTreeMap::from([(
        "auth.scopes".to_owned(),
        vec!["openid".to_owned(), "read".to_owned()],
    )]);
    ev.permissions = Some(PermissionEvidence::new(
        vec![Some(BTreeMap::from([
            ("full".to_owned(), cell(CellClass::Granted)),
            ("none".to_owned(), cell(CellClass::Denied)),
        ]))],
        "not-needed".into(),
    ));
    let (_dir, store) = baseline();
    let a = assess(ev, &store, UpdateMode::No, Utc::now()).unwrap();
    let unused: Vec<(&str, &str, Option<&str>)> = a
        .findings
        .iter()
        .filter(|d| d.rule == Rule::PermissionScopeUnused)
        .map(|d| (d.provider.as_str(), d.subject.as_str(), d.path.as_deref()))
        .collect();
    assert_eq!(unused, [("p", "scopes", Some("webhooks"))]);
    let scopes = a.scopes.expect("the permissions probe ran");
    let verdicts: Vec<(&str, Vec<&str>, bool)> = scopes
        .scopes
        .iter()
        .map(|s| {
            (
                s.scope.as_str(),
                s.unlocks.iter().map(|u| u.endpoint.as_str()).collect(),
                s.unused,
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("openid", vec![], false),
            ("read", vec!["me"], false),
            ("webhooks", vec![], true),
        ]
    );
    // Without the permissions probe there is nothing to justify.
    let (_dir, store) = baseline();
    let a = assess(healthy_evidence(), &store, UpdateMode::No, Utc::now()).unwrap();
    assert!(a.scopes.is_none());
}
