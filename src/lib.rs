//! driftwatch: tells a team what their third-party OAuth APIs silently changed.
//!
//! Data flow: suites → token manager → probes → observations → baseline diff →
//! drifts → reporters. Each module has one job; see `DESIGN.md` in the docs.

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
