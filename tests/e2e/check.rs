//! `driftwatch check` against fixture suites, compared with golden output files.
//!
//! Run with `UPDATE_GOLDEN=1` to rewrite the goldens after an intended change.

use driftwatch::context::Context;
use driftwatch::suite::{LoadMode, check_files, load_suite, suite_json_schema};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Checks `tests/fixtures/check/<name>.yaml` and compares with `tests/golden/check/<name>.txt`.
fn golden(name: &str) -> (usize, usize) {
    let fixture = PathBuf::from(format!("tests/fixtures/check/{name}.yaml"));
    let report = check_files(&[fixture], &Context::empty(root()), false);
    let golden = root().join(format!("tests/golden/check/{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&golden, &report.rendered).unwrap();
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", golden.display()));
    assert_eq!(
        report.rendered,
        expected,
        "output differs from {} (UPDATE_GOLDEN=1 rewrites it)",
        golden.display()
    );
    (report.errors, report.warnings)
}

#[test]
fn check_valid_suite_has_no_diagnostics() {
    assert_eq!(golden("valid"), (0, 0));
    let out = std::fs::read_to_string(root().join("tests/golden/check/valid.txt")).unwrap();
    assert_eq!(out, "checked 1 suite: 0 errors, 0 warnings\n");
}

#[test]
fn check_misspelled_key() {
    assert_eq!(golden("typo"), (1, 0));
}

#[test]
fn check_wrong_type() {
    assert_eq!(golden("wrong_type"), (1, 0));
}

#[test]
fn check_broken_yaml() {
    assert_eq!(golden("broken"), (1, 0));
}

#[test]
fn check_unknown_scope_set() {
    assert_eq!(golden("unknown_scope_set"), (1, 0));
}

#[test]
fn check_literal_secret_warns_without_printing_it() {
    assert_eq!(golden("literal_secret"), (0, 3));
    let out =
        std::fs::read_to_string(root().join("tests/golden/check/literal_secret.txt")).unwrap();
    assert!(!out.contains("sim_cs_4f9a1b2c3d") && !out.contains("sim_at_e3b0c44298fc"));
}

#[test]
fn check_semantic_errors() {
    assert_eq!(golden("semantic"), (15, 2));
}

#[test]
fn load_valid_suite_in_run_mode() {
    let ctx = Context::empty(root());
    let loaded = load_suite(
        Path::new("tests/fixtures/check/valid.yaml"),
        &ctx,
        LoadMode::Run,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let suite = loaded.suite;
    assert!(loaded.warnings.is_empty());
    assert_eq!(suite.provider.name.value, "demo");
    assert_eq!(suite.connections[0].credential, "demo/acme-corp");
    assert!(suite.connections[1].disposable);
    assert_eq!(suite.endpoints[2].method, "GET");
    assert_eq!(
        suite.endpoints[1].query.get("limit").map(String::as_str),
        Some("2")
    );
    assert_eq!(suite.limits.max_body_bytes, 1024 * 1024);
    assert_eq!(
        suite.scope_sets["full"].value,
        ["profile", "email", "invoices:read"]
    );
}

#[test]
fn run_mode_fails_on_unset_variable_and_resolves_set_ones() {
    let path = Path::new("tests/fixtures/check/literal_secret.yaml");
    let err = load_suite(path, &Context::empty(root()), LoadMode::Run).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("error: environment variable `SIM_BASE_URL` is not set\n --> tests/fixtures/check/literal_secret.yaml:4:13\n"),
        "{text}"
    );
    let ctx = Context::empty(root()).with_var("SIM_BASE_URL", "http://127.0.0.1:9");
    let loaded = load_suite(path, &ctx, LoadMode::Run).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.suite.provider.base_url.value, "http://127.0.0.1:9");
    assert_eq!(loaded.warnings.len(), 2);
}

#[test]
fn valid_fixture_conforms_to_the_json_schema() {
    let yaml = std::fs::read_to_string(root().join("tests/fixtures/check/valid.yaml")).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    let schema = suite_json_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());
    let typo: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/check/typo.yaml")).unwrap(),
    )
    .unwrap();
    assert!(!validator.is_valid(&typo));
}

#[test]
fn committed_schema_matches_the_loader() {
    let generated = serde_json::to_string_pretty(&suite_json_schema()).unwrap() + "\n";
    let path = root().join("docs/suite.schema.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/suite.schema.json is stale; run with UPDATE_GOLDEN=1"
    );
}
