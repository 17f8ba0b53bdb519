//! End-to-end tests against the simulated provider (one test binary).

mod canary;
mod check;
mod cli;
mod connect;
mod corrupt;
mod drift;
mod grants;
mod hostile;
mod lifecycle;
mod limits;
mod probes;
mod review;
mod rules;
mod support;
mod suppress;
mod switches;
