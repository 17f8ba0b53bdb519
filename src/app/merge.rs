//! `merge`: folds shard runs into one run, compares it with the baseline and
//! reports it exactly like `run` (same files, formats and exit codes).

use super::run::{check_pairs, publish, suppressions_path, update_mode};
use crate::cli::MergeArgs;
use crate::context::Context;
use crate::error::Error;
use crate::run::MergeOptions;

pub(super) fn cmd_merge(ctx: &Context, args: MergeArgs) -> Result<i32, Error> {
    check_pairs(&args.output)?;
    let (update, warning) = update_mode(args.update).effective(ctx.is_ci());
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let opts = MergeOptions {
        runs: args.runs,
        snapshots: args.snapshots,
        update,
        suppressions: suppressions_path(ctx, args.suppressions),
        evidence: args.evidence,
    };
    let run = crate::run::merge(ctx, &opts)?;
    super::run::warn_evidence_kept(args.evidence, run.evidence_mode, "the shard runs keep");
    publish(ctx, &run, &args.reports, &args.output, args.fail_on)
}
