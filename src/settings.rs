//! The domain values a user picks for a run: when it fails ([`FailOn`]), what it
//! writes to the baseline ([`Update`]), which reports it renders ([`Format`]) and
//! when it notifies ([`WebhookOn`]). Plain enums below the CLI: `cli.rs` parses
//! them, `config.rs` layers them, the runner and reporters use them.

use crate::model::Severity;
use clap::ValueEnum;

/// `--fail-on`: the least severe unsuppressed drift that fails a run (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Breaking,
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Breaking => Some(Severity::Breaking),
            FailOn::Never => None,
        }
    }
}

/// `--update` (cargo-insta's semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Update {
    Auto,
    New,
    Always,
    No,
}

impl Update {
    /// The baseline store's mode, before CI is taken into account.
    pub fn mode(self) -> crate::baseline::UpdateMode {
        use crate::baseline::UpdateMode;
        match self {
            Update::Auto => UpdateMode::Auto,
            Update::New => UpdateMode::New,
            Update::Always => UpdateMode::Always,
            Update::No => UpdateMode::No,
        }
    }
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Terminal,
    Json,
    Junit,
    Markdown,
    /// One self-contained HTML page (default `reports/<run-id>/index.html`).
    Html,
}

/// `--webhook-on`: when the webhook is sent. `new` (the default): only when something is new
/// since the previous run (a new drift, a drift whose severity rose, a new connection problem);
/// the others: every run with drift (or a connection item) at or above that severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WebhookOn {
    New,
    Breaking,
    Warning,
    Any,
}

impl WebhookOn {
    /// The least severe drift the message lists.
    pub fn threshold(self) -> Severity {
        match self {
            WebhookOn::Breaking => Severity::Breaking,
            WebhookOn::Warning => Severity::Warning,
            WebhookOn::New | WebhookOn::Any => Severity::Info,
        }
    }

    /// Whether the message waits for something new or worse.
    pub fn only_new(self) -> bool {
        self == WebhookOn::New
    }
}
