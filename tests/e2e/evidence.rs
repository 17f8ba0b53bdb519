//! `evidence: full | shapes | none` (issue 15, "Customer data in evidence"): the sim answers
//! with customer e-mail addresses (`ops@acme-corp.example`, `billing@globex.example`, …).
//! Under `full` they are in run.json and the HTML report; under `shapes` and `none` they are
//! in no output at all (run.json, HTML, Markdown, JUnit, terminal, stderr), while verdicts,
//! findings, connection states and exit codes stay exactly the same. A shard + merge round
//! under `shapes` gives the unsharded verdict and keeps the shapes.

use crate::support::{World, contains_secret, drift_lines};
use driftwatch::run::{EvidenceMode, Run};
use driftwatch::sim::Switches;
use std::process::Output;

/// The sim's accounts: every customer e-mail it serves ends in `@<slug>.example`.
const CUSTOMERS: [&str; 4] = [
    "@acme-corp.example",
    "@globex.example",
    "@initech.example",
    "@umbrella.example",
];

fn customer_data_in(text: &str) -> Vec<&'static str> {
    CUSTOMERS
        .iter()
        .copied()
        .filter(|c| text.contains(c))
        .collect()
}

fn bin(w: &World, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    c.current_dir(w.dir.path())
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("DRIFTWATCH_EVIDENCE")
        .env("NO_COLOR", "1")
        .env("SIM_BASE_URL", w.sim.base_url())
        .env("SIM_CLIENT_ID", w.sim.client_id())
        .env("SIM_CLIENT_SECRET", w.sim.client_secret())
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    for text in [&out.stdout, &out.stderr] {
        assert!(!contains_secret(&String::from_utf8_lossy(text)));
    }
    out
}

/// The v1 world accepted as baseline, then switched to v2: every drift kind has evidence.
async fn drifting_world() -> World {
    let w = World::connected().await;
    w.run_and_accept().await;
    w.sim.set_switches(Switches::ALL);
    w
}

/// Everything one `run` printed and wrote.
struct Outputs {
    code: Option<i32>,
    run: Run,
    /// (name, text) of stdout (terminal), stderr, run.json, index.html, run.xml, run.md.
    texts: Vec<(&'static str, String)>,
}

fn run_with(w: &World, dir: &str, flag: &[&str], env: &[(&str, &str)]) -> Outputs {
    let credentials = w.credentials().display().to_string();
    let suite = w.suite.display().to_string();
    let mut args = vec![
        "run",
        &suite,
        "--credentials",
        &credentials,
        "--reports",
        dir,
        "--update",
        "no",
        "--format",
        "terminal",
        "--format",
        "junit",
        "--format",
        "markdown",
    ];
    args.extend(flag);
    let out = bin(w, &args, env);
    let report = w.dir.path().join(dir).join("latest");
    let read = |f: &str| std::fs::read_to_string(report.join(f)).unwrap();
    let run = driftwatch::report::read_run(&report.join("run.json")).unwrap();
    Outputs {
        code: out.status.code(),
        texts: vec![
            (
                "terminal",
                String::from_utf8_lossy(&out.stdout).into_owned(),
            ),
            ("stderr", String::from_utf8_lossy(&out.stderr).into_owned()),
            ("run.json", read("run.json")),
            ("index.html", read("index.html")),
            ("run.xml", read("run.xml")),
            ("run.md", read("run.md")),
        ],
        run,
    }
}

/// What a verdict is made of: drifts, findings, connection states, errors, pending snapshots.
fn verdict(run: &Run) -> Vec<String> {
    let mut v = drift_lines(run);
    v.extend(
        run.findings
            .iter()
            .map(|f| format!("finding {} {} {:?}", f.rule, f.subject, f.path)),
    );
    v.extend(
        run.connections
            .iter()
            .map(|c| format!("connection {} {} {}", c.connection, c.state, c.usable)),
    );
    v.extend(
        run.errors
            .iter()
            .map(|e| format!("error {} {}", e.class, e.message)),
    );
    v.extend(
        run.pending
            .iter()
            .map(|p| format!("pending {} {} {}", p.probe, p.subject, p.status)),
    );
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_shapes_and_none_keep_customer_data_out_of_every_output() {
    let w = drifting_world().await;
    let full = run_with(&w, "r-full", &[], &[]);
    let shapes = run_with(&w, "r-shapes", &["--evidence", "shapes"], &[]);
    let none = run_with(&w, "r-none", &[], &[("DRIFTWATCH_EVIDENCE", "none")]);

    // `full` (the default) keeps the bodies: the customer data is there to be kept out.
    assert_eq!(full.run.evidence_mode, EvidenceMode::Full);
    assert!(!customer_data_in(&full.texts[2].1).is_empty());
    assert!(!full.texts[2].1.contains("evidence_mode"));
    assert!(
        !customer_data_in(&full.texts[3].1).is_empty(),
        "the HTML of a full run embeds the drifts' exchanges"
    );

    for (mode, o) in [(EvidenceMode::Shapes, &shapes), (EvidenceMode::None, &none)] {
        assert_eq!(o.run.evidence_mode, mode);
        for (name, text) in &o.texts {
            assert_eq!(customer_data_in(text), Vec::<&str>::new(), "{mode}: {name}");
        }
        assert!(
            o.texts[2]
                .1
                .contains(&format!("\"evidence_mode\": \"{mode}\"")),
            "{mode}"
        );
        // Identical verdicts and exit codes: the mode touches only the exchanges.
        assert_eq!(o.code, full.code, "{mode}");
        assert_eq!(verdict(&o.run), verdict(&full.run), "{mode}");
        assert_eq!(o.run.observations, full.run.observations, "{mode}");
        assert_eq!(o.run.exchanges.len(), full.run.exchanges.len(), "{mode}");
    }
    assert_eq!(full.code, Some(1), "v2 drifts are breaking");
    assert!(!full.run.drifts.is_empty());

    // shapes: every JSON body is its shape (the e-mail survives as a format); header values
    // only where a probe reads them.
    let me = |run: &Run| {
        run.exchanges
            .iter()
            .find(|x| x.purpose == "endpoint:me" && x.connection.as_deref() == Some("acme-corp"))
            .and_then(|x| x.response.clone())
            .unwrap()
    };
    let shaped = me(&shapes.run);
    let shape: serde_json::Value = serde_json::from_str(shaped.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        shape["$.email"],
        serde_json::json!({"format": "email", "required": true, "types": ["string"]})
    );
    for (name, value) in &shaped.headers {
        let read = driftwatch::run::READ_HEADERS.contains(&name.to_ascii_lowercase().as_str());
        assert_eq!(value == driftwatch::run::OMITTED, !read, "{name}: {value}");
    }
    assert_eq!(shaped.body_bytes, me(&full.run).body_bytes);
    // none: no header and no body anywhere.
    assert!(none.run.exchanges.iter().all(|x| {
        x.request.headers.is_empty()
            && x.request.body.is_none()
            && x.response
                .as_ref()
                .is_none_or(|r| r.headers.is_empty() && r.body.is_none())
    }));
    // The HTML says what it left out.
    assert!(
        shapes.texts[3]
            .1
            .contains("evidence: shapes: the body is replaced by its shape"),
        "no note in the shapes HTML"
    );

    // `report --evidence` reduces a full run.json on the way out, never adds back.
    let full_json = w.dir.path().join("r-full/latest/run.json");
    let full_json = full_json.display().to_string();
    let out = bin(
        &w,
        &[
            "report",
            &full_json,
            "--format",
            "json",
            "--evidence",
            "shapes",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let reduced: Run = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reduced.evidence_mode, EvidenceMode::Shapes);
    assert_eq!(
        customer_data_in(&String::from_utf8_lossy(&out.stdout)),
        Vec::<&str>::new()
    );
    let shapes_json = w.dir.path().join("r-shapes/latest/run.json");
    let shapes_json = shapes_json.display().to_string();
    let out = bin(
        &w,
        &[
            "report",
            &shapes_json,
            "--format",
            "json",
            "--evidence",
            "full",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let kept: Run = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(kept.exchanges, shapes.run.exchanges);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("warning: --evidence full: the run file keeps only `shapes` evidence"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_shapes_shards_merge_to_the_unsharded_verdict() {
    let w = drifting_world().await;
    let full = run_with(&w, "r-full", &[], &[]);
    let credentials = w.credentials().display().to_string();
    let suite = w.suite.display().to_string();
    let mut files = Vec::new();
    for i in 1..=2 {
        let json = format!("shard-{i}.json");
        let shard = format!("{i}/2");
        let out = bin(
            &w,
            &[
                "run",
                &suite,
                "--credentials",
                &credentials,
                "--shard",
                &shard,
                "--update",
                "no",
                "--evidence",
                "shapes",
                "--format",
                "json",
                "--output",
                &json,
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "shard {i}");
        let text = std::fs::read_to_string(w.dir.path().join(&json)).unwrap();
        assert_eq!(customer_data_in(&text), Vec::<&str>::new(), "shard {i}");
        files.push(json);
    }
    // No --evidence on merge: the shards' mode carries over.
    let out = bin(
        &w,
        &[
            "merge",
            &files[0],
            &files[1],
            "--update",
            "no",
            "--format",
            "json",
            "--output",
            "merged.json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), full.code);
    let text = std::fs::read_to_string(w.dir.path().join("merged.json")).unwrap();
    assert_eq!(customer_data_in(&text), Vec::<&str>::new());
    let merged: Run = serde_json::from_str(&text).unwrap();
    assert_eq!(merged.evidence_mode, EvidenceMode::Shapes);
    assert_eq!(verdict(&merged), verdict(&full.run));
    assert_eq!(merged.observations, full.run.observations);
    let html = std::fs::read_to_string(w.dir.path().join("reports/latest/index.html")).unwrap();
    assert_eq!(customer_data_in(&html), Vec::<&str>::new());
}
