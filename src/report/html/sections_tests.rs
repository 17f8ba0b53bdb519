use super::*;
use crate::report::fixture::html_run;

fn anchored(run: &Run) -> Vec<(&Drift, String)> {
    run.drifts
        .iter()
        .enumerate()
        .map(|(i, d)| (d, format!("drift-{i}")))
        .chain(
            run.findings
                .iter()
                .enumerate()
                .map(|(i, d)| (d, format!("finding-{i}"))),
        )
        .collect()
}

fn with_anchors<'a>(v: &'a [(&'a Drift, String)]) -> Vec<Anchored<'a>> {
    v.iter().map(|(d, a)| (*d, a.as_str())).collect()
}

#[test]
fn matrix_cells_show_class_detail_changes_and_doc_differences() {
    let run = html_run();
    let owned = anchored(&run);
    let m = matrices(&run, &with_anchors(&owned), Caps::DEFAULT).0;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].scope_sets, ["basic", "full", "public-only"]);
    let row = &m[0].rows[0];
    assert_eq!(row.endpoint, "invoices");
    type Cell<'a> = (&'a str, Option<&'a str>, Option<&'a str>, usize, usize);
    let cells: Vec<Cell> = row
        .cells
        .iter()
        .map(|c| {
            (
                c.class.as_str(),
                c.status.as_deref(),
                c.detail.as_deref(),
                c.changed.len(),
                c.documented.len(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            (
                "denied",
                Some("403"),
                Some("403-insufficient-scope (insufficient_scope)"),
                1,
                0
            ),
            ("granted", Some("200"), None, 0, 0),
            (
                "partial",
                Some("200"),
                Some("missing fields: $.data[].amount_cents"),
                0,
                1
            ),
        ]
    );
    assert_eq!(
        row.cells[0].changed[0].rule,
        Rule::PermissionNewlyDenied.id()
    );
}

#[test]
fn refresh_rows_join_classes_with_token_health() {
    let run = html_run();
    let owned = anchored(&run);
    let rows = refresh_rows(&run, &with_anchors(&owned), Caps::DEFAULT).0;
    let got: Vec<(&str, &str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r.connection.as_str(),
                r.rotation.as_str(),
                r.reuse.as_str(),
                r.urgency,
                r.countdown.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "acme-corp",
                "rotates",
                "old token fails (one-time use)",
                "ok",
                "30 days left"
            ),
            (
                "globex",
                "does not rotate",
                "reusable",
                "soon",
                "3 days left"
            ),
        ]
    );
    assert_eq!(
        rows[0].refresh_lifetime.as_deref(),
        Some("2592000 s (30 d)")
    );
    assert_eq!(
        rows[0].drifts.len(),
        1,
        "refresh.class-changed of acme-corp"
    );
    assert_eq!(rows[1].issues_refresh_tokens, Some(false));
}

#[test]
fn schema_tree_marks_changed_fields_and_restores_missing_ones() {
    let run = html_run();
    let owned = anchored(&run);
    let s = schemas(&run, &with_anchors(&owned), Caps::DEFAULT).0;
    let invoices = &s[0];
    assert_eq!(invoices.endpoint, "invoices");
    assert_eq!(invoices.responses, ["acme-corp 200", "globex 200"]);
    let nodes: Vec<(&str, usize, &str, &str)> = invoices
        .nodes
        .iter()
        .map(|n| (n.label.as_str(), n.depth, n.types.as_str(), n.status))
        .collect();
    assert_eq!(
        nodes,
        [
            ("$", 0, "object", ""),
            ("data", 1, "array", ""),
            ("[]", 2, "object", ""),
            ("amount_cents", 3, "string", "changed"),
            ("due", 3, "null | string", ""),
        ]
    );
    assert_eq!(
        invoices.plain, None,
        "a changed tree is laid out field by field"
    );
    // `me` has no shape; its status drift has no path, so the tree stays empty.
    assert!(s[1].nodes.is_empty());
    assert_eq!(s[1].plain, None);
}

#[test]
fn unchanged_trees_are_indented_text() {
    let mut run = html_run();
    run.drifts.retain(|d| d.probe != ProbeKind::Schema);
    let s = schemas(&run, &[], Caps::DEFAULT).0;
    assert!(s[0].nodes.is_empty());
    assert_eq!(
        s[0].plain.as_deref(),
        Some(
            "$: object\n  data: array\n    []: object\n      amount_cents: string\n      due: null | string (date) optional\n"
        )
    );
}

#[test]
fn renamed_fields_show_on_both_sides() {
    let mut run = html_run();
    let d = &mut run.drifts[0];
    d.rule = Rule::SchemaFieldRenamed.emit(crate::model::Severity::Breaking);
    d.probe = ProbeKind::Schema;
    d.subject = "invoices".into();
    d.path = Some("$.data[].total".into());
    d.after = Some(serde_json::json!({"path": "$.data[].amount_cents", "types": ["string"]}));
    let owned = anchored(&run);
    let s = schemas(&run, &with_anchors(&owned), Caps::DEFAULT).0;
    let find = |p: &str| s[0].nodes.iter().find(|n| n.path == p).unwrap();
    assert_eq!(find("$.data[].total").status, "removed");
    assert_eq!(
        find("$.data[].total").note.as_deref(),
        Some("renamed to $.data[].amount_cents")
    );
    assert_eq!(find("$.data[].amount_cents").status, "added");
}

#[test]
fn values_flag_connections_zeroed_while_peers_are_not() {
    let run = html_run();
    let v = values(&run, Caps::DEFAULT).0;
    assert_eq!(v[0].metrics, ["clicks", "conversions"]);
    let flags: Vec<(&str, Vec<bool>)> = v[0]
        .rows
        .iter()
        .map(|r| {
            (
                r.connection.as_str(),
                r.cells.iter().map(|c| c.anomaly).collect(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("acme-corp", vec![false, false]),
            ("globex", vec![false, true])
        ]
    );
    assert_eq!(
        v[0].rules,
        [(
            "conversions-follow-clicks".to_string(),
            "globex".to_string()
        )]
    );
}

#[test]
fn deprecations_lie_on_a_timeline_around_the_run() {
    let run = html_run();
    let d = deprecations(&run, Caps::DEFAULT);
    let got: Vec<(&str, bool, usize)> = d.events.iter().map(|e| (e.kind, e.past, e.x)).collect();
    assert_eq!(
        got,
        [
            ("deprecated", true, 20),
            ("run", false, 359),
            ("sunset", false, 580)
        ]
    );
    assert_eq!(d.undated.len(), 1);
    assert_eq!(
        d.undated[0].detail.as_deref(),
        Some("X-API-Warn: use /v2/invoices")
    );
}

#[test]
fn path_segments_and_durations() {
    assert_eq!(segments("$"), (0, "$".to_string()));
    assert_eq!(segments("$.data[]"), (2, "[]".to_string()));
    assert_eq!(segments("$.a.b.c"), (3, "c".to_string()));
    assert_eq!(human_secs(3600), "3600 s (1 h)");
    assert_eq!(human_secs(90), "90 s");
    assert_eq!(human_secs(120), "120 s (2 min)");
}

/// A values table of 5,000 connections keeps the zeroed ones within the row cap and
/// counts the rest; the anomaly check is linear (a peer count per metric).
#[test]
fn values_tables_keep_anomalies_within_the_row_cap() {
    let mut run = html_run();
    let conns: serde_json::Map<String, Value> = (0..5_000)
        .map(|i| {
            let class = if i % 1_000 == 7 { "zero" } else { "non-zero" };
            (format!("c{i:04}"), serde_json::json!({"clicks": class}))
        })
        .collect();
    run.observations
        .retain(|o| o.key.probe != ProbeKind::Values);
    run.observations.push(Observation {
        key: crate::model::ObservationKey {
            provider: "demo".into(),
            probe: ProbeKind::Values,
            subject: "reports".into(),
            connection: None,
        },
        body: serde_json::json!({"connections": conns}),
    });
    let caps = Caps {
        table_rows: 10,
        ..Caps::DEFAULT
    };
    let (v, hidden) = values(&run, caps);
    assert_eq!(hidden, 0);
    let rows: Vec<(&str, bool)> = v[0]
        .rows
        .iter()
        .map(|r| (r.connection.as_str(), r.cells[0].anomaly))
        .collect();
    assert_eq!(
        rows,
        [
            ("c0000", false),
            ("c0001", false),
            ("c0002", false),
            ("c0003", false),
            ("c0004", false),
            ("c0007", true),
            ("c1007", true),
            ("c2007", true),
            ("c3007", true),
            ("c4007", true),
        ]
    );
    assert_eq!(v[0].more_rows, 4_990);
}

/// Refresh rows beyond the cap: dying tokens are kept, healthy ones counted.
#[test]
fn refresh_rows_keep_dead_and_soon_dying_tokens_within_the_cap() {
    let run = html_run();
    let owned = anchored(&run);
    let caps = Caps {
        rows: 1,
        ..Caps::DEFAULT
    };
    let (rows, hidden) = refresh_rows(&run, &with_anchors(&owned), caps);
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.connection.as_str(), r.urgency))
        .collect();
    assert_eq!(got, [("globex", "soon")]);
    assert_eq!(hidden, 1);
}

/// Issue 20: one row per provider's OAuth app, joining the liveness observation, the client
/// secret's countdown and the app drifts.
#[test]
fn app_rows_join_liveness_secret_expiry_and_drifts() {
    let mut run = html_run();
    run.observations.push(Observation {
        key: crate::model::ObservationKey {
            provider: "acme".into(),
            probe: ProbeKind::App,
            subject: crate::probe::app::SUBJECT.into(),
            connection: None,
        },
        body: serde_json::json!({"client": "rejected", "error": "invalid_client", "status": 401, "www_authenticate": true}),
    });
    let now: DateTime<Utc> = "2026-12-04T00:00:00Z".parse().unwrap();
    run.client_secrets = vec![
        crate::probe::app::client_secret_health(
            "acme",
            "2026-12-09T00:00:00Z".parse().unwrap(),
            chrono::Duration::days(7),
            now,
        ),
        crate::probe::app::client_secret_health(
            "globex",
            "2026-12-01T00:00:00Z".parse().unwrap(),
            chrono::Duration::days(7),
            now,
        ),
    ];
    run.drifts
        .extend(crate::probe::app::secret_expiry_drifts(&run.client_secrets));
    let owned = anchored(&run);
    let (rows, more) = app_rows(&run, &with_anchors(&owned), Caps::DEFAULT);
    assert_eq!(more, 0);
    let seen: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.provider.as_str(),
                r.client.as_deref(),
                r.error.as_deref(),
                r.secret.as_deref(),
                r.urgency,
                r.countdown.as_str(),
                r.drifts.iter().map(|l| l.rule.as_str()).collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "acme",
                Some("rejected"),
                Some("invalid_client"),
                Some("expiring"),
                "soon",
                "5 days",
                vec![Rule::AppClientSecretExpiring.id()]
            ),
            (
                "globex",
                None,
                None,
                Some("expired"),
                "dead",
                "expired 3 days ago",
                vec![Rule::AppClientSecretExpiring.id()]
            ),
        ]
    );
    let capped = app_rows(
        &run,
        &with_anchors(&owned),
        Caps {
            rows: 1,
            ..Caps::DEFAULT
        },
    );
    assert_eq!((capped.0.len(), capped.1), (1, 1));
}

/// "Why each scope" is bounded like the matrix: at most `table_rows` rows per provider, the
/// unused scopes kept first, the rest counted; at most `tables` providers.
#[test]
fn scope_tables_are_capped_and_keep_unused_scopes() {
    use crate::probe::permissions::scopes::{ProviderScopes, ScopeJustification};
    let scope = |i: usize, unused: bool| ScopeJustification {
        scope: format!("s{i:03}"),
        requested_in: vec!["full".into()],
        unlocks: Vec::new(),
        token_scope: false,
        unused,
    };
    let mut run = html_run();
    run.scopes = (0..3)
        .map(|p| ProviderScopes {
            provider: format!("p{p}"),
            judged: true,
            scopes: (0..30).map(|i| scope(i, p == 2 && i == 29)).collect(),
        })
        .collect();
    let caps = Caps {
        tables: 2,
        table_rows: 10,
        ..Caps::DEFAULT
    };
    let (views, hidden) = scope_tables(&run, caps);
    assert_eq!(hidden, 1);
    let shown: Vec<(&str, usize, usize)> = views
        .iter()
        .map(|v| (v.provider.as_str(), v.rows.len(), v.more_rows))
        .collect();
    // `p2` holds the unused scope: it is kept before `p1`.
    assert_eq!(shown, [("p0", 10, 20), ("p2", 10, 20)]);
    assert!(views[1].rows.iter().any(|r| r.unused && r.scope == "s029"));
}
