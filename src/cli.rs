//! Command-line definitions (clap derive). Parsing only: no behaviour here.

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::collections::BTreeSet;
use std::path::PathBuf;

pub use crate::settings::{FailOn, Format, Update, WebhookOn};

/// Tells you what your third-party OAuth APIs silently changed.
#[derive(Debug, Parser)]
#[command(name = "driftwatch", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments (exiting with clap's message on a bad command line)
    /// and notes which arguments were typed on it.
    pub fn parse_typed() -> (Cli, Typed) {
        let matches = command().get_matches();
        match Cli::from_arg_matches(&matches) {
            Ok(cli) => (cli, Typed::from_matches(&matches)),
            Err(e) => e.exit(),
        }
    }

    /// [`Cli::parse_typed`] over the given arguments (tests).
    pub fn try_parse_typed<I, T>(args: I) -> Result<(Cli, Typed), clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = command().try_get_matches_from(args)?;
        Ok((
            Cli::from_arg_matches(&matches)?,
            Typed::from_matches(&matches),
        ))
    }
}

// ---- polish: exit codes and environment variables, one source for README, --help and man ----

/// Every exit code and what it means: the one source of README's table, `--help` and the man
/// pages (tests/e2e/docs.rs compares README with [`exit_codes_markdown`]).
pub const EXIT_CODES: &[(i32, &str)] = &[
    (crate::error::exit::OK, "no drift at or above `--fail-on`"),
    (
        crate::error::exit::DRIFT,
        "drift at or above `--fail-on` (`run`, `merge`, `report`)",
    ),
    (
        crate::error::exit::USAGE,
        "usage or suite error (bad flag, unknown filter, invalid suite or config file, no suites)",
    ),
    (
        crate::error::exit::RUNTIME,
        "runtime error: an unusable connection (no credentials, a refused refresh, an access \
         token refused again after a refresh — reported once per connection, never as drift), a \
         network or provider failure (outranks 1: the results are incomplete)",
    ),
    (
        crate::error::exit::NO_REFRESH_TOKEN,
        "`connect` only: the grant carries no refresh token although the suite expects refresh; \
         nothing was stored (`--allow-no-refresh` stores it)",
    ),
];

/// Every environment variable driftwatch reads and what it sets.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("DRIFTWATCH_CONFIG", "config file (`--config`)"),
    ("DRIFTWATCH_SNAPSHOTS", "baseline directory (`--snapshots`)"),
    ("DRIFTWATCH_REPORTS", "reports directory (`--reports`)"),
    (
        "DRIFTWATCH_CREDENTIALS",
        "credential store file (`--credentials`)",
    ),
    (
        "DRIFTWATCH_CREDENTIAL_HELPER",
        "credential helper command (`--credential-helper`)",
    ),
    ("DRIFTWATCH_FAIL_ON", "exit-1 threshold (`--fail-on`)"),
    (
        "DRIFTWATCH_EXPIRY_WINDOW",
        "refresh-token expiry warning window (`--expiry-window`)",
    ),
    ("DRIFTWATCH_SUPPRESSIONS", "ignore file (`--suppressions`)"),
    (
        "DRIFTWATCH_UPDATE",
        "what to write for changed observations (`--update`)",
    ),
    (
        "DRIFTWATCH_EVIDENCE",
        "evidence kept per exchange (`--evidence`)",
    ),
    ("DRIFTWATCH_WEBHOOK", "webhook URL, a secret (`--webhook`)"),
    (
        "DRIFTWATCH_WEBHOOK_ON",
        "webhook threshold (`--webhook-on`)",
    ),
    (
        "DRIFTWATCH_LOG",
        "log filter on stderr, e.g. `debug` (default `warn`)",
    ),
    (
        "CI",
        "set and not `false`/`0`: CI mode, the baseline is never written",
    ),
    ("GITHUB_ACTIONS", "`true`: also print GitHub annotations"),
    ("NO_COLOR", "set and not empty: no colour"),
];

/// The exit codes as README's Markdown table.
pub fn exit_codes_markdown() -> String {
    let mut out = String::from("| code | meaning |\n|---|---|\n");
    for (code, meaning) in EXIT_CODES {
        out.push_str(&format!("| {code} | {meaning} |\n"));
    }
    out
}

/// The environment variables as README's Markdown table.
pub fn env_vars_markdown() -> String {
    let mut out = String::from("| variable | sets |\n|---|---|\n");
    for (var, what) in ENV_VARS {
        out.push_str(&format!("| `{var}` | {what} |\n"));
    }
    out
}

/// The exit codes and environment variables as plain text (`--help`, man pages).
pub fn exit_and_env_help() -> String {
    let plain = |s: &str| s.replace('`', "");
    let mut out = String::from("Exit codes:\n");
    for (code, meaning) in EXIT_CODES {
        out.push_str(&format!("  {code}  {}\n", plain(meaning)));
    }
    out.push_str("\nEnvironment variables:\n");
    let width = ENV_VARS.iter().map(|(v, _)| v.len()).max().unwrap_or(0);
    for (var, what) in ENV_VARS {
        out.push_str(&format!("  {var:<width$}  {}\n", plain(what)));
    }
    out
}

/// The full command: the derive's definition plus the exit-code and environment sections
/// (in `driftwatch --help`, `driftwatch run --help` and every man page).
pub fn command() -> clap::Command {
    let text = exit_and_env_help();
    Cli::command()
        .after_long_help(text.clone())
        .mut_subcommand("run", |c| c.after_long_help(text.clone()))
        .mut_subcommand("report", |c| c.after_long_help(text.clone()))
        .mut_subcommand("merge", |c| c.after_long_help(text))
}

// ---- end polish ----

/// The ids of the arguments the user typed on the command line (clap's
/// [`ValueSource::CommandLine`]) for the chosen subcommand. clap also fills a value
/// from a `DRIFTWATCH_*` variable or a default; the settings chain reads those
/// layers itself, so only typed values count as flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typed(BTreeSet<String>);

impl Typed {
    pub fn from_matches(m: &ArgMatches) -> Typed {
        let mut m = m;
        while let Some((_, sub)) = m.subcommand() {
            m = sub;
        }
        Typed(
            m.ids()
                .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
                .map(|id| id.as_str().to_string())
                .collect(),
        )
    }

    /// Every argument counts as typed (library callers that build args by hand).
    pub fn with(ids: &[&str]) -> Typed {
        Typed(ids.iter().map(|s| s.to_string()).collect())
    }

    /// `value` when argument `id` was typed on the command line.
    pub fn flag<T>(&self, id: &str, value: Option<T>) -> Option<T> {
        value.filter(|_| self.0.contains(id))
    }

    /// `values` when argument `id` was typed on the command line, else empty.
    pub fn list<T>(&self, id: &str, values: Vec<T>) -> Vec<T> {
        if self.0.contains(id) {
            values
        } else {
            Vec::new()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe every suite's connections and report drift against the baseline.
    Run(RunArgs),
    /// Re-render a finished run (`run.json`) in other formats.
    Report(ReportArgs),
    /// Merge shard runs (`run --shard i/n`) into one run, compare it with the baseline, report.
    Merge(MergeArgs),
    /// Validate suites; errors point at file:line:col.
    Check {
        /// Suite files.
        #[arg(required = true)]
        suites: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the suite format (for editor autocompletion).
    Schema,
    /// Generate a starter suite from an OpenAPI 3.0/3.1 document (YAML or JSON).
    Init(InitArgs),
    /// List every drift and finding rule: id, probe, kind, severity, description.
    Rules {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Why each requested scope is needed: the endpoints it unlocks, from the latest run's
    /// permission matrix (no request is sent); for an app review or a security review.
    Scopes(ScopesArgs),
    /// Promote pending `.snap.new` files to the accepted baseline.
    Accept(BaselineArgs),
    /// Delete pending `.snap.new` files.
    Reject(BaselineArgs),
    /// Walk pending snapshots interactively: drifts, diff, then accept/reject/skip each.
    Review(ReviewArgs),
    /// Zero-setup tour: simulated provider, baseline, drift, report. Offline.
    Demo {
        /// Keep the scratch directory (snapshots, suite, credentials) here instead of a temp dir.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Where the demo's run reports go.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
    },
    /// Authorise a connection and store its grant (authorization code + PKCE, device flow, or
    /// an imported token answer).
    Connect(ConnectArgs),
    /// List every connection's tokens: last refresh, expiries, days until the refresh token dies.
    Tokens(TokensArgs),
    /// Print the effective settings of a command (default `run`) and where each comes from
    /// (default, suite, config file, environment, flag); accepts every `run` flag.
    Config(ConfigArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or write one page per subcommand with `--dir`.
    Man {
        /// Write `driftwatch.1`, `driftwatch-run.1`, … into this directory.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Run the simulated OAuth provider standalone, for manual exploration.
    Sim {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Token-endpoint behaviour profile: rotating-one-time, non-rotating, rotating-old-valid,
        /// string-expires-in, rotating-grace, reuse-revokes-family, lazy-rotation,
        /// narrowing-rotation, rotating-short-idle, form-encoded, password,
        /// client-credentials-only.
        #[arg(long, default_value = "rotating-one-time")]
        profile: String,
        /// API version to serve: v1, or v2 (applies drift).
        #[arg(long, default_value = "v1")]
        drift: String,
        /// Fixed delay in milliseconds before every resource-API (`/v1/…`) answer.
        #[arg(long, default_value_t = 0, value_name = "MS")]
        latency_ms: u64,
        /// Answer 429 (`Retry-After: 1`) to resource-API requests beyond N in any rolling
        /// 1,000 ms window of accepted requests.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        rate_limit: Option<u32>,
        /// Lifetime of issued access tokens (also their `expires_in`), e.g. `30s`.
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_window)]
        access_token_ttl: std::time::Duration,
        /// Stop issuing refresh tokens this long after start (e.g. `5m`): refresh answers
        /// carry none, and the issued ones die `--refresh-ttl` later (`invalid_grant`).
        #[arg(long, value_name = "DURATION", value_parser = parse_window)]
        withhold_refresh_after: Option<std::time::Duration>,
        /// How long refresh tokens live once withheld (`--withhold-refresh-after`, or
        /// `POST /_sim/withhold-refresh`).
        #[arg(long, value_name = "DURATION", default_value = "14d", value_parser = parse_window)]
        refresh_ttl: std::time::Duration,
        /// Answer the money value `metrics.spend` whole (`1204` instead of `1204.25`) on about
        /// every second call, in a pseudo-random order fixed by SEED.
        #[arg(long, value_name = "SEED")]
        whole_decimals: Option<u64>,
        /// Keep the grants it issues in FILE (tokens only as SHA-256 hashes), so a restart
        /// (e.g. with `--drift v2`) still honours them. Needs SIM_CLIENT_SECRET.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Suite files (default: every `*.yaml` in `suites/`).
    pub suites: Vec<PathBuf>,
    /// Config file (default: `driftwatch.toml` when it exists); see docs/configuration.md.
    #[arg(long, value_name = "FILE", env = "DRIFTWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Baseline directory [default: snapshots].
    #[arg(long, env = "DRIFTWATCH_SNAPSHOTS")]
    pub snapshots: Option<PathBuf>,
    /// Where run reports are written [default: reports].
    #[arg(long, env = "DRIFTWATCH_REPORTS")]
    pub reports: Option<PathBuf>,
    /// Credential store file (default: the platform data directory).
    #[arg(long, env = "DRIFTWATCH_CREDENTIALS")]
    pub credentials: Option<PathBuf>,
    /// Exit 1 when a drift at or above this severity is found [default: breaking].
    #[arg(long, value_enum, env = "DRIFTWATCH_FAIL_ON")]
    pub fail_on: Option<FailOn>,
    /// Allow plain http to non-loopback hosts (never do this with real credentials).
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Warn (as `token.refresh-expiring`) when a refresh token dies within this window
    /// [default: 7d].
    #[arg(long, value_parser = parse_window, env = "DRIFTWATCH_EXPIRY_WINDOW")]
    pub expiry_window: Option<std::time::Duration>,
    /// Ignore file of known drifts (default: `driftwatch.ignore.yaml` when it exists).
    #[arg(long, value_name = "FILE", env = "DRIFTWATCH_SUPPRESSIONS")]
    pub suppressions: Option<PathBuf>,
    /// What to write for new or changed observations: auto (`.snap.new`, nothing under CI),
    /// new (`.snap.new` even under CI), always (update the baseline in place; never under CI),
    /// no (nothing) [default: auto].
    #[arg(long, value_enum, env = "DRIFTWATCH_UPDATE")]
    pub update: Option<Update>,
    /// What run.json and every report keep of each recorded exchange: full (bodies and
    /// headers, secrets redacted), shapes (each response body replaced by its shape, only the
    /// header values the probes read), none (no body, no header) [default: full].
    #[arg(long, value_enum, env = "DRIFTWATCH_EVIDENCE")]
    pub evidence: Option<crate::run::EvidenceMode>,
    #[command(flatten)]
    pub notify: WebhookArgs,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Probe only shard `i` of `n` (1-based, e.g. `2/8`): writes evidence, compares nothing;
    /// `driftwatch merge` gives the verdict.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<crate::run::Shard>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `driftwatch scopes`: the scope justification table of a finished run.
#[derive(Debug, Args)]
pub struct ScopesArgs {
    /// Only these suites: suite files or provider names of the run [default: every one].
    pub suites: Vec<PathBuf>,
    /// The run to read [default: `<reports>/latest/run.json`, `reports` from the settings
    /// chain].
    #[arg(long, value_name = "RUN.JSON")]
    pub run: Option<PathBuf>,
    /// Config file (default: `driftwatch.toml` when it exists); see docs/configuration.md.
    #[arg(long, value_name = "FILE", env = "DRIFTWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where run reports are written [default: reports].
    #[arg(long, env = "DRIFTWATCH_REPORTS")]
    pub reports: Option<PathBuf>,
    /// Output format: terminal (aligned text), markdown (to paste into an app-review form),
    /// json (stable; docs/scopes.md).
    #[arg(long, value_enum, default_value_t = ScopesFormat::Terminal)]
    pub format: ScopesFormat,
}

/// What `driftwatch scopes` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopesFormat {
    Terminal,
    Markdown,
    Json,
}

/// `driftwatch config`: `run`'s flags plus the command whose settings to show.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Show the settings this command uses (only those it reads).
    #[arg(long, value_enum, default_value_t = SettingsCommand::Run)]
    pub command: SettingsCommand,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The commands that read the settings chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SettingsCommand {
    Run,
    Merge,
    Report,
    Accept,
    Reject,
    Review,
    Connect,
    Tokens,
}

/// `driftwatch merge`: the shard runs plus `run`'s comparison and report options.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The `run.json` of every shard (`run --shard i/n`), in any order.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Config file (default: `driftwatch.toml` when it exists); see docs/configuration.md.
    #[arg(long, value_name = "FILE", env = "DRIFTWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Baseline directory [default: snapshots].
    #[arg(long, env = "DRIFTWATCH_SNAPSHOTS")]
    pub snapshots: Option<PathBuf>,
    /// Where the merged run is written [default: reports].
    #[arg(long, env = "DRIFTWATCH_REPORTS")]
    pub reports: Option<PathBuf>,
    /// Exit 1 when a drift at or above this severity is found [default: breaking].
    #[arg(long, value_enum, env = "DRIFTWATCH_FAIL_ON")]
    pub fail_on: Option<FailOn>,
    /// Ignore file of known drifts (default: `driftwatch.ignore.yaml` when it exists).
    #[arg(long, value_name = "FILE", env = "DRIFTWATCH_SUPPRESSIONS")]
    pub suppressions: Option<PathBuf>,
    /// What to write for new or changed observations (as for `run`) [default: auto].
    #[arg(long, value_enum, env = "DRIFTWATCH_UPDATE")]
    pub update: Option<Update>,
    /// What the merged run keeps of each exchange (as for `run`). A shard's own mode wins
    /// when it keeps less: what a shard left out cannot come back [default: the shards'].
    #[arg(long, value_enum, env = "DRIFTWATCH_EVIDENCE")]
    pub evidence: Option<crate::run::EvidenceMode>,
    /// The webhook of the merged run (the shards never notify).
    #[command(flatten)]
    pub notify: WebhookArgs,
    /// Allow plain http to a non-loopback webhook (never do this with a real one).
    #[arg(long)]
    pub allow_insecure_http: bool,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The drift webhook (`run` and `merge`).
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Slack-compatible incoming-webhook URL to notify on drift (a secret: never printed).
    #[arg(
        long,
        value_name = "URL",
        env = "DRIFTWATCH_WEBHOOK",
        hide_env_values = true
    )]
    pub webhook: Option<String>,
    /// When to notify: new (only when a drift is new or worse, or a connection problem is
    /// new, since the previous run), or every run with drift at or above breaking, warning
    /// or any severity [default: new].
    #[arg(long, value_enum, env = "DRIFTWATCH_WEBHOOK_ON")]
    pub webhook_on: Option<WebhookOn>,
}

/// Drift identity across runs (`run` and `merge`): where the history is, what came before,
/// and where the HTML report will be published.
#[derive(Debug, Clone, Default, Args)]
pub struct IdentityArgs {
    /// History file: one line per run, read for each drift's first sighting and appended
    /// to [default: reports/history.jsonl].
    #[arg(long, value_name = "PATH", env = "DRIFTWATCH_HISTORY")]
    pub history: Option<PathBuf>,
    /// Neither read nor append the history file (wins over `--history` and
    /// `DRIFTWATCH_HISTORY`).
    #[arg(long)]
    pub no_history: bool,
    /// A previous run's `run.json`: carry first sightings from it instead of the history.
    #[arg(long, value_name = "RUN.JSON")]
    pub previous: Option<PathBuf>,
    /// Link to the published HTML report (`{run_id}` is replaced), shown in the Markdown
    /// summary and the webhook message.
    #[arg(long, value_name = "URL", env = "DRIFTWATCH_REPORT_URL")]
    pub report_url: Option<String>,
}

/// Which reports to produce and where (`--format`/`--output` pairs).
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Report format; repeatable (default: terminal). `run` always writes run.json and index.html.
    #[arg(long = "format", value_enum)]
    pub formats: Vec<Format>,
    /// Where the format at the same position goes (`-` = stdout); repeatable. Default: terminal to
    /// stdout, others to `reports/<run-id>/run.{json,xml,md}` or `index.html` (`report`: all to stdout).
    #[arg(long = "output")]
    pub outputs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A `run.json` written by `driftwatch run`.
    pub run: PathBuf,
    /// Config file (default: `driftwatch.toml` when it exists); see docs/configuration.md.
    #[arg(long, value_name = "FILE", env = "DRIFTWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Drifts at or above this severity are JUnit failures [default: breaking].
    #[arg(long, value_enum, env = "DRIFTWATCH_FAIL_ON")]
    pub fail_on: Option<FailOn>,
    /// Render with less of each exchange than the file keeps (shapes, none); the file's own
    /// mode when it keeps less [default: the file's].
    #[arg(long, value_enum, env = "DRIFTWATCH_EVIDENCE")]
    pub evidence: Option<crate::run::EvidenceMode>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where credentials live.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Credential helper command (`<cmd> get <key>` / `<cmd> store <key>`); overrides the
    /// suite's `auth.credential_helper` and the credential store file.
    #[arg(long, env = "DRIFTWATCH_CREDENTIAL_HELPER")]
    pub credential_helper: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The suite file.
    pub suite: PathBuf,
    /// The connection id in the suite.
    pub connection: String,
    /// Use the device authorization grant (RFC 8628) instead of a browser redirect.
    #[arg(long, conflicts_with = "import")]
    pub device: bool,
    /// Store a token answer you already have (RFC 6749 JSON: access_token, refresh_token,
    /// expires_in, scope, optional obtained_at) from FILE, or from stdin with `-`.
    #[arg(long, value_name = "FILE|-")]
    pub import: Option<String>,
    /// After storing, refresh once through the token manager to prove the grant works
    /// (a rotated refresh token is stored at once).
    #[arg(long)]
    pub verify: bool,
    /// Store the grant even when it carries no refresh token although the suite expects
    /// refresh (otherwise nothing is stored and the exit code is 4).
    #[arg(long)]
    pub allow_no_refresh: bool,
    /// Listen for the redirect on this port instead of the suite's (`0` = a free one).
    #[arg(long, value_name = "N", conflicts_with_all = ["redirect_uri", "device", "import"])]
    pub redirect_port: Option<u16>,
    /// Use this redirect URI instead of the suite's `auth.redirect_uri` (loopback http).
    #[arg(long, value_name = "URI", conflicts_with_all = ["device", "import"])]
    pub redirect_uri: Option<String>,
    /// Print the authorize URL without opening a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Give up after this long without an answer.
    #[arg(long, default_value = "5m", value_parser = parse_window)]
    pub timeout: std::time::Duration,
    /// `login_hint` for the authorize request (pre-selects the account).
    #[arg(long)]
    pub login_hint: Option<String>,
    /// Config file (default: `driftwatch.toml` when it exists); see docs/configuration.md.
    #[arg(long, value_name = "FILE", env = "DRIFTWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Credential store file (default: the platform data directory).
    #[arg(long, env = "DRIFTWATCH_CREDENTIALS")]
    pub credentials: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct TokensArgs {
    /// Suite files (default: every `*.yaml` in `suites/`).
    pub suites: Vec<PathBuf>,
    /// Config file (default: `driftwatch.toml` when it exists); see docs/configuration.md.
    #[arg(long, value_name = "FILE", env = "DRIFTWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Credential store file (default: the platform data directory).
    #[arg(long, env = "DRIFTWATCH_CREDENTIALS")]
    pub credentials: Option<PathBuf>,
    /// Mark refresh tokens that die within this window as `expiring` [default: the
    /// `expiry_window` setting, 7d].
    #[arg(long, value_parser = parse_window)]
    pub window: Option<std::time::Duration>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn parse_shard(s: &str) -> Result<crate::run::Shard, String> {
    s.parse().map_err(|e: crate::run::ShardError| e.to_string())
}

fn parse_window(s: &str) -> Result<std::time::Duration, String> {
    crate::suite::parse_duration(s)
        .ok_or_else(|| format!("invalid duration `{s}`: expected e.g. `30s`, `5m`, `12h`, `7d`"))
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Config file (default: `driftwatch.toml` when it exists); see docs/configuration.md.
    #[arg(long, value_name = "FILE", env = "DRIFTWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Baseline directory [default: snapshots].
    #[arg(long, env = "DRIFTWATCH_SNAPSHOTS")]
    pub snapshots: Option<PathBuf>,
    /// Only this provider's snapshots.
    #[arg(long)]
    pub provider: Option<String>,
    /// Only this probe's snapshots (metadata, token, permissions, refresh, schema, values,
    /// deprecation).
    #[arg(long)]
    pub probe: Option<String>,
    /// Only snapshots of this subject (endpoint id or probe subject).
    #[arg(long)]
    pub subject: Option<String>,
    /// Only snapshots for which the run (`--run`) found a drift of this rule.
    #[arg(long)]
    pub rule: Option<String>,
    /// The run whose drifts `--rule` and `review` use [default: `<reports>/latest/run.json`,
    /// `reports` from the settings chain; with `--from DIR`, `DIR/run.json`].
    #[arg(long)]
    pub run: Option<PathBuf>,
    // --- ci (issue 18 item 4): review what CI saw ---
    /// Take the pending snapshots a CI run (or `--update no`) kept in its report folder
    /// (`DIR/pending/`, e.g. `reports/<run-id>/` or a downloaded artifact) and accept them
    /// into the baseline directory; one whose baseline changed since that run is refused.
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    pub filter: BaselineArgs,
    /// Read answers from stdin even when it is not a terminal (scripted review).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The OpenAPI 3.0/3.1 document (YAML or JSON).
    #[arg(long, value_name = "SPEC")]
    pub from_openapi: PathBuf,
    /// Write the suite here instead of stdout; response schemas go beside it, one file per
    /// shared component under `schemas/<provider>/`.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Only these GET operations: a path glob (`/accounts/**`; `*` stays in one segment),
    /// `tag:NAME` or `operation:ID`. Repeatable; any match keeps the operation.
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Leave out these GET operations (same forms as --include; wins over it). Repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Overwrite `--output` (and its schema files) when it exists.
    #[arg(long)]
    pub force: bool,
    /// `base_url` of the suite instead of the document's first server (e.g. `${env:ACME_BASE_URL}`).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Provider name instead of one derived from `info.title`.
    #[arg(long)]
    pub name: Option<String>,
}
