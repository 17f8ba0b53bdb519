//! Shape inference throughput: plain `serde_json` parsing to a `Value`, the Value-based path
//! (parse + `infer`) and streaming inference (`infer_slice`) on the same generated bodies.
//!
//! `cargo bench --bench shape` (release profile). `SHAPE_BENCH_MIB=10,100` picks the body sizes,
//! `SHAPE_BENCH_RUNS=5` the runs per measurement; min and median MiB/s are printed.
//!
//! A second table times map-like bodies (issue 15) and their peak heap, counted by a global
//! allocator wrapper: `[{"f0":1},{"f1":1},…]` (distinct-key records, `SHAPE_BENCH_MAP_MIB=8`)
//! and one object with 500,000 keys (`SHAPE_BENCH_MAP_KEYS=500000`). Targets: the records infer
//! in under 1 s with a peak under 10× the body; the object's peak stays under 200 MB.
//! `SHAPE_BENCH_MIB=` (empty) skips the first table.

use driftwatch::probe::shape::{infer, infer_slice};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let live = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes allocated at the peak of `f`, above what was live when it started.
fn peak_during(f: impl FnOnce()) -> usize {
    let start = LIVE.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed).saturating_sub(start)
}

/// A deterministic pseudo-random sequence (xorshift), so every run measures the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One API record: ids, uuids, dates, urls, emails, amounts, nulls, a nested object and tags.
fn record(i: u64, r: &mut Rng, out: &mut String) {
    use std::fmt::Write as _;
    let n = r.next();
    let _ = write!(
        out,
        concat!(
            r#"{{"id":{},"uuid":"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}","#,
            r#""created_at":"2024-{:02}-{:02}T{:02}:{:02}:{:02}Z","due_date":"2024-{:02}-{:02}","#,
            r#""amount_cents":{},"rate":{}.{:02},"currency":"EUR","paid":{},"#,
            r#""customer":{{"name":"Customer {}","email":"user{}@example.com","#,
            r#""website":"https://example.com/c/{}","vat_id":{}}},"#,
            r#""lines":[{{"sku":"SKU-{}","qty":{},"note":null}},{{"sku":"SKU-{}","qty":{},"note":"rush"}}],"#,
            r#""tags":["a","b{}"],"cursor":"eyJpZCI6{:x}"}}"#
        ),
        i,
        n as u32,
        (n >> 32) as u16,
        (n >> 48) & 0xfff,
        (n >> 20) & 0xfff,
        n & 0xffff_ffff_ffff,
        1 + n % 12,
        1 + n % 28,
        n % 24,
        n % 60,
        (n >> 8) % 60,
        1 + (n >> 4) % 12,
        1 + (n >> 6) % 28,
        n % 1_000_000,
        n % 100,
        n % 100,
        n.is_multiple_of(2),
        n % 997,
        i,
        i,
        if n.is_multiple_of(3) {
            "null".to_owned()
        } else {
            format!("\"DE{}\"", n % 1_000_000_000)
        },
        n % 500,
        1 + n % 9,
        (n >> 9) % 500,
        1 + (n >> 3) % 9,
        n % 7,
        n,
    );
}

/// `{"data":[records…],"has_more":true,"next":"…"}` of at least `mib` MiB.
fn body(mib: usize) -> Vec<u8> {
    let target = mib << 20;
    let mut out = String::with_capacity(target + 4096);
    out.push_str(r#"{"data":["#);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut i = 0;
    while out.len() < target {
        if i > 0 {
            out.push(',');
        }
        record(i, &mut rng, &mut out);
        i += 1;
    }
    out.push_str(r#"],"has_more":true,"next":"eyJwYWdlIjoyfQ=="}"#);
    out.into_bytes()
}

/// (min, median) seconds of `runs` calls.
fn time(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    (t[0], t[t.len() / 2])
}

/// `[{"f0":1},{"f1":1},…]` of at least `mib` MiB: every record has its own key.
fn distinct_key_records(mib: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let target = mib << 20;
    let mut out = String::with_capacity(target + 64);
    out.push('[');
    let mut i = 0u64;
    while out.len() < target {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"{{"f{i}":1}}"#);
        i += 1;
    }
    out.push(']');
    out.into_bytes()
}

/// `{"f0":0,"f1":1,…}` with `keys` members: one object whose keys are all distinct.
fn wide_object(keys: u64) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut out = String::from("{");
    for i in 0..keys {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#""f{i}":{i}"#);
    }
    out.push('}');
    out.into_bytes()
}

/// The map-like table: time and peak heap of both paths on both bodies.
fn map_bodies(runs: usize) {
    let mib: usize = std::env::var("SHAPE_BENCH_MAP_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let keys: u64 = std::env::var("SHAPE_BENCH_MAP_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500_000);
    println!();
    println!("| body | path | min s | median s | peak heap MB | peak ÷ body |");
    println!("|---|---|---|---|---|---|");
    for (name, bytes) in [
        (
            format!("{mib} MiB distinct-key records"),
            distinct_key_records(mib),
        ),
        (format!("{keys}-key object"), wide_object(keys)),
    ] {
        let size = bytes.len() as f64;
        let parsed: serde_json::Value = serde_json::from_slice(&bytes).expect("generated json");
        assert_eq!(infer(&parsed).ok(), infer_slice(&bytes).ok());
        drop(parsed);
        let streaming_peak = peak_during(|| {
            black_box(infer_slice(black_box(&bytes)).ok());
        });
        let parse_peak = peak_during(|| {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).ok());
        });
        let value_peak = peak_during(|| {
            let v: serde_json::Value = serde_json::from_slice(black_box(&bytes)).expect("json");
            black_box(infer(&v).ok());
        });
        let streaming = time(runs, || {
            black_box(infer_slice(black_box(&bytes)).ok());
        });
        let value_path = time(runs, || {
            let v: serde_json::Value = serde_json::from_slice(black_box(&bytes)).expect("json");
            black_box(infer(&v).ok());
        });
        let parse = time(runs, || {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).ok());
        });
        for (path, (min, median), peak) in [
            ("infer_slice (streaming)", streaming, streaming_peak),
            ("parse + infer", value_path, value_peak),
            ("serde_json parse to Value only", parse, parse_peak),
        ] {
            println!(
                "| {name} ({:.1} MB) | {path} | {:.3} | {:.3} | {:.1} | {:.2}× |",
                size / 1e6,
                min.as_secs_f64(),
                median.as_secs_f64(),
                peak as f64 / 1e6,
                peak as f64 / size,
            );
        }
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("SHAPE_BENCH_MIB")
        .unwrap_or_else(|_| "10,100".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = std::env::var("SHAPE_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1);
    println!("| body | path | min s | median s | MiB/s (median) | vs parse |");
    println!("|---|---|---|---|---|---|");
    for mib in sizes {
        let bytes = body(mib);
        let size = bytes.len() as f64 / (1u64 << 20) as f64;
        // Same answer both ways, or the comparison means nothing.
        let parsed: serde_json::Value = serde_json::from_slice(&bytes).expect("generated json");
        assert_eq!(infer(&parsed).ok(), infer_slice(&bytes).ok());
        drop(parsed);
        let parse = time(runs, || {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).ok());
        });
        let value_path = time(runs, || {
            let v: serde_json::Value = serde_json::from_slice(black_box(&bytes)).expect("json");
            black_box(infer(&v).ok());
        });
        let streaming = time(runs, || {
            black_box(infer_slice(black_box(&bytes)).ok());
        });
        for (name, (min, median)) in [
            ("serde_json parse to Value", parse),
            ("parse + infer (old path)", value_path),
            ("infer_slice (streaming)", streaming),
        ] {
            println!(
                "| {size:.0} MiB | {name} | {:.3} | {:.3} | {:.0} | {:.2}× |",
                min.as_secs_f64(),
                median.as_secs_f64(),
                size / median.as_secs_f64(),
                parse.1.as_secs_f64() / median.as_secs_f64(),
            );
        }
    }
    map_bodies(runs);
}
