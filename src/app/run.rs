//! `run` and `report`: executing suites and writing a run in every requested format.

use super::auth::credentials_path;
use super::{default_suites, print_out, stderr_is_tty, stdout_color};
use crate::cli::{OutputArgs, ReportArgs, RunArgs, Typed};
use crate::context::Context;
use crate::error::Error;
use crate::run::RunSummary;
use crate::run::{Event, RunOptions};
use crate::settings::{FailOn, Format};
use std::path::{Path, PathBuf};

pub(super) async fn cmd_run(ctx: &Context, args: RunArgs, typed: &Typed) -> Result<i32, Error> {
    tracing::debug!("run started");
    // A bad --format/--output pairing or config file must fail before any request is sent.
    check_pairs(&args.output)?;
    let settings = super::config::run_settings(ctx, &args, typed)?;
    let output = OutputArgs {
        formats: settings.formats.value.clone(),
        outputs: settings.outputs.value.clone(),
    };
    check_pairs(&output)?;
    let fail_on = settings.fail_on.value;
    let suites = if args.suites.is_empty() {
        default_suites(ctx)?
    } else {
        args.suites.clone()
    };
    // Severity overrides (config file, then each suite's own) are checked before any request;
    // the suites are loaded once, for them and for the run.
    let loaded = crate::run::load_suites(ctx, &suites)?;
    let mut overrides = settings.severity.clone();
    overrides.extend(super::config::overrides_of(&suites, &loaded).0);
    let credentials = credentials_path(settings.credentials.value.clone())?;
    let (update, warning) = settings.update.value.mode().effective(ctx.is_ci());
    if let Some(w) = warning {
        diag!("warning: {w}");
    }
    // A bad --previous fails before any request is sent.
    let previous = read_previous(ctx, args.identity.previous.as_deref())?;
    // The history file (a line a night, read for the previous run and the page's chart) is
    // read while the probes run, as it stands when the run starts.
    let history = match (&previous, args.shard, settings.history.value.as_ref()) {
        (None, None, Some(path)) => {
            let path = ctx.resolve(path);
            Some(std::thread::spawn(move || {
                crate::run::history::read_history(&path)
            }))
        }
        _ => None,
    };
    let opts = RunOptions {
        suites,
        snapshots: settings.snapshots.value.clone(),
        reports: settings.reports.value.clone(),
        credentials,
        credential_helper: settings.credential_helper.value.clone(),
        allow_insecure_http: args.allow_insecure_http,
        update,
        expiry_window: settings.expiry_window.value,
        suppressions: suppressions_path(ctx, settings.suppressions.value.clone()),
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
    // The HTML page's template is compiled from the first answer on, while the other
    // requests are in flight, not after the last one.
    let preparing = std::sync::atomic::AtomicBool::new(args.shard.is_some());
    let on_event = move |e: Event| {
        use std::sync::atomic::Ordering;
        if matches!(e, Event::EndpointProbed { .. }) && !preparing.swap(true, Ordering::Relaxed) {
            let _ = std::thread::Builder::new()
                .name("html-template".into())
                .spawn(crate::report::html::prepare);
        }
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
    let result = match args.shard {
        Some(shard) => crate::run::execute_shard(ctx, &opts, loaded, shard, &on_event).await,
        None => crate::run::execute_loaded(ctx, &opts, loaded, &on_event).await,
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut run = result?;
    apply_overrides(&overrides, &mut run);
    crate::run::apply_evidence_mode(&mut run, settings.evidence.value);
    // A shard compares nothing: no identity to carry, no history line.
    let (previous, lines) = match run.shard {
        Some(_) => (None, None),
        None => {
            let (previous, lines) = carry_identity(ctx, &mut run, &settings, previous, history);
            (Some(previous), lines)
        }
    };
    let links = Links {
        lines: lines.as_deref(),
        ..Links::of(&settings)
    };
    tracing::debug!("publishing");
    let code = publish_linked(ctx, &run, &opts.reports, &output, fail_on, links)?;
    super::baseline::carry_pending(ctx, &run, &opts.snapshots, &opts.reports, update)?;
    tracing::debug!("pending carried");
    if let Some(previous) = &previous {
        record_history(ctx, &run, &settings, code, previous.as_ref());
    }
    tracing::debug!("history recorded");
    if let Some(previous) = &previous {
        send_webhook(&run, &settings, previous.as_ref(), args.allow_insecure_http).await;
    }
    // Everything is written and the process is about to exit: freeing the run (every
    // exchange, observation and shape, one allocation at a time) would only delay the exit
    // the operating system makes anyway.
    std::mem::forget(run);
    Ok(code)
}

/// Notifies the configured webhook about a verdict's run (`run`, or the `merge` of shards),
/// as `webhook.on` says (by default only when something is new since `previous`). A
/// notification is a courtesy: its failure is a warning and never changes the verdict.
pub(super) async fn send_webhook(
    run: &crate::run::Run,
    settings: &crate::config::Settings,
    previous: Option<&crate::run::history::Previous>,
    allow_insecure_http: bool,
) {
    let Some(url) = settings.webhook_url.value.as_ref() else {
        return;
    };
    let on = settings.webhook_on.value;
    let hook = crate::notify::Webhook {
        url: url.clone(),
        on: on.threshold(),
        report_url: settings.webhook_report_url.value.clone(),
        allow_insecure_http,
        changes: on
            .only_new()
            .then(|| crate::run::history::Changes::of(run, previous)),
    };
    match crate::notify::notify(run, &hook).await {
        Ok(true) => diag!("webhook: sent to {}", crate::config::mask_url(url)),
        Ok(false) => {}
        Err(e) => diag!("warning: {e}"),
    }
}

/// `--previous RUN.JSON`, read before anything else happens.
pub(super) fn read_previous(
    ctx: &Context,
    path: Option<&Path>,
) -> Result<Option<crate::run::history::Previous>, Error> {
    path.map(|p| {
        crate::run::history::Previous::read_run(&ctx.resolve(p))
            .map_err(|e| Error::Usage(format!("--previous: {e}")))
    })
    .transpose()
}

/// Sets every drift's and finding's `first_seen` from `previous` (`--previous`), else from
/// the last line of the history file (`read`: the file read ahead, if it was); returns what
/// came before (for the webhook) and the history lines it read, if it read them (for the HTML
/// history: read once per run). An unreadable history is a warning: the run goes on, every
/// drift counted as new.
pub(super) fn carry_identity(
    ctx: &Context,
    run: &mut crate::run::Run,
    settings: &crate::config::Settings,
    previous: Option<crate::run::history::Previous>,
    read: Option<std::thread::JoinHandle<HistoryResult>>,
) -> (
    Option<crate::run::history::Previous>,
    Option<Vec<crate::run::history::HistoryEntry>>,
) {
    use crate::run::history::{Previous, read_history};
    let mut lines = None;
    let previous = previous.or_else(|| {
        let path = ctx.resolve(settings.history.value.as_ref()?);
        // A reader that panicked read nothing: the file is read again here.
        let read = read.and_then(|r| r.join().ok());
        match read.unwrap_or_else(|| read_history(&path)) {
            Ok(h) => {
                for w in &h.warnings {
                    eprintln!("warning: {w}");
                }
                let last = h.entries.last().map(Previous::from_entry);
                lines = Some(h.entries);
                last
            }
            Err(e) => {
                eprintln!("warning: {e}; every drift counts as new");
                None
            }
        }
    });
    crate::run::history::carry_first_seen(run, previous.as_ref());
    (previous, lines)
}

/// What reading the history file gave.
pub(super) type HistoryResult =
    Result<crate::run::history::HistoryRead, crate::run::history::HistoryError>;

/// Appends the run's line to the history file (when there is one). A failure is a
/// warning: it never changes the run's verdict.
pub(super) fn record_history(
    ctx: &Context,
    run: &crate::run::Run,
    settings: &crate::config::Settings,
    code: i32,
    previous: Option<&crate::run::history::Previous>,
) {
    let Some(path) = settings.history.value.as_ref() else {
        return;
    };
    let entry = crate::run::history::HistoryEntry::of(run, code, previous);
    if let Err(e) = crate::run::history::append(&ctx.resolve(path), &entry) {
        eprintln!("warning: {e}");
    }
}

/// Writes `reports/<run-id>/run.json`, emits every requested format and returns
/// the exit code (shared by `run` and `merge`). A shard run's terminal output
/// only says what it gathered: the verdict belongs to `merge`.
pub(crate) fn publish(
    ctx: &Context,
    run: &crate::run::Run,
    reports: &Path,
    output: &OutputArgs,
    fail_on: FailOn,
) -> Result<i32, Error> {
    publish_linked(ctx, run, reports, output, fail_on, Links::default())
}

/// Where a report links beyond its own run: the published HTML report (`--report-url`,
/// `{run_id}` replaced) and the history file the HTML history reads (its lines, when the
/// caller already read them).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Links<'a> {
    pub report_url: Option<&'a str>,
    pub history: Option<&'a Path>,
    pub lines: Option<&'a [crate::run::history::HistoryEntry]>,
}

impl<'a> Links<'a> {
    pub fn of(settings: &'a crate::config::Settings) -> Links<'a> {
        Links {
            report_url: settings.webhook_report_url.value.as_deref(),
            history: settings.history.value.as_deref(),
            lines: None,
        }
    }
}

/// [`publish`] with `links`: `report_url`, the link from the Markdown summary to the published
/// HTML report (`--report-url`).
pub(crate) fn publish_linked(
    ctx: &Context,
    run: &crate::run::Run,
    reports: &Path,
    output: &OutputArgs,
    fail_on: FailOn,
    links: Links<'_>,
) -> Result<i32, Error> {
    let dir = reports.join(&run.run_id);
    let shown = dir.join("run.json");
    // Counted once: every format below prints these numbers.
    let summary = RunSummary::of(run);
    let mut targets = targets(output, Some(&dir))?;
    // The HTML page always sits next to a verdict's run.json, so `reports/latest/index.html`
    // exists; a shard has no verdict to show.
    let page = dir.join("index.html");
    if run.shard.is_none()
        && !targets
            .iter()
            .any(|t| t.path.as_deref() == Some(page.as_path()))
    {
        targets.push(Target {
            format: Format::Html,
            path: Some(page),
        });
    }
    // run.json is written anyway; its default target would only repeat it.
    targets.retain(|t| !(t.format == Format::Json && t.path.as_deref() == Some(shown.as_path())));
    // run.json and every report file are rendered and written at once, each on its own
    // thread; what goes to the terminal is rendered meanwhile and printed afterwards, in
    // target order, with each written file's line. A shard prints what it gathered instead
    // of a terminal report.
    let printed_here =
        |t: &Target| t.path.is_none() || (run.shard.is_some() && t.format == Format::Terminal);
    let (written, files, printed) = std::thread::scope(|sc| {
        let json = sc.spawn(|| crate::report::write_run(&ctx.resolve(reports), run));
        let files: Vec<_> = targets
            .iter()
            .filter(|t| !printed_here(t))
            .map(|t| sc.spawn(|| write_target(ctx, run, &summary, t, fail_on, Some(&shown), links)))
            .collect();
        let printed: Vec<Result<String, Error>> = targets
            .iter()
            .filter(|t| printed_here(t))
            .map(|t| match (run.shard, t.format) {
                (Some(shard), Format::Terminal) => Ok(shard_summary(run, shard, &shown)),
                _ => render(ctx, run, &summary, t, fail_on, Some(&shown), links),
            })
            .collect();
        let joined = |r: std::thread::Result<Result<(), Error>>| {
            r.unwrap_or_else(|_| Err(Error::Runtime("a report writer thread panicked".into())))
        };
        let written = match json.join() {
            Ok(w) => w.map_err(|e| Error::Runtime(e.to_string())),
            Err(_) => Err(Error::Runtime("the run.json writer thread panicked".into())),
        };
        let files: Vec<Result<(), Error>> = files.into_iter().map(|h| joined(h.join())).collect();
        (written, files, printed)
    });
    let path = written?;
    tracing::debug!(path = %path.display(), "run written");
    let (mut files, mut printed) = (files.into_iter(), printed.into_iter());
    for t in &targets {
        match &t.path {
            Some(p) if !printed_here(t) => {
                files.next().unwrap_or(Ok(()))?;
                diag!("{}: {}", format_name(t.format), p.display());
            }
            _ => print_out(&printed.next().unwrap_or_else(|| Ok(String::new()))?),
        }
    }
    if run.shard.is_none() && ctx.var("GITHUB_ACTIONS") == Some("true") {
        print_out(&crate::report::github::render(run));
    }
    Ok(summary.exit_code(fail_on))
}

/// The terminal output of a shard run: what it gathered, never a verdict.
fn shard_summary(run: &crate::run::Run, shard: crate::run::Shard, shown: &Path) -> String {
    let mut out = String::new();
    for s in &run.suites {
        out.push_str(&format!(
            "{}: shard {shard}: {} connection(s) probed: {}\n",
            s.provider,
            s.connections.len(),
            if s.connections.is_empty() {
                "-".to_string()
            } else {
                s.connections.join(", ")
            }
        ));
    }
    for c in run.unusable_connections() {
        out.push_str(&format!(
            "connection {}/{}: {}: {}\n",
            c.provider,
            c.connection,
            c.state,
            c.message.as_deref().unwrap_or("")
        ));
    }
    for e in &run.errors {
        let conn = e.connection.as_deref().unwrap_or("-");
        out.push_str(&format!(
            "error: {}/{conn}: {} ({})\n",
            e.provider, e.message, e.class
        ));
    }
    out.push_str(&format!(
        "shard {shard} gathered {} exchange(s) and compared nothing.\n\
         Evidence: {}\n\
         Run `driftwatch merge <every shard's run.json>` for the verdict.\n",
        run.exchanges.len(),
        shown.display()
    ));
    out
}

/// Applies severity overrides to a run's drifts and findings, before anything counts them.
pub(super) fn apply_overrides(
    overrides: &crate::rules::SeverityOverrides,
    run: &mut crate::run::Run,
) {
    overrides.apply(&mut run.drifts);
    overrides.apply(&mut run.findings);
}

/// The config file's overrides plus those of every suite a finished run names whose file is
/// still there (`merge`, `report`); `warn` says so for a suite file that is gone.
pub(super) fn recorded_overrides(
    ctx: &Context,
    config: &crate::rules::SeverityOverrides,
    run: &crate::run::Run,
    warn: bool,
) -> Result<crate::rules::SeverityOverrides, Error> {
    let mut files = Vec::new();
    for s in &run.suites {
        let path = PathBuf::from(&s.file);
        if ctx.resolve(&path).is_file() {
            files.push(path);
        } else if warn {
            diag!(
                "warning: suite `{}` is not here: its `severity:` overrides are not applied",
                s.file
            );
        }
    }
    let mut all = config.clone();
    all.extend(super::config::suite_overrides(ctx, &files, crate::suite::LoadMode::Check)?.0);
    Ok(all)
}

/// `driftwatch report run.json --format …`: re-renders a finished run; with a threshold set,
/// the exit code is the run's under it, as `run` would have returned it.
pub(super) fn cmd_report(ctx: &Context, args: ReportArgs, typed: &Typed) -> Result<i32, Error> {
    check_pairs(&args.output)?;
    let settings = super::config::report_settings(ctx, &args, typed)?;
    let fail_on = settings.fail_on.value;
    let links = Links::of(&settings);
    let mut run = crate::report::read_run(&ctx.resolve(&args.run)).map_err(Error::RunFile)?;
    let overrides = recorded_overrides(ctx, &settings.severity, &run, false)?;
    apply_overrides(&overrides, &mut run);
    if let Some(mode) = args.evidence {
        let kept = crate::run::apply_evidence_mode(&mut run, mode);
        warn_evidence_kept(Some(mode), kept, "the run file keeps");
    }
    let summary = RunSummary::of(&run);
    for t in targets(&args.output, None)? {
        emit(ctx, &run, &summary, &t, fail_on, Some(&args.run), links)?;
    }
    // Re-rendering is not a verdict unless a threshold is asked for (`--fail-on`,
    // DRIFTWATCH_FAIL_ON or `fail_on` in the config file): then the code is the run's.
    Ok(
        if settings.fail_on.source == crate::config::Source::Default {
            crate::error::exit::OK
        } else {
            summary.exit_code(fail_on)
        },
    )
}

/// Warns when `--evidence` asked for more than the input kept: a mode only ever removes.
pub(super) fn warn_evidence_kept(
    asked: Option<crate::run::EvidenceMode>,
    kept: crate::run::EvidenceMode,
    input: &str,
) {
    if let Some(asked) = asked.filter(|a| *a < kept) {
        diag!(
            "warning: --evidence {asked}: {input} only `{kept}` evidence; what was left out cannot come back"
        );
    }
}

/// One report to produce: a format and its file (`None` = stdout).
#[derive(Debug, PartialEq)]
struct Target {
    format: Format,
    path: Option<PathBuf>,
}

pub(super) fn check_pairs(args: &OutputArgs) -> Result<(), Error> {
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
                    (Format::Html, Some(d)) => Some(d.join("index.html")),
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
    summary: &RunSummary,
    t: &Target,
    fail_on: FailOn,
    run_json: Option<&Path>,
    links: Links<'_>,
) -> Result<(), Error> {
    match &t.path {
        None => print_out(&render(ctx, run, summary, t, fail_on, run_json, links)?),
        Some(p) => {
            write_target(ctx, run, summary, t, fail_on, run_json, links)?;
            diag!("{}: {}", format_name(t.format), p.display());
        }
    }
    Ok(())
}

/// The text of one target.
fn render(
    ctx: &Context,
    run: &crate::run::Run,
    summary: &RunSummary,
    t: &Target,
    fail_on: FailOn,
    run_json: Option<&Path>,
    links: Links<'_>,
) -> Result<String, Error> {
    use crate::report::{html, junit, markdown, terminal};
    let shown = run_json.map(|p| p.display().to_string());
    Ok(match t.format {
        Format::Terminal => {
            let color = t.path.is_none() && stdout_color(ctx);
            terminal::render(run, summary, color, shown.as_deref())
        }
        Format::Json => {
            let mut text = serde_json::to_string_pretty(run)?;
            text.push('\n');
            text
        }
        Format::Junit => junit::render(run, summary, fail_on),
        Format::Markdown => markdown::render_linked(run, summary, links.report_url),
        Format::Html => {
            let history = run_json
                .map(|p| html_history(ctx, &ctx.resolve(p), run, links))
                .unwrap_or_else(|| html::History::only(run));
            // The page links to the complete run.json wherever both files are.
            let href = match (&t.path, run_json) {
                (Some(page), Some(json)) => {
                    html::run_json_href(&ctx.resolve(page), &ctx.resolve(json))
                }
                _ => None,
            };
            html::render_linked(run, &history, href.as_deref())?
        }
    })
}

/// Renders one target with a file and writes it (silently: the caller says where).
fn write_target(
    ctx: &Context,
    run: &crate::run::Run,
    summary: &RunSummary,
    t: &Target,
    fail_on: FailOn,
    run_json: Option<&Path>,
    links: Links<'_>,
) -> Result<(), Error> {
    let Some(p) = &t.path else {
        return Ok(());
    };
    let text = render(ctx, run, summary, t, fail_on, run_json, links)?;
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
    tracing::debug!(format = format_name(t.format), "report written");
    Ok(())
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Terminal => "terminal",
        Format::Json => "json",
        Format::Junit => "junit",
        Format::Markdown => "markdown",
        Format::Html => "html",
    }
}

/// The runs beside `run_json` when it sits in a reports directory (`reports/<run-id>/run.json`
/// or `reports/latest/run.json`), and those of the history file (`links.history`: what CI
/// carries between nights when `reports/` starts empty); otherwise the run alone.
fn html_history(
    ctx: &Context,
    run_json: &Path,
    run: &crate::run::Run,
    links: Links<'_>,
) -> crate::report::html::History {
    use crate::report::html::History;
    let dir = run_json.parent();
    let in_reports = dir
        .and_then(|d| d.file_name())
        .is_some_and(|n| n == run.run_id.as_str() || n == "latest");
    let read;
    let entries = match (links.lines, links.history) {
        (Some(lines), _) => lines,
        (None, Some(path)) => {
            read = crate::run::history::history_entries(&ctx.resolve(path));
            &read[..]
        }
        (None, None) => &[],
    };
    let mut history = match dir.and_then(Path::parent) {
        Some(reports) if in_reports => History::read(reports, run, entries),
        _ => History::only(run),
    };
    history.add_entries(entries, run, links.report_url);
    history
}

/// The ignore file to use: the one given, else `driftwatch.ignore.yaml` when it exists.
pub(super) fn suppressions_path(ctx: &Context, given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| {
        let default = PathBuf::from(DEFAULT_SUPPRESSIONS);
        ctx.resolve(&default).is_file().then_some(default)
    })
}

/// The ignore file picked up without `--suppressions`.
const DEFAULT_SUPPRESSIONS: &str = "driftwatch.ignore.yaml";

/// Exit code of a finished run: runtime errors and unusable connections (3) outrank drift
/// (1); suppressed drifts never fail a run. See [`RunSummary::exit_code`].
pub fn run_exit_code(run: &crate::run::Run, fail_on: FailOn) -> i32 {
    RunSummary::of(run).exit_code(fail_on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit;

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
    fn html_defaults_to_index_html_beside_run_json() {
        let got = targets(&out(&[Format::Html], &[]), Some(Path::new("reports/r1"))).unwrap();
        assert_eq!(got[0].path, Some(PathBuf::from("reports/r1/index.html")));
    }

    #[test]
    fn html_history_reads_siblings_only_in_a_reports_layout() {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("reports");
        let mut run = serde_json::from_value::<crate::run::Run>(serde_json::json!({
            "format": "driftwatch-run/1", "run_id": "20261127T210000Z-abcd",
            "started_at": "2026-11-27T21:00:00Z", "finished_at": "2026-11-27T21:00:00Z",
            "duration_ms": 1, "suites": [], "observations": [], "drifts": [],
            "pending": [], "errors": [], "exchanges": []
        }))
        .unwrap();
        for id in ["20261126T210000Z-0001", &run.run_id] {
            std::fs::create_dir_all(reports.join(id)).unwrap();
            std::fs::write(
                reports.join(id).join("run.json"),
                format!(r#"{{"run_id":"{id}"}}"#),
            )
            .unwrap();
        }
        let ctx = Context::empty(dir.path());
        let none = Links::default();
        let inside = html_history(
            &ctx,
            &reports.join(&run.run_id).join("run.json"),
            &run,
            none,
        );
        assert_eq!(inside.runs.len(), 2);

        // A history file (what CI carries when `reports/` starts empty) adds the runs the
        // directory does not hold, linked to their published report, and none twice.
        let line = |id: &str, at: &str, breaking: usize| {
            format!(
                r#"{{"format":"driftwatch-history/1","run_id":"{id}","started_at":"{at}","finished_at":"{at}","exit_code":1,"verdict":"breaking","counts":{{"breaking":{breaking},"warning":0,"info":0,"suppressed":0,"findings":0,"errors":1,"unusable":0}},"new":1}}"#
            )
        };
        let history = dir.path().join("history.jsonl");
        std::fs::write(
            &history,
            [
                line("20261125T210000Z-0000", "2026-11-25T21:00:00Z", 3),
                line("20261126T210000Z-0001", "2026-11-26T21:00:00Z", 9),
                line("20261128T210000Z-late", "2026-11-28T21:00:00Z", 1),
            ]
            .join("\n")
                + "\n",
        )
        .unwrap();
        let links = Links {
            report_url: Some("https://ci.example/runs/{run_id}/"),
            history: Some(Path::new("history.jsonl")),
            lines: None,
        };
        let with = html_history(
            &ctx,
            &reports.join(&run.run_id).join("run.json"),
            &run,
            links,
        );
        let ids: Vec<(&str, usize, Option<&str>)> = with
            .runs
            .iter()
            .map(|p| (p.run_id.as_str(), p.breaking, p.href.as_deref()))
            .collect();
        assert_eq!(
            ids,
            [
                (
                    "20261125T210000Z-0000",
                    3,
                    Some("https://ci.example/runs/20261125T210000Z-0000/")
                ),
                (
                    "20261126T210000Z-0001",
                    0,
                    Some("../20261126T210000Z-0001/run.json")
                ),
                ("20261127T210000Z-abcd", 0, None),
            ]
        );
        assert_eq!(with.runs[0].errors, 1);
        // Lines the run already read are used as they are: the file is not read again.
        let lines = crate::run::history::history_entries(&dir.path().join("history.jsonl"));
        let given = html_history(
            &ctx,
            &reports.join(&run.run_id).join("run.json"),
            &run,
            Links {
                history: Some(Path::new("no-such-history.jsonl")),
                lines: Some(&lines),
                ..links
            },
        );
        assert_eq!(given, with);

        run.run_id = "elsewhere".into();
        let outside = html_history(&ctx, &dir.path().join("run.json"), &run, none);
        assert_eq!(outside.runs.len(), 1);
    }

    #[test]
    fn more_outputs_than_formats_is_a_usage_error() {
        let e = targets(&out(&[Format::Junit], &["a", "b"]), None).unwrap_err();
        assert_eq!(e.exit_code(), exit::USAGE);
        assert!(e.to_string().contains("2 --output for 1 --format"), "{e}");
    }
}
