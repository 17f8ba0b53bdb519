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
        "wrote suites/sim.yaml; next: driftwatch check suites/sim.yaml\n"
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
    assert!(
        stderr(&out).starts_with(
            "warning: endpoint `show-pet-by-id` (GET /pets/{petId}) written commented out: it needs path parameter `{petId}`\n"
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
