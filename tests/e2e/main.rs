//! End-to-end tests against the simulated provider, plus the optional lanes
//! (`lanes`): the HTML browser test and the real-server lane (one test binary).

mod bounded;
mod canary;
mod check;
mod cli;
mod config;
mod connect;
mod connect_import;
mod connections;
mod corrupt;
mod docs;
mod drift;
mod evidence;
mod examples;
mod grant_safety;
mod grants;
mod hostile;
mod html;
mod init;
mod lanes;
mod lifecycle;
mod limits;
mod nightly;
mod notify;
mod origin;
mod probes;
mod real_server;
mod review;
mod rules;
mod shard;
mod sim_process;
mod store;
mod support;
mod suppress;
mod switches;
mod trust;
