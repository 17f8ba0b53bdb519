//! Shape inference speed against a plain `serde_json` parse to a `Value`, measured as an
//! interleaved A/B: each round times the parse, then streaming inference (`infer_slice`) on the
//! same bytes, alternating which goes first, and keeps the pairwise ratio parse time ÷
//! inference time (≥ 1: inference is as fast as parsing). Min, median and max over the rounds.
//!
//! `cargo bench --bench shape` (release profile). `SHAPE_BENCH_SIZES=450B,10MiB,100MiB` picks the
//! generated API-like bodies, `SHAPE_BENCH_ROUNDS=31` the rounds (one more warm-up round is not
//! counted). A body that parses in under 20 ms is timed in batches of calls filling about 20 ms,
//! the same batch size for both arms.
//!
//! A second table times map-like bodies (issue 15) and their peak heap, counted by a global
//! allocator wrapper: `[{"f0":1},{"f1":1},…]` (distinct-key records, `SHAPE_BENCH_MAP_MIB=8`)
//! and one object with 500,000 keys (`SHAPE_BENCH_MAP_KEYS=500000`), `SHAPE_BENCH_RUNS=5` runs
//! each. Targets: the records infer in under 1 s with a peak under 10× the body; the object's
//! peak stays under 200 MB. `SHAPE_BENCH_SIZES=` (empty) skips the first table,
//! `SHAPE_BENCH_MAP_MIB=0` the second.

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

/// A small answer like a profile endpoint's, about 450 bytes (the size real endpoints answer):
/// ids, a UUID, timestamps, a URL, an email, numbers, booleans, a null, a nested object, tags.
fn small_body() -> Vec<u8> {
    concat!(
        r#"{"id":48213,"uuid":"1f0e2d3c-4b5a-4697-a8b9-c0d1e2f3a4b5","#,
        r#""email":"jane.doe@example.com","name":"Jane Doe","#,
        r#""created_at":"2024-03-14T09:26:53Z","birthday":"1990-07-01","#,
        r#""avatar_url":"https://cdn.example.com/u/48213.png","locale":"de-DE","#,
        r#""verified":true,"balance":1204.35,"credits":12,"referrer":null,"#,
        r#""address":{"street":"Hauptstr. 5","city":"Berlin","zip":"10115","country":"DE"},"#,
        r#""roles":["admin","billing"],"cursor":"eyJpZCI6NDgyMTN9"}"#
    )
    .as_bytes()
    .to_vec()
}

/// `{"data":[records…],"has_more":true,"next":"…"}` of at least `target` bytes, or
/// [`small_body`] for a target under 1 KiB.
fn body(target: usize) -> Vec<u8> {
    if target < 1024 {
        return small_body();
    }
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
    if mib == 0 {
        return;
    }
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

/// A body size: `450B`, `10MiB`, `1KiB`.
fn parse_size(s: &str) -> Option<(String, usize)> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: usize = s[..digits].parse().ok()?;
    let unit = match &s[digits..] {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        _ => return None,
    };
    Some((s.to_owned(), n * unit))
}

/// Seconds per call of `f`, timed over `batch` calls.
fn per_call(batch: usize, f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..batch {
        f();
    }
    start.elapsed().as_secs_f64() / batch as f64
}

/// (min, median, max) of a non-empty sample.
fn spread(xs: &[f64]) -> (f64, f64, f64) {
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

/// The interleaved A/B table: parse to `Value` against `infer_slice`, pairwise per round.
fn ab_table(sizes: &[(String, usize)], rounds: usize) {
    println!(
        "| body | bytes | rounds × batch | parse µs (median) | infer µs (median) | \
         ratio parse ÷ infer min | median | max |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, target) in sizes {
        let bytes = body(*target);
        // Same answer both ways, or the comparison means nothing.
        let parsed: serde_json::Value = serde_json::from_slice(&bytes).expect("generated json");
        assert_eq!(infer(&parsed).ok(), infer_slice(&bytes).ok());
        drop(parsed);
        let mut parse = || {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).ok());
        };
        let mut shape = || {
            black_box(infer_slice(black_box(&bytes)).ok());
        };
        // Batch so that one timed block lasts about 20 ms (one call for large bodies).
        let once = per_call(1, &mut parse);
        let batch = ((0.02 / once.max(1e-9)) as usize).clamp(1, 1_000_000);
        let (mut ratios, mut parse_t, mut infer_t) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..=rounds {
            let (p, i) = if round % 2 == 0 {
                let p = per_call(batch, &mut parse);
                (p, per_call(batch, &mut shape))
            } else {
                let i = per_call(batch, &mut shape);
                (per_call(batch, &mut parse), i)
            };
            if round == 0 {
                continue; // warm-up
            }
            ratios.push(p / i);
            parse_t.push(p);
            infer_t.push(i);
        }
        let (min, median, max) = spread(&ratios);
        println!(
            "| {name} | {} | {rounds} × {batch} | {:.1} | {:.1} | {min:.2}× | {median:.2}× | {max:.2}× |",
            bytes.len(),
            spread(&parse_t).1 * 1e6,
            spread(&infer_t).1 * 1e6,
        );
    }
}

fn main() {
    let sizes: Vec<(String, usize)> = std::env::var("SHAPE_BENCH_SIZES")
        .unwrap_or_else(|_| "450B,10MiB,100MiB".to_owned())
        .split(',')
        .filter_map(parse_size)
        .collect();
    let rounds: usize = std::env::var("SHAPE_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(31)
        .max(1);
    let runs: usize = std::env::var("SHAPE_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1);
    ab_table(&sizes, rounds);
    map_bodies(runs);
}
