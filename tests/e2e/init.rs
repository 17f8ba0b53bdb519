//! `driftwatch init --from-openapi`: the suite generated from the sim's own OpenAPI
//! document passes `check` and gets a clean first run; files are never silently overwritten.

use crate::support::{World, assert_no_leaks};
use driftwatch::model::ProbeKind;
use driftwatch::sim::SimOptions;
use std::process::Output;

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/openapi/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn bin(w: &World, args: &[&str]) -> Output {
    let mut c = w.command();
    c.args(args);
    crate::support::output_blocking(c)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_from_the_sims_openapi_passes_check_and_runs_clean() {
    let w = World::start(SimOptions::default()).await;
    let spec = fixture("sim.yaml");
    let args = [
        "init",
        "--from-openapi",
        spec.as_str(),
        "--base-url",
        "${env:SIM_BASE_URL}",
        "--output",
        "suites/sim.yaml",
    ];
    let init = tokio::task::block_in_place(|| bin(&w, &args));
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    assert_eq!(
        stderr(&init),
        "7 GET operation(s): 7 active (0 chained with `from:`, 0 with `${conn:…}` values), 0 commented out, 0 filtered out; 0 non-GET operation(s) skipped\n\
         wrote suites/sim.yaml; next: driftwatch check suites/sim.yaml\n"
    );
    // Response schemas are files beside the suite; the run below validates against them.
    let schemas = w.dir.path().join("suites/schemas/sim");
    let mut names: Vec<String> = std::fs::read_dir(&schemas)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Customer.json",
            "Invoice.json",
            "Period.json",
            "response.activities.json",
            "response.audit-log.json",
            "response.channels.json",
            "response.list-invoices.json",
            "response.me.json",
            "response.report-summary.json",
            "response.workspace-settings.json",
        ]
    );
    let check = tokio::task::block_in_place(|| bin(&w, &["check", "suites/sim.yaml"]));
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(
        stderr(&check).ends_with("checked 1 suite: 0 errors, 0 warnings\n"),
        "{}",
        stderr(&check)
    );

    // The generated connection is a placeholder: name it after a sim account, then connect.
    let yaml = std::fs::read_to_string(w.dir.path().join("suites/sim.yaml")).unwrap();
    assert!(yaml.contains("\n- id: main\n"), "{yaml}");
    std::fs::write(
        &w.suite,
        yaml.replace("\n- id: main\n", "\n- id: acme-corp\n"),
    )
    .unwrap();
    w.connect_all().await;
    let run = w.run().await;
    assert_eq!(run.errors, vec![]);
    let mut schema_subjects: Vec<&str> = run
        .observations
        .iter()
        .filter(|o| o.key.probe == ProbeKind::Schema)
        .map(|o| o.key.subject.as_str())
        .collect();
    schema_subjects.sort();
    assert_eq!(
        schema_subjects,
        [
            "activities",
            "audit-log",
            "channels",
            "list-invoices",
            "me",
            "report-summary",
            "workspace-settings"
        ]
    );
    let declared: Vec<&str> = run
        .findings
        .iter()
        .chain(&run.drifts)
        .filter(|d| d.rule == "schema.declared-violation")
        .map(|d| d.subject.as_str())
        .collect();
    assert_eq!(
        declared,
        Vec::<&str>::new(),
        "the documented schemas fit the sim's data"
    );
    assert_no_leaks(w.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_never_overwritten_without_force_and_swagger_is_refused() {
    let w = World::start(SimOptions::default()).await;
    let spec = fixture("petstore.yaml");
    let existing = w.dir.path().join("suites/demo.yaml");
    let before = std::fs::read_to_string(&existing).unwrap();
    let args = [
        "init",
        "--from-openapi",
        spec.as_str(),
        "-o",
        "suites/demo.yaml",
    ];
    let out = tokio::task::block_in_place(|| bin(&w, &args));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: `suites/demo.yaml` already exists; pass --force to overwrite it\n"
    );
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), before);
    let forced = [&args[..], &["--force"]].concat();
    let out = tokio::task::block_in_place(|| bin(&w, &forced));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // `/pets/{petId}` is chained from `/pets`; only the api_key endpoint stays commented out.
    assert!(
        stderr(&out).starts_with(
            "warning: endpoint `get-inventory` (GET /store/inventory) written commented out: it needs credentials for `api_key` (not the suite's auth; e.g. a header from `${env:…}`)\n"
        ),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(
            "\n5 GET operation(s): 4 active (1 chained with `from:`, 0 with `${conn:…}` values), 1 commented out, 0 filtered out; 2 non-GET operation(s) skipped\n"
        ),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read_to_string(&existing)
            .unwrap()
            .contains("name: swagger-petstore")
    );

    // Default output is stdout.
    let out = tokio::task::block_in_place(|| bin(&w, &["init", "--from-openapi", spec.as_str()]));
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\nversion: 1\n"));

    std::fs::write(
        w.dir.path().join("swagger.json"),
        r#"{"swagger": "2.0", "paths": {}}"#,
    )
    .unwrap();
    let out = tokio::task::block_in_place(|| bin(&w, &["init", "--from-openapi", "swagger.json"]));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: swagger.json: only OpenAPI 3.0/3.1 is supported; this is Swagger 2.0 (convert it first, e.g. with swagger2openapi)\n"
    );
}

/// Issue 19: Xero Accounting (926 KB) took 11.5 s and 784 MB and gave a 92 MB suite that
/// `check` rejected. Now: a small suite, one file per shared schema, `check` passes, and
/// stderr says what was skipped and why.
#[test]
fn xero_accounting_suite_is_small_and_passes_check() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    let gz = std::fs::read(fixture("xero-accounting.yaml.gz")).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    std::fs::write(dir.path().join("xero_accounting.yaml"), &text).unwrap();
    let run = |args: &[&str]| {
        let mut c = crate::support::driftwatch();
        c.current_dir(dir.path()).args(args);
        c.output().unwrap()
    };
    let out = run(&[
        "init",
        "--from-openapi",
        "xero_accounting.yaml",
        "-o",
        "suites/xero.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let tail: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("warning: endpoint `") && !l.starts_with("generated in "))
        .collect();
    // Every path parameter is filled by `${conn:…}` or a `from:` chain, so every GET is active.
    let summary: &[&str] = &[
        "126 GET operation(s): 126 active (86 chained with `from:`, 126 with `${conn:…}` values), 0 commented out, 0 filtered out; 109 non-GET operation(s) skipped",
    ];
    let expected = [
        &[
            "reading xero_accounting.yaml (904 KiB)…",
            "warning: 109 non-GET operation(s) skipped: a suite only probes reads",
        ][..],
        summary,
        &["wrote suites/xero.yaml; next: driftwatch check suites/xero.yaml"],
    ]
    .concat();
    assert_eq!(tail, expected);
    let suite = std::fs::metadata(dir.path().join("suites/xero.yaml")).unwrap();
    assert!(suite.len() < 100_000, "{} bytes", suite.len());
    let files = std::fs::read_dir(dir.path().join("suites/schemas/xero-accounting-api"))
        .unwrap()
        .count();
    assert_eq!(files, 118);
    let check = run(&["check", "suites/xero.yaml"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));

    // Filters, and schema files are never overwritten without --force.
    let out = run(&[
        "init",
        "--from-openapi",
        "xero_accounting.yaml",
        "-o",
        "suites/contacts.yaml",
        "--include",
        "tag:Accounting",
        "--include",
        "/Contacts*",
        "--exclude",
        "/Contacts/**",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).ends_with("/suites/schemas/xero-accounting-api/Account.json` already exists; pass --force to overwrite it\n"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "init",
        "--from-openapi",
        "xero_accounting.yaml",
        "-o",
        "suites/contacts.yaml",
        "--name",
        "xero-contacts",
        "--include",
        "/Contacts*",
        "--exclude",
        "/Contacts/**",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = "\n126 GET operation(s): 1 active (0 chained with `from:`, 1 with `${conn:…}` values), 0 commented out, 125 filtered out; 109 non-GET operation(s) skipped\n";
    assert!(stderr(&out).contains(line), "{}", stderr(&out));
    let check = run(&["check", "suites/contacts.yaml"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
}
