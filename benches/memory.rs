//! Memory per probe: peak resident memory of one `run` (gather, assess, `run.json`) of N
//! connections × M endpoints against the simulated provider, the provider in the parent
//! process and the run in a child (this binary re-executed), so the peak is the run's alone.
//! Prints a table; asserts nothing.
//!
//! `cargo bench --bench memory`. `MEMORY_BENCH_PLANS=50x1000,500x100` picks the plans
//! (connections × endpoints), `BENCH_REPS=n` the repetitions (default 3). Per probe:
//! (VmHWM after the run − VmHWM before it) ÷ probes, from `/proc/self/status`.
//! `MEMORY_BENCH_WRAP=heaptrack` runs the child under that command (a heap profiler).

mod common;

use std::process::Command;
use std::time::Instant;

use common::{Plan, World, min_median};
use driftwatch::context::Context;
use driftwatch::sim::SimOptions;

/// `VmHWM` (peak resident set) of this process in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The child: one run of the suite in `MEMORY_BENCH_DIR`, then one line of figures.
fn child() {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let dir = std::path::PathBuf::from(var("MEMORY_BENCH_DIR"));
    let ctx = Context::empty(&dir)
        .with_var("SIM_BASE_URL", var("SIM_BASE_URL"))
        .with_var("SIM_CLIENT_ID", var("SIM_CLIENT_ID"))
        .with_var("SIM_CLIENT_SECRET", var("SIM_CLIENT_SECRET"));
    let rt = common::runner_runtime();
    let opts = World::options_in(&dir);
    let before = vm_hwm_kib();
    let t0 = Instant::now();
    let run = rt
        .block_on(driftwatch::run::execute(&ctx, &opts, &|_| {}))
        .expect("run");
    driftwatch::report::write_run(&opts.reports, &run).expect("write run.json");
    let secs = t0.elapsed().as_secs_f64();
    let after = vm_hwm_kib();
    println!(
        "before_kib={before} after_kib={after} secs={secs:.2} exchanges={} errors={}",
        run.exchanges.len(),
        run.errors.len()
    );
}

fn field(line: &str, key: &str) -> f64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn main() {
    if std::env::var_os("MEMORY_BENCH_CHILD").is_some() {
        child();
        return;
    }
    let plans: Vec<(usize, usize)> = std::env::var("MEMORY_BENCH_PLANS")
        .unwrap_or_else(|_| "50x1000".to_owned())
        .split(',')
        .filter_map(|p| {
            let (c, e) = p.trim().split_once('x')?;
            Some((c.parse().ok()?, e.parse().ok()?))
        })
        .collect();
    let reps = common::reps(3);
    let exe = std::env::current_exe().expect("own path");
    println!(
        "| plan | probes | exchanges | run s (median) | peak RSS MiB (median) | \
         KiB per probe min | median | max |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (connections, endpoints) in plans {
        let plan = Plan {
            connections,
            endpoints,
            concurrency: 50,
            rate: None,
        };
        let (mut per_probe, mut peaks, mut secs, mut exchanges) =
            (Vec::new(), Vec::new(), Vec::new(), 0.0);
        for _ in 0..reps {
            let world = World::start(&plan, SimOptions::default());
            // `MEMORY_BENCH_WRAP=heaptrack` runs the child under a profiler.
            let mut cmd = match std::env::var("MEMORY_BENCH_WRAP") {
                Ok(wrap) if !wrap.is_empty() => {
                    let mut c = Command::new(wrap);
                    c.arg(&exe);
                    c
                }
                _ => Command::new(&exe),
            };
            let out = cmd
                .env("MEMORY_BENCH_CHILD", "1")
                .env("MEMORY_BENCH_DIR", world.dir.path())
                .env("SIM_BASE_URL", world.sim.base_url())
                .env("SIM_CLIENT_ID", world.sim.client_id())
                .env("SIM_CLIENT_SECRET", world.sim.client_secret())
                .output()
                .expect("run the child");
            let line = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "child failed: {line}");
            let (before, after) = (field(&line, "before_kib"), field(&line, "after_kib"));
            per_probe.push((after - before) / plan.probes() as f64);
            peaks.push(after / 1024.0);
            secs.push(field(&line, "secs"));
            exchanges = field(&line, "exchanges");
        }
        let (min, median) = min_median(&per_probe);
        let max = per_probe.iter().copied().fold(f64::MIN, f64::max);
        println!(
            "| {connections} × {endpoints} | {} | {exchanges} | {:.1} | {:.0} | {min:.2} | {median:.2} | {max:.2} |",
            plan.probes(),
            min_median(&secs).1,
            min_median(&peaks).1,
        );
    }
}
