//! First-run snapshot writes: 10,000 new observations written as pending `.snap.new` files,
//! one file at a time (`BaselineStore::compare`: temp file, fsync, rename, directory fsync per
//! file — how a run wrote them before batching) against one batch per suite
//! (`compare_into` + `SnapshotBatch::commit`: write and fsync on a small pool, rename each,
//! one directory fsync per directory — how a run writes them now). The two are alternated
//! round by round (A B, then B A, …) on the same disk, each round in a fresh directory, and
//! every ratio is taken pair by pair. Prints a table; asserts nothing.
//!
//! `cargo bench --bench snapshot_writes` (`BENCH_REPS=n` rounds, default 10;
//! `SNAPSHOTS=n` observations, default 10,000).

use std::time::Instant;

use driftwatch::baseline::{BaselineStore, SnapshotBatch, UpdateMode};
use driftwatch::model::{Observation, ObservationKey, ProbeKind};

fn observations(n: usize) -> Vec<Observation> {
    (0..n)
        .map(|i| Observation {
            key: ObservationKey {
                provider: "bench".into(),
                // Schema and values observations of 5,000 endpoints: two directories.
                probe: if i % 2 == 0 {
                    ProbeKind::Schema
                } else {
                    ProbeKind::Values
                },
                subject: format!("ep-{:05}", i / 2),
                connection: None,
            },
            body: serde_json::json!({
                "responses": {"conn-0001": {"status": 200}},
                "shape": {"$": {"required": true, "types": ["object"]},
                          "$.id": {"required": true, "types": ["integer"]},
                          "$.name": {"required": true, "types": ["string"]}}
            }),
        })
        .collect()
}

fn one_by_one(store: &BaselineStore, obs: &[Observation]) {
    for o in obs {
        store
            .compare("suites/bench.yaml", o, UpdateMode::New)
            .expect("compare");
    }
}

fn batched(store: &BaselineStore, obs: &[Observation]) {
    let mut batch = SnapshotBatch::default();
    for o in obs {
        store
            .compare_into("suites/bench.yaml", o, UpdateMode::New, &mut batch)
            .expect("compare");
    }
    batch.commit().expect("commit");
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn stats(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (v[0], median, v[n - 1])
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let n = env("SNAPSHOTS", 10_000);
    let rounds = env("BENCH_REPS", 10);
    let obs = observations(n);
    println!("first-run snapshot writes: {n} new observations, {rounds} rounds, A/B alternated");
    println!("round  one-by-one s  batched s  ratio  load");
    let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let time = |batch: bool| {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = BaselineStore::new(dir.path());
            let t = Instant::now();
            if batch {
                batched(&store, &obs);
            } else {
                one_by_one(&store, &obs);
            }
            t.elapsed().as_secs_f64()
        };
        let (ta, tb) = if round % 2 == 0 {
            let ta = time(false);
            (ta, time(true))
        } else {
            let tb = time(true);
            (time(false), tb)
        };
        println!(
            "{:>5}  {ta:>12.3}  {tb:>9.3}  {:>5.1}  {}",
            round + 1,
            ta / tb,
            loadavg()
        );
        a.push(ta);
        b.push(tb);
        ratios.push(ta / tb);
    }
    let (amin, amed, amax) = stats(&a);
    let (bmin, bmed, bmax) = stats(&b);
    let (rmin, rmed, rmax) = stats(&ratios);
    println!("one-by-one s: min {amin:.3} median {amed:.3} max {amax:.3}");
    println!("batched s:    min {bmin:.3} median {bmed:.3} max {bmax:.3}");
    println!("pairwise one-by-one / batched: min {rmin:.1}x median {rmed:.1}x max {rmax:.1}x");
}
