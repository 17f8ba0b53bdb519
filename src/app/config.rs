//! The settings chain for every command, and `driftwatch config`: finds and reads the
//! config file, takes from the command line only what was typed on it (clap's value
//! source), and lets [`crate::config::resolve`] layer defaults, file, environment and flags.
//! Each command builds its [`Flags`] here and reads only the settings it uses.

use super::print_out;
use crate::cli::{
    BaselineArgs, ConfigArgs, ConnectArgs, MergeArgs, ReportArgs, RunArgs, SettingsCommand,
    TokensArgs, Typed,
};
use crate::config::{Flags, Settings};
use crate::context::Context;
use crate::error::{Error, exit};
use std::path::PathBuf;

/// The effective settings for `flags`, with the config file `--config` names (if typed),
/// else `DRIFTWATCH_CONFIG`, else `driftwatch.toml` when it exists.
pub(super) fn settings(
    ctx: &Context,
    config: Option<PathBuf>,
    flags: &Flags,
) -> Result<Settings, Error> {
    let path = crate::config::locate(ctx, config.as_deref());
    let file = match &path {
        Some(p) => Some(crate::config::load(ctx, p)?),
        None => None,
    };
    Ok(crate::config::resolve(
        ctx,
        path.as_deref().zip(file.as_ref()),
        flags,
    )?)
}

/// The effective settings of `run` with these arguments.
pub(super) fn run_settings(ctx: &Context, args: &RunArgs, t: &Typed) -> Result<Settings, Error> {
    let flags = Flags {
        snapshots: t.flag("snapshots", args.snapshots.clone()),
        reports: t.flag("reports", args.reports.clone()),
        credentials: t.flag("credentials", args.credentials.clone()),
        credential_helper: t.flag("credential_helper", args.store.credential_helper.clone()),
        fail_on: t.flag("fail_on", args.fail_on),
        expiry_window: t.flag("expiry_window", args.expiry_window),
        suppressions: t.flag("suppressions", args.suppressions.clone()),
        update: t.flag("update", args.update),
        evidence: t.flag("evidence", args.evidence),
        formats: t.list("formats", args.output.formats.clone()),
        outputs: t.list("outputs", args.output.outputs.clone()),
        webhook: t.flag("webhook", args.notify.webhook.clone()),
        webhook_on: t.flag("webhook_on", args.notify.webhook_on),
        history: t.flag("history", args.identity.history.clone()),
        no_history: t
            .flag("no_history", Some(args.identity.no_history))
            .unwrap_or(false),
        report_url: t.flag("report_url", args.identity.report_url.clone()),
    };
    settings(ctx, t.flag("config", args.config.clone()), &flags)
}

/// `merge`: baseline, reports, threshold, suppressions, update mode and formats.
pub(super) fn merge_settings(
    ctx: &Context,
    args: &MergeArgs,
    t: &Typed,
) -> Result<Settings, Error> {
    let flags = Flags {
        snapshots: t.flag("snapshots", args.snapshots.clone()),
        reports: t.flag("reports", args.reports.clone()),
        fail_on: t.flag("fail_on", args.fail_on),
        suppressions: t.flag("suppressions", args.suppressions.clone()),
        update: t.flag("update", args.update),
        formats: t.list("formats", args.output.formats.clone()),
        outputs: t.list("outputs", args.output.outputs.clone()),
        history: t.flag("history", args.identity.history.clone()),
        no_history: t
            .flag("no_history", Some(args.identity.no_history))
            .unwrap_or(false),
        report_url: t.flag("report_url", args.identity.report_url.clone()),
        webhook: t.flag("webhook", args.notify.webhook.clone()),
        webhook_on: t.flag("webhook_on", args.notify.webhook_on),
        ..Flags::default()
    };
    settings(ctx, t.flag("config", args.config.clone()), &flags)
}

/// `report`: the JUnit threshold.
pub(super) fn report_settings(
    ctx: &Context,
    args: &ReportArgs,
    t: &Typed,
) -> Result<Settings, Error> {
    let flags = Flags {
        fail_on: t.flag("fail_on", args.fail_on),
        ..Flags::default()
    };
    settings(ctx, t.flag("config", args.config.clone()), &flags)
}

/// `accept`, `reject`, `review`: the baseline and the reports directory (for the
/// default `--run`).
pub(super) fn baseline_settings(
    ctx: &Context,
    args: &BaselineArgs,
    t: &Typed,
) -> Result<Settings, Error> {
    let flags = Flags {
        snapshots: t.flag("snapshots", args.snapshots.clone()),
        ..Flags::default()
    };
    settings(ctx, t.flag("config", args.config.clone()), &flags)
}

/// `connect`: the credential store and helper.
pub(super) fn connect_settings(
    ctx: &Context,
    args: &ConnectArgs,
    t: &Typed,
) -> Result<Settings, Error> {
    let flags = Flags {
        credentials: t.flag("credentials", args.credentials.clone()),
        credential_helper: t.flag("credential_helper", args.store.credential_helper.clone()),
        ..Flags::default()
    };
    settings(ctx, t.flag("config", args.config.clone()), &flags)
}

/// `tokens`: the credential store and helper, and the expiry window (`--window`).
pub(super) fn tokens_settings(
    ctx: &Context,
    args: &TokensArgs,
    t: &Typed,
) -> Result<Settings, Error> {
    let flags = Flags {
        credentials: t.flag("credentials", args.credentials.clone()),
        credential_helper: t.flag("credential_helper", args.store.credential_helper.clone()),
        expiry_window: t.flag("window", args.window),
        ..Flags::default()
    };
    settings(ctx, t.flag("config", args.config.clone()), &flags)
}

/// Prints every setting the chosen command reads, with the layer it came from.
pub(super) fn cmd_config(ctx: &Context, args: ConfigArgs, t: &Typed) -> Result<i32, Error> {
    let mut settings = run_settings(ctx, &args.run, t)?;
    // The suites' own `severity:` overrides, when there are suites to read.
    if matches!(args.command, SettingsCommand::Run | SettingsCommand::Merge) {
        let suites = if args.run.suites.is_empty() {
            super::default_suites(ctx).unwrap_or_default()
        } else {
            args.run.suites.clone()
        };
        settings
            .severity
            .extend(suite_overrides(ctx, &suites, crate::suite::LoadMode::Check)?.0);
    }
    print_out(&settings.render_only(keys_of(args.command)));
    Ok(exit::OK)
}

/// The keys of `driftwatch.toml` each command reads (in [`Settings::render`] order).
pub fn keys_of(command: SettingsCommand) -> &'static [&'static str] {
    match command {
        SettingsCommand::Run => &[
            "snapshots",
            "reports",
            "credentials",
            "credential_helper",
            "fail_on",
            "expiry_window",
            "suppressions",
            "update",
            "format",
            "output",
            "webhook.url",
            "webhook.on",
            "webhook.report_url",
            "history",
            "severity",
        ],
        SettingsCommand::Merge => &[
            "snapshots",
            "reports",
            "fail_on",
            "suppressions",
            "update",
            "format",
            "output",
            "webhook.url",
            "webhook.on",
            "webhook.report_url",
            "history",
            "severity",
        ],
        SettingsCommand::Report => &["fail_on", "webhook.report_url", "severity"],
        SettingsCommand::Accept | SettingsCommand::Reject | SettingsCommand::Review => {
            &["snapshots", "reports"]
        }
        SettingsCommand::Connect => &["credentials", "credential_helper"],
        SettingsCommand::Tokens => &["credentials", "credential_helper", "expiry_window"],
    }
}

/// The `severity:` overrides of the suites at `paths`, each for its suite's provider
/// (an unknown rule id there is a suite error, like any other). `mode` as the command
/// would load the suites anyway, so a bad suite reads the same wherever it is caught.
pub(super) fn suite_overrides(
    ctx: &Context,
    paths: &[PathBuf],
    mode: crate::suite::LoadMode,
) -> Result<crate::rules::SeverityOverrides, Error> {
    let mut loaded = Vec::new();
    for path in paths {
        loaded.push(crate::suite::load_suite(path, ctx, mode)?.suite);
    }
    Ok(overrides_of(paths, &loaded))
}

/// The `severity:` overrides of `suites`, loaded from `paths`, each for its suite's provider.
pub(super) fn overrides_of(
    paths: &[PathBuf],
    suites: &[crate::suite::Suite],
) -> crate::rules::SeverityOverrides {
    use crate::rules::{OverrideOrigin, SeverityOverride};
    let mut out = crate::rules::SeverityOverrides::default();
    for (path, suite) in paths.iter().zip(suites) {
        let provider = &suite.provider.name.value;
        out.extend(
            suite
                .severity
                .iter()
                .map(|(rule, severity)| SeverityOverride {
                    rule: *rule,
                    provider: Some(provider.clone()),
                    severity: *severity,
                    origin: OverrideOrigin::Suite(path.clone()),
                }),
        );
    }
    out
}
