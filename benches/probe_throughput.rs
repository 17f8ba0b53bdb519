//! Probe throughput: 2,000 endpoint probes (40 connections × 50 endpoints) at concurrency 50
//! against the simulated provider with a fixed 20 ms latency per resource-API answer, compared
//! with the ideal N / concurrency × latency = 800 ms. Prints a table; asserts nothing.
//!
//! `cargo bench --bench probe_throughput` (`BENCH_REPS=n` for more than 5 repetitions).

mod common;

use std::time::Duration;

use common::{Plan, World, min_median, ms, reps, runner_runtime, timed_run};
use driftwatch::sim::SimOptions;

const LATENCY: Duration = Duration::from_millis(20);

fn main() {
    let plan = Plan {
        connections: 40,
        endpoints: 50,
        concurrency: 50,
        rate: None,
    };
    let ideal = plan.probes() as f64 / plan.concurrency as f64 * ms(LATENCY);
    let rt = runner_runtime();
    let reps = reps(5);
    println!(
        "probe throughput: {} connections x {} endpoints = {} probes, concurrency {}, \
         sim latency {} ms; ideal endpoint phase {ideal:.0} ms",
        plan.connections,
        plan.endpoints,
        plan.probes(),
        plan.concurrency,
        ms(LATENCY)
    );
    println!("rep  whole-run ms  endpoint-phase ms  ratio  probes  2xx  api-requests");
    let (mut wholes, mut phases) = (Vec::new(), Vec::new());
    for rep in 1..=reps {
        // A fresh provider per repetition, so `first_api_request_at` belongs to this run.
        let world = World::start(
            &plan,
            SimOptions {
                api_latency: LATENCY,
                ..SimOptions::default()
            },
        );
        let t = timed_run(&rt, &world);
        let stats = world.sim.stats();
        println!(
            "{rep:>3}  {:>12.0}  {:>17.0}  {:>5.3}  {:>6}  {:>3}  {:>12}",
            ms(t.whole),
            ms(t.endpoint_phase),
            ms(t.endpoint_phase) / ideal,
            t.probed,
            t.ok,
            stats.api_requests
        );
        if !t.run.errors.is_empty() {
            println!("     run errors: {}", t.run.errors.len());
        }
        wholes.push(ms(t.whole));
        phases.push(ms(t.endpoint_phase));
    }
    let (wmin, wmed) = min_median(&wholes);
    let (pmin, pmed) = min_median(&phases);
    println!(
        "whole run:      min {wmin:.0} ms, median {wmed:.0} ms ({:.3}x / {:.3}x ideal)",
        wmin / ideal,
        wmed / ideal
    );
    println!(
        "endpoint phase: min {pmin:.0} ms, median {pmed:.0} ms ({:.3}x / {:.3}x ideal; target <= 1.15x)",
        pmin / ideal,
        pmed / ideal
    );
}
