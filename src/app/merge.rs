//! `merge`: folds shard runs into one run, compares it with the baseline and
//! reports it exactly like `run` (same files, formats and exit codes).

use super::run::{check_pairs, publish, suppressions_path};
use crate::cli::MergeArgs;
use crate::context::Context;
use crate::error::Error;
use crate::run::MergeOptions;

pub(super) fn cmd_merge(ctx: &Context, args: MergeArgs) -> Result<i32, Error> {
    check_pairs(&args.output)?;
    let (update, warning) = args.update.mode().effective(ctx.is_ci());
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let opts = MergeOptions {
        runs: args.runs,
        snapshots: args.snapshots,
        update,
        suppressions: suppressions_path(ctx, args.suppressions),
    };
    let run = crate::run::merge(ctx, &opts)?;
    publish(ctx, &run, &args.reports, &args.output, args.fail_on)
}
