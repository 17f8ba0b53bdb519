//! `driftwatch init --from-openapi`: turns an OpenAPI 3.0/3.1 document into a starter
//! suite (YAML text). Knows the OpenAPI document shape and the suite's YAML keys; never
//! reads files, the environment or the network.

mod emit;
mod error;
mod filter;
mod openapi;
mod refs;
mod security;

#[cfg(test)]
mod tests;

pub use error::InitError;
pub use openapi::{Generated, InitOptions, SuiteSyntax, Summary, from_openapi};
