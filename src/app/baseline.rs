//! `review`, `accept` and `reject`: deciding what becomes the baseline.

use super::{print_out, stdout_color};
use crate::baseline::review::{Pending, refused_line};
use crate::baseline::{BaselineStore, Filter};
use crate::cli::{BaselineArgs, ReviewArgs, Typed};
use crate::context::Context;
use crate::error::{Error, exit};
use std::path::PathBuf;

/// Where `accept`, `reject` and `review` look: the baseline directory, the run whose
/// drifts they use (both from the settings chain) and the report folder of `--from`.
struct Places {
    snapshots: PathBuf,
    run: PathBuf,
    from: Option<PathBuf>,
}

fn places(ctx: &Context, args: &BaselineArgs, typed: &Typed) -> Result<Places, Error> {
    let s = super::config::baseline_settings(ctx, args, typed)?;
    if let Some(dir) = &args.from
        && !ctx.resolve(dir).is_dir()
    {
        return Err(Error::Usage(format!(
            "--from `{}` is not a directory (pass the report folder of a run: \
             `reports/<run-id>/` or the downloaded report artifact)",
            dir.display()
        )));
    }
    let run = match (&args.run, &args.from) {
        (Some(run), _) => run.clone(),
        (None, Some(dir)) => dir.join("run.json"),
        (None, None) => s.reports.value.join("latest").join("run.json"),
    };
    Ok(Places {
        snapshots: s.snapshots.value,
        run,
        from: args.from.clone(),
    })
}

/// Local `.snap.new` files, or those the `--from` report folder carried.
fn pending_of<'a>(ctx: &Context, store: &'a BaselineStore, at: &Places) -> Pending<'a> {
    match &at.from {
        Some(dir) => Pending::carried(store, &ctx.resolve(dir)),
        None => Pending::local(store),
    }
}

/// A run that writes no `.snap.new` under `snapshots/` (`update` is `no`: every CI run, or
/// `--update no`) keeps its pending snapshots in `<reports>/<run-id>/pending/` for
/// `review --from`/`accept --from`, and says so on stderr. A shard compares nothing: its
/// `merge` writes them. Shared by `run` and `merge`.
pub(super) fn carry_pending(
    ctx: &Context,
    run: &crate::run::Run,
    snapshots: &std::path::Path,
    reports: &std::path::Path,
    update: crate::baseline::UpdateMode,
) -> Result<(), Error> {
    if update != crate::baseline::UpdateMode::No || run.shard.is_some() {
        return Ok(());
    }
    let suite_of = |provider: &str| {
        run.suites
            .iter()
            .find(|s| s.provider == provider)
            .map(|s| s.file.as_str())
            .unwrap_or_default()
    };
    let observations: std::collections::BTreeMap<_, _> =
        run.observations.iter().map(|o| (&o.key, o)).collect();
    let carried: Vec<(&str, &crate::model::Observation)> = run
        .pending
        .iter()
        .filter(|p| p.awaits_review())
        .filter_map(|p| {
            let key = crate::model::ObservationKey {
                provider: p.provider.clone(),
                probe: p.probe,
                subject: p.subject.clone(),
                connection: p.connection.clone(),
            };
            observations.get(&key).map(|o| (suite_of(&p.provider), *o))
        })
        .collect();
    if carried.is_empty() {
        return Ok(());
    }
    let dir = reports.join(&run.run_id);
    let store = BaselineStore::new(ctx.resolve(snapshots));
    let n = crate::baseline::review::write_carried(&store, &ctx.resolve(&dir), carried)?;
    eprintln!(
        "pending: {} ({n} snapshot(s); review with `driftwatch review --from {}`)",
        dir.join(crate::baseline::review::CARRIED_DIR).display(),
        dir.display()
    );
    Ok(())
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
    pending: &Pending<'_>,
    args: &BaselineArgs,
    at: &Places,
    drifts: Option<&[crate::model::Drift]>,
) -> Result<Filter, Error> {
    const PROBES: [&str; 7] = [
        "metadata",
        "token",
        "permissions",
        "refresh",
        "schema",
        "values",
        "deprecation",
    ];
    let probe = match &args.probe {
        None => None,
        Some(p) => Some(
            serde_json::from_value(serde_json::Value::String(p.clone())).map_err(|_| {
                Error::Usage(format!(
                    "unknown probe `{p}`{} (expected metadata, token, permissions, refresh, \
                     schema, values or deprecation)",
                    hint(crate::suite::did_you_mean(p, PROBES))
                ))
            })?,
        ),
    };
    if let Some(p) = &args.provider {
        check_provider(p, &ctx.resolve(&at.snapshots), at, drifts)?;
    }
    let keys = match (&args.rule, drifts) {
        (None, _) => None,
        (Some(rule), Some(drifts)) => {
            crate::baseline::review::check_rule(rule, drifts)
                .map_err(|e| Error::Usage(e.to_string()))?;
            Some(crate::baseline::review::keys_with_rule(
                pending.source(),
                drifts,
                rule,
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

/// ` (did you mean `x`?)`, or nothing.
fn hint(best: Option<&str>) -> String {
    best.map(|b| format!(" (did you mean `{b}`?)"))
        .unwrap_or_default()
}

/// Issue 18: `--provider` must name a provider the baseline (accepted or pending snapshots,
/// `snapshots/<provider>/…`) or the run knows; a typo is a usage error with the closest
/// name, never "no pending snapshots".
fn check_provider(
    provider: &str,
    root: &std::path::Path,
    at: &Places,
    drifts: Option<&[crate::model::Drift]>,
) -> Result<(), Error> {
    let mut known: std::collections::BTreeSet<String> = drifts
        .unwrap_or_default()
        .iter()
        .map(|d| d.provider.clone())
        .collect();
    if let Ok(rd) = std::fs::read_dir(root) {
        known.extend(
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned)),
        );
    }
    if known.contains(provider) {
        return Ok(());
    }
    let listed = if known.is_empty() {
        "none".to_string()
    } else {
        known.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    Err(Error::Usage(format!(
        "unknown provider `{provider}`{}: `{}` has snapshots of {listed}",
        hint(crate::suite::did_you_mean(
            provider,
            known.iter().map(String::as_str)
        )),
        at.snapshots.display()
    )))
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
    let pending = pending_of(ctx, &store, &at);
    let drifts = run_drifts(ctx, &at)?;
    let filter = baseline_filter(ctx, &pending, &args.filter, &at, drifts.as_deref())?;
    let stdin = std::io::stdin();
    // On a terminal one key answers (no Enter), as in cargo-insta; a pipe gives lines.
    let mut keys;
    let mut lines;
    // (Both ends must be a terminal: console reads keys only where it can also echo them.)
    let input: &mut dyn std::io::BufRead =
        if stdin.is_terminal() && console::Term::stdout().is_term() {
            keys = KeyInput::default();
            &mut keys
        } else {
            lines = stdin.lock();
            &mut lines
        };
    let mut out = std::io::stdout().lock();
    let summary = crate::baseline::review::review(
        &pending,
        &filter,
        drifts.as_deref().unwrap_or_default(),
        input,
        &mut out,
        stdout_color(ctx),
    )?;
    Ok(refused_exit(summary.refused))
}

/// Exit 1 when a carried snapshot was refused (its baseline changed since the run): the
/// review is not complete, and a script must not take it for done.
fn refused_exit(refused: usize) -> i32 {
    if refused > 0 { exit::DRIFT } else { exit::OK }
}

/// Answers read one key at a time from the terminal in raw mode, each handed on as a line
/// (`a` → `"a\n"`), so the review reads keys and piped lines alike. The key is echoed; Ctrl-C,
/// Ctrl-D and Escape end the input (the review counts that as quit).
#[derive(Default)]
struct KeyInput {
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl std::io::Read for KeyInput {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        use std::io::BufRead;
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl std::io::BufRead for KeyInput {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        use console::Key;
        if self.pos >= self.buf.len() && !self.done {
            let term = console::Term::stdout();
            let line = match term.read_key_raw()? {
                Key::Char('\u{4}') | Key::CtrlC | Key::Escape | Key::Unknown => None,
                Key::Char(c) => Some(c.to_string()),
                Key::Enter => Some(String::new()),
                _ => Some("?".to_string()),
            };
            match line {
                Some(l) => {
                    let _ = term.write_line(&l);
                    self.buf = format!("{l}\n").into_bytes();
                }
                None => {
                    self.done = true;
                    self.buf.clear();
                }
            }
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
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
    let pending = pending_of(ctx, &store, &at);
    let filter = baseline_filter(ctx, &pending, &args, &at, drifts.as_deref())?;
    let (done, refused) = match &at.from {
        None if accept => (store.accept(&filter)?, 0),
        None => (store.reject(&filter)?, 0),
        Some(_) => decide_carried(&pending, &filter, accept)?,
    };
    let verb = if accept { "accepted" } else { "rejected" };
    if done.is_empty() && refused == 0 {
        let root = match &at.from {
            Some(dir) => dir.join(crate::baseline::review::CARRIED_DIR),
            None => at.snapshots.clone(),
        };
        print_out(&format!("no pending snapshots under {}\n", root.display()));
    } else {
        let mut text = String::new();
        for p in &done {
            let shown = p.strip_prefix(&ctx.cwd).unwrap_or(p);
            text.push_str(&format!("{verb} {}\n", shown.display()));
        }
        text.push_str(&format!("{verb} {} snapshot(s)\n", done.len()));
        print_out(&text);
    }
    Ok(refused_exit(refused))
}

/// `accept --from`/`reject --from`: every carried snapshot `filter` selects. Accepting refuses
/// (on stderr) one whose baseline changed since the run; rejecting drops it from the report
/// folder whatever happened since. Returns the paths acted on and how many were refused.
fn decide_carried(
    pending: &Pending<'_>,
    filter: &Filter,
    accept: bool,
) -> Result<(Vec<PathBuf>, usize), Error> {
    let (mut done, mut refused) = (Vec::new(), 0);
    for (path, key) in pending.items(filter)? {
        if !accept {
            pending.reject(&path, &key)?;
            done.push(path);
            continue;
        }
        match pending.stale(&path, &key)? {
            Some(accepted) => {
                eprintln!("{}", refused_line(&key, &accepted));
                refused += 1;
            }
            None => done.push(pending.accept(&path, &key)?),
        }
    }
    Ok((done, refused))
}
