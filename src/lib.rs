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
