//! The `driftwatch` binary: parse the command line, call the library, exit
//! with the documented code.

/// jemalloc instead of the system allocator: a run holds tens of thousands of small records
/// from many threads, and glibc's per-thread arenas kept a fifth more resident than the heap.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let (cli, typed) = driftwatch::cli::Cli::parse_typed();
    let ctx = driftwatch::context::Context::from_process();
    std::process::exit(driftwatch::app::main(cli, &typed, ctx));
}
