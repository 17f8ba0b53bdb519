//! Command-line definitions (clap derive). Parsing only: no behaviour here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Tells you what your third-party OAuth APIs silently changed.
#[derive(Debug, Parser)]
#[command(name = "driftwatch", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe every suite's connections and report drift against the baseline.
    Run(RunArgs),
    /// Validate suites; errors point at file:line:col.
    Check {
        /// Suite files.
        #[arg(required = true)]
        suites: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the suite format (for editor autocompletion).
    Schema,
    /// Promote pending `.snap.new` files to the accepted baseline.
    Accept(BaselineArgs),
    /// Delete pending `.snap.new` files.
    Reject(BaselineArgs),
    /// Zero-setup tour: simulated provider, baseline, drift, report. Offline.
    Demo {
        /// Keep the scratch directory (snapshots, suite, credentials) here instead of a temp dir.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Where the demo's run reports go.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
    },
    /// Run the simulated OAuth provider standalone, for manual exploration.
    Sim {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Token-endpoint behaviour profile.
        #[arg(long, default_value = "rotating-one-time")]
        profile: String,
        /// API version to serve: v1, or v2 (applies drift).
        #[arg(long, default_value = "v1")]
        drift: String,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Suite files (default: every `*.yaml` in `suites/`).
    pub suites: Vec<PathBuf>,
    /// Baseline directory.
    #[arg(long, default_value = "snapshots")]
    pub snapshots: PathBuf,
    /// Where run reports are written.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// Credential store file (default: the platform data directory).
    #[arg(long, env = "DRIFTWATCH_CREDENTIALS")]
    pub credentials: Option<PathBuf>,
    /// Exit 1 when a drift at or above this severity is found.
    #[arg(long, value_enum, default_value_t = FailOn::Breaking)]
    pub fail_on: FailOn,
    /// Allow plain http to non-loopback hosts (never do this with real credentials).
    #[arg(long)]
    pub allow_insecure_http: bool,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Baseline directory.
    #[arg(long, default_value = "snapshots")]
    pub snapshots: PathBuf,
    /// Only this provider's snapshots.
    #[arg(long)]
    pub provider: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Breaking,
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<crate::model::Severity> {
        use crate::model::Severity;
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Breaking => Some(Severity::Breaking),
            FailOn::Never => None,
        }
    }
}
