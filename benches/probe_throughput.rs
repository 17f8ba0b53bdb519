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
    println!(
        "rep  whole-run ms  endpoint-phase ms  ratio  around-probes ms  token-phase ms  probes  2xx  api-requests  load"
    );
    let (mut wholes, mut phases, mut arounds) = (Vec::new(), Vec::new(), Vec::new());
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
        // Token requests, first start to last end, from the recorded exchanges.
        let spans: Vec<(i64, i64)> = t
            .run
            .exchanges
            .iter()
            .filter(|x| x.purpose.starts_with("token:"))
            .map(|x| {
                let s = x.started_at.timestamp_micros();
                (s, s + x.duration_ms as i64 * 1000)
            })
            .collect();
        let token_ms = match (
            spans.iter().map(|s| s.0).min(),
            spans.iter().map(|s| s.1).max(),
        ) {
            (Some(a), Some(b)) => (b - a) as f64 / 1000.0,
            _ => 0.0,
        };
        let around = ms(t.whole) - ms(t.endpoint_phase);
        println!(
            "{rep:>3}  {:>12.0}  {:>17.0}  {:>5.3}  {:>16.0}  {:>14.0}  {:>6}  {:>3}  {:>12}  {}",
            ms(t.whole),
            ms(t.endpoint_phase),
            ms(t.endpoint_phase) / ideal,
            around,
            token_ms,
            t.probed,
            t.ok,
            stats.api_requests,
            std::fs::read_to_string("/proc/loadavg")
                .map(|s| s.split_whitespace().next().unwrap_or("?").to_string())
                .unwrap_or_default()
        );
        if !t.run.errors.is_empty() {
            println!("     run errors: {}", t.run.errors.len());
        }
        wholes.push(ms(t.whole));
        phases.push(ms(t.endpoint_phase));
        arounds.push(around);
    }
    let (wmin, wmed) = min_median(&wholes);
    let (pmin, pmed) = min_median(&phases);
    let (amin, amed) = min_median(&arounds);
    println!(
        "whole run:      min {wmin:.0} ms, median {wmed:.0} ms ({:.3}x / {:.3}x ideal)",
        wmin / ideal,
        wmed / ideal
    );
    println!(
        "endpoint phase: min {pmin:.0} ms, median {pmed:.0} ms ({:.3}x / {:.3}x ideal; target <= 1.05x)",
        pmin / ideal,
        pmed / ideal
    );
    println!("around the probes (whole - endpoint phase): min {amin:.0} ms, median {amed:.0} ms");
}
