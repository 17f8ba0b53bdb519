//! Shared bench fixtures: a generated suite, the simulated provider on its own runtime (as if
//! it were another process) and one timed run through the library API. Prints nothing.

#![allow(dead_code)] // each bench binary uses a different part

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use driftwatch::baseline::UpdateMode;
use driftwatch::context::Context;
use driftwatch::demo::sim_context;
use driftwatch::run::{Event, Run, RunOptions};
use driftwatch::sim::{Sim, SimOptions};

// The binary's allocator and its options, so a run measured here is the run a user gets.
driftwatch::allocator!();

/// The resource endpoints the generated suite cycles through; every one answers 200 to the
/// suite's scopes, with bodies of different shapes and sizes.
const PATHS: [&str; 3] = ["/v1/me", "/v1/invoices", "/v1/reports/summary"];

/// Shape of the generated suite.
pub struct Plan {
    pub connections: usize,
    pub endpoints: usize,
    pub concurrency: usize,
    /// `limits.rate`, e.g. `50/s`.
    pub rate: Option<&'static str>,
}

impl Plan {
    pub fn probes(&self) -> usize {
        self.connections * self.endpoints
    }

    /// A client-credentials suite: one app token per connection, every endpoint called once
    /// per connection. No scope sets, no metadata block, no disposable connection, so
    /// endpoint probes are the only resource-API requests.
    pub fn suite_yaml(&self) -> String {
        let mut y = String::from(
            "version: 1\n\
             provider:\n  name: bench\n  base_url: ${env:SIM_BASE_URL}\n\
             auth:\n  grant: client_credentials\n  token_url: /oauth/token\n\
             \x20 client_id: ${env:SIM_CLIENT_ID}\n  client_secret: ${env:SIM_CLIENT_SECRET}\n\
             \x20 scopes: [profile, email, invoices:read, reports:read]\n\
             connections:\n",
        );
        for c in 0..self.connections {
            y.push_str(&format!("  - id: conn-{c:03}\n"));
        }
        y.push_str("endpoints:\n");
        for e in 0..self.endpoints {
            let path = PATHS[e % PATHS.len()];
            // Distinct query strings make distinct endpoints on the same handful of routes.
            y.push_str(&format!(
                "  - id: ep-{e:03}\n    path: {path}\n    query: {{ page: \"{e}\" }}\n"
            ));
        }
        y.push_str(&format!("limits:\n  concurrency: {}\n", self.concurrency));
        if let Some(rate) = self.rate {
            y.push_str(&format!("  rate: {rate}\n"));
        }
        y
    }
}

/// A simulated provider serving from its own runtime, plus a scratch directory with the suite.
pub struct World {
    pub dir: tempfile::TempDir,
    pub sim: Sim,
    pub ctx: Context,
    pub suite: PathBuf,
    /// Keeps the sim's runtime alive; dropped after the sim.
    _sim_runtime: tokio::runtime::Runtime,
}

impl World {
    pub fn start(plan: &Plan, opts: SimOptions) -> World {
        // One worker: the provider gets its own scheduler but no more CPU than it needs, and
        // does not steal the runner's worker threads.
        let sim_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("sim runtime");
        let sim = sim_runtime
            .block_on(Sim::start(([127, 0, 0, 1], 0).into(), opts))
            .expect("start the simulated provider");
        let dir = tempfile::tempdir().expect("tempdir");
        let suite = dir.path().join("bench.yaml");
        std::fs::write(&suite, plan.suite_yaml()).expect("write suite");
        let ctx = sim_context(&Context::empty(dir.path()), &sim);
        World {
            dir,
            sim,
            ctx,
            suite,
            _sim_runtime: sim_runtime,
        }
    }

    pub fn options(&self) -> RunOptions {
        World::options_in(self.dir.path())
    }

    /// The run options of the suite a `World` wrote into `dir`.
    pub fn options_in(dir: &std::path::Path) -> RunOptions {
        RunOptions {
            suites: vec![dir.join("bench.yaml")],
            snapshots: dir.join("snapshots"),
            reports: dir.join("reports"),
            credentials: dir.join("credentials.json"),
            credential_helper: None,
            allow_insecure_http: false,
            update: UpdateMode::No,
            expiry_window: Duration::from_secs(7 * 86_400),
            suppressions: None,
        }
    }
}

/// What one timed run saw.
pub struct Timed {
    pub run: Run,
    /// `execute` from call to return.
    pub whole: Duration,
    /// From the first resource-API request reaching the sim to the last `EndpointProbed`.
    pub endpoint_phase: Duration,
    /// `EndpointProbed` events, and how many of them carried a 2xx status.
    pub probed: usize,
    pub ok: usize,
}

/// Runs the suite once on `rt` and times it.
pub fn timed_run(rt: &tokio::runtime::Runtime, world: &World) -> Timed {
    let seen: Mutex<(Option<Instant>, usize, usize)> = Mutex::new((None, 0, 0));
    let on_event = |e: Event| {
        if let Event::EndpointProbed { status, .. } = e {
            let now = Instant::now();
            let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
            s.0 = Some(now);
            s.1 += 1;
            s.2 += usize::from(status.is_some_and(|c| (200..300).contains(&c)));
        }
    };
    let opts = world.options();
    let t0 = Instant::now();
    let run = rt
        .block_on(driftwatch::run::execute(&world.ctx, &opts, &on_event))
        .expect("run");
    let whole = t0.elapsed();
    let (last, probed, ok) = *seen.lock().unwrap_or_else(|p| p.into_inner());
    let first = world
        .sim
        .first_api_request_at()
        .expect("no resource-API request");
    let endpoint_phase = last.map_or(Duration::ZERO, |l| l.saturating_duration_since(first));
    Timed {
        run,
        whole,
        endpoint_phase,
        probed,
        ok,
    }
}

/// The runner's runtime, as `driftwatch run` builds it (one worker per core).
pub fn runner_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runner runtime")
}

/// Repetitions: `BENCH_REPS` or `default`.
pub fn reps(default: usize) -> usize {
    std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// (min, median) of a non-empty sample.
pub fn min_median(xs: &[f64]) -> (f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (v[0], median)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
