//! Suites: the YAML model of one provider, its loading and validation.
//! Never imports reqwest or tokio.

mod authorize;
mod auths;
mod chain;
mod check;
mod convert;
mod declared;
pub(crate) mod diagnostic;
mod endpoints;
mod fields;
mod interpolate;
mod load;
pub mod model;
mod raw;
mod reference;
mod schema;
mod units;

pub use check::{CheckReport, check_files};
pub(crate) use diagnostic::did_you_mean;
pub use diagnostic::{DiagSeverity, Diagnostic};
pub use fields::normalise_field_path;
pub use load::{LoadMode, Loaded, SuiteError, load_suite};
/// For the fuzz targets: the loader without the file system.
pub(crate) use load::{analyze, render_all};
pub use model::*;
pub use reference::suite_reference_markdown;
pub use schema::suite_json_schema;
pub use units::parse_duration;
