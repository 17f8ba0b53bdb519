//! Rate-limit budget: a suite with `limits.rate: 50/s` against a simulated provider that
//! answers 429 to any resource-API request beyond 50 in a rolling second. 600 endpoint probes
//! (10 connections × 60 endpoints, concurrency 50) keep the run rate-bound for 12 s; the bench
//! counts the requests the provider received in the first 10 s after the first one (the
//! budget is 500) and the 429s it sent. Prints a table; asserts nothing.
//!
//! Each repetition runs twice, quiet and beside a CPU hog (`BENCH_HOG` busy-spinning threads,
//! default 2 × the available cores, so the load average climbs to 4+ on 2 cores): late
//! wake-ups are what a limiter must make up for on a busy machine.
//!
//! `cargo bench --bench rate_budget` (`BENCH_REPS=n` for more than 5 repetitions,
//! `BENCH_HOG=0` for quiet runs only).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// `threads` threads spinning until the returned guard is dropped.
struct Hog {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Hog {
    fn start(threads: usize) -> Hog {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..10_000 {
                            x = std::hint::black_box(
                                x.wrapping_mul(6364136223846793005).wrapping_add(1),
                            );
                        }
                    }
                })
            })
            .collect();
        Hog { stop, threads }
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The 1-minute load average, from `/proc/loadavg` (Linux); `None` elsewhere.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
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
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let hog = std::env::var("BENCH_HOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cores * 2);
    let modes: Vec<usize> = if hog == 0 { vec![0] } else { vec![0, hog] };
    println!(
        "modes: quiet and beside {hog} busy-spinning threads ({cores} cores), interleaved per repetition"
    );
    println!(
        "rep  hog  load1  in first 10 s  of budget  429s  endpoint-phase ms  overall req/s  2xx"
    );
    let mut shares = vec![Vec::new(); modes.len()];
    let mut rates = vec![Vec::new(); modes.len()];
    let mut total_429 = vec![0; modes.len()];
    for rep in 1..=reps {
        for (m, &threads) in modes.iter().enumerate() {
            let _hog = (threads > 0).then(|| Hog::start(threads));
            if threads > 0 {
                // Let the load build before the run starts.
                std::thread::sleep(Duration::from_secs(2));
            }
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
            let load = load_average().unwrap_or(f64::NAN);
            let stats = world.sim.stats();
            let share = in_window as f64 / budget as f64;
            // Arrivals span the phase minus the last answer's latency.
            let arrivals = t.endpoint_phase.saturating_sub(LATENCY).as_secs_f64();
            let rate = (stats.api_requests.saturating_sub(1)) as f64 / arrivals;
            println!(
                "{rep:>3}  {threads:>3}  {load:>5.2}  {in_window:>13}  {:>8.1}%  {:>4}  {:>17.0}  {rate:>13.2}  {:>3}",
                share * 100.0,
                stats.rate_limited,
                ms(t.endpoint_phase),
                t.ok
            );
            total_429[m] += stats.rate_limited;
            shares[m].push(share * 100.0);
            rates[m].push(rate);
        }
    }
    for (m, &threads) in modes.iter().enumerate() {
        let (smin, smed) = min_median(&shares[m]);
        let (rmin, rmed) = min_median(&rates[m]);
        let label = if threads == 0 {
            "quiet".to_string()
        } else {
            format!("beside {threads} busy threads")
        };
        println!(
            "{label}: budget achieved in the first 10 s: min {smin:.1}%, median {smed:.1}% \
             (target >= 98%); 429s over all repetitions: {} (target 0); overall rate: \
             min {rmin:.2} req/s, median {rmed:.2} req/s",
            total_429[m]
        );
    }
}
