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
                let (_, diagnostics) = analyze(path, &source, ctx, LoadMode::Check);
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
