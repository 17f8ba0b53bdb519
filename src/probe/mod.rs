//! Probes: each one turns recorded exchanges into observations; probes never format output.

pub mod app;
pub mod body;
pub mod deprecation;
pub mod metadata;
pub mod permissions;
pub mod refresh;
pub mod schema;
pub mod shape;
pub mod token;
pub mod values;
