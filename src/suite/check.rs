//! `driftwatch check`: validates suite files and renders every diagnostic plus a
//! summary. Reads files; never runs a probe or needs a secret.

use super::diagnostic::{DiagSeverity, Diagnostic};
use super::load::{LoadMode, SuiteError, analyze, read_source, render_all};
use super::model::Pos;
use crate::context::Context;
use std::path::PathBuf;

/// What `driftwatch check` prints and how many problems it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Every diagnostic rendered, then the summary line.
    pub rendered: String,
    pub errors: usize,
    pub warnings: usize,
}

/// What `driftwatch check <files>` prints (plain text when color=false), ending with a summary line like
/// "checked 3 suites: 2 errors, 1 warning".
pub fn check_files(paths: &[PathBuf], ctx: &Context, color: bool) -> CheckReport {
    let mut rendered = String::new();
    let (mut errors, mut warnings) = (0, 0);
    for path in paths {
        let (source, diagnostics) = match read_source(path, ctx) {
            Ok(source) => {
                let diagnostics = collect(path, &source, ctx);
                (source, diagnostics)
            }
            Err(err) => (String::new(), vec![unreadable(path, &err)]),
        };
        for d in &diagnostics {
            match d.severity {
                DiagSeverity::Error => errors += 1,
                DiagSeverity::Warning => warnings += 1,
            }
        }
        rendered.push_str(&render_all(&diagnostics, &source, color));
    }
    rendered.push_str(&format!(
        "checked {}: {}, {}\n",
        plural(paths.len(), "suite"),
        plural(errors, "error"),
        plural(warnings, "warning")
    ));
    CheckReport {
        rendered,
        errors,
        warnings,
    }
}

/// At most this many structural errors are collected from one file.
const MAX_STRUCTURAL: usize = 20;

/// Every diagnostic of one suite. The YAML deserialiser stops at the first structural error
/// (unknown key, wrong type, unknown value); to report the others too, the entry at fault is
/// blanked (spaces, so every line and column stays where it was) and the file analysed
/// again, until it parses or nothing more can be blanked. Once it parses, the checks of
/// meaning run over what is left. A `missing required key` for a key that was blanked, and
/// any error inside a blanked entry, are consequences, not findings, and are left out.
fn collect(path: &std::path::Path, source: &str, ctx: &Context) -> Vec<Diagnostic> {
    let mut text = source.to_string();
    let mut found: Vec<Diagnostic> = Vec::new();
    let mut blanked: Vec<(String, std::ops::Range<u32>)> = Vec::new();
    for round in 0..=MAX_STRUCTURAL {
        let (suite, diagnostics) = analyze(path, &text, ctx, LoadMode::Check);
        let consequence = |d: &Diagnostic, blanked: &[(String, std::ops::Range<u32>)]| {
            blanked.iter().any(|(key, lines)| {
                lines.contains(&d.pos.line) || d.message == format!("missing required key `{key}`")
            })
        };
        if suite.is_some() || round == MAX_STRUCTURAL {
            found.extend(
                diagnostics
                    .into_iter()
                    .filter(|d| !consequence(d, &blanked)),
            );
            break;
        }
        let mut progress = false;
        for d in diagnostics {
            if consequence(&d, &blanked) || found.contains(&d) {
                continue;
            }
            let suggested = d
                .help
                .as_deref()
                .and_then(|h| h.strip_prefix("did you mean `"))
                .and_then(|h| h.strip_suffix("`?"));
            if d.message.starts_with("missing required key")
                || d.message.starts_with("invalid YAML")
            {
                // Nothing to blank: the next round would only say it again, and past a
                // syntax error the rest of the file cannot be trusted.
            } else if d.message.starts_with("unknown key")
                && let Some(best) = suggested
                && rename_key(&mut text, d.pos, best)
            {
                // A misspelt key is read as the key it was meant to be, so its value is
                // still checked and no `missing required key` follows from it.
                progress = true;
            } else if d.severity == DiagSeverity::Error
                && let Some((key, lines)) = blank_entry(&mut text, d.pos)
            {
                blanked.push((key, lines));
                progress = true;
            }
            found.push(d);
        }
        if !progress {
            break;
        }
    }
    found.sort_by_key(|d| d.pos);
    found
}

/// Replaces the key at `pos` with `key` (padded with spaces before its `:` when shorter, so
/// the rest of the line stays where it was); `false` when there is no key there.
fn rename_key(text: &mut String, pos: Pos, key: &str) -> bool {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let Some(line) = (pos.line as usize)
        .checked_sub(1)
        .and_then(|i| lines.get_mut(i))
    else {
        return false;
    };
    let start = (pos.column as usize).saturating_sub(1);
    let chars: Vec<char> = line.chars().collect();
    let Some(colon) = chars.iter().skip(start).position(|c| *c == ':') else {
        return false;
    };
    let old: String = chars[start..start + colon].iter().collect();
    if old.trim().is_empty() || old.trim() == key {
        return false;
    }
    let mut new = key.to_string();
    while new.chars().count() < colon {
        new.push(' ');
    }
    let head: String = chars[..start].iter().collect();
    let tail: String = chars[start + colon..].iter().collect();
    *line = format!("{head}{new}{tail}");
    *text = lines.join("\n");
    true
}

/// Blanks the mapping entry at `pos` (its key and every line indented under it) with spaces;
/// returns the key and the lines blanked, or `None` when there is no entry to blank.
fn blank_entry(text: &mut String, pos: Pos) -> Option<(String, std::ops::Range<u32>)> {
    let lines: Vec<&str> = text.split('\n').collect();
    let at = (pos.line as usize).checked_sub(1)?;
    let line = *lines.get(at)?;
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '-']).len();
    let key_of = |l: &str| -> Option<String> {
        let rest = l.trim_start_matches([' ', '-']);
        let (key, _) = rest.split_once(':')?;
        let key = key.trim().trim_matches(['"', '\'']);
        (!key.is_empty() && !key.contains(' ')).then(|| key.to_string())
    };
    // The error points at the key itself, at a value on the key's line, or at a value block
    // below its key: then the key is on the nearest line above that is less indented.
    let mut key_line = at;
    if key_of(line).is_none() || (pos.column as usize) <= indent(line) {
        let own = indent(line);
        key_line = (0..at)
            .rev()
            .find(|&i| !lines[i].trim().is_empty() && indent(lines[i]) < own)?;
    }
    let key_text = lines[key_line];
    let key = key_of(key_text)?;
    let key_indent = indent(key_text);
    let mut end = key_line + 1;
    while end < lines.len() && (lines[end].trim().is_empty() || indent(lines[end]) > key_indent) {
        end += 1;
    }
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    for (i, l) in out.iter_mut().enumerate().take(end).skip(key_line) {
        let from = if i == key_line { key_indent } else { 0 };
        let kept: String = l.chars().take(from).collect();
        let blanks = " ".repeat(l.chars().count() - from);
        *l = kept + &blanks;
    }
    let changed = out.join("\n");
    if changed == *text {
        return None;
    }
    *text = changed;
    Some((key, (key_line as u32 + 1)..(end as u32 + 1)))
}

fn unreadable(path: &std::path::Path, err: &SuiteError) -> Diagnostic {
    let cause = match err {
        SuiteError::Io { source, .. } => source.to_string(),
        SuiteError::Invalid { .. } => err.to_string(),
    };
    Diagnostic {
        severity: DiagSeverity::Error,
        file: path.to_path_buf(),
        pos: Pos::default(),
        message: format!("cannot read suite: {cause}"),
        label: String::new(),
        help: None,
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_plurals() {
        let dir = tempfile::tempdir().unwrap();
        let report = check_files(
            &[PathBuf::from("missing.yaml")],
            &Context::empty(dir.path()),
            false,
        );
        assert_eq!((report.errors, report.warnings), (1, 0));
        assert!(
            report.rendered.starts_with("error: cannot read suite: "),
            "{}",
            report.rendered
        );
        assert!(
            report
                .rendered
                .ends_with(" --> missing.yaml\n\nchecked 1 suite: 1 error, 0 warnings\n")
        );
        let report = check_files(&[], &Context::empty(dir.path()), false);
        assert_eq!(report.rendered, "checked 0 suites: 0 errors, 0 warnings\n");
    }
}
