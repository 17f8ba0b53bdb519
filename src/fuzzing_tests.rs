//! `cargo test` replays every committed fuzz seed (`fuzz/corpus/<target>/seed-*`) through its
//! entry point, so the invariants hold on the seeds without nightly or cargo-fuzz, and pins the
//! exact outcome of the seeds that stand for an issue-15 case.

use super::*;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    std::fs::read(corpus().join(target).join(name)).unwrap()
}

/// The targets `fuzz/Cargo.toml` builds, in file order.
fn targets() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/Cargo.toml"))
            .unwrap();
    manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "driftwatch-fuzz")
        .map(str::to_owned)
        .collect()
}

fn entry(target: &str) -> fn(&[u8]) {
    match target {
        "suite" => suite,
        "shape_infer" => shape_infer,
        "shape_diff" => shape_diff,
        "headers" => headers,
        "token_response" => token_response,
        "run_json" => run_json,
        "discovery" => discovery,
        other => panic!("fuzz target `{other}` has no entry point here"),
    }
}

#[test]
fn every_fuzz_seed_passes_its_entry_point() {
    let targets = targets();
    assert_eq!(
        targets,
        [
            "suite",
            "shape_infer",
            "shape_diff",
            "headers",
            "token_response",
            "run_json",
            "discovery"
        ]
    );
    for target in &targets {
        let run = entry(target);
        let mut seeds: Vec<PathBuf> = std::fs::read_dir(corpus().join(target))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("seed-"))
            })
            .collect();
        seeds.sort();
        assert!(!seeds.is_empty(), "{target} has no seed");
        for s in seeds {
            let data = std::fs::read(&s).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", s.display());
        }
    }
}

#[test]
fn token_unreadable_seeds_are_refused_and_16_kib_is_accepted() {
    use crate::auth::response::{Parsed, parse_token_body};
    let refused = [
        ("seed-access-token-empty", "the `access_token` is empty"),
        (
            "seed-access-token-crlf",
            "the `access_token` contains control characters",
        ),
        (
            "seed-access-token-16k-plus-1",
            "the `access_token` is longer than 16 KiB",
        ),
        (
            "seed-refresh-token-crlf",
            "the `refresh_token` contains control characters",
        ),
        (
            "seed-form-access-token-empty",
            "the `access_token` is empty",
        ),
    ];
    for (name, why) in refused {
        match parse_token_body(&seed("token_response", name)) {
            Parsed::Unreadable(reason) => assert_eq!(reason, why, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    match parse_token_body(&seed("token_response", "seed-access-token-16k")) {
        Parsed::Token(t) => assert_eq!(t.access_token.len(), 16 * 1024),
        other => panic!("16 KiB: {other:?}"),
    }
}

#[test]
fn run_json_seed_of_an_unknown_version_is_refused() {
    let path = Path::new("run.json");
    let e =
        crate::report::run_from_reader(&seed("run_json", "seed-unknown-version.json")[..], path)
            .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`run.json` is not a driftwatch run file (unsupported format `driftwatch-run/2` \
         (expected `driftwatch-run/1`)); re-run `driftwatch run` to produce a new one"
    );
    let run =
        crate::report::run_from_reader(&seed("run_json", "seed-shapes.json")[..], path).unwrap();
    assert_eq!(run.evidence_mode, crate::run::EvidenceMode::Shapes);
    assert!(
        crate::report::run_from_reader(&seed("run_json", "seed-bad-evidence-mode.json")[..], path)
            .is_err()
    );
}

#[test]
fn discovery_seeds_use_only_the_matching_issuer() {
    let url = url::Url::parse("https://id.example/.well-known/openid-configuration").unwrap();
    let outcomes: Vec<(&str, Option<String>)> = [
        "seed-matching.json",
        "seed-foreign-issuer.json",
        "seed-trailing-slash.json",
        "seed-no-issuer.json",
        "seed-non-string-issuer.json",
    ]
    .into_iter()
    .map(|name| {
        let doc: Value = serde_json::from_slice(&seed("discovery", name)).unwrap();
        let err = crate::run::check_issuer(&doc, "https://id.example", &url)
            .err()
            .map(|e| e.message);
        (name, err)
    })
    .collect();
    let refused = |found: &str| {
        Some(format!(
            "discovery document `https://id.example/.well-known/openid-configuration` names \
             {found} instead of `https://id.example`; its endpoints are not used"
        ))
    };
    assert_eq!(
        outcomes,
        vec![
            ("seed-matching.json", None),
            (
                "seed-foreign-issuer.json",
                refused("`https://issuer.foreign.example`")
            ),
            ("seed-trailing-slash.json", refused("`https://id.example/`")),
            ("seed-no-issuer.json", refused("no issuer")),
            (
                "seed-non-string-issuer.json",
                refused("a non-string issuer")
            ),
        ]
    );
}

#[test]
fn distinct_key_records_seed_folds_into_a_map_shape() {
    let s = shape::infer_slice(&seed("shape_infer", "seed-distinct-key-records.json")).unwrap();
    let paths: Vec<String> = s.flatten().into_keys().collect();
    assert_eq!(paths, ["$", "$[]", "$[]{}"]);
    let s = shape::infer_slice(&seed("shape_infer", "seed-wide-object.json")).unwrap();
    let paths: Vec<String> = s.flatten().into_keys().collect();
    assert_eq!(paths, ["$", "${}"]);
}

#[test]
fn www_authenticate_seed_is_not_over_redacted() {
    let text = String::from_utf8(seed("headers", "seed-www-authenticate")).unwrap();
    let headers: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let redactor = crate::http::Redactor::new(&[]).unwrap();
    redactor.register_secret(FUZZ_SECRET);
    let got: Vec<String> = redactor
        .redact_headers(&headers)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        got,
        [
            r#"Bearer realm="analytics", scope="reports.read", error="invalid_token", error_description="The access token expired""#,
            r#"Bearer realm="analytics", error_description="token [REDACTED] revoked""#,
            "reflected [REDACTED]",
            r#"<https://api.example/next?access_token=[REDACTED]>; rel="deprecation""#,
        ]
    );
}
