//! Planning and orchestration of a run: suites × connections × probes.
//! The runner emits events and returns a finished run; it never formats output.

mod credentials;
mod execute;
mod metadata;
mod permissions;
mod refresh;
mod session;

pub use credentials::{open_store, token_health};
pub use execute::*;
pub use session::ProviderSession;
