//! What each subcommand does: wires the CLI to the library and maps results
//! to exit codes. Output goes to stdout; diagnostics and progress to stderr.
//! One file per family of commands; this one dispatches and holds the small ones.

/// `eprintln!` that never panics: a closed stderr (`driftwatch run 2>&1 | head -1`) is
/// ignored, as ripgrep does, so the process still exits with the run's code.
macro_rules! diag {
    ($($arg:tt)*) => {
        $crate::app::diag_line(&format!($($arg)*))
    };
}

mod auth;
mod baseline;
mod completions;
mod config;
mod init;
mod merge;
mod run;
mod scopes;

pub(crate) use run::publish;
pub use run::run_exit_code;

use crate::cli::{Cli, Command, Typed};
use crate::context::Context;
use crate::error::{Error, exit};
use auth::{cmd_connect, cmd_tokens};
use baseline::{cmd_baseline, cmd_review};
use run::{cmd_report, cmd_run};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Runs `command` as a task on the runtime's worker threads and waits for it. Under
/// `block_on` alone the command's own future runs on the main thread, a third thread beside
/// the workers: every call it spawns and every answer it collects then crosses threads
/// (a wake-up, a futex, an eventfd write each). A panic in the command is resumed here.
fn on_workers<F>(runtime: &tokio::runtime::Runtime, command: F) -> Result<i32, Error>
where
    F: std::future::Future<Output = Result<i32, Error>> + Send + 'static,
{
    runtime.block_on(async move {
        match tokio::spawn(command).await {
            Ok(result) => result,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => Err(Error::Usage(format!("the command was cancelled: {e}"))),
            },
        }
    })
}

/// Runs one command; returns the process exit code. `typed` says which arguments were
/// typed on the command line (the rest came from clap defaults or the environment).
pub fn main(cli: Cli, typed: &Typed, ctx: Context) -> i32 {
    init_logging(&ctx);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            diag!("error: cannot start the async runtime: {e}");
            return exit::RUNTIME;
        }
    };
    let result = match cli.command {
        Command::Run(args) => {
            let (ctx, typed) = (ctx.clone(), typed.clone());
            on_workers(&runtime, async move { cmd_run(&ctx, args, &typed).await })
        }
        Command::Report(args) => cmd_report(&ctx, args, typed),
        Command::Merge(args) => {
            let (ctx, typed) = (ctx.clone(), typed.clone());
            on_workers(&runtime, async move {
                merge::cmd_merge(&ctx, args, &typed).await
            })
        }
        Command::Check { suites } => cmd_check(&ctx, &suites),
        Command::Schema => cmd_schema(),
        Command::Init(args) => init::cmd_init(&ctx, args),
        Command::Rules { json } => {
            print_out(&if json {
                crate::rules::render_json()
            } else {
                crate::rules::render_table()
            });
            Ok(exit::OK)
        }
        Command::Scopes(args) => scopes::cmd_scopes(&ctx, args, typed),
        Command::Accept(args) => cmd_baseline(&ctx, args, typed, true),
        Command::Reject(args) => cmd_baseline(&ctx, args, typed, false),
        Command::Review(args) => cmd_review(&ctx, args, typed),
        Command::Demo { dir, reports } => {
            let (ctx, color) = (ctx.clone(), stdout_color(&ctx));
            on_workers(&runtime, async move {
                crate::demo::run_demo(&ctx, dir, reports, color).await
            })
        }
        Command::Connect(args) => runtime.block_on(cmd_connect(&ctx, args, typed)),
        Command::Tokens(args) => runtime.block_on(cmd_tokens(&ctx, args, typed)),
        Command::Config(args) => config::cmd_config(&ctx, args, typed),
        Command::Completions { shell } => completions::cmd_completions(shell),
        Command::Man { dir } => completions::cmd_man(&ctx, dir.as_deref()),
        Command::Sim {
            port,
            profile,
            drift,
            latency_ms,
            rate_limit,
            access_token_ttl,
            withhold_refresh_after,
            refresh_ttl,
            whole_decimals,
            state,
        } => {
            let load = (std::time::Duration::from_millis(latency_ms), rate_limit);
            let trouble = SimTrouble {
                access_token_ttl,
                withhold_refresh_after,
                refresh_ttl,
                whole_decimals,
                state,
            };
            runtime.block_on(cmd_sim(&ctx, port, &profile, &drift, load, trouble))
        }
    };
    log_resource_usage();
    match result {
        Ok(code) => code,
        Err(e) => {
            // Rendered diagnostics (suite and config errors) carry their own `error:` label.
            let text = e.to_string();
            if text.starts_with("error:") {
                diag!("{text}");
            } else {
                diag!("error: {text}");
            }
            // Causes a message already quotes are not repeated.
            let mut shown = text;
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let cause = s.to_string();
                if !shown.contains(&cause) {
                    diag!("  caused by: {cause}");
                    shown.push_str(&cause);
                }
                source = s.source();
            }
            e.exit_code()
        }
    }
}

/// Logs the process's peak resident memory at debug level (Linux), so a run's
/// memory bound can be checked from outside: `DRIFTWATCH_LOG=debug`.
fn log_resource_usage() {
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        });
    if let Some(kib) = peak {
        tracing::debug!(peak_rss_kib = kib, "resource usage");
    }
}

fn init_logging(ctx: &Context) {
    let filter = ctx.var("DRIFTWATCH_LOG").unwrap_or("warn");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

/// Colour on stdout only on a terminal, and never with `NO_COLOR`.
pub fn stdout_color(ctx: &Context) -> bool {
    std::io::stdout().is_terminal() && !ctx.no_color() && ctx.var("TERM") != Some("dumb")
}

pub(crate) fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// Every `*.yaml`/`*.yml` directly in `suites/`, sorted. No `suites/` directory is a usage
/// error (exit 2), like a missing suite file: the command line has to name the suites.
pub(crate) fn default_suites(ctx: &Context) -> Result<Vec<PathBuf>, Error> {
    let dir = ctx.resolve("suites");
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "no suites given and no `suites/` directory in `{}`: pass suite files or create \
             `suites/<provider>.yaml` (`driftwatch init` writes one)",
            ctx.cwd.display()
        )));
    }
    let rd = std::fs::read_dir(&dir).map_err(|source| Error::Io {
        what: "cannot list suites in",
        path: dir.clone(),
        source,
    })?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .map(|p| PathBuf::from("suites").join(p.file_name().unwrap_or_default()))
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(Error::Usage(format!(
            "no suites given and none found in `{}`",
            dir.display()
        )));
    }
    Ok(v)
}

fn cmd_check(ctx: &Context, suites: &[PathBuf]) -> Result<i32, Error> {
    let report = crate::suite::check_files(
        suites,
        ctx,
        std::io::stderr().is_terminal() && !ctx.no_color(),
    );
    diag_text(&report.rendered);
    Ok(if report.errors > 0 {
        exit::USAGE
    } else {
        exit::OK
    })
}

fn cmd_schema() -> Result<i32, Error> {
    let schema = crate::suite::suite_json_schema();
    let text = serde_json::to_string_pretty(&schema)?;
    print_out(&format!("{text}\n"));
    Ok(exit::OK)
}

/// The `driftwatch sim` flags about token lifetimes and the trouble it plays.
struct SimTrouble {
    access_token_ttl: std::time::Duration,
    withhold_refresh_after: Option<std::time::Duration>,
    refresh_ttl: std::time::Duration,
    whole_decimals: Option<u64>,
    state: Option<std::path::PathBuf>,
}

/// `load` is the resource API's latency and rate limit.
async fn cmd_sim(
    ctx: &Context,
    port: u16,
    profile: &str,
    drift: &str,
    load: (std::time::Duration, Option<u32>),
    trouble: SimTrouble,
) -> Result<i32, Error> {
    let profile = profile
        .parse::<crate::sim::Profile>()
        .map_err(|_| Error::Usage(format!("unknown sim profile `{profile}`")))?;
    let version = drift
        .parse::<crate::sim::ApiVersion>()
        .map_err(|_| Error::Usage(format!("unknown sim drift `{drift}` (expected v1 or v2)")))?;
    let client_secret = ctx.var("SIM_CLIENT_SECRET").map(str::to_string);
    if trouble.state.is_some() && client_secret.is_none() {
        return Err(Error::Usage(
            "`driftwatch sim --state` needs SIM_CLIENT_SECRET, so that a restarted simulator \
             accepts the same client"
                .into(),
        ));
    }
    let opts = crate::sim::SimOptions {
        profile,
        version,
        client_secret,
        user_password: ctx.var("SIM_USER_PASSWORD").map(str::to_string),
        api_latency: load.0,
        rate_limit: load.1,
        access_token_ttl: trouble.access_token_ttl,
        withhold_refresh_after: trouble.withhold_refresh_after,
        withheld_refresh_ttl: trouble.refresh_ttl,
        whole_decimals: trouble.whole_decimals,
        state_file: trouble.state.map(|p| ctx.resolve(p)),
        ..crate::sim::SimOptions::default()
    };
    crate::sim::serve_forever(port, opts)
        .await
        .map_err(|e| Error::Runtime(format!("simulated provider: {e}")))?;
    Ok(exit::OK)
}

/// Writes one line to stderr, ignoring a closed pipe; see `diag!`.
pub(crate) fn diag_line(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Writes text as is to stderr, ignoring a closed pipe.
pub(crate) fn diag_text(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Writes to stdout, ignoring a closed pipe (`driftwatch run | head`).
pub fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_command_on_the_workers_runs_off_the_calling_thread_and_returns_its_result() {
        let caller = std::thread::current().id();
        let ran_on = std::sync::Arc::new(std::sync::Mutex::new(None));
        let seen = ran_on.clone();
        let result = on_workers(&runtime(), async move {
            *seen.lock().expect("lock") = Some(std::thread::current().id());
            Ok(7)
        });
        assert_eq!(result.expect("ok"), 7);
        let ran_on = ran_on.lock().expect("lock").expect("the command ran");
        assert_ne!(ran_on, caller);
    }

    #[test]
    fn a_command_error_comes_back_as_it_was() {
        let result = on_workers(&runtime(), async { Err(Error::Usage("bad flag".into())) });
        assert_eq!(result.expect_err("an error").to_string(), "bad flag");
    }

    #[test]
    fn a_panic_in_a_command_on_the_workers_is_resumed_in_the_caller() {
        let rt = runtime();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            on_workers(&rt, async { panic!("the command broke") })
        }));
        let payload = caught.expect_err("the panic reaches the caller");
        assert_eq!(
            payload.downcast_ref::<&str>().copied(),
            Some("the command broke")
        );
    }
}
