//! Redaction cost (issue 17 item 1), two modes; prints tables and asserts nothing.
//!
//! `scrub`: `Redactor::scrub` of a typical 2 KB exchange text with 10 / 1,000 / 10,000
//! registered secrets (each also registered URL-encoded), against the algorithm it replaced
//! (every secret searched and replaced one by one, longest first, plus the same `Bearer`/`Basic`
//! scan), timed interleaved: each round times the old then the new path on the same text and
//! the ratio is taken per round. Registration of the whole secret set is timed once per size.
//!
//! `connections`: whole runs of a client-credentials suite with N connections × 1 endpoint at
//! latency 0 against the simulated provider (N = 1,000 / 3,000 / 10,000, or
//! `BENCH_CONNECTIONS=…`), `limits.concurrency` 4 (the default; `BENCH_CONCURRENCY`), a
//! fresh provider per run, sizes interleaved round by round.
//!
//! `cargo bench --bench redact` runs both; `cargo bench --bench redact -- scrub` or
//! `-- connections` one of them. `BENCH_REPS=n` repetitions (default 7 for `scrub`, 3 for
//! `connections`).

mod common;

use std::hint::black_box;
use std::sync::RwLock;
use std::time::Instant;

use common::{Plan, World, min_median, ms, reps, runner_runtime, timed_run};
use driftwatch::http::{REDACTED, Redactor};
use driftwatch::sim::SimOptions;

/// A deterministic pseudo-random sequence (xorshift), so every run measures the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `len` characters of base64 (with `+`, `/`), like an opaque access token.
    fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..len)
            .map(|_| ALPHABET[(self.next() % 64) as usize] as char)
            .collect()
    }
}

/// The redactor before issue 17: a list kept longest first, re-sorted on every registration,
/// and one `contains` + `replace` per secret on every text.
struct OldRedactor {
    secrets: RwLock<Vec<String>>,
    /// Supplies the unchanged `Bearer`/`Basic` scan (it holds no secret).
    scheme: Redactor,
}

impl OldRedactor {
    fn new() -> Self {
        OldRedactor {
            secrets: RwLock::new(Vec::new()),
            scheme: Redactor::new(&[]).expect("no selectors"),
        }
    }

    fn register_secret(&self, secret: &str) {
        if secret.chars().count() < 4 {
            return;
        }
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        for s in [secret.to_string(), encoded] {
            if !secrets.contains(&s) {
                secrets.push(s);
            }
        }
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        {
            let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
            for secret in secrets.iter() {
                if out.contains(secret.as_str()) {
                    out = out.replace(secret.as_str(), REDACTED);
                }
            }
        }
        self.scheme.scrub(&out)
    }
}

/// About 2 KB of what one recorded exchange carries through `scrub`: URL, headers, a JSON
/// body with ids, timestamps and links, and one of the registered secrets reflected.
fn exchange_text(rng: &mut Rng, reflected: &str) -> String {
    let mut t = String::from(
        "GET https://api.example.test/v1/invoices?page=3&per_page=50&include=lines HTTP/1.1\n\
         user-agent: driftwatch/0.1.0\naccept: application/json\n\
         authorization: Bearer [REDACTED]\n\
         HTTP/1.1 200 OK\ncontent-type: application/json; charset=utf-8\n\
         x-request-id: ",
    );
    t.push_str(&rng.token(32));
    t.push_str("\nlink: <https://api.example.test/v1/invoices?page=4>; rel=\"next\"\n\n");
    t.push_str("{\"data\":[");
    let mut i = 0;
    while t.len() < 1900 {
        if i > 0 {
            t.push(',');
        }
        t.push_str(&format!(
            "{{\"id\":\"inv_{}\",\"amount\":{},\"currency\":\"EUR\",\"status\":\"paid\",\
             \"created_at\":\"2026-11-{:02}T10:{:02}:00Z\",\"customer\":\"cus_{}\"}}",
            rng.token(12).replace(['+', '/'], "x"),
            rng.next() % 100_000,
            1 + rng.next() % 28,
            rng.next() % 60,
            rng.token(10).replace(['+', '/'], "y"),
        ));
        i += 1;
    }
    t.push_str(&format!("],\"note\":\"echo {reflected}\"}}"));
    t
}

fn scrub_mode() {
    let rounds = reps(7);
    println!(
        "scrub: one ~2 KB exchange text, N secrets of 43 base64 chars registered (+ URL-encoded \
         forms), old vs new interleaved, {rounds} rounds"
    );
    println!(
        "secrets  register old ms  register new ms  scrub old µs (min/med)  scrub new µs (min/med)  old/new (min/med/max)"
    );
    for n in [10usize, 1_000, 10_000] {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
        let secrets: Vec<String> = (0..n).map(|_| rng.token(43)).collect();
        let old = OldRedactor::new();
        let new = Redactor::new(&[]).expect("no selectors");
        let t0 = Instant::now();
        for s in &secrets {
            old.register_secret(s);
        }
        let reg_old = t0.elapsed();
        let t0 = Instant::now();
        for s in &secrets {
            new.register_secret(s);
        }
        let reg_new = t0.elapsed();
        let text = exchange_text(&mut rng, &secrets[n / 2]);
        assert_eq!(old.scrub(&text), new.scrub(&text), "old and new disagree");
        // Enough iterations per sample that even the fast path takes milliseconds.
        let iters = (200_000 / n).clamp(20, 20_000);
        let time = |f: &dyn Fn(&str) -> String| {
            let t0 = Instant::now();
            for _ in 0..iters {
                black_box(f(black_box(&text)));
            }
            t0.elapsed().as_secs_f64() * 1e6 / iters as f64
        };
        let (mut olds, mut news, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let o = time(&|t| old.scrub(t));
            let w = time(&|t| new.scrub(t));
            olds.push(o);
            news.push(w);
            ratios.push(o / w);
        }
        let (omin, omed) = min_median(&olds);
        let (nmin, nmed) = min_median(&news);
        let (rmin, rmed) = min_median(&ratios);
        let rmax = ratios.iter().copied().fold(f64::MIN, f64::max);
        println!(
            "{n:>7}  {:>15.1}  {:>15.1}  {omin:>10.1} / {omed:<10.1}  {nmin:>10.1} / {nmed:<10.1}  \
             {rmin:.2}× / {rmed:.2}× / {rmax:.2}×",
            ms(reg_old),
            ms(reg_new),
        );
    }
}

fn connections_mode() {
    let sizes: Vec<usize> = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 3_000, 10_000]);
    let concurrency = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let rounds = reps(3);
    let rt = runner_runtime();
    println!(
        "connections: N connections x 1 endpoint, latency 0, concurrency {concurrency}, \
         {rounds} rounds, sizes interleaved"
    );
    println!("round  connections  whole-run ms  token+setup ms  endpoint-phase ms  2xx  errors");
    let mut wholes: Vec<Vec<f64>> = vec![Vec::new(); sizes.len()];
    for round in 1..=rounds {
        for (i, &n) in sizes.iter().enumerate() {
            let plan = Plan {
                connections: n,
                endpoints: 1,
                concurrency,
                rate: None,
            };
            let world = World::start(&plan, SimOptions::default());
            let t = timed_run(&rt, &world);
            let before_probes = t.whole.saturating_sub(t.endpoint_phase);
            println!(
                "{round:>5}  {n:>11}  {:>12.0}  {:>14.0}  {:>17.0}  {:>5}  {:>6}",
                ms(t.whole),
                ms(before_probes),
                ms(t.endpoint_phase),
                t.ok,
                t.run.errors.len()
            );
            wholes[i].push(ms(t.whole));
        }
    }
    let mut first_median = None;
    for (i, &n) in sizes.iter().enumerate() {
        let (min, med) = min_median(&wholes[i]);
        let scale = match first_median {
            None => {
                first_median = Some((n, med));
                String::new()
            }
            Some((n0, m0)) => format!(
                " ({:.2}× the {n0}-connection median for {:.1}× the connections)",
                med / m0,
                n as f64 / n0 as f64
            ),
        };
        println!("{n:>6} connections: whole run min {min:.0} ms, median {med:.0} ms{scale}");
    }
}

fn main() {
    let modes: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |m: &str| modes.is_empty() || modes.iter().any(|a| a == m);
    if wants("scrub") {
        scrub_mode();
    }
    if wants("connections") {
        if wants("scrub") {
            println!();
        }
        connections_mode();
    }
}
