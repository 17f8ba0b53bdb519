//! `init --from-openapi` on the real vendor documents of tests/fixtures/openapi (issue 19):
//! wall time and peak RSS of generating the suite and its schema files from the document
//! text (parse → plan → render), the way `driftwatch init -o …` does it.
//!
//! `cargo bench --bench init_openapi`. Each fixture runs in a child process of this binary
//! (`INIT_BENCH_CHILD=<fixture>`), so its peak RSS (`VmHWM` of /proc/self/status, Linux) is
//! its own; the child is started `BENCH_REPS` times (default 5) and min/median reported.
//! Target from the issue: under 2 s and under 200 MB per document.

use driftwatch::init::{InitOptions, SuiteSyntax, from_openapi};
use std::io::Read as _;
use std::time::Instant;

mod common;

const FIXTURES: [&str; 4] = [
    "xero-accounting.yaml.gz",
    "spotify.yaml.gz",
    "box.json.gz",
    "slack-web.json.gz",
];

fn text(fixture: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/openapi/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).expect("fixture");
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .expect("gzip");
    text
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// One generation; prints `seconds kib files yaml_bytes` for the parent.
fn child(fixture: &str) {
    let text = text(fixture);
    let opts = InitOptions {
        source_name: fixture.to_string(),
        schema_files: true,
        syntax: SuiteSyntax::all(),
        ..InitOptions::default()
    };
    let start = Instant::now();
    let generated = from_openapi(&text, &opts).expect("generates");
    let secs = start.elapsed().as_secs_f64();
    let files: usize = generated.files.iter().map(|(_, t)| t.len()).sum();
    println!(
        "{secs} {} {} {} {}",
        vm_hwm_kib(),
        generated.files.len(),
        generated.yaml.len(),
        files
    );
}

fn main() {
    if let Ok(fixture) = std::env::var("INIT_BENCH_CHILD") {
        child(&fixture);
        return;
    }
    let reps = common::reps(5);
    let exe = std::env::current_exe().expect("own path");
    println!(
        "| document | size KiB | init s min | median | peak RSS MiB min | median | suite KiB | schema files | files KiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for fixture in FIXTURES {
        let size = text(fixture).len() / 1024;
        let (mut secs, mut rss, mut last) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            let out = std::process::Command::new(&exe)
                .env("INIT_BENCH_CHILD", fixture)
                .output()
                .expect("child runs");
            let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let fields: Vec<f64> = line
                .split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect();
            assert_eq!(fields.len(), 5, "child said `{line}`");
            secs.push(fields[0]);
            rss.push(fields[1] / 1024.0);
            last = fields;
        }
        let (s_min, s_med) = common::min_median(&secs);
        let (r_min, r_med) = common::min_median(&rss);
        println!(
            "| {fixture} | {size} | {s_min:.3} | {s_med:.3} | {r_min:.0} | {r_med:.0} | {:.0} | {} | {:.0} |",
            last[3] / 1024.0,
            last[2],
            last[4] / 1024.0
        );
    }
}
