//! Diagnostics about a suite file and their rustc-style rendering
//! (file:line:col, the source line, a caret, what was expected, "did you mean").
//!
//! Rendering masks literal secrets in the quoted source line, so a diagnostic
//! never prints a client secret or token even when the user wrote one inline.

use super::model::Pos;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Whether a diagnostic fails the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DiagSeverity {
    Error,
    Warning,
}

/// One finding about a suite file, pointing at the node the user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: DiagSeverity,
    /// The suite file, as given by the user (relative paths stay relative).
    pub file: PathBuf,
    /// 1-based position; line 0 when the problem has no place in the file.
    pub pos: Pos,
    /// One line saying what is wrong.
    pub message: String,
    /// Shown under the caret: what was expected there.
    pub label: String,
    /// A suggestion such as "did you mean `requires`?".
    pub help: Option<String>,
}

impl Diagnostic {
    /// Renders the diagnostic against the file's `source`, with ANSI colours when `color`.
    pub fn render(&self, source: &str, color: bool) -> String {
        let paint = Painter { color };
        let (word, accent) = match self.severity {
            DiagSeverity::Error => ("error", RED),
            DiagSeverity::Warning => ("warning", YELLOW),
        };
        let (gutter, bold) = (BLUE, BOLD);

        let line_text = (self.pos.line > 0)
            .then(|| source.lines().nth(self.pos.line as usize - 1))
            .flatten()
            .map(mask_secrets);
        let width = if line_text.is_some() {
            self.pos.line.to_string().len()
        } else {
            1
        };
        let pad = " ".repeat(width);

        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}{}",
            paint.apply(accent, word),
            paint.apply(bold, &format!(": {}", self.message))
        );
        let location = if self.pos.line > 0 {
            format!(
                "{}:{}:{}",
                self.file.display(),
                self.pos.line,
                self.pos.column
            )
        } else {
            self.file.display().to_string()
        };
        let _ = writeln!(out, "{pad}{} {location}", paint.apply(gutter, "-->"));
        if let Some(text) = &line_text {
            let bar = paint.apply(gutter, "|");
            let _ = writeln!(out, "{pad} {bar}");
            let number = paint.apply(gutter, &self.pos.line.to_string());
            let _ = writeln!(out, "{number} {bar} {text}");
            let col = (self.pos.column.max(1) - 1) as usize;
            let indent: String = text
                .chars()
                .take(col)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let carets = "^".repeat(token_len(text, col));
            let under = if self.label.is_empty() {
                carets
            } else {
                format!("{carets} {}", self.label)
            };
            let _ = writeln!(out, "{pad} {bar} {indent}{}", paint.apply(accent, &under));
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} {}", paint.apply(gutter, "|"));
            let _ = writeln!(
                out,
                "{pad} {} {}",
                paint.apply(gutter, "="),
                paint.apply(bold, &format!("help: {help}"))
            );
        }
        out
    }
}

// Bold ANSI styles, as rustc and cargo use them.
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

struct Painter {
    color: bool,
}

impl Painter {
    fn apply(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// Collects diagnostics for one file.
#[derive(Debug)]
pub(crate) struct Diags {
    pub file: PathBuf,
    pub list: Vec<Diagnostic>,
}

impl Diags {
    pub fn new(file: PathBuf) -> Self {
        Diags {
            file,
            list: Vec::new(),
        }
    }

    pub fn push(
        &mut self,
        severity: DiagSeverity,
        pos: Pos,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Diagnostic {
        self.list.push(Diagnostic {
            severity,
            file: self.file.clone(),
            pos,
            message: message.into(),
            label: label.into(),
            help: None,
        });
        let last = self.list.len() - 1;
        &mut self.list[last]
    }

    pub fn error(
        &mut self,
        pos: Pos,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(DiagSeverity::Error, pos, message, label)
    }

    pub fn warning(
        &mut self,
        pos: Pos,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(DiagSeverity::Warning, pos, message, label)
    }
}

impl Diagnostic {
    /// Sets a "did you mean" help when `candidates` hold a close match for `word`.
    pub(crate) fn suggest<'a>(
        &mut self,
        word: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> &mut Self {
        if let Some(best) = did_you_mean(word, candidates) {
            self.help = Some(format!("did you mean `{best}`?"));
        }
        self
    }
}

/// The candidate nearest to `word`, when it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let len = word.chars().count();
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        // rustc's rule of thumb: up to a third of the longer word may differ.
        .filter(|(d, c)| *d <= (len.max(c.chars().count()) / 3).max(1))
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// Lists names as "`a`, `b`, `c`".
pub(crate) fn one_of(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keys whose literal values must never be printed.
const SECRET_KEYS: &[&str] = &[
    "client_secret",
    "token",
    "password",
    "authorization",
    "api_key",
    "x-api-key",
];

/// Replaces literal secrets in one source line with `***`, keeping columns before them.
pub(crate) fn mask_secrets(line: &str) -> String {
    let mut masked = line.to_string();
    if let Some(colon) = find_key_colon(line) {
        let key = line[..colon]
            .trim()
            .trim_start_matches("- ")
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        let value = line[colon + 1..].trim();
        if SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str())
            && !value.is_empty()
            && !value.starts_with("${env:")
        {
            let value_start =
                colon + 1 + (line[colon + 1..].len() - line[colon + 1..].trim_start().len());
            masked = format!("{}***", &line[..value_start]);
        }
    }
    for scheme in ["Bearer ", "Basic "] {
        if let Some(at) = masked.find(scheme) {
            let rest = &masked[at + scheme.len()..];
            if !rest.trim_start().starts_with("${env:") && !rest.trim().is_empty() {
                masked = format!("{}***", &masked[..at + scheme.len()]);
            }
        }
    }
    for prefix in ["sim_at_", "sim_rt_", "sim_cs_", "sim_code_"] {
        while let Some(at) = masked.find(prefix) {
            let end = masked[at..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ']' | '}'))
                .map_or(masked.len(), |e| at + e);
            masked.replace_range(at..end, "***");
        }
    }
    masked
}

/// Byte index of the `:` that ends a block mapping key on this line, if any.
fn find_key_colon(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    (0..bytes.len()).find(|&i| {
        bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| *b == b' ') && !line[..i].contains('#')
    })
}

/// Number of characters to underline for the YAML token starting at char `col`.
pub(crate) fn token_len(line: &str, col: usize) -> usize {
    let rest: Vec<char> = line.chars().skip(col).collect();
    let len = match rest.first() {
        None => 1,
        Some('$') if rest.get(1) == Some(&'{') => {
            // An unterminated reference underlines just its `${env:` opener.
            rest.iter()
                .position(|c| *c == '}')
                .map_or(rest.len().min(6), |p| p + 1)
        }
        Some(q @ ('"' | '\'')) => rest[1..]
            .iter()
            .position(|c| c == q)
            .map_or(rest.len(), |p| p + 2),
        Some(open @ ('[' | '{')) => {
            let close = if *open == '[' { ']' } else { '}' };
            let mut depth = 0usize;
            let mut end = rest.len();
            for (i, c) in rest.iter().enumerate() {
                if c == open {
                    depth += 1;
                } else if *c == close {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
            }
            end
        }
        Some(_) => {
            let mut end = rest.len();
            for (i, c) in rest.iter().enumerate() {
                let next = rest.get(i + 1);
                let key_end = *c == ':' && next.is_none_or(|n| *n == ' ');
                let comment = *c == '#' && i > 0 && rest[i - 1] == ' ';
                if key_end || comment || matches!(c, ',' | ']' | '}') {
                    end = i;
                    break;
                }
            }
            rest[..end]
                .iter()
                .rposition(|c| !c.is_whitespace())
                .map_or(1, |p| p + 1)
        }
    };
    len.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_finds_close_keys_only() {
        let keys = ["id", "method", "path", "requires", "schema"];
        assert_eq!(did_you_mean("require", keys), Some("requires"));
        assert_eq!(did_you_mean("methdo", keys), Some("method"));
        assert_eq!(did_you_mean("sheme", keys), Some("schema"));
        assert_eq!(did_you_mean("colour", keys), None);
        assert_eq!(did_you_mean("x", ["y", "xy"]), Some("xy"));
        assert_eq!(did_you_mean("path", keys), None);
    }

    #[test]
    fn token_lengths() {
        assert_eq!(token_len("    require: [a:b]", 4), 7);
        assert_eq!(token_len("    require: [a:b]", 13), 5);
        assert_eq!(token_len("  base_url: ${env:X} # c", 12), 8);
        assert_eq!(token_len("  url: http://h:1/p # c", 7), 12);
        assert_eq!(token_len("  s: [profile, email]", 6), 7);
        assert_eq!(token_len("  n: \"a b\"", 5), 5);
        assert_eq!(token_len("", 0), 1);
    }

    #[test]
    fn secrets_are_masked_in_quoted_lines() {
        assert_eq!(
            mask_secrets("  client_secret: s3cr3t"),
            "  client_secret: ***"
        );
        assert_eq!(
            mask_secrets("  client_secret: ${env:SECRET}"),
            "  client_secret: ${env:SECRET}"
        );
        assert_eq!(mask_secrets("    token: abc"), "    token: ***");
        assert_eq!(
            mask_secrets("    headers: { Authorization: Bearer abc.def }"),
            "    headers: { Authorization: Bearer ***"
        );
        assert_eq!(mask_secrets("  x: [sim_rt_9f, b]"), "  x: [***, b]");
        assert_eq!(mask_secrets("  path: /v1/x"), "  path: /v1/x");
    }

    #[test]
    fn render_plain_with_help() {
        let d = Diagnostic {
            severity: DiagSeverity::Error,
            file: PathBuf::from("s.yaml"),
            pos: Pos { line: 2, column: 3 },
            message: "unknown key `nmae`".into(),
            label: "expected one of `name`, `base_url`".into(),
            help: Some("did you mean `name`?".into()),
        };
        let source = "provider:\n  nmae: x\n";
        assert_eq!(
            d.render(source, false),
            "error: unknown key `nmae`\n --> s.yaml:2:3\n  |\n2 |   nmae: x\n  |   ^^^^ expected one of `name`, `base_url`\n  |\n  = help: did you mean `name`?\n"
        );
        let colored = d.render(source, true);
        assert!(colored.contains("\u{1b}["), "{colored:?}");
    }

    #[test]
    fn render_without_position() {
        let d = Diagnostic {
            severity: DiagSeverity::Warning,
            file: PathBuf::from("s.yaml"),
            pos: Pos::default(),
            message: "m".into(),
            label: String::new(),
            help: None,
        };
        assert_eq!(d.render("", false), "warning: m\n --> s.yaml\n");
    }
}
