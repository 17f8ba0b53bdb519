//! The real-provider example suites in `suites/examples/`: each passes `check`,
//! loads for `run`, documents the variables and connections it needs, and is
//! never picked up by a default `driftwatch run`.

use driftwatch::context::Context;
use driftwatch::suite::{LoadMode, check_files, load_suite, suite_json_schema};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `suites/examples/*.yaml`, relative to the crate root, sorted.
fn example_files() -> Vec<PathBuf> {
    let dir = root().join("suites/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| Path::new("suites/examples").join(p.file_name().unwrap()))
        .collect();
    files.sort();
    files
}

fn source(file: &Path) -> String {
    std::fs::read_to_string(root().join(file)).unwrap()
}

/// The header's `# Environment: A B` line: the variables the suite needs.
fn declared_vars(text: &str) -> BTreeSet<String> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# Environment:"))
        .unwrap_or_else(|| panic!("no `# Environment:` header line"));
    line.split_whitespace().map(str::to_string).collect()
}

/// Every `${env:NAME}` the suite references.
fn referenced_vars(text: &str) -> BTreeSet<String> {
    text.split("${env:")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

/// A context with every declared variable set to a harmless placeholder.
fn placeholder_ctx(text: &str) -> Context {
    declared_vars(text)
        .into_iter()
        .fold(Context::empty(root()), |ctx, var| {
            let value = format!("placeholder-{}", var.to_ascii_lowercase());
            ctx.with_var(var, value)
        })
}

#[test]
fn every_example_passes_check_with_no_error_and_no_warning() {
    let files = example_files();
    assert!(files.len() >= 7, "{files:?}");
    for file in &files {
        let text = source(file);
        let report = check_files(std::slice::from_ref(file), &placeholder_ctx(&text), false);
        assert_eq!(
            (report.errors, report.warnings),
            (0, 0),
            "{}:\n{}",
            file.display(),
            report.rendered
        );
        let loaded = load_suite(file, &placeholder_ctx(&text), LoadMode::Run)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(loaded.warnings.len(), 0, "{}", file.display());
    }
}

#[test]
fn without_its_variables_an_example_warns_exactly_about_the_documented_ones() {
    for file in example_files() {
        let text = source(&file);
        let declared = declared_vars(&text);
        assert_eq!(referenced_vars(&text), declared, "{}", file.display());
        let report = check_files(std::slice::from_ref(&file), &Context::empty(root()), false);
        assert_eq!(report.errors, 0, "{}:\n{}", file.display(), report.rendered);
        let warned: Vec<&str> = report
            .rendered
            .lines()
            .filter_map(|l| l.strip_prefix("warning: "))
            .collect();
        assert_eq!(warned.len(), report.warnings, "{}", report.rendered);
        let names: BTreeSet<String> = warned
            .iter()
            .map(|w| {
                w.strip_prefix("environment variable `")
                    .and_then(|r| r.strip_suffix("` is not set"))
                    .unwrap_or_else(|| panic!("{}: unexpected warning `{w}`", file.display()))
                    .to_string()
            })
            .collect();
        assert_eq!(names, declared, "{}", file.display());
    }
}

#[test]
fn examples_cover_seven_providers_cite_docs_and_name_real_connections() {
    let mut providers = BTreeSet::new();
    for file in example_files() {
        let text = source(&file);
        let suite = load_suite(&file, &placeholder_ctx(&text), LoadMode::Run)
            .unwrap()
            .suite;
        assert!(
            providers.insert(suite.provider.name.value.clone()),
            "provider `{}` twice",
            suite.provider.name.value
        );
        let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
        assert!(
            header.iter().any(|l| l.contains("https://")),
            "{}: the header cites no documentation URL",
            file.display()
        );
        // Every `driftwatch connect` line in the header names this file and one of its connections.
        let ids: BTreeSet<&str> = suite
            .connections
            .iter()
            .map(|c| c.id.value.as_str())
            .collect();
        let mut connect_lines = 0;
        for line in &header {
            if let Some((_, rest)) = line.split_once("driftwatch connect ") {
                connect_lines += 1;
                let words: Vec<&str> = rest.split_whitespace().collect();
                assert_eq!(words.first(), Some(&&*file.to_string_lossy()), "{line}");
                assert!(words.get(1).is_some_and(|c| ids.contains(c)), "{line}");
            }
        }
        assert_eq!(connect_lines, ids.len(), "{}", file.display());
        assert!(!suite.endpoints.is_empty() && !suite.scope_sets.is_empty());
    }
    assert!(providers.len() >= 7, "{providers:?}");
    for p in [
        "github",
        "google",
        "microsoft-graph",
        "xero",
        "hubspot",
        "slack",
        "spotify",
    ] {
        assert!(providers.contains(p), "{p} missing from {providers:?}");
    }
}

#[test]
fn examples_conform_to_the_json_schema() {
    let schema = suite_json_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for file in example_files() {
        let doc: serde_json::Value = serde_saphyr::from_str(&source(&file)).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert_eq!(errors, Vec::<String>::new(), "{}", file.display());
    }
}

use crate::support::driftwatch as bin;

#[test]
fn check_of_every_example_exits_zero_without_secrets() {
    let files = example_files();
    let mut cmd = bin();
    cmd.current_dir(root()).arg("check").args(&files);
    for file in &files {
        for var in declared_vars(&source(file)) {
            cmd.env_remove(var);
        }
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary = stderr.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with(&format!("checked {} suites: 0 errors, ", files.len())),
        "{summary}"
    );
}

#[test]
fn a_default_run_does_not_pick_up_suites_examples() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("suites/examples")).unwrap();
    std::fs::copy(
        root().join("suites/examples/github.yaml"),
        dir.path().join("suites/examples/github.yaml"),
    )
    .unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["run", "--credentials", "creds.json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no suites given and none found in"),
        "{stderr}"
    );
}
