//! The scope justification table (`driftwatch scopes`, issue 20): why each requested scope is
//! needed, read from a finished run's `scopes` member. Markdown (to paste into a provider's
//! app-review form or a security review), plain terminal text and stable JSON. The HTML report
//! shows the same rows beside the permission matrix. Never probes, never computes the
//! justification (`probe::permissions::scopes` does, during the run).

use crate::probe::permissions::CellClass;
use crate::probe::permissions::scopes::{Basis, ProviderScopes, ScopeJustification, Unlock};
use crate::run::Run;
use serde::Serialize;

/// Version of the `driftwatch scopes --format json` document.
pub const SCOPES_FORMAT: &str = "driftwatch-scopes/1";

/// One row of the table: a scope and one endpoint it unlocks (or none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeRow {
    pub scope: String,
    /// The endpoint, and `(full data)` / `(partial data)` when that is what it unlocks;
    /// `—` when it unlocks none.
    pub unlocks: String,
    /// `observed`, `observed, not isolated from …`, `documented, not isolated`, or `—`.
    pub basis: String,
    /// The evidence or the verdict: the two scope sets compared, `unused`, …
    pub note: String,
    /// The scope is `permission.scope-unused`.
    pub unused: bool,
}

fn code(s: &str) -> String {
    format!("`{s}`")
}

fn codes(list: &[String]) -> String {
    list.iter().map(|s| code(s)).collect::<Vec<_>>().join(", ")
}

fn unlock_row(s: &ScopeJustification, u: &Unlock) -> ScopeRow {
    let what = match (u.gets, u.without) {
        (Some(CellClass::Granted), Some(CellClass::Partial)) => " (full data)",
        (Some(CellClass::Partial), _) => " (partial data)",
        _ => "",
    };
    let basis = match u.basis {
        Basis::Observed if u.together_with.is_empty() => "observed".to_owned(),
        Basis::Observed => format!("observed, not isolated from {}", codes(&u.together_with)),
        Basis::Documented => "documented, not isolated".to_owned(),
    };
    let mut note = match (&u.set, &u.narrower_set, u.gets, u.without) {
        (Some(set), Some(narrower), Some(gets), Some(without)) => format!(
            "{} {}, {} {}",
            code(set),
            gets.as_str(),
            code(narrower),
            without.as_str()
        ),
        _ => "no probed scope set lacks it".to_owned(),
    };
    if u.basis == Basis::Observed {
        note.push_str(if u.documented {
            "; documented"
        } else {
            "; not in the endpoint's documented scopes"
        });
    }
    ScopeRow {
        scope: s.scope.clone(),
        unlocks: format!("{}{what}", code(&u.endpoint)),
        basis,
        note,
        unused: false,
    }
}

/// The rows of one provider: one per (scope, endpoint), one for a scope that unlocks none.
pub fn rows(p: &ProviderScopes) -> Vec<ScopeRow> {
    let mut out = Vec::new();
    for s in &p.scopes {
        if s.unlocks.is_empty() {
            let note = if s.unused {
                "unused: `permission.scope-unused` (least privilege)".to_owned()
            } else if s.token_scope {
                "token-endpoint scope (ID token, refresh token or claims): never flagged".to_owned()
            } else if !p.judged {
                "not judged: one probed scope set and no documented scopes".to_owned()
            } else {
                "documented, but a scope set without it got the data".to_owned()
            };
            out.push(ScopeRow {
                scope: s.scope.clone(),
                unlocks: "—".to_owned(),
                basis: "—".to_owned(),
                note,
                unused: s.unused,
            });
        }
        for u in &s.unlocks {
            out.push(unlock_row(s, u));
        }
    }
    out
}

/// A Markdown cell: pipes escaped, one line.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The Markdown table of every given provider.
pub fn render_markdown(run: &Run, providers: &[&ProviderScopes]) -> String {
    let mut out = format!("# Why each scope\n\nRun `{}`.\n", run.run_id);
    for p in providers {
        out.push_str(&format!("\n## {}\n\n", p.provider));
        out.push_str("| scope | unlocks | basis | note |\n|---|---|---|---|\n");
        for r in rows(p) {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                cell(&code(&r.scope)),
                cell(&r.unlocks),
                cell(&r.basis),
                cell(&r.note)
            ));
        }
    }
    out.push_str(
        "\n*observed*: a probed scope set holding the scope got the data, a narrower one \
         without it got less; *not isolated*: the compared sets differ by more scopes than \
         this one; *documented*: only the endpoint's documented scopes name it. See \
         docs/scopes.md.\n",
    );
    out
}

/// Plain text for a terminal: one aligned table per provider.
pub fn render_terminal(providers: &[&ProviderScopes]) -> String {
    let mut out = String::new();
    for (i, p) in providers.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{}\n", p.provider));
        let rows: Vec<[String; 4]> = rows(p)
            .into_iter()
            .map(|r| {
                let plain = |s: &str| s.replace('`', "");
                [r.scope, plain(&r.unlocks), plain(&r.basis), plain(&r.note)]
            })
            .collect();
        let header = [
            "scope".to_owned(),
            "unlocks".to_owned(),
            "basis".to_owned(),
            "note".to_owned(),
        ];
        let mut width = [0usize; 3];
        for r in std::iter::once(&header).chain(&rows) {
            for (w, c) in width.iter_mut().zip(r.iter()) {
                *w = (*w).max(c.chars().count());
            }
        }
        for r in std::iter::once(&header).chain(&rows) {
            let mut line = String::from("  ");
            for (w, c) in width.iter().zip(r.iter()) {
                line.push_str(c);
                line.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
            line.push_str(&r[3]);
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// The stable JSON document: `{"format", "run_id", "providers": [...]}`, each provider as in
/// run.json's `scopes` (docs/scopes.md).
pub fn render_json(run: &Run, providers: &[&ProviderScopes]) -> String {
    let doc = serde_json::json!({
        "format": SCOPES_FORMAT,
        "run_id": run.run_id,
        "providers": providers,
    });
    // Plain data of strings, numbers and lists: serialising cannot fail.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::html_run;

    #[test]
    fn markdown_of_the_html_run() {
        let run = html_run();
        let providers: Vec<&ProviderScopes> = run.scopes.iter().collect();
        insta::assert_snapshot!(render_markdown(&run, &providers));
    }

    #[test]
    fn terminal_of_the_html_run() {
        let run = html_run();
        let providers: Vec<&ProviderScopes> = run.scopes.iter().collect();
        insta::assert_snapshot!(render_terminal(&providers));
    }

    #[test]
    fn json_names_its_format_and_run() {
        let run = html_run();
        let providers: Vec<&ProviderScopes> = run.scopes.iter().collect();
        let v: serde_json::Value =
            serde_json::from_str(&render_json(&run, &providers)).expect("json");
        assert_eq!(v["format"], SCOPES_FORMAT);
        assert_eq!(v["run_id"], run.run_id.as_str());
        assert_eq!(
            v["providers"][0],
            serde_json::to_value(&run.scopes[0]).expect("serialises")
        );
    }

    #[test]
    fn a_pipe_in_a_cell_does_not_break_the_markdown_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
