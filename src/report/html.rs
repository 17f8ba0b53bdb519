//! The HTML reporter: one self-contained page per run (inline CSS and JS, no
//! external request), laid out by an auto-escaping minijinja template from a
//! view model of the finished run and the runs before it. Never probes, never diffs.

mod diff;
mod history;
mod sections;
mod view;

pub use history::{History, HistoryRun};

use crate::run::Run;

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
/// for the history chart. Deterministic: the same inputs give the same bytes.
pub fn render(run: &Run, history: &History) -> Result<String, HtmlError> {
    let page = view::build(run, history, history.current_shards());
    let mut env = minijinja::Environment::new();
    // Strict: a typo in the template fails the snapshot test instead of printing nothing.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    env.add_template("report.html", TEMPLATE)?;
    let ctx = minijinja::context! {
        page => minijinja::Value::from(minijinja::value::Serde(&page)),
        style => minijinja::Value::from_safe_string(STYLE.to_string()),
        script => minijinja::Value::from_safe_string(SCRIPT.to_string()),
    };
    let html = env.get_template("report.html")?.render(ctx)?;
    Ok(scrub(html))
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
