//! What each subcommand does: wires the CLI to the library and maps results
//! to exit codes. Output goes to stdout; diagnostics and progress to stderr.

use crate::auth::CredentialStore;
use crate::baseline::{BaselineStore, Filter, UpdateMode};
use crate::cli::{
    BaselineArgs, Cli, Command, ConnectArgs, FailOn, Format, OutputArgs, ReportArgs, ReviewArgs,
    RunArgs, TokensArgs, Update,
};
use crate::context::Context;
use crate::error::{Error, exit};
use crate::run::{Event, RunOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Runs one command; returns the process exit code.
pub fn main(cli: Cli, ctx: Context) -> i32 {
    init_logging(&ctx);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::RUNTIME;
        }
    };
    let result = match cli.command {
        Command::Run(args) => runtime.block_on(cmd_run(&ctx, args)),
        Command::Report(args) => cmd_report(&ctx, args),
        Command::Check { suites } => cmd_check(&ctx, &suites),
        Command::Schema => cmd_schema(),
        Command::Rules { json } => {
            print_out(&if json {
                crate::rules::render_json()
            } else {
                crate::rules::render_table()
            });
            Ok(exit::OK)
        }
        Command::Accept(args) => cmd_baseline(&ctx, args, true),
        Command::Reject(args) => cmd_baseline(&ctx, args, false),
        Command::Review(args) => cmd_review(&ctx, args),
        Command::Demo { dir, reports } => runtime.block_on(crate::demo::run_demo(
            &ctx,
            dir,
            ctx.resolve(reports),
            stdout_color(&ctx),
        )),
        Command::Connect(args) => runtime.block_on(cmd_connect(&ctx, args)),
        Command::Tokens(args) => runtime.block_on(cmd_tokens(&ctx, args)),
        Command::Sim {
            port,
            profile,
            drift,
        } => runtime.block_on(cmd_sim(&ctx, port, &profile, &drift)),
    };
    log_resource_usage();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
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

fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// Every `*.yaml`/`*.yml` directly in `suites/`, sorted.
fn default_suites(ctx: &Context) -> Result<Vec<PathBuf>, Error> {
    let dir = ctx.resolve("suites");
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

async fn cmd_run(ctx: &Context, args: RunArgs) -> Result<i32, Error> {
    // A bad --format/--output pairing must fail before any request is sent.
    check_pairs(&args.output)?;
    let suites = if args.suites.is_empty() {
        default_suites(ctx)?
    } else {
        args.suites.clone()
    };
    let credentials = credentials_path(args.credentials)?;
    let (update, warning) = update_mode(args.update).effective(ctx.is_ci());
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let opts = RunOptions {
        suites,
        snapshots: args.snapshots,
        reports: args.reports,
        credentials,
        credential_helper: args.store.credential_helper.clone(),
        allow_insecure_http: args.allow_insecure_http,
        update,
        expiry_window: args.expiry_window,
        suppressions: suppressions_path(ctx, args.suppressions),
    };
    // A progress bar on a terminal only; CI logs stay clean.
    let bar = stderr_is_tty().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg:20} [{bar:30}] {pos}/{len} calls",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    });
    let events = bar.clone();
    // Endpoints of the suite in progress: a failed connection takes its calls off the bar.
    let suite_endpoints = std::sync::atomic::AtomicU64::new(0);
    let on_event = move |e: Event| {
        use std::sync::atomic::Ordering;
        let Some(bar) = &events else { return };
        match e {
            Event::SuiteStarted {
                provider,
                connections,
                endpoints,
            } => {
                suite_endpoints.store(endpoints as u64, Ordering::Relaxed);
                bar.inc_length((connections * endpoints) as u64);
                bar.set_message(provider);
            }
            Event::EndpointProbed { .. } => bar.inc(1),
            Event::ConnectionFailed {
                connection,
                message,
                ..
            } => {
                bar.dec_length(suite_endpoints.load(Ordering::Relaxed));
                bar.println(format!("{connection}: {message}"));
            }
            Event::SuiteFinished { .. } => {}
        }
    };
    let result = crate::run::execute(ctx, &opts, &on_event).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let run = result?;
    let path = crate::report::write_run(&ctx.resolve(&opts.reports), &run)
        .map_err(|e| Error::Runtime(e.to_string()))?;
    tracing::debug!(path = %path.display(), "run written");
    let dir = opts.reports.join(&run.run_id);
    let shown = dir.join("run.json");
    for t in targets(&args.output, Some(&dir))? {
        // run.json is already written; its default target would only repeat it.
        if t.format == Format::Json && t.path.as_deref() == Some(shown.as_path()) {
            continue;
        }
        emit(ctx, &run, &t, args.fail_on, Some(&shown))?;
    }
    if ctx.var("GITHUB_ACTIONS") == Some("true") {
        print_out(&crate::report::github::render(&run));
    }
    Ok(run_exit_code(&run, args.fail_on))
}

/// `driftwatch report run.json --format …`: re-renders a finished run.
fn cmd_report(ctx: &Context, args: ReportArgs) -> Result<i32, Error> {
    check_pairs(&args.output)?;
    let run = crate::report::read_run(&ctx.resolve(&args.run))
        .map_err(|e| Error::Usage(e.to_string()))?;
    for t in targets(&args.output, None)? {
        emit(ctx, &run, &t, args.fail_on, Some(&args.run))?;
    }
    Ok(exit::OK)
}

/// One report to produce: a format and its file (`None` = stdout).
#[derive(Debug, PartialEq)]
struct Target {
    format: Format,
    path: Option<PathBuf>,
}

fn check_pairs(args: &OutputArgs) -> Result<(), Error> {
    let formats = args.formats.len().max(1);
    if args.outputs.len() > formats {
        return Err(Error::Usage(format!(
            "{} --output for {} --format: each --output pairs with the --format at the same position",
            args.outputs.len(),
            formats
        )));
    }
    Ok(())
}

/// Pairs formats with outputs by position. Unpaired formats go to stdout
/// (terminal, or everything when `default_dir` is `None`) or to
/// `default_dir/run.{json,xml,md}`.
fn targets(args: &OutputArgs, default_dir: Option<&Path>) -> Result<Vec<Target>, Error> {
    check_pairs(args)?;
    let formats = if args.formats.is_empty() {
        vec![Format::Terminal]
    } else {
        args.formats.clone()
    };
    Ok(formats
        .into_iter()
        .enumerate()
        .map(|(i, format)| {
            let path = match args.outputs.get(i) {
                Some(p) if p.as_os_str() == "-" => None,
                Some(p) => Some(p.clone()),
                None => match (format, default_dir) {
                    (Format::Terminal, _) | (_, None) => None,
                    (Format::Json, Some(d)) => Some(d.join("run.json")),
                    (Format::Junit, Some(d)) => Some(d.join("run.xml")),
                    (Format::Markdown, Some(d)) => Some(d.join("run.md")),
                },
            };
            Target { format, path }
        })
        .collect())
}

/// Renders one target and prints or writes it.
fn emit(
    ctx: &Context,
    run: &crate::run::Run,
    t: &Target,
    fail_on: FailOn,
    run_json: Option<&Path>,
) -> Result<(), Error> {
    use crate::report::{junit, markdown, terminal};
    let shown = run_json.map(|p| p.display().to_string());
    let text = match t.format {
        Format::Terminal => {
            terminal::render(run, t.path.is_none() && stdout_color(ctx), shown.as_deref())
        }
        Format::Json => {
            let mut text =
                serde_json::to_string_pretty(run).map_err(|e| Error::Runtime(e.to_string()))?;
            text.push('\n');
            text
        }
        Format::Junit => junit::render(run, fail_on.threshold()),
        Format::Markdown => markdown::render(run),
    };
    match &t.path {
        None => print_out(&text),
        Some(p) => {
            let full = ctx.resolve(p);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                    what: "cannot create",
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&full, text).map_err(|source| Error::Io {
                what: "cannot write",
                path: full.clone(),
                source,
            })?;
            eprintln!("{}: {}", format_name(t.format), p.display());
        }
    }
    Ok(())
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Terminal => "terminal",
        Format::Json => "json",
        Format::Junit => "junit",
        Format::Markdown => "markdown",
    }
}

fn credentials_path(given: Option<PathBuf>) -> Result<PathBuf, Error> {
    match given {
        Some(p) => Ok(p),
        None => CredentialStore::default_path().ok_or_else(|| {
            Error::Usage("no platform data directory; pass --credentials FILE".into())
        }),
    }
}

async fn cmd_connect(ctx: &Context, args: ConnectArgs) -> Result<i32, Error> {
    use crate::auth::connect::{self, ConnectOptions};
    let suite = crate::suite::load_suite(&args.suite, ctx, crate::suite::LoadMode::Run)?.suite;
    let conn = suite
        .connections
        .iter()
        .find(|c| c.id.value == args.connection)
        .ok_or_else(|| {
            let ids: Vec<&str> = suite
                .connections
                .iter()
                .map(|c| c.id.value.as_str())
                .collect();
            Error::Usage(format!(
                "suite `{}` has no connection `{}` (it has: {})",
                args.suite.display(),
                args.connection,
                ids.join(", ")
            ))
        })?;
    let store = crate::run::open_store(
        ctx,
        &suite,
        &ctx.resolve(credentials_path(args.credentials)?),
        args.store.credential_helper.as_deref(),
    )?;
    let (session, setup_error) = crate::run::ProviderSession::open(&suite, false, store).await?;
    if let Some(e) = setup_error {
        return Err(Error::Runtime(e));
    }
    let endpoints = connect::endpoints(&suite, &session.base, &session.tokens).await?;
    let opts = ConnectOptions {
        open_browser: !args.no_browser && !ctx.is_ci(),
        timeout: args.timeout,
        login_hint: args.login_hint.clone(),
    };
    let show = |line: &str| print_out(&format!("{line}\n"));
    if args.device {
        connect::device(&suite, &session.tokens, &endpoints, conn, &opts, &show).await?;
    } else {
        connect::authorization_code(&suite, &session.tokens, &endpoints, conn, &opts, &show)
            .await?;
    }
    Ok(exit::OK)
}

async fn cmd_tokens(ctx: &Context, args: TokensArgs) -> Result<i32, Error> {
    let suites = if args.suites.is_empty() {
        default_suites(ctx)?
    } else {
        args.suites.clone()
    };
    let path = ctx.resolve(credentials_path(args.credentials)?);
    let window = chrono::Duration::from_std(args.window).unwrap_or(chrono::Duration::days(7));
    let mut all = Vec::new();
    for file in &suites {
        let suite = crate::suite::load_suite(file, ctx, crate::suite::LoadMode::Check)?.suite;
        let store =
            crate::run::open_store(ctx, &suite, &path, args.store.credential_helper.as_deref())?;
        all.extend(crate::run::token_health(&suite, &store, window)?);
    }
    if args.json {
        let text = serde_json::to_string_pretty(&all).map_err(|e| Error::Runtime(e.to_string()))?;
        print_out(&format!("{text}\n"));
    } else {
        print_out(&crate::report::terminal::render_tokens(&all));
    }
    let unhealthy = all.iter().any(|h| {
        matches!(
            h.status.as_str(),
            "expired" | "refresh-in-flight" | "not-connected"
        )
    });
    Ok(if unhealthy { exit::RUNTIME } else { exit::OK })
}

/// The ignore file to use: the one given, else `driftwatch.ignore.yaml` when it exists.
fn suppressions_path(ctx: &Context, given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| {
        let default = PathBuf::from(DEFAULT_SUPPRESSIONS);
        ctx.resolve(&default).is_file().then_some(default)
    })
}

/// The ignore file picked up without `--suppressions`.
const DEFAULT_SUPPRESSIONS: &str = "driftwatch.ignore.yaml";

/// Exit code of a finished run: runtime errors (3) outrank drift (1); suppressed drifts
/// never fail a run.
pub fn run_exit_code(run: &crate::run::Run, fail_on: crate::cli::FailOn) -> i32 {
    if !run.errors.is_empty() {
        return exit::RUNTIME;
    }
    match fail_on.threshold() {
        Some(t) if run.count_at_least(t) > 0 => exit::DRIFT,
        _ => exit::OK,
    }
}

fn cmd_check(ctx: &Context, suites: &[PathBuf]) -> Result<i32, Error> {
    let report = crate::suite::check_files(
        suites,
        ctx,
        std::io::stderr().is_terminal() && !ctx.no_color(),
    );
    eprint!("{}", report.rendered);
    Ok(if report.errors > 0 {
        exit::USAGE
    } else {
        exit::OK
    })
}

fn cmd_schema() -> Result<i32, Error> {
    let schema = crate::suite::suite_json_schema();
    let text = serde_json::to_string_pretty(&schema).map_err(|e| Error::Runtime(e.to_string()))?;
    print_out(&format!("{text}\n"));
    Ok(exit::OK)
}

fn update_mode(u: Update) -> UpdateMode {
    match u {
        Update::Auto => UpdateMode::Auto,
        Update::New => UpdateMode::New,
        Update::Always => UpdateMode::Always,
        Update::No => UpdateMode::No,
    }
}

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
        (Some(rule), Some(drifts)) => Some(crate::baseline::review::keys_with_rule(
            store, drifts, rule,
        )?),
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

fn cmd_review(ctx: &Context, args: ReviewArgs) -> Result<i32, Error> {
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

fn cmd_baseline(ctx: &Context, args: BaselineArgs, accept: bool) -> Result<i32, Error> {
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

async fn cmd_sim(ctx: &Context, port: u16, profile: &str, drift: &str) -> Result<i32, Error> {
    let profile = profile
        .parse::<crate::sim::Profile>()
        .map_err(|_| Error::Usage(format!("unknown sim profile `{profile}`")))?;
    let version = drift
        .parse::<crate::sim::ApiVersion>()
        .map_err(|_| Error::Usage(format!("unknown sim drift `{drift}` (expected v1 or v2)")))?;
    let opts = crate::sim::SimOptions {
        profile,
        version,
        client_secret: ctx.var("SIM_CLIENT_SECRET").map(str::to_string),
        user_password: ctx.var("SIM_USER_PASSWORD").map(str::to_string),
        ..crate::sim::SimOptions::default()
    };
    crate::sim::serve_forever(port, opts)
        .await
        .map_err(|e| Error::Runtime(format!("simulated provider: {e}")))?;
    Ok(exit::OK)
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

    fn out(formats: &[Format], outputs: &[&str]) -> OutputArgs {
        OutputArgs {
            formats: formats.to_vec(),
            outputs: outputs.iter().map(PathBuf::from).collect(),
        }
    }

    #[test]
    fn outputs_pair_with_formats_by_position() {
        let dir = Path::new("reports/r1");
        let got = targets(
            &out(
                &[
                    Format::Junit,
                    Format::Terminal,
                    Format::Markdown,
                    Format::Json,
                ],
                &["ci/j.xml", "-"],
            ),
            Some(dir),
        )
        .unwrap();
        let want = [
            (Format::Junit, Some("ci/j.xml")),
            (Format::Terminal, None),
            (Format::Markdown, Some("reports/r1/run.md")),
            (Format::Json, Some("reports/r1/run.json")),
        ]
        .map(|(format, p)| Target {
            format,
            path: p.map(PathBuf::from),
        });
        assert_eq!(got, want);
    }

    #[test]
    fn default_is_terminal_and_report_defaults_to_stdout() {
        let got = targets(&out(&[], &[]), Some(Path::new("r"))).unwrap();
        assert_eq!(
            got,
            [Target {
                format: Format::Terminal,
                path: None
            }]
        );
        let got = targets(&out(&[Format::Junit], &[]), None).unwrap();
        assert_eq!(got[0].path, None);
    }

    #[test]
    fn more_outputs_than_formats_is_a_usage_error() {
        let e = targets(&out(&[Format::Junit], &["a", "b"]), None).unwrap_err();
        assert_eq!(e.exit_code(), exit::USAGE);
        assert!(e.to_string().contains("2 --output for 1 --format"), "{e}");
    }
}
