//! The `driftwatch` binary: parse the command line, call the library, exit
//! with the documented code.

driftwatch::allocator!();

fn main() {
    let (cli, typed) = driftwatch::cli::Cli::parse_typed();
    let ctx = driftwatch::context::Context::from_process();
    std::process::exit(driftwatch::app::main(cli, &typed, ctx));
}
