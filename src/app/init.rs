//! `init --from-openapi`: reads the document, writes the generated suite (stdout or a file
//! that is never silently overwritten) and prints what was skipped on stderr.

use super::print_out;
use crate::cli::InitArgs;
use crate::context::Context;
use crate::error::{Error, exit};
use crate::init::{InitOptions, SuiteSyntax, from_openapi};
use std::path::{Path, PathBuf};

/// Documents larger than this get a progress line on stderr before they are read.
const LARGE_DOCUMENT: usize = 512 * 1024;

pub(super) fn cmd_init(ctx: &Context, args: InitArgs) -> Result<i32, Error> {
    if let Some(name) = &args.name {
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !valid {
            return Err(Error::Usage(format!(
                "invalid provider name `{name}`: expected lowercase letters, digits, `_` or `-`"
            )));
        }
    }
    let spec = ctx.resolve(&args.from_openapi);
    let text = crate::bounded::read_bounded_string(&spec, crate::bounded::SPEC_LIMIT).map_err(
        |source| Error::Io {
            what: "cannot read",
            path: args.from_openapi.clone(),
            source,
        },
    )?;
    let output = args.output.as_ref().map(|o| ctx.resolve(o));
    if let Some(out) = &output
        && out.exists()
        && !args.force
    {
        return Err(Error::Usage(format!(
            "`{}` already exists; pass --force to overwrite it",
            args.output.as_deref().unwrap_or(out).display()
        )));
    }
    let opts = InitOptions {
        source_name: args
            .from_openapi
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        base_url: args.base_url,
        provider: args.name,
        schema_files: output.is_some(),
        syntax: SuiteSyntax::detect(),
        include: args.include,
        exclude: args.exclude,
    };
    let started = std::time::Instant::now();
    if text.len() > LARGE_DOCUMENT {
        eprintln!(
            "reading {} ({} KiB)…",
            args.from_openapi.display(),
            text.len() / 1024
        );
    }
    let generated = from_openapi(&text, &opts)
        .map_err(|e| Error::Usage(format!("{}: {e}", args.from_openapi.display())))?;
    for w in &generated.warnings {
        diag!("warning: {w}");
    }
    if text.len() > LARGE_DOCUMENT {
        eprintln!(
            "generated in {:.1} s: {} schema file(s)",
            started.elapsed().as_secs_f64(),
            generated.files.len()
        );
    }
    for line in generated.summary.lines() {
        eprintln!("{line}");
    }
    match (&output, &args.output) {
        (Some(out), Some(shown)) => {
            let dir = out.parent().map(Path::to_path_buf).unwrap_or_default();
            let files: Vec<(PathBuf, &str)> = generated
                .files
                .iter()
                .map(|(rel, text)| (dir.join(rel), text.as_str()))
                .collect();
            if !args.force
                && let Some((taken, _)) = files.iter().find(|(p, _)| p.exists())
            {
                return Err(Error::Usage(format!(
                    "`{}` already exists; pass --force to overwrite it",
                    taken.display()
                )));
            }
            for (path, text) in &files {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                        what: "cannot create",
                        path: parent.to_path_buf(),
                        source,
                    })?;
                }
                std::fs::write(path, text).map_err(|source| Error::Io {
                    what: "cannot write",
                    path: path.clone(),
                    source,
                })?;
            }
            std::fs::write(out, &generated.yaml).map_err(|source| Error::Io {
                what: "cannot write",
                path: shown.clone(),
                source,
            })?;
            diag!(
                "wrote {}; next: driftwatch check {}",
                shown.display(),
                shown.display()
            );
        }
        _ => print_out(&generated.yaml),
    }
    Ok(exit::OK)
}
