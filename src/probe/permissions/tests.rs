//! Exact-result tests of the permissions probe: one sample per provider style in
//! oauth-facts.md, reference selection, each finding, the observation and determinism.

use super::*;
use serde_json::json;

fn sample(set: &str, scopes: &[&str], status: u16, body: Value) -> PermissionSample {
    PermissionSample {
        scope_set: set.to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        connection: "acme".to_owned(),
        status: Some(status),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(body),
        transport_error: None,
    }
}

fn with_header(mut s: PermissionSample, name: &str, value: &str) -> PermissionSample {
    s.headers.push((name.to_owned(), value.to_owned()));
    s
}

/// The fullest answer: the reference of most tests.
fn full() -> PermissionSample {
    sample(
        "full",
        &["profile", "email", "activity:read_all"],
        200,
        json!({"id": 1, "name": "Ada", "email": "ada@example.com",
               "address": {"city": "X", "zip": "1"},
               "activities": [{"id": 1}, {"id": 2}, {"id": 3}]}),
    )
}

/// A cell with only the given class and status; the rest is filled in by each test.
fn cell(class: CellClass, status: Option<u16>) -> Cell {
    Cell {
        class,
        status,
        signal: None,
        error_code: None,
        www_authenticate_error: None,
        missing_paths: Vec::new(),
        missing_items: None,
        fields_withheld: Vec::new(),
        reference: false,
    }
}

fn denied(status: u16, signal: &str, code: Option<&str>) -> Cell {
    Cell {
        signal: Some(signal.to_owned()),
        error_code: code.map(str::to_owned),
        ..cell(CellClass::Denied, Some(status))
    }
}

/// Classifies `other` next to the full reference and returns its cell.
fn against_full(other: PermissionSample) -> Cell {
    let set = other.scope_set.clone();
    let mut cells = classify(&[full(), other]);
    cells.remove(&set).expect("cell of the sample")
}

#[test]
fn google_403_with_insufficient_scope_is_a_conformant_denial() {
    let s = with_header(
        sample(
            "basic",
            &["profile"],
            403,
            json!({"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
                             "status": "PERMISSION_DENIED",
                             "errors": [{"reason": "insufficientPermissions"}]}}),
        ),
        "www-authenticate",
        "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", scope=\"email\"",
    );
    assert_eq!(
        against_full(s),
        Cell {
            www_authenticate_error: Some("insufficient_scope".into()),
            ..denied(403, INSUFFICIENT_SCOPE_SIGNAL, Some("PERMISSION_DENIED"))
        }
    );
}

#[test]
fn slack_200_ok_false_is_an_envelope_denial() {
    let s = sample(
        "basic",
        &["users:read"],
        200,
        json!({"ok": false, "error": "missing_scope", "needed": "users:read.email", "provided": "users:read"}),
    );
    assert_eq!(
        against_full(s),
        denied(200, ENVELOPE_SIGNAL, Some("missing_scope"))
    );
}

#[test]
fn github_404_is_a_denial_without_code() {
    let s = sample(
        "basic",
        &["read:user"],
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
    );
    assert_eq!(against_full(s), denied(404, "404", None));
}

#[test]
fn github_graphql_insufficient_scopes_with_null_data_is_an_envelope() {
    let s = sample(
        "basic",
        &["read:user"],
        200,
        json!({"data": null, "errors": [{"type": "INSUFFICIENT_SCOPES", "message": "Your token has not been granted the required scopes"}]}),
    );
    assert_eq!(
        against_full(s),
        denied(200, ENVELOPE_SIGNAL, Some("INSUFFICIENT_SCOPES"))
    );
}

#[test]
fn github_graphql_partial_data_is_partial_not_denied() {
    let reference = sample(
        "full",
        &["read:user", "user:email"],
        200,
        json!({"data": {"viewer": {"login": "ada", "email": "ada@example.com"}}}),
    );
    let s = sample(
        "basic",
        &["read:user"],
        200,
        json!({"data": {"viewer": {"login": "ada"}},
               "errors": [{"type": "INSUFFICIENT_SCOPES", "path": ["viewer", "email"]}]}),
    );
    let cells = classify(&[reference, s]);
    assert_eq!(
        cells["basic"],
        Cell {
            missing_paths: vec!["$.data.viewer.email".into()],
            ..cell(CellClass::Partial, Some(200))
        }
    );
}

#[test]
fn dropbox_401_missing_scope_takes_the_tag() {
    let s = sample(
        "basic",
        &["account_info.read"],
        401,
        json!({"error_summary": "missing_scope/..", "error": {".tag": "missing_scope", "required_scope": "files.metadata.read"}}),
    );
    assert_eq!(against_full(s), denied(401, "401", Some("missing_scope")));
}

#[test]
fn zoom_400_code_4711_keeps_the_number() {
    let s = sample(
        "basic",
        &["user:read"],
        400,
        json!({"code": 4711, "message": "Invalid access token, does not contain scopes:[meeting:read]."}),
    );
    assert_eq!(against_full(s), denied(400, "400", Some("4711")));
}

#[test]
fn notion_404_object_not_found() {
    let s = sample(
        "basic",
        &["read_content"],
        404,
        json!({"object": "error", "status": 404, "code": "object_not_found", "message": "Could not find page with ID: 59833787-2cf9-4fdf-8782-e53db20768a5."}),
    );
    assert_eq!(
        against_full(s),
        denied(404, "404", Some("object_not_found"))
    );
}

#[test]
fn a_top_level_error_object_with_200_is_an_envelope() {
    let s = sample(
        "basic",
        &["profile"],
        200,
        json!({"error": {"code": 403, "message": "forbidden"}}),
    );
    assert_eq!(against_full(s), denied(200, ENVELOPE_SIGNAL, Some("403")));
    // `error` next to real data is data, not an envelope.
    let data = sample("basic", &["profile"], 200, json!({"error": null, "id": 1}));
    assert_eq!(against_full(data).class, CellClass::Partial);
}

#[test]
fn strava_dropped_items_are_partial_by_items() {
    let s = sample(
        "basic",
        &["profile", "activity:read"],
        200,
        json!({"id": 1, "name": "Ada", "email": "ada@example.com",
               "address": {"city": "X", "zip": "1"}, "activities": [{"id": 1}, {"id": 3}]}),
    );
    assert_eq!(
        against_full(s),
        Cell {
            missing_items: Some((2, 3)),
            ..cell(CellClass::Partial, Some(200))
        }
    );
}

#[test]
fn item_counts_of_another_customer_are_not_partial() {
    // A connection granted exactly `basic` is another customer: fewer activities are its data.
    let mut s = sample(
        "basic",
        &["profile", "activity:read"],
        200,
        json!({"id": 1, "name": "Ada", "email": "ada@example.com",
               "address": {"city": "X", "zip": "1"}, "activities": [{"id": 1}]}),
    );
    s.connection = "globex".to_owned();
    assert_eq!(against_full(s.clone()), cell(CellClass::Granted, Some(200)));
    // Missing fields are still partial: a shape does not depend on the customer.
    s.body = Some(
        json!({"id": 1, "name": "Ada", "address": {"city": "X", "zip": "1"},
                         "activities": [{"id": 1}]}),
    );
    assert_eq!(
        against_full(s),
        Cell {
            missing_paths: vec!["$.email".to_owned()],
            ..cell(CellClass::Partial, Some(200))
        }
    );
}

#[test]
fn not_probed_cells_are_a_finding_naming_what_to_add() {
    let mut cells = BTreeMap::new();
    cells.insert("public-only".to_owned(), Cell::not_probed());
    let sets = BTreeMap::from([("public-only".to_owned(), vec!["profile".to_owned()])]);
    let found = findings("demo", "me", &["profile".to_owned()], &[], &sets, &cells);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, Rule::PermissionNotProbed.id());
    assert_eq!(found[0].severity, Severity::Info);
    assert_eq!(found[0].path.as_deref(), Some("public-only"));
    assert_eq!(
        found[0].message,
        "scope set `public-only` was not probed against `me`: no connection holds exactly these \
         scopes, and narrowing another grant could narrow it for good; add a connection granted \
         exactly `public-only`, or mark a test connection that holds more `disposable: true`"
    );
    assert_eq!(Cell::not_probed().to_json(), json!({"class": "not-probed"}));
}

#[test]
fn an_emptied_list_counts_items_not_paths() {
    let s = sample(
        "basic",
        &["profile", "email"],
        200,
        json!({"id": 1, "name": "Ada", "email": "ada@example.com",
               "address": {"city": "X", "zip": "1"}, "activities": []}),
    );
    assert_eq!(
        against_full(s),
        Cell {
            missing_items: Some((0, 3)),
            ..cell(CellClass::Partial, Some(200))
        }
    );
}

#[test]
fn missing_fields_are_partial_with_topmost_paths() {
    let s = sample(
        "basic",
        &["profile"],
        200,
        json!({"id": 1, "name": "Ada", "activities": [{"id": 1}, {"id": 2}, {"id": 3}]}),
    );
    assert_eq!(
        against_full(s),
        Cell {
            missing_paths: vec!["$.address".into(), "$.email".into()],
            ..cell(CellClass::Partial, Some(200))
        }
    );
}

#[test]
fn extra_fields_and_null_values_are_still_granted() {
    let s = sample(
        "basic",
        &["profile"],
        200,
        json!({"id": 1, "name": "Ada", "email": null, "extra": true,
               "address": {"city": "X", "zip": "1"}, "activities": [{"id": 1}, {"id": 2}, {"id": 3}]}),
    );
    assert_eq!(against_full(s), cell(CellClass::Granted, Some(200)));
}

#[test]
fn errors_are_transport_5xx_unreadable_and_non_answers() {
    let mut transport = sample("a-transport", &[], 200, json!({}));
    transport.status = None;
    transport.body = None;
    transport.transport_error = Some("timeout".into());
    let server = sample(
        "b-server",
        &[],
        503,
        json!({"error": "temporarily_unavailable"}),
    );
    let mut html = sample("c-html", &[], 200, json!({}));
    html.body = None;
    let redirect = sample("d-redirect", &[], 302, json!({}));
    let cells = classify(&[transport, server, html, redirect]);
    assert_eq!(
        cells.into_iter().collect::<Vec<_>>(),
        vec![
            ("a-transport".into(), cell(CellClass::Error, None)),
            (
                "b-server".into(),
                Cell {
                    error_code: Some("temporarily_unavailable".into()),
                    ..cell(CellClass::Error, Some(503))
                }
            ),
            ("c-html".into(), cell(CellClass::Error, Some(200))),
            ("d-redirect".into(), cell(CellClass::Error, Some(302))),
        ]
    );
}

#[test]
fn a_too_deep_2xx_is_an_error() {
    let mut v = json!(1);
    for _ in 0..(crate::probe::shape::MAX_DEPTH + 1) {
        v = Value::Array(vec![v]);
    }
    let cells = classify(&[sample("deep", &["a"], 200, v)]);
    assert_eq!(cells["deep"], cell(CellClass::Error, Some(200)));
}

fn reference_of(samples: &[PermissionSample]) -> Value {
    observe("demo", "profile", &classify(samples), "unknown").body["reference"].clone()
}

#[test]
fn reference_is_the_2xx_data_answer_with_most_scopes() {
    let small = sample("a-small", &["x"], 200, json!({"id": 1}));
    let big = sample("z-big", &["x", "y"], 200, json!({"id": 1, "more": 2}));
    // Denials and envelopes never become the reference, however many scopes they hold.
    let denied = sample("m-denied", &["x", "y", "z"], 403, json!({}));
    let envelope = sample("n-env", &["x", "y", "z"], 200, json!({"ok": false}));
    let cells = classify(&[small.clone(), big.clone(), denied.clone(), envelope.clone()]);
    assert_eq!(
        reference_of(&[small.clone(), big.clone(), denied, envelope]),
        json!("z-big")
    );
    assert_eq!(
        cells["a-small"],
        Cell {
            missing_paths: vec!["$.more".into()],
            ..cell(CellClass::Partial, Some(200))
        }
    );
    assert!(cells["z-big"].reference);
    // Ties go to the first name; duplicated scopes count once.
    let twin = sample("b-twin", &["y", "x", "x"], 200, json!({"id": 1}));
    assert_eq!(reference_of(&[big.clone(), twin.clone()]), json!("b-twin"));
    assert_eq!(
        classify(&[big, twin])["z-big"],
        cell(CellClass::Granted, Some(200))
    );
    // Nothing readable: no reference.
    assert_eq!(
        reference_of(&[sample("d", &["x"], 404, json!({}))]),
        Value::Null
    );
}

#[test]
fn codes_that_may_be_values_are_dropped() {
    let code = |body: Value| error_code(Some(&body));
    assert_eq!(code(json!({"error": "has spaces in it"})), None);
    assert_eq!(code(json!({"error": "a".repeat(65)})), None);
    assert_eq!(code(json!({"error": "a".repeat(64)})), Some("a".repeat(64)));
    assert_eq!(code(json!({"error": "sim_at_secretvalue"})), None);
    assert_eq!(code(json!({"error": "tok3n"})), None);
    assert_eq!(code(json!({"code": -1})), None);
    // A bad first candidate falls through to the next.
    assert_eq!(
        code(json!({"error": "Not allowed", "errors": [{"code": "forbidden"}]})),
        Some("forbidden".into())
    );
    assert_eq!(code(json!(["x"])), None);
}

#[test]
fn www_authenticate_error_is_parsed_quoted_or_not() {
    let parse = |v: &str| www_authenticate_error(&[("WWW-Authenticate".into(), v.into())]);
    assert_eq!(
        parse("Bearer realm=\"a, b\", error=\"insufficient_scope\""),
        Some("insufficient_scope".into())
    );
    assert_eq!(
        parse("Bearer error=invalid_token, error_description=\"x\""),
        Some("invalid_token".into())
    );
    assert_eq!(parse("Bearer error_description=\"error=fake\""), None);
    assert_eq!(parse("Basic realm=\"sim\""), None);
    assert_eq!(parse("Bearer abc=="), None);
    // Found by the `headers` fuzz target: a word that only looks like a secret prefix is a
    // code; a real secret prefix never is.
    assert_eq!(
        parse("Basic realm=\"a\\\";b\", Bear((((((er error=sim_atrces"),
        Some("sim_atrces".into())
    );
    assert_eq!(parse("Bearer error=sim_at_abcdef"), None);
    assert_eq!(parse("Bearer error = \"a\\\"b\""), None);
    assert_eq!(
        parse("Bearer error=\"unterminated"),
        Some("unterminated".into())
    );
    assert_eq!(
        www_authenticate_error(&[("www-authenticate".into(), "Bearer error=\"x_y\"".into())]),
        Some("x_y".into())
    );
}

/// Scope sets of the findings tests: `profile` is documented as requiring `profile`.
fn scope_sets() -> BTreeMap<String, Vec<String>> {
    [
        ("full", vec!["profile", "email"]),
        ("basic", vec!["profile"]),
        ("none", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect()
}

fn run_findings(cells: &[(&str, Cell)]) -> Vec<Drift> {
    let cells: BTreeMap<String, Cell> = cells
        .iter()
        .map(|(k, c)| ((*k).to_owned(), c.clone()))
        .collect();
    findings(
        "demo",
        "profile",
        &["profile".to_owned()],
        &[],
        &scope_sets(),
        &cells,
    )
}

fn summary(drifts: &[Drift]) -> Vec<(&str, Severity, Option<&str>, &str)> {
    drifts
        .iter()
        .map(|d| {
            (
                d.rule.as_str(),
                d.severity,
                d.path.as_deref(),
                d.message.as_str(),
            )
        })
        .collect()
}

#[test]
fn conformant_matrix_has_no_findings() {
    let conformant = Cell {
        www_authenticate_error: Some("insufficient_scope".into()),
        ..denied(403, INSUFFICIENT_SCOPE_SIGNAL, None)
    };
    let drifts = run_findings(&[
        ("full", cell(CellClass::Granted, Some(200))),
        ("basic", cell(CellClass::Granted, Some(200))),
        ("none", conformant),
    ]);
    assert_eq!(drifts, vec![]);
}

#[test]
fn each_finding_is_named_exactly() {
    let partial = Cell {
        missing_paths: vec!["$.email".into()],
        missing_items: Some((2, 3)),
        ..cell(CellClass::Partial, Some(200))
    };
    let drifts = run_findings(&[
        ("full", denied(403, "403", None)),
        ("basic", partial.clone()),
        ("none", cell(CellClass::Granted, Some(200))),
        ("unknown-set", denied(404, "404", Some("object_not_found"))),
    ]);
    assert_eq!(
        summary(&drifts),
        vec![
            (
                Rule::PermissionInsufficientScopeMissing.id(),
                Severity::Info,
                Some("full"),
                "`profile` denies scope set `full` with 403 but WWW-Authenticate has no error=\"insufficient_scope\""
            ),
            (
                Rule::PermissionMisleadingDenial.id(),
                Severity::Warning,
                Some("unknown-set"),
                "`profile` denies scope set `unknown-set` with 404 (object_not_found) instead of 403 insufficient_scope"
            ),
            (
                Rule::PermissionUndocumentedRequirement.id(),
                Severity::Warning,
                Some("basic"),
                "scope set `basic` holds every documented scope of `profile` (`profile`) but got partial data (missing `$.email`; 2 of 3 items)"
            ),
            (
                Rule::PermissionUndocumentedRequirement.id(),
                Severity::Warning,
                Some("full"),
                "scope set `full` holds every documented scope of `profile` (`profile`) but was denied with 403"
            ),
            (
                Rule::PermissionWorksWithoutDocumentedScope.id(),
                Severity::Info,
                Some("none"),
                "scope set `none` gets the full data of `profile` without documented scope `profile`"
            ),
        ]
    );
    let d = &drifts[2];
    assert_eq!(d.provider, "demo");
    assert_eq!(d.probe, ProbeKind::Permissions);
    assert_eq!(d.subject, "profile");
    assert_eq!(d.connections, Vec::<String>::new());
    assert_eq!(d.before, None);
    assert_eq!(
        d.after,
        Some(
            json!({"class": "partial", "status": 200, "missing_paths": ["$.email"], "missing_items": [2, 3]})
        )
    );
}

#[test]
fn every_misleading_signal_is_a_finding() {
    for (signal, status) in [("401", 401), ("400", 400), (ENVELOPE_SIGNAL, 200)] {
        let drifts = run_findings(&[("none", denied(status, signal, None))]);
        assert_eq!(
            summary(&drifts),
            vec![(
                Rule::PermissionMisleadingDenial.id(),
                Severity::Warning,
                Some("none"),
                format!(
                    "`profile` denies scope set `none` with {signal} instead of 403 insufficient_scope"
                )
                .as_str()
            )]
        );
    }
    // A 403 that names another error says so.
    let other = Cell {
        www_authenticate_error: Some("invalid_token".into()),
        ..denied(403, "403", None)
    };
    assert_eq!(
        run_findings(&[("none", other)])[0].message,
        "`profile` denies scope set `none` with 403 but WWW-Authenticate says error=\"invalid_token\" instead of insufficient_scope"
    );
    // Errors are no finding at all.
    assert_eq!(
        run_findings(&[("full", cell(CellClass::Error, None))]),
        vec![]
    );
}

#[test]
fn observe_writes_reference_cells_and_downscoping() {
    let s = with_header(
        sample(
            "basic",
            &["profile"],
            403,
            json!({"error": "insufficient_scope"}),
        ),
        "WWW-Authenticate",
        "Bearer error=\"insufficient_scope\"",
    );
    let obs = observe("demo", "profile", &classify(&[full(), s]), "honoured");
    assert_eq!(
        obs.key,
        ObservationKey {
            provider: "demo".into(),
            probe: ProbeKind::Permissions,
            subject: "profile".into(),
            connection: None,
        }
    );
    assert_eq!(
        serde_json::to_string(&obs.body).expect("json"),
        concat!(
            r#"{"cells":{"basic":{"class":"denied","error_code":"insufficient_scope","#,
            r#""signal":"403-insufficient-scope","status":403,"www_authenticate_error":"insufficient_scope"},"#,
            r#""full":{"class":"granted","status":200}},"downscoping":"honoured","reference":"full"}"#
        )
    );
}

#[test]
fn classification_does_not_depend_on_sample_order() {
    let samples = vec![
        full(),
        sample(
            "basic",
            &["profile"],
            200,
            json!({"id": 1, "activities": [{"id": 1}]}),
        ),
        sample(
            "slack",
            &["x"],
            200,
            json!({"ok": false, "error": "missing_scope"}),
        ),
        sample(
            "twin",
            &["email", "profile", "activity:read_all"],
            200,
            json!({"id": 2}),
        ),
    ];
    let forward = observe("demo", "profile", &classify(&samples), "unknown");
    let mut reversed = samples.clone();
    reversed.reverse();
    let backward = observe("demo", "profile", &classify(&reversed), "unknown");
    assert_eq!(
        serde_json::to_string(&forward.body).expect("json"),
        serde_json::to_string(&backward.body).expect("json")
    );
    assert_eq!(forward.body["reference"], json!("full"));
    assert_eq!(
        forward.body["cells"]["twin"]["missing_paths"],
        json!(["$.activities", "$.address", "$.email", "$.name"])
    );
}

/// Observations covering every cell field: a reference, a partial by paths, a partial by
/// items, a denial with signal and code, an error, an unprobed set, and no reference at all.
fn every_shape_of_body() -> Vec<Observation> {
    let small = sample("a-small", &["x"], 200, json!({"id": 1}));
    let big = sample("z-big", &["x", "y"], 200, json!({"id": 1, "more": 2}));
    let denied = sample("m-denied", &["x", "y", "z"], 403, json!({}));
    let broken = sample("e-broken", &["x"], 500, json!({}));
    let mut cells = classify(&[small, big, denied, broken]);
    cells.insert("n-unprobed".into(), Cell::not_probed());
    cells.insert(
        "i-items".into(),
        Cell {
            missing_items: Some((2, 5)),
            ..cell(CellClass::Partial, Some(200))
        },
    );
    let no_reference = BTreeMap::from([("only".to_owned(), Cell::not_probed())]);
    vec![
        observe("demo", "profile", &cells, "honoured"),
        observe("demo", "orders", &no_reference, "not-probed"),
    ]
}

#[test]
fn permissions_snapshot_round_trips_through_the_typed_body() {
    let bodies = every_shape_of_body();
    assert_eq!(bodies[1].body["reference"], Value::Null);
    for obs in bodies {
        let header = crate::baseline::SnapshotHeader::new("demo", obs.key.clone());
        let text = crate::baseline::render_snapshot(&header, &obs.body);
        let (_, read) =
            crate::baseline::parse_snapshot(std::path::Path::new("t.snap"), &text).unwrap();
        let typed = PermissionsBody::parse(&read.body).unwrap();
        assert!(typed.cells.values().all(|c| c.cell().is_some()));
        assert_eq!(
            crate::baseline::render_snapshot(&header, &typed.to_json()),
            text
        );
    }
    // A cell this version cannot read is kept as written, so it round-trips too.
    let odd = json!({"cells": {"basic": {"class": "maybe"}}, "downscoping": "unknown", "reference": null});
    let typed = PermissionsBody::parse(&odd).unwrap();
    assert_eq!(typed.cells["basic"].cell(), None);
    assert_eq!(typed.to_json(), odd);
}

#[test]
fn permissions_view_reads_the_typed_body() {
    let v = view::view(&every_shape_of_body()[0].body).unwrap();
    assert_eq!(v.reference.as_deref(), Some("z-big"));
    assert_eq!(v.downscoping.as_deref(), Some("honoured"));
    let shown: Vec<(&str, &str, Option<&str>, Option<&str>)> = v
        .cells
        .iter()
        .map(|(set, c)| {
            (
                set.as_str(),
                c.class,
                c.status.as_deref(),
                c.detail.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "a-small",
                "partial",
                Some("200"),
                Some("missing fields: $.more")
            ),
            ("e-broken", "error", Some("500"), None),
            ("i-items", "partial", Some("200"), Some("2 of 5 items")),
            ("m-denied", "denied", Some("403"), Some("403")),
            ("n-unprobed", "error", None, None),
            ("z-big", "granted", Some("200"), None),
        ]
    );
    assert_eq!(view::view(&json!({"downscoping": "unknown"})), None);
}

/// `requires_any` (OpenAPI OR-security): a scope set meeting any one alternative meets the
/// documented requirement; one meeting none lacks the closest alternative's scopes.
#[test]
fn requires_any_one_alternative_is_enough() {
    let sets: BTreeMap<String, Vec<String>> = [
        ("narrow", vec!["files.ui_hidden.read"]),
        ("broad", vec!["files"]),
        ("other", vec!["profile"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    let any = vec![
        vec!["files.ui_hidden.read".to_owned()],
        vec!["files".to_owned()],
    ];
    let cells: BTreeMap<String, Cell> = [
        ("narrow", denied(403, "403", None)),
        ("broad", cell(CellClass::Granted, Some(200))),
        ("other", cell(CellClass::Granted, Some(200))),
    ]
    .into_iter()
    .map(|(k, c)| (k.to_owned(), c))
    .collect();
    let drifts = findings("hubspot", "list-files", &[], &any, &sets, &cells);
    assert_eq!(
        summary(&drifts),
        vec![
            (
                Rule::PermissionInsufficientScopeMissing.id(),
                Severity::Info,
                Some("narrow"),
                "`list-files` denies scope set `narrow` with 403 but WWW-Authenticate has no error=\"insufficient_scope\""
            ),
            (
                Rule::PermissionUndocumentedRequirement.id(),
                Severity::Warning,
                Some("narrow"),
                "scope set `narrow` holds every documented scope of `list-files` (any of `files.ui_hidden.read` or `files`) but was denied with 403"
            ),
            (
                Rule::PermissionWorksWithoutDocumentedScope.id(),
                Severity::Info,
                Some("other"),
                "scope set `other` gets the full data of `list-files` without documented scope `files.ui_hidden.read` (documented: any of `files.ui_hidden.read` or `files`)"
            ),
        ]
    );
}
