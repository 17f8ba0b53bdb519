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

const PROBES: [ProbeKind; 7] = [
    ProbeKind::Metadata,
    ProbeKind::Token,
    ProbeKind::Permissions,
    ProbeKind::Refresh,
    ProbeKind::Schema,
    ProbeKind::Values,
    ProbeKind::Deprecation,
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
                let secret = ["sim_at_", "sim_rt_", "sim_cs_", "sim_code_"];
                assert!(
                    !secret.iter().any(|p| code.starts_with(p)),
                    "a secret kept as an error code"
                );
            }
        }
    }
}

/// Token-endpoint bodies: any bytes give a verdict; `Debug` never shows a simulated access token
/// (unless it also is the token type or a scope, which `Debug` shows on purpose).
pub fn token_response(data: &[u8]) {
    use crate::auth::response::{Parsed, parse_token_body};
    if let Parsed::Token(t) = parse_token_body(data) {
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
