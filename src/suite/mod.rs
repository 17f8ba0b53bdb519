//! Suites: the YAML model of one provider, its loading and validation.
//! Never imports reqwest or tokio.

pub mod model;

pub use model::*;
