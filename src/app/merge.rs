//! `merge`: folds shard runs into one run, compares it with the baseline and
//! reports it exactly like `run` (same files, formats and exit codes).

use super::run::{check_pairs, publish_linked, suppressions_path};
use crate::cli::{MergeArgs, OutputArgs, Typed};
use crate::context::Context;
use crate::error::Error;
use crate::run::MergeOptions;

pub(super) async fn cmd_merge(ctx: &Context, args: MergeArgs, typed: &Typed) -> Result<i32, Error> {
    // A bad --format/--output pairing or config file must fail before anything is read.
    check_pairs(&args.output)?;
    let settings = super::config::merge_settings(ctx, &args, typed)?;
    let output = OutputArgs {
        formats: settings.formats.value.clone(),
        outputs: settings.outputs.value.clone(),
    };
    check_pairs(&output)?;
    let (update, warning) = settings.update.value.mode().effective(ctx.is_ci());
    if let Some(w) = warning {
        diag!("warning: {w}");
    }
    let previous = super::run::read_previous(ctx, args.identity.previous.as_deref())?;
    let opts = MergeOptions {
        runs: args.runs,
        snapshots: settings.snapshots.value.clone(),
        update,
        suppressions: suppressions_path(ctx, settings.suppressions.value.clone()),
        evidence: args.evidence,
    };
    let mut run = crate::run::merge(ctx, &opts)?;
    let overrides = super::run::recorded_overrides(ctx, &settings.severity, &run, true)?;
    super::run::apply_overrides(&overrides, &mut run);
    super::run::warn_evidence_kept(args.evidence, run.evidence_mode, "the shard runs keep");
    let (previous, lines) = super::run::carry_identity(ctx, &mut run, &settings, previous, None);
    let links = super::run::Links {
        lines: lines.as_deref(),
        ..super::run::Links::of(&settings)
    };
    let code = publish_linked(
        ctx,
        &run,
        &settings.reports.value,
        &output,
        settings.fail_on.value,
        links,
    )?;
    super::baseline::carry_pending(
        ctx,
        &run,
        &settings.snapshots.value,
        &settings.reports.value,
        update,
    )?;
    super::run::record_history(ctx, &run, &settings, code, previous.as_ref());
    super::run::send_webhook(&run, &settings, previous.as_ref(), args.allow_insecure_http).await;
    Ok(code)
}
