//! `completions` and `man`: shell completion scripts and roff man pages,
//! generated from the clap definitions (so they never drift from the CLI).

use super::print_out;
use crate::context::Context;
use crate::error::{Error, exit};
use std::path::Path;

/// Prints the completion script of `shell`.
pub(super) fn cmd_completions(shell: clap_complete::Shell) -> Result<i32, Error> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::command(), "driftwatch", &mut buf);
    print_out(&String::from_utf8_lossy(&buf));
    Ok(exit::OK)
}

/// Prints `driftwatch.1`, or writes one page per (sub)command into `dir`.
pub(super) fn cmd_man(ctx: &Context, dir: Option<&Path>) -> Result<i32, Error> {
    let mut cmd = crate::cli::command().disable_help_subcommand(true);
    cmd.build();
    match dir {
        None => {
            let mut buf = Vec::new();
            page(cmd)
                .render(&mut buf)
                .map_err(|e| Error::Runtime(format!("cannot render the man page: {e}")))?;
            print_out(&String::from_utf8_lossy(&buf));
        }
        Some(d) => {
            let full = ctx.resolve(d);
            let io = |source| Error::Io {
                what: "cannot write man pages into",
                path: d.to_path_buf(),
                source,
            };
            std::fs::create_dir_all(&full).map_err(io)?;
            let mut pending = vec![cmd];
            let mut written = 0;
            while let Some(c) = pending.pop() {
                pending.extend(c.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
                page(c).generate_to(&full).map_err(io)?;
                written += 1;
            }
            diag!("{written} man pages: {}", d.display());
        }
    }
    Ok(exit::OK)
}

/// A page titled in upper case, as man pages are (`.TH DRIFTWATCH-RUN 1`).
fn page(cmd: clap::Command) -> clap_mangen::Man {
    let title = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_uppercase();
    clap_mangen::Man::new(cmd).title(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_completion_names_every_subcommand() {
        let mut buf = Vec::new();
        let mut cmd = crate::cli::command();
        clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "driftwatch", &mut buf);
        let script = String::from_utf8_lossy(&buf);
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        for n in ["run", "report", "config", "completions", "man", "sim"] {
            assert!(names.iter().any(|m| m == n), "{n} not in {names:?}");
        }
        for n in names {
            assert!(script.contains(&format!("driftwatch,{n})")), "{n} missing");
        }
    }

    #[test]
    fn man_pages_are_titled_in_upper_case() {
        let dir = tempfile::tempdir().unwrap();
        cmd_man(&Context::empty(dir.path()), Some(Path::new("man"))).unwrap();
        let run = std::fs::read_to_string(dir.path().join("man/driftwatch-run.1")).unwrap();
        assert!(run.contains(".TH DRIFTWATCH-RUN 1"), "{run}");
        let top = std::fs::read_to_string(dir.path().join("man/driftwatch.1")).unwrap();
        assert!(top.contains(".TH DRIFTWATCH 1"), "{top}");
        assert!(top.contains("completions"), "{top}");
        // The exit codes and environment variables come from the one table in cli.rs.
        for (code, _) in crate::cli::EXIT_CODES {
            assert!(
                top.contains(&format!("{code}  ")),
                "exit {code} missing: {top}"
            );
        }
        for (var, _) in crate::cli::ENV_VARS {
            assert!(top.contains(var), "{var} missing: {top}");
            assert!(run.contains(var), "{var} missing in driftwatch-run.1");
        }
    }
}
