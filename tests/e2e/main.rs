//! End-to-end tests against the simulated provider (one test binary).

mod check;
mod cli;
mod drift;
mod limits;
mod support;
