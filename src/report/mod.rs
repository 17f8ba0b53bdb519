//! Reporters: each reads a finished [`crate::run::Run`] and renders one format.
//! Reporters never probe, never diff.

pub mod json;
pub mod terminal;

pub use json::{ReportError, read_run, write_run};
