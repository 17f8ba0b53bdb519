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
    let drifts = run_drifts(ctx, &at)?;
    let filter = baseline_filter(ctx, &store, &args.filter, &at, drifts.as_deref())?;
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
    crate::baseline::review::review(
        &store,
        &filter,
        drifts.as_deref().unwrap_or_default(),
        input,
        &mut out,
        stdout_color(ctx),
    )?;
    Ok(exit::OK)
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
