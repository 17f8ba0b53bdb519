//! End-to-end tests against the simulated provider (one test binary).

mod canary;
mod check;
mod cli;
mod config;
mod connect;
mod connections;
mod corrupt;
mod docs;
mod drift;
mod examples;
mod grants;
mod hostile;
mod html;
mod init;
mod lifecycle;
mod limits;
mod nightly;
mod notify;
mod probes;
mod review;
mod rules;
mod shard;
mod support;
mod suppress;
mod switches;
