//! `driftwatch config`, and the settings chain applied to `run`'s arguments:
//! finds and reads the config file, then lets [`crate::config::resolve`] layer it.

use super::print_out;
use crate::cli::RunArgs;
use crate::config::{Flags, Settings};
use crate::context::Context;
use crate::error::{Error, exit};

/// The effective settings of `run` with these arguments.
pub(super) fn run_settings(ctx: &Context, args: &RunArgs) -> Result<Settings, Error> {
    let path = crate::config::locate(ctx, args.config.as_deref());
    let file = match &path {
        Some(p) => Some(crate::config::load(ctx, p).map_err(|e| Error::Usage(e.to_string()))?),
        None => None,
    };
    let flags = Flags {
        snapshots: args.snapshots.clone(),
        reports: args.reports.clone(),
        credentials: args.credentials.clone(),
        credential_helper: args.store.credential_helper.clone(),
        fail_on: args.fail_on,
        expiry_window: args.expiry_window,
        suppressions: args.suppressions.clone(),
        update: args.update,
        evidence: args.evidence,
        formats: args.output.formats.clone(),
        outputs: args.output.outputs.clone(),
        webhook: args.webhook.clone(),
        webhook_on: args.webhook_on,
    };
    crate::config::resolve(ctx, path.as_deref().zip(file.as_ref()), &flags)
        .map_err(|e| Error::Usage(e.to_string()))
}

/// Prints every setting with the layer it came from.
pub(super) fn cmd_config(ctx: &Context, args: RunArgs) -> Result<i32, Error> {
    print_out(&run_settings(ctx, &args)?.render());
    Ok(exit::OK)
}
