//! Planning and orchestration of a run: suites × connections × probes.
//! The runner emits events and returns a finished run; it never formats output.

mod execute;
mod permissions;
mod refresh;

pub use execute::*;
