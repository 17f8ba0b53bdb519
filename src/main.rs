//! The `driftwatch` binary: parse the command line, call the library, exit
//! with the documented code.

use clap::Parser;

fn main() {
    let cli = driftwatch::cli::Cli::parse();
    let ctx = driftwatch::context::Context::from_process();
    std::process::exit(driftwatch::app::main(cli, ctx));
}
