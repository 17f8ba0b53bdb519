//! `driftwatch.toml` and the settings chain of `run`: built-in defaults → suite
//! → config file → `DRIFTWATCH_*` environment → flags, each value tagged with
//! the layer that set it. Pure: reads the environment only through
//! [`Context`], and knows nothing about clap parsing or what a run does.

use crate::context::Context;
use crate::run::EvidenceMode;
use crate::settings::{FailOn, Format, Update, WebhookOn};
use crate::suite::{DiagSeverity, Diagnostic, Pos, did_you_mean};
use clap::ValueEnum;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The config file read from the working directory when no other is named.
pub const DEFAULT_CONFIG: &str = "driftwatch.toml";

/// A config file or `DRIFTWATCH_*` variable that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Already rendered: `file:line:col`, the line, a caret, and what was expected.
    #[error("{0}")]
    Invalid(String),
    #[error("invalid {var}=`{value}`: {expected}")]
    Env {
        var: &'static str,
        value: String,
        expected: String,
    },
}

/// `driftwatch.toml` as written. Every key is optional; unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub snapshots: Option<PathBuf>,
    pub reports: Option<PathBuf>,
    pub credentials: Option<PathBuf>,
    pub credential_helper: Option<String>,
    pub fail_on: Option<toml::Spanned<String>>,
    pub expiry_window: Option<toml::Spanned<String>>,
    pub suppressions: Option<PathBuf>,
    pub update: Option<toml::Spanned<String>>,
    pub evidence: Option<toml::Spanned<String>>,
    pub format: Option<Vec<toml::Spanned<String>>>,
    pub output: Option<Vec<PathBuf>>,
    /// Refused: only the command line may weaken transport security.
    pub allow_insecure_http: Option<toml::Spanned<bool>>,
    pub webhook: Option<WebhookFile>,
    /// `history = "path"`, or `history = false` to keep none.
    pub history: Option<HistoryFile>,
    /// `[severity]`: rule id → level for every provider, and `[severity.<provider>]` tables.
    pub severity: Option<std::collections::BTreeMap<String, toml::Spanned<SeverityEntry>>>,
}

/// `history` of `driftwatch.toml`: a path, or `false` (no history) / `true` (the default path).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HistoryFile {
    Enabled(bool),
    Path(PathBuf),
}

/// One entry of `[severity]`: a level for every provider, or a provider's own table.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SeverityEntry {
    Level(String),
    Provider(std::collections::BTreeMap<String, String>),
}

/// `[webhook]` of `driftwatch.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFile {
    pub url: Option<String>,
    pub on: Option<toml::Spanned<String>>,
    pub report_url: Option<String>,
}

/// Top-level keys, for "did you mean".
const KEYS: &[&str] = &[
    "snapshots",
    "reports",
    "credentials",
    "credential_helper",
    "fail_on",
    "expiry_window",
    "suppressions",
    "update",
    "evidence",
    "format",
    "output",
    "allow_insecure_http",
    "webhook",
    "history",
    "url",
    "on",
    "report_url",
    "severity",
];

/// Which layer of the chain set a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    /// The suite's own value (`auth.credential_helper`), applied per suite.
    Suite,
    ConfigFile,
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Suite => f.write_str("suite"),
            Source::ConfigFile => f.write_str("config file"),
            Source::Env(v) => write!(f, "env {v}"),
            Source::Flag(n) => write!(f, "flag {n}"),
        }
    }
}

/// A value and the layer it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// What was typed on the command line (`None`/empty: not typed). Values clap took from a
/// `DRIFTWATCH_*` variable or a default never arrive here: the caller keeps only
/// arguments whose clap value source is the command line ([`crate::cli::Typed`]).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub snapshots: Option<PathBuf>,
    pub reports: Option<PathBuf>,
    pub credentials: Option<PathBuf>,
    pub credential_helper: Option<String>,
    pub fail_on: Option<FailOn>,
    pub expiry_window: Option<Duration>,
    pub suppressions: Option<PathBuf>,
    pub update: Option<Update>,
    pub evidence: Option<EvidenceMode>,
    pub formats: Vec<Format>,
    pub outputs: Vec<PathBuf>,
    pub webhook: Option<String>,
    pub webhook_on: Option<WebhookOn>,
    /// `--history PATH`.
    pub history: Option<PathBuf>,
    /// `--no-history`.
    pub no_history: bool,
    /// `--report-url URL`.
    pub report_url: Option<String>,
}

/// The effective settings of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    pub snapshots: Setting<PathBuf>,
    pub reports: Setting<PathBuf>,
    /// `None`: the platform data directory.
    pub credentials: Setting<Option<PathBuf>>,
    /// `None`: each suite's `auth.credential_helper`, else the store file.
    pub credential_helper: Setting<Option<String>>,
    pub fail_on: Setting<FailOn>,
    pub expiry_window: Setting<Duration>,
    /// `None`: `driftwatch.ignore.yaml` when it exists.
    pub suppressions: Setting<Option<PathBuf>>,
    pub update: Setting<Update>,
    /// What run.json and every report keep of each recorded exchange.
    pub evidence: Setting<EvidenceMode>,
    /// Empty: terminal only.
    pub formats: Setting<Vec<Format>>,
    pub outputs: Setting<Vec<PathBuf>>,
    /// A secret (Slack URLs are bearer capabilities): print only [`mask_url`].
    pub webhook_url: Setting<Option<String>>,
    pub webhook_on: Setting<WebhookOn>,
    /// Link to the HTML report (`{run_id}` replaced): the webhook and the Markdown summary.
    pub webhook_report_url: Setting<Option<String>>,
    /// The history file (`None`: no history); by default `history.jsonl` in `reports`.
    pub history: Setting<Option<PathBuf>>,
    /// The config file's `[severity]` overrides (suites add their own per provider).
    pub severity: crate::rules::SeverityOverrides,
}

/// The config file to read: `explicit` (`--config`), else `DRIFTWATCH_CONFIG`, else
/// `driftwatch.toml` in the working directory when it exists (a FIFO or
/// device there is an error, not skipped). A named file must exist.
pub fn locate(ctx: &Context, explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(v) = ctx.var("DRIFTWATCH_CONFIG").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(v));
    }
    let default = PathBuf::from(DEFAULT_CONFIG);
    // Anything there is read (and a device or directory refused), never silently skipped.
    ctx.resolve(&default).exists().then_some(default)
}

/// Reads and parses a config file (`path` as the user named it, resolved against `ctx`).
pub fn load(ctx: &Context, path: &Path) -> Result<ConfigFile, ConfigError> {
    let source =
        crate::bounded::read_bounded_string(&ctx.resolve(path), crate::bounded::CONFIG_LIMIT)
            .map_err(|source| ConfigError::Io {
                path: path.to_path_buf(),
                source,
            })?;
    parse(path, &source)
}

/// Parses config text; `path` only names the file in messages.
pub fn parse(path: &Path, source: &str) -> Result<ConfigFile, ConfigError> {
    let file: ConfigFile = toml::from_str(source).map_err(|e| {
        let message = mask_urls(e.message().trim());
        let unknown = unknown_field(&message);
        let help = unknown
            .and_then(|w| did_you_mean(w, KEYS.iter().copied()))
            .map(|b| format!("did you mean `{b}`?"));
        let label = if unknown.is_some() {
            "not a setting"
        } else {
            "here"
        };
        invalid(path, source, e.span(), message, label, help)
    })?;
    if let Some(v) = &file.allow_insecure_http {
        return Err(invalid(
            path,
            source,
            Some(v.span()),
            "`allow_insecure_http` is not accepted in a config file".into(),
            "only the `--allow-insecure-http` flag may allow plain http",
            None,
        ));
    }
    // Enum and duration values are checked now, so a typo fails before any request.
    check_value::<FailOn>(path, source, file.fail_on.as_ref())?;
    check_value::<Update>(path, source, file.update.as_ref())?;
    check_value::<EvidenceMode>(path, source, file.evidence.as_ref())?;
    for f in file.format.iter().flatten() {
        check_value::<Format>(path, source, Some(f))?;
    }
    if let Some(w) = &file.webhook {
        check_value::<WebhookOn>(path, source, w.on.as_ref())?;
    }
    severity_overrides(path, source, &file)?;
    if let Some(v) = &file.expiry_window
        && crate::suite::parse_duration(v.get_ref()).is_none()
    {
        return Err(invalid(
            path,
            source,
            Some(v.span()),
            format!("invalid duration `{}`", v.get_ref()),
            "expected e.g. `30s`, `5m`, `12h`, `7d`",
            None,
        ));
    }
    Ok(file)
}

/// The `[severity]` overrides of a parsed config file, each rule id and level checked (an
/// unknown rule is an error with the closest catalogued id).
pub fn severity_overrides(
    path: &Path,
    source: &str,
    file: &ConfigFile,
) -> Result<crate::rules::SeverityOverrides, ConfigError> {
    use crate::rules::{OverrideOrigin, SeverityOverride, parse_override};
    let mut out = Vec::new();
    let entry = |rule: &str,
                 level: &str,
                 provider: Option<&str>,
                 span: std::ops::Range<usize>|
     -> Result<SeverityOverride, ConfigError> {
        let (rule, severity) = parse_override(rule, level).map_err(|e| {
            let label = match &e {
                crate::rules::OverrideError::UnknownRule { .. } => "not a rule id",
                crate::rules::OverrideError::Level { .. } => "expected breaking, warning or info",
            };
            invalid(path, source, Some(span.clone()), e.to_string(), label, None)
        })?;
        Ok(SeverityOverride {
            rule,
            provider: provider.map(str::to_owned),
            severity,
            origin: if provider.is_some() {
                OverrideOrigin::ConfigFileProvider
            } else {
                OverrideOrigin::ConfigFile
            },
        })
    };
    for (key, value) in file.severity.iter().flatten() {
        match value.get_ref() {
            SeverityEntry::Level(level) => out.push(entry(key, level, None, value.span())?),
            SeverityEntry::Provider(table) => {
                for (rule, level) in table {
                    out.push(entry(rule, level, Some(key), value.span())?);
                }
            }
        }
    }
    Ok(crate::rules::SeverityOverrides(out))
}

fn check_value<T: ValueEnum>(
    path: &Path,
    source: &str,
    v: Option<&toml::Spanned<String>>,
) -> Result<(), ConfigError> {
    let Some(v) = v else { return Ok(()) };
    if T::from_str(v.get_ref(), false).is_ok() {
        return Ok(());
    }
    let names = value_names::<T>();
    let help = did_you_mean(v.get_ref(), names.iter().map(String::as_str))
        .map(|b| format!("did you mean `{b}`?"));
    Err(invalid(
        path,
        source,
        Some(v.span()),
        format!("invalid value `{}`", v.get_ref()),
        &format!("expected one of {}", names.join(", ")),
        help,
    ))
}

fn value_names<T: ValueEnum>() -> Vec<String> {
    T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|p| p.get_name().to_string())
        .collect()
}

fn parse_value<T: ValueEnum>(s: &str) -> Option<T> {
    T::from_str(s, false).ok()
}

/// Renders an error at `span` the way suite errors are rendered, URLs masked.
fn invalid(
    path: &Path,
    source: &str,
    span: Option<std::ops::Range<usize>>,
    message: String,
    label: &str,
    help: Option<String>,
) -> ConfigError {
    let pos = span.map(|s| position(source, s.start)).unwrap_or_default();
    let d = Diagnostic {
        severity: DiagSeverity::Error,
        file: path.to_path_buf(),
        pos,
        message,
        label: label.to_string(),
        help,
    };
    // The caller prints `error: ` before every top-level error.
    let text = d.render(&mask_urls(source), false);
    let text = text.trim_end();
    ConfigError::Invalid(text.strip_prefix("error: ").unwrap_or(text).to_string())
}

/// 1-based line and column (in characters) of byte `offset`.
fn position(source: &str, offset: usize) -> Pos {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos {
        line: line as u32,
        column: column as u32,
    }
}

/// The key of toml's "unknown field `x`, expected …" message.
fn unknown_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
}

/// `scheme://host` of a URL: webhook URLs are bearer capabilities, so messages
/// never show their path or query.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.host_str() {
            Some(h) => match u.port() {
                Some(p) => format!("{}://{h}:{p}/…", u.scheme()),
                None => format!("{}://{h}/…", u.scheme()),
            },
            None => format!("{}:…", u.scheme()),
        },
        Err(_) => "(invalid url)".into(),
    }
}

/// Masks the path and query of every `scheme://…` in `text` (config lines quoted
/// in errors may hold a webhook URL).
fn mask_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`'))
            .unwrap_or(tail.len());
        let url = &tail[..end];
        match url.find('/') {
            Some(slash) if slash + 1 < url.len() => {
                out.push_str(&url[..slash]);
                out.push_str("/…");
            }
            _ => out.push_str(url),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Reads `var` through the context and parses it.
fn env<T>(
    ctx: &Context,
    var: &'static str,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<(T, &'static str)>, ConfigError> {
    match ctx.var(var).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse(v)
            .map(|t| Some((t, var)))
            .ok_or_else(|| ConfigError::Env {
                var,
                value: v.to_string(),
                expected: expected.to_string(),
            }),
    }
}

/// One link of the chain: the highest layer that has a value wins. `flag` holds only
/// what was typed on the command line ([`crate::cli::Typed`]), so a value clap took
/// from `DRIFTWATCH_*` is never mistaken for a flag.
fn layer<T: Clone + PartialEq>(
    default: T,
    file: Option<T>,
    env: Option<(T, &'static str)>,
    flag: Option<(T, &'static str)>,
) -> Setting<T> {
    let mut s = Setting {
        value: default,
        source: Source::Default,
    };
    if let Some(v) = file {
        s = Setting {
            value: v,
            source: Source::ConfigFile,
        };
    }
    if let Some((v, var)) = &env {
        s = Setting {
            value: v.clone(),
            source: Source::Env(var),
        };
    }
    if let Some((v, name)) = flag {
        s = Setting {
            value: v,
            source: Source::Flag(name),
        };
    }
    s
}

/// [`layer`] for optional values: `None` stays `None` at every level.
fn layer_opt<T: Clone + PartialEq>(
    file: Option<T>,
    env: Option<(T, &'static str)>,
    flag: Option<(T, &'static str)>,
) -> Setting<Option<T>> {
    layer(
        None,
        file.map(Some),
        env.map(|(v, n)| (Some(v), n)),
        flag.map(|(v, n)| (Some(v), n)),
    )
}

fn path(s: &str) -> Option<PathBuf> {
    Some(PathBuf::from(s))
}

fn string(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// Applies the chain. `file` is the parsed config file and where it was found.
pub fn resolve(
    ctx: &Context,
    file: Option<(&Path, &ConfigFile)>,
    flags: &Flags,
) -> Result<Settings, ConfigError> {
    let empty = ConfigFile::default();
    let (file_path, c) = match file {
        Some((p, c)) => (Some(p.to_path_buf()), c),
        None => (None, &empty),
    };
    let w = c.webhook.as_ref();
    let spanned = |v: &Option<toml::Spanned<String>>| v.as_ref().map(|s| s.get_ref().clone());
    let enum_names = |names: Vec<String>| format!("expected one of {}", names.join(", "));
    let window = "expected e.g. `30s`, `5m`, `12h`, `7d`";
    let reports = layer(
        PathBuf::from("reports"),
        c.reports.clone(),
        env(ctx, "DRIFTWATCH_REPORTS", path, "a directory")?,
        flags.reports.clone().map(|v| (v, "--reports")),
    );
    let default_history = reports
        .value
        .join(crate::run::history::DEFAULT_HISTORY_FILE);
    let history = layer(
        Some(default_history.clone()),
        c.history.as_ref().map(|h| match h {
            HistoryFile::Enabled(true) => Some(default_history.clone()),
            HistoryFile::Enabled(false) => None,
            HistoryFile::Path(p) => Some(p.clone()),
        }),
        env(ctx, "DRIFTWATCH_HISTORY", history_env, "a file, or `false`")?,
        if flags.no_history {
            Some((None, "--no-history"))
        } else {
            flags.history.clone().map(|v| (Some(v), "--history"))
        },
    );
    Ok(Settings {
        file: file_path,
        snapshots: layer(
            PathBuf::from("snapshots"),
            c.snapshots.clone(),
            env(ctx, "DRIFTWATCH_SNAPSHOTS", path, "a directory")?,
            flags.snapshots.clone().map(|v| (v, "--snapshots")),
        ),
        reports,
        credentials: layer_opt(
            c.credentials.clone(),
            env(ctx, "DRIFTWATCH_CREDENTIALS", path, "a file")?,
            flags.credentials.clone().map(|v| (v, "--credentials")),
        ),
        credential_helper: layer_opt(
            c.credential_helper.clone(),
            env(ctx, "DRIFTWATCH_CREDENTIAL_HELPER", string, "a command")?,
            flags
                .credential_helper
                .clone()
                .map(|v| (v, "--credential-helper")),
        ),
        fail_on: layer(
            FailOn::Breaking,
            spanned(&c.fail_on).and_then(|s| parse_value(&s)),
            env(
                ctx,
                "DRIFTWATCH_FAIL_ON",
                parse_value,
                &enum_names(value_names::<FailOn>()),
            )?,
            flags.fail_on.map(|v| (v, "--fail-on")),
        ),
        expiry_window: layer(
            Duration::from_secs(7 * 86_400),
            spanned(&c.expiry_window).and_then(|s| crate::suite::parse_duration(&s)),
            env(
                ctx,
                "DRIFTWATCH_EXPIRY_WINDOW",
                crate::suite::parse_duration,
                window,
            )?,
            flags.expiry_window.map(|v| (v, "--expiry-window")),
        ),
        suppressions: layer_opt(
            c.suppressions.clone(),
            env(ctx, "DRIFTWATCH_SUPPRESSIONS", path, "a file")?,
            flags.suppressions.clone().map(|v| (v, "--suppressions")),
        ),
        update: layer(
            Update::Auto,
            spanned(&c.update).and_then(|s| parse_value(&s)),
            env(
                ctx,
                "DRIFTWATCH_UPDATE",
                parse_value,
                &enum_names(value_names::<Update>()),
            )?,
            flags.update.map(|v| (v, "--update")),
        ),
        evidence: layer(
            EvidenceMode::Full,
            spanned(&c.evidence).and_then(|s| parse_value(&s)),
            env(
                ctx,
                "DRIFTWATCH_EVIDENCE",
                parse_value,
                &enum_names(value_names::<EvidenceMode>()),
            )?,
            flags.evidence.map(|v| (v, "--evidence")),
        ),
        formats: layer(
            Vec::new(),
            c.format
                .as_ref()
                .map(|v| v.iter().filter_map(|s| parse_value(s.get_ref())).collect()),
            None,
            (!flags.formats.is_empty()).then(|| (flags.formats.clone(), "--format")),
        ),
        outputs: layer(
            Vec::new(),
            c.output.clone(),
            None,
            (!flags.outputs.is_empty()).then(|| (flags.outputs.clone(), "--output")),
        ),
        webhook_url: layer_opt(
            w.and_then(|w| w.url.clone()),
            env(ctx, "DRIFTWATCH_WEBHOOK", string, "a URL")?,
            flags.webhook.clone().map(|v| (v, "--webhook")),
        ),
        webhook_on: layer(
            WebhookOn::New,
            w.and_then(|w| spanned(&w.on)).and_then(|s| parse_value(&s)),
            env(
                ctx,
                "DRIFTWATCH_WEBHOOK_ON",
                parse_value,
                &enum_names(value_names::<WebhookOn>()),
            )?,
            flags.webhook_on.map(|v| (v, "--webhook-on")),
        ),
        webhook_report_url: layer_opt(
            w.and_then(|w| w.report_url.clone()),
            env(ctx, "DRIFTWATCH_REPORT_URL", string, "a URL")?,
            flags.report_url.clone().map(|v| (v, "--report-url")),
        ),
        history,
        severity: match file {
            Some((p, c)) => severity_overrides(p, "", c)?,
            None => crate::rules::SeverityOverrides::default(),
        },
    })
}

/// `DRIFTWATCH_HISTORY`: a path, or `false`/`off`/`no` for no history.
fn history_env(s: &str) -> Option<Option<PathBuf>> {
    match s {
        "false" | "off" | "no" | "0" => Some(None),
        p => Some(Some(PathBuf::from(p))),
    }
}

#[path = "config_render.rs"]
mod render;

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
