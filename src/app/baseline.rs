//! `review`, `accept` and `reject`: deciding what becomes the baseline.

use super::{print_out, stdout_color};
use crate::baseline::{BaselineStore, Filter};
use crate::cli::{BaselineArgs, ReviewArgs};
use crate::context::Context;
use crate::error::{Error, exit};

/// The drifts of the run `--run` names; `None` when that file does not exist.
fn run_drifts(
    ctx: &Context,
    args: &BaselineArgs,
) -> Result<Option<Vec<crate::model::Drift>>, Error> {
    let path = ctx.resolve(&args.run);
    if !path.exists() {
        return Ok(None);
    }
    let run = crate::report::read_run(&path).map_err(|e| Error::Usage(e.to_string()))?;
    Ok(Some(run.drifts))
}

/// The selection the filter flags describe; `--rule` reads the run's drifts.
fn baseline_filter(
    ctx: &Context,
    store: &BaselineStore,
    args: &BaselineArgs,
    drifts: Option<&[crate::model::Drift]>,
) -> Result<Filter, Error> {
    let probe = match &args.probe {
        None => None,
        Some(p) => Some(
            serde_json::from_value(serde_json::Value::String(p.clone())).map_err(|_| {
                Error::Usage(format!(
                    "unknown probe `{p}` (expected metadata, token, permissions, refresh, schema, values or deprecation)"
                ))
            })?,
        ),
    };
    let keys = match (&args.rule, drifts) {
        (None, _) => None,
        (Some(rule), Some(drifts)) => {
            crate::baseline::review::check_rule(rule, drifts)
                .map_err(|e| Error::Usage(e.to_string()))?;
            Some(crate::baseline::review::keys_with_rule(
                store, drifts, rule,
            )?)
        }
        (Some(_), None) => {
            return Err(Error::Usage(format!(
                "--rule needs a finished run, but `{}` does not exist (pass --run FILE)",
                ctx.resolve(&args.run).display()
            )));
        }
    };
    Ok(Filter {
        provider: args.provider.clone(),
        probe,
        subject: args.subject.clone(),
        keys,
    })
}

pub(super) fn cmd_review(ctx: &Context, args: ReviewArgs) -> Result<i32, Error> {
    use std::io::IsTerminal;
    if !args.yes && !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "review is interactive and stdin is not a terminal: use `driftwatch accept`/`reject` \
             (with --provider/--probe/--subject/--rule), or --yes to read answers from stdin"
                .into(),
        ));
    }
    let store = BaselineStore::new(ctx.resolve(&args.filter.snapshots));
    let drifts = run_drifts(ctx, &args.filter)?;
    let filter = baseline_filter(ctx, &store, &args.filter, drifts.as_deref())?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    crate::baseline::review::review(
        &store,
        &filter,
        drifts.as_deref().unwrap_or_default(),
        &mut input,
        &mut out,
        stdout_color(ctx),
    )
    .map_err(|e| match e {
        crate::baseline::review::ReviewError::Snapshot(e) => Error::Snapshot(e),
        crate::baseline::review::ReviewError::Terminal(e) => {
            Error::Runtime(format!("cannot talk to the terminal: {e}"))
        }
    })?;
    Ok(exit::OK)
}

pub(super) fn cmd_baseline(ctx: &Context, args: BaselineArgs, accept: bool) -> Result<i32, Error> {
    let store = BaselineStore::new(ctx.resolve(&args.snapshots));
    let drifts = if args.rule.is_some() {
        run_drifts(ctx, &args)?
    } else {
        None
    };
    let filter = baseline_filter(ctx, &store, &args, drifts.as_deref())?;
    let done = if accept {
        store.accept(&filter)?
    } else {
        store.reject(&filter)?
    };
    let verb = if accept { "accepted" } else { "rejected" };
    if done.is_empty() {
        print_out(&format!(
            "no pending snapshots under {}\n",
            args.snapshots.display()
        ));
    } else {
        let mut text = String::new();
        for p in &done {
            let shown = p.strip_prefix(&ctx.cwd).unwrap_or(p);
            text.push_str(&format!("{verb} {}\n", shown.display()));
        }
        text.push_str(&format!("{verb} {} snapshot(s)\n", done.len()));
        print_out(&text);
    }
    Ok(exit::OK)
}
