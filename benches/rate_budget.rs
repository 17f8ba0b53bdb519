//! Rate-limit budget: a suite with `limits.rate: 50/s` against a simulated provider that
//! answers 429 to any resource-API request beyond 50 in a rolling second. 600 endpoint probes
//! (10 connections × 60 endpoints, concurrency 50) keep the run rate-bound for 12 s; the bench
//! counts the requests the provider received in the first 10 s after the first one (the
//! budget is 500) and the 429s it sent. Prints a table; asserts nothing.
//!
//! `cargo bench --bench rate_budget` (`BENCH_REPS=n` for more than 5 repetitions).

mod common;

use std::time::{Duration, Instant};

use common::{Plan, World, min_median, ms, reps, runner_runtime, timed_run};
use driftwatch::sim::SimOptions;

const RATE: u32 = 50;
const WINDOW: Duration = Duration::from_secs(10);
const LATENCY: Duration = Duration::from_millis(20);

/// Resource-API requests the provider received in the first `WINDOW` after the first one.
fn count_first_window(world: &World) -> u64 {
    let first = loop {
        if let Some(t) = world.sim.first_api_request_at() {
            break t;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    // The counter moves when a handler starts, one latency after arrival.
    let at = first + WINDOW + LATENCY;
    std::thread::sleep(at.saturating_duration_since(Instant::now()));
    world.sim.stats().api_requests
}

fn main() {
    let plan = Plan {
        connections: 10,
        endpoints: 60,
        concurrency: 50,
        rate: Some("50/s"),
    };
    let budget = u64::from(RATE) * WINDOW.as_secs();
    let rt = runner_runtime();
    let reps = reps(5);
    println!(
        "rate budget: {} probes, limits.rate 50/s, concurrency {}, sim rate_limit {RATE}/rolling s, \
         latency {} ms; budget in the first {} s: {budget} requests",
        plan.probes(),
        plan.concurrency,
        ms(LATENCY),
        WINDOW.as_secs()
    );
    println!("rep  in first 10 s  of budget  429s  endpoint-phase ms  overall req/s  2xx");
    let (mut shares, mut rates) = (Vec::new(), Vec::new());
    let mut total_429 = 0;
    for rep in 1..=reps {
        let world = World::start(
            &plan,
            SimOptions {
                api_latency: LATENCY,
                rate_limit: Some(RATE),
                ..SimOptions::default()
            },
        );
        let (t, in_window) = std::thread::scope(|s| {
            let sampler = s.spawn(|| count_first_window(&world));
            let t = timed_run(&rt, &world);
            (t, sampler.join().expect("sampler"))
        });
        let stats = world.sim.stats();
        let share = in_window as f64 / budget as f64;
        // Arrivals span the phase minus the last answer's latency.
        let arrivals = t.endpoint_phase.saturating_sub(LATENCY).as_secs_f64();
        let rate = (stats.api_requests.saturating_sub(1)) as f64 / arrivals;
        println!(
            "{rep:>3}  {in_window:>13}  {:>8.1}%  {:>4}  {:>17.0}  {rate:>13.2}  {:>3}",
            share * 100.0,
            stats.rate_limited,
            ms(t.endpoint_phase),
            t.ok
        );
        total_429 += stats.rate_limited;
        shares.push(share * 100.0);
        rates.push(rate);
    }
    let (smin, smed) = min_median(&shares);
    let (rmin, rmed) = min_median(&rates);
    println!(
        "budget achieved in the first 10 s: min {smin:.1}%, median {smed:.1}% (target >= 95%); \
         429s over all repetitions: {total_429} (target 0)"
    );
    println!("overall rate: min {rmin:.2} req/s, median {rmed:.2} req/s");
}
