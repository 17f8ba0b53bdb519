//! End-to-end tests against the simulated provider (one test binary).

mod check;
mod cli;
mod config;
mod connect;
mod drift;
mod grants;
mod lifecycle;
mod limits;
mod notify;
mod probes;
mod review;
mod rules;
mod support;
mod suppress;
mod switches;
