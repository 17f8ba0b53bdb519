//! `init --from-openapi`: reads the document, writes the generated suite (stdout or a file
//! that is never silently overwritten) and prints what was skipped on stderr.

use super::print_out;
use crate::cli::InitArgs;
use crate::context::Context;
use crate::error::{Error, exit};
use crate::init::{InitOptions, from_openapi};

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
    };
    let generated = from_openapi(&text, &opts)
        .map_err(|e| Error::Usage(format!("{}: {e}", args.from_openapi.display())))?;
    for w in &generated.warnings {
        diag!("warning: {w}");
    }
    match (&output, &args.output) {
        (Some(out), Some(shown)) => {
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
