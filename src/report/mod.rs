//! Reporters: each reads a finished [`crate::run::Run`] and renders one format.
//! Reporters never probe, never diff.

pub mod ahead;
#[cfg(test)]
pub(crate) mod fixture;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod scopes;
pub mod terminal;

pub use json::{ReportError, read_run, run_from_reader, write_run};
