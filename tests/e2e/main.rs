//! End-to-end tests against the simulated provider (one test binary).

mod check;
mod cli;
mod connect;
mod drift;
mod grants;
mod html;
mod lifecycle;
mod limits;
mod probes;
mod review;
mod rules;
mod support;
mod suppress;
mod switches;
