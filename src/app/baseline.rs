//! `review`, `accept` and `reject`: deciding what becomes the baseline.

use super::{print_out, stdout_color};
use crate::baseline::{BaselineStore, Filter};
use crate::cli::{BaselineArgs, ReviewArgs, Typed};
use crate::context::Context;
use crate::error::{Error, exit};
use std::path::PathBuf;

/// Where `accept`, `reject` and `review` look: the baseline directory and the run
/// whose drifts they use, both from the settings chain.
struct Places {
    snapshots: PathBuf,
    run: PathBuf,
}

fn places(ctx: &Context, args: &BaselineArgs, typed: &Typed) -> Result<Places, Error> {
    let s = super::config::baseline_settings(ctx, args, typed)?;
    Ok(Places {
        snapshots: s.snapshots.value,
        run: args
            .run
            .clone()
            .unwrap_or_else(|| s.reports.value.join("latest").join("run.json")),
    })
}

/// The drifts of the run `--run` names; `None` when that file does not exist.
fn run_drifts(ctx: &Context, at: &Places) -> Result<Option<Vec<crate::model::Drift>>, Error> {
    let path = ctx.resolve(&at.run);
    if !path.exists() {
        return Ok(None);
    }
    let run = crate::report::read_run(&path).map_err(Error::RunFile)?;
    Ok(Some(run.drifts))
}

/// The selection the filter flags describe; `--rule` reads the run's drifts.
fn baseline_filter(
    ctx: &Context,
    store: &BaselineStore,
    args: &BaselineArgs,
    at: &Places,
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
                ctx.resolve(&at.run).display()
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

pub(super) fn cmd_review(ctx: &Context, args: ReviewArgs, typed: &Typed) -> Result<i32, Error> {
    use std::io::IsTerminal;
    if !args.yes && !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "review is interactive and stdin is not a terminal: use `driftwatch accept`/`reject` \
             (with --provider/--probe/--subject/--rule), or --yes to read answers from stdin"
                .into(),
        ));
    }
    let at = places(ctx, &args.filter, typed)?;
    let store = BaselineStore::new(ctx.resolve(&at.snapshots));
    let drifts = run_drifts(ctx, &at)?;
    let filter = baseline_filter(ctx, &store, &args.filter, &at, drifts.as_deref())?;
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
    )?;
    Ok(exit::OK)
}

pub(super) fn cmd_baseline(
    ctx: &Context,
    args: BaselineArgs,
    typed: &Typed,
    accept: bool,
) -> Result<i32, Error> {
    let at = places(ctx, &args, typed)?;
    let store = BaselineStore::new(ctx.resolve(&at.snapshots));
    let drifts = if args.rule.is_some() {
        run_drifts(ctx, &at)?
    } else {
        None
    };
    let filter = baseline_filter(ctx, &store, &args, &at, drifts.as_deref())?;
    let done = if accept {
        store.accept(&filter)?
    } else {
        store.reject(&filter)?
    };
    let verb = if accept { "accepted" } else { "rejected" };
    if done.is_empty() {
        print_out(&format!(
            "no pending snapshots under {}\n",
            at.snapshots.display()
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
