//! driftwatch: tells a team what their third-party OAuth APIs silently changed.
//!
//! Data flow: load (suites, settings) → gather (tokens, HTTP, probes) → evidence →
//! assess (observations, baseline diff, drifts) → summary → reporters. Each module
//! has one job; `ARCHITECTURE.md` at the repository root maps where each concept
//! lives and what to touch to add a probe or a rule.

pub mod app;
pub mod auth;
pub mod baseline;
pub mod bounded;
pub mod cli;
pub mod config;
pub mod context;
pub mod demo;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod init;
pub mod model;
pub mod notify;
pub mod probe;
pub mod report;
pub mod rules;
pub mod run;
pub mod settings;
pub mod sim;
pub mod suite;

/// The allocator crate, for [`allocator!`].
#[cfg(not(target_env = "msvc"))]
#[doc(hidden)]
pub use tikv_jemallocator;

/// Declares the allocator of a program that runs the engine (the binary, the run benches):
/// jemalloc instead of the system allocator, whose per-thread arenas kept a fifth more
/// resident than the heap, with its options read before `main`: freed pages go back to the
/// system after half a second (`dirty_decay_ms`) and at once from there (`muzzy_decay_ms:0`;
/// by default they stay as lazily-freed pages that still count as resident), so a large
/// run's resident peak stays near its heap (docs/performance.md, "Memory"). One arena
/// (`narenas:1`; threads keep their own caches): memory one thread frees is reused by the
/// next instead of faulting in fresh pages, and a thread that ends (a worker, the page's
/// renderer) does not purge an arena of its own on the way out. Once per program.
#[macro_export]
macro_rules! allocator {
    () => {
        #[cfg(not(target_env = "msvc"))]
        #[global_allocator]
        static ALLOCATOR: $crate::tikv_jemallocator::Jemalloc = $crate::tikv_jemallocator::Jemalloc;

        #[cfg(not(target_env = "msvc"))]
        #[allow(non_upper_case_globals)]
        #[unsafe(export_name = "_rjem_malloc_conf")]
        static malloc_conf: Option<&'static std::ffi::c_char> =
            Some(unsafe { &*c"narenas:1,dirty_decay_ms:500,muzzy_decay_ms:0".as_ptr() });
    };
}
