//! The HTML reporter: one self-contained page per run (inline CSS and JS, no
//! external request), laid out by an auto-escaping minijinja template from a
//! view model of the finished run and the runs before it. Never probes, never diffs.
//! Bounded whatever the run: identical drifts are grouped, every list is capped
//! (`caps`), and the page links to the complete `run.json` for the rest.

pub(crate) mod caps;
mod diff;
mod groups;
mod history;
mod sections;
mod spans;
mod view;

pub(crate) use history::run_needs_attention;
pub use history::{History, HistoryPoint};

use crate::run::Run;
use caps::{Caps, MAX_PAGE_BYTES};
use std::path::Path;

const TEMPLATE: &str = include_str!("html/report.html");
const STYLE: &str = include_str!("html/style.css");
const SCRIPT: &str = include_str!("html/app.js");

// The page is scrubbed of simulated-provider secrets as a last line of defence,
// although everything it shows is already redacted.
use crate::sim::SECRET_PREFIXES;

#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("cannot render the html report: {0}")]
    Template(#[from] minijinja::Error),
}

/// Renders `run` as one HTML document, with `history` (oldest first, ending with `run`)
/// for the history chart, linking to `run.json` beside the page. Deterministic: the same
/// inputs give the same bytes.
pub fn render(run: &Run, history: &History) -> Result<String, HtmlError> {
    render_linked(run, history, Some("run.json"))
}

/// [`render`], with the relative link to the run's complete `run.json` (`None` when the
/// page cannot reach it: the page then names the file without linking it). The page stays
/// under 10 MB for any run: when the default caps still overshoot (very long texts
/// everywhere), it is rendered again with tight ones.
pub fn render_linked(
    run: &Run,
    history: &History,
    run_json: Option<&str>,
) -> Result<String, HtmlError> {
    let page = render_with(run, history, run_json, Caps::DEFAULT)?;
    if page.len() < MAX_PAGE_BYTES {
        return Ok(page);
    }
    render_with(run, history, run_json, Caps::TIGHT)
}

/// The template, compiled once per process: compiling it is most of the work of a small page.
static ENVIRONMENT: std::sync::LazyLock<Option<minijinja::Environment<'static>>> =
    std::sync::LazyLock::new(|| environment().ok());

/// Compiles the page's template now (`run` does it on a thread of its own while its requests
/// are in flight, so the page is only rendered after the last answer).
pub fn prepare() {
    std::sync::LazyLock::force(&ENVIRONMENT);
}

fn environment() -> Result<minijinja::Environment<'static>, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    // Strict: a typo in the template fails the snapshot test instead of printing nothing.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    // Messages carry Markdown code spans (`like this`): shown as <code>, the rest escaped.
    env.add_filter("spans", spans::filter);
    env.add_template("report.html", TEMPLATE)?;
    Ok(env)
}

fn render_with(
    run: &Run,
    history: &History,
    run_json: Option<&str>,
    caps: Caps,
) -> Result<String, HtmlError> {
    let page = view::build(run, history, caps, run_json);
    let built;
    let env = match &*ENVIRONMENT {
        Some(env) => env,
        // The template did not compile: compiled again here, for the error.
        None => {
            built = environment()?;
            &built
        }
    };
    let ctx = minijinja::context! {
        page => minijinja::Value::from(minijinja::value::Serde(&page)),
        style => minijinja::Value::from_safe_string(STYLE.to_string()),
        script => minijinja::Value::from_safe_string(SCRIPT.to_string()),
    };
    let html = env.get_template("report.html")?.render(ctx)?;
    Ok(scrub(html))
}

/// The href of `run_json` from a page written to `page`: relative, percent-encoded,
/// `None` when no relative path joins them (different roots or `..` in the way).
/// Both paths must be absolute (or both relative to the same directory).
pub fn run_json_href(page: &Path, run_json: &Path) -> Option<String> {
    use std::path::Component;
    let from: Vec<Component<'_>> = page.parent()?.components().collect();
    let to: Vec<Component<'_>> = run_json.components().collect();
    let plain = |c: &Component<'_>| matches!(c, Component::Normal(_) | Component::RootDir);
    if !from
        .iter()
        .chain(&to)
        .all(|c| plain(c) || *c == Component::CurDir)
    {
        return None;
    }
    let from: Vec<_> = from
        .into_iter()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let to: Vec<_> = to.into_iter().filter(|c| *c != Component::CurDir).collect();
    if from.first().is_some_and(|c| *c == Component::RootDir)
        != to.first().is_some_and(|c| *c == Component::RootDir)
    {
        return None;
    }
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == to.len() {
        return None;
    }
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    for c in &to[common..] {
        let Component::Normal(name) = c else {
            return None;
        };
        parts.push(encode(&name.to_string_lossy()));
    }
    Some(parts.join("/"))
}

/// Percent-encodes what a relative URL path segment cannot hold literally.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Replaces anything that looks like a simulated-provider secret with `[REDACTED]`.
fn scrub(html: String) -> String {
    if !SECRET_PREFIXES.iter().any(|p| html.contains(p)) {
        return html;
    }
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some((at, prefix)) = SECRET_PREFIXES
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, *p)))
        .min()
    {
        out.push_str(&rest[..at]);
        out.push_str("[REDACTED]");
        let tail = &rest[at + prefix.len()..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.~+/=".contains(c)))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
