use super::*;
use crate::model::{Observation, ObservationKey, RecordedRequest, RecordedResponse};
use serde_json::json;

const BODY: &str = r#"{"data":[{"id":"inv_81","email":"alice@customer.example","download":"https://files.example/inv_81.pdf?X-Amz-Signature=abc123"}],"total":1}"#;

fn exchange() -> Exchange {
    Exchange {
        id: "x0001".into(),
        provider: "demo".into(),
        connection: Some("acme".into()),
        purpose: "endpoint:invoices".into(),
        request: RecordedRequest {
            method: "GET".into(),
            url: "https://api.example/v1/invoices?limit=50&sig=[REDACTED]".into(),
            headers: vec![("authorization".into(), "Bearer [REDACTED]".into())],
            body: None,
        },
        response: Some(RecordedResponse {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (
                    "Location".into(),
                    "https://files.example/x?X-Amz-Signature=abc123".into(),
                ),
                ("X-API-Warn".into(), "v1 is deprecated".into()),
                ("Sunset".into(), "Wed, 30 Jun 2027 23:59:59 GMT".into()),
                ("x-request-id".into(), "req-alice".into()),
            ],
            body: Some(BODY.into()),
            body_bytes: BODY.len() as u64,
            body_truncated: false,
        }),
        error: None,
        started_at: chrono::DateTime::UNIX_EPOCH,
        duration_ms: 3,
    }
}

fn run_with(x: Exchange) -> Run {
    let mut run = super::super::execute::empty_run(chrono::DateTime::UNIX_EPOCH);
    run.exchanges = vec![x];
    run.observations = vec![Observation {
        key: ObservationKey {
            provider: "demo".into(),
            probe: ProbeKind::Deprecation,
            subject: "invoices".into(),
            connection: None,
        },
        body: json!({"vendor": {"X-API-Warn": "v1 is deprecated"}}),
    }];
    run
}

#[test]
fn full_keeps_the_exchange_as_recorded() {
    let mut run = run_with(exchange());
    assert_eq!(
        apply_evidence_mode(&mut run, EvidenceMode::Full),
        EvidenceMode::Full
    );
    assert_eq!(run.exchanges, vec![exchange()]);
}

#[test]
fn shapes_keeps_the_body_shape_and_only_the_header_values_probes_read() {
    let mut run = run_with(exchange());
    assert_eq!(
        apply_evidence_mode(&mut run, EvidenceMode::Shapes),
        EvidenceMode::Shapes
    );
    let x = &run.exchanges[0];
    let r = x.response.as_ref().unwrap();
    let shape: serde_json::Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        shape,
        json!({
            "$": {"required": true, "types": ["object"]},
            "$.data": {"required": true, "types": ["array"]},
            "$.data[]": {"required": true, "types": ["object"]},
            "$.data[].download": {"format": "uri", "required": true, "types": ["string"]},
            "$.data[].email": {"format": "email", "required": true, "types": ["string"]},
            "$.data[].id": {"required": true, "types": ["string"]},
            "$.total": {"required": true, "types": ["integer"]},
        })
    );
    assert_eq!(
        r.headers,
        vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Location".to_string(), OMITTED.to_string()),
            ("X-API-Warn".to_string(), "v1 is deprecated".to_string()),
            (
                "Sunset".to_string(),
                "Wed, 30 Jun 2027 23:59:59 GMT".to_string()
            ),
            ("x-request-id".to_string(), OMITTED.to_string()),
        ]
    );
    // Sizes and status stay: they are not customer data.
    assert_eq!((r.status, r.body_bytes), (200, BODY.len() as u64));
    assert_eq!(
        x.request.url,
        "https://api.example/v1/invoices?limit=[omitted]&sig=[omitted]"
    );
    // The request is built from the suite: its headers stay (already redacted).
    assert_eq!(x.request.headers, exchange().request.headers);
    let text = serde_json::to_string(&run).unwrap();
    for customer in [
        "alice@customer.example",
        "X-Amz-Signature=abc123",
        "req-alice",
    ] {
        assert!(!text.contains(customer), "{customer} in {text}");
    }
    assert!(text.contains(r#""evidence_mode":"shapes""#), "{text}");
}

#[test]
fn none_keeps_no_body_and_no_header() {
    let mut run = run_with(exchange());
    apply_evidence_mode(&mut run, EvidenceMode::None);
    let x = &run.exchanges[0];
    assert_eq!(x.request.headers, Vec::new());
    assert_eq!(x.request.body, None);
    let r = x.response.as_ref().unwrap();
    assert_eq!((r.status, &r.headers, &r.body), (200, &Vec::new(), &None));
    assert_eq!(r.body_bytes, BODY.len() as u64);
    assert_eq!(
        x.request.url,
        "https://api.example/v1/invoices?limit=[omitted]&sig=[omitted]"
    );
    assert_eq!(run.evidence_mode, EvidenceMode::None);
}

#[test]
fn a_mode_only_ever_removes_and_is_idempotent() {
    let mut run = run_with(exchange());
    apply_evidence_mode(&mut run, EvidenceMode::Shapes);
    let shaped = run.exchanges.clone();
    // Asking again, or for more, changes nothing: a shape is never re-shaped, a body never
    // comes back.
    assert_eq!(
        apply_evidence_mode(&mut run, EvidenceMode::Shapes),
        EvidenceMode::Shapes
    );
    assert_eq!(
        apply_evidence_mode(&mut run, EvidenceMode::Full),
        EvidenceMode::Shapes
    );
    assert_eq!(run.exchanges, shaped);
    // From shapes to none is still possible.
    apply_evidence_mode(&mut run, EvidenceMode::None);
    assert_eq!(run.exchanges[0].response.as_ref().unwrap().body, None);
}

#[test]
fn a_body_that_is_not_json_has_no_shape() {
    assert_eq!(
        body_shape("<html>alice@customer.example</html>", false),
        None
    );
    assert_eq!(body_shape("slow down", false), None);
    assert_eq!(body_shape("", false), None);
}

#[test]
fn a_body_recorded_in_part_gives_the_shape_of_its_complete_values() {
    // The second item is cut in half: it is dropped, not merged as an item without `email`.
    let cut = r#"{"items":[{"id":1,"email":"a@b.example"},{"id":2,"em"#;
    let shape: serde_json::Value = serde_json::from_str(&body_shape(cut, true).unwrap()).unwrap();
    assert_eq!(
        shape,
        json!({
            "$": {"required": true, "types": ["object"]},
            "$.items": {"required": true, "types": ["array"]},
            "$.items[]": {"required": true, "types": ["object"]},
            "$.items[].email": {"format": "email", "required": true, "types": ["string"]},
            "$.items[].id": {"required": true, "types": ["integer"]},
        })
    );
    // Not marked as cut: a broken body is not repaired.
    assert_eq!(body_shape(cut, false), None);
}

#[test]
fn close_prefix_cuts_after_the_last_complete_value() {
    let cases = [
        (r#"[1,2,3"#, Some("[1,2]")),
        (r#"{"a":{"b":[1,"x,]"#, Some(r#"{"a":{"b":[1]}}"#)),
        (r#"{"a":{"b":1,"c"#, Some(r#"{"a":{"b":1}}"#)),
        (
            r#"[{"a":[1],"b":1},{"a":[1,2,"#,
            Some(r#"[{"a":[1],"b":1}]"#),
        ),
        (r#"[{"a":1},{"#, Some(r#"[{"a":1}]"#)),
        (r#"{"a":"}],\"""#, Some("{}")),
        (r#"{"a":1}"#, Some(r#"{"a":1}"#)),
        (r#"{"a":["#, Some(r#"{"a":[]}"#)),
        ("12", None),
        ("]", None),
    ];
    for (cut, want) in cases {
        assert_eq!(close_prefix(cut).as_deref(), want, "{cut}");
    }
}

#[test]
fn mask_query_keeps_names_and_hides_values() {
    assert_eq!(mask_query("https://a.example/p"), "https://a.example/p");
    assert_eq!(
        mask_query("https://a.example/p?x=1&flag&&y=a=b#frag"),
        "https://a.example/p?x=[omitted]&flag&y=[omitted]#[omitted]"
    );
}

#[test]
fn vendor_headers_come_from_deprecation_observations_and_shard_signals() {
    let run = run_with(exchange());
    assert_eq!(
        vendor_headers(&run),
        BTreeSet::from(["x-api-warn".to_string()])
    );
}

#[test]
fn evidence_mode_names_and_order() {
    assert!(EvidenceMode::Full < EvidenceMode::Shapes && EvidenceMode::Shapes < EvidenceMode::None);
    for m in [EvidenceMode::Full, EvidenceMode::Shapes, EvidenceMode::None] {
        assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()), "{m}");
        assert_eq!(
            <EvidenceMode as clap::ValueEnum>::from_str(m.as_str(), false),
            Ok(m)
        );
    }
}
