//! The `driftwatch` binary: parse the command line, call the library, exit
//! with the documented code.

/// jemalloc instead of the system allocator: a run holds tens of thousands of small records
/// from many threads, and glibc's per-thread arenas kept a fifth more resident than the heap.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: freed pages go back to the system after half a
/// second (`dirty_decay_ms`) and at once from there (`muzzy_decay_ms:0`; the default keeps
/// them as lazily-freed pages that still count as resident), so a large run's peak resident
/// memory stays near its heap (docs/performance.md, "Memory").
#[cfg(not(target_env = "msvc"))]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static malloc_conf: Option<&'static std::ffi::c_char> =
    Some(unsafe { &*c"dirty_decay_ms:500,muzzy_decay_ms:0".as_ptr() });

fn main() {
    let (cli, typed) = driftwatch::cli::Cli::parse_typed();
    let ctx = driftwatch::context::Context::from_process();
    std::process::exit(driftwatch::app::main(cli, &typed, ctx));
}
