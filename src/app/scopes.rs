//! `driftwatch scopes`: why each requested scope is needed, read from a finished run. Sends no
//! request: the justification was computed by the run from its permission matrix.

use super::print_out;
use crate::cli::{ScopesArgs, ScopesFormat, Typed};
use crate::config::Flags;
use crate::context::Context;
use crate::error::{Error, exit};
use crate::probe::permissions::scopes::ProviderScopes;
use crate::report::scopes::{render_json, render_markdown, render_terminal};
use crate::run::Run;
use std::path::Path;

pub(super) fn cmd_scopes(ctx: &Context, args: ScopesArgs, typed: &Typed) -> Result<i32, Error> {
    let path = match &args.run {
        Some(p) => ctx.resolve(p),
        None => {
            let flags = Flags {
                reports: typed.flag("reports", args.reports.clone()),
                ..Flags::default()
            };
            let s =
                super::config::settings(ctx, typed.flag("config", args.config.clone()), &flags)?;
            ctx.resolve(s.reports.value.join("latest").join("run.json"))
        }
    };
    if !path.exists() {
        return Err(Error::Usage(format!(
            "no run at `{}`: run `driftwatch run` first (or pass `--run RUN.JSON`)",
            path.display()
        )));
    }
    let run = crate::report::read_run(&path).map_err(Error::RunFile)?;
    if run.shard.is_some() {
        return Err(Error::Usage(format!(
            "`{}` is a shard run, which compares nothing: run `driftwatch merge` on every \
             shard's run.json first",
            path.display()
        )));
    }
    let providers = select(&run, &args.suites)?;
    let text = match args.format {
        ScopesFormat::Json => render_json(&run, &providers),
        ScopesFormat::Markdown => render_markdown(&run, &providers),
        ScopesFormat::Terminal => render_terminal(&providers),
    };
    print_out(&text);
    // A provider of the run without a permission matrix has nothing to justify: say so.
    for s in &run.suites {
        let wanted = args.suites.is_empty() || args.suites.iter().any(|a| names(a, s));
        if wanted && !run.scopes.iter().any(|p| p.provider == s.provider) {
            diag!(
                "note: `{}` has no permission matrix in this run (no scope sets, or its \
                 permissions probe could not run): nothing to justify",
                s.provider
            );
        }
    }
    Ok(exit::OK)
}

/// Whether command-line argument `arg` names suite `s` of the run: its file as given to the
/// run, a path ending with that file, or its provider name.
fn names(arg: &Path, s: &crate::run::SuiteSummary) -> bool {
    let file = Path::new(&s.file);
    arg == file
        || arg.ends_with(file)
        || file.ends_with(arg)
        || arg.to_str() == Some(s.provider.as_str())
}

/// The justifications of the suites `args` name (every one when empty), in run order.
fn select<'r>(run: &'r Run, args: &[std::path::PathBuf]) -> Result<Vec<&'r ProviderScopes>, Error> {
    for a in args {
        if !run.suites.iter().any(|s| names(a, s)) {
            let known: Vec<String> = run
                .suites
                .iter()
                .map(|s| format!("`{}` ({})", s.file, s.provider))
                .collect();
            return Err(Error::Usage(format!(
                "`{}` is not a suite of this run; its suites: {}",
                a.display(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    Ok(run
        .scopes
        .iter()
        .filter(|p| {
            args.is_empty()
                || run
                    .suites
                    .iter()
                    .filter(|s| s.provider == p.provider)
                    .any(|s| args.iter().any(|a| names(a, s)))
        })
        .collect())
}
