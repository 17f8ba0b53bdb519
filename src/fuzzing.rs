//! Entry points for the cargo-fuzz targets in `fuzz/`: each feeds arbitrary bytes to one parser
//! and asserts what must hold for any input. Not a supported API; knows no fuzzing engine.

use crate::baseline::diff_observations;
use crate::context::Context;
use crate::model::{Observation, ObservationKey, ProbeKind};
use crate::probe::permissions::{PermissionSample, classify};
use crate::probe::{deprecation, shape};
use crate::suite::{LoadMode, analyze, render_all};
use serde_json::{Value, json};
use std::path::Path;

/// A secret the `headers` target registers with the redactor (also in its seeds).
const FUZZ_SECRET: &str = "Zm9vYmFyLXNlY3JldA+/=";

const PROBES: [ProbeKind; 8] = [
    ProbeKind::Metadata,
    ProbeKind::Token,
    ProbeKind::Permissions,
    ProbeKind::Refresh,
    ProbeKind::Schema,
    ProbeKind::Values,
    ProbeKind::Deprecation,
    ProbeKind::App,
];

/// The suite loader on any text, both modes; every diagnostic renders, plain and coloured.
pub fn suite(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    // A directory that does not exist: relative file references fail as diagnostics.
    let ctx = Context::empty("/nonexistent/driftwatch-fuzz").with_var("SET", "sim_cs_fuzz");
    for mode in [LoadMode::Check, LoadMode::Run] {
        let (_, diagnostics) = analyze(Path::new("suites/fuzz.yaml"), source, &ctx, mode);
        let plain = render_all(&diagnostics, source, false);
        let _ = render_all(&diagnostics, source, true);
        assert!(!plain.contains("sim_cs_fuzz"), "a variable's value leaked");
    }
}

/// Shape inference from bytes: the streaming path agrees with parse + `infer`, errors included,
/// and the result behaves (flattens, merges with itself to the same flattened shape).
pub fn shape_infer(data: &[u8]) {
    let parsed = serde_json::from_slice::<Value>(data);
    let streamed = shape::infer_slice(data);
    match (parsed, streamed) {
        (Ok(value), Ok(streamed)) => {
            let inferred = shape::infer(&value).expect("serde_json bounds depth below MAX_DEPTH");
            if has_map(&streamed) {
                // In a node that became a map a repeated key's earlier value already merged into
                // the map's value shape (documented in shape_stream.rs); without repeats the
                // paths agree.
                let unique = serde_json::to_vec(&value).expect("a Value serialises");
                let again = shape::infer_slice(&unique).expect("serialised from a Value");
                assert_eq!(inferred, again);
            } else {
                assert_eq!(inferred, streamed);
            }
            let flat = inferred.flatten();
            assert_eq!(inferred.merge(&inferred).flatten(), flat);
            let mut twice = inferred.clone();
            twice.merge_from(inferred.clone());
            assert_eq!(twice, inferred.merge(&inferred));
            let _ = inferred.to_body();
        }
        (Err(e), Err(shape::InferError::Json(s))) => assert_eq!(e.to_string(), s.to_string()),
        (p, s) => panic!("parse + infer gave {p:?}, streaming gave {s:?}"),
    }
}

/// Whether some node of `shape` folded into a map (its path ends in `{}`: no key renders so).
fn has_map(shape: &shape::Shape) -> bool {
    shape
        .flatten()
        .keys()
        .any(|p| p.ends_with(shape::MAP_VALUES))
}

/// Two JSON documents after a selector byte. High bit set: both are response bodies whose
/// inferred shapes are diffed as schema observations, and `diff(a, a)` must be empty. Otherwise
/// they are raw observation bodies of the probe the selector names: never a panic.
pub fn shape_diff(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut docs = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
    let (Some(Ok(a)), Some(Ok(b))) = (docs.next(), docs.next()) else {
        return;
    };
    let key = |probe| ObservationKey {
        provider: "fuzz".into(),
        probe,
        subject: "endpoint".into(),
        connection: None,
    };
    if selector & 0x80 != 0 {
        let (Ok(sa), Ok(sb)) = (shape::infer(&a), shape::infer(&b)) else {
            return;
        };
        let body = |s: &shape::Shape| json!({"responses": {}, "shape": s.to_body()});
        let before = Observation {
            key: key(ProbeKind::Schema),
            body: body(&sa),
        };
        let after = Observation {
            key: key(ProbeKind::Schema),
            body: body(&sb),
        };
        assert_eq!(diff_observations(&before, &before), Vec::new());
        let _ = diff_observations(&before, &after);
    } else {
        let probe = PROBES[usize::from(selector) % PROBES.len()];
        let before = Observation {
            key: key(probe),
            body: a,
        };
        let after = Observation {
            key: key(probe),
            body: b,
        };
        let _ = diff_observations(&before, &after);
        let _ = diff_observations(&after, &before);
    }
}

/// Header lines (`Name: value`) through the deprecation parsers (Deprecation, Sunset, Link,
/// Warning, vendor headers) and the WWW-Authenticate parser of the permissions probe.
pub fn headers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let headers: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim_start().to_owned()))
        .collect();
    let signals = deprecation::parse(&headers, &["X-Api-Warn".to_owned()]);
    let observation = deprecation::observe("fuzz", "endpoint", std::slice::from_ref(&signals));
    let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let _ = deprecation::findings("fuzz", "endpoint", &[signals], now);
    assert_eq!(diff_observations(&observation, &observation), Vec::new());

    // Redaction: a registered secret never survives, and `WWW-Authenticate` (a challenge, no
    // credential) is scrubbed like any text, never blanked by name (issue 15 item 7).
    let redactor = crate::http::Redactor::new(&[]).expect("no selectors");
    redactor.register_secret(FUZZ_SECRET);
    for ((name, value), (_, redacted)) in headers.iter().zip(redactor.redact_headers(&headers)) {
        assert!(!redacted.contains(FUZZ_SECRET), "{name} kept a secret");
        if name.eq_ignore_ascii_case("www-authenticate") {
            assert_eq!(
                redacted,
                redactor.scrub(value),
                "WWW-Authenticate over-redacted"
            );
        }
    }

    for status in [401, 403] {
        let sample = PermissionSample {
            scope_set: "basic".into(),
            scopes: vec!["read".into()],
            connection: "fuzz".into(),
            status: Some(status),
            headers: headers.clone(),
            body: None,
            transport_error: None,
        };
        for cell in classify(&[sample]).values() {
            if let Some(code) = &cell.www_authenticate_error {
                // A word that merely starts like one (`sim_atrces`) is a code, not a secret.
                let secret = crate::sim::SECRET_PREFIXES;
                assert!(
                    !secret.iter().any(|p| code.starts_with(p)),
                    "a secret kept as an error code"
                );
            }
        }
    }
}

/// Token-endpoint bodies: any bytes give a verdict; an accepted token can be a bearer token
/// (not empty, no control character, at most 16 KiB: issue 15 item 7); `Debug` never shows a
/// simulated access token (unless it also is the token type or a scope, which `Debug` shows on
/// purpose).
pub fn token_response(data: &[u8]) {
    use crate::auth::response::{Parsed, parse_token_body, token_defect};
    if let Parsed::Token(t) = parse_token_body(data) {
        assert_eq!(
            token_defect(&t.access_token),
            None,
            "an unusable access token"
        );
        if let Some(rt) = &t.refresh_token {
            assert_eq!(token_defect(rt), None, "an unusable refresh token");
        }
        let shown = format!("{t:?}");
        let elsewhere = t
            .token_type
            .as_deref()
            .unwrap_or("")
            .contains(&t.access_token)
            || t.scope
                .iter()
                .flatten()
                .any(|s| s.contains(&t.access_token));
        if t.access_token.starts_with("sim_at_") && !elsewhere {
            assert!(!shown.contains(&t.access_token), "Debug shows the token");
        }
    }
}

/// A `run.json` as `report` and `merge` read it: a file of another format version is refused
/// (issue 15 item 7); a loaded run renders in every format, and `evidence: none` leaves no
/// header and no body in it.
pub fn run_json(data: &[u8]) {
    use crate::report::{github, html, junit, markdown, run_from_reader, terminal};
    let path = Path::new("reports/fuzz/run.json");
    let declared = serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|v| v.get("format").and_then(Value::as_str).map(str::to_owned));
    let mut run = match run_from_reader(data, path) {
        Ok(run) => run,
        Err(e) => {
            if declared
                .as_deref()
                .is_some_and(|f| f != crate::run::RUN_FORMAT)
            {
                assert!(e.to_string().contains("unsupported format"), "{e}");
            }
            return;
        }
    };
    assert_eq!(run.format, crate::run::RUN_FORMAT);
    let summary = crate::run::RunSummary::of(&run);
    let _ = terminal::render(&run, &summary, false, None);
    let _ = markdown::render(&run, &summary);
    let _ = junit::render(&run, &summary, crate::settings::FailOn::Info);
    let _ = github::render(&run);
    let _ = html::render(&run, &html::History::only(&run));
    crate::run::apply_evidence_mode(&mut run, crate::run::EvidenceMode::Shapes);
    crate::run::apply_evidence_mode(&mut run, crate::run::EvidenceMode::None);
    assert_eq!(run.evidence_mode, crate::run::EvidenceMode::None);
    for x in &run.exchanges {
        assert!(x.request.headers.is_empty() && x.request.body.is_none());
        if let Some(r) = &x.response {
            assert!(r.headers.is_empty() && r.body.is_none());
        }
    }
}

/// A discovery document fetched from `https://id.example/.well-known/openid-configuration`:
/// its endpoints are used exactly when its `issuer` is `https://id.example` (RFC 8414 §3.3,
/// issue 15 item 2), and the metadata probe reports `metadata.issuer-mismatch` exactly when
/// they are not; the refusal names the document, never its other contents.
pub fn discovery(data: &[u8]) {
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let url = url::Url::parse("https://id.example/.well-known/openid-configuration")
        .expect("a valid URL");
    let expected = "https://id.example";
    let used = crate::run::check_issuer(&doc, expected, &url);
    let matches = doc.get("issuer").and_then(Value::as_str) == Some(expected);
    assert_eq!(used.is_ok(), matches, "issuer check disagrees");
    if let Err(e) = &used {
        assert_eq!(e.class, "discovery-issuer-mismatch");
        assert!(
            e.message
                .contains("https://id.example/.well-known/openid-configuration")
        );
    }
    let subject = crate::probe::metadata::SUBJECT_OPENID;
    let findings = crate::probe::metadata::findings("fuzz", subject, &doc, expected);
    let mismatch = findings
        .iter()
        .any(|f| f.rule == crate::rules::Rule::MetadataIssuerMismatch);
    assert_eq!(mismatch, !matches, "finding disagrees with the check");
    // The probe observes only documents that are objects; any other is its own finding.
    if doc.is_object() {
        let observation = crate::probe::metadata::observe("fuzz", subject, &doc);
        assert_eq!(diff_observations(&observation, &observation), Vec::new());
    }
}

#[cfg(test)]
#[path = "fuzzing_tests.rs"]
mod tests;
