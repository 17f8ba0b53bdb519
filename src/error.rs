//! The top-level error and the documented exit codes.
//!
//! Module errors stay in their modules; this enum only groups them by what the
//! user should do, which is what the exit code says.

use std::path::PathBuf;

/// Exit codes (documented in README.md).
pub mod exit {
    /// No drift at or above `--fail-on`.
    pub const OK: i32 = 0;
    /// Drift at or above `--fail-on`.
    pub const DRIFT: i32 = 1;
    /// Usage or suite error: fix the command line or the suite.
    pub const USAGE: i32 = 2;
    /// Runtime error: network, provider, credentials, files.
    pub const RUNTIME: i32 = 3;
    /// `connect`: the grant carries no refresh token although the suite expects refresh;
    /// nothing was stored (`--allow-no-refresh` stores it anyway).
    pub const NO_REFRESH_TOKEN: i32 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command line or suite; already rendered for the user.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Suite(#[from] crate::suite::SuiteError),
    /// A config file or `DRIFTWATCH_*` variable that cannot be used.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Snapshot(#[from] crate::baseline::SnapshotError),
    #[error(transparent)]
    Connect(#[from] crate::auth::connect::ConnectError),
    #[error(transparent)]
    Store(#[from] crate::auth::StoreError),
    /// An ignore file that cannot be used (before any request is sent).
    #[error(transparent)]
    Suppressions(#[from] crate::baseline::SuppressError),
    /// Shard runs that cannot be merged.
    #[error(transparent)]
    Merge(#[from] crate::run::MergeError),
    /// A suite's `redact:` selectors that do not compile.
    #[error(transparent)]
    Redact(#[from] crate::http::RedactError),
    /// A `run.json` given to `report`, `accept`, `review` that cannot be read.
    #[error(transparent)]
    RunFile(crate::report::ReportError),
    /// `run.json` could not be written.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Html(#[from] crate::report::html::HtmlError),
    #[error(transparent)]
    Review(#[from] crate::baseline::review::ReviewError),
    #[error("cannot serialise JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{what} `{}`: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Runtime(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_)
            | Error::Suite(_)
            | Error::Config(_)
            | Error::Suppressions(_)
            | Error::Merge(_)
            | Error::Redact(_)
            | Error::RunFile(_) => exit::USAGE,
            Error::Auth(_)
            | Error::Snapshot(_)
            | Error::Connect(_)
            | Error::Store(_)
            | Error::Report(_)
            | Error::Html(_)
            | Error::Review(_)
            | Error::Json(_)
            | Error::Io { .. }
            | Error::Runtime(_) => exit::RUNTIME,
        }
    }
}
