//! Shape inference throughput: plain `serde_json` parsing to a `Value`, the Value-based path
//! (parse + `infer`) and streaming inference (`infer_slice`) on the same generated bodies.
//!
//! `cargo bench --bench shape` (release profile). `SHAPE_BENCH_MIB=10,100` picks the body sizes,
//! `SHAPE_BENCH_RUNS=5` the runs per measurement; min and median MiB/s are printed.

use driftwatch::probe::shape::{infer, infer_slice};
use std::hint::black_box;
use std::time::{Duration, Instant};

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
}
